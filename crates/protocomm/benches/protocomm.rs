//! Criterion benchmarks of the protocomm handshakes and session ciphers.
//!
//! Run with `cargo bench -p protocomm` (or add a filter, e.g. `-- device_sec2`). Criterion does
//! not enforce the targets below: compare the median against them by hand. The middle value of
//! the printed `time:` triple is Criterion's typical estimate (slope or mean); the median is
//! `median.point_estimate` (nanoseconds) in `target/criterion/<group>/<function>/new/estimates.json`.
//! Every benchmark draws its randomness from the operating system
//! (`rand_core::UnwrapErr(getrandom::SysRng)`), as a real device or client would, so the cost of
//! those `getrandom` calls is part of the figures.
//!
//! | benchmark | what is timed | target |
//! |---|---|---|
//! | `device_sec1_handshake` | device: `Cmd0` + `Cmd1` on `prov-session` (X25519, PoP) | median ≤ 200 µs |
//! | `device_sec2_handshake` | device: `Cmd0` + `Cmd1` on `prov-session` (SRP-6a 3072) | median ≤ 10 ms |
//! | `client_sec2_handshake` | client: `start` + `Resp0` + `Resp1` (SRP-6a 3072) | median ≤ 15 ms |
//! | `sec1_1kib_roundtrip` | 1 KiB echo, AES-256-CTR | ≥ 100 MB/s (≤ 10.24 µs per round trip) |
//! | `sec2_1kib_roundtrip` | 1 KiB echo, AES-256-GCM | ≥ 100 MB/s (≤ 10.24 µs per round trip) |
//!
//! # Timing one side of a two-party handshake
//!
//! Each handshake message depends on the peer's previous answer (`Cmd1` needs the device's
//! `Resp0`, which needs the client's fresh `A`), so the input of the side under test cannot be
//! prepared in a `iter_batched` setup closure without running half of the handshake there too.
//! Instead the handshake benchmarks use `iter_custom`: every iteration runs a complete, fresh
//! handshake between a real client and a real device, and only the calls made by the side under
//! test are timed with `std::time::Instant`; their durations are summed and returned to
//! Criterion. The peer's work, the session clean-up and the sanity checks run between the timed
//! sections and are excluded. Clock reads cost tens of nanoseconds against handshake steps of
//! tens of microseconds and more, so the bracketing error is far below the noise. (Timing the
//! whole exchange and subtracting a separately measured client-only cost was rejected: it
//! subtracts two noisy estimates and double-counts shared cache effects.)
//!
//! Criterion sizes `iter_custom` samples from the wall-clock time of its warm-up, so a handshake
//! benchmark still finishes in about its configured measurement time; the untimed peer work just
//! leaves fewer timed iterations in it (Criterion's "estimated ... iterations" line counts them).
//! The whole suite takes about half a minute once built.
//!
//! # The benchmarks
//!
//! * **`device_sec1_handshake`** — a [`Device`] with security 1 and a proof of possession. Timed:
//!   `Device::handle_request` for `Cmd0` (X25519 key generation and agreement, PoP mixing, random
//!   draw, `Resp0` encoding) plus for `Cmd1` (AES-CTR check of the verify token, `Resp1`).
//!   Target: median ≤ 200 µs.
//! * **`device_sec2_handshake`** — a [`Device`] with security 2 (patch 1). The salt and verifier
//!   ([`Sec2Credentials`]) are computed once before measuring, as a device stores them in flash.
//!   Timed: `handle_request` for `Cmd0` (draws `b`, computes `B` and the SRP premaster secret)
//!   plus for `Cmd1` (checks `M`, sends `HAMK`, sets up AES-GCM). Target: median ≤ 10 ms.
//! * **`client_sec2_handshake`** — the client against the same device. Timed:
//!   `ClientHandshake::start` (draws `a`, computes `A`) plus `handle_response(Resp0)` (computes
//!   `x`, the premaster secret and `M`) plus `handle_response(Resp1)` (checks `HAMK`).
//!   Target: median ≤ 15 ms.
//! * **`sec1_1kib_roundtrip`**, **`sec2_1kib_roundtrip`** — one established session per scheme,
//!   reused for every iteration (the session table never fills and, with a counting GCM nonce,
//!   the 2³² message budget is far away). Timed per iteration: the client encrypts a 1024-byte
//!   message, the device decrypts it, routes it to an echo handler and encrypts the answer, and
//!   the client decrypts that — two encryptions and two decryptions of 1 KiB plus the routing,
//!   which is what one provisioning request costs. Throughput is reported as 1024 bytes per
//!   round trip, so the figure understates raw cipher speed by at least a factor of four.
//!   Target: ≥ 100 MB/s for both schemes.
//!
//! Handshakes run on a fresh connection per iteration, closed (untimed) after each, so the device's table (default four sessions, 60 s idle timeout) never refuses or
//! evicts, and the clock passed to the device stays at [`Instant::ZERO`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use protocomm::device::EP_SESSION;
use protocomm::{
    AfterDisconnect, ClientHandshake, ClientSecurity, ClientSession, ConnectionId, Device,
    DeviceConfig, HandlerError, HandshakeStep, Instant, Sec2Credentials, Secret, Security,
    SessionId,
};
use rand_core::UnwrapErr;

