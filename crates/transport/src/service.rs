//! The protocomm device shared by every transport, with an asynchronous application handler.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant as StdInstant;

use protocomm::{Device, DeviceConfig, Error, HandlerError, Incoming, Instant, SessionId};
use zeroize::Zeroizing;

/// A boxed, sendable future.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// Answers decrypted application requests (`prov-config`, `prov-scan`, `prov-ctrl`, custom
/// endpoints). Implemented by the provisioning Manager.
pub trait AppHandler: Send + Sync + 'static {
    /// Answers `request` sent to `endpoint` on `session`. An error means "no response".
    fn handle(
        &self,
        session: SessionId,
        endpoint: String,
        request: Zeroizing<Vec<u8>>,
    ) -> BoxFuture<Result<Vec<u8>, HandlerError>>;

    /// `session` is gone for good (closed, not merely detached): whatever the handler keeps
    /// for it (pending credentials, say) can go. The default does nothing.
    fn session_closed(&self, session: SessionId) {
        let _ = session;
    }
}

/// Settings of a [`Service`].
pub type ServiceConfig = DeviceConfig;

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
}

impl Service {
    /// A service answering application requests with `handler`.
    pub fn new(device: Device, handler: Arc<dyn AppHandler>) -> Self {
        Service {
            inner: Arc::new(Inner {
                device: Mutex::new(device),
                handler,
                epoch: StdInstant::now(),
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

    /// Handles one request. On error the transport must send no response.
    ///
    /// The device lock is held only while decrypting and encrypting, never while the
    /// application handler runs (a blocking scan may take seconds).
    pub async fn request(
        &self,
        session: SessionId,
        endpoint: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let incoming = {
            let now = self.now();
            self.device().open_request(
                now,
                session,
                endpoint,
                body,
                &mut protocomm::rand_core::UnwrapErr(getrandom::SysRng),
            )?
        };
        match incoming {
            Incoming::Reply(reply) => Ok(reply),
            Incoming::Request {
                endpoint,
                plaintext,
            } => {
                match self
                    .inner
                    .handler
                    .handle(session, endpoint.clone(), plaintext)
                    .await
                {
                    Ok(response) => {
                        let response = Zeroizing::new(response);
                        let now = self.now();
                        self.device().seal_response(now, session, &response)
                    }
                    Err(e) => {
                        self.device().abandon_request(session);
                        Err(Error::Handler {
                            endpoint,
                            reason: e.0,
                        })
                    }
                }
            }
        }
    }

    /// Forgets a session whose transport connection ended.
    pub fn close_session(&self, session: SessionId) -> bool {
        let closed = self.device().close_session(session);
        self.inner.handler.session_closed(session);
        closed
    }

    /// Marks a session whose connection closed (see [`protocomm::Device::detach_session`]).
    pub fn detach_session(&self, session: SessionId) {
        self.device().detach_session(session);
    }

    /// Drops idle sessions.
    pub fn expire_sessions(&self) {
        let now = self.now();
        self.device().handle_timeout(now);
    }

    /// Runs `f` with the device (for registering endpoints, reading the version document, …).
    pub fn with_device<T>(&self, f: impl FnOnce(&mut Device) -> T) -> T {
        f(&mut self.device())
    }
}
