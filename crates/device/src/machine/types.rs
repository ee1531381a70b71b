//! What goes into and out of the provisioning machine.

use protocomm::SessionId;
use wifiprov_wifi::{Credentials, LinkStatus, ScanParams};

use crate::error::ProvError;
use crate::events::{FailReason, ProvEvent};

/// Where a set of credentials came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A protocomm session (SetConfig + ApplyConfig).
    Session(SessionId),
    /// A route that brings credentials itself (SmartConfig, …); the number tells submissions
    /// apart and is chosen by the caller.
    Route(u64),
}

/// Names one operation the machine handed out (a store write, a connection attempt), so that
/// the answer to an operation given up in the meantime is recognised and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

/// What the machine asks its driver to do, from [`ProvMachine::poll`](super::ProvMachine::poll).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Join with `creds`; answer with
    /// [`handle_connect_result`](super::ProvMachine::handle_connect_result) and `op`.
    Connect {
        /// What to join.
        creds: Credentials,
        /// The attempt.
        op: OpId,
    },
    /// Give up any connection attempt under way (its answer will be ignored) and disconnect
    /// the station.
    Disconnect,
    /// Scan; answer with [`handle_scan_done`](super::ProvMachine::handle_scan_done).
    Scan(ScanParams),
    /// Store `creds` durably, replacing what is stored; answer with
    /// [`handle_persisted`](super::ProvMachine::handle_persisted) and `op`. A driver without
    /// a store answers success at once.
    Persist {
        /// What to store.
        creds: Credentials,
        /// The write.
        op: OpId,
    },
    /// Remove the stored credentials (no answer; a failure is only worth a log line).
    ClearStore,
    /// Tell the subscribers.
    Emit(ProvEvent),
    /// Hand an answer to whoever waits for it (a request, a route's submission).
    Answer(Answer),
    /// The service stopped: transports shut down (the [`ProvEvent::End`] follows).
    Stop,
}

/// An answer for a caller that waits, inside [`Action::Answer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The credentials applied (ApplyConfig) or submitted by `origin` were stored and the
    /// connection is scheduled (`Ok`), or not, and why. Exactly one per accepted
    /// ApplyConfig or submission.
    Applied {
        /// Whose credentials.
        origin: Origin,
        /// The outcome.
        result: Result<(), ProvError>,
    },
    /// The attempt with the credentials of `origin` ended: joined, given up, not stored, or
    /// abandoned. Exactly one per accepted ApplyConfig or submission, after its
    /// [`Answer::Applied`].
    Finished {
        /// Whose credentials.
        origin: Origin,
        /// The link, or why not.
        result: Result<LinkStatus, ProvError>,
    },
    /// A scan ended (`ok` is false when it failed).
    Scanned {
        /// Whether results are available.
        ok: bool,
    },
}

/// The provisioning state (ESP-IDF's manager state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvState {
    /// Serving, waiting for credentials.
    Started,
    /// Credentials accepted: being stored, or connecting.
    CredRecv,
    /// Connected.
    Success,
    /// The connection attempt failed; new credentials need CtrlReset first.
    Fail,
    /// The service is not running.
    Stopped,
}

/// The station state reported by GetStatus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Station {
    /// Connecting, or not yet asked to.
    Connecting,
    /// An attempt failed; this many remain.
    AttemptFailed {
        /// Attempts left.
        remaining: u32,
    },
    /// Connected.
    Connected(LinkStatus),
    /// Gave up.
    Failed(FailReason),
}
