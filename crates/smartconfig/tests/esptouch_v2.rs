//! ESPTouch v2 against the reference vectors: encoder byte-identity, decoding at every offset,
//! AES with and without the key, limits, timing, redaction and the acknowledgement.

#[path = "esptouch_v2_support.rs"]
mod support;

use smartconfig::esptouch_v2::{
    self, AesKey, Decoder, Params, Security, ack_payload, ack_port, interval_at, parse_ack,
};
use smartconfig::{EncodeError, LengthDecoder, Protocol, Secret, Transmit};
use support::{assert_matches, cases, encode_case, feed, offsets, stream};

#[test]
fn encoder_reproduces_every_reference_cycle() {
    for case in cases() {
        let encoded = encode_case(&case);
        assert_eq!(encoded.lengths(), &case.lengths[..], "{}", case.name);
        assert_eq!(encoded.group_count(), case.groups, "{}", case.name);
        assert_eq!(
            encoded.lengths().len(),
            12 + 11 * (usize::from(case.groups) - 1),
            "{}",
            case.name
        );
    }
}

#[test]
fn decoder_recovers_every_case_at_every_offset() {
    let offsets = offsets();
    for case in cases() {
        let cycle = &case.lengths;
        for &k in &offsets {
            let mut decoder = Decoder::new(case.key);
            let got = feed(&mut decoder, &stream(cycle, k, 3));
            // One message per cycle, each completed by the cycle's last datagram.
            let ends: Vec<usize> = got.iter().map(|(i, _)| *i).collect();
            let n = cycle.len();
            assert_eq!(
                ends,
                [n - 1, 2 * n - 1, 3 * n - 1],
                "{} at K={k}",
                case.name
            );
            for (_, decoded) in &got {
                assert_matches(decoded, &case, k);
            }
            assert_eq!(decoder.offset(), Some(k));
            assert_eq!(decoder.group_count(), Some(case.groups));
        }
    }
}

#[test]
fn decoder_starts_anywhere_in_the_cycle() {
    for case in cases() {
        let n = case.lengths.len();
        for start in 0..n {
            let mut decoder = Decoder::new(case.key);
            let full = stream(&case.lengths, 80, 3);
            let got = feed(&mut decoder, &full[start..]);
            let (at, decoded) = got
                .first()
                .unwrap_or_else(|| panic!("{} from {start}", case.name));
            assert_matches(decoded, &case, 80);
            // Locking needs three of the four sync/count datagrams; the rest follows in order.
            assert!(
                start + at < 2 * n,
                "{} from {start}: done at {at}",
                case.name
            );
        }
    }
}

#[test]
fn encrypted_cases_need_the_right_key() {
    for case in cases().into_iter().filter(|c| c.encrypted) {
        let lengths = stream(&case.lengths, 82, 20);
        let mut no_key = Decoder::new(None);
        assert!(feed(&mut no_key, &lengths).is_empty(), "{}", case.name);
        assert!(no_key.key_required(), "{}", case.name);

        let mut key = case.key.unwrap();
        key[15] ^= 1;
        let mut wrong = Decoder::new(Some(key));
        assert!(feed(&mut wrong, &lengths).is_empty(), "{}", case.name);
        assert!(!wrong.key_required());
        assert_eq!(wrong.decrypt_failures(), 20, "{}", case.name);

        let mut right = Decoder::new(case.key);
        assert_eq!(feed(&mut right, &lengths).len(), 20, "{}", case.name);
        assert_eq!(right.decrypt_failures(), 0);
    }
}

#[test]
fn a_key_does_not_block_plaintext_sessions() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "v2-ascii-basic")
        .unwrap();
    let mut decoder = Decoder::new(Some([9; 16]));
    let got = feed(&mut decoder, &stream(&case.lengths, 0, 1));
    assert_eq!(got.len(), 1);
    assert_matches(&got[0].1, &case, 0);
}

#[test]
fn key_without_data_falls_back_to_plaintext() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "v2-aes-key-but-nothing-to-encrypt")
        .unwrap();
    assert!(case.key.is_some() && !case.encrypted);
    let mut decoder = Decoder::new(None);
    let got = feed(&mut decoder, &stream(&case.lengths, 66, 1));
    assert_matches(&got[0].1, &case, 66);
}

#[test]
fn reset_forgets_the_offset() {
    let case = &cases()[0];
    let mut decoder = Decoder::default();
    assert_eq!(decoder.protocol(), Protocol::EspTouchV2);
    assert_eq!(decoder.offset(), None);
    assert_eq!(decoder.progress(), None);
    let lengths = stream(&case.lengths, 84, 1);
    assert!(feed(&mut decoder, &lengths[..20]).is_empty());
    assert_eq!(decoder.offset(), Some(84));
    let progress = decoder.progress().unwrap();
    assert!(progress.header && progress.groups_valid == 1 && !progress.confirming);
    assert_eq!(progress.groups_total, case.groups);
    decoder.reset();
    assert_eq!(decoder.offset(), None);
    // Cut off mid-cycle: the rest of that cycle alone is not enough.
    assert!(feed(&mut decoder, &lengths[20..]).is_empty());
}

