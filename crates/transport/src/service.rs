//! The protocomm device shared by every transport, with an asynchronous application handler.
//!
//! A transport announces each of its connections with [`Service::connect`] and sends every
//! request through the returned [`Connection`], with the session its peer claims, if it can
//! claim one (an HTTP cookie). The device mints the session ids and decides what happens to
//! sessions; the transport keeps nothing but its connection handles and, for HTTP, which ids
//! it has announced.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant as StdInstant};

use protocomm::{
    AfterDisconnect, ConnectionId, Device, DeviceConfig, Error, HandlerError, HandshakeDone,
    HandshakeJob, Incoming, Instant, Opened, Origin, SessionId, Source,
};
use tokio::sync::Semaphore;
use tracing::warn;
use zeroize::Zeroizing;

/// A boxed, sendable future.
pub use wifiprov_types::BoxFuture;

/// Answers decrypted application requests (`prov-config`, `prov-scan`, `prov-ctrl`, custom
/// endpoints). Implemented by the provisioning Manager.
pub trait AppHandler: Send + Sync + 'static {
    /// Answers `request` sent to `endpoint` on `session`. An error means "no response".
    fn handle(
        &self,
        session: SessionId,
        endpoint: String,
        request: Zeroizing<Vec<u8>>,
    ) -> BoxFuture<'static, Result<Vec<u8>, HandlerError>>;

    /// `session` is gone for good (closed, not merely detached): whatever the handler keeps
    /// for it (pending credentials, say) can go. The default does nothing.
    fn session_closed(&self, session: SessionId) {
        let _ = session;
    }
}

/// Settings of a [`Service`].
pub type ServiceConfig = DeviceConfig;

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The session the request was taken for (for a new client, the id the device minted).
    pub session: SessionId,
    /// The bytes to send back.
    pub body: Vec<u8>,
}

/// One protocomm device behind a lock, plus the application handler and the clock.
///
/// Cheap to clone; all clones share the same sessions.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    device: Mutex<Device>,
    handler: Arc<dyn AppHandler>,
    epoch: StdInstant,
    /// Handshake computations running at once (see [`HANDSHAKE_WORKERS`]).
    workers: Arc<Semaphore>,
    /// Handshake jobs waiting for or holding a worker.
    queued: AtomicUsize,
}

/// Handshake computations (X25519, SRP) running at once, each on a blocking thread.
pub const HANDSHAKE_WORKERS: usize = 2;
/// Handshake jobs waiting for a worker or running; beyond this a new one is refused at once.
pub const HANDSHAKE_QUEUE: usize = 8;
/// The retry delay given to a handshake refused because the queue is full.
const QUEUE_FULL_RETRY: Duration = Duration::from_secs(1);

fn os_rng() -> protocomm::rand_core::UnwrapErr<getrandom::SysRng> {
    protocomm::rand_core::UnwrapErr(getrandom::SysRng)
}

impl Service {
    /// A service answering application requests with `handler`.
    pub fn new(device: Device, handler: Arc<dyn AppHandler>) -> Self {
        Service {
            inner: Arc::new(Inner {
                device: Mutex::new(device),
                handler,
                epoch: StdInstant::now(),
                workers: Arc::new(Semaphore::new(HANDSHAKE_WORKERS)),
                queued: AtomicUsize::new(0),
            }),
        }
    }

    fn device(&self) -> MutexGuard<'_, Device> {
        self.inner
            .device
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Milliseconds since the service started, as the core's clock.
    pub fn now(&self) -> Instant {
        let ms = u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        Instant::from_millis(ms)
    }

    /// Announces a new transport connection from `source` (the peer's IP address, its BLE
    /// address, [`Source::Local`] for the console): failed authentications are counted
    /// against it. The device gives the connection a session of its own; when the handle is
    /// dropped (or [`Connection::disconnect`] is called) the session is kept or closed as
    /// `after` says.
    pub fn connect(&self, after: AfterDisconnect, source: Source) -> Connection {
        let now = self.now();
        let id = {
            let mut device = self.device();
            // A good moment to forget expired sessions and their keys.
            device.handle_timeout(now);
            device.connect_from(&mut os_rng(), source)
        };
        self.report_ended();
        Connection {
            service: self.clone(),
            id,
            after,
        }
    }

