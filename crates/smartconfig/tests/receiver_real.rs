//! The receiver with the crate's decoders, end to end through 802.11 frames and capture files:
//! a phone on a WPA2 network sends with the reference schedules; the air loses and retries
//! frames, both directions are captured, other stations chatter; the capture is written to a
//! pcap/pcapng file, read back, reduced to observations and fed to the receiver.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use smartconfig::frame::{DataFrameSpec, RadiotapSpec, Security, build_data_frame};
use smartconfig::pcap::{FileFormat, LinkType, PcapReader, PcapWriter};
use smartconfig::receiver::{Event, Received, Receiver, ReceiverConfig, RejectReason, ScanEntry};
use smartconfig::{Direction, Protocol, ScType, Transmit, airkiss, crc8, esptouch_v1, esptouch_v2};

const AP: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01];
const PHONE: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const CHANNEL: u8 = 6;

/// How the capture is made.
#[derive(Clone, Copy)]
struct Air {
    format: FileFormat,
    linktype: LinkType,
    /// Probability (in 1/1000) that a frame is lost, and that a to-DS frame is retried.
    loss: u32,
    retry: u32,
    /// Other stations sending group-addressed frames.
    chatter: u32,
}

const NOISY: Air = Air {
    format: FileFormat::PcapNg,
    linktype: LinkType::Radiotap,
    loss: 100,
    retry: 150,
    chatter: 6,
};

