//! Agents built from routes: one reached only through a console provisions end to end, a
//! console that is the only way in ends the agent when it closes, and the same route values
//! start, stop and start again (as the Wi-Fi manager does with its fallback routes).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use protocomm::{Secret, Security};
use smartconfig::Protocol;
use smartconfig::api::Settings;
use smartconfig::net::AckConfig;
use smartconfig::net::sender::{SendRequest, SenderConfig, send};
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use wifiprov_agent::console::{ConsoleIo, ConsoleRoute};
use wifiprov_agent::{AgentBuilder, AgentEnd, HttpRoute, Place, SmartConfigRoute};
use wifiprov_client::{
    ClientTransport, ConsoleTransport, Credentials, HttpTransport, Provisioner as Client,
};
use wifiprov_device::{CredentialStore, ManagerConfig};
use wifiprov_transport::console::ConsoleConfig;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

const POP: &str = "abcd1234";
/// Every wait in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(30);

fn builder(store: Option<CredentialStore>) -> AgentBuilder {
    let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let mut builder = AgentBuilder::new(
        Security::Sec1 {
            pop: Some(Secret::from(POP)),
        },
        wifi,
    );
    builder.manager = ManagerConfig {
        connect_delay: Duration::ZERO,
        cleanup_delay: Duration::ZERO,
        ..ManagerConfig::default()
    };
    builder.store = store;
    builder
}

/// A console route on in-memory pipes: every start opens a new pipe, whose other end comes
/// out of the returned receiver.
fn piped_console() -> (ConsoleRoute, mpsc::UnboundedReceiver<DuplexStream>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let open = move || -> Result<ConsoleIo, wifiprov_agent::RouteError> {
        let (device, client) = tokio::io::duplex(1 << 16);
        tx.send(client)
            .map_err(|_| wifiprov_agent::RouteError::other("the test is gone"))?;
        let (reader, writer) = tokio::io::split(device);
        Ok((Box::new(reader), Box::new(writer)))
    };
    let route = ConsoleRoute::new(
        "the console on a test pipe",
        Arc::new(open),
        ConsoleConfig::default(),
    );
    (route, rx)
}

fn console_client(pipe: DuplexStream) -> Client<ConsoleTransport> {
    let (reader, writer) = tokio::io::split(pipe);
    Client::new(ConsoleTransport::new(reader, writer, "test pipe", LIMIT))
}

