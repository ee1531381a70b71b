//! The provisioning state machine, with ESP-IDF `wifi_prov_mgr` semantics.
//!
//! ```text
//!  Started ──ApplyConfig──► CredRecv ──got IP──► Success ──(GetStatus says Connected, or
//!     ▲                        │                               30 s pass)──► Stopped
//!     │                        └──gave up──► Fail
//!     ├──────── CtrlReset (only from Fail) ──────┘
//!     └──────── CtrlReprov (only with auto-stop disabled, any state)
//! ```
//!
//! Station sub-state, as `GetStatus` reports it: Connecting (no detail), Connecting with
//! attempts remaining, Connected (with the link), ConnectionFailed (with the reason).
//!
//! Where ESP-IDF is fragile this Manager is deliberately sturdier, without changing anything a
//! client can observe in a successful run: scan pages beyond the result count are clamped,
//! the attempt counter is reset by CtrlReset and new credentials, transient failures (link
//! lost, no address) are retried a few times and then reported instead of retried forever, and
//! CtrlReset in the Started state succeeds as a no-op.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use protocomm::{HandlerError, SessionId};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use wifiprov_transport::AppHandler;
use wifiprov_transport::service::BoxFuture;
use wifiprov_wifi::{AccessPoint, ConnectError, Credentials, LinkStatus, ScanParams, WifiBackend};
use zeroize::Zeroizing;

use crate::events::{FailReason, ProvEvent};
use crate::store::CredentialStore;

/// Settings of the [`Manager`], with ESP-IDF's defaults.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// Stop the service once the client has seen the connection succeed (default true).
    pub auto_stop: bool,
    /// Delay between the decision to stop and the stop, so the last response can leave
    /// (default 1 s, at least 100 ms).
    pub cleanup_delay: Duration,
    /// Stop this long after the connection succeeded even if no client asks (default 30 s).
    pub autostop_timeout: Duration,
    /// Delay between ApplyConfig and the first connection attempt (default 1 s).
    pub connect_delay: Duration,
    /// Most scan results kept, strongest first (default 16).
    pub scan_max_entries: usize,
    /// Connection attempts per set of credentials; 0 (default) means one attempt with
    /// ESP-IDF's legacy failure handling.
    pub max_attempts: u32,
    /// After a failure, go back to accepting credentials without CtrlReset (ESP-IDF example's
    /// "reset state machine on failure").
    pub reset_on_failure: bool,
    /// In legacy mode, how often transient failures (link lost, no address, timeout) are
    /// retried before they are reported.
    pub transient_retries: u32,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            auto_stop: true,
            cleanup_delay: Duration::from_millis(1000),
            autostop_timeout: Duration::from_secs(30),
            connect_delay: Duration::from_secs(1),
            scan_max_entries: 16,
            max_attempts: 0,
            reset_on_failure: false,
            transient_retries: 3,
        }
    }
}

/// The provisioning state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvState {
    /// Serving, waiting for credentials.
    Started,
    /// Credentials accepted, connecting.
    CredRecv,
    /// Connected.
    Success,
    /// The connection attempt failed; new credentials need CtrlReset first.
    Fail,
    /// The service has stopped.
    Stopped,
}

/// The station state reported by GetStatus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Station {
    /// Connecting, or not yet asked to.
    Connecting,
    /// An attempt failed; this many remain.
    AttemptFailed {
        /// Attempts left.
        remaining: u32,
    },
    /// Connected.
    Connected(LinkStatus),
    /// Gave up.
    Failed(FailReason),
}

/// A custom endpoint's handler (`--endpoint NAME=COMMAND`, or application code).
pub trait CustomEndpoint: Send + Sync + 'static {
    /// Answers the decrypted request with the bytes to encrypt and send back.
    fn call(&self, request: Zeroizing<Vec<u8>>) -> BoxFuture<Result<Vec<u8>, HandlerError>>;
}

#[derive(Default)]
struct Scan {
    running: bool,
    results: Vec<AccessPoint>,
    failed: bool,
}

struct State {
    prov: ProvState,
    station: Station,
    pending: Option<Credentials>,
    /// Why the last attempt gave up (for [`Manager::provide`]).
    last_error: Option<ConnectError>,
    attempts: u32,
    generation: u64,
    connect_task: Option<JoinHandle<()>>,
    scan: Scan,
    stop_scheduled: bool,
}

pub(crate) struct Inner {
    pub(crate) config: ManagerConfig,
    pub(crate) wifi: Arc<dyn WifiBackend>,
    store: Option<CredentialStore>,
    state: Mutex<State>,
    events: broadcast::Sender<ProvEvent>,
    stopped: watch::Sender<bool>,
    scan_finished: watch::Sender<bool>,
    custom: Mutex<HashMap<String, Arc<dyn CustomEndpoint>>>,
}

