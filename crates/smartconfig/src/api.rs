//! A device-side API shaped like MicroPython's `smartconfig` module (spec §7, API generation
//! A): `type()`, `start()`, `stop()`, `done()`, `info()`, `ssid()`, `password()`, `bssid()`,
//! `rvd_data()`.
//!
//! [`SmartConfig::start`] runs a receiver over a fresh [`ObservationSource`] (a UDP socket,
//! a capture file, a monitor interface). When a message is complete it
//!
//! 1. stores the result, after which [`SmartConfig::type_`] reports the protocol received
//!    (and the next `start()` listens for that protocol only, as MicroPython does);
//! 2. joins the network through the [`WifiBackend`], pinning the BSSID when it is known (an
//!    SSID the sender left out is recovered from a scan the run makes while listening);
//! 3. on success hands the credentials to the credential sink
//!    ([`SmartConfig::on_credentials`]) and sends the acknowledgement ([`crate::net::ack`]).
//!
//! [`SmartConfig::done`] becomes true after the acknowledgement rounds, or when joining
//! failed (MicroPython sets it on any disconnect): it means "finished", not "succeeded";
//! [`SmartConfig::status`] tells which.
//!
//! ```no_run
//! # async fn demo(wifi: std::sync::Arc<dyn wifiprov_wifi::WifiBackend>) {
//! use smartconfig::api::SmartConfig;
//! use smartconfig::net::source::open_udp;
//!
//! let sc = SmartConfig::new(wifi, open_udp("0.0.0.0:7001".parse().unwrap()));
//! sc.start().await.unwrap();
//! sc.wait_finished().await;
//! if sc.done() {
//!     let info = sc.info();
//!     println!("{} via type {}", info.ssid, info.sc_type);
//! }
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use wifiprov_wifi::{Bssid, ConnectError, Credentials, LinkStatus, ScanParams, WifiBackend};

use crate::net::ack::{AckConfig, AckReport, AckRequest, send_ack};
use crate::net::codecs::{Decoding, Step};
use crate::net::source::{ObservationSource, OpenSource, SourceError};
use crate::receiver::{Received, ScanEntry};
use crate::{Protocol, ScType, Secret};

/// MicroPython's `smartconfig.TYPE_ESPTOUCH`.
pub const TYPE_ESPTOUCH: u8 = 0;
/// MicroPython's `smartconfig.TYPE_AIRKISS`.
pub const TYPE_AIRKISS: u8 = 1;
/// MicroPython's `smartconfig.TYPE_ESPTOUCH_AIRKISS` (the default).
pub const TYPE_ESPTOUCH_AIRKISS: u8 = 2;
/// MicroPython's `smartconfig.TYPE_ESPTOUCH_V2`.
pub const TYPE_ESPTOUCH_V2: u8 = 3;

/// The reserved-data buffer of API generation A holds 32 bytes and a NUL.
const RVD_CAPACITY: usize = 32;

/// Called with the credentials once the device has joined with them (the CLI stores them).
/// It runs on the runtime: keep it short.
pub type CredentialSink = Arc<dyn Fn(&Credentials) + Send + Sync>;

/// Joins the network with received credentials, in place of the Wi-Fi backend's own
/// `connect` (a provisioning agent routes them through its state machine this way, so that
/// they are stored, reported and counted like credentials from any other route).
pub type Joiner = Arc<
    dyn Fn(Credentials) -> wifiprov_wifi::BoxFuture<'static, Result<LinkStatus, ConnectError>>
        + Send
        + Sync,
>;

/// Settings of the device side.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// ESPTouch v2 AES key (16 bytes) / AirKiss key; without it encrypted messages are not
    /// accepted.
    pub aes_key: Option<Secret>,
    /// The station MAC the acknowledgement announces.
    pub mac: [u8; 6],
    /// Acknowledgement ports, destinations and timing.
    pub ack: AckConfig,
}