type OsRng = UnwrapErr<getrandom::SysRng>;

const POP: &str = "abcd1234";
const USERNAME: &[u8] = b"wifiprov";
const PASSWORD: &str = "correct horse battery staple";
const MESSAGE_LEN: usize = 1024;
const NOW: Instant = Instant::ZERO;
const APP_ENDPOINT: &str = "prov-config";

fn os_rng() -> OsRng {
    UnwrapErr(getrandom::SysRng)
}

/// The application handler of every benchmark: echoes the request.
fn echo(_: SessionId, _: &str, request: &[u8]) -> Result<Vec<u8>, HandlerError> {
    Ok(request.to_vec())
}

fn sec1_device() -> Device {
    let security = Security::Sec1 {
        pop: Some(Secret::from(POP)),
    };
    Device::new(DeviceConfig::new(security)).unwrap()
}

fn sec1_client() -> ClientSecurity {
    ClientSecurity::Sec1 {
        pop: Some(Secret::from(POP)),
    }
}

fn sec2_device(rng: &mut OsRng) -> Device {
    let credentials = Sec2Credentials::generate(USERNAME, &Secret::from(PASSWORD), rng).unwrap();
    let security = Security::Sec2 {
        credentials,
        patch: 1,
    };
    Device::new(DeviceConfig::new(security)).unwrap()
}

fn sec2_client() -> ClientSecurity {
    ClientSecurity::Sec2 {
        username: USERNAME.to_vec(),
        password: Secret::from(PASSWORD),
        patch: 1,
    }
}

/// Runs a whole handshake without timing anything.
fn establish(
    device: &mut Device,
    id: ConnectionId,
    security: ClientSecurity,
    rng: &mut OsRng,
) -> ClientSession {
    let (mut handshake, mut request) = ClientHandshake::start(security, rng).unwrap();
    loop {
        let response = device
            .handle_request(NOW, id, EP_SESSION, &request, rng, &mut echo)
            .unwrap();
        match handshake.handle_response(&response).unwrap() {
            HandshakeStep::Send(next, req) => (handshake, request) = (next, req),
            HandshakeStep::Done(session) => {
                assert!(device.is_established(device.session_of(id).unwrap()));
                return session;
            }
        }
    }
}

/// Which side of a two-message handshake is timed.
#[derive(Clone, Copy)]
enum Side {
    Device,
    Client,
}

