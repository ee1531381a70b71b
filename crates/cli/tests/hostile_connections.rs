//! `wifiprov device` against hostile TCP clients: slow senders (bodies and heads trickled a
//! byte at a time), a flood of idle connections under a low open-file limit, and clients that
//! half-close after their request. The real binary, raw HTTP/1.1 over loopback; the attacker
//! speaks from 127.0.0.1 or 127.0.0.2 (loopback accepts any 127/8 source).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use protocomm::{ClientHandshake, ClientSecurity};
use support::{Agent, Run, os_rng, sec, wifiprov};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The lowered connection cap of the slowloris tests.
const MAX: usize = 64;
/// Head and body deadlines of the slowloris tests: far longer than the provisioning may take,
/// so that it succeeds by eviction, not because the attackers timed out.
const LONG: &str = "60";
/// What a provisioning may take while the attack goes on (well under [`LONG`]).
const BOUND: Duration = Duration::from_secs(30);
/// Gap between two trickled bytes.
const TRICKLE: Duration = Duration::from_millis(200);

fn source(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Connects to `agent` from `from` (port chosen by the kernel).
async fn connect_from(agent: &Agent, from: IpAddr) -> TcpStream {
    let to: SocketAddr = agent.addr.parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    tokio::time::timeout(Duration::from_secs(5), socket.connect(to))
        .await
        .expect("connect timed out")
        .unwrap()
}

/// Runs `wifiprov provision` (security 0) against `agent` off the async runtime.
async fn provision(agent: &Agent) -> (Run, Duration) {
    let addr = agent.addr.clone();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let run = wifiprov(&[
            "provision",
            "--service_name",
            &addr,
            "--ssid",
            "HomeNet",
            "--passphrase",
            "correct-horse",
        ]);
        (run, started.elapsed())
    })
    .await
    .unwrap()
}

/// How many of `streams` the device has closed (end of stream or an error on read).
fn closed(streams: &[TcpStream]) -> usize {
    let mut buf = [0u8; 256];
    streams
        .iter()
        .filter(|s| match s.try_read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        })
        .count()
}

/// Opens `n` connections from `from`, each sending `head`, then trickles `byte` on all of
/// them until `stop` fires (at most `rounds` rounds). Returns the streams.
async fn slowloris(agent: &Agent, from: IpAddr, n: usize, head: &'static [u8]) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = connect_from(agent, from).await;
        s.write_all(head).await.unwrap();
        streams.push(s);
    }
    streams
}

/// Trickles `byte` on every stream every [`TRICKLE`] until `until` (bounded by its caller).
async fn trickle(streams: &mut [TcpStream], byte: &'static [u8], until: Instant) {
    while Instant::now() < until {
        for s in streams.iter_mut() {
            // An evicted connection fails the write; that is expected.
            let _ = tokio::time::timeout(Duration::from_millis(50), s.write_all(byte)).await;
        }
        tokio::time::sleep(TRICKLE).await;
    }
}

