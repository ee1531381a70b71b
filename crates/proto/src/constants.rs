//! `constants.proto`: the status code shared by every message.

/// Application-level status carried in responses.
///
/// The reference device only ever sends `Success`, `InvalidArgument` and `InternalError`;
/// handshake failures are signalled by the transport, never by a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Status {
    /// The request succeeded (zero value, absent on the wire).
    Success = 0,
    /// Unsupported security scheme.
    InvalidSecScheme = 1,
    /// Malformed protocol message.
    InvalidProto = 2,
    /// Too many sessions.
    TooManySessions = 3,
    /// A request field failed validation (e.g. SSID longer than 32 bytes).
    InvalidArgument = 4,
    /// The device could not carry out the request in its current state.
    InternalError = 5,
    /// A cryptographic operation failed.
    CryptoError = 6,
    /// The session is not valid.
    InvalidSession = 7,
}
