//! The live monitor path end to end: the MicroPython-style API listens on one end of a veth
//! pair (read as radiotap, since a veth announces Ethernet) through a [`MonitorSource`] whose
//! channel hopper records its channel changes instead of running `iw`; radiotap + 802.11
//! frames carrying an ESPTouch v1 message, then an AirKiss message, are injected on the other
//! end with a packet socket, the way a sniffer on the phone's channel would see them: both
//! copies of every datagram (the phone's to-DS QoS frame, with retries, and the access point's
//! from-DS relay), CCMP, sequence numbers, and other stations' group traffic in between.
//!
//! Checked: the hopper hops, stops on the channel of the frames once the guide pattern has
//! been seen, the message decodes (SSID, password, BSSID, phone address), the simulated
//! device joins, and the acknowledgement reaches the phone's socket.
//!
//! Needs root (a network namespace, raw sockets). Without root the test fails, unless
//! `WIFIPROV_ALLOW_SKIP=1` is set, in which case it prints SKIPPED. The part inside the
//! namespace is the same test started again through `ip netns exec` with an environment
//! variable naming the interfaces.
#![cfg(feature = "monitor")]
// Test helpers outside `#[test]` functions fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use smartconfig::api::{Outcome, Settings, SmartConfig, Status};
use smartconfig::frame::{DataFrameSpec, LinkType, RadiotapSpec, Security, build_data_frame};
use smartconfig::monitor::MonitorError;
use smartconfig::net::capture::{MonitorOptions, MonitorSource};
use smartconfig::net::source::{ObservationSource, OpenSource};
use smartconfig::net::{AckConfig, AckReport};
use smartconfig::{Direction, Protocol, ScType, airkiss, esptouch_v1};
use tokio::runtime::Runtime;
mod monitor_support;

use monitor_support::Injector;
use wifiprov_testkit::child::{ChildTest, child_value};
use wifiprov_testkit::needs::Needs;
use wifiprov_testkit::netns::Netns;
use wifiprov_wifi::WifiBackend;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment, SimNetwork};

const CHILD_ENV: &str = "SMARTCONFIG_MONITOR_LISTEN_CHILD";
const MARKER: &str = "MONITOR-LISTEN-CHILD-OK";
const WAIT: Duration = Duration::from_secs(5);

/// The phone's address, on the injecting end of the veth pair (the v1 acknowledgement goes
/// there).
const PHONE_IP: Ipv4Addr = Ipv4Addr::new(10, 214, 0, 1);
const PHONE_NET: &str = "10.214.0.1/24";
const PHONE_BROADCAST: &str = "10.214.0.255";
/// The address the simulated device obtains when it joins.
const DEVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 214, 0, 77);
const DEVICE_MAC: [u8; 6] = [0x24, 0x0a, 0xc4, 0x00, 0x00, 0x42];

const PHONE: [u8; 6] = [0x3c, 0x28, 0x6d, 0x0a, 0x0b, 0x0c];
const OTHER_STATION: [u8; 6] = [0x3c, 0x28, 0x6d, 0x99, 0x88, 0x77];
const NEIGHBOUR_STATION: [u8; 6] = [0x6c, 0x72, 0x20, 0x01, 0x02, 0x03];
const NEIGHBOUR_AP: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const MCAST: [u8; 6] = [0x01, 0x00, 0x5e, 0x07, 0x07, 0x07];

const V1_SSID: &str = "Cafe Monitor";
const V1_PASSWORD: &str = "flat-white-42";
const V1_AP: [u8; 6] = [0x24, 0x0a, 0xc4, 0x01, 0x02, 0x03];
const V1_CHANNEL: u8 = 6;

const AK_SSID: &str = "Teahouse";
const AK_PASSWORD: &str = "oolong-2025";
const AK_AP: [u8; 6] = [0x24, 0x0a, 0xc4, 0x04, 0x05, 0x06];
const AK_CHANNEL: u8 = 11;
const AK_TOKEN: u8 = 0x5c;

