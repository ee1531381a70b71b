//! Why a set of credentials was not taken into use, and why the station gave up on one.

use std::fmt;
use std::sync::Arc;

use wifiprov_wifi::{ConnectError, WifiError};

use crate::store::StoreError;

pub use wifiprov_types::FailReason;

/// The reason the protocol can carry for a backend failure: `NetworkNotFound` when the network
/// was not found, `AuthError` for everything else (as ESP-IDF reports it).
pub fn fail_reason_of(error: &ConnectError) -> FailReason {
    if error.is_network_not_found() {
        FailReason::NetworkNotFound
    } else {
        FailReason::AuthError
    }
}

/// A failed write of the credential store, shareable between event subscribers.
///
/// Two failures compare equal when they describe the same failure (same text); the text never
/// contains the passphrase (see [`StoreError`]).
#[derive(Clone, Debug)]
pub struct StoreFailure(Arc<StoreError>);

impl StoreFailure {
    /// Wraps `error`.
    pub fn new(error: StoreError) -> Self {
        StoreFailure(Arc::new(error))
    }

    /// The store's error.
    pub fn error(&self) -> &StoreError {
        &self.0
    }
}

impl From<StoreError> for StoreFailure {
    fn from(error: StoreError) -> Self {
        StoreFailure::new(error)
    }
}

impl fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoreFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

impl PartialEq for StoreFailure {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for StoreFailure {}

/// Why provisioning does not take (or no longer follows) a set of credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// ApplyConfig, but this session set no credentials (or they were used or discarded).
    #[error("no credentials are pending for this session; send SetConfig first")]
    NothingPending,
    /// Credentials are being stored or tried.
    #[error("another set of credentials is being stored or tried")]
    InProgress,
    /// Provisioning already succeeded in this run.
    #[error("provisioning has already succeeded")]
    AlreadyJoined,
    /// The last attempt failed; ESP-IDF wants CtrlReset before new credentials.
    #[error("the last attempt failed; send CtrlReset before new credentials")]
    NeedsReset,
    /// CtrlReprov, while auto-stop is on (ESP-IDF allows it only with auto-stop disabled).
    #[error("re-provisioning needs auto-stop to be disabled")]
    AutoStop,
    /// The provisioning service is not running.
    #[error("provisioning is not running")]
    NotRunning,
    /// The attempt was given up because provisioning restarted (CtrlReprov).
    #[error("the attempt was abandoned: provisioning restarted")]
    Abandoned,
    /// Provisioning stopped before the attempt finished.
    #[error("provisioning ended before the attempt finished")]
    Ended,
}

/// Why a set of credentials was not taken into use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProvError {
    /// The station gave up on the credentials.
    #[error(transparent)]
    Connect(ConnectError),
    /// The credentials could not be stored, so they were not tried.
    #[error("cannot store the credentials: {0}")]
    Store(StoreFailure),
    /// Provisioning did not take the credentials (see [`Refusal`]).
    #[error("credentials not accepted: {0}")]
    Refused(Refusal),
}

impl From<Refusal> for ProvError {
    fn from(refusal: Refusal) -> Self {
        ProvError::Refused(refusal)
    }
}

impl ProvError {
    /// The reason GetStatus reports for a connection failure (`None` for the other kinds,
    /// which the protocol cannot express).
    pub fn fail_reason(&self) -> Option<FailReason> {
        match self {
            ProvError::Connect(e) => Some(fail_reason_of(e)),
            ProvError::Store(_) | ProvError::Refused(_) => None,
        }
    }

    /// The network the failed credentials were for, when the error names it (a connection
    /// failure; a store failure or a refusal does not).
    pub fn ssid(&self) -> Option<&str> {
        match self {
            ProvError::Connect(e) => e.ssid(),
            ProvError::Store(_) | ProvError::Refused(_) => None,
        }
    }

    /// A short key for the kind of failure: `auth_error` and `network_not_found` (the wire
    /// reasons of a connection failure), `store_error`, or `refused`.
    pub fn reason_key(&self) -> &'static str {
        match self {
            ProvError::Connect(e) => fail_reason_of(e).key(),
            ProvError::Store(_) => "store_error",
            ProvError::Refused(_) => "refused",
        }
    }

    /// The same failure as a [`ConnectError`], for callers that speak only that: a connection
    /// failure as it was, a refusal as [`ConnectError::NotAccepting`], a store failure as a
    /// backend failure (a [`WifiErrorKind::Unavailable`](wifiprov_wifi::WifiErrorKind::Unavailable) error
    /// with the store's explanation).
    pub fn into_connect_error(self) -> ConnectError {
        match self {
            ProvError::Connect(e) => e,
            ProvError::Refused(r) => ConnectError::NotAccepting(r.to_string()),
            ProvError::Store(f) => ConnectError::Backend(WifiError::unavailable(format!(
                "cannot store the credentials: {f}"
            ))),
        }
    }
}
