//! [`ConsoleRoute`]: ESP-IDF's console command lines (`esp_prov --transport console`) on
//! standard input/output or any byte stream (a serial device, a pseudo-terminal).

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use wifiprov_transport::console::{ConsoleConfig, serve_console};
use wifiprov_wifi::BoxFuture;

use crate::route::{Place, Route, RouteContext, RouteError, RunningRoute};

/// The two halves of a console channel.
pub type ConsoleIo = (
    Box<dyn AsyncRead + Send + Unpin>,
    Box<dyn AsyncWrite + Send + Unpin>,
);

/// Opens the console channel, once per start of the route.
pub type OpenConsole = Arc<dyn Fn() -> Result<ConsoleIo, RouteError> + Send + Sync>;

/// Serves the agent's protocomm service as console command lines.
#[derive(Clone)]
pub struct ConsoleRoute {
    place: String,
    open: OpenConsole,
    config: ConsoleConfig,
    ends_agent: bool,
}

impl ConsoleRoute {
    /// On standard input and output (logs belong on standard error then).
    pub fn stdio(config: ConsoleConfig) -> Self {
        ConsoleRoute::new(
            "the console on stdin/stdout",
            Arc::new(|| {
                Ok((
                    Box::new(tokio::io::stdin()) as Box<dyn AsyncRead + Send + Unpin>,
                    Box::new(tokio::io::stdout()) as Box<dyn AsyncWrite + Send + Unpin>,
                ))
            }),
            config,
        )
    }

    /// On the channel `open` returns (called at every start), described as `place` (`the
    /// console on /dev/ttyUSB0`).
    pub fn new(place: impl Into<String>, open: OpenConsole, config: ConsoleConfig) -> Self {
        ConsoleRoute {
            place: place.into(),
            open,
            config,
            ends_agent: false,
        }
    }

    /// Whether the agent ends when the console closes (when it is the only way in).
    pub fn ending_the_agent(mut self, ends: bool) -> Self {
        self.ends_agent = ends;
        self
    }
}

impl std::fmt::Debug for ConsoleRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleRoute")
            .field("place", &self.place)
            .field("config", &self.config)
            .field("ends_agent", &self.ends_agent)
            .finish_non_exhaustive()
    }
}

impl Route for ConsoleRoute {
    fn name(&self) -> &str {
        "console"
    }

    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
        let opened = (self.open)();
        let place = Place::Other(self.place.clone());
        let config = self.config.clone();
        let ends_agent = self.ends_agent;
        Box::pin(async move {
            let (reader, writer) = opened?;
            let service = ctx.service().clone();
            let stop = ctx.shutdown().signalled();
            let serve = async move {
                serve_console(reader, writer, service, config, stop)
                    .await
                    .map_err(|e| RouteError::io("the console", e))
            };
            Ok(RunningRoute::new(Some(place), serve).ends_agent(ends_agent))
        })
    }
}
