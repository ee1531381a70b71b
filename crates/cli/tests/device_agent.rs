//! `wifiprov device` end to end: the real binary, real HTTP, every security scheme.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::time::Duration;

use protocomm::proto::Message;
use protocomm::proto::wifi_config::resp_get_status::State;
use protocomm::proto::wifi_scan::{
    CmdScanResult, CmdScanStart, WiFiScanPayload, wi_fi_scan_payload::Payload as ScanPayload,
};
use protocomm::{ClientSecurity, PeerVersion, Secret};
use support::*;

#[tokio::test]
async fn provisions_with_every_security_scheme_and_stops() {
    for kind in 0..=2u8 {
        let (args, security) = sec(kind);
        let mut args = args;
        args.extend(["--events", "json"]);
        let mut agent = Agent::start(&args);
        let mut http = agent.client();
        let version = PeerVersion::parse(&http.post("proto-ver", b"---").await.unwrap());
        assert_eq!(version.security(), kind);
        let mut s = handshake(&mut http, security).await.unwrap();
        let (set, apply) = set_and_apply(&mut http, &mut s, "HomeNet", "correct-horse").await;
        assert_eq!(
            (set.as_slice(), apply.as_slice()),
            (&[0x08, 0x03, 0x6a, 0x00][..], &[0x08, 0x05, 0x7a, 0x00][..])
        );
        let st = outcome(&mut http, &mut s).await;
        let Some(State::Connected(c)) = st.state else {
            panic!("security {kind}: {st:?}")
        };
        assert_eq!(c.ip4_addr, "192.168.1.42");
        // Auto-stop: the agent finishes by itself after the client saw the success.
        let status = agent
            .wait_exit(Duration::from_secs(10))
            .expect("agent stops after success");
        assert!(status.success());
        assert!(
            agent.wait_stdout(r#""event":"cred_success""#, Duration::from_secs(2)),
            "{}",
            agent.output()
        );
        // The reader thread may still be copying the last lines after the exit.
        assert!(
            agent.wait_stdout(r#"{"event":"end"}"#, Duration::from_secs(5)),
            "{}",
            agent.output()
        );
    }
}

#[tokio::test]
async fn wrong_passphrase_reset_and_retry() {
    let (args, security) = sec(1);
    let agent = Agent::start(&args);
    let mut http = agent.client();
    let mut s = handshake(&mut http, security).await.unwrap();
    set_and_apply(&mut http, &mut s, "HomeNet", "wrong-horse").await;
    let st = outcome(&mut http, &mut s).await;
    assert_eq!((st.sta_state, st.state), (3, Some(State::FailReason(0))));
    // Later credentials are rejected until a reset.
    let (_, apply) = set_and_apply(&mut http, &mut s, "HomeNet", "correct-horse").await;
    assert_eq!(apply, [0x08, 0x05, 0x7a, 0x02, 0x08, 0x05]);
    assert_eq!(
        call(&mut http, &mut s, "prov-ctrl", &[0x08, 0x01])
            .await
            .unwrap(),
        [0x08, 0x02, 0x62, 0x00]
    );
    let (_, apply) = set_and_apply(&mut http, &mut s, "HomeNet", "correct-horse").await;
    assert_eq!(apply, [0x08, 0x05, 0x7a, 0x00]);
    assert_eq!(outcome(&mut http, &mut s).await.sta_state, 0);
}

#[tokio::test]
async fn network_not_found() {
    let (args, security) = sec(2);
    let agent = Agent::start(&args);
    let mut http = agent.client();
    let mut s = handshake(&mut http, security).await.unwrap();
    set_and_apply(&mut http, &mut s, "NoSuchNetwork", "whatever123").await;
    let st = outcome(&mut http, &mut s).await;
    assert_eq!((st.sta_state, st.state), (3, Some(State::FailReason(1))));
}

#[tokio::test]
async fn reprovision_after_success_without_auto_stop() {
    let (mut args, security) = sec(1);
    args.push("--no-auto-stop");
    let mut agent = Agent::start(&args);
    let mut http = agent.client();
    let mut s = handshake(&mut http, security).await.unwrap();
    set_and_apply(&mut http, &mut s, "CoffeeShop", "").await;
    assert_eq!(outcome(&mut http, &mut s).await.sta_state, 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        agent.wait_exit(Duration::from_millis(10)).is_none(),
        "still serving without auto-stop"
    );
    assert_eq!(
        call(&mut http, &mut s, "prov-ctrl", &[0x08, 0x03])
            .await
            .unwrap(),
        [0x08, 0x04, 0x72, 0x00]
    );
    let (_, apply) = set_and_apply(&mut http, &mut s, "HomeNet", "correct-horse").await;
    assert_eq!(apply, [0x08, 0x05, 0x7a, 0x00]);
    let st = outcome(&mut http, &mut s).await;
    let Some(State::Connected(c)) = st.state else {
        panic!()
    };
    assert_eq!(c.ssid, b"HomeNet");
}

async fn scan_call(
    http: &mut wifiprov_transport::http_client::HttpClient,
    s: &mut protocomm::ClientSession,
    msg: i32,
    payload: Option<ScanPayload>,
) -> WiFiScanPayload {
    let bytes = call(
        http,
        s,
        "prov-scan",
        &WiFiScanPayload {
            msg,
            status: 0,
            payload,
        }
        .encode_to_vec(),
    )
    .await
    .unwrap();
    WiFiScanPayload::decode(bytes.as_slice()).unwrap()
}

#[tokio::test]
async fn scan_with_paging_over_http() {
    let (args, security) = sec(2);
    let agent = Agent::start(&args);
    let mut http = agent.client();
    let mut s = handshake(&mut http, security).await.unwrap();
    let start = CmdScanStart {
        blocking: true,
        passive: false,
        group_channels: 5,
        period_ms: 30,
    };
    assert_eq!(
        scan_call(&mut http, &mut s, 0, Some(ScanPayload::CmdScanStart(start)))
            .await
            .status,
        0
    );
    let Some(ScanPayload::RespScanStatus(st)) = scan_call(&mut http, &mut s, 2, None).await.payload
    else {
        panic!()
    };
    assert!(st.scan_finished);
    let mut entries = Vec::new();
    for start in (0..st.result_count + 8).step_by(4) {
        let page = scan_call(
            &mut http,
            &mut s,
            4,
            Some(ScanPayload::CmdScanResult(CmdScanResult {
                start_index: start,
                count: 4,
            })),
        )
        .await;
        let Some(ScanPayload::RespScanResult(r)) = page.payload else {
            panic!()
        };
        entries.extend(r.entries);
    }
    assert_eq!(entries.len() as u32, st.result_count);
    assert!(entries.iter().any(|e| e.ssid == b"HomeNet"));
}

#[tokio::test]
async fn custom_endpoint_runs_a_command() {
    let (mut args, security) = sec(1);
    args.extend(["--endpoint", "custom-data=tr a-z A-Z; printf '\\000'"]);
    let agent = Agent::start(&args);
    let mut http = agent.client();
    let mut s = handshake(&mut http, security).await.unwrap();
    assert_eq!(
        call(&mut http, &mut s, "custom-data", b"hello")
            .await
            .unwrap(),
        b"HELLO\0"
    );
    // An endpoint nobody registered is a 404.
    assert!(matches!(
        http.post("other-data", b"x").await,
        Err(wifiprov_transport::http_client::ClientError::Status { status: 404, .. })
    ));
}

#[tokio::test]
async fn restart_keeps_the_stored_credentials() {
    let (args, security) = sec(1);
    let mut agent = Agent::start(&args);
    let mut http = agent.client();
    let mut s = handshake(&mut http, security).await.unwrap();
    set_and_apply(&mut http, &mut s, "HomeNet", "correct-horse").await;
    assert_eq!(outcome(&mut http, &mut s).await.sta_state, 0);
    assert!(agent.wait_exit(Duration::from_secs(10)).is_some());
    let file = std::fs::read_to_string(agent.state_dir.path().join("credentials.json")).unwrap();
    assert!(file.contains("HomeNet"));
    // Second run: already provisioned, joins the stored network and exits 0 without serving.
    let state_dir = std::mem::replace(&mut agent.state_dir, tempfile::tempdir().unwrap());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["device", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state_dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("already provisioned for \"HomeNet\""),
        "{stderr}"
    );
    assert!(stderr.contains("connected to \"HomeNet\""), "{stderr}");
    // With --force it serves provisioning again.
    let forced = Agent::start_in(state_dir, &["--security", "1", "--force"]);
    assert!(forced.output().contains("serving provisioning"));
}

#[tokio::test]
async fn other_clients_cannot_disturb_an_active_session() {
    let (args, security) = sec(1);
    let agent = Agent::start(&args);
    let mut a = agent.client();
    let mut sa = handshake(&mut a, security.clone()).await.unwrap();
    // Meanwhile: new handshakes, garbage, an oversized body, unknown endpoints, a wrong PoP.
    let mut b = agent.client();
    handshake(&mut b, security.clone()).await.unwrap();
    let mut c = agent.client();
    assert!(c.post("prov-session", b"\xff\xff garbage").await.is_err());
    let mut d = agent.client();
    assert!(matches!(
        d.post("prov-config", &vec![0u8; 5000]).await,
        Err(wifiprov_transport::http_client::ClientError::Status { status: 400, .. })
    ));
    assert!(matches!(
        d.post("prov-nothing", b"x").await,
        Err(wifiprov_transport::http_client::ClientError::Status { status: 404, .. })
    ));
    let mut e = agent.client();
    assert!(
        handshake(
            &mut e,
            ClientSecurity::Sec1 {
                pop: Some(Secret::from("guess"))
            }
        )
        .await
        .is_err()
    );
    // A's session is intact.
    set_and_apply(&mut a, &mut sa, "HomeNet", "correct-horse").await;
    assert_eq!(outcome(&mut a, &mut sa).await.sta_state, 0);
}

#[tokio::test]
async fn secrets_never_reach_the_output() {
    let pop = "pop-VERY-SECRET-31337";
    let password = "srp-VERY-SECRET-4242";
    let passphrase = "wifi-VERY-SECRET-777";
    let cases = [
        (
            vec!["--security", "1", "--pop", pop],
            ClientSecurity::Sec1 {
                pop: Some(Secret::from(pop)),
            },
        ),
        (
            vec![
                "--security",
                "2",
                "--username",
                "wifiprov",
                "--password",
                password,
            ],
            ClientSecurity::Sec2 {
                username: b"wifiprov".to_vec(),
                password: Secret::from(password),
                patch: 1,
            },
        ),
    ];
    for (mut args, security) in cases {
        let spec = format!("SecretNet:{passphrase}");
        args.extend(["-vv", "--events", "json", "--sim-ap"]);
        args.push(&spec);
        let mut agent = Agent::start(&args);
        let mut http = agent.client();
        let mut s = handshake(&mut http, security).await.unwrap();
        // A wrong attempt first (errors are logged too), then the right one.
        set_and_apply(&mut http, &mut s, "SecretNet", "wifi-VERY-SECRET-778").await;
        assert_eq!(outcome(&mut http, &mut s).await.sta_state, 3);
        call(&mut http, &mut s, "prov-ctrl", &[0x08, 0x01])
            .await
            .unwrap();
        set_and_apply(&mut http, &mut s, "SecretNet", passphrase).await;
        assert_eq!(outcome(&mut http, &mut s).await.sta_state, 0);
        agent.wait_exit(Duration::from_secs(10)).unwrap();
        let out = agent.output();
        assert!(
            out.contains("TRACE") || out.contains("DEBUG"),
            "verbose logging was on"
        );
        for secret in [pop, password, passphrase, "VERY-SECRET"] {
            assert!(!out.contains(secret), "{secret} leaked:\n{out}");
        }
        let hex_pass = hex::encode(passphrase);
        assert!(!out.contains(&hex_pass));
    }
}

#[test]
fn bind_failure_has_a_hint() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args([
            "device",
            "--security",
            "1",
            "--listen",
            &addr,
            "--state-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot listen on") && stderr.contains("--listen"),
        "{stderr}"
    );
}

#[test]
fn security_2_without_credentials_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["device", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("security 2 needs --sec2-username and --sec2-password")
    );
}

