//! The receiver with stand-in decoders: filtering, keying, retries, directions, interleaved
//! stations, the link bound, timeouts, conflicts, combined mode and scan-table recovery.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod receiver_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use receiver_support::*;
use smartconfig::receiver::{
    Event, Received, Receiver, ReceiverConfig, RejectReason, ResetReason, ScanEntry, State,
};
use smartconfig::{Direction, Observation, Protocol, ScType, crc8};

fn receiver(config: ReceiverConfig) -> (Receiver, Arc<AtomicU64>) {
    let pushes = Arc::new(AtomicU64::new(0));
    (Receiver::with_decoders(config, factory(&pushes)), pushes)
}

/// Pushes everything, returning the events in order.
fn run(rx: &mut Receiver, observations: impl IntoIterator<Item = Observation>) -> Vec<Event> {
    observations
        .into_iter()
        .filter_map(|o| rx.push(&o))
        .collect()
}

/// Frames of one link carrying `lengths`, 8 ms apart from `t0`, with fresh sequence numbers.
fn link(
    t0: u64,
    direction: Direction,
    bssid: [u8; 6],
    source: [u8; 6],
    lengths: &[u16],
) -> Vec<Observation> {
    lengths
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            frame(
                t0 + 8_000 * i as u64,
                direction,
                bssid,
                source,
                len,
                Some(i as u16 & 0xfff),
            )
        })
        .collect()
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

#[test]
fn direct_observations_lock_and_decode() {
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let msg = message(b"home", Some(crc8(b"home")), None, b"secret99");
    let obs: Vec<_> = stream(Protocol::EspTouch, 0, &msg)
        .into_iter()
        .enumerate()
        .map(|(i, len)| Observation::direct(i as u64 * 1000, PHONE, len))
        .collect();
    let events = run(&mut rx, obs);
    assert_eq!(events.len(), 2, "{events:?}");
    let Event::Locked(lock) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (lock.protocol, lock.offset, lock.direction),
        (Protocol::EspTouch, 0, Direction::Direct)
    );
    assert_eq!(lock.source, PHONE);
    let r = done(&events);
    assert_eq!(r.ssid(), b"home");
    assert_eq!(r.decoded.password.expose(), b"secret99");
    assert!(!r.ssid_from_scan);
    // Direct links have no BSSID to offer.
    assert_eq!(r.bssid, None);
    assert!(rx.is_done());
    assert_eq!(rx.state(), State::Done);
    // Stopped: nothing more is reported until reset.
    assert_eq!(rx.push(&Observation::direct(10_000_000, PHONE, 512)), None);
    rx.reset();
    assert_eq!(rx.state(), State::Searching);
}

#[test]
fn sniffed_frames_lock_with_link_details() {
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let msg = message(b"net", None, None, b"pw");
    let events = run(
        &mut rx,
        link(
            5,
            Direction::FromDs,
            AP,
            PHONE,
            &stream(Protocol::EspTouch, 80, &msg),
        ),
    );
    let Event::Locked(lock) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(lock.offset, 80);
    assert_eq!(lock.bssid, AP);
    assert_eq!(lock.channel, Some(6));
    assert_eq!(lock.time_us, 5 + 3 * 8_000);
    let r = done(&events);
    assert_eq!(
        (r.ssid(), r.decoded.password.expose()),
        (&b"net"[..], &b"pw"[..])
    );
    assert_eq!(r.link.direction, Direction::FromDs);
    // No BSSID carried, no CRC: the link's BSSID is the access point.
    assert_eq!(r.bssid, Some(AP));
    assert_eq!(r.channel, Some(6));
}

#[test]
fn filter_drops_unicast_destinations_and_group_sources() {
    let (mut rx, pushes) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let lengths = stream(Protocol::EspTouch, 80, &message(b"n", None, None, b""));
    let mut unicast = link(0, Direction::ToDs, AP, PHONE, &lengths);
    for o in &mut unicast {
        o.destination = AP;
    }
    let mut group_source = link(0, Direction::ToDs, AP, PHONE, &lengths);
    for o in &mut group_source {
        o.source = [0x01, 0, 0x5e, 0, 0, 1];
    }
    let mut group_bssid = link(0, Direction::FromDs, AP, PHONE, &lengths);
    for o in &mut group_bssid {
        o.bssid = BROADCAST;
    }
    let n = lengths.len() as u64;
    assert!(
        run(
            &mut rx,
            unicast.into_iter().chain(group_source).chain(group_bssid)
        )
        .is_empty()
    );
    assert_eq!(pushes.load(Ordering::Relaxed), 0);
    assert_eq!(rx.stats().filtered, 3 * n);
    assert_eq!(rx.links(), 0);
    // A multicast destination (ESPTouch v1 multicast mode) is a group address: accepted.
    let mut multicast = link(0, Direction::ToDs, AP, PHONE, &lengths);
    for (i, o) in multicast.iter_mut().enumerate() {
        o.destination = [
            0x01,
            0x00,
            0x5e,
            0x00,
            (i % 100) as u8 + 1,
            (i % 100) as u8 + 1,
        ];
    }
    assert!(matches!(done(&run(&mut rx, multicast)).ssid(), b"n"));
}

