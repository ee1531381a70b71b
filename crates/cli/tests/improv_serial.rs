//! Improv serial: the device's `--improv-serial` route on a pseudo-terminal, driven by
//! improv-wifi-serial-sdk (the library ESP Web Tools uses, from npm, run in Node) and by our
//! own client.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fs::File;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};

const BIN: &str = env!("CARGO_BIN_EXE_wifiprov");

/// A pty pair with the slave in raw mode: (master, slave path). The slave fd is closed; the
/// device opens the path.
fn pty() -> (OwnedFd, PathBuf, OwnedFd) {
    let pair = nix::pty::openpty(None, None).unwrap();
    let mut t = tcgetattr(&pair.slave).unwrap();
    cfmakeraw(&mut t);
    tcsetattr(&pair.slave, SetArg::TCSANOW, &t).unwrap();
    let path = nix::unistd::ttyname(&pair.slave).unwrap();
    (pair.master, path, pair.slave)
}

/// The device with `--improv-serial path`, killed on drop.
struct Device {
    child: Child,
    log: PathBuf,
    _state: tempfile::TempDir,
}

impl Device {
    fn start(path: &Path, extra: &[&str]) -> Device {
        let state = tempfile::tempdir().unwrap();
        let log = state.path().join("device.log");
        let child = Command::new(BIN)
            .args(["device", "--listen", "127.0.0.1:0", "--security", "0"])
            .args(["--connect-delay", "0", "--no-auto-stop", "--state-dir"])
            .arg(state.path())
            .arg("--improv-serial")
            .arg(path)
            .args(extra)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let device = Device {
            child,
            log,
            _state: state,
        };
        device.wait_for("provisioning service started");
        device
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(text) {
            assert!(Instant::now() < deadline, "no {text:?} in:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Relays the pty master to one TCP connection (the Node shim's "serial port").
fn relay(master: OwnedFd) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        let mut master_in = File::from(master);
        let mut master_out = master_in.try_clone().unwrap();
        let mut socket_in = socket.try_clone().unwrap();
        let mut socket_out = socket;
        std::thread::spawn(move || std::io::copy(&mut master_in, &mut socket_out));
        let _ = std::io::copy(&mut socket_in, &mut master_out);
    });
    addr
}

fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/improv-serial")
}

/// Installs the pinned SDK from npm once (scripts/test.sh does it before the tests).
fn sdk_installed() -> PathBuf {
    let dir = peer_dir();
    if !dir.join("node_modules/improv-wifi-serial-sdk").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed for the Improv serial peer test (scripts/test.sh installs it)");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    dir
}

#[test]
fn improv_wifi_serial_sdk_provisions_the_device() {
    let dir = sdk_installed();
    let (master, path, _slave) = pty();
    let device = Device::start(&path, &["--improv-url", "http://{ip}/setup"]);
    let addr = relay(master);
    let out = Command::new("node")
        .args(["--import", "./register.mjs", "driver.mjs"])
        .arg(addr.to_string())
        .args(["HomeNet", "wrong-horse", "correct-horse"])
        .current_dir(&dir)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}\n{}", device.log());
    let line = stdout.lines().last().unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}\n{}", device.log()));
    let context = format!("{report:#}\n{stderr}\n{}", device.log());

    // Detected, with our device info (firmware, version, hardware, name, OS).
    let info = &report["initialize"]["ok"];
    assert_eq!(info["firmware"], "wifiprov", "{context}");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"), "{context}");
    assert!(
        info["name"].as_str().unwrap().starts_with("PROV_"),
        "{context}"
    );
    assert_eq!(report["stateAfterInit"], 2, "{context}");
    // The scan: every network once, with its RSSI and whether it is secured.
    let scan = report["scan"]["ok"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}"));
    let home = scan.iter().find(|n| n["name"] == "HomeNet").unwrap();
    assert_eq!(home["secured"], true, "{context}");
    assert!(home["rssi"].as_i64().unwrap() < 0, "{context}");
    let open = scan.iter().find(|n| n["name"] == "CoffeeShop").unwrap();
    assert_eq!(open["secured"], false, "{context}");
    assert!(
        report["hostname"]["ok"]
            .as_str()
            .is_some_and(|h| !h.is_empty()),
        "{context}"
    );
    assert_eq!(report["setDeviceName"]["ok"], "Kitchen Pi", "{context}");
    let before = &report["networkStateBefore"]["ok"];
    assert_eq!(before["online"], false, "{context}");
    assert_eq!(before["supportsWifi"], true, "{context}");
    // A wrong passphrase: "unable to connect", and the device is ready again at once.
    assert_eq!(
        report["wrongPassphrase"]["error"], "UNABLE_TO_CONNECT",
        "{context}"
    );
    assert_eq!(report["errorAfterWrong"], 3, "{context}");
    assert_eq!(report["stateAfterWrong"], 2, "{context}");
    // The right one: provisioned, with the redirect URL built from the address it got.
    assert!(report["provision"].get("ok").is_some(), "{context}");
    assert_eq!(report["stateAfterProvision"], 4, "{context}");
    assert_eq!(report["nextUrl"], "http://192.168.1.42/setup", "{context}");
    // Asking for the state again gives the URL again.
    assert_eq!(
        report["urlFromState"], "http://192.168.1.42/setup",
        "{context}"
    );
    // The same provisioning machine as every route: its events are in the log.
    let log = device.log();
    assert!(
        log.contains("received credentials for \"HomeNet\""),
        "{log}"
    );
    assert!(
        log.contains("connected to \"HomeNet\", address 192.168.1.42"),
        "{log}"
    );
    assert!(
        !log.contains("correct-horse") && !log.contains("wrong-horse"),
        "{log}"
    );
}

