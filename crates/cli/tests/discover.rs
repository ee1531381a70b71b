//! `wifiprov discover` against an in-process agent that announces itself over mDNS.
//!
//! The announcement and the browser use a private mDNS port, so the test neither disturbs
//! nor hears a responder of the machine; multicast on loopback is enough.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Output};
use std::sync::Arc;

use protocomm::{Secret, Security};
use serde_json::Value;
use wifiprov_agent::{AgentBuilder, HttpRoute, RunningAgent};
use wifiprov_transport::mdns::{Advertisement, MdnsHandle};
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

/// Starts a security 1 agent on a free loopback port and announces it as `name` on
/// `mdns_port`, for 127.0.0.1, with an extra TXT record.
async fn announced_agent(name: &str, mdns_port: u16) -> (RunningAgent, MdnsHandle) {
    let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let security = Security::Sec1 {
        pop: Some(Secret::from("abcd1234")),
    };
    let agent = AgentBuilder::new(security, wifi)
        .route(HttpRoute::new("127.0.0.1:0".parse().unwrap()))
        .start()
        .await
        .unwrap();
    let mut ad = Advertisement::new(name, agent.addr.port());
    ad.addrs = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    ad.txt = vec![("fleet_tag".to_owned(), "lab-3".to_owned())];
    ad.mdns_port = mdns_port;
    let handle = ad.start().unwrap();
    (agent, handle)
}

/// Runs `wifiprov discover ARGS` off the async threads (the agent keeps serving meanwhile).
async fn discover(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wifiprov"))
            .arg("discover")
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

async fn stop(agent: RunningAgent, handle: MdnsHandle) {
    tokio::task::spawn_blocking(move || handle.shutdown())
        .await
        .unwrap()
        .unwrap();
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lists_the_device_with_port_txt_and_probe() {
    const MDNS_PORT: u16 = 25353;
    let (agent, handle) = announced_agent("PROV_DISC01", MDNS_PORT).await;
    let port = agent.addr.port();

    let output = discover(&[
        "--json",
        "--timeout",
        "2",
        "--probe",
        "--mdns-port",
        &MDNS_PORT.to_string(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let device = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "PROV_DISC01")
        .unwrap_or_else(|| panic!("PROV_DISC01 not listed: {stdout}\n{stderr}"));

    assert_eq!(device["fullname"], "PROV_DISC01._esp_wifi_prov._tcp.local.");
    assert_eq!(device["host"], "prov-disc01.local.");
    assert_eq!(device["port"], u64::from(port));
    assert!(
        device["addresses"]
            .as_array()
            .unwrap()
            .contains(&Value::from("127.0.0.1")),
        "{device}"
    );
    let txt = &device["txt"];
    assert_eq!(txt["version_endpoint"], "/proto-ver");
    assert_eq!(txt["session_endpoint"], "/prov-session");
    assert_eq!(txt["config_endpoint"], "/prov-config");
    assert_eq!(txt["fleet_tag"], "lab-3");

    let probe = &device["probe"];
    assert_eq!(probe["error"], Value::Null, "{probe}");
    assert_eq!(probe["address"], format!("127.0.0.1:{port}"));
    assert_eq!(probe["sec_ver"], 1);
    assert_eq!(probe["needs_pop"], true);
    assert_eq!(probe["version"], "v1.1");
    assert!(
        probe["capabilities"]
            .as_array()
            .unwrap()
            .contains(&Value::from("wifi_scan")),
        "{probe}"
    );

    stop(agent, handle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_lists_the_device() {
    const MDNS_PORT: u16 = 25354;
    let (agent, handle) = announced_agent("PROV_DISC02", MDNS_PORT).await;
    let port = agent.addr.port();

    let output = discover(&["--timeout", "2", "--mdns-port", &MDNS_PORT.to_string()]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with("NAME"), "{stdout}");
    let row = stdout
        .lines()
        .find(|line| line.starts_with("PROV_DISC02 "))
        .unwrap_or_else(|| panic!("PROV_DISC02 not listed: {stdout}\n{stderr}"));
    assert!(row.contains("prov-disc02.local."), "{row}");
    assert!(row.contains("127.0.0.1"), "{row}");
    assert!(row.contains(&format!(" {port} ")), "{row}");
    assert!(row.contains("version_endpoint=/proto-ver"), "{row}");
    assert!(row.contains("fleet_tag=lab-3"), "{row}");
    assert!(stderr.contains("found"), "{stderr}");

    stop(agent, handle).await;
}

#[test]
fn the_help_mentions_ble() {
    let output = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["discover", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(help.contains("BLE"), "{help}");
    assert!(help.contains("--timeout"), "{help}");
    assert!(!help.contains("--mdns-port"), "{help}");
}
