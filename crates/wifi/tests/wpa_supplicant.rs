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
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};
use wifiprov_testkit::child::{ChildTest, child_value};
use wifiprov_testkit::wpa::{self, Driver, Options, Supplicant};
use wifiprov_wifi::wpa::{WpaBackend, WpaEvent, WpaOptions};
use wifiprov_wifi::{
    ApConfig, AuthMode, Bssid, ConnectError, ConnectProgress, Credentials, ScanParams,
    StationStatus, WifiBackend, WifiErrorKind,
};

/// The address `-D wired` reports as its "access point" (the IEEE 802.1X PAE group address).
const PAE: Bssid = Bssid([0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);

/// Starts a daemon in its own namespace (names starting with `wq`); `update_config` adds
/// `update_config=1`; `address` gives the namespace's end of the veth an IPv4 address.
fn start(driver: Driver, update_config: bool, address: Option<&str>) -> Supplicant {
    Supplicant::start(
        "wq",
        Options {
            driver,
            update_config,
            address,
        },
    )
}

async fn connect_to(daemon: &Supplicant, options: WpaOptions) -> WpaBackend {
    WpaBackend::connect_with(daemon.ctrl(), options)
        .await
        .unwrap()
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
        ap_network: None,
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
    if !wpa::can_run("networks_are_added_saved_listed_and_removed") {
        return;
    }
    let daemon = start(Driver::Wired, true, None);
    let backend = connect_to(&daemon, fast()).await;
    assert_eq!(backend.interface(), daemon.iface());
    assert_eq!(backend.name(), "wpa_supplicant");
    let mut events = backend.subscribe();

    let open = backend
        .add_network(&Credentials::new("Lobby", "").unwrap())
        .await
        .unwrap();
    let home = backend
        .add_network(&Credentials::new("HomeNet", "correct horse").unwrap())
        .await
        .unwrap();
    let mut cafe = Credentials::new("Café ☕", "pâté-lover-42").unwrap();
    cafe.bssid = Some("02:11:22:33:44:55".parse().unwrap());
    let cafe = backend.add_network(&cafe).await.unwrap();
    let raw_psk = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let raw = backend
        .add_network(&Credentials::new("RawKey", raw_psk).unwrap())
        .await
        .unwrap();
    // A passphrase wpa_supplicant would refuse is refused before any block is added.
    let err = backend
        .add_network(&Credentials::new("Short", "short").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::InvalidCredentials(_)),
        "{err:?}"
    );

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
    let saved = daemon.saved_config();
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
    let saved = daemon.saved_config();
    assert!(
        !saved.contains("HomeNet") && !saved.contains("correct horse"),
        "{saved}"
    );
    assert!(saved.contains("ssid=\"Lobby\""));

    let err = backend.remove_network(4242).await.unwrap_err();
    assert!(
        err.is(WifiErrorKind::Invalid) && err.message().contains("4242"),
        "{err:?}"
    );

    // The backend keeps no secret it could show.
    assert!(!format!("{backend:?}").contains("correct horse"));
}

#[tokio::test]
async fn joins_an_open_network_on_a_wired_link() {
    if !wpa::can_run("joins_an_open_network_on_a_wired_link") {
        return;
    }
    let daemon = start(Driver::Wired, true, Some("10.77.0.2/24"));
    let options = WpaOptions {
        save_after_connect: true,
        ..fast()
    };
    let backend = connect_to(&daemon, options).await;
    let other = backend
        .add_network(&Credentials::new("Elsewhere", "correct horse").unwrap())
        .await
        .unwrap();
    let mut events = backend.subscribe();

    let (result, steps) = join(&backend, Credentials::new("Lobby", "").unwrap()).await;
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
        daemon.saved_config().contains("ssid=\"Lobby\""),
        "{}",
        daemon.saved_config()
    );
    let list = backend.list_networks().await.unwrap();
    let elsewhere = list.iter().find(|n| n.id == other).unwrap();
    assert!(!elsewhere.disabled, "{list:?}");

    // Joining the same SSID again replaces the older block.
    let (again, _) = join(&backend, Credentials::new("Lobby", "").unwrap()).await;
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
    if !wpa::can_run("open_network_without_an_address_is_no_address") {
        return;
    }
    let daemon = start(Driver::Wired, true, None);
    let backend = connect_to(&daemon, fast()).await;
    let started = Instant::now();
    let (result, steps) = join(&backend, Credentials::new("NoDhcp", "").unwrap()).await;
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
    if !wpa::can_run("secured_network_on_a_wired_link_times_out_authenticating") {
        return;
    }
    let daemon = start(Driver::Wired, true, Some("10.77.0.2/24"));
    let backend = connect_to(&daemon, fast()).await;
    let kept = backend
        .add_network(&Credentials::new("Kept", "correct horse").unwrap())
        .await
        .unwrap();
    let (result, steps) = join(
        &backend,
        Credentials::new("HomeNet", "correct horse").unwrap(),
    )
    .await;
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
    if !wpa::can_run("wired_driver_with_ap_scan_0_does_not_scan_nor_host_an_ap") {
        return;
    }
    let daemon = start(Driver::Wired, true, None);
    let backend = connect_to(&daemon, fast()).await;
    let err = backend.scan(ScanParams::default()).await.unwrap_err();
    assert!(
        err.is(WifiErrorKind::Unsupported) && err.message().contains("ap_scan=0"),
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
        err.is(WifiErrorKind::Unsupported)
            && err.message().contains("access point")
            && err.message().contains(daemon.iface()),
        "{err:?}"
    );
    backend.stop_ap().await.unwrap();
    // Nothing was left behind.
    assert!(backend.list_networks().await.unwrap().is_empty());
}

