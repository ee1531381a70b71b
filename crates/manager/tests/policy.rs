//! Scenario and property tests of the connection policy, driven by a scripted fake radio
//! and simulated time (milliseconds; nothing sleeps).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::time::Duration;

use proptest::prelude::*;
use protocomm::Secret;
use wifi_manager::policy::{
    Action, ApPolicy, Instant, KnownNetwork, NetworkFailure, Outcome, Policy, PolicyConfig,
    RetryConfig, State, candidate_order,
};
use wifiprov_types::{Passphrase, Ssid};
use wifiprov_wifi::{
    AccessPoint, AuthMode, Bssid, ConnectError, Credentials, LinkStatus, WifiError,
};

/// How long the fake radio takes to scan.
const SCAN_MS: u64 = 1_500;
/// How long joining (or failing to authenticate with) a network on the air takes.
const JOIN_MS: u64 = 500;
/// How long searching for a network that is not on the air takes.
const SEARCH_MS: u64 = 300;

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn ssid_text(ssid: &[u8]) -> String {
    String::from_utf8_lossy(ssid).into_owned()
}

fn link(ssid: &str) -> LinkStatus {
    LinkStatus {
        ssid: ssid.as_bytes().to_vec(),
        bssid: Bssid([2, 0, 0, 0, 0, ssid.len() as u8]),
        channel: 6,
        auth: AuthMode::Wpa2Psk,
        ip: Ipv4Addr::new(192, 168, 1, 10 + ssid.len() as u8),
        rssi: -50,
    }
}

fn known(ssid: &str, password: &str) -> KnownNetwork {
    KnownNetwork::new(
        Ssid::try_from(ssid).expect("a valid SSID"),
        Passphrase::new(password).expect("a valid passphrase"),
    )
}

/// One access point of the fake environment.
#[derive(Clone, Debug)]
struct FakeAp {
    ssid: Vec<u8>,
    password: Vec<u8>,
    hidden: bool,
    channel: u8,
    rssi: i8,
    on_air: bool,
}

fn ap(ssid: &str, password: &str, channel: u8) -> FakeAp {
    FakeAp {
        ssid: ssid.as_bytes().to_vec(),
        password: password.as_bytes().to_vec(),
        hidden: false,
        channel,
        rssi: -50,
        on_air: true,
    }
}

/// A scripted radio: answers scans and joins from its table, and keeps track of the AP and
/// console it was told to run, failing the test on any unbalanced start or stop.
#[derive(Debug, Default)]
struct Radio {
    aps: Vec<FakeAp>,
    link: Option<Vec<u8>>,
    ap_up: bool,
    console: bool,
    added: Vec<(Vec<u8>, Secret)>,
}

impl Radio {
    fn scan(&self) -> Vec<AccessPoint> {
        self.aps
            .iter()
            .filter(|a| a.on_air)
            .map(|a| AccessPoint {
                ssid: if a.hidden { Vec::new() } else { a.ssid.clone() },
                bssid: Bssid([2, 0, 0, 0, a.channel, 1]),
                channel: a.channel,
                rssi: a.rssi,
                auth: AuthMode::Wpa2Psk,
            })
            .collect()
    }

    /// The time the attempt takes and its result.
    fn connect(&mut self, c: &Credentials) -> (u64, Result<LinkStatus, ConnectError>) {
        self.link = None;
        let name = c.ssid_lossy();
        match self.aps.iter().find(|a| a.on_air && a.ssid == c.ssid) {
            None => (SEARCH_MS, Err(ConnectError::NetworkNotFound { ssid: name })),
            Some(a) if a.password != c.passphrase.expose() => {
                (JOIN_MS, Err(ConnectError::AuthFailed { ssid: name }))
            }
            Some(_) => {
                self.link = Some(c.ssid.to_vec());
                (JOIN_MS, Ok(link(&name)))
            }
        }
    }

    fn link_up(&mut self) -> bool {
        let up = self
            .link
            .as_ref()
            .is_some_and(|s| self.aps.iter().any(|a| a.on_air && &a.ssid == s));
        if !up {
            self.link = None;
        }
        up
    }

    fn set_on_air(&mut self, ssid: &str, on: bool) {
        for a in &mut self.aps {
            if a.ssid == ssid.as_bytes() {
                a.on_air = on;
            }
        }
    }
}

/// The policy, the fake radio and a clock, with a log of every action and state change.
struct World {
    policy: Policy,
    now: u64,
    radio: Radio,
    log: Vec<(u64, Action)>,
    states: Vec<(u64, State)>,
}

impl World {
    fn new(config: PolicyConfig, networks: Vec<KnownNetwork>, aps: Vec<FakeAp>) -> World {
        let policy = Policy::new(config, networks, at(0));
        let states = vec![(0, policy.state())];
        World {
            policy,
            now: 0,
            radio: Radio {
                aps,
                ..Radio::default()
            },
            log: Vec::new(),
            states,
        }
    }

    fn note_state(&mut self) {
        let state = self.policy.state();
        if self.states.last().map(|(_, s)| s) != Some(&state) {
            self.states.push((self.now, state));
        }
    }

