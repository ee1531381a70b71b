//! Decoder throughput: observations per second on one core.
//!
//! Each decoder is fed a long stream of the sender's real schedule (offset 82, 10 % loss and
//! one foreign length in ten) and restarted whenever it completes, so the figure covers
//! searching, locking and decoding. The receiver bench feeds whole observations (two stations,
//! both directions) through key lookup, deduplication and the decoders.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use smartconfig::{LengthDecoder, Transmit, airkiss, esptouch_v1, esptouch_v2};
use std::hint::black_box;

const N: usize = 1 << 16;

fn stream(schedule: &[Transmit], seed: u64) -> Vec<u16> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(N);
    for t in schedule.iter().cycle() {
        if out.len() == N {
            break;
        }
        let r = rng.next_u32() % 100;
        if r < 10 {
            continue;
        }
        if r >= 90 {
            out.push((rng.next_u32() % 1500) as u16);
        }
        out.push(t.length + 82);
    }
    out.truncate(N);
    out
}

fn feed(decoder: &mut dyn LengthDecoder, lengths: &[u16]) -> usize {
    let mut done = 0;
    for &l in lengths {
        if decoder.push(black_box(l)).is_some() {
            done += 1;
        }
    }
    done
}

fn decoders(c: &mut Criterion) {
    let ssid = b"HomeWiFi";
    let password = b"correct pass";
    let bssid = [0x24, 0x0a, 0xc4, 0x11, 0x22, 0x33];
    let Ok(v1) = esptouch_v1::encode(&esptouch_v1::Params::new(
        ssid,
        password,
        bssid,
        [192, 168, 1, 9],
    )) else {
        return;
    };
    let mut fill = |buf: &mut [u8]| buf.iter_mut().for_each(|b| *b = 7);
    let Ok(v2) = esptouch_v2::encode(&esptouch_v2::Params::new(ssid, password, bssid), &mut fill)
    else {
        return;
    };
    let Ok(ak) = airkiss::encode(&airkiss::Params::new(ssid, password, 0x5a)) else {
        return;
    };
    let v1_stream = stream(&v1.schedule(), 1);
    let v2_stream = stream(&v2.schedule(), 2);
    let ak_stream = stream(&ak.schedule(), 3);

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("esptouch_v1", |b| {
        b.iter(|| feed(&mut esptouch_v1::Decoder::new(), &v1_stream))
    });
    group.bench_function("esptouch_v2", |b| {
        b.iter(|| feed(&mut esptouch_v2::Decoder::new(None), &v2_stream))
    });
    group.bench_function("airkiss", |b| {
        b.iter(|| feed(&mut airkiss::Decoder::new(None), &ak_stream))
    });
    group.finish();
}

/// Observations from eight stations (the phone in both directions, others' group traffic), one phone
/// sending ESPTouch v1, through the whole receiver listening for ESPTouch and AirKiss.
fn receiver(c: &mut Criterion) {
    use smartconfig::receiver::{Receiver, ReceiverConfig};
    use smartconfig::{Direction, Observation, ScType};

    let Ok(v1) = esptouch_v1::encode(&esptouch_v1::Params::new(
        b"HomeWiFi",
        b"correct pass",
        [0x24, 0x0a, 0xc4, 0x11, 0x22, 0x33],
        [192, 168, 1, 9],
    )) else {
        return;
    };
    let lengths = stream(&v1.schedule(), 4);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut observations = Vec::with_capacity(N);
    let mut seq = 0u16;
    let mut time = 0u64;
    for &length in &lengths {
        if observations.len() >= N {
            break;
        }
        seq = (seq + 1) & 0x0fff;
        time += 4000;
        // The phone's datagram, as the phone sent it and as the access point relayed it.
        for direction in [Direction::ToDs, Direction::FromDs] {
            observations.push(Observation {
                time_us: time,
                source: [2, 0, 0, 0, 0, 1],
                destination: [0xff; 6],
                bssid: [2, 0, 0, 0, 1, 1],
                direction,
                length,
                seq: Some(seq),
                channel: Some(6),
            });
        }
        // Another station's group traffic.
        let station = 2 + (rng.next_u32() % 7) as u8;
        observations.push(Observation {
            time_us: time,
            source: [2, 0, 0, 0, 0, station],
            destination: [0x01, 0x00, 0x5e, 0, 0, 0xfb],
            bssid: [2, 0, 0, 0, 1, 1],
            direction: Direction::FromDs,
            length: (rng.next_u32() % 1500) as u16,
            seq: Some(rng.next_u32() as u16 & 0x0fff),
            channel: Some(6),
        });
    }
    observations.truncate(N);
    let mut group = c.benchmark_group("receiver");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("esptouch_airkiss_8_stations", |b| {
        b.iter(|| {
            let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouchAirKiss));
            let mut done = 0usize;
            for obs in &observations {
                if let Some(smartconfig::receiver::Event::Done(_)) = rx.push(black_box(obs)) {
                    done += 1;
                    rx.reset();
                }
            }
            assert!(done > 0, "the receiver decoded nothing");
            done
        })
    });
    // The worst case for the link table: every frame comes from a station never seen before,
    // with a length that could start an ESPTouch guide, so each one evicts a link.
    let strangers: Vec<Observation> = (0..N)
        .map(|i| Observation {
            time_us: i as u64 * 100,
            source: [2, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8, 0x77],
            destination: [0xff; 6],
            bssid: [2, 0, 0, 0, 1, 1],
            direction: Direction::FromDs,
            length: 592 + (i % 4) as u16,
            seq: Some((i & 0x0fff) as u16),
            channel: Some(6),
        })
        .collect();
    group.bench_function("new_station_every_frame", |b| {
        b.iter(|| {
            let mut rx = Receiver::new(ReceiverConfig::new(ScType::EspTouchAirKiss));
            for obs in &strangers {
                black_box(rx.push(black_box(obs)));
            }
            rx.links()
        })
    });
    group.finish();
}

criterion_group!(benches, decoders, receiver);
criterion_main!(benches);
