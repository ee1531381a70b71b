//! Following one connection attempt through wpa_supplicant's messages.
//!
//! [`Tracker`] is fed every [`WpaEvent`] after `SELECT_NETWORK` and answers with progress
//! to report, the end of the association phase, or the typed failure:
//!
//! | messages                                                        | outcome            |
//! |-----------------------------------------------------------------|--------------------|
//! | `Trying to associate with B (… freq=F MHz)`                     | `Associating`      |
//! | `Associated with B` (secured network)                           | `Authenticating`   |
//! | `CTRL-EVENT-CONNECTED … [id=ours]`                              | associated, done   |
//! | `SSID-TEMP-DISABLED id=ours … reason=WRONG_KEY` / `AUTH_FAILED` | `AuthFailed`       |
//! | `WPA: 4-Way Handshake failed …`, then `DISCONNECTED`            | `AuthFailed`       |
//! | `SSID-TEMP-DISABLED … reason=CONN_FAILED` after `ASSOC-REJECT`  | `AssociationRejected` |
//! | `SSID-TEMP-DISABLED … reason=CONN_FAILED` otherwise             | `NetworkNotFound`  |
//! | `NETWORK-NOT-FOUND`, the configured number of times             | `NetworkNotFound`  |
//! | `ASSOC-REJECT` / `AUTH-REJECT`, three times                     | `AssociationRejected` (status code in the reason) |
//! | `DISCONNECTED reason=N`, three times                            | `AuthFailed` for reasons 15/23 on a secured network, else `AssociationRejected` (reason code in the reason) |
//! | `SCAN-FAILED ret=N` (N ≠ −16), three times in a row             | `Backend(Unavailable)` |
//! | `CTRL-EVENT-TERMINATING`                                        | `Backend(Unavailable)` |
//!
//! A locally generated `DISCONNECTED reason=3` before the attempt reached any access point
//! is wpa_supplicant leaving the previous network, and is ignored.

use crate::{Bssid, ConnectError, ConnectProgress, WifiError};

use super::event::WpaEvent;
use super::parse::frequency_to_channel;

/// Failures of one kind tolerated before the attempt is given up.
const REPEATS: u32 = 3;

/// What the tracker wants done after an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Report this progress.
    Progress(ConnectProgress),
    /// The network is associated (and keyed): go on to the address.
    Associated {
        /// The access point, if the message named it.
        bssid: Option<Bssid>,
    },
    /// The attempt failed.
    Fail(ConnectError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Searching,
    Associating,
    Authenticating,
}

/// The state of one attempt. See the [module documentation](self).
#[derive(Debug)]
pub(crate) struct Tracker {
    id: u32,
    ssid: String,
    secured: bool,
    not_found_limit: u32,
    phase: Phase,
    /// Last (bssid, frequency) reported as `Associating`.
    reported: Option<(Option<Bssid>, Option<u32>)>,
    freq: Option<u32>,
    not_found: u32,
    scan_failures: u32,
    last_scan_error: i32,
    rejects: u32,
    last_reject: Option<String>,
    disconnects: u32,
    handshake_failed: bool,
}

impl Tracker {
    /// An attempt on network `id` (named `ssid`, for messages).
    pub(crate) fn new(id: u32, ssid: String, secured: bool, not_found_limit: u32) -> Self {
        Tracker {
            id,
            ssid,
            secured,
            not_found_limit: not_found_limit.max(1),
            phase: Phase::Searching,
            reported: None,
            freq: None,
            not_found: 0,
            scan_failures: 0,
            last_scan_error: 0,
            rejects: 0,
            last_reject: None,
            disconnects: 0,
            handshake_failed: false,
        }
    }

    /// The failure to report when the association phase runs out of time.
    pub(crate) fn timeout(&self) -> ConnectError {
        if self.phase == Phase::Searching && self.not_found > 0 {
            ConnectError::NetworkNotFound {
                ssid: self.ssid.clone(),
            }
        } else {
            ConnectError::Timeout {
                ssid: self.ssid.clone(),
            }
        }
    }

