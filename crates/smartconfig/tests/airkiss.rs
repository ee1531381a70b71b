//! AirKiss against the reference vectors: encoder output, decoding at every tabulated offset,
//! encryption, the reply, limits and redaction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use serde_json::Value;
use smartconfig::airkiss::{
    self, Decoder, Params, ack_payload, ack_payload_short, decrypt_password, encode,
    encrypt_password, key_from_bytes, parse_ack,
};
use smartconfig::{Decoded, EncodeError, LengthDecoder, Protocol, crc8};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/vectors/smartconfig/"
);

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{VECTORS}{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn lengths(v: &Value) -> Vec<u16> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| u16::try_from(x.as_u64().unwrap()).unwrap())
        .collect()
}

fn hex_field(v: &Value) -> Option<Vec<u8>> {
    v.as_str().map(|s| hex::decode(s).unwrap())
}

/// One vector case, normalised over both files.
struct Case {
    name: String,
    ssid: Vec<u8>,
    password: Vec<u8>,
    key: Option<[u8; 16]>,
    token: u8,
    on_air_password: Vec<u8>,
    message: Vec<u8>,
    ssid_crc: u8,
    magic: Vec<u16>,
    prefix: Vec<u16>,
    data: Vec<u16>,
    repetition: Vec<u16>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for c in load("airkiss.json")["cases"].as_array().unwrap() {
        let inputs = &c["inputs"];
        let password = inputs["password"].as_str().unwrap().as_bytes().to_vec();
        out.push(Case {
            name: c["name"].as_str().unwrap().to_owned(),
            ssid: inputs["ssid"].as_str().unwrap().as_bytes().to_vec(),
            on_air_password: password.clone(),
            password,
            key: None,
            token: u8::try_from(inputs["token"].as_u64().unwrap()).unwrap(),
            message: hex_field(&c["message_hex"]).unwrap(),
            ssid_crc: u8::try_from(c["ssid_crc8"].as_u64().unwrap()).unwrap(),
            magic: lengths(&c["magic_lengths"]),
            prefix: lengths(&c["prefix_lengths"]),
            data: lengths(&c["data_lengths"]),
            repetition: lengths(&c["one_repetition_lengths"]),
        });
    }
    for c in load("airkiss-derived.json")["cases"].as_array().unwrap() {
        let inputs = &c["inputs"];
        out.push(Case {
            name: c["name"].as_str().unwrap().to_owned(),
            ssid: hex_field(&inputs["ssid_hex"]).unwrap(),
            password: hex_field(&inputs["password_hex"]).unwrap(),
            key: hex_field(&inputs["aes_key_hex"]).map(|k| key_from_bytes(&k).unwrap()),
            token: u8::try_from(inputs["token"].as_u64().unwrap()).unwrap(),
            on_air_password: hex_field(&c["password_on_air_hex"]).unwrap(),
            message: hex_field(&c["message_hex"]).unwrap(),
            ssid_crc: u8::try_from(c["ssid_crc8"].as_u64().unwrap()).unwrap(),
            magic: lengths(&c["magic_lengths"]),
            prefix: lengths(&c["prefix_lengths"]),
            data: lengths(&c["data_lengths"]),
            repetition: lengths(&c["one_repetition_lengths_zhchbin_schedule"]),
        });
    }
    assert_eq!(out.len(), 8, "both vector files, four cases each");
    out
}

fn params(case: &Case) -> Params {
    let p = Params::new(case.ssid.clone(), case.password.clone(), case.token);
    match case.key {
        Some(k) => p.with_aes_key(k),
        None => p,
    }
}

/// Every offset of frame-lengths.json (with and without FCS), plus 0 (a UDP socket source).
fn offsets() -> Vec<u16> {
    let mut out = vec![0];
    for row in load("frame-lengths.json")["rows"].as_array().unwrap() {
        for key in ["overhead_with_fcs_ipv4", "overhead_without_fcs_ipv4"] {
            out.push(u16::try_from(row[key].as_u64().unwrap()).unwrap());
        }
    }
    out.sort_unstable();
    out.dedup();
    assert!(out.len() > 10);
    out
}

/// Feeds `stream` and returns the first message with the number of lengths it took.
fn run(decoder: &mut Decoder, stream: impl IntoIterator<Item = u16>) -> Option<(Decoded, usize)> {
    stream
        .into_iter()
        .enumerate()
        .find_map(|(i, l)| decoder.push(l).map(|d| (d, i + 1)))
}