/// The hopper's dwell time: a lock shows as no channel change for many dwell times.
const DWELL: Duration = Duration::from_millis(25);

#[test]
fn smartconfig_api_decodes_injected_frames_on_a_monitor_source() {
    let name = "smartconfig_api_decodes_injected_frames_on_a_monitor_source";
    if let Some(arg) = child_value(CHILD_ENV) {
        let (listen, inject) = arg.split_once(' ').expect("two interface names");
        in_namespace(listen, inject);
        return;
    }
    if !Needs::new(name)
        .root()
        .program("ip", &["netns", "list"])
        .ok()
    {
        return;
    }
    let pid = std::process::id();
    let ns = Netns::create(format!("sclisten{pid}"));
    let (listen, inject) = (format!("scl{pid}a"), format!("scl{pid}b"));
    ns.veth_pair(&listen, &inject);
    ns.add_address(&inject, PHONE_NET);
    ChildTest::new(name, CHILD_ENV, format!("{listen} {inject}"))
        .prefix(&ns.exec_prefix())
        .run(MARKER);
}

/// What a sniffer on the access point's channel sees while the phone sends datagrams of
/// given lengths, with the sequence counters of every transmitter kept across calls.
struct Air {
    ap: [u8; 6],
    channel: u8,
    phone_seq: u16,
    ap_seq: u16,
    other_seq: u16,
    neighbour_seq: u16,
    datagrams: usize,
    retries: usize,
    rng: ChaCha8Rng,
}

