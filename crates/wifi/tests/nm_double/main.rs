//! `NmBackend`'s station, scan and access point flows against a test double of
//! NetworkManager's D-Bus API on a private bus.
//!
//! What a real NetworkManager does with a radio cannot run here (no Wi-Fi hardware; the
//! real daemon of `nm_daemon.rs` has no Wi-Fi device), so this double plays it: one Wi-Fi
//! device `wlan0` (`/org/freedesktop/NetworkManager/Devices/1`) with access point objects,
//! stored profiles, and activations that walk through the device states and end as each
//! test scripts it, emitting `Device.StateChanged(new, old, reason)`,
//! `Connection.Active.StateChanged(state, reason)` and `PropertiesChanged(LastScan)` in the
//! order NetworkManager documents. The names, paths, signatures and numbers are
//! NetworkManager's; the timing and the transitions are the double's. What NetworkManager,
//! wpa_supplicant and the radio do below D-Bus is not exercised.
//!
//! Needs `dbus-daemon` (no root).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod double;

use double::*;

use std::time::Duration;

use tokio::sync::mpsc::unbounded_channel;
use wifiprov_testkit::dbus::PrivateBus;
use wifiprov_wifi::Secret;
use wifiprov_wifi::nm::{NmBackend, manages_wifi_device};
use wifiprov_wifi::{
    ApConfig, AuthMode, Bssid, ConnectError, ConnectProgress, Credentials, ScanParams,
    StationStatus, WifiBackend, WifiError, WifiErrorKind,
};

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_a_wpa2_network_reporting_progress_then_leaves_it() {
    let rig = rig(Some("wlan0")).await;
    assert!(manages_wifi_device(rig.backend.connection()).await);
    let device = rig.backend.wifi_device().await.unwrap();
    assert_eq!(device.interface, "wlan0");
    assert!(device.supports_ap());
    assert_eq!(
        rig.backend.status().await.unwrap(),
        StationStatus::Disconnected
    );

    let (tx, mut rx) = unbounded_channel();
    let link = rig
        .backend
        .connect(
            Credentials::new("HomeNet", "correct horse").unwrap(),
            Some(tx),
        )
        .await
        .unwrap();
    assert_eq!(link, home_link());
    let bssid: Bssid = "24:0a:c4:12:34:56".parse().unwrap();
    assert_eq!(
        drain(&mut rx),
        [
            ConnectProgress::Searching,
            ConnectProgress::Associating { bssid, channel: 6 },
            ConnectProgress::Authenticating,
            ConnectProgress::ObtainingAddress,
            ConnectProgress::Connected(home_link()),
        ]
    );

    let s = only_profile(&rig.double);
    assert_eq!(str_of(&s["connection"]["id"]), "wifiprov-HomeNet");
    assert_eq!(str_of(&s["connection"]["interface-name"]), "wlan0");
    assert_eq!(bytes(&s["802-11-wireless"]["ssid"]), b"HomeNet");
    assert_eq!(str_of(&s["802-11-wireless"]["mode"]), "infrastructure");
    assert!(!bool::try_from(&s["802-11-wireless"]["hidden"]).unwrap());
    assert_eq!(
        str_of(&s["802-11-wireless-security"]["key-mgmt"]),
        "wpa-psk"
    );
    assert_eq!(
        str_of(&s["802-11-wireless-security"]["psk"]),
        "correct horse"
    );
    // Stored to disk with autoconnect blocked, then activated by the backend alone
    // (NetworkManager does not start an activation of its own in between).
    let calls = rig.double.world().calls.clone();
    assert_eq!(
        calls,
        [
            "AddConnection2 0x21 /org/freedesktop/NetworkManager/Settings/1".to_owned(),
            format!("ActivateConnection /org/freedesktop/NetworkManager/Settings/1 {DEVICE}"),
        ]
    );

    assert_eq!(
        rig.backend.status().await.unwrap(),
        StationStatus::Connected(home_link())
    );
    rig.backend.disconnect().await.unwrap();
    assert_eq!(
        rig.backend.status().await.unwrap(),
        StationStatus::Disconnected
    );
    // Disconnecting again is fine (NetworkManager answers NotActive).
    rig.backend.disconnect().await.unwrap();
    // The profile stays for autoconnect.
    assert_eq!(rig.backend.profiles().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_management_follows_the_scanned_security() {
    let rig = rig(None).await;
    rig.backend
        .connect(Credentials::new("Lab", "zbus-rocks-42").unwrap(), None)
        .await
        .unwrap();
    let s = only_profile(&rig.double);
    assert_eq!(str_of(&s["802-11-wireless-security"]["key-mgmt"]), "sae");
    assert!(!s["connection"].contains_key("interface-name"));

    // An open network ignores the passphrase.
    let link = rig
        .backend
        .connect(Credentials::new("Cafe", "whatever").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(link.auth, AuthMode::Open);
    assert_eq!(link.rssi, -40);
    let w = rig.double.world();
    let cafe = &w.profiles.last().unwrap().1;
    assert!(!cafe.contains_key("802-11-wireless-security"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_carry_the_mapped_reason_and_leave_no_profile() {
    let rig = rig(Some("wlan0")).await;
    let bssid: Bssid = "24:0a:c4:12:34:56".parse().unwrap();

    // Wrong passphrase: NEED_AUTH, then FAILED with NO_SECRETS.
    rig.double.world().outcome = Some(Outcome::Fail(7));
    let (tx, mut rx) = unbounded_channel();
    let err = rig
        .backend
        .connect(
            Credentials::new("HomeNet", "wrong horse").unwrap(),
            Some(tx),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConnectError::AuthFailed {
            ssid: "HomeNet".into()
        }
    );
    assert_eq!(
        drain(&mut rx),
        [
            ConnectProgress::Searching,
            ConnectProgress::Associating { bssid, channel: 6 },
            ConnectProgress::Authenticating,
        ]
    );
    assert!(rig.double.world().profiles.is_empty());

    // A network that neither the list nor a directed scan finds: not found, without adding
    // or activating a profile.
    let calls_before = rig.double.world().calls.len();
    rig.double.world().outcome = Some(Outcome::Fail(53));
    let err = rig
        .backend
        .connect(Credentials::new("Nowhere", "password1").unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConnectError::NetworkNotFound {
            ssid: "Nowhere".into()
        }
    );
    {
        let mut w = rig.double.world();
        let calls = w.calls[calls_before..].to_vec();
        assert_eq!(calls, ["RequestScan ssids=Nowhere"]);
        assert!(w.profiles.is_empty());
        w.outcome = None;
    }

    // When NetworkManager refuses the directed scan, the profile is marked hidden and
    // NetworkManager's own verdict (SSID_NOT_FOUND) is reported.
    rig.double.world().refuse_scan = true;
    rig.double.world().outcome = Some(Outcome::Fail(53));
    let err = rig
        .backend
        .connect(Credentials::new("Nowhere", "password1").unwrap(), None)
        .await
        .unwrap_err();
    assert!(err.is_network_not_found(), "{err:?}");
    let added = clone_settings(rig.double.world().added.last().unwrap());
    assert_eq!(bytes(&added["802-11-wireless"]["ssid"]), b"Nowhere");
    assert!(bool::try_from(&added["802-11-wireless"]["hidden"]).unwrap());
    assert_eq!(
        str_of(&added["802-11-wireless-security"]["key-mgmt"]),
        "wpa-psk"
    );
    assert!(rig.double.world().profiles.is_empty());
    rig.double.world().refuse_scan = false;

    // A directed scan that does not complete in time is inconclusive too.
    let mut patient = rig.backend.clone();
    patient.set_find_timeout(Duration::from_millis(300));
    rig.double.world().stall_scan = true;
    rig.double.world().outcome = Some(Outcome::Fail(53));
    let err = patient
        .connect(Credentials::new("Nowhere", "password1").unwrap(), None)
        .await
        .unwrap_err();
    assert!(err.is_network_not_found(), "{err:?}");
    assert!(
        rig.double
            .world()
            .calls
            .iter()
            .any(|c| c.starts_with("ActivateConnection")),
    );
    rig.double.world().stall_scan = false;

    // Dropped after the key handshake completed: NetworkManager says NO_SECRETS, but the
    // passphrase was right; the link was lost.
    rig.double.world().outcome = Some(Outcome::DropAfterKeys);
    let err = rig
        .backend
        .connect(Credentials::new("HomeNet", "correct horse").unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConnectError::LinkLost {
            ssid: "HomeNet".into()
        }
    );

    // DHCP failure.
    rig.double.world().outcome = Some(Outcome::Fail(17));
    let err = rig
        .backend
        .connect(Credentials::new("HomeNet", "correct horse").unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConnectError::NoAddress {
            ssid: "HomeNet".into()
        }
    );

    // Only the active connection says why.
    rig.double.world().outcome = Some(Outcome::Deactivated(9));
    let err = rig
        .backend
        .connect(Credentials::new("HomeNet", "correct horse").unwrap(), None)
        .await
        .unwrap_err();
    assert!(err.is_auth_error(), "{err:?}");

    // Nothing decisive in time: the activation is cancelled.
    let mut backend = rig.backend.clone();
    backend.set_connect_timeout(Duration::from_millis(300));
    rig.double.world().outcome = Some(Outcome::Hang);
    let err = backend
        .connect(Credentials::new("HomeNet", "correct horse").unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConnectError::Timeout {
            ssid: "HomeNet".into()
        }
    );
    assert!(
        rig.double
            .world()
            .calls
            .iter()
            .any(|c| c.starts_with("DeactivateConnection")),
    );
    assert!(rig.double.world().profiles.is_empty());

    // A passphrase NetworkManager refuses.
    let err = rig
        .backend
        .connect(Credentials::new("HomeNet", "short").unwrap(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectError::InvalidCredentials(m) if m.contains("802-11-wireless-security.psk")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_join_replaces_only_our_earlier_profile_for_that_network() {
    let rig = rig(None).await;
    rig.backend
        .connect(Credentials::new("HomeNet", "old horse 1").unwrap(), None)
        .await
        .unwrap();
    // Someone else's profile for the same network.
    let mut theirs = wifiprov_wifi::nm::Profile::station(
        &Credentials::new("HomeNet", "their horse").unwrap(),
        wifiprov_wifi::nm::KeyMgmt::WpaPsk,
    );
    theirs.id = "HomeNet".into();
    rig.backend.add_profile(&theirs).await.unwrap();

    rig.backend
        .connect(Credentials::new("HomeNet", "new horse 2").unwrap(), None)
        .await
        .unwrap();
    let profiles = rig.backend.profiles().await.unwrap();
    let mut ids: Vec<_> = profiles.iter().map(|p| p.profile.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["HomeNet", "wifiprov-HomeNet"]);
    let ours = profiles.iter().find(|p| p.profile.is_ours()).unwrap();
    assert_eq!(
        rig.backend.profile_psk(&ours.path).await.unwrap(),
        Some(Secret::from("new horse 2"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_wait_for_last_scan_and_list_the_access_points() {
    let rig = rig(None).await;
    rig.double.world().visible = false;
    assert!(rig.backend.access_points().await.unwrap().is_empty());
    let aps = rig.backend.scan(ScanParams::default()).await.unwrap();
    assert_eq!(aps.len(), 3);
    let home = aps.iter().find(|a| a.ssid == b"HomeNet").unwrap();
    assert_eq!(home.bssid, "24:0a:c4:12:34:56".parse().unwrap());
    assert_eq!(
        (home.channel, home.rssi, home.auth),
        (6, -58, AuthMode::Wpa2Psk)
    );
    let lab = aps.iter().find(|a| a.ssid == b"Lab").unwrap();
    assert_eq!(
        (lab.channel, lab.rssi, lab.auth),
        (149, -51, AuthMode::Wpa3Psk)
    );
    assert_eq!(rig.double.world().last_scan, 6000);

    // A scan that does not finish in time lists what NetworkManager has.
    let mut hasty = rig.backend.clone();
    hasty.set_scan_timeout(Duration::from_millis(300));
    rig.double.world().stall_scan = true;
    let started = std::time::Instant::now();
    assert_eq!(hasty.scan(ScanParams::default()).await.unwrap(), aps);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(rig.double.world().last_scan, 6000);
    rig.double.world().stall_scan = false;

    // A refused scan lists what NetworkManager has.
    rig.double.world().refuse_scan = true;
    let again = rig.backend.scan(ScanParams::default()).await.unwrap();
    assert_eq!(again, aps);
    assert_eq!(rig.double.world().last_scan, 6000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hotspot_is_a_shared_ap_profile_and_goes_away_on_stop() {
    let rig = rig(Some("wlan0")).await;
    let config = ApConfig {
        ssid: b"PROV_1A2B3C".to_vec(),
        passphrase: Some(Secret::from("setup1234")),
        channel: 6,
        hidden: false,
        max_clients: 4,
    };
    rig.backend.start_ap(config.clone()).await.unwrap();
    let s = only_profile(&rig.double);
    assert_eq!(str_of(&s["connection"]["id"]), "wifiprov-hotspot");
    assert_eq!(str_of(&s["connection"]["interface-name"]), "wlan0");
    assert_eq!(str_of(&s["802-11-wireless"]["mode"]), "ap");
    assert_eq!(str_of(&s["ipv4"]["method"]), "shared");
    assert_eq!(str_of(&s["802-11-wireless-security"]["psk"]), "setup1234");
    // Kept in memory only, autoconnect blocked.
    assert!(
        rig.double
            .world()
            .calls
            .contains(&"AddConnection2 0x22 /org/freedesktop/NetworkManager/Settings/1".to_owned()),
    );
    // The device runs the access point: no station link.
    assert_eq!(
        rig.backend.status().await.unwrap(),
        StationStatus::Disconnected
    );
    rig.backend.disconnect().await.unwrap();
    assert!(
        rig.double.world().active.is_some(),
        "disconnect left the AP alone"
    );

    // Starting again replaces it.
    rig.backend.start_ap(config).await.unwrap();
    assert_eq!(rig.double.world().profiles.len(), 1);

    rig.backend.stop_ap().await.unwrap();
    {
        let w = rig.double.world();
        assert!(w.profiles.is_empty());
        assert!(
            w.calls
                .iter()
                .any(|c| c.starts_with("DeactivateConnection"))
        );
    }
    rig.backend.stop_ap().await.unwrap();

    // Bad settings and devices without AP mode are refused up front.
    let bad = ApConfig {
        ssid: b"X".to_vec(),
        passphrase: Some(Secret::from("short")),
        channel: 0,
        hidden: false,
        max_clients: 1,
    };
    assert!(matches!(
        rig.backend.start_ap(bad).await,
        Err(ref we) if we.is(WifiErrorKind::Invalid)
    ));
    rig.double.world().capabilities = 0x20 | 0x8;
    let open = ApConfig {
        ssid: b"PROV_OPEN".to_vec(),
        passphrase: None,
        channel: 0,
        hidden: false,
        max_clients: 1,
    };
    assert_eq!(
        rig.backend.start_ap(open).await,
        Err(WifiError::unsupported(
            "wlan0 cannot run an access point (NetworkManager reports no AP capability)"
        ))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_only_a_directed_scan_finds_is_joined_as_hidden() {
    let rig = rig(Some("wlan0")).await;
    // NetworkManager's list is empty until a scan completes.
    rig.double.world().visible = false;
    let link = rig
        .backend
        .connect(Credentials::new("HomeNet", "correct horse").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(link, home_link());
    let s = only_profile(&rig.double);
    assert!(bool::try_from(&s["802-11-wireless"]["hidden"]).unwrap());
    // The security came from the scan: WPA2 for HomeNet.
    assert_eq!(
        str_of(&s["802-11-wireless-security"]["key-mgmt"]),
        "wpa-psk"
    );
    assert_eq!(rig.double.world().calls[0], "RequestScan ssids=HomeNet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_while_the_access_point_runs_replaces_it_on_a_single_radio() {
    let rig = rig(Some("wlan0")).await;
    let config = ApConfig {
        ssid: b"PROV_1A2B3C".to_vec(),
        passphrase: Some(Secret::from("setup1234")),
        channel: 6,
        hidden: false,
        max_clients: 4,
    };
    rig.backend.start_ap(config).await.unwrap();
    assert_eq!(rig.double.world().mode, 3);
    // The station activation supersedes the access point's (DEACTIVATING and DISCONNECTED
    // with NEW_ACTIVATION first), which is not taken for a failure of the join.
    let link = rig
        .backend
        .connect(Credentials::new("HomeNet", "correct horse").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(link, home_link());
    assert_eq!(
        rig.backend.status().await.unwrap(),
        StationStatus::Connected(home_link())
    );
    // Stopping the access point afterwards removes its profile and leaves the station.
    rig.backend.stop_ap().await.unwrap();
    let profiles = rig.backend.profiles().await.unwrap();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0].profile.id, "wifiprov-HomeNet");
    assert_eq!(
        rig.backend.status().await.unwrap(),
        StationStatus::Connected(home_link())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_add_connection2_the_profile_is_added_with_add_connection() {
    let rig = rig(Some("wlan0")).await;
    let objects = rig._server.object_server();
    objects.remove::<SettingsDouble, _>(SETTINGS).await.unwrap();
    objects
        .at(
            SETTINGS,
            LegacySettingsDouble(SettingsDouble(rig.double.clone())),
        )
        .await
        .unwrap();
    let link = rig
        .backend
        .connect(Credentials::new("HomeNet", "correct horse").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(link, home_link());
    let calls = rig.double.world().calls.clone();
    // Such a NetworkManager starts an activation of the new profile itself; the backend's
    // own activation supersedes it.
    assert_eq!(
        calls,
        [
            "AddConnection /org/freedesktop/NetworkManager/Settings/1".to_owned(),
            "AutoActivate /org/freedesktop/NetworkManager/Settings/1".to_owned(),
            format!("ActivateConnection /org/freedesktop/NetworkManager/Settings/1 {DEVICE}"),
        ]
    );
    assert_eq!(
        rig.backend.status().await.unwrap(),
        StationStatus::Connected(home_link())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_networkmanager_on_the_bus_the_backend_is_unavailable() {
    let bus = PrivateBus::start();
    let conn = connect(&bus).await;
    assert!(!manages_wifi_device(&conn).await);
    match NmBackend::with_connection(conn, None).await {
        Err(ref e) if e.is(WifiErrorKind::Unavailable) => assert!(
            e.message()
                .contains("NetworkManager is not running on this D-Bus bus"),
            "{e}"
        ),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
