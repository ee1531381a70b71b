//! Speed and size figures of `wifiprov device`, measured on the real release binary.
//!
//! `cargo bench -p wifiprov --bench device_load` (or `crates/cli/benches/device_load.sh`):
//!
//! 1. **Idle RSS**: the agent with security 1 on loopback, 1 s after it listens
//!    (target: VmRSS ≤ 8 MB).
//! 2. **Load**: 500 concurrent clients, each on its own TCP connection, doing `proto-ver` and a
//!    full security 1 handshake, while one already established session provisions "HomeNet"
//!    and polls the status until it is connected (targets: 0 errors, the session completes).
//! 3. **Size** of the release binary, as built and stripped.
//!
//! Prints a table and one `device_load {…}` JSON line, and exits with status 1 when a target
//! is missed. Without `--bench` (as under `cargo test --benches`) it only runs a quick smoke
//! version against whatever binary that profile built and checks no targets but correctness.
//!
//! Environment: `WIFIPROV_BENCH_CLIENTS` (default 500), `WIFIPROV_BENCH_CLIENT_THREADS` (Tokio
//! worker threads of the load generator, default 1 so that on a small machine one core is left
//! to the agent; the load generator runs on the same machine and its own CPU time and
//! scheduling delay are part of every latency measured).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use protocomm::proto::Message;
use protocomm::proto::wifi_config::{
    CmdSetConfig, RespGetStatus, WiFiConfigPayload, wi_fi_config_payload::Payload,
};
use protocomm::{
    ClientHandshake, ClientSecurity, ClientSession, HandshakeStep, PeerVersion, Secret,
};
use wifiprov_transport::http_client::{ClientError, HttpClient};

/// The binary under test (built by Cargo in the profile of this target: `bench` = release).
const BIN: &str = env!("CARGO_BIN_EXE_wifiprov");
const POP: &str = "abcd1234";
/// Idle RSS target.
const IDLE_RSS_TARGET_KB: u64 = 8 * 1024;
/// Timeout of every client request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the active session may take from set-config to Connected.
const ACTIVE_DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The agent process

struct Agent {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
    _state_dir: tempfile::TempDir,
}

