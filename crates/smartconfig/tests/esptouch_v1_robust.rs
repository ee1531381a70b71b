//! ESPTouch v1 decoder under loss, duplication, interleaved traffic, reordering and mixed
//! sessions (deterministic seeds).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod esptouch_v1_support;

use esptouch_v1_support::{
    Channel, app_stream, assert_decoded, cases, encoded, loop_stream, rng, run,
};
use rand_chacha::rand_core::Rng;
use smartconfig::esptouch_v1::{Decoder, Params, encode};
use smartconfig::{Decoded, LengthDecoder};

/// One period of the reference schedule, in datagrams (6 s).
const PERIOD: usize = 750;
const SEEDS: u64 = 24;
const OFFSETS: [u16; 4] = [0, 60, 82, 86];

/// Runs every vector case through `channel` with several seeds and offsets; every run must
/// decode correctly within `max_periods` sender periods (counting inserted noise and duplicates
/// too).
fn decodes_within(channel: Channel, max_periods: usize) {
    let bound = max_periods * PERIOD;
    for case in cases() {
        let params = case.params();
        let enc = encoded(&params);
        for seed in 0..SEEDS {
            let k = OFFSETS[seed as usize % OFFSETS.len()];
            let mut decoder = Decoder::new();
            let stream = channel.apply(app_stream(&enc), k, seed);
            let (d, used) = run(&mut decoder, stream.take(bound)).unwrap_or_else(|| {
                panic!(
                    "{} not decoded within {bound} ({channel:?}, seed {seed})",
                    case.name
                )
            });
            assert_decoded(&d, &params, k);
            assert!(used <= bound);
        }
    }
}

fn loss(loss: f64) -> Channel {
    Channel {
        loss,
        ..Channel::default()
    }
}

#[test]
fn survives_10_percent_loss() {
    decodes_within(loss(0.10), 8);
}

#[test]
fn survives_20_percent_loss() {
    decodes_within(loss(0.20), 10);
}

#[test]
fn survives_30_percent_loss() {
    decodes_within(loss(0.30), 12);
}

#[test]
fn survives_duplicated_lengths() {
    let channel = Channel {
        duplicate: 0.3,
        ..Channel::default()
    };
    // Duplicates cost nothing: the first data pass (plus the duplicates themselves).
    decodes_within(channel, 2);
}

#[test]
fn survives_interleaved_traffic() {
    let channel = Channel {
        noise: 0.3,
        ..Channel::default()
    };
    decodes_within(channel, 6);
}

#[test]
fn survives_loss_duplicates_and_traffic_together() {
    let channel = Channel {
        loss: 0.2,
        duplicate: 0.1,
        noise: 0.2,
    };
    decodes_within(channel, 14);
}

#[test]
fn reordered_items_decode_in_one_pass() {
    for case in cases().iter().filter(|c| !c.omits_ssid()) {
        let params = case.params();
        let enc = encoded(&params);
        let mut r = rng(7);
        let mut codes: Vec<&[u16]> = enc.datum.chunks(3).collect();
        // Fisher-Yates with the seeded generator.
        for i in (1..codes.len()).rev() {
            let j = (r.next_u32() as usize) % (i + 1);
            codes.swap(i, j);
        }
        let stream: Vec<u16> = enc
            .guide
            .iter()
            .chain(codes.into_iter().flatten())
            .map(|l| l + 80)
            .collect();
        let mut decoder = Decoder::new();
        let (d, used) = run(&mut decoder, stream.iter().copied()).unwrap();
        assert_decoded(&d, &params, 80);
        assert_eq!(used, stream.len());
    }
}

#[test]
fn noise_alone_never_yields_a_message() {
    // Unlocked: uniform lengths 0..1500.
    let mut decoder = Decoder::new();
    let mut r = rng(1);
    for _ in 0..400_000 {
        let l = (r.next_u32() % 1500) as u16;
        assert_eq!(decoder.push(l), None);
    }
    // Locked, then only lengths from the data code's own range (the worst case).
    for (seed, k) in [(2, 0u16), (3, 80), (4, 160)] {
        let mut decoder = Decoder::new();
        for g in [515, 514, 513, 512] {
            decoder.push(g + k);
        }
        assert_eq!(decoder.offset(), Some(k));
        let mut r = rng(seed);
        for _ in 0..400_000 {
            let l = 40 + k + (r.next_u32() % 384) as u16;
            assert_eq!(decoder.push(l), None);
        }
    }
}

#[test]
fn noise_before_and_between_guides_does_not_prevent_a_lock() {
    let case = &cases()[0];
    let params = case.params();
    let enc = encoded(&params);
    let mut decoder = Decoder::new();
    let mut r = rng(11);
    let noise: Vec<u16> = (0..5000).map(|_| (r.next_u32() % 1500) as u16).collect();
    assert_eq!(run(&mut decoder, noise), None);
    let (d, _) = run(&mut decoder, loop_stream(&enc).map(|l| l + 84).take(2000)).unwrap();
    assert_decoded(&d, &params, 84);
}

