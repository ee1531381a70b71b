//! Sender ⇄ receiver over loopback UDP, acknowledgement included, for each protocol: the
//! phone-role [`Sender`] sends to a [`UdpSource`], the sans-I/O receiver decodes, and the
//! device-role [`send_ack`] answers on the sender's reply port.
#![cfg(feature = "net")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use smartconfig::net::{
    AckConfig, AckRequest, Device, SendProgress, SendRequest, Sender, SenderConfig, UdpSource,
    send_ack,
};
use smartconfig::receiver::{Event, Received, Receiver, ReceiverConfig};
use smartconfig::{Protocol, ScType, Secret};

const MAC: [u8; 6] = [0x24, 0x0a, 0xc4, 0x9a, 0x58, 0x01];
const DEVICE_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 7, 42);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn any_loopback() -> SocketAddr {
    SocketAddr::new(LOOPBACK, 0)
}

/// Acknowledgement settings aimed at a sender listening on `reply_port` of loopback.
fn ack_config(reply_port: u16) -> AckConfig {
    AckConfig {
        rounds: 5,
        interval: Duration::from_millis(20),
        delay: Duration::from_millis(10),
        broadcast: Some(LOOPBACK),
        esptouch_port: reply_port,
        v2_port: Some(reply_port),
        airkiss_port: reply_port,
        airkiss_listen: any_loopback(),
        ..AckConfig::default()
    }
}

/// Reads the source until the receiver delivers.
async fn receive(source: &mut UdpSource, sc_type: ScType, key: Option<[u8; 16]>) -> Received {
    let mut config = ReceiverConfig::new(sc_type);
    if let Some(key) = key {
        config = config.with_aes_key(key);
    }
    let mut receiver = Receiver::new(config);
    loop {
        let (observation, _) = source.recv().await.unwrap();
        if let Some(Event::Done(received)) = receiver.push(&observation) {
            return *received;
        }
    }
}

struct Run {
    received: Received,
    devices: Vec<Device>,
    report: smartconfig::net::AckReport,
    progress: Vec<SendProgress>,
    /// The phone's reply port.
    reply_port: u16,
}

/// Sends `request` to a fresh UDP source, decodes it as `sc_type` and acknowledges with
/// `ack` (its reply port is filled in); `handshake` hands the source's socket to the
/// AirKiss acknowledgement.
async fn run(
    request: SendRequest,
    sc_type: ScType,
    key: Option<[u8; 16]>,
    ack: impl FnOnce(u16) -> AckConfig,
    handshake: bool,
) -> Run {
    let mut source = UdpSource::bind(any_loopback()).await.unwrap();
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let sender = Sender::bind(
        &request,
        SenderConfig {
            target: Some(source.local_addr().unwrap()),
            ack_listen: Some(any_loopback()),
            timeout: Some(Duration::from_secs(30)),
            gap: Some(Duration::from_micros(300)),
            progress: Some(progress_tx),
            ..SenderConfig::default()
        },
    )
    .await
    .unwrap();
    let reply_port = sender.ack_addr().unwrap().port();
    assert_ne!(reply_port, 0);
    let sending = tokio::spawn(sender.run());

    let received = receive(&mut source, sc_type, key).await;
    let request = AckRequest {
        protocol: received.protocol(),
        token: received.decoded.token,
        phone_ip: received.decoded.phone_ip,
        mac: MAC,
        ip: DEVICE_IP,
    };
    let socket = handshake.then(|| source.into_inner());
    let report = send_ack(&request, &ack(reply_port), socket).await.unwrap();
    let devices = tokio::time::timeout(Duration::from_secs(10), sending)
        .await
        .expect("the sender stops on the acknowledgement")
        .unwrap()
        .unwrap();
    let mut progress = Vec::new();
    while let Ok(event) = progress_rx.try_recv() {
        progress.push(event);
    }
    Run {
        received,
        devices,
        report,
        progress,
        reply_port,
    }
}

