//! The route API: [`Route`], what a route gets when it starts ([`RouteContext`]) and what it
//! gives back ([`RunningRoute`]).

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{broadcast, watch};
use wifiprov_device::{Manager, ProvError, ProvEvent};
use wifiprov_transport::Service;
use wifiprov_wifi::{BoxFuture, Credentials, LinkStatus, WifiBackend};

/// One way in for credentials: protocomm over HTTP, BLE or a console; SmartConfig; …
///
/// A route value holds settings only. [`Route::start`] may be called any number of times,
/// one after the other (the Wi-Fi manager starts its fallback routes each time its access
/// point comes up), and each call opens what the route listens on afresh.
pub trait Route: Send + Sync {
    /// A short name for messages (`"HTTP"`, `"SmartConfig"`).
    fn name(&self) -> &str;

    /// Opens what the route listens on and returns it running.
    ///
    /// An error here means the route could not start at all (a port that cannot be bound, no
    /// BlueZ, …). The future inside the returned [`RunningRoute`] is polled once the
    /// provisioning service has started, and must end soon after [`RouteContext::shutdown`]
    /// fires.
    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>>;
}

impl<R: Route + ?Sized> Route for Arc<R> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
        (**self).start(ctx)
    }
}

impl<R: Route + ?Sized> Route for Box<R> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
        (**self).start(ctx)
    }
}

/// Why a route could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The HTTP listener could not be bound.
    #[error(transparent)]
    Bind(#[from] wifiprov_transport::BindError),
    /// Reading or writing the route's channel failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The SmartConfig source could not be opened or failed.
    #[error("SmartConfig: {0}")]
    SmartConfig(#[from] smartconfig::net::SourceError),
    /// The mDNS advertisement could not be made.
    #[error("mDNS: {0}")]
    Mdns(#[from] wifiprov_transport::MdnsError),
    /// The BLE peripheral could not be registered with BlueZ.
    #[cfg(feature = "bluez")]
    #[error(transparent)]
    Ble(#[from] crate::ble::BleError),
    /// Another route needed by this one is missing (mDNS without an HTTP route).
    #[error("{0}")]
    Needs(String),
    /// Any other cause, for routes outside this crate.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl RouteError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        RouteError::Io {
            what: what.into(),
            source,
        }
    }

    /// Any other error.
    pub fn other(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        RouteError::Other(error.into())
    }
}

/// Where a running route serves, as the agent's start line tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Place {
    /// An HTTP listener (protocomm over HTTP), which later routes can advertise.
    Http(SocketAddr),
    /// Anything else, as it reads after "serving provisioning on" (`BLE on /org/bluez/hci0
    /// (service …)`, `the console on stdin/stdout`).
    Other(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Http(addr) => write!(f, "http://{addr}"),
            Place::Other(text) => f.write_str(text),
        }
    }
}

/// Tells a running route to stop; the agent holds one per route.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal and the sender that fires it.
    pub(crate) fn channel() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    /// Whether the route has been told to stop.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the route is told to stop (or the agent is gone). The future owns its
    /// own copy of the signal, so it can be handed to a spawned task.
    pub fn signalled(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.clone();
        async move {
            // A dropped sender (the agent is gone) counts as a request to stop.
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}

/// The handle through which routes that bring credentials themselves (SmartConfig; Improv, a
/// captive portal or DPP next) hand them to the provisioning service.
///
/// Credentials go through the same steps as protocomm's SetConfig + ApplyConfig: stored,
/// joined, reported with events, auto-stop.
#[derive(Clone)]
pub struct Provisioner {
    manager: Manager,
}

impl Provisioner {
    /// A handle on `manager`.
    pub fn new(manager: Manager) -> Self {
        Provisioner { manager }
    }

    /// Joins with `credentials` and waits for the outcome: the link, or why not: the station
    /// gave up ([`ProvError::Connect`]), they could not be stored ([`ProvError::Store`]), or
    /// provisioning does not take credentials now ([`ProvError::Refused`]: another attempt
    /// runs, it has ended, …). After a failure provisioning takes credentials again.
    pub async fn submit(&self, credentials: Credentials) -> Result<LinkStatus, ProvError> {
        self.manager.submit(credentials).await
    }

    /// Events from now on (credentials received, failed, succeeded, end).
    pub fn subscribe(&self) -> broadcast::Receiver<ProvEvent> {
        self.manager.subscribe()
    }

    /// Tells the service that the route's peer has seen the outcome (for protocomm this is
    /// the client reading the status); after a success, auto-stop may now end provisioning.
    pub fn outcome_reported(&self) {
        self.manager.outcome_reported();
    }

    /// Whether provisioning has succeeded.
    pub fn is_provisioned(&self) -> bool {
        self.manager.is_provisioned()
    }
}

impl fmt::Debug for Provisioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provisioner")
            .field("state", &self.manager.prov_state())
            .finish()
    }
}

