//! AirKiss decoding through an impaired link (deterministic seeds): random loss, duplicated
//! lengths, interleaved noise; and noise alone never yields a message.
//!
//! Times are counted in periods of the reference sender (leading field, magic code and 15
//! passes of prefix + blocks; it sends five). Every run must deliver exactly the message sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use smartconfig::airkiss::{self, Decoder, Params, encode};
use smartconfig::{Decoded, LengthDecoder};

/// The link model.
#[derive(Clone, Copy, Debug)]
struct Link {
    /// Probability that a datagram is lost.
    loss: f64,
    /// Probability that a received datagram is seen twice (an undeduplicated retry).
    duplicate: f64,
    /// Probability that a noise length (uniform in 0..1500) is inserted before a datagram.
    noise: f64,
}

const CLEAN: Link = Link {
    loss: 0.0,
    duplicate: 0.0,
    noise: 0.0,
};

/// How long a run may last before it counts as a failure (the reference sender stops after 5).
const MAX_PERIODS: usize = 30;

fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    f64::from(rng.next_u32()) < p * f64::from(u32::MAX)
}

fn messages() -> Vec<Params> {
    vec![
        Params::new(b"MyWiFi".to_vec(), b"12345678".to_vec(), 20),
        Params::new(
            "Café-网络".as_bytes().to_vec(),
            "pässwörd!".as_bytes().to_vec(),
            200,
        ),
        Params::new(vec![b'S'; 32], vec![b'p'; 64], 97),
        Params::new(b"OpenNet".to_vec(), Vec::new(), 5),
        Params::new(b"Keyed".to_vec(), b"secret pass".to_vec(), 51).with_aes_key([0x5a; 16]),
    ]
}

/// Sends the reference sender's period over and over through `link` at `offset`. Returns the
/// message and how many datagrams had been sent when it was decoded.
fn transmit(params: &Params, link: Link, offset: u16, seed: u64) -> Option<(Decoded, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let period = encode(params).unwrap().one_repetition_lengths();
    let mut decoder = Decoder::new(params.aes_key);
    let sent = period.iter().cycle().take(MAX_PERIODS * period.len());
    for (i, &len) in sent.enumerate() {
        let mut seen = Vec::with_capacity(3);
        if chance(&mut rng, link.noise) {
            seen.push(u16::try_from(rng.next_u32() % 1500).unwrap());
        }
        if !chance(&mut rng, link.loss) {
            seen.push(len + offset);
            if chance(&mut rng, link.duplicate) {
                seen.push(len + offset);
            }
        }
        for l in seen {
            if let Some(d) = decoder.push(l) {
                return Some((d, i + 1));
            }
        }
    }
    None
}

/// Statistics over all messages × `seeds` seeds, in periods of the message's reference sender.
struct Stats {
    median: f64,
    p90: f64,
    worst: f64,
    within_reference: f64,
}

fn run(link: Link, seeds: u64) -> Stats {
    let mut periods = Vec::new();
    for (m, params) in messages().iter().enumerate() {
        let period = encode(params).unwrap().one_repetition_lengths().len();
        for s in 0..seeds {
            let offset = [0, 60, 80, 82, 86, 136, 160][usize::try_from(s).unwrap() % 7];
            let seed = s + 1000 * u64::try_from(m).unwrap();
            let (decoded, used) = transmit(params, link, offset, seed)
                .unwrap_or_else(|| panic!("message {m}, seed {seed}, {link:?}: not decoded"));
            let what = format!("message {m}, seed {seed}, {link:?}");
            assert_eq!(decoded.ssid.as_deref(), Some(&params.ssid[..]), "{what}");
            assert_eq!(
                decoded.password.expose(),
                params.password.expose(),
                "{what}"
            );
            assert_eq!(decoded.token, params.token, "{what}");
            assert_eq!(decoded.offset, offset, "{what}");
            periods.push(used as f64 / period as f64);
        }
    }
    periods.sort_by(f64::total_cmp);
    let at = |q: f64| periods[((periods.len() - 1) as f64 * q).round() as usize];
    let within = periods
        .iter()
        .filter(|&&p| p <= airkiss::REFERENCE_PERIODS as f64)
        .count();
    let stats = Stats {
        median: at(0.5),
        p90: at(0.9),
        worst: at(1.0),
        within_reference: within as f64 / periods.len() as f64,
    };
    eprintln!(
        "{link:?}: {} runs, median {:.2}, p90 {:.2}, worst {:.2} periods; {:.1} % within 5",
        periods.len(),
        stats.median,
        stats.p90,
        stats.worst,
        100.0 * stats.within_reference
    );
    stats
}

#[test]
fn clean_link_decodes_in_the_first_period() {
    let s = run(CLEAN, 7);
    assert!(s.worst < 0.65, "{}", s.worst);
}

#[test]
fn loss_10_percent() {
    let s = run(
        Link {
            loss: 0.10,
            ..CLEAN
        },
        40,
    );
    assert!(s.median < 0.8 && s.worst < 1.5, "{} {}", s.median, s.worst);
}

#[test]
fn loss_20_percent() {
    let s = run(
        Link {
            loss: 0.20,
            ..CLEAN
        },
        40,
    );
    assert!(
        s.median < 1.2 && s.p90 < 2.0 && s.worst < 3.0,
        "{} {}",
        s.median,
        s.worst
    );
    assert!(s.within_reference == 1.0);
}

#[test]
fn loss_30_percent() {
    let s = run(
        Link {
            loss: 0.30,
            ..CLEAN
        },
        40,
    );
    assert!(
        s.median < 3.0 && s.p90 < 4.5 && s.worst < 8.0,
        "{} {}",
        s.median,
        s.worst
    );
    assert!(s.within_reference >= 0.95, "{}", s.within_reference);
}

#[test]
fn duplicated_lengths() {
    let s = run(
        Link {
            duplicate: 0.2,
            ..CLEAN
        },
        40,
    );
    assert!(s.median < 0.6 && s.worst < 1.0, "{} {}", s.median, s.worst);
}

#[test]
fn interleaved_noise() {
    let s = run(
        Link {
            noise: 0.2,
            ..CLEAN
        },
        40,
    );
    assert!(s.median < 0.7 && s.worst < 1.0, "{} {}", s.median, s.worst);
}

#[test]
fn loss_duplicates_and_noise_together() {
    let s = run(
        Link {
            loss: 0.2,
            duplicate: 0.1,
            noise: 0.1,
        },
        40,
    );
    assert!(s.median < 2.0 && s.worst < 4.0, "{} {}", s.median, s.worst);
    assert!(s.within_reference == 1.0);
}

/// Random lengths, with and without a real leading field in front: never a message.
#[test]
fn noise_alone_never_yields_a_message() {
    for seed in 0..8u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut decoder = Decoder::new(None);
        // Half the seeds lock an offset first, so the noise reaches the block decoder.
        if seed % 2 == 1 {
            for _ in 0..10 {
                for l in [81, 82, 83, 84] {
                    assert!(decoder.push(l).is_none());
                }
            }
            assert_eq!(decoder.offset(), Some(80));
        }
        // Uniform over 0..1500, then concentrated on the AirKiss symbol range.
        for i in 0..200_000u32 {
            let max = if i < 100_000 { 1500 } else { 80 + 512 };
            let l = u16::try_from(rng.next_u32() % max).unwrap();
            assert!(decoder.push(l).is_none(), "seed {seed}: noise decoded");
        }
    }
}
