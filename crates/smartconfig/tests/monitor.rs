//! Live capture through a real packet socket: radiotap frames injected on one end of a veth
//! pair inside a private network namespace are captured on the other end.
//!
//! Needs root (network namespaces, raw sockets). Without root the tests fail, unless
//! `WIFIPROV_ALLOW_SKIP=1` is set, in which case they print SKIPPED.
//!
//! The parts that must run inside the namespace (or without CAP_NET_RAW) are the same tests
//! started again by themselves through `ip netns exec` (or `setpriv`), with an environment
//! variable that tells them to play the other side.
#![cfg(feature = "monitor")]
// Test helpers outside `#[test]` functions fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use smartconfig::frame::{DataFrameSpec, LinkType, RadiotapSpec, Security, build_data_frame};
use smartconfig::monitor::{AsyncCapture, Capture, CaptureOptions, ChannelTag, MonitorError};
use smartconfig::{Direction, Observation};
mod monitor_support;

use monitor_support::Injector;
use nix::net::if_::if_nametoindex;
use wifiprov_testkit::child::{ChildTest, child_value};
use wifiprov_testkit::needs::Needs;
use wifiprov_testkit::netns::Netns;

const CHILD_ENV: &str = "SMARTCONFIG_MONITOR_CHILD";
const MARKER: &str = "MONITOR-CHILD-OK";
const WAIT: Duration = Duration::from_secs(5);

#[test]
fn capture_from_veth_in_netns() {
    // Started again inside the namespace, the same test plays the capturing side.
    if let Some(arg) = child_value(CHILD_ENV) {
        netns_child_capture(&arg);
        return;
    }
    if !Needs::new("capture_from_veth_in_netns")
        .root()
        .program("ip", &["netns", "list"])
        .ok()
    {
        return;
    }
    let pid = std::process::id();
    let ns = Netns::create(format!("scmon{pid}"));
    let (a, b) = (format!("scm{pid}a"), format!("scm{pid}b"));
    ns.veth_pair(&a, &b);
    ns.add_address(&b, "10.213.0.1/24");
    let out = ChildTest::new("capture_from_veth_in_netns", CHILD_ENV, format!("{a} {b}"))
        .prefix(&ns.exec_prefix())
        .run(MARKER);
    assert!(String::from_utf8_lossy(&out.stdout).contains("observations 10"));
}

#[test]
fn capture_without_cap_net_raw_is_refused() {
    // Started again without CAP_NET_RAW, the same test plays the refused side.
    if child_value(CHILD_ENV).is_some() {
        child_without_net_raw();
        return;
    }
    if !Needs::new("capture_without_cap_net_raw_is_refused")
        .root()
        .ok()
    {
        return;
    }
    ChildTest::new("capture_without_cap_net_raw_is_refused", CHILD_ENV, "-")
        .prefix(&["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw"])
        .run(MARKER);
}

#[test]
fn missing_interface_is_reported() {
    // No privileges needed: the interface lookup fails before any socket is opened.
    let err = Capture::open("scnosuch0").unwrap_err();
    assert!(
        matches!(&err, MonitorError::InterfaceMissing(i) if i == "scnosuch0"),
        "{err}"
    );
    let err = Capture::open("../../etc").unwrap_err();
    assert!(
        matches!(err, MonitorError::InvalidInterfaceName(_)),
        "{err}"
    );
    let err = Capture::open("").unwrap_err();
    assert!(
        matches!(err, MonitorError::InvalidInterfaceName(_)),
        "{err}"
    );
}

const BSSID: [u8; 6] = [0x24, 0x0a, 0xc4, 0x01, 0x02, 0x03];
const PHONE: [u8; 6] = [0x3c, 0x28, 0x6d, 0x0a, 0x0b, 0x0c];
const MCAST: [u8; 6] = [0x01, 0x00, 0x5e, 0x07, 0x07, 0x07];
const TAG_CHANNEL: u8 = 9;

