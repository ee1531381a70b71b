//! [`WpaBackend`]: the [`WifiBackend`] that drives wpa_supplicant over its control socket.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use super::ctrl::{CtrlClient, EventListener, PrivateDir, check_socket_path};
use super::event::WpaEvent;
use super::parse::{
    NetworkEntry, Status, frequency_to_channel, parse_list_networks, parse_scan_results,
    parse_signal_rssi, parse_status,
};
use crate::{
    AccessPoint, ApConfig, BoxFuture, ConnectError, ConnectProgress, Credentials, LinkStatus,
    ScanParams, StationStatus, WifiBackend, WifiError, WifiErrorKind,
};

/// Timeouts and behaviour of a [`WpaBackend`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WpaOptions {
    /// How long one control request may wait for its reply (default 5 s: a busy device answers late).
    pub request_timeout: Duration,
    /// How long a scan may take (default 15 s).
    pub scan_timeout: Duration,
    /// From `SELECT_NETWORK` to `CTRL-EVENT-CONNECTED` (default 30 s).
    pub join_timeout: Duration,
    /// From `CTRL-EVENT-CONNECTED` to an address in `STATUS` (default 20 s).
    pub address_timeout: Duration,
    /// How long an access point may take to come up (default 30 s: a slow board needs a
    /// while to switch the interface to AP mode).
    pub ap_timeout: Duration,
    /// `CTRL-EVENT-NETWORK-NOT-FOUND` messages before a join fails with `NetworkNotFound`
    /// (default 3).
    pub not_found_scans: u32,
    /// Send `SAVE_CONFIG` after a successful join, so the network survives a restart
    /// (default false; needs `update_config=1` in wpa_supplicant's configuration).
    pub save_after_connect: bool,
    /// The access point's own address and DHCP server while it is up (default none: the
    /// interface is left as it is).
    pub ap_network: Option<super::ApNetwork>,
}

impl Default for WpaOptions {
    fn default() -> Self {
        WpaOptions {
            request_timeout: Duration::from_secs(5),
            scan_timeout: Duration::from_secs(15),
            join_timeout: Duration::from_secs(30),
            address_timeout: Duration::from_secs(20),
            ap_timeout: Duration::from_secs(30),
            not_found_scans: 3,
            save_after_connect: false,
            ap_network: None,
        }
    }
}

/// Why a running attempt was stopped from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// Nothing (the initial value).
    None,
    /// Another `connect` started.
    Superseded,
    /// `disconnect` was called.
    Disconnected,
    /// `start_ap` was called.
    AccessPoint,
}

impl Cancel {
    pub(crate) fn into_error(self, ssid: &str) -> ConnectError {
        let why = match self {
            Cancel::None | Cancel::Superseded => "replaced by a newer connection attempt",
            Cancel::Disconnected => "cancelled by disconnect",
            Cancel::AccessPoint => "cancelled: an access point was started",
        };
        ConnectError::Backend(WifiError::busy(format!(
            "the attempt to join {ssid:?} was {why}"
        )))
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) scanning: bool,
    /// Generation and SSID of the running attempt.
    pub(crate) attempt: Option<(u64, Vec<u8>)>,
    pub(crate) generations: u64,
    /// Networks to re-enable when the current chain of attempts ends (`SELECT_NETWORK`
    /// disables every other network).
    pub(crate) restore: Option<Vec<u32>>,
    /// The access point's network id and the networks to re-enable when it stops.
    pub(crate) ap: Option<(u32, Vec<u32>)>,
    /// The running access point's configuration, to bring it back after a join that took it
    /// down failed.
    pub(crate) ap_config: Option<crate::ApConfig>,
    /// The access point's address and DHCP server, while they are up.
    pub(crate) ap_net: Option<super::ap_net::ApNetUp>,
}