/// Puts the datagrams `schedule` on the air from `t0`: the phone's to-DS copy (QoS, CCMP), the
/// AP's from-DS copy 2 ms later (non-QoS, CCMP), lost and retried at random, with chatter and
/// a management frame now and then; returns the captured frames.
fn on_air(schedule: &[Transmit], t0: u64, air: Air, rng: &mut ChaCha8Rng) -> Vec<(u64, Vec<u8>)> {
    let radiotap = (air.linktype == LinkType::Radiotap).then_some(RadiotapSpec {
        channel: Some(CHANNEL),
        signal_dbm: Some(-50),
        ..RadiotapSpec::default()
    });
    let fcs = air.linktype == LinkType::Radiotap;
    let mut out = Vec::new();
    let mut t = t0;
    let mut phone_seq = rng.next_u32() as u16;
    let mut ap_seq = rng.next_u32() as u16;
    let chance = |per_mille: u32, rng: &mut ChaCha8Rng| rng.next_u32() % 1000 < per_mille;
    for tx in schedule {
        let to = DataFrameSpec {
            direction: Direction::ToDs,
            bssid: AP,
            source: PHONE,
            destination: [0xff; 6],
            seq: phone_seq & 0xfff,
            qos: true,
            security: Security::Ccmp,
            udp_payload_len: tx.length,
            fcs,
            radiotap,
            ..DataFrameSpec::default()
        };
        if !chance(air.loss, rng) {
            out.push((t, build_data_frame(&to)));
        }
        if chance(air.retry, rng) {
            out.push((
                t + 300,
                build_data_frame(&DataFrameSpec { retry: true, ..to }),
            ));
        }
        phone_seq = phone_seq.wrapping_add(1);
        let from = DataFrameSpec {
            direction: Direction::FromDs,
            qos: false,
            seq: ap_seq & 0xfff,
            ..to
        };
        if !chance(air.loss, rng) {
            out.push((t + 2_000, build_data_frame(&from)));
        }
        ap_seq = ap_seq.wrapping_add(1);
        for s in 0..air.chatter {
            if chance(200, rng) {
                let other = DataFrameSpec {
                    source: [0x02, 0x66, 0, 0, 0, s as u8],
                    seq: rng.next_u32() as u16 & 0xfff,
                    udp_payload_len: (rng.next_u32() % 600) as u16,
                    ..from
                };
                out.push((t + 1_000 + u64::from(s), build_data_frame(&other)));
            }
        }
        if chance(20, rng) {
            // A beacon-like management frame: captured, but not an observation.
            let mut beacon = vec![0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
            beacon.extend_from_slice(&AP);
            beacon.extend_from_slice(&AP);
            beacon.extend_from_slice(&[0; 14]);
            if let Some(rt) = radiotap {
                // The radiotap header of a built frame (its length is at bytes 2..4), then
                // the management frame.
                let mut framed = build_data_frame(&DataFrameSpec {
                    radiotap: Some(rt),
                    ..DataFrameSpec::default()
                });
                let rt_len = usize::from(u16::from_le_bytes([framed[2], framed[3]]));
                framed.truncate(rt_len);
                framed.extend_from_slice(&beacon);
                beacon = framed;
            }
            out.push((t + 4_000, beacon));
        }
        t += u64::from(tx.gap_us);
    }
    out
}

/// Writes `frames` into a capture file, reads it back and feeds the receiver; returns the
/// events and the number of records the reader skipped.
fn replay(frames: &[(u64, Vec<u8>)], air: Air, rx: &mut Receiver) -> (Vec<Event>, u64) {
    let mut w = PcapWriter::new(Vec::new(), air.format, air.linktype).unwrap();
    let mut sorted: Vec<_> = frames.iter().collect();
    sorted.sort_by_key(|(t, _)| *t);
    for (t, f) in sorted {
        w.write(*t, f).unwrap();
    }
    let bytes = w.finish().unwrap();
    let mut r = PcapReader::new(&bytes[..]).unwrap();
    let mut events = Vec::new();
    while let Some(obs) = r.next_observation().unwrap() {
        if let Some(e) = rx.push(&obs) {
            events.push(e);
        }
    }
    (events, r.skipped())
}

fn done(events: &[Event]) -> Received {
    events
        .iter()
        .find_map(|e| match e {
            Event::Done(r) => Some((**r).clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no result in {events:?}"))
}

fn v1_schedule(params: &esptouch_v1::Params, periods: u64) -> Vec<Transmit> {
    let encoded = esptouch_v1::encode(params).unwrap();
    (0..periods)
        .flat_map(|p| encoded.schedule_period(p))
        .collect()
}

#[test]
fn esptouch_v1_through_a_noisy_capture() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let params = esptouch_v1::Params::new(
        b"HomeNet".to_vec(),
        b"correct horse".to_vec(),
        AP,
        [192, 168, 1, 23],
    );
    let frames = on_air(&v1_schedule(&params, 3), 1_000_000, NOISY, &mut rng);
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouch));
    let (events, skipped) = replay(&frames, NOISY, &mut rx);
    assert!(skipped > 0, "management frames are skipped");
    let Event::Locked(lock) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (lock.protocol, lock.bssid, lock.source, lock.channel),
        (Protocol::EspTouch, AP, PHONE, Some(CHANNEL))
    );
    // WPA2-CCMP with FCS: to-DS QoS K = 82 + 512 guide base, from-DS K = 80.
    let expected_offset = if lock.direction == Direction::ToDs {
        82
    } else {
        80
    };
    assert_eq!(lock.offset, expected_offset);
    let r = done(&events);
    assert_eq!(r.protocol(), Protocol::EspTouch);
    assert_eq!(r.ssid(), b"HomeNet");
    assert_eq!(r.decoded.password.expose(), b"correct horse");
    assert_eq!(r.decoded.bssid, Some(AP));
    assert_eq!(r.bssid, Some(AP));
    assert_eq!(r.channel, Some(CHANNEL));
    assert_eq!(r.decoded.phone_ip, Some([192, 168, 1, 23].into()));
    assert_eq!(r.decoded.token, 9 + 13 + 7);
    assert!(rx.is_done());
}

#[test]
fn esptouch_v1_from_a_plain_80211_pcap() {
    let air = Air {
        format: FileFormat::Pcap,
        linktype: LinkType::Ieee80211,
        loss: 50,
        retry: 100,
        chatter: 3,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let params = esptouch_v1::Params::new(
        "Café ☕".as_bytes().to_vec(),
        b"".to_vec(),
        AP,
        [10, 0, 0, 7],
    );
    let frames = on_air(&v1_schedule(&params, 2), 0, air, &mut rng);
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouchAirKiss));
    let (events, _) = replay(&frames, air, &mut rx);
    let r = done(&events);
    assert_eq!(
        r.protocol(),
        Protocol::EspTouch,
        "combined mode reports the protocol that arrived"
    );
    assert_eq!(r.ssid(), "Café ☕".as_bytes());
    assert!(r.decoded.password.is_empty());
    assert_eq!(r.link.channel, None, "no radiotap, no channel");
}