    /// Performs every action the policy hands out, answering at once.
    fn drain(&mut self) {
        for handed_out in 0.. {
            assert!(
                handed_out < 10_000,
                "the policy never stops handing out actions"
            );
            let Some(action) = self.policy.poll(at(self.now)) else {
                self.note_state();
                // Once everything is handed out, the policy's view matches the radio's.
                assert_eq!(self.radio.ap_up, self.policy.ap_up());
                assert_eq!(self.radio.console, self.policy.remote_console_running());
                return;
            };
            self.log.push((self.now, action.clone()));
            self.perform(action);
            self.note_state();
        }
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Scan => {
                self.now += SCAN_MS;
                let aps = self.radio.scan();
                self.policy.handle_scan(at(self.now), aps);
            }
            Action::Connect(c) => {
                let (took, result) = self.radio.connect(&c);
                self.now += took;
                self.policy.handle_connect_result(at(self.now), result);
            }
            Action::CheckLink => {
                let up = self.radio.link_up();
                self.policy.handle_link_status(at(self.now), up);
            }
            Action::Disconnect => self.radio.link = None,
            Action::StartAp => {
                assert!(!self.radio.ap_up, "AP started twice at {}", self.now);
                self.radio.ap_up = true;
            }
            Action::StopAp => {
                assert!(self.radio.ap_up, "AP stopped while down at {}", self.now);
                self.radio.ap_up = false;
            }
            Action::StartRemoteConsole => {
                assert!(!self.radio.console, "console started twice at {}", self.now);
                self.radio.console = true;
            }
            Action::StopRemoteConsole => {
                assert!(
                    self.radio.console,
                    "console stopped while down at {}",
                    self.now
                );
                self.radio.console = false;
            }
            Action::AddKnownNetwork { ssid, password } => {
                self.radio.added.push((ssid.to_vec(), password.into()))
            }
        }
    }

    /// Runs the policy up to `until`, jumping from deadline to deadline.
    fn run_until(&mut self, until: u64) {
        for steps in 0.. {
            assert!(steps < 100_000, "run_until({until}) does not finish");
            self.drain();
            match self.policy.poll_at() {
                Some(next) if next.as_millis() <= until => {
                    assert!(next.as_millis() > self.now, "deadline not in the future");
                    self.now = next.as_millis();
                }
                _ => {
                    self.now = self.now.max(until);
                    self.drain();
                    return;
                }
            }
        }
    }

    /// SSIDs of the connection attempts, in order.
    fn attempts(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Connect(c) => Some(c.ssid_lossy()),
                _ => None,
            })
            .collect()
    }

    /// AP and console actions with their times.
    fn ap_console_events(&self) -> Vec<(u64, Action)> {
        self.log
            .iter()
            .filter(|(_, a)| {
                matches!(
                    a,
                    Action::StartAp
                        | Action::StopAp
                        | Action::StartRemoteConsole
                        | Action::StopRemoteConsole
                )
            })
            .cloned()
            .collect()
    }

    fn ap_events(&self) -> Vec<(u64, Action)> {
        self.ap_console_events()
            .into_iter()
            .filter(|(_, a)| matches!(a, Action::StartAp | Action::StopAp))
            .collect()
    }

    /// Radio actions (scan and joins) after `since`, as short labels.
    fn radio_labels(&self, since: u64) -> Vec<String> {
        self.log
            .iter()
            .filter(|(t, _)| *t >= since)
            .filter_map(|(_, a)| match a {
                Action::Scan => Some("scan".to_owned()),
                Action::Connect(c) => Some(c.ssid_lossy()),
                _ => None,
            })
            .collect()
    }

    /// `(entered at, until)` of every back-off.
    fn backoffs(&self) -> Vec<(u64, u64)> {
        self.states
            .iter()
            .filter_map(|(t, s)| match s {
                State::Backoff { until } => Some((*t, until.as_millis())),
                _ => None,
            })
            .collect()
    }
}

fn config(ap_policy: ApPolicy) -> PolicyConfig {
    PolicyConfig {
        ap_policy,
        ..PolicyConfig::default()
    }
}

fn connected_to(policy: &Policy) -> Option<String> {
    match policy.state() {
        State::Connected { ssid, .. } => Some(ssid_text(&ssid)),
        _ => None,
    }
}

// ------------------------------------------------------------------------------------------
// Choosing a network

#[test]
fn preferred_visible_network_is_joined() {
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "home-pass"), known("Office", "office-pass")],
        vec![ap("Office", "office-pass", 11), ap("Home", "home-pass", 6)],
    );
    assert_eq!(w.policy.state(), State::Scanning);
    w.run_until(10_000);
    assert_eq!(w.attempts(), ["Home"]);
    assert_eq!(
        w.policy.state(),
        State::Connected {
            ssid: b"Home".to_vec(),
            ip: link("Home").ip
        }
    );
    // The channel seen by the scan is passed on as a hint; the passphrase is the stored one.
    let Some((_, Action::Connect(c))) = w.log.iter().find(|(_, a)| matches!(a, Action::Connect(_)))
    else {
        panic!("no Connect");
    };
    assert_eq!(c.channel, Some(6));
    assert_eq!(c.passphrase.expose(), b"home-pass");
    assert!(w.policy.last_failures().is_empty());
    assert!(w.ap_events().is_empty());
    let status = w.policy.status();
    assert_eq!(status.network.as_deref(), Some(&b"Home"[..]));
    assert_eq!(status.ip, Some(link("Home").ip));
}

#[test]
fn preferred_network_out_of_range_next_visible_one_is_joined() {
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "home-pass"), known("Office", "office-pass")],
        vec![ap("Office", "office-pass", 11)],
    );
    w.run_until(10_000);
    // Office was seen, Home was not: Office is tried first and works, Home is never tried.
    assert_eq!(w.attempts(), ["Office"]);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Office"));
}

#[test]
fn candidate_order_is_visible_first_then_unseen_in_preference_order() {
    let networks = vec![
        known("Home", "a"),
        known("Office", "b"),
        known("Cafe", "c"),
        known("Attic", "d"),
    ];
    let radio = Radio {
        aps: vec![
            ap("Cafe", "c", 1),
            ap("Stranger", "x", 3),
            ap("Office", "b", 6),
            FakeAp {
                hidden: true,
                ..ap("Attic", "d", 9)
            },
        ],
        ..Radio::default()
    };
    let scan = radio.scan();
    let order: Vec<String> = candidate_order(&networks, &scan)
        .iter()
        .map(|n| n.ssid.to_string_lossy())
        .collect();
    // Hidden access points (empty SSID) match nothing: Attic counts as unseen.
    assert_eq!(order, ["Office", "Cafe", "Home", "Attic"]);
    let nothing: Vec<String> = candidate_order(&networks, &[])
        .iter()
        .map(|n| n.ssid.to_string_lossy())
        .collect();
    assert_eq!(nothing, ["Home", "Office", "Cafe", "Attic"]);
}

#[test]
fn wrong_password_falls_through_and_the_reason_is_remembered() {
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "stale-pass"), known("Office", "office-pass")],
        vec![ap("Home", "home-pass", 6), ap("Office", "office-pass", 11)],
    );
    w.run_until(10_000);
    assert_eq!(w.attempts(), ["Home", "Office"]);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Office"));
    assert_eq!(
        w.policy.last_failures(),
        [NetworkFailure {
            ssid: b"Home".to_vec(),
            reason: ConnectError::AuthFailed {
                ssid: "Home".into()
            },
            at: at(SCAN_MS + JOIN_MS),
        }]
    );
    assert_eq!(w.policy.status().failures, w.policy.last_failures());
}