    /// Handles one request from `origin`. On error the transport must send no response.
    ///
    /// The device lock is held only while decrypting and encrypting, never while the
    /// application handler runs (a blocking scan may take seconds) nor while a handshake is
    /// computed: `Cmd0`/`Cmd1` run on at most [`HANDSHAKE_WORKERS`] blocking threads, with at
    /// most [`HANDSHAKE_QUEUE`] jobs waiting or running (beyond that a handshake is refused at
    /// once with [`Error::Throttled`]). If the returned future is dropped while the handler
    /// runs, the request is abandoned; a handshake already queued completes regardless.
    pub async fn request(
        &self,
        origin: impl Into<Origin>,
        endpoint: &str,
        body: &[u8],
    ) -> Result<Response, Error> {
        let origin = origin.into();
        let opened = {
            let now = self.now();
            let mut device = self.device();
            let opened = device.begin_request(now, origin, endpoint, body);
            if let Err(e) = &opened {
                log_refusal(&device, origin, e);
            }
            opened
        };
        // Making room for a new handshake, or a broken one, may have ended sessions.
        self.report_ended();
        let Opened { session, incoming } = opened?;
        let (endpoint, plaintext) = match incoming {
            Incoming::Reply(body) => return Ok(Response { session, body }),
            Incoming::Handshake(job) => return self.handshake(origin, job).await,
            Incoming::Request {
                endpoint,
                plaintext,
            } => (endpoint, plaintext),
        };
        let open = OpenRequest {
            service: self,
            session,
            answered: false,
        };
        let answer = self
            .inner
            .handler
            .handle(session, endpoint.clone(), plaintext)
            .await;
        open.finish(answer, endpoint)
            .map(|body| Response { session, body })
    }

    /// Runs a handshake computation on the worker pool, then commits it under the lock. The
    /// work is done by a task of its own, so a client that goes away meanwhile cannot leave
    /// the session marked busy.
    async fn handshake(&self, origin: Origin, job: HandshakeJob) -> Result<Response, Error> {
        let inner = &self.inner;
        if inner.queued.fetch_add(1, Ordering::AcqRel) >= HANDSHAKE_QUEUE {
            inner.queued.fetch_sub(1, Ordering::AcqRel);
            let source = job.source();
            let session = job.session();
            self.device().abandon_handshake(job);
            warn!(
                session = session.0,
                %source,
                "handshake refused: every handshake worker is busy and the queue is full"
            );
            return Err(Error::Throttled {
                retry_after: QUEUE_FULL_RETRY,
            });
        }
        let service = self.clone();
        let committed = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn(async move {
                    let permit = service.inner.workers.clone().acquire_owned().await;
                    let computed =
                        tokio::task::spawn_blocking(move || job.run(&mut os_rng())).await;
                    drop(permit);
                    service.inner.queued.fetch_sub(1, Ordering::AcqRel);
                    match computed {
                        Ok(done) => service.commit(origin, done),
                        Err(_) => Err(Error::InvalidConfig("the handshake computation failed")),
                    }
                })
                .await
                .unwrap_or(Err(Error::InvalidConfig("the handshake task failed"))),
            // Not on a Tokio runtime: compute here, still without the lock.
            Err(_) => {
                let done = job.run(&mut os_rng());
                inner.queued.fetch_sub(1, Ordering::AcqRel);
                service.commit(origin, done)
            }
        };
        let Opened { session, incoming } = committed?;
        match incoming {
            Incoming::Reply(body) => Ok(Response { session, body }),
            _ => Err(Error::InvalidConfig("a handshake gives a reply")),
        }
    }

    fn commit(&self, origin: Origin, done: HandshakeDone) -> Result<Opened, Error> {
        let committed = {
            let now = self.now();
            let mut device = self.device();
            let committed = device.commit_handshake(now, done);
            if let Err(e) = &committed {
                log_refusal(&device, origin, e);
            }
            committed
        };
        self.report_ended();
        committed
    }

    /// Tells the application about every session the device has ended since the last call
    /// ([`AppHandler::session_closed`]), outside the device lock.
    fn report_ended(&self) {
        let ended: Vec<SessionId> = {
            let mut device = self.device();
            std::iter::from_fn(|| device.poll_ended()).collect()
        };
        for session in ended {
            self.inner.handler.session_closed(session);
        }
    }

    /// Drops idle sessions (also done at every [`Service::connect`], and by the device
    /// whenever it needs room).
    pub fn expire_sessions(&self) {
        let now = self.now();
        self.device().handle_timeout(now);
        self.report_ended();
    }

    /// Runs `f` with the device (for registering endpoints, reading the version document, …).
    pub fn with_device<T>(&self, f: impl FnOnce(&mut Device) -> T) -> T {
        f(&mut self.device())
    }
}

