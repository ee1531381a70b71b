//! Secrets, logs and child processes against the real binary: children do not inherit the
//! agent's secrets, peer-chosen text is escaped in the log, a config file's secrets are not
//! echoed and a readable one is warned about, and a hostile ScanStart cannot hold scanning.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use protocomm::proto::Message;
use protocomm::proto::wifi_scan::wi_fi_scan_payload::Payload as ScanPayload;
use protocomm::proto::wifi_scan::{CmdScanStart, WiFiScanPayload};
use protocomm::{ClientSecurity, Secret};
use support::*;

const POP: &str = "pop-from-the-environment";

#[tokio::test]
async fn children_do_not_inherit_secrets_from_the_environment() {
    let args = [
        "--security",
        "1",
        "--endpoint",
        "env-dump=env | grep -E '^(WIFIPROV_|PATH=)'",
        "--child-env",
        "WIFIPROV_SITE",
    ];
    let agent = Agent::start_with_env(
        tempfile::tempdir().unwrap(),
        &args,
        &[
            ("WIFIPROV_POP", POP),
            ("WIFIPROV_PASSWORD", "srp-password-from-env"),
            ("WIFIPROV_SITE", "lab-3"),
        ],
    );
    let mut http = agent.client();
    let security = ClientSecurity::Sec1 {
        pop: Some(Secret::from(POP)),
    };
    let mut s = handshake(&mut http, security).await.unwrap();
    let out = call(&mut http, &mut s, "env-dump", b"x").await.unwrap();
    let env = String::from_utf8_lossy(&out);
    assert!(!env.contains(POP), "{env}");
    assert!(!env.contains("WIFIPROV_POP"), "{env}");
    assert!(!env.contains("srp-password-from-env"), "{env}");
    // What the endpoint is told, and what was passed on purpose, are there.
    assert!(env.contains("WIFIPROV_ENDPOINT=env-dump"), "{env}");
    assert!(env.contains("WIFIPROV_SITE=lab-3"), "{env}");
    assert!(env.contains("PATH="), "{env}");
}

#[tokio::test]
async fn an_endpoint_answering_too_much_is_told_apart_from_a_timeout() {
    let (mut args, security) = sec(1);
    args.extend(["--endpoint", "big=head -c 102400 /dev/zero"]);
    let agent = Agent::start(&args);
    let mut http = agent.client();
    let mut s = handshake(&mut http, security).await.unwrap();
    assert!(call(&mut http, &mut s, "big", b"x").await.is_err());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !agent.output().contains("response too long") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = agent.output();
    assert!(
        log.contains("response too long (more than 4096 bytes)"),
        "{log}"
    );
    assert!(!log.contains("timed out"), "{log}");
}

#[tokio::test]
async fn peer_chosen_ssids_cannot_forge_log_lines() {
    let (args, security) = sec(1);
    let agent = Agent::start(&args);
    let mut http = agent.client();
    let mut s = handshake(&mut http, security).await.unwrap();
    let evil = "X\nFAKE ERROR root login ok\x1b[2J";
    set_and_apply(&mut http, &mut s, evil, "whatever-pass").await;
    // The device tries the network (not found in the simulator) and logs about it.
    let _ = outcome(&mut http, &mut s).await;
    let log = agent.stderr.lock().unwrap().clone();
    assert!(
        log.contains("FAKE ERROR root login ok"),
        "the SSID is logged: {log}"
    );
    assert!(!log.contains('\x1b'), "{log:?}");
    for line in log.lines() {
        assert!(!line.starts_with("FAKE"), "forged line: {log}");
    }
}

#[test]
fn config_errors_do_not_echo_secrets_and_readable_secrets_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.toml");
    std::fs::write(&path, "security = 1\npop = \"hunter2-pop\n").unwrap();
    let config = path.to_str().unwrap();
    let run = wifiprov(&["device", "--config", config, "--listen", "127.0.0.1:0"]);
    assert!(!run.all().contains("hunter2"), "{}", run.all());
    assert!(run.all().contains("line 2"), "{}", run.all());

    // A good file holding a PoP, readable by others: a warning names it. `--sim-list` makes
    // the agent stop right after reading its settings.
    std::fs::write(&path, "security = 1\npop = \"hunter2-pop\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = wifiprov(&["device", "--config", config, "--sim-list"]);
    assert!(run.all().contains("holds secrets"), "{}", run.all());
    assert!(!run.all().contains("hunter2"), "{}", run.all());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = wifiprov(&["device", "--config", config, "--sim-list"]);
    assert!(!run.all().contains("holds secrets"), "{}", run.all());
}

#[tokio::test]
async fn salt_verifier_and_sim_networks_from_the_environment_and_files() {
    // A salt and verifier for wifiprov / s3cret-srp-pw, the client's credentials of sec(2).
    let made = protocomm::Sec2Credentials::generate(
        b"wifiprov",
        &Secret::from("s3cret-srp-pw"),
        &mut os_rng(),
    )
    .unwrap();
    let salt = hex::encode(made.salt());
    let verifier = hex::encode(made.verifier().expose());
    let dir = tempfile::tempdir().unwrap();
    let aps = dir.path().join("aps");
    std::fs::write(&aps, "# test networks\nSecretNet:file-passphrase\n").unwrap();
    let aps = aps.to_str().unwrap().to_string();
    let agent = Agent::start_with_env(
        tempfile::tempdir().unwrap(),
        &["--security", "2", "--sim-ap-file", &aps],
        &[("WIFIPROV_SALT", &salt), ("WIFIPROV_VERIFIER", &verifier)],
    );
    let (_, security) = sec(2);
    let mut http = agent.client();
    let mut s = handshake(&mut http, security).await.unwrap();
    set_and_apply(&mut http, &mut s, "SecretNet", "file-passphrase").await;
    let st = outcome(&mut http, &mut s).await;
    assert!(
        matches!(
            st.state,
            Some(protocomm::proto::wifi_config::resp_get_status::State::Connected(_))
        ),
        "{st:?} {}",
        agent.output()
    );
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
async fn a_hostile_scan_start_does_not_hold_scanning() {
    let (args, security) = sec(1);
    let agent = Agent::start(&args);
    let mut http_a = agent.client();
    let mut a = handshake(&mut http_a, security.clone()).await.unwrap();
    let hostile = CmdScanStart {
        blocking: false,
        passive: false,
        group_channels: 0,
        period_ms: u32::MAX,
    };
    let started = scan_call(
        &mut http_a,
        &mut a,
        0,
        Some(ScanPayload::CmdScanStart(hostile)),
    );
    assert_eq!(started.await.status, 0);

    // Another session: its scans finish within the bound of a clamped scan (13 channels of
    // 1.5 s in the simulator), not after 13 × 49 days.
    let mut http_b = agent.client();
    let mut b = handshake(&mut http_b, security).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let Some(ScanPayload::RespScanStatus(st)) =
            scan_call(&mut http_b, &mut b, 2, None).await.payload
        else {
            panic!("no scan status")
        };
        if st.scan_finished {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "scanning is held: {}",
            agent.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let quick = CmdScanStart {
        blocking: true,
        passive: false,
        group_channels: 0,
        period_ms: 20,
    };
    let started = scan_call(
        &mut http_b,
        &mut b,
        0,
        Some(ScanPayload::CmdScanStart(quick)),
    );
    assert_eq!(started.await.status, 0);
    let Some(ScanPayload::RespScanStatus(st)) =
        scan_call(&mut http_b, &mut b, 2, None).await.payload
    else {
        panic!("no scan status")
    };
    assert!(st.scan_finished);
    assert!(st.result_count > 0, "{st:?}");
}
