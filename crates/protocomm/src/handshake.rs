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

use crate::cipher::SessionCipher;
use crate::device::{Device, Incoming, Opened, SessionState, gone};
use crate::error::{Error, Result};
use crate::security::sec0;
use crate::security::sec1::Sec1Device;
use crate::security::sec2::Sec2Device;
use crate::security::{Command, Security, classify};
use crate::session::{ConnectionId, Progress, SessionId, Stage, Target};
use crate::throttle::Source;
use crate::time::Instant;

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

/// Runs a `Cmd0` on a new handshake: the reply and the state to keep.
pub(crate) fn start(
    security: &Security,
    request: &[u8],
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(Vec<u8>, SessionState)> {
    match security {
        Security::Sec0 => Err(Error::InvalidConfig("security 0 has no session state")),
        Security::Sec1 { pop } => {
            let mut sec1 = Sec1Device::default();
            let reply = sec1.handle(request, pop.as_ref(), rng)?;
            Ok((reply, SessionState::Sec1(sec1)))
        }
        Security::Sec2 { credentials, patch } => {
            let mut sec2 = Sec2Device::default();
            let reply = sec2.handle(request, credentials, *patch, rng)?;
            Ok((reply, SessionState::Sec2(sec2)))
        }
    }
}

/// Runs a `Cmd1` on `state`: on success the session is established, on failure `state` is
/// left as it was.
pub(crate) fn finish(
    security: &Security,
    state: &mut SessionState,
    request: &[u8],
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<Vec<u8>> {
    let reply = match (security, &mut *state) {
        (Security::Sec1 { pop }, SessionState::Sec1(sec1)) => {
            sec1.handle(request, pop.as_ref(), rng)?
        }
        (Security::Sec2 { credentials, patch }, SessionState::Sec2(sec2)) => {
            sec2.handle(request, credentials, *patch, rng)?
        }
        // Nothing to finish: a fresh handshake state gives the scheme's own error.
        (Security::Sec1 { pop }, _) => {
            return Sec1Device::default().handle(request, pop.as_ref(), rng);
        }
        (Security::Sec2 { credentials, patch }, _) => {
            return Sec2Device::default().handle(request, credentials, *patch, rng);
        }
        (Security::Sec0, _) => return Err(Error::InvalidConfig("security 0 has no session state")),
    };
    *state = match core::mem::take(state) {
        SessionState::Sec1(Sec1Device::Established(stream)) => SessionState::Established {
            cipher: SessionCipher::Ctr(stream),
            pending: None,
        },
        SessionState::Sec2(Sec2Device::Established(gcm)) => SessionState::Established {
            cipher: SessionCipher::Gcm(gcm),
            pending: None,
        },
        other => other,
    };
    Ok(reply)
}

impl Device {
    pub(crate) fn handle_handshake(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        target: Target,
        request: &[u8],
    ) -> Result<Opened> {
        let own = self.sessions.own(connection)?;
        if let Security::Sec0 = self.security {
            return Ok(Opened {
                session: own,
                incoming: Incoming::Reply(sec0::device_handle(request)?),
            });
        }
        let source = self.source_of(connection).unwrap_or(Source::Local);
        let job = |session, step| HandshakeJob {
            session,
            connection,
            source,
            step,
            security: self.security.clone(),
            request: request.to_vec(),
        };
        match classify(&self.security, request)? {
            // A Cmd0 starts the connection's own session, never a claimed one. It is answered
            // (so: well-formed and acceptable) before it takes a slot.
            Command::Start => {
                if let Some(SessionState::Working) = self.sessions.state_unchecked(own) {
                    return Err(Error::SessionBusy(own));
                }
                if !self.sessions.contains(now, own) && !self.sessions.has_room(now) {
                    return Err(Error::TooManySessions {
                        limit: self.sessions.limit(),
                    });
                }
                let in_flight = self.sessions.handshakes();
                self.throttle.admit(now, source, in_flight)?;
                Ok(Opened {
                    session: own,
                    incoming: Incoming::Handshake(job(own, Step::Start)),
                })
            }
            Command::Finish => {
                let (id, visiting) = match target {
                    Target::Own(id) => (id, false),
                    Target::Visit(id) => (id, true),
                    Target::Gone { claim, expired, .. } => return Err(gone(claim, expired)),
                };
                if visiting {
                    let in_flight = self.sessions.handshakes();
                    self.throttle.admit_visit(now, source, in_flight)?;
                } else {
                    self.throttle.check_source(now, source)?;
                }
                let in_progress = match self.sessions.state(now, id, !visiting)? {
                    Some(SessionState::Working) => return Err(Error::SessionBusy(id)),
                    Some(state) => state.stage() == Stage::Handshake,
                    None => false,
                };
                // Nothing to finish: the job gives the scheme's own error and leaves the
                // session alone.
                let state = match self.sessions.state_unchecked(id) {
                    Some(state) if in_progress => core::mem::replace(state, SessionState::Working),
                    _ => SessionState::Spent,
                };
                let step = Step::Finish {
                    visiting,
                    in_progress,
                    state,
                };
                Ok(Opened {
                    session: id,
                    incoming: Incoming::Handshake(job(id, step)),
                })
            }
        }
    }

    /// Puts the result of a [`HandshakeJob`] in place and returns the reply to send (or the
    /// error, in which case the transport sends none). A new handshake takes its slot now,
    /// making room if needed; a finished one is established, or spent if the proof was
    /// wrong; the brute-force guard counts the outcome.
    pub fn commit_handshake(&mut self, now: Instant, done: HandshakeDone) -> Result<Opened> {
        let HandshakeDone {
            session,
            connection,
            source,
            outcome,
        } = done;
        match outcome {
            Outcome::Started(result) => {
                let (reply, state) = result?;
                if let Some(SessionState::Working) = self.sessions.state_unchecked(session) {
                    return Err(Error::SessionBusy(session));
                }
                if !self.sessions.contains(now, session) && !self.sessions.has_room(now) {
                    return Err(Error::TooManySessions {
                        limit: self.sessions.limit(),
                    });
                }
                self.sessions.install(now, connection, session, state)?;
                Ok(Opened {
                    session,
                    incoming: Incoming::Reply(reply),
                })
            }
            Outcome::Finished {
                visiting,
                in_progress,
                state,
                result,
            } => {
                if in_progress {
                    let Some(slot @ SessionState::Working) = self.sessions.state_unchecked(session)
                    else {
                        return Err(Error::UnknownSession(session));
                    };
                    *slot = if result.is_err() && !visiting {
                        // One guess per key exchange: the next needs a new Cmd0.
                        SessionState::Spent
                    } else {
                        state
                    };
                }
                match &result {
                    Ok(_) => {
                        self.throttle.record_success(now, source);
                        if visiting {
                            self.sessions.touch(now, session);
                            self.sessions.attach(session, connection);
                        }
                    }
                    Err(Error::AuthenticationFailed) => self.throttle.record_failure(now, source),
                    Err(_) => {}
                }
                result.map(|reply| Opened {
                    session,
                    incoming: Incoming::Reply(reply),
                })
            }
        }
    }

    /// Gives up on a [`HandshakeJob`] that will not run: the session is left as it was.
    pub fn abandon_handshake(&mut self, job: HandshakeJob) {
        if let Step::Finish {
            state,
            in_progress: true,
            ..
        } = job.step
            && let Some(slot @ SessionState::Working) = self.sessions.state_unchecked(job.session)
        {
            *slot = state;
        }
    }
}
