//! The `prov-session` handshake messages (`SessionData`) of the four security transcripts in
//! `testdata/vectors/protocomm/`, plus the `SessionData` known answers of the spec (§15.2–15.4).
//!
//! Each handshake message is decoded, re-encoded (must be byte-identical), flattened and compared
//! with the vector's `decoded` view, and independently rebuilt from that view (must encode to the
//! same bytes). The decoded values are also cross-checked against the `inputs` / `derived`
//! sections of the file and against the sizes the protocol fixes.
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
    Flat, Flattener, SEC_SCHEME, SEC0_MSG, SEC1_MSG, SEC2_MSG, STATUS, arr_at, assert_view_eq,
    expect_present, load, obj_at, read_bytes, split_key, str_at, unhex, unknown_key,
};
use serde_json::{Map, Value};
use wifiprov_proto::{
    Message,
    sec0::{S0SessionCmd, S0SessionResp, Sec0MsgType, Sec0Payload, sec0_payload},
    sec1::{Sec1MsgType, Sec1Payload, SessionCmd1, SessionResp0, SessionResp1, sec1_payload},
    sec2::{S2SessionCmd1, S2SessionResp1, Sec2MsgType, Sec2Payload, sec2_payload},
    session::{SecSchemeVersion, SessionData, session_data::Proto},
};

// ---------------------------------------------------------------------------------------------
// Flat view → SessionData (encode direction)
// ---------------------------------------------------------------------------------------------

fn build_session(fields: &Map<String, Value>) -> SessionData {
    let mut m = SessionData::default();
    for (key, v) in fields {
        let (head, rest) = split_key(key);
        match (head, rest) {
            ("sec_ver", None) => m.sec_ver = SEC_SCHEME.parse(v),
            ("sec0", Some(rest)) => build_sec0(oneof_member!(m.proto, Proto::Sec0), key, rest, v),
            ("sec1", Some(rest)) => build_sec1(oneof_member!(m.proto, Proto::Sec1), key, rest, v),
            ("sec2", Some(rest)) => build_sec2(oneof_member!(m.proto, Proto::Sec2), key, rest, v),
            ("sec0" | "sec1" | "sec2", None) => {
                // A present but empty scheme payload would need the scheme; none occur.
                unknown_key(key)
            }
            _ => unknown_key(key),
        }
    }
    m
}

fn build_sec0(p: &mut Sec0Payload, key: &str, path: &str, v: &Value) {
    use sec0_payload::Payload;
    match split_key(path) {
        ("msg", None) => p.msg = SEC0_MSG.parse(v),
        ("sc", None) => {
            expect_present(key, v);
            oneof_member!(p.payload, Payload::Sc);
        }
        ("sr", rest) => {
            let sr = oneof_member!(p.payload, Payload::Sr);
            match rest {
                None => expect_present(key, v),
                Some("status") => sr.status = STATUS.parse(v),
                Some(_) => unknown_key(key),
            }
        }
        _ => unknown_key(key),
    }
}

fn build_sec1(p: &mut Sec1Payload, key: &str, path: &str, v: &Value) {
    use sec1_payload::Payload;
    match split_key(path) {
        ("msg", None) => p.msg = SEC1_MSG.parse(v),
        ("sc0", rest) => {
            let c = oneof_member!(p.payload, Payload::Sc0);
            match rest {
                None => expect_present(key, v),
                Some("client_pubkey") => c.client_pubkey = read_bytes(key, v),
                Some(_) => unknown_key(key),
            }
        }
        ("sr0", rest) => {
            let r = oneof_member!(p.payload, Payload::Sr0);
            match rest {
                None => expect_present(key, v),
                Some("status") => r.status = STATUS.parse(v),
                Some("device_pubkey") => r.device_pubkey = read_bytes(key, v),
                Some("device_random") => r.device_random = read_bytes(key, v),
                Some(_) => unknown_key(key),
            }
        }
        ("sc1", rest) => {
            let c = oneof_member!(p.payload, Payload::Sc1);
            match rest {
                None => expect_present(key, v),
                Some("client_verify_data") => c.client_verify_data = read_bytes(key, v),
                Some(_) => unknown_key(key),
            }
        }
        ("sr1", rest) => {
            let r = oneof_member!(p.payload, Payload::Sr1);
            match rest {
                None => expect_present(key, v),
                Some("status") => r.status = STATUS.parse(v),
                Some("device_verify_data") => r.device_verify_data = read_bytes(key, v),
                Some(_) => unknown_key(key),
            }
        }
        _ => unknown_key(key),
    }
}

