//! `parse_access_point` on access point property sets in NetworkManager's documented D-Bus
//! format (`tests/fixtures/nm/access_points.toml`, hand-written — see its header: no radio
//! was available to capture real ones).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::HashMap;

use wifiprov_wifi::nm::parse_access_point;
use wifiprov_wifi::{AuthMode, Bssid};
use zbus::{OwnedVariant, Variant};

const FIXTURE: &str = include_str!("fixtures/nm/access_points.toml");

/// The properties of one entry, each converted to the D-Bus type NetworkManager documents.
fn properties(table: &toml::Table) -> HashMap<String, OwnedVariant> {
    table
        .iter()
        .map(|(key, value)| {
            let int = || {
                value
                    .as_integer()
                    .unwrap_or_else(|| panic!("{key} is not an integer"))
            };
            let variant = match key.as_str() {
                "Flags" | "WpaFlags" | "RsnFlags" | "Frequency" | "Mode" | "MaxBitrate"
                | "Bandwidth" => Variant::from(u32::try_from(int()).unwrap()),
                "Strength" => Variant::from(u8::try_from(int()).unwrap()),
                "LastSeen" => Variant::from(i32::try_from(int()).unwrap()),
                "HwAddress" => Variant::from(value.as_str().unwrap().to_owned()),
                "Ssid" => Variant::from(
                    value
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|b| u8::try_from(b.as_integer().unwrap()).unwrap())
                        .collect::<Vec<u8>>(),
                ),
                other => panic!("property {other} is not in the fixture's type table"),
            };
            (key.clone(), variant.try_into_owned().unwrap())
        })
        .collect()
}

fn entries(fixture: &toml::Table, kind: &str) -> Vec<toml::Table> {
    fixture[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_table().unwrap().clone())
        .collect()
}

#[test]
fn documented_property_sets_become_access_points() {
    let fixture: toml::Table = toml::from_str(FIXTURE).unwrap();
    let aps = entries(&fixture, "access_point");
    assert_eq!(aps.len(), 13);
    let mut auths = Vec::new();
    for entry in aps {
        let name = entry["name"].as_str().unwrap();
        let props = properties(entry["properties"].as_table().unwrap());
        let expected = entry["expected"].as_table().unwrap();
        let ap = parse_access_point(&props).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            ap.ssid,
            expected["ssid"].as_str().unwrap().as_bytes(),
            "{name}"
        );
        assert_eq!(
            ap.bssid,
            expected["bssid"]
                .as_str()
                .unwrap()
                .parse::<Bssid>()
                .unwrap(),
            "{name}"
        );
        assert_eq!(
            i64::from(ap.channel),
            expected["channel"].as_integer().unwrap(),
            "{name}"
        );
        assert_eq!(
            i64::from(ap.rssi),
            expected["rssi"].as_integer().unwrap(),
            "{name}"
        );
        let auth = AuthMode::from_esp_number(
            u8::try_from(expected["auth"].as_integer().unwrap()).unwrap(),
        );
        assert_eq!(ap.auth, auth, "{name}");
        auths.push(auth);
    }
    // Every ESP-IDF personal/enterprise mode plus OWE is covered by some entry.
    for n in [0u8, 1, 2, 3, 4, 5, 6, 7, 9] {
        assert!(
            auths.contains(&AuthMode::from_esp_number(n)),
            "no fixture entry with auth {n}"
        );
    }
}

#[test]
fn malformed_property_sets_are_rejected_with_a_reason() {
    let fixture: toml::Table = toml::from_str(FIXTURE).unwrap();
    let bad = entries(&fixture, "invalid");
    assert_eq!(bad.len(), 4);
    for entry in bad {
        let name = entry["name"].as_str().unwrap();
        let props = properties(entry["properties"].as_table().unwrap());
        let err = parse_access_point(&props).expect_err(name);
        let wanted = entry["error_contains"].as_str().unwrap();
        assert!(err.to_string().contains(wanted), "{name}: {err}");
    }
}

#[test]
fn wrongly_typed_properties_are_rejected() {
    let mut props: HashMap<String, OwnedVariant> = HashMap::new();
    let put = |props: &mut HashMap<String, OwnedVariant>, k: &str, v: Variant<'_>| {
        props.insert(k.to_owned(), v.try_into_owned().unwrap());
    };
    put(&mut props, "HwAddress", Variant::from("24:0a:c4:12:34:56"));
    put(&mut props, "Frequency", Variant::from(2437u32));
    put(&mut props, "Ssid", Variant::from(b"HomeNet".to_vec()));
    put(&mut props, "Strength", Variant::from(70u8));
    assert!(parse_access_point(&props).is_ok());
    put(&mut props, "Strength", Variant::from(70u32));
    assert!(
        parse_access_point(&props)
            .unwrap_err()
            .to_string()
            .contains("Strength")
    );
    put(&mut props, "Strength", Variant::from(70u8));
    put(&mut props, "Ssid", Variant::from("HomeNet"));
    assert!(
        parse_access_point(&props)
            .unwrap_err()
            .to_string()
            .contains("Ssid")
    );
    put(&mut props, "Ssid", Variant::from(b"HomeNet".to_vec()));
    put(&mut props, "RsnFlags", Variant::from(0x188i32));
    assert!(
        parse_access_point(&props)
            .unwrap_err()
            .to_string()
            .contains("RsnFlags")
    );
}
