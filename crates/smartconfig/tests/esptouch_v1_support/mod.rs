//! Shared helpers of the ESPTouch v1 tests: vectors, offsets, streams and channel impairments.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::Deserialize;
use smartconfig::esptouch_v1::{Decoder, Encoded, Params, encode};
use smartconfig::{Decoded, LengthDecoder, Protocol, crc8};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/vectors/smartconfig/"
);

#[derive(Deserialize)]
pub struct File {
    pub cases: Vec<Case>,
}

#[derive(Deserialize)]
pub struct Case {
    pub name: String,
    pub inputs: Inputs,
    pub guide_lengths: Vec<u16>,
    pub datum_lengths: Vec<u16>,
    pub datum_items: Vec<Item>,
    pub summary: Summary,
    pub expected_ack_first_byte: u8,
}

#[derive(Deserialize)]
pub struct Inputs {
    pub ssid_hex: String,
    pub password_hex: String,
    pub bssid: String,
    pub phone_ip: String,
    #[serde(rename = "legacy_isSsidHidden")]
    pub legacy_is_ssid_hidden: Option<bool>,
}

#[derive(Deserialize)]
pub struct Item {
    pub index: u8,
    pub byte: u8,
    pub role: String,
    pub crc8_byte_index: u8,
    pub lengths: [u16; 3],
}

#[derive(Deserialize)]
pub struct Summary {
    pub total_len: u8,
    pub ssid_crc8: u8,
    pub bssid_crc8: u8,
    pub xor: u8,
    pub data_codes: usize,
    pub udp_packets_per_datum_pass: usize,
}

#[derive(Deserialize)]
struct FrameLengths {
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    overhead_with_fcs_ipv4: u16,
    overhead_without_fcs_ipv4: u16,
}

pub fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(format!("{VECTORS}esptouch-v1.json")).unwrap();
    let file: File = serde_json::from_str(&text).unwrap();
    assert_eq!(file.cases.len(), 6);
    file.cases
}

/// Every offset of frame-lengths.json (with and without FCS) plus 0 (UDP socket source).
pub fn offsets() -> Vec<u16> {
    let text = std::fs::read_to_string(format!("{VECTORS}frame-lengths.json")).unwrap();
    let table: FrameLengths = serde_json::from_str(&text).unwrap();
    let mut out = vec![0];
    for row in table.rows {
        out.push(row.overhead_with_fcs_ipv4);
        out.push(row.overhead_without_fcs_ipv4);
    }
    out.sort_unstable();
    out.dedup();
    assert!(out.len() >= 15, "{out:?}");
    out
}

impl Case {
    pub fn ssid(&self) -> Vec<u8> {
        hex::decode(&self.inputs.ssid_hex).unwrap()
    }

    pub fn password(&self) -> Vec<u8> {
        hex::decode(&self.inputs.password_hex).unwrap()
    }

    pub fn bssid(&self) -> [u8; 6] {
        let v: Vec<u8> = self
            .inputs
            .bssid
            .split(':')
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    pub fn phone_ip(&self) -> Ipv4Addr {
        self.inputs.phone_ip.parse().unwrap()
    }

    /// The legacy encoder with `isSsidHidden = false` leaves the SSID out.
    pub fn omits_ssid(&self) -> bool {
        self.inputs.legacy_is_ssid_hidden == Some(false)
    }

    pub fn params(&self) -> Params {
        let mut p = Params::new(
            self.ssid(),
            self.password(),
            self.bssid(),
            self.phone_ip().octets(),
        );
        p.omit_ssid = self.omits_ssid();
        p
    }
}

/// What a decoded message must contain for `params`.
pub fn assert_decoded(d: &Decoded, params: &Params, offset: u16) {
    assert_eq!(d.protocol, Protocol::EspTouch);
    if params.omit_ssid {
        assert_eq!(d.ssid, None);
    } else {
        assert_eq!(d.ssid.as_deref(), Some(params.ssid.as_slice()));
    }
    assert_eq!(d.ssid_crc, Some(crc8(&params.ssid)));
    assert_eq!(d.password.expose(), params.password.expose());
    assert_eq!(d.bssid, Some(params.bssid));
    assert_eq!(d.bssid_crc, None);
    let total = 9 + params.ssid.len() + params.password.len();
    assert_eq!(usize::from(d.token), total);
    assert_eq!(
        d.phone_ip,
        Some(IpAddr::V4(Ipv4Addr::from(params.phone_ip)))
    );
    assert!(!d.ipv6);
    assert!(d.reserved.is_empty());
    assert_eq!(d.offset, offset);
}

/// Feeds `lengths` until a message comes out; returns it with the number of lengths consumed.
pub fn run(
    decoder: &mut Decoder,
    lengths: impl IntoIterator<Item = u16>,
) -> Option<(Decoded, usize)> {
    for (n, length) in lengths.into_iter().enumerate() {
        if let Some(d) = decoder.push(length) {
            return Some((d, n + 1));
        }
    }
    None
}

/// The reference apps' transmission (6-s periods, data continuing across periods), endless.
pub fn app_stream(encoded: &Encoded) -> impl Iterator<Item = u16> + '_ {
    (0u64..).flat_map(move |period| {
        encoded
            .schedule_period(period)
            .into_iter()
            .map(|t| t.length)
    })
}

/// A simple third-party sender: guide quartet + whole datum, looped.
pub fn loop_stream(encoded: &Encoded) -> impl Iterator<Item = u16> + '_ {
    std::iter::repeat_with(move || encoded.guide.iter().chain(&encoded.datum).copied()).flatten()
}

/// A lossy, duplicating, noisy link.
#[derive(Clone, Copy, Debug, Default)]
pub struct Channel {
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a delivered datagram is delivered twice in a row.
    pub duplicate: f64,
    /// Probability that an unrelated length (uniform 0..1500, already a frame length) is
    /// inserted before a datagram.
    pub noise: f64,
}

fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    (f64::from(rng.next_u32()) / f64::from(u32::MAX)) < p
}

impl Channel {
    /// Applies the channel to payload lengths and adds `offset`.
    pub fn apply<'a>(
        self,
        lengths: impl Iterator<Item = u16> + 'a,
        offset: u16,
        seed: u64,
    ) -> impl Iterator<Item = u16> + 'a {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        lengths.flat_map(move |l| {
            let mut out = Vec::with_capacity(3);
            if chance(&mut rng, self.noise) {
                out.push((rng.next_u32() % 1500) as u16);
            }
            if !chance(&mut rng, self.loss) {
                out.push(l + offset);
                if chance(&mut rng, self.duplicate) {
                    out.push(l + offset);
                }
            }
            out
        })
    }
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn encoded(params: &Params) -> Encoded {
    encode(params).unwrap()
}
