//! `wifiprov demo`, the first command of the README, runs end to end and tells its story.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use support::wifiprov;

#[test]
fn demo_provisions_the_simulated_device() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Provisioned: the device joined \"HomeNet\""),
        "{stdout}"
    );
    assert!(stdout.contains("192.168.1.42"), "{stdout}");
    for step in [
        "Starting a device agent",
        "Discovering the device over mDNS",
        "security 2, patch 1",
        "session established",
        "networks, strongest first",
        "[device] received credentials for \"HomeNet\"",
        "[device] joined \"HomeNet\"",
        "[device] provisioning finished",
    ] {
        assert!(stderr.contains(step), "missing {step:?} in:\n{stderr}");
    }
    // The generated SRP password is never shown; the passphrase of the demo network is
    // public (the simulator's table) but must not be echoed either.
    assert!(!stderr.contains("correct-horse") && !stdout.contains("correct-horse"));
}

/// The scan summary counts exactly the networks it lists, and says how long the simulated
/// scan and join take.
#[test]
fn the_scan_summary_counts_what_it_lists() {
    let run = wifiprov(&["demo"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.ends_with("networks, strongest first:"))
        .unwrap_or_else(|| panic!("no scan summary in:\n{}", run.stderr));
    let counted: usize = lines[header]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let listed: Vec<&str> = lines[header + 1..]
        .iter()
        .take_while(|l| l.starts_with("      ") && !l.trim().is_empty())
        .copied()
        .collect();
    assert_eq!(counted, listed.len(), "{}", run.stderr);
    assert!(counted > 6, "the simulator shows more than six networks");
    assert!(listed.iter().any(|l| l.contains("HomeNet")), "{listed:?}");
    assert!(listed.iter().any(|l| l.contains("(hidden)")), "{listed:?}");
    assert!(
        run.stderr
            .contains("the simulated radio listens 10 ms on each channel: 130 ms"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the simulated access point lets a station join in 150 ms"),
        "{}",
        run.stderr
    );
}

/// Once the client has the outcome, the demo tears the device down at once: it does not wait
/// for the device's auto-stop, and the narration ends by itself at the teardown event
/// instead of being cut short.
#[test]
fn the_demo_ends_as_soon_as_the_story_is_told() {
    let run = wifiprov(&["demo", "-v"]);
    assert_eq!(run.code, 0, "{run:?}");
    let stderr = &run.stderr;
    // The device stopped because the demo tore it down (end, then deinit), not because its
    // auto-stop delay ran out.
    assert!(!stderr.contains("auto-stop"), "{stderr}");
    let end = stderr
        .find("event=\"end\"")
        .unwrap_or_else(|| panic!("{stderr}"));
    let deinit = stderr
        .find("event=\"deinit\"")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(end < deinit, "{stderr}");
    // The narrator saw the whole story and ended on its own.
    assert!(!stderr.contains("cut short"), "{stderr}");
    let last_narrated = stderr.lines().rfind(|l| l.contains("[device]")).unwrap();
    assert!(
        last_narrated.ends_with("[device] provisioning finished; service stopped"),
        "{stderr}"
    );
    assert!(
        run.stdout
            .starts_with("Provisioned: the device joined \"HomeNet\""),
        "{run:?}"
    );
}
