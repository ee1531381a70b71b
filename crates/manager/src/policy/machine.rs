//! The state machine itself.

use std::collections::VecDeque;
use std::mem;

use tracing::{debug, info, warn};
use wifiprov_types::Instant;
use wifiprov_wifi::{AccessPoint, ConnectError, Credentials, LinkStatus, WifiError};

use super::config::{ApPolicy, KnownNetwork, PolicyConfig};
use super::order::{Seen, deduplicated, lossy, named_network, seen_from_scan};
use super::types::{Action, NetworkFailure, Outcome, State, Status};

mod transitions;

/// One round of attempts: every known network at most once.
#[derive(Clone, Debug)]
struct Round {
    /// The network whose link was lost, for a recovery round (it is tried first, directly).
    lost: Option<Vec<u8>>,
    /// Networks already tried in this round, the current one included.
    tried: Vec<Vec<u8>>,
    /// When the round started.
    started: Instant,
    /// Only networks the scan saw are tried (the access point shares the radio and is up).
    only_seen: bool,
}

/// Per-state data.
#[derive(Clone, Debug)]
enum Phase {
    Scanning {
        round: Round,
        deadline: Instant,
    },
    Joining {
        round: Round,
        /// The scan this attempt was chosen from; `None` for the direct attempt on the lost
        /// network that opens a recovery round (a scan follows if it fails).
        scan: Option<Vec<Seen>>,
        ssid: Vec<u8>,
        deadline: Instant,
    },
    Connected {
        ssid: Vec<u8>,
        link: LinkStatus,
        /// `None` in one-shot mode.
        next_check: Option<Instant>,
        /// A `CheckLink` was handed out and not answered yet.
        check_pending: bool,
    },
    NoNetwork {
        retry_at: Option<Instant>,
    },
    Backoff {
        until: Instant,
        lost: Vec<u8>,
    },
    Stopped,
}

/// The connection policy: a sans-I/O state machine that decides which known network to join,
/// when to run the access point and the remote console, and how to recover from a lost link.
///
/// See the [module documentation](super) for the states, the candidate order and the rules.
#[derive(Debug)]
pub struct Policy {
    config: PolicyConfig,
    networks: Vec<KnownNetwork>,
    phase: Phase,
    queue: VecDeque<Action>,
    now: Instant,
    ap_up: bool,
    console_up: bool,
    failures: Vec<NetworkFailure>,
    /// Recovery rounds failed since the link was lost (0 right after the loss).
    failed_rounds: u32,
    outcome: Option<Outcome>,
}

impl Policy {
    /// A policy starting at `now` with `networks` (most preferred first; a repeated SSID is
    /// ignored after its first entry). The first actions are queued at once: `StartAp` with
    /// [`ApPolicy::Always`], then `Scan` (or, with no known network, the "no network" rules).
    pub fn new(config: PolicyConfig, networks: Vec<KnownNetwork>, now: Instant) -> Self {
        let config = PolicyConfig {
            retry: config.retry.normalized(),
            ..config
        };
        let mut policy = Policy {
            config,
            networks: deduplicated(networks),
            phase: Phase::NoNetwork { retry_at: None },
            queue: VecDeque::new(),
            now,
            ap_up: false,
            console_up: false,
            failures: Vec::new(),
            failed_rounds: 0,
            outcome: None,
        };
        if config.ap_policy == ApPolicy::Always {
            policy.set_ap(true);
        }
        policy.start_round(None);
        policy
    }

    // ----------------------------------------------------------------------------------------
    // Outputs

    /// The next action, if any. Call it after every input (and when [`poll_at`](Self::poll_at)
    /// is reached) until it returns `None`; it first handles any deadline that has passed at
    /// `now`, as [`handle_timeout`](Self::handle_timeout) does.
    pub fn poll(&mut self, now: Instant) -> Option<Action> {
        self.handle_timeout(now);
        self.queue.pop_front()
    }