/// `info()`: what MicroPython returns as `(ssid, password, bssid, type[, rvd_data])`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// The SSID, cut at the first NUL (invalid UTF-8 replaced).
    pub ssid: String,
    /// The password bytes, cut at the first NUL.
    pub password: Secret,
    /// The BSSID (zeros when the message carried none).
    pub bssid: [u8; 6],
    /// [`SmartConfig::type_`] as a number.
    pub sc_type: u8,
    /// The reserved data ([`SmartConfig::rvd_data`]), only when non-empty and its first byte
    /// is not zero.
    pub reserved: Option<Vec<u8>>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Joined the network and acknowledged.
    Acknowledged {
        /// The link.
        link: LinkStatus,
        /// What the acknowledgement did.
        ack: AckReport,
    },
    /// Joined the network, but the acknowledgement could not be sent.
    AckFailed {
        /// The link.
        link: LinkStatus,
        /// Why.
        error: String,
    },
    /// Joining the network failed.
    ConnectFailed(ConnectError),
    /// The source ended (end of a capture file) without a complete message.
    SourceEnded,
    /// The source failed.
    SourceFailed(String),
}

/// Where a [`SmartConfig`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Never started.
    Idle,
    /// Reading observations.
    Listening,
    /// A message arrived; joining the network.
    Connecting,
    /// Joined; sending the acknowledgement.
    Acknowledging,
    /// The run ended.
    Finished(Outcome),
    /// `stop()` ended the run early.
    Stopped,
}

/// The SmartConfig receiver with MicroPython's semantics. Cloning gives another handle to
/// the same receiver.
#[derive(Clone)]
pub struct SmartConfig {
    inner: Arc<Inner>,
}

struct Inner {
    wifi: Arc<dyn WifiBackend>,
    open: OpenSource,
    state: Mutex<State>,
    status: watch::Sender<Status>,
}

#[derive(Default)]
struct State {
    sc_type: ScType,
    settings: Settings,
    sink: Option<CredentialSink>,
    joiner: Option<Joiner>,
    result: Option<Received>,
    done: bool,
    run: u64,
    task: Option<JoinHandle<()>>,
    source_addr: Option<SocketAddr>,
    exclusive_radio: bool,
}

impl std::fmt::Debug for SmartConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("SmartConfig")
            .field("type", &state.sc_type)
            .field("done", &state.done)
            .field("status", &*self.inner.status.borrow())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `update` and publishes `status` if `run` is still the current run.
    fn update(&self, run: u64, status: Status, update: impl FnOnce(&mut State)) -> bool {
        let mut state = self.lock();
        if state.run != run {
            return false;
        }
        update(&mut state);
        self.status.send_replace(status);
        true
    }
}

impl SmartConfig {
    /// A receiver joining through `wifi` and reading from sources opened by `open`.
    pub fn new(wifi: Arc<dyn WifiBackend>, open: OpenSource) -> SmartConfig {
        SmartConfig {
            inner: Arc::new(Inner {
                wifi,
                open,
                state: Mutex::new(State::default()),
                status: watch::channel(Status::Idle).0,
            }),
        }
    }

    /// Replaces the settings (used by the next `start()`).
    pub fn set_settings(&self, settings: Settings) {
        self.inner.lock().settings = settings;
    }

    /// The settings.
    pub fn settings(&self) -> Settings {
        self.inner.lock().settings.clone()
    }

    /// Sets the function that receives the credentials after a successful join.
    pub fn on_credentials(&self, sink: CredentialSink) {
        self.inner.lock().sink = Some(sink);
    }

    /// Joins through `joiner` instead of the Wi-Fi backend's `connect`.
    pub fn join_with(&self, joiner: Joiner) {
        self.inner.lock().joiner = Some(joiner);
    }

    /// Whether the source takes the station's radio while it listens (a monitor interface
    /// on the device's only radio, [`crate::net::capture::MonitorOptions::station`]). Then
    /// `start()` does what an ESP32 does: it scans first (the scan table completes messages
    /// without an SSID, and the source hops only the channels access points were found on),
    /// disconnects the station through the Wi-Fi backend (so that it does not join on its
    /// own when it gets the radio back), and only then opens the source. The source gives
    /// the radio back when the run drops it: before joining, or when the run is stopped.
    pub fn exclusive_radio(&self, exclusive: bool) {
        self.inner.lock().exclusive_radio = exclusive;
    }

    /// `type(t)`: the protocol(s) the next `start()` listens for.
    pub fn set_type(&self, sc_type: ScType) {
        self.inner.lock().sc_type = sc_type;
    }

