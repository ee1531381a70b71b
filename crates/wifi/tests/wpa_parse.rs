//! Parsing wpa_supplicant's control-interface text.
//!
//! Fixtures under `tests/fixtures/wpa/` say in their first lines where they come from:
//! `captured-*` are replies and messages of the real wpa_supplicant 2.10 (`-D wired` /
//! `-D none`); `documented-*` are COMPOSED in the documented formats for what needs a radio
//! (scan results, association and key messages, access point messages).
#![cfg(feature = "wpa-supplicant")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::Ipv4Addr;

use wifiprov_wifi::wpa::WpaEvent;
use wifiprov_wifi::wpa::parse::{
    auth_from_flags, auth_from_key_mgmt, parse_list_networks, parse_scan_results,
    parse_signal_rssi, parse_status, printf_decode, printf_encode, ssid_value,
};
use wifiprov_wifi::{AuthMode, Bssid};

/// A fixture without its leading `#` label lines.
fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/wpa/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut body = text.as_str();
    while body.starts_with('#') {
        body = body.split_once('\n').map_or("", |(_, rest)| rest);
    }
    body.to_owned()
}

/// The event lines of a fixture (all non-label lines).
fn event_lines(name: &str) -> Vec<String> {
    let path = format!("{}/tests/fixtures/wpa/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn bssid(s: &str) -> Bssid {
    s.parse().unwrap()
}

#[test]
fn captured_status_of_a_wired_link() {
    let status = parse_status(&fixture("captured-wired-status.txt"));
    assert_eq!(status.wpa_state, "COMPLETED");
    assert_eq!(status.ssid.as_deref(), Some("Café ☕".as_bytes()));
    assert_eq!(status.bssid, Some(bssid("01:80:c2:00:00:03")));
    assert_eq!(status.freq, Some(0));
    assert_eq!(status.id, Some(0));
    assert_eq!(status.mode.as_deref(), Some("station"));
    assert_eq!(status.ip_address, Some(Ipv4Addr::new(10, 77, 0, 2)));
    assert_eq!(status.address, Some(bssid("e2:c1:70:0b:54:fc")));
    assert_eq!(status.auth(), Some(AuthMode::Open));
}

#[test]
fn captured_list_networks_with_escaped_ssids() {
    let list = parse_list_networks(&fixture("captured-wired-list-networks.txt"));
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].ssid, "Café ☕".as_bytes());
    assert!(list[0].current && !list[0].disabled);
    assert_eq!(list[0].bssid, None);
    assert_eq!(list[1].ssid, b"say \"hi\" \\ bye");
    assert_eq!(list[1].bssid, Some(bssid("02:11:22:33:44:55")));
    assert!(list[1].disabled && !list[1].current);
    assert_eq!(list[2].ssid, b"tab\tbell\x07");
    assert_eq!(list.iter().map(|n| n.id).collect::<Vec<_>>(), [0, 1, 2]);
}

#[test]
fn captured_events_of_the_wired_and_none_drivers() {
    let events: Vec<WpaEvent> = event_lines("captured-wired-events.txt")
        .iter()
        .map(|l| WpaEvent::parse(l))
        .collect();
    let pae = Some(bssid("01:80:c2:00:00:03"));
    assert_eq!(
        events,
        [
            WpaEvent::NetworkRemoved(0),
            WpaEvent::NetworkRemoved(1),
            WpaEvent::NetworkRemoved(2),
            WpaEvent::NetworkAdded(0),
            WpaEvent::NetworkAdded(1),
            WpaEvent::NetworkAdded(2),
            WpaEvent::Associated { bssid: pae },
            WpaEvent::Connected {
                bssid: pae,
                id: Some(0)
            },
            WpaEvent::Other("CTRL-EVENT-SUBNET-STATUS-UPDATE status=0".into()),
            WpaEvent::Disconnected {
                bssid: pae,
                reason: 3,
                locally_generated: true
            },
            WpaEvent::Other("CTRL-EVENT-DSCP-POLICY clear_all".into()),
            WpaEvent::ScanFailed {
                ret: -1,
                retry: false
            },
            WpaEvent::ScanFailed {
                ret: -1,
                retry: true
            },
        ]
    );
}

