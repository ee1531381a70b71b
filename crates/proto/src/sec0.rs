//! `sec0.proto`: the (trivial) security 0 handshake.

/// Message type of a [`Sec0Payload`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Sec0MsgType {
    /// Client → device.
    S0SessionCommand = 0,
    /// Device → client.
    S0SessionResponse = 1,
}

/// The client's (empty) session command.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct S0SessionCmd {}

/// The device's session response.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct S0SessionResp {
    /// Always `Success` from a real device.
    #[prost(enumeration = "crate::constants::Status", tag = "1")]
    pub status: i32,
}

/// Security 0 payload of [`crate::session::SessionData`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sec0Payload {
    /// [`Sec0MsgType`].
    #[prost(enumeration = "Sec0MsgType", tag = "1")]
    pub msg: i32,
    /// Command or response.
    #[prost(oneof = "sec0_payload::Payload", tags = "20, 21")]
    pub payload: Option<sec0_payload::Payload>,
}

/// Nested types of [`Sec0Payload`].
pub mod sec0_payload {
    use super::*;

    /// The `payload` oneof of [`Sec0Payload`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Payload {
        /// Session command.
        #[prost(message, tag = "20")]
        Sc(S0SessionCmd),
        /// Session response.
        #[prost(message, tag = "21")]
        Sr(S0SessionResp),
    }
}
