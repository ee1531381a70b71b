//! Protobuf messages of ESP-IDF unified provisioning (protocomm + wifi_provisioning).
//!
//! Every message, enum and field of `constants.proto`, `session.proto`, `sec0.proto`,
//! `sec1.proto`, `sec2.proto`, `wifi_constants.proto`, `wifi_config.proto`, `wifi_scan.proto`
//! and `wifi_ctrl.proto`, declared directly with `prost`'s derive macros so that no `protoc` is
//! needed at build time. The `.proto` files declare no package, so the Rust modules here are
//! named after the files.
//!
//! Wire facts worth knowing (all reproduced by these types):
//!
//! * proto3 implicit presence: zero values (`Status::Success`, `msg = 0`, `Connected`, `Open`)
//!   are not emitted.
//! * `oneof` members have explicit presence: a set member is emitted even when it is an empty
//!   message (`52 00`) or a zero enum (`fail_reason = AuthError` → `50 00`).
//! * Enum fields are carried as `i32` so that unknown values (ESP-IDF auth modes ≥ 8) survive a
//!   decode/encode round trip; use the generated `try_from` helpers to interpret them.
//! * Fields that hold secrets (passphrases) are redacted in `Debug` output.
//!
//! ```
//! use prost::Message;
//! use wifiprov_proto::wifi_config::{wi_fi_config_payload::Payload, CmdGetStatus, WiFiConfigPayload};
//!
//! let get_status = WiFiConfigPayload {
//!     msg: 0,
//!     payload: Some(Payload::CmdGetStatus(CmdGetStatus {})),
//! };
//! assert_eq!(get_status.encode_to_vec(), [0x52, 0x00]);
//! ```
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod constants;
pub mod sec0;
pub mod sec1;
pub mod sec2;
pub mod session;
pub mod wifi_config;
pub mod wifi_constants;
pub mod wifi_ctrl;
pub mod wifi_scan;

pub use prost::{DecodeError, Message};

/// Writes `<redacted N bytes>` for a secret byte field in hand-written `Debug` impls.
pub(crate) struct Redacted(pub usize);

impl core::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "<redacted {} bytes>", self.0)
    }
}
