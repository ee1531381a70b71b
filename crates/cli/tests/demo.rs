//! `wifiprov demo`, the first command of the README, runs end to end and tells its story.
#![allow(clippy::unwrap_used, missing_docs)]

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
