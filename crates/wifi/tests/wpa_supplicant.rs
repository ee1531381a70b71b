//! The wpa_supplicant backend against the real daemon.
//!
//! NEEDS ROOT, `ip netns` and wpa_supplicant (CI runs these as root). Each test creates its
//! own network namespace with a veth pair and a temporary directory, starts
//! `wpa_supplicant -D wired` (or `-D none`) inside the namespace with its control socket and
//! configuration in that directory, and drives it only through the public API of
//! `WpaBackend`. A guard kills the daemon by pid and deletes the namespace however the test
//! ends. Without root or `ip netns`, the tests FAIL with an explanation, unless
//! `WIFIPROV_ALLOW_SKIP=1` is set, in which case they print `SKIPPED` and return.
//!
//! What the wired and none drivers really do (and what is asserted here): both accept
//! network blocks, `SAVE_CONFIG` and `ATTACH`; `-D wired` with `ap_scan=0` "associates" at
//! once with the PAE group address 01:80:c2:00:00:03 and completes open networks, while a
//! WPA-PSK network stays associated waiting for a 4-way handshake that never comes;
//! `-D none` fails every scan (`CTRL-EVENT-SCAN-FAILED ret=-1`); neither supports AP mode.
#![cfg(feature = "wpa-supplicant")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};
use wifiprov_wifi::wpa::{WpaBackend, WpaEvent, WpaOptions};
use wifiprov_wifi::{
    ApConfig, AuthMode, Bssid, ConnectError, ConnectProgress, Credentials, ScanParams,
    StationStatus, WifiBackend, WifiError,
};

/// The address `-D wired` reports as its "access point" (the IEEE 802.1X PAE group address).
const PAE: Bssid = Bssid([0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);

static NEXT: AtomicU32 = AtomicU32::new(0);

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether the privileged tests can run here; fails (or, with `WIFIPROV_ALLOW_SKIP=1`,
/// reports SKIPPED) when not.
fn can_run(test: &str) -> bool {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next().map(str::to_owned))
        })
        .unwrap_or_default();
    let problem = if uid != "0" {
        Some(format!("not running as root (uid {uid})"))
    } else if let Err(e) = run(Command::new("ip").args(["netns", "list"])) {
        Some(format!("`ip netns` is unavailable: {e}"))
    } else if let Err(e) = run(Command::new("wpa_supplicant").arg("-v")) {
        Some(format!("wpa_supplicant is not installed: {e}"))
    } else {
        None
    };
    match problem {
        None => true,
        Some(why) if std::env::var("WIFIPROV_ALLOW_SKIP").as_deref() == Ok("1") => {
            eprintln!("SKIPPED {test}: {why}");
            false
        }
        Some(why) => panic!(
            "{test} needs root, `ip netns` and wpa_supplicant: {why}. CI runs these tests as \
             root; set WIFIPROV_ALLOW_SKIP=1 to skip them explicitly"
        ),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// `-D wired` with `ap_scan=0`.
    Wired,
    /// `-D none`.
    None,
}

/// One wpa_supplicant in its own namespace. Dropping it kills the daemon (by pid) and
/// deletes the namespace (which removes the veth pair).
struct Daemon {
    ns: String,
    iface: String,
    dir: tempfile::TempDir,
    conf: PathBuf,
    ctrl: PathBuf,
    pidfile: PathBuf,
    log: PathBuf,
}