/// Runs `iters` fresh two-message handshakes (security 1 or 2) and returns the summed time
/// spent in the calls made by `side`.
fn timed_handshakes(
    iters: u64,
    side: Side,
    device: &mut Device,
    security: &ClientSecurity,
    rng: &mut OsRng,
) -> Duration {
    fn timed(on: bool, total: &mut Duration, start: std::time::Instant) {
        if on {
            *total += start.elapsed();
        }
    }
    let mut total = Duration::ZERO;
    let (dev, cli) = (matches!(side, Side::Device), matches!(side, Side::Client));
    for _ in 0..iters {
        let id = device.connect(rng);
        let security = security.clone();

        let t = std::time::Instant::now();
        let (handshake, cmd0) = ClientHandshake::start(black_box(security), rng).unwrap();
        timed(cli, &mut total, t);

        let t = std::time::Instant::now();
        let resp0 = device
            .handle_request(NOW, id, EP_SESSION, black_box(&cmd0), rng, &mut echo)
            .unwrap();
        timed(dev, &mut total, t);

        let t = std::time::Instant::now();
        let step = handshake.handle_response(black_box(&resp0)).unwrap();
        timed(cli, &mut total, t);
        let HandshakeStep::Send(handshake, cmd1) = step else {
            panic!("handshake finished after one message");
        };

        let t = std::time::Instant::now();
        let resp1 = device
            .handle_request(NOW, id, EP_SESSION, black_box(&cmd1), rng, &mut echo)
            .unwrap();
        timed(dev, &mut total, t);

        let t = std::time::Instant::now();
        let step = handshake.handle_response(black_box(&resp1)).unwrap();
        timed(cli, &mut total, t);

        assert!(matches!(step, HandshakeStep::Done(_)));
        device.disconnect(id, AfterDisconnect::Close);
        assert_eq!(device.session_count(), 0);
        drop(black_box(step));
    }
    total
}

/// A group holding a single slow benchmark: flat sampling, `samples` samples.
fn slow_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    samples: usize,
    measure: Duration,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(samples)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measure);
    group
}

fn device_sec1_handshake(c: &mut Criterion) {
    let mut rng = os_rng();
    let mut device = sec1_device();
    let security = sec1_client();
    let mut group = c.benchmark_group("device_sec1_handshake");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("cmd0_cmd1", |b| {
        b.iter_custom(|iters| {
            timed_handshakes(iters, Side::Device, &mut device, &security, &mut rng)
        });
    });
    group.finish();
}

fn device_sec2_handshake(c: &mut Criterion) {
    let mut rng = os_rng();
    let mut device = sec2_device(&mut rng);
    let security = sec2_client();
    let mut group = slow_group(c, "device_sec2_handshake", 30, Duration::from_secs(6));
    group.bench_function("cmd0_cmd1", |b| {
        b.iter_custom(|iters| {
            timed_handshakes(iters, Side::Device, &mut device, &security, &mut rng)
        });
    });
    group.finish();
}

fn client_sec2_handshake(c: &mut Criterion) {
    let mut rng = os_rng();
    let mut device = sec2_device(&mut rng);
    let security = sec2_client();
    let mut group = slow_group(c, "client_sec2_handshake", 30, Duration::from_secs(6));
    group.bench_function("start_resp0_resp1", |b| {
        b.iter_custom(|iters| {
            timed_handshakes(iters, Side::Client, &mut device, &security, &mut rng)
        });
    });
    group.finish();
}

/// Client encrypt → device decrypt, echo, encrypt → client decrypt, on one session.
fn roundtrip(c: &mut Criterion, name: &str, mut device: Device, security: ClientSecurity) {
    let mut rng = os_rng();
    let id = device.connect(&mut rng);
    let mut session = establish(&mut device, id, security, &mut rng);
    let message: Vec<u8> = (0..MESSAGE_LEN).map(|i| (i * 31 % 251) as u8).collect();

    let mut once = || {
        let wire = session.encrypt(black_box(&message)).unwrap();
        let answer = device
            .handle_request(NOW, id, APP_ENDPOINT, &wire, &mut rng, &mut echo)
            .unwrap();
        session.decrypt(&answer).unwrap()
    };
    assert_eq!(once(), message, "echo round trip corrupted the message");

    let mut group = c.benchmark_group(name);
    group
        .throughput(Throughput::Bytes(MESSAGE_LEN as u64))
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("client_device_client", |b| b.iter(&mut once));
    group.finish();
}

fn sec1_1kib_roundtrip(c: &mut Criterion) {
    roundtrip(c, "sec1_1kib_roundtrip", sec1_device(), sec1_client());
}

fn sec2_1kib_roundtrip(c: &mut Criterion) {
    let device = sec2_device(&mut os_rng());
    roundtrip(c, "sec2_1kib_roundtrip", device, sec2_client());
}

criterion_group!(
    benches,
    device_sec1_handshake,
    device_sec2_handshake,
    client_sec2_handshake,
    sec1_1kib_roundtrip,
    sec2_1kib_roundtrip
);
criterion_main!(benches);
