//! `wifiprov manage` end to end on the simulator: one-shot verdicts, and provisioning through
//! the fallback access point with a wrong and then a right passphrase, without restarting.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Run, wifiprov};

fn networks_file(
    dir: &std::path::Path,
    known: serde_json::Value,
    policy: &str,
) -> std::path::PathBuf {
    let path = dir.join("networks.json");
    let doc = serde_json::json!({
        "schema": 2,
        "known_networks": known,
        "access_point": {
            "config": {"essid": "wifiprov-setup", "channel": 6, "hidden": false, "password": "setup-pass-1", "authmode": 3},
            "enables_webrepl": false,
            "start_policy": policy
        },
        "comment": "kept across rewrites"
    });
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

#[test]
fn once_joins_the_first_network_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let known = serde_json::json!([
        {"ssid": "Nowhere", "password": "not-here-at-all", "enables_webrepl": false},
        {"ssid": "HomeNet", "password": "wrong-horse", "enables_webrepl": false},
        {"ssid": "CoffeeShop", "password": "", "enables_webrepl": false}
    ]);
    let file = networks_file(dir.path(), known, "never");
    let run = wifiprov(&["manage", "--once", "--networks", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("connected to \"CoffeeShop\""),
        "{}",
        run.all()
    );
}

#[test]
fn once_reports_every_reason_when_nothing_works() {
    let dir = tempfile::tempdir().unwrap();
    let known = serde_json::json!([
        {"ssid": "HomeNet", "password": "wrong-horse"},
        {"ssid": "Nowhere", "password": "not-here-at-all"}
    ]);
    let file = networks_file(dir.path(), known, "never");
    let run = wifiprov(&["manage", "--once", "--networks", file.to_str().unwrap()]);
    assert_eq!(run.code, 5, "{}", run.all());
    assert!(
        run.stdout.contains("\"HomeNet\": authentication failed"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout
            .contains("\"Nowhere\": network \"Nowhere\" not found"),
        "{}",
        run.all()
    );
    assert!(!run.all().contains("wrong-horse"));
}

#[test]
fn malformed_networks_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    std::fs::write(&path, r#"{"schema": 1, "known_networks": []}"#).unwrap();
    let run = wifiprov(&["manage", "--once", "--networks", path.to_str().unwrap()]);
    // 9: a file that cannot be used.
    assert_eq!(run.code, 9, "{}", run.all());
    assert!(run.all().contains("schema 1"), "{}", run.all());
}

struct Daemon {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    fn wait_for(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.stderr.lock().unwrap().clone();
            if let Some(at) = text.find(needle) {
                return text[at + needle.len()..]
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
            assert!(Instant::now() < deadline, "{needle:?} not seen in:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ctl(control: &str, args: &[&str]) -> Run {
    let mut all = vec![args[0], "--control", control];
    all.extend(&args[1..]);
    wifiprov(&all)
}

#[test]
fn fallback_provisioning_retries_without_restart_and_records_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let known = serde_json::json!([{"ssid": "Nowhere", "password": "not-here-at-all", "enables_webrepl": false, "note": "old router"}]);
    let file = networks_file(dir.path(), known, "fallback");
    let control = dir.path().join("ctl/manager.sock");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args([
            "manage",
            "--networks",
            file.to_str().unwrap(),
            "--control",
            control.to_str().unwrap(),
        ])
        .args(["--listen", &listen, "--pop", "abcd1234", "--interval", "1"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    let pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let daemon = Daemon { child, stderr };
    daemon.wait_for("provisioning service on http://", Duration::from_secs(30));

    // While the access point is up: the control API reports why.
    let status = ctl(control.to_str().unwrap(), &["status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.all());
    let st = status.json();
    assert_eq!(st["state"], "no_network");
    assert_eq!(st["ap_up"], true);
    assert!(
        st["failures"]["Nowhere"]
            .as_str()
            .unwrap()
            .contains("not found")
    );

    // A wrong passphrase: the client is told why, the access point stays up.
    let provision = |pass: &str| {
        wifiprov(&[
            "provision",
            "--service_name",
            &listen,
            "--sec_ver",
            "1",
            "--pop",
            "abcd1234",
            "--ssid",
            "HomeNet",
            "--passphrase",
            pass,
        ])
    };
    let wrong = provision("wrong-horse");
    assert_eq!(wrong.code, 5, "{}", wrong.all());
    assert!(wrong.all().contains("passphrase"), "{}", wrong.all());
    // And right away the correct one, with nothing restarted.
    let right = provision("correct-horse");
    assert_eq!(
        right.code,
        0,
        "{}\n{}",
        right.all(),
        daemon.stderr.lock().unwrap()
    );

    // HomeNet is now first in the file; the other entry and the unknown keys are kept.
    let deadline = Instant::now() + Duration::from_secs(10);
    let doc = loop {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        if doc["known_networks"][0]["ssid"] == "HomeNet" {
            break doc;
        }
        assert!(
            Instant::now() < deadline,
            "networks.json not updated: {doc}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(doc["known_networks"][0]["password"], "correct-horse");
    assert_eq!(doc["known_networks"][1]["ssid"], "Nowhere");
    assert_eq!(doc["known_networks"][1]["note"], "old router");
    assert_eq!(doc["comment"], "kept across rewrites");
    assert_eq!(doc["access_point"]["config"]["authmode"], 3);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions())
            & 0o777;
    assert_eq!(mode, 0o600);

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st = ctl(control.to_str().unwrap(), &["status", "--json"]).json();
        if st["state"] == "connected" {
            assert_eq!(st["network"], "HomeNet");
            assert_eq!(st["ip"], "192.168.1.42");
            break;
        }
        assert!(Instant::now() < deadline, "not connected: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The networks commands edit the running daemon's list.
    let list = ctl(control.to_str().unwrap(), &["networks", "list"]);
    assert!(
        list.stdout.contains("1. HomeNet") && list.stdout.contains("2. Nowhere"),
        "{}",
        list.all()
    );
    assert_eq!(
        ctl(
            control.to_str().unwrap(),
            &["networks", "reorder", "Nowhere", "HomeNet"]
        )
        .code,
        0
    );
    let bad = ctl(
        control.to_str().unwrap(),
        &["networks", "reorder", "HomeNet"],
    );
    // 6: the manager refused the request.
    assert_eq!(bad.code, 6, "a partial order is refused: {}", bad.all());
    assert_eq!(
        ctl(
            control.to_str().unwrap(),
            &["networks", "remove", "Nowhere"]
        )
        .code,
        0
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["known_networks"].as_array().unwrap().len(), 1);
    // Secrets stay out of the daemon's output.
    let out = daemon.stderr.lock().unwrap().clone();
    for secret in ["correct-horse", "wrong-horse", "abcd1234", "setup-pass-1"] {
        assert!(!out.contains(secret), "{secret} leaked:\n{out}");
    }
}

#[test]
fn fallback_access_point_serves_the_captive_portal() {
    let dir = tempfile::tempdir().unwrap();
    let known = serde_json::json!([{"ssid": "Nowhere", "password": "not-here-at-all"}]);
    let file = networks_file(dir.path(), known, "fallback");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["manage", "--networks", file.to_str().unwrap()])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--pop",
            "abcd1234",
            "--interval",
            "1",
        ])
        .args([
            "--portal",
            "--portal-listen",
            "127.0.0.1:0",
            "--portal-dns",
            "off",
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    let pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let daemon = Daemon { child, stderr };
    let rest = daemon.wait_for("the captive portal on ", Duration::from_secs(30));
    let url = rest.split_whitespace().next().unwrap().to_owned();
    let provision = |pass: &str| {
        wifiprov(&[
            "provision",
            "--transport",
            "portal",
            "--service_name",
            &url,
            "--ssid",
            "HomeNet",
            "--passphrase",
            pass,
        ])
    };
    let wrong = provision("wrong-horse");
    assert_eq!(wrong.code, 5, "{}", wrong.all());
    assert!(
        wrong.all().contains("Wrong password for HomeNet"),
        "{}",
        wrong.all()
    );
    let right = provision("correct-horse");
    assert_eq!(
        right.code,
        0,
        "{}\n{}",
        right.all(),
        daemon.stderr.lock().unwrap()
    );
    assert!(right.all().contains("192.168.1.42"), "{}", right.all());
    assert!(!daemon.stderr.lock().unwrap().contains("correct-horse"));
}