/// Logs a failed authentication or a throttling decision at WARN: the session and the
/// source, never the secret.
fn log_refusal(device: &Device, origin: Origin, error: &Error) {
    let from = device.source_of(origin.connection);
    let source = from.map_or_else(|| "unknown".to_string(), |s| s.to_string());
    let session = origin
        .claim
        .or_else(|| device.session_of(origin.connection))
        .map(|s| s.0);
    match error {
        Error::AuthenticationFailed => warn!(
            session = ?session,
            %source,
            failures = from.map_or(0, |s| device.throttle().failures(s)),
            "authentication failed: wrong proof of possession or SRP credentials"
        ),
        Error::Throttled { retry_after } => warn!(
            session = ?session,
            %source,
            retry_after_ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
            "handshake refused: authentication attempts are throttled"
        ),
        _ => {}
    }
}

/// A decrypted request whose answer is outstanding; abandoned if dropped unanswered.
struct OpenRequest<'a> {
    service: &'a Service,
    session: SessionId,
    answered: bool,
}

impl OpenRequest<'_> {
    fn finish(
        mut self,
        answer: Result<Vec<u8>, HandlerError>,
        endpoint: String,
    ) -> Result<Vec<u8>, Error> {
        self.answered = true;
        let mut device = self.service.device();
        match answer {
            Ok(response) => {
                let response = Zeroizing::new(response);
                let now = self.service.now();
                device.seal_response(now, self.session, &response)
            }
            Err(e) => {
                device.abandon_request(self.session);
                Err(Error::Handler { endpoint, error: e })
            }
        }
    }
}

impl Drop for OpenRequest<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.service.device().abandon_request(self.session);
        }
    }
}

/// A transport connection announced to the [`Service`]; disconnects when dropped.
pub struct Connection {
    service: Service,
    id: ConnectionId,
    after: AfterDisconnect,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("after", &self.after)
            .finish()
    }
}

impl Connection {
    /// The device's name for this connection.
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// The session this connection speaks for (its own, or a detached one it took over);
    /// `None` once disconnected.
    pub fn session(&self) -> Option<SessionId> {
        self.service.with_device(|d| d.session_of(self.id))
    }

    /// Handles one request arriving on this connection, for the session `claim` names
    /// (`None`: the connection's own). See [`Service::request`].
    pub async fn request(
        &self,
        claim: Option<SessionId>,
        endpoint: &str,
        body: &[u8],
    ) -> Result<Response, Error> {
        self.service
            .request(Origin::new(self.id, claim), endpoint, body)
            .await
    }

    /// Tells the device the connection closed (also done on drop; doing it twice is harmless).
    pub fn disconnect(&self) {
        self.service
            .with_device(|d| d.disconnect(self.id, self.after));
        self.service.report_ended();
    }

    /// The service behind the connection.
    pub fn service(&self) -> &Service {
        &self.service
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.disconnect();
    }
}