    /// When the policy next needs [`poll`](Self::poll) or
    /// [`handle_timeout`](Self::handle_timeout): the latest time it was given while actions
    /// are waiting, otherwise the next deadline, or `None` when only an input can move it on.
    pub fn poll_at(&self) -> Option<Instant> {
        if !self.queue.is_empty() {
            return Some(self.now);
        }
        match &self.phase {
            Phase::Scanning { deadline, .. } | Phase::Joining { deadline, .. } => Some(*deadline),
            Phase::Connected { next_check, .. } => *next_check,
            Phase::NoNetwork { retry_at } => *retry_at,
            Phase::Backoff { until, .. } => Some(*until),
            Phase::Stopped => None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        match &self.phase {
            Phase::Scanning { .. } => State::Scanning,
            Phase::Joining { ssid, .. } => State::Joining { ssid: ssid.clone() },
            Phase::Connected { ssid, link, .. } => State::Connected {
                ssid: ssid.clone(),
                ip: link.ip,
            },
            Phase::NoNetwork { .. } => State::NoNetwork { ap_up: self.ap_up },
            Phase::Backoff { until, .. } => State::Backoff { until: *until },
            Phase::Stopped => State::Stopped,
        }
    }

    /// A summary for the control API.
    pub fn status(&self) -> Status {
        let (network, ip) = match &self.phase {
            Phase::Joining { ssid, .. } => (Some(ssid.clone()), None),
            Phase::Connected { ssid, link, .. } => (Some(ssid.clone()), Some(link.ip)),
            _ => (None, None),
        };
        Status {
            state: self.state(),
            network,
            ip,
            ap_up: self.ap_up,
            remote_console: self.console_up,
            next_deadline: self.poll_at(),
            failures: self.failures.clone(),
        }
    }

    /// The last failure of each known network that has failed since it was last joined, in
    /// the order of the known networks list. Joining a network clears its entry; removing it
    /// from the list drops its entry.
    pub fn last_failures(&self) -> &[NetworkFailure] {
        &self.failures
    }

    /// The link, when connected.
    pub fn link(&self) -> Option<&LinkStatus> {
        match &self.phase {
            Phase::Connected { link, .. } => Some(link),
            _ => None,
        }
    }

    /// The known networks as the policy currently sees them (most preferred first).
    pub fn networks(&self) -> &[KnownNetwork] {
        &self.networks
    }

    /// The settings in use (durations already raised to at least 1 ms).
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// Whether the access point is up, counting the actions handed out or queued.
    pub fn ap_up(&self) -> bool {
        self.ap_up
    }

    /// Whether the remote console runs, counting the actions handed out or queued.
    pub fn remote_console_running(&self) -> bool {
        self.console_up
    }

    /// In one-shot mode, the verdict once the round is over: the caller drains
    /// [`poll`](Self::poll) (the fallback access point may still be started) and exits.
    /// Always `None` outside one-shot mode.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    // ----------------------------------------------------------------------------------------
    // Inputs

    /// Handles every deadline that has passed at `now`: scan and connection watchdogs, link
    /// checks, the next round.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.accepting(now) {
            return;
        }
        let now = self.now;
        let retry = self.config.retry;
        match mem::replace(&mut self.phase, Phase::Stopped) {
            Phase::Scanning { round, deadline } if deadline <= now => {
                warn!("scan results did not arrive in time; trying every known network directly");
                self.next_candidate(round, Vec::new());
            }
            Phase::Joining {
                round,
                scan,
                ssid,
                deadline,
            } if deadline <= now => {
                warn!(ssid = ?lossy(&ssid), "connection attempt did not finish in time");
                self.queue.push_back(Action::Disconnect);
                let reason = ConnectError::Timeout { ssid: lossy(&ssid) };
                self.attempt_failed(round, scan, ssid, reason);
            }
            Phase::Connected {
                ssid,
                link,
                next_check: Some(at),
                check_pending,
            } if at <= now => {
                if check_pending {
                    warn!(ssid = ?lossy(&ssid), "link check not answered; treating the link as lost");
                    self.link_lost(ssid);
                } else {
                    self.queue.push_back(Action::CheckLink);
                    self.phase = Phase::Connected {
                        ssid,
                        link,
                        next_check: Some(now + retry.check_interval),
                        check_pending: true,
                    };
                }
            }
            Phase::NoNetwork { retry_at: Some(at) } if at <= now => self.start_round(None),
            Phase::Backoff { until, lost } if until <= now => self.start_round(Some(lost)),
            other => self.phase = other,
        }
    }

    /// Scan results arrived. Ignored unless a scan was asked for.
    pub fn handle_scan(&mut self, now: Instant, access_points: Vec<AccessPoint>) {
        if !self.accepting(now) {
            return;
        }
        match mem::replace(&mut self.phase, Phase::Stopped) {
            Phase::Scanning { round, .. } => {
                let seen = seen_from_scan(&access_points);
                debug!(names = seen.len(), "scan results");
                self.next_candidate(round, seen);
            }
            other => {
                debug!("scan results arrived unasked; ignored");
                self.phase = other;
            }
        }
    }

    /// The scan failed. Handled like an empty scan: every known network is tried directly, in
    /// preference order. Ignored unless a scan was asked for.
    pub fn handle_scan_failed(&mut self, now: Instant, error: WifiError) {
        if !self.accepting(now) {
            return;
        }
        match mem::replace(&mut self.phase, Phase::Stopped) {
            Phase::Scanning { round, .. } => {
                warn!(%error, "scan failed; trying every known network directly");
                self.next_candidate(round, Vec::new());
            }
            other => self.phase = other,
        }
    }

    /// The result of the last [`Action::Connect`]. Ignored unless an attempt is under way, and
    /// ignored as stale when it names another network than the one being joined.
    pub fn handle_connect_result(
        &mut self,
        now: Instant,
        result: Result<LinkStatus, ConnectError>,
    ) {
        if !self.accepting(now) {
            return;
        }
        match mem::replace(&mut self.phase, Phase::Stopped) {
            Phase::Joining {
                round,
                scan,
                ssid,
                deadline,
            } => {
                if named_network(&result).is_some_and(|named| named != lossy(&ssid)) {
                    debug!("connection result for another network; ignored as stale");
                    self.phase = Phase::Joining {
                        round,
                        scan,
                        ssid,
                        deadline,
                    };
                    return;
                }
                match result {
                    Ok(link) if self.known(&ssid).is_some() => self.connected(ssid, link),
                    Ok(_) => {
                        info!(ssid = ?lossy(&ssid), "joined a network removed meanwhile; leaving it");
                        self.queue.push_back(Action::Disconnect);
                        self.continue_round(round, scan);
                    }
                    Err(reason) => self.attempt_failed(round, scan, ssid, reason),
                }
            }
            other => {
                debug!("connection result arrived unasked; ignored");
                self.phase = other;
            }
        }
    }

    /// Whether the link is up: the answer to [`Action::CheckLink`], or news from the backend
    /// at any time. A link that is down while connected starts recovery. Ignored unless
    /// connected.
    pub fn handle_link_status(&mut self, now: Instant, up: bool) {
        if !self.accepting(now) {
            return;
        }
        match mem::replace(&mut self.phase, Phase::Stopped) {
            Phase::Connected {
                ssid,
                link,
                next_check,
                ..
            } if up => {
                self.phase = Phase::Connected {
                    ssid,
                    link,
                    next_check,
                    check_pending: false,
                }
            }
            Phase::Connected { ssid, .. } => self.link_lost(ssid),
            other => self.phase = other,
        }
    }

    /// Credentials received through provisioning were tried by the caller, with `outcome`.
    ///
    /// On success the network is put at the top of the known list
    /// ([`Action::AddKnownNetwork`]), the policy is connected to it whatever it was doing,
    /// and the fallback access point is stopped. On failure nothing changes: the access point
    /// stays up for the next attempt (the caller reports the reason to the client); if the
    /// policy was connected, the attempt may have left that network, so the link is checked
    /// at once.
    pub fn handle_provisioned(
        &mut self,
        now: Instant,
        credentials: Credentials,
        outcome: Result<LinkStatus, ConnectError>,
    ) {
        if !self.accepting(now) {
            return;
        }
        match outcome {
            Ok(link) => {
                debug!(ssid = %credentials.ssid, "provisioned network joined");
                let ssid = credentials.ssid;
                let password = credentials.passphrase;
                let enables_webrepl = self.known(&ssid).is_some_and(|n| n.enables_webrepl);
                self.networks.retain(|n| n.ssid != ssid);
                self.networks.insert(
                    0,
                    KnownNetwork {
                        ssid: ssid.clone(),
                        password: password.clone(),
                        enables_webrepl,
                    },
                );
                self.sort_failures();
                self.queue.push_back(Action::AddKnownNetwork {
                    ssid: ssid.clone(),
                    password,
                });
                // Whatever was under way is abandoned; its late results will be ignored.
                self.phase = Phase::NoNetwork { retry_at: None };
                self.connected(ssid.to_vec(), link);
            }
            Err(reason) => {
                info!(ssid = %credentials.ssid, "provisioned credentials failed: {reason}");
                self.check_link_now();
            }
        }
    }

    /// Credentials received through provisioning could not be joined, when the caller only
    /// knows why ([`Policy::handle_provisioned`] with an error, without the credentials):
    /// nothing changes but, if the policy was connected, an immediate link check.
    pub fn handle_provisioning_failed(&mut self, now: Instant, reason: &ConnectError) {
        if !self.accepting(now) {
            return;
        }
        info!(
            ssid = reason.ssid(),
            "provisioned credentials failed: {reason}"
        );
        self.check_link_now();
    }

    /// Connected: the next link check is due now.
    fn check_link_now(&mut self) {
        let now = self.now;
        if let Phase::Connected {
            next_check: Some(at),
            check_pending,
            ..
        } = &mut self.phase
        {
            *at = now;
            *check_pending = false;
        }
    }

    /// The known networks changed (the file was edited or rewritten).
    ///
    /// * Scanning or joining: the rest of the round follows the new list (removed networks
    ///   are skipped, new ones are tried, the order is the new one).
    /// * Connected: the link is kept, even if a more preferred network was added; if the
    ///   joined network was removed, it is left and a new round starts.
    /// * No network or backing off: if the list changed, the next round starts now.
    pub fn update_networks(&mut self, now: Instant, networks: Vec<KnownNetwork>) {
        if !self.accepting(now) {
            return;
        }
        let networks = deduplicated(networks);
        let changed = networks != self.networks;
        self.networks = networks;
        let nets = &self.networks;
        self.failures
            .retain(|f| nets.iter().any(|n| n.ssid == f.ssid));
        self.sort_failures();
        let now = self.now;
        match mem::replace(&mut self.phase, Phase::Stopped) {
            Phase::Connected { ssid, .. } if self.known(&ssid).is_none() => {
                info!(ssid = ?lossy(&ssid), "joined network removed from the list; leaving it");
                self.phase = Phase::NoNetwork { retry_at: None };
                self.sync_console();
                self.queue.push_back(Action::Disconnect);
                self.start_round(None);
            }
            Phase::NoNetwork { .. } if changed => {
                self.phase = Phase::NoNetwork {
                    retry_at: (!self.networks.is_empty()).then_some(now),
                };
            }
            Phase::Backoff { lost, .. } if changed => {
                self.phase = Phase::Backoff { until: now, lost };
            }
            other => {
                self.phase = other;
                self.sync_console();
            }
        }
    }

    /// The access point the policy asked for ([`Action::StartAp`]) could not be started: the
    /// policy no longer counts it as up, so the next failed round asks for it again (with
    /// [`ApPolicy::Always`], the next round comes after the rescan interval).
    pub fn handle_ap_failed(&mut self, now: Instant) {
        if !self.accepting(now) || !self.ap_up {
            return;
        }
        self.ap_up = false;
        self.sync_console();
        if let Phase::NoNetwork { retry_at } = &mut self.phase
            && !self.networks.is_empty()
        {
            let next = self.now + self.config.retry.rescan_interval;
            *retry_at = Some(retry_at.map_or(next, |at| at.min(next)));
        }
        if self.config.ap_policy == ApPolicy::Always && self.networks.is_empty() {
            self.phase = Phase::NoNetwork {
                retry_at: Some(self.now + self.config.retry.rescan_interval),
            };
        }
    }

    /// A rescan was requested (control API): when waiting between rounds, the next round
    /// starts now. Connected, scanning or joining: nothing changes.
    pub fn request_rescan(&mut self, now: Instant) {
        if !self.accepting(now) {
            return;
        }
        let now = self.now;
        match &mut self.phase {
            Phase::NoNetwork { retry_at } if !self.networks.is_empty() => *retry_at = Some(now),
            Phase::Backoff { until, .. } => *until = now,
            _ => {}
        }
    }

    /// Stops managing: the remote console and the access point are stopped if they run (the
    /// station is left as it is, so stopping the manager does not take the device offline),
    /// scans, attempts and link checks not yet handed out are dropped, and every later input
    /// is ignored.
    pub fn shutdown(&mut self, now: Instant) {
        self.tick(now);
        self.queue
            .retain(|a| !matches!(a, Action::Scan | Action::Connect(_) | Action::CheckLink));
        self.phase = Phase::Stopped;
        self.set_ap(false);
        self.sync_console();
    }
}
