//! How `wifiprov device` holds up with strangers on its network, measured on the release binary.
//!
//! `cargo bench -p wifiprov --bench hostile_load` runs each attack against a fresh agent on
//! loopback while a legitimate `wifiprov provision` (the real binary, from 127.0.0.1) provisions
//! the device again and again; the attackers connect from 127.0.0.2, another source address:
//!
//! | scenario | attack |
//! |---|---|
//! | `baseline` | none |
//! | `body_slowloris` | 1030 connections, each sends a head with `Content-Length: 4096` and then one body byte a second; closed ones reconnect |
//! | `header_slowloris` | 1030 connections, each sends one byte of its request head a second |
//! | `idle_flood` | the agent runs with a file limit of 1024; 1100 connections that send nothing, reconnecting when closed |
//! | `cmd0_flood_sec2` | 30 security 2 `Cmd0`s a second, each on a new connection; `proto-ver` latency is sampled 20 times a second on an open connection from 127.0.0.1 |
//! | `wrong_pop` | one security 1 handshake with a wrong proof of possession a second, for 60 s |
//!
//! For each: how many legitimate runs succeeded, their median and longest wall time (process
//! start to exit), the agent's peak RSS (`VmHWM`) and CPU use, and for the `Cmd0` flood the
//! `proto-ver` p50/p99. Prints a table and one `hostile_load {…}` JSON line. Exits 1 when a
//! legitimate run failed. Without `--bench` (as under `cargo test --benches`) every scenario
//! runs a few seconds with a tenth of the connections.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use protocomm::{ClientHandshake, ClientSecurity, HandshakeStep, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use wifiprov_transport::http_client::HttpClient;

const BIN: &str = env!("CARGO_BIN_EXE_wifiprov");
const POP: &str = "abcd1234";
const SRP_USER: &str = "wifiprov";
const SRP_PASSWORD: &str = "s3cret-srp-pw";
/// The attackers' source address.
const ATTACKER: [u8; 4] = [127, 0, 0, 2];

/// How big and how long: the full bench or the smoke run.
#[derive(Clone, Copy)]
struct Scale {
    connections: usize,
    idle_connections: usize,
    file_limit: u64,
    attack: Duration,
    wrong_pop_for: Duration,
    legit_runs: usize,
}

impl Scale {
    fn full() -> Self {
        Scale {
            connections: 1030,
            idle_connections: 1100,
            file_limit: 1024,
            attack: Duration::from_secs(30),
            wrong_pop_for: Duration::from_secs(60),
            legit_runs: 5,
        }
    }