impl Daemon {
    /// Starts a daemon. `update_config` adds `update_config=1`; `ip` gives the
    /// namespace's end of the veth an IPv4 address.
    fn start(driver: Driver, update_config: bool, ip: Option<&str>) -> Daemon {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let ns = format!("wq{}x{n}", std::process::id() % 100_000);
        let dir = tempfile::tempdir().unwrap();
        let iface = format!("{ns}a");
        let daemon = Daemon {
            conf: dir.path().join("wpa.conf"),
            ctrl: dir.path().join("run").join(&iface),
            pidfile: dir.path().join("wpa.pid"),
            log: dir.path().join("wpa.log"),
            ns: ns.clone(),
            iface: iface.clone(),
            dir,
        };
        let peer = format!("{ns}b");
        run(Command::new("ip").args(["netns", "add", &ns])).unwrap();
        run(Command::new("ip").args([
            "link", "add", &iface, "type", "veth", "peer", "name", &peer,
        ]))
        .unwrap();
        run(Command::new("ip").args(["link", "set", &iface, "netns", &ns])).unwrap();
        run(Command::new("ip").args(["-n", &ns, "link", "set", "lo", "up"])).unwrap();
        run(Command::new("ip").args(["-n", &ns, "link", "set", &iface, "up"])).unwrap();
        run(Command::new("ip").args(["link", "set", &peer, "up"])).unwrap();
        if let Some(ip) = ip {
            run(Command::new("ip").args(["-n", &ns, "addr", "add", ip, "dev", &iface])).unwrap();
        }
        let mut conf = format!(
            "ctrl_interface=DIR={}\n",
            daemon.dir.path().join("run").display()
        );
        if update_config {
            conf.push_str("update_config=1\n");
        }
        if driver == Driver::Wired {
            conf.push_str("ap_scan=0\n");
        }
        std::fs::write(&daemon.conf, conf).unwrap();
        let drv = match driver {
            Driver::Wired => "wired",
            Driver::None => "none",
        };
        run(Command::new("ip")
            .args(["netns", "exec", &ns, "wpa_supplicant", "-B", "-D", drv])
            .arg("-i")
            .arg(&iface)
            .arg("-c")
            .arg(&daemon.conf)
            .arg("-P")
            .arg(&daemon.pidfile)
            .arg("-f")
            .arg(&daemon.log)
            .arg("-dd"))
        .unwrap();
        let start = Instant::now();
        while !daemon.ctrl.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "wpa_supplicant did not create {}",
                daemon.ctrl.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }

    fn saved(&self) -> String {
        std::fs::read_to_string(&self.conf).unwrap()
    }

    async fn backend(&self, options: WpaOptions) -> WpaBackend {
        WpaBackend::connect_with(&self.ctrl, options).await.unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pidfile) {
            let pid = pid.trim().to_owned();
            let _ = Command::new("kill").arg(&pid).status();
            let proc = Path::new("/proc").join(&pid);
            let start = Instant::now();
            while proc.exists() && start.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if proc.exists() {
                let _ = Command::new("kill").args(["-9", &pid]).status();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- wpa_supplicant log (last lines, newest first) ---");
            for line in tail {
                eprintln!("{line}");
            }
        }
    }
}

fn fast() -> WpaOptions {
    WpaOptions {
        request_timeout: Duration::from_secs(2),
        scan_timeout: Duration::from_secs(5),
        join_timeout: Duration::from_secs(2),
        address_timeout: Duration::from_secs(1),
        ap_timeout: Duration::from_secs(2),
        not_found_scans: 3,
        save_after_connect: false,
    }
}

/// Collects the events received so far (waiting up to `wait` for the first missing one).
async fn events_until(
    rx: &mut broadcast::Receiver<WpaEvent>,
    wait: Duration,
    done: impl Fn(&[WpaEvent]) -> bool,
) -> Vec<WpaEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while !done(&seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(ev)) => seen.push(ev),
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            _ => break,
        }
    }
    seen
}

async fn join(
    backend: &WpaBackend,
    credentials: Credentials,
) -> (
    Result<wifiprov_wifi::LinkStatus, ConnectError>,
    Vec<ConnectProgress>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (result, steps) = tokio::join!(backend.connect(credentials, Some(tx)), async {
        let mut steps = Vec::new();
        while let Some(step) = rx.recv().await {
            steps.push(step);
        }
        steps
    });
    (result, steps)
}

