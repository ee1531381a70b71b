//! Handshake work taken out of the device, so that a transport can run the expensive part
//! (security 1's X25519, security 2's SRP) without holding whatever guards the [`Device`].
//!
//! [`Device::begin_request`] returns a [`HandshakeJob`] for a `Cmd0` or a `Cmd1`: everything the
//! computation needs, with the session marked busy. [`HandshakeJob::run`] does the arithmetic
//! and needs nothing else; [`Device::commit_handshake`] puts the result in place (a new
//! handshake takes its slot then, a finished one is established or spent, the brute-force
//! guard counts the outcome). [`Device::abandon_handshake`] gives up on a job that will not
//! run, leaving the session as it was.
//!
//! [`Device`]: crate::Device
//! [`Device::begin_request`]: crate::Device::begin_request
//! [`Device::commit_handshake`]: crate::Device::commit_handshake
//! [`Device::abandon_handshake`]: crate::Device::abandon_handshake

use alloc::vec::Vec;
use core::fmt;
use rand_core::CryptoRng;

use crate::device::{SessionState, finish, start};
use crate::error::Result;
use crate::security::Security;
use crate::session::{ConnectionId, SessionId};
use crate::throttle::Source;

/// Which half of the key exchange a job does.
pub(crate) enum Step {
    /// `Cmd0`: a new handshake for the connection's own session.
    Start,
    /// `Cmd1` on a handshake in progress, whose state the job carries.
    Finish {
        /// The session was claimed from another connection (tried without consequences).
        visiting: bool,
        /// The session had a handshake in progress, now in `state` (otherwise the job only
        /// gives the scheme's error and the session is not touched).
        in_progress: bool,
        state: SessionState,
    },
}

/// A handshake computation to run without the device (see the [module docs](self)).
pub struct HandshakeJob {
    pub(crate) session: SessionId,
    pub(crate) connection: ConnectionId,
    pub(crate) source: Source,
    pub(crate) step: Step,
    pub(crate) security: Security,
    pub(crate) request: Vec<u8>,
}

impl fmt::Debug for HandshakeJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeJob")
            .field("session", &self.session)
            .field("connection", &self.connection)
            .field("source", &self.source)
            .field(
                "cmd",
                &if matches!(self.step, Step::Start) {
                    0
                } else {
                    1
                },
            )
            .finish_non_exhaustive()
    }
}

/// What became of a job's computation, to hand to [`crate::Device::commit_handshake`].
pub struct HandshakeDone {
    pub(crate) session: SessionId,
    pub(crate) connection: ConnectionId,
    pub(crate) source: Source,
    pub(crate) outcome: Outcome,
}

impl fmt::Debug for HandshakeDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeDone")
            .field("session", &self.session)
            .field("connection", &self.connection)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

pub(crate) enum Outcome {
    Started(Result<(Vec<u8>, SessionState)>),
    Finished {
        visiting: bool,
        in_progress: bool,
        state: SessionState,
        result: Result<Vec<u8>>,
    },
}

impl HandshakeJob {
    /// The session the job is for.
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The connection the request came on.
    pub fn connection(&self) -> ConnectionId {
        self.connection
    }

    /// Where the request came from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// Whether this is a `Cmd0` (a new handshake) rather than a `Cmd1`.
    pub fn is_start(&self) -> bool {
        matches!(self.step, Step::Start)
    }

    /// Does the arithmetic. Needs no device; `rng` draws the ephemeral keys.
    pub fn run(self, rng: &mut (impl CryptoRng + ?Sized)) -> HandshakeDone {
        let HandshakeJob {
            session,
            connection,
            source,
            step,
            security,
            request,
        } = self;
        let outcome = match step {
            Step::Start => Outcome::Started(start(&security, &request, rng)),
            Step::Finish {
                visiting,
                in_progress,
                mut state,
            } => {
                let result = finish(&security, &mut state, &request, rng);
                Outcome::Finished {
                    visiting,
                    in_progress,
                    state,
                    result,
                }
            }
        };
        HandshakeDone {
            session,
            connection,
            source,
            outcome,
        }
    }
}
