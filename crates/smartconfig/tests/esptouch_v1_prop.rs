//! ESPTouch v1 properties: encode → shift → decode round trips, and arbitrary input never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod esptouch_v1_support;

use esptouch_v1_support::{Channel, assert_decoded, loop_stream, run};
use proptest::prelude::*;
use smartconfig::esptouch_v1::{ACK_LEN, Decoder, Params, ack_payload, encode, parse_ack};
use smartconfig::{EncodeError, LengthDecoder, MAX_OFFSET};

fn params() -> impl Strategy<Value = Params> {
    (
        proptest::collection::vec(any::<u8>(), 1..=32),
        proptest::collection::vec(any::<u8>(), 0..=64),
        any::<[u8; 6]>(),
        any::<[u8; 4]>(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(ssid, password, bssid, ip, omit)| {
            let mut p = Params::new(ssid, password, bssid, ip);
            p.omit_ssid = omit;
            p
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_at_any_offset(p in params(), k in 0..=MAX_OFFSET) {
        let enc = encode(&p).unwrap();
        prop_assert_eq!(enc.datum.len(), 3 * enc.items());
        prop_assert_eq!(usize::from(enc.token), 9 + p.ssid.len() + p.password.len());
        let pass = 4 + enc.datum.len();
        let mut decoder = Decoder::new();
        let (d, used) = run(&mut decoder, loop_stream(&enc).map(|l| l + k).take(8 * pass))
            .expect("decoded");
        assert_decoded(&d, &p, k);
        if !p.omit_ssid {
            prop_assert_eq!(used, pass);
        }
    }

    #[test]
    fn round_trip_with_loss_and_traffic(p in params(), k in 0..=MAX_OFFSET, seed in any::<u64>()) {
        let mut p = p;
        p.omit_ssid = false;
        let enc = encode(&p).unwrap();
        let channel = Channel { loss: 0.15, duplicate: 0.05, noise: 0.1 };
        let mut decoder = Decoder::new();
        let stream = channel.apply(esptouch_v1_support::app_stream(&enc), k, seed);
        let (d, _) = run(&mut decoder, stream.take(12 * 750)).expect("decoded");
        assert_decoded(&d, &p, k);
    }

    #[test]
    fn arbitrary_lengths_never_panic(lengths in proptest::collection::vec(any::<u16>(), 0..3000)) {
        let mut decoder = Decoder::new();
        for l in lengths {
            let _ = decoder.push(l);
        }
        let _ = format!("{decoder:?}");
        let _ = decoder.expected_items();
    }

    #[test]
    fn code_range_lengths_after_a_lock_never_panic(
        k in 0..=MAX_OFFSET,
        lengths in proptest::collection::vec(0u16..700, 0..4000),
    ) {
        let mut decoder = Decoder::new();
        for g in [512, 513, 514, 515] {
            decoder.push(g + k);
        }
        prop_assert_eq!(decoder.offset(), Some(k));
        for l in lengths {
            if let Some(d) = decoder.push(l + k) {
                // Whatever comes out has passed every check.
                prop_assert!(usize::from(d.token) >= 9 + d.password.len());
            }
        }
    }

    #[test]
    fn oversized_inputs_are_refused(extra_ssid in 33usize..80, extra_pw in 65usize..200) {
        let p = Params::new(vec![b'a'; extra_ssid], b"pw".to_vec(), [0; 6], [1, 2, 3, 4]);
        let refused = matches!(encode(&p), Err(EncodeError::TooLong { field: "SSID", .. }));
        prop_assert!(refused);
        let p = Params::new(b"net".to_vec(), vec![b'p'; extra_pw], [0; 6], [1, 2, 3, 4]);
        let refused = matches!(encode(&p), Err(EncodeError::TooLong { field: "password", .. }));
        prop_assert!(refused);
    }

    #[test]
    fn ack_round_trip(token in any::<u8>(), mac in any::<[u8; 6]>(), ip in any::<[u8; 4]>(),
                      other in any::<u8>(), junk in proptest::collection::vec(any::<u8>(), 0..40)) {
        let ack = ack_payload(token, mac, ip);
        prop_assert_eq!(parse_ack(&ack, token), Some((mac, ip.into())));
        if other != token {
            prop_assert_eq!(parse_ack(&ack, other), None);
        }
        if junk.len() != ACK_LEN {
            prop_assert_eq!(parse_ack(&junk, token), None);
        }
    }
}