#[test]
fn esptouch_v1_legacy_ssid_comes_from_the_scan() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut params = esptouch_v1::Params::new(
        b"Legacy-AP".to_vec(),
        b"pass1234".to_vec(),
        AP,
        [192, 168, 0, 9],
    );
    params.omit_ssid = true;
    let frames = on_air(&v1_schedule(&params, 4), 0, NOISY, &mut rng);
    let scan = vec![
        // Same CRC would be needed to confuse it; a different SSID of the same length is not enough.
        ScanEntry {
            ssid: b"Legacy-XX".to_vec(),
            bssid: [0x02, 0, 0, 0, 0, 7],
            channel: 1,
            rssi: -70,
        },
        ScanEntry {
            ssid: b"Legacy-AP".to_vec(),
            bssid: AP,
            channel: CHANNEL,
            rssi: -40,
        },
    ];
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouch).with_scan(scan));
    let (events, _) = replay(&frames, NOISY, &mut rx);
    let r = done(&events);
    assert_eq!(r.ssid(), b"Legacy-AP");
    assert!(r.ssid_from_scan);
    assert_eq!(r.decoded.password.expose(), b"pass1234");

    // Without the scan table the message cannot be completed.
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouch));
    let (events, _) = replay(&frames, NOISY, &mut rx);
    assert!(
        events.contains(&Event::Rejected {
            protocol: Protocol::EspTouch,
            reason: RejectReason::SsidNotInScan
        }),
        "{events:?}"
    );
    assert!(!rx.is_done());
}

fn v2_schedule(params: &esptouch_v2::Params, seed: u64, cycles: usize) -> Vec<Transmit> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let encoded = esptouch_v2::encode(params, &mut |buf: &mut [u8]| rng.fill_bytes(buf)).unwrap();
    (0..cycles).flat_map(|_| encoded.schedule()).collect()
}

#[test]
fn esptouch_v2_encrypted_without_ssid() {
    let key = *b"0123456789abcdef";
    let mut params = esptouch_v2::Params::new(b"Upstairs".to_vec(), b"v2 secret!".to_vec(), AP);
    params.send_ssid = false;
    params.reserved = b"custom data".to_vec();
    params.port_mark = 2;
    params.security = esptouch_v2::Security::AesRandomIv(esptouch_v2::AesKey::new(key));
    let schedule = v2_schedule(&params, 4, 8);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let frames = on_air(&schedule, 0, NOISY, &mut rng);
    let scan = vec![
        ScanEntry {
            ssid: b"Downstairs".to_vec(),
            bssid: [0x02, 0, 0, 0, 0, 3],
            channel: 1,
            rssi: -60,
        },
        ScanEntry {
            ssid: b"Upstairs".to_vec(),
            bssid: AP,
            channel: CHANNEL,
            rssi: -45,
        },
    ];
    let config = ReceiverConfig::new(ScType::EspTouchV2)
        .with_aes_key(key)
        .with_scan(scan.clone());
    let mut rx = Receiver::new(config);
    let (events, _) = replay(&frames, NOISY, &mut rx);
    let r = done(&events);
    assert_eq!(r.protocol(), Protocol::EspTouchV2);
    assert_eq!(r.ssid(), b"Upstairs");
    assert!(r.ssid_from_scan);
    assert_eq!(r.decoded.password.expose(), b"v2 secret!");
    assert_eq!(r.decoded.reserved, b"custom data");
    assert_eq!(r.decoded.token, 2);
    assert_eq!(r.decoded.bssid_crc, Some(crc8(&AP)));
    assert_eq!(r.bssid, Some(AP));

    // Without the key nothing is delivered.
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouchV2).with_scan(scan));
    let (events, _) = replay(&frames, NOISY, &mut rx);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Done(_))),
        "{events:?}"
    );
    // And a receiver for the other protocols does not even lock.
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouchAirKiss));
    let (events, _) = replay(&frames, NOISY, &mut rx);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn esptouch_v2_plain_over_the_other_capture_format() {
    let air = Air {
        format: FileFormat::Pcap,
        ..NOISY
    };
    let params =
        esptouch_v2::Params::new("Wohnung 3".as_bytes().to_vec(), b"12345678".to_vec(), AP);
    let schedule = v2_schedule(&params, 6, 6);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let frames = on_air(&schedule, 5_000, air, &mut rng);
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouchV2));
    let (events, _) = replay(&frames, air, &mut rx);
    let r = done(&events);
    assert_eq!(
        (r.ssid(), r.decoded.password.expose()),
        (&b"Wohnung 3"[..], &b"12345678"[..])
    );
    assert!(!r.ssid_from_scan);
}

