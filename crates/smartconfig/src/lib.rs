//! SmartConfig: ESPTouch v1, ESPTouch v2 and AirKiss.
//!
//! A phone that is on the target network sends UDP datagrams whose *lengths* encode the
//! credentials; a device without a network sniffs the (encrypted) frames and reads the lengths
//! back, minus an unknown per-link constant offset. This crate implements both ends:
//!
//! * the codecs ([`esptouch_v1`], [`esptouch_v2`], [`airkiss`]), `no_std` + `alloc`: encoders
//!   that produce the exact length sequences of the reference senders (randomness injectable),
//!   and streaming decoders ([`LengthDecoder`]) that learn the offset from the guide/leading
//!   pattern and survive loss, duplicates and interleaved traffic;
//! * the shared vocabulary: [`Observation`], [`Decoded`], [`ScType`], [`Protocol`], [`crc8`].
//!
//! The specification followed is `shared/spec/smartconfig.md`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod airkiss;
#[cfg(feature = "net")]
pub mod api;
mod crc;
pub mod esptouch_v1;
pub mod esptouch_v2;
pub mod frame;
#[cfg(feature = "monitor")]
pub mod monitor;
#[cfg(feature = "net")]
pub mod net;
#[cfg(feature = "std")]
pub mod pcap;
pub mod receiver;
mod types;

pub use crc::{crc8, crc8_update};
pub use types::*;
