//! The HTTP transport: every protocomm endpoint is a `POST /<endpoint>` URI, as on ESP-IDF's
//! SoftAP scheme, and a `session=<id>` cookie ties requests to a protocomm session.
//!
//! # Wire behaviour
//!
//! * **Routing.** `POST /<name>` for any endpoint the device has registered (checked on every
//!   request, so endpoints added later are served). Anything else is answered without touching a
//!   protocomm session: an unknown path (including any path with a query string) gets `404`, a
//!   known path with another method gets `405` with `Allow: POST`, a missing or zero
//!   `Content-Length` gets `400`, a body over [`HttpConfig::max_body`] gets `400` (the body is
//!   never read and the connection is closed afterwards), chunked transfer encoding gets `411`.
//! * **Success** is `200 OK` with `Content-Type: text/html` (what esp_http_server sends by
//!   default), `Content-Length` and the protocomm bytes. Header names go out in title case,
//!   because esp_prov looks for `Set-Cookie` case-sensitively.
//! * **Protocomm errors** (wrong proof of possession, failed decryption, malformed protobuf,
//!   failing application handler, …) close the connection without any response, exactly as
//!   esp_http_server does; esp_prov then reports "Remote end closed connection without
//!   response". The error is logged at debug level with the session id, never with the body.
//!
//! # Sessions
//!
//! ESP-IDF keeps one session per device and lets every new client destroy it. Here the
//! protocomm device keeps several and decides their fate (see [`protocomm::session`]); this
//! transport only tells it which TCP connection a request came on and which session the
//! client claims:
//!
//! 1. Every TCP connection is announced to the device, which gives it a fresh session id of
//!    its own. When the connection ends its session is kept, detached, so that a client can
//!    come back with its cookie.
//! 2. A `Cookie` header that reads exactly `session=<decimal u32>` claims that session. A
//!    claim of a session whose own connection is still open is refused (the connection is
//!    closed without a response, the session untouched), after waiting up to
//!    [`HANDOVER_GRACE`] for that connection to close: a client that drops its connection and
//!    reconnects at once is not refused because its old connection is still being torn down.
//!    A claim of a detached session continues it (esp_prov reconnects this way): a request
//!    that fails leaves the session as it was, one that succeeds moves it to the new
//!    connection. A claim of a session that does not exist (an earlier boot, an expired
//!    session) is ignored by `proto-ver` and `Cmd0`, which then use the connection's own
//!    session; other endpoints refuse it.
//! 3. Without a usable `Cookie` a request speaks for the connection's session (clients that
//!    ignore cookies but keep the connection open). A `Cmd0` always starts the connection's
//!    own session, never a claimed one.
//!
//! A successful response carries `Set-Cookie: session=<id>` (exactly that, no attributes), as
//! on ESP-IDF, when its session is not the one the request claimed and has not been announced
//! on this connection yet: in practice, only the first successful response of a new session.
//!
//! # Connections
//!
//! Connections are HTTP/1.1 keep-alive. Each phase of a connection has a total deadline that
//! a slow sender cannot stretch by trickling bytes: [`HttpConfig::idle_timeout`] for the first
//! byte of a request (at the start or between requests), then [`HttpConfig::head_timeout`]
//! for the rest of the request head, then [`HttpConfig::body_timeout`] for the whole body. A
//! connection that misses one is closed without a response. A request being answered has no
//! deadline of its own (the protocomm device bounds its work).
//!
//! When [`HttpConfig::max_connections`] are open, a new connection pushes out an idle one
//! (least recently active first, esp_http_server's LRU purge), else the one that has been
//! reading a request the longest; connections being answered are never pushed out, and if
//! every connection is being answered the new one is refused. One source address holds at
//! most [`HttpConfig::max_per_source`] connections: past that, a newcomer from that address
//! pushes out one of its own, never another source's.
//!
//! A client that shuts down its sending side after its request (`shutdown(SHUT_WR)`) still
//! gets the answer (half-close). When `accept` fails for lack of file descriptors the server
//! closes an idle or slow connection, pauses briefly and logs at most one warning every
//! [`ACCEPT_WARN_INTERVAL`].

