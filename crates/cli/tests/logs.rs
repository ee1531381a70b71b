//! Log lines on the simulator: fields hold what they are named for, numbers carry units,
//! one event is one line, and an error's causes are not repeated.
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

use support::{Agent, wifiprov};

struct Daemon {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    /// Waits until stderr holds `needle`; returns all of stderr.
    fn wait_for(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.stderr.lock().unwrap().clone();
            if text.contains(needle) {
                return text;
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

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

#[test]
fn manage_logs_channels_and_delays_with_units() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("networks.json");
    let doc = serde_json::json!({
        "schema": 2,
        "known_networks": [{"ssid": "HomeNet", "password": "wrong-horse", "enables_webrepl": false}],
        "access_point": {"config": {"essid": "wifiprov-setup"}, "enables_webrepl": false, "start_policy": "never"}
    });
    std::fs::write(&file, doc.to_string()).unwrap();
    let control = dir.path().join("manager.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["manage", "--networks", file.to_str().unwrap()])
        .args(["--control", control.to_str().unwrap(), "--wifi", "sim"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
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
    let text = daemon.wait_for("no known network could be joined", Duration::from_secs(30));

    let joining = line_with(&text, "joining");
    assert!(joining.contains("channel=6"), "{joining}");
    assert!(!joining.contains("Some("), "{joining}");
    let failed = line_with(&text, "attempt failed");
    assert!(failed.contains("ssid=\"HomeNet\""), "{failed}");
    let waiting = line_with(&text, "no known network could be joined");
    // The delay before the next round, with its unit (the default rescan interval).
    assert!(waiting.contains("retry_in=60s"), "{waiting}");
    assert!(!waiting.contains("next="), "{waiting}");
    assert!(!text.contains("wrong-horse"), "{text}");
}

#[test]
fn a_failed_join_is_logged_once_by_the_device() {
    let mut agent = Agent::start(&["--security", "0", "--wifi", "sim"]);
    let run = wifiprov(&[
        "provision",
        "--service-name",
        &agent.addr,
        "--sec-ver",
        "0",
        "--ssid",
        "HomeNet",
        "--passphrase",
        "wrong-horse",
    ]);
    assert_eq!(run.code, 5, "{}", run.all());
    // The device reports the failure through its event; give the log a moment to arrive.
    let deadline = Instant::now() + Duration::from_secs(10);
    let needle = "wrong passphrase for \"HomeNet\"";
    while !agent.output().contains(needle) {
        assert!(Instant::now() < deadline, "{}", agent.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = agent.child.kill();
    let _ = agent.wait_exit(Duration::from_secs(5));
    let output = agent.output();
    assert_eq!(
        output.lines().filter(|l| l.contains(needle)).count(),
        1,
        "{output}"
    );
    // Nor is the failure said twice within the line ("connection failed: authentication
    // failed: …").
    let line = line_with(&output, needle);
    assert_eq!(line.matches("failed").count(), 1, "{line}");
}

#[test]
fn an_error_names_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("absent.sock");
    let run = wifiprov(&["status", "--control", control.to_str().unwrap()]);
    assert_ne!(run.code, 0, "{}", run.all());
    let message = line_with(&run.stderr, "cannot reach the manager");
    assert!(message.contains("(os error 2)"), "{message}");
    assert_eq!(message.matches("(os error 2)").count(), 1, "{message}");
}