    /// The network's name, for messages.
    pub(crate) fn ssid(&self) -> &str {
        &self.ssid
    }

    /// The frequency of the access point being joined, if a message gave it.
    pub(crate) fn freq(&self) -> Option<u32> {
        self.freq
    }

    fn ours(&self, id: Option<u32>) -> bool {
        id.is_none_or(|id| id == self.id)
    }

    fn associating(&mut self, bssid: Option<Bssid>, freq: Option<u32>, out: &mut Vec<Step>) {
        if freq.is_some() {
            self.freq = freq;
        }
        if self.phase == Phase::Searching || self.reported != Some((bssid, freq.or(self.freq))) {
            self.reported = Some((bssid, freq.or(self.freq)));
            out.push(Step::Progress(ConnectProgress::Associating {
                bssid: bssid.unwrap_or_default(),
                channel: self.freq.map_or(0, frequency_to_channel),
            }));
        }
        self.phase = Phase::Associating;
    }

    fn fail(&self, error: ConnectError) -> Vec<Step> {
        vec![Step::Fail(error)]
    }

    fn auth_failed(&self) -> Vec<Step> {
        self.fail(ConnectError::AuthFailed {
            ssid: self.ssid.clone(),
        })
    }

    fn rejected(&self, reason: String) -> Vec<Step> {
        self.fail(ConnectError::AssociationRejected {
            ssid: self.ssid.clone(),
            reason,
        })
    }

    /// Feeds one message.
    pub(crate) fn on_event(&mut self, event: &WpaEvent) -> Vec<Step> {
        let mut out = Vec::new();
        match event {
            WpaEvent::Trying { bssid, freq } => self.associating(*bssid, *freq, &mut out),
            WpaEvent::Associated { bssid } => {
                if self.phase == Phase::Searching {
                    self.associating(*bssid, None, &mut out);
                }
                if self.secured && self.phase != Phase::Authenticating {
                    self.phase = Phase::Authenticating;
                    out.push(Step::Progress(ConnectProgress::Authenticating));
                }
            }
            WpaEvent::Connected { bssid, id } if self.ours(*id) => {
                out.push(Step::Associated { bssid: *bssid });
            }
            WpaEvent::TempDisabled { id, reason, .. } if self.ours(*id) => {
                return match reason.as_str() {
                    "WRONG_KEY" | "AUTH_FAILED" => self.auth_failed(),
                    "CONN_FAILED" => match &self.last_reject {
                        Some(r) => self.rejected(r.clone()),
                        None => self.fail(ConnectError::NetworkNotFound {
                            ssid: self.ssid.clone(),
                        }),
                    },
                    other => self.rejected(format!(
                        "wpa_supplicant disabled the network for a while ({other})"
                    )),
                };
            }
            WpaEvent::NetworkNotFound if self.phase == Phase::Searching => {
                self.not_found += 1;
                if self.not_found >= self.not_found_limit {
                    return self.fail(ConnectError::NetworkNotFound {
                        ssid: self.ssid.clone(),
                    });
                }
            }
            WpaEvent::ScanResults => self.scan_failures = 0,
            WpaEvent::ScanFailed { ret, .. } if *ret != -16 => {
                self.scan_failures += 1;
                self.last_scan_error = *ret;
                if self.scan_failures >= REPEATS {
                    return self.fail(ConnectError::Backend(WifiError::unavailable(format!(
                        "the driver cannot scan for {:?} (CTRL-EVENT-SCAN-FAILED ret={}, {} times)",
                        self.ssid, self.last_scan_error, self.scan_failures
                    ))));
                }
            }
            WpaEvent::AssocReject {
                status_code,
                timeout,
                ..
            } => {
                let reason = if *timeout {
                    "the association timed out".to_owned()
                } else {
                    format!(
                        "association refused, status code {status_code} ({})",
                        status_name(*status_code)
                    )
                };
                return self.reject(reason);
            }
            WpaEvent::AuthReject { status_code, .. } => {
                let reason = format!(
                    "authentication refused, status code {status_code} ({})",
                    status_name(*status_code)
                );
                return self.reject(reason);
            }
            WpaEvent::HandshakeFailed => self.handshake_failed = true,
            WpaEvent::Disconnected {
                reason,
                locally_generated,
                ..
            } => return self.disconnected(*reason, *locally_generated),
            WpaEvent::Terminating => {
                return self.fail(ConnectError::Backend(WifiError::unavailable(
                    "wpa_supplicant exited during the connection attempt",
                )));
            }
            _ => {}
        }
        out
    }