fn assert_sent_and_found(run: &Run, ip: IpAddr) {
    assert_eq!(run.devices.len(), 1, "{:?}", run.devices);
    let device = run.devices[0];
    assert_eq!(device.mac, Some(MAC));
    assert_eq!(device.ip, ip);
    assert!(
        run.report.sent > 0 && run.report.rounds == 5,
        "{:?}",
        run.report
    );
    assert!(
        run.progress
            .iter()
            .any(|p| matches!(p, SendProgress::Sending { datagrams, .. } if *datagrams > 0)),
        "{:?}",
        run.progress
    );
    assert!(run.progress.contains(&SendProgress::Device(device)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esptouch_v1_end_to_end() {
    let mut request = SendRequest::new(Protocol::EspTouch, "HomeNet", "correct-horse");
    request.bssid = Some([0x78, 0x8a, 0x20, 0x84, 0x19, 0x96]);
    let run = run(request, ScType::EspTouchAirKiss, None, ack_config, false).await;
    let d = &run.received.decoded;
    assert_eq!(d.protocol, Protocol::EspTouch);
    assert_eq!(d.ssid.as_deref(), Some(&b"HomeNet"[..]));
    assert_eq!(d.password.expose(), b"correct-horse");
    assert_eq!(d.bssid, Some([0x78, 0x8a, 0x20, 0x84, 0x19, 0x96]));
    assert_eq!(d.token, 9 + 7 + 13);
    // The phone announced the address it sends from; the device answers there.
    assert_eq!(d.phone_ip, Some(LOOPBACK));
    assert_eq!(d.offset, 0);
    // v1 replies carry the device's own address in the payload.
    assert_sent_and_found(&run, IpAddr::V4(DEVICE_IP));
    // Unicast to the phone and the broadcast copy coincide on loopback.
    assert_eq!(
        run.report.targets,
        [SocketAddr::new(LOOPBACK, run.reply_port)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esptouch_v2_end_to_end_with_aes_and_reserved_data() {
    let key = *b"0123456789abcdef";
    let mut request = SendRequest::new(Protocol::EspTouchV2, "Café-5G", "pässwörd");
    request.reserved = vec![0x00, 0x01, 0xfe, 0xff];
    request.aes_key = Some(Secret::new(key.to_vec()));
    request.v2_random_iv = true;
    let run = run(request, ScType::EspTouchV2, Some(key), ack_config, false).await;
    let d = &run.received.decoded;
    assert_eq!(d.protocol, Protocol::EspTouchV2);
    assert_eq!(run.received.ssid(), "Café-5G".as_bytes());
    assert_eq!(d.password.expose(), "pässwörd".as_bytes());
    assert_eq!(d.reserved, [0x00, 0x01, 0xfe, 0xff]);
    // Bound to an ephemeral reply port, the sender announces mark 0.
    assert_eq!(d.token, 0);
    // v2 replies name the device by their source address.
    assert_sent_and_found(&run, LOOPBACK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airkiss_end_to_end_through_the_handshake() {
    let request = SendRequest::new(Protocol::AirKiss, "Office", "12345678");
    // No broadcast at all: the reply can only reach the phone through the address learnt
    // from its datagram on the device's AirKiss port (the handed-over source socket).
    let ack = |port| AckConfig {
        broadcast: None,
        airkiss_broadcast_fallback: false,
        ..ack_config(port)
    };
    let run = run(request, ScType::EspTouchAirKiss, None, ack, true).await;
    let d = &run.received.decoded;
    assert_eq!(d.protocol, Protocol::AirKiss);
    assert_eq!(run.received.ssid(), b"Office");
    assert_eq!(d.password.expose(), b"12345678");
    let phone = run
        .report
        .airkiss_phone
        .expect("the phone was heard on the AirKiss port");
    assert_eq!(phone.ip(), LOOPBACK);
    assert_eq!(
        run.report.targets,
        [SocketAddr::new(LOOPBACK, run.reply_port)]
    );
    assert_sent_and_found(&run, LOOPBACK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airkiss_with_a_key_falls_back_to_broadcast_when_the_phone_is_silent() {
    let key = smartconfig::airkiss::key_from_bytes(b"secret").unwrap();
    let mut request = SendRequest::new(Protocol::AirKiss, "Office", "12345678");
    request.aes_key = Some(Secret::new(b"secret".to_vec()));
    // The device waits on a port nobody sends to: nothing arrives, so (unlike ESP-IDF) it
    // broadcasts, which on loopback reaches the phone.
    let ack = |port| AckConfig {
        airkiss_wait: Duration::from_millis(100),
        ..ack_config(port)
    };
    let run = run(request, ScType::AirKiss, Some(key), ack, false).await;
    assert_eq!(run.received.decoded.password.expose(), b"12345678");
    assert_eq!(run.report.airkiss_phone, None);
    assert_sent_and_found(&run, LOOPBACK);
}

#[tokio::test]
async fn airkiss_like_esp_idf_sends_nothing_when_the_phone_is_silent() {
    let report = send_ack(
        &AckRequest {
            protocol: Protocol::AirKiss,
            token: 7,
            phone_ip: None,
            mac: MAC,
            ip: DEVICE_IP,
        },
        &AckConfig {
            airkiss_wait: Duration::from_millis(50),
            airkiss_broadcast_fallback: false,
            ..ack_config(9)
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.sent, 0);
    assert!(report.targets.is_empty());
    assert_eq!(report.airkiss_phone, None);
}

#[tokio::test]
async fn a_sender_without_replies_times_out() {
    let sink = tokio::net::UdpSocket::bind(any_loopback()).await.unwrap();
    let sender = Sender::bind(
        &SendRequest::new(Protocol::EspTouch, "HomeNet", "pw"),
        SenderConfig {
            target: Some(sink.local_addr().unwrap()),
            ack_listen: Some(any_loopback()),
            timeout: Some(Duration::from_millis(300)),
            gap: Some(Duration::from_millis(1)),
            ..SenderConfig::default()
        },
    )
    .await
    .unwrap();
    // Debug shows no lengths (they spell out the password).
    let debug = format!("{sender:?}");
    assert!(
        debug.contains("datagrams_per_pass") && !debug.contains("515"),
        "{debug}"
    );
    let err = sender.run().await.unwrap_err();
    match err {
        smartconfig::net::SendError::Timeout {
            datagrams, target, ..
        } => {
            assert!(datagrams > 10, "{datagrams}");
            assert_eq!(target, sink.local_addr().unwrap());
        }
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_devices_are_collected_and_deduplicated_by_mac() {
    let source = tokio::net::UdpSocket::bind(any_loopback()).await.unwrap();
    let mut request = SendRequest::new(Protocol::EspTouch, "HomeNet", "pw");
    request.bssid = Some([1, 2, 3, 4, 5, 6]);
    let sender = Sender::bind(
        &request,
        SenderConfig {
            target: Some(source.local_addr().unwrap()),
            ack_listen: Some(any_loopback()),
            timeout: Some(Duration::from_secs(20)),
            gap: Some(Duration::from_millis(2)),
            devices: 2,
            ..SenderConfig::default()
        },
    )
    .await
    .unwrap();
    let reply = SocketAddr::new(LOOPBACK, sender.ack_addr().unwrap().port());
    let sending = tokio::spawn(sender.run());
    let token = 9 + 7 + 2;
    let device = |mac: [u8; 6], ip: [u8; 4]| {
        let mut payload = vec![token];
        payload.extend_from_slice(&mac);
        payload.extend_from_slice(&ip);
        payload
    };
    let tx = tokio::net::UdpSocket::bind(any_loopback()).await.unwrap();
    // Noise, a wrong token, the first device twice, then a second device.
    tx.send_to(b"hello", reply).await.unwrap();
    let mut wrong = device([9; 6], [10, 0, 0, 9]);
    wrong[0] ^= 1;
    tx.send_to(&wrong, reply).await.unwrap();
    for _ in 0..3 {
        tx.send_to(&device([1; 6], [10, 0, 0, 1]), reply)
            .await
            .unwrap();
    }
    tx.send_to(&device([2; 6], [10, 0, 0, 2]), reply)
        .await
        .unwrap();
    let devices = sending.await.unwrap().unwrap();
    let found: Vec<_> = devices.iter().map(|d| (d.mac, d.ip)).collect();
    assert_eq!(
        found,
        [
            (Some([1; 6]), IpAddr::from([10, 0, 0, 1])),
            (Some([2; 6]), IpAddr::from([10, 0, 0, 2]))
        ]
    );
}

/// Sends one round of a v1 acknowledgement from a device whose station address is
/// `station` to a phone socket on 127.0.0.1; returns where the reply came from.
async fn v1_reply_source(station: Ipv4Addr) -> SocketAddr {
    let phone = tokio::net::UdpSocket::bind(any_loopback()).await.unwrap();
    let port = phone.local_addr().unwrap().port();
    let report = send_ack(
        &AckRequest {
            protocol: Protocol::EspTouch,
            token: 3,
            phone_ip: Some(LOOPBACK),
            mac: MAC,
            ip: station,
        },
        &AckConfig {
            rounds: 1,
            broadcast: None,
            ..ack_config(port)
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.sent, 1);
    let mut buffer = [0u8; 64];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), phone.recv_from(&mut buffer))
        .await
        .expect("the reply arrives")
        .unwrap();
    assert_eq!(n, 11);
    from
}

#[tokio::test]
async fn replies_leave_from_the_station_address() {
    // 127.0.0.2 is this host's (all of 127/8 is), but not the address the system would
    // choose towards 127.0.0.1: only a socket bound to it sends from it.
    let station = Ipv4Addr::new(127, 0, 0, 2);
    assert_eq!(v1_reply_source(station).await.ip(), IpAddr::V4(station));
    // A simulated link's address is not this host's: the reply still goes out.
    assert_eq!(v1_reply_source(DEVICE_IP).await.ip(), LOOPBACK);
}
