//! The provisioning agent: one protocomm device and one provisioning [`Manager`], reached
//! through any number of *routes*.
//!
//! A route is one way in for credentials. Protocomm routes carry ESP-IDF's protocol to the
//! shared [`Service`](wifiprov_transport::Service): [`HttpRoute`] (SoftAP / `esp_prov
//! --transport softap`), [`ConsoleRoute`] (command lines on stdio or a serial device) and
//! [`BleRoute`] (GATT through BlueZ, feature `bluez`). Other routes bring credentials
//! themselves and hand them to the [`Provisioner`]: [`SmartConfigRoute`] (ESPTouch, AirKiss).
//! [`MdnsRoute`] announces the HTTP route. `wifiprov device` maps its flags to these routes;
//! `wifiprov manage` starts the same routes each time its fallback access point comes up.
//!
//! ```text
//!  AgentBuilder ─ route(HttpRoute) ─ route(BleRoute) ─ route(SmartConfigRoute) ─ …
//!       │ start: each Route::start(RouteContext) in order, then the Manager
//!       ▼
//!  RunningAgent ── run_until(signal): ends when the Manager stops, on the signal, or when a
//!       │                             route that ends the agent ends; then stops the routes
//!       │                             last first, and the Manager
//!       ├─ RouteContext::service()      protocomm Service ─► Manager (AppHandler)
//!       ├─ RouteContext::provisioner()  submit(credentials) ─► Manager::submit
//!       └─ RouteContext::shutdown()     this route's stop signal
//! ```
//!
//! # The route contract
//!
//! * A [`Route`] value holds settings only; [`Route::start`] opens what it listens on and may
//!   be called again after the previous run stopped (the Wi-Fi manager raises and lowers its
//!   fallback access point repeatedly). State worth keeping across runs (SmartConfig's memory
//!   of credentials that just failed) lives behind an `Arc` in the value.
//! * An error from `start` means the route could not open at all; the agent does not start
//!   unless the route was added with [`AgentBuilder::optional_route`].
//! * The [`RunningRoute`] says where the route serves ([`Place`], for the "serving
//!   provisioning on …" line; an HTTP place is what [`MdnsRoute`] announces) and holds the
//!   future that serves. The agent polls it once the Manager has started, and it must end
//!   soon after [`RouteContext::shutdown`] fires (the agent aborts it after
//!   [`ROUTE_STOP_TIMEOUT`]). A route whose end leaves nobody able to reach the agent says
//!   so with [`RunningRoute::ends_agent`].
//! * Routes that bring credentials call [`Provisioner::submit`], which runs the same steps as
//!   SetConfig + ApplyConfig (stored, joined, events, auto-stop) and returns the link or the
//!   failure; once their peer has seen the outcome they call
//!   [`Provisioner::outcome_reported`], which lets auto-stop end provisioning.
//!
//! # Adding a route
//!
//! 1. Write the route in its own file: a settings type implementing [`Route`].
//! 2. In `start`, open the channel, then return a [`RunningRoute`] whose future serves until
//!    `ctx.shutdown().signalled()` resolves: protocomm routes hand requests to
//!    `ctx.service()`, other routes hand credentials to `ctx.provisioner()`.
//! 3. Add it with [`AgentBuilder::route`]; in the binary, map its flags to it (and to the
//!    `manage` fallback's route list if it fits there too).
//!
//! A route that joins a network known in advance (read from a USB stick, say):
//!
//! ```
//! use wifiprov_agent::{BoxFuture, Place, Route, RouteContext, RouteError, RunningRoute};
//! use wifiprov_wifi::Credentials;
//!
//! struct Preset(Credentials);
//!
//! impl Route for Preset {
//!     fn name(&self) -> &str {
//!         "preset"
//!     }
//!
//!     fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
//!         let credentials = self.0.clone();
//!         let provisioner = ctx.provisioner().clone();
//!         let stop = ctx.shutdown().signalled();
//!         Box::pin(async move {
//!             let place = Place::Other("preset credentials".into());
//!             Ok(RunningRoute::new(Some(place), async move {
//!                 tokio::select! {
//!                     joined = provisioner.submit(credentials) => match joined {
//!                         Ok(_) => provisioner.outcome_reported(),
//!                         Err(e) => tracing::warn!("the preset network failed: {e}"),
//!                     },
//!                     () = stop => {}
//!                 }
//!                 Ok(())
//!             }))
//!         })
//!     }
//! }
//!
//! # use std::{sync::Arc, time::Duration};
//! # use wifiprov_agent::{AgentBuilder, AgentEnd};
//! # use wifiprov_wifi::sim::{SimBackend, SimEnvironment};
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # runtime.block_on(async {
//! let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
//! let mut agent = AgentBuilder::new(protocomm::Security::Sec0, wifi)
//!     .route(Preset(Credentials::new("HomeNet", "correct-horse").unwrap()));
//! agent.manager.connect_delay = Duration::ZERO;
//! agent.manager.cleanup_delay = Duration::ZERO;
//! let agent = agent.start().await.unwrap();
//! assert_eq!(agent.places()[0].to_string(), "preset credentials");
//! // Joined, reported, auto-stopped.
//! assert_eq!(agent.run_until(std::future::pending()).await, AgentEnd::Stopped);
//! # });
//! ```

mod agent;
#[cfg(feature = "bluez")]
pub mod ble;
pub mod console;
pub mod http;
pub mod improv;
pub mod mdns;
pub mod portal;
pub mod route;
pub mod smartconfig;

pub use agent::{AgentBuilder, AgentEnd, AgentError, ROUTE_STOP_TIMEOUT, RunningAgent};
#[cfg(feature = "bluez")]
pub use ble::BleRoute;
pub use console::ConsoleRoute;
pub use http::HttpRoute;
pub use improv::{ImprovSerialRoute, ImprovSettings};
pub use mdns::MdnsRoute;
pub use portal::{PortalRoute, PortalSettings};
pub use route::{Place, Provisioner, Route, RouteContext, RouteError, RunningRoute, Shutdown};
pub use smartconfig::SmartConfigRoute;
pub use wifiprov_device::{Manager, ProvError};
pub use wifiprov_wifi::BoxFuture;