#[tokio::test]
async fn networks_are_added_saved_listed_and_removed() {
    if !can_run("networks_are_added_saved_listed_and_removed") {
        return;
    }
    let daemon = Daemon::start(Driver::Wired, true, None);
    let backend = daemon.backend(fast()).await;
    assert_eq!(backend.interface(), daemon.iface);
    assert_eq!(backend.name(), "wpa_supplicant");
    let mut events = backend.subscribe();

    let open = backend
        .add_network(&Credentials::new("Lobby", ""))
        .await
        .unwrap();
    let home = backend
        .add_network(&Credentials::new("HomeNet", "correct horse"))
        .await
        .unwrap();
    let mut cafe = Credentials::new("Café ☕", "pâté-lover-42");
    cafe.bssid = Some("02:11:22:33:44:55".parse().unwrap());
    let cafe = backend.add_network(&cafe).await.unwrap();
    let raw_psk = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let raw = backend
        .add_network(&Credentials::new("RawKey", raw_psk))
        .await
        .unwrap();
    // A passphrase wpa_supplicant would refuse is refused before any block is added.
    let err = backend
        .add_network(&Credentials::new("Short", "short"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::Invalid(_)), "{err:?}");

    let list = backend.list_networks().await.unwrap();
    let ssids: Vec<&[u8]> = list.iter().map(|n| n.ssid.as_slice()).collect();
    assert_eq!(
        ssids,
        [
            b"Lobby".as_slice(),
            b"HomeNet",
            "Café ☕".as_bytes(),
            b"RawKey"
        ]
    );
    assert_eq!(list[2].bssid, Some("02:11:22:33:44:55".parse().unwrap()));
    assert!(list.iter().all(|n| !n.disabled), "{list:?}");

    let added = events_until(&mut events, Duration::from_secs(2), |seen| {
        seen.iter()
            .filter(|e| matches!(e, WpaEvent::NetworkAdded(_)))
            .count()
            >= 4
    })
    .await;
    let added: Vec<u32> = added
        .iter()
        .filter_map(|e| match e {
            WpaEvent::NetworkAdded(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(added, [open, home, cafe, raw]);

    backend.save_config().await.unwrap();
    let saved = daemon.saved();
    for expected in [
        "ssid=\"Lobby\"",
        "ssid=\"HomeNet\"",
        "psk=\"correct horse\"",
        "key_mgmt=WPA-PSK",
        "key_mgmt=NONE",
        "scan_ssid=1",
        // Non-ASCII SSIDs are written as hex.
        "ssid=436166c3a920e29895",
        "bssid=02:11:22:33:44:55",
        "psk=\"pâté-lover-42\"",
        &format!("psk={raw_psk}"),
    ] {
        assert!(
            saved.contains(expected),
            "{expected:?} missing in:\n{saved}"
        );
    }
    assert!(!saved.contains("Short"), "{saved}");
    // The wired driver does not offer SAE, so unknown networks get WPA-PSK only.
    assert!(!saved.contains("SAE"), "{saved}");

    backend.remove_network(home).await.unwrap();
    let removed = events_until(&mut events, Duration::from_secs(2), |seen| {
        seen.contains(&WpaEvent::NetworkRemoved(home))
    })
    .await;
    assert!(
        removed.contains(&WpaEvent::NetworkRemoved(home)),
        "{removed:?}"
    );
    let list = backend.list_networks().await.unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|n| n.id != home));
    backend.save_config().await.unwrap();
    let saved = daemon.saved();
    assert!(
        !saved.contains("HomeNet") && !saved.contains("correct horse"),
        "{saved}"
    );
    assert!(saved.contains("ssid=\"Lobby\""));

    let err = backend.remove_network(4242).await.unwrap_err();
    assert!(
        matches!(&err, WifiError::Invalid(m) if m.contains("4242")),
        "{err:?}"
    );

    // The backend keeps no secret it could show.
    assert!(!format!("{backend:?}").contains("correct horse"));
}

#[tokio::test]
async fn joins_an_open_network_on_a_wired_link() {
    if !can_run("joins_an_open_network_on_a_wired_link") {
        return;
    }
    let daemon = Daemon::start(Driver::Wired, true, Some("10.77.0.2/24"));
    let options = WpaOptions {
        save_after_connect: true,
        ..fast()
    };
    let backend = daemon.backend(options).await;
    let other = backend
        .add_network(&Credentials::new("Elsewhere", "correct horse"))
        .await
        .unwrap();
    let mut events = backend.subscribe();

    let (result, steps) = join(&backend, Credentials::new("Lobby", "")).await;
    let link = result.unwrap();
    assert_eq!(link.ssid, b"Lobby");
    assert_eq!(link.bssid, PAE);
    assert_eq!(link.ip, Ipv4Addr::new(10, 77, 0, 2));
    assert_eq!(link.auth, AuthMode::Open);
    assert_eq!(link.channel, 0, "a wired link has no channel (freq=0)");
    assert_eq!(
        steps,
        [
            ConnectProgress::Searching,
            ConnectProgress::Associating {
                bssid: PAE,
                channel: 0
            },
            ConnectProgress::ObtainingAddress,
            ConnectProgress::Connected(link.clone()),
        ]
    );
    let seen = events_until(&mut events, Duration::from_secs(1), |seen| {
        seen.iter().any(|e| matches!(e, WpaEvent::Connected { .. }))
    })
    .await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, WpaEvent::Connected { bssid: Some(b), .. } if *b == PAE)),
        "{seen:?}"
    );

    match backend.status().await.unwrap() {
        StationStatus::Connected(now) => {
            assert_eq!(now.ip, link.ip);
            assert_eq!(now.bssid, PAE);
            assert_eq!(now.ssid, b"Lobby");
        }
        other => panic!("{other:?}"),
    }
    // Saved after joining; the network SELECT_NETWORK disabled is enabled again.
    assert!(
        daemon.saved().contains("ssid=\"Lobby\""),
        "{}",
        daemon.saved()
    );
    let list = backend.list_networks().await.unwrap();
    let elsewhere = list.iter().find(|n| n.id == other).unwrap();
    assert!(!elsewhere.disabled, "{list:?}");

    // Joining the same SSID again replaces the older block.
    let (again, _) = join(&backend, Credentials::new("Lobby", "")).await;
    again.unwrap();
    let lobbies = backend
        .list_networks()
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.ssid == b"Lobby")
        .count();
    assert_eq!(lobbies, 1);

    let mut events = backend.subscribe();
    backend.disconnect().await.unwrap();
    let seen = events_until(&mut events, Duration::from_secs(2), |seen| {
        seen.iter()
            .any(|e| matches!(e, WpaEvent::Disconnected { .. }))
    })
    .await;
    assert!(
        seen.iter().any(|e| matches!(
            e,
            WpaEvent::Disconnected {
                reason: 3,
                locally_generated: true,
                ..
            }
        )),
        "{seen:?}"
    );
    assert_eq!(backend.status().await.unwrap(), StationStatus::Disconnected);
}

