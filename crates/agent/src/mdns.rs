//! [`MdnsRoute`]: announces the agent's HTTP route as `_esp_wifi_prov._tcp` over mDNS, as
//! older ESP-IDF SoftAP firmware did, so `wifiprov discover` and other browsers find it.
//!
//! It serves nothing itself: add it after an [`crate::HttpRoute`], whose port it announces.

use wifiprov_transport::mdns::{Advertisement, MdnsHandle};
use wifiprov_wifi::BoxFuture;

use crate::route::{Route, RouteContext, RouteError, RunningRoute};

/// Announces the HTTP route started before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MdnsRoute {
    template: Advertisement,
    on_loopback: bool,
}

impl MdnsRoute {
    /// Announces the provisioning service `service_name`, unless the HTTP route listens on
    /// loopback (nobody else could reach it).
    pub fn new(service_name: impl Into<String>) -> Self {
        MdnsRoute::with_advertisement(Advertisement::new(service_name, 0))
    }

    /// Announces as `advertisement` says (TXT records, addresses, mDNS port); its port is
    /// replaced by the HTTP route's at every start.
    pub fn with_advertisement(advertisement: Advertisement) -> Self {
        MdnsRoute {
            template: advertisement,
            on_loopback: false,
        }
    }

    /// Announces even when the HTTP route listens on loopback.
    pub fn on_loopback(mut self, announce: bool) -> Self {
        self.on_loopback = announce;
        self
    }
}

impl Route for MdnsRoute {
    fn name(&self) -> &str {
        "mDNS"
    }

    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
        let mut advertisement = self.template.clone();
        let on_loopback = self.on_loopback;
        Box::pin(async move {
            let addr = ctx.http_addr().ok_or_else(|| {
                RouteError::Needs("mDNS announces an HTTP route; add one before it".into())
            })?;
            let stop = ctx.shutdown().signalled();
            if addr.ip().is_loopback() && !on_loopback {
                tracing::debug!("mDNS: not announcing {addr}, which only this machine reaches");
                return Ok(RunningRoute::new(None, async move {
                    stop.await;
                    Ok(())
                }));
            }
            advertisement.port = addr.port();
            let handle = advertisement.start()?;
            Ok(RunningRoute::new(None, async move {
                stop.await;
                withdraw(handle).await
            }))
        })
    }
}

/// Withdraws the announcement (waiting for the goodbye packets off the async threads).
async fn withdraw(handle: MdnsHandle) -> Result<(), RouteError> {
    match tokio::task::spawn_blocking(move || handle.shutdown()).await {
        Ok(result) => Ok(result?),
        Err(e) => Err(RouteError::other(format!("mDNS withdrawal: {e}"))),
    }
}
