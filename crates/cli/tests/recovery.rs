//! Recovery in one run: after a failure the interactive client resets the device and tries
//! again in the same session, instead of sending the user to rerun it with `--reset`.
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

/// Starts `wifiprov args…` on a pseudo-terminal with echo on, as a user's terminal has it.
fn pty(args: &[&str]) -> rexpect::session::PtySession {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty echo; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_wifiprov"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("WIFIPROV_POP")
        .env_remove("WIFIPROV_PASSWORD")
        .env_remove("WIFIPROV_PASSPHRASE");
    rexpect::session::spawn_command(cmd, Some(30_000)).unwrap()
}

/// Types `text` after the prompt is up.
fn type_line(p: &mut rexpect::session::PtySession, text: &str) {
    std::thread::sleep(Duration::from_millis(150));
    p.send_line(text).unwrap();
}

fn exit_code(p: &rexpect::session::PtySession) -> i32 {
    match p.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => code,
        other => panic!("{other:?}"),
    }
}

/// A wrong passphrase, then the right one, in one run: the device (which waits for a reset
/// after a failure, as ESP-IDF's does) is reset by the client itself.
#[test]
fn a_wrong_passphrase_is_retried_in_the_same_run() {
    let (mut args, _) = sec(2);
    args.extend([
        "--connect-delay",
        "0",
        "--sim-ap",
        "Workshop:sawdust-everywhere",
    ]);
    let mut agent = Agent::start(&args);
    let mut p = pty(&[
        "provision",
        "--service-name",
        &agent.addr,
        "--sec2-username",
        "wifiprov",
        "--sec2-password",
        "s3cret-srp-pw",
        "--ssid",
        "Workshop",
    ]);
    let mut screen = p
        .exp_string("Passphrase for Workshop (empty for an open network): ")
        .unwrap();
    type_line(&mut p, "sawdust-nowhere");
    screen.push_str(
        &p.exp_string("Reset the device and try again? [Y/n] ")
            .unwrap(),
    );
    assert!(screen.contains("wrong passphrase"), "{screen}");
    assert!(!screen.contains("--reset"), "a hint to rerun: {screen}");
    type_line(&mut p, "");
    screen.push_str(
        &p.exp_string("Passphrase for Workshop (empty: the same again): ")
            .unwrap(),
    );
    type_line(&mut p, "sawdust-everywhere");
    screen.push_str(&p.exp_eof().unwrap());
    assert_eq!(exit_code(&p), 0, "{screen}");
    assert!(screen.contains("Reset accepted"), "{screen}");
    assert!(screen.contains("Provisioned: Workshop"), "{screen}");
    assert!(!screen.contains("sawdust-"), "passphrase echoed: {screen}");
    // The agent joined with the second passphrase and stopped by itself.
    assert!(agent.wait_exit(Duration::from_secs(10)).is_some());
    let log = agent.output();
    assert!(log.contains("Workshop"), "{log}");
}

/// A device left waiting for a reset by an earlier run: the next interactive run offers the
/// reset and applies its credentials in one step.
#[test]
fn a_device_waiting_for_a_reset_is_reset_on_request() {
    let (mut args, _) = sec(1);
    args.extend(["--connect-delay", "0"]);
    let agent = Agent::start(&args);
    let failed = wifiprov(&[
        "provision",
        "--service-name",
        &agent.addr,
        "--pop",
        "abcd1234",
        "--ssid",
        "HomeNet",
        "--passphrase",
        "wrong-horse",
    ]);
    assert_eq!(failed.code, 5, "{failed:#?}");
    // Without a terminal the hint explains when --reset applies.
    assert!(failed.stderr.contains("--reset first"), "{failed:#?}");

    let mut p = pty(&[
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
    let mut screen = p
        .exp_string("Reset it and apply these credentials? [Y/n] ")
        .unwrap();
    type_line(&mut p, "y");
    screen.push_str(&p.exp_eof().unwrap());
    assert_eq!(exit_code(&p), 0, "{screen}");
    assert!(
        screen.contains("Provisioned: HomeNet, IP 192.168.1.42"),
        "{screen}"
    );
}

/// Declining the retry ends the run with the failure's exit code.
#[test]
fn declining_the_retry_keeps_the_exit_code() {
    let (mut args, _) = sec(0);
    args.extend(["--connect-delay", "0"]);
    let agent = Agent::start(&args);
    let mut p = pty(&[
        "provision",
        "--service-name",
        &agent.addr,
        "--ssid",
        "HomeNet",
        "--passphrase",
        "wrong-horse",
    ]);
    let mut screen = p
        .exp_string("Reset the device and try again? [Y/n] ")
        .unwrap();
    type_line(&mut p, "n");
    screen.push_str(&p.exp_eof().unwrap());
    assert_eq!(exit_code(&p), 5, "{screen}");
    // The failure is told once; the hint follows the refusal.
    assert_eq!(screen.matches("wrong passphrase").count(), 1, "{screen}");
    assert!(screen.contains("hint:"), "{screen}");
}