async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {LIMIT:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reached_only_through_its_console_provisions_end_to_end() {
    let state = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(state.path()).unwrap();
    let (console, mut pipes) = piped_console();
    let agent = builder(Some(store.clone()))
        .route(console)
        .start()
        .await
        .unwrap();
    assert!(!agent.serves_http());
    assert_eq!(
        agent.places(),
        [Place::Other("the console on a test pipe".into())]
    );
    assert_eq!(agent.route_names(), ["console"]);

    let mut client = console_client(pipes.recv().await.unwrap());
    let security = client
        .negotiate(None, &Credentials::pop(POP))
        .await
        .unwrap();
    client.establish(security).await.unwrap();
    let scan = client.scan().await.unwrap();
    assert!(scan.iter().any(|ap| ap.ssid == b"HomeNet"));
    let joined = bounded(
        "provisioning",
        client.provision(b"HomeNet", b"correct-horse"),
    )
    .await
    .unwrap();
    assert_eq!(joined.ip, "192.168.1.42");

    // The client saw the success: auto-stop ends the agent.
    let end = bounded("the end", agent.run_until(std::future::pending())).await;
    assert_eq!(end, AgentEnd::Stopped);
    let stored = store.load().unwrap().unwrap();
    assert_eq!(stored.ssid, b"HomeNet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_is_the_only_way_in_ends_the_agent_when_it_closes() {
    let (console, mut pipes) = piped_console();
    let agent = builder(None)
        .route(console.ending_the_agent(true))
        .start()
        .await
        .unwrap();
    let pipe = pipes.recv().await.unwrap();
    drop(pipe);
    let end = bounded("the end", agent.run_until(std::future::pending())).await;
    assert_eq!(end, AgentEnd::RouteEnded("console".into()));

    // Without that flag a closed console leaves the agent to its other ends.
    let (console, mut pipes) = piped_console();
    let agent = builder(None).route(console).start().await.unwrap();
    drop(pipes.recv().await.unwrap());
    let end = bounded(
        "the end",
        agent.run_until(tokio::time::sleep(Duration::from_millis(300))),
    )
    .await;
    assert_eq!(end, AgentEnd::Signal);
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The security scheme the device's version document announces.
async fn proto_ver(transport: &mut impl ClientTransport) -> u8 {
    let reply = bounded("proto-ver", transport.request("proto-ver", b"---"))
        .await
        .unwrap();
    protocomm::PeerVersion::parse(&reply).security()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_routes_start_stop_and_start_again() {
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()));
    let data = SocketAddr::from((Ipv4Addr::LOCALHOST, free_udp_port()));
    let reply = SocketAddr::from((Ipv4Addr::LOCALHOST, free_udp_port()));
    let http = Arc::new(HttpRoute::new(listen));
    let ack = AckConfig {
        esptouch_port: reply.port(),
        broadcast: Some(reply.ip()),
        ..AckConfig::default()
    };
    let smartconfig = Arc::new(SmartConfigRoute::udp(data).settings(Settings {
        aes_key: None,
        mac: [0x02, 0, 0, 0, 0, 1],
        ack,
    }));
    let (console, mut pipes) = piped_console();
    let console = Arc::new(console);
    let state = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(state.path()).unwrap();

    for round in 1..=2 {
        let agent = builder(Some(store.clone()))
            .route(http.clone())
            .route(smartconfig.clone())
            .route(console.clone())
            .start()
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(
            agent.places()[..2],
            [
                Place::Http(listen),
                Place::Other(format!("SmartConfig on udp {data}"))
            ],
            "round {round}"
        );
        // Both protocomm routes answer, on the same port and a new pipe every time.
        let mut over_http = HttpTransport::new(&listen.to_string(), LIMIT);
        assert_eq!(proto_ver(&mut over_http).await, 1);
        let (reader, writer) = tokio::io::split(pipes.recv().await.unwrap());
        let mut over_console = ConsoleTransport::new(reader, writer, "test pipe", LIMIT);
        assert_eq!(proto_ver(&mut over_console).await, 1);

        if round == 1 {
            agent.shutdown().await;
            continue;
        }
        // The second time, a phone provisions by SmartConfig: joined, acknowledged, stored,
        // and the agent stops.
        let request = SendRequest::new(Protocol::EspTouch, "HomeNet", "correct-horse");
        let config = SenderConfig {
            target: Some(data),
            ack_listen: Some(reply),
            gap: Some(Duration::from_micros(300)),
            timeout: Some(LIMIT),
            ..SenderConfig::default()
        };
        let devices = bounded("SmartConfig", send(&request, config))
            .await
            .unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].mac, Some([0x02, 0, 0, 0, 0, 1]));
        let end = bounded("the end", agent.run_until(std::future::pending())).await;
        assert_eq!(end, AgentEnd::Stopped);
        assert_eq!(store.load().unwrap().unwrap().ssid, b"HomeNet");
    }
    // Everything was released: the ports can be bound again.
    std::net::TcpListener::bind(listen).unwrap();
    std::net::UdpSocket::bind(data).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_that_cannot_start_stops_the_others_and_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap();
    let first = Arc::new(HttpRoute::new("127.0.0.1:0".parse().unwrap()));
    let err = builder(None)
        .route(first.clone())
        .route(HttpRoute::new(busy))
        .start()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("the HTTP route"), "{text}");
    assert!(
        matches!(
            err,
            wifiprov_agent::AgentError::Route {
                error: wifiprov_agent::RouteError::Bind(_),
                ..
            }
        ),
        "{err:?}"
    );

    // The same failure on an optional route is only reported.
    let agent = builder(None)
        .route(first)
        .optional_route(HttpRoute::new(busy))
        .start()
        .await
        .unwrap();
    assert_eq!(agent.route_names(), ["HTTP"]);
    agent.shutdown().await;

    // Routes were given, none started: no agent.
    let err = builder(None)
        .optional_route(HttpRoute::new(busy))
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(err, wifiprov_agent::AgentError::NoRoute),
        "{err:?}"
    );
}