impl Air {
    fn new(ap: [u8; 6], channel: u8, seed: u64) -> Air {
        Air {
            ap,
            channel,
            phone_seq: 100,
            ap_seq: 3000,
            other_seq: 7,
            neighbour_seq: 2000,
            datagrams: 0,
            retries: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn radiotap(&mut self) -> Option<RadiotapSpec> {
        Some(RadiotapSpec {
            channel: Some(self.channel),
            signal_dbm: Some(-40 - (self.rng.next_u32() % 30) as i8),
            ..RadiotapSpec::default()
        })
    }

    fn next_seq(seq: &mut u16) -> u16 {
        let now = *seq;
        *seq = (*seq + 1) & 0x0fff;
        now
    }

    /// The phone's to-DS QoS frame (sometimes retried), then the access point's from-DS
    /// relay, of every datagram; another station's broadcast through the same access point
    /// after every third datagram and a neighbouring network's after every eleventh.
    fn frames(&mut self, lengths: &[u16]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for &len in lengths {
            let up = DataFrameSpec {
                direction: Direction::ToDs,
                qos: true,
                bssid: self.ap,
                source: PHONE,
                destination: MCAST,
                seq: Self::next_seq(&mut self.phone_seq),
                security: Security::Ccmp,
                udp_payload_len: len,
                radiotap: self.radiotap(),
                ..DataFrameSpec::default()
            };
            out.push(build_data_frame(&up));
            if self.datagrams % 7 == 3 {
                // The phone did not hear the access point's ACK: the same frame again.
                out.push(build_data_frame(&DataFrameSpec { retry: true, ..up }));
                self.retries += 1;
            }
            let down = DataFrameSpec {
                direction: Direction::FromDs,
                bssid: self.ap,
                source: PHONE,
                destination: MCAST,
                seq: Self::next_seq(&mut self.ap_seq),
                security: Security::Ccmp,
                udp_payload_len: len,
                fcs: true,
                radiotap: self.radiotap(),
                ..DataFrameSpec::default()
            };
            out.push(build_data_frame(&down));
            if self.datagrams % 3 == 1 {
                let other_len = 40 + (self.rng.next_u32() % 1100) as u16;
                let other = DataFrameSpec {
                    direction: Direction::ToDs,
                    bssid: self.ap,
                    source: OTHER_STATION,
                    destination: [0xff; 6],
                    seq: Self::next_seq(&mut self.other_seq),
                    security: Security::Ccmp,
                    udp_payload_len: other_len,
                    radiotap: self.radiotap(),
                    ..DataFrameSpec::default()
                };
                out.push(build_data_frame(&other));
                out.push(build_data_frame(&DataFrameSpec {
                    direction: Direction::FromDs,
                    seq: Self::next_seq(&mut self.ap_seq),
                    fcs: true,
                    ..other
                }));
            }
            if self.datagrams % 11 == 5 {
                let neighbour = DataFrameSpec {
                    direction: Direction::FromDs,
                    bssid: NEIGHBOUR_AP,
                    source: NEIGHBOUR_STATION,
                    destination: [0xff; 6],
                    seq: Self::next_seq(&mut self.neighbour_seq),
                    security: Security::Tkip,
                    udp_payload_len: 20 + (self.rng.next_u32() % 600) as u16,
                    radiotap: self.radiotap(),
                    ..DataFrameSpec::default()
                };
                out.push(build_data_frame(&neighbour));
            }
            self.datagrams += 1;
        }
        out
    }
}

/// How many leading lengths are whole repetitions of `guide`.
fn guide_prefix(lengths: &[u16], guide: &[u16]) -> usize {
    lengths
        .chunks(guide.len())
        .take_while(|chunk| *chunk == guide)
        .count()
        * guide.len()
}

/// The channels the hopper of the current run asked for, in order.
type Calls = Arc<Mutex<Vec<u8>>>;

/// Opens a [`MonitorSource`] on `ifname` for every `start()`: radiotap forced, channels 1..=13
/// hopped by a setter that records each channel (and the interface it was asked to tune).
fn opener(ifname: String, calls: Calls) -> OpenSource {
    Arc::new(move || {
        let ifname = ifname.clone();
        let calls = Arc::clone(&calls);
        Box::pin(async move {
            calls.lock().unwrap().clear();
            let expected = ifname.clone();
            let setter = move |tuned: &str, channel: u8| -> Result<(), MonitorError> {
                if tuned != expected {
                    // Not recorded: the waits for hopping and for the lock then fail.
                    return Err(MonitorError::InterfaceMissing(tuned.to_owned()));
                }
                calls.lock().unwrap().push(channel);
                Ok(())
            };
            let options = MonitorOptions {
                channels: (1..=13).collect(),
                dwell: DWELL,
                link_type: Some(LinkType::Radiotap),
                station: None,
            };
            let source = MonitorSource::open_with_setter(&ifname, &options, setter)?;
            Ok(Box::new(source) as Box<dyn ObservationSource>)
        })
    })
}

/// Waits until the recorded channels satisfy `done`.
fn wait_for_calls(calls: &Calls, what: &str, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = calls.lock().unwrap().clone();
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: channels {now:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sim() -> Arc<SimBackend> {
    let network = |ssid: &str, password: &str, bssid: [u8; 6], channel: u8| {
        let mut net = SimNetwork::from_spec(&format!("{ssid}:{password}")).unwrap();
        net.bssid = wifiprov_wifi::Bssid(bssid);
        net.channel = channel;
        net.connect_latency_ms = 20;
        net.ip = Some(DEVICE_IP);
        net
    };
    Arc::new(SimBackend::new(SimEnvironment {
        seed: 3,
        networks: vec![
            network(V1_SSID, V1_PASSWORD, V1_AP, V1_CHANNEL),
            network(AK_SSID, AK_PASSWORD, AK_AP, AK_CHANNEL),
        ],
        search_ms: 20,
    }))
}

fn settings(phone_port: u16, broadcast: Option<IpAddr>) -> Settings {
    Settings {
        aes_key: None,
        mac: DEVICE_MAC,
        ack: AckConfig {
            rounds: 2,
            interval: Duration::from_millis(10),
            delay: Duration::ZERO,
            broadcast,
            esptouch_port: phone_port,
            airkiss_port: phone_port,
            airkiss_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            airkiss_wait: Duration::from_millis(50),
            ..AckConfig::default()
        },
    }
}

/// One run of the API: start, check that the hopper hops, inject the guide part, check that
/// the hopper stays on `channel`, inject the rest, wait for the run to finish.
fn listen_and_inject(
    rt: &Runtime,
    sc: &SmartConfig,
    calls: &Calls,
    injector: &mut Injector,
    air: &mut Air,
    lengths: &[u16],
    guide_len: usize,
) -> (Status, Vec<u8>) {
    rt.block_on(sc.start()).unwrap();
    assert_eq!(sc.status(), Status::Listening);
    let hopping = wait_for_calls(calls, "the hopper did not hop", |c| c.len() >= 3);
    assert_eq!(&hopping[..3], &[1, 2, 3], "channels 1..=13 in order");

    let channel = air.channel;
    let (guide, rest) = lengths.split_at(guide_len);
    injector.send_all(&air.frames(guide));
    let locked = wait_for_calls(
        calls,
        "the hopper did not stop on the guide's channel",
        |c| c.last() == Some(&channel),
    );
    // Locked: many dwell times pass without another channel change.
    std::thread::sleep(DWELL * 12);
    let after = calls.lock().unwrap().clone();
    assert_eq!(after, locked, "the hopper went on hopping after the lock");
    assert_eq!(sc.status(), Status::Listening, "nothing decoded yet");

    injector.send_all(&air.frames(rest));
    let status = rt
        .block_on(async { tokio::time::timeout(WAIT, sc.wait_finished()).await })
        .unwrap_or_else(|_| panic!("no result; status {:?}", sc.status()));
    (status, after)
}

fn acknowledged(status: &Status) -> AckReport {
    match status {
        Status::Finished(Outcome::Acknowledged { link, ack }) => {
            assert_eq!(link.ip, DEVICE_IP);
            ack.clone()
        }
        other => panic!("the run did not end acknowledged: {other:?}"),
    }
}

fn next_datagram(rt: &Runtime, socket: &tokio::net::UdpSocket) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let (n, _) = rt
        .block_on(async { tokio::time::timeout(WAIT, socket.recv_from(&mut buf)).await })
        .expect("an acknowledgement")
        .unwrap();
    buf[..n].to_vec()
}

/// The test body inside the namespace: the API listens on `listen`, frames go out of
/// `inject`.
fn in_namespace(listen: &str, inject: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let phone = rt
        .block_on(tokio::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)))
        .unwrap();
    let phone_port = phone.local_addr().unwrap().port();
    let calls: Calls = Arc::default();
    let wifi = sim();
    let sc = SmartConfig::new(
        Arc::clone(&wifi) as Arc<dyn WifiBackend>,
        opener(listen.to_owned(), Arc::clone(&calls)),
    );
    let mut injector = Injector::new(inject, &PHONE_IP.to_string(), PHONE_BROADCAST);

    // ESPTouch v1 on channel 6. No broadcast copy: the acknowledgement can only reach the
    // phone at the address carried in the message.
    sc.set_settings(settings(phone_port, None));
    let params = esptouch_v1::Params::new(V1_SSID, V1_PASSWORD, V1_AP, PHONE_IP.octets());
    let encoded = esptouch_v1::encode(&params).unwrap();
    let lengths: Vec<u16> = encoded.schedule().iter().map(|t| t.length).collect();
    let guide_len = guide_prefix(&lengths, &encoded.guide);
    assert_eq!(
        guide_len,
        4 * esptouch_v1::GUIDE_QUARTETS_PER_PERIOD as usize
    );
    let mut air = Air::new(V1_AP, V1_CHANNEL, 1);
    let (status, channels) = listen_and_inject(
        &rt,
        &sc,
        &calls,
        &mut injector,
        &mut air,
        &lengths,
        guide_len,
    );
    assert!(air.retries > 0);
    let ack = acknowledged(&status);
    let phone_addr = SocketAddr::new(IpAddr::V4(PHONE_IP), phone_port);
    assert_eq!(ack.targets, [phone_addr]);
    assert_eq!((ack.rounds, ack.sent, ack.failed), (2, 2, 0));
    assert!(sc.done());
    let info = sc.info();
    assert_eq!(info.ssid, V1_SSID);
    assert_eq!(info.password.expose(), V1_PASSWORD.as_bytes());
    assert_eq!(info.bssid, V1_AP);
    assert_eq!(info.sc_type, 0);
    assert_eq!(sc.type_(), ScType::EspTouch);
    let result = sc.result().unwrap();
    assert_eq!(result.protocol(), Protocol::EspTouch);
    assert_eq!(result.decoded.phone_ip, Some(IpAddr::V4(PHONE_IP)));
    assert_eq!(result.decoded.token, encoded.token);
    assert_eq!(result.channel, Some(V1_CHANNEL));
    assert_eq!(result.link.channel, Some(V1_CHANNEL));
    assert_eq!(result.link.source, PHONE);
    assert_eq!(result.link.bssid, V1_AP);
    // The phone's to-DS copy of a datagram goes first, so its link completes the guide
    // first: QoS + CCMP is 82 bytes more than the UDP payload.
    assert_eq!(result.link.direction, Direction::ToDs);
    assert_eq!(result.decoded.offset, 82);
    assert_eq!(wifi.connect_attempts(), 1);
    // The acknowledgement, once per round: T, the device's MAC and the address it obtained.
    for _ in 0..ack.sent {
        let reply = next_datagram(&rt, &phone);
        assert_eq!(
            esptouch_v1::parse_ack(&reply, encoded.token),
            Some((DEVICE_MAC, DEVICE_IP))
        );
    }
    println!("v1: {} frames, hopper channels {channels:?}", injector.sent);

    // AirKiss on channel 11 through the same API handle: a fresh source, a fresh hopper.
    // Its acknowledgement is broadcast (no datagram from the phone on the AirKiss port).
    sc.set_settings(settings(phone_port, Some(IpAddr::V4(Ipv4Addr::LOCALHOST))));
    sc.set_type(ScType::AirKiss);
    let encoded = airkiss::encode(&airkiss::Params::new(AK_SSID, AK_PASSWORD, AK_TOKEN)).unwrap();
    let lengths: Vec<u16> = encoded.schedule().iter().map(|t| t.length).collect();
    let guide_len = guide_prefix(&lengths, &[1, 2, 3, 4]);
    assert_eq!(guide_len, 4 * airkiss::LEADING_REPEATS);
    // The guide, the magic code and four of the period's fifteen prefix + blocks rounds (the
    // decoder takes a block once it has seen it at least twice, some blocks three times).
    let magic_len = 4 * airkiss::MAGIC_REPEATS;
    let once = 4 + encoded.data_lengths().len();
    let lengths = &lengths[..guide_len + magic_len + 4 * once];
    let mut air = Air::new(AK_AP, AK_CHANNEL, 2);
    let sent_before = injector.sent;
    let (status, channels) = listen_and_inject(
        &rt,
        &sc,
        &calls,
        &mut injector,
        &mut air,
        lengths,
        guide_len,
    );
    let ack = acknowledged(&status);
    assert_eq!(ack.airkiss_phone, None);
    assert_eq!(
        ack.targets,
        [SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), phone_port)]
    );
    let info = sc.info();
    assert_eq!(info.ssid, AK_SSID);
    assert_eq!(info.password.expose(), AK_PASSWORD.as_bytes());
    // AirKiss carries no BSSID: the link's is used, and the device joined that access point.
    assert_eq!(info.bssid, AK_AP);
    assert_eq!(info.sc_type, 1);
    let result = sc.result().unwrap();
    assert_eq!(result.protocol(), Protocol::AirKiss);
    assert_eq!(result.decoded.token, AK_TOKEN);
    assert_eq!(result.channel, Some(AK_CHANNEL));
    assert_eq!(result.link.direction, Direction::ToDs);
    assert_eq!(wifi.connect_attempts(), 2);
    let reply = next_datagram(&rt, &phone);
    assert_eq!(airkiss::parse_ack(&reply, AK_TOKEN), Some(Some(DEVICE_MAC)));
    println!(
        "airkiss: {} frames, hopper channels {channels:?}",
        injector.sent - sent_before
    );
    println!("{MARKER}");
}
