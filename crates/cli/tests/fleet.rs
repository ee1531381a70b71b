//! `wifiprov provision --fleet`: the real binary against 100 simulated agents in this process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use protocomm::{Secret, Security};
use serde_json::Value;
use wifiprov_agent::{AgentBuilder, HttpRoute, RunningAgent};
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

const POP: &str = "fleet-pop-7c41e";
const PASSPHRASE: &str = "correct-horse";
const WRONG_PASSPHRASE: &str = "wrong-horse-9d2e";
const WRONG_POP: &str = "wrong-pop-3b8a0";
const SECRETS: [&str; 4] = [POP, PASSPHRASE, WRONG_PASSPHRASE, WRONG_POP];

const DEVICES: usize = 100;
const WRONG_PASSPHRASE_ROWS: [usize; 3] = [10, 40, 70];
const MISSING_NETWORK_ROWS: [usize; 2] = [20, 60];
const CLOSED_PORT_ROW: usize = 30;
const WRONG_POP_ROW: usize = 50;

/// A security 1 agent with the PoP, on a free loopback port, joining at once after
/// ApplyConfig, over its own simulator of the built-in environment.
async fn agent() -> RunningAgent {
    let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let security = Security::Sec1 {
        pop: Some(Secret::from(POP)),
    };
    let mut builder =
        AgentBuilder::new(security, wifi).route(HttpRoute::new("127.0.0.1:0".parse().unwrap()));
    builder.manager.connect_delay = Duration::ZERO;
    builder.start().await.unwrap()
}

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Runs `wifiprov provision ARGS` off the async threads, with secrets in the environment.
async fn provision(args: Vec<String>, env: Vec<(&'static str, &'static str)>) -> Output {
    let run = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wifiprov"))
            .arg("provision")
            .args(&args)
            .envs(env)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    });
    tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the fleet run finishes")
        .unwrap()
}

