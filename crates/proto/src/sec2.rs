//! `sec2.proto`: the security 2 handshake (SRP-6a).

use alloc::vec::Vec;

/// Message type of a [`Sec2Payload`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Sec2MsgType {
    /// Client → device: username and `A`.
    S2SessionCommand0 = 0,
    /// Device → client: `B` and the salt.
    S2SessionResponse0 = 1,
    /// Client → device: the client proof `M`.
    S2SessionCommand1 = 2,
    /// Device → client: the device proof and the GCM nonce.
    S2SessionResponse1 = 3,
}

/// Step 1: the SRP username and the client public value `A`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct S2SessionCmd0 {
    /// Username bytes (ASCII recommended).
    #[prost(bytes = "vec", tag = "1")]
    pub client_username: Vec<u8>,
    /// `A`, exactly 384 bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub client_pubkey: Vec<u8>,
}

/// Step 2: the device public value `B` and the salt.
#[derive(Clone, PartialEq, prost::Message)]
pub struct S2SessionResp0 {
    /// Always `Success` from a real device.
    #[prost(enumeration = "crate::constants::Status", tag = "1")]
    pub status: i32,
    /// `B` in minimal big-endian form (≤ 384 bytes).
    #[prost(bytes = "vec", tag = "2")]
    pub device_pubkey: Vec<u8>,
    /// The stored salt, verbatim.
    #[prost(bytes = "vec", tag = "3")]
    pub device_salt: Vec<u8>,
}

/// Step 3: the client proof `M`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct S2SessionCmd1 {
    /// `M`, exactly 64 bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub client_proof: Vec<u8>,
}

/// Step 4: the device proof and the AES-GCM nonce.
#[derive(Clone, PartialEq, prost::Message)]
pub struct S2SessionResp1 {
    /// Always `Success` from a real device.
    #[prost(enumeration = "crate::constants::Status", tag = "1")]
    pub status: i32,
    /// `HAMK`, 64 bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub device_proof: Vec<u8>,
    /// 12 bytes (8 random + BE32 counter 1); 16 random bytes on patch-0 firmware.
    #[prost(bytes = "vec", tag = "3")]
    pub device_nonce: Vec<u8>,
}

/// Security 2 payload of [`crate::session::SessionData`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sec2Payload {
    /// [`Sec2MsgType`].
    #[prost(enumeration = "Sec2MsgType", tag = "1")]
    pub msg: i32,
    /// The message matching `msg`.
    #[prost(oneof = "sec2_payload::Payload", tags = "20, 21, 22, 23")]
    pub payload: Option<sec2_payload::Payload>,
}

/// Nested types of [`Sec2Payload`].
pub mod sec2_payload {
    use super::*;

    /// The `payload` oneof of [`Sec2Payload`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Payload {
        /// Session command 0.
        #[prost(message, tag = "20")]
        Sc0(S2SessionCmd0),
        /// Session response 0.
        #[prost(message, tag = "21")]
        Sr0(S2SessionResp0),
        /// Session command 1.
        #[prost(message, tag = "22")]
        Sc1(S2SessionCmd1),
        /// Session response 1.
        #[prost(message, tag = "23")]
        Sr1(S2SessionResp1),
    }
}
