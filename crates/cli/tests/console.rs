//! `wifiprov provision --transport console` against the real agent binary started with
//! `--console-command` (`wifiprov device --transport console` on stdin/stdout).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_wifiprov");

fn provision(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("provision")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("WIFIPROV_POP")
        .env_remove("WIFIPROV_PASSWORD")
        .output()
        .unwrap()
}

#[test]
fn every_scheme_provisions_through_a_console_command() {
    let cases: [(&str, &[&str]); 3] = [
        ("--security 0", &[]),
        ("--security 1 --pop abcd1234", &["--pop", "abcd1234"]),
        // Security 2 over the console: impossible on ESP-IDF (256-byte lines), fine here.
        (
            "--security 2 --username wifiprov --password abcd1234",
            &["--sec2-username", "wifiprov", "--sec2-pwd", "abcd1234"],
        ),
    ];
    for (device, client) in cases {
        let state = tempfile::tempdir().unwrap();
        let command = format!(
            "{BIN} device --transport console --connect-delay 0 --state-dir {} {device}",
            state.path().display()
        );
        let mut args = vec![
            "--transport",
            "console",
            "--console-command",
            &command,
            "--ssid",
            "HomeNet",
            "--passphrase",
            "correct-horse",
        ];
        args.extend_from_slice(client);
        let out = provision(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{device}\n{stdout}\n{stderr}");
        assert!(
            format!("{stdout}{stderr}").contains("192.168.1.42"),
            "{stdout}\n{stderr}"
        );
    }
}

#[test]
fn a_console_that_closes_is_unreachable() {
    let out = provision(&[
        "--transport",
        "console",
        "--console-command",
        "true",
        "--sec-ver",
        "0",
        "--ssid",
        "HomeNet",
        "--passphrase",
        "correct-horse",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("closed"), "{stderr}");
}

#[test]
fn the_console_needs_a_port_or_a_command() {
    let out = provision(&["--transport", "console", "--ssid", "x"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--serial"), "{stderr}");
}

#[test]
fn info_over_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let device = format!(
        "{} device --transport console --security 1 --pop abcd1234 --force --state-dir {}",
        env!("CARGO_BIN_EXE_wifiprov"),
        dir.path().display()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args([
            "info",
            "--json",
            "--transport",
            "console",
            "--console-command",
            &device,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["prov"]["sec_ver"], 1);
}