#[test]
fn documented_scan_results() {
    let aps = parse_scan_results(&fixture("documented-scan-results.txt"));
    let summary: Vec<(String, u8, i8, AuthMode)> = aps
        .iter()
        .map(|ap| {
            (
                String::from_utf8_lossy(&ap.ssid).into_owned(),
                ap.channel,
                ap.rssi,
                ap.auth,
            )
        })
        .collect();
    let expected: Vec<(String, u8, i8, AuthMode)> = [
        ("HomeNet", 6, -45, AuthMode::Wpa2Psk),
        ("Mixed Legacy", 1, -61, AuthMode::WpaWpa2Psk),
        ("Wpa3Only", 36, -52, AuthMode::Wpa3Psk),
        ("Transition", 149, -70, AuthMode::Wpa2Wpa3Psk),
        ("Corp", 11, -80, AuthMode::Wpa2Enterprise),
        ("Old Router", 14, -88, AuthMode::Wep),
        ("Café ☕", 13, -67, AuthMode::Open),
        ("", 6, -75, AuthMode::Wpa2Psk),
        ("six \"GHz\" \\ test", 1, -58, AuthMode::Wpa3Psk),
        ("Roaming", 7, -63, AuthMode::Wpa2Psk),
        ("owe-hidden", 2, -77, AuthMode::Other(9)),
        ("owe-open", 2, -76, AuthMode::Open),
        ("", 3, -71, AuthMode::Wpa2Psk),
        ("too\tweak", 9, -128, AuthMode::WpaPsk),
    ]
    .into_iter()
    .map(|(s, c, r, a)| (s.to_owned(), c, r, a))
    .collect();
    assert_eq!(summary, expected);
    assert_eq!(aps[0].bssid, bssid("24:0a:c4:00:00:01"));
    assert_eq!(aps[13].bssid, bssid("24:0a:c4:00:00:0d"));
}

#[test]
fn documented_events() {
    let events: Vec<WpaEvent> = event_lines("documented-events.txt")
        .iter()
        .map(|l| WpaEvent::parse(l))
        .collect();
    let home = Some(bssid("24:0a:c4:00:00:01"));
    assert_eq!(
        events,
        [
            WpaEvent::ScanStarted,
            WpaEvent::ScanResults,
            WpaEvent::NetworkNotFound,
            WpaEvent::Trying {
                bssid: home,
                freq: Some(2437)
            },
            WpaEvent::Trying {
                bssid: home,
                freq: Some(2437)
            },
            WpaEvent::Associated { bssid: home },
            WpaEvent::Other(
                "WPA: Key negotiation completed with 24:0a:c4:00:00:01 [PTK=CCMP GTK=CCMP]".into()
            ),
            WpaEvent::Connected {
                bssid: home,
                id: Some(7)
            },
            WpaEvent::HandshakeFailed,
            WpaEvent::Disconnected {
                bssid: home,
                reason: 15,
                locally_generated: false
            },
            WpaEvent::TempDisabled {
                id: Some(7),
                ssid: b"HomeNet".to_vec(),
                auth_failures: 1,
                duration: 10,
                reason: "WRONG_KEY".into()
            },
            WpaEvent::TempDisabled {
                id: Some(2),
                ssid: "Café \"x\"".as_bytes().to_vec(),
                auth_failures: 3,
                duration: 60,
                reason: "CONN_FAILED".into()
            },
            WpaEvent::Reenabled { id: Some(7) },
            WpaEvent::AssocReject {
                bssid: home,
                status_code: 17,
                timeout: false
            },
            WpaEvent::AssocReject {
                bssid: Some(Bssid::default()),
                status_code: 1,
                timeout: true
            },
            WpaEvent::AuthReject {
                bssid: Some(bssid("24:0a:c4:00:00:03")),
                status_code: 15
            },
            WpaEvent::ApEnabled,
            WpaEvent::StationJoined(Some(bssid("3c:71:bf:00:00:01"))),
            WpaEvent::StationLeft(Some(bssid("3c:71:bf:00:00:01"))),
            WpaEvent::ApDisabled,
            WpaEvent::Terminating,
            WpaEvent::Other("CTRL-EVENT-BEACON-LOSS ".into()),
        ]
    );
}

#[test]
fn flags_to_auth_modes() {
    for (flags, auth) in [
        ("[ESS]", AuthMode::Open),
        ("", AuthMode::Open),
        ("[WEP][ESS]", AuthMode::Wep),
        ("[WPA-PSK-TKIP][ESS]", AuthMode::WpaPsk),
        ("[WPA2-PSK-CCMP][ESS]", AuthMode::Wpa2Psk),
        ("[WPA2-PSK-SHA256-CCMP][ESS]", AuthMode::Wpa2Psk),
        ("[WPA-PSK-CCMP][WPA2-PSK-CCMP][ESS]", AuthMode::WpaWpa2Psk),
        ("[WPA2-SAE-CCMP][ESS]", AuthMode::Wpa3Psk),
        ("[WPA2-FT/SAE+SAE-CCMP][ESS]", AuthMode::Wpa3Psk),
        ("[WPA2-PSK+SAE-CCMP][ESS]", AuthMode::Wpa2Wpa3Psk),
        ("[WPA2-EAP-CCMP][ESS]", AuthMode::Wpa2Enterprise),
        (
            "[WPA2-EAP-SUITE-B-192-GCMP-256][ESS]",
            AuthMode::Wpa2Enterprise,
        ),
        ("[WPA2-OWE-CCMP][ESS]", AuthMode::Other(9)),
        ("[OWE-TRANS-OPEN][ESS]", AuthMode::Open),
        ("[WPA2-?][ESS]", AuthMode::Other(255)),
        ("[RSN-SAE-CCMP][MESH]", AuthMode::Wpa3Psk),
    ] {
        assert_eq!(auth_from_flags(flags), auth, "{flags}");
    }
}

