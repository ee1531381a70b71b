//! The simulator's environments: TOML loading and its errors, specs, the builtin set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;

use wifiprov_wifi::sim::{SimEnvironment, SimError, SimNetwork};
use wifiprov_wifi::{AuthMode, Bssid};

fn example_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sim-example.toml")
}

fn network_error(toml: &str) -> (usize, Option<String>, Option<usize>, String, String) {
    match SimEnvironment::from_toml_str(toml) {
        Err(
            ref e @ SimError::Network {
                number,
                ref ssid,
                line,
                ref problem,
                ..
            },
        ) => (number, ssid.clone(), line, problem.clone(), e.to_string()),
        other => panic!("expected a network error, got {other:?}"),
    }
}

#[test]
fn builtin_is_valid_and_covers_the_cases() {
    let env = SimEnvironment::builtin();
    env.validate().unwrap();
    let nets = &env.networks;
    assert!(nets.len() >= 12, "{} networks", nets.len());
    assert_eq!(env.search_ms, 300);
    let has = |f: &dyn Fn(&SimNetwork) -> bool| nets.iter().any(f);
    assert!(has(&|n| n.auth == AuthMode::Open));
    assert!(has(&|n| n.hidden));
    assert!(has(&|n| n.auth == AuthMode::Wpa3Psk));
    assert!(has(&|n| n.auth == AuthMode::Wpa2Wpa3Psk));
    assert!(has(&|n| n.auth == AuthMode::Wpa2Enterprise));
    assert!(has(&|n| n.rssi <= -85));
    assert!(has(&|n| (0.25..=0.35).contains(&n.flakiness)));
    assert!(has(&|n| !n.ssid.is_ascii()));
    let mesh = nets
        .iter()
        .filter(|n| nets.iter().filter(|m| m.ssid == n.ssid).count() == 2)
        .count();
    assert_eq!(mesh, 2, "one SSID on two BSSIDs");
    let channels: BTreeSet<u8> = nets.iter().map(|n| n.channel).collect();
    assert_eq!(channels, (1..=13).collect(), "channels 1..=13 all in use");
    let home = nets.iter().find(|n| n.ssid == "HomeNet").unwrap();
    assert_eq!(home.password.as_deref(), Some("correct-horse"));
    assert_eq!(SimEnvironment::default(), env);
}

#[test]
fn builtin_table_lists_every_network() {
    let env = SimEnvironment::builtin();
    let table = SimEnvironment::builtin_table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "| ssid | security | channel | rssi | password | notes |"
    );
    let rows = &lines[2..];
    assert_eq!(rows.len(), env.networks.len());
    for (row, net) in rows.iter().zip(&env.networks) {
        assert!(row.starts_with(&format!("| {} | ", net.ssid)), "{row}");
        assert!(row.contains(&format!("| {} |", net.auth.label())), "{row}");
        assert!(
            row.contains(&format!("| {} | {} |", net.channel, net.rssi)),
            "{row}"
        );
        match &net.password {
            Some(p) => assert!(row.contains(&format!("| {p} |")), "{row}"),
            None => assert!(row.contains("| (none) |"), "{row}"),
        }
        if net.hidden {
            assert!(row.contains("hidden"), "{row}");
        }
        if net.auth == AuthMode::Wpa2Enterprise {
            assert!(row.contains("enterprise"), "{row}");
        }
    }
    let mesh_rows = rows.iter().filter(|r| r.contains("mesh: 2")).count();
    assert_eq!(mesh_rows, 2);
}

#[test]
fn table_escapes_pipes() {
    let mut env = SimEnvironment::builtin();
    env.networks = vec![SimNetwork::from_spec("a|b:pass|word").unwrap()];
    let table = env.markdown_table();
    assert!(table.contains("| a\\|b | WPA2 |"), "{table}");
    assert!(table.contains("| pass\\|word |"), "{table}");
}

