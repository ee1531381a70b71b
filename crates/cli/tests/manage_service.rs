//! `wifiprov manage` as a service on the simulator: its `--config` file under the flags,
//! the event hook and JSON events, fallback provisioning with generated secrets that
//! `wifiprov provision` can use as printed, the refusal of an access point nobody could
//! provision, and `status` / `status --watch`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Run, wifiprov};

/// The access point's SSID in every networks file here.
const ESSID: &str = "wifiprov-setup";

fn networks_file(dir: &Path, policy: &str) -> PathBuf {
    let path = dir.join("networks.json");
    let doc = serde_json::json!({
        "schema": 2,
        "known_networks": [{"ssid": "Nowhere", "password": "not-here-at-all"}],
        "access_point": {"config": {"essid": ESSID}, "start_policy": policy}
    });
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

/// A running `wifiprov` whose stdout and stderr are collected.
struct Proc {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

fn collect(pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    text
}

impl Proc {
    fn start(args: &[&str]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("WIFIPROV_POP")
            .env_remove("WIFIPROV_PASSWORD")
            .env("WIFIPROV_SITE", "kept-from-hooks")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Proc {
            child,
            stdout,
            stderr,
        }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stdout holds `needle`; returns the rest of its line.
    fn wait_stdout(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.stdout();
            if let Some(at) = text.find(needle) {
                return text[at + needle.len()..]
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} not seen in:\n{text}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit code (bounded wait).
    fn stop(&mut self, within: Duration) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.wait(within)
    }

    fn wait(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the readers take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status(control: &Path, json: bool) -> Run {
    let mut args = vec!["status", "--control", control.to_str().unwrap()];
    if json {
        args.push("--json");
    }
    wifiprov(&args)
}

/// The `status --json` answer once `check` holds (bounded wait).
fn status_until(control: &Path, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let run = status(control, true);
        if run.code == 0 {
            let st = run.json();
            if check(&st) {
                return st;
            }
            assert!(Instant::now() < deadline, "{what}: {st}");
        } else {
            assert!(Instant::now() < deadline, "{what}: {}", run.all());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn generated_secrets_are_printed_once_and_provision_through_the_qr_payload() {
    let dir = tempfile::tempdir().unwrap();
    networks_file(dir.path(), "fallback");
    let hook_log = dir.path().join("hook.log");
    // The file names everything; the flag's --listen (any free port) wins over the file's.
    let config = dir.path().join("manage.toml");
    std::fs::write(
        &config,
        format!(
            "networks = \"networks.json\"\ncontrol = \"ctl/manager.sock\"\n\
             state-dir = \"state\"\ninterval = 1\nlisten = \"127.0.0.1:9\"\n\
             event-hook = \"env | grep ^WIFIPROV_ | sort | tr '\\\\n' ' ' >> {}; echo >> {}\"\n",
            hook_log.display(),
            hook_log.display()
        ),
    )
    .unwrap();
    let control = dir.path().join("ctl/manager.sock");
    let mut manage = Proc::start(&[
        "manage",
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);

    // The banner: shown once, naming the access point and the address of the flag.
    let payload = manage.wait_stdout("QR payload:", Duration::from_secs(30));
    let payload = payload.trim().to_string();
    let qr: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(qr["name"], ESSID);
    let listen = qr["address"].as_str().unwrap().to_string();
    assert!(listen.starts_with("127.0.0.1:"), "{listen}");
    assert_ne!(listen, "127.0.0.1:9");
    assert_ne!(listen, "127.0.0.1:0");
    assert_eq!(qr["username"], "wifiprov");
    assert_eq!(qr["security"], 2);
    let secret = qr["pop"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 12, "{secret}");
    assert_eq!(
        manage.stdout().matches(&secret).count(),
        3,
        "{}",
        manage.stdout()
    );

    // status: the access point, where provisioning serves.
    let st = status_until(&control, "the access point serves", |st| {
        st["provisioning_address"].is_string()
    });
    assert_eq!(st["ap_up"], true);
    assert_eq!(st["ap_ssid"], ESSID);
    assert_eq!(st["provisioning_address"], listen.as_str());

    // A wrong passphrase through the printed payload: the last outcome says so.
    let provision = |passphrase: &str| {
        wifiprov(&[
            "provision",
            "--qr-payload",
            &payload,
            "--ssid",
            "HomeNet",
            "--passphrase",
            passphrase,
        ])
    };
    let wrong = provision("wrong-horse");
    assert_eq!(wrong.code, 5, "{}", wrong.all());
    // The fallback takes new credentials at once: no reset hint.
    assert!(
        wrong.stderr.contains("no --reset needed"),
        "{}",
        wrong.all()
    );
    assert!(!wrong.all().contains("with --reset"), "{}", wrong.all());
    let st = status_until(&control, "the failure is recorded", |st| {
        st["last_outcome"]["event"] == "provisioning_failed"
    });
    assert!(
        st["last_outcome"]["reason"]
            .as_str()
            .unwrap()
            .contains("HomeNet"),
        "{st}"
    );
    let text = status(&control, false);
    assert_eq!(text.code, 0, "{}", text.all());
    assert!(
        text.stdout.contains(&format!("AP:       up \"{ESSID}\"")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!("provisioning at: {listen}")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("last outcome: provisioning failed: authentication failed"),
        "{}",
        text.stdout
    );

    // The right one, with the same payload and nothing restarted.
    let right = provision("correct-horse");
    assert_eq!(right.code, 0, "{}\n{}", right.all(), manage.stderr());
    let st = status_until(&control, "connected", |st| st["state"] == "connected");
    assert_eq!(st["network"], "HomeNet");
    let outcome = &st["last_outcome"];
    assert!(
        outcome["event"] == "provisioned" || outcome["event"] == "connected",
        "{st}"
    );
    assert_eq!(outcome["ssid"], "HomeNet");

    assert_eq!(manage.stop(Duration::from_secs(15)), Some(0));
    // The secret was printed once (banner) and never logged; the hook never saw it.
    assert!(!manage.stderr().contains(&secret), "{}", manage.stderr());
    assert_eq!(manage.stdout().matches("QR payload:").count(), 1);
    let hooks = std::fs::read_to_string(&hook_log).unwrap();
    assert!(!hooks.contains(&secret), "{hooks}");
    // The hook ran per event, with the event's fields and without our WIFIPROV_ variables.
    assert!(
        hooks.contains(&format!("WIFIPROV_ESSID={ESSID} WIFIPROV_EVENT=ap_up")),
        "{hooks}"
    );
    assert!(
        hooks.contains(&format!(
            "WIFIPROV_ADDRESS={listen} WIFIPROV_EVENT=provisioning"
        )),
        "{hooks}"
    );
    assert!(
        hooks
            .lines()
            .any(|l| l.contains("WIFIPROV_EVENT=provisioning_failed")
                && l.contains("WIFIPROV_REASON=authentication failed")),
        "{hooks}"
    );
    assert!(hooks.contains("WIFIPROV_EVENT=stopped"), "{hooks}");
    assert!(!hooks.contains("WIFIPROV_SITE"), "{hooks}");
}

#[test]
fn json_events_and_status_watch_until_the_manager_stops() {
    let dir = tempfile::tempdir().unwrap();
    let networks = networks_file(dir.path(), "fallback");
    let control = dir.path().join("manager.sock");
    let mut manage = Proc::start(&[
        "manage",
        "--networks",
        networks.to_str().unwrap(),
        "--control",
        control.to_str().unwrap(),
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--security",
        "1",
        "--events",
        "json",
        "--interval",
        "1",
    ]);
    // Security 1 without a PoP: one is generated, and with --events json the banner is one
    // JSON object too.
    let line = manage.wait_stdout("\"event\":\"fallback_secrets\"", Duration::from_secs(30));
    let banner =
        serde_json::from_str::<Value>(&format!("{{\"event\":\"fallback_secrets\"{line}")).unwrap();
    let pop = banner["pop"].as_str().unwrap().to_string();
    let listen = banner["address"].as_str().unwrap().to_string();
    assert!(listen.starts_with("127.0.0.1:"), "{listen}");
    // The generated PoP opens a session: the device itself then reports the wrong passphrase
    // (5), not a failed authentication (4).
    let run = wifiprov(&[
        "provision",
        "--service_name",
        &listen,
        "--sec_ver",
        "1",
        "--pop",
        &pop,
        "--ssid",
        "HomeNet",
        "--passphrase",
        "wrong-horse",
    ]);
    assert_eq!(run.code, 5, "{}", run.all());

    let mut watch = Proc::start(&["status", "--control", control.to_str().unwrap(), "--watch"]);
    watch.wait_stdout("AP:       up", Duration::from_secs(10));
    // A rescan makes the manager try its network again: the watcher sees it.
    let rescan = wifiprov(&["networks", "--control", control.to_str().unwrap(), "rescan"]);
    assert_eq!(rescan.code, 0, "{}", rescan.all());
    watch.wait_stdout("joining \"Nowhere\" failed", Duration::from_secs(20));

    assert_eq!(manage.stop(Duration::from_secs(15)), Some(0));
    // The watcher ends by itself once the manager is gone.
    assert_eq!(
        watch.wait(Duration::from_secs(10)),
        Some(0),
        "{}",
        watch.stderr()
    );
    assert!(
        watch.stdout().lines().last() == Some("manager stopped"),
        "{}",
        watch.stdout()
    );

    // Every stdout line of the manager is one JSON object with an event name.
    let out = manage.stdout();
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for name in [
        "ap_up",
        "provisioning",
        "fallback_secrets",
        "joining",
        "join_failed",
        "stopped",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let secrets = events
        .iter()
        .find(|e| e["event"] == "fallback_secrets")
        .unwrap();
    assert_eq!(secrets["security"], 1);
    assert_eq!(secrets["address"], listen.as_str());
    let pop = secrets["pop"].as_str().unwrap();
    assert!(!manage.stderr().contains(pop), "{}", manage.stderr());
    let provisioning = events
        .iter()
        .find(|e| e["event"] == "provisioning")
        .unwrap();
    assert_eq!(provisioning["address"], listen.as_str());
}

#[test]
fn an_access_point_nobody_could_provision_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let networks = networks_file(dir.path(), "fallback");
    let config = dir.path().join("manage.toml");
    std::fs::write(&config, "generate-secrets = false\n").unwrap();
    let control = dir.path().join("manager.sock");
    let args = [
        "manage",
        "--config",
        config.to_str().unwrap(),
        "--networks",
        networks.to_str().unwrap(),
        "--control",
        control.to_str().unwrap(),
    ];
    let mut manage = Proc::start(&args);
    // 2: the settings contradict each other.
    assert_eq!(manage.wait(Duration::from_secs(20)), Some(2));
    let err = manage.stderr();
    assert!(err.contains("refusing to start"), "{err}");
    assert!(err.contains("start_policy \"fallback\""), "{err}");
    assert!(!err.contains("--reset"), "{err}");
}

#[test]
fn reset_hints_only_for_devices_that_wait_for_a_reset() {
    let provision = |agent: &support::Agent| {
        let mut args = vec![
            "provision",
            "--service_name",
            agent.addr.as_str(),
            "--sec_ver",
            "1",
        ];
        args.extend([
            "--pop",
            "abcd1234",
            "--ssid",
            "HomeNet",
            "--passphrase",
            "wrong-horse",
        ]);
        wifiprov(&args)
    };
    // ESP-IDF's behaviour: after a failure the device waits for a reset, and says so.
    let waits = support::Agent::start(&["--security", "1", "--pop", "abcd1234"]);
    let run = provision(&waits);
    assert_eq!(run.code, 5, "{}", run.all());
    assert!(run.stderr.contains("with --reset"), "{}", run.all());
    // --reset-on-failure: new credentials are taken at once.
    let retries = support::Agent::start(&[
        "--security",
        "1",
        "--pop",
        "abcd1234",
        "--reset-on-failure",
        "1",
    ]);
    let run = provision(&retries);
    assert_eq!(run.code, 5, "{}", run.all());
    assert!(!run.all().contains("with --reset"), "{}", run.all());
    assert!(run.stderr.contains("no --reset needed"), "{}", run.all());
}

#[test]
fn a_provisioning_service_that_cannot_start_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let networks = networks_file(dir.path(), "fallback");
    let control = dir.path().join("manager.sock");
    // The port is taken: the access point comes up, its provisioning service cannot.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let manage = Proc::start(&[
        "manage",
        "--networks",
        networks.to_str().unwrap(),
        "--control",
        control.to_str().unwrap(),
        "--listen",
        &listen,
        "--pop",
        "abcd1234",
        "--events",
        "json",
    ]);
    manage.wait_stdout(
        "\"event\":\"provisioning_unavailable\"",
        Duration::from_secs(30),
    );
    let st = status_until(&control, "unavailable", |st| {
        st["provisioning_unavailable"].is_string()
    });
    assert_eq!(st["ap_up"], true);
    assert!(st["provisioning_address"].is_null(), "{st}");
    let text = status(&control, false);
    assert!(
        text.stdout.contains("provisioning: unavailable ("),
        "{}",
        text.stdout
    );
    drop(taken);
}
