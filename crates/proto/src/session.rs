//! `session.proto`: the envelope of every `prov-session` handshake message.

use crate::{sec0::Sec0Payload, sec1::Sec1Payload, sec2::Sec2Payload};

/// Security scheme version carried in [`SessionData::sec_ver`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SecSchemeVersion {
    /// Security 0: no encryption.
    SecScheme0 = 0,
    /// Security 1: X25519 + proof of possession + AES-256-CTR.
    SecScheme1 = 1,
    /// Security 2: SRP-6a + AES-256-GCM.
    SecScheme2 = 2,
}

/// A handshake message on the `prov-session` endpoint (there is no field 1).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionData {
    /// The security scheme the sender speaks ([`SecSchemeVersion`]).
    #[prost(enumeration = "SecSchemeVersion", tag = "2")]
    pub sec_ver: i32,
    /// The scheme-specific payload.
    #[prost(oneof = "session_data::Proto", tags = "10, 11, 12")]
    pub proto: Option<session_data::Proto>,
}

/// Nested types of [`SessionData`].
pub mod session_data {
    use super::*;

    /// The `proto` oneof of [`SessionData`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Proto {
        /// Security 0 payload.
        #[prost(message, tag = "10")]
        Sec0(Sec0Payload),
        /// Security 1 payload.
        #[prost(message, tag = "11")]
        Sec1(Sec1Payload),
        /// Security 2 payload.
        #[prost(message, tag = "12")]
        Sec2(Sec2Payload),
    }
}