/// Two pty pairs whose masters are relayed to each other: the device opens one slave, the
/// client the other, and every byte crosses both pseudo-terminals.
fn pty_link() -> (PathBuf, PathBuf, [OwnedFd; 2]) {
    let (m1, p1, s1) = pty();
    let (m2, p2, s2) = pty();
    let (mut a_in, mut b_in) = (File::from(m1), File::from(m2));
    let (mut a_out, mut b_out) = (a_in.try_clone().unwrap(), b_in.try_clone().unwrap());
    std::thread::spawn(move || std::io::copy(&mut a_in, &mut b_out));
    std::thread::spawn(move || std::io::copy(&mut b_in, &mut a_out));
    (p1, p2, [s1, s2])
}

fn client(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn our_client_provisions_our_device_over_a_pty_and_retries_without_restart() {
    let (device_end, client_end, _keep) = pty_link();
    let device = Device::start(&device_end, &[]);
    let serial = client_end.to_str().unwrap();
    let provision = |ssid: &str, pass: &str| {
        client(&[
            "provision",
            "--transport",
            "improv-serial",
            "--serial",
            serial,
            "--ssid",
            ssid,
            "--passphrase",
            pass,
            "--timeout",
            "20",
            "--json",
        ])
    };

    // Device info and the scan, as `info` and `scan` show them.
    let out = client(&[
        "info",
        "--transport",
        "improv-serial",
        "--serial",
        serial,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}\n{}", device.log());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["firmware"], "wifiprov");
    assert_eq!(info["state"], "authorized");
    let out = client(&[
        "scan",
        "--transport",
        "improv-serial",
        "--serial",
        serial,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let scan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ssids: Vec<&str> = scan
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["ssid"].as_str())
        .collect();
    assert!(
        ssids.contains(&"HomeNet") && ssids.contains(&"CoffeeShop"),
        "{scan}"
    );

    // Not found, then a wrong passphrase: exit 5 each time, and the device stays ready.
    for (ssid, pass) in [("Nowhere", "whatever-1"), ("HomeNet", "wrong-horse")] {
        let out = provision(ssid, pass);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(5), "{json}\n{}", device.log());
        assert_eq!(
            json["error"],
            format!("the device could not join {ssid}"),
            "{json}"
        );
        assert!(
            json["hint"]
                .as_str()
                .unwrap()
                .contains("new credentials at once"),
            "{json}"
        );
    }
    // The right one, on the same running device.
    let out = provision("HomeNet", "correct-horse");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}\n{}", device.log());
    assert_eq!(json["ok"], true);
    assert_eq!(json["protocol"], "improv-serial 1");
    // The default URL names the address the device got and its HTTP port.
    let url = json["url"].as_str().unwrap();
    assert!(url.starts_with("http://192.168.1.42:"), "{json}");
    let log = device.log();
    assert_eq!(log.matches("received credentials for").count(), 3, "{log}");
    assert!(
        !log.contains("correct-horse") && !log.contains("wrong-horse"),
        "{log}"
    );
}

#[test]
fn malformed_packets_get_an_invalid_rpc_error_and_the_port_keeps_working() {
    use std::io::{Read, Write};
    let (master, path, _slave) = pty();
    let device = Device::start(&path, &[]);
    let mut port = File::from(master);
    // Console noise, a bad checksum, an unknown command, then a good state request.
    let mut bytes = b"boot: hello\r\n".to_vec();
    bytes.extend(hex::decode("494d50524f560103020300e7").unwrap());
    bytes.extend(hex::decode("494d50524f560103024200").unwrap());
    bytes.push(
        0x49u8
            .wrapping_add(0x4d)
            .wrapping_add(0x50)
            .wrapping_add(0x52)
            .wrapping_add(0x4f)
            .wrapping_add(0x56)
            .wrapping_add(1 + 3 + 2 + 0x42),
    );
    bytes.extend(hex::decode("494d50524f560103020200e5").unwrap());
    port.write_all(&bytes).unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 512];
    // The answers: error "invalid RPC" (0x01), "unknown command" (0x02), then the state.
    while !seen
        .windows(11)
        .any(|w| w == hex::decode("494d50524f5601010102e2").unwrap())
    {
        assert!(Instant::now() < deadline, "{seen:02x?}\n{}", device.log());
        nix::fcntl::fcntl(
            &port,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .unwrap();
        match port.read(&mut buf) {
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let text = hex::encode(&seen);
    assert!(
        text.contains("494d50524f5601020101e2"),
        "invalid RPC: {text}"
    );
    assert!(
        text.contains("494d50524f5601020102e3"),
        "unknown command: {text}"
    );
}