fn build_sec2(p: &mut Sec2Payload, key: &str, path: &str, v: &Value) {
    use sec2_payload::Payload;
    match split_key(path) {
        ("msg", None) => p.msg = SEC2_MSG.parse(v),
        ("sc0", rest) => {
            let c = oneof_member!(p.payload, Payload::Sc0);
            match rest {
                None => expect_present(key, v),
                Some("client_username") => c.client_username = read_bytes(key, v),
                Some("client_pubkey") => c.client_pubkey = read_bytes(key, v),
                Some(_) => unknown_key(key),
            }
        }
        ("sr0", rest) => {
            let r = oneof_member!(p.payload, Payload::Sr0);
            match rest {
                None => expect_present(key, v),
                Some("status") => r.status = STATUS.parse(v),
                Some("device_pubkey") => r.device_pubkey = read_bytes(key, v),
                Some("device_salt") => r.device_salt = read_bytes(key, v),
                Some(_) => unknown_key(key),
            }
        }
        ("sc1", rest) => {
            let c = oneof_member!(p.payload, Payload::Sc1);
            match rest {
                None => expect_present(key, v),
                Some("client_proof") => c.client_proof = read_bytes(key, v),
                Some(_) => unknown_key(key),
            }
        }
        ("sr1", rest) => {
            let r = oneof_member!(p.payload, Payload::Sr1);
            match rest {
                None => expect_present(key, v),
                Some("status") => r.status = STATUS.parse(v),
                Some("device_proof") => r.device_proof = read_bytes(key, v),
                Some("device_nonce") => r.device_nonce = read_bytes(key, v),
                Some(_) => unknown_key(key),
            }
        }
        _ => unknown_key(key),
    }
}

// ---------------------------------------------------------------------------------------------
// SessionData → flat view (decode direction)
// ---------------------------------------------------------------------------------------------

