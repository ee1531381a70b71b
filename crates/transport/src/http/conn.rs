//! TCP connections: admission (with esp_http_server's least-recently-active purge), the
//! hyper connection task, and what ends it.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use protocomm::AfterDisconnect;
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tracing::{debug, warn};

use super::HttpConfig;
use super::sessions::{Handover, SessionLink};
use crate::service::Service;

/// Largest request head (request line and headers) accepted, in bytes.
const MAX_HEAD_BUFFER: usize = 16 * 1024;

/// State shared by the accept loop and every connection.
pub(super) struct Shared {
    pub(super) service: Service,
    pub(super) config: HttpConfig,
    pub(super) handover: Handover,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    next_connection: AtomicU64,
}

/// Per-connection state.
pub(super) struct Connection {
    pub(super) id: u64,
    /// When a request last started or finished.
    last_active: Mutex<Instant>,
    /// Whether a request is being answered.
    busy: AtomicBool,
    /// The device's view of this connection.
    pub(super) session: SessionLink,
    /// Notified to close the connection to make room for a new one.
    evict: Notify,
}

impl Connection {
    fn touch(&self) {
        *lock(&self.last_active) = Instant::now();
    }
}

/// Marks a connection busy for as long as it lives (also when the request future is dropped).
pub(super) struct BusyGuard<'a>(&'a Connection);

impl<'a> BusyGuard<'a> {
    pub(super) fn new(connection: &'a Connection) -> Self {
        connection.busy.store(true, Ordering::Release);
        connection.touch();
        BusyGuard(connection)
    }
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.store(false, Ordering::Release);
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
        Shared {
            service,
            config,
            handover: Handover::default(),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(1),
        }
    }

    /// Registers an accepted connection and returns the task that serves it, or `None` when
    /// it is refused.
    pub(super) fn admit(
        self: &Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        stop: watch::Receiver<bool>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        {
            let mut connections = lock(&self.connections);
            if connections.len() >= self.config.max_connections {
                let victim = connections
                    .values()
                    .filter(|c| !c.busy.load(Ordering::Acquire))
                    .min_by_key(|c| *lock(&c.last_active))
                    .cloned();
                match victim {
                    Some(victim) => {
                        debug!(
                            connection = victim.id,
                            "closing the least recently active connection to make room"
                        );
                        connections.remove(&victim.id);
                        victim.evict.notify_one();
                    }
                    None => {
                        warn!(%peer, "every HTTP connection is busy; refusing a new one");
                        return None;
                    }
                }
            }
            let connection = Arc::new(Connection {
                id,
                last_active: Mutex::new(Instant::now()),
                busy: AtomicBool::new(false),
                session: SessionLink::new(
                    self.service
                        .connect(AfterDisconnect::Keep, protocomm::Source::ip(peer.ip())),
                ),
                evict: Notify::new(),
            });
            connections.insert(id, connection.clone());
            drop(connections);
            let _ = stream.set_nodelay(true);
            debug!(connection = id, %peer, "HTTP connection opened");
            Some(self.clone().run_connection(connection, stream, stop))
        }
    }

    async fn run_connection(
        self: Arc<Self>,
        connection: Arc<Connection>,
        stream: TcpStream,
        mut stop: watch::Receiver<bool>,
    ) {
        let shared = self.clone();
        let conn = connection.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let shared = shared.clone();
            let conn = conn.clone();
            async move { shared.handle(&conn, request).await }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.config.idle_timeout)
            .keep_alive(true)
            .title_case_headers(true)
            .max_buf_size(MAX_HEAD_BUFFER);
        let http = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(http);

        let ended = tokio::select! {
            result = http.as_mut() => Some(result),
            () = connection.evict.notified() => None,
            () = stopped(&mut stop) => {
                http.as_mut().graceful_shutdown();
                Some(http.as_mut().await)
            }
        };
        match ended {
            Some(Ok(())) => debug!(connection = connection.id, "HTTP connection closed"),
            Some(Err(e)) => debug!(connection = connection.id, error = %e, "HTTP connection ended"),
            None => debug!(connection = connection.id, "HTTP connection evicted"),
        }
        lock(&self.connections).remove(&connection.id);
        connection.session.close(&self.handover);
    }
}
