//! The transitions between states, shared by the inputs.

use tracing::info;
use wifiprov_types::Instant;
use wifiprov_wifi::{ConnectError, Credentials, LinkStatus};

use super::{Phase, Policy, Round};
use crate::policy::config::{ApPolicy, KnownNetwork};
use crate::policy::order::{Seen, lossy, ordered};
use crate::policy::types::{Action, NetworkFailure, Outcome};

impl Policy {
    /// Records `now` (time never goes back) and says whether inputs are still handled.
    pub(super) fn accepting(&mut self, now: Instant) -> bool {
        self.tick(now);
        let finished = self.config.one_shot && self.outcome.is_some();
        !finished && !matches!(self.phase, Phase::Stopped)
    }

    pub(super) fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    pub(super) fn known(&self, ssid: &[u8]) -> Option<&KnownNetwork> {
        self.networks.iter().find(|n| n.ssid == ssid)
    }

    /// Starts a round: the lost network directly if there is one, otherwise a scan.
    pub(super) fn start_round(&mut self, lost: Option<Vec<u8>>) {
        let only_seen = self.ap_up && self.config.ap_shares_radio;
        let mut round = Round {
            lost: lost.clone(),
            tried: Vec::new(),
            started: self.now,
            only_seen,
        };
        match lost {
            Some(ssid) if !only_seen && self.known(&ssid).is_some() => {
                round.tried.push(ssid.clone());
                self.join(round, None, ssid);
            }
            _ => self.scan(round),
        }
    }

    pub(super) fn scan(&mut self, round: Round) {
        let untried = self
            .networks
            .iter()
            .any(|n| !round.tried.iter().any(|t| *t == n.ssid));
        if !untried {
            self.round_failed(round);
            return;
        }
        self.queue.push_back(Action::Scan);
        self.phase = Phase::Scanning {
            round,
            deadline: self.now + self.config.retry.scan_timeout,
        };
    }

    /// Tries the next untried network in candidate order, or ends the round.
    pub(super) fn next_candidate(&mut self, mut round: Round, seen: Vec<Seen>) {
        let next = ordered(&self.networks, &seen)
            .filter(|n| !round.only_seen || seen.iter().any(|s| s.ssid == n.ssid))
            .find(|n| !round.tried.iter().any(|t| *t == n.ssid))
            .map(|n| n.ssid.to_vec());
        match next {
            Some(ssid) => {
                round.tried.push(ssid.clone());
                self.join(round, Some(seen), ssid);
            }
            None => self.round_failed(round),
        }
    }

    pub(super) fn continue_round(&mut self, round: Round, scan: Option<Vec<Seen>>) {
        match scan {
            Some(seen) => self.next_candidate(round, seen),
            None => self.scan(round),
        }
    }

    pub(super) fn join(&mut self, round: Round, scan: Option<Vec<Seen>>, ssid: Vec<u8>) {
        let Some(network) = self.known(&ssid) else {
            self.continue_round(round, scan);
            return;
        };
        let channel = scan
            .as_deref()
            .and_then(|seen| seen.iter().find(|s| s.ssid == ssid))
            .map(|s| s.channel);
        // The channel only when a scan saw the network: `channel=6`, or no field.
        info!(ssid = %network.ssid, channel, "joining");
        self.queue.push_back(Action::Connect(Credentials {
            ssid: network.ssid.clone(),
            passphrase: network.password.clone(),
            bssid: None,
            channel,
        }));
        self.phase = Phase::Joining {
            round,
            scan,
            ssid,
            deadline: self.now + self.config.retry.connect_timeout,
        };
    }

    pub(super) fn attempt_failed(
        &mut self,
        round: Round,
        scan: Option<Vec<Seen>>,
        ssid: Vec<u8>,
        reason: ConnectError,
    ) {
        info!(ssid = ?lossy(&ssid), "attempt failed: {reason}");
        self.record_failure(ssid, reason);
        self.continue_round(round, scan);
    }

    pub(super) fn record_failure(&mut self, ssid: Vec<u8>, reason: ConnectError) {
        if self.known(&ssid).is_none() {
            return;
        }
        self.failures.retain(|f| f.ssid != ssid);
        self.failures.push(NetworkFailure {
            ssid,
            reason,
            at: self.now,
        });
        self.sort_failures();
    }