fn flatten_session(m: &SessionData) -> BTreeMap<String, Flat> {
    let mut f = Flattener::new();
    f.field("sec_ver", Flat::Enum(&SEC_SCHEME, m.sec_ver));
    let bytes = |b: &Vec<u8>| Flat::Bytes(b.clone());
    match &m.proto {
        None => {}
        Some(Proto::Sec0(p)) => f.message("sec0", |f| {
            use sec0_payload::Payload;
            f.field("msg", Flat::Enum(&SEC0_MSG, p.msg));
            match &p.payload {
                None => {}
                Some(Payload::Sc(_)) => f.message("sc", |_| {}),
                Some(Payload::Sr(r)) => f.message("sr", |f| {
                    f.field("status", Flat::Enum(&STATUS, r.status));
                }),
            }
        }),
        Some(Proto::Sec1(p)) => f.message("sec1", |f| {
            use sec1_payload::Payload;
            f.field("msg", Flat::Enum(&SEC1_MSG, p.msg));
            match &p.payload {
                None => {}
                Some(Payload::Sc0(c)) => f.message("sc0", |f| {
                    f.field("client_pubkey", bytes(&c.client_pubkey));
                }),
                Some(Payload::Sr0(r)) => f.message("sr0", |f| {
                    f.field("status", Flat::Enum(&STATUS, r.status));
                    f.field("device_pubkey", bytes(&r.device_pubkey));
                    f.field("device_random", bytes(&r.device_random));
                }),
                Some(Payload::Sc1(c)) => f.message("sc1", |f| {
                    f.field("client_verify_data", bytes(&c.client_verify_data));
                }),
                Some(Payload::Sr1(r)) => f.message("sr1", |f| {
                    f.field("status", Flat::Enum(&STATUS, r.status));
                    f.field("device_verify_data", bytes(&r.device_verify_data));
                }),
            }
        }),
        Some(Proto::Sec2(p)) => f.message("sec2", |f| {
            use sec2_payload::Payload;
            f.field("msg", Flat::Enum(&SEC2_MSG, p.msg));
            match &p.payload {
                None => {}
                Some(Payload::Sc0(c)) => f.message("sc0", |f| {
                    f.field("client_username", bytes(&c.client_username));
                    f.field("client_pubkey", bytes(&c.client_pubkey));
                }),
                Some(Payload::Sr0(r)) => f.message("sr0", |f| {
                    f.field("status", Flat::Enum(&STATUS, r.status));
                    f.field("device_pubkey", bytes(&r.device_pubkey));
                    f.field("device_salt", bytes(&r.device_salt));
                }),
                Some(Payload::Sc1(c)) => f.message("sc1", |f| {
                    f.field("client_proof", bytes(&c.client_proof));
                }),
                Some(Payload::Sr1(r)) => f.message("sr1", |f| {
                    f.field("status", Flat::Enum(&STATUS, r.status));
                    f.field("device_proof", bytes(&r.device_proof));
                    f.field("device_nonce", bytes(&r.device_nonce));
                }),
            }
        }),
    }
    f.finish()
}

// ---------------------------------------------------------------------------------------------
// Transcript tests
// ---------------------------------------------------------------------------------------------

/// The handshake messages of one security file, decoded, after the generic checks passed.
struct Handshake {
    doc: Value,
    messages: Vec<SessionData>,
}

/// Decodes every `prov-session` message of `file` and runs decode / re-encode / build checks.
fn check_transcript(file: &str) -> Handshake {
    let doc = load(&format!("protocomm/{file}"));
    let mut messages = Vec::new();
    let mut proto_ver = 0;
    for (i, entry) in arr_at(&doc, "session_transcript").iter().enumerate() {
        let endpoint = str_at(entry, "endpoint");
        if endpoint == "proto-ver" {
            // ASCII bodies, not protobufs; only check hex and ascii agree.
            assert_eq!(
                unhex(str_at(entry, "hex")),
                str_at(entry, "ascii").as_bytes(),
                "{file}[{i}]"
            );
            proto_ver += 1;
            continue;
        }
        assert_eq!(endpoint, "prov-session", "{file}[{i}]");
        let what = format!(
            "{file} session_transcript[{i}] ({})",
            str_at(entry, "direction")
        );
        let bytes = unhex(str_at(entry, "hex"));
        let view = obj_at(entry, "decoded");

        let decoded = SessionData::decode(bytes.as_slice())
            .unwrap_or_else(|e| panic!("{what}: does not decode: {e}"));
        assert_eq!(
            hex::encode(decoded.encode_to_vec()),
            hex::encode(&bytes),
            "{what}: re-encoding changes the bytes"
        );
        assert_view_eq(&what, &flatten_session(&decoded), view);

        let built = build_session(view);
        assert_eq!(
            hex::encode(built.encode_to_vec()),
            hex::encode(&bytes),
            "{what}: message built from the flat view encodes differently"
        );
        assert_eq!(built, decoded, "{what}");

        // The HTTP body is exactly the serialized SessionData.
        if let Some(length) = entry
            .pointer("/http/headers/Content-Length")
            .and_then(Value::as_str)
        {
            assert_eq!(length, bytes.len().to_string(), "{what}: Content-Length");
        }
        messages.push(decoded);
    }
    // Requests and responses alternate, client first.
    let directions: Vec<&str> = arr_at(&doc, "session_transcript")
        .iter()
        .filter(|e| str_at(e, "endpoint") == "prov-session")
        .map(|e| str_at(e, "direction"))
        .collect();
    for (i, d) in directions.iter().enumerate() {
        let expected = if i % 2 == 0 {
            "client->device"
        } else {
            "device->client"
        };
        assert_eq!(*d, expected, "{file}: direction of handshake message {i}");
    }
    // esp_prov sends proto-ver first for sec1 ("no_pop") and sec2 ("---"), not for sec0.
    let expected_proto_ver = if file == "sec0.json" { 0 } else { 2 };
    assert_eq!(proto_ver, expected_proto_ver, "{file}: proto-ver messages");
    Handshake { doc, messages }
}