fn rt(channel: Option<u8>) -> Option<RadiotapSpec> {
    Some(RadiotapSpec {
        channel,
        ..RadiotapSpec::default()
    })
}

/// The frames to inject, each with the observation it must give (`None`: rejected).
fn frames() -> Vec<(Vec<u8>, Option<Observation>)> {
    let base = DataFrameSpec {
        direction: Direction::FromDs,
        bssid: BSSID,
        source: PHONE,
        security: Security::Ccmp,
        ..DataFrameSpec::default()
    };
    let good = [
        DataFrameSpec {
            udp_payload_len: 515,
            seq: 1,
            fcs: true,
            radiotap: Some(RadiotapSpec {
                channel: Some(6),
                signal_dbm: Some(-40),
                ..RadiotapSpec::default()
            }),
            ..base
        },
        DataFrameSpec {
            udp_payload_len: 514,
            seq: 2,
            radiotap: Some(RadiotapSpec {
                channel: Some(6),
                tsft: Some(1_000_000),
                ..RadiotapSpec::default()
            }),
            ..base
        },
        DataFrameSpec {
            direction: Direction::ToDs,
            qos: true,
            udp_payload_len: 513,
            seq: 3,
            fcs: true,
            radiotap: Some(RadiotapSpec {
                channel: Some(6),
                extended: true,
                data_pad: true,
                signal_dbm: Some(-55),
                ..RadiotapSpec::default()
            }),
            ..base
        },
        DataFrameSpec {
            destination: MCAST,
            security: Security::Tkip,
            udp_payload_len: 512,
            seq: 4,
            radiotap: rt(None),
            ..base
        },
        DataFrameSpec {
            security: Security::Open,
            ipv6: true,
            udp_payload_len: 100,
            seq: 5,
            radiotap: rt(Some(1)),
            ..base
        },
    ];
    let junk = [
        DataFrameSpec {
            destination: PHONE,
            radiotap: rt(Some(6)),
            ..base
        },
        DataFrameSpec {
            fcs: true,
            radiotap: Some(RadiotapSpec {
                bad_fcs: true,
                ..RadiotapSpec::default()
            }),
            ..base
        },
        DataFrameSpec {
            qos: true,
            amsdu: true,
            radiotap: rt(Some(6)),
            ..base
        },
        DataFrameSpec {
            direction: Direction::Direct,
            radiotap: rt(Some(6)),
            ..base
        },
    ];
    let mut out = Vec::new();
    for (i, s) in good.iter().enumerate() {
        let expected = Observation {
            time_us: 0,
            source: PHONE,
            destination: s.destination,
            bssid: BSSID,
            direction: s.direction,
            length: u16::try_from(s.expected_length()).unwrap(),
            seq: Some(s.seq),
            channel: Some(s.radiotap.and_then(|r| r.channel).unwrap_or(TAG_CHANNEL)),
        };
        out.push((build_data_frame(s), Some(expected)));
        if let Some(j) = junk.get(i) {
            out.push((build_data_frame(j), None));
        }
    }
    // A frame cut short (its FCS no longer matches), and a plain Ethernet frame.
    let mut cut = build_data_frame(&good[0]);
    cut.truncate(cut.len() - 10);
    out.push((cut, None));
    let mut ethernet = vec![0xff; 6];
    ethernet.extend_from_slice(&[0x02, 0, 0, 0, 0, 9, 0x08, 0x00]);
    ethernet.extend_from_slice(&[0x45; 46]);
    out.push((ethernet, None));
    out
}