    /// `type(n)` with a number: out-of-range numbers select `TYPE_ESPTOUCH_AIRKISS`.
    pub fn set_type_number(&self, number: i64) {
        self.set_type(ScType::from_number(number));
    }

    /// `type()`: the configured type, or after a result the protocol received.
    pub fn type_(&self) -> ScType {
        self.inner.lock().sc_type
    }

    /// `start()`: stops a previous run, clears the stored result and `done`, opens a fresh
    /// source and starts listening. Needs a tokio runtime.
    pub async fn start(&self) -> Result<(), SourceError> {
        self.stop();
        let previous = self.inner.lock().task.take();
        if let Some(task) = previous {
            // The old run must have let go of its socket before the new one binds it.
            let _ = task.await;
        }
        let (run, sc_type, settings, exclusive) = {
            let mut state = self.inner.lock();
            state.run += 1;
            state.result = None;
            state.done = false;
            state.source_addr = None;
            (
                state.run,
                state.sc_type,
                state.settings.clone(),
                state.exclusive_radio,
            )
        };
        let scanned = if exclusive {
            Some(self.take_radio().await)
        } else {
            None
        };
        let mut source = (self.inner.open)().await?;
        let channels = scanned.as_deref().map(plan).unwrap_or_default();
        if !channels.is_empty() {
            source.plan_channels(&channels);
        }
        tracing::info!(
            "smartconfig: listening for {} on {}",
            sc_type.name(),
            source.describe()
        );
        let inner = self.inner.clone();
        let mut state = self.inner.lock();
        if state.run != run {
            // Another start() overtook this one.
            return Ok(());
        }
        state.source_addr = source.local_addr();
        self.inner.status.send_replace(Status::Listening);
        state.task = Some(tokio::spawn(run_once(
            inner, run, source, sc_type, settings, scanned,
        )));
        Ok(())
    }

    /// Scans (a failed scan gives an empty table), then tells the Wi-Fi backend to leave the
    /// radio alone: the source about to open takes it.
    async fn take_radio(&self) -> Vec<ScanEntry> {
        let wifi = &self.inner.wifi;
        let table = match wifi.scan(ScanParams::default()).await {
            Ok(aps) => scan_table(aps),
            Err(e) => {
                tracing::warn!("smartconfig: scan before listening failed: {e}");
                Vec::new()
            }
        };
        tracing::info!(
            "smartconfig: scan found {} access points; taking the radio",
            table.len()
        );
        if let Err(e) = wifi.disconnect().await {
            tracing::debug!("smartconfig: disconnecting the station: {e}");
        }
        table
    }

    /// `stop()`: ends the current run (listening, joining or acknowledging). The stored
    /// result and the Wi-Fi connection stay as they are.
    pub fn stop(&self) {
        let mut state = self.inner.lock();
        state.run += 1;
        if let Some(task) = &state.task {
            task.abort();
        }
        let running = matches!(
            *self.inner.status.borrow(),
            Status::Listening | Status::Connecting | Status::Acknowledging
        );
        if running {
            self.inner.status.send_replace(Status::Stopped);
        }
    }

