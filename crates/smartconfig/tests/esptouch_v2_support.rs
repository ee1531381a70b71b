//! Shared helpers for the ESPTouch v2 tests (included with `#[path]` by the test files; as a
//! test target of its own it only checks that the vector files load).

#![cfg(test)]
#![allow(dead_code)]

use serde_json::Value;
use smartconfig::esptouch_v2::{self, AesKey, Params, Security};
use smartconfig::{Decoded, LengthDecoder};

const V2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/vectors/smartconfig/esptouch-v2.json"
);
const FRAMES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/vectors/smartconfig/frame-lengths.json"
);

/// One reference case, reduced to what the tests use.
#[derive(Clone, Debug)]
pub struct Case {
    /// Case name.
    pub name: String,
    /// SSID handed to the encoder.
    pub ssid: Vec<u8>,
    /// Whether the SSID is sent.
    pub send_ssid: bool,
    /// SSID bytes on the air (empty when omitted).
    pub ssid_on_air: Vec<u8>,
    /// Password.
    pub password: Vec<u8>,
    /// Reserved data.
    pub reserved: Vec<u8>,
    /// BSSID.
    pub bssid: [u8; 6],
    /// AES key, if any.
    pub key: Option<[u8; 16]>,
    /// Security version asked for (1 zero IV, 2 random IV).
    pub security_requested: u64,
    /// Port mark.
    pub port_mark: u8,
    /// The phone address is IPv6.
    pub ipv6: bool,
    /// One reference cycle.
    pub lengths: Vec<u16>,
    /// N.
    pub groups: u8,
    /// Random material in the order `encode` asks for it.
    pub random: Vec<u8>,
    /// The header says AES.
    pub encrypted: bool,
    /// Expected ACK port.
    pub ack_port: u16,
}

impl Case {
    /// Encoder parameters of the case.
    pub fn params(&self) -> Params {
        let mut params = Params::new(self.ssid.clone(), self.password.clone(), self.bssid);
        params.send_ssid = self.send_ssid;
        params.reserved = self.reserved.clone();
        params.port_mark = self.port_mark;
        params.ipv6 = self.ipv6;
        params.security = match (self.key, self.security_requested) {
            (None, _) => Security::Plain,
            (Some(key), 2) => Security::AesRandomIv(AesKey::new(key)),
            (Some(key), _) => Security::AesZeroIv(AesKey::new(key)),
        };
        params
    }

    /// The SSID a decoder should report.
    pub fn expected_ssid(&self) -> Option<Vec<u8>> {
        (!self.ssid_on_air.is_empty()).then(|| self.ssid_on_air.clone())
    }
}

/// Hex string field, empty when null.
fn hex_field(v: &Value) -> Vec<u8> {
    v.as_str()
        .map(|s| hex::decode(s).unwrap())
        .unwrap_or_default()
}

/// All cases of esptouch-v2.json.
pub fn cases() -> Vec<Case> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(V2).unwrap()).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let inputs = &c["inputs"];
            let bssid: Vec<u8> = inputs["bssid"]
                .as_str()
                .unwrap()
                .split(':')
                .map(|h| u8::from_str_radix(h, 16).unwrap())
                .collect();
            let key = inputs["aes_key_hex"]
                .as_str()
                .map(|k| <[u8; 16]>::try_from(hex::decode(k).unwrap()).unwrap());
            let sec = c["header"]["decoded"]["sec"].as_u64().unwrap();
            let mut random = Vec::new();
            if sec == 2 {
                random.extend(hex_field(&c["iv_field_20_bytes_hex"]));
            }
            let padding = &c["random_material_drawn_by_this_run"]["padding_hex"];
            for part in ["pwd", "rsv", "ssid"] {
                random.extend(hex_field(&padding[part]));
            }
            Case {
                name: c["name"].as_str().unwrap().to_owned(),
                ssid: hex_field(&inputs["ssid_hex_passed_to_setSSID"]),
                send_ssid: !inputs["ssid_hex_passed_to_setSSID"].is_null(),
                ssid_on_air: hex_field(&inputs["ssid_hex_on_air"]),
                password: hex_field(&inputs["password_hex"]),
                reserved: hex_field(&inputs["reserved_hex"]),
                bssid: bssid.try_into().unwrap(),
                key,
                security_requested: inputs["security_ver_requested"].as_u64().unwrap(),
                port_mark: inputs["port_mark"].as_u64().unwrap() as u8,
                ipv6: inputs["request_address"].as_str().unwrap().contains(':'),
                lengths: c["packet_lengths"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_u64().unwrap() as u16)
                    .collect(),
                groups: c["sequence_count_N"].as_u64().unwrap() as u8,
                random,
                encrypted: sec != 0,
                ack_port: c["expected_ack"]["udp_dst_port"].as_u64().unwrap() as u16,
            }
        })
        .collect()
}

