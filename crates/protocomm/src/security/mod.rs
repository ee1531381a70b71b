//! The three protocomm security schemes, each with its device and client roles side by side.
//!
//! | scheme | key agreement | authentication | application cipher |
//! |---|---|---|---|
//! | 0 | none | none | none |
//! | 1 | X25519 | proof of possession mixed into the key (optional) | AES-256-CTR, one stream |
//! | 2 | SRP-6a, RFC 5054 3072-bit group, SHA-512 | SRP proofs | AES-256-GCM |

pub mod sec0;
pub mod sec1;
pub mod sec2;
pub mod srp;

use alloc::vec::Vec;
use prost::Message;
use wifiprov_proto::session::{SessionData, session_data::Proto};
use wifiprov_proto::{sec0::Sec0Payload, sec1::Sec1Payload, sec2::Sec2Payload};

use crate::error::{Error, Result};
use crate::secret::Secret;
pub use srp::Sec2Credentials;

/// The device's security configuration.
#[derive(Clone, Debug)]
pub enum Security {
    /// Security 0: plaintext.
    Sec0,
    /// Security 1: X25519 with an optional proof of possession.
    ///
    /// `None` serves without a PoP and publishes the `no_pop` capability. An empty PoP also
    /// means "no PoP" for the key, but (as on ESP-IDF) without publishing `no_pop`.
    Sec1 {
        /// The proof of possession.
        pop: Option<Secret>,
    },
    /// Security 2: SRP-6a with a stored salt and verifier.
    Sec2 {
        /// Salt and verifier.
        credentials: Sec2Credentials,
        /// `sec_patch_ver`: 0 uses one fixed GCM nonce, 1 (the default) counts.
        patch: u32,
    },
}

impl Security {
    /// The scheme number (0, 1 or 2).
    pub fn version(&self) -> u8 {
        match self {
            Security::Sec0 => 0,
            Security::Sec1 { .. } => 1,
            Security::Sec2 { .. } => 2,
        }
    }

    /// The `sec_patch_ver` published in `proto-ver`.
    pub fn patch_version(&self) -> u32 {
        match self {
            Security::Sec2 { patch, .. } => *patch,
            _ => 0,
        }
    }
}

/// The client's security choice and credentials.
#[derive(Clone, Debug)]
pub enum ClientSecurity {
    /// Security 0.
    Sec0,
    /// Security 1, with the device's PoP if it requires one.
    Sec1 {
        /// The proof of possession (`None` or empty when the device has none).
        pop: Option<Secret>,
    },
    /// Security 2.
    Sec2 {
        /// SRP username (ASCII recommended).
        username: Vec<u8>,
        /// SRP password.
        password: Secret,
        /// The device's `sec_patch_ver` (from `proto-ver`; 0 when absent).
        patch: u32,
    },
}

impl ClientSecurity {
    /// The scheme number (0, 1 or 2).
    pub fn version(&self) -> u8 {
        match self {
            ClientSecurity::Sec0 => 0,
            ClientSecurity::Sec1 { .. } => 1,
            ClientSecurity::Sec2 { .. } => 2,
        }
    }
}

/// A client handshake message, as far as the session table needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `Cmd0`: starts a handshake.
    Start,
    /// `Cmd1`: finishes one.
    Finish,
}

/// Decodes a security 1 or 2 client handshake message far enough to say what it is, without
/// any arithmetic. Malformed messages fail with the errors the handshake itself would give.
pub(crate) fn classify(security: &Security, request: &[u8]) -> Result<Command> {
    match security {
        Security::Sec0 => Err(Error::InvalidConfig("security 0 has no handshake state")),
        Security::Sec1 { .. } => sec1::classify(request),
        Security::Sec2 { .. } => sec2::classify(request),
    }
}

/// Decodes a `SessionData` envelope and checks its scheme.
pub(crate) fn open_envelope(bytes: &[u8], expected: u8) -> Result<Option<Proto>> {
    let data = SessionData::decode(bytes).map_err(Error::decode("SessionData"))?;
    if data.sec_ver != i32::from(expected) {
        return Err(Error::SchemeMismatch {
            expected,
            got: data.sec_ver,
        });
    }
    Ok(data.proto)
}

/// Wraps a scheme payload in a `SessionData` envelope.
pub(crate) fn seal_envelope(proto: Proto) -> Vec<u8> {
    let sec_ver = match proto {
        Proto::Sec0(_) => 0,
        Proto::Sec1(_) => 1,
        Proto::Sec2(_) => 2,
    };
    SessionData {
        sec_ver,
        proto: Some(proto),
    }
    .encode_to_vec()
}

pub(crate) fn sec0_payload(proto: Option<Proto>) -> Result<Sec0Payload> {
    match proto {
        Some(Proto::Sec0(p)) => Ok(p),
        // Security 0 devices only look at sec_ver; an absent payload is tolerated.
        None => Ok(Sec0Payload::default()),
        Some(_) => Err(Error::MissingPayload { msg: 0 }),
    }
}

pub(crate) fn sec1_payload(proto: Option<Proto>) -> Result<Sec1Payload> {
    match proto {
        Some(Proto::Sec1(p)) => Ok(p),
        _ => Err(Error::MissingPayload { msg: -1 }),
    }
}

pub(crate) fn sec2_payload(proto: Option<Proto>) -> Result<Sec2Payload> {
    match proto {
        Some(Proto::Sec2(p)) => Ok(p),
        _ => Err(Error::MissingPayload { msg: -1 }),
    }
}

/// Copies a fixed-length field out of a message.
pub(crate) fn fixed<const N: usize>(field: &'static str, bytes: &[u8]) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| Error::BadLength {
        field,
        expected: N,
        got: bytes.len(),
    })
}

/// Checks a protobuf `status` field in a handshake response.
pub(crate) fn expect_success(status: i32) -> Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(Error::UnexpectedMessage {
            expected: "status Success",
            got: status,
        })
    }
}
