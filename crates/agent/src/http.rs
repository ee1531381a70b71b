//! [`HttpRoute`]: protocomm over HTTP, as ESP-IDF's SoftAP transport (`esp_prov --transport
//! softap`, the phone apps).

use std::net::SocketAddr;

use wifiprov_transport::http::{HttpConfig, HttpServer};
use wifiprov_wifi::BoxFuture;

use crate::route::{Place, Route, RouteContext, RouteError, RunningRoute};

/// Serves the agent's protocomm service over HTTP.
#[derive(Clone, Debug)]
pub struct HttpRoute {
    config: HttpConfig,
}

impl HttpRoute {
    /// Listens on `listen` with the default limits.
    pub fn new(listen: SocketAddr) -> Self {
        HttpRoute::with_config(HttpConfig::new(listen))
    }

    /// Listens as `config` says.
    pub fn with_config(config: HttpConfig) -> Self {
        HttpRoute { config }
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }
}

impl Route for HttpRoute {
    fn name(&self) -> &str {
        "HTTP"
    }

    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
        let config = self.config.clone();
        Box::pin(async move {
            let server = HttpServer::bind(ctx.service().clone(), config).await?;
            let addr = server.local_addr();
            let stop = ctx.shutdown().signalled();
            Ok(RunningRoute::new(Some(Place::Http(addr)), async move {
                stop.await;
                server
                    .shutdown()
                    .await
                    .map_err(|e| RouteError::io("HTTP server", e))
            }))
        })
    }
}