/// A `derived` entry whose (long, descriptive) key starts with `prefix`.
fn derived(doc: &Value, prefix: &str) -> Vec<u8> {
    let (_, v) = obj_at(doc, "derived")
        .iter()
        .find(|(k, _)| k.starts_with(prefix))
        .unwrap_or_else(|| panic!("no derived value starting with {prefix:?}"));
    unhex(v.as_str().expect("hex string"))
}

fn input(doc: &Value, key: &str) -> Vec<u8> {
    let value = obj_at(doc, "inputs").get(key).and_then(Value::as_str);
    unhex(value.unwrap_or_else(|| panic!("no string input {key:?}")))
}

#[test]
fn sec0_handshake() {
    let Handshake { messages, .. } = check_transcript("sec0.json");
    assert_eq!(messages.len(), 2);
    let expected_request = SessionData {
        sec_ver: SecSchemeVersion::SecScheme0 as i32,
        proto: Some(Proto::Sec0(Sec0Payload {
            msg: Sec0MsgType::S0SessionCommand as i32,
            payload: Some(sec0_payload::Payload::Sc(S0SessionCmd {})),
        })),
    };
    let expected_response = SessionData {
        sec_ver: SecSchemeVersion::SecScheme0 as i32,
        proto: Some(Proto::Sec0(Sec0Payload {
            msg: Sec0MsgType::S0SessionResponse as i32,
            payload: Some(sec0_payload::Payload::Sr(S0SessionResp { status: 0 })),
        })),
    };
    assert_eq!(messages, [expected_request, expected_response]);
}

#[test]
fn sec1_handshake() {
    use sec1_payload::Payload;
    let Handshake { doc, messages } = check_transcript("sec1.json");
    assert_eq!(messages.len(), 4);
    let payloads: Vec<&Sec1Payload> = messages
        .iter()
        .map(|m| {
            assert_eq!(m.sec_ver, SecSchemeVersion::SecScheme1 as i32);
            match &m.proto {
                Some(Proto::Sec1(p)) => p,
                other => panic!("expected sec1, got {other:?}"),
            }
        })
        .collect();
    let msgs: Vec<i32> = payloads.iter().map(|p| p.msg).collect();
    assert_eq!(
        msgs,
        [
            Sec1MsgType::SessionCommand0 as i32,
            Sec1MsgType::SessionResponse0 as i32,
            Sec1MsgType::SessionCommand1 as i32,
            Sec1MsgType::SessionResponse1 as i32,
        ]
    );
    let Some(Payload::Sc0(sc0)) = &payloads[0].payload else {
        panic!("message 0 is not sc0")
    };
    let Some(Payload::Sr0(sr0)) = &payloads[1].payload else {
        panic!("message 1 is not sr0")
    };
    let Some(Payload::Sc1(sc1)) = &payloads[2].payload else {
        panic!("message 2 is not sc1")
    };
    let Some(Payload::Sr1(sr1)) = &payloads[3].payload else {
        panic!("message 3 is not sr1")
    };
    assert_eq!(sc0.client_pubkey.len(), 32);
    assert_eq!(sr0.device_pubkey.len(), 32);
    assert_eq!(sr0.device_random.len(), 16);
    assert_eq!(sc1.client_verify_data.len(), 32);
    assert_eq!(sr1.device_verify_data.len(), 32);
    assert_eq!(sr0.status, 0);
    assert_eq!(sr1.status, 0);
    assert_eq!(sc0.client_pubkey, derived(&doc, "client_public_key"));
    assert_eq!(sr0.device_pubkey, derived(&doc, "device_public_key"));
    assert_eq!(sr0.device_random, input(&doc, "device_random"));
}