#[tokio::test]
async fn open_network_without_an_address_is_no_address() {
    if !can_run("open_network_without_an_address_is_no_address") {
        return;
    }
    let daemon = Daemon::start(Driver::Wired, true, None);
    let backend = daemon.backend(fast()).await;
    let started = Instant::now();
    let (result, steps) = join(&backend, Credentials::new("NoDhcp", "")).await;
    assert_eq!(
        result.unwrap_err(),
        ConnectError::NoAddress {
            ssid: "NoDhcp".into()
        }
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(steps.last(), Some(&ConnectProgress::ObtainingAddress));
    // The attempt's block is gone again.
    assert!(backend.list_networks().await.unwrap().is_empty());
}

#[tokio::test]
async fn secured_network_on_a_wired_link_times_out_authenticating() {
    if !can_run("secured_network_on_a_wired_link_times_out_authenticating") {
        return;
    }
    let daemon = Daemon::start(Driver::Wired, true, Some("10.77.0.2/24"));
    let backend = daemon.backend(fast()).await;
    let kept = backend
        .add_network(&Credentials::new("Kept", "correct horse"))
        .await
        .unwrap();
    let (result, steps) = join(&backend, Credentials::new("HomeNet", "correct horse")).await;
    // wpa_supplicant associates with the PAE address and then waits for a 4-way
    // handshake nobody sends.
    assert_eq!(
        result.unwrap_err(),
        ConnectError::Timeout {
            ssid: "HomeNet".into()
        }
    );
    assert_eq!(
        steps,
        [
            ConnectProgress::Searching,
            ConnectProgress::Associating {
                bssid: PAE,
                channel: 0
            },
            ConnectProgress::Authenticating,
        ]
    );
    let list = backend.list_networks().await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].id, kept);
    assert!(!list[0].disabled, "re-enabled after the attempt: {list:?}");
    // Enabled again, the other network is what wpa_supplicant turns to next.
    let kept_status = StationStatus::Connecting {
        ssid: b"Kept".to_vec(),
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut status = backend.status().await.unwrap();
    while status != kept_status && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = backend.status().await.unwrap();
    }
    assert_eq!(status, kept_status);
}

