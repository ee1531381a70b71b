//! The plaintext wifi_provisioning messages of `testdata/vectors/protocomm/wifi_messages.json`
//! (plus the plaintexts of every application exchange in the security transcripts and the
//! canonical encodings of the spec, §2.11 / §15.4).
//!
//! For every message three things are checked:
//!
//! * decode: the bytes decode, and the decoded message, flattened, equals the vector's flat view;
//! * re-encode: encoding the decoded message gives back exactly the same bytes;
//! * encode: a message assembled only from the flat view (never from the bytes) encodes to
//!   exactly those bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

#[macro_use]
mod common;

use std::collections::BTreeMap;

use common::{
    ALL_ENUMS, AUTH_MODE, CONFIG_MSG, CTRL_MSG, FAIL_REASON, Flat, Flattener, SCAN_MSG,
    STATION_STATE, STATUS, arr_at, assert_view_eq, expect_present, load, obj_at, read_bool,
    read_bytes, read_i32, read_string, read_u32, split_index, split_key, str_at, unhex,
    unknown_key,
};
use serde_json::{Map, Value};
use wifiprov_proto::{
    Message,
    wifi_config::{
        CmdApplyConfig, CmdGetStatus, CmdSetConfig, RespApplyConfig, RespGetStatus, RespSetConfig,
        WiFiConfigMsgType, WiFiConfigPayload, resp_get_status::State,
        wi_fi_config_payload::Payload as ConfigPayload,
    },
    wifi_constants::{
        WifiAttemptFailed, WifiAuthMode, WifiConnectFailedReason, WifiConnectedState,
        WifiStationState,
    },
    wifi_ctrl::{
        CmdCtrlReprov, CmdCtrlReset, RespCtrlReprov, RespCtrlReset, WiFiCtrlMsgType,
        WiFiCtrlPayload, wi_fi_ctrl_payload::Payload as CtrlPayload,
    },
    wifi_scan::{
        CmdScanResult, CmdScanStart, CmdScanStatus, RespScanResult, RespScanStart, RespScanStatus,
        WiFiScanMsgType, WiFiScanPayload, WiFiScanResult,
        wi_fi_scan_payload::Payload as ScanPayload,
    },
};

const WIFI_MESSAGES: &str = "protocomm/wifi_messages.json";
const SECURITY_FILES: [&str; 4] = [
    "protocomm/sec0.json",
    "protocomm/sec1.json",
    "protocomm/sec2_patch0.json",
    "protocomm/sec2_patch1.json",
];

// ---------------------------------------------------------------------------------------------
// Flat view → message (encode direction)
// ---------------------------------------------------------------------------------------------

/// Assembles a `WiFiConfigPayload` from a flat view.
fn build_config(fields: &Map<String, Value>) -> WiFiConfigPayload {
    let mut m = WiFiConfigPayload::default();
    for (key, v) in fields {
        match split_key(key) {
            ("msg", None) => m.msg = CONFIG_MSG.parse(v),
            ("cmd_get_status", None) => {
                expect_present(key, v);
                oneof_member!(m.payload, ConfigPayload::CmdGetStatus);
            }
            ("resp_get_status", rest) => {
                let r = oneof_member!(m.payload, ConfigPayload::RespGetStatus);
                match rest {
                    None => expect_present(key, v),
                    Some("status") => r.status = STATUS.parse(v),
                    Some("sta_state") => r.sta_state = STATION_STATE.parse(v),
                    Some("fail_reason") => {
                        *oneof_member!(r.state, State::FailReason) = FAIL_REASON.parse(v);
                    }
                    Some(sub) => match split_key(sub) {
                        ("connected", rest) => {
                            let c = oneof_member!(r.state, State::Connected);
                            match rest {
                                None => expect_present(key, v),
                                Some("ip4_addr") => c.ip4_addr = read_string(key, v),
                                Some("auth_mode") => c.auth_mode = AUTH_MODE.parse(v),
                                Some("ssid") => c.ssid = read_bytes(key, v),
                                Some("bssid") => c.bssid = read_bytes(key, v),
                                Some("channel") => c.channel = read_i32(key, v),
                                Some(_) => unknown_key(key),
                            }
                        }
                        ("attempt_failed", rest) => {
                            let a = oneof_member!(r.state, State::AttemptFailed);
                            match rest {
                                None => expect_present(key, v),
                                Some("attempts_remaining") => {
                                    a.attempts_remaining = read_u32(key, v);
                                }
                                Some(_) => unknown_key(key),
                            }
                        }
                        _ => unknown_key(key),
                    },
                }
            }
            ("cmd_set_config", rest) => {
                let c = oneof_member!(m.payload, ConfigPayload::CmdSetConfig);
                match rest {
                    None => expect_present(key, v),
                    Some("ssid") => c.ssid = read_bytes(key, v),
                    Some("passphrase") => c.passphrase = read_bytes(key, v),
                    Some("bssid") => c.bssid = read_bytes(key, v),
                    Some("channel") => c.channel = read_i32(key, v),
                    Some(_) => unknown_key(key),
                }
            }
            ("resp_set_config", rest) => {
                let r = oneof_member!(m.payload, ConfigPayload::RespSetConfig);
                match rest {
                    None => expect_present(key, v),
                    Some("status") => r.status = STATUS.parse(v),
                    Some(_) => unknown_key(key),
                }
            }
            ("cmd_apply_config", None) => {
                expect_present(key, v);
                oneof_member!(m.payload, ConfigPayload::CmdApplyConfig);
            }
            ("resp_apply_config", rest) => {
                let r = oneof_member!(m.payload, ConfigPayload::RespApplyConfig);
                match rest {
                    None => expect_present(key, v),
                    Some("status") => r.status = STATUS.parse(v),
                    Some(_) => unknown_key(key),
                }
            }
            _ => unknown_key(key),
        }
    }
    m
}

