//! Packets a receiver needs before it decodes, per protocol and loss rate.
//!
//! The sender's real schedule (guide phases, pacing, repetitions) is looped; the receiver starts
//! at a random point of it and every datagram is lost with probability p. For each protocol and
//! p ∈ {0, 10 %, 30 %} the table gives the median (and 90th percentile) over SEEDS runs of the
//! datagrams *sent* until the decoder returned the message, the matching air time, and one full
//! transmission cycle for comparison. Lengths are shifted by 82 (WPA2, QoS, FCS).
//!
//! `cargo run --release -p smartconfig --example loss_table [SEEDS]`

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use smartconfig::{LengthDecoder, Transmit, airkiss, esptouch_v1, esptouch_v2};

const OFFSET: u16 = 82;
const SSID: &[u8] = b"HomeWiFi";
const PASSWORD: &[u8] = b"correct pass";
const BSSID: [u8; 6] = [0x24, 0x0a, 0xc4, 0x11, 0x22, 0x33];

struct Case {
    name: &'static str,
    schedule: Vec<Transmit>,
    make: Box<dyn Fn() -> Box<dyn LengthDecoder>>,
}

fn cases() -> Result<Vec<Case>, smartconfig::EncodeError> {
    let v1 = esptouch_v1::encode(&esptouch_v1::Params::new(
        SSID,
        PASSWORD,
        BSSID,
        [192, 168, 1, 23],
    ))?;
    let mut fill = |buf: &mut [u8]| buf.iter_mut().for_each(|b| *b = 0x2a);
    let v2 = esptouch_v2::encode(&esptouch_v2::Params::new(SSID, PASSWORD, BSSID), &mut fill)?;
    let ak = airkiss::encode(&airkiss::Params::new(SSID, PASSWORD, 0x5a))?;
    Ok(vec![
        Case {
            name: "ESPTouch v1",
            schedule: v1.schedule(),
            make: Box::new(|| Box::new(esptouch_v1::Decoder::new())),
        },
        Case {
            name: "ESPTouch v2",
            schedule: v2.schedule(),
            make: Box::new(|| Box::new(esptouch_v2::Decoder::new(None))),
        },
        Case {
            name: "AirKiss",
            schedule: ak.schedule(),
            make: Box::new(|| Box::new(airkiss::Decoder::new(None))),
        },
    ])
}

/// Datagrams sent (and microseconds elapsed) until the decoder returned a message.
fn run(case: &Case, loss: f64, seed: u64) -> Option<(u64, u64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut decoder = (case.make)();
    let n = case.schedule.len();
    let start = (rng.next_u64() % n as u64) as usize;
    let mut elapsed = 0u64;
    for sent in 1..=200 * n as u64 {
        let t = case.schedule.get((start + sent as usize - 1) % n)?;
        elapsed += u64::from(t.gap_us);
        let lost = (rng.next_u64() as f64 / u64::MAX as f64) < loss;
        if !lost && decoder.push(t.length + OFFSET).is_some() {
            return Some((sent, elapsed));
        }
    }
    None
}

fn main() -> Result<(), smartconfig::EncodeError> {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(101);
    println!(
        "SSID {} bytes, password {} bytes, offset {OFFSET}, {seeds} seeds per cell\n",
        SSID.len(),
        PASSWORD.len()
    );
    println!(
        "| protocol | one cycle (datagrams / s) | loss | median sent (p90) | median time s (p90) | failed |"
    );
    println!("|---|---|---|---|---|---|");
    for case in cases()? {
        let cycle_us: u64 = case.schedule.iter().map(|t| u64::from(t.gap_us)).sum();
        for loss in [0.0, 0.10, 0.30] {
            let mut sent = Vec::new();
            let mut time = Vec::new();
            let mut failed = 0;
            for seed in 0..seeds {
                match run(&case, loss, seed) {
                    Some((s, t)) => {
                        sent.push(s);
                        time.push(t);
                    }
                    None => failed += 1,
                }
            }
            sent.sort_unstable();
            time.sort_unstable();
            let pick = |v: &[u64], q: f64| {
                v.get(((v.len() as f64 - 1.0) * q).round() as usize)
                    .copied()
                    .unwrap_or(0)
            };
            println!(
                "| {} | {} / {:.2} | {:.0} % | {} ({}) | {:.2} ({:.2}) | {} |",
                case.name,
                case.schedule.len(),
                cycle_us as f64 / 1e6,
                loss * 100.0,
                pick(&sent, 0.5),
                pick(&sent, 0.9),
                pick(&time, 0.5) as f64 / 1e6,
                pick(&time, 0.9) as f64 / 1e6,
                failed
            );
        }
    }
    Ok(())
}
