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
//! ESP-IDF keeps one session per device and lets every new client destroy it. This transport
//! keeps several, while behaving the same towards a single client:
//!
//! 1. A `Cookie` header that reads exactly `session=<decimal u32>` for a session this transport
//!    issued and still remembers continues that session, on any connection (clients reconnect).
//! 2. Otherwise, if the `Cookie` header is absent or is not of that form, and a session was
//!    created on this connection, the request continues it (clients that ignore cookies but keep
//!    the connection open).
//! 3. Otherwise a new session is opened under a fresh random id and bound to this connection.
//!    This includes a cookie naming a session that is unknown or has expired, so a client whose
//!    session lapsed starts over cleanly. Other clients' sessions are left alone; the protocomm
//!    session table enforces its own limits.
//!
//! Only the first successful response of a new session carries `Set-Cookie: session=<id>`
//! (exactly that, no attributes), as on ESP-IDF. If that first request fails the id is
//! discarded, so the client's next request opens another session.
//!
//! Sessions outlive their connection and stay usable by cookie. The transport forgets a session
//! when it has been idle for [`HttpConfig::idle_timeout`] and has no completed handshake in the
//! protocomm device, when protocomm reports it unknown, expired or broken, or when
//! [`HttpConfig::max_sessions`] forces the least recently used unfinished one out.
//!
//! # Connections
//!
//! Connections are HTTP/1.1 keep-alive. A connection that does not deliver a complete request
//! head within [`HttpConfig::idle_timeout`] (at the start or between requests), or whose body
//! stalls for as long, is closed. When [`HttpConfig::max_connections`] are open, a new
//! connection pushes out the least recently active idle one (esp_http_server's LRU purge); if
//! every connection is busy the new one is refused.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use protocomm::{Error as ProtocommError, SessionId};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::service::Service;