/// Assembles a `WiFiScanPayload` from a flat view.
fn build_scan(fields: &Map<String, Value>) -> WiFiScanPayload {
    let mut m = WiFiScanPayload::default();
    for (key, v) in fields {
        match split_key(key) {
            ("msg", None) => m.msg = SCAN_MSG.parse(v),
            ("status", None) => m.status = STATUS.parse(v),
            ("cmd_scan_start", rest) => {
                let c = oneof_member!(m.payload, ScanPayload::CmdScanStart);
                match rest {
                    None => expect_present(key, v),
                    Some("blocking") => c.blocking = read_bool(key, v),
                    Some("passive") => c.passive = read_bool(key, v),
                    Some("group_channels") => c.group_channels = read_u32(key, v),
                    Some("period_ms") => c.period_ms = read_u32(key, v),
                    Some(_) => unknown_key(key),
                }
            }
            ("resp_scan_start", None) => {
                expect_present(key, v);
                oneof_member!(m.payload, ScanPayload::RespScanStart);
            }
            ("cmd_scan_status", None) => {
                expect_present(key, v);
                oneof_member!(m.payload, ScanPayload::CmdScanStatus);
            }
            ("resp_scan_status", rest) => {
                let r = oneof_member!(m.payload, ScanPayload::RespScanStatus);
                match rest {
                    None => expect_present(key, v),
                    Some("scan_finished") => r.scan_finished = read_bool(key, v),
                    Some("result_count") => r.result_count = read_u32(key, v),
                    Some(_) => unknown_key(key),
                }
            }
            ("cmd_scan_result", rest) => {
                let c = oneof_member!(m.payload, ScanPayload::CmdScanResult);
                match rest {
                    None => expect_present(key, v),
                    Some("start_index") => c.start_index = read_u32(key, v),
                    Some("count") => c.count = read_u32(key, v),
                    Some(_) => unknown_key(key),
                }
            }
            ("resp_scan_result", rest) => {
                let r = oneof_member!(m.payload, ScanPayload::RespScanResult);
                let Some(sub) = rest else {
                    expect_present(key, v);
                    continue;
                };
                let (segment, field) = split_key(sub);
                let Some(("entries", index)) = split_index(segment) else {
                    unknown_key(key)
                };
                if r.entries.len() <= index {
                    r.entries.resize_with(index + 1, WiFiScanResult::default);
                }
                let e = &mut r.entries[index];
                match field {
                    None => expect_present(key, v),
                    Some("ssid") => e.ssid = read_bytes(key, v),
                    Some("channel") => e.channel = read_u32(key, v),
                    Some("rssi") => e.rssi = read_i32(key, v),
                    Some("bssid") => e.bssid = read_bytes(key, v),
                    Some("auth") => e.auth = AUTH_MODE.parse(v),
                    Some(_) => unknown_key(key),
                }
            }
            _ => unknown_key(key),
        }
    }
    m
}

