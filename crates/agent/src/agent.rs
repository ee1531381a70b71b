//! [`AgentBuilder`] and [`RunningAgent`]: one protocomm device and one provisioning Manager,
//! reached through the routes given.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use protocomm::{AppInfo, Device, DeviceConfig, Security};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use wifiprov_device::{CredentialStore, CustomEndpoint, Manager, ManagerConfig};
use wifiprov_transport::Service;
use wifiprov_wifi::WifiBackend;

use crate::route::{Place, Provisioner, Route, RouteContext, RouteError, Shutdown};

/// How long a route may take to stop once told to, before its task is aborted.
pub const ROUTE_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The protocol configuration is unusable.
    #[error(transparent)]
    Protocol(#[from] protocomm::Error),
    /// A route added with [`AgentBuilder::route`] could not start. The message carries the
    /// whole cause (route errors often wrap errors that print their own causes), so the
    /// error is not repeated as a `source()`.
    #[error("cannot start the {name} route: {error}")]
    Route {
        /// The route's name.
        name: String,
        /// Why.
        error: RouteError,
    },
    /// Routes were given, but none of them could start.
    #[error("none of the routes could start")]
    NoRoute,
}

struct Entry {
    route: Arc<dyn Route>,
    required: bool,
}

/// Everything an agent is made of: protocol and Manager settings, the radio, the store,
/// custom endpoints and its routes.
pub struct AgentBuilder {
    /// Protocol settings (security, session limits, app info).
    pub device: DeviceConfig,
    /// State machine settings.
    pub manager: ManagerConfig,
    /// The radio.
    pub wifi: Arc<dyn WifiBackend>,
    /// Where accepted credentials are kept.
    pub store: Option<CredentialStore>,
    /// Custom endpoints.
    pub endpoints: Vec<(String, Arc<dyn CustomEndpoint>)>,
    routes: Vec<Entry>,
}

impl AgentBuilder {
    /// An agent with `security` on `wifi`, default settings and no route yet.
    pub fn new(security: Security, wifi: Arc<dyn WifiBackend>) -> Self {
        AgentBuilder {
            device: DeviceConfig::new(security),
            manager: ManagerConfig::default(),
            wifi,
            store: None,
            endpoints: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// Adds a route; the agent does not start when it cannot. Routes start in the order
    /// added (a route sees where earlier ones serve, e.g. mDNS advertises the HTTP route
    /// added before it) and stop in reverse order.
    pub fn route(mut self, route: impl Route + 'static) -> Self {
        self.routes.push(Entry {
            route: Arc::new(route),
            required: true,
        });
        self
    }

    /// Adds a route whose failure to start is only logged.
    pub fn optional_route(mut self, route: impl Route + 'static) -> Self {
        self.routes.push(Entry {
            route: Arc::new(route),
            required: false,
        });
        self
    }

    /// Adds an application entry to `proto-ver`.
    pub fn app_info(mut self, info: AppInfo) -> Self {
        self.device.app_info.push(info);
        self
    }

    /// Starts the routes, then the Manager. An agent without routes is valid (serve
    /// [`RunningAgent::service`] on a transport of your own); an agent whose routes all
    /// failed to start is not ([`AgentError::NoRoute`]).
    pub async fn start(self) -> Result<RunningAgent, AgentError> {
        self.start_observed(|_| {}).await
    }

    /// Like [`AgentBuilder::start`], calling `observe` with the Manager before anything
    /// starts (to subscribe to events from `Start` on).
    pub async fn start_observed(
        self,
        observe: impl FnOnce(&Manager),
    ) -> Result<RunningAgent, AgentError> {
        let mut config = self.device;
        if self.manager.reset_on_failure {
            // Clients then know that no reset is needed after a failure.
            config.app_info.push(AppInfo {
                label: protocomm::proto_ver::APP_WIFIPROV.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                capabilities: vec![protocomm::proto_ver::CAP_RETRY_WITHOUT_RESET.to_owned()],
            });
        }
        let mut device = Device::new(config)?;
        for (name, _) in &self.endpoints {
            device.register_endpoint(name)?;
        }
        let manager = Manager::new(self.manager, self.wifi.clone(), self.store);
        for (name, handler) in self.endpoints {
            manager.add_endpoint(&name, handler);
        }
        observe(&manager);
        let service = Service::new(device, Arc::new(manager.clone()));
        let provisioner = Provisioner::new(manager.clone());

        let mut started = Vec::new();
        let mut places = Vec::new();
        let tried = !self.routes.is_empty();
        for entry in self.routes {
            let name = entry.route.name().to_owned();
            let (stop, shutdown) = Shutdown::channel();
            let ctx = RouteContext {
                service: service.clone(),
                provisioner: provisioner.clone(),
                wifi: self.wifi.clone(),
                shutdown: shutdown.clone(),
                earlier: places.clone(),
            };
            match entry.route.start(ctx).await {
                Ok(running) => {
                    let (place, ends_agent, serve) = running.into_parts();
                    places.extend(place);
                    started.push((
                        ActiveRoute {
                            name,
                            ends_agent,
                            stop,
                            task: None,
                        },
                        shutdown,
                        serve,
                    ));
                }
                Err(error) if entry.required => {
                    // Stop the routes already open, last first, letting each close cleanly.
                    for (active, _, serve) in started.into_iter().rev() {
                        active.stop.send_replace(true);
                        let _ = tokio::time::timeout(ROUTE_STOP_TIMEOUT, serve).await;
                    }
                    return Err(AgentError::Route { name, error });
                }
                Err(e) => tracing::warn!("the {name} route is unavailable: {e}"),
            }
        }
        if tried && started.is_empty() {
            return Err(AgentError::NoRoute);
        }

        manager.start().await;
        let (ended_tx, ended) = mpsc::unbounded_channel();
        let routes = started
            .into_iter()
            .enumerate()
            .map(|(index, (mut active, shutdown, serve))| {
                let name = active.name.clone();
                let ended_tx = ended_tx.clone();
                active.task = Some(tokio::spawn(async move {
                    let result = serve.await;
                    let asked = shutdown.is_requested();
                    match &result {
                        Ok(()) if asked => tracing::debug!("the {name} route stopped"),
                        Ok(()) => tracing::info!("the {name} route ended"),
                        Err(e) => tracing::error!("the {name} route failed: {e}"),
                    }
                    let _ = ended_tx.send(index);
                }));
                active
            })
            .collect();
        Ok(RunningAgent {
            addr: places
                .iter()
                .find_map(|p| match p {
                    Place::Http(addr) => Some(*addr),
                    Place::Other(_) => None,
                })
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))),
            places,
            manager,
            service,
            routes,
            ended,
        })
    }
}

