//! ESPTouch v1 (Espressif's original SmartConfig code, spec §2).
//!
//! * [`encode`] turns SSID, password, BSSID and the phone's IPv4 address into the guide quartet and
//!   the datum length list of the reference phone apps; [`Encoded::schedule`] lays them out in
//!   time (guide 2 s, data 4 s, one datagram every 8 ms) for a UDP sender.
//! * [`Decoder`] is the device side for one link: it learns the length offset from one guide
//!   quartet, reads the self-checking items (a triplet, or its two halves caught in different
//!   passes), accumulates bytes across passes in any order and validates the whole message
//!   (CRC-8 of SSID and BSSID, XOR check byte).
//! * [`ack_payload`] / [`parse_ack`] build and read the 11-byte reply the device sends to the
//!   phone on [`ACK_PORT`] once it has joined the network.
//!
//! # Lengths
//!
//! One datum item (index `i`, byte `b`, `c = CRC8([b, i])`) is sent as three datagrams of
//! lengths `40 + 16·hi(c) + hi(b)`, `296 + i` and `40 + 16·lo(c) + lo(b)`. The items are
//! `[T, p, CRC8(SSID), CRC8(BSSID), X, phone IPv4 (4), password (p), SSID (s), BSSID (6)]` with
//! `T = 9 + p + s` and `X` the XOR of every item before the BSSID except itself; BSSID items are
//! interleaved into the transmission order (see [`encode`]).
//!
//! A legacy sender variant leaves the SSID items out (`T` still counts them, the BSSID items then
//! take indices `9 + p ..`); the decoder reports such a message with `ssid: None` and the SSID's
//! CRC, and [`ssid_candidate_matches`] checks a scanned SSID against it.

mod ack;
mod decode;
mod encode;

pub use ack::{ACK_LEN, ack_payload, ack_targets, parse_ack};
pub use decode::{Decoder, ssid_candidate_matches};
pub use encode::{
    DATA_STEPS_PER_PERIOD, Encoded, GUIDE_QUARTETS_PER_PERIOD, Params, data_code, encode,
};

use core::net::Ipv4Addr;

/// UDP destination port of the length-coded datagrams.
pub const PORT: u16 = 7001;

/// UDP port the phone listens on for the device's reply.
pub const ACK_PORT: u16 = 18266;

/// Destination of the datagrams in the reference Android app's default (broadcast) mode.
pub const BROADCAST: Ipv4Addr = Ipv4Addr::BROADCAST;

/// The guide quartet, in the order the reference apps send it.
pub const GUIDE: [u16; 4] = [515, 514, 513, 512];

/// The smallest guide length; the learned offset is `min(quartet) − GUIDE_BASE`.
pub const GUIDE_BASE: u16 = 512;

/// Added to every nibble datagram (so lengths stay away from tiny values).
pub const NIBBLE_BASE: u16 = 40;

/// Length of the index datagram of item 0 (`NIBBLE_BASE + 256`).
pub const INDEX_BASE: u16 = NIBBLE_BASE + 256;

/// The largest SSID the sender accepts, in bytes.
pub const MAX_SSID_LEN: usize = 32;

/// The largest password the sender accepts, in bytes.
pub const MAX_PASSWORD_LEN: usize = 64;

/// The largest item index the index datagram can carry.
pub const MAX_INDEX: u8 = 127;

/// Pause after every datagram, guide and data alike (8 ms).
pub const INTERVAL_US: u32 = 8_000;

/// Length of the guide phase of each period (2 s).
pub const GUIDE_PHASE_US: u32 = 2_000_000;

/// Length of the data phase of each period (4 s).
pub const DATA_PHASE_US: u32 = 4_000_000;

/// One period of the reference schedule (guide + data, 6 s).
pub const PERIOD_US: u32 = GUIDE_PHASE_US + DATA_PHASE_US;

/// How long the reference apps keep sending (45 s).
pub const SEND_DURATION_US: u64 = 45_000_000;

/// How long the reference apps wait for replies in total, sending included (60 s).
pub const LISTEN_DURATION_US: u64 = 60_000_000;

/// The multicast destination the reference apps use for datagram number `n` (0-based) in their
/// optional multicast mode: `234.N.N.N` with `N = 1 + n mod 100`.
pub fn multicast_destination(n: u64) -> Ipv4Addr {
    // `n % 100` < 100, so the conversion cannot fail; 1 is a harmless fallback.
    let k = u8::try_from(n % 100).map_or(1, |v| v + 1);
    Ipv4Addr::new(234, k, k, k)
}
