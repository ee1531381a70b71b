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
    /// The device is throttling authentication attempts; retry later.
    Throttled = 11,
}

/// Everything that can go wrong while provisioning a device.
///
/// A failure with a cause keeps it as its [`source`](std::error::Error::source) instead of
/// copying its text: print the whole chain (`{:#}` through `anyhow`, or by walking
/// `source()`) to see it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Talking to the device failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The device is throttling authentication attempts (after failures, its own or other
    /// clients'): the credentials were not tried. Retry after `retry_after`.
    #[error("the device is throttling authentication attempts; retry in {} s", .retry_after.as_secs())]
    Throttled {
        /// How long the device asks to wait.
        retry_after: Duration,
    },
    /// The device dropped the handshake: wrong PoP, wrong SRP username or password, or
    /// wrong scheme.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The secure session failed: the handshake (a wrong proof is
    /// [`protocomm::Fault::Crypto`]), a message out of step or malformed, or the session's
    /// configuration. The exit code follows the error's [`protocomm::Fault`].
    #[error("{}", session_headline(.0))]
    Session(#[source] protocomm::Error),
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
    /// The device's answer to a request does not decode.
    #[error("the device's {what} reply does not decode")]
    Decode {
        /// The request (`scan`, `config`, `ctrl`).
        what: &'static str,
        /// The decoder's explanation.
        #[source]
        source: protocomm::proto::DecodeError,
    },
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
            Error::Throttled { .. } | Error::Transport(TransportError::Throttled { .. }) => {
                ExitCode::Throttled
            }
            Error::Transport(_) | Error::Protocol(_) | Error::Decode { .. } => {
                ExitCode::Unreachable
            }
            Error::Auth(_) => ExitCode::Auth,
            Error::Session(e) => match e.fault() {
                protocomm::Fault::Crypto => ExitCode::Auth,
                protocomm::Fault::Caller => ExitCode::Usage,
                _ => ExitCode::Unreachable,
            },
            Error::WifiFailed { .. } => ExitCode::WifiFailed,
            Error::Refused { .. } | Error::Unsupported(_) => ExitCode::Refused,
            Error::Usage(_) => ExitCode::Usage,
        }
    }

    /// Whether authentication failed (wrong PoP, SRP username or password, or scheme):
    /// [`ExitCode::Auth`].
    pub fn is_auth(&self) -> bool {
        self.exit_code() == ExitCode::Auth
    }

    /// A mapper for a reply of request `what` that does not decode.
    pub(crate) fn decode(what: &'static str) -> impl FnOnce(protocomm::proto::DecodeError) -> Self {
        move |source| Error::Decode { what, source }
    }
}

/// What a failed session reads as, before its cause.
fn session_headline(e: &protocomm::Error) -> &'static str {
    match e.fault() {
        protocomm::Fault::Crypto => "authentication failed",
        _ => "the secure session with the device failed",
    }
}

impl From<protocomm::Error> for Error {
    fn from(e: protocomm::Error) -> Self {
        Error::Session(e)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn session_errors_keep_their_cause_and_map_by_fault() {
        let wrong_pop = Error::from(protocomm::Error::AuthenticationFailed);
        assert_eq!(wrong_pop.exit_code(), ExitCode::Auth);
        assert!(wrong_pop.is_auth());
        let cause = wrong_pop
            .source()
            .expect("the protocomm error is the source");
        assert!(cause.to_string().contains("proof is wrong"), "{cause}");
        assert_eq!(wrong_pop.to_string(), "authentication failed");

        let garbled = Error::from(protocomm::Error::MissingPayload { msg: 1 });
        assert_eq!(garbled.exit_code(), ExitCode::Unreachable);
        assert_eq!(
            garbled.to_string(),
            "the secure session with the device failed"
        );
        assert!(!garbled.is_auth());
        let misconfigured = Error::from(protocomm::Error::InvalidConfig("no PoP"));
        assert_eq!(misconfigured.exit_code(), ExitCode::Usage);
    }

    #[test]
    fn throttling_is_its_own_exit_code_and_says_when_to_retry() {
        let e = Error::Throttled {
            retry_after: Duration::from_secs(7),
        };
        assert_eq!(e.exit_code(), ExitCode::Throttled);
        assert!(!e.is_auth());
        assert_eq!(
            e.to_string(),
            "the device is throttling authentication attempts; retry in 7 s"
        );
        let raw = Error::Transport(TransportError::Throttled {
            retry_after: Duration::from_secs(2),
        });
        assert_eq!(raw.exit_code(), ExitCode::Throttled);
    }

    #[test]
    fn decode_errors_keep_the_decoder_explanation() {
        use protocomm::proto::Message;
        let source = protocomm::proto::wifi_scan::WiFiScanPayload::decode(&[0xff][..])
            .expect_err("a lone 0xff is not a message");
        let e = Error::decode("scan")(source);
        assert_eq!(e.exit_code(), ExitCode::Unreachable);
        assert_eq!(e.to_string(), "the device's scan reply does not decode");
        assert!(e.source().is_some());
    }
}
