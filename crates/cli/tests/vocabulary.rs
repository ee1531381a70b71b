//! One vocabulary across subcommands: the same flag names the same thing everywhere, old
//! spellings still parse, flags that contradict each other are refused with a clear message,
//! and the QR payload `device --qr` prints works as printed with `provision --qr-payload`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::time::{Duration, Instant};

use support::*;

/// `wifiprov device --listen 127.0.0.1:0 args…`, expected to stop at once with a usage error.
fn refused(args: &[&str], needles: &[&str]) {
    let mut all = vec!["device", "--listen", "127.0.0.1:0", "--state-dir"];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    all.push(&path);
    all.extend(args);
    let run = wifiprov(&all);
    assert_eq!(run.code, 2, "{args:?}: {run:#?}");
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "{args:?}: {needle:?} missing: {run:#?}"
        );
    }
    // A refusal never echoes the secrets it was given.
    assert!(!run.all().contains("bar-secret"), "{run:#?}");
}

#[test]
fn secrets_of_another_scheme_are_refused() {
    refused(
        &[
            "--security",
            "1",
            "--username",
            "foo",
            "--password",
            "bar-secret",
        ],
        &[
            "--sec2-username and --sec2-password cannot be used with security 1",
            "security 1 takes --pop",
        ],
    );
    refused(
        &[
            "--security",
            "2",
            "--sec2-username",
            "foo",
            "--sec2-password",
            "bar-secret",
            "--pop",
            "bar-secret",
        ],
        &["--pop cannot be used with security 2"],
    );
    refused(
        &["--security", "0", "--pop", "bar-secret"],
        &["--pop cannot be used with security 0"],
    );
    refused(
        &[
            "--security",
            "1",
            "--pop",
            "bar-secret",
            "--sec-patch-ver",
            "0",
        ],
        &["--sec-patch-ver cannot be used with security 1"],
    );
    refused(&["--salt", "0011"], &["--salt and --verifier go together"]);
    refused(
        &[
            "--sec2-username",
            "u",
            "--sec2-password",
            "bar-secret",
            "--salt",
            "00",
            "--verifier",
            "00",
        ],
        &["--sec2-password and --salt/--verifier exclude each other"],
    );
    refused(
        &["--security", "2"],
        &["security 2 needs --sec2-username and --sec2-password"],
    );
}

