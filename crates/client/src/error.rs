//! Client errors and the exit codes they map to.

use std::time::Duration;

pub use crate::provisioner::FailReason;
use crate::transport::TransportError;

/// Documented process exit codes of `wifiprov provision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Provisioned and connected.
    Success = 0,
    /// Bad usage (flags, missing input without a terminal).
    Usage = 2,
    /// Device unreachable or transport error.
    Unreachable = 3,
    /// Authentication failed (PoP, SRP username or password).
    Auth = 4,
    /// The device could not join the Wi-Fi network.
    WifiFailed = 5,
    /// The device refused the request in its current state.
    Refused = 6,
    /// Timed out.
    Timeout = 7,
}

/// Everything that can go wrong while provisioning a device.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Talking to the device failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The handshake failed: wrong PoP, wrong SRP username or password, or wrong scheme.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The device tried the credentials and could not join.
    #[error("the device could not join {ssid:?}: {reason}")]
    WifiFailed {
        /// The network.
        ssid: String,
        /// Why, as the device reports it.
        reason: FailReason,
    },
    /// The device answered with a non-success status.
    #[error("the device refused {what} (status {status})")]
    Refused {
        /// The request.
        what: &'static str,
        /// The protobuf status number.
        status: i32,
    },
    /// The device lacks a capability (e.g. scanning).
    #[error("the device does not support {0}")]
    Unsupported(&'static str),
    /// The device's answer did not make sense.
    #[error("unexpected answer from the device: {0}")]
    Protocol(String),
    /// The outcome did not arrive in time.
    #[error("no outcome within {0:?}")]
    Timeout(Duration),
    /// The caller's input is unusable.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The exit code documented for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Transport(TransportError::Timeout(_)) | Error::Timeout(_) => ExitCode::Timeout,
            Error::Transport(_) | Error::Protocol(_) => ExitCode::Unreachable,
            Error::Auth(_) => ExitCode::Auth,
            Error::WifiFailed { .. } => ExitCode::WifiFailed,
            Error::Refused { .. } | Error::Unsupported(_) => ExitCode::Refused,
            Error::Usage(_) => ExitCode::Usage,
        }
    }
}

impl From<protocomm::Error> for Error {
    fn from(e: protocomm::Error) -> Self {
        match e.fault() {
            protocomm::Fault::Crypto => Error::Auth(e.to_string()),
            protocomm::Fault::Caller => Error::Usage(e.to_string()),
            _ => Error::Protocol(e.to_string()),
        }
    }
}
