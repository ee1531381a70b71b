//! Helpers shared by the vector-driven test binaries.
//!
//! The vector files describe every protobuf twice: as bytes (`hex`) and as a flat view
//! (`fields` / `decoded`, one `path.to.field: value` entry per non-default field). This module
//! reads that flat view and produces the same kind of view from a decoded Rust message, so that
//! each test can check the decode direction (bytes → struct → flat view) and the encode direction
//! (flat view → struct → bytes) separately.

// Every test binary compiles this module but uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};
use wifiprov_proto::{
    constants::Status,
    sec0::Sec0MsgType,
    sec1::Sec1MsgType,
    sec2::Sec2MsgType,
    session::SecSchemeVersion,
    wifi_config::WiFiConfigMsgType,
    wifi_constants::{WifiAuthMode, WifiConnectFailedReason, WifiStationState},
    wifi_ctrl::WiFiCtrlMsgType,
    wifi_scan::WiFiScanMsgType,
};

/// How the flat views spell a sub-message (or oneof message member) that is present but empty.
pub const PRESENT_EMPTY: &str = "{} (present, empty)";

/// `testdata/vectors` of the repository.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors")
}

/// Parses one JSON file below `testdata/vectors`.
pub fn load(relative: &str) -> Value {
    let path = vectors_dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Lowercase hex → bytes.
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// `value[key]` as a string, panicking with context otherwise.
pub fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string {key:?} in {value}"))
}

/// `value[key]` as a JSON object.
pub fn obj_at<'a>(value: &'a Value, key: &str) -> &'a Map<String, Value> {
    value
        .get(key)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("missing object {key:?} in {value}"))
}

/// `value[key]` as a JSON array.
pub fn arr_at<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("missing array {key:?} in {value}"))
}

// ---------------------------------------------------------------------------------------------
// Enum name tables
// ---------------------------------------------------------------------------------------------

/// One protobuf enum: the names the `.proto` file (and so the vectors) use, each paired with the
/// number of the corresponding Rust variant.
pub struct EnumTable {
    /// Name of the enum in the `.proto` file.
    pub name: &'static str,
    /// `(proto name, Rust discriminant)`.
    pub entries: &'static [(&'static str, i32)],
    /// The prost-generated validity check of the Rust enum.
    pub is_valid: fn(i32) -> bool,
}

impl EnumTable {
    /// Number of the variant called `name` in the `.proto` file.
    pub fn number_of(&self, name: &str) -> Option<i32> {
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// `.proto` name of `number`.
    pub fn name_of(&self, number: i32) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|(_, v)| *v == number)
            .map(|(n, _)| *n)
    }

    /// The flat-view spelling of `number`: `Name (number)`.
    pub fn render(&self, number: i32) -> String {
        match self.name_of(number) {
            Some(name) => format!("{name} ({number})"),
            None => format!("{number}"),
        }
    }

    /// Reads a flat-view enum value `"Name (n)"`. Checks that `Name` is the Rust variant
    /// numbered `n` and returns `n`.
    pub fn parse(&self, value: &Value) -> i32 {
        let text = value
            .as_str()
            .unwrap_or_else(|| panic!("{}: expected \"Name (n)\", got {value}", self.name));
        let (name, rest) = text
            .split_once(" (")
            .unwrap_or_else(|| panic!("{}: malformed enum value {text:?}", self.name));
        let written: i32 = rest
            .strip_suffix(')')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}: malformed enum value {text:?}", self.name));
        let ours = self
            .number_of(name)
            .unwrap_or_else(|| panic!("{}: no variant named {name:?}", self.name));
        assert_eq!(
            ours, written,
            "{}: vector says {name} = {written}, Rust says {ours}",
            self.name
        );
        ours
    }
}

pub static STATUS: EnumTable = EnumTable {
    name: "Status",
    entries: &[
        ("Success", Status::Success as i32),
        ("InvalidSecScheme", Status::InvalidSecScheme as i32),
        ("InvalidProto", Status::InvalidProto as i32),
        ("TooManySessions", Status::TooManySessions as i32),
        ("InvalidArgument", Status::InvalidArgument as i32),
        ("InternalError", Status::InternalError as i32),
        ("CryptoError", Status::CryptoError as i32),
        ("InvalidSession", Status::InvalidSession as i32),
    ],
    is_valid: Status::is_valid,
};