#[test]
fn retries_are_dropped_per_link() {
    let (mut rx, pushes) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let msg = message(b"retry-net", None, None, b"abcdefgh");
    let once = link(
        0,
        Direction::ToDs,
        AP,
        PHONE,
        &stream(Protocol::EspTouch, 82, &msg),
    );
    // Every frame retried twice with the same sequence number.
    let tripled: Vec<_> = once.iter().flat_map(|o| [*o, *o, *o]).collect();
    let events = run(&mut rx, tripled);
    // A retry reaching the decoder would have duplicated message bytes.
    let r = done(&events);
    assert_eq!(r.ssid(), b"retry-net");
    assert_eq!(r.decoded.password.expose(), b"abcdefgh");
    // (The retries of the last frame come after the result, when the receiver has stopped.)
    assert_eq!(rx.stats().retries, 2 * (once.len() as u64 - 1));
    assert_eq!(pushes.load(Ordering::Relaxed), once.len() as u64);
}

#[test]
fn equal_sequence_numbers_of_the_other_direction_are_not_retries() {
    // The to-DS and from-DS copies have independent sequence counters; a from-DS frame that
    // happens to carry the to-DS frame's number is new data.
    let (mut rx, pushes) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let msg = message(b"x", None, None, b"y");
    let to = link(
        0,
        Direction::ToDs,
        AP,
        PHONE,
        &stream(Protocol::EspTouch, 82, &msg),
    );
    let from = link(
        1,
        Direction::FromDs,
        AP,
        PHONE,
        &stream(Protocol::EspTouch, 80, &msg),
    );
    let mixed: Vec<_> = to.iter().zip(&from).flat_map(|(a, b)| [*a, *b]).collect();
    let events = run(&mut rx, mixed);
    assert_eq!(rx.stats().retries, 0);
    // Both directions were fed until the to-DS link locked (it completes its guide first).
    let Event::Locked(lock) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!((lock.direction, lock.offset), (Direction::ToDs, 82));
    assert!(pushes.load(Ordering::Relaxed) >= 8);
    assert_eq!(done(&events).ssid(), b"x");
}

#[test]
fn directions_are_never_mixed() {
    // The same datagrams seen in both directions with different offsets (QoS to-DS K = 82,
    // non-QoS from-DS K = 80), each to-DS frame 3 ms before its from-DS copy. Mixed into one
    // decoder the two would never even form a guide; kept apart, the to-DS link locks first
    // and decodes alone.
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let msg = message(b"dual", Some(crc8(b"dual")), None, b"password");
    let lengths = stream(Protocol::EspTouch, 0, &msg);
    let mut obs = Vec::new();
    for (i, &len) in lengths.iter().enumerate() {
        let t = i as u64 * 8_000;
        obs.push(frame(
            t,
            Direction::ToDs,
            AP,
            PHONE,
            len + 82,
            Some(i as u16),
        ));
        obs.push(frame(
            t + 3_000,
            Direction::FromDs,
            AP,
            PHONE,
            len + 80,
            Some(i as u16 + 1000),
        ));
    }
    let events = run(&mut rx, obs);
    let Event::Locked(lock) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!((lock.direction, lock.offset), (Direction::ToDs, 82));
    let r = done(&events);
    assert_eq!(
        (r.ssid(), r.link.direction, r.decoded.offset),
        (&b"dual"[..], Direction::ToDs, 82)
    );
    // Every from-DS frame after the lock was set aside.
    // (The last one comes after the result, when the receiver has stopped.)
    assert_eq!(rx.stats().other_links, lengths.len() as u64 - 4);
}

