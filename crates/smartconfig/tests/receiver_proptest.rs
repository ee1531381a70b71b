//! Random observation streams never panic the receiver, never grow its link table beyond the
//! bound, and produce a well-formed sequence of events.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod receiver_support;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use proptest::prelude::*;
use receiver_support::*;
use smartconfig::receiver::{Event, Receiver, ReceiverConfig, ScanEntry, State};
use smartconfig::{Direction, Observation, ScType};

/// (station, direction, BSSID, length, sequence number, time step, group destination)
type Raw = (u8, u8, u8, u16, Option<u16>, u32, bool);

fn observation() -> impl Strategy<Value = Raw> {
    (
        0u8..6, // station
        0u8..3, // direction
        0u8..2, // BSSID
        prop_oneof![
            // Near the guides and symbols (toy and real) so locks and messages do happen.
            0u16..8,
            60u16..700,
            1100u16..1260,
            any::<u16>(),
        ],
        proptest::option::of(0u16..8), // sequence number (collisions likely)
        0u32..3_000_000,               // time step (µs)
        any::<bool>(),                 // group destination
    )
}

fn build(raw: &[Raw]) -> Vec<Observation> {
    let mut t = 0u64;
    raw.iter()
        .map(|&(s, d, b, length, seq, dt, group)| {
            t += u64::from(dt);
            let direction = [Direction::ToDs, Direction::FromDs, Direction::Direct][usize::from(d)];
            Observation {
                time_us: t,
                source: station(u32::from(s)),
                destination: if group { BROADCAST } else { AP },
                bssid: [0x02, 0, 0, 0, 0, b],
                direction,
                length,
                seq,
                channel: Some(1 + s),
            }
        })
        .collect()
}

/// A toy stream from station 0 to splice in, so that complete messages occur too.
fn spliced(mut obs: Vec<Observation>, at: usize, ssid_len: usize) -> Vec<Observation> {
    let ssid = vec![b'a'; ssid_len];
    let lengths = stream(
        smartconfig::Protocol::EspTouch,
        70,
        &message(&ssid, None, None, b"pw"),
    );
    let at = at.min(obs.len());
    let t0 = obs.get(at).map_or(0, |o| o.time_us);
    let inserted = lengths.into_iter().map(|len| Observation {
        time_us: t0,
        ..frame(t0, Direction::FromDs, AP, PHONE, len, None)
    });
    obs.splice(at..at, inserted);
    obs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_streams_are_handled(
        raw in proptest::collection::vec(observation(), 0..400),
        t in 0u8..4,
        max_links in 1usize..6,
        at in 0usize..400,
        ssid_len in 0usize..40,
    ) {
        let sc_type = ScType::from_number(i64::from(t));
        let scan = vec![ScanEntry { ssid: b"aaaa".to_vec(), bssid: AP, channel: 6, rssi: -40 }];
        let config = ReceiverConfig::new(sc_type)
            .with_max_links(max_links)
            .with_timeouts(1_000_000, 5_000_000)
            .with_scan(scan);
        let pushes = Arc::new(AtomicU64::new(0));
        let mut rx = Receiver::with_decoders(config, factory(&pushes));
        let obs = spliced(build(&raw), at, ssid_len);
        let mut locked = false;
        let mut finished = false;
        for o in &obs {
            let event = rx.push(o);
            prop_assert!(rx.links() <= max_links);
            if finished {
                prop_assert_eq!(event, None);
                continue;
            }
            match event {
                None => {}
                Some(Event::Locked(link)) => {
                    prop_assert!(!locked);
                    prop_assert_eq!(link.time_us, o.time_us);
                    prop_assert!(sc_type.accepts(link.protocol));
                    locked = true;
                }
                Some(Event::Done(r)) => {
                    prop_assert!(locked);
                    prop_assert!(!r.ssid().is_empty() && r.ssid().len() <= 32);
                    prop_assert!(sc_type.accepts(r.protocol()));
                    finished = true;
                }
                Some(Event::Rejected { .. }) | Some(Event::Reset { .. }) => {
                    prop_assert!(locked);
                    locked = false;
                }
            }
            prop_assert_eq!(matches!(rx.state(), State::Locked(_)), locked && !finished);
            prop_assert_eq!(rx.is_done(), finished);
        }
        let stats = rx.stats();
        prop_assert_eq!(stats.observations, obs.len() as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The same with the crate's decoders (and a key, so the AES paths are reachable).
    #[test]
    fn random_streams_with_real_decoders(
        raw in proptest::collection::vec(observation(), 0..1500),
        t in 0u8..4,
        max_links in 1usize..8,
    ) {
        let sc_type = ScType::from_number(i64::from(t));
        let config = ReceiverConfig::new(sc_type)
            .with_max_links(max_links)
            .with_timeouts(1_000_000, 5_000_000)
            .with_aes_key([7; 16]);
        let mut rx = Receiver::new(config);
        let obs = build(&raw);
        let mut locked = false;
        for o in &obs {
            match rx.push(o) {
                Some(Event::Locked(_)) => {
                    prop_assert!(!locked);
                    locked = true;
                }
                Some(Event::Reset { .. } | Event::Rejected { .. }) => locked = false,
                Some(Event::Done(r)) => prop_assert!(!r.ssid().is_empty()),
                None => {}
            }
            prop_assert!(rx.links() <= max_links);
        }
    }
}