pub static STATION_STATE: EnumTable = EnumTable {
    name: "WifiStationState",
    entries: &[
        ("Connected", WifiStationState::Connected as i32),
        ("Connecting", WifiStationState::Connecting as i32),
        ("Disconnected", WifiStationState::Disconnected as i32),
        (
            "ConnectionFailed",
            WifiStationState::ConnectionFailed as i32,
        ),
    ],
    is_valid: WifiStationState::is_valid,
};

pub static FAIL_REASON: EnumTable = EnumTable {
    name: "WifiConnectFailedReason",
    entries: &[
        ("AuthError", WifiConnectFailedReason::AuthError as i32),
        (
            "NetworkNotFound",
            WifiConnectFailedReason::NetworkNotFound as i32,
        ),
    ],
    is_valid: WifiConnectFailedReason::is_valid,
};

pub static AUTH_MODE: EnumTable = EnumTable {
    name: "WifiAuthMode",
    entries: &[
        ("Open", WifiAuthMode::Open as i32),
        ("WEP", WifiAuthMode::Wep as i32),
        ("WPA_PSK", WifiAuthMode::WpaPsk as i32),
        ("WPA2_PSK", WifiAuthMode::Wpa2Psk as i32),
        ("WPA_WPA2_PSK", WifiAuthMode::WpaWpa2Psk as i32),
        ("WPA2_ENTERPRISE", WifiAuthMode::Wpa2Enterprise as i32),
        ("WPA3_PSK", WifiAuthMode::Wpa3Psk as i32),
        ("WPA2_WPA3_PSK", WifiAuthMode::Wpa2Wpa3Psk as i32),
    ],
    is_valid: WifiAuthMode::is_valid,
};

pub static CONFIG_MSG: EnumTable = EnumTable {
    name: "WiFiConfigMsgType",
    entries: &[
        (
            "TypeCmdGetStatus",
            WiFiConfigMsgType::TypeCmdGetStatus as i32,
        ),
        (
            "TypeRespGetStatus",
            WiFiConfigMsgType::TypeRespGetStatus as i32,
        ),
        (
            "TypeCmdSetConfig",
            WiFiConfigMsgType::TypeCmdSetConfig as i32,
        ),
        (
            "TypeRespSetConfig",
            WiFiConfigMsgType::TypeRespSetConfig as i32,
        ),
        (
            "TypeCmdApplyConfig",
            WiFiConfigMsgType::TypeCmdApplyConfig as i32,
        ),
        (
            "TypeRespApplyConfig",
            WiFiConfigMsgType::TypeRespApplyConfig as i32,
        ),
    ],
    is_valid: WiFiConfigMsgType::is_valid,
};

pub static SCAN_MSG: EnumTable = EnumTable {
    name: "WiFiScanMsgType",
    entries: &[
        ("TypeCmdScanStart", WiFiScanMsgType::TypeCmdScanStart as i32),
        (
            "TypeRespScanStart",
            WiFiScanMsgType::TypeRespScanStart as i32,
        ),
        (
            "TypeCmdScanStatus",
            WiFiScanMsgType::TypeCmdScanStatus as i32,
        ),
        (
            "TypeRespScanStatus",
            WiFiScanMsgType::TypeRespScanStatus as i32,
        ),
        (
            "TypeCmdScanResult",
            WiFiScanMsgType::TypeCmdScanResult as i32,
        ),
        (
            "TypeRespScanResult",
            WiFiScanMsgType::TypeRespScanResult as i32,
        ),
    ],
    is_valid: WiFiScanMsgType::is_valid,
};

pub static CTRL_MSG: EnumTable = EnumTable {
    name: "WiFiCtrlMsgType",
    entries: &[
        ("TypeCtrlReserved", WiFiCtrlMsgType::TypeCtrlReserved as i32),
        ("TypeCmdCtrlReset", WiFiCtrlMsgType::TypeCmdCtrlReset as i32),
        (
            "TypeRespCtrlReset",
            WiFiCtrlMsgType::TypeRespCtrlReset as i32,
        ),
        (
            "TypeCmdCtrlReprov",
            WiFiCtrlMsgType::TypeCmdCtrlReprov as i32,
        ),
        (
            "TypeRespCtrlReprov",
            WiFiCtrlMsgType::TypeRespCtrlReprov as i32,
        ),
    ],
    is_valid: WiFiCtrlMsgType::is_valid,
};

pub static SEC_SCHEME: EnumTable = EnumTable {
    name: "SecSchemeVersion",
    entries: &[
        ("SecScheme0", SecSchemeVersion::SecScheme0 as i32),
        ("SecScheme1", SecSchemeVersion::SecScheme1 as i32),
        ("SecScheme2", SecSchemeVersion::SecScheme2 as i32),
    ],
    is_valid: SecSchemeVersion::is_valid,
};