#[test]
fn interleaved_stations_are_decoded_separately() {
    let (mut rx, pushes) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let alpha = message(b"alpha", None, None, b"one");
    let bravo = message(b"bravo", None, None, b"two");
    // Station 2 starts 4 ms earlier; both send every 8 ms.
    let a = link(
        4_000,
        Direction::FromDs,
        AP,
        station(1),
        &stream(Protocol::EspTouch, 80, &alpha),
    );
    let b = link(
        0,
        Direction::FromDs,
        AP,
        station(2),
        &stream(Protocol::EspTouch, 80, &bravo),
    );
    let mut obs: Vec<_> = a.iter().chain(&b).copied().collect();
    obs.sort_by_key(|o| o.time_us);
    let events = run(&mut rx, obs.clone());
    let Event::Locked(lock) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(lock.source, station(2));
    let r = done(&events);
    assert_eq!((r.ssid(), r.link.source), (&b"bravo"[..], station(2)));
    // After the lock, station 1's frames were not decoded.
    assert!(rx.stats().other_links > 0);
    let fed = pushes.load(Ordering::Relaxed);
    assert!(
        fed < obs.len() as u64,
        "{fed} pushes for {} frames",
        obs.len()
    );

    // Without station 2, station 1 is decoded from the same capture.
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let only_a = obs.iter().filter(|o| o.source == station(1)).copied();
    let r = done(&run(&mut rx, only_a));
    assert_eq!(
        (r.ssid(), r.decoded.password.expose()),
        (&b"alpha"[..], &b"one"[..])
    );
}

#[test]
fn bssids_separate_links() {
    // The same phone MAC heard through two access points (e.g. a mesh): two links.
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let other_ap = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02];
    let lengths = stream(Protocol::EspTouch, 80, &message(b"mesh", None, None, b"pw"));
    let a = link(0, Direction::FromDs, AP, PHONE, &lengths);
    let b = link(1, Direction::FromDs, other_ap, PHONE, &lengths);
    // Drop one guide frame on the first AP so the second completes first.
    let mut obs: Vec<_> = a.iter().zip(&b).flat_map(|(x, y)| [*x, *y]).collect();
    obs.remove(2);
    let events = run(&mut rx, obs);
    let Event::Locked(lock) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(lock.bssid, other_ap);
    assert!(rx.stats().other_links > 0);
    assert_eq!(done(&events).link.bssid, other_ap);
}

#[test]
fn noise_from_many_stations_is_bounded() {
    let config = ReceiverConfig::new(ScType::EspTouch).with_max_links(4);
    let (mut rx, pushes) = receiver(config);
    // Lengths that cannot begin an ESPTouch guide (512..=675) do not even open a link.
    for n in 0..10_000u32 {
        let len = 100 + (n % 400) as u16;
        let o = frame(u64::from(n), Direction::FromDs, AP, station(n), len, None);
        assert_eq!(rx.push(&o), None);
    }
    assert_eq!((rx.links(), rx.stats().untracked), (0, 10_000));
    assert_eq!(pushes.load(Ordering::Relaxed), 0);
    // Lengths that can: links open, but never more than the bound.
    for n in 0..10_000u32 {
        let len = 512 + (n % 164) as u16;
        let o = frame(u64::from(n), Direction::FromDs, AP, station(n), len, None);
        assert_eq!(rx.push(&o), None);
        assert!(rx.links() <= 4);
    }
    assert_eq!(rx.links(), 4);
    assert_eq!(rx.stats().evictions, 10_000 - 4);
    // A tracked link gets every length, in the window or not.
    let before = pushes.load(Ordering::Relaxed);
    rx.push(&frame(
        20_000,
        Direction::FromDs,
        AP,
        station(9_999),
        60,
        None,
    ));
    assert_eq!(pushes.load(Ordering::Relaxed), before + 1);

    // The phone among three other chatty stations still gets through: the least recently
    // active link is the one evicted.
    let lengths = stream(Protocol::EspTouch, 80, &message(b"busy", None, None, b"pw"));
    let mut obs = Vec::new();
    for (i, &len) in lengths.iter().enumerate() {
        let t = 20_000 + i as u64 * 8_000;
        obs.push(frame(t, Direction::FromDs, AP, PHONE, len, None));
        for s in 0..3 {
            obs.push(frame(
                t + 1 + s,
                Direction::FromDs,
                AP,
                station(100 + s as u32),
                60 + (i % 7) as u16,
                None,
            ));
        }
    }
    let r = done(&run(&mut rx, obs));
    assert_eq!(r.ssid(), b"busy");
}