mod admission;
mod conn;
mod request;
mod response;
mod sessions;

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{info, warn};

use crate::service::Service;
use conn::Shared;
pub use sessions::HANDOVER_GRACE;

/// How long [`serve`] lets open requests finish after shutdown was requested.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// At most one warning about failing `accept` calls per this interval (the others are
/// counted and reported with the next warning).
pub const ACCEPT_WARN_INTERVAL: Duration = Duration::from_secs(10);

/// How long the accept loop pauses after `accept` failed.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Settings of the HTTP transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Address to listen on (used by [`HttpServer::bind`]; [`serve`] takes a bound listener).
    /// Default `0.0.0.0:80`, the port esp_prov and the phone apps use.
    pub listen: SocketAddr,
    /// Largest request body accepted (default 4096, as ESP-IDF).
    pub max_body: usize,
    /// Most TCP connections open at once (default 1024).
    pub max_connections: usize,
    /// Most TCP connections open at once from one source address; `None` (the default) is
    /// three quarters of [`max_connections`](Self::max_connections), rounded up.
    pub max_per_source: Option<usize>,
    /// How long an open connection may wait for the first byte of a request (the first one
    /// or the next one on a keep-alive connection) before it is closed (default 60 s,
    /// esp_prov's timeout). Sessions expire as the protocomm device's limits say.
    pub idle_timeout: Duration,
    /// Total time allowed for a request head once its first byte has arrived (default
    /// 10 s); trickling bytes does not extend it.
    pub head_timeout: Duration,
    /// Total time allowed for a request body once the head is complete (default 10 s; bodies
    /// are at most [`max_body`](Self::max_body) bytes).
    pub body_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig::new(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80)))
    }
}

impl HttpConfig {
    /// Defaults, listening on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        HttpConfig {
            listen,
            max_body: 4096,
            max_connections: 1024,
            max_per_source: None,
            idle_timeout: Duration::from_secs(60),
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
        }
    }

    /// Checks that every limit is usable (non-zero); the error is of kind `InvalidInput`.
    pub fn validate(&self) -> io::Result<()> {
        let problem = if self.max_body == 0 {
            "max_body must be at least 1"
        } else if self.max_connections == 0 {
            "max_connections must be at least 1"
        } else if self.max_per_source == Some(0) {
            "max_per_source must be at least 1"
        } else if self.idle_timeout.is_zero() {
            "idle_timeout must not be zero"
        } else if self.head_timeout.is_zero() {
            "head_timeout must not be zero"
        } else if self.body_timeout.is_zero() {
            "body_timeout must not be zero"
        } else {
            return Ok(());
        };
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid HTTP transport settings: {problem}"),
        ))
    }
}

/// The listening socket could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for HTTP on {addr}: {source}")]
pub struct BindError {
    /// The address that was asked for.
    pub addr: SocketAddr,
    /// What the operating system said.
    #[source]
    pub source: io::Error,
}

impl BindError {
    /// The kind of the underlying error (`PermissionDenied` for a privileged port,
    /// `AddrInUse` when another server holds it), for printing a hint.
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}

/// A running HTTP transport started by [`HttpServer::bind`].
///
/// Dropping the handle also stops the server, without waiting for it.
#[derive(Debug)]
pub struct HttpServer {
    local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl HttpServer {
    /// Binds [`HttpConfig::listen`] and serves `service` on it in a background task.
    ///
    /// Must be called within a Tokio runtime with I/O and time enabled. Binding failures, and
    /// settings rejected by [`HttpConfig::validate`], are returned as [`BindError`].
    pub async fn bind(service: Service, config: HttpConfig) -> Result<HttpServer, BindError> {
        let addr = config.listen;
        let bind_error = |source| BindError { addr, source };
        config.validate().map_err(bind_error)?;
        let listener = listen(addr, config.max_connections).map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, service, config, async move {
            // A dropped sender also means "stop".
            let _ = stopped.await;
        }));
        Ok(HttpServer {
            local_addr,
            stop,
            task,
        })
    }

    /// The address actually listened on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, lets open requests finish (at most [`SHUTDOWN_GRACE`]),
    /// and waits for the server task.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(io::Error::other(e)),
        }
    }
}

