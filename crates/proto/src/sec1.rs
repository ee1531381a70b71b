//! `sec1.proto`: the security 1 handshake (X25519 + proof of possession).

use alloc::vec::Vec;

/// Message type of a [`Sec1Payload`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Sec1MsgType {
    /// Client → device: the client public key.
    SessionCommand0 = 0,
    /// Device → client: the device public key and random.
    SessionResponse0 = 1,
    /// Client → device: the client verify token.
    SessionCommand1 = 2,
    /// Device → client: the device verify token.
    SessionResponse1 = 3,
}

/// Step 1: the client's X25519 public key.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionCmd0 {
    /// 32-byte X25519 public key.
    #[prost(bytes = "vec", tag = "1")]
    pub client_pubkey: Vec<u8>,
}

/// Step 2: the device's public key and the initial CTR counter block.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionResp0 {
    /// Always `Success` from a real device.
    #[prost(enumeration = "crate::constants::Status", tag = "1")]
    pub status: i32,
    /// 32-byte X25519 public key.
    #[prost(bytes = "vec", tag = "2")]
    pub device_pubkey: Vec<u8>,
    /// 16 random bytes, the initial AES-CTR counter block.
    #[prost(bytes = "vec", tag = "3")]
    pub device_random: Vec<u8>,
}

/// Step 3: the device public key encrypted with the session keystream (field number 2).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionCmd1 {
    /// 32 bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub client_verify_data: Vec<u8>,
}

/// Step 4: the client public key encrypted with the continuing keystream (field number 3).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionResp1 {
    /// Always `Success` from a real device.
    #[prost(enumeration = "crate::constants::Status", tag = "1")]
    pub status: i32,
    /// 32 bytes.
    #[prost(bytes = "vec", tag = "3")]
    pub device_verify_data: Vec<u8>,
}

/// Security 1 payload of [`crate::session::SessionData`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sec1Payload {
    /// [`Sec1MsgType`].
    #[prost(enumeration = "Sec1MsgType", tag = "1")]
    pub msg: i32,
    /// The message matching `msg`.
    #[prost(oneof = "sec1_payload::Payload", tags = "20, 21, 22, 23")]
    pub payload: Option<sec1_payload::Payload>,
}

/// Nested types of [`Sec1Payload`].
pub mod sec1_payload {
    use super::*;

    /// The `payload` oneof of [`Sec1Payload`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Payload {
        /// Session command 0.
        #[prost(message, tag = "20")]
        Sc0(SessionCmd0),
        /// Session response 0.
        #[prost(message, tag = "21")]
        Sr0(SessionResp0),
        /// Session command 1.
        #[prost(message, tag = "22")]
        Sc1(SessionCmd1),
        /// Session response 1.
        #[prost(message, tag = "23")]
        Sr1(SessionResp1),
    }
}
