//! The MicroPython-style API (spec §7, generation A) on the Wi-Fi simulator: type() before
//! and after a result, start() twice, stop(), done() after the acknowledgement and after a
//! failed join, and what info() returns.
#![cfg(feature = "net")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smartconfig::api::{Outcome, Settings, SmartConfig, Status};
use smartconfig::net::source::{ObservationSource, OpenSource, SourceError, open_replay, open_udp};
use smartconfig::net::{AckConfig, SendRequest, encode_schedule};
use smartconfig::{Observation, Protocol, ScType};
use tokio::net::UdpSocket;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment, SimNetwork};
use wifiprov_wifi::{BoxFuture, Credentials, WifiBackend};

const MAC: [u8; 6] = [0x24, 0x0a, 0xc4, 0x00, 0x00, 0x07];
const SSID: &str = "HomeNet";
const PASSWORD: &str = "correct-horse";
const DEVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 2, 3);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn network(ssid: &str, password: &str) -> SimNetwork {
    let mut net = SimNetwork::from_spec(&format!("{ssid}:{password}")).unwrap();
    net.connect_latency_ms = 20;
    net.ip = Some(DEVICE_IP);
    net
}

fn sim() -> Arc<SimBackend> {
    Arc::new(SimBackend::new(SimEnvironment {
        seed: 0,
        networks: vec![network(SSID, PASSWORD), network("Other", "other-pass")],
        search_ms: 20,
    }))
}

/// Observations of three passes of `request`'s schedule, from one phone.
fn observations(request: &SendRequest) -> Vec<Observation> {
    let schedule = encode_schedule(request, 0, Ipv4Addr::LOCALHOST).unwrap();
    (0..3)
        .flat_map(|_| schedule.iter())
        .enumerate()
        .map(|(i, t)| Observation::direct(i as u64 * 1000, [127, 0, 0, 1, 0x1f, 0x90], t.length))
        .collect()
}

/// A phone-side socket that collects acknowledgements, and settings aimed at it.
async fn phone() -> (UdpSocket, Settings) {
    let socket = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let settings = Settings {
        aes_key: None,
        mac: MAC,
        ack: AckConfig {
            rounds: 3,
            interval: Duration::from_millis(10),
            delay: Duration::ZERO,
            broadcast: Some(LOOPBACK),
            esptouch_port: port,
            v2_port: Some(port),
            airkiss_port: port,
            airkiss_listen: SocketAddr::new(LOOPBACK, 0),
            airkiss_wait: Duration::from_millis(50),
            airkiss_broadcast_fallback: true,
        },
    };
    (socket, settings)
}

async fn next_ack(socket: &UdpSocket) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let (n, _) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buf))
        .await
        .expect("an acknowledgement")
        .unwrap();
    buf[..n].to_vec()
}

fn replay(request: &SendRequest) -> OpenSource {
    open_replay("replay", observations(request))
}

fn smartconfig(wifi: Arc<SimBackend>, open: OpenSource, settings: Settings) -> SmartConfig {
    let sc = SmartConfig::new(wifi as Arc<dyn WifiBackend>, open);
    sc.set_settings(settings);
    sc
}

