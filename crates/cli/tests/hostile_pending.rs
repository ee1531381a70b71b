//! Pending credentials against the real binary over HTTP, security 1 and 2: one session's
//! SetConfig never changes what another session applies, and credentials that could not be
//! stored are never answered Success.
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
use protocomm::proto::wifi_config::{CmdSetConfig, WiFiConfigPayload, wi_fi_config_payload};
use support::*;

const APPLY_OK: [u8; 4] = [0x08, 0x05, 0x7a, 0x00];
const APPLY_INTERNAL_ERROR: [u8; 6] = [0x08, 0x05, 0x7a, 0x02, 0x08, 0x05];
const SET_OK: [u8; 4] = [0x08, 0x03, 0x6a, 0x00];

fn set_config(ssid: &str, pass: &str) -> Vec<u8> {
    WiFiConfigPayload {
        msg: 2,
        payload: Some(wi_fi_config_payload::Payload::CmdSetConfig(CmdSetConfig {
            ssid: ssid.into(),
            passphrase: pass.into(),
            ..Default::default()
        })),
    }
    .encode_to_vec()
}

/// The SSID saved in the agent's credential file.
fn stored_ssid(agent: &Agent) -> Option<String> {
    let text = std::fs::read_to_string(agent.state_dir.path().join("credentials.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["ssid"].as_str().map(str::to_string)
}

#[tokio::test]
async fn another_sessions_set_config_never_changes_what_a_session_applies() {
    for kind in [1u8, 2] {
        let (args, security) = sec(kind);
        let agent = Agent::start(&args);
        let mut http_a = agent.client();
        let mut http_b = agent.client();
        let mut a = handshake(&mut http_a, security.clone()).await.unwrap();
        let mut b = handshake(&mut http_b, security).await.unwrap();
        assert_ne!(http_a.cookie(), http_b.cookie(), "two sessions");

        // A sets its network; B, also authenticated, sets one of its own choosing (an open
        // network the device would join) before A applies.
        let home = set_config("HomeNet", "correct-horse");
        let set_a = call(&mut http_a, &mut a, "prov-config", &home).await;
        assert_eq!(set_a.unwrap(), SET_OK);
        let other = set_config("CoffeeShop", "evil");
        let set_b = call(&mut http_b, &mut b, "prov-config", &other).await;
        assert_eq!(set_b.unwrap(), SET_OK);
        let apply_a = call(&mut http_a, &mut a, "prov-config", &[0x08, 0x04]);
        assert_eq!(apply_a.await.unwrap(), APPLY_OK, "security {kind}");

        // The device joins and stores A's network.
        let st = outcome(&mut http_a, &mut a).await;
        let Some(State::Connected(c)) = st.state else {
            panic!("security {kind}: {st:?}")
        };
        assert_eq!(c.ssid, b"HomeNet", "security {kind}");
        assert_eq!(
            stored_ssid(&agent).as_deref(),
            Some("HomeNet"),
            "security {kind}: {}",
            agent.output()
        );
        // B's own apply comes too late: credentials were already received.
        let apply_b = call(&mut http_b, &mut b, "prov-config", &[0x08, 0x04]);
        assert_eq!(apply_b.await.unwrap(), APPLY_INTERNAL_ERROR);
        assert_eq!(stored_ssid(&agent).as_deref(), Some("HomeNet"));
    }
}

#[tokio::test]
async fn credentials_that_could_not_be_stored_are_not_answered_success() {
    for kind in [1u8, 2] {
        let (mut args, security) = sec(kind);
        args.extend(["--events", "json"]);
        let agent = Agent::start(&args);
        // The credential file's name is taken by a directory, so the atomic rename fails
        // (even for root).
        std::fs::create_dir(agent.state_dir.path().join("credentials.json")).unwrap();

        let mut http = agent.client();
        let mut s = handshake(&mut http, security).await.unwrap();
        let (set, apply) = set_and_apply(&mut http, &mut s, "HomeNet", "correct-horse").await;
        assert_eq!(set, SET_OK);
        assert_eq!(
            apply,
            APPLY_INTERNAL_ERROR,
            "security {kind}: {}",
            agent.output()
        );
        assert!(
            agent.wait_stdout(
                r#""event":"cred_fail","reason":"store_error""#,
                Duration::from_secs(5)
            ),
            "security {kind}: {}",
            agent.output()
        );
        // Nothing is tried: GetStatus never reports a connection.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let st = status(&mut http, &mut s).await;
        assert_eq!((st.sta_state, st.state), (1, None), "security {kind}");
        assert!(
            !agent.stdout.lock().unwrap().contains("cred_success"),
            "{}",
            agent.output()
        );
        assert!(
            agent.state_dir.path().join("credentials.json").is_dir(),
            "nothing replaced the directory"
        );
    }
}
