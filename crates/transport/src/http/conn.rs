//! TCP connections: admission (see [`super::admission`]), the per-phase deadlines, the hyper
//! connection task, and what ends it.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use protocomm::AfterDisconnect;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tracing::{debug, warn};

use super::HttpConfig;
use super::admission::{self, Admission, Entry, Phase};
use super::sessions::{Handover, SessionLink};
use crate::service::Service;

/// Largest request head (request line and headers) accepted, in bytes.
const MAX_HEAD_BUFFER: usize = 16 * 1024;

/// State shared by the accept loop and every connection.
pub(super) struct Shared {
    pub(super) service: Service,
    pub(super) config: HttpConfig,
    pub(super) handover: Handover,
    per_source: usize,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    next_connection: AtomicU64,
}

/// Per-connection state.
pub(super) struct Connection {
    pub(super) id: u64,
    peer: SocketAddr,
    /// What the connection is doing and since when.
    phase: Mutex<(Phase, Instant)>,
    /// Notified when the phase changes (the deadline watchdog recomputes).
    phase_changed: Notify,
    /// The device's view of this connection.
    pub(super) session: SessionLink,
    /// Notified to close the connection to make room for a new one.
    evict: Notify,
}

impl Connection {
    fn set_phase(&self, phase: Phase) {
        *lock(&self.phase) = (phase, Instant::now());
        self.phase_changed.notify_one();
    }

    fn phase(&self) -> (Phase, Instant) {
        *lock(&self.phase)
    }

    /// The first byte of a request arrived: an idle connection starts reading a head.
    fn bytes_arrived(&self) {
        let mut phase = lock(&self.phase);
        if phase.0 == Phase::Idle {
            *phase = (Phase::Head, Instant::now());
            drop(phase);
            self.phase_changed.notify_one();
        }
    }

    /// Closes the connection when the current phase outlasts its deadline.
    async fn watchdog(&self, config: &HttpConfig) {
        loop {
            let (phase, since) = self.phase();
            let limit = match phase {
                Phase::Idle => Some(config.idle_timeout),
                Phase::Head => Some(config.head_timeout),
                Phase::Body => Some(config.body_timeout),
                Phase::Answering => None,
            };
            match limit {
                Some(limit) => tokio::select! {
                    () = tokio::time::sleep_until(since + limit) => {
                        if self.phase() == (phase, since) {
                            debug!(connection = self.id, ?phase, "HTTP connection timed out");
                            return;
                        }
                    }
                    () = self.phase_changed.notified() => {}
                },
                None => self.phase_changed.notified().await,
            }
        }
    }
}

/// Marks a request's phases for as long as the handler runs: reading the body, then being
/// answered; the connection is idle again when the guard drops (also when the request future
/// is dropped).
pub(super) struct RequestGuard<'a>(&'a Connection);

impl<'a> RequestGuard<'a> {
    /// The head is complete: the body is being read.
    pub(super) fn new(connection: &'a Connection) -> Self {
        connection.set_phase(Phase::Body);
        RequestGuard(connection)
    }

    /// The body is complete: the request is being answered.
    pub(super) fn answering(&self) {
        self.0.set_phase(Phase::Answering);
    }
}

impl Drop for RequestGuard<'_> {
    fn drop(&mut self) {
        self.0.set_phase(Phase::Idle);
    }
}

/// The stream, telling its connection when request bytes arrive.
struct Watched<S> {
    stream: S,
    connection: Arc<Connection>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.connection.bytes_arrived();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Completes once the server is stopping (or its stop signal is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

impl Shared {
    pub(super) fn new(service: Service, config: HttpConfig) -> Self {
        let per_source = config
            .max_per_source
            .unwrap_or_else(|| admission::default_per_source(config.max_connections));
        Shared {
            service,
            config,
            handover: Handover::default(),
            per_source,
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(1),
        }
    }

    fn table(connections: &HashMap<u64, Arc<Connection>>) -> Vec<Entry> {
        connections
            .values()
            .map(|c| {
                let (phase, since) = c.phase();
                Entry {
                    id: c.id,
                    source: c.peer.ip(),
                    phase,
                    since,
                }
            })
            .collect()
    }

    /// Closes one idle or slow connection (any source) to free its file descriptor; false
    /// when every connection is being answered.
    pub(super) fn shed(&self) -> bool {
        let mut connections = lock(&self.connections);
        let table = Self::table(&connections);
        let Some(id) = admission::victim(&table) else {
            return false;
        };
        if let Some(victim) = connections.remove(&id) {
            debug!(
                connection = id,
                "closing a connection to free a file descriptor"
            );
            victim.evict.notify_one();
        }
        true
    }

    /// Registers an accepted connection and returns the task that serves it, or `None` when
    /// it is refused.
    pub(super) fn admit<S>(
        self: &Arc<Self>,
        stream: S,
        peer: SocketAddr,
        stop: watch::Receiver<bool>,
    ) -> Option<impl Future<Output = ()> + Send + 'static>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let mut connections = lock(&self.connections);
        let table = Self::table(&connections);
        let max = self.config.max_connections;
        match admission::admit(&table, peer.ip(), max, self.per_source) {
            Admission::Admit => {}
            Admission::Evict(victim) => {
                if let Some(victim) = connections.remove(&victim) {
                    debug!(
                        connection = victim.id,
                        peer = %victim.peer,
                        "closing an idle or slow connection to make room"
                    );
                    victim.evict.notify_one();
                }
            }
            Admission::Refuse => {
                warn!(%peer, "every HTTP connection is being answered; refusing a new one");
                return None;
            }
        }
        let connection = Arc::new(Connection {
            id,
            peer,
            phase: Mutex::new((Phase::Idle, Instant::now())),
            phase_changed: Notify::new(),
            session: SessionLink::new(
                self.service
                    .connect(AfterDisconnect::Keep, protocomm::Source::ip(peer.ip())),
            ),
            evict: Notify::new(),
        });
        connections.insert(id, connection.clone());
        drop(connections);
        debug!(connection = id, %peer, "HTTP connection opened");
        Some(self.clone().run_connection(connection, stream, stop))
    }

    async fn run_connection<S>(
        self: Arc<Self>,
        connection: Arc<Connection>,
        stream: S,
        mut stop: watch::Receiver<bool>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let shared = self.clone();
        let conn = connection.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let shared = shared.clone();
            let conn = conn.clone();
            async move { shared.handle(&conn, request).await }
        });
        let mut builder = http1::Builder::new();
        // hyper's header_read_timeout starts when hyper begins waiting for a head, so it would
        // cover the idle wait too; the watchdog times each phase itself.
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            .keep_alive(true)
            .half_close(true)
            .title_case_headers(true)
            .max_buf_size(MAX_HEAD_BUFFER);
        let io = Watched {
            stream,
            connection: connection.clone(),
        };
        let http = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(http);

        let ended = tokio::select! {
            result = http.as_mut() => Some(result),
            () = connection.evict.notified() => None,
            () = connection.watchdog(&self.config) => None,
            () = stopped(&mut stop) => {
                http.as_mut().graceful_shutdown();
                Some(http.as_mut().await)
            }
        };
        match ended {
            Some(Ok(())) => debug!(connection = connection.id, "HTTP connection closed"),
            Some(Err(e)) => debug!(connection = connection.id, error = %e, "HTTP connection ended"),
            None => debug!(
                connection = connection.id,
                "HTTP connection evicted or timed out"
            ),
        }
        lock(&self.connections).remove(&connection.id);
        connection.session.close(&self.handover);
    }
}
