//! [`SimBackend`]: the [`WifiBackend`] that plays a [`SimEnvironment`].

use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::env::{SimEnvironment, SimNetwork};
use crate::{
    ApConfig, AuthMode, BoxFuture, ConnectError, ConnectProgress, Credentials, LinkStatus,
    ScanParams, StationStatus, WifiBackend, WifiError,
};

/// Dwell time per channel when the scan parameters ask for the default, and the pause
/// between channel groups.
const DEFAULT_DWELL_MS: u64 = 120;
/// Channels swept by a scan.
const SCAN_CHANNELS: u64 = 13;
/// Longest dwell time per channel a scan uses (ESP-IDF's limit for an active scan).
const MAX_DWELL_MS: u64 = 1500;

/// A deterministic, in-memory Wi-Fi radio. See the [module documentation](super) for how it
/// behaves.
#[derive(Debug)]
pub struct SimBackend {
    seed: u64,
    search_ms: u64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    networks: Vec<SimNetwork>,
    /// Parallel to `networks`: whether the access point is on the air.
    on_air: Vec<bool>,
    station: Station,
    attempts: u32,
    /// Identity of the latest attempt (also numbers its random stream).
    last_attempt_id: u64,
    scans: u64,
    scanning: bool,
    ap: Option<ApConfig>,
}

#[derive(Debug)]
enum Station {
    Idle,
    Connecting {
        id: u64,
        ssid: Vec<u8>,
        /// Tells the running attempt why it must stop.
        cancel: Option<oneshot::Sender<Cancel>>,
    },
    Connected(LinkStatus),
}

impl Station {
    /// Stops a running attempt, telling it why.
    fn cancel(&mut self, reason: Cancel) {
        if let Station::Connecting { cancel, .. } = self
            && let Some(tx) = cancel.take()
        {
            // The attempt may have finished already; then nobody needs telling.
            let _ = tx.send(reason);
        }
    }
}

/// Why a running attempt was stopped from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cancel {
    /// Another `connect` started.
    Superseded,
    /// `disconnect` was called.
    Disconnected,
    /// The link dropped (`drop_link`, or the network left the air).
    LinkLost,
}

impl Cancel {
    fn into_error(self, ssid: &str) -> ConnectError {
        match self {
            Cancel::Superseded => ConnectError::Backend(WifiError::busy(format!(
                "the attempt to join {ssid:?} was replaced by a newer connection attempt"
            ))),
            Cancel::Disconnected => ConnectError::Backend(WifiError::busy(format!(
                "the attempt to join {ssid:?} was cancelled by disconnect"
            ))),
            Cancel::LinkLost => ConnectError::LinkLost {
                ssid: ssid.to_owned(),
            },
        }
    }
}

/// What an attempt will do, decided when it starts.
struct Plan {
    link: LinkStatus,
    latency_ms: u64,
    enterprise: bool,
    passphrase_ok: bool,
    link_lost: bool,
}

/// Random streams: each scan and each connection attempt draws from its own ChaCha8 stream,
/// so the outcome of attempt N depends only on the seed and N, never on what ran in between.
#[derive(Clone, Copy)]
enum Stream {
    Scan(u64),
    Attempt(u64),
}

fn rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(match stream {
        Stream::Scan(n) => n.wrapping_mul(2),
        Stream::Attempt(n) => n.wrapping_mul(2).wrapping_add(1),
    });
    rng
}

/// A uniform draw from `[0, 1)`.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    // 53 random bits, exactly representable in an f64.
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Milliseconds to a `Duration`, `num/4` of the way through `total_ms`.
fn quarter(total_ms: u64, num: u64) -> Duration {
    Duration::from_millis(total_ms.saturating_mul(num) / 4)
}

/// Resets `scanning` when a scan ends, however it ends.
struct ScanGuard<'a>(&'a Mutex<State>);

impl Drop for ScanGuard<'_> {
    fn drop(&mut self) {
        lock(self.0).scanning = false;
    }
}

/// Marks the station idle when an attempt ends without connecting (failure, cancellation,
/// or the caller dropping the future), unless a newer attempt has taken over.
struct AttemptGuard<'a> {
    state: &'a Mutex<State>,
    id: u64,
}