#[test]
fn hidden_known_network_is_tried_directly() {
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Attic", "attic-pass"), known("Office", "stale")],
        vec![
            FakeAp {
                hidden: true,
                ..ap("Attic", "attic-pass", 9)
            },
            ap("Office", "office-pass", 11),
        ],
    );
    w.run_until(10_000);
    // Office (seen) comes first although less preferred; then the hidden Attic, by name.
    assert_eq!(w.attempts(), ["Office", "Attic"]);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Attic"));
    let hidden_attempt = w.log.iter().rev().find_map(|(_, a)| match a {
        Action::Connect(c) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(hidden_attempt.and_then(|c| c.channel), None);
}

#[test]
fn all_failing_gives_no_network_with_a_reason_per_network_and_retries() {
    let mut w = World::new(
        config(ApPolicy::Never),
        vec![known("Home", "stale"), known("Gone", "x")],
        vec![ap("Home", "home-pass", 6)],
    );
    w.run_until(10_000);
    let end = SCAN_MS + JOIN_MS + SEARCH_MS;
    assert_eq!(w.policy.state(), State::NoNetwork { ap_up: false });
    let failures = w.policy.last_failures();
    assert_eq!(failures.len(), 2);
    assert!(failures[0].reason.is_auth_error());
    assert!(failures[1].reason.is_network_not_found());
    assert_eq!(failures[1].at, at(end));
    let rescan = end + RetryConfig::default().rescan_interval.as_millis() as u64;
    assert_eq!(w.policy.poll_at(), Some(at(rescan)));
    w.run_until(rescan);
    assert!(w.log.contains(&(rescan, Action::Scan)));
}

#[test]
fn duplicate_ssids_keep_the_first_entry() {
    let p = Policy::new(
        config(ApPolicy::Never),
        vec![
            known("Home", "first"),
            known("Office", "o"),
            known("Home", "second"),
        ],
        at(0),
    );
    let names: Vec<String> = p
        .networks()
        .iter()
        .map(|n| n.ssid.to_string_lossy())
        .collect();
    assert_eq!(names, ["Home", "Office"]);
    assert_eq!(p.networks()[0].password.expose(), b"first");
}

// ------------------------------------------------------------------------------------------
// Access point policies

#[test]
fn ap_always_starts_before_the_first_scan_and_stays_up() {
    let mut w = World::new(
        config(ApPolicy::Always),
        vec![known("Home", "home-pass")],
        vec![ap("Home", "home-pass", 6)],
    );
    w.run_until(1);
    assert_eq!(w.log[0], (0, Action::StartAp));
    assert_eq!(w.log[1], (0, Action::Scan));
    w.run_until(40_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    // Lose the network, fail a recovery round, come back: the AP is never touched again.
    w.radio.set_on_air("Home", false);
    w.run_until(100_000);
    assert!(matches!(w.policy.state(), State::Backoff { .. }));
    w.radio.set_on_air("Home", true);
    w.run_until(200_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    assert_eq!(w.ap_events(), [(0, Action::StartAp)]);
    assert!(w.policy.ap_up());
}

#[test]
fn ap_fallback_starts_only_when_no_network_could_be_joined_and_stops_on_join() {
    let retry = RetryConfig::default();
    let rescan = retry.rescan_interval.as_millis() as u64;
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "home-pass")],
        vec![FakeAp {
            on_air: false,
            ..ap("Home", "home-pass", 6)
        }],
    );
    let first_fail = SCAN_MS + SEARCH_MS;
    w.run_until(first_fail);
    assert_eq!(w.policy.state(), State::NoNetwork { ap_up: true });
    // The AP comes only after the scan and the attempt, when the attempt has failed.
    let labels: Vec<&str> = w
        .log
        .iter()
        .map(|(_, a)| match a {
            Action::Scan => "scan",
            Action::Connect(_) => "connect",
            Action::StartAp => "start-ap",
            _ => "other",
        })
        .collect();
    assert_eq!(labels, ["scan", "connect", "start-ap"]);
    // Retries continue with the AP up: a scan every rescan interval, no AP flapping.
    let second_round = first_fail + rescan;
    w.run_until(second_round);
    assert!(w.log.contains(&(second_round, Action::Scan)));
    assert!(w.policy.ap_up());
    let second_fail = second_round + SCAN_MS + SEARCH_MS;
    w.run_until(second_fail + 1_000);
    w.radio.set_on_air("Home", true);
    let third_round = second_fail + rescan;
    let joined = third_round + SCAN_MS + JOIN_MS;
    w.run_until(joined);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    assert_eq!(
        w.ap_events(),
        [(first_fail, Action::StartAp), (joined, Action::StopAp)]
    );
}

#[test]
fn ap_on_the_station_radio_is_interrupted_only_for_scans_and_less_often() {
    let retry = RetryConfig::default();
    let ap_rescan = retry.ap_rescan_interval.as_millis() as u64;
    assert!(ap_rescan > retry.rescan_interval.as_millis() as u64);
    let mut w = World::new(
        PolicyConfig {
            ap_shares_radio: true,
            ..config(ApPolicy::Fallback)
        },
        vec![known("Home", "home-pass"), known("Hidden", "hidden-pass")],
        vec![FakeAp {
            on_air: false,
            ..ap("Home", "home-pass", 6)
        }],
    );
    // The first round, before the access point is up, tries every known network (one may
    // be hidden).
    let first_fail = SCAN_MS + 2 * SEARCH_MS;
    w.run_until(first_fail);
    assert_eq!(w.radio_labels(0), ["scan", "Home", "Hidden"]);
    assert!(w.policy.ap_up());
    // With the access point up, the next round comes after the longer interval and is a
    // scan alone: nothing known is on the air, so no attempt takes the radio away.
    w.run_until(first_fail + ap_rescan - 1);
    assert_eq!(w.radio_labels(first_fail + 1), Vec::<String>::new());
    let second_round = first_fail + ap_rescan;
    w.run_until(second_round + SCAN_MS);
    assert_eq!(w.radio_labels(second_round), ["scan"]);
    assert!(w.policy.ap_up());
    // Once a known network is seen, it is joined and the access point goes.
    w.radio.set_on_air("Home", true);
    let third_round = second_round + SCAN_MS + ap_rescan;
    w.run_until(third_round + SCAN_MS + JOIN_MS);
    assert_eq!(w.radio_labels(third_round), ["scan", "Home"]);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    assert!(!w.policy.ap_up());
}