    /// `stop()`, then waits until the run has let go of its source (a UDP port can be bound
    /// again, a capture socket is closed).
    pub async fn stop_and_release(&self) {
        self.stop();
        let task = self.inner.lock().task.take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// `done()`: true once the acknowledgement rounds are over or joining failed.
    pub fn done(&self) -> bool {
        self.inner.lock().done
    }

    /// Where the run is.
    pub fn status(&self) -> Status {
        self.inner.status.borrow().clone()
    }

    /// Waits until the run has finished or was stopped (returns at once when idle).
    pub async fn wait_finished(&self) -> Status {
        let mut rx = self.inner.status.subscribe();
        let result = rx
            .wait_for(|s| matches!(s, Status::Idle | Status::Finished(_) | Status::Stopped))
            .await
            .map(|s| s.clone());
        result.unwrap_or(Status::Stopped)
    }

    /// The local address of the current source's socket, if it has one (a UDP source bound
    /// to port 0 tells its port here).
    pub fn source_addr(&self) -> Option<SocketAddr> {
        self.inner.lock().source_addr
    }

    /// The complete message received in the current run, if any (nothing cut or truncated).
    pub fn result(&self) -> Option<Received> {
        self.inner.lock().result.clone()
    }

    /// `info()`.
    pub fn info(&self) -> Info {
        let reserved = self.rvd_data();
        Info {
            ssid: self.ssid(),
            password: self.password(),
            bssid: self.bssid(),
            sc_type: self.type_().number(),
            reserved: (reserved.first().is_some_and(|b| *b != 0)).then_some(reserved),
        }
    }

    /// `ssid()`: the SSID as text, cut at the first NUL; empty before a result.
    pub fn ssid(&self) -> String {
        let state = self.inner.lock();
        let ssid = state
            .result
            .as_ref()
            .map(Received::ssid)
            .unwrap_or_default();
        String::from_utf8_lossy(until_nul(ssid)).into_owned()
    }

    /// `password()`: the password, cut at the first NUL; empty before a result.
    pub fn password(&self) -> Secret {
        let state = self.inner.lock();
        let password = state.result.as_ref().map(|r| r.decoded.password.expose());
        Secret::new(until_nul(password.unwrap_or_default()))
    }

    /// `bssid()`: six bytes, zeros before a result or when the access point's BSSID is not
    /// known ([`Received::bssid`]).
    pub fn bssid(&self) -> [u8; 6] {
        let state = self.inner.lock();
        state
            .result
            .as_ref()
            .and_then(|r| r.bssid)
            .unwrap_or([0; 6])
    }

    /// `rvd_data()`: the ESPTouch v2 reserved data as API generation A returns it: at most
    /// 32 bytes, cut at the first NUL; empty otherwise. [`SmartConfig::result`] has it whole.
    pub fn rvd_data(&self) -> Vec<u8> {
        let state = self.inner.lock();
        let reserved = state.result.as_ref().map(|r| r.decoded.reserved.as_slice());
        let reserved = reserved.unwrap_or_default();
        until_nul(reserved.get(..RVD_CAPACITY).unwrap_or(reserved)).to_vec()
    }
}

/// The bytes before the first NUL.
fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    bytes.get(..end).unwrap_or(bytes)
}

/// The scan table of the receiver.
fn scan_table(aps: Vec<wifiprov_wifi::AccessPoint>) -> Vec<ScanEntry> {
    aps.into_iter()
        .map(|ap| ScanEntry {
            ssid: ap.ssid,
            bssid: ap.bssid.0,
            channel: ap.channel,
            rssi: ap.rssi,
        })
        .collect()
}

/// The 2.4 GHz channels access points were found on, in order, each once (spec §1.4: only
/// those are hopped).
fn plan(table: &[ScanEntry]) -> Vec<u8> {
    let mut channels: Vec<u8> = table
        .iter()
        .map(|entry| entry.channel)
        .filter(|channel| (1..=14).contains(channel))
        .collect();
    channels.sort_unstable();
    channels.dedup();
    channels
}

