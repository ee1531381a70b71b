//! `wifiprov device --smartconfig-udp`: SmartConfig as one more route of the agent, end to end
//! with `wifiprov smartconfig send` over loopback: a wrong passphrase is reported and the
//! device keeps listening (no reset), the right one is joined, stored, announced with the
//! same events as protocomm provisioning, and acknowledged to the phone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

fn free_udp_port() -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port().to_string()
}

fn send(data: &str, reply: &str, password: &str, timeout: &str) -> Run {
    wifiprov(&[
        "smartconfig",
        "send",
        "--protocol",
        "esptouch",
        "--ssid",
        "HomeNet",
        "--password",
        password,
        "--target",
        &format!("127.0.0.1:{data}"),
        "--ack-listen",
        &format!("127.0.0.1:{reply}"),
        "--gap-us",
        "300",
        "--timeout",
        timeout,
        "--json",
    ])
}

#[test]
fn smartconfig_route_retries_without_reset_then_provisions() {
    let data = free_udp_port();
    let reply = free_udp_port();
    let mut agent = Agent::start(&[
        "--security",
        "1",
        "--pop",
        "abcd1234",
        "--smartconfig-udp",
        &format!("127.0.0.1:{data}"),
        "--smartconfig-ack-port",
        &reply,
        "--smartconfig-ack-broadcast",
        "127.0.0.1",
        "--events",
        "json",
    ]);
    assert!(
        agent.output().contains("SmartConfig on udp 127.0.0.1:"),
        "{}",
        agent.output()
    );

    // A wrong passphrase: the device tries, fails, and no reply comes.
    let wrong = send(&data, &reply, "not-the-password", "4");
    // 7: no device replied before the sender's --timeout.
    assert_eq!(wrong.code, 7, "{wrong:#?}");
    assert!(
        agent.wait_stdout("\"cred_fail\"", Duration::from_secs(20)),
        "{}",
        agent.output()
    );
    assert!(
        agent.child.try_wait().unwrap().is_none(),
        "the agent must keep running"
    );

    // The right one, without any reset: joined, acknowledged, stored, and the agent stops.
    let right = send(&data, &reply, "correct-horse", "60");
    assert_eq!(right.code, 0, "{right:#?}\nagent: {}", agent.output());
    let result: Value = serde_json::from_str(right.stdout.trim()).unwrap();
    assert_eq!(result["ok"], true, "{result}");
    let device = &result["devices"][0];
    assert_eq!(
        device["ip"], "192.168.1.42",
        "the simulator's address for HomeNet"
    );
    assert!(device["mac"].is_string(), "{result}");

    let status = agent.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "{}", agent.output());
    let out = agent.output();
    let events: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| match v["event"].as_str() {
            Some("cred_recv") => "cred_recv",
            Some("cred_fail") => "cred_fail",
            Some("cred_success") => "cred_success",
            Some("end") => "end",
            _ => "",
        })
        .filter(|e| !e.is_empty())
        .collect();
    assert_eq!(
        events,
        ["cred_recv", "cred_fail", "cred_recv", "cred_success", "end"],
        "{out}"
    );
    assert!(
        !out.contains("correct-horse") && !out.contains("not-the-password"),
        "{out}"
    );
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(agent.state_dir.path().join("credentials.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["ssid"], "HomeNet");
    assert_eq!(stored["passphrase_hex"], hex::encode("correct-horse"));
}

#[test]
fn smartconfig_settings_without_a_source_are_refused() {
    let state = tempfile::tempdir().unwrap();
    let run = wifiprov(&[
        "device",
        "--security",
        "1",
        "--pop",
        "abcd1234",
        "--smartconfig-type",
        "airkiss",
        "--state-dir",
        state.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("--smartconfig-interface"), "{run:#?}");
}
