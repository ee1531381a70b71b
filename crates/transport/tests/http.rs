//! The HTTP transport against a hand-written HTTP/1.1 client that behaves like esp_prov
//! (exact headers, cookie echoing, keep-alive, reconnects).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use protocomm::{
    ClientHandshake, ClientSecurity, ClientSession, Device, DeviceConfig, HandlerError,
    HandshakeStep, PeerVersion, Sec2Credentials, Secret, Security, SessionId, SessionLimits,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wifiprov_transport::service::BoxFuture;
use wifiprov_transport::{AppHandler, HttpConfig, HttpServer, Service};
use zeroize::Zeroizing;

const POP: &str = "abcd1234";
const TIMEOUT: Duration = Duration::from_secs(10);

fn rng() -> protocomm::rand_core::UnwrapErr<getrandom::SysRng> {
    protocomm::rand_core::UnwrapErr(getrandom::SysRng)
}

/// Echoes requests; a request reading `fail` makes the handler fail.
struct Echo;

impl AppHandler for Echo {
    fn handle(
        &self,
        _session: SessionId,
        endpoint: String,
        request: Zeroizing<Vec<u8>>,
    ) -> BoxFuture<'static, Result<Vec<u8>, HandlerError>> {
        Box::pin(async move {
            if request.as_slice() == b"fail" {
                return Err(HandlerError::local("asked to fail"));
            }
            Ok([endpoint.as_bytes(), b": ", request.as_slice()].concat())
        })
    }
}

fn service(config: DeviceConfig) -> Service {
    let mut device = Device::new(config).unwrap();
    device.register_endpoint("custom-data").unwrap();
    Service::new(device, Arc::new(Echo))
}

fn sec1_service() -> Service {
    service(DeviceConfig::new(Security::Sec1 {
        pop: Some(Secret::from(POP)),
    }))
}

fn sec1_client() -> ClientSecurity {
    ClientSecurity::Sec1 {
        pop: Some(Secret::from(POP)),
    }
}

fn local_config() -> HttpConfig {
    HttpConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)))
}

async fn start(service: Service, config: HttpConfig) -> HttpServer {
    HttpServer::bind(service, config).await.unwrap()
}

/// A parsed HTTP response with header names as sent.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    /// The value of the header spelled exactly `name` (case-sensitive, as esp_prov looks).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every header whose name matches `name` case-insensitively.
    fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    fn set_cookie(&self) -> Option<&str> {
        self.header("Set-Cookie")
    }
}

/// What esp_prov's `http.client` does, spelled out.
struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
    /// `Cookie` to send, copied verbatim from `Set-Cookie` unless `echo_cookie` is off.
    cookie: Option<String>,
    echo_cookie: bool,
}

impl RawClient {
    async fn connect(addr: SocketAddr) -> Self {
        RawClient {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
            cookie: None,
            echo_cookie: true,
        }
    }