fn other_params() -> Params {
    Params::new(
        b"OtherNet".to_vec(),
        b"different-pass".to_vec(),
        [0x10, 0x20, 0x30, 0x40, 0x50, 0x60],
        [192, 168, 7, 9],
    )
}

fn is(d: &Decoded, p: &Params) -> bool {
    d.ssid.as_deref() == Some(p.ssid.as_slice()) && d.password.expose() == p.password.expose()
}

#[test]
fn a_new_session_replaces_an_unfinished_one() {
    let a = cases()[0].params();
    let b = other_params();
    let (ea, eb) = (encoded(&a), encoded(&b));
    // Session A seen twice but never complete (item 7's datagrams always lost), then B.
    let mut decoder = Decoder::new();
    let missing = {
        let code = smartconfig::esptouch_v1::data_code(7, a.phone_ip[2]);
        code.to_vec()
    };
    let partial: Vec<u16> = ea
        .datum
        .chunks(3)
        .filter(|c| *c != missing.as_slice())
        .flatten()
        .copied()
        .collect();
    assert!(partial.len() < ea.datum.len());
    let a_stream = ea
        .guide
        .iter()
        .chain(&partial)
        .chain(&ea.guide)
        .chain(&partial);
    assert_eq!(run(&mut decoder, a_stream.map(|l| l + 80)), None);
    let (d, used) = run(&mut decoder, loop_stream(&eb).map(|l| l + 80).take(20_000)).unwrap();
    assert_decoded(&d, &b, 80);
    assert!(used <= 4 * (4 + eb.datum.len()), "{used}");
}

#[test]
fn two_interleaved_sessions_never_produce_a_mixture_and_the_survivor_wins() {
    let a = cases()[0].params();
    let b = other_params();
    let (ea, eb) = (encoded(&a), encoded(&b));
    for seed in 0..6 {
        let mut r = rng(100 + seed);
        let mut decoder = Decoder::new();
        let mut push = |l: u16, r: &mut rand_chacha::ChaCha8Rng| {
            if r.next_u32() % 10 < 2 {
                return None;
            }
            let d = decoder.push(l + 82)?;
            assert!(is(&d, &a) || is(&d, &b), "mixture: {d:?}");
            Some(d)
        };
        // Whole passes of A and B alternating (a sender restarted back and forth)...
        for round in 0..20 {
            let enc = if round % 2 == 0 { &ea } else { &eb };
            for &l in enc.guide.iter().chain(&enc.datum) {
                push(l, &mut r);
            }
        }
        // ...then only B: B comes out within a few passes.
        let pass = 4 + eb.datum.len();
        let got = loop_stream(&eb)
            .take(8 * pass)
            .find_map(|l| push(l, &mut r))
            .unwrap_or_else(|| panic!("seed {seed}: B not decoded"));
        assert!(is(&got, &b));
    }
}

#[test]
fn legacy_layout_is_not_mistaken_for_the_current_one_under_loss() {
    let case = cases().into_iter().find(|c| c.omits_ssid()).unwrap();
    let params = case.params();
    let enc = encoded(&params);
    for seed in 0..SEEDS {
        let mut decoder = Decoder::new();
        let stream = loss(0.3).apply(app_stream(&enc), 82, seed);
        let (d, _) = run(&mut decoder, stream.take(12 * PERIOD)).unwrap();
        assert_decoded(&d, &params, 82);
    }
    // The current layout with the same inputs is never reported as legacy.
    let mut current = params.clone();
    current.omit_ssid = false;
    let enc = encode(&current).unwrap();
    for seed in 0..SEEDS {
        let mut decoder = Decoder::new();
        let stream = loss(0.3).apply(app_stream(&enc), 82, seed);
        let (d, _) = run(&mut decoder, stream.take(12 * PERIOD)).unwrap();
        assert_decoded(&d, &current, 82);
    }
}

#[test]
fn halves_from_different_passes_complete_an_item() {
    for case in cases().iter().filter(|c| !c.omits_ssid()) {
        let params = case.params();
        let enc = encoded(&params);
        let without = |drop: usize| -> Vec<u16> {
            enc.datum
                .chunks(3)
                .flat_map(|c| c.iter().enumerate().filter(move |(j, _)| *j != drop))
                .map(|(_, &l)| l + 64)
                .collect()
        };
        // Pass 1 loses every last datagram, pass 2 every first one: no triplet is ever whole.
        let stream: Vec<u16> = enc
            .guide
            .iter()
            .map(|l| l + 64)
            .chain(without(2))
            .chain(enc.guide.iter().map(|l| l + 64))
            .chain(without(0))
            .collect();
        let mut decoder = Decoder::new();
        let (d, used) = run(&mut decoder, stream.iter().copied()).unwrap();
        assert_decoded(&d, &params, 64);
        assert_eq!(used, stream.len(), "{}", case.name);
        // A pass that only ever has first halves gives nothing.
        let mut decoder = Decoder::new();
        let first_halves = enc.guide.iter().map(|l| l + 64).chain(without(2));
        assert_eq!(
            run(&mut decoder, first_halves.clone().chain(without(2))),
            None
        );
        assert_eq!(decoder.received_items(), 0);
    }
}
