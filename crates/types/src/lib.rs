//! The shared vocabulary of wifiprov: what every other crate means by a secret, an SSID, a
//! passphrase, a BSSID, a set of credentials and a point in time.
//!
//! Each type checks its rule once, when it is made, so code that holds one never checks again:
//!
//! | type | rule |
//! |---|---|
//! | [`Ssid`] | 1 to 32 bytes, any values (SSIDs need not be UTF-8) |
//! | [`Passphrase`] | empty (open network), 1 to 63 bytes without NUL, or 64 hex digits (a raw WPA key) |
//! | [`Bssid`] | 6 bytes; text form `aa:bb:cc:dd:ee:ff` (or `-`) |
//! | [`Credentials`] | an [`Ssid`], a [`Passphrase`], optionally a [`Bssid`] and a channel 1–14 (or 36–196) |
//!
//! [`Secret`] bytes are wiped on drop, compared in constant time and never shown by `Debug`.
//! [`Instant`] is time as the caller tells it (milliseconds since an epoch of its choosing), so
//! sans-I/O state machines never read a clock.
//!
//! Text that came from a peer (an SSID is chosen by whoever set up the network) is shown
//! through [`Escaped`], which turns control characters and bytes that are not UTF-8 into
//! `\xNN`, so it cannot forge log lines or terminal output.
//!
//! ```
//! use wifiprov_types::{Credentials, CredentialsError};
//!
//! let c = Credentials::new(b"HomeNet".to_vec(), b"correct horse".to_vec())?;
//! assert_eq!(c.ssid.as_bytes(), b"HomeNet");
//! assert!(!format!("{c:?}").contains("horse"));
//! assert!(Credentials::new(Vec::new(), Vec::new()).is_err());
//! assert!(Credentials::new(b"x".to_vec(), vec![b'z'; 64]).is_err());
//! # Ok::<(), CredentialsError>(())
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod bssid;
mod credentials;
mod escape;
mod fail_reason;
mod passphrase;
mod secret;
mod ssid;
mod time;

pub use bssid::{Bssid, BssidParseError};
pub use credentials::{Credentials, CredentialsError};
pub use escape::Escaped;
pub use fail_reason::FailReason;
pub use passphrase::{MAX_PASSPHRASE_LEN, Passphrase, PassphraseError};
pub use secret::{Secret, ct_eq};
pub use ssid::{MAX_SSID_LEN, Ssid, SsidError};
pub use time::Instant;

/// A boxed, sendable future: what trait methods return where the implementation is chosen at
/// run time (Wi-Fi backends, application handlers, routes).
pub type BoxFuture<'a, T> =
    core::pin::Pin<alloc::boxed::Box<dyn core::future::Future<Output = T> + Send + 'a>>;
