//! The daemon's fallback provisioning routes follow the access point: the known network goes
//! off the air, the access point comes up with the routes (HTTP and SmartConfig, on fixed
//! ports); the network returns, everything goes down; it goes away again, and the same route
//! values serve again on the same ports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocomm::{Secret, Security};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use wifi_manager::daemon::{DaemonConfig, Fallback, run};
use wifiprov_agent::{HttpRoute, Route, SmartConfigRoute};
use wifiprov_transport::http_client::HttpClient;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_routes_come_up_with_every_access_point() {
    let dir = tempfile::tempdir().unwrap();
    let networks = dir.path().join("networks.json");
    std::fs::write(
        &networks,
        serde_json::to_string_pretty(&json!({
            "schema": 2,
            "known_networks": [{"ssid": "HomeNet", "password": "correct-horse"}],
            "access_point": {"config": {"essid": "setup"}, "start_policy": "fallback"}
        }))
        .unwrap(),
    )
    .unwrap();
    let control = dir.path().join("manager.sock");
    let http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let udp = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let routes: Vec<Arc<dyn Route>> = vec![
        Arc::new(HttpRoute::new(http)),
        Arc::new(SmartConfigRoute::udp(udp)),
    ];
    let sim = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let config = DaemonConfig {
        networks,
        interval: Duration::from_secs(1),
        once: false,
        control: Some(control.clone()),
        provisioning: Some(Fallback {
            security: Security::Sec1 {
                pop: Some(Secret::from("abcd1234")),
            },
            routes,
            address: None,
        }),
        remote_console: None,
        state_dir: dir.path().join("state"),
        events: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(config, sim.clone(), async move {
        let _ = stopped.await;
    }));

    let deadline = Instant::now() + Duration::from_secs(20);
    while !control.exists() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stream = UnixStream::connect(&control).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut events = BufReader::new(read).lines();
    write.write_all(b"{\"cmd\":\"events\"}\n").await.unwrap();
    assert_eq!(events.next_line().await.unwrap().unwrap(), r#"{"ok":true}"#);
    let mut next = async |name: &str| loop {
        let line = tokio::time::timeout(Duration::from_secs(30), events.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {name:?} event"))
            .unwrap()
            .unwrap();
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["event"] == name {
            return event;
        }
    };

    assert_eq!(next("connected").await["ssid"], "HomeNet");
    for round in 1..=2 {
        assert!(sim.set_network_visible("HomeNet", false));
        let up = next("provisioning").await;
        assert_eq!(up["address"], http.to_string(), "round {round}: {up}");
        assert_eq!(
            up["routes"],
            json!([
                format!("http://{http}"),
                format!("SmartConfig on udp {udp}")
            ]),
            "round {round}"
        );
        assert!(sim.access_point().is_some());
        // The HTTP route answers; the SmartConfig route holds its port.
        let mut client = HttpClient::new(&http.to_string(), Duration::from_secs(10));
        let version = client.post("proto-ver", b"---").await.unwrap();
        assert_eq!(protocomm::PeerVersion::parse(&version).security(), 1);
        assert!(std::net::UdpSocket::bind(udp).is_err(), "round {round}");

        assert!(sim.set_network_visible("HomeNet", true));
        assert_eq!(next("connected").await["ssid"], "HomeNet");
        next("ap_down").await;
        assert!(sim.access_point().is_none());
        // Down with the access point: both ports are free.
        drop(std::net::TcpListener::bind(http).unwrap());
        drop(std::net::UdpSocket::bind(udp).unwrap());
    }

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), daemon)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
