//! Property tests: encode → shift → decode round trips for arbitrary inputs, and arbitrary
//! length streams never panic.

use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use smartconfig::esptouch_v2::{self, AesKey, Decoder, Params, Security};
use smartconfig::{LengthDecoder, MAX_OFFSET, crc8};

#[derive(Clone, Debug)]
enum Crypto {
    Plain,
    ZeroIv([u8; 16]),
    RandomIv([u8; 16]),
}

fn crypto() -> impl Strategy<Value = Crypto> {
    prop_oneof![
        Just(Crypto::Plain),
        any::<[u8; 16]>().prop_map(Crypto::ZeroIv),
        any::<[u8; 16]>().prop_map(Crypto::RandomIv),
    ]
}

/// Bytes that are sometimes 7-bit clean (so both group widths and the combined segment occur).
fn bytes(range: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), range.clone()),
        proptest::collection::vec(0u8..0x80, range),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip(
        ssid in bytes(1..=32),
        send_ssid in any::<bool>(),
        password in bytes(0..=64),
        reserved in bytes(0..=64),
        bssid in any::<[u8; 6]>(),
        crypto in crypto(),
        ipv6 in any::<bool>(),
        port_mark in 0u8..4,
        offset in 0..=MAX_OFFSET,
        seed in any::<u64>(),
    ) {
        let mut params = Params::new(ssid.clone(), password.clone(), bssid);
        params.send_ssid = send_ssid;
        params.reserved = reserved.clone();
        params.ipv6 = ipv6;
        params.port_mark = port_mark;
        let key = match crypto {
            Crypto::Plain => None,
            Crypto::ZeroIv(k) => {
                params.security = Security::AesZeroIv(AesKey::new(k));
                Some(k)
            }
            Crypto::RandomIv(k) => {
                params.security = Security::AesRandomIv(AesKey::new(k));
                Some(k)
            }
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let encoded = esptouch_v2::encode(&params, &mut |buf: &mut [u8]| rng.fill_bytes(buf)).unwrap();
        let n = encoded.lengths().len();
        prop_assert_eq!(n, 12 + 11 * (usize::from(encoded.group_count()) - 1));
        prop_assert!(encoded.group_count() <= esptouch_v2::MAX_GROUPS);

        let mut decoder = Decoder::new(key);
        let mut got = Vec::new();
        for (i, &l) in encoded.lengths().iter().cycle().take(2 * n).enumerate() {
            if let Some(d) = decoder.push(l + offset) {
                got.push((i, d));
            }
        }
        prop_assert_eq!(got.len(), 2);
        prop_assert_eq!(got[0].0, n - 1);
        let d = &got[0].1;
        let expected_ssid = (send_ssid && !ssid.is_empty()).then_some(ssid);
        prop_assert_eq!(&d.ssid, &expected_ssid);
        prop_assert_eq!(d.password.expose(), &password[..]);
        prop_assert_eq!(&d.reserved, &reserved);
        prop_assert_eq!(d.bssid_crc, Some(crc8(&bssid)));
        prop_assert_eq!(d.token, port_mark);
        prop_assert_eq!(d.ipv6, ipv6);
        prop_assert_eq!(d.offset, offset);
    }

    #[test]
    fn arbitrary_streams_never_panic(
        lengths in proptest::collection::vec(any::<u16>(), 0..3000),
        key in proptest::option::of(any::<[u8; 16]>()),
    ) {
        let mut decoder = Decoder::new(key);
        for &l in &lengths {
            let _ = decoder.push(l);
        }
        let _ = format!("{decoder:?}");
        decoder.reset();
        prop_assert_eq!(decoder.offset(), None);
    }

    #[test]
    fn protocol_shaped_streams_never_panic(
        offset in 0..=MAX_OFFSET,
        groups in 1u16..=41,
        picks in proptest::collection::vec((0u8..6, any::<u16>()), 0..4000),
    ) {
        // Lengths drawn from the v2 classes at one offset, in random order: exercises locking,
        // runs, passes, votes and header handling with wildly inconsistent data.
        let mut decoder = Decoder::new(None);
        for (class, r) in picks {
            let l = match class {
                0 => 1048,
                1 => 1071 + groups,
                2 => 1071 + 1 + r % 41,
                3 => 128 + r % 40,
                _ => 128 * (r % 8) + 64 + (r >> 3) % 64,
            };
            if let Some(d) = decoder.push(l + offset) {
                // Whatever comes out must at least be self-consistent.
                prop_assert!(d.password.len() <= 64 && d.reserved.len() <= 64);
                prop_assert!(d.ssid.as_ref().is_none_or(|s| !s.is_empty() && s.len() <= 32));
            }
        }
    }

    #[test]
    fn reference_stream_with_garbage_still_decodes(
        seed in any::<u64>(),
        offset in 0..=MAX_OFFSET,
    ) {
        // A valid 8-byte-password session with random garbage inserted between cycles.
        let params = Params::new(b"Garbage".to_vec(), b"pass1234".to_vec(), [1, 2, 3, 4, 5, 6]);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let encoded = esptouch_v2::encode(&params, &mut |b: &mut [u8]| rng.fill_bytes(b)).unwrap();
        let mut decoder = Decoder::new(None);
        let mut found = None;
        for _ in 0..6 {
            for _ in 0..(rng.next_u32() % 50) {
                let _ = decoder.push((rng.next_u32() % 2000) as u16);
            }
            for &l in encoded.lengths() {
                if let Some(d) = decoder.push(l + offset) {
                    found.get_or_insert(d);
                }
            }
        }
        let d = found.expect("decoded within 6 cycles");
        prop_assert_eq!(d.password.expose(), b"pass1234");
        prop_assert_eq!(d.ssid.as_deref(), Some(&b"Garbage"[..]));
    }
}