#[test]
fn idle_timeout_resets_and_search_resumes() {
    let config = ReceiverConfig::new(ScType::EspTouch).with_timeouts(2_000_000, 60_000_000);
    let (mut rx, _) = receiver(config);
    let lengths = stream(Protocol::EspTouch, 80, &message(b"idle", None, None, b"pw"));
    // Guide and part of the message, then the phone goes quiet.
    let part = link(0, Direction::FromDs, AP, PHONE, &lengths[..8]);
    let events = run(&mut rx, part);
    assert!(matches!(events.as_slice(), [Event::Locked(_)]));
    assert!(matches!(rx.state(), State::Locked(_)));
    // Other traffic keeps the clock going; 2 s after the last frame of the lock nothing yet.
    let last = 7 * 8_000;
    let other = |t| frame(t, Direction::FromDs, AP, station(9), 99, None);
    assert_eq!(rx.push(&other(last + 2_000_000)), None);
    assert_eq!(
        rx.push(&other(last + 2_000_001)),
        Some(Event::Reset {
            reason: ResetReason::IdleTimeout
        })
    );
    assert_eq!(rx.state(), State::Searching);
    assert_eq!(rx.stats().resets, 1);
    // A later full transmission is decoded from scratch.
    let again = link(10_000_000, Direction::FromDs, AP, PHONE, &lengths);
    assert_eq!(done(&run(&mut rx, again)).ssid(), b"idle");
}

#[test]
fn poll_expires_a_silent_lock() {
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let lengths = stream(Protocol::EspTouch, 80, &message(b"p", None, None, b""));
    run(
        &mut rx,
        link(0, Direction::FromDs, AP, PHONE, &lengths[..4]),
    );
    assert!(matches!(rx.state(), State::Locked(_)));
    assert_eq!(rx.poll(24_000 + 2_500_000), None);
    assert_eq!(
        rx.poll(24_000 + 2_500_001),
        Some(Event::Reset {
            reason: ResetReason::IdleTimeout
        })
    );
    assert_eq!(
        rx.poll(99_000_000),
        None,
        "nothing to expire while searching"
    );
}

#[test]
fn lock_timeout_bounds_a_lock_that_never_completes() {
    let config = ReceiverConfig::new(ScType::EspTouch).with_timeouts(1_000_000, 10_000_000);
    let (mut rx, _) = receiver(config);
    let lengths = stream(
        Protocol::EspTouch,
        80,
        &message(b"never", None, None, b"pw"),
    );
    run(
        &mut rx,
        link(0, Direction::FromDs, AP, PHONE, &lengths[..6]),
    );
    let locked_at = 3 * 8_000;
    // The phone keeps sending unrelated lengths on the link: never idle, never complete.
    let mut events = Vec::new();
    for i in 1..=2_000u64 {
        let o = frame(
            locked_at + i * 10_000,
            Direction::FromDs,
            AP,
            PHONE,
            90,
            Some((i % 4096) as u16),
        );
        if let Some(e) = rx.push(&o) {
            events.push((locked_at + i * 10_000, e));
        }
    }
    let (t, e) = &events[0];
    assert_eq!(
        *e,
        Event::Reset {
            reason: ResetReason::LockTimeout
        }
    );
    assert_eq!(*t, locked_at + 10_010_000);
}

#[test]
fn conflicting_data_resets_the_lock() {
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::EspTouch));
    let mut lengths = stream(Protocol::EspTouch, 80, &message(b"c", None, None, b"pw"));
    lengths.insert(6, 0x201 + 80);
    let events = run(&mut rx, link(0, Direction::FromDs, AP, PHONE, &lengths));
    assert!(matches!(events[0], Event::Locked(_)));
    assert_eq!(
        events[1],
        Event::Reset {
            reason: ResetReason::Conflict
        }
    );
    assert_eq!(
        events.len(),
        2,
        "the rest of the message lacks a guide: {events:?}"
    );
    assert_eq!(rx.state(), State::Searching);
}

#[test]
fn combined_mode_reports_the_protocol_that_arrived() {
    for protocol in [Protocol::AirKiss, Protocol::EspTouch] {
        let (mut rx, pushes) = receiver(ReceiverConfig::new(ScType::EspTouchAirKiss));
        let lengths = stream(protocol, 80, &message(b"combo", None, None, b"pw"));
        let frames = link(0, Direction::FromDs, AP, PHONE, &lengths);
        let events = run(&mut rx, frames.clone());
        let Event::Locked(lock) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(lock.protocol, protocol);
        let r = done(&events);
        assert_eq!(r.protocol(), protocol);
        assert_eq!(r.link.protocol, protocol);
        assert_eq!(r.ssid(), b"combo");
        // Both decoders of the link were fed every frame.
        assert_eq!(pushes.load(Ordering::Relaxed), 2 * frames.len() as u64);
    }
    // A v2 stream means nothing to the combined receiver.
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::EspTouchAirKiss));
    let lengths = stream(Protocol::EspTouchV2, 80, &message(b"v2", None, None, b"pw"));
    assert!(run(&mut rx, link(0, Direction::FromDs, AP, PHONE, &lengths)).is_empty());
}