#[test]
fn an_access_point_that_failed_to_start_is_asked_for_again() {
    let rescan = RetryConfig::default().rescan_interval.as_millis() as u64;
    let mut p = Policy::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "home-pass")],
        at(0),
    );
    assert_eq!(p.poll(at(0)), Some(Action::Scan));
    p.handle_scan(at(1_000), Vec::new());
    assert!(matches!(p.poll(at(1_000)), Some(Action::Connect(_))));
    p.handle_connect_result(
        at(2_000),
        Err(ConnectError::NetworkNotFound {
            ssid: "Home".into(),
        }),
    );
    assert_eq!(p.poll(at(2_000)), Some(Action::StartAp));
    p.handle_ap_failed(at(3_000));
    assert!(!p.ap_up());
    assert_eq!(p.poll(at(3_000)), None);
    // The next round fails the same way and asks for the access point again.
    let next = p.poll_at().unwrap().as_millis();
    assert!(next <= 2_000 + rescan, "{next}");
    assert_eq!(p.poll(at(next)), Some(Action::Scan));
    p.handle_scan(at(next + 1_000), Vec::new());
    assert!(matches!(p.poll(at(next + 1_000)), Some(Action::Connect(_))));
    p.handle_connect_result(
        at(next + 2_000),
        Err(ConnectError::NetworkNotFound {
            ssid: "Home".into(),
        }),
    );
    assert_eq!(p.poll(at(next + 2_000)), Some(Action::StartAp));
    assert!(p.ap_up());
}

#[test]
fn ap_fallback_is_never_started_when_the_first_network_works() {
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "home-pass")],
        vec![ap("Home", "home-pass", 6)],
    );
    w.run_until(600_000);
    assert!(w.ap_events().is_empty());
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
}

#[test]
fn ap_fallback_comes_back_after_a_loss_and_goes_once_rejoined() {
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "home-pass")],
        vec![ap("Home", "home-pass", 6)],
    );
    w.run_until(10_000);
    w.radio.set_on_air("Home", false);
    // The next link check (30 s after joining at 2 s) finds the link down; the first
    // recovery round starts 1 s later: one direct attempt (no scan: nothing else is known).
    let check = SCAN_MS + JOIN_MS + 30_000;
    let round_failed = check + 1_000 + SEARCH_MS;
    w.run_until(round_failed);
    assert_eq!(w.ap_events(), [(round_failed, Action::StartAp)]);
    assert_eq!(w.radio_labels(check), ["Home"]);
    w.radio.set_on_air("Home", true);
    w.run_until(round_failed + 10_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    let events = w.ap_events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].1, Action::StopAp);
}

#[test]
fn ap_never_is_never_started() {
    let mut w = World::new(
        config(ApPolicy::Never),
        vec![known("Home", "home-pass")],
        vec![],
    );
    w.run_until(600_000);
    assert!(w.ap_events().is_empty());
    assert_eq!(w.policy.state(), State::NoNetwork { ap_up: false });
    assert!(!w.policy.status().ap_up);
    // Several rounds happened meanwhile.
    assert!(w.attempts().len() >= 9, "{:?}", w.attempts());
}

#[test]
fn no_known_network_starts_the_fallback_ap_and_waits() {
    let mut w = World::new(config(ApPolicy::Fallback), vec![], vec![ap("Home", "p", 1)]);
    w.run_until(600_000);
    assert_eq!(w.log, [(0, Action::StartAp)]);
    assert_eq!(w.policy.state(), State::NoNetwork { ap_up: true });
    assert_eq!(w.policy.poll_at(), None);
}

// ------------------------------------------------------------------------------------------
// Loss and recovery

#[test]
fn loss_and_recovery_backoff_doubles_then_resets() {
    let retry = RetryConfig {
        max_backoff: Duration::from_secs(10),
        ..RetryConfig::default()
    };
    let mut w = World::new(
        PolicyConfig {
            ap_policy: ApPolicy::Never,
            retry,
            ..PolicyConfig::default()
        },
        vec![known("Home", "home-pass"), known("Office", "office-pass")],
        vec![
            ap("Home", "home-pass", 6),
            FakeAp {
                on_air: false,
                ..ap("Office", "office-pass", 11)
            },
        ],
    );
    w.run_until(10_000);
    let joined = SCAN_MS + JOIN_MS;
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    // Link checks every 30 s.
    w.run_until(joined + 60_000);
    let checks: Vec<u64> = w
        .log
        .iter()
        .filter(|(_, a)| *a == Action::CheckLink)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(checks, [joined + 30_000, joined + 60_000]);

    w.radio.set_on_air("Home", false);
    let lost_at = joined + 90_000;
    w.run_until(lost_at);
    assert_eq!(
        w.policy.state(),
        State::Backoff {
            until: at(lost_at + 1_000)
        }
    );
    assert_eq!(w.log.last(), Some(&(lost_at, Action::Disconnect)));
    assert!(
        w.policy.last_failures()[0].reason
            == ConnectError::LinkLost {
                ssid: "Home".into()
            }
    );
    // Six recovery rounds fail: each tries Home directly, then scans and tries Office.
    w.run_until(lost_at + 60_000);
    let delays: Vec<u64> = w.backoffs().iter().map(|(t, u)| u - t).collect();
    assert_eq!(delays[..6], [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    let first_round = w.radio_labels(lost_at);
    assert_eq!(first_round[..3], ["Home", "scan", "Office"]);

    // Home comes back: the next round joins it at once, and the back-off starts over.
    w.radio.set_on_air("Home", true);
    w.run_until(lost_at + 80_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    let rounds_before = w.backoffs().len();
    w.radio.set_on_air("Home", false);
    w.run_until(lost_at + 150_000);
    let again: Vec<u64> = w.backoffs()[rounds_before..]
        .iter()
        .map(|(t, u)| u - t)
        .collect();
    assert_eq!(again[..3], [1_000, 2_000, 4_000]);
}

#[test]
fn recovery_tries_the_lost_network_first_then_the_full_cycle() {
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "home-pass"), known("Office", "office-pass")],
        vec![
            FakeAp {
                on_air: false,
                ..ap("Home", "home-pass", 6)
            },
            ap("Office", "office-pass", 11),
        ],
    );
    w.run_until(10_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Office"));
    w.radio.set_on_air("Office", false);
    w.radio.set_on_air("Home", true);
    w.run_until(60_000);
    assert_eq!(w.radio_labels(10_000), ["Office", "scan", "Home"]);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    // Home was joined within the first recovery round: no fallback AP.
    assert!(w.ap_events().is_empty());
    // The loss of Office stays on record; Home's earlier "not found" was cleared by joining.
    let failures = w.policy.last_failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].ssid, b"Office");
}