fn check_sec2(file: &str, patch: i64) {
    use sec2_payload::Payload;
    let Handshake { doc, messages } = check_transcript(file);
    assert_eq!(messages.len(), 4);
    assert_eq!(
        obj_at(&doc, "inputs")
            .get("sec_patch_ver")
            .and_then(Value::as_i64),
        Some(patch)
    );
    let payloads: Vec<&Sec2Payload> = messages
        .iter()
        .map(|m| {
            assert_eq!(m.sec_ver, SecSchemeVersion::SecScheme2 as i32);
            match &m.proto {
                Some(Proto::Sec2(p)) => p,
                other => panic!("expected sec2, got {other:?}"),
            }
        })
        .collect();
    let msgs: Vec<i32> = payloads.iter().map(|p| p.msg).collect();
    assert_eq!(
        msgs,
        [
            Sec2MsgType::S2SessionCommand0 as i32,
            Sec2MsgType::S2SessionResponse0 as i32,
            Sec2MsgType::S2SessionCommand1 as i32,
            Sec2MsgType::S2SessionResponse1 as i32,
        ]
    );
    let Some(Payload::Sc0(sc0)) = &payloads[0].payload else {
        panic!("message 0 is not sc0")
    };
    let Some(Payload::Sr0(sr0)) = &payloads[1].payload else {
        panic!("message 1 is not sr0")
    };
    let Some(Payload::Sc1(sc1)) = &payloads[2].payload else {
        panic!("message 2 is not sc1")
    };
    let Some(Payload::Sr1(sr1)) = &payloads[3].payload else {
        panic!("message 3 is not sr1")
    };
    let inputs = obj_at(&doc, "inputs");
    assert_eq!(
        sc0.client_username,
        inputs["username"].as_str().unwrap().as_bytes()
    );
    assert_eq!(sc0.client_pubkey.len(), 384, "A must be a full 384 bytes");
    assert!(sr0.device_pubkey.len() <= 384);
    assert!(!sr0.device_pubkey.is_empty());
    assert_eq!(sc1.client_proof.len(), 64);
    assert_eq!(sr1.device_proof.len(), 64);
    assert_eq!(sr1.device_nonce.len(), 12);
    assert_eq!(sr0.status, 0);
    assert_eq!(sr1.status, 0);
    assert_eq!(sc0.client_pubkey, derived(&doc, "A = "));
    assert_eq!(sr0.device_pubkey, derived(&doc, "B = "));
    assert_eq!(sr0.device_salt, input(&doc, "salt"));
    assert_eq!(sc1.client_proof, derived(&doc, "M = "));
    assert_eq!(sr1.device_proof, derived(&doc, "H_AMK"));
    assert_eq!(sr1.device_nonce, derived(&doc, "initial_nonce"));
    let mut expected_nonce = input(&doc, "device_nonce_random_prefix (8 bytes)");
    expected_nonce.extend_from_slice(&[0, 0, 0, 1]);
    assert_eq!(sr1.device_nonce, expected_nonce);
}

#[test]
fn sec2_patch0_handshake() {
    check_sec2("sec2_patch0.json", 0);
}

#[test]
fn sec2_patch1_handshake() {
    check_sec2("sec2_patch1.json", 1);
}

#[test]
fn sec2_handshake_is_identical_in_both_patch_levels() {
    // Only the application traffic differs between patch 0 and patch 1.
    let p0 = check_transcript("sec2_patch0.json").messages;
    let p1 = check_transcript("sec2_patch1.json").messages;
    assert_eq!(p0, p1);
}