#[test]
fn only_the_configured_protocols_get_decoders() {
    for (t, expected) in [
        (ScType::EspTouch, &[Protocol::EspTouch][..]),
        (ScType::AirKiss, &[Protocol::AirKiss]),
        (
            ScType::EspTouchAirKiss,
            &[Protocol::EspTouch, Protocol::AirKiss],
        ),
        (ScType::EspTouchV2, &[Protocol::EspTouchV2]),
    ] {
        let mut made = Vec::new();
        let config = ReceiverConfig::new(t).with_max_links(3);
        let pushes = Arc::new(AtomicU64::new(0));
        let mut inner = factory(&pushes);
        let _rx = Receiver::with_decoders(config.clone(), |p| {
            made.push(p);
            inner(p)
        });
        assert_eq!(config.protocols(), expected);
        assert_eq!(made, expected.repeat(3));
    }
}

fn scan_entry(ssid: &[u8], bssid: [u8; 6], channel: u8) -> ScanEntry {
    ScanEntry {
        ssid: ssid.to_vec(),
        bssid,
        channel,
        rssi: -50,
    }
}

/// Decodes one toy message on `bssid` with the scan table; returns the events.
/// (AirKiss: its SSID CRC is checked on its own, without the ESPTouch v1 length rule.)
fn decode_with_scan(scan: Vec<ScanEntry>, bssid: [u8; 6], msg: &[u8]) -> Vec<Event> {
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::AirKiss).with_scan(scan));
    run(
        &mut rx,
        link(
            0,
            Direction::FromDs,
            bssid,
            PHONE,
            &stream(Protocol::AirKiss, 80, msg),
        ),
    )
}

#[test]
fn omitted_ssid_is_recovered_from_the_scan_by_crc() {
    let other = [0x02, 0, 0, 0, 0, 9];
    let scan = vec![
        scan_entry(b"neighbour", other, 1),
        scan_entry(b"HomeNet", AP, 11),
    ];
    let msg = message(b"", Some(crc8(b"HomeNet")), None, b"pw123456");
    let events = decode_with_scan(scan.clone(), AP, &msg);
    let r = done(&events);
    assert_eq!(r.ssid(), b"HomeNet");
    assert!(r.ssid_from_scan);
    assert_eq!(r.decoded.password.expose(), b"pw123456");

    // Nothing fits: rejected, and the receiver searches again.
    let msg = message(b"", Some(crc8(b"Elsewhere")), None, b"pw");
    let events = decode_with_scan(scan.clone(), AP, &msg);
    assert!(events.contains(&Event::Rejected {
        protocol: Protocol::AirKiss,
        reason: RejectReason::SsidNotInScan
    }));
    assert!(!events.iter().any(|e| matches!(e, Event::Done(_))));

    // No CRC and no BSSID information: nothing identifies the network.
    let msg = message(b"", None, None, b"pw");
    let events = decode_with_scan(scan, AP, &msg);
    assert!(events.contains(&Event::Rejected {
        protocol: Protocol::AirKiss,
        reason: RejectReason::SsidNotInScan
    }));
}

#[test]
fn scan_recovery_prefers_the_link_and_refuses_ambiguity() {
    // Find two SSIDs with the same CRC-8.
    let target = crc8(b"net-0");
    let twin = (1..10_000)
        .map(|i| format!("net-{i}").into_bytes())
        .find(|s| crc8(s) == target)
        .expect("a CRC-8 collision among 10000 names");
    let far = [0x02, 0, 0, 0, 0, 9];
    let msg = message(b"", Some(target), None, b"pw");
    // One of them is on the link's BSSID: it wins.
    let scan = vec![scan_entry(&twin, far, 1), scan_entry(b"net-0", AP, 6)];
    assert_eq!(done(&decode_with_scan(scan, AP, &msg)).ssid(), b"net-0");
    // Neither is on the link: ambiguous.
    let scan = vec![
        scan_entry(&twin, far, 1),
        scan_entry(b"net-0", [0x02, 0, 0, 0, 0, 8], 6),
    ];
    let events = decode_with_scan(scan, AP, &msg);
    assert!(events.contains(&Event::Rejected {
        protocol: Protocol::AirKiss,
        reason: RejectReason::SsidAmbiguous
    }));
    // The same SSID on several access points is one network.
    let scan = vec![
        scan_entry(b"net-0", far, 1),
        scan_entry(b"net-0", [0x02, 0, 0, 0, 0, 8], 6),
    ];
    assert_eq!(done(&decode_with_scan(scan, AP, &msg)).ssid(), b"net-0");
}