fn check(decoded: &Decoded, case: &Case, password: &[u8], offset: u16) {
    assert_eq!(decoded.protocol, Protocol::AirKiss, "{}", case.name);
    assert_eq!(
        decoded.ssid.as_deref(),
        Some(&case.ssid[..]),
        "{}",
        case.name
    );
    assert_eq!(decoded.ssid_crc, Some(case.ssid_crc), "{}", case.name);
    assert_eq!(decoded.password.expose(), password, "{}", case.name);
    assert_eq!(decoded.token, case.token, "{}", case.name);
    assert_eq!(decoded.offset, offset, "{}", case.name);
    assert_eq!(
        (decoded.bssid, decoded.phone_ip, decoded.ipv6),
        (None, None, false)
    );
}

/// Where a loss-free stream completes: after the leading field and magic code, a block is used
/// once received twice (three times if it holds two equal adjacent bytes). A block counts once
/// the length after its data arrived, or the two after it when those are the next block's
/// header pair (the framer looks at the pair to tell whether the block was in sequence).
fn clean_decode_length(case: &Case) -> usize {
    let pass = 4 + case.data.len();
    let blocks: Vec<&[u8]> = case.message.chunks(4).collect();
    let mut end = 4;
    let mut done = 0;
    for (j, block) in blocks.iter().enumerate() {
        end += 2 + block.len();
        let need = if block.windows(2).any(|w| w[0] == w[1]) {
            3
        } else {
            2
        };
        let after = if j + 1 == blocks.len() { 1 } else { 2 };
        done = done.max(200 + 80 + (need - 1) * pass + end + after);
    }
    done
}

#[test]
fn encoder_reproduces_every_vector() {
    for case in cases() {
        let enc = encode(&params(&case)).unwrap();
        assert_eq!(enc.magic_lengths().to_vec(), case.magic, "{}", case.name);
        assert_eq!(enc.prefix_lengths().to_vec(), case.prefix, "{}", case.name);
        assert_eq!(enc.data_lengths(), &case.data[..], "{}", case.name);
        assert_eq!(
            enc.one_repetition_lengths(),
            case.repetition,
            "{}",
            case.name
        );
        assert_eq!(enc.message_len(), case.message.len(), "{}", case.name);
        assert_eq!(enc.token(), case.token);
        assert_eq!(crc8(&case.ssid), case.ssid_crc, "{}", case.name);
        // The data lengths spell the message bytes after the two headers of every block.
        let bytes: Vec<u8> = enc
            .data_lengths()
            .chunks(6)
            .flat_map(|b| b[2..].iter().map(|&l| u8::try_from(l - 0x100).unwrap()))
            .collect();
        assert_eq!(bytes, case.message, "{}", case.name);
    }
}

#[test]
fn schedule_is_one_period_with_pacing() {
    for case in cases() {
        let enc = encode(&params(&case)).unwrap();
        let schedule = enc.schedule();
        let lens: Vec<u16> = schedule.iter().map(|t| t.length).collect();
        assert_eq!(lens, case.repetition);
        assert!(schedule.iter().all(|t| t.gap_us == airkiss::GAP_US));
        assert_eq!(&lens[..8], &[1, 2, 3, 4, 1, 2, 3, 4]);
    }
    assert_eq!(airkiss::GAP_US, 4_000);
    assert_eq!((airkiss::PORT, airkiss::REPLY_PORT), (10001, 10000));
    assert_eq!(
        airkiss::DESTINATION,
        std::net::Ipv4Addr::new(255, 255, 255, 255)
    );
}

#[test]
fn aes_password_matches_vectors_and_round_trips() {
    let mut keyed = 0;
    for case in cases() {
        let Some(key) = case.key else { continue };
        keyed += 1;
        assert_eq!(
            encrypt_password(&case.password, &key),
            case.on_air_password,
            "{}",
            case.name
        );
        let plain = decrypt_password(&case.on_air_password, &key).unwrap();
        assert_eq!(plain.expose(), &case.password[..]);
    }
    assert_eq!(keyed, 2);
    // The native-sender inputs (8- and 16-byte keys): the ciphertext decrypts back.
    for c in load("airkiss-derived.json")["native_sender_crosscheck"]
        .as_array()
        .unwrap()
    {
        let key = key_from_bytes(&hex_field(&c["key_hex"]).unwrap()).unwrap();
        let pw = hex_field(&c["password_hex"]).unwrap();
        let ct = encrypt_password(&pw, &key);
        assert_eq!(
            ct.len(),
            if pw.is_empty() {
                0
            } else {
                (pw.len() / 16 + 1) * 16
            }
        );
        assert_eq!(decrypt_password(&ct, &key).unwrap().expose(), &pw[..]);
    }
}