/// One run: listen, join, acknowledge. `scanned`: the scan table when `start()` scanned
/// before opening the source (the radio is the source's then, so no scan runs meanwhile).
async fn run_once(
    inner: Arc<Inner>,
    run: u64,
    mut source: Box<dyn ObservationSource>,
    sc_type: ScType,
    settings: Settings,
    scanned: Option<Vec<ScanEntry>>,
) {
    let mut decoding = Decoding::new(sc_type, settings.aes_key.as_ref());
    // The scan table completes messages whose SSID the sender left out; scan while listening
    // unless that was done before.
    let scanning = scanned.is_none();
    if let Some(table) = scanned {
        decoding.set_scan(table);
    }
    let wifi = inner.wifi.clone();
    let mut scan = Box::pin(async move { wifi.scan(ScanParams::default()).await });
    let mut scanning = scanning;
    let received = loop {
        tokio::select! {
            result = &mut scan, if scanning => {
                scanning = false;
                match result {
                    Ok(aps) => decoding.set_scan(scan_table(aps)),
                    Err(e) => tracing::debug!("smartconfig: scan failed: {e}"),
                }
            }
            next = source.next() => match next {
                Ok(Some(observation)) => match decoding.step(&observation) {
                    Some(Step::Done(received)) => break *received,
                    Some(Step::Locked(channel)) => source.lock_channel(channel),
                    Some(Step::Unlocked) => source.lock_channel(None),
                    None => {}
                },
                Ok(None) => {
                    tracing::info!(
                        "smartconfig: {} ended: {}",
                        source.describe(),
                        decoding.why_not()
                    );
                    inner.update(run, Status::Finished(Outcome::SourceEnded), |_| {});
                    return;
                }
                Err(e) => {
                    tracing::error!("smartconfig: {e}");
                    let outcome = Outcome::SourceFailed(e.to_string());
                    inner.update(run, Status::Finished(outcome), |_| {});
                    return;
                }
            },
        }
    };
    drop(scan);
    let protocol = received.protocol();
    tracing::info!(
        "smartconfig: received {} credentials for {:?}",
        protocol.name(),
        String::from_utf8_lossy(received.ssid())
    );
    let stored = inner.update(run, Status::Connecting, |state| {
        state.result = Some(received.clone());
        // MicroPython: type() now reports, and the next start() uses, the received protocol.
        state.sc_type = protocol.sc_type();
    });
    if !stored {
        return;
    }
    let handshake = if protocol == Protocol::AirKiss {
        source.into_socket()
    } else {
        drop(source);
        None
    };

    // The station takes C strings, as on ESP-IDF: both end at their first NUL (which is also
    // what `info()` reports).
    let c_string = |bytes: &[u8]| bytes.split(|b| *b == 0).next().unwrap_or_default().to_vec();
    let password = zeroize::Zeroizing::new(c_string(received.decoded.password.expose()));
    let mut credentials = match Credentials::new(c_string(received.ssid()), password.as_slice()) {
        Ok(credentials) => credentials,
        Err(e) => {
            return connect_failed(&inner, run, ConnectError::InvalidCredentials(e.to_string()));
        }
    };
    credentials.bssid = received.bssid.filter(|b| *b != [0; 6]).map(Bssid);
    credentials.channel = received.channel;
    let joiner = inner.lock().joiner.clone();
    let joined = match joiner {
        Some(join) => join(credentials.clone()).await,
        None => inner.wifi.connect(credentials.clone(), None).await,
    };
    let link = match joined {
        Ok(link) => link,
        Err(e) => return connect_failed(&inner, run, e),
    };
    tracing::info!(
        "smartconfig: joined {:?}, address {}",
        credentials.ssid_lossy(),
        link.ip
    );
    let sink = {
        let state = inner.lock();
        if state.run != run {
            return;
        }
        state.sink.clone()
    };
    if let Some(sink) = sink {
        sink(&credentials);
    }
    inner.update(run, Status::Acknowledging, |_| {});
    let request = AckRequest {
        protocol,
        token: received.decoded.token,
        phone_ip: received.decoded.phone_ip,
        mac: settings.mac,
        ip: link.ip,
    };
    let outcome = match send_ack(&request, &settings.ack, handshake).await {
        Ok(ack) => {
            tracing::info!(
                "smartconfig: acknowledged ({} datagrams to {:?})",
                ack.sent,
                ack.targets
            );
            Outcome::Acknowledged { link, ack }
        }
        Err(e) => {
            tracing::error!("smartconfig: acknowledgement failed: {e}");
            Outcome::AckFailed {
                link,
                error: e.to_string(),
            }
        }
    };
    inner.update(run, Status::Finished(outcome), |state| state.done = true);
}

fn connect_failed(inner: &Inner, run: u64, error: ConnectError) {
    tracing::warn!("smartconfig: joining failed: {error}");
    let outcome = Outcome::ConnectFailed(error);
    inner.update(run, Status::Finished(outcome), |state| state.done = true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_the_scanned_channels() {
        let entry = |channel: u8| ScanEntry {
            ssid: b"x".to_vec(),
            bssid: [2, 0, 0, 0, 0, channel],
            channel,
            rssi: -50,
        };
        let table = [
            entry(11),
            entry(6),
            entry(11),
            entry(36),
            entry(0),
            entry(1),
        ];
        assert_eq!(plan(&table), [1, 6, 11]);
        assert!(plan(&[]).is_empty());
    }

    #[test]
    fn nul_cuts() {
        assert_eq!(until_nul(b"abc\0def"), b"abc");
        assert_eq!(until_nul(b"abc"), b"abc");
        assert_eq!(until_nul(b"\0abc"), b"");
        assert_eq!(until_nul(b""), b"");
    }
}
