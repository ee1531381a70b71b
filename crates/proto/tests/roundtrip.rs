//! Property tests: every message survives encode → decode unchanged, whatever its contents
//! (arbitrary bytes, negative numbers, enum numbers the `.proto` does not know), and decoding
//! arbitrary input never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use wifiprov_proto::{
    Message,
    sec0::{S0SessionCmd, S0SessionResp, Sec0Payload, sec0_payload},
    sec1::{Sec1Payload, SessionCmd0, SessionCmd1, SessionResp0, SessionResp1, sec1_payload},
    sec2::{
        S2SessionCmd0, S2SessionCmd1, S2SessionResp0, S2SessionResp1, Sec2Payload, sec2_payload,
    },
    session::{SessionData, session_data},
    wifi_config::{
        CmdApplyConfig, CmdGetStatus, CmdSetConfig, RespApplyConfig, RespGetStatus, RespSetConfig,
        WiFiConfigPayload, resp_get_status, wi_fi_config_payload,
    },
    wifi_constants::{WifiAttemptFailed, WifiConnectedState},
    wifi_ctrl::{
        CmdCtrlReprov, CmdCtrlReset, RespCtrlReprov, RespCtrlReset, WiFiCtrlPayload,
        wi_fi_ctrl_payload,
    },
    wifi_scan::{
        CmdScanResult, CmdScanStart, CmdScanStatus, RespScanResult, RespScanStart, RespScanStatus,
        WiFiScanPayload, WiFiScanResult, wi_fi_scan_payload,
    },
};

// ---------------------------------------------------------------------------------------------
// Field strategies
// ---------------------------------------------------------------------------------------------

/// An enum field: mostly known values, but also unknown and negative numbers (enums are open).
fn enum_value(known: i32) -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => 0..known,
        1 => known..=64,
        1 => any::<i32>(),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

/// Signal strengths: realistic negative dBm values plus the whole int32 range.
fn rssi() -> impl Strategy<Value = i32> {
    prop_oneof![-100..=0, any::<i32>()]
}

fn status() -> impl Strategy<Value = i32> {
    enum_value(8)
}

// ---------------------------------------------------------------------------------------------
// Session messages
// ---------------------------------------------------------------------------------------------

fn sec0_payload() -> impl Strategy<Value = Sec0Payload> {
    let member = prop_oneof![
        Just(sec0_payload::Payload::Sc(S0SessionCmd {})),
        status().prop_map(|status| sec0_payload::Payload::Sr(S0SessionResp { status })),
    ];
    (enum_value(2), option::of(member)).prop_map(|(msg, payload)| Sec0Payload { msg, payload })
}

fn sec1_payload() -> impl Strategy<Value = Sec1Payload> {
    use sec1_payload::Payload;
    let member = prop_oneof![
        bytes(40).prop_map(|client_pubkey| Payload::Sc0(SessionCmd0 { client_pubkey })),
        (status(), bytes(40), bytes(20)).prop_map(|(status, device_pubkey, device_random)| {
            Payload::Sr0(SessionResp0 {
                status,
                device_pubkey,
                device_random,
            })
        }),
        bytes(40).prop_map(|client_verify_data| Payload::Sc1(SessionCmd1 { client_verify_data })),
        (status(), bytes(40)).prop_map(|(status, device_verify_data)| {
            Payload::Sr1(SessionResp1 {
                status,
                device_verify_data,
            })
        }),
    ];
    (enum_value(4), option::of(member)).prop_map(|(msg, payload)| Sec1Payload { msg, payload })
}

fn sec2_payload() -> impl Strategy<Value = Sec2Payload> {
    use sec2_payload::Payload;
    let member = prop_oneof![
        // 384-byte public values need two-byte lengths: cover sizes on both sides of 127.
        (bytes(32), bytes(400)).prop_map(|(client_username, client_pubkey)| {
            Payload::Sc0(S2SessionCmd0 {
                client_username,
                client_pubkey,
            })
        }),
        (status(), bytes(400), bytes(32)).prop_map(|(status, device_pubkey, device_salt)| {
            Payload::Sr0(S2SessionResp0 {
                status,
                device_pubkey,
                device_salt,
            })
        }),
        bytes(80).prop_map(|client_proof| Payload::Sc1(S2SessionCmd1 { client_proof })),
        (status(), bytes(80), bytes(20)).prop_map(|(status, device_proof, device_nonce)| {
            Payload::Sr1(S2SessionResp1 {
                status,
                device_proof,
                device_nonce,
            })
        }),
    ];
    (enum_value(4), option::of(member)).prop_map(|(msg, payload)| Sec2Payload { msg, payload })
}

