//! ESPTouch v1: reference vectors, schedule, decoder at every link offset, ACK, limits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod esptouch_v1_support;

use std::net::{Ipv4Addr, SocketAddrV4};

use esptouch_v1_support::{app_stream, assert_decoded, cases, encoded, loop_stream, offsets, run};
use smartconfig::esptouch_v1::{
    self, ACK_LEN, ACK_PORT, DATA_PHASE_US, Decoder, GUIDE, GUIDE_PHASE_US, INTERVAL_US, PERIOD_US,
    PORT, Params, ack_payload, ack_targets, data_code, encode, multicast_destination, parse_ack,
    ssid_candidate_matches,
};
use smartconfig::{EncodeError, LengthDecoder, MAX_OFFSET, Protocol, crc8};

#[test]
fn encoder_reproduces_every_vector() {
    for case in cases() {
        let enc = encode(&case.params()).unwrap();
        assert_eq!(enc.guide.to_vec(), case.guide_lengths, "{}", case.name);
        assert_eq!(enc.datum, case.datum_lengths, "{}", case.name);
        assert_eq!(enc.token, case.expected_ack_first_byte, "{}", case.name);
        assert_eq!(enc.token, case.summary.total_len, "{}", case.name);
        assert_eq!(enc.items(), case.summary.data_codes, "{}", case.name);
        assert_eq!(enc.datum.len(), case.summary.udp_packets_per_datum_pass);
        for item in &case.datum_items {
            assert_eq!(crc8(&[item.byte, item.index]), item.crc8_byte_index);
            assert_eq!(
                data_code(item.index, item.byte),
                item.lengths,
                "{}",
                case.name
            );
        }
    }
}

#[test]
fn vector_header_items_match_the_summary() {
    for case in cases() {
        let role = |r: &str| {
            case.datum_items
                .iter()
                .find(|i| i.role == r)
                .map(|i| i.byte)
                .unwrap()
        };
        assert_eq!(role("ssid_crc"), case.summary.ssid_crc8);
        assert_eq!(role("ssid_crc"), crc8(&case.ssid()));
        assert_eq!(role("bssid_crc"), crc8(&case.bssid()));
        assert_eq!(role("xor"), case.summary.xor);
    }
}

#[test]
fn legacy_ssid_sent_equals_the_current_encoder() {
    let all = cases();
    let legacy = all
        .iter()
        .find(|c| c.name == "v1-legacy-ssid-sent")
        .unwrap();
    let current = all.iter().find(|c| c.name == "v1-ascii-basic").unwrap();
    assert_eq!(legacy.datum_lengths, current.datum_lengths);
    let omitted = all.iter().find(|c| c.omits_ssid()).unwrap();
    let enc = encode(&omitted.params()).unwrap();
    // 9 header items + password + 6 BSSID items, no SSID items.
    assert_eq!(enc.items(), 9 + omitted.password().len() + 6);
}

#[test]
fn decoder_recovers_every_vector_at_every_offset() {
    let offsets = offsets();
    for case in cases() {
        let params = case.params();
        let enc = encoded(&params);
        let pass = 4 + enc.datum.len();
        for &k in &offsets {
            // The reference sequence (guide + datum) repeated, shifted by the link offset.
            let mut decoder = Decoder::new();
            let shifted = loop_stream(&enc).map(|l| l + k);
            let (d, used) = run(&mut decoder, shifted.take(8 * pass)).unwrap_or_else(|| {
                panic!("{} not decoded at offset {k}", case.name);
            });
            assert_decoded(&d, &params, k);
            assert_eq!(decoder.offset(), Some(k));
            if params.omit_ssid {
                // Needs every value twice plus three passes of confirmation.
                assert!(used <= 6 * pass, "{}: {used}", case.name);
                assert!(ssid_candidate_matches(&d, &params.ssid));
                assert!(!ssid_candidate_matches(&d, b"OtherNet"));
            } else {
                // Without loss the first complete pass is enough.
                assert_eq!(used, pass, "{} at offset {k}", case.name);
                assert!(ssid_candidate_matches(&d, &params.ssid));
            }
        }
    }
}

#[test]
fn decoder_reads_the_reference_app_schedule() {
    for case in cases() {
        let params = case.params();
        let enc = encoded(&params);
        for k in [0, 80, 82] {
            let mut decoder = Decoder::new();
            let stream = app_stream(&enc).map(|l| l + k);
            let (d, used) = run(&mut decoder, stream.take(3 * 750)).unwrap();
            assert_decoded(&d, &params, k);
            if !params.omit_ssid {
                // 252 guide datagrams, then one pass of data.
                assert_eq!(used, 252 + enc.datum.len(), "{}", case.name);
            }
        }
    }
}

