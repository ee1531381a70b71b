//! Wall time of `wifiprov provision --fleet` over 100 simulated devices, on the release binary.
//!
//! `cargo bench -p wifiprov --bench fleet`:
//!
//! 100 agents run in this process, each on its own loopback port with security 1 (PoP), its
//! own simulator of the built-in environment and no delay between ApplyConfig and the join
//! (`connect_delay` 0), so every device joins "HomeNet" in that network's 500 ms. The CSV
//! lists only service names; `--ssid`, `--passphrase` (from the environment) and `--pop`
//! fill the rest. The measured time runs from spawning `wifiprov provision --fleet …
//! --concurrency 32 --report …` to its exit, so it includes process start, reading the CSV
//! and writing the report. Per-device p50/p99 come from the report.
//!
//! Target: wall time ≤ 5 s, every device provisioned. Prints a table and one
//! `fleet_bench {…}` JSON line; exits with status 1 when the target is missed. Without
//! `--bench` (as under `cargo test --benches`) it runs a 10-device smoke version and checks
//! only correctness.
//!
//! Environment: `WIFIPROV_BENCH_DEVICES` (default 100), `WIFIPROV_BENCH_CONCURRENCY`
//! (default 32). The agents and the client share the machine, so the agents' CPU time is part
//! of the figure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fmt::Write as _;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocomm::{Secret, Security};
use serde_json::Value;
use wifiprov_agent::{AgentBuilder, HttpRoute, RunningAgent};
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

/// The binary under test (built by Cargo in the profile of this target: `bench` = release).
const BIN: &str = env!("CARGO_BIN_EXE_wifiprov");
const POP: &str = "bench-pop-1234";
const SSID: &str = "HomeNet";
const PASSPHRASE: &str = "correct-horse";
/// Wall time target for the full run.
const WALL_TARGET: Duration = Duration::from_secs(5);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

async fn start_agents(count: usize) -> Vec<RunningAgent> {
    let mut agents = Vec::with_capacity(count);
    for _ in 0..count {
        let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
        let security = Security::Sec1 {
            pop: Some(Secret::from(POP)),
        };
        let mut builder =
            AgentBuilder::new(security, wifi).route(HttpRoute::new("127.0.0.1:0".parse().unwrap()));
        builder.manager.connect_delay = Duration::ZERO;
        agents.push(builder.start().await.expect("agent starts"));
    }
    agents
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: run a quick smoke then.
    let bench = std::env::args().any(|a| a == "--bench");
    let devices = env_usize("WIFIPROV_BENCH_DEVICES", if bench { 100 } else { 10 });
    let concurrency = env_usize("WIFIPROV_BENCH_CONCURRENCY", 32);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!(
        "fleet bench: {BIN}\n  {devices} devices, --concurrency {concurrency}, {cores} cores{}",
        if bench {
            ""
        } else {
            " (smoke run: no --bench)"
        }
    );
    let latency = SimEnvironment::builtin()
        .networks
        .iter()
        .find(|n| n.ssid == SSID)
        .map_or(0, |n| n.connect_latency_ms);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let agents = runtime.block_on(start_agents(devices));

    let dir = tempfile::tempdir().expect("temporary directory");
    let csv_path = dir.path().join("devices.csv");
    let report_path = dir.path().join("report.json");
    let mut csv = String::from("service_name\n");
    for agent in &agents {
        writeln!(csv, "{}", agent.addr).unwrap();
    }
    std::fs::write(&csv_path, csv).expect("write the CSV");

    // The agents keep serving on the runtime's threads while this thread waits for the CLI.
    let started = Instant::now();
    let output = Command::new(BIN)
        .arg("provision")
        .arg("--fleet")
        .arg(&csv_path)
        .args(["--concurrency", &concurrency.to_string(), "--report"])
        .arg(&report_path)
        .args(["--ssid", SSID, "--pop", POP])
        .env("WIFIPROV_PASSPHRASE", PASSPHRASE)
        .env("NO_COLOR", "1")
        .output()
        .expect("run wifiprov");
    let wall = started.elapsed();

    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Option<Value> = std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    runtime.block_on(async {
        for agent in agents {
            agent.shutdown().await;
        }
    });
    let Some(report) = report else {
        eprintln!("no report; the run said:\n{stderr}");
        return ExitCode::FAILURE;
    };

    let number = |key: &str| report[key].as_u64().unwrap_or(0);
    let mut times: Vec<u64> = report["devices"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| d["elapsed_ms"].as_u64())
                .collect()
        })
        .unwrap_or_default();
    times.sort_unstable();
    let percentile = |p: usize| -> u64 {
        if times.is_empty() {
            return 0;
        }
        let rank = (p * times.len()).div_ceil(100).clamp(1, times.len());
        times[rank - 1]
    };
    let (p50, p99, max) = (
        percentile(50),
        percentile(99),
        times.last().copied().unwrap_or(0),
    );
    let succeeded = number("succeeded");
    let all_ok = output.status.success() && succeeded == devices as u64;
    let fast_enough = !bench || wall <= WALL_TARGET;

    let rule = "-".repeat(80);
    let row = |name: &str, value: String, verdict: &str| {
        println!("{}", format!("{name:<34} {value:<28} {verdict}").trim_end());
    };
    println!();
    println!(
        "wifiprov provision --fleet: {devices} simulated devices (security 1, join {latency} ms), \
         --concurrency {concurrency}"
    );
    println!("{rule}");
    row(
        "wall time (spawn to exit)",
        format!("{:.2} s", wall.as_secs_f64()),
        &if bench {
            format!(
                "≤ {} s  {}",
                WALL_TARGET.as_secs(),
                if fast_enough { "ok" } else { "MISSED" }
            )
        } else {
            String::new()
        },
    );
    row(
        "wall time (reported by the CLI)",
        format!("{} ms", number("wall_ms")),
        "",
    );
    row(
        "devices provisioned",
        format!("{succeeded} / {devices}"),
        if all_ok { "ok" } else { "FAILED" },
    );
    row(
        "per device p50 / p99 / max",
        format!("{p50} / {p99} / {max} ms"),
        "",
    );
    row(
        "ideal (waves x join latency)",
        format!("{} ms", devices.div_ceil(concurrency) as u64 * latency),
        "",
    );
    println!("{rule}");
    println!(
        "fleet_bench {}",
        serde_json::json!({
            "devices": devices,
            "concurrency": concurrency,
            "wall_ms": u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
            "reported_wall_ms": number("wall_ms"),
            "succeeded": succeeded,
            "p50_ms": p50,
            "p99_ms": p99,
            "max_ms": max,
            "target_met": all_ok && fast_enough,
        })
    );
    if !all_ok {
        eprintln!("the fleet run did not provision every device:\n{stderr}");
    }
    if all_ok && fast_enough {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
