//! A complete provisioning agent in-process: protocomm device + Manager + HTTP transport.
//!
//! `wifiprov device`, `wifiprov demo` and tests all start agents through [`AgentBuilder`].
//! Other transports (console, BLE) serve the agent's [`Service`] from
//! [`RunningAgent::service`]; HTTP can be turned off with [`AgentBuilder::without_http`].

use std::net::SocketAddr;
use std::sync::Arc;

use protocomm::{AppInfo, Device, DeviceConfig, Security};
use wifiprov_transport::Service;
use wifiprov_transport::http::{BindError, HttpConfig, HttpServer};
use wifiprov_wifi::WifiBackend;

use crate::manager::{CustomEndpoint, Manager, ManagerConfig};
use crate::store::CredentialStore;

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The protocol configuration is unusable.
    #[error(transparent)]
    Protocol(#[from] protocomm::Error),
    /// The HTTP listener could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// Everything an agent is made of.
pub struct AgentBuilder {
    /// Protocol settings (security, session limits, app info).
    pub device: DeviceConfig,
    /// State machine settings.
    pub manager: ManagerConfig,
    /// HTTP settings (listen address, limits); `None` serves no HTTP.
    pub http: Option<HttpConfig>,
    /// The radio.
    pub wifi: Arc<dyn WifiBackend>,
    /// Where accepted credentials are kept.
    pub store: Option<CredentialStore>,
    /// Custom endpoints.
    pub endpoints: Vec<(String, Arc<dyn CustomEndpoint>)>,
}

impl AgentBuilder {
    /// An agent with `security` on `wifi`, listening on `http.listen`, with default settings.
    pub fn new(security: Security, wifi: Arc<dyn WifiBackend>, listen: SocketAddr) -> Self {
        AgentBuilder {
            device: DeviceConfig::new(security),
            manager: ManagerConfig::default(),
            http: Some(HttpConfig::new(listen)),
            wifi,
            store: None,
            endpoints: Vec::new(),
        }
    }

    /// Serves no HTTP (for agents reached only through other transports).
    pub fn without_http(mut self) -> Self {
        self.http = None;
        self
    }

    /// Adds an application entry to `proto-ver`.
    pub fn app_info(mut self, info: AppInfo) -> Self {
        self.device.app_info.push(info);
        self
    }

    /// Binds the listener, starts the Manager and serves until the Manager stops.
    pub async fn start(self) -> Result<RunningAgent, AgentError> {
        self.start_observed(|_| {}).await
    }

    /// Like [`AgentBuilder::start`], calling `observe` with the Manager before it starts (to
    /// subscribe to events from `Start` on).
    pub async fn start_observed(
        self,
        observe: impl FnOnce(&Manager),
    ) -> Result<RunningAgent, AgentError> {
        let mut device = Device::new(self.device)?;
        for (name, _) in &self.endpoints {
            device.register_endpoint(name)?;
        }
        let manager = Manager::new(self.manager, self.wifi, self.store);
        for (name, handler) in self.endpoints {
            manager.add_endpoint(&name, handler);
        }
        observe(&manager);
        let service = Service::new(device, Arc::new(manager.clone()));
        let server = match self.http {
            Some(http) => Some(HttpServer::bind(service.clone(), http).await?),
            None => None,
        };
        manager.start().await;
        Ok(RunningAgent {
            addr: server
                .as_ref()
                .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), HttpServer::local_addr),
            manager,
            service,
            server,
        })
    }
}

/// A running agent. Dropping it stops the HTTP server.
pub struct RunningAgent {
    /// Where the HTTP transport listens (`0.0.0.0:0` when the agent serves no HTTP; see
    /// [`RunningAgent::serves_http`]).
    pub addr: SocketAddr,
    /// Its state machine (subscribe for events, stop it, …).
    pub manager: Manager,
    service: Service,
    server: Option<HttpServer>,
}

impl RunningAgent {
    /// The protocomm service every transport of this agent shares (serve it on further
    /// transports, e.g. [`wifiprov_transport::console::serve_console`]).
    pub fn service(&self) -> Service {
        self.service.clone()
    }

    /// Whether the HTTP transport runs (it was not turned off with
    /// [`AgentBuilder::without_http`]).
    pub fn serves_http(&self) -> bool {
        self.server.is_some()
    }

    /// Resolves once provisioning has ended (auto-stop, or [`Manager::stop`]), then stops the
    /// HTTP server.
    pub async fn finished(mut self) {
        self.manager.wait_stopped().await;
        self.close().await;
    }

    /// Stops provisioning and the HTTP server.
    pub async fn shutdown(mut self) {
        self.manager.stop();
        self.close().await;
    }

    async fn close(&mut self) {
        if let Some(server) = self.server.take()
            && let Err(e) = server.shutdown().await
        {
            tracing::warn!("HTTP server: {e}");
        }
        self.manager.deinit();
    }
}