#[test]
fn decoder_starts_over_after_a_message_and_keeps_the_offset() {
    let case = &cases()[0];
    let params = case.params();
    let enc = encoded(&params);
    let mut decoder = Decoder::new();
    let first = run(&mut decoder, loop_stream(&enc).map(|l| l + 80).take(1000)).unwrap();
    assert_eq!(decoder.received_items(), 0);
    assert_eq!(decoder.offset(), Some(80));
    // Without a new guide, one more datum pass gives the message again.
    let again = run(&mut decoder, enc.datum.iter().map(|l| l + 80)).unwrap();
    assert_eq!(again.0, first.0);
    decoder.reset();
    assert_eq!(decoder.offset(), None);
    assert_eq!(run(&mut decoder, enc.datum.iter().map(|l| l + 80)), None);
}

#[test]
fn schedule_is_one_reference_period() {
    let case = &cases()[0];
    let enc = encoded(&case.params());
    let period = enc.schedule();
    assert_eq!(period.len(), 252 + 498);
    assert!(period.iter().all(|t| t.gap_us == INTERVAL_US));
    let total: u64 = period.iter().map(|t| u64::from(t.gap_us)).sum();
    assert_eq!(total, u64::from(PERIOD_US));
    assert_eq!(PERIOD_US, GUIDE_PHASE_US + DATA_PHASE_US);
    let guide: Vec<u16> = period[..252].iter().map(|t| t.length).collect();
    assert!(guide.chunks(4).all(|q| q == GUIDE));
    // Guide phase lasts the first 2 s (whole quartets), data phase the rest.
    assert!(252 * u64::from(INTERVAL_US) >= u64::from(GUIDE_PHASE_US));
    let data: Vec<u16> = period[252..].iter().map(|t| t.length).collect();
    let expected: Vec<u16> = enc.datum.iter().copied().cycle().take(498).collect();
    assert_eq!(data, expected);
    assert_eq!(enc.schedule_period(0), period);
}

#[test]
fn schedule_periods_continue_the_data_where_they_stopped() {
    for case in cases() {
        let enc = encoded(&case.params());
        let mut data = Vec::new();
        for n in 0..9 {
            let p = enc.schedule_period(n);
            assert_eq!(p.len(), 750);
            assert!(
                p[..252]
                    .chunks(4)
                    .all(|q| q.iter().map(|t| t.length).eq(GUIDE))
            );
            data.extend(p[252..].iter().map(|t| t.length));
        }
        let expected: Vec<u16> = enc.datum.iter().copied().cycle().take(data.len()).collect();
        assert_eq!(data, expected, "{}", case.name);
    }
}

#[test]
fn encoder_checks_limits() {
    let ok = Params::new(vec![b'S'; 32], vec![b'p'; 64], [1; 6], [10, 0, 0, 1]);
    assert!(encode(&ok).is_ok());
    let long_ssid = Params::new(vec![b'S'; 33], b"pw".to_vec(), [1; 6], [10, 0, 0, 1]);
    assert_eq!(
        encode(&long_ssid),
        Err(EncodeError::TooLong {
            field: "SSID",
            len: 33,
            max: 32
        })
    );
    let long_pw = Params::new(b"net".to_vec(), vec![0; 65], [1; 6], [10, 0, 0, 1]);
    assert_eq!(
        encode(&long_pw),
        Err(EncodeError::TooLong {
            field: "password",
            len: 65,
            max: 64
        })
    );
    let empty = Params::new(Vec::new(), b"pw".to_vec(), [1; 6], [10, 0, 0, 1]);
    assert!(matches!(encode(&empty), Err(EncodeError::Invalid(_))));
    let open = Params::new(b"net".to_vec(), Vec::new(), [1; 6], [10, 0, 0, 1]);
    assert_eq!(encode(&open).unwrap().token, 12);
}

#[test]
fn constants_match_the_spec() {
    assert_eq!(PORT, 7001);
    assert_eq!(ACK_PORT, 18266);
    assert_eq!(esptouch_v1::BROADCAST, Ipv4Addr::new(255, 255, 255, 255));
    assert_eq!(INTERVAL_US, 8_000);
    assert_eq!(multicast_destination(0), Ipv4Addr::new(234, 1, 1, 1));
    assert_eq!(multicast_destination(99), Ipv4Addr::new(234, 100, 100, 100));
    assert_eq!(multicast_destination(100), Ipv4Addr::new(234, 1, 1, 1));
}

