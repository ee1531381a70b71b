//! The inputs that take a set of credentials into use: apply, submit, stored, connected.

use protocomm::{Instant, SessionId};
use wifiprov_wifi::{ConnectError, Credentials, LinkStatus};

use super::prov::{Attempt, Joined, Phase, ProvMachine};
use super::types::{Action, Answer, OpId, Origin, Station};
use crate::error::{ProvError, Refusal, StoreFailure};
use crate::events::ProvEvent;

impl ProvMachine {
    /// ApplyConfig from `session`: takes the credentials that *this* session set (another
    /// session's SetConfig never changes them). They are discarded whether or not they are
    /// taken, so a retry needs a new SetConfig.
    ///
    /// `Ok` means taken: [`Action::Persist`] follows, then [`Answer::Applied`] for
    /// `Origin::Session(session)` says whether they were stored (only then is the apply a
    /// success). Refused with [`Refusal::NothingPending`], or when credentials were already
    /// received in this run ([`Refusal::InProgress`], [`Refusal::NeedsReset`],
    /// [`Refusal::AlreadyJoined`]) or the service is not running.
    pub fn handle_apply(&mut self, now: Instant, session: SessionId) -> Result<(), ProvError> {
        self.advance(now);
        let creds = self.pending.take(session);
        if matches!(self.phase, Phase::Stopped { .. }) {
            return Err(Refusal::NotRunning.into());
        }
        let creds = creds.ok_or(Refusal::NothingPending)?;
        self.take(Attempt {
            creds,
            origin: Origin::Session(session),
        })
    }

    /// Credentials from a route that brings them itself (SmartConfig, …), handled like
    /// SetConfig followed by ApplyConfig. `Ok` means taken: [`Answer::Applied`] and then
    /// [`Answer::Finished`] for `origin` follow. While one set of credentials is stored or
    /// tried, another submission is refused with [`Refusal::InProgress`].
    ///
    /// When the attempt fails, the machine goes back to Started (a route has no CtrlReset of
    /// its own) and the stored credentials are cleared, unless `reset_on_failure` already
    /// returned it to Started.
    pub fn handle_submit(
        &mut self,
        now: Instant,
        origin: Origin,
        creds: Credentials,
    ) -> Result<(), ProvError> {
        self.advance(now);
        self.take(Attempt { creds, origin })
    }

    fn take(&mut self, attempt: Attempt) -> Result<(), ProvError> {
        if !matches!(self.phase, Phase::Started) {
            return Err(self.not_accepting().into());
        }
        let op = self.next_op();
        self.queue.push_back(Action::Persist {
            creds: attempt.creds.clone(),
            op,
        });
        self.phase = Phase::Saving { attempt, op };
        Ok(())
    }

    /// The store write `op` finished. Stored: [`ProvEvent::CredRecv`], [`Answer::Applied`]
    /// with success, and the first connection attempt after the connection delay. Not stored:
    /// the credentials are not tried, [`ProvEvent::CredFail`] and the answers say why, and the
    /// machine is back to Started. Ignored unless that write is awaited.
    pub fn handle_persisted(&mut self, now: Instant, op: OpId, result: Result<(), StoreFailure>) {
        self.advance(now);
        let attempt = match std::mem::replace(&mut self.phase, Phase::Started) {
            Phase::Saving {
                attempt,
                op: wanted,
            } if wanted == op => attempt,
            other => {
                self.phase = other;
                return;
            }
        };
        let origin = attempt.origin;
        match result {
            Ok(()) => {
                self.station = Station::Connecting;
                self.emit(ProvEvent::CredRecv {
                    ssid: attempt.creds.ssid.to_vec(),
                });
                self.answer(Answer::Applied {
                    origin,
                    result: Ok(()),
                });
                let op = self.next_op();
                self.phase = Phase::Connecting {
                    attempt,
                    op,
                    failures: 0,
                    due: Some(self.now + self.config.connect_delay),
                };
            }
            Err(failure) => {
                // Reported by the CredFail event that follows.
                tracing::debug!("could not store the credentials: {failure}");
                let error = ProvError::Store(failure);
                self.emit(ProvEvent::CredFail {
                    error: error.clone(),
                });
                self.answer(Answer::Applied {
                    origin,
                    result: Err(error.clone()),
                });
                self.answer(Answer::Finished {
                    origin,
                    result: Err(error),
                });
            }
        }
    }