impl Agent {
    /// Starts `wifiprov device ARGS --listen 127.0.0.1:0 --state-dir <fresh>` and waits until
    /// it logs its address.
    fn start(args: &[&str]) -> Agent {
        let state_dir = tempfile::tempdir().expect("temporary state directory");
        // As the agent expects of a credential store (it warns otherwise).
        std::fs::set_permissions(
            state_dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("chmod 700 the state directory");
        let mut child = Command::new(BIN)
            .arg("device")
            .args(args)
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state_dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        // Drain stderr for the whole run so the agent never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let found = {
                let log = stderr.lock().unwrap();
                log.lines()
                    .find(|l| l.contains("serving provisioning as"))
                    .and_then(|l| l.split("on http://").nth(1))
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            };
            if let Some(addr) = found {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the agent exited with {status}:\n{}",
                    stderr.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the agent did not start listening within 30 s:\n{}",
                stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        Agent {
            child,
            addr,
            stderr,
            _state_dir: state_dir,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn status(&self) -> ProcStatus {
        ProcStatus::read(self.pid())
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The memory figures of `/proc/<pid>/status`, in KiB.
#[derive(Clone, Copy, Debug, Default)]
struct ProcStatus {
    rss_kb: u64,
    hwm_kb: u64,
    rss_anon_kb: u64,
    rss_file_kb: u64,
    threads: u64,
}

impl ProcStatus {
    fn read(pid: u32) -> ProcStatus {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
        let field = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        ProcStatus {
            rss_kb: field("VmRSS:"),
            hwm_kb: field("VmHWM:"),
            rss_anon_kb: field("RssAnon:"),
            rss_file_kb: field("RssFile:"),
            threads: field("Threads:"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client side

fn os_rng() -> protocomm::rand_core::UnwrapErr<getrandom::SysRng> {
    protocomm::rand_core::UnwrapErr(getrandom::SysRng)
}

fn sec1() -> ClientSecurity {
    ClientSecurity::Sec1 {
        pop: Some(Secret::from(POP)),
    }
}

/// Latencies of one load client: the three requests and the whole sequence.
#[derive(Clone, Copy, Debug)]
struct ClientTimes {
    proto_ver: Duration,
    session0: Duration,
    session1: Duration,
    total: Duration,
    /// Time spent waiting out `429` answers.
    waited: Duration,
}

/// Posts as a well-behaved client does: a `429` is waited out (its `Retry-After`) and the
/// request sent again, at most `MAX_THROTTLED` times. The wait is not timed as latency.
async fn post(
    http: &mut HttpClient,
    endpoint: &str,
    body: &[u8],
    waited: &mut Duration,
) -> Result<Vec<u8>, ClientError> {
    let mut throttled = 0;
    loop {
        match http.post(endpoint, body).await {
            Err(ClientError::Throttled { retry_after }) if throttled < MAX_THROTTLED => {
                throttled += 1;
                *waited += retry_after;
                tokio::time::sleep(retry_after).await;
            }
            other => return other,
        }
    }
}

/// How often one request may be throttled before the client gives up.
const MAX_THROTTLED: u32 = 30;

/// The loopback address load client `n` connects from: every client is its own source, as
/// 500 phones would be (the device throttles handshakes per source).
fn source(n: usize) -> std::net::IpAddr {
    let n = u32::try_from(n).expect("client index");
    std::net::Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8).into()
}

/// One load client: its own connection from its own source, `proto-ver`, then the
/// security 1 handshake. Time spent waiting out throttling (`429`) is left out of the
/// latencies and counted apart.
async fn load_client(addr: Arc<str>, n: usize) -> Result<ClientTimes, String> {
    let mut http = HttpClient::new(&addr, REQUEST_TIMEOUT).bind_to(source(n));
    let mut waited = Duration::ZERO;
    let start = Instant::now();

    let t = Instant::now();
    let version = post(&mut http, "proto-ver", b"---", &mut waited)
        .await
        .map_err(|e| format!("proto-ver: {e}"))?;
    let proto_ver = t.elapsed();
    let security = PeerVersion::parse(&version).security();
    if security != 1 {
        return Err(format!("proto-ver: security {security}, expected 1"));
    }

    let (hs, request) = ClientHandshake::start(sec1(), &mut os_rng())
        .map_err(|e| format!("handshake start: {e}"))?;
    let t = Instant::now();
    let before = waited;
    let response = post(&mut http, "prov-session", &request, &mut waited)
        .await
        .map_err(|e| format!("prov-session 0: {e}"))?;
    let session0 = t.elapsed().saturating_sub(waited - before);
    let (hs, request) = match hs.handle_response(&response) {
        Ok(HandshakeStep::Send(hs, request)) => (hs, request),
        Ok(HandshakeStep::Done(_)) => return Err("handshake ended after one step".into()),
        Err(e) => return Err(format!("prov-session 0 response: {e}")),
    };
    let t = Instant::now();
    let before = waited;
    let response = post(&mut http, "prov-session", &request, &mut waited)
        .await
        .map_err(|e| format!("prov-session 1: {e}"))?;
    let session1 = t.elapsed().saturating_sub(waited - before);
    match hs.handle_response(&response) {
        Ok(HandshakeStep::Done(_)) => {}
        Ok(HandshakeStep::Send(..)) => return Err("handshake wants a third step".into()),
        Err(e) => return Err(format!("prov-session 1 response: {e}")),
    }
    Ok(ClientTimes {
        proto_ver,
        session0,
        session1,
        total: start.elapsed().saturating_sub(waited),
        waited,
    })
}

/// Runs the handshake on `prov-session`.
async fn handshake(http: &mut HttpClient) -> Result<ClientSession, String> {
    let (mut hs, mut request) =
        ClientHandshake::start(sec1(), &mut os_rng()).map_err(|e| e.to_string())?;
    loop {
        let response = http
            .post("prov-session", &request)
            .await
            .map_err(|e| e.to_string())?;
        match hs.handle_response(&response).map_err(|e| e.to_string())? {
            HandshakeStep::Send(next, req) => (hs, request) = (next, req),
            HandshakeStep::Done(session) => return Ok(session),
        }
    }
}

/// One encrypted `prov-config` exchange, decoded.
async fn config_call(
    http: &mut HttpClient,
    session: &mut ClientSession,
    request: &WiFiConfigPayload,
) -> Result<Option<Payload>, String> {
    let wire = session
        .encrypt(&request.encode_to_vec())
        .map_err(|e| e.to_string())?;
    let answer = http
        .post("prov-config", &wire)
        .await
        .map_err(|e| e.to_string())?;
    let plain = session.decrypt(&answer).map_err(|e| e.to_string())?;
    WiFiConfigPayload::decode(plain.as_slice())
        .map(|p| p.payload)
        .map_err(|e| format!("undecodable prov-config answer: {e}"))
}

/// What the active session did.
#[derive(Debug)]
struct ActiveOutcome {
    /// From set-config to the first GetStatus reading Connected.
    elapsed: Duration,
    /// GetStatus requests sent.
    polls: u32,
    /// Slowest single request of the session.
    max_request: Duration,
    /// `None` when it reached Connected, else why not.
    failure: Option<String>,
}

/// Set-config + apply-config for HomeNet, then GetStatus until Connected.
async fn provision(http: &mut HttpClient, session: &mut ClientSession) -> ActiveOutcome {
    let start = Instant::now();
    let mut polls = 0;
    let mut max_request = Duration::ZERO;
    let result: Result<(), String> = async {
        let mut timed = async |request: WiFiConfigPayload| {
            let t = Instant::now();
            let answer = config_call(http, session, &request).await;
            max_request = max_request.max(t.elapsed());
            answer
        };
        let set = WiFiConfigPayload {
            msg: 2,
            payload: Some(Payload::CmdSetConfig(CmdSetConfig {
                ssid: b"HomeNet".to_vec(),
                passphrase: b"correct-horse".to_vec(),
                ..Default::default()
            })),
        };
        match timed(set).await? {
            Some(Payload::RespSetConfig(r)) if r.status == 0 => {}
            other => return Err(format!("set-config answered {other:?}")),
        }
        let apply = WiFiConfigPayload {
            msg: 4,
            payload: Some(Payload::CmdApplyConfig(Default::default())),
        };
        match timed(apply).await? {
            Some(Payload::RespApplyConfig(r)) if r.status == 0 => {}
            other => return Err(format!("apply-config answered {other:?}")),
        }
        loop {
            let get = WiFiConfigPayload {
                msg: 0,
                payload: Some(Payload::CmdGetStatus(Default::default())),
            };
            polls += 1;
            let status: RespGetStatus = match timed(get).await? {
                Some(Payload::RespGetStatus(r)) => r,
                other => return Err(format!("get-status answered {other:?}")),
            };
            match status.sta_state {
                0 => return Ok(()),
                1 => {}
                _ => return Err(format!("provisioning failed: {status:?}")),
            }
            if start.elapsed() > ACTIVE_DEADLINE {
                return Err(format!("still connecting after {ACTIVE_DEADLINE:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    .await;
    ActiveOutcome {
        elapsed: start.elapsed(),
        polls,
        max_request,
        failure: result.err(),
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

#[derive(Clone, Copy, Debug, Default)]
struct Summary {
    n: usize,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
    mean: Duration,
}

impl Summary {
    fn of(mut samples: Vec<Duration>) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        // Nearest-rank percentile.
        let pct = |p: usize| samples[(p * n).div_ceil(100).clamp(1, n) - 1];
        let sum: Duration = samples.iter().sum();
        Summary {
            n,
            p50: pct(50),
            p90: pct(90),
            p99: pct(99),
            max: samples[n - 1],
            mean: sum / u32::try_from(n).unwrap_or(u32::MAX),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "n": self.n,
            "p50_ms": ms(self.p50),
            "p90_ms": ms(self.p90),
            "p99_ms": ms(self.p99),
            "max_ms": ms(self.max),
            "mean_ms": ms(self.mean),
        })
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn mib(kb: u64) -> String {
    format!("{:.2} MiB ({kb} kB)", kb as f64 / 1024.0)
}

fn bytes(n: u64) -> String {
    format!("{:.2} MiB ({n} B)", n as f64 / (1024.0 * 1024.0))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

// ---------------------------------------------------------------------------------------------
// The three measurements

fn client_runtime(threads: usize) -> tokio::runtime::Runtime {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .expect("client runtime")
}

/// A client with an established security 1 session.
async fn establish(addr: &str) -> (HttpClient, ClientSession) {
    let mut http = HttpClient::new(addr, REQUEST_TIMEOUT);
    let version = http
        .post("proto-ver", b"---")
        .await
        .expect("active session: proto-ver");
    assert_eq!(PeerVersion::parse(&version).security(), 1);
    let session = handshake(&mut http)
        .await
        .expect("active session: handshake");
    (http, session)
}

/// Idle RSS, then (on the same agent, once measured) the provisioning sequence of the active
/// session without any load, as the baseline for the loaded run.
fn idle() -> (ProcStatus, ActiveOutcome) {
    let agent = Agent::start(&["--security", "1", "--pop", POP, "--mdns", "off"]);
    std::thread::sleep(Duration::from_secs(1));
    let status = agent.status();
    let baseline = client_runtime(1).block_on(async {
        let (mut http, mut session) = establish(&agent.addr).await;
        provision(&mut http, &mut session).await
    });
    (status, baseline)
}

struct LoadResult {
    errors: Vec<String>,
    times: Vec<ClientTimes>,
    wall: Duration,
    /// Started together with the load clients.
    active: ActiveOutcome,
    before: ProcStatus,
    after: ProcStatus,
    agent_alive: bool,
    agent_log_tail: String,
}

fn load(clients: usize, client_threads: usize) -> LoadResult {
    let mut agent = Agent::start(&[
        "--security",
        "1",
        "--pop",
        POP,
        "--max-sessions",
        "1024",
        "--session-timeout",
        "120",
        "--no-auto-stop",
        "--mdns",
        "off",
    ]);
    let runtime = client_runtime(client_threads);
    let addr: Arc<str> = Arc::from(agent.addr.as_str());
    let before = agent.status();

    let (errors, times, wall, active) = runtime.block_on(async {
        // The active provisioning session, established before the load.
        let (mut http, mut session) = establish(&addr).await;

        // Every load client waits at the barrier, so they all start together.
        let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..clients {
            let addr = addr.clone();
            let barrier = barrier.clone();
            tasks.spawn(async move {
                barrier.wait().await;
                load_client(addr, n).await
            });
        }
        barrier.wait().await;
        let start = Instant::now();
        let active = tokio::spawn(async move { provision(&mut http, &mut session).await });

        let mut errors = Vec::new();
        let mut times = Vec::with_capacity(clients);
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(t)) => times.push(t),
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(format!("client task: {e}")),
            }
        }
        let wall = start.elapsed();
        let active = active.await.expect("active session task");
        (errors, times, wall, active)
    });

    let agent_alive = agent.is_running();
    let after = if agent_alive {
        agent.status()
    } else {
        ProcStatus::default()
    };
    let log = agent.log();
    let tail: Vec<&str> = log.lines().rev().take(10).collect();
    LoadResult {
        errors,
        times,
        wall,
        active,
        before,
        after,
        agent_alive,
        agent_log_tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    }
}

/// Size of the binary and of a stripped copy (`None` when neither `strip` nor `objcopy` works).
fn sizes() -> (u64, Option<u64>) {
    let size = std::fs::metadata(BIN).expect("binary metadata").len();
    let dir = tempfile::tempdir().expect("temporary directory");
    let copy = dir.path().join("wifiprov");
    std::fs::copy(BIN, &copy).expect("copy the binary");
    let stripped = strip(&copy).then(|| std::fs::metadata(&copy).map(|m| m.len()).ok());
    (size, stripped.flatten())
}

fn strip(path: &Path) -> bool {
    let ok = |cmd: &mut Command| {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    ok(Command::new("strip").arg(path)) || ok(Command::new("objcopy").arg("--strip-all").arg(path))
}

// ---------------------------------------------------------------------------------------------

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
        Err(_) => default,
    }
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: run a quick smoke then.
    let bench = std::env::args().any(|a| a == "--bench");
    let clients = env_usize("WIFIPROV_BENCH_CLIENTS", if bench { 500 } else { 20 });
    let client_threads = env_usize("WIFIPROV_BENCH_CLIENT_THREADS", 1);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!(
        "device_load: {BIN}\n  {clients} clients, {client_threads} load-generator thread(s), {cores} cores{}",
        if bench {
            ""
        } else {
            " (smoke run: no --bench)"
        }
    );

    let (idle, baseline) = idle();
    let load = load(clients, client_threads);
    let (size, stripped) = sizes();

    let totals = Summary::of(load.times.iter().map(|t| t.total).collect());
    let requests = Summary::of(
        load.times
            .iter()
            .flat_map(|t| [t.proto_ver, t.session0, t.session1])
            .collect(),
    );
    let proto_ver = Summary::of(load.times.iter().map(|t| t.proto_ver).collect());
    let session0 = Summary::of(load.times.iter().map(|t| t.session0).collect());
    let session1 = Summary::of(load.times.iter().map(|t| t.session1).collect());
    let throughput = load.times.len() as f64 / load.wall.as_secs_f64().max(1e-9);

    let idle_ok = !bench || idle.rss_kb <= IDLE_RSS_TARGET_KB;
    let errors_ok = load.errors.is_empty() && load.times.len() == clients;
    let active_ok = load.active.failure.is_none();
    let alive_ok = load.agent_alive;
    let active_state = |a: &ActiveOutcome| {
        if a.failure.is_none() {
            format!(
                "completed in {:.0} ms ({} polls, slowest request {:.1} ms)",
                ms(a.elapsed),
                a.polls,
                ms(a.max_request)
            )
        } else {
            "DID NOT COMPLETE".to_string()
        }
    };

    let rule = "-".repeat(96);
    println!();
    println!("wifiprov device: idle, {clients} concurrent security 1 clients, size");
    println!("{rule}");
    let row = |name: &str, value: String, target: &str| {
        println!("{name:<30} {value:<52} {target}");
    };
    row(
        "idle VmRSS",
        mib(idle.rss_kb),
        &if bench {
            format!("≤ 8 MiB  {}", verdict(idle_ok))
        } else {
            "(not checked: smoke run)".to_string()
        },
    );
    row(
        "idle VmHWM",
        format!(
            "{}  anon {} kB, file {} kB, {} threads",
            mib(idle.hwm_kb),
            idle.rss_anon_kb,
            idle.rss_file_kb,
            idle.threads
        ),
        "",
    );
    row(
        "load: clients ok / errors",
        format!("{} / {}", load.times.len(), load.errors.len()),
        &format!("0 errors  {}", verdict(errors_ok)),
    );
    row(
        "load: wall time",
        format!("{:.1} ms  ({throughput:.0} handshakes/s)", ms(load.wall)),
        "",
    );
    row(
        "load: active session",
        active_state(&load.active),
        &format!("completes  {}", verdict(active_ok)),
    );
    row("  same, without load", active_state(&baseline), "");
    row("load: VmRSS before", mib(load.before.rss_kb), "");
    row(
        "load: peak VmHWM after",
        format!("{}  {} threads", mib(load.after.hwm_kb), load.after.threads),
        "",
    );
    row(
        if bench {
            "binary size (release)"
        } else {
            "binary size (this profile)"
        },
        bytes(size),
        "",
    );
    row(
        "binary size (stripped copy)",
        stripped.map_or_else(|| "n/a (no strip/objcopy)".to_string(), bytes),
        "",
    );
    println!("{rule}");
    println!(
        "{:<30} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "latency under load (ms)", "n", "p50", "p90", "p99", "max", "mean"
    );
    for (name, s) in [
        ("client sequence (3 requests)", totals),
        ("single request (all)", requests),
        ("  proto-ver (incl. connect)", proto_ver),
        ("  prov-session 0", session0),
        ("  prov-session 1", session1),
    ] {
        println!(
            "{:<30} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            name,
            s.n,
            ms(s.p50),
            ms(s.p90),
            ms(s.p99),
            ms(s.max),
            ms(s.mean)
        );
    }
    println!("{rule}");
    let throttled: Vec<&ClientTimes> = load.times.iter().filter(|t| !t.waited.is_zero()).collect();
    println!(
        "clients told to wait (429): {} (longest total wait {:.1} s)",
        throttled.len(),
        throttled
            .iter()
            .map(|t| t.waited)
            .max()
            .unwrap_or_default()
            .as_secs_f64()
    );

    let json = serde_json::json!({
        "clients": clients,
        "client_threads": client_threads,
        "cores": cores,
        "smoke": !bench,
        "errors": load.errors.len(),
        "idle_rss_kb": idle.rss_kb,
        "idle_hwm_kb": idle.hwm_kb,
        "load_before_rss_kb": load.before.rss_kb,
        "load_peak_hwm_kb": load.after.hwm_kb,
        "load_after_rss_kb": load.after.rss_kb,
        "wall_ms": ms(load.wall),
        "handshakes_per_s": throughput.round(),
        "sequence": totals.json(),
        "request": requests.json(),
        "proto_ver": proto_ver.json(),
        "prov_session0": session0.json(),
        "prov_session1": session1.json(),
        "active_completed": active_ok,
        "active_ms": ms(load.active.elapsed),
        "active_max_request_ms": ms(load.active.max_request),
        "active_unloaded_ms": ms(baseline.elapsed),
        "binary_bytes": size,
        "stripped_bytes": stripped,
    });
    println!("device_load {json}");

    let mut failed = false;
    if !errors_ok {
        failed = true;
        eprintln!(
            "FAIL: {} of {clients} clients failed",
            clients - load.times.len()
        );
        let mut distinct: Vec<&String> = load.errors.iter().collect();
        distinct.sort();
        distinct.dedup();
        for e in distinct.iter().take(10) {
            let count = load.errors.iter().filter(|x| x == e).count();
            eprintln!("  {count} × {e}");
        }
    }
    if let Some(why) = &load.active.failure {
        failed = true;
        eprintln!("FAIL: the active session did not complete: {why}");
    }
    if !alive_ok {
        failed = true;
        eprintln!("FAIL: the agent exited during the load");
    }
    if !idle_ok {
        failed = true;
        eprintln!(
            "FAIL: idle VmRSS {} kB is over the {IDLE_RSS_TARGET_KB} kB target",
            idle.rss_kb
        );
    }
    if failed {
        eprintln!("agent log (last lines):\n{}", load.agent_log_tail);
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
