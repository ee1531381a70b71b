//! The provisioning Manager: the thin driver of the [`ProvMachine`].
//!
//! The Manager holds the machine behind a mutex and does its I/O: it decodes endpoint
//! requests ([`crate::endpoints`]), feeds the machine, performs its [`Action`](crate::machine::Action)s — radio calls
//! on the [`WifiBackend`], credential store writes in `spawn_blocking`, events on a broadcast
//! channel — and wakes the machine at [`ProvMachine::poll_at`]. Every ESP-IDF rule lives in
//! the machine; see [`crate::machine`] for the states and rules.
//!
//! Actions are performed one at a time and in order: whoever feeds an input drains the
//! machine's actions under an async "driver" lock. Radio operations that take seconds
//! (connect, scan) run in tasks of their own and feed their results back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use protocomm::{HandlerError, Instant, SessionId};
use tokio::sync::{Notify, broadcast, oneshot, watch};
use tokio::task::AbortHandle;
use wifiprov_transport::AppHandler;
use wifiprov_transport::service::BoxFuture;
use wifiprov_wifi::{ConnectError, Credentials, LinkStatus, WifiBackend};
use zeroize::Zeroizing;

use crate::endpoints::{
    self, ConfigRequest, ConfigResponse, CtrlRequest, CtrlResponse, ScanRequest, ScanResponse,
};
use crate::error::{ProvError, Refusal};
use crate::events::ProvEvent;
use crate::machine::{Origin, ProvMachine};
use crate::store::CredentialStore;

pub use crate::machine::{ManagerConfig, ProvState, Station};

mod driver;

/// A custom endpoint's handler (`--endpoint NAME=COMMAND`, or application code).
pub trait CustomEndpoint: Send + Sync + 'static {
    /// Answers the decrypted request with the bytes to encrypt and send back.
    fn call(
        &self,
        request: Zeroizing<Vec<u8>>,
    ) -> BoxFuture<'static, Result<Vec<u8>, HandlerError>>;
}

/// Callers waiting for the machine's [`Answer`]s.
#[derive(Default)]
struct Waiters {
    applied: HashMap<Origin, oneshot::Sender<Result<(), ProvError>>>,
    finished: HashMap<Origin, oneshot::Sender<Result<LinkStatus, ProvError>>>,
    scans: Vec<oneshot::Sender<bool>>,
}

/// The machine and the callers waiting for it, under one lock (so a waiter is registered
/// before its answer can be produced).
struct Core {
    machine: ProvMachine,
    waiters: Waiters,
}

struct Inner {
    wifi: Arc<dyn WifiBackend>,
    store: Option<CredentialStore>,
    core: Mutex<Core>,
    /// Held while actions are performed, so they are performed one at a time, in order.
    driving: tokio::sync::Mutex<()>,
    events: broadcast::Sender<ProvEvent>,
    stopped: watch::Sender<bool>,
    /// Wakes the timer task (the deadline may have changed).
    timer: Arc<Notify>,
    timer_running: AtomicBool,
    /// The connection attempt under way.
    connecting: Mutex<Option<AbortHandle>>,
    custom: Mutex<HashMap<String, Arc<dyn CustomEndpoint>>>,
    epoch: tokio::time::Instant,
    next_route: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Let the timer task notice that the Manager is gone.
        self.timer.notify_one();
    }
}