/// The part of `capture_from_veth_in_netns` that runs inside the namespace.
fn netns_child_capture(arg: &str) {
    let (a, b) = arg.split_once(' ').unwrap();

    // A veth is an Ethernet interface: without an override the capture refuses it.
    let err = Capture::open(a).unwrap_err();
    assert!(
        matches!(err, MonitorError::NotMonitor { arphrd: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("not in monitor mode"), "{err}");

    let tag = ChannelTag::new();
    tag.set(Some(TAG_CHANNEL));
    let options = CaptureOptions {
        link_type: Some(LinkType::Radiotap),
        channel_tag: Some(tag),
    };
    let mut cap = Capture::open_with(a, &options).unwrap();
    assert_eq!(cap.link_type(), LinkType::Radiotap);
    assert_eq!(cap.ifindex(), if_nametoindex(a).unwrap() as usize);
    assert_eq!(
        cap.next_observation(Some(Duration::from_millis(50)))
            .unwrap(),
        None,
        "nothing sent yet"
    );

    let mut injector = Injector::new(b, "10.213.0.1", "10.213.0.255");
    let frames = frames();
    let expected: Vec<Observation> = frames.iter().filter_map(|f| f.1).collect();
    let junk = frames.len() - expected.len();
    for (bytes, _) in &frames {
        injector.send(bytes);
    }
    let mut got = Vec::new();
    while got.len() < expected.len() {
        match cap.next_observation(Some(WAIT)).unwrap() {
            Some(o) => got.push(o),
            None => panic!("timed out after {} observations: {got:?}", got.len()),
        }
    }
    for pair in got.windows(2) {
        assert!(pair[0].time_us <= pair[1].time_us);
    }
    let strip = |o: &Observation| Observation { time_us: 0, ..*o };
    assert_eq!(got.iter().map(strip).collect::<Vec<_>>(), expected);
    assert_eq!(expected[0].length, 515 + 80);
    assert_eq!(expected[2].length, 513 + 82);
    // Nothing else parses: junk, the injector's own copies and setup broadcasts are dropped.
    assert_eq!(
        cap.next_observation(Some(Duration::from_millis(200)))
            .unwrap(),
        None
    );
    let stats = *cap.stats();
    assert_eq!(stats.accepted, expected.len() as u64);
    assert!(stats.rejected >= junk as u64, "{stats:?}");
    assert!(
        stats.skipped > 0,
        "frames of other interfaces were not seen: {stats:?}"
    );

    // Raw frames come back byte for byte.
    injector.send(&frames[0].0);
    let deadline = Instant::now() + WAIT;
    loop {
        let raw = cap.next_raw(Some(WAIT)).unwrap().expect("no raw frame");
        if raw.bytes == frames[0].0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the injected frame did not come back"
        );
    }
    drop(cap);

    // The same through the tokio capture.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let got_async = runtime.block_on(async {
        let mut cap = AsyncCapture::open_with(a, &options).unwrap();
        assert_eq!(cap.ifname(), a);
        // The thread may take a moment to start; the socket queues frames meanwhile.
        for (bytes, _) in &frames {
            injector.send(bytes);
        }
        let mut got = Vec::new();
        while got.len() < expected.len() {
            let o = tokio::time::timeout(WAIT, cap.next_observation())
                .await
                .expect("async timeout")
                .unwrap();
            got.push(strip(&o));
        }
        // The junk sent after the last good frame is counted by the capture thread soon.
        let deadline = Instant::now() + WAIT;
        while cap.stats().rejected < junk as u64 {
            assert!(Instant::now() < deadline, "{:?}", cap.stats());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(cap.stats().accepted, expected.len() as u64);
        got
    });
    assert_eq!(got_async, expected);
    println!("observations {}", got.len() + got_async.len());
    println!("{MARKER}");
}

/// The part of `capture_without_cap_net_raw_is_refused` that runs without CAP_NET_RAW.
fn child_without_net_raw() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap()
        .trim();
    let eff = u64::from_str_radix(eff, 16).unwrap();
    assert_eq!(eff & (1 << 13), 0, "CAP_NET_RAW is still effective");
    let options = CaptureOptions {
        link_type: Some(LinkType::Radiotap),
        channel_tag: None,
    };
    let err = Capture::open_with("lo", &options).unwrap_err();
    assert!(matches!(err, MonitorError::NotPermitted { .. }), "{err}");
    assert!(err.to_string().contains("CAP_NET_RAW"), "{err}");
    println!("{MARKER}");
}