/// Assembles a `WiFiCtrlPayload` from a flat view.
fn build_ctrl(fields: &Map<String, Value>) -> WiFiCtrlPayload {
    let mut m = WiFiCtrlPayload::default();
    for (key, v) in fields {
        match split_key(key) {
            ("msg", None) => m.msg = CTRL_MSG.parse(v),
            ("status", None) => m.status = STATUS.parse(v),
            ("cmd_ctrl_reset", None) => {
                expect_present(key, v);
                oneof_member!(m.payload, CtrlPayload::CmdCtrlReset);
            }
            ("resp_ctrl_reset", None) => {
                expect_present(key, v);
                oneof_member!(m.payload, CtrlPayload::RespCtrlReset);
            }
            ("cmd_ctrl_reprov", None) => {
                expect_present(key, v);
                oneof_member!(m.payload, CtrlPayload::CmdCtrlReprov);
            }
            ("resp_ctrl_reprov", None) => {
                expect_present(key, v);
                oneof_member!(m.payload, CtrlPayload::RespCtrlReprov);
            }
            _ => unknown_key(key),
        }
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Message → flat view (decode direction)
// ---------------------------------------------------------------------------------------------

fn flatten_config(m: &WiFiConfigPayload) -> BTreeMap<String, Flat> {
    let mut f = Flattener::new();
    f.field("msg", Flat::Enum(&CONFIG_MSG, m.msg));
    match &m.payload {
        None => {}
        Some(ConfigPayload::CmdGetStatus(_)) => f.message("cmd_get_status", |_| {}),
        Some(ConfigPayload::RespGetStatus(r)) => f.message("resp_get_status", |f| {
            f.field("status", Flat::Enum(&STATUS, r.status));
            f.field("sta_state", Flat::Enum(&STATION_STATE, r.sta_state));
            match &r.state {
                None => {}
                Some(State::FailReason(n)) => f.member("fail_reason", Flat::Enum(&FAIL_REASON, *n)),
                Some(State::Connected(c)) => f.message("connected", |f| {
                    f.field("ip4_addr", Flat::Text(c.ip4_addr.clone()));
                    f.field("auth_mode", Flat::Enum(&AUTH_MODE, c.auth_mode));
                    f.field("ssid", Flat::Bytes(c.ssid.clone()));
                    f.field("bssid", Flat::Bytes(c.bssid.clone()));
                    f.field("channel", Flat::Int(c.channel.into()));
                }),
                Some(State::AttemptFailed(a)) => f.message("attempt_failed", |f| {
                    f.field(
                        "attempts_remaining",
                        Flat::Uint(a.attempts_remaining.into()),
                    );
                }),
            }
        }),
        Some(ConfigPayload::CmdSetConfig(c)) => f.message("cmd_set_config", |f| {
            f.field("ssid", Flat::Bytes(c.ssid.clone()));
            f.field("passphrase", Flat::Bytes(c.passphrase.clone()));
            f.field("bssid", Flat::Bytes(c.bssid.clone()));
            f.field("channel", Flat::Int(c.channel.into()));
        }),
        Some(ConfigPayload::RespSetConfig(r)) => f.message("resp_set_config", |f| {
            f.field("status", Flat::Enum(&STATUS, r.status));
        }),
        Some(ConfigPayload::CmdApplyConfig(_)) => f.message("cmd_apply_config", |_| {}),
        Some(ConfigPayload::RespApplyConfig(r)) => f.message("resp_apply_config", |f| {
            f.field("status", Flat::Enum(&STATUS, r.status));
        }),
    }
    f.finish()
}

fn flatten_scan(m: &WiFiScanPayload) -> BTreeMap<String, Flat> {
    let mut f = Flattener::new();
    f.field("msg", Flat::Enum(&SCAN_MSG, m.msg));
    f.field("status", Flat::Enum(&STATUS, m.status));
    match &m.payload {
        None => {}
        Some(ScanPayload::CmdScanStart(c)) => f.message("cmd_scan_start", |f| {
            f.field("blocking", Flat::Bool(c.blocking));
            f.field("passive", Flat::Bool(c.passive));
            f.field("group_channels", Flat::Uint(c.group_channels.into()));
            f.field("period_ms", Flat::Uint(c.period_ms.into()));
        }),
        Some(ScanPayload::RespScanStart(_)) => f.message("resp_scan_start", |_| {}),
        Some(ScanPayload::CmdScanStatus(_)) => f.message("cmd_scan_status", |_| {}),
        Some(ScanPayload::RespScanStatus(r)) => f.message("resp_scan_status", |f| {
            f.field("scan_finished", Flat::Bool(r.scan_finished));
            f.field("result_count", Flat::Uint(r.result_count.into()));
        }),
        Some(ScanPayload::CmdScanResult(c)) => f.message("cmd_scan_result", |f| {
            f.field("start_index", Flat::Uint(c.start_index.into()));
            f.field("count", Flat::Uint(c.count.into()));
        }),
        Some(ScanPayload::RespScanResult(r)) => f.message("resp_scan_result", |f| {
            for (i, e) in r.entries.iter().enumerate() {
                f.message(&format!("entries[{i}]"), |f| {
                    f.field("ssid", Flat::Bytes(e.ssid.clone()));
                    f.field("channel", Flat::Uint(e.channel.into()));
                    f.field("rssi", Flat::Int(e.rssi.into()));
                    f.field("bssid", Flat::Bytes(e.bssid.clone()));
                    f.field("auth", Flat::Enum(&AUTH_MODE, e.auth));
                });
            }
        }),
    }
    f.finish()
}

fn flatten_ctrl(m: &WiFiCtrlPayload) -> BTreeMap<String, Flat> {
    let mut f = Flattener::new();
    f.field("msg", Flat::Enum(&CTRL_MSG, m.msg));
    f.field("status", Flat::Enum(&STATUS, m.status));
    match &m.payload {
        None => {}
        Some(CtrlPayload::CmdCtrlReset(_)) => f.message("cmd_ctrl_reset", |_| {}),
        Some(CtrlPayload::RespCtrlReset(_)) => f.message("resp_ctrl_reset", |_| {}),
        Some(CtrlPayload::CmdCtrlReprov(_)) => f.message("cmd_ctrl_reprov", |_| {}),
        Some(CtrlPayload::RespCtrlReprov(_)) => f.message("resp_ctrl_reprov", |_| {}),
    }
    f.finish()
}

// ---------------------------------------------------------------------------------------------
// The three checks, per payload type
// ---------------------------------------------------------------------------------------------

/// Which payload type a vector entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Config,
    Scan,
    Ctrl,
}

impl Kind {
    /// From the `proto` field of `wifi_messages.json`, e.g. `WiFiScanPayload (wifi_scan.proto)`.
    fn from_proto(proto: &str) -> Kind {
        match proto.split(' ').next() {
            Some("WiFiConfigPayload") => Kind::Config,
            Some("WiFiScanPayload") => Kind::Scan,
            Some("WiFiCtrlPayload") => Kind::Ctrl,
            _ => panic!("unexpected proto {proto:?}"),
        }
    }

    /// From an `application_transcript` endpoint; `None` for `custom-data` (raw bytes).
    fn from_endpoint(endpoint: &str) -> Option<Kind> {
        match endpoint {
            "prov-config" => Some(Kind::Config),
            "prov-scan" => Some(Kind::Scan),
            "prov-ctrl" => Some(Kind::Ctrl),
            "custom-data" => None,
            _ => panic!("unexpected endpoint {endpoint:?}"),
        }
    }
}

/// Runs decode, re-encode and build-from-view checks of one message.
fn check_message(what: &str, kind: Kind, bytes: &[u8], view: &Map<String, Value>) {
    fn check<M: Message + Default + PartialEq + std::fmt::Debug>(
        what: &str,
        bytes: &[u8],
        view: &Map<String, Value>,
        flatten: fn(&M) -> BTreeMap<String, Flat>,
        build: fn(&Map<String, Value>) -> M,
    ) {
        let decoded = M::decode(bytes).unwrap_or_else(|e| panic!("{what}: does not decode: {e}"));
        assert_eq!(
            hex::encode(decoded.encode_to_vec()),
            hex::encode(bytes),
            "{what}: re-encoding the decoded message changes the bytes ({decoded:?})"
        );
        assert_view_eq(what, &flatten(&decoded), view);

        let built = build(view);
        assert_eq!(
            hex::encode(built.encode_to_vec()),
            hex::encode(bytes),
            "{what}: message built from the flat view encodes differently ({built:?})"
        );
        assert_eq!(built, decoded, "{what}: built and decoded messages differ");
    }

    match kind {
        Kind::Config => check(what, bytes, view, flatten_config, build_config),
        Kind::Scan => check(what, bytes, view, flatten_scan, build_scan),
        Kind::Ctrl => check(what, bytes, view, flatten_ctrl, build_ctrl),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_wifi_message_vector_round_trips_both_ways() {
    let doc = load(WIFI_MESSAGES);
    let messages = arr_at(&doc, "messages");
    assert!(!messages.is_empty());
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in messages {
        let name = str_at(entry, "name");
        let proto = str_at(entry, "proto");
        let kind = Kind::from_proto(proto);
        check_message(
            name,
            kind,
            &unhex(str_at(entry, "hex")),
            obj_at(entry, "fields"),
        );
        *per_kind.entry(proto).or_default() += 1;
    }
    // The file covers all three payload types; 28 messages at the time of writing.
    assert_eq!(per_kind.len(), 3, "{per_kind:?}");
    assert_eq!(messages.len(), 28);
}

#[test]
fn application_plaintexts_of_every_transcript_round_trip_both_ways() {
    let mut checked = 0;
    for file in SECURITY_FILES {
        let doc = load(file);
        for (i, entry) in arr_at(&doc, "application_transcript").iter().enumerate() {
            let endpoint = str_at(entry, "endpoint");
            let plaintext = unhex(str_at(entry, "plaintext_hex"));
            let Some(kind) = Kind::from_endpoint(endpoint) else {
                // custom-data carries raw application bytes, not a protobuf.
                continue;
            };
            let what = format!("{file} application_transcript[{i}] ({endpoint})");
            check_message(&what, kind, &plaintext, obj_at(entry, "decoded"));
            checked += 1;
        }
    }
    // 9 exchanges per file, one of them custom-data: 16 protobuf messages per file.
    assert_eq!(checked, 4 * 16);
}

#[test]
fn enum_table_matches_rust_enums() {
    let doc = load(WIFI_MESSAGES);
    let enums = obj_at(&doc, "enums");
    assert_eq!(
        enums.len(),
        7,
        "unexpected set of enums: {:?}",
        enums.keys()
    );
    for (enum_name, members) in enums {
        let table = ALL_ENUMS
            .iter()
            .find(|t| t.name == enum_name.as_str())
            .unwrap_or_else(|| panic!("no Rust enum for {enum_name}"));
        let members = members.as_object().expect("enum members object");
        let vector_pairs: BTreeMap<&str, i64> = members
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_i64().expect("enum number")))
            .collect();
        let rust_pairs: BTreeMap<&str, i64> = table
            .entries
            .iter()
            .map(|(n, v)| (*n, i64::from(*v)))
            .collect();
        assert_eq!(vector_pairs, rust_pairs, "{enum_name}");
    }
}

#[test]
fn name_tables_cover_every_rust_variant_exactly() {
    // Each Rust enum accepts exactly the numbers listed in its table, so no variant is missing
    // from (or invented in) the tables the other tests rely on.
    for table in ALL_ENUMS {
        for n in -3..=40 {
            assert_eq!(
                (table.is_valid)(n),
                table.name_of(n).is_some(),
                "{}: number {n}",
                table.name
            );
        }
    }
    // Spot-check a few conversions through the typed API as well.
    assert_eq!(WifiAuthMode::try_from(3), Ok(WifiAuthMode::Wpa2Psk));
    assert!(
        WifiAuthMode::try_from(8).is_err(),
        "8 is WAPI_PSK, not in the proto enum"
    );
    assert_eq!(
        WifiStationState::try_from(3),
        Ok(WifiStationState::ConnectionFailed)
    );
    assert_eq!(
        WifiConnectFailedReason::try_from(1),
        Ok(WifiConnectFailedReason::NetworkNotFound)
    );
    assert_eq!(
        WiFiCtrlMsgType::try_from(4),
        Ok(WiFiCtrlMsgType::TypeRespCtrlReprov)
    );
}

// --- spec §2.11: canonical plaintext encodings -----------------------------------------------

fn config(msg: WiFiConfigMsgType, payload: Option<ConfigPayload>) -> WiFiConfigPayload {
    WiFiConfigPayload {
        msg: msg as i32,
        payload,
    }
}

fn scan(msg: WiFiScanMsgType, status: i32, payload: Option<ScanPayload>) -> WiFiScanPayload {
    WiFiScanPayload {
        msg: msg as i32,
        status,
        payload,
    }
}

fn ctrl(msg: WiFiCtrlMsgType, status: i32, payload: Option<CtrlPayload>) -> WiFiCtrlPayload {
    WiFiCtrlPayload {
        msg: msg as i32,
        status,
        payload,
    }
}

fn status_resp(state: WifiStationState, detail: Option<State>) -> WiFiConfigPayload {
    config(
        WiFiConfigMsgType::TypeRespGetStatus,
        Some(ConfigPayload::RespGetStatus(RespGetStatus {
            status: 0,
            sta_state: state as i32,
            state: detail,
        })),
    )
}

/// Asserts `message` encodes to `expected` (hex, spaces ignored) and decodes back to itself.
fn golden<M: Message + Default + PartialEq + std::fmt::Debug>(
    label: &str,
    message: &M,
    expected: &str,
) {
    let expected = expected.replace(' ', "");
    let encoded = message.encode_to_vec();
    assert_eq!(hex::encode(&encoded), expected, "{label}: encoding");
    let decoded = M::decode(encoded.as_slice()).unwrap();
    assert_eq!(&decoded, message, "{label}: decoding");
}

const FAILED: i32 = wifiprov_proto::constants::Status::InternalError as i32;

#[test]
fn spec_2_11_config_encodings() {
    use wifiprov_proto::constants::Status;
    golden(
        "GetStatus request",
        &config(
            WiFiConfigMsgType::TypeCmdGetStatus,
            Some(ConfigPayload::CmdGetStatus(CmdGetStatus {})),
        ),
        "52 00",
    );
    golden(
        "GetStatus Connecting",
        &status_resp(WifiStationState::Connecting, None),
        "08 01 5a 02 10 01",
    );
    for n in [1u32, 2, 5, 127] {
        golden(
            "GetStatus Connecting attempt_failed",
            &status_resp(
                WifiStationState::Connecting,
                Some(State::AttemptFailed(WifiAttemptFailed {
                    attempts_remaining: n,
                })),
            ),
            &format!("08 01 5a 06 10 01 62 02 08 {n:02x}"),
        );
    }
    golden(
        "GetStatus AuthError",
        &status_resp(
            WifiStationState::ConnectionFailed,
            Some(State::FailReason(WifiConnectFailedReason::AuthError as i32)),
        ),
        "08 01 5a 04 10 03 50 00",
    );
    golden(
        "GetStatus NetworkNotFound",
        &status_resp(
            WifiStationState::ConnectionFailed,
            Some(State::FailReason(
                WifiConnectFailedReason::NetworkNotFound as i32,
            )),
        ),
        "08 01 5a 04 10 03 50 01",
    );
    // Connected, with and without the (zero, so omitted) Open auth mode.
    for (auth, auth_bytes) in [(WifiAuthMode::Wpa2Psk, "10 03"), (WifiAuthMode::Open, "")] {
        let body = format!(
            "0a 09 31 30 2e 30 2e 30 2e 31 30 {auth_bytes} 1a 04 6d 79 61 70 22 06 01 02 03 04 05 06 28 0b"
        )
        .replace(' ', "");
        let inner = format!("5a{:02x}{body}", body.len() / 2);
        let expected = format!("08015a{:02x}{inner}", inner.len() / 2);
        golden(
            "GetStatus Connected",
            &status_resp(
                WifiStationState::Connected,
                Some(State::Connected(WifiConnectedState {
                    ip4_addr: "10.0.0.10".into(),
                    auth_mode: auth as i32,
                    ssid: b"myap".to_vec(),
                    bssid: vec![1, 2, 3, 4, 5, 6],
                    channel: 11,
                })),
            ),
            &expected,
        );
    }
    golden(
        "SetConfig request",
        &config(
            WiFiConfigMsgType::TypeCmdSetConfig,
            Some(ConfigPayload::CmdSetConfig(CmdSetConfig {
                ssid: b"ab".to_vec(),
                passphrase: b"12345678".to_vec(),
                bssid: vec![],
                channel: 0,
            })),
        ),
        "08 02 62 0e 0a 02 61 62 12 08 31 32 33 34 35 36 37 38",
    );
    for (status, expected) in [
        (Status::Success, "08 03 6a 00"),
        (Status::InvalidArgument, "08 03 6a 02 08 04"),
        (Status::InternalError, "08 03 6a 02 08 05"),
    ] {
        golden(
            "SetConfig response",
            &config(
                WiFiConfigMsgType::TypeRespSetConfig,
                Some(ConfigPayload::RespSetConfig(RespSetConfig {
                    status: status as i32,
                })),
            ),
            expected,
        );
    }
    golden(
        "ApplyConfig request (no sub-message)",
        &config(WiFiConfigMsgType::TypeCmdApplyConfig, None),
        "08 04",
    );
    // With the sub-message set, the empty member is emitted.
    golden(
        "ApplyConfig request (with sub-message)",
        &config(
            WiFiConfigMsgType::TypeCmdApplyConfig,
            Some(ConfigPayload::CmdApplyConfig(CmdApplyConfig {})),
        ),
        "08 04 72 00",
    );
    for (status, expected) in [
        (Status::Success, "08 05 7a 00"),
        (Status::InternalError, "08 05 7a 02 08 05"),
    ] {
        golden(
            "ApplyConfig response",
            &config(
                WiFiConfigMsgType::TypeRespApplyConfig,
                Some(ConfigPayload::RespApplyConfig(RespApplyConfig {
                    status: status as i32,
                })),
            ),
            expected,
        );
    }
}

#[test]
fn spec_2_11_scan_encodings() {
    let start = |group_channels| {
        scan(
            WiFiScanMsgType::TypeCmdScanStart,
            0,
            Some(ScanPayload::CmdScanStart(CmdScanStart {
                blocking: true,
                passive: false,
                group_channels,
                period_ms: 120,
            })),
        )
    };
    golden("ScanStart BLE", &start(0), "52 04 08 01 20 78");
    golden("ScanStart SoftAP", &start(5), "52 06 08 01 18 05 20 78");
    let started = |status| {
        scan(
            WiFiScanMsgType::TypeRespScanStart,
            status,
            Some(ScanPayload::RespScanStart(RespScanStart {})),
        )
    };
    golden("ScanStart resp ok", &started(0), "08 01 5a 00");
    golden(
        "ScanStart resp failed",
        &started(FAILED),
        "08 01 10 05 5a 00",
    );
    golden(
        "ScanStatus request",
        &scan(WiFiScanMsgType::TypeCmdScanStatus, 0, None),
        "08 02",
    );
    golden(
        "ScanStatus request (with sub-message)",
        &scan(
            WiFiScanMsgType::TypeCmdScanStatus,
            0,
            Some(ScanPayload::CmdScanStatus(CmdScanStatus {})),
        ),
        "08 02 62 00",
    );
    golden(
        "ScanStatus resp",
        &scan(
            WiFiScanMsgType::TypeRespScanStatus,
            0,
            Some(ScanPayload::RespScanStatus(RespScanStatus {
                scan_finished: true,
                result_count: 5,
            })),
        ),
        "08 03 6a 04 08 01 10 05",
    );
    golden(
        "ScanResult request",
        &scan(
            WiFiScanMsgType::TypeCmdScanResult,
            0,
            Some(ScanPayload::CmdScanResult(CmdScanResult {
                start_index: 4,
                count: 4,
            })),
        ),
        "08 04 72 04 08 04 10 04",
    );
    // Also spec §15.4 (same bytes).
    golden(
        "ScanResult resp MyAP",
        &scan(
            WiFiScanMsgType::TypeRespScanResult,
            0,
            Some(ScanPayload::RespScanResult(RespScanResult {
                entries: vec![WiFiScanResult {
                    ssid: b"MyAP".to_vec(),
                    channel: 6,
                    rssi: -45,
                    bssid: unhex("788a20841996"),
                    auth: WifiAuthMode::Wpa2Psk as i32,
                }],
            })),
        ),
        "08 05 7a 1f 0a 1d 0a 04 4d 79 41 50 10 06 18 d3 ff ff ff ff ff ff ff ff 01 22 06 78 8a 20 84 19 96 28 03",
    );
}

#[test]
fn spec_2_11_ctrl_encodings() {
    golden(
        "CtrlReset request",
        &ctrl(WiFiCtrlMsgType::TypeCmdCtrlReset, 0, None),
        "08 01",
    );
    golden(
        "CtrlReset request (with sub-message)",
        &ctrl(
            WiFiCtrlMsgType::TypeCmdCtrlReset,
            0,
            Some(CtrlPayload::CmdCtrlReset(CmdCtrlReset {})),
        ),
        "08 01 5a 00",
    );
    for (status, expected) in [(0, "08 02 62 00"), (FAILED, "08 02 10 05 62 00")] {
        golden(
            "CtrlReset resp",
            &ctrl(
                WiFiCtrlMsgType::TypeRespCtrlReset,
                status,
                Some(CtrlPayload::RespCtrlReset(RespCtrlReset {})),
            ),
            expected,
        );
    }
    golden(
        "CtrlReprov request",
        &ctrl(WiFiCtrlMsgType::TypeCmdCtrlReprov, 0, None),
        "08 03",
    );
    golden(
        "CtrlReprov request (with sub-message)",
        &ctrl(
            WiFiCtrlMsgType::TypeCmdCtrlReprov,
            0,
            Some(CtrlPayload::CmdCtrlReprov(CmdCtrlReprov {})),
        ),
        "08 03 6a 00",
    );
    for (status, expected) in [(0, "08 04 72 00"), (FAILED, "08 04 10 05 72 00")] {
        golden(
            "CtrlReprov resp",
            &ctrl(
                WiFiCtrlMsgType::TypeRespCtrlReprov,
                status,
                Some(CtrlPayload::RespCtrlReprov(RespCtrlReprov {})),
            ),
            expected,
        );
    }
}

#[test]
fn unknown_auth_modes_survive_a_round_trip() {
    // Devices report ESP-IDF auth modes beyond the proto enum (8 WAPI_PSK … 16 WPA_ENTERPRISE).
    for auth in 8..=16 {
        let m = scan(
            WiFiScanMsgType::TypeRespScanResult,
            0,
            Some(ScanPayload::RespScanResult(RespScanResult {
                entries: vec![WiFiScanResult {
                    ssid: b"x".to_vec(),
                    channel: 1,
                    rssi: -90,
                    bssid: vec![0; 6],
                    auth,
                }],
            })),
        );
        let back = WiFiScanPayload::decode(m.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, m);
    }
}

#[test]
fn fields_in_non_canonical_order_still_decode() {
    // Decoders must accept any field order: oneof member before msg, status last.
    let reordered = unhex("5a0010010802");
    let m = WiFiCtrlPayload::decode(reordered.as_slice()).unwrap();
    assert_eq!(
        m,
        ctrl(
            WiFiCtrlMsgType::TypeRespCtrlReset,
            1,
            Some(CtrlPayload::CmdCtrlReset(CmdCtrlReset {})),
        )
    );
    // Re-encoding puts the fields back in ascending order.
    assert_eq!(hex::encode(m.encode_to_vec()), "080210015a00");
}

// --- secrets are kept out of Debug output -----------------------------------------------------

#[test]
fn cmd_set_config_debug_redacts_the_passphrase() {
    let passphrase = "Tr0ub4dor&3-unique-secret";
    let cmd = CmdSetConfig {
        ssid: b"HomeNet".to_vec(),
        passphrase: passphrase.as_bytes().to_vec(),
        bssid: vec![],
        channel: 0,
    };
    let direct = format!("{cmd:?}");
    let pretty = format!("{cmd:#?}");
    let wrapped = format!(
        "{:?}",
        config(
            WiFiConfigMsgType::TypeCmdSetConfig,
            Some(ConfigPayload::CmdSetConfig(cmd.clone())),
        )
    );
    for out in [&direct, &pretty, &wrapped] {
        assert!(!out.contains(passphrase), "passphrase leaked: {out}");
        assert!(
            !out.contains("Tr0ub4dor"),
            "part of the passphrase leaked: {out}"
        );
        // The byte values must not leak either (a derived Debug would print them as numbers).
        let as_numbers = format!("{:?}", passphrase.as_bytes());
        assert!(!out.contains(&as_numbers[1..as_numbers.len() - 1]), "{out}");
        assert!(out.contains("HomeNet"), "ssid should stay visible: {out}");
        assert!(out.contains("redacted"), "{out}");
    }

    // And for the vector's SetConfig, decoded from the wire.
    let doc = load(WIFI_MESSAGES);
    let entry = arr_at(&doc, "messages")
        .iter()
        .find(|m| str_at(m, "name") == "config.cmd_set_config")
        .expect("config.cmd_set_config vector");
    let decoded = WiFiConfigPayload::decode(unhex(str_at(entry, "hex")).as_slice()).unwrap();
    let out = format!("{decoded:?}");
    assert!(!out.contains("correct-horse"), "{out}");
    assert!(out.contains("HomeNet"), "{out}");
}