/// The provisioning Manager. Cheap to clone; clones share one state machine.
#[derive(Clone)]
pub struct Manager {
    pub(crate) inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Manager {
    /// A Manager driving `wifi`, persisting accepted credentials in `store` (if any).
    /// Emits [`ProvEvent::Init`]; call [`Manager::start`] to begin serving.
    pub fn new(
        config: ManagerConfig,
        wifi: Arc<dyn WifiBackend>,
        store: Option<CredentialStore>,
    ) -> Self {
        let (events, _) = broadcast::channel(64);
        let (stopped, _) = watch::channel(true);
        let (scan_finished, _) = watch::channel(false);
        let manager = Manager {
            inner: Arc::new(Inner {
                config,
                wifi,
                store,
                state: Mutex::new(State {
                    prov: ProvState::Stopped,
                    station: Station::Connecting,
                    pending: None,
                    last_error: None,
                    attempts: 0,
                    generation: 0,
                    connect_task: None,
                    scan: Scan::default(),
                    stop_scheduled: false,
                }),
                events,
                stopped,
                scan_finished,
                custom: Mutex::new(HashMap::new()),
            }),
        };
        manager.emit(ProvEvent::Init);
        manager
    }

    /// Subscribes to events. Subscribe before [`Manager::start`] to see `Start`.
    pub fn subscribe(&self) -> broadcast::Receiver<ProvEvent> {
        self.inner.events.subscribe()
    }

    fn emit(&self, event: ProvEvent) {
        tracing::debug!(event = event.name(), "provisioning event");
        // No subscriber is fine.
        let _ = self.inner.events.send(event);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    /// Starts serving: the station is disconnected and the state becomes Started.
    pub async fn start(&self) {
        if let Err(e) = self.inner.wifi.disconnect().await {
            tracing::warn!("could not disconnect the station before provisioning: {e}");
        }
        {
            let mut s = self.state();
            s.prov = ProvState::Started;
            s.station = Station::Connecting;
            s.stop_scheduled = false;
        }
        self.inner.stopped.send_replace(false);
        self.emit(ProvEvent::Start);
    }

    /// Stops serving (emits [`ProvEvent::End`]); transports watching
    /// [`Manager::wait_stopped`] shut down. A connection that succeeded stays up.
    pub fn stop(&self) {
        {
            let mut s = self.state();
            if s.prov == ProvState::Stopped {
                return;
            }
            s.prov = ProvState::Stopped;
            if !matches!(s.station, Station::Connected(_))
                && let Some(task) = s.connect_task.take()
            {
                task.abort();
            }
        }
        self.inner.stopped.send_replace(true);
        self.emit(ProvEvent::End);
    }

    /// Emits [`ProvEvent::Deinit`] (the Manager is being torn down).
    pub fn deinit(&self) {
        self.stop();
        self.emit(ProvEvent::Deinit);
    }

    /// Resolves once the service has stopped (immediately if it is not running).
    pub async fn wait_stopped(&self) {
        let mut rx = self.inner.stopped.subscribe();
        // An error means the Manager is gone, which also counts as stopped.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// The provisioning state.
    pub fn prov_state(&self) -> ProvState {
        self.state().prov
    }

    /// The station state as GetStatus would report it.
    pub fn station(&self) -> Station {
        self.state().station.clone()
    }

    /// Whether stored credentials exist (ESP-IDF: a non-empty stored SSID, working or not).
    pub fn is_provisioned(&self) -> bool {
        self.inner
            .store
            .as_ref()
            .is_some_and(CredentialStore::is_provisioned)
    }

    /// Registers a custom endpoint handler (the name must also be registered with the
    /// protocomm device so that transports route it).
    pub fn add_endpoint(&self, name: &str, handler: Arc<dyn CustomEndpoint>) {
        lock(&self.inner.custom).insert(name.to_string(), handler);
    }

    /// Credentials that arrived by another route (SmartConfig, …), handled exactly like
    /// SetConfig followed by ApplyConfig: stored, tried, reported with events, and counted for
    /// auto-stop. Resolves with the link once joined, or with the reason the attempt failed;
    /// after a failure the Manager accepts credentials again (from any route), since the
    /// other route has no CtrlReset of its own.
    pub async fn provide(&self, credentials: Credentials) -> Result<LinkStatus, ConnectError> {
        let ssid = credentials.ssid_lossy();
        let mut events = self.subscribe();
        self.set_pending(credentials);
        if !self.apply() {
            return Err(ConnectError::NotAccepting(
                "provisioning is not accepting credentials now (another attempt runs, or it \
                 has ended)"
                    .into(),
            ));
        }
        loop {
            match events.recv().await {
                Ok(ProvEvent::CredSuccess { .. }) => {
                    if let Station::Connected(link) = self.station() {
                        return Ok(link);
                    }
                }
                Ok(ProvEvent::CredFail { reason, .. }) => {
                    let error = self.state().last_error.take();
                    self.ctrl_reset();
                    return Err(error.unwrap_or(match reason {
                        FailReason::AuthError => ConnectError::AuthFailed { ssid },
                        FailReason::NetworkNotFound => ConnectError::NetworkNotFound { ssid },
                    }));
                }
                Ok(ProvEvent::End | ProvEvent::Deinit)
                | Err(broadcast::error::RecvError::Closed) => {
                    return Err(ConnectError::NotAccepting("provisioning ended".into()));
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            }
        }
    }

    /// Remembers credentials for ApplyConfig (SetConfig).
    pub(crate) fn set_pending(&self, credentials: Credentials) {
        self.state().pending = Some(credentials);
    }

    /// ApplyConfig: returns false (InternalError) when there is nothing pending or credentials
    /// were already received in this run. The pending credentials are consumed either way.
    pub(crate) fn apply(&self) -> bool {
        let credentials = {
            let mut s = self.state();
            let pending = s.pending.take();
            let Some(credentials) = pending else {
                return false;
            };
            if s.prov != ProvState::Started {
                return false;
            }
            s.prov = ProvState::CredRecv;
            s.station = Station::Connecting;
            s.attempts = 0;
            s.generation += 1;
            credentials
        };
        if let Some(store) = &self.inner.store
            && let Err(e) = store.save(&credentials)
        {
            tracing::error!("could not store the credentials: {e}");
        }
        self.emit(ProvEvent::CredRecv {
            ssid: credentials.ssid_lossy(),
        });
        let generation = self.state().generation;
        let task = tokio::spawn(self.clone().run_connect(credentials, generation));
        if let Some(old) = self.state().connect_task.replace(task) {
            old.abort();
        }
        true
    }

    async fn run_connect(self, credentials: Credentials, generation: u64) {
        tokio::time::sleep(self.inner.config.connect_delay).await;
        loop {
            let result = self.inner.wifi.connect(credentials.clone(), None).await;
            let mut s = self.state();
            if s.generation != generation {
                return;
            }
            match result {
                Ok(link) => {
                    tracing::info!(ssid = %credentials.ssid_lossy(), ip = %link.ip, "connected");
                    let event = ProvEvent::success(&link);
                    s.station = Station::Connected(link);
                    if s.prov == ProvState::CredRecv || s.prov == ProvState::Fail {
                        s.prov = ProvState::Success;
                    }
                    drop(s);
                    self.emit(event);
                    if self.inner.config.auto_stop {
                        let me = self.clone();
                        let after = self.inner.config.autostop_timeout;
                        tokio::spawn(async move {
                            tokio::time::sleep(after).await;
                            me.stop();
                        });
                    }
                    return;
                }
                Err(error) => {
                    s.attempts += 1;
                    let reason = FailReason::from_error(&error);
                    let config = &self.inner.config;
                    let retry = if config.max_attempts > 0 {
                        s.attempts < config.max_attempts
                    } else {
                        is_transient(&error) && s.attempts <= config.transient_retries
                    };
                    tracing::info!(
                        attempt = s.attempts,
                        retry,
                        "connection attempt failed: {error}"
                    );
                    if retry {
                        if config.max_attempts > 0 {
                            s.station = Station::AttemptFailed {
                                remaining: config.max_attempts - s.attempts,
                            };
                        }
                        drop(s);
                        continue;
                    }
                    s.station = Station::Failed(reason);
                    s.prov = if config.reset_on_failure {
                        ProvState::Started
                    } else {
                        ProvState::Fail
                    };
                    if config.reset_on_failure {
                        s.attempts = 0;
                    }
                    s.last_error = Some(error.clone());
                    drop(s);
                    self.emit(ProvEvent::CredFail {
                        reason,
                        detail: error.to_string(),
                    });
                    return;
                }
            }
        }
    }

    /// Called after a GetStatus reply: arms auto-stop once the client has seen success.
    pub(crate) fn status_seen(&self) {
        self.outcome_reported();
    }

    /// The outcome reached the provisioning client by another route (a SmartConfig
    /// acknowledgement, say): after a success, auto-stop follows the cleanup delay instead of
    /// the longer auto-stop timeout, as after a GetStatus reply.
    pub fn outcome_reported(&self) {
        let schedule = {
            let mut s = self.state();
            let due = self.inner.config.auto_stop
                && matches!(s.station, Station::Connected(_))
                && s.prov == ProvState::Success
                && !s.stop_scheduled;
            if due {
                s.stop_scheduled = true;
            }
            due
        };
        if schedule {
            let me = self.clone();
            let delay = self
                .inner
                .config
                .cleanup_delay
                .max(Duration::from_millis(100));
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                me.stop();
            });
        }
    }

    /// CtrlReset: only after a failure (or as a no-op when already accepting credentials).
    pub(crate) fn ctrl_reset(&self) -> bool {
        let mut s = self.state();
        match s.prov {
            ProvState::Started => true,
            ProvState::Fail => {
                s.prov = ProvState::Started;
                s.attempts = 0;
                s.generation += 1;
                if let Some(task) = s.connect_task.take() {
                    task.abort();
                }
                drop(s);
                if let Some(store) = &self.inner.store
                    && let Err(e) = store.clear()
                {
                    tracing::error!("could not clear the stored credentials: {e}");
                }
                true
            }
            _ => false,
        }
    }

    /// CtrlReprov: only when auto-stop is disabled; back to Started from any state.
    pub(crate) async fn ctrl_reprov(&self) -> bool {
        if self.inner.config.auto_stop {
            return false;
        }
        {
            let mut s = self.state();
            if s.prov == ProvState::Stopped {
                return false;
            }
            s.prov = ProvState::Started;
            s.attempts = 0;
            s.generation += 1;
            if let Some(task) = s.connect_task.take() {
                task.abort();
            }
        }
        if let Err(e) = self.inner.wifi.disconnect().await {
            tracing::warn!("could not disconnect for re-provisioning: {e}");
        }
        self.emit(ProvEvent::Start);
        true
    }

    /// ScanStart. With `blocking`, resolves once the scan has finished. Returns false when
    /// the (blocking) scan failed.
    pub(crate) async fn scan_start(&self, params: ScanParams, blocking: bool) -> bool {
        let mut finished = self.inner.scan_finished.subscribe();
        let start = {
            let mut s = self.state();
            if s.scan.running {
                false
            } else {
                s.scan = Scan {
                    running: true,
                    results: Vec::new(),
                    failed: false,
                };
                self.inner.scan_finished.send_replace(false);
                true
            }
        };
        if start {
            let me = self.clone();
            tokio::spawn(async move {
                let outcome = me.inner.wifi.scan(params).await;
                let mut s = me.state();
                s.scan.running = false;
                match outcome {
                    Ok(mut found) => {
                        // Strongest first; the sort is stable, so equal RSSIs keep scan order.
                        found.sort_by_key(|ap| std::cmp::Reverse(ap.rssi));
                        found.truncate(me.inner.config.scan_max_entries);
                        s.scan.results = found;
                    }
                    Err(e) => {
                        tracing::warn!("scan failed: {e}");
                        s.scan.failed = true;
                    }
                }
                drop(s);
                me.inner.scan_finished.send_replace(true);
            });
        }
        if blocking {
            if finished.wait_for(|f| *f).await.is_err() {
                return false;
            }
            return !self.state().scan.failed;
        }
        true
    }

    /// ScanStatus: `(finished, result_count)`.
    pub(crate) fn scan_status(&self) -> (bool, usize) {
        let s = self.state();
        (!s.scan.running, s.scan.results.len())
    }

    /// ScanResult: entries `start .. start + count`, clamped to what exists.
    pub(crate) fn scan_results(&self, start: usize, count: usize) -> Vec<AccessPoint> {
        let s = self.state();
        s.scan
            .results
            .iter()
            .skip(start)
            .take(count)
            .cloned()
            .collect()
    }

    fn custom(&self, name: &str) -> Option<Arc<dyn CustomEndpoint>> {
        lock(&self.inner.custom).get(name).cloned()
    }
}

fn is_transient(error: &ConnectError) -> bool {
    matches!(
        error,
        ConnectError::LinkLost { .. }
            | ConnectError::NoAddress { .. }
            | ConnectError::Timeout { .. }
            | ConnectError::Backend(_)
    )
}

impl AppHandler for Manager {
    fn handle(
        &self,
        _session: SessionId,
        endpoint: String,
        request: Zeroizing<Vec<u8>>,
    ) -> BoxFuture<Result<Vec<u8>, HandlerError>> {
        let me = self.clone();
        Box::pin(async move {
            if me.prov_state() == ProvState::Stopped {
                return Err(HandlerError::policy("provisioning has stopped"));
            }
            match endpoint.as_str() {
                crate::endpoints::CONFIG => crate::endpoints::config(&me, &request),
                crate::endpoints::SCAN => crate::endpoints::scan(&me, &request).await,
                crate::endpoints::CTRL => crate::endpoints::ctrl(&me, &request).await,
                other => match me.custom(other) {
                    Some(handler) => handler.call(request).await,
                    None => Err(HandlerError::local(format!(
                        "no handler for endpoint {other:?}"
                    ))),
                },
            }
        })
    }
}
