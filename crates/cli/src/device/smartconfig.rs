//! SmartConfig as one more provisioning route of `wifiprov device`.
//!
//! With `--smartconfig-interface` (a monitor-mode interface) or `--smartconfig-udp`, the agent
//! also listens for ESPTouch / AirKiss while it serves protocomm. Credentials that arrive this
//! way go through the same provisioning state machine as SetConfig + ApplyConfig (stored,
//! joined, reported with events, auto-stop), then the device acknowledges them the way the
//! protocol expects. If joining fails, it listens again: no reset, no reboot.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use smartconfig::ScType;
use smartconfig::api::{Joiner, Outcome, Settings, SmartConfig, Status};
use smartconfig::net::AckConfig;
use smartconfig::net::capture::MonitorOptions;
use smartconfig::net::source::{OpenSource, open_monitor, open_udp};
use wifiprov_device::Manager;
use wifiprov_wifi::{ConnectError, Credentials, WifiBackend};

/// How long credentials that just failed are not tried again when the same message arrives.
const SAME_CREDENTIALS_PAUSE: Duration = Duration::from_secs(60);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the `--smartconfig-*` flags ask for.
pub(crate) struct Route {
    open: OpenSource,
    sc_type: ScType,
    settings: Settings,
}

impl Route {
    /// The route the flags describe, or `None` when none of them was given.
    pub(crate) fn from_flags(
        interface: Option<&str>,
        udp: Option<SocketAddr>,
        sc_type: Option<ScType>,
        aes_key: Option<&str>,
        ack_port: Option<u16>,
        ack_broadcast: Option<IpAddr>,
    ) -> Result<Option<Route>> {
        let open = match (interface, udp) {
            (Some(_), Some(_)) => {
                bail!("--smartconfig-interface and --smartconfig-udp exclude each other")
            }
            (Some(interface), None) => {
                open_monitor(interface.to_owned(), MonitorOptions::default())
            }
            (None, Some(addr)) => open_udp(addr),
            (None, None) => {
                if sc_type.is_some()
                    || aes_key.is_some()
                    || ack_port.is_some()
                    || ack_broadcast.is_some()
                {
                    bail!(
                        "the --smartconfig-* settings need a source: --smartconfig-interface \
                         or --smartconfig-udp"
                    );
                }
                return Ok(None);
            }
        };
        let mut ack = AckConfig::default();
        if let Some(port) = ack_port {
            ack.esptouch_port = port;
            ack.v2_port = Some(port);
            ack.airkiss_port = port;
        }
        if let Some(ip) = ack_broadcast {
            ack.broadcast = Some(ip);
        }
        Ok(Some(Route {
            open,
            sc_type: sc_type.unwrap_or_default(),
            settings: Settings {
                aes_key: crate::smartconfig::key_bytes(aes_key)?,
                mac: crate::smartconfig::listen::default_mac(),
                ack,
            },
        }))
    }

    /// Starts listening in the background: until credentials arrive and are joined and
    /// acknowledged, listening again after every failed join.
    pub(crate) fn spawn(self, wifi: Arc<dyn WifiBackend>, manager: Manager) -> Running {
        let sc = SmartConfig::new(wifi, self.open.clone());
        let task = tokio::spawn(self.serve(sc.clone(), manager));
        Running { sc, task }
    }

    async fn serve(self, sc: SmartConfig, manager: Manager) {
        sc.set_settings(self.settings);
        // A phone keeps sending a wrong passphrase until its user gives up: try it once, not
        // on every pass (access points may lock out stations that keep failing).
        let failed: Arc<Mutex<Option<(Credentials, Instant)>>> = Arc::default();
        let for_joiner = manager.clone();
        let joiner: Joiner = Arc::new(move |credentials| {
            let manager = for_joiner.clone();
            let failed = failed.clone();
            Box::pin(async move {
                let repeat = lock(&failed).as_ref().is_some_and(|(c, at)| {
                    *c == credentials && at.elapsed() < SAME_CREDENTIALS_PAUSE
                });
                if repeat {
                    return Err(ConnectError::NotAccepting(
                        "these credentials failed moments ago; waiting for different ones".into(),
                    ));
                }
                let result = manager.provide(credentials.clone()).await;
                if result.is_err() {
                    *lock(&failed) = Some((credentials, Instant::now()));
                }
                result
            })
        });
        sc.join_with(joiner);
        loop {
            // A failed join sets the received protocol as the type: listen for all again.
            sc.set_type(self.sc_type);
            if let Err(e) = sc.start().await {
                tracing::error!("SmartConfig: {e}");
                return;
            }
            tracing::info!("SmartConfig: listening for {}", self.sc_type.name());
            match sc.wait_finished().await {
                Status::Finished(Outcome::Acknowledged { link, ack }) => {
                    tracing::info!(
                        "SmartConfig: joined {:?} as {}; acknowledged with {} datagrams",
                        String::from_utf8_lossy(&link.ssid),
                        link.ip,
                        ack.sent
                    );
                    manager.outcome_reported();
                    return;
                }
                Status::Finished(Outcome::AckFailed { error, .. }) => {
                    tracing::warn!("SmartConfig: joined, but the acknowledgement failed: {error}");
                    manager.outcome_reported();
                    return;
                }
                Status::Finished(Outcome::ConnectFailed(ConnectError::NotAccepting(why))) => {
                    tracing::debug!("SmartConfig: {why}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Status::Finished(Outcome::ConnectFailed(e)) => {
                    tracing::warn!("SmartConfig: credentials received, but joining failed: {e}");
                    // Give the phone a moment to stop sending the old message.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Status::Finished(Outcome::SourceEnded) => {
                    tracing::info!("SmartConfig: the source ended");
                    return;
                }
                Status::Finished(Outcome::SourceFailed(e)) => {
                    tracing::error!("SmartConfig: the source failed: {e}");
                    return;
                }
                other => {
                    tracing::debug!("SmartConfig: stopped ({other:?})");
                    return;
                }
            }
        }
    }
}

/// The SmartConfig route while the agent runs.
pub(crate) struct Running {
    sc: SmartConfig,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Ends the route when the agent stops: credentials that came by SmartConfig are
    /// acknowledged after the join, so a join or acknowledgement under way may finish (up to
    /// a few seconds); plain listening stops at once.
    pub(crate) async fn finish(mut self) {
        if matches!(self.sc.status(), Status::Connecting | Status::Acknowledging)
            && tokio::time::timeout(Duration::from_secs(5), &mut self.task)
                .await
                .is_ok()
        {
            return;
        }
        self.sc.stop();
        self.task.abort();
    }
}
