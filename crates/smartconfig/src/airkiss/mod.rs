//! AirKiss (WeChat): length encoder, streaming decoder, AES helpers and the reply.
//!
//! The message is `password' ‖ token ‖ SSID`, where `password'` is the password or, when sender
//! and device agreed on a key out of band, its AES-128-CBC ciphertext (key = IV, PKCS#7). It is
//! sent as 9-bit datagram lengths: a leading field (1, 2, 3, 4 repeated) from which a sniffer
//! learns the length offset, a magic code (total length and SSID CRC), a prefix code (password
//! length and its CRC) and 4-byte blocks, each protected by a 7-bit CRC and carrying its index,
//! so blocks accumulate across repetitions in any order (spec §4).
//!
//! * [`encode`] turns [`Params`] into the exact lengths of the reference sender ([`Encoded`]),
//!   with [`Encoded::schedule`] giving one full period with its pacing.
//! * [`Decoder`] is the [`LengthDecoder`](crate::LengthDecoder) for one link.
//! * [`ack_payload`] / [`parse_ack`] build and read the device's reply.
//!
//! # Encryption without a key
//!
//! Nothing on the air says whether the password part is encrypted. A [`Decoder`] built without a
//! key therefore delivers the password part as it was received: for a sender that encrypted it,
//! [`Decoded::password`](crate::Decoded::password) holds the ciphertext (a multiple of 16 bytes)
//! and can be decrypted later with [`decrypt_password`]. A [`Decoder`] built with a key accepts
//! only messages whose password part is valid ciphertext under that key (empty, or a multiple of
//! 16 bytes with correct padding) and silently drops the others, as if the CRCs had failed.

use core::net::Ipv4Addr;

mod ack;
mod crypto;
mod decode;
mod encode;
mod framer;
mod guide;
mod store;

pub use ack::{ack_payload, ack_payload_short, parse_ack};
pub use crypto::{decrypt_password, encrypt_password, key_from_bytes};
pub use decode::Decoder;
pub use encode::{Encoded, Params, encode};
pub use guide::guide_offset;

/// Where the sender broadcasts its datagrams.
pub const DESTINATION: Ipv4Addr = Ipv4Addr::BROADCAST;

/// UDP destination port of the sender's datagrams. ESP-IDF devices also listen on it for one
/// datagram after joining, to learn the phone's address before replying (spec §4.1, §6.3).
pub const PORT: u16 = 10001;

/// UDP port the sender listens on for the device's reply.
pub const REPLY_PORT: u16 = 10000;

/// Pause between two datagrams of the reference sender, in microseconds (4 ms).
pub const GAP_US: u32 = 4_000;

/// How many times the reference sender repeats the leading quartet `1, 2, 3, 4` per period.
pub const LEADING_REPEATS: usize = 50;

/// How many times the reference sender repeats the magic code per period.
pub const MAGIC_REPEATS: usize = 20;

/// How many times the reference sender repeats prefix code + blocks per period.
pub const DATA_REPEATS: usize = 15;

/// How many periods the reference sender transmits before it gives up.
pub const REFERENCE_PERIODS: usize = 5;

/// Longest SSID the encoder accepts, in bytes.
pub const MAX_SSID_LEN: usize = 32;

/// Longest password the encoder accepts, in bytes (before encryption).
pub const MAX_PASSWORD_LEN: usize = 64;

/// Longest password part on the air: a 64-byte password encrypted with PKCS#7 padding.
pub const MAX_PASSWORD_PART_LEN: usize = 80;

/// Longest message (`password' ‖ token ‖ SSID`) the decoder accepts.
pub const MAX_MESSAGE_LEN: usize = MAX_PASSWORD_PART_LEN + 1 + MAX_SSID_LEN;

/// Most blocks a message can have.
pub const MAX_BLOCKS: usize = MAX_MESSAGE_LEN.div_ceil(4);

/// Largest raw (observed) length that can belong to the leading field: `4 + MAX_OFFSET`.
///
/// Lengths above it never take part in offset learning, so ESPTouch traffic (≥ 512 + offset)
/// cannot lock an AirKiss decoder (spec §5).
pub const MAX_GUIDE_LENGTH: u16 = 4 + crate::MAX_OFFSET;