struct ActiveRoute {
    name: String,
    ends_agent: bool,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Tells the routes to stop, last started first, each given [`ROUTE_STOP_TIMEOUT`].
async fn stop_routes(routes: Vec<ActiveRoute>) {
    for mut route in routes.into_iter().rev() {
        route.stop.send_replace(true);
        let Some(mut task) = route.task.take() else {
            continue;
        };
        if tokio::time::timeout(ROUTE_STOP_TIMEOUT, &mut task)
            .await
            .is_err()
        {
            tracing::warn!(
                "the {} route did not stop within {ROUTE_STOP_TIMEOUT:?}",
                route.name
            );
            task.abort();
        }
    }
}

/// Why [`RunningAgent::run_until`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentEnd {
    /// Provisioning ended (auto-stop after a success, or [`Manager::stop`]).
    Stopped,
    /// The caller's signal fired.
    Signal,
    /// A route whose end ends the agent ended (its name).
    RouteEnded(String),
}

/// A running agent. Dropping it tells its routes to stop.
pub struct RunningAgent {
    /// Where the first HTTP route listens (`0.0.0.0:0` when the agent serves no HTTP; see
    /// [`RunningAgent::serves_http`]).
    pub addr: SocketAddr,
    /// Its state machine (subscribe for events, stop it, …).
    pub manager: Manager,
    places: Vec<Place>,
    service: Service,
    routes: Vec<ActiveRoute>,
    ended: mpsc::UnboundedReceiver<usize>,
}

impl RunningAgent {
    /// The protocomm service every protocomm route of this agent shares (serve it on further
    /// transports, e.g. [`wifiprov_transport::console::serve_console`]).
    pub fn service(&self) -> Service {
        self.service.clone()
    }

    /// Where the routes serve, in the order they started.
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The names of the routes that started, in order.
    pub fn route_names(&self) -> Vec<&str> {
        self.routes.iter().map(|r| r.name.as_str()).collect()
    }

    /// Whether an HTTP route serves.
    pub fn serves_http(&self) -> bool {
        self.places.iter().any(|p| matches!(p, Place::Http(_)))
    }

    /// Runs until provisioning ends, `signal` resolves, or a route that ends the agent ends;
    /// then stops the routes (last started first) and the Manager.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> AgentEnd {
        let manager = self.manager.clone();
        tokio::pin!(signal);
        let end = loop {
            tokio::select! {
                () = manager.wait_stopped() => break AgentEnd::Stopped,
                () = &mut signal => break AgentEnd::Signal,
                Some(index) = self.ended.recv() => {
                    if let Some(route) = self.routes.get(index)
                        && route.ends_agent
                    {
                        break AgentEnd::RouteEnded(route.name.clone());
                    }
                }
            }
        };
        self.close().await;
        end
    }

    /// Resolves once provisioning has ended (auto-stop, or [`Manager::stop`]), then stops
    /// the routes.
    pub async fn finished(self) {
        self.run_until(std::future::pending()).await;
    }

    /// Stops the routes and provisioning.
    pub async fn shutdown(mut self) {
        self.close().await;
    }

    async fn close(&mut self) {
        stop_routes(std::mem::take(&mut self.routes)).await;
        self.manager.deinit();
    }
}

impl std::fmt::Debug for RunningAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningAgent")
            .field("places", &self.places)
            .field("routes", &self.route_names())
            .finish_non_exhaustive()
    }
}
