//! [`SmartConfigRoute`]: credentials sent by a phone as ESPTouch v1/v2 or AirKiss, sniffed on
//! a monitor-mode interface or read from UDP payload lengths.
//!
//! Credentials that arrive this way go through the same provisioning service as protocomm's
//! SetConfig + ApplyConfig (stored, joined, reported with events, auto-stop), through the
//! route's [`Provisioner`]; then the device acknowledges them the way the protocol expects.
//! If joining fails the route listens again (no reset, no reboot). A phone keeps sending a
//! wrong passphrase until its user gives up, so credentials that just failed are not tried
//! again for [`SAME_CREDENTIALS_PAUSE`] (access points may lock out stations that keep
//! failing).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use smartconfig::ScType;
use smartconfig::api::{Joiner, Outcome, Settings, SmartConfig, Status};
use smartconfig::net::OpenSource;
use smartconfig::net::source::open_udp;
use wifiprov_device::ProvError;
use wifiprov_wifi::{BoxFuture, ConnectError, Credentials};

use crate::route::{Place, Provisioner, Route, RouteContext, RouteError, RunningRoute};

/// How long credentials that just failed are not tried again when the same message arrives.
pub const SAME_CREDENTIALS_PAUSE: Duration = Duration::from_secs(60);

/// How long a join or acknowledgement under way may go on once the route is told to stop.
pub const FINISH_GRACE: Duration = Duration::from_secs(5);

/// The pause after a failed attempt before listening again (the phone stops sending the old
/// message meanwhile).
const RELISTEN_PAUSE: Duration = Duration::from_millis(500);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The credentials that failed last, and when.
type LastFailure = Arc<Mutex<Option<(Credentials, Instant)>>>;

/// Receives credentials by SmartConfig and hands them to the provisioning service.
#[derive(Clone)]
pub struct SmartConfigRoute {
    place: String,
    open: OpenSource,
    sc_type: ScType,
    settings: Settings,
    pause: Duration,
    failed: LastFailure,
    /// The monitor interface and the station interface whose radio it takes, if any.
    radio: Option<(String, String)>,
}

impl SmartConfigRoute {
    /// Reads the payload lengths of UDP datagrams arriving on `addr` (a machine on the
    /// phone's network, or tests).
    pub fn udp(addr: SocketAddr) -> Self {
        SmartConfigRoute::new(format!("SmartConfig on udp {addr}"), open_udp(addr))
    }

    /// Sniffs on the monitor-mode `interface`, hopping channels until a guide is heard.
    #[cfg(feature = "monitor")]
    pub fn monitor(interface: impl Into<String>) -> Self {
        let interface = interface.into();
        SmartConfigRoute::new(
            format!("SmartConfig on {interface}"),
            smartconfig::net::source::open_monitor(
                interface,
                smartconfig::net::capture::MonitorOptions::default(),
            ),
        )
    }

    /// Sniffs on the monitor interface `interface` on the radio of the station interface
    /// `station` (a device with one radio, like an ESP32): at every start it scans, tells the
    /// Wi-Fi backend to disconnect, takes the station interface down, creates `interface` on
    /// its radio if missing, and hops the channels the scan found access points on; once
    /// credentials have arrived (or the route stops) it removes the monitor interface it
    /// created and brings the station up again, and then joins. When `interface` exists on
    /// another radio, this is [`SmartConfigRoute::monitor`].
    #[cfg(feature = "monitor")]
    pub fn monitor_on_radio(interface: impl Into<String>, station: impl Into<String>) -> Self {
        let (interface, station) = (interface.into(), station.into());
        let options = smartconfig::net::capture::MonitorOptions {
            station: Some(station.clone()),
            ..smartconfig::net::capture::MonitorOptions::default()
        };
        let mut route = SmartConfigRoute::new(
            format!("SmartConfig on {interface} (radio of {station})"),
            smartconfig::net::source::open_monitor(interface.clone(), options),
        );
        route.radio = Some((interface, station));
        route
    }

    /// Whether the source takes the station's radio.
    fn exclusive_radio(&self) -> bool {
        #[cfg(feature = "monitor")]
        if let Some((monitor, station)) = &self.radio {
            return smartconfig::monitor::shares_radio(monitor, station);
        }
        false
    }

    /// Listens on the source `open` opens (at every start), described as `place`.
    pub fn new(place: impl Into<String>, open: OpenSource) -> Self {
        SmartConfigRoute {
            place: place.into(),
            open,
            sc_type: ScType::default(),
            settings: Settings::default(),
            pause: SAME_CREDENTIALS_PAUSE,
            failed: LastFailure::default(),
            radio: None,
        }
    }

    /// What to listen for [default: ESPTouch and AirKiss].
    pub fn sc_type(mut self, sc_type: ScType) -> Self {
        self.sc_type = sc_type;
        self
    }