#[test]
fn decoder_recovers_every_vector_at_every_offset() {
    for case in cases() {
        let period = &case.repetition;
        for offset in offsets() {
            let mut decoder = Decoder::new(case.key);
            let stream = period
                .iter()
                .cycle()
                .take(3 * period.len())
                .map(|&l| l + offset);
            let (decoded, used) = run(&mut decoder, stream)
                .unwrap_or_else(|| panic!("{} at offset {offset}", case.name));
            check(&decoded, &case, &case.password, offset);
            assert_eq!(used, clean_decode_length(&case), "{}", case.name);
            assert_eq!(decoder.offset(), Some(offset));
        }
    }
}

#[test]
fn encrypted_message_without_key_yields_the_ciphertext() {
    for case in cases().into_iter().filter(|c| c.key.is_some()) {
        let mut decoder = Decoder::new(None);
        let (decoded, _) = run(&mut decoder, case.repetition.iter().map(|&l| l + 80)).unwrap();
        check(&decoded, &case, &case.on_air_password, 80);
    }
}

#[test]
fn keyed_decoder_drops_a_plaintext_message_and_a_wrong_key() {
    let case = &cases()[0];
    let mut decoder = Decoder::new(Some([7; 16]));
    assert!(run(&mut decoder, case.repetition.iter().copied()).is_none());
    let aes = cases()
        .into_iter()
        .find(|c| c.name == "airkiss-aes-8")
        .unwrap();
    let mut decoder = Decoder::new(Some(key_from_bytes(b"another key").unwrap()));
    // 1/256 of wrong keys give valid padding by chance; this one does not.
    assert!(run(&mut decoder, aes.repetition.iter().copied()).is_none());
}

#[test]
fn esptouch_range_lengths_never_lock() {
    let mut decoder = Decoder::new(None);
    for k in [0u16, 54, 80, 136, 160] {
        for _ in 0..100 {
            for l in [515, 514, 513, 512, 1048, 1072] {
                assert!(decoder.push(l + k).is_none());
            }
        }
    }
    assert_eq!(decoder.offset(), None);
    // Just above the AirKiss window: still nothing.
    for _ in 0..100 {
        for l in [162, 163, 164, 165] {
            decoder.push(l);
        }
    }
    assert_eq!(decoder.offset(), None);
    for _ in 0..2 {
        for l in [161, 162, 163, 164] {
            decoder.push(l);
        }
    }
    assert_eq!(decoder.offset(), Some(160));
}

#[test]
fn a_new_message_replaces_a_partial_one() {
    let all = cases();
    let (a, b) = (&all[0], &all[4]);
    let mut decoder = Decoder::new(None);
    // Guide, magic, prefix and half of A's blocks, then B at the same offset.
    let part = 200 + 80 + 4 + a.data.len() / 2;
    assert!(run(&mut decoder, a.repetition[..part].iter().map(|&l| l + 80)).is_none());
    assert!(format!("{decoder:?}").contains("message_len: Some(15)"));
    let (decoded, _) = run(
        &mut decoder,
        b.repetition
            .iter()
            .cycle()
            .take(2 * b.repetition.len())
            .map(|&l| l + 80),
    )
    .unwrap();
    check(&decoded, b, &b.password, 80);
}

#[test]
fn a_restarted_sender_with_a_new_token_wins() {
    // Same SSID and password: only the block holding the token differs.
    let old = encode(&Params::new(b"MyWiFi".to_vec(), b"12345678".to_vec(), 1)).unwrap();
    let new = encode(&Params::new(b"MyWiFi".to_vec(), b"12345678".to_vec(), 2)).unwrap();
    let mut decoder = Decoder::new(None);
    let (old_period, new_period) = (old.one_repetition_lengths(), new.one_repetition_lengths());
    // One full pass of the old message (every block once), then the new one.
    let part = 200 + 80 + 4 + old.data_lengths().len() + 1;
    assert!(run(&mut decoder, old_period[..part].iter().copied()).is_none());
    let (decoded, _) = run(&mut decoder, new_period.iter().copied()).unwrap();
    assert_eq!(decoded.token, 2);
    assert_eq!(decoded.password.expose(), b"12345678");
}

#[test]
fn relocks_when_the_offset_changes() {
    let case = &cases()[3];
    let mut decoder = Decoder::new(None);
    let part = 200 + 80 + 4 + case.data.len() / 2;
    assert!(
        run(
            &mut decoder,
            case.repetition[..part].iter().map(|&l| l + 80)
        )
        .is_none()
    );
    assert_eq!(decoder.offset(), Some(80));
    let (decoded, _) = run(&mut decoder, case.repetition.iter().map(|&l| l + 82)).unwrap();
    check(&decoded, case, &case.password, 82);
}