fn slow_agent() -> Agent {
    let (mut args, _) = sec(0);
    let max = MAX.to_string();
    args.extend(["--connect-delay", "0", "--http-max-connections"]);
    let mut args: Vec<String> = args.into_iter().map(str::to_owned).collect();
    args.extend([
        max,
        "--http-head-timeout".into(),
        LONG.into(),
        "--http-body-timeout".into(),
        LONG.into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Agent::start(&args)
}

/// Runs the attack `streams` and a provisioning at the same time; the provisioning must
/// succeed within [`BOUND`].
async fn provision_under_attack(
    agent: &Agent,
    mut streams: Vec<TcpStream>,
    byte: &'static [u8],
) -> Vec<TcpStream> {
    let until = Instant::now() + BOUND;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let attack = tokio::spawn(async move {
        tokio::select! {
            () = trickle(&mut streams, byte, until) => {}
            _ = stop_rx => {}
        }
        streams
    });
    let (run, took) = provision(agent).await;
    let _ = stop_tx.send(());
    let streams = attack.await.unwrap();
    assert_eq!(
        run.code,
        0,
        "provisioning under attack failed: {run:#?}\n{}",
        agent.output()
    );
    assert!(took < BOUND, "provisioning took {took:?}");
    streams
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_slowloris_from_the_same_address_loses_its_oldest_connections() {
    let agent = slow_agent();
    // As many connections as the cap, from the provisioner's own address: the cap per source
    // (three quarters) makes the later ones push out the earlier ones.
    let head: &[u8] =
        b"POST /prov-session HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Length: 4096\r\n\r\n";
    let streams = slowloris(&agent, source(1), MAX, head).await;
    let streams = provision_under_attack(&agent, streams, b"x").await;
    // The provisioner pushed out slow senders (the per-source share already closed some).
    let gone = closed(&streams);
    assert!(gone > MAX / 4, "only {gone} slow connections were closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_slowloris_from_another_address_keeps_to_its_share() {
    let agent = slow_agent();
    let head: &[u8] = b"POST /prov-session HTTP/1.1\r\nHost: 192.168.4.1\r\n";
    let streams = slowloris(&agent, source(2), MAX, head).await;
    let streams = provision_under_attack(&agent, streams, b"X-Slow: 1\r\n").await;
    // 127.0.0.2 may hold three quarters of the table; its newer connections pushed out its
    // own older ones, and the provisioner (127.0.0.1) found room without touching them.
    assert_eq!(closed(&streams), MAX / 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_heads_and_bodies_hit_their_total_deadline() {
    let (mut args, _) = sec(0);
    args.extend(["--http-head-timeout", "1", "--http-body-timeout", "1"]);
    let agent = Agent::start(&args);
    let mut head = connect_from(&agent, source(1)).await;
    head.write_all(b"POST /proto-ver HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut body = connect_from(&agent, source(1)).await;
    body.write_all(b"POST /proto-ver HTTP/1.1\r\nContent-Length: 4096\r\n\r\n")
        .await
        .unwrap();
    // A byte every 200 ms never lets either go quiet for a second, yet both are closed after
    // their total deadline: well before 25 rounds (5 s).
    let mut streams = [head, body];
    let mut open = [true, true];
    for _ in 0..25 {
        for (s, open) in streams.iter_mut().zip(open.iter_mut()) {
            if *open && s.write_all(b"X").await.is_err() {
                *open = false;
            }
        }
        for (s, open) in streams.iter().zip(open.iter_mut()) {
            let mut buf = [0u8; 64];
            match s.try_read(&mut buf) {
                Ok(0) => *open = false,
                Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => *open = false,
                _ => {}
            }
        }
        if open == [false, false] {
            break;
        }
        tokio::time::sleep(TRICKLE).await;
    }
    assert_eq!(
        open,
        [false, false],
        "a trickling sender outlived its deadline"
    );
}

/// CPU time (user + system, clock ticks) the process `pid` has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), counted from the state (field 3).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_flood_under_a_low_open_file_limit_neither_starves_nor_spins() {
    let (mut args, _) = sec(0);
    args.extend(["--connect-delay", "0"]);
    // 128 open files, soft and hard: the device fits its cap to 128 - 64 reserved.
    let agent = Agent::start_wrapped(
        tempfile::tempdir().unwrap(),
        &["prlimit", "--nofile=128:128"],
        &args,
    );
    assert!(
        agent.output().contains("max_connections=64"),
        "{}",
        agent.output()
    );
    // Twice the open-file limit of idle connections, from two addresses.
    let mut idle = Vec::new();
    for i in 0..256 {
        idle.push(connect_from(&agent, source(2 + (i % 2) as u8)).await);
    }
    let before = cpu_ticks(agent.child.id());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spent = cpu_ticks(agent.child.id()) - before;
    // Not spinning: well under a second of CPU (100 ticks) in these two seconds.
    assert!(spent < 100, "the device used {spent} ticks while flooded");
    let (run, _) = provision(&agent).await;
    assert_eq!(run.code, 0, "{run:#?}\n{}", agent.output());
    let warnings = agent
        .output()
        .matches("accepting an HTTP connection failed")
        .count();
    assert!(
        warnings <= 1,
        "{warnings} accept warnings:\n{}",
        agent.output()
    );
    drop(idle);
}

/// Sends one POST with `body`, shuts down the sending side, reads the whole answer.
async fn half_closed_post(agent: &Agent, endpoint: &str, body: &[u8]) -> Vec<u8> {
    let mut s = connect_from(agent, source(1)).await;
    let head = format!(
        "POST /{endpoint} HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    s.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .expect("no answer after half-close")
        .unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_closed_requests_are_answered() {
    let (args, _) = sec(0);
    let agent = Agent::start(&args);
    for _ in 0..8 {
        let answer = half_closed_post(&agent, "proto-ver", b"---").await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("\"ver\""), "{text}");

        let (_, cmd0) = ClientHandshake::start(ClientSecurity::Sec0, &mut os_rng()).unwrap();
        let answer = half_closed_post(&agent, "prov-session", &cmd0).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Set-Cookie: session="), "{text}");
    }
}
