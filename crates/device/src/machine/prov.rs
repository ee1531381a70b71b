//! The machine: its state, its outputs, and the inputs that do not concern a set of
//! credentials (start, stop, scan, sessions, status, timers).

use std::collections::VecDeque;
use std::mem;

use protocomm::{Instant, SessionId};
use wifiprov_wifi::{AccessPoint, ConnectError, Credentials, LinkStatus, ScanParams, WifiError};

use super::config::{MIN_CLEANUP_DELAY, ManagerConfig};
use super::pending::PendingCredentials;
use super::scan::{ScanList, clamp_scan_params, scan_time_limit};
use super::types::{Action, Answer, OpId, Origin, ProvState, Station};
use crate::error::{ProvError, Refusal};
use crate::events::ProvEvent;

/// A set of credentials being taken into use, and where it came from.
#[derive(Clone, Debug)]
pub(super) struct Attempt {
    pub(super) creds: Credentials,
    pub(super) origin: Origin,
}

/// Credentials that joined, and the link they gave.
#[derive(Clone, Debug)]
pub(super) struct Joined {
    pub(super) creds: Credentials,
    pub(super) link: LinkStatus,
}

/// Per-state data.
#[derive(Debug)]
pub(super) enum Phase {
    /// Not serving. Keeps the credentials that joined in the last run, if any.
    Stopped { joined: Option<Joined> },
    /// Serving, waiting for credentials.
    Started,
    /// Credentials taken; waiting for the store write `op`.
    Saving { attempt: Attempt, op: OpId },
    /// Stored; connecting. `due` is when the next attempt starts; `None` while attempt `op`
    /// runs. `failures` counts the failed attempts with these credentials.
    Connecting {
        attempt: Attempt,
        op: OpId,
        failures: u32,
        due: Option<Instant>,
    },
    /// The station gave up (ESP-IDF's FAIL): new credentials need CtrlReset first.
    Failed { error: ConnectError },
    /// Joined. `stop_at` is the auto-stop deadline (`None` with auto-stop off);
    /// `status_seen` once a client saw the success (auto-stop then follows the cleanup
    /// delay).
    Succeeded {
        joined: Joined,
        stop_at: Option<Instant>,
        status_seen: bool,
    },
}

/// ESP-IDF's `wifi_prov_mgr` as a sans-I/O state machine.
///
/// See the [module documentation](super) for the states, the rules and an example driver.
#[derive(Debug)]
pub struct ProvMachine {
    pub(super) config: ManagerConfig,
    pub(super) phase: Phase,
    pub(super) station: Station,
    pub(super) pending: PendingCredentials,
    pub(super) scan: ScanList,
    pub(super) queue: VecDeque<Action>,
    pub(super) now: Instant,
    next_op: u64,
}

impl ProvMachine {
    /// A stopped machine (call [`handle_start`](Self::handle_start) to serve). The first
    /// output is [`ProvEvent::Init`].
    pub fn new(config: ManagerConfig, now: Instant) -> Self {
        let max_pending = config.max_pending;
        let mut machine = ProvMachine {
            config,
            phase: Phase::Stopped { joined: None },
            station: Station::Connecting,
            pending: PendingCredentials::new(max_pending),
            scan: ScanList::default(),
            queue: VecDeque::new(),
            now,
            next_op: 0,
        };
        machine.emit(ProvEvent::Init);
        machine
    }

    // ----------------------------------------------------------------------------------------
    // Outputs

    /// The next action, if any. Call it after every input and whenever
    /// [`poll_at`](Self::poll_at) is reached, until it returns `None`; it first handles the
    /// deadlines that have passed at `now`, as [`handle_timeout`](Self::handle_timeout) does.
    pub fn poll(&mut self, now: Instant) -> Option<Action> {
        self.handle_timeout(now);
        self.queue.pop_front()
    }