    fn smoke() -> Self {
        Scale {
            connections: 103,
            idle_connections: 110,
            file_limit: 128,
            attack: Duration::from_secs(4),
            wrong_pop_for: Duration::from_secs(6),
            legit_runs: 1,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The agent process

struct Agent {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    _state_dir: tempfile::TempDir,
}

impl Agent {
    /// `wifiprov device ARGS` on a free loopback port, optionally with a file limit (soft and
    /// hard) of `nofile`.
    fn start(args: &[&str], nofile: Option<u64>) -> Agent {
        let state_dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            state_dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        // A file limit through the shell's `ulimit` (soft and hard), which then execs the agent.
        let mut command = match nofile {
            Some(limit) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        command
            .args(["device", "--listen", "127.0.0.1:0", "--no-auto-stop"])
            .args(args)
            .arg("--state-dir")
            .arg(state_dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                // Keep the log bounded: an attack makes the agent warn a lot.
                if s.len() < 4 << 20 {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let found = stderr
                .lock()
                .unwrap()
                .split("on http://")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok());
            if let Some(addr) = found {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the agent exited with {status}:\n{}",
                    stderr.lock().unwrap()
                );
            }
            assert!(Instant::now() < deadline, "the agent did not start");
            std::thread::sleep(Duration::from_millis(10));
        };
        Agent {
            child,
            addr,
            stderr,
            _state_dir: state_dir,
        }
    }

    /// Peak resident set size so far, KiB.
    fn peak_rss_kb(&self) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// User plus system CPU time so far.
    fn cpu_time(&self) -> Duration {
        let text =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name; 100 Hz.
        Duration::from_millis((ticks(11) + ticks(12)) * 10)
    }

    fn log_lines_with(&self, needle: &str) -> usize {
        self.stderr
            .lock()
            .unwrap()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The legitimate client

/// One run of the real `wifiprov provision` with the credentials of security `sec`. A device
/// that joined a network already is first asked, untimed, to accept new credentials
/// (`--reprov`), so every run is a whole provisioning.
fn provision(addr: SocketAddr, sec: u8, provisioned: bool) -> (Duration, i32, String) {
    if provisioned {
        let (_, code, last) = run_client(addr, sec, &["--reprov"]);
        if code != 0 {
            return (Duration::ZERO, code, format!("--reprov: {last}"));
        }
    }
    run_client(
        addr,
        sec,
        &["--ssid", "HomeNet", "--passphrase", "correct-horse"],
    )
}

/// Runs `wifiprov provision` with security `sec`'s credentials and `extra`, timed.
fn run_client(addr: SocketAddr, sec: u8, extra: &[&str]) -> (Duration, i32, String) {
    let addr = addr.to_string();
    let mut args = vec!["provision", "--service_name", addr.as_str()];
    match sec {
        1 => args.extend(["--pop", POP]),
        _ => args.extend(["--sec2_username", SRP_USER, "--sec2_pwd", SRP_PASSWORD]),
    }
    args.extend(extra);
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(&args)
        .env("NO_COLOR", "1")
        .env_remove("WIFIPROV_POP")
        .env_remove("WIFIPROV_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = start.elapsed();
    let code = out.status.code().unwrap_or(-1);
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("").to_owned();
    (took, code, last)
}

/// `runs` legitimate provisionings spread over `window`, one after another.
async fn legit_runs(addr: SocketAddr, sec: u8, runs: usize, window: Duration) -> Vec<LegitRun> {
    let gap = window / u32::try_from(runs.max(1)).unwrap();
    let mut out = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        let (took, code, last) = tokio::task::spawn_blocking(move || provision(addr, sec, run > 0))
            .await
            .unwrap();
        out.push(LegitRun { took, code, last });
        if let Some(rest) = gap.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    out
}

#[derive(Clone, Debug)]
struct LegitRun {
    took: Duration,
    code: i32,
    last: String,
}

// ---------------------------------------------------------------------------------------------
// Attackers

async fn connect_from(source: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(to).await
}

/// Counters shared by a group of attackers.
#[derive(Default)]
struct Tally {
    connects: AtomicU64,
    refused: AtomicU64,
    closed_by_agent: AtomicU64,
    answered: AtomicU64,
}

/// Sends `head` and then `trickle` one byte a second on a connection, reconnecting whenever
/// the agent closes it, until `stop`.
async fn slow_sender(
    to: SocketAddr,
    head: &'static [u8],
    trickle: &'static [u8],
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = connect_from(ATTACKER, to).await else {
            tally.refused.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        tally.connects.fetch_add(1, Ordering::Relaxed);
        if stream.write_all(head).await.is_err() {
            tally.closed_by_agent.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut sent = 0;
        let mut buf = [0u8; 64];
        while !stop.load(Ordering::Relaxed) {
            // A second between bytes; notice a close by the agent meanwhile.
            match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => break,
                Ok(Ok(_)) => {
                    tally.answered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(_) => {}
            }
            let byte = &trickle[sent % trickle.len()..][..1];
            if stream.write_all(byte).await.is_err() {
                break;
            }
            sent += 1;
        }
        tally.closed_by_agent.fetch_add(1, Ordering::Relaxed);
    }
}

/// Holds a connection open without sending anything; reconnects when the agent closes it.
async fn idle_holder(to: SocketAddr, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = connect_from(ATTACKER, to).await else {
            tally.refused.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        tally.connects.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 64];
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await {
                Ok(_) => break,
                Err(_) => continue,
            }
        }
        tally.closed_by_agent.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A request as raw HTTP/1.1 bytes.
fn post(endpoint: &str, body: &[u8], cookie: Option<&str>) -> Vec<u8> {
    let mut head = format!(
        "POST /{endpoint} HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(c) = cookie {
        head.push_str(&format!("Cookie: {c}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A response: status code, the `Set-Cookie` value if any, the body.
struct RawResponse {
    status: u16,
    cookie: Option<String>,
    body: Vec<u8>,
}

/// Reads one response (a head and a `Content-Length` body) or `None` when the connection ends
/// first or nothing comes within 10 s.
async fn read_response(stream: &mut TcpStream) -> Option<RawResponse> {
    let mut data = Vec::new();
    let mut buf = [0u8; 2048];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let status = head.split_whitespace().nth(1)?.parse().ok()?;
            let header = |name: &str| {
                head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
            };
            let len: usize = header("content-length").and_then(|v| v.parse().ok())?;
            let cookie = header("set-cookie");
            while data.len() < end + 4 + len {
                let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
                    .await
                    .ok()?
                    .ok()?;
                if n == 0 {
                    return None;
                }
                data.extend_from_slice(&buf[..n]);
            }
            let body = data[end + 4..end + 4 + len].to_vec();
            return Some(RawResponse {
                status,
                cookie,
                body,
            });
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
}

/// Sends `body` to `prov-session` on a new connection, counts how it was answered.
async fn one_cmd0(to: SocketAddr, body: Arc<Vec<u8>>, tally: Arc<Tally>) {
    let Ok(mut stream) = connect_from(ATTACKER, to).await else {
        tally.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    tally.connects.fetch_add(1, Ordering::Relaxed);
    if stream
        .write_all(&post("prov-session", &body, None))
        .await
        .is_err()
    {
        tally.closed_by_agent.fetch_add(1, Ordering::Relaxed);
        return;
    }
    match read_response(&mut stream).await {
        Some(r) if r.status == 200 => tally.answered.fetch_add(1, Ordering::Relaxed),
        _ => tally.closed_by_agent.fetch_add(1, Ordering::Relaxed),
    };
}

/// One security 1 handshake with a wrong proof of possession on a new connection.
async fn one_wrong_pop(to: SocketAddr, tally: Arc<Tally>) {
    let Ok(mut stream) = connect_from(ATTACKER, to).await else {
        tally.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    tally.connects.fetch_add(1, Ordering::Relaxed);
    let security = ClientSecurity::Sec1 {
        pop: Some(Secret::from("wrong-guess")),
    };
    let mut rng = protocomm::rand_core::UnwrapErr(getrandom::SysRng);
    let (hs, cmd0) = ClientHandshake::start(security, &mut rng).unwrap();
    let _ = stream.write_all(&post("prov-session", &cmd0, None)).await;
    let Some(first) = read_response(&mut stream).await else {
        tally.closed_by_agent.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let Ok(HandshakeStep::Send(_, cmd1)) = hs.handle_response(&first.body) else {
        tally.closed_by_agent.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let cookie = first.cookie;
    let _ = stream
        .write_all(&post("prov-session", &cmd1, cookie.as_deref()))
        .await;
    match read_response(&mut stream).await {
        Some(r) if r.status == 200 => tally.answered.fetch_add(1, Ordering::Relaxed),
        _ => tally.closed_by_agent.fetch_add(1, Ordering::Relaxed),
    };
}

/// Runs `attack` every `every` until `stop`, each on a task of its own.
async fn every<F, Fut>(every: Duration, stop: Arc<AtomicBool>, mut attack: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        tokio::spawn(attack());
    }
}

/// `proto-ver` round trips on one connection from 127.0.0.1, 20 a second, until `stop`.
async fn sample_proto_ver(to: SocketAddr, stop: Arc<AtomicBool>) -> (Vec<Duration>, u64) {
    let mut http = HttpClient::new(&to.to_string(), Duration::from_secs(10));
    let mut times = Vec::new();
    let mut errors = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let t = Instant::now();
        match http.post("proto-ver", b"---").await {
            Ok(_) => times.push(t.elapsed()),
            Err(_) => errors += 1,
        }
    }
    (times, errors)
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[derive(Debug)]
struct Outcome {
    name: &'static str,
    legit: Vec<LegitRun>,
    peak_rss_kb: u64,
    cpu_percent: f64,
    attacker: String,
    proto_ver: Option<(Duration, Duration, usize, u64)>,
    warnings: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn tally_text(t: &Tally) -> String {
    format!(
        "{} connections, {} refused, {} closed by the agent, {} answered",
        t.connects.load(Ordering::Relaxed),
        t.refused.load(Ordering::Relaxed),
        t.closed_by_agent.load(Ordering::Relaxed),
        t.answered.load(Ordering::Relaxed)
    )
}

/// What a scenario runs: its name, the agent's security, an optional file limit for the
/// agent, how long the legitimate runs are spread over, how long the attack runs before they
/// start, and whether `proto-ver` latency is sampled.
#[derive(Clone, Copy)]
struct Setup {
    name: &'static str,
    sec: u8,
    nofile: Option<u64>,
    window: Duration,
    ramp: Duration,
    sample: bool,
}

/// Starts an agent, lets `attack` run for `ramp` before the legitimate runs begin and until
/// they end, and measures.
async fn scenario<A>(setup: Setup, scale: Scale, attack: A) -> Outcome
where
    A: FnOnce(SocketAddr, Arc<AtomicBool>, Arc<Tally>) -> Vec<tokio::task::JoinHandle<()>>,
{
    let Setup {
        name,
        sec,
        nofile,
        window,
        ramp,
        sample,
    } = setup;
    let args: Vec<&str> = match sec {
        1 => vec!["--security", "1", "--pop", POP],
        _ => vec![
            "--security",
            "2",
            "--username",
            SRP_USER,
            "--password",
            SRP_PASSWORD,
        ],
    };
    let agent = Agent::start(&args, nofile);
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let tasks = attack(agent.addr, stop.clone(), tally.clone());
    tokio::time::sleep(ramp).await;
    let cpu_before = agent.cpu_time();
    let cpu_start = Instant::now();
    let sampler = sample.then(|| tokio::spawn(sample_proto_ver(agent.addr, stop.clone())));
    let legit = legit_runs(agent.addr, sec, scale.legit_runs, window).await;
    let cpu = (agent.cpu_time() - cpu_before).as_secs_f64() / cpu_start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let proto_ver = match sampler {
        Some(task) => {
            let (mut times, errors) = task.await.unwrap();
            times.sort();
            Some((
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                times.len(),
                errors,
            ))
        }
        None => None,
    };
    let peak_rss_kb = agent.peak_rss_kb();
    for task in tasks {
        task.abort();
    }
    Outcome {
        name,
        legit,
        peak_rss_kb,
        cpu_percent: cpu * 100.0,
        attacker: tally_text(&tally),
        proto_ver,
        warnings: agent.log_lines_with("WARN"),
    }
}

const BODY_HEAD: &[u8] =
    b"POST /proto-ver HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Length: 4096\r\n\r\n";
const HEADER_TRICKLE: &[u8] = b"POST /proto-ver HTTP/1.1\r\nHost: 192.168.4.1\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

async fn run_all(scale: Scale) -> Vec<Outcome> {
    let ramp = Duration::from_secs(if scale.legit_runs > 1 { 3 } else { 1 });
    let setup = |name, sec, window| Setup {
        name,
        sec,
        nofile: None,
        window,
        ramp,
        sample: false,
    };
    let mut out = Vec::new();

    let baseline = Setup {
        ramp: Duration::ZERO,
        ..setup("baseline", 1, scale.attack / 3)
    };
    out.push(scenario(baseline, scale, |_, _, _| Vec::new()).await);

    let n = scale.connections;
    let body = setup("body_slowloris", 1, scale.attack);
    out.push(
        scenario(body, scale, move |to, stop, tally| {
            (0..n)
                .map(|_| {
                    let (stop, tally) = (stop.clone(), tally.clone());
                    tokio::spawn(slow_sender(to, BODY_HEAD, b"x", stop, tally))
                })
                .collect()
        })
        .await,
    );
    let header = setup("header_slowloris", 1, scale.attack);
    out.push(
        scenario(header, scale, move |to, stop, tally| {
            (0..n)
                .map(|_| {
                    let (stop, tally) = (stop.clone(), tally.clone());
                    tokio::spawn(slow_sender(to, b"P", &HEADER_TRICKLE[1..], stop, tally))
                })
                .collect()
        })
        .await,
    );

    let idle = scale.idle_connections;
    let flood = Setup {
        nofile: Some(scale.file_limit),
        ..setup("idle_flood", 1, scale.attack)
    };
    out.push(
        scenario(flood, scale, move |to, stop, tally| {
            (0..idle)
                .map(|_| tokio::spawn(idle_holder(to, stop.clone(), tally.clone())))
                .collect()
        })
        .await,
    );

    // One well-formed security 2 Cmd0 (username and the client's public value), replayed.
    let sec2 = ClientSecurity::Sec2 {
        username: SRP_USER.as_bytes().to_vec(),
        password: Secret::from("not-the-password"),
        patch: 1,
    };
    let mut rng = protocomm::rand_core::UnwrapErr(getrandom::SysRng);
    let cmd0 = Arc::new(ClientHandshake::start(sec2, &mut rng).unwrap().1);
    let cmd0_flood = Setup {
        sample: true,
        ..setup("cmd0_flood_sec2", 2, scale.attack)
    };
    out.push(
        scenario(cmd0_flood, scale, move |to, stop, tally| {
            vec![tokio::spawn(every(
                Duration::from_millis(33),
                stop,
                move || one_cmd0(to, cmd0.clone(), tally.clone()),
            ))]
        })
        .await,
    );

    let wrong_pop = setup("wrong_pop", 1, scale.wrong_pop_for);
    out.push(
        scenario(wrong_pop, scale, move |to, stop, tally| {
            vec![tokio::spawn(every(
                Duration::from_secs(1),
                stop,
                move || one_wrong_pop(to, tally.clone()),
            ))]
        })
        .await,
    );
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> ExitCode {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { Scale::full() } else { Scale::smoke() };
    // The attackers need a file descriptor per connection.
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let outcomes = runtime.block_on(run_all(scale));

    let mut failed = false;
    let mut json = Vec::new();
    println!(
        "{:<17} {:>6} {:>10} {:>10} {:>9} {:>6} {:>15}  attacker",
        "scenario", "legit", "median ms", "max ms", "peak RSS", "CPU %", "proto-ver p50/99"
    );
    for o in &outcomes {
        let ok = o.legit.iter().filter(|r| r.code == 0).count();
        let mut times: Vec<Duration> = o.legit.iter().map(|r| r.took).collect();
        times.sort();
        let median = percentile(&times, 0.5);
        let max = times.last().copied().unwrap_or_default();
        let pv = o.proto_ver.map_or("-".to_owned(), |(p50, p99, n, e)| {
            format!("{:.1}/{:.1} ms ({n}, {e} err)", ms(p50), ms(p99))
        });
        println!(
            "{:<17} {:>3}/{:<2} {:>10.0} {:>10.0} {:>6.1} MiB {:>6.0} {:>15}  {}; {} WARN lines",
            o.name,
            ok,
            o.legit.len(),
            ms(median),
            ms(max),
            o.peak_rss_kb as f64 / 1024.0,
            o.cpu_percent,
            pv,
            o.attacker,
            o.warnings
        );
        for r in o.legit.iter().filter(|r| r.code != 0) {
            failed = true;
            println!("    legit run failed (exit {}): {}", r.code, r.last);
        }
        json.push(serde_json::json!({
            "scenario": o.name,
            "legit_ok": ok,
            "legit_runs": o.legit.len(),
            "legit_median_ms": ms(median),
            "legit_max_ms": ms(max),
            "peak_rss_kib": o.peak_rss_kb,
            "cpu_percent": o.cpu_percent,
            "proto_ver_p50_ms": o.proto_ver.map(|p| ms(p.0)),
            "proto_ver_p99_ms": o.proto_ver.map(|p| ms(p.1)),
            "attacker": o.attacker,
        }));
    }
    println!("hostile_load {}", serde_json::Value::Array(json));
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