#[test]
fn a_new_session_replaces_the_old_one() {
    let all = cases();
    let a = &all[0]; // MyWiFi / 12345678, N = 4
    let b = all
        .iter()
        .find(|c| c.name == "v2-ssid-omitted-visible-ap")
        .unwrap(); // N = 3
    let mut decoder = Decoder::new(None);
    // Half of session A, then session B: the new (K, N) pattern restarts the session.
    let mut lengths = stream(&a.lengths[..30], 80, 1);
    lengths.extend(stream(&b.lengths, 80, 1));
    let got = feed(&mut decoder, &lengths);
    assert_eq!(got.len(), 1);
    assert_matches(&got[0].1, b, 80);
}

#[test]
fn limits_are_enforced() {
    let ok = Params::new(vec![b'S'; 32], vec![b'p'; 64], [1; 6]);
    assert!(esptouch_v2::encode(&ok, &mut |b: &mut [u8]| b.fill(1)).is_ok());
    let mut p = ok.clone();
    p.ssid.push(b'S');
    assert_eq!(
        esptouch_v2::encode(&p, &mut |_: &mut [u8]| {}),
        Err(EncodeError::TooLong {
            field: "ssid",
            len: 33,
            max: 32
        })
    );
    // An SSID that is not sent is not limited.
    p.send_ssid = false;
    assert!(esptouch_v2::encode(&p, &mut |_: &mut [u8]| {}).is_ok());
    let mut p = ok.clone();
    p.password = Secret::new(vec![b'p'; 65]);
    assert!(matches!(
        esptouch_v2::encode(&p, &mut |_: &mut [u8]| {}),
        Err(EncodeError::TooLong {
            field: "password",
            len: 65,
            max: 64
        })
    ));
    let mut p = ok.clone();
    p.reserved = vec![0; 65];
    assert!(matches!(
        esptouch_v2::encode(&p, &mut |_: &mut [u8]| {}),
        Err(EncodeError::TooLong { max: 64, .. })
    ));
    let mut p = ok;
    p.port_mark = 4;
    assert!(matches!(
        esptouch_v2::encode(&p, &mut |_: &mut [u8]| {}),
        Err(EncodeError::Invalid(_))
    ));
}

#[test]
fn worst_case_fills_all_41_groups() {
    let mut p = Params::new(vec![0xc3; 32], vec![0xfc; 64], [2; 6]);
    p.reserved = vec![0x80; 64];
    p.security = Security::AesRandomIv(AesKey::new([5; 16]));
    let mut counter = 0u8;
    let encoded = esptouch_v2::encode(&p, &mut |b: &mut [u8]| {
        for x in b {
            counter = counter.wrapping_add(37);
            *x = counter;
        }
    })
    .unwrap();
    assert_eq!(encoded.group_count(), 41);
    assert!(encoded.lengths().contains(&(1071 + 41)));
    assert!(encoded.lengths().contains(&(128 + 39)));
    assert!(encoded.lengths().iter().all(|l| (64..=1112).contains(l)));
    let mut decoder = Decoder::new(Some([5; 16]));
    let got = feed(&mut decoder, &stream(encoded.lengths(), 160, 1));
    let decoded = &got[0].1;
    assert_eq!(decoded.ssid.as_deref(), Some(&[0xc3; 32][..]));
    assert_eq!(decoded.password.expose(), &[0xfc; 64][..]);
    assert_eq!(decoded.reserved, vec![0x80; 64]);
    assert_eq!(decoded.offset, 160);
}

#[test]
fn padding_uses_seven_bits_and_redraws_127() {
    // Password "abc" leaves three padding bytes in its 6-byte group; the SSID needs none.
    let p = Params::new(b"abcdef".to_vec(), b"abc".to_vec(), [0; 6]);
    let run = |draws: &[u8]| {
        let mut asked = Vec::new();
        let mut it = draws.iter();
        let encoded = esptouch_v2::encode(&p, &mut |buf: &mut [u8]| {
            asked.push(buf.len());
            buf.fill(*it.next().unwrap());
        })
        .unwrap();
        assert_eq!(it.next(), None, "all draws used");
        (encoded, asked)
    };
    // 0xff → 127 → redrawn → 0x85 → 5; 0x7f → redrawn → 0x11; 0x00.
    let (a, asked) = run(&[0xff, 0x85, 0x7f, 0x11, 0x00]);
    assert_eq!(asked, [1, 1, 1, 1, 1]);
    let (b, _) = run(&[5, 0x11, 0]);
    let (c, _) = run(&[5, 0x11, 1]);
    assert_eq!(a.lengths(), b.lengths());
    assert_ne!(b.lengths(), c.lengths());
    // Padding never reaches the decoded message.
    let mut decoder = Decoder::new(None);
    let got = feed(&mut decoder, &stream(c.lengths(), 0, 1));
    assert_eq!(got[0].1.password.expose(), b"abc");
}