#[tokio::test]
async fn event_hook_and_app_info() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let hook = format!(
        "echo \"$WIFIPROV_EVENT|$WIFIPROV_SSID|$WIFIPROV_REASON\" >> {}",
        log.display()
    );
    let (mut args, security) = sec(1);
    args.extend([
        "--event-hook",
        &hook,
        "--app-info",
        r#"{"my_app":{"ver":"1.0","cap":["cap_a","cap_b"]}}"#,
    ]);
    let mut agent = Agent::start(&args);
    let mut http = agent.client();
    let reply = http.post("proto-ver", b"ESP").await.unwrap();
    assert!(String::from_utf8(reply.clone()).unwrap().starts_with(
        "{\n\t\"my_app\":\t{\n\t\t\"ver\":\t\"1.0\",\n\t\t\"cap\":\t[\"cap_a\", \"cap_b\"]\n\t},\n\t\"prov\":\t{"
    ));
    assert_eq!(PeerVersion::parse(&reply).app_info[0].label, "my_app");
    let mut s = handshake(&mut http, security).await.unwrap();
    set_and_apply(&mut http, &mut s, "HomeNet", "nope-nope").await;
    assert_eq!(outcome(&mut http, &mut s).await.sta_state, 3);
    call(&mut http, &mut s, "prov-ctrl", &[0x08, 0x01])
        .await
        .unwrap();
    set_and_apply(&mut http, &mut s, "HomeNet", "correct-horse").await;
    assert_eq!(outcome(&mut http, &mut s).await.sta_state, 0);
    agent.wait_exit(Duration::from_secs(10)).unwrap();
    let lines = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(
        lines,
        [
            "start||",
            "cred_recv|HomeNet|",
            "cred_fail|HomeNet|auth_error",
            "cred_recv|HomeNet|",
            "cred_success|HomeNet|",
            "end||",
            "deinit||"
        ],
        "hooks run in event order"
    );
}

#[test]
fn sigterm_stops_the_agent_cleanly() {
    let (args, _) = sec(1);
    let mut agent = Agent::start(&args);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &agent.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = agent
        .wait_exit(Duration::from_secs(10))
        .expect("the agent stops on SIGTERM");
    assert!(exit.success(), "{}", agent.output());
    let out = agent.output();
    assert!(
        out.contains("stopping on signal") && out.contains("provisioning service stopped"),
        "{out}"
    );
}
