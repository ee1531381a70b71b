//! ESPTouch v2 decoder under loss, duplication and interleaved noise (deterministic seeds).

#![cfg(test)]

#[path = "esptouch_v2_support.rs"]
mod support;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use smartconfig::LengthDecoder;
use smartconfig::esptouch_v2::Decoder;
use support::{Case, assert_matches, cases};

const K: u16 = 82;

/// Uniform float in [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn below(rng: &mut ChaCha8Rng, n: u32) -> u32 {
    (rng.next_u64() % u64::from(n)) as u32
}

/// Channel model applied to the repeated cycle.
#[derive(Clone, Copy)]
struct Channel {
    loss: f64,
    duplicate: f64,
    /// Probability of a noise length (0..1500) before each datagram.
    noise: f64,
}

/// Sends the case's cycle through `channel` until the decoder returns a message or
/// `max_cycles` cycles were sent. Returns the cycles needed (1-based) and checks the message.
fn cycles_to_decode(case: &Case, channel: Channel, seed: u64, max_cycles: usize) -> Option<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut decoder = Decoder::new(case.key);
    for cycle in 1..=max_cycles {
        for &length in &case.lengths {
            while unit(&mut rng) < channel.noise {
                let noise = below(&mut rng, 1500) as u16;
                if let Some(d) = decoder.push(noise) {
                    assert_matches(&d, case, K);
                    return Some(cycle);
                }
            }
            if unit(&mut rng) < channel.loss {
                continue;
            }
            let copies = if unit(&mut rng) < channel.duplicate {
                2
            } else {
                1
            };
            for _ in 0..copies {
                if let Some(d) = decoder.push(length + K) {
                    assert_matches(&d, case, K);
                    return Some(cycle);
                }
            }
        }
    }
    None
}

/// For every case and `seeds` seeds: decodes within `bound` cycles; returns the worst and
/// the mean number of cycles.
fn check(channel: Channel, seeds: u64, bound: usize) -> (usize, f64) {
    let mut worst = 0;
    let mut total = 0;
    let mut runs = 0;
    for (c, case) in cases().iter().enumerate() {
        for seed in 0..seeds {
            let n = cycles_to_decode(case, channel, 1000 * c as u64 + seed, bound).unwrap_or_else(
                || panic!("{} seed {seed}: nothing within {bound} cycles", case.name),
            );
            worst = worst.max(n);
            total += n;
            runs += 1;
        }
    }
    (worst, total as f64 / runs as f64)
}

#[test]
fn ten_percent_loss() {
    let (worst, mean) = check(
        Channel {
            loss: 0.10,
            duplicate: 0.0,
            noise: 0.0,
        },
        20,
        8,
    );
    eprintln!("10% loss: worst {worst} cycles, mean {mean:.2}");
    assert!(mean < 3.5, "mean {mean}");
}

#[test]
fn twenty_percent_loss() {
    let (worst, mean) = check(
        Channel {
            loss: 0.20,
            duplicate: 0.0,
            noise: 0.0,
        },
        20,
        12,
    );
    eprintln!("20% loss: worst {worst} cycles, mean {mean:.2}");
    assert!(mean < 4.5, "mean {mean}");
}

#[test]
fn thirty_percent_loss() {
    let (worst, mean) = check(
        Channel {
            loss: 0.30,
            duplicate: 0.0,
            noise: 0.0,
        },
        20,
        16,
    );
    eprintln!("30% loss: worst {worst} cycles, mean {mean:.2}");
    assert!(mean < 6.5, "mean {mean}");
}

#[test]
fn duplicated_lengths_cost_nothing() {
    // Every datagram duplicated with probability 30 %: still decoded in the first cycle.
    let (worst, _) = check(
        Channel {
            loss: 0.0,
            duplicate: 0.3,
            noise: 0.0,
        },
        10,
        1,
    );
    assert_eq!(worst, 1);
}

#[test]
fn interleaved_noise() {
    // On average one stray length (uniform 0..1500) per 9 datagrams.
    let (worst, mean) = check(
        Channel {
            loss: 0.0,
            duplicate: 0.0,
            noise: 0.1,
        },
        20,
        10,
    );
    eprintln!("10% noise: worst {worst} cycles, mean {mean:.2}");
    assert!(mean < 4.5, "mean {mean}");
    // On average one stray length per 2.3 datagrams.
    let (worst, mean) = check(
        Channel {
            loss: 0.0,
            duplicate: 0.0,
            noise: 0.3,
        },
        20,
        24,
    );
    eprintln!("30% noise: worst {worst} cycles, mean {mean:.2}");
    assert!(mean < 9.0, "mean {mean}");
}

#[test]
fn loss_duplicates_and_noise_together() {
    let channel = Channel {
        loss: 0.2,
        duplicate: 0.1,
        noise: 0.1,
    };
    let (worst, mean) = check(channel, 20, 16);
    eprintln!("20% loss + 10% dup + 10% noise: worst {worst} cycles, mean {mean:.2}");
    assert!(mean < 9.0, "mean {mean}");
}

#[test]
fn clean_link_with_offset_changes_relocks() {
    // The same phone seen at another offset (e.g. the other direction's copy fed to the same
    // decoder by mistake): the full sync pattern at the new offset takes over.
    let case = &cases()[0];
    let mut decoder = Decoder::new(None);
    let mut lengths: Vec<u16> = case.lengths[..30].iter().map(|l| l + 80).collect();
    lengths.extend(case.lengths.iter().map(|l| l + 82));
    let got: Vec<_> = lengths.iter().filter_map(|&l| decoder.push(l)).collect();
    assert_eq!(got.len(), 1);
    assert_matches(&got[0], case, 82);
}

#[test]
fn noise_alone_never_yields_a_message() {
    for seed in 0..4 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut decoder = Decoder::new(None);
        let mut keyed = Decoder::new(Some([seed as u8; 16]));
        for i in 0..250_000u32 {
            // Mostly the frame-length range, sometimes anything.
            let length = if i % 8 == 0 {
                rng.next_u64() as u16
            } else {
                below(&mut rng, 1500) as u16
            };
            assert!(decoder.push(length).is_none(), "seed {seed} at {i}");
            assert!(keyed.push(length).is_none(), "seed {seed} at {i}");
        }
    }
}

#[test]
fn noise_made_of_protocol_lengths_never_yields_a_message() {
    // Only lengths of the right classes at the right offset: sync, counts, markers, planes.
    for seed in 10..13 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut decoder = Decoder::new(None);
        for i in 0..250_000u32 {
            let l = match below(&mut rng, 10) {
                0 => 1048,
                1 => 1072 + below(&mut rng, 41) as u16,
                2 | 3 => 128 + below(&mut rng, 40) as u16,
                _ => {
                    let index = below(&mut rng, 8) as u16;
                    128 * index + 64 + below(&mut rng, 64) as u16
                }
            };
            assert!(decoder.push(l + K).is_none(), "seed {seed} at {i}");
        }
    }
}

#[test]
fn wrong_keys_never_yield_a_message() {
    for case in cases().into_iter().filter(|c| c.encrypted) {
        for seed in 0..16u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut key = [0u8; 16];
            rng.fill_bytes(&mut key);
            let mut decoder = Decoder::new(Some(key));
            for _ in 0..10 {
                for &l in &case.lengths {
                    if unit(&mut rng) < 0.1 {
                        continue;
                    }
                    assert!(decoder.push(l + K).is_none(), "{} seed {seed}", case.name);
                }
            }
            assert!(decoder.decrypt_failures() > 0, "{} seed {seed}", case.name);
        }
    }
}
