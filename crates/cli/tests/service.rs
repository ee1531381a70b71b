//! `wifiprov` as a systemd service: readiness and stopping notifications (sd_notify), log
//! formats for journald and log shippers, and the unit files (`systemd-analyze verify`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Agent, sec, wifiprov};

/// A notification socket as systemd offers one (`NOTIFY_SOCKET`).
struct Notify {
    socket: UnixDatagram,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Notify {
    fn new() -> Notify {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        Notify {
            socket,
            path,
            _dir: dir,
        }
    }

    fn env(&self) -> (&'static str, &str) {
        ("NOTIFY_SOCKET", self.path.to_str().unwrap())
    }

    /// The datagrams received until one contains `needle` (panics after `within`).
    fn wait_for(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut seen = String::new();
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {needle:?} within {within:?}: {seen:?}");
            self.socket.set_read_timeout(Some(left)).unwrap();
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.push_str(&message);
                if message.lines().any(|l| l == needle) {
                    return message;
                }
            }
        }
    }
}

fn terminate(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn device_is_ready_once_it_listens_and_says_when_it_stops() {
    let notify = Notify::new();
    let (flags, _) = sec(2);
    let mut agent = Agent::start_with(tempfile::tempdir().unwrap(), &[], &flags, &[notify.env()]);
    let ready = notify.wait_for("READY=1", Duration::from_secs(20));
    assert!(
        ready.contains(&format!(
            "STATUS=serving provisioning on http://{}",
            agent.addr
        )),
        "{ready:?}"
    );
    // Ready means listening.
    std::net::TcpStream::connect(&agent.addr).unwrap();

    terminate(agent.child.id());
    notify.wait_for("STOPPING=1", Duration::from_secs(10));
    let status = agent.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(0), "{}", agent.output());
}

#[test]
fn manage_is_ready_with_its_control_socket_answering() {
    let notify = Notify::new();
    let dir = tempfile::tempdir().unwrap();
    let networks = dir.path().join("networks.json");
    std::fs::write(
        &networks,
        r#"{"schema": 2, "known_networks": [{"ssid": "HomeNet", "password": "correct-horse"}],
            "access_point": {"config": {"essid": "setup", "password": "setup-pass-1"},
                             "start_policy": "never"}}"#,
    )
    .unwrap();
    let control = dir.path().join("manager.sock");
    let child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["manage", "--networks"])
        .arg(&networks)
        .arg("--control")
        .arg(&control)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env(notify.env().0, notify.env().1)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = notify.wait_for("READY=1", Duration::from_secs(20));
    assert!(ready.contains("STATUS=managing Wi-Fi"), "{ready:?}");
    // Ready means the control socket answers.
    let status = wifiprov(&["status", "--json", "--control", control.to_str().unwrap()]);
    assert_eq!(status.code, 0, "{}", status.all());
    assert_eq!(status.json()["ok"], true, "{}", status.all());

    terminate(child.id());
    notify.wait_for("STOPPING=1", Duration::from_secs(10));
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts that every line of `stderr` is a JSON object with a level and a message, and
/// returns them.
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in &lines {
        assert!(line["level"].is_string(), "{line}");
        assert!(line["message"].is_string(), "{line}");
        assert!(line["timestamp"].is_string(), "{line}");
    }
    lines
}

#[test]
fn json_logs_are_one_object_per_line() {
    let (mut flags, _) = sec(2);
    flags.extend(["--log-format", "json"]);
    let mut agent = Agent::start(&flags);
    terminate(agent.child.id());
    let status = agent.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(0), "{}", agent.output());
    // The reader threads finish with the stream.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !agent.stderr.lock().unwrap().contains("stopped") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let lines = json_lines(&agent.stderr.lock().unwrap());
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("serving provisioning")),
        "{messages:?}"
    );
    assert!(messages.contains(&"stopping on signal"), "{messages:?}");
    // Structured fields stay fields.
    assert!(
        lines
            .iter()
            .any(|l| l["local"].as_str() == Some(&agent.addr)),
        "{lines:?}"
    );
    // The secret is in neither messages nor fields.
    assert!(!agent.output().contains("s3cret-srp-pw"));
}

