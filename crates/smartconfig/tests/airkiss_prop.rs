//! Property tests of the AirKiss codec: random messages round-trip at random offsets, the
//! encoder's symbol classes hold, and arbitrary or mangled length streams never panic the
//! decoder nor produce a message other than the one sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::prelude::*;
use smartconfig::airkiss::{self, Decoder, Params, encode};
use smartconfig::{LengthDecoder, MAX_OFFSET, Protocol, crc8};

/// Any SSID octets (not necessarily UTF-8), any password octets, with or without a key.
fn params() -> impl Strategy<Value = Params> {
    (
        prop::collection::vec(any::<u8>(), 1..=32),
        prop::collection::vec(any::<u8>(), 0..=64),
        prop::option::of(any::<[u8; 16]>()),
        any::<u8>(),
    )
        .prop_map(|(ssid, password, key, token)| {
            let p = Params::new(ssid, password, token);
            match key {
                Some(k) => p.with_aes_key(k),
                None => p,
            }
        })
}

/// An edit of a length stream.
#[derive(Clone, Debug)]
enum Edit {
    Drop(usize),
    Insert(usize, u16),
    Replace(usize, u16),
    Duplicate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        any::<usize>().prop_map(Edit::Drop),
        (any::<usize>(), 0u16..1500).prop_map(|(i, l)| Edit::Insert(i, l)),
        (any::<usize>(), 0u16..1500).prop_map(|(i, l)| Edit::Replace(i, l)),
        any::<usize>().prop_map(Edit::Duplicate),
    ];
    prop::collection::vec(edit, 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_at_any_offset(params in params(), offset in 0..=MAX_OFFSET) {
        let enc = encode(&params).unwrap();
        let period = enc.one_repetition_lengths();
        let mut decoder = Decoder::new(params.aes_key);
        let decoded = period
            .iter()
            .cycle()
            .take(2 * period.len())
            .find_map(|&l| decoder.push(l + offset))
            .expect("decoded within two periods");
        prop_assert_eq!(decoded.protocol, Protocol::AirKiss);
        prop_assert_eq!(decoded.ssid.as_deref(), Some(&params.ssid[..]));
        prop_assert_eq!(decoded.ssid_crc, Some(crc8(&params.ssid)));
        prop_assert_eq!(decoded.password.expose(), params.password.expose());
        prop_assert_eq!(decoded.token, params.token);
        prop_assert_eq!(decoded.offset, offset);
        prop_assert_eq!(decoder.offset(), Some(offset));
    }

    #[test]
    fn encoder_symbol_classes(params in params()) {
        let enc = encode(&params).unwrap();
        let key_extra = if params.aes_key.is_some() {
            params.password.len() / 16 * 16 + 16 - params.password.len()
        } else {
            0
        };
        let pad = if params.password.is_empty() { 0 } else { key_extra };
        let total = params.password.len() + pad + 1 + params.ssid.len();
        prop_assert_eq!(enc.message_len(), total);
        prop_assert!(enc.magic_lengths().iter().zip(0u16..).all(|(&l, tag)| l >> 4 == tag));
        prop_assert!(enc.magic_lengths()[0] >= 1);
        prop_assert!(enc.prefix_lengths().iter().zip(4u16..).all(|(&l, tag)| l >> 4 == tag));
        let data = enc.data_lengths();
        prop_assert_eq!(data.len(), total + 2 * total.div_ceil(4));
        prop_assert!(data.iter().all(|&l| (0x80..=0x1ff).contains(&l)));
        let schedule = enc.schedule();
        prop_assert_eq!(schedule.len(), 200 + 80 + 15 * (4 + data.len()));
        prop_assert!(schedule.iter().all(|t| t.gap_us == airkiss::GAP_US && t.length >= 1));
    }

    #[test]
    fn arbitrary_streams_never_panic(
        stream in prop::collection::vec(any::<u16>(), 0..4000),
        small in prop::collection::vec(0u16..700, 0..4000),
        key in prop::option::of(any::<[u8; 16]>()),
    ) {
        let mut decoder = Decoder::new(key);
        for l in stream.into_iter().chain(small) {
            let _ = decoder.push(l);
            prop_assert!(decoder.offset().is_none_or(|k| k <= MAX_OFFSET));
        }
        let _ = format!("{decoder:?}");
    }

    /// Drop, insert, replace and duplicate lengths anywhere in three periods: the decoder never
    /// panics, and whatever it delivers is the message that was sent.
    #[test]
    fn mangled_streams_deliver_only_the_sent_message(
        params in params(),
        offset in 0..=MAX_OFFSET,
        edits in edits(),
    ) {
        let period = encode(&params).unwrap().one_repetition_lengths();
        let mut stream: Vec<u16> =
            period.iter().cycle().take(3 * period.len()).map(|&l| l + offset).collect();
        for edit in edits {
            let n = stream.len();
            match edit {
                Edit::Drop(i) => { stream.remove(i % n); }
                Edit::Insert(i, l) => stream.insert(i % (n + 1), l),
                Edit::Replace(i, l) => stream[i % n] = l,
                Edit::Duplicate(i) => stream.insert(i % n, stream[i % n]),
            }
        }
        let mut decoder = Decoder::new(params.aes_key);
        for l in stream {
            if let Some(d) = decoder.push(l) {
                prop_assert_eq!(d.ssid.as_deref(), Some(&params.ssid[..]));
                prop_assert_eq!(d.password.expose(), params.password.expose());
                prop_assert_eq!(d.token, params.token);
            }
        }
    }
}