#[test]
fn unanswered_link_check_counts_as_a_loss() {
    let mut p = Policy::new(config(ApPolicy::Never), vec![known("Home", "p")], at(0));
    assert_eq!(p.poll(at(0)), Some(Action::Scan));
    p.handle_scan(at(10), vec![]);
    assert!(matches!(p.poll(at(10)), Some(Action::Connect(_))));
    p.handle_connect_result(at(20), Ok(link("Home")));
    assert_eq!(p.poll(at(20)), None);
    assert_eq!(p.poll_at(), Some(at(30_020)));
    assert_eq!(p.poll(at(30_020)), Some(Action::CheckLink));
    assert_eq!(p.poll(at(30_020)), None);
    // No answer before the next check is due.
    assert_eq!(p.poll(at(60_020)), Some(Action::Disconnect));
    assert_eq!(p.state(), State::Backoff { until: at(61_020) });
}

#[test]
fn link_down_news_at_any_time_starts_recovery() {
    let mut p = Policy::new(config(ApPolicy::Never), vec![known("Home", "p")], at(0));
    let _ = p.poll(at(0));
    p.handle_scan(at(10), vec![]);
    let _ = p.poll(at(10));
    p.handle_connect_result(at(20), Ok(link("Home")));
    p.handle_link_status(at(5_000), false);
    assert_eq!(p.poll(at(5_000)), Some(Action::Disconnect));
    assert_eq!(p.state(), State::Backoff { until: at(6_000) });
    // Link news while not connected is ignored.
    p.handle_link_status(at(5_500), true);
    assert_eq!(p.state(), State::Backoff { until: at(6_000) });
}

// ------------------------------------------------------------------------------------------
// Provisioning

#[test]
fn provisioning_in_fallback_wrong_passphrase_then_right_without_restart() {
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "home-pass")],
        vec![ap("Cafe", "cafe-pass", 1)],
    );
    w.run_until(10_000);
    assert_eq!(w.policy.state(), State::NoNetwork { ap_up: true });
    let log_len = w.log.len();

    // A client sends a wrong passphrase: the caller tried it and reports the failure.
    w.now = 12_000;
    let wrong = Credentials::new("Cafe", "cafe-typo").unwrap();
    let (_, result) = w.radio.connect(&wrong);
    assert!(result.is_err());
    w.policy.handle_provisioned(at(w.now), wrong, result);
    w.drain();
    assert_eq!(
        w.log.len(),
        log_len,
        "nothing to do after a failed provisioning"
    );
    assert_eq!(w.policy.state(), State::NoNetwork { ap_up: true });
    assert!(w.radio.added.is_empty());
    assert_eq!(w.policy.networks().len(), 1);

    // The same client tries again with the right passphrase.
    w.now = 15_000;
    let right = Credentials::new("Cafe", "cafe-pass").unwrap();
    let (_, result) = w.radio.connect(&right);
    w.policy.handle_provisioned(at(w.now), right, result);
    w.drain();
    let new_actions: Vec<Action> = w.log[log_len..].iter().map(|(_, a)| a.clone()).collect();
    assert_eq!(
        new_actions,
        [
            Action::AddKnownNetwork {
                ssid: Ssid::try_from("Cafe").unwrap(),
                password: Passphrase::new("cafe-pass").unwrap()
            },
            Action::StopAp
        ]
    );
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Cafe"));
    let names: Vec<String> = w
        .policy
        .networks()
        .iter()
        .map(|n| n.ssid.to_string_lossy())
        .collect();
    assert_eq!(names, ["Cafe", "Home"]);
    // And the link is then watched like any other.
    w.run_until(100_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Cafe"));
    assert!(w.log.iter().any(|(_, a)| *a == Action::CheckLink));
}

#[test]
fn provisioning_a_known_network_moves_it_to_the_top_and_keeps_its_flags() {
    let mut p = Policy::new(
        config(ApPolicy::Always),
        vec![
            known("Home", "h"),
            known("Office", "old").with_webrepl(true),
        ],
        at(0),
    );
    while p.poll(at(0)).is_some() {}
    p.handle_provisioned(
        at(100),
        Credentials::new("Office", "new").unwrap(),
        Ok(link("Office")),
    );
    let actions: Vec<Action> = std::iter::from_fn(|| p.poll(at(100))).collect();
    // AP `always` stays up; the network enables the console.
    assert_eq!(
        actions,
        [
            Action::AddKnownNetwork {
                ssid: Ssid::try_from("Office").unwrap(),
                password: Passphrase::new("new").unwrap()
            },
            Action::StartRemoteConsole
        ]
    );
    assert_eq!(p.networks()[0], known("Office", "new").with_webrepl(true));
    assert_eq!(p.networks()[1].ssid, b"Home");
    // A scan answered after provisioning took over is ignored.
    p.handle_scan(at(200), vec![]);
    assert_eq!(connected_to(&p).as_deref(), Some("Office"));
}

#[test]
fn failed_provisioning_while_connected_checks_the_link_at_once() {
    let mut p = Policy::new(config(ApPolicy::Always), vec![known("Home", "h")], at(0));
    while let Some(a) = p.poll(at(0)) {
        if a == Action::Scan {
            p.handle_scan(at(0), vec![]);
        } else if matches!(a, Action::Connect(_)) {
            p.handle_connect_result(at(0), Ok(link("Home")));
        }
    }
    p.handle_provisioned(
        at(5_000),
        Credentials::new("Cafe", "x").unwrap(),
        Err(ConnectError::AuthFailed {
            ssid: "Cafe".into(),
        }),
    );
    assert_eq!(p.poll(at(5_000)), Some(Action::CheckLink));
    assert_eq!(p.poll(at(5_000)), None);
}

#[test]
fn a_provisioning_failure_known_only_by_its_reason_also_checks_the_link() {
    let mut p = Policy::new(config(ApPolicy::Always), vec![known("Home", "h")], at(0));
    // Not connected yet: nothing to check.
    p.handle_provisioning_failed(
        at(0),
        &ConnectError::AuthFailed {
            ssid: "Cafe".into(),
        },
    );
    assert_ne!(p.poll(at(0)), Some(Action::CheckLink));
    while let Some(a) = p.poll(at(0)) {
        if a == Action::Scan {
            p.handle_scan(at(0), vec![]);
        } else if matches!(a, Action::Connect(_)) {
            p.handle_connect_result(at(0), Ok(link("Home")));
        }
    }
    p.handle_provisioning_failed(
        at(5_000),
        &ConnectError::AuthFailed {
            ssid: "Cafe".into(),
        },
    );
    assert_eq!(p.poll(at(5_000)), Some(Action::CheckLink));
    assert_eq!(p.poll(at(5_000)), None);
    assert_eq!(connected_to(&p).as_deref(), Some("Home"));
}