fn session_data() -> impl Strategy<Value = SessionData> {
    use session_data::Proto;
    let proto = prop_oneof![
        sec0_payload().prop_map(Proto::Sec0),
        sec1_payload().prop_map(Proto::Sec1),
        sec2_payload().prop_map(Proto::Sec2),
    ];
    (enum_value(3), option::of(proto)).prop_map(|(sec_ver, proto)| SessionData { sec_ver, proto })
}

// ---------------------------------------------------------------------------------------------
// Wi-Fi messages
// ---------------------------------------------------------------------------------------------

fn resp_get_status() -> impl Strategy<Value = RespGetStatus> {
    use resp_get_status::State;
    let connected = (".{0,20}", enum_value(17), bytes(33), bytes(8), any::<i32>()).prop_map(
        |(ip4_addr, auth_mode, ssid, bssid, channel)| WifiConnectedState {
            ip4_addr,
            auth_mode,
            ssid,
            bssid,
            channel,
        },
    );
    let state = prop_oneof![
        enum_value(2).prop_map(State::FailReason),
        connected.prop_map(State::Connected),
        any::<u32>().prop_map(
            |attempts_remaining| State::AttemptFailed(WifiAttemptFailed { attempts_remaining })
        ),
    ];
    (status(), enum_value(4), option::of(state)).prop_map(|(status, sta_state, state)| {
        RespGetStatus {
            status,
            sta_state,
            state,
        }
    })
}

fn config_payload() -> impl Strategy<Value = WiFiConfigPayload> {
    use wi_fi_config_payload::Payload;
    let member = prop_oneof![
        Just(Payload::CmdGetStatus(CmdGetStatus {})),
        resp_get_status().prop_map(Payload::RespGetStatus),
        (bytes(40), bytes(70), bytes(8), any::<i32>()).prop_map(
            |(ssid, passphrase, bssid, channel)| Payload::CmdSetConfig(CmdSetConfig {
                ssid,
                passphrase,
                bssid,
                channel,
            })
        ),
        status().prop_map(|status| Payload::RespSetConfig(RespSetConfig { status })),
        Just(Payload::CmdApplyConfig(CmdApplyConfig {})),
        status().prop_map(|status| Payload::RespApplyConfig(RespApplyConfig { status })),
    ];
    (enum_value(6), option::of(member))
        .prop_map(|(msg, payload)| WiFiConfigPayload { msg, payload })
}

fn scan_result() -> impl Strategy<Value = WiFiScanResult> {
    (bytes(33), any::<u32>(), rssi(), bytes(8), enum_value(17)).prop_map(
        |(ssid, channel, rssi, bssid, auth)| WiFiScanResult {
            ssid,
            channel,
            rssi,
            bssid,
            auth,
        },
    )
}