    async fn reconnect(&mut self, addr: SocketAddr) {
        self.stream = TcpStream::connect(addr).await.unwrap();
        self.buf.clear();
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    fn request_bytes(&self, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 192.168.4.1:80\r\nAccept-Encoding: identity\r\n\
             Content-Length: {}\r\nContent-type: application/x-www-form-urlencoded\r\n\
             Accept: text/plain\r\n",
            body.len()
        );
        if let Some(cookie) = &self.cookie {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        head.push_str("\r\n");
        [head.as_bytes(), body].concat()
    }

    async fn send(&mut self, method: &str, path: &str, body: &[u8]) {
        let bytes = self.request_bytes(method, path, body);
        self.send_raw(&bytes).await;
    }

    /// Reads one response, or `None` if the connection closed before any byte of it.
    async fn try_response(&mut self) -> Option<RawResponse> {
        let head_end = loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            let mut chunk = [0u8; 4096];
            let n = match tokio::time::timeout(TIMEOUT, self.stream.read(&mut chunk))
                .await
                .expect("timed out waiting for a response")
            {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => panic!("read failed: {e}"),
            };
            if n == 0 {
                assert!(
                    self.buf.is_empty(),
                    "connection closed in the middle of a response: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).unwrap();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
        let status: u16 = parts.next().unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.to_owned(), value.trim().to_owned())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        while self.buf.len() < len {
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(TIMEOUT, self.stream.read(&mut chunk))
                .await
                .expect("timed out reading a body")
                .unwrap();
            assert!(n > 0, "connection closed in the middle of a body");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = self.buf.drain(..len).collect();
        let response = RawResponse {
            status,
            headers,
            body,
        };
        if self.echo_cookie
            && let Some(cookie) = response.set_cookie()
        {
            self.cookie = Some(cookie.to_owned());
        }
        Some(response)
    }

    async fn response(&mut self) -> RawResponse {
        self.try_response()
            .await
            .expect("the server closed the connection without a response")
    }

    /// Asserts that the server closes the connection without sending a single byte.
    async fn expect_closed_without_response(&mut self) {
        assert!(self.buf.is_empty());
        let mut chunk = [0u8; 1024];
        let read = tokio::time::timeout(TIMEOUT, self.stream.read(&mut chunk))
            .await
            .expect("the server neither answered nor closed the connection");
        match read {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected no response, got {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }

    /// POSTs `body` to `/<endpoint>` and expects a 200.
    async fn post(&mut self, endpoint: &str, body: &[u8]) -> RawResponse {
        self.send("POST", &format!("/{endpoint}"), body).await;
        let response = self.response().await;
        assert_eq!(response.status, 200, "{response:?}");
        response
    }

    /// Reads `proto-ver` (the first request of an esp_prov run).
    async fn proto_ver(&mut self) -> (RawResponse, PeerVersion) {
        let response = self.post("proto-ver", b"---").await;
        let peer = PeerVersion::parse(&response.body);
        (response, peer)
    }

    /// Runs the whole handshake on `prov-session`.
    async fn handshake(&mut self, security: ClientSecurity) -> ClientSession {
        let (mut handshake, mut request) = ClientHandshake::start(security, &mut rng()).unwrap();
        loop {
            let response = self.post("prov-session", &request).await;
            match handshake.handle_response(&response.body).unwrap() {
                HandshakeStep::Send(next, req) => (handshake, request) = (next, req),
                HandshakeStep::Done(session) => return session,
            }
        }
    }

    /// Sends `plaintext` encrypted to `endpoint` and returns the decrypted answer.
    async fn exchange(
        &mut self,
        session: &mut ClientSession,
        endpoint: &str,
        plaintext: &[u8],
    ) -> Vec<u8> {
        let ciphertext = session.encrypt(plaintext).unwrap();
        let response = self.post(endpoint, &ciphertext).await;
        assert_eq!(
            response.set_cookie(),
            None,
            "only a new session sets a cookie"
        );
        session.decrypt(&response.body).unwrap()
    }
}

/// `session=<decimal u32>`, nothing else.
fn assert_cookie_format(value: &str) -> u32 {
    let digits = value
        .strip_prefix("session=")
        .unwrap_or_else(|| panic!("bad Set-Cookie {value:?}"));
    let id: u32 = digits
        .parse()
        .unwrap_or_else(|_| panic!("bad Set-Cookie {value:?}"));
    assert_eq!(
        id.to_string(),
        digits,
        "Set-Cookie must be canonical decimal"
    );
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec1_full_exchange_over_one_keep_alive_connection() {
    let server = start(sec1_service(), local_config()).await;
    let mut client = RawClient::connect(server.local_addr()).await;

    let (first, peer) = client.proto_ver().await;
    assert_eq!(peer.security(), 1);
    assert_eq!(first.header("Content-Type"), Some("text/html"));
    assert_eq!(
        first.header("Content-Length"),
        Some(first.body.len().to_string().as_str())
    );
    assert_eq!(first.count("set-cookie"), 1);
    let cookie = first
        .set_cookie()
        .expect("the first response sets a cookie");
    assert_cookie_format(cookie);

    // Every later response on this session comes without Set-Cookie.
    let mut session = client.handshake(sec1_client()).await;
    for round in 0..3 {
        let message = format!("hello {round}");
        let answer = client
            .exchange(&mut session, "prov-config", message.as_bytes())
            .await;
        assert_eq!(answer, format!("prov-config: {message}").as_bytes());
    }
    let answer = client.exchange(&mut session, "custom-data", b"x").await;
    assert_eq!(answer, b"custom-data: x");
    let (again, _) = client.proto_ver().await;
    assert_eq!(again.count("set-cookie"), 0);

    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec2_works_for_a_client_that_never_echoes_the_cookie() {
    let password = Secret::from("correct horse battery");
    let credentials = Sec2Credentials::generate(b"wifiprov", &password, &mut rng()).unwrap();
    let service = service(DeviceConfig::new(Security::Sec2 {
        credentials,
        patch: 1,
    }));
    let server = start(service, local_config()).await;
    let mut client = RawClient::connect(server.local_addr()).await;
    client.echo_cookie = false;

    let (first, peer) = client.proto_ver().await;
    assert_cookie_format(first.set_cookie().unwrap());
    assert_eq!((peer.security(), peer.sec_patch_ver), (2, 1));
    // The session is bound to the connection, so no cookie is needed on it.
    let mut session = client
        .handshake(ClientSecurity::Sec2 {
            username: b"wifiprov".to_vec(),
            password,
            patch: peer.sec_patch_ver,
        })
        .await;
    let answer = client.exchange(&mut session, "prov-config", b"ssid").await;
    assert_eq!(answer, b"prov-config: ssid");
    let answer = client.exchange(&mut session, "prov-ctrl", b"reset").await;
    assert_eq!(answer, b"prov-ctrl: reset");

    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_carries_the_session_across_reconnects() {
    let server = start(sec1_service(), local_config()).await;
    let addr = server.local_addr();
    let mut client = RawClient::connect(addr).await;
    client.proto_ver().await;
    let mut session = client.handshake(sec1_client()).await;
    assert_eq!(
        client.exchange(&mut session, "prov-config", b"one").await,
        b"prov-config: one"
    );

    // esp_prov's http.client reconnects by itself when the device dropped the connection.
    client.reconnect(addr).await;
    assert_eq!(
        client.exchange(&mut session, "prov-config", b"two").await,
        b"prov-config: two"
    );

    // Without the cookie a new connection is a new client: its session has no keys.
    let mut stranger = RawClient::connect(addr).await;
    stranger.cookie = None;
    let ciphertext = session.encrypt(b"three").unwrap();
    stranger.send("POST", "/prov-config", &ciphertext).await;
    stranger.expect_closed_without_response().await;

    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_provision_concurrently() {
    let server = start(sec1_service(), local_config()).await;
    let addr = server.local_addr();

    // Client A stops after the first handshake message.
    let mut a = RawClient::connect(addr).await;
    let (first_a, _) = a.proto_ver().await;
    let id_a = assert_cookie_format(first_a.set_cookie().unwrap());
    let (handshake_a, request_a) = ClientHandshake::start(sec1_client(), &mut rng()).unwrap();
    let response_a = a.post("prov-session", &request_a).await;

    // Client B runs the whole provisioning in between; ESP-IDF would destroy A's session here.
    let mut b = RawClient::connect(addr).await;
    let (first_b, _) = b.proto_ver().await;
    let id_b = assert_cookie_format(first_b.set_cookie().unwrap());
    assert_ne!(id_a, id_b);
    let mut session_b = b.handshake(sec1_client()).await;
    assert_eq!(
        b.exchange(&mut session_b, "prov-config", b"from b").await,
        b"prov-config: from b"
    );

    // A finishes its handshake and exchanges, then B again.
    let mut session_a = match handshake_a.handle_response(&response_a.body).unwrap() {
        HandshakeStep::Send(next, request) => {
            let response = a.post("prov-session", &request).await;
            match next.handle_response(&response.body).unwrap() {
                HandshakeStep::Done(session) => session,
                HandshakeStep::Send(..) => panic!("security 1 has two steps"),
            }
        }
        HandshakeStep::Done(_) => panic!("security 1 has two steps"),
    };
    assert_eq!(
        a.exchange(&mut session_a, "prov-config", b"from a").await,
        b"prov-config: from a"
    );
    assert_eq!(
        b.exchange(&mut session_b, "prov-scan", b"again").await,
        b"prov-scan: again"
    );

    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_in_parallel_tasks() {
    let server = start(sec1_service(), local_config()).await;
    let addr = server.local_addr();
    let mut tasks = Vec::new();
    for i in 0..4 {
        tasks.push(tokio::spawn(async move {
            let mut client = RawClient::connect(addr).await;
            client.proto_ver().await;
            let mut session = client.handshake(sec1_client()).await;
            for round in 0..5 {
                let message = format!("client {i} round {round}");
                let answer = client
                    .exchange(&mut session, "prov-config", message.as_bytes())
                    .await;
                assert_eq!(answer, format!("prov-config: {message}").as_bytes());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_handshake_closes_the_connection_without_a_response() {
    let server = start(sec1_service(), local_config()).await;
    let addr = server.local_addr();
    let mut client = RawClient::connect(addr).await;
    client.proto_ver().await;
    client
        .send("POST", "/prov-session", b"\xff\xff\xff garbage")
        .await;
    client.expect_closed_without_response().await;

    // The device is fine afterwards, and the cookie still names a usable session.
    client.reconnect(addr).await;
    let mut session = client.handshake(sec1_client()).await;
    assert_eq!(
        client.exchange(&mut session, "prov-config", b"ok").await,
        b"prov-config: ok"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pop_closes_the_connection_without_a_response() {
    let server = start(sec1_service(), local_config()).await;
    let mut client = RawClient::connect(server.local_addr()).await;
    client.proto_ver().await;
    let wrong = ClientSecurity::Sec1 {
        pop: Some(Secret::from("wrong-pop")),
    };
    let (handshake, request) = ClientHandshake::start(wrong, &mut rng()).unwrap();
    let response = client.post("prov-session", &request).await;
    let HandshakeStep::Send(_, request) = handshake.handle_response(&response.body).unwrap() else {
        panic!("security 1 has two steps");
    };
    client.send("POST", "/prov-session", &request).await;
    client.expect_closed_without_response().await;
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_closes_the_connection_and_the_session_goes_on() {
    let server = start(sec1_service(), local_config()).await;
    let addr = server.local_addr();
    let mut client = RawClient::connect(addr).await;
    client.proto_ver().await;
    let mut session = client.handshake(sec1_client()).await;
    let ciphertext = session.encrypt(b"fail").unwrap();
    client.send("POST", "/prov-config", &ciphertext).await;
    client.expect_closed_without_response().await;

    client.reconnect(addr).await;
    assert_eq!(
        client.exchange(&mut session, "prov-config", b"next").await,
        b"prov-config: next"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_is_refused_without_disturbing_sessions() {
    let server = start(sec1_service(), local_config()).await;
    let addr = server.local_addr();
    let mut a = RawClient::connect(addr).await;
    a.proto_ver().await;
    let mut session = a.handshake(sec1_client()).await;

    let mut b = RawClient::connect(addr).await;
    b.cookie = a.cookie.clone();
    b.send("POST", "/prov-config", &vec![0x55; 4097]).await;
    let response = b.response().await;
    assert_eq!(response.status, 400);
    assert_eq!(response.set_cookie(), None);
    assert_eq!(response.header("Connection"), Some("close"));

    // A limit-sized body reaches protocomm (here: garbage ciphertext on a fresh session).
    let mut c = RawClient::connect(addr).await;
    c.send("POST", "/prov-session", &vec![0x55; 4096]).await;
    c.expect_closed_without_response().await;

    assert_eq!(
        a.exchange(&mut session, "prov-config", b"still here").await,
        b"prov-config: still here"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_errors_are_answered_and_keep_the_connection() {
    let server = start(sec1_service(), local_config()).await;
    let mut client = RawClient::connect(server.local_addr()).await;

    client.send("POST", "/no-such-endpoint", b"x").await;
    let response = client.response().await;
    assert_eq!(response.status, 404);
    assert!(!response.body.is_empty());

    client.send("POST", "/proto-ver?x=1", b"x").await;
    assert_eq!(client.response().await.status, 404);

    client.send("POST", "/", b"x").await;
    assert_eq!(client.response().await.status, 404);

    client.send("GET", "/proto-ver", b"").await;
    let response = client.response().await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("Allow"), Some("POST"));

    client.send("POST", "/proto-ver", b"").await;
    assert_eq!(client.response().await.status, 400);

    client
        .send_raw(b"POST /proto-ver HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert_eq!(client.response().await.status, 400);

    // None of these opened a session: the first success is the one with the cookie.
    let (first, _) = client.proto_ver().await;
    assert_cookie_format(first.set_cookie().unwrap());

    client
        .send_raw(b"POST /proto-ver HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n---\r\n0\r\n\r\n")
        .await;
    let response = client.response().await;
    assert_eq!(response.status, 411);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_cookie_gets_a_new_session() {
    let server = start(sec1_service(), local_config()).await;
    let mut client = RawClient::connect(server.local_addr()).await;
    // A cookie this transport never issued (from an earlier boot, say).
    client.cookie = Some("session=12345".to_owned());
    let (first, _) = client.proto_ver().await;
    let id = assert_cookie_format(first.set_cookie().unwrap());
    assert_ne!(id, 12345);
    assert_eq!(client.cookie.as_deref(), first.set_cookie());
    let mut session = client.handshake(sec1_client()).await;
    assert_eq!(
        client.exchange(&mut session, "prov-config", b"x").await,
        b"prov-config: x"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_starts_over_with_a_new_cookie() {
    let idle = Duration::from_millis(300);
    let mut device = DeviceConfig::new(Security::Sec1 {
        pop: Some(Secret::from(POP)),
    });
    device.limits = SessionLimits {
        max_sessions: 4,
        idle_timeout: idle,
        ..SessionLimits::default()
    };
    let mut config = local_config();
    config.idle_timeout = idle;
    let server = start(service(device), config).await;
    let addr = server.local_addr();

    let mut client = RawClient::connect(addr).await;
    let (first, _) = client.proto_ver().await;
    let old = assert_cookie_format(first.set_cookie().unwrap());
    let mut session = client.handshake(sec1_client()).await;
    tokio::time::sleep(idle * 3).await;

    // The idle connection was closed and the session forgotten; the old cookie's encrypted
    // request goes nowhere.
    client.reconnect(addr).await;
    let ciphertext = session.encrypt(b"late").unwrap();
    client.send("POST", "/prov-config", &ciphertext).await;
    client.expect_closed_without_response().await;

    // Starting over with the stale cookie yields a new one.
    client.reconnect(addr).await;
    let (first, _) = client.proto_ver().await;
    let new = assert_cookie_format(first.set_cookie().unwrap());
    assert_ne!(old, new);
    let mut session = client.handshake(sec1_client()).await;
    assert_eq!(
        client.exchange(&mut session, "prov-config", b"x").await,
        b"prov-config: x"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed() {
    let mut config = local_config();
    config.idle_timeout = Duration::from_millis(200);
    let server = start(sec1_service(), config).await;
    let mut client = RawClient::connect(server.local_addr()).await;
    client.proto_ver().await;
    let started = tokio::time::Instant::now();
    client.expect_closed_without_response().await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_evicts_the_least_recently_active_one() {
    let mut config = local_config();
    config.max_connections = 2;
    let server = start(sec1_service(), config).await;
    let addr = server.local_addr();
    let mut a = RawClient::connect(addr).await;
    a.proto_ver().await;
    let mut b = RawClient::connect(addr).await;
    b.proto_ver().await;
    a.proto_ver().await;

    let mut c = RawClient::connect(addr).await;
    c.proto_ver().await;
    b.expect_closed_without_response().await;
    a.proto_ver().await;
    c.proto_ver().await;
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_on_its_shutdown_future() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(wifiprov_transport::serve(
        listener,
        sec1_service(),
        local_config(),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut client = RawClient::connect(addr).await;
    client.proto_ver().await;

    stop.send(()).unwrap();
    client.expect_closed_without_response().await;
    server.await.unwrap().unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_a_taken_port_reports_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let err = HttpServer::bind(sec1_service(), HttpConfig::new(addr))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert_eq!(err.addr, addr);
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_limits_are_refused() {
    let mut config = local_config();
    config.max_connections = 0;
    let err = HttpServer::bind(sec1_service(), config).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_connections"), "{err}");

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = local_config();
    config.idle_timeout = Duration::ZERO;
    let err = wifiprov_transport::serve(listener, sec1_service(), config, async {})
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