    /// The connection attempt `op` ended. Joined: Success, [`ProvEvent::CredSuccess`],
    /// auto-stop armed. Failed: retried (at once) while the rules allow, otherwise the
    /// station reports the failure and [`ProvEvent::CredFail`] follows. Ignored unless that
    /// attempt runs.
    ///
    /// Retries: with `max_attempts` N > 0, every failure is retried until N attempts failed,
    /// GetStatus reporting the attempts remaining meanwhile; with 0 (legacy), only transient
    /// failures ([`is_transient`]) are retried, at most `transient_retries` times.
    pub fn handle_connect_result(
        &mut self,
        now: Instant,
        op: OpId,
        result: Result<LinkStatus, ConnectError>,
    ) {
        self.advance(now);
        let (attempt, failures) = match std::mem::replace(&mut self.phase, Phase::Started) {
            Phase::Connecting {
                attempt,
                op: running,
                failures,
                due: None,
            } if running == op => (attempt, failures),
            other => {
                self.phase = other;
                return;
            }
        };
        match result {
            Ok(link) => self.succeeded(attempt, link),
            Err(error) => {
                let failures = failures.saturating_add(1);
                let config = &self.config;
                let retry = if config.max_attempts > 0 {
                    failures < config.max_attempts
                } else {
                    is_transient(&error) && failures <= config.transient_retries
                };
                // A retry is only logged here; the final failure is reported once, by the
                // CredFail event that follows (its subscribers log it).
                if retry {
                    tracing::info!(
                        attempt = failures,
                        "connection attempt failed, retrying: {error}"
                    );
                } else {
                    tracing::debug!(attempt = failures, "connection attempt failed: {error}");
                }
                if !retry {
                    self.gave_up(attempt, error);
                    return;
                }
                if config.max_attempts > 0 {
                    self.station = Station::AttemptFailed {
                        remaining: config.max_attempts - failures,
                    };
                }
                let op = self.next_op();
                self.phase = Phase::Connecting {
                    attempt,
                    op,
                    failures,
                    due: Some(self.now),
                };
            }
        }
    }

    fn succeeded(&mut self, attempt: Attempt, link: LinkStatus) {
        // Reported by the CredSuccess event that follows.
        tracing::debug!(ssid = ?attempt.creds.ssid_lossy(), ip = %link.ip, "connected");
        self.station = Station::Connected(link.clone());
        self.emit(ProvEvent::CredSuccess { link: link.clone() });
        self.answer(Answer::Finished {
            origin: attempt.origin,
            result: Ok(link.clone()),
        });
        let stop_at = self
            .config
            .auto_stop
            .then(|| self.now + self.config.autostop_timeout);
        self.phase = Phase::Succeeded {
            joined: Joined {
                creds: attempt.creds,
                link,
            },
            stop_at,
            status_seen: false,
        };
    }

    fn gave_up(&mut self, attempt: Attempt, error: ConnectError) {
        self.station = Station::Failed(crate::error::fail_reason_of(&error));
        let failure = ProvError::Connect(error.clone());
        self.emit(ProvEvent::CredFail {
            error: failure.clone(),
        });
        self.answer(Answer::Finished {
            origin: attempt.origin,
            result: Err(failure),
        });
        self.phase = if self.config.reset_on_failure {
            Phase::Started
        } else if matches!(attempt.origin, Origin::Route(_)) {
            self.queue.push_back(Action::ClearStore);
            Phase::Started
        } else {
            Phase::Failed { error }
        };
    }
}

/// Failures that legacy mode retries: the link dropped, no address, a timeout, a backend
/// hiccup. Authentication failures and unknown networks are reported at once.
pub fn is_transient(error: &ConnectError) -> bool {
    matches!(
        error,
        ConnectError::LinkLost { .. }
            | ConnectError::NoAddress { .. }
            | ConnectError::Timeout { .. }
            | ConnectError::Backend(_)
    )
}