fn scan_payload() -> impl Strategy<Value = WiFiScanPayload> {
    use wi_fi_scan_payload::Payload;
    let member = prop_oneof![
        (any::<bool>(), any::<bool>(), any::<u32>(), any::<u32>()).prop_map(
            |(blocking, passive, group_channels, period_ms)| Payload::CmdScanStart(CmdScanStart {
                blocking,
                passive,
                group_channels,
                period_ms,
            })
        ),
        Just(Payload::RespScanStart(RespScanStart {})),
        Just(Payload::CmdScanStatus(CmdScanStatus {})),
        (any::<bool>(), any::<u32>()).prop_map(|(scan_finished, result_count)| {
            Payload::RespScanStatus(RespScanStatus {
                scan_finished,
                result_count,
            })
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(start_index, count)| {
            Payload::CmdScanResult(CmdScanResult { start_index, count })
        }),
        // Entries may be entirely default: an empty entry is still a present element.
        vec(scan_result(), 0..6)
            .prop_map(|entries| Payload::RespScanResult(RespScanResult { entries })),
    ];
    (enum_value(6), status(), option::of(member)).prop_map(|(msg, status, payload)| {
        WiFiScanPayload {
            msg,
            status,
            payload,
        }
    })
}

fn ctrl_payload() -> impl Strategy<Value = WiFiCtrlPayload> {
    use wi_fi_ctrl_payload::Payload;
    let member = prop_oneof![
        Just(Payload::CmdCtrlReset(CmdCtrlReset {})),
        Just(Payload::RespCtrlReset(RespCtrlReset {})),
        Just(Payload::CmdCtrlReprov(CmdCtrlReprov {})),
        Just(Payload::RespCtrlReprov(RespCtrlReprov {})),
    ];
    (enum_value(5), status(), option::of(member)).prop_map(|(msg, status, payload)| {
        WiFiCtrlPayload {
            msg,
            status,
            payload,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// encode → decode gives the original, and the encoding is stable under a second round.
fn assert_round_trip<M>(message: &M) -> Result<(), TestCaseError>
where
    M: Message + Default + PartialEq + std::fmt::Debug,
{
    let encoded = message.encode_to_vec();
    prop_assert_eq!(encoded.len(), message.encoded_len());
    let decoded = M::decode(encoded.as_slice()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&decoded, message);
    prop_assert_eq!(decoded.encode_to_vec(), encoded);
    Ok(())
}

/// Decoding arbitrary bytes returns (never panics); whatever decodes is a fixed point of
/// encode → decode.
fn assert_decode_is_total<M>(input: &[u8]) -> Result<(), TestCaseError>
where
    M: Message + Default + PartialEq + std::fmt::Debug,
{
    if let Ok(message) = M::decode(input) {
        assert_round_trip(&message)?;
    }
    Ok(())
}

/// Corrupts a valid encoding: truncation, a flipped byte, or an inserted byte.
fn mutate(mut bytes: Vec<u8>, how: u8, position: usize, value: u8) -> Vec<u8> {
    if bytes.is_empty() {
        return vec![value];
    }
    let at = position % bytes.len();
    match how % 3 {
        0 => bytes.truncate(at),
        1 => bytes[at] ^= value | 1,
        _ => bytes.insert(at, value),
    }
    bytes
}

proptest! {
    #[test]
    fn session_data_round_trips(m in session_data()) {
        assert_round_trip(&m)?;
    }

    #[test]
    fn sec0_payload_round_trips(m in sec0_payload()) {
        assert_round_trip(&m)?;
    }

    #[test]
    fn sec1_payload_round_trips(m in sec1_payload()) {
        assert_round_trip(&m)?;
    }

    #[test]
    fn sec2_payload_round_trips(m in sec2_payload()) {
        assert_round_trip(&m)?;
    }

    #[test]
    fn config_payload_round_trips(m in config_payload()) {
        assert_round_trip(&m)?;
    }

    #[test]
    fn scan_payload_round_trips(m in scan_payload()) {
        assert_round_trip(&m)?;
    }

    #[test]
    fn ctrl_payload_round_trips(m in ctrl_payload()) {
        assert_round_trip(&m)?;
    }

    #[test]
    fn negative_rssi_takes_ten_bytes(rssi in i32::MIN..0) {
        let entry = WiFiScanResult { rssi, ..Default::default() };
        // key 0x18 + 10-byte varint
        prop_assert_eq!(entry.encode_to_vec().len(), 11);
        assert_round_trip(&entry)?;
    }

    #[test]
    fn random_bytes_never_panic(input in vec(any::<u8>(), 0..512)) {
        assert_decode_is_total::<SessionData>(&input)?;
        assert_decode_is_total::<WiFiConfigPayload>(&input)?;
        assert_decode_is_total::<WiFiScanPayload>(&input)?;
        assert_decode_is_total::<WiFiCtrlPayload>(&input)?;
    }

    #[test]
    fn corrupted_session_data_never_panics(
        m in session_data(), how in any::<u8>(), position in any::<usize>(), value in any::<u8>()
    ) {
        assert_decode_is_total::<SessionData>(&mutate(m.encode_to_vec(), how, position, value))?;
    }

    #[test]
    fn corrupted_wifi_payloads_never_panic(
        config in config_payload(),
        scan in scan_payload(),
        ctrl in ctrl_payload(),
        how in any::<u8>(),
        position in any::<usize>(),
        value in any::<u8>(),
    ) {
        assert_decode_is_total::<WiFiConfigPayload>(
            &mutate(config.encode_to_vec(), how, position, value))?;
        assert_decode_is_total::<WiFiScanPayload>(
            &mutate(scan.encode_to_vec(), how, position, value))?;
        assert_decode_is_total::<WiFiCtrlPayload>(
            &mutate(ctrl.encode_to_vec(), how, position, value))?;
    }
}