#[tokio::test]
async fn none_driver_scans_fail_and_joins_give_up() {
    if !wpa::can_run("none_driver_scans_fail_and_joins_give_up") {
        return;
    }
    let daemon = start(Driver::None, true, None);
    let options = WpaOptions {
        join_timeout: Duration::from_secs(8),
        ..fast()
    };
    let backend = connect_to(&daemon, options).await;
    let mut events = backend.subscribe();
    let err = backend.scan(ScanParams::default()).await.unwrap_err();
    assert!(
        err.is(WifiErrorKind::Unavailable) && err.message().contains("SCAN-FAILED ret=-1"),
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
    let (result, steps) = join(&backend, Credentials::new("Other", "12345678").unwrap()).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, ConnectError::Backend(we) if we.is(WifiErrorKind::Unavailable) && we.message().contains("cannot scan")),
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
    assert!(err.is(WifiErrorKind::Unsupported), "{err:?}");
}

#[tokio::test]
async fn save_config_is_refused_without_update_config() {
    if !wpa::can_run("save_config_is_refused_without_update_config") {
        return;
    }
    let daemon = start(Driver::None, false, None);
    let backend = connect_to(&daemon, fast()).await;
    backend
        .add_network(&Credentials::new("Other", "12345678").unwrap())
        .await
        .unwrap();
    let before = daemon.saved_config();
    let err = backend.save_config().await.unwrap_err();
    assert!(
        err.is(WifiErrorKind::Unsupported) && err.message().contains("update_config=1"),
        "{err:?}"
    );
    assert_eq!(daemon.saved_config(), before);
}

#[tokio::test]
async fn a_second_attempt_replaces_the_first_and_disconnect_cancels() {
    if !wpa::can_run("a_second_attempt_replaces_the_first_and_disconnect_cancels") {
        return;
    }
    let daemon = start(Driver::Wired, true, None);
    let options = WpaOptions {
        join_timeout: Duration::from_secs(10),
        ..fast()
    };
    let backend = connect_to(&daemon, options).await;
    let first = backend.connect(Credentials::new("First", "correct horse").unwrap(), None);
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = backend.status().await.unwrap();
        assert_eq!(
            status,
            StationStatus::Connecting {
                ssid: b"First".to_vec()
            }
        );
        let second = backend.connect(Credentials::new("Second", "correct horse").unwrap(), None);
        let cancel = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            backend.disconnect().await.unwrap();
        };
        tokio::join!(second, cancel).0
    };
    let (first, second) = tokio::join!(first, second);
    assert!(
        matches!(&first, Err(ConnectError::Backend(we)) if we.is(WifiErrorKind::Busy) && we.message().contains("newer")),
        "{first:?}"
    );
    assert!(
        matches!(&second, Err(ConnectError::Backend(we)) if we.is(WifiErrorKind::Busy) && we.message().contains("disconnect")),
        "{second:?}"
    );
    assert!(backend.list_networks().await.unwrap().is_empty());
    assert_eq!(backend.status().await.unwrap(), StationStatus::Disconnected);
}

#[tokio::test]
async fn permission_denied_for_an_unprivileged_user() {
    // The same test, started again below as user nobody, plays the unprivileged client.
    if let Some(ctrl) = child_value("WPA_TEST_CTRL") {
        unprivileged_helper(&ctrl).await;
        return;
    }
    if !wpa::can_run("permission_denied_for_an_unprivileged_user") {
        return;
    }
    let daemon = start(Driver::Wired, false, None);
    // Run this test binary's helper as nobody (a copy, in case the build directory is
    // not readable for other users).
    let out = ChildTest::new(
        "permission_denied_for_an_unprivileged_user",
        "WPA_TEST_CTRL",
        daemon.ctrl(),
    )
    .prefix(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
    ])
    .as_other_user()
    .run("HELPER-OK");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if let Some(line) = stdout.lines().find(|l| l.contains("HELPER-OK")) {
        eprintln!("{line}");
    }
}

/// The part of `permission_denied_for_an_unprivileged_user` that runs as user nobody.
async fn unprivileged_helper(ctrl: &str) {
    let err = WpaBackend::connect(ctrl).await.unwrap_err();
    match &err {
        e if e.is(WifiErrorKind::Unavailable) => {
            let m = e.message();
            assert!(m.contains("permission denied"), "{m}");
            assert!(m.contains(ctrl), "{m}");
        }
        other => panic!("{other:?}"),
    }
    println!("HELPER-OK {err}");
}