#[test]
fn example_file_loads_with_defaults() {
    let env = SimEnvironment::from_file(&example_path()).unwrap();
    assert_eq!(env.seed, 7);
    assert_eq!(env.search_ms, 250);
    let [home, guest, attic] = &env.networks[..] else {
        panic!("{:?}", env.networks)
    };
    assert_eq!(home.bssid, "24:0a:c4:12:34:56".parse::<Bssid>().unwrap());
    assert_eq!(home.channel, 6);
    assert_eq!(home.rssi, -45);
    assert_eq!(home.auth, AuthMode::Wpa2Psk);
    assert_eq!(home.password.as_deref(), Some("correct-horse"));
    assert_eq!(home.ip, Some(Ipv4Addr::new(192, 168, 1, 42)));
    assert_eq!(home.connect_latency_ms, 500);
    assert_eq!(home.flakiness, 0.0);
    assert!(!home.hidden);

    assert_eq!(guest.auth, AuthMode::Open);
    assert_eq!(guest.password, None);
    assert_eq!(guest.bssid, SimNetwork::derived_bssid(b"Guest"));

    assert_eq!(attic.auth, AuthMode::Wpa3Psk);
    assert!(attic.hidden);
    assert_eq!(attic.connect_latency_ms, 800);
    assert_eq!(attic.flakiness, 0.25);
    assert_eq!(attic.rssi, -40);
    assert_eq!(attic.channel, SimNetwork::derived_channel(b"Attic"));
    assert_eq!(attic.ip, None);
}

#[test]
fn minimal_and_empty_documents() {
    let env = SimEnvironment::from_toml_str("").unwrap();
    assert_eq!(env.seed, 0);
    assert_eq!(env.search_ms, 300);
    assert!(env.networks.is_empty());

    let env = SimEnvironment::from_toml_str("[[network]]\nssid = \"x\"\n").unwrap();
    assert_eq!(env.networks[0].auth, AuthMode::Open);

    let env = SimEnvironment::from_toml_str("[[network]]\nssid = \"x\"\npassword = \"12345678\"\n")
        .unwrap();
    assert_eq!(
        env.networks[0].auth,
        AuthMode::Wpa2Psk,
        "password implies WPA2"
    );

    let env = SimEnvironment::from_toml_str(
        "[[network]]\nssid = \"x\"\nauth = \"WPA2-WPA3\"\npassword = \"12345678\"\nflakiness = 1\n",
    )
    .unwrap();
    assert_eq!(env.networks[0].auth, AuthMode::Wpa2Wpa3Psk);
    assert_eq!(env.networks[0].flakiness, 1.0);
}

#[test]
fn every_auth_keyword() {
    for (word, mode, password) in [
        ("open", AuthMode::Open, None),
        ("wep", AuthMode::Wep, Some("abcde")),
        ("wpa", AuthMode::WpaPsk, Some("12345678")),
        ("wpa2", AuthMode::Wpa2Psk, Some("12345678")),
        ("wpa-wpa2", AuthMode::WpaWpa2Psk, Some("12345678")),
        ("wpa2-enterprise", AuthMode::Wpa2Enterprise, None),
        ("wpa3", AuthMode::Wpa3Psk, Some("12345678")),
        ("wpa2-wpa3", AuthMode::Wpa2Wpa3Psk, Some("12345678")),
    ] {
        let password = password.map_or(String::new(), |p| format!("password = \"{p}\"\n"));
        let text = format!("[[network]]\nssid = \"n\"\nauth = \"{word}\"\n{password}");
        let env = SimEnvironment::from_toml_str(&text).unwrap_or_else(|e| panic!("{word}: {e}"));
        assert_eq!(env.networks[0].auth, mode);
    }
}

#[test]
fn unknown_network_key_names_the_network() {
    let (number, ssid, line, problem, shown) = network_error(
        "seed = 1\n\n[[network]]\nssid = \"A\"\n\n[[network]]\nssid = \"HomeNet\"\nchanel = 6\n",
    );
    assert_eq!(number, 2);
    assert_eq!(ssid.as_deref(), Some("HomeNet"));
    assert!(problem.contains("chanel"), "{problem}");
    assert!(line.is_some_and(|l| (6..=7).contains(&l)), "{line:?}");
    assert!(shown.contains("network #2 (\"HomeNet\")"), "{shown}");
    assert!(shown.contains("chanel"), "{shown}");
}