    fn reject(&mut self, reason: String) -> Vec<Step> {
        self.rejects += 1;
        self.phase = Phase::Searching;
        self.last_reject = Some(reason.clone());
        if self.rejects >= REPEATS {
            return self.rejected(reason);
        }
        Vec::new()
    }

    fn disconnected(&mut self, reason: u16, locally_generated: bool) -> Vec<Step> {
        if self.phase == Phase::Searching && locally_generated && reason == 3 {
            // Leaving the previously used network.
            return Vec::new();
        }
        if self.handshake_failed {
            return self.auth_failed();
        }
        self.disconnects += 1;
        self.phase = Phase::Searching;
        if self.disconnects < REPEATS {
            return Vec::new();
        }
        if self.secured && matches!(reason, 15 | 23) {
            return self.auth_failed();
        }
        self.rejected(format!(
            "disconnected {} times, last reason code {reason} ({}{})",
            self.disconnects,
            reason_name(reason),
            if locally_generated {
                ", locally generated"
            } else {
                ""
            }
        ))
    }
}

/// A short name of an IEEE 802.11 reason code.
pub(crate) fn reason_name(code: u16) -> &'static str {
    match code {
        1 => "unspecified",
        2 => "previous authentication no longer valid",
        3 => "station leaving",
        4 => "inactivity",
        5 => "access point busy",
        6 => "class 2 frame from unauthenticated station",
        7 => "class 3 frame from unassociated station",
        8 => "disassociated, station leaving",
        9 => "not authenticated",
        14 => "MIC failure",
        15 => "4-way handshake timeout",
        16 => "group key handshake timeout",
        23 => "IEEE 802.1X authentication failed",
        34 => "too many lost frames",
        _ => "see IEEE 802.11 reason codes",
    }
}

/// A short name of an IEEE 802.11 status code.
pub(crate) fn status_name(code: u16) -> &'static str {
    match code {
        1 => "unspecified failure",
        10 => "capabilities not supported",
        12 => "denied for another reason",
        13 => "authentication algorithm not supported",
        15 => "challenge failure",
        16 => "authentication timeout",
        17 => "access point full",
        30 => "temporarily refused, try later",
        31 => "robust management frame policy violation",
        53 => "invalid PMKID",
        _ => "see IEEE 802.11 status codes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(tracker: &mut Tracker, lines: &[&str]) -> Vec<Step> {
        lines
            .iter()
            .flat_map(|l| tracker.on_event(&WpaEvent::parse(l)))
            .collect()
    }

    #[test]
    fn leaving_the_old_network_is_not_a_failure() {
        let mut t = Tracker::new(1, "x".into(), true, 3);
        for _ in 0..5 {
            let steps = feed(
                &mut t,
                &[
                    "<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:00:01 reason=3 locally_generated=1",
                ],
            );
            assert!(steps.is_empty());
        }
    }

    #[test]
    fn other_networks_are_ignored() {
        let mut t = Tracker::new(1, "x".into(), true, 3);
        let steps = feed(
            &mut t,
            &[
                "<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:00:01 completed [id=0 id_str=]",
                "<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid=\"y\" auth_failures=1 duration=10 reason=WRONG_KEY",
            ],
        );
        assert!(steps.is_empty());
    }
}