#[test]
fn a_second_phone_does_not_disturb_the_first() {
    // Two phones provisioning different networks at the same time through the same AP: each
    // link is decoded on its own; the receiver delivers the one that locked first.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let a = esptouch_v1::Params::new(
        b"First".to_vec(),
        b"aaaaaaaa".to_vec(),
        AP,
        [192, 168, 1, 2],
    );
    let b = esptouch_v1::Params::new(
        b"Second".to_vec(),
        b"bbbbbbbb".to_vec(),
        AP,
        [192, 168, 1, 3],
    );
    let air = Air {
        chatter: 0,
        ..NOISY
    };
    let mut frames = on_air(&v1_schedule(&a, 3), 0, air, &mut rng);
    // The second phone's copies as the AP relays them.
    let second_phone = [0x02, 0x99, 0, 0, 0, 1];
    let schedule = v1_schedule(&b, 3);
    for (i, tx) in schedule.iter().enumerate() {
        let t = 3_000 + i as u64 * u64::from(tx.gap_us);
        let spec = DataFrameSpec {
            direction: Direction::FromDs,
            bssid: AP,
            source: second_phone,
            seq: i as u16 & 0xfff,
            security: Security::Ccmp,
            udp_payload_len: tx.length,
            fcs: true,
            radiotap: Some(RadiotapSpec {
                channel: Some(CHANNEL),
                ..RadiotapSpec::default()
            }),
            ..DataFrameSpec::default()
        };
        frames.push((t, build_data_frame(&spec)));
    }
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouch));
    let (events, _) = replay(&frames, air, &mut rx);
    let Event::Locked(lock) = &events[0] else {
        panic!("{events:?}")
    };
    let r = done(&events);
    assert_eq!(r.link.source, lock.source);
    if lock.source == PHONE {
        assert_eq!(
            (r.ssid(), r.decoded.password.expose()),
            (&b"First"[..], &b"aaaaaaaa"[..])
        );
    } else {
        assert_eq!(lock.source, second_phone);
        assert_eq!(
            (r.ssid(), r.decoded.password.expose()),
            (&b"Second"[..], &b"bbbbbbbb"[..])
        );
    }
    assert!(rx.stats().other_links > 0);
}

fn airkiss_schedule(params: &airkiss::Params, periods: usize) -> Vec<Transmit> {
    let encoded = airkiss::encode(params).unwrap();
    (0..periods).flat_map(|_| encoded.schedule()).collect()
}

#[test]
fn airkiss_in_combined_mode() {
    let params = airkiss::Params::new(b"WeChatNet".to_vec(), b"airkiss-pw".to_vec(), 0x5a);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let frames = on_air(&airkiss_schedule(&params, 2), 0, NOISY, &mut rng);
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouchAirKiss));
    let (events, _) = replay(&frames, NOISY, &mut rx);
    let Event::Locked(lock) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(lock.protocol, Protocol::AirKiss);
    let expected_offset = if lock.direction == Direction::ToDs {
        82
    } else {
        80
    };
    assert_eq!(lock.offset, expected_offset);
    let r = done(&events);
    assert_eq!(r.protocol(), Protocol::AirKiss);
    assert_eq!(r.ssid(), b"WeChatNet");
    assert_eq!(r.decoded.password.expose(), b"airkiss-pw");
    assert_eq!(r.decoded.token, 0x5a);
    assert_eq!(r.bssid, Some(AP), "AirKiss carries no BSSID: the link's");
    // An ESPTouch-only receiver ignores it.
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouch));
    let (events, _) = replay(&frames, NOISY, &mut rx);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Done(_))),
        "{events:?}"
    );
}

#[test]
fn airkiss_encrypted_with_the_agreed_key() {
    let key = airkiss::key_from_bytes(b"sixteen byte key").unwrap();
    let mut params = airkiss::Params::new(b"Office".to_vec(), b"0123456789".to_vec(), 7);
    params.aes_key = Some(key);
    let air = Air {
        format: FileFormat::Pcap,
        ..NOISY
    };
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let frames = on_air(&airkiss_schedule(&params, 2), 0, air, &mut rng);
    let mut rx = Receiver::new(ReceiverConfig::new(ScType::AirKiss).with_aes_key(key));
    let (events, _) = replay(&frames, air, &mut rx);
    let r = done(&events);
    assert_eq!(
        (r.ssid(), r.decoded.password.expose()),
        (&b"Office"[..], &b"0123456789"[..])
    );
}