/// A [`WifiBackend`] driving a running wpa_supplicant through its per-interface control
/// socket. See the [module documentation](super) for what each operation does.
#[derive(Debug)]
pub struct WpaBackend {
    pub(crate) ctrl: PathBuf,
    pub(crate) iface: String,
    pub(crate) options: WpaOptions,
    pub(crate) client: CtrlClient,
    pub(crate) events: EventListener,
    pub(crate) state: Mutex<State>,
    pub(crate) cancel: watch::Sender<(u64, Cancel)>,
    _dir: Arc<PrivateDir>,
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Maps a reply that should be `OK`.
pub(crate) fn expect_ok(reply: &str, what: &str) -> Result<(), WifiError> {
    match reply.trim_end() {
        "OK" => Ok(()),
        "FAIL-BUSY" => Err(WifiError::busy(format!("wpa_supplicant is busy ({what})"))),
        "UNKNOWN COMMAND" => Err(WifiError::unsupported(format!(
            "this wpa_supplicant does not know {what}"
        ))),
        other => Err(WifiError::invalid(format!(
            "wpa_supplicant refused {what} ({other})"
        ))),
    }
}

impl WpaBackend {
    /// Connects to the wpa_supplicant control socket at `ctrl_path` (for example
    /// `/run/wpa_supplicant/wlan0`) with default [`WpaOptions`].
    ///
    /// Fails with [`WifiErrorKind::Unavailable`](crate::WifiErrorKind::Unavailable), naming the path, when the socket does not
    /// exist, is not a socket, may not be used (permission denied), nobody listens on it,
    /// or it does not answer `PING` with `PONG` within the request timeout.
    pub async fn connect(ctrl_path: impl AsRef<Path>) -> Result<Self, WifiError> {
        Self::connect_with(ctrl_path, WpaOptions::default()).await
    }