#[test]
fn a_fatal_error_is_a_json_line_too() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let run = wifiprov(&[
        "--log-format",
        "json",
        "device",
        "--config",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 9, "{}", run.all());
    let lines = json_lines(&run.stderr);
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "ERROR", "{last}");
    assert!(
        last["message"].as_str().unwrap().contains("missing.toml"),
        "{last}"
    );
}

/// `wifiprov device` on loopback with `env`, killed once it serves; its stderr up to then.
fn device_stderr(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (flags, _) = sec(2);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["device", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path())
        .args(&flags)
        .env_remove("INVOCATION_ID")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    for line in BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        out.push_str(&line);
        out.push('\n');
        if line.contains("serving provisioning") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    out
}

#[test]
fn under_systemd_plain_logs_have_no_timestamps() {
    let text = device_stderr(&[("INVOCATION_ID", "0123456789abcdef")]);
    let line = text
        .lines()
        .find(|l| l.contains("serving provisioning"))
        .unwrap();
    assert!(line.trim_start().starts_with("INFO "), "{line:?}");
    // Outside systemd the same line starts with a timestamp (`2026-…T…Z`).
    let text = device_stderr(&[]);
    let line = text
        .lines()
        .find(|l| l.contains("serving provisioning"))
        .unwrap();
    assert!(
        line.as_bytes().first().is_some_and(u8::is_ascii_digit),
        "{line:?}"
    );
}

#[test]
fn lines_to_the_journal_carry_their_syslog_priority() {
    let (reader, writer) = std::io::pipe().unwrap();
    let meta = std::fs::File::from(std::os::fd::OwnedFd::from(reader.try_clone().unwrap()))
        .metadata()
        .unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    let dir = tempfile::tempdir().unwrap();
    let (flags, _) = sec(2);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["device", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path())
        .args(&flags)
        .env("JOURNAL_STREAM", &stream)
        .env("INVOCATION_ID", "0123456789abcdef")
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(writer)
        .spawn()
        .unwrap();
    let line = BufReader::new(reader)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("serving provisioning"));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("a line");
    assert!(line.starts_with("<6>"), "{line:?}");
}

/// The unit files with `ExecStart=` pointing at the binary under test.
fn units(into: &Path) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/systemd");
    let mut units = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("/usr/bin/wifiprov", env!("CARGO_BIN_EXE_wifiprov"));
        std::fs::write(into.join(&name), &text).unwrap();
        units.push((name, text));
    }
    units.sort();
    units
}

#[test]
fn the_units_verify_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let units = units(dir.path());
    let names: Vec<&str> = units.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["wifiprov-device.service", "wifiprov-manage.service"]
    );
    for (name, text) in &units {
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(dir.path().join(name))
            .output()
            .expect("systemd-analyze (scripts/test.sh installs systemd)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        // Unknown or misspelt settings are only warned about: there must be none.
        assert!(stderr.trim().is_empty(), "{name}: {stderr}");
        assert!(text.contains("\nType=notify\n"), "{name}");
        for setting in [
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
        ] {
            assert!(
                text.contains(&format!("\n{setting}\n")),
                "{name}: {setting}"
            );
        }
    }
}

#[test]
fn the_units_are_hardened() {
    let dir = tempfile::tempdir().unwrap();
    for (name, _) in units(dir.path()) {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(dir.path().join(&name))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let exposure: f64 = stdout
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|rest| rest.split(": ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no exposure level: {stdout}"));
        // Root with three network capabilities: 2.6 today ("OK"; 10 is unprotected).
        assert!(exposure <= 3.5, "{name}: exposure {exposure}\n{stdout}");
    }
}

#[test]
fn the_units_flags_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in units(dir.path()) {
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        let args: Vec<&str> = exec
            .split_whitespace()
            .skip(1)
            .filter(|a| !a.starts_with('$'))
            .collect();
        // Flags are checked before --help is acted on: an unknown one fails here.
        let run = wifiprov(&[args.as_slice(), &["--help"]].concat());
        assert_eq!(run.code, 0, "{name}: {args:?}: {}", run.all());
    }
}
