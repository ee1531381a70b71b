//! `wifiprov manage --smartconfig-udp`: SmartConfig as a route of the fallback provisioning
//! service, next to HTTP or alone, end to end with `wifiprov smartconfig send` over loopback:
//! a wrong passphrase leaves the access point up and the route listening, the right one is
//! joined, acknowledged to the phone and recorded in networks.json.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Run, wifiprov};

fn networks_file(dir: &Path) -> PathBuf {
    let path = dir.join("networks.json");
    let doc = serde_json::json!({
        "schema": 2,
        "known_networks": [{"ssid": "Nowhere", "password": "not-here-at-all", "enables_webrepl": false}],
        "access_point": {
            "config": {"essid": "wifiprov-setup", "channel": 6, "hidden": false, "password": "setup-pass-1", "authmode": 3},
            "enables_webrepl": false,
            "start_policy": "fallback"
        }
    });
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `wifiprov manage` daemon whose stderr is collected.
struct Daemon {
    child: Child,
    stderr: Arc<Mutex<String>>,
    control: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, data: u16, reply: u16, extra: &[&str]) -> Daemon {
        let control = dir.join("ctl/manager.sock");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
            .arg("manage")
            .arg("--networks")
            .arg(networks_file(dir))
            .arg("--control")
            .arg(&control)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .args(["--interval", "1", "--smartconfig-udp"])
            .arg(format!("127.0.0.1:{data}"))
            .args(["--smartconfig-ack-port", &reply.to_string()])
            .args(["--smartconfig-ack-broadcast", "127.0.0.1"])
            .args(extra)
            .env("NO_COLOR", "1")
            .env_remove("WIFIPROV_POP")
            .env_remove("WIFIPROV_PASSWORD")
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
        Daemon {
            child,
            stderr,
            control,
        }
    }

    /// The rest of the first line containing `needle`.
    fn wait_for(&mut self, needle: &str, within: Duration) -> String {
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
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "the manager exited:\n{text}"
            );
            assert!(Instant::now() < deadline, "{needle:?} not seen in:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn status(&self) -> Value {
        let run = wifiprov(&[
            "status",
            "--control",
            self.control.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(run.code, 0, "{}", run.all());
        run.json()
    }

    fn output(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The phone: `wifiprov smartconfig send` for HomeNet with `password`.
fn send(data: u16, reply: u16, password: &str, timeout: &str) -> Run {
    wifiprov(&[
        "smartconfig",
        "send",
        "--protocol",
        "esptouch",
        "--ssid",
        "HomeNet",
        "--password",
        password,
        "--target",
        &format!("127.0.0.1:{data}"),
        "--ack-listen",
        &format!("127.0.0.1:{reply}"),
        "--gap-us",
        "300",
        "--timeout",
        timeout,
        "--json",
    ])
}

#[test]
fn smartconfig_provisions_the_fallback_and_the_network_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (data, reply) = (free_udp_port(), free_udp_port());
    let mut daemon = Daemon::start(
        dir.path(),
        data,
        reply,
        &["--listen", "127.0.0.1:0", "--pop", "abcd1234"],
    );
    // Both routes come up with the access point, in order.
    let line = daemon.wait_for("provisioning service on ", Duration::from_secs(30));
    assert!(line.starts_with("http://127.0.0.1:"), "{line}");
    assert!(
        line.ends_with(&format!(" and SmartConfig on udp 127.0.0.1:{data}")),
        "{line}"
    );
    assert_eq!(daemon.status()["ap_up"], true);

    // A wrong passphrase: no acknowledgement, the access point and the route stay up.
    let wrong = send(data, reply, "wrong-horse", "4");
    // 7: no device replied before the sender's --timeout.
    assert_eq!(wrong.code, 7, "{}\n{}", wrong.all(), daemon.output());
    daemon.wait_for("provisioned credentials failed", Duration::from_secs(20));
    let status = daemon.status();
    assert_eq!(status["ap_up"], true, "{status}");
    assert_ne!(status["state"], "connected", "{status}");

    // The right one, with nothing restarted: joined and acknowledged to the phone.
    let right = send(data, reply, "correct-horse", "60");
    assert_eq!(right.code, 0, "{}\n{}", right.all(), daemon.output());
    let result = right.json();
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["devices"][0]["ip"], "192.168.1.42", "{result}");

    // HomeNet is recorded first in the networks file, and the manager stays on it.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let doc: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("networks.json")).unwrap(),
        )
        .unwrap();
        let status = daemon.status();
        if doc["known_networks"][0]["ssid"] == "HomeNet" && status["state"] == "connected" {
            assert_eq!(doc["known_networks"][0]["password"], "correct-horse");
            assert_eq!(doc["known_networks"][1]["ssid"], "Nowhere");
            assert_eq!(status["network"], "HomeNet");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not recorded: {doc}\n{status}\n{}",
            daemon.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The access point (and with it the routes) goes down once the phone has its answer.
    let deadline = Instant::now() + Duration::from_secs(45);
    while daemon.status()["ap_up"] != false {
        assert!(Instant::now() < deadline, "{}", daemon.output());
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = daemon.output();
    for secret in ["correct-horse", "wrong-horse", "abcd1234", "setup-pass-1"] {
        assert!(!out.contains(secret), "{secret} leaked:\n{out}");
    }
}

#[test]
fn smartconfig_alone_is_a_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let (data, reply) = (free_udp_port(), free_udp_port());
    let mut daemon = Daemon::start(dir.path(), data, reply, &[]);
    let line = daemon.wait_for("provisioning service on ", Duration::from_secs(30));
    assert_eq!(line, format!("SmartConfig on udp 127.0.0.1:{data}"));
    assert!(
        daemon.output().contains("SmartConfig only"),
        "{}",
        daemon.output()
    );
    assert_eq!(daemon.status()["ap_up"], true);
}