#[test]
fn consecutive_messages_and_reset() {
    let case = &cases()[1];
    let mut decoder = Decoder::new(None);
    let stream: Vec<u16> = case.repetition.iter().map(|&l| l + 64).collect();
    assert!(run(&mut decoder, stream.iter().copied()).is_some());
    // The offset is kept and the message starts over: the next period decodes again.
    assert_eq!(decoder.offset(), Some(64));
    assert!(run(&mut decoder, stream.iter().copied()).is_some());
    decoder.reset();
    assert_eq!(decoder.offset(), None);
    assert!(run(&mut decoder, stream[300..].iter().copied()).is_none());
}

#[test]
fn magic_code_0x08_for_short_messages() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "airkiss-short-total")
        .unwrap();
    assert_eq!(case.magic[0], 8);
    let mut decoder = Decoder::new(None);
    let (decoded, _) = run(&mut decoder, case.repetition.iter().map(|&l| l + 86)).unwrap();
    check(&decoded, &case, &case.password, 86);
}

#[test]
fn encoder_limits() {
    let ok = |s: usize, p: usize| encode(&Params::new(vec![b's'; s], vec![b'p'; p], 1));
    assert!(ok(1, 0).is_ok());
    assert!(ok(32, 64).is_ok());
    assert_eq!(
        ok(0, 8).unwrap_err(),
        EncodeError::Invalid("the SSID is empty")
    );
    assert_eq!(
        ok(33, 8).unwrap_err(),
        EncodeError::TooLong {
            field: "SSID",
            len: 33,
            max: 32
        }
    );
    assert_eq!(
        ok(8, 65).unwrap_err(),
        EncodeError::TooLong {
            field: "password",
            len: 65,
            max: 64
        }
    );
    // The longest encrypted message: 80 + 1 + 32 = 113 bytes.
    let max =
        encode(&Params::new(vec![b's'; 32], vec![b'p'; 64], 1).with_aes_key([3; 16])).unwrap();
    assert_eq!(max.message_len(), airkiss::MAX_MESSAGE_LEN);
    assert_eq!(max.magic_lengths()[..2], [7, 0x11]);
    let mut decoder = Decoder::new(Some([3; 16]));
    let (d, _) = run(&mut decoder, max.one_repetition_lengths()).unwrap();
    assert_eq!(d.password.expose(), &[b'p'; 64][..]);
}

#[test]
fn ack_both_shapes() {
    let mac = [0x24, 0x0a, 0xc4, 0x01, 0x02, 0x03];
    let long = ack_payload(0x42, mac);
    assert_eq!(long, [0x42, 0x24, 0x0a, 0xc4, 0x01, 0x02, 0x03]);
    assert_eq!(parse_ack(&long, 0x42), Some(Some(mac)));
    assert_eq!(parse_ack(&ack_payload_short(0x42), 0x42), Some(None));
    assert_eq!(parse_ack(&[0x42], 0x42), Some(None));
    // Wrong token, wrong sizes.
    assert_eq!(parse_ack(&long, 0x43), None);
    assert_eq!(parse_ack(&[0x43], 0x42), None);
    assert_eq!(parse_ack(&[], 0x42), None);
    assert_eq!(parse_ack(&long[..6], 0x42), None);
    assert_eq!(parse_ack(&[0x42; 8], 0x42), None);
    assert_eq!(parse_ack(&[0x42; 11], 0x42), None);
}

#[test]
fn debug_output_hides_secrets() {
    let params =
        Params::new(b"net".to_vec(), b"hunter22".to_vec(), 9).with_aes_key(*b"KEYKEYKEYKEYKEY!");
    let enc = encode(&params).unwrap();
    let mut decoder = Decoder::new(params.aes_key);
    let decoded = run(&mut decoder, enc.one_repetition_lengths()).unwrap().0;
    assert_eq!(decoded.password.expose(), b"hunter22");
    for text in [
        format!("{params:?}"),
        format!("{enc:?}"),
        format!("{decoder:?}"),
        format!("{decoded:?}"),
    ] {
        assert!(!text.contains("hunter"), "{text}");
        assert!(
            !text.contains("KEY") && !text.contains("75, 69, 89"),
            "{text}"
        );
    }
    // The plaintext data lengths would spell the password: not shown either.
    let plain = encode(&Params::new(b"net".to_vec(), b"hunter22".to_vec(), 9)).unwrap();
    assert!(!format!("{plain:?}").contains(&(0x100 + u16::from(b'h')).to_string()));
}

#[test]
fn decoder_is_send_clone_debug() {
    fn assert_traits<T: Send + Clone + std::fmt::Debug>() {}
    assert_traits::<Decoder>();
    assert_traits::<Params>();
    assert_traits::<airkiss::Encoded>();
}