pub static SEC0_MSG: EnumTable = EnumTable {
    name: "Sec0MsgType",
    entries: &[
        ("S0_Session_Command", Sec0MsgType::S0SessionCommand as i32),
        ("S0_Session_Response", Sec0MsgType::S0SessionResponse as i32),
    ],
    is_valid: Sec0MsgType::is_valid,
};

pub static SEC1_MSG: EnumTable = EnumTable {
    name: "Sec1MsgType",
    entries: &[
        ("Session_Command0", Sec1MsgType::SessionCommand0 as i32),
        ("Session_Response0", Sec1MsgType::SessionResponse0 as i32),
        ("Session_Command1", Sec1MsgType::SessionCommand1 as i32),
        ("Session_Response1", Sec1MsgType::SessionResponse1 as i32),
    ],
    is_valid: Sec1MsgType::is_valid,
};

pub static SEC2_MSG: EnumTable = EnumTable {
    name: "Sec2MsgType",
    entries: &[
        ("S2Session_Command0", Sec2MsgType::S2SessionCommand0 as i32),
        (
            "S2Session_Response0",
            Sec2MsgType::S2SessionResponse0 as i32,
        ),
        ("S2Session_Command1", Sec2MsgType::S2SessionCommand1 as i32),
        (
            "S2Session_Response1",
            Sec2MsgType::S2SessionResponse1 as i32,
        ),
    ],
    is_valid: Sec2MsgType::is_valid,
};

/// Every table, for the exhaustiveness check.
pub static ALL_ENUMS: &[&EnumTable] = &[
    &STATUS,
    &STATION_STATE,
    &FAIL_REASON,
    &AUTH_MODE,
    &CONFIG_MSG,
    &SCAN_MSG,
    &CTRL_MSG,
    &SEC_SCHEME,
    &SEC0_MSG,
    &SEC1_MSG,
    &SEC2_MSG,
];

// ---------------------------------------------------------------------------------------------
// Reading flat-view values (encode direction)
// ---------------------------------------------------------------------------------------------

/// Splits `a.b.c` into `("a", Some("b.c"))`.
pub fn split_key(key: &str) -> (&str, Option<&str>) {
    match key.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (key, None),
    }
}

/// Splits `name[3]` into `("name", 3)`.
pub fn split_index(segment: &str) -> Option<(&str, usize)> {
    let (name, rest) = segment.split_once('[')?;
    let index = rest.strip_suffix(']')?.parse().ok()?;
    Some((name, index))
}

/// Asserts that `value` is the "present but empty" marker.
pub fn expect_present(key: &str, value: &Value) {
    assert_eq!(
        value.as_str(),
        Some(PRESENT_EMPTY),
        "{key}: expected the present-but-empty marker"
    );
}

/// A bytes field: plain hex, or `{"hex": …, "text": …}` (the text must agree with the hex).
pub fn read_bytes(key: &str, value: &Value) -> Vec<u8> {
    match value {
        Value::String(s) => unhex(s),
        Value::Object(o) => {
            let bytes = unhex(
                o.get("hex")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{key}: bytes object without hex: {value}")),
            );
            if let Some(text) = o.get("text") {
                assert_eq!(
                    Some(std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("{key}: {e}"))),
                    text.as_str(),
                    "{key}: text does not match hex"
                );
            }
            bytes
        }
        other => panic!("{key}: not a bytes value: {other}"),
    }
}

/// A string field.
pub fn read_string(key: &str, value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{key}: not a string: {value}"))
        .to_owned()
}

/// A bool field.
pub fn read_bool(key: &str, value: &Value) -> bool {
    value
        .as_bool()
        .unwrap_or_else(|| panic!("{key}: not a bool: {value}"))
}

/// A uint32 field.
pub fn read_u32(key: &str, value: &Value) -> u32 {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or_else(|| panic!("{key}: not a uint32: {value}"))
}

/// An int32 field.
pub fn read_i32(key: &str, value: &Value) -> i32 {
    value
        .as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or_else(|| panic!("{key}: not an int32: {value}"))
}

/// Panics on a flat-view key the builder does not know: a new field in the vectors must not be
/// skipped silently.
pub fn unknown_key(key: &str) -> ! {
    panic!("flat view key {key:?} is not understood by the test builder")
}