/// How long [`serve`] lets open requests finish after shutdown was requested.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Largest request head (request line and headers) accepted, in bytes.
const MAX_HEAD_BUFFER: usize = 16 * 1024;

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
    /// How long a connection may wait for the next request head or body bytes before it is
    /// closed, and how long an idle session is remembered (default 60 s, esp_prov's timeout).
    pub idle_timeout: Duration,
    /// Most sessions the transport remembers at once (default 1024). Keep it above the
    /// protocomm device's session limit.
    pub max_sessions: usize,
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
            idle_timeout: Duration::from_secs(60),
            max_sessions: 1024,
        }
    }

    /// Checks that every limit is usable (non-zero); the error is of kind `InvalidInput`.
    pub fn validate(&self) -> io::Result<()> {
        let problem = if self.max_body == 0 {
            "max_body must be at least 1"
        } else if self.max_connections == 0 {
            "max_connections must be at least 1"
        } else if self.max_sessions == 0 {
            "max_sessions must be at least 1"
        } else if self.idle_timeout.is_zero() {
            "idle_timeout must not be zero"
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
/// Errors accepting individual connections (for example running out of file descriptors) are
/// logged and retried, never returned. The only errors are settings rejected by
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
    let shared = Arc::new(Shared {
        service,
        config,
        sessions: Mutex::new(SessionMap::default()),
        connections: Mutex::new(HashMap::new()),
        next_connection: AtomicU64::new(1),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut prune = tokio::time::interval(prune_interval(shared.config.idle_timeout));
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Some(task) = shared.admit(stream, peer, stop_rx.clone()) {
                        tasks.spawn(task);
                    }
                }
                Err(e) => {
                    warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = prune.tick() => shared.prune_sessions(),
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

/// Completes once the server is stopping (or its stop signal is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// How often remembered sessions are checked for expiry.
fn prune_interval(idle: Duration) -> Duration {
    (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(10))
}

/// Signals hyper to drop the connection without writing a response.
#[derive(Debug)]
struct CloseWithoutResponse;

impl std::fmt::Display for CloseWithoutResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request failed; closing the connection without a response")
    }
}

impl std::error::Error for CloseWithoutResponse {}

type HttpResponse = Response<Full<Bytes>>;

/// State shared by the accept loop and every connection.
struct Shared {
    service: Service,
    config: HttpConfig,
    sessions: Mutex<SessionMap>,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    next_connection: AtomicU64,
}

/// Per-connection state.
struct Connection {
    id: u64,
    /// When a request last started or finished.
    last_active: Mutex<Instant>,
    /// Whether a request is being answered.
    busy: AtomicBool,
    /// Session created on this connection, continued by requests without a usable cookie.
    bound: Mutex<Option<u32>>,
    /// Session of the latest request on this connection (detached when the connection ends).
    last_session: Mutex<Option<u32>>,
    /// Notified to close the connection to make room for a new one.
    evict: Notify,
}

impl Connection {
    fn touch(&self) {
        *lock(&self.last_active) = Instant::now();
    }
}

/// Marks a connection busy for as long as it lives (also when the request future is dropped).
struct BusyGuard<'a>(&'a Connection);

impl<'a> BusyGuard<'a> {
    fn new(connection: &'a Connection) -> Self {
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

/// A session this transport issued.
struct Known {
    last_used: Instant,
    /// Whether a response carrying `Set-Cookie` has been sent.
    cookie_sent: bool,
}

#[derive(Default)]
struct SessionMap {
    entries: HashMap<u32, Known>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the `Cookie` header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cookie {
    /// No `Cookie` header, or one that is not exactly `session=<u32>`.
    Unusable,
    /// `session=<id>`.
    Session(u32),
}

/// Parses a `Cookie` value that must read exactly `session=<id>` with `id` in canonical
/// decimal form (what the device sent in `Set-Cookie`).
fn parse_cookie(value: Option<&HeaderValue>) -> Cookie {
    let Some(text) = value.and_then(|v| v.to_str().ok()) else {
        return Cookie::Unusable;
    };
    let Some(digits) = text.strip_prefix("session=") else {
        return Cookie::Unusable;
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Cookie::Unusable;
    }
    match digits.parse::<u32>() {
        Ok(id) if id.to_string() == digits => Cookie::Session(id),
        _ => Cookie::Unusable,
    }
}

fn plain(status: StatusCode, text: &'static str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

impl Shared {
    /// Registers an accepted connection and returns the task that serves it, or `None` when
    /// it is refused.
    fn admit(
        self: &Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        stop: watch::Receiver<bool>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            id,
            last_active: Mutex::new(Instant::now()),
            busy: AtomicBool::new(false),
            bound: Mutex::new(None),
            last_session: Mutex::new(None),
            evict: Notify::new(),
        });
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
            connections.insert(id, connection.clone());
        }
        let _ = stream.set_nodelay(true);
        debug!(connection = id, %peer, "HTTP connection opened");
        Some(self.clone().run_connection(connection, stream, stop))
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
        if let Some(id) = *lock(&connection.last_session) {
            self.service.detach_session(SessionId(id));
        }
    }

    /// Answers one request; an error makes hyper drop the connection without a response.
    async fn handle(
        &self,
        connection: &Connection,
        request: Request<Incoming>,
    ) -> Result<HttpResponse, CloseWithoutResponse> {
        let _busy = BusyGuard::new(connection);

        let uri = request.uri();
        let endpoint = match (uri.path().strip_prefix('/'), uri.query()) {
            (Some(name), None) if !name.is_empty() => name.to_owned(),
            _ => {
                return Ok(plain(
                    StatusCode::NOT_FOUND,
                    "Nothing matches the given URI\n",
                ));
            }
        };
        let registered = self
            .service
            .with_device(|device| device.endpoint(&endpoint).is_some());
        if !registered {
            return Ok(plain(
                StatusCode::NOT_FOUND,
                "Nothing matches the given URI\n",
            ));
        }
        if request.method() != Method::POST {
            let mut response = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "Only POST is allowed on this URI\n",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return Ok(response);
        }
        let headers = request.headers();
        if headers.contains_key(header::TRANSFER_ENCODING) {
            let mut response = plain(
                StatusCode::LENGTH_REQUIRED,
                "Send the body with a Content-Length\n",
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Ok(response);
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if declared == 0 {
            return Ok(plain(
                StatusCode::BAD_REQUEST,
                "The request body is empty\n",
            ));
        }
        let limit = self.config.max_body;
        if usize::try_from(declared).map_or(true, |len| len > limit) {
            let mut response = plain(StatusCode::BAD_REQUEST, "The request body is too large\n");
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Ok(response);
        }
        let cookie = parse_cookie(headers.get(header::COOKIE));

        let body = Limited::new(request.into_body(), limit).collect();
        let body = match tokio::time::timeout(self.config.idle_timeout, body).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) => {
                debug!(connection = connection.id, error = %e, "reading the request body failed");
                return Err(CloseWithoutResponse);
            }
            Err(_) => {
                debug!(connection = connection.id, "the request body stalled");
                return Err(CloseWithoutResponse);
            }
        };

        let session = self.select_session(connection, cookie)?;
        match self
            .service
            .request(SessionId(session), &endpoint, &body)
            .await
        {
            Ok(reply) => {
                let mut response = Response::new(Full::new(Bytes::from(reply)));
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                if self.first_response(session) {
                    let cookie = HeaderValue::try_from(format!("session={session}"))
                        .map_err(|_| CloseWithoutResponse)?;
                    response.headers_mut().insert(header::SET_COOKIE, cookie);
                }
                Ok(response)
            }
            Err(e) => {
                debug!(
                    connection = connection.id,
                    session,
                    endpoint = %endpoint,
                    error = %e,
                    "protocomm request failed; closing the connection without a response"
                );
                self.request_failed(session, &e);
                Err(CloseWithoutResponse)
            }
        }
    }

    /// Picks the session of a request (see the module documentation).
    fn select_session(
        &self,
        connection: &Connection,
        cookie: Cookie,
    ) -> Result<u32, CloseWithoutResponse> {
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        let mut bound = lock(&connection.bound);
        let existing = match cookie {
            Cookie::Session(id) => Some(id),
            Cookie::Unusable => *bound,
        };
        if let Some(id) = existing
            && self.is_live(&mut sessions, id, now)
        {
            if let Some(known) = sessions.entries.get_mut(&id) {
                known.last_used = now;
            }
            *lock(&connection.last_session) = Some(id);
            return Ok(id);
        }

        if sessions.entries.len() >= self.config.max_sessions {
            self.prune_locked(&mut sessions, now);
        }
        if sessions.entries.len() >= self.config.max_sessions && !self.evict_one(&mut sessions) {
            warn!(
                connection = connection.id,
                "every remembered HTTP session is established; refusing a new one"
            );
            return Err(CloseWithoutResponse);
        }
        let id = self.fresh_id(&sessions)?;
        sessions.entries.insert(
            id,
            Known {
                last_used: now,
                cookie_sent: false,
            },
        );
        *bound = Some(id);
        *lock(&connection.last_session) = Some(id);
        debug!(connection = connection.id, session = id, "new HTTP session");
        Ok(id)
    }

    /// A random id that no remembered session uses.
    fn fresh_id(&self, sessions: &SessionMap) -> Result<u32, CloseWithoutResponse> {
        for _ in 0..16 {
            match getrandom::u32() {
                Ok(id) if !sessions.entries.contains_key(&id) => return Ok(id),
                Ok(_) => {}
                Err(e) => {
                    warn!(error = %e, "the operating system's random number generator failed");
                    return Err(CloseWithoutResponse);
                }
            }
        }
        Err(CloseWithoutResponse)
    }

    /// Whether `id` is remembered and still usable; forgets it if not.
    fn is_live(&self, sessions: &mut SessionMap, id: u32, now: Instant) -> bool {
        let Some(known) = sessions.entries.get(&id) else {
            return false;
        };
        if now.saturating_duration_since(known.last_used) < self.config.idle_timeout {
            return true;
        }
        self.service.expire_sessions();
        let established = self
            .service
            .with_device(|device| device.is_established(SessionId(id)));
        if !established {
            sessions.entries.remove(&id);
            self.service.close_session(SessionId(id));
        }
        established
    }

    /// Whether the response for `session` is its first successful one (and so carries the
    /// cookie).
    fn first_response(&self, session: u32) -> bool {
        let mut sessions = lock(&self.sessions);
        match sessions.entries.get_mut(&session) {
            Some(known) if !known.cookie_sent => {
                known.cookie_sent = true;
                true
            }
            _ => false,
        }
    }

    /// Forgets `session` after a failed request if no client can continue it.
    fn request_failed(&self, session: u32, error: &ProtocommError) {
        let mut sessions = lock(&self.sessions);
        let unannounced = sessions
            .entries
            .get(&session)
            .is_some_and(|known| !known.cookie_sent);
        let gone = matches!(
            error,
            ProtocommError::UnknownSession(_)
                | ProtocommError::SessionExpired(_)
                | ProtocommError::DecryptFailed
        );
        if unannounced || gone {
            sessions.entries.remove(&session);
            self.service.close_session(SessionId(session));
        }
    }

    /// Drops sessions that are idle and unknown to (or unfinished in) the protocomm device.
    fn prune_sessions(&self) {
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        self.prune_locked(&mut sessions, now);
    }

    fn prune_locked(&self, sessions: &mut SessionMap, now: Instant) {
        self.service.expire_sessions();
        let idle = self.config.idle_timeout;
        let before = sessions.entries.len();
        self.service.with_device(|device| {
            sessions.entries.retain(|id, known| {
                let keep = now.saturating_duration_since(known.last_used) < idle
                    || device.is_established(SessionId(*id));
                if !keep {
                    device.close_session(SessionId(*id));
                }
                keep
            });
        });
        let dropped = before.saturating_sub(sessions.entries.len());
        if dropped > 0 {
            debug!(dropped, "forgot idle HTTP sessions");
        }
    }

    /// Forgets the least recently used session without a finished handshake.
    fn evict_one(&self, sessions: &mut SessionMap) -> bool {
        let victim = self.service.with_device(|device| {
            sessions
                .entries
                .iter()
                .filter(|(id, _)| !device.is_established(SessionId(**id)))
                .min_by_key(|(_, known)| known.last_used)
                .map(|(id, _)| *id)
        });
        match victim {
            Some(id) => {
                sessions.entries.remove(&id);
                self.service.close_session(SessionId(id));
                debug!(session = id, "forgot the stalest HTTP session to make room");
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie(text: &str) -> Cookie {
        parse_cookie(Some(
            &HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("")),
        ))
    }

    #[test]
    fn cookie_must_match_exactly() {
        assert_eq!(cookie("session=0"), Cookie::Session(0));
        assert_eq!(cookie("session=4294967295"), Cookie::Session(u32::MAX));
        assert_eq!(cookie("session=4294967296"), Cookie::Unusable);
        assert_eq!(cookie("session=007"), Cookie::Unusable);
        assert_eq!(cookie("session=+7"), Cookie::Unusable);
        assert_eq!(cookie("session= 7"), Cookie::Unusable);
        assert_eq!(cookie("session=7; Path=/"), Cookie::Unusable);
        assert_eq!(cookie("Session=7"), Cookie::Unusable);
        assert_eq!(cookie("session="), Cookie::Unusable);
        assert_eq!(cookie("foo=1"), Cookie::Unusable);
        assert_eq!(parse_cookie(None), Cookie::Unusable);
    }

    #[test]
    fn prune_interval_is_bounded() {
        assert_eq!(
            prune_interval(Duration::from_secs(60)),
            Duration::from_secs(10)
        );
        assert_eq!(
            prune_interval(Duration::from_millis(1)),
            Duration::from_millis(50)
        );
    }
}