    pub(super) fn sort_failures(&mut self) {
        let nets = &self.networks;
        self.failures.sort_by_key(|f| {
            nets.iter()
                .position(|n| n.ssid == f.ssid)
                .unwrap_or(usize::MAX)
        });
    }

    /// Every known network failed in this round.
    pub(super) fn round_failed(&mut self, round: Round) {
        let now = self.now;
        // (With `Always` the access point is normally up already; this brings back one that
        // failed to start.)
        if self.config.ap_policy != ApPolicy::Never {
            self.set_ap(true);
        }
        if self.config.one_shot {
            let failures = self
                .failures
                .iter()
                .filter(|f| f.at >= round.started)
                .cloned()
                .collect();
            info!("one-shot round over: no network joined");
            self.phase = Phase::NoNetwork { retry_at: None };
            self.outcome = Some(Outcome::Failed { failures });
        } else if self.networks.is_empty() {
            info!("no known network; waiting for one");
            self.phase = Phase::NoNetwork { retry_at: None };
        } else if let Some(lost) = round.lost {
            self.failed_rounds = self.failed_rounds.saturating_add(1);
            let backoff = self.config.retry.backoff(self.failed_rounds);
            let until = now + backoff;
            info!(retry_in = ?backoff, "recovery round failed; backing off");
            self.phase = Phase::Backoff { until, lost };
        } else {
            let rescan = if self.ap_up && self.config.ap_shares_radio {
                self.config.retry.ap_rescan_interval
            } else {
                self.config.retry.rescan_interval
            };
            let retry_at = now + rescan;
            info!(retry_in = ?rescan, "no known network could be joined");
            self.phase = Phase::NoNetwork {
                retry_at: Some(retry_at),
            };
        }
        self.sync_console();
    }

    pub(super) fn connected(&mut self, ssid: Vec<u8>, link: LinkStatus) {
        info!(ssid = ?lossy(&ssid), ip = %link.ip, "connected");
        self.failures.retain(|f| f.ssid != ssid);
        self.failed_rounds = 0;
        let next_check =
            (!self.config.one_shot).then(|| self.now + self.config.retry.check_interval);
        if self.config.one_shot {
            self.outcome = Some(Outcome::Connected {
                ssid: ssid.clone(),
                ip: link.ip,
            });
        }
        self.phase = Phase::Connected {
            ssid,
            link,
            next_check,
            check_pending: false,
        };
        if self.config.ap_policy == ApPolicy::Fallback {
            self.set_ap(false);
        }
        self.sync_console();
    }

    pub(super) fn link_lost(&mut self, ssid: Vec<u8>) {
        info!(ssid = ?lossy(&ssid), "link lost");
        self.record_failure(ssid.clone(), ConnectError::LinkLost { ssid: lossy(&ssid) });
        self.failed_rounds = 0;
        self.phase = Phase::Backoff {
            until: self.now + self.config.retry.backoff(0),
            lost: ssid,
        };
        self.sync_console();
        self.queue.push_back(Action::Disconnect);
    }

    /// Starts or stops the access point, keeping the console in step: a console that only
    /// the AP needed stops before the AP does, one it needs starts after it.
    pub(super) fn set_ap(&mut self, up: bool) {
        if self.ap_up == up {
            return;
        }
        self.ap_up = up;
        if up {
            self.queue.push_back(Action::StartAp);
            self.sync_console();
        } else {
            self.sync_console();
            self.queue.push_back(Action::StopAp);
        }
    }

    /// Starts or stops the remote console so that it runs exactly while the joined network
    /// or the access point enables it.
    pub(super) fn sync_console(&mut self) {
        let network_wants = match &self.phase {
            Phase::Connected { ssid, .. } => self.known(ssid).is_some_and(|n| n.enables_webrepl),
            _ => false,
        };
        let wanted = network_wants || (self.ap_up && self.config.ap_enables_webrepl);
        if wanted != self.console_up {
            self.console_up = wanted;
            self.queue.push_back(if wanted {
                Action::StartRemoteConsole
            } else {
                Action::StopRemoteConsole
            });
        }
    }
}