// ---------------------------------------------------------------------------------------------
// Spec known answers
// ---------------------------------------------------------------------------------------------

/// Asserts `message` encodes to `expected` (whitespace ignored) and decodes back to itself.
fn golden(label: &str, message: &SessionData, expected: &str) {
    let expected: String = expected.split_whitespace().collect();
    let encoded = message.encode_to_vec();
    assert_eq!(hex::encode(&encoded), expected, "{label}: encoding");
    assert_eq!(
        &SessionData::decode(encoded.as_slice()).unwrap(),
        message,
        "{label}: decoding"
    );
}

fn sec1(msg: Sec1MsgType, payload: sec1_payload::Payload) -> SessionData {
    SessionData {
        sec_ver: SecSchemeVersion::SecScheme1 as i32,
        proto: Some(Proto::Sec1(Sec1Payload {
            msg: msg as i32,
            payload: Some(payload),
        })),
    }
}

fn sec2(msg: Sec2MsgType, payload: sec2_payload::Payload) -> SessionData {
    SessionData {
        sec_ver: SecSchemeVersion::SecScheme2 as i32,
        proto: Some(Proto::Sec2(Sec2Payload {
            msg: msg as i32,
            payload: Some(payload),
        })),
    }
}

#[test]
fn spec_15_4_sec0_session_data() {
    golden(
        "sec0 request",
        &SessionData {
            sec_ver: 0,
            proto: Some(Proto::Sec0(Sec0Payload {
                msg: 0,
                payload: Some(sec0_payload::Payload::Sc(S0SessionCmd {})),
            })),
        },
        "5203a20100",
    );
    golden(
        "sec0 response",
        &SessionData {
            sec_ver: 0,
            proto: Some(Proto::Sec0(Sec0Payload {
                msg: Sec0MsgType::S0SessionResponse as i32,
                payload: Some(sec0_payload::Payload::Sr(S0SessionResp { status: 0 })),
            })),
        },
        "52050801aa0100",
    );
}

#[test]
fn spec_15_3_sec1_session_data() {
    use sec1_payload::Payload;
    let client_pub = unhex("292ab170c0456cd9b094113288c0671675e9e1d89803ddc52a3ecf75e6d8be6b");
    let device_pub = unhex("26741cc4ef1beae24bf5594ea0375b5ad7cdcd5290dde0bd534db357b7a88c0f");
    golden(
        "sec1 Cmd0",
        &sec1(
            Sec1MsgType::SessionCommand0,
            Payload::Sc0(wifiprov_proto::sec1::SessionCmd0 {
                client_pubkey: client_pub,
            }),
        ),
        "10015a25a201220a20292ab170c0456cd9b094113288c0671675e9e1d89803ddc52a3ecf75e6d8be6b",
    );
    golden(
        "sec1 Resp0",
        &sec1(
            Sec1MsgType::SessionResponse0,
            Payload::Sr0(SessionResp0 {
                status: 0,
                device_pubkey: device_pub,
                device_random: unhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"),
            }),
        ),
        "10015a390801aa0134122026741cc4ef1beae24bf5594ea0375b5ad7cdcd5290dde0bd534db357b7a88c0f1a10a0a1a2
         a3a4a5a6a7a8a9aaabacadaeaf",
    );
    // client_verify_data is field 2 and device_verify_data field 3 (no field 2): key bytes 12 / 1a.
    golden(
        "sec1 Cmd1",
        &sec1(
            Sec1MsgType::SessionCommand1,
            Payload::Sc1(SessionCmd1 {
                client_verify_data: unhex(
                    "37d90ed9bd1aeca3d129f847abc9cf815c7c44b8b38b6de96c509e32c89faedd",
                ),
            }),
        ),
        "10015a270802b20122122037d90ed9bd1aeca3d129f847abc9cf815c7c44b8b38b6de96c509e32c89faedd",
    );
    golden(
        "sec1 Resp1",
        &sec1(
            Sec1MsgType::SessionResponse1,
            Payload::Sr1(SessionResp1 {
                status: 0,
                device_verify_data: unhex(
                    "11136a91e4f6f009ca7769723d69df7a598b4e9350f81bab141de303c141cec1",
                ),
            }),
        ),
        "10015a270803ba01221a2011136a91e4f6f009ca7769723d69df7a598b4e9350f81bab141de303c141cec1",
    );
}