#[test]
fn bssid_crc_finds_the_access_point_and_its_ssid() {
    // ESPTouch v2 style: no SSID, no SSID CRC, only CRC8(BSSID).
    let ap2 = [0x02, 0x10, 0x20, 0x30, 0x40, 0x50];
    let scan = vec![
        scan_entry(b"Upstairs", ap2, 1),
        scan_entry(b"Downstairs", AP, 11),
    ];
    let msg = message(b"", None, Some(crc8(&AP)), b"pw");
    let r = done(&decode_with_scan(scan.clone(), AP, &msg));
    assert_eq!(r.ssid(), b"Downstairs");
    assert_eq!(r.bssid, Some(AP));

    // Heard through another BSSID (say the 2.4 GHz radio of a dual-band AP): the SSID and the
    // BSSID come from the scan entry that fits the CRC; the channel is the link's.
    let heard = [0x02, 0x99, 0x99, 0x99, 0x99, 0x99];
    let r = done(&decode_with_scan(scan.clone(), heard, &msg));
    assert_eq!(r.ssid(), b"Downstairs");
    assert_eq!(r.bssid, Some(AP));
    assert_eq!(r.link.bssid, heard);

    // With the SSID on the air, a BSSID CRC that fits nothing leaves the BSSID unknown.
    let msg = message(b"Attic", None, Some(crc8(&heard) ^ 1), b"pw");
    let r = done(&decode_with_scan(scan, heard, &msg));
    assert_eq!(r.ssid(), b"Attic");
    assert_eq!(r.bssid, None);
}

#[test]
fn carried_ssid_must_match_its_crc() {
    let msg = message(b"Real", Some(crc8(b"Fake")), None, b"pw");
    let events = decode_with_scan(Vec::new(), AP, &msg);
    assert!(events.contains(&Event::Rejected {
        protocol: Protocol::AirKiss,
        reason: RejectReason::InvalidSsid
    }));
    let long = [b'x'; 33];
    let events = decode_with_scan(Vec::new(), AP, &message(&long, None, None, b"pw"));
    assert!(events.contains(&Event::Rejected {
        protocol: Protocol::AirKiss,
        reason: RejectReason::InvalidSsid
    }));
}

#[test]
fn scan_table_can_be_replaced() {
    let (mut rx, _) = receiver(ReceiverConfig::new(ScType::AirKiss));
    let msg = message(b"", Some(crc8(b"Later")), None, b"pw");
    let lengths = stream(Protocol::AirKiss, 80, &msg);
    let events = run(&mut rx, link(0, Direction::FromDs, AP, PHONE, &lengths));
    assert!(matches!(events.last(), Some(Event::Rejected { .. })));
    rx.set_scan_table(vec![scan_entry(b"Later", AP, 3)]);
    let r = done(&run(
        &mut rx,
        link(1_000_000, Direction::FromDs, AP, PHONE, &lengths),
    ));
    assert_eq!(r.ssid(), b"Later");
}

#[test]
fn config_debug_hides_the_key() {
    let config = ReceiverConfig::new(ScType::EspTouchV2).with_aes_key(*b"0123456789abcdef");
    assert!(config.has_aes_key());
    let text = format!("{config:?}");
    assert!(
        !text.contains("0123456789abcdef") && !text.contains("48, 49, 50"),
        "{text}"
    );
    assert!(text.contains("redacted"));
    let (rx, _) = receiver(config);
    assert!(!format!("{rx:?}").contains("48, 49"));
}

#[test]
fn guide_windows_cover_every_offset() {
    use smartconfig::receiver::guide_window;
    assert_eq!(guide_window(Protocol::EspTouch), 512..=515 + 160);
    assert_eq!(guide_window(Protocol::AirKiss), 1..=4 + 160);
    assert_eq!(guide_window(Protocol::EspTouchV2), 1048..=1071 + 41 + 160);
}