/// The provisioning Manager. Cheap to clone; clones share one state machine.
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
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
        let epoch = tokio::time::Instant::now();
        let manager = Manager {
            inner: Arc::new(Inner {
                wifi,
                store,
                core: Mutex::new(Core {
                    machine: ProvMachine::new(config, Instant::ZERO),
                    waiters: Waiters::default(),
                }),
                driving: tokio::sync::Mutex::new(()),
                events,
                stopped,
                timer: Arc::new(Notify::new()),
                timer_running: AtomicBool::new(false),
                connecting: Mutex::new(None),
                custom: Mutex::new(HashMap::new()),
                epoch,
                next_route: AtomicU64::new(1),
            }),
        };
        manager.drive_now();
        manager
    }

    /// Subscribes to events. Subscribe before [`Manager::start`] to see `Start`.
    pub fn subscribe(&self) -> broadcast::Receiver<ProvEvent> {
        self.inner.events.subscribe()
    }

    /// Starts serving: the station is disconnected and the state becomes Started.
    pub async fn start(&self) {
        self.input(|core, now| core.machine.handle_start(now));
        self.inner.stopped.send_replace(false);
        self.spawn_timer();
        self.drive().await;
    }

    /// Stops serving (emits [`ProvEvent::End`]); transports watching
    /// [`Manager::wait_stopped`] shut down. A connection that succeeded stays up.
    pub fn stop(&self) {
        self.input(|core, now| core.machine.handle_stop(now));
        self.drive_now();
    }

    /// Stops, and emits [`ProvEvent::Deinit`] (the Manager is being torn down).
    pub fn deinit(&self) {
        self.input(|core, now| core.machine.handle_deinit(now));
        self.drive_now();
    }

    /// Resolves once the service has stopped (immediately if it is not running).
    pub async fn wait_stopped(&self) {
        let mut rx = self.inner.stopped.subscribe();
        // An error means the Manager is gone, which also counts as stopped.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// The provisioning state.
    pub fn prov_state(&self) -> ProvState {
        self.core().machine.prov_state()
    }

    /// The station state as GetStatus would report it.
    pub fn station(&self) -> Station {
        self.core().machine.station().clone()
    }

    /// The credentials that joined and the link, once provisioning succeeded (also after the
    /// service stopped, until it is started again or re-provisioned). Lets an application
    /// take the credentials from the agent rather than from the store on disk.
    pub fn joined(&self) -> Option<(Credentials, LinkStatus)> {
        self.core()
            .machine
            .joined()
            .map(|(creds, link)| (creds.clone(), link.clone()))
    }

    /// Whether stored credentials exist (ESP-IDF: a non-empty stored SSID, working or not).
    /// Reads the store (blocking file I/O).
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

    /// Credentials that arrived by a route that brings them itself (SmartConfig, …), handled
    /// exactly like SetConfig followed by ApplyConfig: stored, tried, reported with events,
    /// and counted for auto-stop. Resolves with the link once joined, or with why not: the
    /// station gave up ([`ProvError::Connect`]), they could not be stored
    /// ([`ProvError::Store`]), or provisioning does not take credentials now
    /// ([`ProvError::Refused`], e.g. another set is being tried). After a failure the Manager
    /// accepts credentials again (from any route), since the other route has no CtrlReset of
    /// its own.
    pub async fn submit(&self, credentials: Credentials) -> Result<LinkStatus, ProvError> {
        let origin = Origin::Route(self.inner.next_route.fetch_add(1, Ordering::Relaxed));
        let finished = self.input(|core, now| {
            core.machine.handle_submit(now, origin, credentials)?;
            let (tx, rx) = oneshot::channel();
            core.waiters.finished.insert(origin, tx);
            Ok::<_, ProvError>(rx)
        })?;
        self.drive().await;
        finished.await.unwrap_or(Err(Refusal::Ended.into()))
    }

    /// [`Manager::submit`], with the failure as a [`ConnectError`]
    /// (see [`ProvError::into_connect_error`]).
    pub async fn provide(&self, credentials: Credentials) -> Result<LinkStatus, ConnectError> {
        self.submit(credentials)
            .await
            .map_err(ProvError::into_connect_error)
    }

    /// The outcome reached the provisioning client by another route (a SmartConfig
    /// acknowledgement, say): after a success, auto-stop follows the cleanup delay instead of
    /// the longer auto-stop timeout, as after a GetStatus reply.
    pub fn outcome_reported(&self) {
        self.input(|core, now| core.machine.handle_outcome_reported(now));
        self.drive_now();
    }

    // ----------------------------------------------------------------------------------------
    // Requests

    /// ApplyConfig from `session`: resolves once the credentials are stored (or not).
    async fn apply(&self, session: SessionId) -> Result<(), ProvError> {
        let origin = Origin::Session(session);
        let applied = self.input(|core, now| {
            core.machine.handle_apply(now, session)?;
            let (tx, rx) = oneshot::channel();
            core.waiters.applied.insert(origin, tx);
            Ok::<_, ProvError>(rx)
        })?;
        self.drive().await;
        applied.await.unwrap_or(Err(Refusal::Ended.into()))
    }

    async fn config(&self, session: SessionId, request: ConfigRequest) -> ConfigResponse {
        match request {
            ConfigRequest::GetStatus => {
                let station = self.input(|core, now| {
                    let station = core.machine.station().clone();
                    core.machine.handle_status_seen(now);
                    station
                });
                self.drive_now();
                ConfigResponse::Status(station)
            }
            ConfigRequest::SetConfig(Ok(creds)) => {
                self.input(|core, now| core.machine.handle_set_config(now, session, creds));
                ConfigResponse::SetConfig { accepted: true }
            }
            ConfigRequest::SetConfig(Err(invalid)) => {
                tracing::debug!(session = session.0, "SetConfig refused: {invalid}");
                ConfigResponse::SetConfig { accepted: false }
            }
            ConfigRequest::Apply => {
                let result = self.apply(session).await;
                if let Err(e) = &result {
                    tracing::info!(session = session.0, "ApplyConfig refused: {e}");
                }
                ConfigResponse::Apply {
                    accepted: result.is_ok(),
                }
            }
        }
    }

    async fn scan(&self, request: ScanRequest) -> ScanResponse {
        match request {
            ScanRequest::Start { params, blocking } => {
                let done = self.input(|core, now| {
                    core.machine.handle_scan_start(now, params);
                    blocking.then(|| {
                        let (tx, rx) = oneshot::channel();
                        core.waiters.scans.push(tx);
                        rx
                    })
                });
                self.drive().await;
                let ok = match done {
                    Some(done) => done.await.unwrap_or(false),
                    None => true,
                };
                ScanResponse::Start { ok }
            }
            ScanRequest::Status => {
                let (finished, count) = self.core().machine.scan_status();
                ScanResponse::Status { finished, count }
            }
            ScanRequest::Results { start, count } => {
                let start = usize::try_from(start).unwrap_or(usize::MAX);
                let count = usize::try_from(count).unwrap_or(usize::MAX);
                ScanResponse::Results(self.core().machine.scan_page(start, count).to_vec())
            }
        }
    }

    async fn ctrl(&self, request: CtrlRequest) -> CtrlResponse {
        let result = self.input(|core, now| match request {
            CtrlRequest::Reset => core.machine.handle_reset(now),
            CtrlRequest::Reprov => core.machine.handle_reprov(now),
        });
        if let Err(e) = &result {
            tracing::info!("{request:?} refused: {e}");
        }
        self.drive().await;
        CtrlResponse {
            request,
            ok: result.is_ok(),
        }
    }

    fn custom(&self, name: &str) -> Option<Arc<dyn CustomEndpoint>> {
        lock(&self.inner.custom).get(name).cloned()
    }
}

