//! The provisioning Manager against the simulator, with paused time: the ESP-IDF state
//! machine as a client sees it through the plaintext endpoint messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::time::Duration;

use protocomm::SessionId;
use protocomm::proto::Message;
use protocomm::proto::wifi_config::{
    CmdSetConfig, RespGetStatus, WiFiConfigPayload, resp_get_status::State,
    wi_fi_config_payload::Payload as ConfigPayload,
};
use protocomm::proto::wifi_ctrl::WiFiCtrlPayload;
use protocomm::proto::wifi_scan::{
    CmdScanResult, CmdScanStart, WiFiScanPayload, wi_fi_scan_payload::Payload as ScanPayload,
};
use tokio::sync::broadcast;
use wifiprov_device::{
    CredentialStore, FailReason, Manager, ManagerConfig, ProvError, ProvEvent, ProvState,
};
use wifiprov_transport::AppHandler;
use wifiprov_wifi::Credentials;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};
use zeroize::Zeroizing;

struct Rig {
    manager: Manager,
    events: broadcast::Receiver<ProvEvent>,
    _dir: tempfile::TempDir,
    store: CredentialStore,
}

async fn rig(config: ManagerConfig) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let manager = Manager::new(
        config,
        wifi,
        Some(CredentialStore::open(dir.path()).unwrap()),
    );
    let events = manager.subscribe();
    manager.start().await;
    Rig {
        manager,
        events,
        _dir: dir,
        store,
    }
}

async fn call(
    m: &Manager,
    endpoint: &str,
    bytes: Vec<u8>,
) -> Result<Vec<u8>, protocomm::HandlerError> {
    m.handle(SessionId(1), endpoint.to_string(), Zeroizing::new(bytes))
        .await
}

async fn config(m: &Manager, msg: i32, payload: Option<ConfigPayload>) -> Vec<u8> {
    call(
        m,
        "prov-config",
        WiFiConfigPayload { msg, payload }.encode_to_vec(),
    )
    .await
    .unwrap()
}

async fn get_status(m: &Manager) -> (Vec<u8>, RespGetStatus) {
    let bytes = config(m, 0, Some(ConfigPayload::CmdGetStatus(Default::default()))).await;
    let Some(ConfigPayload::RespGetStatus(r)) =
        WiFiConfigPayload::decode(bytes.as_slice()).unwrap().payload
    else {
        panic!()
    };
    (bytes, r)
}

async fn set_config(m: &Manager, ssid: &[u8], pass: &[u8]) -> Vec<u8> {
    config(
        m,
        2,
        Some(ConfigPayload::CmdSetConfig(CmdSetConfig {
            ssid: ssid.to_vec(),
            passphrase: pass.to_vec(),
            ..Default::default()
        })),
    )
    .await
}

async fn apply(m: &Manager) -> Vec<u8> {
    // esp_prov sends ApplyConfig without its (empty) payload.
    config(m, 4, None).await
}

async fn ctrl(m: &Manager, msg: i32) -> Vec<u8> {
    call(
        m,
        "prov-ctrl",
        WiFiCtrlPayload {
            msg,
            status: 0,
            payload: None,
        }
        .encode_to_vec(),
    )
    .await
    .unwrap()
}