#[test]
fn status_key_management_to_auth_modes() {
    assert_eq!(auth_from_key_mgmt("NONE", Some("NONE")), AuthMode::Open);
    assert_eq!(auth_from_key_mgmt("NONE", Some("WEP-104")), AuthMode::Wep);
    assert_eq!(auth_from_key_mgmt("WPA2-PSK", None), AuthMode::Wpa2Psk);
    assert_eq!(auth_from_key_mgmt("WPA-PSK", None), AuthMode::WpaPsk);
    assert_eq!(auth_from_key_mgmt("SAE", None), AuthMode::Wpa3Psk);
    assert_eq!(auth_from_key_mgmt("FT-PSK", None), AuthMode::Wpa2Psk);
    assert_eq!(
        auth_from_key_mgmt("WPA2/IEEE 802.1X/EAP", None),
        AuthMode::Wpa2Enterprise
    );
    assert_eq!(auth_from_key_mgmt("OWE", None), AuthMode::Other(9));
}

#[test]
fn signal_poll() {
    assert_eq!(
        parse_signal_rssi("RSSI=-52\nLINKSPEED=866\nNOISE=9999\nFREQUENCY=5180\n"),
        Some(-52)
    );
    assert_eq!(parse_signal_rssi("FAIL\n"), None);
}

#[test]
fn escaping_matches_what_wpa_supplicant_printed() {
    // The captured LIST_NETWORKS shows these SSIDs exactly like this.
    assert_eq!(
        printf_encode("Café ☕".as_bytes()),
        "Caf\\xc3\\xa9 \\xe2\\x98\\x95"
    );
    assert_eq!(
        printf_encode(b"say \"hi\" \\ bye"),
        "say \\\"hi\\\" \\\\ bye"
    );
    assert_eq!(printf_encode(b"tab\tbell\x07"), "tab\\tbell\\x07");
    assert_eq!(printf_decode("tab\\tbell\\x07"), b"tab\tbell\x07");
    // SET_NETWORK values: quoted printable ASCII, hex for anything else.
    assert_eq!(ssid_value(b"HomeNet"), "\"HomeNet\"");
    assert_eq!(ssid_value("Café ☕".as_bytes()), "436166c3a920e29895");
}

/// Seeded random round trips: any SSID survives wpa_supplicant's escaping inside scan
/// results, network lists and temp-disabled messages.
#[test]
fn random_ssids_survive_every_format() {
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{Rng, SeedableRng};

    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0f55_1d00);
    let special = [
        b'"', b'\\', b'\t', b'\n', b'\r', 0x1b, 0, 0x7f, b' ', b'\'', b'=', b']',
    ];
    for round in 0..2000 {
        let len = 1 + (rng.next_u32() % 32) as usize;
        let ssid: Vec<u8> = (0..len)
            .map(|_| {
                let r = rng.next_u32();
                if r % 3 == 0 {
                    special[(r as usize / 3) % special.len()]
                } else {
                    (r >> 8) as u8
                }
            })
            .collect();
        if ssid.iter().all(|&b| b == 0) {
            continue;
        }
        let text = printf_encode(&ssid);
        assert!(
            text.bytes().all(|b| (0x20..=0x7e).contains(&b)),
            "round {round}: {text:?}"
        );
        assert_eq!(printf_decode(&text), ssid, "round {round}");

        let freq = 2412 + 5 * (rng.next_u32() % 13);
        let line = format!(
            "header\n02:00:00:00:00:{:02x}\t{freq}\t-{}\t[WPA2-PSK-CCMP][ESS]\t{text}\n",
            round % 256,
            rng.next_u32() % 100
        );
        let aps = parse_scan_results(&line);
        assert_eq!(aps.len(), 1, "round {round}");
        assert_eq!(aps[0].ssid, ssid, "round {round}");
        assert_eq!(u32::from(aps[0].channel), (freq - 2407) / 5);

        let list = parse_list_networks(&format!("header\n{round}\t{text}\tany\t[DISABLED]\n"));
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].ssid, ssid, "round {round}");

        let event = WpaEvent::parse(&format!(
            "<3>CTRL-EVENT-SSID-TEMP-DISABLED id={round} ssid=\"{text}\" auth_failures=1 duration=10 reason=WRONG_KEY"
        ));
        match event {
            WpaEvent::TempDisabled {
                id,
                ssid: got,
                reason,
                ..
            } => {
                assert_eq!(id, Some(round));
                assert_eq!(got, ssid, "round {round}");
                assert_eq!(reason, "WRONG_KEY");
            }
            other => panic!("{other:?}"),
        }

        let value = ssid_value(&ssid);
        if ssid.iter().all(|b| (0x20..=0x7e).contains(b)) {
            assert_eq!(value.as_bytes()[1..value.len() - 1], ssid[..]);
        } else {
            assert_eq!(value.len(), 2 * ssid.len());
            assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
}