#[tokio::test]
async fn wired_driver_with_ap_scan_0_does_not_scan_nor_host_an_ap() {
    if !can_run("wired_driver_with_ap_scan_0_does_not_scan_nor_host_an_ap") {
        return;
    }
    let daemon = Daemon::start(Driver::Wired, true, None);
    let backend = daemon.backend(fast()).await;
    let err = backend.scan(ScanParams::default()).await.unwrap_err();
    assert!(
        matches!(&err, WifiError::Unsupported(m) if m.contains("ap_scan=0")),
        "{err:?}"
    );
    assert!(!backend.supports_ap().await.unwrap());
    let err = backend
        .start_ap(ApConfig {
            ssid: b"Setup".to_vec(),
            passphrase: None,
            channel: 0,
            hidden: false,
            max_clients: 4,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, WifiError::Unsupported(m) if m.contains("access point") && m.contains(&daemon.iface)),
        "{err:?}"
    );
    backend.stop_ap().await.unwrap();
    // Nothing was left behind.
    assert!(backend.list_networks().await.unwrap().is_empty());
}

#[tokio::test]
async fn none_driver_scans_fail_and_joins_give_up() {
    if !can_run("none_driver_scans_fail_and_joins_give_up") {
        return;
    }
    let daemon = Daemon::start(Driver::None, true, None);
    let options = WpaOptions {
        join_timeout: Duration::from_secs(8),
        ..fast()
    };
    let backend = daemon.backend(options).await;
    let mut events = backend.subscribe();
    let err = backend.scan(ScanParams::default()).await.unwrap_err();
    assert!(
        matches!(&err, WifiError::Unavailable(m) if m.contains("SCAN-FAILED ret=-1")),
        "{err:?}"
    );
    let seen = events_until(&mut events, Duration::from_secs(1), |seen| {
        seen.iter()
            .any(|e| matches!(e, WpaEvent::ScanFailed { .. }))
    })
    .await;
    assert!(
        seen.contains(&WpaEvent::ScanFailed {
            ret: -1,
            retry: false
        }),
        "{seen:?}"
    );

    // Joining needs scans; the driver keeps failing them.
    let (result, steps) = join(&backend, Credentials::new("Other", "12345678")).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, ConnectError::Backend(WifiError::Unavailable(m)) if m.contains("cannot scan")),
        "{err:?}"
    );
    assert_eq!(steps, [ConnectProgress::Searching]);
    assert!(backend.list_networks().await.unwrap().is_empty());

    let err = backend
        .start_ap(ApConfig {
            ssid: b"Setup".to_vec(),
            passphrase: Some("correct horse".into()),
            channel: 6,
            hidden: true,
            max_clients: 2,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, WifiError::Unsupported(_)), "{err:?}");
}