#[test]
fn unknown_top_level_key_is_an_error() {
    let err = SimEnvironment::from_toml_str("sead = 1\n").unwrap_err();
    assert!(
        matches!(err, SimError::Syntax { file: None, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("sead"), "{err}");

    let err = SimEnvironment::from_toml_str("[[networks]]\nssid = \"x\"\n").unwrap_err();
    assert!(err.to_string().contains("networks"), "{err}");

    let err = SimEnvironment::from_toml_str("seed = \n").unwrap_err();
    assert!(matches!(err, SimError::Syntax { .. }), "{err:?}");

    // The text is not quoted back: a broken line may hold a passphrase.
    let err = SimEnvironment::from_toml_str(
        "[[network]]\nssid = \"Home\"\npassphrase = \"hunter2-secret\n",
    )
    .unwrap_err();
    assert!(matches!(err, SimError::Syntax { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err}");
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn bad_channel_names_the_network() {
    let (number, ssid, _, problem, shown) =
        network_error("[[network]]\nssid = \"Lab\"\npassword = \"12345678\"\nchannel = 15\n");
    assert_eq!((number, ssid.as_deref()), (1, Some("Lab")));
    assert_eq!(problem, "channel must be 1..=14 (got 15)");
    assert!(
        shown.starts_with("network #1 (\"Lab\") at line 1: channel"),
        "{shown}"
    );

    let (_, _, _, problem, _) = network_error("[[network]]\nssid = \"Lab\"\nchannel = 0\n");
    assert_eq!(problem, "channel must be 1..=14 (got 0)");
    let (_, _, _, problem, _) = network_error("[[network]]\nssid = \"Lab\"\nchannel = 300\n");
    assert_eq!(problem, "channel must be 1..=14 (got 300)");
}

#[test]
fn password_rules() {
    let (_, ssid, _, problem, _) =
        network_error("[[network]]\nssid = \"Vault\"\nauth = \"wpa3\"\n");
    assert_eq!(ssid.as_deref(), Some("Vault"));
    assert!(problem.contains("need a `password`"), "{problem}");

    let (_, _, _, problem, shown) =
        network_error("[[network]]\nssid = \"Vault\"\npassword = \"seven77\"\n");
    assert!(problem.contains("8..=63"), "{problem}");
    assert!(
        !shown.contains("seven77"),
        "the password must not be echoed: {shown}"
    );

    let long = "x".repeat(64);
    let (_, _, _, problem, _) = network_error(&format!(
        "[[network]]\nssid = \"V\"\npassword = \"{long}\"\n"
    ));
    assert!(problem.contains("got 64"), "{problem}");

    let (_, _, _, problem, _) =
        network_error("[[network]]\nssid = \"Cafe\"\nauth = \"open\"\npassword = \"12345678\"\n");
    assert!(problem.contains("take no password"), "{problem}");

    let (_, _, _, problem, _) = network_error(
        "[[network]]\nssid = \"Corp\"\nauth = \"wpa2-enterprise\"\npassword = \"12345678\"\n",
    );
    assert!(problem.contains("EAP"), "{problem}");

    let (_, _, _, problem, _) =
        network_error("[[network]]\nssid = \"Old\"\nauth = \"wep\"\npassword = \"abcdef\"\n");
    assert!(problem.contains("WEP"), "{problem}");
}

#[test]
fn other_value_errors() {
    let cases = [
        ("ssid = \"\"", "ssid must be 1..=32 bytes (got 0)"),
        (
            "ssid = \"abcdefghijklmnopqrstuvwxyz0123456\"",
            "ssid must be 1..=32 bytes (got 33)",
        ),
        (
            "ssid = \"a\"\nrssi = 5",
            "rssi must be -100..=0 dBm (got 5)",
        ),
        (
            "ssid = \"a\"\nrssi = -101",
            "rssi must be -100..=0 dBm (got -101)",
        ),
        (
            "ssid = \"a\"\nflakiness = 1.5",
            "flakiness must be 0.0..=1.0 (got 1.5)",
        ),
        (
            "ssid = \"a\"\nflakiness = -0.1",
            "flakiness must be 0.0..=1.0 (got -0.1)",
        ),
        (
            "ssid = \"a\"\nflakiness = nan",
            "flakiness must be 0.0..=1.0 (got NaN)",
        ),
        (
            "ssid = \"a\"\nlatency_ms = -1",
            "latency_ms must be 0..=600000 (got -1)",
        ),
        (
            "ssid = \"a\"\nlatency_ms = 600001",
            "latency_ms must be 0..=600000 (got 600001)",
        ),
        (
            "ssid = \"a\"\nbssid = \"aa:bb:cc:dd:ee\"",
            "bssid \"aa:bb:cc:dd:ee\" is not a MAC address like \"aa:bb:cc:dd:ee:ff\"",
        ),
        (
            "ssid = \"a\"\nip = \"10.0.0.256\"",
            "ip \"10.0.0.256\" is not an IPv4 address",
        ),
        ("ssid = \"a\"\nauth = \"wpa4\"", "unknown auth \"wpa4\""),
    ];
    for (body, expected) in cases {
        let (number, _, _, problem, _) = network_error(&format!("[[network]]\n{body}\n"));
        assert_eq!(number, 1);
        assert!(problem.starts_with(expected), "{body}: {problem}");
    }
    // A missing ssid, or one of the wrong type, still names the entry.
    let (number, ssid, _, problem, _) = network_error("[[network]]\nchannel = 3\n");
    assert_eq!((number, ssid), (1, None));
    assert!(problem.contains("ssid"), "{problem}");
    let (_, _, _, problem, _) = network_error("[[network]]\nssid = \"a\"\nhidden = \"yes\"\n");
    assert!(problem.contains("bool"), "{problem}");
}

#[test]
fn top_level_errors() {
    let err = SimEnvironment::from_toml_str("search_ms = -5\n").unwrap_err();
    assert!(
        matches!(
            err,
            SimError::Setting {
                key: "search_ms",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "`search_ms`: must be 0..=600000 (got -5)");
    let err = SimEnvironment::from_toml_str("seed = -1\n").unwrap_err();
    assert!(matches!(err, SimError::Syntax { .. }), "{err:?}");
}

#[test]
fn duplicate_bssids_are_rejected() {
    let (number, ssid, line, problem, _) = network_error(
        "[[network]]\nssid = \"Mesh\"\n\n[[network]]\nssid = \"Other\"\n\n[[network]]\nssid = \"Mesh\"\n",
    );
    assert_eq!((number, ssid.as_deref()), (3, Some("Mesh")));
    assert!(line.is_some_and(|l| l >= 7), "{line:?}");
    assert!(problem.contains("already used by network #1"), "{problem}");

    let env = SimEnvironment::from_toml_str(
        "[[network]]\nssid = \"Mesh\"\nbssid = \"02:00:00:00:00:01\"\n\
         [[network]]\nssid = \"Mesh\"\nbssid = \"02:00:00:00:00:02\"\n",
    )
    .unwrap();
    assert_eq!(env.networks.len(), 2);

    let mut env = SimEnvironment::builtin();
    env.networks.push(env.networks[0].clone());
    let err = env.validate().unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
}

#[test]
fn file_errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("wifiprov-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[[network]]\nssid = \"Lab\"\nchannel = 99\n").unwrap();
    let err = SimEnvironment::from_file(&path).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}: network #1 (\"Lab\")", path.display())),
        "{shown}"
    );
    std::fs::write(&path, "[[network]]\nssid = \"Lab\"\nwat = 1\n").unwrap();
    let shown = SimEnvironment::from_file(&path).unwrap_err().to_string();
    assert!(
        shown.contains("bad.toml") && shown.contains("wat"),
        "{shown}"
    );
    std::fs::write(&path, "seed = [\n").unwrap();
    let shown = SimEnvironment::from_file(&path).unwrap_err().to_string();
    assert!(shown.contains("bad.toml"), "{shown}");

    let missing = dir.join("missing.toml");
    let err = SimEnvironment::from_file(&missing).unwrap_err();
    assert!(matches!(err, SimError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.toml"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spec_parsing() {
    let net = SimNetwork::from_spec("HomeNet:correct-horse").unwrap();
    assert_eq!(net.ssid, "HomeNet");
    assert_eq!(net.password.as_deref(), Some("correct-horse"));
    assert_eq!(net.auth, AuthMode::Wpa2Psk);
    assert_eq!(net.rssi, -40);
    assert_eq!(net.connect_latency_ms, 500);
    assert!(!net.hidden);
    assert_eq!(net.flakiness, 0.0);
    assert_eq!(net.bssid, SimNetwork::derived_bssid(b"HomeNet"));
    assert_eq!(net.channel, SimNetwork::derived_channel(b"HomeNet"));

    let net = SimNetwork::from_spec("Lab:pass:with:colons").unwrap();
    assert_eq!(net.ssid, "Lab");
    assert_eq!(net.password.as_deref(), Some("pass:with:colons"));

    let net = SimNetwork::from_spec("Guest:").unwrap();
    assert_eq!(net.auth, AuthMode::Open);
    assert_eq!(net.password, None);

    let net = SimNetwork::from_spec("Café ☕:croissant").unwrap();
    assert_eq!(net.ssid, "Café ☕");
}

#[test]
fn spec_errors() {
    let err = SimNetwork::from_spec("NoColonHere").unwrap_err();
    assert!(matches!(err, SimError::Spec { ssid: None, .. }), "{err:?}");
    assert!(!err.to_string().contains("NoColonHere"), "{err}");

    let err = SimNetwork::from_spec(":password1").unwrap_err();
    assert!(
        err.to_string().contains("ssid must be 1..=32 bytes"),
        "{err}"
    );
    assert!(!err.to_string().contains("password1"), "{err}");

    let err = SimNetwork::from_spec("Lab:short").unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("\"Lab\"") && shown.contains("8..=63"),
        "{shown}"
    );
    assert!(!shown.contains("short"), "{shown}");

    let long_ssid = "s".repeat(33);
    assert!(SimNetwork::from_spec(&format!("{long_ssid}:12345678")).is_err());
    let long_pass = "p".repeat(64);
    assert!(SimNetwork::from_spec(&format!("Lab:{long_pass}")).is_err());
    assert!(SimNetwork::from_spec(&format!("Lab:{}", &long_pass[1..])).is_ok());
}

#[test]
fn derived_values_are_stable() {
    for ssid in ["HomeNet", "a", "Café Zürich ☕", "x".repeat(32).as_str()] {
        let bssid = SimNetwork::derived_bssid(ssid.as_bytes());
        assert_eq!(bssid, SimNetwork::derived_bssid(ssid.as_bytes()));
        assert_eq!(bssid.0[0], 0x02, "locally administered unicast");
        assert!((1..=13).contains(&SimNetwork::derived_channel(ssid.as_bytes())));
    }
    assert_ne!(
        SimNetwork::derived_bssid(b"HomeNet"),
        SimNetwork::derived_bssid(b"HomeNet2")
    );
    // Pinned, so that a change to the derivation (which would change users' setups) is noticed.
    assert_eq!(
        SimNetwork::derived_bssid(b"HomeNet").to_string(),
        "02:f1:13:ad:7b:51"
    );
    assert_eq!(SimNetwork::derived_channel(b"HomeNet"), 5);
    let channels: BTreeSet<u8> = (0..200)
        .map(|i| SimNetwork::derived_channel(format!("net{i}").as_bytes()))
        .collect();
    assert_eq!(channels.len(), 13, "derived channels use the whole band");
}

#[test]
fn add_or_replace() {
    let mut env = SimEnvironment::builtin();
    let count = env.networks.len();
    let first_mesh = env
        .networks
        .iter()
        .position(|n| n.ssid == "MeshNet")
        .unwrap();
    env.add_or_replace(SimNetwork::from_spec("MeshNet:new-password").unwrap());
    assert_eq!(
        env.networks.len(),
        count - 1,
        "both mesh access points replaced"
    );
    assert_eq!(env.networks[first_mesh].ssid, "MeshNet");
    assert_eq!(
        env.networks[first_mesh].password.as_deref(),
        Some("new-password")
    );

    env.add_or_replace(SimNetwork::from_spec("Brand New:12345678").unwrap());
    assert_eq!(env.networks.len(), count);
    assert_eq!(env.networks.last().unwrap().ssid, "Brand New");
    env.validate().unwrap();
}

#[test]
fn module_doc_example_parses() {
    let source = include_str!("../src/sim/mod.rs");
    let block: String = source
        .lines()
        .map(|line| {
            line.strip_prefix("//!")
                .unwrap_or(line)
                .trim_start_matches(' ')
        })
        .skip_while(|line| *line != "```toml")
        .skip(1)
        .take_while(|line| *line != "```")
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(block.contains("[[network]]"), "{block}");
    let env = SimEnvironment::from_toml_str(&block).unwrap();
    assert_eq!(env.seed, 7);
    assert_eq!(env.networks.len(), 1);
    assert_eq!(env.networks[0].ip, Some(Ipv4Addr::new(192, 168, 1, 42)));
}
