//! Typed errors of the protocol core, each of which says whose fault it was.

use alloc::string::String;
use core::time::Duration;

use crate::device::HandlerError;
use crate::session::{ConnectionId, SessionId};

/// Whose fault an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The peer sent something malformed, out of order, or unauthenticated.
    Peer,
    /// The caller used the API wrongly or configured it inconsistently.
    Caller,
    /// A cryptographic check failed (wrong PoP or password, tampered ciphertext).
    Crypto,
    /// A local policy refused the request (rate limit, capacity, expiry).
    Policy,
    /// Something on this side failed: the application, its backend or the system (a Wi-Fi
    /// backend that is down, a custom endpoint's command that crashed).
    Local,
}

/// Everything that can go wrong in the protocol core.
///
/// On the device, any error means "send no response": ESP-IDF devices never report handshake
/// or decryption failures in-band, the transport closes or fails the request instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not decode as the expected protobuf message.
    #[error("malformed {what} message from peer: {source}")]
    Decode {
        /// The message type that was expected.
        what: &'static str,
        /// The decoder's explanation.
        source: prost::DecodeError,
    },
    /// The message decoded but carries the wrong security scheme.
    #[error("peer speaks security {got}, expected security {expected}")]
    SchemeMismatch {
        /// The scheme this side is configured for.
        expected: u8,
        /// The `sec_ver` the peer sent.
        got: i32,
    },
    /// The message type is not the one expected at this step of the handshake.
    #[error("unexpected handshake message: expected {expected}, got message type {got}")]
    UnexpectedMessage {
        /// What this side expected.
        expected: &'static str,
        /// The `msg` value received.
        got: i32,
    },
    /// The message type field and the payload member disagree, or the payload is absent.
    #[error("handshake message {msg} carries no matching payload")]
    MissingPayload {
        /// The `msg` value received.
        msg: i32,
    },
    /// A fixed-length field has the wrong length.
    #[error("{field} must be {expected} bytes, got {got}")]
    BadLength {
        /// The protobuf field.
        field: &'static str,
        /// The required length (or the maximum, for variable fields).
        expected: usize,
        /// The received length.
        got: usize,
    },
    /// A public value is not acceptable (SRP `A mod N = 0`, `B mod N = 0`, `u = 0`).
    #[error("illegal public value {0} from peer")]
    IllegalPublicValue(&'static str),
    /// The peer's proof did not verify: wrong proof of possession, wrong SRP username or
    /// password.
    #[error(
        "authentication failed: the peer's proof is wrong (check the PoP or the username and password)"
    )]
    AuthenticationFailed,
    /// The device's proof did not verify (client side): this is not the device it claims to be,
    /// or the credentials are wrong.
    #[error("the device could not prove it knows the credentials")]
    DeviceNotVerified,
    /// An encrypted message failed authentication (security 2). The session is closed.
    #[error("decryption failed: the message was tampered with or the session is out of step")]
    DecryptFailed,
    /// The session's nonce counter is exhausted; a new handshake is required.
    #[error("the session's nonce counter is exhausted; start a new handshake")]
    NonceExhausted,
    /// An application request arrived before the handshake completed.
    #[error("session {0} has not completed its handshake")]
    SessionNotEstablished(SessionId),
    /// A request on this session is still being answered.
    #[error("session {0} is still answering an earlier request")]
    SessionBusy(SessionId),
    /// [`crate::Device::seal_response`] was called without an open request.
    #[error("session {0} has no request awaiting a response")]
    NoPendingRequest(SessionId),
    /// No session with this id exists (never opened, closed, or evicted).
    #[error("no session {0}")]
    UnknownSession(SessionId),
    /// The request claims a session that another open connection speaks for; the session
    /// was not touched.
    #[error("session {0} belongs to another open connection")]
    SessionInUse(SessionId),
    /// The connection was never announced with [`crate::Device::connect`], or has been
    /// disconnected.
    #[error("unknown connection {0}")]
    UnknownConnection(ConnectionId),
    /// The session was idle for longer than the configured timeout.
    #[error("session {0} expired after being idle")]
    SessionExpired(SessionId),
    /// The session table is full of active sessions.
    #[error("too many concurrent sessions (limit {limit})")]
    TooManySessions {
        /// The configured maximum.
        limit: usize,
    },
    /// The handshake was not tried: its source failed too often, the device-wide budget of
    /// failed attempts is spent, the source starts handshakes too fast, or the handshake
    /// workers are saturated (see [`crate::throttle`]).
    #[error("authentication attempts are throttled; retry in {} ms", retry_after.as_millis())]
    Throttled {
        /// How long until handshakes are accepted again.
        retry_after: Duration,
    },
    /// No endpoint with this name is registered.
    #[error("unknown endpoint {0:?}")]
    UnknownEndpoint(String),
    /// An endpoint name is invalid or already taken.
    #[error("cannot register endpoint {name:?}: {reason}")]
    BadEndpointName {
        /// The rejected name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The request is larger than the configured limit.
    #[error("request of {len} bytes exceeds the limit of {limit} bytes")]
    RequestTooLarge {
        /// The request length.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// An application endpoint handler failed; [`Error::fault`] is the handler's.
    #[error("endpoint {endpoint:?} failed: {error}")]
    Handler {
        /// The endpoint.
        endpoint: String,
        /// What the handler reported, with whose fault it was.
        error: HandlerError,
    },
    /// The configuration is unusable (caller error).
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// The `proto-ver` reply could not be interpreted.
    #[error("unintelligible proto-ver reply: {0}")]
    BadVersionReply(&'static str),
}

impl Error {
    /// Whose fault this error is.
    pub fn fault(&self) -> Fault {
        match self {
            Error::Decode { .. }
            | Error::SchemeMismatch { .. }
            | Error::UnexpectedMessage { .. }
            | Error::MissingPayload { .. }
            | Error::BadLength { .. }
            | Error::IllegalPublicValue(_)
            | Error::SessionNotEstablished(_)
            | Error::SessionBusy(_)
            | Error::UnknownSession(_)
            | Error::SessionInUse(_)
            | Error::UnknownEndpoint(_)
            | Error::BadVersionReply(_) => Fault::Peer,
            Error::AuthenticationFailed | Error::DeviceNotVerified | Error::DecryptFailed => {
                Fault::Crypto
            }
            Error::NonceExhausted
            | Error::SessionExpired(_)
            | Error::TooManySessions { .. }
            | Error::Throttled { .. }
            | Error::RequestTooLarge { .. } => Fault::Policy,
            Error::Handler { error, .. } => error.fault(),
            Error::BadEndpointName { .. }
            | Error::InvalidConfig(_)
            | Error::UnknownConnection(_)
            | Error::NoPendingRequest(_) => Fault::Caller,
        }
    }

    pub(crate) fn decode(what: &'static str) -> impl FnOnce(prost::DecodeError) -> Error {
        move |source| Error::Decode { what, source }
    }
}

/// Result alias of the protocol core.
pub type Result<T, E = Error> = core::result::Result<T, E>;