    /// Like [`WpaBackend::connect`], with explicit options.
    pub async fn connect_with(
        ctrl_path: impl AsRef<Path>,
        options: WpaOptions,
    ) -> Result<Self, WifiError> {
        let ctrl = ctrl_path.as_ref().to_owned();
        check_socket_path(&ctrl)?;
        let dir = PrivateDir::create()?;
        let client = CtrlClient::open(&ctrl, &dir, options.request_timeout)?;
        let pong = client.request("PING").await.map_err(|e| match e {
            e if e.is(WifiErrorKind::Unavailable) && e.message().starts_with("no answer") => {
                WifiError::unavailable(format!(
                    "{} did not answer PING within {} ms; is it a wpa_supplicant control socket?",
                    ctrl.display(),
                    options.request_timeout.as_millis()
                ))
            }
            other => other,
        })?;
        if pong.trim_end() != "PONG" {
            return Err(WifiError::unavailable(format!(
                "{} answered {:?} to PING, so it is not a wpa_supplicant control socket",
                ctrl.display(),
                pong.trim_end()
            )));
        }
        let iface = match client.request("IFNAME").await {
            Ok(name)
                if !name.trim().is_empty() && !name.contains(' ') && !name.starts_with("FAIL") =>
            {
                name.trim().to_owned()
            }
            _ => ctrl
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let events = EventListener::start(&ctrl, &dir, options.request_timeout)?;
        tracing::debug!(
            target: "wifiprov_wifi::wpa",
            "connected to wpa_supplicant on {iface} at {}",
            ctrl.display()
        );
        let (cancel, _) = watch::channel((0, Cancel::None));
        Ok(WpaBackend {
            ctrl,
            iface,
            options,
            client,
            events,
            state: Mutex::new(State::default()),
            cancel,
            _dir: dir,
        })
    }

    /// The control socket this backend talks to.
    pub fn ctrl_path(&self) -> &Path {
        &self.ctrl
    }

    /// The network interface wpa_supplicant manages through this socket.
    pub fn interface(&self) -> &str {
        &self.iface
    }

    /// The options in use.
    pub fn options(&self) -> &WpaOptions {
        &self.options
    }

    /// Every unsolicited wpa_supplicant message from now on, parsed.
    pub fn subscribe(&self) -> broadcast::Receiver<WpaEvent> {
        self.events.subscribe()
    }

    pub(crate) fn ensure_alive(&self) -> Result<(), WifiError> {
        if self.events.is_alive() {
            Ok(())
        } else {
            Err(WifiError::unavailable(format!(
                "wpa_supplicant at {} has exited or restarted; reconnect",
                self.ctrl.display()
            )))
        }
    }

    /// Sends a command and returns the reply.
    pub(crate) async fn cmd(&self, cmd: &str) -> Result<String, WifiError> {
        self.client.request(cmd).await
    }

    /// Sends a command that must be answered `OK`.
    pub(crate) async fn cmd_ok(&self, cmd: &str) -> Result<(), WifiError> {
        let reply = self.cmd(cmd).await?;
        expect_ok(&reply, cmd.split(' ').next().unwrap_or(cmd))
    }

    /// Writes wpa_supplicant's current configuration to its configuration file
    /// (`SAVE_CONFIG`). Fails with [`WifiErrorKind::Unsupported`](crate::WifiErrorKind::Unsupported) when wpa_supplicant refuses
    /// (its configuration lacks `update_config=1`, or the file is not writable).
    pub async fn save_config(&self) -> Result<(), WifiError> {
        let reply = self.cmd("SAVE_CONFIG").await?;
        match reply.trim_end() {
            "OK" => Ok(()),
            other => Err(WifiError::unsupported(format!(
                "wpa_supplicant on {} refused SAVE_CONFIG ({other}): its configuration needs \
                 update_config=1 and a writable configuration file",
                self.iface
            ))),
        }
    }

    /// The configured network blocks (`LIST_NETWORKS`).
    pub async fn list_networks(&self) -> Result<Vec<NetworkEntry>, WifiError> {
        Ok(parse_list_networks(&self.cmd("LIST_NETWORKS").await?))
    }

    /// Removes a network block (`REMOVE_NETWORK`); [`WifiErrorKind::Invalid`](crate::WifiErrorKind::Invalid) when there is no
    /// network `id`.
    pub async fn remove_network(&self, id: u32) -> Result<(), WifiError> {
        let reply = self.cmd(&format!("REMOVE_NETWORK {id}")).await?;
        match reply.trim_end() {
            "OK" => Ok(()),
            other => Err(WifiError::invalid(format!(
                "wpa_supplicant on {} has no network {id} to remove ({other})",
                self.iface
            ))),
        }
    }

    /// The access points wpa_supplicant currently knows from earlier scans
    /// (`SCAN_RESULTS`, without scanning).
    pub async fn scan_results(&self) -> Result<Vec<AccessPoint>, WifiError> {
        Ok(parse_scan_results(&self.cmd("SCAN_RESULTS").await?))
    }

    /// The current `STATUS`.
    pub(crate) async fn raw_status(&self) -> Result<Status, WifiError> {
        Ok(parse_status(&self.cmd("STATUS").await?))
    }

    /// The signal of the current link (`SIGNAL_POLL`), if the driver reports one.
    pub(crate) async fn signal(&self) -> Option<i8> {
        self.cmd("SIGNAL_POLL")
            .await
            .ok()
            .and_then(|r| parse_signal_rssi(&r))
    }

    /// Stops a running attempt, telling it why.
    pub(crate) fn cancel_attempt(&self, why: Cancel) {
        let mut state = lock(&self.state);
        if state.attempt.take().is_some() {
            state.generations += 1;
            let generation = state.generations;
            self.cancel.send_replace((generation, why));
        }
    }

    /// Re-enables `ids` (best effort).
    pub(crate) async fn enable_all(&self, ids: &[u32]) {
        for id in ids {
            if let Err(e) = self.cmd_ok(&format!("ENABLE_NETWORK {id}")).await {
                tracing::debug!(target: "wifiprov_wifi::wpa", "re-enabling network {id}: {e}");
            }
        }
    }

    /// The link described by `status`.
    pub(crate) async fn link_from_status(&self, status: &Status, ip: Ipv4Addr) -> LinkStatus {
        let known = match self.scan_results().await {
            Ok(aps) => aps.into_iter().find(|ap| Some(ap.bssid) == status.bssid),
            Err(_) => None,
        };
        LinkStatus {
            ssid: status.ssid.clone().unwrap_or_default(),
            bssid: status.bssid.unwrap_or_default(),
            channel: status
                .freq
                .map(frequency_to_channel)
                .or(known.as_ref().map(|ap| ap.channel))
                .unwrap_or(0),
            auth: known
                .as_ref()
                .map(|ap| ap.auth)
                .or_else(|| status.auth())
                .unwrap_or(crate::AuthMode::Open),
            ip,
            rssi: match self.signal().await {
                Some(rssi) => rssi,
                None => known.map_or(0, |ap| ap.rssi),
            },
        }
    }

    async fn station_status(&self) -> Result<StationStatus, WifiError> {
        self.ensure_alive()?;
        let status = self.raw_status().await?;
        let attempt = lock(&self.state).attempt.as_ref().map(|(_, s)| s.clone());
        let ap_mode = status.mode.as_deref() == Some("AP");
        let connecting = |status: &Status| StationStatus::Connecting {
            ssid: attempt
                .clone()
                .or_else(|| status.ssid.clone())
                .unwrap_or_default(),
        };
        Ok(match status.wpa_state.as_str() {
            "COMPLETED" if !ap_mode => match status.ip_address {
                Some(ip) if attempt.is_none() => {
                    StationStatus::Connected(self.link_from_status(&status, ip).await)
                }
                _ => connecting(&status),
            },
            "AUTHENTICATING" | "ASSOCIATING" | "ASSOCIATED" | "4WAY_HANDSHAKE"
            | "GROUP_HANDSHAKE"
                if !ap_mode =>
            {
                connecting(&status)
            }
            _ if attempt.is_some() => connecting(&status),
            _ => StationStatus::Disconnected,
        })
    }

    async fn run_scan(&self, params: ScanParams) -> Result<Vec<AccessPoint>, WifiError> {
        self.ensure_alive()?;
        if self.cmd("GET ap_scan").await?.trim() == "0" {
            return Err(WifiError::unsupported(format!(
                "wpa_supplicant on {} runs with ap_scan=0 (the driver selects networks itself), \
                 so it does not scan",
                self.iface
            )));
        }
        {
            let mut state = lock(&self.state);
            if state.scanning {
                return Err(WifiError::busy("a scan is already running"));
            }
            state.scanning = true;
        }
        let _guard = ScanGuard(&self.state);
        let mut events = self.subscribe();
        let cmd = if params.passive {
            "SCAN passive=1"
        } else {
            "SCAN"
        };
        let reply = self.cmd(cmd).await?;
        match reply.trim_end() {
            "OK" => {}
            "FAIL-BUSY" => {
                return Err(WifiError::busy(format!(
                    "wpa_supplicant is already scanning on {}",
                    self.iface
                )));
            }
            other => {
                return Err(WifiError::unavailable(format!(
                    "wpa_supplicant refused to scan on {} ({other})",
                    self.iface
                )));
            }
        }
        let deadline = tokio::time::Instant::now() + self.options.scan_timeout;
        loop {
            let event = tokio::time::timeout_at(deadline, events.recv())
                .await
                .map_err(|_| {
                    WifiError::unavailable(format!(
                        "no scan results from {} within {} ms",
                        self.iface,
                        self.options.scan_timeout.as_millis()
                    ))
                })?;
            match event {
                Ok(WpaEvent::ScanResults) => break,
                Ok(WpaEvent::ScanFailed { ret: -16, .. }) => {
                    return Err(WifiError::busy(format!(
                        "the driver of {} is busy and could not scan (ret=-16)",
                        self.iface
                    )));
                }
                Ok(WpaEvent::ScanFailed { ret, .. }) => {
                    return Err(WifiError::unavailable(format!(
                        "the driver of {} could not scan (CTRL-EVENT-SCAN-FAILED ret={ret})",
                        self.iface
                    )));
                }
                Ok(WpaEvent::Terminating) | Err(broadcast::error::RecvError::Closed) => {
                    return Err(WifiError::unavailable(format!(
                        "wpa_supplicant on {} exited during the scan",
                        self.iface
                    )));
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            }
        }
        self.scan_results().await
    }

    async fn leave(&self) -> Result<(), WifiError> {
        self.ensure_alive()?;
        self.cancel_attempt(Cancel::Disconnected);
        if lock(&self.state).ap.is_some() {
            // The interface runs the access point, not a station link: `DISCONNECT` would
            // tear the access point down (stop_ap ends it).
            return Ok(());
        }
        self.cmd_ok("DISCONNECT").await
    }
}

/// Clears `scanning` when a scan ends, however it ends.
struct ScanGuard<'a>(&'a Mutex<State>);

impl Drop for ScanGuard<'_> {
    fn drop(&mut self) {
        lock(self.0).scanning = false;
    }
}

/// Sends progress to the caller, if it listens.
pub(crate) fn report(progress: Option<&UnboundedSender<ConnectProgress>>, step: ConnectProgress) {
    if let Some(tx) = progress {
        let _ = tx.send(step);
    }
}

impl WifiBackend for WpaBackend {
    fn name(&self) -> &'static str {
        "wpa_supplicant"
    }

    fn scan(&self, params: ScanParams) -> BoxFuture<'_, Result<Vec<AccessPoint>, WifiError>> {
        Box::pin(self.run_scan(params))
    }

    fn connect(
        &self,
        credentials: Credentials,
        progress: Option<UnboundedSender<ConnectProgress>>,
    ) -> BoxFuture<'_, Result<LinkStatus, ConnectError>> {
        Box::pin(self.join(credentials, progress))
    }

    fn disconnect(&self) -> BoxFuture<'_, Result<(), WifiError>> {
        Box::pin(self.leave())
    }

    fn status(&self) -> BoxFuture<'_, Result<StationStatus, WifiError>> {
        Box::pin(self.station_status())
    }

    fn start_ap(&self, config: ApConfig) -> BoxFuture<'_, Result<(), WifiError>> {
        Box::pin(self.run_ap(config))
    }

    fn stop_ap(&self) -> BoxFuture<'_, Result<(), WifiError>> {
        Box::pin(self.end_ap())
    }

    fn ap_shares_radio(&self) -> bool {
        true
    }
}
