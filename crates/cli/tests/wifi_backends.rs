//! `--wifi`: choosing the backend, its errors, and the binary driving a REAL wpa_supplicant.
//!
//! The wpa_supplicant tests need root (a network namespace with a veth, where the daemon runs
//! with `-D wired`). Without root they fail with the reason, unless `WIFIPROV_ALLOW_SKIP=1` is
//! set, in which case they print SKIPPED.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::process::Command;
use std::time::Duration;

use support::*;
use wifiprov_testkit::wpa::{self, Driver, Options, Supplicant};

#[test]
fn unknown_backend_is_refused() {
    let state = tempfile::tempdir().unwrap();
    let run = wifiprov(&[
        "device",
        "--wifi",
        "iwd",
        "--state-dir",
        state.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "a usage error: {run:#?}");
    assert!(
        run.stderr.contains("unknown Wi-Fi backend \"iwd\""),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("wpa-supplicant, networkmanager"),
        "{run:#?}"
    );
}

#[test]
fn ap_interface_needs_a_second_wpa_supplicant_interface() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    let socket = state.path().join("wlan1");
    for (args, needle) in [
        (
            vec!["--wifi", "sim", "--ap-interface", "wlan3"],
            "needs the wpa-supplicant backend",
        ),
        (
            vec!["--wifi", "networkmanager", "--ap-interface", "wlan3"],
            "needs the wpa-supplicant backend",
        ),
        (
            vec![
                "--wpa-ctrl",
                socket.to_str().unwrap(),
                "--ap-interface",
                "wlan1",
            ],
            "is the station's own interface",
        ),
    ] {
        let mut all = vec!["device", "--state-dir", dir];
        all.extend(args);
        let run = wifiprov(&all);
        assert_eq!(run.code, 2, "a usage error: {run:#?}");
        assert!(run.stderr.contains(needle), "{needle:?}: {run:#?}");
    }
}

#[test]
fn missing_wpa_socket_names_the_path() {
    let state = tempfile::tempdir().unwrap();
    let socket = state.path().join("no-such-socket");
    let run = wifiprov(&[
        "device",
        "--wifi",
        "wpa-supplicant",
        "--wpa-ctrl",
        socket.to_str().unwrap(),
        "--state-dir",
        state.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 10, "the local system's failure: {run:#?}");
    assert!(run.stderr.contains(socket.to_str().unwrap()), "{run:#?}");
    assert!(run.stderr.contains("unavailable"), "{run:#?}");
}

#[test]
fn auto_without_any_backend_suggests_the_simulator() {
    let found: Vec<_> = ["/run/wpa_supplicant", "/var/run/wpa_supplicant"]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .collect();
    assert!(
        found.is_empty(),
        "this test needs a machine without wpa_supplicant control sockets in /run/wpa_supplicant"
    );
    let state = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["device", "--wifi", "auto", "--state-dir"])
        .arg(state.path())
        // No system bus at all, whatever the machine has.
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/system_bus_socket",
        )
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("no Wi-Fi backend found"), "{stderr}");
    assert!(
        stderr.contains("NetworkManager is not reachable"),
        "{stderr}"
    );
    assert!(stderr.contains("/run/wpa_supplicant"), "{stderr}");
    assert!(stderr.contains("--wifi sim"), "{stderr}");
}

/// A real wpa_supplicant (`-D wired`, `ap_scan=0`, `update_config=1`) on a veth in its own
/// network namespace; the namespace's end of the veth has 10.77.0.2/24, which
/// wpa_supplicant's STATUS reports. `None` (after printing SKIPPED) when the test cannot run
/// here and `WIFIPROV_ALLOW_SKIP=1`; the test fails when it cannot run otherwise.
fn wired_supplicant(test: &str) -> Option<Supplicant> {
    if !wpa::can_run(test) {
        return None;
    }
    Some(Supplicant::start(
        "wc",
        Options {
            driver: Driver::Wired,
            update_config: true,
            address: Some("10.77.0.2/24"),
        },
    ))
}

const NETWORKS: &str = r#"{"schema": 2,
 "known_networks": [{"ssid": "WiredNet", "password": "", "enables_webrepl": false}],
 "access_point": {"config": {"essid": "wifiprov-ap", "channel": 11, "hidden": false,
   "password": "provision-me"}, "enables_webrepl": false, "start_policy": "never"}}"#;

#[test]
fn manager_joins_through_real_wpa_supplicant() {
    let Some(wpa) = wired_supplicant("manager_joins_through_real_wpa_supplicant") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let networks = dir.path().join("networks.json");
    std::fs::write(&networks, NETWORKS).unwrap();
    let run = wifiprov(&[
        "manage",
        "--once",
        "--wifi",
        "wpa-supplicant",
        "--wpa-ctrl",
        wpa.ctrl().to_str().unwrap(),
        "--networks",
        networks.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains("connected to \"WiredNet\", address 10.77.0.2"),
        "{run:#?}"
    );
    // wpa_supplicant ran with ap_scan=0: the manager said why it joined without scanning.
    assert!(run.stderr.contains("ap_scan=0"), "{run:#?}");
}

#[tokio::test]
async fn device_provisioned_over_http_joins_through_real_wpa_supplicant() {
    let Some(wpa) =
        wired_supplicant("device_provisioned_over_http_joins_through_real_wpa_supplicant")
    else {
        return;
    };
    let mut agent = Agent::start(&[
        "--security",
        "0",
        "--wifi",
        "wpa-supplicant",
        "--wpa-ctrl",
        wpa.ctrl().to_str().unwrap(),
        "--connect-delay",
        "0",
    ]);
    let addr = agent.addr.clone();
    let run = tokio::task::spawn_blocking(move || {
        wifiprov(&[
            "provision",
            "--transport",
            "softap",
            "--service_name",
            &addr,
            "--sec_ver",
            "0",
            "--ssid",
            "WiredNet",
            "--passphrase",
            "",
            "--timeout",
            "30",
        ])
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "{run:#?}\nagent: {}", agent.output());
    assert!(run.all().contains("10.77.0.2"), "{run:#?}");
    // The agent stops after success; the network block was saved by wpa_supplicant.
    assert!(
        agent.wait_exit(Duration::from_secs(10)).is_some(),
        "{}",
        agent.output()
    );
    let conf = wpa.saved_config();
    assert!(conf.contains("ssid=\"WiredNet\""), "{conf}");
    assert!(conf.contains("key_mgmt=NONE"), "{conf}");
}