#[test]
fn spec_15_2_sec2_session_data() {
    use sec2_payload::Payload;
    golden(
        "sec2 Cmd1",
        &sec2(
            Sec2MsgType::S2SessionCommand1,
            Payload::Sc1(S2SessionCmd1 {
                client_proof: unhex(
                    "488d6b0d0e2bb1be38bf19d29f41eebee7b98773a6099e7523a40d9003d12ed67596ef553b\
                     71b4bfbe419e030dafc72f591de81e3cec4031eb1cf5fa0ab2f3ab",
                ),
            }),
        ),
        "100262470802b201420a40488d6b0d0e2bb1be38bf19d29f41eebee7b98773a6099e7523a40d9003d12ed67596ef553b
         71b4bfbe419e030dafc72f591de81e3cec4031eb1cf5fa0ab2f3ab",
    );
    golden(
        "sec2 Resp1",
        &sec2(
            Sec2MsgType::S2SessionResponse1,
            Payload::Sr1(S2SessionResp1 {
                status: 0,
                device_proof: unhex(
                    "8246889471177cdb173304a5803ef85f6b31c49abb6d9b5a92621119ee5a2e92c137918f3f\
                     243db49bc0fbc6cc7cb593922100cfb69aeaf3aaa833b80e324f36",
                ),
                device_nonce: unhex("010203040506070800000001"),
            }),
        ),
        "100262550803ba015012408246889471177cdb173304a5803ef85f6b31c49abb6d9b5a92621119ee5a2e92c137918f3f
         243db49bc0fbc6cc7cb593922100cfb69aeaf3aaa833b80e324f361a0c010203040506070800000001",
    );
    // Cmd0 / Resp0 are only given as 24-byte prefixes: check the envelope and key bytes up to the
    // start of the 384-byte value (A: `12 80 03`; B: `12 80 03`).
    let cmd0 = sec2(
        Sec2MsgType::S2SessionCommand0,
        Payload::Sc0(wifiprov_proto::sec2::S2SessionCmd0 {
            client_username: b"wifiprov".to_vec(),
            client_pubkey: vec![0x44; 384],
        }),
    )
    .encode_to_vec();
    assert_eq!(cmd0.len(), 406);
    assert_eq!(
        hex::encode(&cmd0[..22]),
        "1002629103a2018d030a087769666970726f76128003"
    );
    let resp0 = sec2(
        Sec2MsgType::S2SessionResponse0,
        Payload::Sr0(wifiprov_proto::sec2::S2SessionResp0 {
            status: 0,
            device_pubkey: vec![0x4b; 384],
            device_salt: vec![0x03; 16],
        }),
    )
    .encode_to_vec();
    assert_eq!(resp0.len(), 416);
    assert_eq!(hex::encode(&resp0[..14]), "1002629b030801aa019503128003");
}

#[test]
fn sec_ver_zero_is_absent_on_the_wire_but_other_schemes_are_not() {
    let empty_sec1 = SessionData {
        sec_ver: SecSchemeVersion::SecScheme1 as i32,
        proto: None,
    };
    assert_eq!(empty_sec1.encode_to_vec(), [0x10, 0x01]);
    assert_eq!(SessionData::default().encode_to_vec(), Vec::<u8>::new());
    // No field 1 exists in SessionData: a stray field 1 is skipped as unknown.
    let with_unknown = SessionData::decode([0x08, 0x05, 0x10, 0x02].as_slice()).unwrap();
    assert_eq!(with_unknown.sec_ver, SecSchemeVersion::SecScheme2 as i32);
    assert_eq!(with_unknown.proto, None);
}