// ------------------------------------------------------------------------------------------
// Remote console

#[test]
fn remote_console_starts_and_stops_with_the_network_or_the_ap() {
    let mut w = World::new(
        PolicyConfig {
            ap_policy: ApPolicy::Fallback,
            ap_enables_webrepl: true,
            ..PolicyConfig::default()
        },
        vec![
            known("Home", "home-pass").with_webrepl(true),
            known("Office", "office-pass"),
        ],
        vec![
            FakeAp {
                on_air: false,
                ..ap("Home", "home-pass", 6)
            },
            FakeAp {
                on_air: false,
                ..ap("Office", "office-pass", 11)
            },
        ],
    );
    // Nothing joinable: AP up, console for the AP.
    w.run_until(10_000);
    // Home appears: joined; the AP goes, the console stays (Home wants it too).
    w.radio.set_on_air("Home", true);
    w.run_until(100_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    // Home is lost and nothing else is around: console stops with the link, then AP and
    // console come back when the recovery round fails.
    w.radio.set_on_air("Home", false);
    w.run_until(150_000);
    assert!(w.policy.ap_up());
    // Office appears: joined; it does not want the console.
    w.radio.set_on_air("Office", true);
    w.run_until(300_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Office"));
    let events: Vec<Action> = w.ap_console_events().into_iter().map(|(_, a)| a).collect();
    assert_eq!(
        events,
        [
            Action::StartAp,
            Action::StartRemoteConsole,
            Action::StopAp,
            Action::StopRemoteConsole,
            Action::StartAp,
            Action::StartRemoteConsole,
            Action::StopRemoteConsole,
            Action::StopAp,
        ]
    );
    // The console stopped before the link was dropped.
    let stop = w
        .log
        .iter()
        .position(|(_, a)| *a == Action::StopRemoteConsole);
    let disconnect = w.log.iter().position(|(_, a)| *a == Action::Disconnect);
    assert!(stop < disconnect);
    // Office gains the flag in the file: the console starts; removing Office stops it.
    w.policy.update_networks(
        at(w.now),
        vec![
            known("Home", "home-pass").with_webrepl(true),
            known("Office", "office-pass").with_webrepl(true),
        ],
    );
    w.drain();
    assert!(w.radio.console);
    assert_eq!(
        w.log.last().map(|(_, a)| a),
        Some(&Action::StartRemoteConsole)
    );
    // Office removed from the file while joined: console off before leaving; the new round
    // (only Home, still away) fails, so the AP and its console come back.
    let before = w.log.len();
    w.policy.update_networks(
        at(w.now),
        vec![known("Home", "home-pass").with_webrepl(true)],
    );
    w.drain();
    let tail: Vec<String> = w.log[before..]
        .iter()
        .map(|(_, a)| match a {
            Action::Connect(c) => c.ssid_lossy(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        tail,
        [
            "StopRemoteConsole",
            "Disconnect",
            "Scan",
            "Home",
            "StartAp",
            "StartRemoteConsole"
        ]
    );
}

#[test]
fn shutdown_stops_the_console_and_the_ap_and_ignores_later_inputs() {
    let mut p = Policy::new(
        PolicyConfig {
            ap_policy: ApPolicy::Always,
            ap_enables_webrepl: true,
            ..PolicyConfig::default()
        },
        vec![known("Home", "h")],
        at(0),
    );
    assert_eq!(p.poll(at(0)), Some(Action::StartAp));
    assert_eq!(p.poll(at(0)), Some(Action::StartRemoteConsole));
    p.shutdown(at(1));
    // The scan not yet handed out is dropped.
    let rest: Vec<Action> = std::iter::from_fn(|| p.poll(at(1))).collect();
    assert_eq!(rest, [Action::StopRemoteConsole, Action::StopAp]);
    assert_eq!(p.state(), State::Stopped);
    assert_eq!(p.poll_at(), None);
    p.handle_scan(at(2), vec![]);
    p.update_networks(at(2), vec![known("Other", "o")]);
    p.handle_provisioned(at(2), Credentials::new("X", "y").unwrap(), Ok(link("X")));
    assert_eq!(p.poll(at(3)), None);
    assert_eq!(p.state(), State::Stopped);
}

// ------------------------------------------------------------------------------------------
// Changes of the known networks list

#[test]
fn update_networks_mid_flight_changes_the_rest_of_the_round() {
    let mut p = Policy::new(
        config(ApPolicy::Never),
        vec![
            known("Home", "stale"),
            known("Office", "o"),
            known("Cafe", "c"),
        ],
        at(0),
    );
    assert_eq!(p.poll(at(0)), Some(Action::Scan));
    let radio = Radio {
        aps: vec![ap("Home", "h", 1), ap("Office", "o", 6)],
        ..Radio::default()
    };
    p.handle_scan(at(1_500), radio.scan());
    let Some(Action::Connect(c)) = p.poll(at(1_500)) else {
        panic!("expected Connect");
    };
    assert_eq!(c.ssid, b"Home");
    // While Home is being joined, the file changes: Office removed, New added on top.
    p.update_networks(
        at(1_600),
        vec![
            known("New", "n"),
            known("Home", "stale"),
            known("Cafe", "c"),
        ],
    );
    assert_eq!(p.poll(at(1_600)), None);
    p.handle_connect_result(
        at(2_000),
        Err(ConnectError::AuthFailed {
            ssid: "Home".into(),
        }),
    );
    // Nothing else was seen by the scan, so the unseen ones follow in the new order.
    let Some(Action::Connect(c)) = p.poll(at(2_000)) else {
        panic!("expected Connect");
    };
    assert_eq!(c.ssid, b"New");
    p.handle_connect_result(at(2_500), Ok(link("New")));
    assert_eq!(connected_to(&p).as_deref(), Some("New"));
    assert_eq!(p.last_failures().len(), 1);

    // Home dropped from the file: its failure record goes with it.
    p.update_networks(at(3_000), vec![known("New", "n"), known("Cafe", "c")]);
    assert!(p.last_failures().is_empty());
    assert_eq!(p.poll(at(3_000)), None);
    assert_eq!(connected_to(&p).as_deref(), Some("New"));

    // The joined network removed: it is left and a new round starts.
    p.update_networks(at(4_000), vec![known("Cafe", "c")]);
    assert_eq!(p.poll(at(4_000)), Some(Action::Disconnect));
    assert_eq!(p.poll(at(4_000)), Some(Action::Scan));
    assert_eq!(p.state(), State::Scanning);
}

#[test]
fn update_networks_while_waiting_starts_a_round_now() {
    let mut w = World::new(
        config(ApPolicy::Fallback),
        vec![known("Home", "stale")],
        vec![ap("Home", "home-pass", 6)],
    );
    w.run_until(10_000);
    assert_eq!(w.policy.state(), State::NoNetwork { ap_up: true });
    assert!(w.policy.poll_at() > Some(at(60_000)));
    w.policy
        .update_networks(at(10_000), vec![known("Home", "home-pass")]);
    assert_eq!(w.policy.poll_at(), Some(at(10_000)));
    w.run_until(20_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
    assert_eq!(w.radio_labels(10_000), ["scan", "Home"]);
    // The same list again is no change: nothing happens.
    w.policy
        .update_networks(at(20_000), vec![known("Home", "home-pass")]);
    let before = w.log.len();
    w.drain();
    assert_eq!(w.log.len(), before);
}

#[test]
fn request_rescan_while_waiting_starts_a_round_now() {
    let mut w = World::new(config(ApPolicy::Never), vec![known("Home", "p")], vec![]);
    w.run_until(5_000);
    w.radio.aps.push(ap("Home", "p", 3));
    w.policy.request_rescan(at(5_000));
    w.run_until(8_000);
    assert_eq!(connected_to(&w.policy).as_deref(), Some("Home"));
}

// ------------------------------------------------------------------------------------------
// Watchdogs, failed scans, time

#[test]
fn connect_watchdog_gives_up_and_ignores_the_stale_result() {
    let mut p = Policy::new(
        config(ApPolicy::Never),
        vec![known("Home", "h"), known("Office", "o")],
        at(0),
    );
    assert_eq!(p.poll(at(0)), Some(Action::Scan));
    p.handle_scan(at(1_000), vec![]);
    assert!(matches!(p.poll(at(1_000)), Some(Action::Connect(c)) if c.ssid == b"Home"));
    let deadline = 1_000 + RetryConfig::default().connect_timeout.as_millis() as u64;
    assert_eq!(p.poll_at(), Some(at(deadline)));
    assert_eq!(p.poll(at(deadline - 1)), None);
    assert_eq!(p.poll(at(deadline)), Some(Action::Disconnect));
    assert!(matches!(p.poll(at(deadline)), Some(Action::Connect(c)) if c.ssid == b"Office"));
    assert_eq!(
        p.last_failures()[0].reason,
        ConnectError::Timeout {
            ssid: "Home".into()
        }
    );
    // Home's late success is not mistaken for Office's.
    p.handle_connect_result(at(deadline + 10), Ok(link("Home")));
    assert_eq!(
        p.state(),
        State::Joining {
            ssid: b"Office".to_vec()
        }
    );
    p.handle_connect_result(at(deadline + 20), Ok(link("Office")));
    assert_eq!(connected_to(&p).as_deref(), Some("Office"));
}

#[test]
fn failed_or_lost_scan_tries_every_network_directly() {
    let mut p = Policy::new(
        config(ApPolicy::Never),
        vec![known("Home", "h"), known("Office", "o")],
        at(0),
    );
    assert_eq!(p.poll(at(0)), Some(Action::Scan));
    p.handle_scan_failed(at(5), WifiError::busy("scan in progress"));
    let Some(Action::Connect(c)) = p.poll(at(5)) else {
        panic!("expected Connect");
    };
    assert_eq!((c.ssid.as_bytes(), c.channel), (&b"Home"[..], None));

    let mut p = Policy::new(config(ApPolicy::Never), vec![known("Home", "h")], at(0));
    assert_eq!(p.poll(at(0)), Some(Action::Scan));
    let deadline = RetryConfig::default().scan_timeout.as_millis() as u64;
    assert_eq!(p.poll_at(), Some(at(deadline)));
    assert!(matches!(p.poll(at(deadline)), Some(Action::Connect(_))));
}

#[test]
fn time_going_backwards_is_treated_as_no_time_passing() {
    let mut p = Policy::new(
        config(ApPolicy::Never),
        vec![known("Home", "h")],
        at(10_000),
    );
    assert_eq!(p.poll(at(10_000)), Some(Action::Scan));
    p.handle_scan(at(5), vec![]);
    assert!(matches!(p.poll(at(3)), Some(Action::Connect(_))));
    p.handle_connect_result(at(1), Ok(link("Home")));
    assert_eq!(p.poll_at(), Some(at(40_000)));
}

#[test]
fn zero_durations_cannot_make_the_policy_spin() {
    let retry = RetryConfig {
        check_interval: Duration::ZERO,
        rescan_interval: Duration::ZERO,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        scan_timeout: Duration::ZERO,
        connect_timeout: Duration::ZERO,
        ap_rescan_interval: Duration::ZERO,
    };
    let mut w = World::new(
        PolicyConfig {
            retry,
            ..PolicyConfig::default()
        },
        vec![known("Home", "home-pass")],
        vec![ap("Home", "home-pass", 6)],
    );
    w.run_until(1_000);
    assert!(w.policy.config().retry.check_interval >= Duration::from_millis(1));
}

// ------------------------------------------------------------------------------------------
// One-shot mode

fn one_shot(ap_policy: ApPolicy) -> PolicyConfig {
    PolicyConfig {
        ap_policy,
        one_shot: true,
        ..PolicyConfig::default()
    }
}

#[test]
fn one_shot_success_ends_when_connected() {
    let mut w = World::new(
        one_shot(ApPolicy::Fallback),
        vec![known("Home", "stale"), known("Office", "office-pass")],
        vec![ap("Home", "home-pass", 6), ap("Office", "office-pass", 11)],
    );
    assert_eq!(w.policy.outcome(), None);
    w.run_until(1_000_000);
    assert_eq!(
        w.policy.outcome(),
        Some(&Outcome::Connected {
            ssid: b"Office".to_vec(),
            ip: link("Office").ip
        })
    );
    assert_eq!(w.policy.poll_at(), None, "no link checks in one-shot mode");
    assert!(!w.log.iter().any(|(_, a)| *a == Action::CheckLink));
}

#[test]
fn one_shot_failure_gives_the_reasons() {
    let mut w = World::new(
        one_shot(ApPolicy::Fallback),
        vec![known("Home", "stale"), known("Gone", "x")],
        vec![ap("Home", "home-pass", 6)],
    );
    w.run_until(1_000_000);
    let Some(Outcome::Failed { failures }) = w.policy.outcome() else {
        panic!("expected a failure, got {:?}", w.policy.outcome());
    };
    let reasons: Vec<String> = failures.iter().map(|f| f.reason.to_string()).collect();
    assert_eq!(
        reasons,
        [
            "authentication failed: wrong passphrase for \"Home\"",
            "network \"Gone\" not found"
        ]
    );
    // The fallback AP is still started (it outlives the process with real backends); then
    // nothing more is scheduled and inputs are ignored.
    assert_eq!(w.ap_events().len(), 1);
    assert_eq!(w.policy.poll_at(), None);
    assert_eq!(w.attempts().len(), 2);
    w.policy.request_rescan(at(w.now));
    assert_eq!(w.policy.poll(at(w.now)), None);

    let p = Policy::new(one_shot(ApPolicy::Never), vec![], at(0));
    assert_eq!(p.outcome(), Some(&Outcome::Failed { failures: vec![] }));
}

// ------------------------------------------------------------------------------------------
// Property: any sequence of inputs

#[derive(Clone, Debug)]
enum Input {
    Advance(u64),
    Scan(Vec<usize>),
    ScanFailed,
    ConnectOk(usize),
    ConnectErr(usize, u8),
    Link(bool),
    Provisioned(usize, bool),
    Update(Vec<(usize, bool)>),
    Rescan,
    Shutdown,
}

const NAMES: [&str; 4] = ["Home", "Office", "Cafe", "Attic"];

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (0u64..120_000).prop_map(Input::Advance),
        2 => proptest::collection::vec(0usize..4, 0..4).prop_map(Input::Scan),
        1 => Just(Input::ScanFailed),
        2 => (0usize..4).prop_map(Input::ConnectOk),
        2 => (0usize..4, 0u8..4).prop_map(|(i, k)| Input::ConnectErr(i, k)),
        2 => any::<bool>().prop_map(Input::Link),
        1 => (0usize..4, any::<bool>()).prop_map(|(i, ok)| Input::Provisioned(i, ok)),
        1 => proptest::collection::vec((0usize..4, any::<bool>()), 0..4).prop_map(Input::Update),
        1 => Just(Input::Rescan),
        1 => Just(Input::Shutdown),
    ]
}

fn error(kind: u8, ssid: &str) -> ConnectError {
    let ssid = ssid.to_owned();
    match kind {
        0 => ConnectError::AuthFailed { ssid },
        1 => ConnectError::NetworkNotFound { ssid },
        2 => ConnectError::Timeout { ssid },
        _ => ConnectError::Backend(WifiError::unavailable("gone")),
    }
}

/// Checks that starts and stops alternate, starting from "down".
fn balance(up: &mut bool, start: bool, what: &str) -> Result<(), TestCaseError> {
    prop_assert_ne!(
        *up,
        start,
        "{} {} twice",
        what,
        if start { "started" } else { "stopped" }
    );
    *up = start;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_inputs_never_panic_and_keep_starts_and_stops_balanced(
        ap_policy in prop_oneof![Just(ApPolicy::Always), Just(ApPolicy::Fallback), Just(ApPolicy::Never)],
        ap_webrepl in any::<bool>(),
        one_shot in any::<bool>(),
        initial in proptest::collection::vec((0usize..4, any::<bool>()), 0..4),
        inputs in proptest::collection::vec(input(), 0..60),
    ) {
        let nets = |list: &[(usize, bool)]| -> Vec<KnownNetwork> {
            list.iter()
                .map(|(i, w)| known(NAMES[*i], "pass").with_webrepl(*w))
                .collect()
        };
        let config = PolicyConfig {
            ap_policy,
            ap_enables_webrepl: ap_webrepl,
            one_shot,
            ..PolicyConfig::default()
        };
        let mut now = 0u64;
        let mut p = Policy::new(config, nets(&initial), at(now));
        let (mut ap_up, mut console, mut shut_down) = (false, false, false);
        for input in inputs {
            let t = at(now);
            match input {
                Input::Advance(ms) => {
                    now += ms;
                    p.handle_timeout(at(now));
                }
                Input::Scan(visible) => {
                    let radio = Radio {
                        aps: visible.iter().map(|i| ap(NAMES[*i], "pass", 1)).collect(),
                        ..Radio::default()
                    };
                    p.handle_scan(t, radio.scan());
                }
                Input::ScanFailed => p.handle_scan_failed(t, WifiError::busy("x")),
                Input::ConnectOk(i) => p.handle_connect_result(t, Ok(link(NAMES[i]))),
                Input::ConnectErr(i, k) => p.handle_connect_result(t, Err(error(k, NAMES[i]))),
                Input::Link(up) => p.handle_link_status(t, up),
                Input::Provisioned(i, ok) => {
                    let result = if ok { Ok(link(NAMES[i])) } else { Err(error(0, NAMES[i])) };
                    p.handle_provisioned(t, Credentials::new(NAMES[i], "pass").unwrap(), result);
                }
                Input::Update(list) => p.update_networks(t, nets(&list)),
                Input::Rescan => p.request_rescan(t),
                Input::Shutdown => {
                    p.shutdown(t);
                    shut_down = true;
                }
            }
            let mut handed_out = 0;
            while let Some(action) = p.poll(at(now)) {
                handed_out += 1;
                prop_assert!(handed_out < 100, "poll never ran dry");
                match action {
                    Action::StartAp => {
                        prop_assert_ne!(ap_policy, ApPolicy::Never);
                        balance(&mut ap_up, true, "AP")?;
                    }
                    Action::StopAp => {
                        prop_assert!(ap_policy != ApPolicy::Always || shut_down);
                        balance(&mut ap_up, false, "AP")?;
                    }
                    Action::StartRemoteConsole => balance(&mut console, true, "console")?,
                    Action::StopRemoteConsole => balance(&mut console, false, "console")?,
                    _ => {}
                }
            }
            prop_assert_eq!(ap_up, p.ap_up());
            prop_assert_eq!(console, p.remote_console_running());
            prop_assert!(!console || ap_webrepl || p.networks().iter().any(|n| n.enables_webrepl));
            if let Some(next) = p.poll_at() {
                prop_assert!(next > at(now), "deadline {:?} not after now {}", next, now);
            }
            let status = p.status();
            prop_assert_eq!(status.state, p.state());
            if shut_down {
                prop_assert!(!ap_up && !console);
                prop_assert_eq!(p.state(), State::Stopped);
            }
        }
    }
}