/// Returns the member `$variant` of the oneof `$slot`, creating it (with default contents) when
/// the oneof is still unset; panics when another member is already set.
macro_rules! oneof_member {
    ($slot:expr, $($variant:ident)::+) => {{
        let slot = &mut $slot;
        if slot.is_none() {
            *slot = Some($($variant)::+(Default::default()));
        }
        match slot.as_mut() {
            Some($($variant)::+(inner)) => inner,
            other => panic!(
                "oneof already holds {other:?}; cannot also set {}",
                stringify!($($variant)::+)
            ),
        }
    }};
}

// ---------------------------------------------------------------------------------------------
// Producing flat views from decoded messages (decode direction)
// ---------------------------------------------------------------------------------------------

/// One value of a flat view, typed.
#[derive(Debug, Clone)]
pub enum Flat {
    /// A sub-message that is present but has no non-default field.
    Present,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Enum(&'static EnumTable, i32),
    Bytes(Vec<u8>),
    Text(String),
}

impl std::fmt::Debug for EnumTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Flat {
    /// proto3 implicit presence: would this value be left off the wire (and the view)?
    fn is_default(&self) -> bool {
        match self {
            Flat::Present => false,
            Flat::Bool(b) => !b,
            Flat::Uint(n) => *n == 0,
            Flat::Int(n) => *n == 0,
            Flat::Enum(_, n) => *n == 0,
            Flat::Bytes(b) => b.is_empty(),
            Flat::Text(s) => s.is_empty(),
        }
    }

    /// Does the JSON flat-view value say the same thing?
    fn matches(&self, json: &Value) -> bool {
        match self {
            Flat::Present => json.as_str() == Some(PRESENT_EMPTY),
            Flat::Bool(b) => json.as_bool() == Some(*b),
            Flat::Uint(n) => json.as_u64() == Some(*n),
            Flat::Int(n) => json.as_i64() == Some(*n),
            Flat::Enum(table, n) => json.as_str() == Some(table.render(*n).as_str()),
            Flat::Bytes(b) => match json {
                Value::String(s) => hex::decode(s).ok().as_ref() == Some(b),
                Value::Object(o) => {
                    let hex_ok = o
                        .get("hex")
                        .and_then(Value::as_str)
                        .and_then(|s| hex::decode(s).ok())
                        .as_ref()
                        == Some(b);
                    let text_ok = match o.get("text") {
                        None => true,
                        Some(t) => std::str::from_utf8(b).ok() == t.as_str(),
                    };
                    hex_ok && text_ok
                }
                _ => false,
            },
            Flat::Text(s) => json.as_str() == Some(s.as_str()),
        }
    }
}

/// Builds a flat view by walking a message.
#[derive(Default)]
pub struct Flattener {
    prefix: String,
    out: BTreeMap<String, Flat>,
}

impl Flattener {
    pub fn new() -> Self {
        Self::default()
    }

    /// An ordinary (implicit-presence) field: recorded only when not the zero value.
    pub fn field(&mut self, name: &str, value: Flat) {
        if !value.is_default() {
            self.member(name, value);
        }
    }

    /// A scalar oneof member: explicit presence, recorded even when zero.
    pub fn member(&mut self, name: &str, value: Flat) {
        let key = format!("{}{name}", self.prefix);
        assert!(
            self.out.insert(key.clone(), value).is_none(),
            "duplicate key {key}"
        );
    }

    /// A present sub-message. Its fields are recorded under `name.`; when it has none, `name`
    /// itself is recorded as present-but-empty.
    pub fn message(&mut self, name: &str, body: impl FnOnce(&mut Self)) {
        let before = self.out.len();
        let saved = self.prefix.len();
        self.prefix.push_str(name);
        self.prefix.push('.');
        body(self);
        self.prefix.truncate(saved);
        if self.out.len() == before {
            self.member(name, Flat::Present);
        }
    }

    pub fn finish(self) -> BTreeMap<String, Flat> {
        self.out
    }
}

/// Asserts that a flat view computed from a decoded message equals the one in the vector file.
pub fn assert_view_eq(what: &str, ours: &BTreeMap<String, Flat>, theirs: &Map<String, Value>) {
    let our_keys: Vec<&String> = ours.keys().collect();
    let mut their_keys: Vec<&String> = theirs.keys().collect();
    their_keys.sort();
    assert_eq!(
        our_keys, their_keys,
        "{what}: decoded message has different fields than the vector's flat view"
    );
    for (key, value) in ours {
        let json = &theirs[key];
        assert!(
            value.matches(json),
            "{what}: field {key}: decoded {value:?}, vector says {json}"
        );
    }
}
