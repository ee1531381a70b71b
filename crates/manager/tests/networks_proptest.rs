//! Property tests of `networks.json`: random known-network lists survive save and load, and
//! random edit sequences keep the document and its typed view in step.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::HashSet;

use proptest::prelude::*;
use wifi_manager::networks::{AccessPointConfig, NetworksFile, StartPolicy};
use wifiprov_types::Ssid;
use wifiprov_types::{Passphrase, Secret};

/// Names of 1 to 32 bytes: printable ASCII (including quotes and backslashes, which JSON must
/// escape), any printable Unicode, or any bytes at all (SSIDs need not be UTF-8).
fn ssid() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[ -~]{1,32}".prop_map(String::into_bytes),
        "\\PC{1,12}"
            .prop_filter("1 to 32 bytes", |s| (1..=32).contains(&s.len()))
            .prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 1..=32),
    ]
}

fn name(bytes: &[u8]) -> Ssid {
    Ssid::new(bytes).unwrap()
}

/// Every kind of password the format allows: open, WEP, WPA passphrase, WPA key.
fn password() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{5}",
        "[ -~]{13}",
        "[ -~]{8,63}",
        "\\PC{2,20}".prop_filter("8 to 63 bytes", |s| (8..=63).contains(&s.len())),
        "[0-9a-fA-F]{64}",
    ]
}

/// Known networks with distinct SSIDs.
fn known_networks() -> impl Strategy<Value = Vec<(Vec<u8>, String)>> {
    prop::collection::vec((ssid(), password()), 0..24).prop_map(|mut list| {
        let mut seen = HashSet::new();
        list.retain(|(ssid, _)| seen.insert(ssid.clone()));
        list
    })
}

fn access_point() -> impl Strategy<Value = AccessPointConfig> {
    (
        "[ -~]{1,32}",
        prop::option::of(1u8..=14),
        any::<bool>(),
        prop::option::of("[ -~]{8,63}"),
        any::<bool>(),
        prop::sample::select(StartPolicy::ALL.to_vec()),
    )
        .prop_map(|(essid, channel, hidden, password, webrepl, policy)| {
            let mut ap = AccessPointConfig::new(essid);
            ap.channel = channel;
            ap.hidden = hidden;
            ap.password = password.map(|p| Secret::from(p.as_str()));
            ap.enables_webrepl = webrepl;
            ap.start_policy = policy;
            ap
        })
}

#[derive(Clone, Debug)]
enum Edit {
    AddOrPromote(usize, String),
    Remove(usize),
    Reverse,
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), password()).prop_map(|(i, p)| Edit::AddOrPromote(i, p)),
            any::<usize>().prop_map(Edit::Remove),
            Just(Edit::Reverse),
        ],
        0..16,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn known_networks_survive_save_and_load(list in known_networks(), ap in access_point()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("networks.json");
        let mut file = NetworksFile::new(&path, &ap).unwrap();
        // Adding in reverse puts the first of the list on top.
        for (ssid, password) in list.iter().rev() {
            file.add_or_promote(&name(ssid), pass(password.as_str())).unwrap();
        }
        file.save().unwrap();

        let loaded = NetworksFile::load(&path).unwrap();
        prop_assert_eq!(loaded.networks(), file.networks());
        let got: Vec<(Vec<u8>, Vec<u8>)> = loaded
            .known()
            .iter()
            .map(|n| (n.ssid.as_bytes().to_vec(), n.password.expose().to_vec()))
            .collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = list
            .iter()
            .map(|(s, p)| (s.clone(), p.as_bytes().to_vec()))
            .collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(&loaded.access_point().essid, &ap.essid);
        prop_assert_eq!(loaded.access_point().channel, ap.channel);
        prop_assert_eq!(loaded.access_point().start_policy, ap.start_policy);
        prop_assert_eq!(&loaded.access_point().password, &ap.password);
        // Saving what was loaded changes nothing.
        prop_assert_eq!(&*loaded.to_json_string(), &*file.to_json_string());
    }

    #[test]
    fn edits_keep_document_and_typed_view_in_step(
        list in known_networks(),
        pool in prop::collection::vec(ssid(), 1..6),
        edits in edits(),
    ) {
        let mut file = NetworksFile::new("networks.json", &AccessPointConfig::new("ap")).unwrap();
        for (ssid, password) in list.iter().rev() {
            file.add_or_promote(&name(ssid), pass(password.as_str())).unwrap();
        }
        // A model of the list: (ssid, password), most preferred first.
        let mut model: Vec<(Vec<u8>, String)> = list.clone();
        let names: Vec<Vec<u8>> = list.iter().map(|(s, _)| s.clone()).chain(pool).collect();
        for edit in edits {
            match edit {
                Edit::AddOrPromote(i, password) => {
                    let ssid = &names[i % names.len()];
                    file.add_or_promote(&name(ssid), pass(password.as_str())).unwrap();
                    model.retain(|(s, _)| s != ssid);
                    model.insert(0, (ssid.clone(), password));
                }
                Edit::Remove(i) => {
                    let ssid = &names[i % names.len()];
                    let was_known = model.iter().any(|(s, _)| s == ssid);
                    prop_assert_eq!(file.remove(ssid), was_known);
                    model.retain(|(s, _)| s != ssid);
                }
                Edit::Reverse => {
                    let order: Vec<&[u8]> = model.iter().rev().map(|(s, _)| s.as_slice()).collect();
                    file.reorder(&order).unwrap();
                    model.reverse();
                }
            }
            let reread = NetworksFile::from_str(&file.to_json_string(), "networks.json").unwrap();
            prop_assert_eq!(reread.networks(), file.networks());
            let got: Vec<(Vec<u8>, Vec<u8>)> = file
                .known()
                .iter()
                .map(|n| (n.ssid.as_bytes().to_vec(), n.password.expose().to_vec()))
                .collect();
            let want: Vec<(Vec<u8>, Vec<u8>)> = model
                .iter()
                .map(|(s, p)| (s.clone(), p.as_bytes().to_vec()))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}

fn pass(text: &str) -> Passphrase {
    Passphrase::new(text).expect("a valid passphrase")
}