/// Binds `addr` with a listen backlog of `backlog` (the kernel caps it at `somaxconn`).
///
/// `TcpListener::bind` uses a backlog of 128: a burst of more simultaneous connection attempts
/// overflows the accept queue, the kernel drops the extra SYNs and those clients wait for the
/// 1 s SYN retransmission.
fn listen(addr: SocketAddr, backlog: usize) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(u32::try_from(backlog).unwrap_or(u32::MAX))
}

/// Serves `service` over HTTP on `listener` until `shutdown` completes.
///
/// [`HttpConfig::listen`] is ignored: the caller has already bound `listener` and sees binding
/// errors itself. After `shutdown` completes no new connection is accepted, idle connections
/// are closed, and requests being answered get up to [`SHUTDOWN_GRACE`] to finish.
///
/// Errors accepting individual connections are logged (rate-limited) and retried after a short
/// pause, never returned; when the error is running out of file descriptors, an idle or slow
/// connection is closed first to free one. The only errors are settings rejected by
/// [`HttpConfig::validate`] and a listener without a local address. Needs a Tokio runtime with
/// I/O and time enabled.
pub async fn serve(
    listener: TcpListener,
    service: Service,
    config: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    config.validate()?;
    let local = listener.local_addr()?;
    info!(%local, "HTTP transport listening");
    let shared = Arc::new(Shared::new(service, config));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut accept_warnings = AcceptWarnings::default();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    if let Some(task) = shared.admit(stream, peer, stop_rx.clone()) {
                        tasks.spawn(task);
                    }
                }
                Err(e) => {
                    let shed = out_of_descriptors(&e) && shared.shed();
                    accept_warnings.failed(&e, shed);
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }

    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            open = tasks.len(),
            "HTTP connections still busy after the grace period; dropping them"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    info!(%local, "HTTP transport stopped");
    Ok(())
}

/// Whether an `accept` error means the process or system ran out of file descriptors.
fn out_of_descriptors(e: &io::Error) -> bool {
    use nix::errno::Errno;
    e.raw_os_error()
        .is_some_and(|code| matches!(Errno::from_raw(code), Errno::EMFILE | Errno::ENFILE))
}

/// Rate limit for the accept loop's warnings.
#[derive(Default)]
struct AcceptWarnings {
    last: Option<tokio::time::Instant>,
    suppressed: u64,
}

impl AcceptWarnings {
    fn failed(&mut self, e: &io::Error, shed: bool) {
        let now = tokio::time::Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < ACCEPT_WARN_INTERVAL)
        {
            self.suppressed += 1;
            return;
        }
        warn!(
            error = %e,
            closed_one_to_make_room = shed,
            similar_since_last_warning = self.suppressed,
            "accepting an HTTP connection failed"
        );
        self.last = Some(now);
        self.suppressed = 0;
    }
}

/// Entry points for fuzzing the connection path without sockets.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use super::*;
    use tokio::io::{AsyncRead, AsyncWrite};

    /// Serves one connection on `io` as if it came from `peer`, with `config`'s limits, until
    /// the connection ends. Needs a Tokio runtime with time enabled.
    pub async fn serve_io<S>(service: Service, config: HttpConfig, io: S, peer: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared::new(service, config));
        let (_stop_tx, stop_rx) = watch::channel(false);
        if let Some(task) = shared.admit(io, peer, stop_rx) {
            task.await;
        }
    }
}