#[tokio::test]
async fn type_defaults_and_overrides() {
    let sc = SmartConfig::new(sim(), open_replay("empty", Vec::new()));
    assert_eq!(sc.type_(), ScType::EspTouchAirKiss);
    assert_eq!(sc.status(), Status::Idle);
    sc.set_type(ScType::EspTouchV2);
    assert_eq!(sc.type_(), ScType::EspTouchV2);
    sc.set_type_number(1);
    assert_eq!(sc.type_(), ScType::AirKiss);
    // Out of range: the combined type, as MicroPython does.
    sc.set_type_number(42);
    assert_eq!(sc.type_(), ScType::EspTouchAirKiss);
    sc.set_type_number(-1);
    assert_eq!(sc.type_(), ScType::EspTouchAirKiss);
    // Before any result everything is empty.
    let info = sc.info();
    assert_eq!(info.ssid, "");
    assert!(info.password.is_empty());
    assert_eq!(info.bssid, [0; 6]);
    assert_eq!(info.sc_type, 2);
    assert_eq!(info.reserved, None);
    assert!(!sc.done());
    assert!(sc.rvd_data().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_success_acknowledges_and_reports_the_received_type() {
    let (phone, settings) = phone().await;
    let wifi = sim();
    let bssid = SimNetwork::derived_bssid(SSID.as_bytes()).0;
    let mut request = SendRequest::new(Protocol::EspTouch, SSID, PASSWORD);
    request.bssid = Some(bssid);
    let sc = smartconfig(wifi.clone(), replay(&request), settings);
    let sunk: Arc<Mutex<Vec<Credentials>>> = Arc::default();
    let sink = sunk.clone();
    sc.on_credentials(Arc::new(move |c| sink.lock().unwrap().push(c.clone())));

    sc.start().await.unwrap();
    let status = sc.wait_finished().await;
    let Status::Finished(Outcome::Acknowledged { link, ack }) = &status else {
        panic!("{status:?}");
    };
    assert!(sc.done());
    assert_eq!(link.ip, DEVICE_IP);
    assert_eq!(link.bssid.0, bssid);
    assert_eq!(ack.rounds, 3);
    // type() now reports what arrived, not the configured combination.
    assert_eq!(sc.type_(), ScType::EspTouch);
    let info = sc.info();
    assert_eq!(info.ssid, SSID);
    assert_eq!(info.password.expose(), PASSWORD.as_bytes());
    assert_eq!(info.bssid, bssid);
    assert_eq!(info.sc_type, 0);
    assert_eq!(info.reserved, None);
    assert_eq!(sc.ssid(), SSID);
    assert_eq!(sc.bssid(), bssid);

    // The ESPTouch v1 reply: T, MAC, the address the device obtained.
    let ack = next_ack(&phone).await;
    let mut expected = vec![(9 + SSID.len() + PASSWORD.len()) as u8];
    expected.extend_from_slice(&MAC);
    expected.extend_from_slice(&DEVICE_IP.octets());
    assert_eq!(ack, expected);

    // The credential sink got what was joined, BSSID pinned.
    let sunk = sunk.lock().unwrap();
    assert_eq!(sunk.len(), 1);
    assert_eq!(sunk[0].ssid, SSID.as_bytes());
    assert_eq!(sunk[0].passphrase.expose(), PASSWORD.as_bytes());
    assert_eq!(sunk[0].bssid.map(|b| b.0), Some(bssid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_received_type_is_what_the_next_start_listens_for() {
    let (_phone, settings) = phone().await;
    let v1 = observations(&SendRequest::new(Protocol::EspTouch, SSID, PASSWORD));
    let airkiss = observations(&SendRequest::new(Protocol::AirKiss, SSID, PASSWORD));
    // First run: v1; second run: the same source then carries only AirKiss.
    let runs = Arc::new(Mutex::new(vec![airkiss, v1]));
    let open: OpenSource = Arc::new(move || {
        let obs = runs.lock().unwrap().pop().unwrap_or_default();
        Box::pin(async move {
            Ok(
                Box::new(smartconfig::net::source::ReplaySource::new("replay", obs))
                    as Box<dyn ObservationSource>,
            )
        })
    });
    let sc = smartconfig(sim(), open, settings);
    sc.start().await.unwrap();
    assert!(matches!(
        sc.wait_finished().await,
        Status::Finished(Outcome::Acknowledged { .. })
    ));
    assert_eq!(sc.type_(), ScType::EspTouch);
    sc.start().await.unwrap();
    // start() cleared the result and done…
    assert!(!sc.done());
    assert_eq!(sc.result(), None);
    // …and, listening for ESPTouch only, the AirKiss message goes unnoticed.
    assert_eq!(
        sc.wait_finished().await,
        Status::Finished(Outcome::SourceEnded)
    );
    assert!(!sc.done());
    assert_eq!(sc.result(), None);
    assert_eq!(sc.ssid(), "");
    assert_eq!(sc.type_(), ScType::EspTouch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_join_also_sets_done() {
    let (_phone, settings) = phone().await;
    let request = SendRequest::new(Protocol::EspTouch, SSID, "wrong-password");
    let sc = smartconfig(sim(), replay(&request), settings);
    let sunk = Arc::new(Mutex::new(0));
    let sink = sunk.clone();
    sc.on_credentials(Arc::new(move |_| *sink.lock().unwrap() += 1));
    sc.start().await.unwrap();
    let status = sc.wait_finished().await;
    assert!(
        matches!(&status, Status::Finished(Outcome::ConnectFailed(e)) if e.is_auth_error()),
        "{status:?}"
    );
    // "Finished", not "succeeded", as MicroPython's done().
    assert!(sc.done());
    assert_eq!(sc.info().password.expose(), b"wrong-password");
    assert_eq!(
        *sunk.lock().unwrap(),
        0,
        "failed credentials are not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_bssid_that_is_not_on_the_air_fails_the_join() {
    let (_phone, settings) = phone().await;
    let mut request = SendRequest::new(Protocol::EspTouch, SSID, PASSWORD);
    request.bssid = Some([0x02, 0xde, 0xad, 0xbe, 0xef, 0x01]);
    let sc = smartconfig(sim(), replay(&request), settings);
    sc.start().await.unwrap();
    let status = sc.wait_finished().await;
    assert!(
        matches!(&status, Status::Finished(Outcome::ConnectFailed(e)) if e.is_network_not_found()),
        "{status:?}"
    );
    assert!(sc.done());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_cuts_at_nul_and_keeps_reserved_data_only_when_it_starts_non_zero() {
    let (phone, settings) = phone().await;
    // ESPTouch v2 carries any bytes: a NUL inside the password, reserved data with a NUL.
    let mut request = SendRequest::new(Protocol::EspTouchV2, SSID, "correct-horse\0staple");
    request.reserved = b"AB\0CD".to_vec();
    // The device joins with the password up to its NUL, as ESP-IDF's C strings do.
    let net = network(SSID, "correct-horse");
    let wifi = Arc::new(SimBackend::new(SimEnvironment {
        seed: 0,
        networks: vec![net],
        search_ms: 20,
    }));
    let sc = smartconfig(wifi, replay(&request), settings.clone());
    sc.set_type(ScType::EspTouchV2);
    sc.start().await.unwrap();
    assert!(matches!(
        sc.wait_finished().await,
        Status::Finished(Outcome::Acknowledged { .. })
    ));
    let info = sc.info();
    assert_eq!(info.password.expose(), b"correct-horse");
    assert_eq!(info.sc_type, 3);
    assert_eq!(info.reserved.as_deref(), Some(&b"AB"[..]));
    assert_eq!(sc.rvd_data(), b"AB");
    // The whole message is still there.
    let result = sc.result().unwrap();
    assert_eq!(result.decoded.reserved, b"AB\0CD");
    assert_eq!(result.decoded.password.expose(), b"correct-horse\0staple");
    // The v2 reply: the port mark and the MAC.
    let ack = next_ack(&phone).await;
    assert_eq!(ack[0], 0);
    assert_eq!(ack[1..], MAC);

    // Reserved data starting with a zero byte: no fifth element.
    let mut request = SendRequest::new(Protocol::EspTouchV2, SSID, PASSWORD);
    request.reserved = vec![0, 1, 2];
    let sc = smartconfig(sim(), replay(&request), settings.clone());
    sc.set_type(ScType::EspTouchV2);
    sc.start().await.unwrap();
    sc.wait_finished().await;
    assert!(sc.done());
    assert_eq!(sc.info().reserved, None);
    assert!(sc.rvd_data().is_empty());

    // Long reserved data: generation A's buffer keeps 32 bytes.
    let mut request = SendRequest::new(Protocol::EspTouchV2, SSID, PASSWORD);
    request.reserved = (1..=60).collect();
    let sc = smartconfig(sim(), replay(&request), settings);
    sc.set_type(ScType::EspTouchV2);
    sc.start().await.unwrap();
    sc.wait_finished().await;
    assert_eq!(sc.rvd_data(), (1..=32).collect::<Vec<u8>>());
    assert_eq!(sc.info().reserved.map(|r| r.len()), Some(32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airkiss_without_the_phone_on_its_port_broadcasts_the_reply() {
    let (phone, settings) = phone().await;
    let request = SendRequest::new(Protocol::AirKiss, SSID, PASSWORD);
    let sc = smartconfig(sim(), replay(&request), settings);
    sc.start().await.unwrap();
    let status = sc.wait_finished().await;
    let Status::Finished(Outcome::Acknowledged { ack, .. }) = &status else {
        panic!("{status:?}");
    };
    assert_eq!(ack.airkiss_phone, None);
    assert_eq!(sc.type_(), ScType::AirKiss);
    let token = sc.result().unwrap().decoded.token;
    let reply = next_ack(&phone).await;
    assert_eq!(reply[0], token);
    assert_eq!(reply[1..], MAC);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_twice_and_stop() {
    let (_phone, settings) = phone().await;
    // A fixed port: the second start() can only bind it if the first run let go of it.
    let port = std::net::UdpSocket::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = SocketAddr::new(LOOPBACK, port);
    let sc = smartconfig(sim(), open_udp(addr), settings);
    sc.start().await.unwrap();
    assert_eq!(sc.status(), Status::Listening);
    assert_eq!(sc.source_addr(), Some(addr));
    sc.start().await.unwrap();
    assert_eq!(sc.status(), Status::Listening);
    assert_eq!(sc.source_addr(), Some(addr));
    assert!(!sc.done());

    sc.stop();
    assert_eq!(sc.status(), Status::Stopped);
    assert_eq!(sc.wait_finished().await, Status::Stopped);
    assert!(!sc.done());
    // Stopping twice is harmless; start() works again afterwards.
    sc.stop();
    sc.start().await.unwrap();
    assert_eq!(sc.status(), Status::Listening);
    sc.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_release_lets_another_receiver_bind_the_port() {
    let (_phone, settings) = phone().await;
    let port = std::net::UdpSocket::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = SocketAddr::new(LOOPBACK, port);
    // Each round a new receiver on the same port, as a provisioning route started again.
    for _ in 0..20 {
        let sc = smartconfig(sim(), open_udp(addr), settings.clone());
        sc.start().await.unwrap();
        assert_eq!(sc.source_addr(), Some(addr));
        sc.stop_and_release().await;
        assert_eq!(sc.status(), Status::Stopped);
        std::net::UdpSocket::bind(addr).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_cannot_be_opened_is_an_error() {
    let taken = std::net::UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let sc = SmartConfig::new(sim(), open_udp(taken.local_addr().unwrap()));
    let err = sc.start().await.unwrap_err();
    assert!(matches!(err, SourceError::Bind { .. }), "{err}");
    assert_eq!(sc.status(), Status::Idle);
}

/// A source that waits before replaying, so that the run's scan completes first.
struct Late {
    delay: Option<Duration>,
    inner: smartconfig::net::source::ReplaySource,
}

impl ObservationSource for Late {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Observation>, SourceError>> {
        Box::pin(async move {
            if let Some(delay) = self.delay {
                tokio::time::sleep(delay).await;
                self.delay = None;
            }
            self.inner.next().await
        })
    }

    fn describe(&self) -> String {
        "late replay".into()
    }
}

#[tokio::test(start_paused = true)]
async fn an_ssid_the_sender_left_out_comes_from_the_scan() {
    let (_phone, settings) = phone().await;
    let bssid = SimNetwork::derived_bssid(SSID.as_bytes()).0;
    let mut params = smartconfig::esptouch_v2::Params::new(SSID, PASSWORD, bssid);
    params.send_ssid = false;
    let encoded = smartconfig::esptouch_v2::encode(&params, &mut |b| b.fill(7)).unwrap();
    let observations: Vec<Observation> = (0..2)
        .flat_map(|_| encoded.lengths().iter())
        .enumerate()
        .map(|(i, len)| Observation::direct(i as u64, [1; 6], *len))
        .collect();
    let open: OpenSource = Arc::new(move || {
        let source = Late {
            delay: Some(Duration::from_secs(5)),
            inner: smartconfig::net::source::ReplaySource::new("late", observations.clone()),
        };
        Box::pin(async move { Ok(Box::new(source) as Box<dyn ObservationSource>) })
    });
    let sc = smartconfig(sim(), open, settings);
    sc.set_type(ScType::EspTouchV2);
    sc.start().await.unwrap();
    let status = sc.wait_finished().await;
    assert!(
        matches!(status, Status::Finished(Outcome::Acknowledged { .. })),
        "{status:?}"
    );
    let result = sc.result().unwrap();
    assert!(result.ssid_from_scan);
    assert_eq!(sc.ssid(), SSID);
}