impl AppHandler for Manager {
    fn handle(
        &self,
        session: SessionId,
        endpoint: String,
        request: Zeroizing<Vec<u8>>,
    ) -> BoxFuture<'static, Result<Vec<u8>, HandlerError>> {
        let me = self.clone();
        Box::pin(async move {
            if me.prov_state() == ProvState::Stopped {
                return Err(HandlerError::policy("provisioning has stopped"));
            }
            match endpoint.as_str() {
                endpoints::CONFIG => {
                    let request = endpoints::decode_config(&request)?;
                    Ok(endpoints::encode_config(&me.config(session, request).await))
                }
                endpoints::SCAN => {
                    let request = endpoints::decode_scan(&request)?;
                    Ok(endpoints::encode_scan(&me.scan(request).await))
                }
                endpoints::CTRL => {
                    let request = endpoints::decode_ctrl(&request)?;
                    Ok(endpoints::encode_ctrl(me.ctrl(request).await))
                }
                other => match me.custom(other) {
                    Some(handler) => handler.call(request).await,
                    None => Err(HandlerError::local(format!(
                        "no handler for endpoint {other:?}"
                    ))),
                },
            }
        })
    }

    fn session_closed(&self, session: SessionId) {
        self.input(|core, now| core.machine.handle_session_closed(now, session));
    }
}
