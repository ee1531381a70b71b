//! `networks.json` (schema 2): reading the example files, the documented error for every
//! malformed case, edits that keep unknown keys and order, and how files are written.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use wifi_manager::networks::{
    AccessPointConfig, AddOutcome, NetworksError, NetworksFile, Problem, ReorderProblem,
    StartPolicy,
};
use wifiprov_types::Ssid;
use wifiprov_types::{Passphrase, Secret};

const EXAMPLE: &str = include_str!("data/networks_example.json");
const ALWAYS: &str = include_str!("data/networks_always.json");
const SCHEMA1: &str = include_str!("data/networks_schema1.json");

/// The file name errors of in-memory documents mention.
const F: &str = "/etc/wifiprov/networks.json";

fn parse(text: &str) -> NetworksFile {
    NetworksFile::from_str(text, F).unwrap()
}

fn error(text: &str) -> String {
    NetworksFile::from_str(text, F).unwrap_err().to_string()
}

fn name(ssid: &str) -> Ssid {
    Ssid::new(ssid).expect("a valid SSID")
}

fn ssids(file: &NetworksFile) -> Vec<&str> {
    file.known()
        .iter()
        .map(|n| n.ssid.as_str().expect("test SSIDs are UTF-8"))
        .collect()
}

/// A JSON value as compact text: equal texts mean equal values *and* equal key order
/// (`Value`'s `==` ignores the order of keys).
fn ordered(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The typed view agrees with what the document says, and the document re-encodes stably.
fn assert_consistent(file: &NetworksFile) {
    let text = file.to_json_string();
    let reread = NetworksFile::from_str(&text, file.path()).unwrap();
    assert_eq!(reread.networks(), file.networks());
    assert_eq!(*reread.to_json_string(), *text);
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A minimal valid document with `known` as the known networks and `ap` as `access_point`.
fn doc(known: &str, ap: &str) -> String {
    format!(r#"{{"schema": 2, "known_networks": [{known}], "access_point": {ap}}}"#)
}

const AP: &str = r#"{"config": {"essid": "setup"}}"#;

// ----- reading --------------------------------------------------------------------------

#[test]
fn example_file_reads_as_expected() {
    let file = parse(EXAMPLE);
    let networks = file.networks();
    assert_eq!(networks.schema, 2);
    assert_eq!(
        ssids(&file),
        ["Greenhouse\u{2019}s AP", "Workshop", "Library Guest"]
    );
    let [greenhouse, workshop, library] = &networks.known[..] else {
        panic!("three networks")
    };
    assert_eq!(greenhouse.password, pass("tomatoes-in-june"));
    assert!(!greenhouse.enables_webrepl);
    assert_eq!(workshop.password, pass("sawdust-and-glue"));
    assert!(workshop.enables_webrepl);
    assert!(library.is_open());

    let ap = file.access_point();
    assert_eq!(ap.essid, "sensor-7-setup");
    assert_eq!(ap.channel, Some(6));
    assert!(!ap.hidden);
    assert_eq!(ap.password, Some(Secret::from("setup-me-please")));
    assert!(ap.enables_webrepl);
    assert_eq!(ap.start_policy, StartPolicy::Fallback);
    assert_eq!(
        ordered(&Value::Object(ap.extra.clone())),
        r#"{"authmode":3,"max_clients":2}"#
    );

    let always = parse(ALWAYS);
    assert_eq!(always.access_point().start_policy, StartPolicy::Always);
    assert!(always.access_point().hidden);
    assert_eq!(always.access_point().channel, Some(11));
}

#[test]
fn unchanged_files_are_rewritten_byte_for_byte() {
    let one_line = r#"{"schema":2,"known_networks":[{"ssid":"A","password":"","enables_webrepl":false}],"access_point":{"config":{"essid":"ap"},"start_policy":"never"}}"#;
    let four_spaces = "{\n    \"schema\": 2,\n    \"known_networks\": [],\n    \"access_point\": {\n        \"config\": {\n            \"essid\": \"ap\"\n        }\n    }\n}";
    for text in [EXAMPLE, ALWAYS, one_line, four_spaces] {
        let file = parse(text);
        assert_eq!(*file.to_json_string(), text);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("networks.json");
        fs::write(&path, text).unwrap();
        NetworksFile::load(&path).unwrap().save().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }
}

#[test]
fn escapes_and_number_spellings_are_normalised_but_values_kept() {
    let text = doc(
        r#"{"ssid": "User\u2019s phone", "password": "Password1", "x": 1e3}"#,
        AP,
    );
    let file = parse(&text);
    assert_eq!(file.known()[0].ssid, "User\u{2019}s phone");
    let out = file.to_json_string();
    assert!(out.contains("User\u{2019}s phone"), "{}", *out);
    assert!(out.contains(r#""x":1000.0"#), "{}", *out);
}

#[test]
fn defaults_for_absent_keys_follow_micropython_wifimanager() {
    let file = parse(&doc(
        r#"{"ssid": "no-password-key"}, {"ssid": "null-password", "password": null}"#,
        r#"{"config": {"essid": "setup"}}"#,
    ));
    for network in file.known() {
        assert!(network.is_open());
        assert!(!network.enables_webrepl);
    }
    let ap = file.access_point();
    assert_eq!(ap.channel, None);
    assert!(!ap.hidden);
    assert_eq!(ap.password, None);
    assert!(!ap.enables_webrepl);
    // micropython-wifimanager: `ap_config.get("start_policy", "never")`.
    assert_eq!(ap.start_policy, StartPolicy::Never);
    assert!(ap.extra.is_empty());

    let empty_ap_password = parse(&doc("", r#"{"config": {"essid": "s", "password": ""}}"#));
    assert_eq!(empty_ap_password.access_point().password, None);
    let null_ap_password = parse(&doc("", r#"{"config": {"essid": "s", "password": null}}"#));
    assert_eq!(null_ap_password.access_point().password, None);
}

#[test]
fn micropython_aliases_ssid_and_key_are_accepted() {
    let file = parse(&doc(
        "",
        r#"{"config": {"ssid": "new-style", "key": "twelve chars", "security": 3}}"#,
    ));
    let ap = file.access_point();
    assert_eq!(ap.essid, "new-style");
    assert_eq!(ap.password, Some(Secret::from("twelve chars")));
    assert_eq!(
        ordered(&Value::Object(ap.extra.clone())),
        r#"{"security":3}"#
    );

    // Both names present and equal: fine.
    let both = parse(&doc("", r#"{"config": {"essid": "same", "ssid": "same"}}"#));
    assert_eq!(both.access_point().essid, "same");
}

#[test]
fn password_lengths_accepted() {
    let hex64 = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
    assert_eq!(hex64.len(), 64);
    let known = [
        String::new(),
        "wep40".to_owned(),
        "wep104-thirt".to_owned() + "x",
        "8 chars!".to_owned(),
        "x".repeat(63),
        hex64.to_owned(),
    ];
    for (i, password) in known.iter().enumerate() {
        let file = parse(&doc(
            &format!(r#"{{"ssid": "n{i}", "password": "{password}"}}"#),
            AP,
        ));
        assert_eq!(file.known()[0].password.len(), password.len());
    }
    for password in ["8 chars!", &"y".repeat(63), hex64] {
        let file = parse(&doc(
            "",
            &format!(r#"{{"config": {{"essid": "s", "password": "{password}"}}}}"#),
        ));
        assert_eq!(file.access_point().password, Some(Secret::from(password)));
    }
}

#[test]
fn start_policy_names() {
    for policy in StartPolicy::ALL {
        assert_eq!(policy.as_str().parse::<StartPolicy>().unwrap(), policy);
        assert_eq!(policy.to_string(), policy.as_str());
        let file = parse(&doc(
            "",
            &format!(r#"{{"config": {{"essid": "s"}}, "start_policy": "{policy}"}}"#),
        ));
        assert_eq!(file.access_point().start_policy, policy);
    }
    assert_eq!(
        "Always".parse::<StartPolicy>().unwrap_err().to_string(),
        r#"unknown start policy "Always"; expected "always", "fallback" or "never""#
    );
}

// ----- malformed files --------------------------------------------------------------------

#[test]
fn malformed_documents_give_the_documented_messages() {
    let long = "s".repeat(33);
    let curly33 = "\u{2019}".repeat(11); // 33 bytes
    let nonhex64 = "g".repeat(64);
    let cases: Vec<(String, String)> = vec![
        // Not a document of this schema at all.
        ("[]".into(), "top level: expected an object, found an array".into()),
        (
            SCHEMA1.into(),
            r#"schema: missing; this version reads schema 2 (a file without "schema" is in the older schema 1 layout)"#.into(),
        ),
        (
            EXAMPLE.replace(r#""schema": 2"#, r#""schema": 1"#),
            "schema: schema 1 is not supported; this version reads schema 2".into(),
        ),
        (
            EXAMPLE.replace(r#""schema": 2"#, r#""schema": 3"#),
            "schema: schema 3 is not supported; this version reads schema 2".into(),
        ),
        (
            EXAMPLE.replace(r#""schema": 2"#, r#""schema": 2.5"#),
            "schema: schema 2.5 is not supported; this version reads schema 2".into(),
        ),
        (
            EXAMPLE.replace(r#""schema": 2"#, r#""schema": "2""#),
            "schema: expected an integer, found a string".into(),
        ),
        // known_networks
        (
            r#"{"schema": 2, "access_point": {"config": {"essid": "s"}}}"#.into(),
            "known_networks: required key is missing".into(),
        ),
        (
            r#"{"schema": 2, "known_networks": {}, "access_point": {}}"#.into(),
            "known_networks: expected an array, found an object".into(),
        ),
        (
            doc(r#"{"ssid": "a"}, "b""#, AP),
            "known_networks[1]: expected an object, found a string".into(),
        ),
        (
            doc(
                r#"{"ssid": "a"}, {"ssid": "b"}, {"password": "12345678"}"#,
                AP,
            ),
            "known_networks[2].ssid: required key is missing".into(),
        ),
        (
            doc(r#"{"ssid": 7}"#, AP),
            "known_networks[0].ssid: expected a string, found a number".into(),
        ),
        (
            doc(r#"{"ssid": "a", "ssid_hex": "61"}"#, AP),
            "known_networks[0].ssid_hex: conflicts with known_networks[0].ssid; give only one of the two".into(),
        ),
        (
            doc(r#"{"ssid_hex": "4e6"}"#, AP),
            "known_networks[0].ssid_hex: expected the SSID's bytes as hex digits, two per byte".into(),
        ),
        (
            doc(&format!(r#"{{"ssid_hex": "{}"}}"#, "ff".repeat(33)), AP),
            "known_networks[0].ssid_hex: SSID must be 1 to 32 bytes long, found 33 bytes".into(),
        ),
        (
            doc(r#"{"ssid": "a\n"}, {"ssid_hex": "610a"}"#, AP),
            r#"known_networks[1].ssid_hex: "a\x0a" is already listed at known_networks[0]"#.into(),
        ),
        (
            doc(r#"{"ssid": ""}"#, AP),
            "known_networks[0].ssid: SSID must be 1 to 32 bytes long, found 0 bytes".into(),
        ),
        (
            doc(&format!(r#"{{"ssid": "{long}"}}"#), AP),
            "known_networks[0].ssid: SSID must be 1 to 32 bytes long, found 33 bytes".into(),
        ),
        (
            doc(&format!(r#"{{"ssid": "a"}}, {{"ssid": "{curly33}"}}"#), AP),
            "known_networks[1].ssid: SSID must be 1 to 32 bytes long, found 33 bytes".into(),
        ),
        (
            doc(r#"{"ssid": "a", "password": 12345678}"#, AP),
            "known_networks[0].password: expected a string or null, found a number".into(),
        ),
        (
            doc(r#"{"ssid": "a"}, {"ssid": "b", "password": "seven77"}"#, AP),
            "known_networks[1].password: password of 7 bytes is not valid: use an empty password (open network), 5 or 13 characters (WEP), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)".into(),
        ),
        (
            doc(&format!(r#"{{"ssid": "a", "password": "{nonhex64}"}}"#), AP),
            "known_networks[0].password: password of 64 bytes is not valid: use an empty password (open network), 5 or 13 characters (WEP), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)".into(),
        ),
        (
            doc(&format!(r#"{{"ssid": "a", "password": "{}"}}"#, "p".repeat(65)), AP),
            "known_networks[0].password: password of 65 bytes is not valid: use an empty password (open network), 5 or 13 characters (WEP), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)".into(),
        ),
        (
            doc(r#"{"ssid": "a", "enables_webrepl": "yes"}"#, AP),
            "known_networks[0].enables_webrepl: expected a boolean, found a string".into(),
        ),
        (
            doc(
                r#"{"ssid": "Home"}, {"ssid": "Office"}, {"ssid": "Home"}"#,
                AP,
            ),
            r#"known_networks[2].ssid: "Home" is already listed at known_networks[0]"#.into(),
        ),
        // access_point
        (
            r#"{"schema": 2, "known_networks": []}"#.into(),
            "access_point: required key is missing".into(),
        ),
        (
            doc("", "[]"),
            "access_point: expected an object, found an array".into(),
        ),
        (
            doc("", r#"{"start_policy": "fallback"}"#),
            "access_point.config: required key is missing".into(),
        ),
        (
            doc("", r#"{"config": "essid=x"}"#),
            "access_point.config: expected an object, found a string".into(),
        ),
        (
            doc("", r#"{"config": {"channel": 6}}"#),
            "access_point.config.essid: required key is missing".into(),
        ),
        (
            doc("", r#"{"config": {"essid": null}}"#),
            "access_point.config.essid: expected a string, found null".into(),
        ),
        (
            doc("", &format!(r#"{{"config": {{"essid": "{long}"}}}}"#)),
            "access_point.config.essid: SSID must be 1 to 32 bytes long, found 33 bytes".into(),
        ),
        (
            doc("", r#"{"config": {"ssid": ""}}"#),
            "access_point.config.ssid: SSID must be 1 to 32 bytes long, found 0 bytes".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "ssid": "b"}}"#),
            "access_point.config.ssid: conflicts with access_point.config.essid; give only one of the two".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "password": "12345678", "key": "87654321"}}"#),
            "access_point.config.key: conflicts with access_point.config.password; give only one of the two".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "channel": 0}}"#),
            "access_point.config.channel: channel must be an integer from 1 to 14, found 0".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "channel": 15}}"#),
            "access_point.config.channel: channel must be an integer from 1 to 14, found 15".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "channel": -1}}"#),
            "access_point.config.channel: channel must be an integer from 1 to 14, found -1".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "channel": 6.5}}"#),
            "access_point.config.channel: channel must be an integer from 1 to 14, found 6.5".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "channel": 300}}"#),
            "access_point.config.channel: channel must be an integer from 1 to 14, found 300".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "channel": "6"}}"#),
            "access_point.config.channel: expected an integer, found a string".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "hidden": "no"}}"#),
            "access_point.config.hidden: expected a boolean, found a string".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "password": "wep40"}}"#),
            "access_point.config.password: password of 5 bytes is not valid: use none (open access point), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "key": "short"}}"#),
            "access_point.config.key: password of 5 bytes is not valid: use none (open access point), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a", "password": false}}"#),
            "access_point.config.password: expected a string or null, found a boolean".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a"}, "enables_webrepl": 1}"#),
            "access_point.enables_webrepl: expected a boolean, found a number".into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a"}, "start_policy": "sometimes"}"#),
            r#"access_point.start_policy: unknown start policy "sometimes"; expected "always", "fallback" or "never""#.into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a"}, "start_policy": "Fallback"}"#),
            r#"access_point.start_policy: unknown start policy "Fallback"; expected "always", "fallback" or "never""#.into(),
        ),
        (
            doc("", r#"{"config": {"essid": "a"}, "start_policy": null}"#),
            "access_point.start_policy: expected a string, found null".into(),
        ),
    ];
    for (text, expected) in &cases {
        assert_eq!(error(text), format!("{F}: {expected}"), "document: {text}");
    }

    // The JSON path and problem are also available as data.
    let err = NetworksFile::from_str(&doc(r#"{"ssid": "a"}, {}"#, AP), F).unwrap_err();
    assert_eq!(err.json_path(), Some("known_networks[1].ssid"));
    assert_eq!(err.problem(), Some(&Problem::Missing));
    let err = NetworksFile::from_str(SCHEMA1, F).unwrap_err();
    assert_eq!(err.problem(), Some(&Problem::MissingSchema));
}

#[test]
fn syntax_errors_give_line_and_column() {
    assert_eq!(
        error("{\n  \"schema\": 2,\n  \"known_networks\": [,]\n}"),
        format!("{F}: not valid JSON (line 3, column 22): expected value")
    );
    assert_eq!(
        error(""),
        format!("{F}: not valid JSON (line 1, column 0): EOF while parsing a value")
    );
    assert_eq!(
        error(&EXAMPLE.replacen("\"schema\": 2,", "\"schema\": 2", 1)),
        format!("{F}: not valid JSON (line 3, column 2): expected `,` or `}}`")
    );
    let NetworksError::NotJson { line, column, .. } =
        NetworksFile::from_str("{\"a\": 1,}", F).unwrap_err()
    else {
        panic!("a syntax error")
    };
    assert_eq!((line, column), (1, 9));
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("networks.json");
    let err = NetworksFile::load(&missing).unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read {}: No such file or directory (os error 2)",
            missing.display()
        )
    );

    let err = NetworksFile::load(dir.path()).unwrap_err();
    assert!(!err.is_not_found());
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read {0}: {0} is a directory, not a regular file; refusing to use it",
            dir.path().display()
        )
    );

    let bad = dir.path().join("bad.json");
    fs::write(
        &bad,
        "{\"schema\": 2,\n \"known_networks\": [{\"ssid\": 1}]}",
    )
    .unwrap();
    assert_eq!(
        NetworksFile::load(&bad).unwrap_err().to_string(),
        format!(
            "{}: known_networks[0].ssid: expected a string, found a number",
            bad.display()
        )
    );

    let huge = dir.path().join("huge.json");
    fs::write(&huge, vec![b' '; 1024 * 1024 + 1]).unwrap();
    assert!(
        NetworksFile::load(&huge)
            .unwrap_err()
            .to_string()
            .ends_with("is larger than 1048576 bytes; refusing to read it")
    );
}

// ----- editing --------------------------------------------------------------------------

/// The scenario of the issue: provisioning adds the new network at the top with an atomic
/// rewrite; everything else in the file stays as it was.
#[test]
fn rewrite_after_provisioning_keeps_other_entries_and_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    fs::write(&path, EXAMPLE).unwrap();

    let mut file = NetworksFile::load(&path).unwrap();
    assert_eq!(
        file.add_or_promote(&name("Barn"), pass("hay-bales-2024"))
            .unwrap(),
        AddOutcome::Added
    );
    file.save().unwrap();

    let after_text = fs::read_to_string(&path).unwrap();
    let mut after = json_of(&after_text);
    let added = after["known_networks"].as_array_mut().unwrap().remove(0);
    assert_eq!(
        ordered(&added),
        r#"{"ssid":"Barn","password":"hay-bales-2024","enables_webrepl":false}"#
    );
    // Without the new entry, the document is exactly the original, key order included.
    assert_eq!(ordered(&after), ordered(&json_of(EXAMPLE)));
    // And laid out like the original (tabs): only the new entry's lines are new.
    let new_lines = "\t\t{\n\t\t\t\"ssid\": \"Barn\",\n\t\t\t\"password\": \"hay-bales-2024\",\n\t\t\t\"enables_webrepl\": false\n\t\t},\n";
    assert_eq!(
        after_text.replacen(new_lines, "", 1),
        EXAMPLE,
        "{after_text}"
    );

    let reloaded = NetworksFile::load(&path).unwrap();
    assert_eq!(
        ssids(&reloaded),
        [
            "Barn",
            "Greenhouse\u{2019}s AP",
            "Workshop",
            "Library Guest"
        ]
    );
    assert_eq!(reloaded.networks(), file.networks());
}

#[test]
fn promoting_moves_the_entry_whole_and_replaces_only_its_password() {
    let mut file = parse(EXAMPLE);
    assert_eq!(
        file.add_or_promote(&name("Workshop"), pass("new-glue-2025"))
            .unwrap(),
        AddOutcome::Promoted
    );
    assert_consistent(&file);
    assert_eq!(
        ssids(&file),
        ["Workshop", "Greenhouse\u{2019}s AP", "Library Guest"]
    );
    let workshop = &file.known()[0];
    assert_eq!(workshop.password, pass("new-glue-2025"));
    assert!(workshop.enables_webrepl, "kept");

    let mut after = json_of(&file.to_json_string());
    let moved = after["known_networks"].as_array_mut().unwrap().remove(0);
    assert_eq!(
        ordered(&moved),
        r#"{"ssid":"Workshop","password":"new-glue-2025","enables_webrepl":true,"note":"router behind the lathe"}"#
    );
    let mut before = json_of(EXAMPLE);
    before["known_networks"].as_array_mut().unwrap().remove(1);
    assert_eq!(ordered(&after), ordered(&before));

    // Promoting the first entry keeps its place; an open network stays without a password
    // key if it had none.
    let mut file = parse(&doc(r#"{"ssid": "open", "x": 1}, {"ssid": "b"}"#, AP));
    file.add_or_promote(&name("b"), pass("")).unwrap();
    file.add_or_promote(&name("open"), pass("")).unwrap();
    assert_consistent(&file);
    let after = json_of(&file.to_json_string());
    assert_eq!(
        ordered(&after["known_networks"]),
        r#"[{"ssid":"open","x":1},{"ssid":"b"}]"#
    );
}

#[test]
fn removing_and_reordering_keep_everything_else() {
    let mut file = parse(EXAMPLE);
    assert!(file.remove("Greenhouse\u{2019}s AP"));
    assert!(!file.remove("Greenhouse\u{2019}s AP"));
    assert!(!file.remove("nobody"));
    assert_consistent(&file);
    let mut expected = json_of(EXAMPLE);
    expected["known_networks"].as_array_mut().unwrap().remove(0);
    assert_eq!(
        ordered(&json_of(&file.to_json_string())),
        ordered(&expected)
    );

    file.reorder(&["Library Guest", "Workshop"]).unwrap();
    assert_consistent(&file);
    assert_eq!(ssids(&file), ["Library Guest", "Workshop"]);
    expected["known_networks"]
        .as_array_mut()
        .unwrap()
        .swap(0, 1);
    assert_eq!(
        ordered(&json_of(&file.to_json_string())),
        ordered(&expected)
    );

    // Removing everything leaves an empty list, still a valid file.
    assert!(file.remove("Workshop"));
    assert!(file.remove("Library Guest"));
    assert_consistent(&file);
    assert!(file.known().is_empty());
    file.reorder::<&str>(&[]).unwrap();
    assert!(file.to_json_string().contains("\"known_networks\": [],"));
}

#[test]
fn reorder_must_be_a_permutation() {
    let mut file = parse(EXAMPLE);
    let before = file.to_json_string();
    let g = "Greenhouse\u{2019}s AP";
    let cases: [(&[&str], ReorderProblem, &str); 4] = [
        (
            &["Workshop", "Cafe", g],
            ReorderProblem::Unknown("Cafe".into()),
            r#"cannot reorder known networks: "Cafe" is not a known network"#,
        ),
        (
            &["Workshop", "Workshop", g],
            ReorderProblem::Repeated("Workshop".into()),
            r#"cannot reorder known networks: "Workshop" is listed more than once"#,
        ),
        (
            &["Workshop", g],
            ReorderProblem::Missing("Library Guest".into()),
            r#"cannot reorder known networks: "Library Guest" is missing; list every known network exactly once"#,
        ),
        (
            &[],
            ReorderProblem::Missing(g.into()),
            "cannot reorder known networks: \"Greenhouse\u{2019}s AP\" is missing; list every known network exactly once",
        ),
    ];
    for (order, problem, message) in cases {
        let err = file.reorder(order).unwrap_err();
        assert_eq!(err.to_string(), message);
        assert!(matches!(err, NetworksError::Reorder(p) if p == problem));
        assert_eq!(*file.to_json_string(), *before, "unchanged");
    }
    let owned: Vec<String> = vec!["Library Guest".into(), g.into(), "Workshop".into()];
    file.reorder(&owned).unwrap();
    assert_eq!(ssids(&file), ["Library Guest", g, "Workshop"]);
    assert_consistent(&file);
}

#[test]
fn invalid_edit_arguments_change_nothing() {
    let mut file = parse(EXAMPLE);
    let before = file.to_json_string();
    let cases = [
        (
            "Workshop".to_owned(),
            pass("short12"),
            "invalid password: password of 7 bytes is not valid: use an empty password (open network), 5 or 13 characters (WEP), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)",
        ),
        (
            "Workshop".to_owned(),
            Passphrase::new(vec![0xff; 10]).unwrap(),
            "invalid password: not valid UTF-8 (networks.json stores passwords as text)",
        ),
    ];
    for (ssid, password, message) in cases {
        let err = file.add_or_promote(&name(&ssid), password).unwrap_err();
        assert_eq!(err.to_string(), message);
        assert_eq!(*file.to_json_string(), *before);
    }
}

#[test]
fn new_documents() {
    let mut ap = AccessPointConfig::new("sensor-9-setup");
    ap.channel = Some(1);
    ap.password = Some(Secret::from("first-boot-pass"));
    ap.start_policy = StartPolicy::Fallback;
    ap.extra.insert("authmode".into(), json!(3));
    ap.extra
        .insert("essid".into(), json!("ignored: typed field wins"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    let mut file = NetworksFile::new(&path, &ap).unwrap();
    assert!(file.known().is_empty());
    file.add_or_promote(&name("Home"), pass("home-pass-123"))
        .unwrap();
    file.save().unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        r#"{
  "schema": 2,
  "known_networks": [
    {
      "ssid": "Home",
      "password": "home-pass-123",
      "enables_webrepl": false
    }
  ],
  "access_point": {
    "config": {
      "essid": "sensor-9-setup",
      "channel": 1,
      "hidden": false,
      "password": "first-boot-pass",
      "authmode": 3
    },
    "enables_webrepl": false,
    "start_policy": "fallback"
  }
}
"#
    );
    let reloaded = NetworksFile::load(&path).unwrap();
    assert_eq!(reloaded.networks(), file.networks());
    assert_eq!(reloaded.access_point().essid, "sensor-9-setup");

    let mut bad = AccessPointConfig::new("ok");
    bad.channel = Some(0);
    assert_eq!(
        NetworksFile::new(&path, &bad).unwrap_err().to_string(),
        "invalid access_point.config.channel: channel must be an integer from 1 to 14, found 0"
    );
    let mut bad = AccessPointConfig::new("ok");
    bad.password = Some(Secret::from("short"));
    assert_eq!(
        NetworksFile::new(&path, &bad).unwrap_err().to_string(),
        "invalid access_point.config.password: password of 5 bytes is not valid: use none (open access point), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)"
    );
    assert_eq!(
        NetworksFile::new(&path, &AccessPointConfig::new(""))
            .unwrap_err()
            .to_string(),
        "invalid access_point.config.essid: SSID must be 1 to 32 bytes long, found 0 bytes"
    );
}

// ----- writing --------------------------------------------------------------------------

#[test]
fn saved_files_have_mode_0600_and_no_temporary_files_remain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    fs::write(&path, EXAMPLE).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let mut file = NetworksFile::load(&path).unwrap();
    file.remove("Workshop");
    file.save().unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(dir_names(dir.path()), ["networks.json"]);

    let fresh = dir.path().join("fresh.json");
    NetworksFile::new(&fresh, &AccessPointConfig::new("ap"))
        .unwrap()
        .save()
        .unwrap();
    assert_eq!(mode(&fresh), 0o600);
    assert_eq!(dir_names(dir.path()), ["fresh.json", "networks.json"]);
}

#[test]
fn stale_temporary_files_are_removed_and_recent_ones_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    fs::write(&path, ALWAYS).unwrap();
    let stale = dir.path().join(".networks.json.AbC123.tmp");
    let recent = dir.path().join(".networks.json.XyZ789.tmp");
    let unrelated = dir.path().join(".other.json.Qq1234.tmp");
    for p in [&stale, &recent, &unrelated] {
        fs::write(p, "{\"partial\": ").unwrap();
    }
    let old = SystemTime::now() - Duration::from_secs(120);
    for p in [&stale, &unrelated] {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    NetworksFile::load(&path).unwrap().save().unwrap();
    assert_eq!(
        dir_names(dir.path()),
        [
            ".networks.json.XyZ789.tmp",
            ".other.json.Qq1234.tmp",
            "networks.json"
        ]
    );
}

#[test]
fn saving_through_a_symlink_replaces_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    let link = dir.path().join("networks.json");
    fs::write(&real, ALWAYS).unwrap();
    std::os::unix::fs::symlink("real.json", &link).unwrap();
    let mut file = NetworksFile::load(&link).unwrap();
    file.add_or_promote(&name("Dock"), pass("")).unwrap();
    file.save().unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        ssids(&NetworksFile::load(&real).unwrap()),
        ["Dock", "Boathouse"]
    );
}

#[test]
fn save_errors_name_the_file_and_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("networks.json");
    let file = NetworksFile::from_str(ALWAYS, &path).unwrap();
    let message = file.save().unwrap_err().to_string();
    // (tempfile adds the temporary file's name after the OS error.)
    assert!(
        message.starts_with(&format!(
            "cannot save {}: create a temporary file: No such file or directory (os error 2)",
            path.display()
        )),
        "{message}"
    );
}

#[test]
fn debug_output_never_shows_passwords() {
    let mut file = parse(EXAMPLE);
    file.add_or_promote(&name("Barn"), pass("hay-bales-2024"))
        .unwrap();
    let shown = format!("{file:?} {:?} {:#?}", file.networks(), file.access_point());
    for secret in [
        "tomatoes-in-june",
        "sawdust-and-glue",
        "setup-me-please",
        "console-admin-pw",
        "hay-bales-2024",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("Workshop"));
    assert!(shown.contains("<redacted>"));
    assert!(
        shown.contains("redacted 0 bytes"),
        "the open network says so"
    );
    assert!(shown.contains("authmode"));
}

#[test]
fn ssids_that_are_not_text_are_kept_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    let mut file = NetworksFile::new(&path, &AccessPointConfig::new("setup")).unwrap();
    let odd = Ssid::new(&b"Caf\xe9 \xff\x00"[..]).unwrap();
    file.add_or_promote(&odd, pass("latin-1-cafe")).unwrap();
    file.add_or_promote(&name("Home"), pass("home-pass-123"))
        .unwrap();
    file.save().unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json["known_networks"][1]["ssid_hex"],
        json!("436166e920ff00")
    );
    assert!(json["known_networks"][1].get("ssid").is_none());
    assert_eq!(json["known_networks"][0]["ssid"], json!("Home"));
    let loaded = NetworksFile::load(&path).unwrap();
    assert_eq!(loaded.known()[1].ssid, odd);
    assert_eq!(loaded.known()[1].password, pass("latin-1-cafe"));
    let mut loaded = loaded;
    assert!(loaded.remove(odd.as_bytes()));
    assert_eq!(ssids(&loaded), ["Home"]);
}

fn pass(text: &str) -> Passphrase {
    Passphrase::new(text).expect("a valid passphrase")
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("networks.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let err = NetworksFile::load(&fifo).unwrap_err();
    assert!(!err.is_not_found());
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read {0}: {0} is a FIFO, not a regular file; refusing to use it",
            fifo.display()
        )
    );
    // A save refuses to replace it too.
    let file = NetworksFile::from_str(&doc("", AP), &fifo).unwrap();
    let err = file.save().unwrap_err();
    assert!(err.to_string().contains("is a FIFO"), "{err}");
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_repeated_key_is_refused_with_its_name_and_line() {
    let text = "{\n  \"schema\": 2,\n  \"known_networks\": [\n    {\"ssid\": \"Home\", \"password\": \"aaaaaaaa\", \"password\": \"bbbbbbbb\"}\n  ]\n}\n";
    let err = NetworksFile::from_str(text, "n.json").unwrap_err();
    match &err {
        NetworksError::NotJson { line, message, .. } => {
            assert_eq!(*line, 4);
            assert_eq!(message, "duplicate key \"password\"");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("aaaaaaaa") && !err.to_string().contains("bbbbbbbb"));
    let top = "{\"schema\": 2, \"schema\": 2}";
    let err = NetworksFile::from_str(top, "n.json").unwrap_err();
    assert!(
        err.to_string().contains("duplicate key \"schema\""),
        "{err}"
    );
}

#[test]
fn a_byte_order_mark_is_skipped_and_not_written_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend_from_slice(
        br#"{"schema": 2, "known_networks": [{"ssid": "Home", "password": "aaaaaaaa"}], "access_point": {"config": {"essid": "ap"}}}"#,
    );
    fs::write(&path, &text).unwrap();
    let file = NetworksFile::load(&path).unwrap();
    assert_eq!(file.known().len(), 1);
    file.save().unwrap();
    let saved = fs::read(&path).unwrap();
    assert_eq!(saved.first(), Some(&b'{'));
}