#[test]
fn schedule_follows_the_reference_pacing() {
    let case = &cases()[0];
    let encoded = encode_case(case);
    let fast = encoded.schedule();
    let lengths: Vec<u16> = fast.iter().map(|t| t.length).collect();
    assert_eq!(lengths, case.lengths);
    let (last, rest) = fast.split_last().unwrap();
    assert!(rest.iter().all(|t| t.gap_us == 15_000));
    assert_eq!(last.gap_us, 30_000);
    let slow = encoded.slow_schedule();
    assert!(slow[..slow.len() - 1].iter().all(|t| t.gap_us == 100_000));
    assert_eq!(slow.last().unwrap().gap_us, 200_000);
    assert_eq!(interval_at(0), Some(15_000));
    assert_eq!(interval_at(45_000_000), Some(15_000));
    assert_eq!(interval_at(45_000_001), Some(100_000));
    assert_eq!(interval_at(90_000_001), None);
    assert_eq!(
        esptouch_v2::sync_transmit(),
        Transmit {
            length: 1048,
            gap_us: 100_000
        }
    );
    assert_eq!(esptouch_v2::DEVICE_PORT, 7001);
    assert_eq!(esptouch_v2::APP_PORTS, [18266, 28266, 38266, 48266]);
}

#[test]
fn secrets_stay_out_of_debug() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "v2-aes-security2")
        .unwrap();
    let params = case.params();
    let text = format!("{params:?}");
    assert!(
        !text.contains("12345678") && !text.contains("49, 50, 51"),
        "{text}"
    );
    assert!(
        !text.contains("hello") && !text.contains("104, 101"),
        "{text}"
    );
    let encoded = encode_case(&case);
    let text = format!("{encoded:?}");
    assert!(!text.contains(&case.lengths[20].to_string()), "{text}");
    let mut decoder = Decoder::new(case.key);
    let lengths = stream(&case.lengths, 80, 1);
    feed(&mut decoder, &lengths[..lengths.len() - 1]);
    let text = format!("{decoder:?}");
    assert!(!text.contains("49") && text.contains("redacted"), "{text}");
    let got = decoder.push(*lengths.last().unwrap()).unwrap();
    assert!(!format!("{got:?}").contains("12345678"));
}

#[test]
fn acknowledgement_build_and_parse() {
    let mac = [0x24, 0x0a, 0xc4, 0x00, 0x11, 0x22];
    for case in cases() {
        assert_eq!(ack_port(case.port_mark), case.ack_port);
    }
    for mark in 0..4u8 {
        let payload = ack_payload(mark, mac);
        assert_eq!(payload.len(), 7);
        assert_eq!(payload[0], mark);
        assert_eq!(parse_ack(&payload), Some((mark, mac)));
        assert_eq!(ack_port(mark), 18266 + 10_000 * u16::from(mark));
    }
    let mut longer = ack_payload(1, mac).to_vec();
    longer.extend_from_slice(&[192, 168, 1, 7]);
    assert_eq!(parse_ack(&longer), Some((1, mac)));
    assert_eq!(parse_ack(&longer[..6]), None);
    assert_eq!(parse_ack(&[]), None);
}

#[test]
fn header_only_session() {
    // No SSID on the air, no password, no reserved data: the header is the whole message.
    let mut p = Params::new(b"Hidden".to_vec(), Vec::new(), [7; 6]);
    p.send_ssid = false;
    p.port_mark = 3;
    p.ipv6 = true;
    let encoded = esptouch_v2::encode(&p, &mut |_: &mut [u8]| unreachable!()).unwrap();
    assert_eq!(encoded.group_count(), 1);
    assert_eq!(encoded.lengths()[..4], [1048, 1072, 1048, 1072]);
    assert_eq!(encoded.lengths().len(), 12);
    let mut decoder = Decoder::new(None);
    let got = feed(&mut decoder, &stream(encoded.lengths(), 90, 2));
    assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [11, 23]);
    let d = &got[0].1;
    assert_eq!(d.ssid, None);
    assert!(d.password.is_empty() && d.reserved.is_empty());
    assert_eq!(d.token, 3);
    assert!(d.ipv6);
    assert_eq!(d.bssid_crc, Some(smartconfig::crc8(&[7; 6])));
}

#[test]
fn aes_key_from_slice() {
    assert!(AesKey::from_slice(b"1234567890abcdef").is_some());
    assert!(AesKey::from_slice(b"1234567890abcde").is_none());
    assert!(AesKey::from_slice(&[0; 17]).is_none());
    assert_eq!(AesKey::from([3; 16]).expose(), &[3; 16]);
}

#[test]
fn decoder_is_send_clone_debug() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug + 'static>(_: &T) {}
    let mut decoder = Decoder::new(Some([1; 16]));
    check(&decoder);
    let case = &cases()[0];
    let lengths = stream(&case.lengths, 70, 1);
    feed(&mut decoder, &lengths[..40]);
    // A clone carries the session on independently.
    let mut copy = decoder.clone();
    assert_eq!(feed(&mut copy, &lengths[40..]).len(), 1);
    assert_eq!(feed(&mut decoder, &lengths[40..]).len(), 1);
}