#[tokio::test]
async fn save_config_is_refused_without_update_config() {
    if !can_run("save_config_is_refused_without_update_config") {
        return;
    }
    let daemon = Daemon::start(Driver::None, false, None);
    let backend = daemon.backend(fast()).await;
    backend
        .add_network(&Credentials::new("Other", "12345678"))
        .await
        .unwrap();
    let before = daemon.saved();
    let err = backend.save_config().await.unwrap_err();
    assert!(
        matches!(&err, WifiError::Unsupported(m) if m.contains("update_config=1")),
        "{err:?}"
    );
    assert_eq!(daemon.saved(), before);
}

#[tokio::test]
async fn a_second_attempt_replaces_the_first_and_disconnect_cancels() {
    if !can_run("a_second_attempt_replaces_the_first_and_disconnect_cancels") {
        return;
    }
    let daemon = Daemon::start(Driver::Wired, true, None);
    let options = WpaOptions {
        join_timeout: Duration::from_secs(10),
        ..fast()
    };
    let backend = daemon.backend(options).await;
    let first = backend.connect(Credentials::new("First", "correct horse"), None);
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = backend.status().await.unwrap();
        assert_eq!(
            status,
            StationStatus::Connecting {
                ssid: b"First".to_vec()
            }
        );
        let second = backend.connect(Credentials::new("Second", "correct horse"), None);
        let cancel = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            backend.disconnect().await.unwrap();
        };
        tokio::join!(second, cancel).0
    };
    let (first, second) = tokio::join!(first, second);
    assert!(
        matches!(&first, Err(ConnectError::Backend(WifiError::Busy(m))) if m.contains("newer")),
        "{first:?}"
    );
    assert!(
        matches!(&second, Err(ConnectError::Backend(WifiError::Busy(m))) if m.contains("disconnect")),
        "{second:?}"
    );
    assert!(backend.list_networks().await.unwrap().is_empty());
    assert_eq!(backend.status().await.unwrap(), StationStatus::Disconnected);
}

#[tokio::test]
async fn permission_denied_for_an_unprivileged_user() {
    // The same test, started again below as user nobody, plays the unprivileged client.
    if std::env::var_os("WPA_TEST_CTRL").is_some() {
        unprivileged_helper().await;
        return;
    }
    if !can_run("permission_denied_for_an_unprivileged_user") {
        return;
    }
    let daemon = Daemon::start(Driver::Wired, false, None);
    // Run this test binary's helper as nobody (a copy, in case the build directory is
    // not readable for other users).
    let exe = std::env::current_exe().unwrap();
    let bin_dir = tempfile::tempdir().unwrap();
    let copy = bin_dir.path().join("wpa-test-helper");
    std::fs::copy(&exe, &copy).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&copy)
        .args([
            "--exact",
            "permission_denied_for_an_unprivileged_user",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WPA_TEST_CTRL", &daemon.ctrl)
        .env("TMPDIR", "/tmp")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("HELPER-OK"),
        "helper failed:\n{stdout}\n{stderr}"
    );
    if let Some(line) = stdout.lines().find(|l| l.contains("HELPER-OK")) {
        eprintln!("{line}");
    }
}

/// The part of `permission_denied_for_an_unprivileged_user` that runs as user nobody.
async fn unprivileged_helper() {
    let ctrl = std::env::var("WPA_TEST_CTRL")
        .expect("run by permission_denied_for_an_unprivileged_user (WPA_TEST_CTRL unset)");
    let err = WpaBackend::connect(&ctrl).await.unwrap_err();
    match &err {
        WifiError::Unavailable(m) => {
            assert!(m.contains("permission denied"), "{m}");
            assert!(m.contains(&ctrl), "{m}");
        }
        other => panic!("{other:?}"),
    }
    println!("HELPER-OK {err}");
}