impl Drop for AttemptGuard<'_> {
    fn drop(&mut self) {
        let mut state = lock(self.state);
        if matches!(state.station, Station::Connecting { id, .. } if id == self.id) {
            state.station = Station::Idle;
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // No code panics while holding the lock; if some day it does, the state is still usable.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends progress to the caller, if it listens.
fn report(progress: Option<&UnboundedSender<ConnectProgress>>, step: ConnectProgress) {
    if let Some(tx) = progress {
        // A caller that dropped its receiver is not interested; that is fine.
        let _ = tx.send(step);
    }
}

/// Waits `duration`, unless the attempt is cancelled first.
async fn pause(cancel: &mut oneshot::Receiver<Cancel>, duration: Duration) -> Result<(), Cancel> {
    tokio::select! {
        biased;
        reason = cancel => Err(reason.unwrap_or(Cancel::Superseded)),
        () = tokio::time::sleep(duration) => Ok(()),
    }
}

impl SimBackend {
    /// A simulator playing `env`. The environment is taken as it is; call
    /// [`SimEnvironment::validate`] first if it was built by hand.
    pub fn new(env: SimEnvironment) -> SimBackend {
        let on_air = vec![true; env.networks.len()];
        SimBackend {
            seed: env.seed,
            search_ms: env.search_ms,
            state: Mutex::new(State {
                networks: env.networks,
                on_air,
                station: Station::Idle,
                attempts: 0,
                last_attempt_id: 0,
                scans: 0,
                scanning: false,
                ap: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// How long a scan with `params` takes: `period_ms` (120 ms if 0, at most 1500 ms) per
    /// channel over channels 1–13, plus, when `group_channels` is N > 0, a 120 ms pause after every N
    /// channels except the last group.
    pub fn scan_duration(params: ScanParams) -> Duration {
        // As a radio: at most 1.5 s per channel, whatever the caller asks.
        let dwell = match params.period_ms {
            0 => DEFAULT_DWELL_MS,
            ms => u64::from(ms).min(MAX_DWELL_MS),
        };
        let pauses = match u64::from(params.group_channels) {
            0 => 0,
            group => (SCAN_CHANNELS - 1) / group,
        };
        Duration::from_millis(
            dwell
                .saturating_mul(SCAN_CHANNELS)
                .saturating_add(pauses.saturating_mul(DEFAULT_DWELL_MS)),
        )
    }

    /// The environment being played (as given to [`new`](Self::new); networks taken off the
    /// air are still listed).
    pub fn environment(&self) -> SimEnvironment {
        SimEnvironment {
            seed: self.seed,
            networks: self.lock().networks.clone(),
            search_ms: self.search_ms,
        }
    }

    /// The access point started with [`WifiBackend::start_ap`], if it runs.
    pub fn access_point(&self) -> Option<ApConfig> {
        self.lock().ap.clone()
    }

    /// How many connection attempts have started (calls to `connect` with valid credentials).
    pub fn connect_attempts(&self) -> u32 {
        self.lock().attempts
    }

    /// Simulates losing the link: a connected station becomes `Disconnected`, and a running
    /// attempt fails with `LinkLost`. Returns whether there was a link or an attempt.
    pub fn drop_link(&self) -> bool {
        let mut state = self.lock();
        state.station.cancel(Cancel::LinkLost);
        let had_link = !matches!(state.station, Station::Idle);
        state.station = Station::Idle;
        had_link
    }

    /// Takes every access point named `ssid` off the air (`visible == false`) or puts them
    /// back. Off the air, they are missing from scans and cannot be joined; a station joined
    /// to one of them loses its link, and a running attempt to join one fails with
    /// `LinkLost`. Returns whether the environment has a network named `ssid`.
    pub fn set_network_visible(&self, ssid: &str, visible: bool) -> bool {
        let mut state = self.lock();
        let state = &mut *state;
        let mut found = false;
        for (network, on_air) in state.networks.iter().zip(state.on_air.iter_mut()) {
            if network.ssid == ssid {
                *on_air = visible;
                found = true;
            }
        }
        if found && !visible {
            let affected = match &state.station {
                Station::Idle => false,
                Station::Connecting { ssid: target, .. } => target.as_slice() == ssid.as_bytes(),
                Station::Connected(link) => link.ssid.as_slice() == ssid.as_bytes(),
            };
            if affected {
                state.station.cancel(Cancel::LinkLost);
                state.station = Station::Idle;
            }
        }
        found
    }

    async fn run_scan(&self, params: ScanParams) -> Result<Vec<crate::AccessPoint>, WifiError> {
        let number = {
            let mut state = self.lock();
            if state.scanning {
                return Err(WifiError::busy("a scan is already in progress"));
            }
            state.scanning = true;
            state.scans = state.scans.wrapping_add(1);
            state.scans
        };
        let _guard = ScanGuard(&self.state);
        tokio::time::sleep(SimBackend::scan_duration(params)).await;
        let mut rng = rng(self.seed, Stream::Scan(number));
        let state = self.lock();
        let mut seen = Vec::new();
        for (network, on_air) in state.networks.iter().zip(&state.on_air) {
            // Draw for every network, on the air or not, so that one network's jitter does
            // not depend on the others' presence.
            let jitter = i16::try_from(rng.next_u32() % 5).unwrap_or(2) - 2;
            if !on_air {
                continue;
            }
            let rssi = (i16::from(network.rssi) + jitter).clamp(-127, 0);
            seen.push(crate::AccessPoint {
                ssid: if network.hidden {
                    Vec::new()
                } else {
                    network.ssid.as_bytes().to_vec()
                },
                bssid: network.bssid,
                channel: network.channel,
                rssi: i8::try_from(rssi).unwrap_or(network.rssi),
                auth: network.auth,
            });
        }
        Ok(seen)
    }

    /// Registers a new attempt (cancelling the previous one) and decides what it will do.
    fn begin_attempt(
        &self,
        credentials: &Credentials,
    ) -> (u64, Option<Plan>, oneshot::Receiver<Cancel>) {
        let mut state = self.lock();
        state.attempts = state.attempts.saturating_add(1);
        state.last_attempt_id = state.last_attempt_id.wrapping_add(1);
        let id = state.last_attempt_id;
        let (tx, rx) = oneshot::channel();
        state.station.cancel(Cancel::Superseded);
        state.station = Station::Connecting {
            id,
            ssid: credentials.ssid.to_vec(),
            cancel: Some(tx),
        };
        let chosen = state
            .networks
            .iter()
            .zip(&state.on_air)
            .enumerate()
            .filter(|(_, (network, on_air))| {
                **on_air
                    && network.ssid.as_bytes() == credentials.ssid.as_bytes()
                    && credentials.bssid.is_none_or(|b| b == network.bssid)
            })
            .map(|(index, (network, _))| (index, network))
            .reduce(|best, candidate| {
                if candidate.1.rssi > best.1.rssi {
                    candidate
                } else {
                    best
                }
            });
        let plan = chosen.map(|(index, network)| {
            let host = u8::try_from(index % 155).unwrap_or(0).saturating_add(100);
            let passphrase_ok = match network.auth {
                mode if !mode.needs_passphrase() => true,
                _ => network.password.as_deref().is_some_and(|expected| {
                    wifiprov_types::ct_eq(expected.as_bytes(), credentials.passphrase.expose())
                }),
            };
            Plan {
                link: LinkStatus {
                    ssid: credentials.ssid.to_vec(),
                    bssid: network.bssid,
                    channel: network.channel,
                    auth: network.auth,
                    ip: network
                        .ip
                        .unwrap_or(Ipv4Addr::new(192, 168, network.channel, host)),
                    rssi: network.rssi,
                },
                latency_ms: network.connect_latency_ms,
                enterprise: network.auth == AuthMode::Wpa2Enterprise,
                passphrase_ok,
                link_lost: unit(&mut rng(self.seed, Stream::Attempt(id))) < network.flakiness,
            }
        });
        (id, plan, rx)
    }

    async fn run_attempt(
        &self,
        credentials: Credentials,
        progress: Option<UnboundedSender<ConnectProgress>>,
    ) -> Result<LinkStatus, ConnectError> {
        let ssid = credentials.ssid_lossy();
        let progress = progress.as_ref();
        let (id, plan, mut cancel) = self.begin_attempt(&credentials);
        let _guard = AttemptGuard {
            state: &self.state,
            id,
        };
        let stopped = |reason: Cancel| reason.into_error(&ssid);
        report(progress, ConnectProgress::Searching);
        let Some(plan) = plan else {
            pause(&mut cancel, Duration::from_millis(self.search_ms))
                .await
                .map_err(stopped)?;
            return Err(ConnectError::NetworkNotFound { ssid });
        };
        let at = |num| quarter(plan.latency_ms, num);

        pause(&mut cancel, at(1)).await.map_err(stopped)?;
        report(
            progress,
            ConnectProgress::Associating {
                bssid: plan.link.bssid,
                channel: plan.link.channel,
            },
        );
        if plan.enterprise {
            return Err(ConnectError::AssociationRejected {
                ssid,
                reason: "enterprise networks are not supported by the simulator".into(),
            });
        }

        pause(&mut cancel, at(2).saturating_sub(at(1)))
            .await
            .map_err(stopped)?;
        if plan.link_lost {
            return Err(ConnectError::LinkLost { ssid });
        }
        report(progress, ConnectProgress::Authenticating);
        if !plan.passphrase_ok {
            pause(&mut cancel, at(4).saturating_sub(at(2)))
                .await
                .map_err(stopped)?;
            return Err(ConnectError::AuthFailed { ssid });
        }

        pause(&mut cancel, at(3).saturating_sub(at(2)))
            .await
            .map_err(stopped)?;
        report(progress, ConnectProgress::ObtainingAddress);
        pause(&mut cancel, at(4).saturating_sub(at(3)))
            .await
            .map_err(stopped)?;

        {
            let mut state = self.lock();
            if !matches!(state.station, Station::Connecting { id: current, .. } if current == id) {
                drop(state);
                return Err(stopped(cancel.try_recv().unwrap_or(Cancel::Superseded)));
            }
            state.station = Station::Connected(plan.link.clone());
        }
        report(progress, ConnectProgress::Connected(plan.link.clone()));
        Ok(plan.link)
    }

    fn current_status(&self) -> StationStatus {
        match &self.lock().station {
            Station::Idle => StationStatus::Disconnected,
            Station::Connecting { ssid, .. } => StationStatus::Connecting { ssid: ssid.clone() },
            Station::Connected(link) => StationStatus::Connected(link.clone()),
        }
    }

    fn check_ap(config: &ApConfig) -> Result<(), WifiError> {
        let ssid_len = config.ssid.len();
        if !(1..=32).contains(&ssid_len) {
            return Err(WifiError::invalid(format!(
                "the access point SSID must be 1 to 32 bytes (got {ssid_len})"
            )));
        }
        if let Some(passphrase) = &config.passphrase
            && !(8..=63).contains(&passphrase.len())
        {
            return Err(WifiError::invalid(format!(
                "the access point passphrase must be 8 to 63 bytes (got {})",
                passphrase.len()
            )));
        }
        if config.channel > 14 {
            return Err(WifiError::invalid(format!(
                "the access point channel must be 0 (automatic) or 1 to 14 (got {})",
                config.channel
            )));
        }
        Ok(())
    }
}

impl WifiBackend for SimBackend {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn scan(
        &self,
        params: ScanParams,
    ) -> BoxFuture<'_, Result<Vec<crate::AccessPoint>, WifiError>> {
        Box::pin(self.run_scan(params))
    }

    fn connect(
        &self,
        credentials: Credentials,
        progress: Option<UnboundedSender<ConnectProgress>>,
    ) -> BoxFuture<'_, Result<LinkStatus, ConnectError>> {
        Box::pin(self.run_attempt(credentials, progress))
    }

    fn disconnect(&self) -> BoxFuture<'_, Result<(), WifiError>> {
        Box::pin(async move {
            let mut state = self.lock();
            state.station.cancel(Cancel::Disconnected);
            state.station = Station::Idle;
            Ok(())
        })
    }

    fn status(&self) -> BoxFuture<'_, Result<StationStatus, WifiError>> {
        Box::pin(async move { Ok(self.current_status()) })
    }

    fn start_ap(&self, config: ApConfig) -> BoxFuture<'_, Result<(), WifiError>> {
        Box::pin(async move {
            SimBackend::check_ap(&config)?;
            self.lock().ap = Some(config);
            Ok(())
        })
    }

    fn stop_ap(&self) -> BoxFuture<'_, Result<(), WifiError>> {
        Box::pin(async move {
            self.lock().ap = None;
            Ok(())
        })
    }
}