/// Every offset of frame-lengths.json (with and without FCS, IPv4 and IPv6 (+20)) and 0.
pub fn offsets() -> Vec<u16> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(FRAMES).unwrap()).unwrap();
    let mut offsets = vec![0u16];
    for row in doc["rows"].as_array().unwrap() {
        for key in ["overhead_with_fcs_ipv4", "overhead_without_fcs_ipv4"] {
            let k = row[key].as_u64().unwrap() as u16;
            offsets.push(k);
            offsets.push(k + 20);
        }
    }
    offsets.sort_unstable();
    offsets.dedup();
    offsets
}

/// Encodes `case` with its recorded random material; asserts it was consumed exactly.
pub fn encode_case(case: &Case) -> esptouch_v2::Encoded {
    let mut used = 0usize;
    let mut random = |buf: &mut [u8]| {
        for b in buf {
            *b = case.random[used];
            used += 1;
        }
    };
    let encoded = esptouch_v2::encode(&case.params(), &mut random).unwrap();
    assert_eq!(
        used,
        case.random.len(),
        "{}: random bytes consumed",
        case.name
    );
    encoded
}

/// `cycles` copies of `lengths`, each shifted by `offset`.
pub fn stream(lengths: &[u16], offset: u16, cycles: usize) -> Vec<u16> {
    (0..cycles)
        .flat_map(|_| lengths.iter().map(move |&l| l + offset))
        .collect()
}

/// Feeds `stream`; returns every message with the index of the length that completed it.
pub fn feed(decoder: &mut impl LengthDecoder, stream: &[u16]) -> Vec<(usize, Decoded)> {
    stream
        .iter()
        .enumerate()
        .filter_map(|(i, &l)| decoder.push(l).map(|d| (i, d)))
        .collect()
}

/// Asserts every field of `decoded` against `case`.
pub fn assert_matches(decoded: &Decoded, case: &Case, offset: u16) {
    let name = &case.name;
    assert_eq!(
        decoded.protocol,
        smartconfig::Protocol::EspTouchV2,
        "{name}"
    );
    assert_eq!(decoded.ssid, case.expected_ssid(), "{name}: ssid");
    assert_eq!(decoded.ssid_crc, None, "{name}: ssid_crc");
    assert_eq!(
        decoded.password.expose(),
        &case.password[..],
        "{name}: password"
    );
    assert_eq!(decoded.reserved, case.reserved, "{name}: reserved");
    assert_eq!(decoded.bssid, None, "{name}: bssid");
    assert_eq!(
        decoded.bssid_crc,
        Some(smartconfig::crc8(&case.bssid)),
        "{name}: bssid crc"
    );
    assert_eq!(decoded.token, case.port_mark, "{name}: token");
    assert_eq!(decoded.ipv6, case.ipv6, "{name}: ipv6");
    assert_eq!(decoded.phone_ip, None, "{name}: phone ip");
    assert_eq!(decoded.offset, offset, "{name}: offset");
}

#[test]
fn vectors_load() {
    let cases = cases();
    assert_eq!(cases.len(), 10);
    assert!(cases.iter().any(|c| c.encrypted));
    assert!(offsets().len() > 10);
}