    /// When the machine next needs [`poll`](Self::poll): the latest time it was given while
    /// actions are waiting, otherwise its next deadline (the connection delay, auto-stop), or
    /// `None` when only an input can move it on.
    pub fn poll_at(&self) -> Option<Instant> {
        if !self.queue.is_empty() {
            return Some(self.now);
        }
        let phase = match &self.phase {
            Phase::Connecting { due, .. } => *due,
            Phase::Succeeded { stop_at, .. } => *stop_at,
            _ => None,
        };
        match (phase, self.scan.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The provisioning state.
    pub fn prov_state(&self) -> ProvState {
        match self.phase {
            Phase::Stopped { .. } => ProvState::Stopped,
            Phase::Started => ProvState::Started,
            Phase::Saving { .. } | Phase::Connecting { .. } => ProvState::CredRecv,
            Phase::Failed { .. } => ProvState::Fail,
            Phase::Succeeded { .. } => ProvState::Success,
        }
    }

    /// The station state as GetStatus reports it.
    pub fn station(&self) -> &Station {
        &self.station
    }

    /// The credentials that joined and the link, once provisioning succeeded (also after the
    /// service stopped, until it restarts or re-provisions).
    pub fn joined(&self) -> Option<(&Credentials, &LinkStatus)> {
        match &self.phase {
            Phase::Succeeded { joined, .. }
            | Phase::Stopped {
                joined: Some(joined),
            } => Some((&joined.creds, &joined.link)),
            _ => None,
        }
    }

    /// Why the last attempt failed, in the Fail state.
    pub fn last_error(&self) -> Option<&ConnectError> {
        match &self.phase {
            Phase::Failed { error } => Some(error),
            _ => None,
        }
    }

    /// Whether `session` has set credentials that it has not applied yet.
    pub fn has_pending(&self, session: SessionId) -> bool {
        self.pending.contains(session)
    }

    /// How many sessions have credentials pending.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// `(finished, result_count)` of the last scan, as ScanStatus reports them.
    pub fn scan_status(&self) -> (bool, usize) {
        self.scan.status()
    }

    /// ScanResult: entries `start .. start + count` of the last scan, strongest first, with
    /// `count` cut to [`MAX_RESULTS_PER_PAGE`](super::MAX_RESULTS_PER_PAGE) and the range
    /// clamped to what exists (never an error).
    pub fn scan_page(&self, start: usize, count: usize) -> &[AccessPoint] {
        self.scan.page(start, count)
    }

    /// The settings.
    pub fn config(&self) -> &ManagerConfig {
        &self.config
    }

    // ----------------------------------------------------------------------------------------
    // Inputs: the service

    /// Starts serving: the station is disconnected ([`Action::Disconnect`]), the state becomes
    /// Started and [`ProvEvent::Start`] follows. Ignored unless stopped.
    pub fn handle_start(&mut self, now: Instant) {
        self.advance(now);
        if !matches!(self.phase, Phase::Stopped { .. }) {
            return;
        }
        self.phase = Phase::Started;
        self.station = Station::Connecting;
        self.queue.push_back(Action::Disconnect);
        self.emit(ProvEvent::Start);
    }

    /// Stops serving: [`Action::Stop`] then [`ProvEvent::End`]. A connection that succeeded
    /// stays up; an attempt under way is given up ([`Action::Disconnect`]) and whoever waits
    /// for it is told [`Refusal::Ended`]. Pending credentials are forgotten. Ignored when
    /// already stopped.
    pub fn handle_stop(&mut self, now: Instant) {
        self.advance(now);
        self.stop();
    }

    /// Tears down: stops (as [`handle_stop`](Self::handle_stop)) and emits
    /// [`ProvEvent::Deinit`].
    pub fn handle_deinit(&mut self, now: Instant) {
        self.handle_stop(now);
        self.emit(ProvEvent::Deinit);
    }

    /// Handles every deadline that has passed at `now`: the connection delay, auto-stop and
    /// the end of a scan that takes too long (it fails).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        let now = self.now;
        if self.scan.deadline().is_some_and(|at| at <= now) {
            let outcome = Err(WifiError::busy("the scan took too long"));
            if let Some(ok) = self.scan.finish(outcome, self.config.scan_max_entries) {
                self.answer(Answer::Scanned { ok });
            }
        }
        match &mut self.phase {
            Phase::Connecting {
                attempt, op, due, ..
            } if due.is_some_and(|at| at <= now) => {
                *due = None;
                let connect = Action::Connect {
                    creds: attempt.creds.clone(),
                    op: *op,
                };
                self.queue.push_back(connect);
            }
            Phase::Succeeded {
                stop_at: Some(at), ..
            } if *at <= now => {
                tracing::info!("auto-stop: provisioning is complete");
                self.stop();
            }
            _ => {}
        }
    }

    // ----------------------------------------------------------------------------------------
    // Inputs: sessions, status, scans, control

    /// SetConfig from `session`: remembers its credentials for its own ApplyConfig, replacing
    /// only its own earlier ones. Accepted in every running state (ApplyConfig decides);
    /// ignored when stopped.
    pub fn handle_set_config(&mut self, now: Instant, session: SessionId, creds: Credentials) {
        self.advance(now);
        if matches!(self.phase, Phase::Stopped { .. }) {
            return;
        }
        if let Some(evicted) = self.pending.set(session, creds) {
            tracing::debug!(
                session = evicted.0,
                "pending credentials dropped to make room for another session's"
            );
        }
    }

    /// `session` ended: its pending credentials are forgotten. An attempt it started goes on.
    pub fn handle_session_closed(&mut self, now: Instant, session: SessionId) {
        self.advance(now);
        self.pending.remove(session);
    }

    /// A GetStatus reply left: once it reported the success, auto-stop follows the cleanup
    /// delay (instead of the longer auto-stop timeout).
    pub fn handle_status_seen(&mut self, now: Instant) {
        self.outcome_seen(now);
    }

    /// The outcome reached the provisioning client by another route (a SmartConfig
    /// acknowledgement, say): after a success, auto-stop follows the cleanup delay, as after
    /// a GetStatus reply.
    pub fn handle_outcome_reported(&mut self, now: Instant) {
        self.outcome_seen(now);
    }

    fn outcome_seen(&mut self, now: Instant) {
        self.advance(now);
        if !self.config.auto_stop {
            return;
        }
        let at = self.now + self.config.cleanup_delay.max(MIN_CLEANUP_DELAY);
        if let Phase::Succeeded {
            stop_at,
            status_seen: seen @ false,
            ..
        } = &mut self.phase
        {
            *seen = true;
            *stop_at = Some(stop_at.map_or(at, |old| old.min(at)));
        }
    }

    /// ScanStart: starts a scan ([`Action::Scan`] with `params` clamped to what a radio does:
    /// at most 1500 ms per channel, groups of at most 14 channels) unless one runs, which
    /// then simply goes on. Returns whether a scan was started. Either way an
    /// [`Answer::Scanned`] follows when the scan ends, or fails when it has not ended in the
    /// time the parameters allow (so no scan holds the radio for long).
    pub fn handle_scan_start(&mut self, now: Instant, params: ScanParams) -> bool {
        self.advance(now);
        let params = clamp_scan_params(params);
        let started = self.scan.start(self.now + scan_time_limit(params));
        if started {
            self.queue.push_back(Action::Scan(params));
        }
        started
    }

    /// The scan ended. Ignored unless a scan runs.
    pub fn handle_scan_done(&mut self, now: Instant, outcome: Result<Vec<AccessPoint>, WifiError>) {
        self.advance(now);
        if let Some(ok) = self.scan.finish(outcome, self.config.scan_max_entries) {
            self.queue.push_back(Action::Answer(Answer::Scanned { ok }));
        }
    }

    /// CtrlReset: a harmless success while waiting for credentials; after a failure, back to
    /// Started with the stored credentials cleared ([`Action::ClearStore`]); refused
    /// otherwise. The station state is kept (GetStatus goes on reporting the failure).
    pub fn handle_reset(&mut self, now: Instant) -> Result<(), ProvError> {
        self.advance(now);
        match &self.phase {
            Phase::Started => Ok(()),
            Phase::Failed { .. } => {
                self.phase = Phase::Started;
                self.queue.push_back(Action::ClearStore);
                Ok(())
            }
            _ => Err(self.not_accepting().into()),
        }
    }

    /// CtrlReprov: only with auto-stop disabled, from any running state: an attempt under way
    /// is abandoned, the station disconnected, the state back to Started, and
    /// [`ProvEvent::Start`] emitted. The station state is kept until new credentials are
    /// applied (as on ESP-IDF).
    pub fn handle_reprov(&mut self, now: Instant) -> Result<(), ProvError> {
        self.advance(now);
        if matches!(self.phase, Phase::Stopped { .. }) {
            return Err(Refusal::NotRunning.into());
        }
        if self.config.auto_stop {
            return Err(Refusal::AutoStop.into());
        }
        self.abandon(Refusal::Abandoned);
        self.phase = Phase::Started;
        self.queue.push_back(Action::Disconnect);
        self.emit(ProvEvent::Start);
        Ok(())
    }

    // ----------------------------------------------------------------------------------------
    // Helpers

    /// Time only moves forward.
    pub(super) fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    pub(super) fn emit(&mut self, event: ProvEvent) {
        self.queue.push_back(Action::Emit(event));
    }

    pub(super) fn answer(&mut self, answer: Answer) {
        self.queue.push_back(Action::Answer(answer));
    }

    pub(super) fn next_op(&mut self) -> OpId {
        self.next_op += 1;
        OpId(self.next_op)
    }

    /// Why new credentials are not taken in the current state (not for Started).
    pub(super) fn not_accepting(&self) -> Refusal {
        match self.phase {
            Phase::Stopped { .. } => Refusal::NotRunning,
            Phase::Started | Phase::Saving { .. } | Phase::Connecting { .. } => Refusal::InProgress,
            Phase::Failed { .. } => Refusal::NeedsReset,
            Phase::Succeeded { .. } => Refusal::AlreadyJoined,
        }
    }

    /// Gives up the set of credentials being stored or tried (the state becomes Started),
    /// telling its caller `why`. Returns whether a connection attempt was under way or due.
    pub(super) fn abandon(&mut self, why: Refusal) -> bool {
        match mem::replace(&mut self.phase, Phase::Started) {
            Phase::Saving { attempt, .. } => {
                self.answer(Answer::Applied {
                    origin: attempt.origin,
                    result: Err(why.into()),
                });
                self.answer(Answer::Finished {
                    origin: attempt.origin,
                    result: Err(why.into()),
                });
            }
            Phase::Connecting { attempt, .. } => {
                self.answer(Answer::Finished {
                    origin: attempt.origin,
                    result: Err(why.into()),
                });
                return true;
            }
            other => self.phase = other,
        }
        false
    }

    fn stop(&mut self) {
        if matches!(self.phase, Phase::Stopped { .. }) {
            return;
        }
        if self.abandon(Refusal::Ended) {
            self.queue.push_back(Action::Disconnect);
        }
        let joined = match mem::replace(&mut self.phase, Phase::Stopped { joined: None }) {
            Phase::Succeeded { joined, .. } => Some(joined),
            _ => None,
        };
        self.phase = Phase::Stopped { joined };
        self.pending.clear();
        self.queue.push_back(Action::Stop);
        self.emit(ProvEvent::End);
    }
}