    /// The AES key, the MAC announced in acknowledgements, and how they are sent.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// How long credentials that just failed are refused when they arrive again [default:
    /// [`SAME_CREDENTIALS_PAUSE`]].
    pub fn same_credentials_pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// Joins through `provisioner`, refusing credentials that failed moments ago.
    fn joiner(&self, provisioner: Provisioner) -> Joiner {
        let failed = self.failed.clone();
        let pause = self.pause;
        Arc::new(move |credentials| {
            let provisioner = provisioner.clone();
            let failed = failed.clone();
            Box::pin(async move {
                let repeat = lock(&failed)
                    .as_ref()
                    .is_some_and(|(c, at)| *c == credentials && at.elapsed() < pause);
                if repeat {
                    return Err(ConnectError::NotAccepting(
                        "these credentials failed moments ago; waiting for different ones".into(),
                    ));
                }
                let result = provisioner.submit(credentials.clone()).await;
                // Only credentials the station tried and gave up on are held back; a refusal
                // (another attempt under way, say) says nothing about them.
                match &result {
                    Ok(_) => *lock(&failed) = None,
                    Err(ProvError::Connect(_)) => {
                        *lock(&failed) = Some((credentials, Instant::now()));
                    }
                    Err(_) => {}
                }
                result.map_err(ProvError::into_connect_error)
            })
        })
    }
}

impl std::fmt::Debug for SmartConfigRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmartConfigRoute")
            .field("place", &self.place)
            .field("sc_type", &self.sc_type)
            .field("pause", &self.pause)
            .field("radio", &self.radio)
            .finish_non_exhaustive()
    }
}

impl Route for SmartConfigRoute {
    fn name(&self) -> &str {
        "SmartConfig"
    }

    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
        let sc = SmartConfig::new(ctx.wifi().clone(), self.open.clone());
        sc.set_settings(self.settings.clone());
        let provisioner = ctx.provisioner().clone();
        sc.join_with(self.joiner(provisioner.clone()));
        sc.exclusive_radio(self.exclusive_radio());
        let sc_type = self.sc_type;
        let place = Place::Other(self.place.clone());
        let stop = ctx.shutdown().signalled();
        Box::pin(async move {
            sc.set_type(sc_type);
            sc.start().await?;
            tracing::info!("SmartConfig: listening for {}", sc_type.name());
            let serve = async move {
                let mut task = tokio::spawn(listen(sc.clone(), sc_type, provisioner));
                let result = tokio::select! {
                    joined = &mut task => joined.unwrap_or(Ok(())),
                    () = stop => {
                        // Credentials that came by SmartConfig are acknowledged after the
                        // join: a join or acknowledgement under way may finish; plain
                        // listening stops at once.
                        let busy =
                            matches!(sc.status(), Status::Connecting | Status::Acknowledging);
                        if busy {
                            tokio::time::timeout(FINISH_GRACE, &mut task)
                                .await
                                .map_or(Ok(()), |joined| joined.unwrap_or(Ok(())))
                        } else {
                            Ok(())
                        }
                    }
                };
                task.abort();
                // The next start binds the same source again.
                sc.stop_and_release().await;
                result
            };
            Ok(RunningRoute::new(Some(place), serve))
        })
    }
}

/// Follows a started receiver until credentials are joined and acknowledged, listening again
/// after every failed join.
async fn listen(
    sc: SmartConfig,
    sc_type: ScType,
    provisioner: Provisioner,
) -> Result<(), RouteError> {
    loop {
        match sc.wait_finished().await {
            Status::Finished(Outcome::Acknowledged { link, ack }) => {
                tracing::info!(
                    "SmartConfig: joined {:?} as {}; acknowledged with {} datagrams",
                    String::from_utf8_lossy(&link.ssid),
                    link.ip,
                    ack.sent
                );
                provisioner.outcome_reported();
                return Ok(());
            }
            Status::Finished(Outcome::AckFailed { error, .. }) => {
                tracing::warn!("SmartConfig: joined, but the acknowledgement failed: {error}");
                provisioner.outcome_reported();
                return Ok(());
            }
            Status::Finished(Outcome::ConnectFailed(ConnectError::NotAccepting(why))) => {
                tracing::debug!("SmartConfig: {why}");
            }
            Status::Finished(Outcome::ConnectFailed(e)) => {
                // The Manager's CredFail event reports the failure; this is its route's view.
                tracing::debug!("SmartConfig: credentials received, but joining failed: {e}");
            }
            Status::Finished(Outcome::SourceEnded) => {
                tracing::info!("SmartConfig: the source ended");
                return Ok(());
            }
            Status::Finished(Outcome::SourceFailed(e)) => {
                return Err(RouteError::other(format!("the source failed: {e}")));
            }
            other => {
                tracing::debug!("SmartConfig: stopped ({other:?})");
                return Ok(());
            }
        }
        tokio::time::sleep(RELISTEN_PAUSE).await;
        // A failed join sets the received protocol as the type: listen for all again.
        sc.set_type(sc_type);
        sc.start().await?;
        tracing::info!("SmartConfig: listening for {}", sc_type.name());
    }
}