#[test]
fn secrets_from_the_environment_are_used_where_they_fit() {
    // One environment for several services may hold both schemes' secrets.
    let agent = Agent::start_with_env(
        tempfile::tempdir().unwrap(),
        &["--security", "1", "--connect-delay", "0"],
        &[
            ("WIFIPROV_POP", "abcd1234"),
            ("WIFIPROV_PASSWORD", "bar-secret"),
        ],
    );
    let run = wifiprov(&[
        "provision",
        "--service-name",
        &agent.addr,
        "--pop",
        "abcd1234",
        "--ssid",
        "HomeNet",
        "--passphrase",
        "correct-horse",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
}

#[test]
fn a_config_file_cannot_contradict_the_flags_either() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("device.toml");
    std::fs::write(&file, "security = 1\npop = \"bar-secret\"\n").unwrap();
    refused(
        &["--config", file.to_str().unwrap(), "--sec2-username", "foo"],
        &["--sec2-username cannot be used with security 1"],
    );
}

#[test]
fn manage_refuses_mixed_secrets_too() {
    let dir = tempfile::tempdir().unwrap();
    let networks = dir.path().join("networks.json");
    std::fs::write(&networks, r#"{"schema":2,"known_networks":[]}"#).unwrap();
    let run = wifiprov(&[
        "manage",
        "--once",
        "--wifi",
        "sim",
        "--networks",
        networks.to_str().unwrap(),
        "--security",
        "1",
        "--pop",
        "bar-secret",
        "--sec2-password",
        "bar-secret",
    ]);
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("--sec2-password cannot be used with security 1"),
        "{run:#?}"
    );
}

#[test]
fn clap_level_conflicts_are_usage_errors() {
    let run = wifiprov(&[
        "provision",
        "--reset",
        "--reprov",
        "--service-name",
        "127.0.0.1:9",
    ]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("cannot be used with"), "{run:#?}");
}

#[test]
fn the_old_spellings_still_parse() {
    // Each runs to its first real error (or success) rather than a parse error.
    for args in [
        vec![
            "smartconfig",
            "encode",
            "--protocol",
            "airkiss",
            "--ssid",
            "A",
            "--password",
            "12345678",
        ],
        vec![
            "smartconfig",
            "encode",
            "--protocol",
            "airkiss",
            "--ssid",
            "A",
            "--passphrase",
            "12345678",
        ],
        vec![
            "provision",
            "--sec2-gen-cred",
            "--sec2-username",
            "u",
            "--sec2-pwd",
            "p",
        ],
        vec![
            "provision",
            "--sec2_gen_cred",
            "--sec2_username",
            "u",
            "--sec2_pwd",
            "p",
        ],
        vec![
            "provision",
            "--sec2-gen-cred",
            "--sec2-username",
            "u",
            "--sec2-password",
            "p",
        ],
    ] {
        let run = wifiprov(&args);
        assert_eq!(run.code, 0, "{args:?}: {run:#?}");
    }
    for new in ["--device-name", "--service-name"] {
        let dir = tempfile::tempdir().unwrap();
        let run = wifiprov(&[
            "device",
            "--state-dir",
            dir.path().to_str().unwrap(),
            new,
            "X",
            "--sim-list",
        ]);
        assert_eq!(run.code, 0, "{new}: {run:#?}");
    }
    let help = wifiprov(&["device", "--help"]);
    for shown in [
        "--sec2-username",
        "--sec2-password",
        "--wifi-interface",
        "--device-name",
    ] {
        assert!(help.stdout.contains(shown), "{shown} missing");
    }
    for hidden in [
        "--username <",
        "--password <",
        "--interface <",
        "--service-name <",
    ] {
        assert!(!help.stdout.contains(hidden), "{hidden} still shown");
    }
    let help = wifiprov(&["smartconfig", "listen", "--help"]);
    assert!(help.stdout.contains("--monitor-interface"), "{help:#?}");
}

/// The payload `device --qr` prints, given as printed to `provision --qr-payload`, reaches
/// an agent that is not at 192.168.4.1:80; with `--events json` stdout stays JSON.
#[test]
fn the_printed_qr_payload_provisions_as_printed() {
    let (mut args, _) = sec(2);
    args.extend(["--connect-delay", "0", "--qr", "--events", "json"]);
    let mut agent = Agent::start(&args);
    let deadline = Instant::now() + Duration::from_secs(10);
    let payload = loop {
        let stderr = agent.stderr.lock().unwrap().clone();
        if let Some(line) = stderr.lines().find(|l| l.starts_with("{\"ver\":\"v1\"")) {
            break line.to_string();
        }
        assert!(Instant::now() < deadline, "no payload: {stderr}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let parsed: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(parsed["address"], agent.addr.as_str(), "{payload}");
    assert_eq!(parsed["security"], 2, "{payload}");
    assert_eq!(parsed["username"], "wifiprov", "{payload}");

    let run = wifiprov(&[
        "provision",
        "--qr-payload",
        &payload,
        "--ssid",
        "HomeNet",
        "--passphrase",
        "correct-horse",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(agent.wait_exit(Duration::from_secs(10)).is_some());
    let stdout = agent.stdout.lock().unwrap().clone();
    assert!(stdout.contains("cred_success"), "{stdout}");
    for line in stdout.lines() {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?} in {stdout}"));
        assert!(event["event"].is_string(), "{line}");
    }
    assert!(!stdout.contains("s3cret-srp-pw"), "{stdout}");
}

/// A sender nobody answers says what the listener needs (its type, the reply address).
#[test]
fn an_unanswered_sender_names_the_listener_settings() {
    let run = wifiprov(&[
        "smartconfig",
        "send",
        "--protocol",
        "esptouch-v2",
        "--ssid",
        "HomeNet",
        "--passphrase",
        "correct-horse",
        "--target",
        &dead_addr(),
        "--ack-listen",
        "127.0.0.1:0",
        "--timeout",
        "0.5",
    ]);
    assert_eq!(run.code, 7, "{run:#?}");
    assert!(run.stderr.contains("--type esptouch-v2"), "{run:#?}");
    assert!(run.stderr.contains("--ack-port"), "{run:#?}");
    assert!(!run.all().contains("correct-horse"), "{run:#?}");
}

/// The config file takes the same names as the flags (the old key names still work).
#[test]
fn the_config_file_takes_the_new_names() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("device.toml");
    std::fs::write(
        &file,
        "security = 2\nsec2-username = \"wifiprov\"\nsec2-password = \"s3cret-srp-pw\"\n\
         device-name = \"PROV_VOCAB\"\nconnect-delay = 0\n",
    )
    .unwrap();
    let agent = Agent::start(&["--config", file.to_str().unwrap()]);
    assert!(
        agent.output().contains("\"PROV_VOCAB\""),
        "{}",
        agent.output()
    );
    let mut args = vec!["provision", "--service-name", agent.addr.as_str()];
    args.extend(client_credentials(2));
    args.extend(["--ssid", "HomeNet", "--passphrase", "correct-horse"]);
    let run = wifiprov(&args);
    assert_eq!(run.code, 0, "{run:#?}");
}