/// What a route gets when it starts.
#[derive(Clone)]
pub struct RouteContext {
    pub(crate) service: Service,
    pub(crate) provisioner: Provisioner,
    pub(crate) wifi: Arc<dyn WifiBackend>,
    pub(crate) shutdown: Shutdown,
    pub(crate) earlier: Vec<Place>,
}

impl RouteContext {
    /// The protocomm service (sessions, security, endpoints) for protocomm routes: hand it
    /// every request.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The handle for routes that bring credentials themselves.
    pub fn provisioner(&self) -> &Provisioner {
        &self.provisioner
    }

    /// The radio (for routes that scan, or recover an SSID from a scan).
    pub fn wifi(&self) -> &Arc<dyn WifiBackend> {
        &self.wifi
    }

    /// Fires when the route must stop.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Where the routes started before this one serve, in order.
    pub fn earlier_places(&self) -> &[Place] {
        &self.earlier
    }

    /// The first HTTP listener among the routes started before this one.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.earlier.iter().find_map(|place| match place {
            Place::Http(addr) => Some(*addr),
            Place::Other(_) => None,
        })
    }
}

impl fmt::Debug for RouteContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteContext")
            .field("provisioner", &self.provisioner)
            .field("shutdown", &self.shutdown.is_requested())
            .field("earlier", &self.earlier)
            .finish_non_exhaustive()
    }
}

/// A started route: where it serves, and the future that serves it.
pub struct RunningRoute {
    place: Option<Place>,
    ends_agent: bool,
    serve: BoxFuture<'static, Result<(), RouteError>>,
}

impl RunningRoute {
    /// A route serving at `place` (`None` for routes that serve nowhere themselves, such as an
    /// advertisement) with `serve`, which runs until the route's shutdown signal fires or the
    /// route ends by itself.
    pub fn new(
        place: Option<Place>,
        serve: impl Future<Output = Result<(), RouteError>> + Send + 'static,
    ) -> Self {
        RunningRoute {
            place,
            ends_agent: false,
            serve: Box::pin(serve),
        }
    }

    /// Whether the agent ends when this route ends by itself (a console that is the only way
    /// in: once it closes, nobody can reach the agent). Off by default.
    pub fn ends_agent(mut self, ends: bool) -> Self {
        self.ends_agent = ends;
        self
    }

    /// Where the route serves.
    pub fn place(&self) -> Option<&Place> {
        self.place.as_ref()
    }

    /// Whether its end ends the agent.
    pub fn is_ending_the_agent(&self) -> bool {
        self.ends_agent
    }

    /// Serves until the route's shutdown signal fires or the route ends by itself.
    pub async fn finished(self) -> Result<(), RouteError> {
        self.serve.await
    }

    pub(crate) fn into_parts(
        self,
    ) -> (
        Option<Place>,
        bool,
        BoxFuture<'static, Result<(), RouteError>>,
    ) {
        (self.place, self.ends_agent, self.serve)
    }
}

impl fmt::Debug for RunningRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningRoute")
            .field("place", &self.place)
            .field("ends_agent", &self.ends_agent)
            .finish_non_exhaustive()
    }
}