async fn next_event(events: &mut broadcast::Receiver<ProvEvent>) -> ProvEvent {
    tokio::time::timeout(Duration::from_secs(120), events.recv())
        .await
        .expect("event in time")
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn successful_provisioning_then_auto_stop() {
    let mut r = rig(ManagerConfig::default()).await;
    assert_eq!(next_event(&mut r.events).await, ProvEvent::Start);
    // Before any credentials: Connecting with no detail, byte for byte as the C device.
    assert_eq!(
        get_status(&r.manager).await.0,
        [0x08, 0x01, 0x5a, 0x02, 0x10, 0x01]
    );
    assert_eq!(
        set_config(&r.manager, b"HomeNet", b"correct-horse").await,
        [0x08, 0x03, 0x6a, 0x00]
    );
    assert_eq!(apply(&r.manager).await, [0x08, 0x05, 0x7a, 0x00]);
    assert_eq!(
        next_event(&mut r.events).await,
        ProvEvent::CredRecv {
            ssid: b"HomeNet".to_vec()
        }
    );
    assert!(
        r.store.is_provisioned(),
        "credentials are persisted at ApplyConfig"
    );
    let ProvEvent::CredSuccess { link } = next_event(&mut r.events).await else {
        panic!("expected CredSuccess")
    };
    assert_eq!(
        (link.ssid.as_slice(), link.ip.to_string().as_str()),
        (&b"HomeNet"[..], "192.168.1.42")
    );
    let (_, status) = get_status(&r.manager).await;
    assert_eq!(status.sta_state, 0);
    let Some(State::Connected(c)) = status.state else {
        panic!("{status:?}")
    };
    assert_eq!(
        (
            c.ip4_addr.as_str(),
            c.ssid.as_slice(),
            c.channel,
            c.auth_mode
        ),
        ("192.168.1.42", &b"HomeNet"[..], 6, 3)
    );
    // The Connected GetStatus arms auto-stop (cleanup delay 1 s).
    let before = tokio::time::Instant::now();
    assert_eq!(next_event(&mut r.events).await, ProvEvent::End);
    assert!(before.elapsed() >= Duration::from_millis(1000));
    assert_eq!(r.manager.prov_state(), ProvState::Stopped);
    assert!(
        call(&r.manager, "prov-config", vec![0x52, 0x00])
            .await
            .is_err(),
        "endpoints are gone after stop"
    );
}

#[tokio::test(start_paused = true)]
async fn auto_stop_fires_after_30_s_without_a_status_request() {
    let mut r = rig(ManagerConfig::default()).await;
    set_config(&r.manager, b"CoffeeShop", b"").await;
    apply(&r.manager).await;
    loop {
        if let ProvEvent::CredSuccess { .. } = next_event(&mut r.events).await {
            break;
        }
    }
    let t = tokio::time::Instant::now();
    assert_eq!(next_event(&mut r.events).await, ProvEvent::End);
    assert!(t.elapsed() >= Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn wrong_passphrase_is_reported_then_rejected_until_reset() {
    let mut r = rig(ManagerConfig::default()).await;
    set_config(&r.manager, b"HomeNet", b"wrong-horse").await;
    apply(&r.manager).await;
    loop {
        if let ProvEvent::CredFail { error } = next_event(&mut r.events).await {
            assert_eq!(error.fail_reason(), Some(FailReason::AuthError));
            let detail = error.to_string();
            assert!(detail.contains("wrong passphrase"), "{detail}");
            break;
        }
    }
    assert_eq!(
        get_status(&r.manager).await.0,
        [0x08, 0x01, 0x5a, 0x04, 0x10, 0x03, 0x50, 0x00]
    );
    assert_eq!(r.manager.prov_state(), ProvState::Fail);
    // New credentials are refused until CtrlReset.
    set_config(&r.manager, b"HomeNet", b"correct-horse").await;
    assert_eq!(
        apply(&r.manager).await,
        [0x08, 0x05, 0x7a, 0x02, 0x08, 0x05]
    );
    assert_eq!(ctrl(&r.manager, 1).await, [0x08, 0x02, 0x62, 0x00]);
    assert!(
        !r.store.is_provisioned(),
        "CtrlReset clears the stored credentials"
    );
    // The pending credentials were discarded by the refused apply: a new SetConfig is needed.
    assert_eq!(
        apply(&r.manager).await,
        [0x08, 0x05, 0x7a, 0x02, 0x08, 0x05]
    );
    set_config(&r.manager, b"HomeNet", b"correct-horse").await;
    assert_eq!(apply(&r.manager).await, [0x08, 0x05, 0x7a, 0x00]);
    loop {
        if let ProvEvent::CredSuccess { .. } = next_event(&mut r.events).await {
            break;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_network_is_not_found() {
    let mut r = rig(ManagerConfig::default()).await;
    set_config(&r.manager, b"NoSuchNet", b"whatever1").await;
    apply(&r.manager).await;
    loop {
        if let ProvEvent::CredFail { error } = next_event(&mut r.events).await {
            assert_eq!(error.fail_reason(), Some(FailReason::NetworkNotFound));
            break;
        }
    }
    assert_eq!(
        get_status(&r.manager).await.0,
        [0x08, 0x01, 0x5a, 0x04, 0x10, 0x03, 0x50, 0x01]
    );
}

#[tokio::test(start_paused = true)]
async fn set_config_validation() {
    let r = rig(ManagerConfig::default()).await;
    let invalid = [0x08, 0x03, 0x6a, 0x02, 0x08, 0x04];
    assert_eq!(set_config(&r.manager, &[b'a'; 33], b"x").await, invalid);
    assert_eq!(set_config(&r.manager, b"a", &[b'p'; 64]).await, invalid);
    assert_eq!(set_config(&r.manager, b"", b"").await, invalid);
    let bad_bssid = CmdSetConfig {
        ssid: b"a".to_vec(),
        bssid: vec![1, 2, 3],
        ..Default::default()
    };
    assert_eq!(
        config(&r.manager, 2, Some(ConfigPayload::CmdSetConfig(bad_bssid))).await,
        invalid
    );
    assert_eq!(
        set_config(&r.manager, &[b'a'; 32], &[b'p'; 63]).await,
        [0x08, 0x03, 0x6a, 0x00]
    );
    // Nothing pending after a refused apply, and an apply with nothing pending fails.
    assert_eq!(apply(&r.manager).await, [0x08, 0x05, 0x7a, 0x00]);
    // Malformed requests, response types and missing payloads get no response at all.
    assert!(
        call(&r.manager, "prov-config", vec![0xff, 0xff])
            .await
            .is_err()
    );
    assert!(
        call(
            &r.manager,
            "prov-config",
            WiFiConfigPayload {
                msg: 1,
                payload: None
            }
            .encode_to_vec()
        )
        .await
        .is_err()
    );
    assert!(
        call(
            &r.manager,
            "prov-config",
            WiFiConfigPayload {
                msg: 2,
                payload: None
            }
            .encode_to_vec()
        )
        .await
        .is_err()
    );
    assert!(call(&r.manager, "prov-nothing", vec![]).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn apply_without_set_config_fails() {
    let r = rig(ManagerConfig::default()).await;
    assert_eq!(
        apply(&r.manager).await,
        [0x08, 0x05, 0x7a, 0x02, 0x08, 0x05]
    );
}

#[tokio::test(start_paused = true)]
async fn ctrl_preconditions() {
    let mut r = rig(ManagerConfig::default()).await;
    // Reset while waiting for credentials is a harmless success; reprov needs auto-stop off.
    assert_eq!(ctrl(&r.manager, 1).await, [0x08, 0x02, 0x62, 0x00]);
    assert_eq!(
        ctrl(&r.manager, 3).await,
        [0x08, 0x04, 0x10, 0x05, 0x72, 0x00]
    );
    set_config(&r.manager, b"SlowLane", b"patience-please").await;
    apply(&r.manager).await;
    let _ = next_event(&mut r.events).await;
    // While connecting, reset is refused.
    assert_eq!(
        ctrl(&r.manager, 1).await,
        [0x08, 0x02, 0x10, 0x05, 0x62, 0x00]
    );
    assert!(
        call(
            &r.manager,
            "prov-ctrl",
            WiFiCtrlPayload {
                msg: 2,
                status: 0,
                payload: None
            }
            .encode_to_vec()
        )
        .await
        .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn reprovision_after_success_when_auto_stop_is_off() {
    let mut r = rig(ManagerConfig {
        auto_stop: false,
        ..Default::default()
    })
    .await;
    set_config(&r.manager, b"CoffeeShop", b"").await;
    apply(&r.manager).await;
    loop {
        if let ProvEvent::CredSuccess { .. } = next_event(&mut r.events).await {
            break;
        }
    }
    get_status(&r.manager).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(r.manager.prov_state(), ProvState::Success, "no auto-stop");
    assert_eq!(ctrl(&r.manager, 3).await, [0x08, 0x04, 0x72, 0x00]);
    assert_eq!(next_event(&mut r.events).await, ProvEvent::Start);
    set_config(&r.manager, b"HomeNet", b"correct-horse").await;
    assert_eq!(apply(&r.manager).await, [0x08, 0x05, 0x7a, 0x00]);
    loop {
        if let ProvEvent::CredSuccess { link } = next_event(&mut r.events).await {
            assert_eq!(link.ssid, b"HomeNet");
            break;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn attempts_and_reset_on_failure() {
    let mut r = rig(ManagerConfig {
        max_attempts: 3,
        reset_on_failure: true,
        ..Default::default()
    })
    .await;
    set_config(&r.manager, b"HomeNet", b"nope-nope").await;
    apply(&r.manager).await;
    // Poll while retrying: the attempts-remaining detail appears.
    let mut saw_remaining = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (bytes, status) = get_status(&r.manager).await;
        match status.state {
            Some(State::AttemptFailed(a)) => {
                if saw_remaining.last() != Some(&a.attempts_remaining) {
                    saw_remaining.push(a.attempts_remaining);
                }
                assert_eq!(&bytes[..5], [0x08, 0x01, 0x5a, 0x06, 0x10]);
            }
            Some(State::FailReason(0)) => break,
            _ => {}
        }
    }
    assert_eq!(saw_remaining, [2, 1]);
    // reset-on-failure: new credentials are accepted without CtrlReset.
    assert_eq!(r.manager.prov_state(), ProvState::Started);
    set_config(&r.manager, b"HomeNet", b"correct-horse").await;
    assert_eq!(apply(&r.manager).await, [0x08, 0x05, 0x7a, 0x00]);
    loop {
        if let ProvEvent::CredSuccess { .. } = next_event(&mut r.events).await {
            break;
        }
    }
}

async fn scan(m: &Manager, msg: i32, payload: Option<ScanPayload>) -> WiFiScanPayload {
    let bytes = call(
        m,
        "prov-scan",
        WiFiScanPayload {
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

#[tokio::test(start_paused = true)]
async fn scan_with_paging() {
    let r = rig(ManagerConfig::default()).await;
    let t = tokio::time::Instant::now();
    let start = scan(
        &r.manager,
        0,
        Some(ScanPayload::CmdScanStart(CmdScanStart {
            blocking: true,
            passive: false,
            group_channels: 5,
            period_ms: 120,
        })),
    )
    .await;
    assert_eq!((start.msg, start.status), (1, 0));
    // 13 channels × 120 ms plus two 120 ms pauses between groups of 5.
    assert!(
        t.elapsed() >= Duration::from_millis(13 * 120 + 2 * 120),
        "{:?}",
        t.elapsed()
    );
    let status = scan(&r.manager, 2, None).await;
    let Some(ScanPayload::RespScanStatus(st)) = status.payload else {
        panic!()
    };
    assert!(st.scan_finished);
    let total = st.result_count as usize;
    assert!((12..=16).contains(&total), "{total}");
    let mut all = Vec::new();
    let mut at = 0;
    while at < total + 8 {
        let page = scan(
            &r.manager,
            4,
            Some(ScanPayload::CmdScanResult(CmdScanResult {
                start_index: at as u32,
                count: 4,
            })),
        )
        .await;
        assert_eq!(page.status, 0);
        let Some(ScanPayload::RespScanResult(res)) = page.payload else {
            panic!()
        };
        all.extend(res.entries);
        at += 4;
    }
    assert_eq!(
        all.len(),
        total,
        "pages beyond the count are empty, never an error"
    );
    assert!(
        all.windows(2).all(|w| w[0].rssi >= w[1].rssi),
        "strongest first"
    );
    assert!(
        all.iter().any(|e| e.ssid.is_empty()),
        "the hidden network shows without its name"
    );
    // A huge page request is answered safely.
    let page = scan(
        &r.manager,
        4,
        Some(ScanPayload::CmdScanResult(CmdScanResult {
            start_index: u32::MAX,
            count: u32::MAX,
        })),
    )
    .await;
    let Some(ScanPayload::RespScanResult(res)) = page.payload else {
        panic!()
    };
    assert!(res.entries.is_empty());
    // ScanStart without its payload gets no response.
    assert!(
        call(
            &r.manager,
            "prov-scan",
            WiFiScanPayload {
                msg: 0,
                status: 0,
                payload: None
            }
            .encode_to_vec()
        )
        .await
        .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn non_blocking_scan_reports_progress() {
    let r = rig(ManagerConfig::default()).await;
    let start = scan(
        &r.manager,
        0,
        Some(ScanPayload::CmdScanStart(CmdScanStart {
            blocking: false,
            period_ms: 100,
            ..Default::default()
        })),
    )
    .await;
    assert_eq!(start.status, 0);
    let Some(ScanPayload::RespScanStatus(st)) = scan(&r.manager, 2, None).await.payload else {
        panic!()
    };
    assert!(!st.scan_finished);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let Some(ScanPayload::RespScanStatus(st)) = scan(&r.manager, 2, None).await.payload else {
        panic!()
    };
    assert!(st.scan_finished && st.result_count > 0);
}

async fn config_as(m: &Manager, session: u32, msg: i32, payload: Option<ConfigPayload>) -> Vec<u8> {
    m.handle(
        SessionId(session),
        "prov-config".to_string(),
        Zeroizing::new(WiFiConfigPayload { msg, payload }.encode_to_vec()),
    )
    .await
    .unwrap()
}

fn set_config_msg(ssid: &[u8], pass: &[u8]) -> Option<ConfigPayload> {
    Some(ConfigPayload::CmdSetConfig(CmdSetConfig {
        ssid: ssid.to_vec(),
        passphrase: pass.to_vec(),
        ..Default::default()
    }))
}

#[tokio::test(start_paused = true)]
async fn each_session_applies_its_own_credentials() {
    let mut r = rig(ManagerConfig::default()).await;
    let ok_set = [0x08, 0x03, 0x6a, 0x00];
    assert_eq!(
        config_as(
            &r.manager,
            1,
            2,
            set_config_msg(b"HomeNet", b"correct-horse")
        )
        .await,
        ok_set
    );
    assert_eq!(
        config_as(&r.manager, 2, 2, set_config_msg(b"EvilNet", b"evil-pass")).await,
        ok_set
    );
    assert_eq!(
        config_as(&r.manager, 1, 4, None).await,
        [0x08, 0x05, 0x7a, 0x00]
    );
    loop {
        if let ProvEvent::CredSuccess { link } = next_event(&mut r.events).await {
            assert_eq!(link.ssid, b"HomeNet");
            break;
        }
    }
    assert_eq!(r.store.load().unwrap().unwrap().ssid, b"HomeNet");
    let (creds, link) = r.manager.joined().expect("joined");
    assert_eq!(
        (creds.ssid.as_bytes(), link.ssid.as_slice()),
        (&b"HomeNet"[..], &b"HomeNet"[..])
    );
    // B's apply comes too late: credentials were already received.
    assert_eq!(
        config_as(&r.manager, 2, 4, None).await,
        [0x08, 0x05, 0x7a, 0x02, 0x08, 0x05]
    );
}

#[tokio::test(start_paused = true)]
async fn a_closed_sessions_credentials_are_forgotten() {
    let r = rig(ManagerConfig::default()).await;
    config_as(
        &r.manager,
        3,
        2,
        set_config_msg(b"HomeNet", b"correct-horse"),
    )
    .await;
    r.manager.session_closed(SessionId(3));
    assert_eq!(
        config_as(&r.manager, 3, 4, None).await,
        [0x08, 0x05, 0x7a, 0x02, 0x08, 0x05]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_save_is_not_answered_success() {
    let mut r = rig(ManagerConfig::default()).await;
    // The credential file's name is taken by a directory: the atomic rename fails.
    std::fs::create_dir(r.store.path()).unwrap();
    set_config(&r.manager, b"HomeNet", b"correct-horse").await;
    assert_eq!(
        apply(&r.manager).await,
        [0x08, 0x05, 0x7a, 0x02, 0x08, 0x05],
        "InternalError"
    );
    loop {
        match next_event(&mut r.events).await {
            ProvEvent::CredFail { error } => {
                assert!(matches!(error, ProvError::Store(_)), "{error:?}");
                assert_eq!(error.reason_key(), "store_error");
                break;
            }
            ProvEvent::CredRecv { .. } | ProvEvent::CredSuccess { .. } => {
                panic!("credentials that were not stored were used")
            }
            _ => {}
        }
    }
    assert_eq!(r.manager.prov_state(), ProvState::Started);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        get_status(&r.manager).await.0,
        [0x08, 0x01, 0x5a, 0x02, 0x10, 0x01],
        "never connecting"
    );
    // The same through a route that brings its own credentials.
    let err = r
        .manager
        .submit(Credentials::new(&b"HomeNet"[..], &b"correct-horse"[..]).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, ProvError::Store(_)), "{err:?}");
    let err = r
        .manager
        .provide(Credentials::new(&b"HomeNet"[..], &b"correct-horse"[..]).unwrap())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot store the credentials"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn routes_submitting_at_once_one_is_taken() {
    let r = rig(ManagerConfig::default()).await;
    let first = r
        .manager
        .submit(Credentials::new(&b"HomeNet"[..], &b"correct-horse"[..]).unwrap());
    let second = async {
        // Let the first submission be taken first.
        tokio::time::sleep(Duration::from_millis(10)).await;
        r.manager
            .submit(Credentials::new(&b"CoffeeShop"[..], &b""[..]).unwrap())
            .await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.unwrap().ssid, b"HomeNet");
    assert_eq!(
        second.unwrap_err(),
        ProvError::Refused(wifiprov_device::Refusal::InProgress)
    );
    assert_eq!(r.store.load().unwrap().unwrap().ssid, b"HomeNet");
}