#[test]
fn ack_round_trip_and_rejections() {
    let mac = [0x24, 0x0a, 0xc4, 0x01, 0x02, 0x03];
    let ip = [192, 168, 1, 42];
    let ack = ack_payload(23, mac, ip);
    assert_eq!(ack.len(), ACK_LEN);
    assert_eq!(ack, [23, 0x24, 0x0a, 0xc4, 1, 2, 3, 192, 168, 1, 42]);
    assert_eq!(parse_ack(&ack, 23), Some((mac, Ipv4Addr::from(ip))));
    assert_eq!(parse_ack(&ack, 24), None);
    assert_eq!(parse_ack(&ack[..10], 23), None);
    let mut long = ack.to_vec();
    long.push(0);
    assert_eq!(parse_ack(&long, 23), None);
    assert_eq!(parse_ack(&[], 23), None);
    // The token a decoded message carries is what the phone expects.
    for case in cases() {
        let enc = encoded(&case.params());
        let reply = ack_payload(enc.token, mac, ip);
        assert_eq!(reply[0], case.expected_ack_first_byte);
        assert!(parse_ack(&reply, enc.token).is_some());
    }
    let phone = Ipv4Addr::new(10, 0, 0, 23);
    assert_eq!(
        ack_targets(phone),
        [
            SocketAddrV4::new(phone, 18266),
            SocketAddrV4::new(Ipv4Addr::BROADCAST, 18266)
        ]
    );
}

#[test]
fn guide_quartet_locks_in_any_order_only_inside_the_window() {
    let orders: [[u16; 4]; 4] = [[3, 2, 1, 0], [0, 1, 2, 3], [2, 0, 3, 1], [1, 3, 0, 2]];
    for k in [0, 64, 80, MAX_OFFSET] {
        for order in orders {
            let mut d = Decoder::new();
            for o in order {
                d.push(512 + k + o);
            }
            assert_eq!(d.offset(), Some(k), "{order:?} at {k}");
        }
    }
    // Not distinct, or spanning more than 3: no lock.
    for bad in [
        [515, 514, 514, 512],
        [516, 514, 513, 512],
        [515, 515, 515, 515],
    ] {
        let mut d = Decoder::new();
        bad.iter().for_each(|&l| {
            d.push(l);
        });
        assert_eq!(d.offset(), None, "{bad:?}");
    }
    // Below 512 (AirKiss guide 1..4 + overhead) or above 512 + MAX_OFFSET: never.
    for base in (0..512).chain(512 + MAX_OFFSET + 1..1400) {
        let mut d = Decoder::new();
        for o in [3, 2, 1, 0] {
            d.push(base + o);
        }
        assert_eq!(d.offset(), None, "base {base}");
    }
}

#[test]
fn a_new_guide_offset_restarts_the_session() {
    let case = &cases()[0];
    let params = case.params();
    let enc = encoded(&params);
    let mut d = Decoder::new();
    // Half a pass at offset 80, then the whole thing at offset 84.
    let half = enc.datum.len() / 2;
    let first = enc.guide.iter().chain(&enc.datum[..half]).map(|l| l + 80);
    assert_eq!(run(&mut d, first), None);
    assert!(d.received_items() > 0);
    d.push(515 + 84);
    d.push(514 + 84);
    d.push(513 + 84);
    d.push(512 + 84);
    assert_eq!(d.offset(), Some(84));
    assert_eq!(d.received_items(), 0);
    let (msg, _) = run(&mut d, enc.datum.iter().map(|l| l + 84)).unwrap();
    assert_decoded(&msg, &params, 84);
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let params = Params::new(
        b"Cafe".to_vec(),
        b"hunter22secret".to_vec(),
        [2; 6],
        [10, 1, 2, 3],
    );
    let enc = encode(&params).unwrap();
    let mut d = Decoder::new();
    let half = 4 + enc.datum.len() - 3;
    let stream: Vec<u16> = loop_stream(&enc).take(half).collect();
    assert_eq!(run(&mut d, stream), None);
    let shown = format!("{d:?} {params:?} {enc:?}");
    assert!(!shown.contains("hunter"), "{shown}");
    assert!(!shown.contains("104, 117"), "{shown}"); // "hu" as bytes
    assert!(shown.contains("Decoder"));
    let (msg, _) = run(&mut d, enc.datum[enc.datum.len() - 3..].iter().copied()).unwrap();
    assert!(!format!("{msg:?}").contains("hunter"));
    assert_eq!(msg.password.expose(), b"hunter22secret");
}

#[test]
fn decoder_is_send_clone_debug_and_reports_its_protocol() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    check::<Decoder>();
    check::<Params>();
    let d = Decoder::default();
    assert_eq!(d.protocol(), Protocol::EspTouch);
    assert_eq!(d.expected_items(), None);
    let mut boxed: Box<dyn LengthDecoder + Send> = Box::new(d.clone());
    assert_eq!(boxed.push(515), None);
}