fn path_arg(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{what} shows the secret {secret:?}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_devices_some_failing() {
    let mut agents = Vec::with_capacity(DEVICES);
    for _ in 0..DEVICES {
        agents.push(agent().await);
    }
    let closed = format!("127.0.0.1:{}", closed_port());

    // Half the rows spell everything out, the other half leave it to the flags.
    let mut csv =
        String::from("service_name,transport,sec_ver,pop,sec2_username,sec2_pwd,ssid,passphrase\n");
    for (index, agent) in agents.iter().enumerate() {
        let service = if index == CLOSED_PORT_ROW {
            closed.clone()
        } else {
            agent.addr.to_string()
        };
        let (transport, sec_ver, mut pop, mut ssid, mut passphrase) = if index % 2 == 0 {
            ("", "", "", "", "")
        } else {
            ("softap", "1", POP, "HomeNet", PASSPHRASE)
        };
        if WRONG_PASSPHRASE_ROWS.contains(&index) {
            passphrase = WRONG_PASSPHRASE;
        }
        if MISSING_NETWORK_ROWS.contains(&index) {
            ssid = "NoSuchNetwork";
        }
        if index == WRONG_POP_ROW {
            pop = WRONG_POP;
        }
        writeln!(
            csv,
            "{service},{transport},{sec_ver},{pop},,,{ssid},{passphrase}"
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("devices.csv");
    let report_path = dir.path().join("report.json");
    std::fs::write(&csv_path, &csv).unwrap();

    let output = provision(
        vec![
            "--fleet".into(),
            path_arg(&csv_path),
            "--concurrency".into(),
            "32".into(),
            "--report".into(),
            path_arg(&report_path),
            "--ssid".into(),
            "HomeNet".into(),
        ],
        vec![("WIFIPROV_POP", POP), ("WIFIPROV_PASSPHRASE", PASSPHRASE)],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(5),
        "Wi-Fi failures exit with 5\n{stderr}"
    );

    let text = std::fs::read_to_string(&report_path).unwrap();
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    assert_no_secret("the report", &text);

    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["total"], 100, "{stderr}");
    assert_eq!(report["succeeded"], 93, "{stderr}");
    assert_eq!(report["failed"], 7, "{stderr}");
    assert_eq!(report["exit_code"], 5);
    assert!(report["wall_ms"].as_u64().unwrap() > 0);
    let devices = report["devices"].as_array().unwrap();
    assert_eq!(devices.len(), DEVICES);
    for (index, device) in devices.iter().enumerate() {
        assert_eq!(device["line"], index + 2, "rows are in file order");
        let expected: Option<(u64, &str, &str)> = if WRONG_PASSPHRASE_ROWS.contains(&index) {
            Some((5, "wrong_passphrase", "wrong passphrase"))
        } else if MISSING_NETWORK_ROWS.contains(&index) {
            Some((5, "network_not_found", "network not found"))
        } else if index == CLOSED_PORT_ROW {
            Some((3, "unreachable", "cannot reach the device"))
        } else if index == WRONG_POP_ROW {
            Some((4, "auth_failed", "proof of possession"))
        } else {
            None
        };
        match expected {
            None => {
                assert_eq!(device["ok"], true, "{device}");
                assert_eq!(device["exit_code"], 0, "{device}");
                assert_eq!(device["ip"], "192.168.1.42", "{device}");
                assert_eq!(device["ssid"], "HomeNet", "{device}");
                assert_eq!(device["sec_ver"], 1, "{device}");
                assert_eq!(device["error"], Value::Null, "{device}");
                assert_eq!(device["reason"], Value::Null, "{device}");
                assert_eq!(device["service_name"], agents[index].addr.to_string());
            }
            Some((code, reason, words)) => {
                assert_eq!(device["ok"], false, "{device}");
                assert_eq!(device["exit_code"], code, "{device}");
                assert_eq!(device["reason"], reason, "{device}");
                assert_eq!(device["ip"], Value::Null, "{device}");
                let error = device["error"].as_str().unwrap();
                assert!(error.contains(words), "{device}");
            }
        }
        assert!(device["elapsed_ms"].as_u64().is_some(), "{device}");
    }

    // A line per device, then the summary.
    let progress = stderr.lines().filter(|l| l.starts_with('[')).count();
    assert_eq!(progress, DEVICES, "{stderr}");
    assert!(stderr.contains("[100/100]"), "{stderr}");
    assert!(stderr.contains("fleet: 100 devices in "), "{stderr}");
    assert!(stderr.contains("93 ok, 7 failed"), "{stderr}");
    assert!(stderr.contains("3 x wrong passphrase (exit 5)"), "{stderr}");
    assert!(
        stderr.contains("2 x network not found (exit 5)"),
        "{stderr}"
    );
    assert!(stderr.contains("1 x unreachable (exit 3)"), "{stderr}");
    assert!(stderr.contains("p50 "), "{stderr}");
    assert!(stderr.contains("p95 "), "{stderr}");

    for agent in agents {
        agent.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_transports_fail_their_row_only() {
    let good = agent().await;
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("devices.csv");
    let report_path = dir.path().join("report.json");
    std::fs::write(
        &csv_path,
        format!(
            "service_name,transport,pop\n\
             PROV_BLE01,ble,{WRONG_POP}\n\
             {},,\n",
            good.addr
        ),
    )
    .unwrap();
    let output = provision(
        vec![
            "--fleet".into(),
            path_arg(&csv_path),
            "--report".into(),
            path_arg(&report_path),
            "--ssid".into(),
            "HomeNet".into(),
            "--json".into(),
        ],
        vec![("WIFIPROV_POP", POP), ("WIFIPROV_PASSPHRASE", PASSPHRASE)],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    // --json prints the same report on stdout.
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), report);
    assert_eq!(report["succeeded"], 1);
    let ble = &report["devices"][0];
    assert_eq!(ble["reason"], "unsupported_transport");
    assert_eq!(ble["exit_code"], 2);
    assert!(
        ble["error"]
            .as_str()
            .unwrap()
            .contains("\"ble\" is not supported"),
        "{ble}"
    );
    assert_eq!(report["devices"][1]["ok"], true);
    good.shutdown().await;
}

#[tokio::test]
async fn mistakes_in_the_file_stop_everything_before_any_device() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("devices.csv");
    let report_path = dir.path().join("report.json");
    std::fs::write(
        &csv_path,
        format!(
            "service_name,sec_ver,pop,passphrase\n\
             127.0.0.1:1,1,{WRONG_POP},{WRONG_PASSPHRASE}\n\
             127.0.0.1:2,7,,\n"
        ),
    )
    .unwrap();
    let output = provision(
        vec![
            "--fleet".into(),
            path_arg(&csv_path),
            "--report".into(),
            path_arg(&report_path),
            "--ssid".into(),
            "HomeNet".into(),
        ],
        vec![],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    // 9: a file that cannot be used.
    assert_eq!(output.status.code(), Some(9), "{stderr}");
    assert!(
        stderr.contains("devices.csv: line 3, column 2 (sec_ver): \"7\" is not a security scheme"),
        "{stderr}"
    );
    assert!(stderr.contains("no device was contacted"), "{stderr}");
    assert_no_secret("stderr", &stderr);
    assert!(!report_path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proto_ver_is_checked_on_every_device() {
    let device = agent().await;
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("devices.csv");
    std::fs::write(&csv_path, format!("service_name\n{}\n", device.addr)).unwrap();
    let output = provision(
        vec![
            "--fleet".into(),
            path_arg(&csv_path),
            "--ssid".into(),
            "HomeNet".into(),
            "--proto_ver".into(),
            "v9.9".into(),
            "--json".into(),
        ],
        vec![("WIFIPROV_POP", POP), ("WIFIPROV_PASSPHRASE", PASSPHRASE)],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["devices"][0]["reason"], "proto_ver_mismatch");
    assert_eq!(report["devices"][0]["exit_code"], 6);
    device.shutdown().await;
}

#[tokio::test]
async fn single_device_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("devices.csv");
    std::fs::write(&csv_path, "service_name\n127.0.0.1:1\n").unwrap();
    let output = provision(
        vec![
            "--fleet".into(),
            path_arg(&csv_path),
            "--ssid".into(),
            "HomeNet".into(),
            "--reset".into(),
        ],
        vec![],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--reset cannot be combined with --fleet"),
        "{stderr}"
    );
}
