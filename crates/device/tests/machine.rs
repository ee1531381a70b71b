//! The provisioning machine alone, in simulated time: no async runtime, no clock, no I/O.
//! Every input carries the time; every output is an action the test answers (or not).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use protocomm::{Instant, SessionId};
use wifiprov_device::machine::{
    Action, Answer, MAX_CHANNELS, MAX_DWELL_MS, MAX_RESULTS_PER_PAGE, OpId, Origin, ProvMachine,
    ProvState, Station, clamp_scan_params, scan_time_limit,
};
use wifiprov_device::store::StoreError;
use wifiprov_device::{FailReason, ManagerConfig, ProvError, ProvEvent, Refusal, StoreFailure};
use wifiprov_wifi::{
    AccessPoint, AuthMode, Bssid, ConnectError, Credentials, LinkStatus, ScanParams, WifiError,
};

const A: SessionId = SessionId(1);
const B: SessionId = SessionId(2);

fn creds(ssid: &str, pass: &str) -> Credentials {
    Credentials::new(ssid.as_bytes(), pass.as_bytes()).unwrap()
}

fn link(ssid: &[u8]) -> LinkStatus {
    LinkStatus {
        ssid: ssid.to_vec(),
        bssid: Bssid([2, 0, 0, 0, 0, 1]),
        channel: 6,
        auth: AuthMode::Wpa2Psk,
        ip: Ipv4Addr::new(192, 168, 1, 42),
        rssi: -40,
    }
}

fn auth_failed(ssid: &str) -> ConnectError {
    ConnectError::AuthFailed { ssid: ssid.into() }
}

fn disk_full() -> StoreFailure {
    StoreFailure::new(StoreError::Write {
        path: PathBuf::from("/state/.credentials.json.x.tmp"),
        source: io::Error::other("no space left on device"),
    })
}

/// A machine and the simulated time.
struct Sim {
    m: ProvMachine,
    now: Instant,
}

impl Sim {
    fn new(config: ManagerConfig) -> Self {
        let mut sim = Sim {
            m: ProvMachine::new(config, Instant::ZERO),
            now: Instant::ZERO,
        };
        assert_eq!(sim.drain(), [Action::Emit(ProvEvent::Init)]);
        sim
    }

    /// A machine that has started (its start-up actions checked and drained).
    fn started(config: ManagerConfig) -> Self {
        let mut sim = Sim::new(config);
        assert_eq!(sim.m.prov_state(), ProvState::Stopped);
        sim.m.handle_start(sim.now);
        assert_eq!(
            sim.drain(),
            [Action::Disconnect, Action::Emit(ProvEvent::Start)]
        );
        assert_eq!(sim.m.prov_state(), ProvState::Started);
        sim
    }

    fn at(&mut self, ms: u64) {
        let t = Instant::from_millis(ms);
        assert!(t >= self.now, "time runs forward in these tests");
        self.now = t;
    }

    fn drain(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(action) = self.m.poll(self.now) {
            out.push(action);
            assert!(out.len() < 100, "runaway actions");
        }
        out
    }

    /// Goes to the next deadline and drains.
    fn until_deadline(&mut self) -> Vec<Action> {
        let at = self.m.poll_at().expect("a deadline");
        assert!(at >= self.now);
        self.now = at;
        self.drain()
    }

    /// SetConfig + ApplyConfig for `session`; returns the store write asked for.
    fn apply(&mut self, session: SessionId, c: Credentials) -> OpId {
        self.m.handle_set_config(self.now, session, c.clone());
        self.m.handle_apply(self.now, session).unwrap();
        persist_op(&self.drain(), &c)
    }

    /// Stores successfully; checks the announcement and the apply's answer.
    fn stored(&mut self, op: OpId, origin: Origin, ssid: &[u8]) {
        self.m.handle_persisted(self.now, op, Ok(()));
        assert_eq!(
            self.drain(),
            [
                Action::Emit(ProvEvent::CredRecv {
                    ssid: ssid.to_vec()
                }),
                Action::Answer(Answer::Applied {
                    origin,
                    result: Ok(())
                }),
            ]
        );
        assert_eq!(self.m.prov_state(), ProvState::CredRecv);
        assert_eq!(self.m.station(), &Station::Connecting);
    }

    /// Waits for the connection delay; returns the attempt asked for.
    fn connect_due(&mut self, c: &Credentials) -> OpId {
        let actions = self.until_deadline();
        match actions.as_slice() {
            [Action::Connect { creds, op }] if creds == c => *op,
            other => panic!("expected Connect, got {other:?}"),
        }
    }
}

fn persist_op(actions: &[Action], c: &Credentials) -> OpId {
    match actions {
        [Action::Persist { creds, op }] if creds == c => *op,
        other => panic!("expected Persist of {:?}, got {other:?}", c.ssid_lossy()),
    }
}

fn refused(result: Result<(), ProvError>) -> Refusal {
    match result {
        Err(ProvError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// --------------------------------------------------------------------------------------------
// The ESP-IDF transitions

#[test]
fn success_then_auto_stop_after_status_and_cleanup_delay() {
    let mut s = Sim::started(ManagerConfig::default());
    assert_eq!(s.m.station(), &Station::Connecting, "before credentials");
    let home = creds("HomeNet", "correct-horse");
    s.at(5_000);
    let op = s.apply(A, home.clone());
    assert_eq!(s.m.prov_state(), ProvState::CredRecv);
    assert_eq!(s.m.poll_at(), None, "nothing to do until stored");
    s.at(5_020);
    s.stored(op, Origin::Session(A), b"HomeNet");
    // The connection starts connect_delay (1 s) after the credentials were stored.
    assert_eq!(s.m.poll_at(), Some(Instant::from_millis(6_020)));
    s.at(6_019);
    assert_eq!(s.drain(), []);
    let attempt = s.connect_due(&home);
    assert_eq!(s.now, Instant::from_millis(6_020));
    s.at(8_000);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"HomeNet")));
    assert_eq!(
        s.drain(),
        [
            Action::Emit(ProvEvent::CredSuccess {
                link: link(b"HomeNet")
            }),
            Action::Answer(Answer::Finished {
                origin: Origin::Session(A),
                result: Ok(link(b"HomeNet"))
            }),
        ]
    );
    assert_eq!(s.m.prov_state(), ProvState::Success);
    assert_eq!(s.m.station(), &Station::Connected(link(b"HomeNet")));
    assert_eq!(
        s.m.joined(),
        Some((&home, &link(b"HomeNet"))),
        "the credentials that joined"
    );
    // Auto-stop timeout armed at 30 s; a GetStatus that sees the success shortens it to the
    // cleanup delay (1 s).
    assert_eq!(s.m.poll_at(), Some(Instant::from_millis(38_000)));
    s.at(9_000);
    s.m.handle_status_seen(s.now);
    assert_eq!(s.m.poll_at(), Some(Instant::from_millis(10_000)));
    s.at(9_999);
    assert_eq!(s.drain(), []);
    assert_eq!(
        s.until_deadline(),
        [Action::Stop, Action::Emit(ProvEvent::End)]
    );
    assert_eq!(s.m.prov_state(), ProvState::Stopped);
    assert_eq!(s.m.poll_at(), None);
    assert!(s.m.joined().is_some(), "still known after the stop");
    // A second stop changes nothing.
    s.m.handle_stop(s.now);
    assert_eq!(s.drain(), []);
}

#[test]
fn auto_stop_after_the_timeout_without_a_status_request() {
    let mut s = Sim::started(ManagerConfig::default());
    let c = creds("CoffeeShop", "");
    let op = s.apply(A, c.clone());
    s.stored(op, Origin::Session(A), b"CoffeeShop");
    let attempt = s.connect_due(&c);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"CoffeeShop")));
    s.drain();
    let joined_at = s.now;
    assert_eq!(
        s.until_deadline(),
        [Action::Stop, Action::Emit(ProvEvent::End)]
    );
    assert_eq!(
        s.now.saturating_duration_since(joined_at).as_secs(),
        30,
        "autostop_timeout"
    );
}

#[test]
fn cleanup_delay_has_a_floor_and_another_route_can_report_the_outcome() {
    let mut s = Sim::started(ManagerConfig {
        cleanup_delay: std::time::Duration::ZERO,
        ..Default::default()
    });
    let c = creds("HomeNet", "correct-horse");
    let op = s.apply(A, c.clone());
    s.stored(op, Origin::Session(A), b"HomeNet");
    let attempt = s.connect_due(&c);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"HomeNet")));
    s.drain();
    s.at(2_000);
    s.m.handle_outcome_reported(s.now);
    assert_eq!(
        s.m.poll_at(),
        Some(Instant::from_millis(2_100)),
        "at least 100 ms"
    );
    // Reported twice: the first report counts.
    s.at(2_050);
    s.m.handle_status_seen(s.now);
    assert_eq!(s.m.poll_at(), Some(Instant::from_millis(2_100)));
}

#[test]
fn status_seen_before_success_arms_nothing() {
    let mut s = Sim::started(ManagerConfig::default());
    s.m.handle_status_seen(s.now);
    assert_eq!(s.m.poll_at(), None);
    assert_eq!(s.drain(), []);
}

#[test]
fn wrong_passphrase_fails_then_apply_is_refused_until_reset() {
    let mut s = Sim::started(ManagerConfig::default());
    let wrong = creds("HomeNet", "wrong-horse");
    let op = s.apply(A, wrong.clone());
    s.stored(op, Origin::Session(A), b"HomeNet");
    let attempt = s.connect_due(&wrong);
    s.m.handle_connect_result(s.now, attempt, Err(auth_failed("HomeNet")));
    let error = ProvError::Connect(auth_failed("HomeNet"));
    assert_eq!(
        s.drain(),
        [
            Action::Emit(ProvEvent::CredFail {
                error: error.clone()
            }),
            Action::Answer(Answer::Finished {
                origin: Origin::Session(A),
                result: Err(error)
            }),
        ],
        "legacy mode does not retry an authentication failure"
    );
    assert_eq!(s.m.prov_state(), ProvState::Fail);
    assert_eq!(s.m.station(), &Station::Failed(FailReason::AuthError));
    assert_eq!(s.m.last_error(), Some(&auth_failed("HomeNet")));

    // New credentials are refused until CtrlReset, and the refused apply discards them.
    s.m.handle_set_config(s.now, A, creds("HomeNet", "correct-horse"));
    assert_eq!(refused(s.m.handle_apply(s.now, A)), Refusal::NeedsReset);
    assert!(!s.m.has_pending(A));
    assert_eq!(s.drain(), []);

    s.m.handle_reset(s.now).unwrap();
    assert_eq!(
        s.drain(),
        [Action::ClearStore],
        "CtrlReset clears the store"
    );
    assert_eq!(s.m.prov_state(), ProvState::Started);
    assert_eq!(
        s.m.station(),
        &Station::Failed(FailReason::AuthError),
        "the station state is kept"
    );
    assert_eq!(refused(s.m.handle_apply(s.now, A)), Refusal::NothingPending);

    let right = creds("HomeNet", "correct-horse");
    let op = s.apply(A, right.clone());
    s.stored(op, Origin::Session(A), b"HomeNet");
    let attempt = s.connect_due(&right);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"HomeNet")));
    assert_eq!(s.m.prov_state(), ProvState::Success);
}

#[test]
fn unknown_network_is_reported_as_not_found() {
    let mut s = Sim::started(ManagerConfig::default());
    let c = creds("NoSuchNet", "whatever1");
    let op = s.apply(A, c.clone());
    s.stored(op, Origin::Session(A), b"NoSuchNet");
    let attempt = s.connect_due(&c);
    s.m.handle_connect_result(
        s.now,
        attempt,
        Err(ConnectError::NetworkNotFound {
            ssid: "NoSuchNet".into(),
        }),
    );
    s.drain();
    assert_eq!(s.m.station(), &Station::Failed(FailReason::NetworkNotFound));
}

#[test]
fn apply_without_set_config_is_refused() {
    let mut s = Sim::started(ManagerConfig::default());
    assert_eq!(refused(s.m.handle_apply(s.now, A)), Refusal::NothingPending);
    assert_eq!(s.drain(), []);
    assert_eq!(s.m.prov_state(), ProvState::Started);
}

#[test]
fn ctrl_preconditions() {
    let mut s = Sim::started(ManagerConfig::default());
    // Reset while waiting for credentials: a harmless success. Reprov needs auto-stop off.
    s.m.handle_reset(s.now).unwrap();
    assert_eq!(s.drain(), [], "nothing to clear");
    assert_eq!(refused(s.m.handle_reprov(s.now)), Refusal::AutoStop);
    let c = creds("SlowLane", "patience-please");
    let op = s.apply(A, c.clone());
    assert_eq!(refused(s.m.handle_reset(s.now)), Refusal::InProgress);
    s.stored(op, Origin::Session(A), b"SlowLane");
    assert_eq!(refused(s.m.handle_reset(s.now)), Refusal::InProgress);
    let attempt = s.connect_due(&c);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"SlowLane")));
    s.drain();
    assert_eq!(refused(s.m.handle_reset(s.now)), Refusal::AlreadyJoined);
    s.m.handle_stop(s.now);
    s.drain();
    assert_eq!(refused(s.m.handle_reset(s.now)), Refusal::NotRunning);
    assert_eq!(refused(s.m.handle_reprov(s.now)), Refusal::NotRunning);
}

#[test]
fn reprovision_after_success_with_auto_stop_off() {
    let mut s = Sim::started(ManagerConfig {
        auto_stop: false,
        ..Default::default()
    });
    let c = creds("CoffeeShop", "");
    let op = s.apply(A, c.clone());
    s.stored(op, Origin::Session(A), b"CoffeeShop");
    let attempt = s.connect_due(&c);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"CoffeeShop")));
    s.drain();
    s.m.handle_status_seen(s.now);
    assert_eq!(s.m.poll_at(), None, "no auto-stop");
    s.at(60_000);
    assert_eq!(s.drain(), []);
    assert_eq!(s.m.prov_state(), ProvState::Success);

    s.m.handle_reprov(s.now).unwrap();
    assert_eq!(
        s.drain(),
        [Action::Disconnect, Action::Emit(ProvEvent::Start)]
    );
    assert_eq!(s.m.prov_state(), ProvState::Started);
    assert_eq!(s.m.joined(), None);
    assert_eq!(
        s.m.station(),
        &Station::Connected(link(b"CoffeeShop")),
        "GetStatus keeps the previous connection until new credentials are applied"
    );
    let home = creds("HomeNet", "correct-horse");
    let op = s.apply(A, home.clone());
    s.stored(op, Origin::Session(A), b"HomeNet");
    let attempt = s.connect_due(&home);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"HomeNet")));
    s.drain();
    assert_eq!(s.m.joined().map(|(c, _)| c.clone()), Some(home));
}

#[test]
fn reprovision_abandons_an_attempt_and_ignores_its_late_answers() {
    let mut s = Sim::started(ManagerConfig {
        auto_stop: false,
        ..Default::default()
    });
    let c = creds("HomeNet", "correct-horse");
    // Abandoned while being stored: the apply is told, the late write result is ignored.
    let op = s.apply(A, c.clone());
    s.m.handle_reprov(s.now).unwrap();
    let abandoned = ProvError::Refused(Refusal::Abandoned);
    assert_eq!(
        s.drain(),
        [
            Action::Answer(Answer::Applied {
                origin: Origin::Session(A),
                result: Err(abandoned.clone())
            }),
            Action::Answer(Answer::Finished {
                origin: Origin::Session(A),
                result: Err(abandoned.clone())
            }),
            Action::Disconnect,
            Action::Emit(ProvEvent::Start),
        ]
    );
    let op2 = s.apply(B, creds("Other", "other-pass"));
    s.m.handle_persisted(s.now, op, Ok(()));
    assert_eq!(s.drain(), [], "the old write's answer is stale");
    assert_eq!(s.m.prov_state(), ProvState::CredRecv);
    s.stored(op2, Origin::Session(B), b"Other");

    // Abandoned while connecting: the late connection result is ignored.
    let attempt = s.connect_due(&creds("Other", "other-pass"));
    s.m.handle_reprov(s.now).unwrap();
    assert_eq!(
        s.drain(),
        [
            Action::Answer(Answer::Finished {
                origin: Origin::Session(B),
                result: Err(abandoned)
            }),
            Action::Disconnect,
            Action::Emit(ProvEvent::Start),
        ]
    );
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"Other")));
    assert_eq!(s.drain(), []);
    assert_eq!(s.m.prov_state(), ProvState::Started);
}

#[test]
fn max_attempts_report_what_remains_and_reset_on_failure_accepts_new_credentials() {
    let mut s = Sim::started(ManagerConfig {
        max_attempts: 3,
        reset_on_failure: true,
        ..Default::default()
    });
    let c = creds("HomeNet", "nope-nope");
    let op = s.apply(A, c.clone());
    s.stored(op, Origin::Session(A), b"HomeNet");
    let mut attempt = s.connect_due(&c);
    let mut remaining = Vec::new();
    for _ in 0..2 {
        s.m.handle_connect_result(s.now, attempt, Err(auth_failed("HomeNet")));
        let Station::AttemptFailed { remaining: r } = s.m.station().clone() else {
            panic!("{:?}", s.m.station())
        };
        remaining.push(r);
        // Retried at once, as a new attempt (the old one's answer would be stale).
        let actions = s.drain();
        let [Action::Connect { op, .. }] = actions.as_slice() else {
            panic!("{actions:?}")
        };
        assert_ne!(*op, attempt);
        attempt = *op;
    }
    assert_eq!(remaining, [2, 1]);
    s.m.handle_connect_result(s.now, attempt, Err(auth_failed("HomeNet")));
    let actions = s.drain();
    assert!(
        matches!(
            actions.first(),
            Some(Action::Emit(ProvEvent::CredFail { .. }))
        ),
        "{actions:?}"
    );
    assert_eq!(s.m.station(), &Station::Failed(FailReason::AuthError));
    assert_eq!(s.m.prov_state(), ProvState::Started, "reset on failure");
    assert!(!actions.contains(&Action::ClearStore));
    // New credentials without CtrlReset; the attempt count starts afresh.
    let c = creds("HomeNet", "correct-horse");
    let op = s.apply(A, c.clone());
    s.stored(op, Origin::Session(A), b"HomeNet");
    let attempt = s.connect_due(&c);
    s.m.handle_connect_result(s.now, attempt, Err(auth_failed("HomeNet")));
    assert_eq!(s.m.station(), &Station::AttemptFailed { remaining: 2 });
}

#[test]
fn legacy_mode_retries_transient_failures_a_few_times() {
    let mut s = Sim::started(ManagerConfig {
        transient_retries: 2,
        ..Default::default()
    });
    let c = creds("Flaky", "flaky-pass");
    let op = s.apply(A, c.clone());
    s.stored(op, Origin::Session(A), b"Flaky");
    let mut attempt = s.connect_due(&c);
    let lost = || ConnectError::LinkLost {
        ssid: "Flaky".into(),
    };
    for _ in 0..2 {
        s.m.handle_connect_result(s.now, attempt, Err(lost()));
        assert_eq!(s.m.station(), &Station::Connecting, "no attempts detail");
        let actions = s.drain();
        let [Action::Connect { op, .. }] = actions.as_slice() else {
            panic!("{actions:?}")
        };
        attempt = *op;
    }
    s.m.handle_connect_result(s.now, attempt, Err(lost()));
    s.drain();
    assert_eq!(s.m.prov_state(), ProvState::Fail);
    assert_eq!(s.m.station(), &Station::Failed(FailReason::AuthError));
}

#[test]
fn scans_sort_truncate_clamp_and_pass_parameters_on() {
    let mut s = Sim::started(ManagerConfig {
        scan_max_entries: 3,
        ..Default::default()
    });
    let params = ScanParams {
        passive: true,
        group_channels: 5,
        period_ms: 120,
    };
    assert!(s.m.handle_scan_start(s.now, params));
    assert_eq!(s.drain(), [Action::Scan(params)]);
    assert_eq!(s.m.scan_status(), (false, 0));
    assert!(
        !s.m.handle_scan_start(s.now, ScanParams::default()),
        "one at a time"
    );
    assert_eq!(s.drain(), []);
    let ap = |name: &str, rssi: i8| AccessPoint {
        ssid: name.as_bytes().to_vec(),
        bssid: Bssid([0; 6]),
        channel: 1,
        rssi,
        auth: AuthMode::Open,
    };
    s.m.handle_scan_done(
        s.now,
        Ok(vec![
            ap("weak", -80),
            ap("strong", -30),
            ap("mid-a", -50),
            ap("mid-b", -50),
        ]),
    );
    assert_eq!(s.drain(), [Action::Answer(Answer::Scanned { ok: true })]);
    assert_eq!(s.m.scan_status(), (true, 3));
    let names: Vec<_> =
        s.m.scan_page(0, 10)
            .iter()
            .map(|a| a.ssid.clone())
            .collect();
    assert_eq!(
        names,
        [&b"strong"[..], b"mid-a", b"mid-b"],
        "stable, strongest first"
    );
    assert_eq!(s.m.scan_page(2, 5).len(), 1);
    assert!(s.m.scan_page(usize::MAX, usize::MAX).is_empty());
    // A late or unasked result changes nothing.
    s.m.handle_scan_done(s.now, Ok(vec![ap("late", -10)]));
    assert_eq!(s.drain(), []);
    assert_eq!(s.m.scan_status(), (true, 3));
    // A failed scan.
    assert!(s.m.handle_scan_start(s.now, params));
    s.drain();
    s.m.handle_scan_done(s.now, Err(WifiError::busy("radio")));
    assert_eq!(s.drain(), [Action::Answer(Answer::Scanned { ok: false })]);
    assert_eq!(s.m.scan_status(), (true, 0));
}

#[test]
fn hostile_scan_parameters_are_clamped_and_the_scan_ends_in_bounded_time() {
    let mut s = Sim::started(ManagerConfig::default());
    let hostile = ScanParams {
        passive: false,
        group_channels: u8::MAX,
        period_ms: u32::MAX,
    };
    assert!(s.m.handle_scan_start(s.now, hostile));
    let clamped = ScanParams {
        passive: false,
        group_channels: MAX_CHANNELS,
        period_ms: MAX_DWELL_MS,
    };
    assert_eq!(s.drain(), [Action::Scan(clamped)]);
    assert_eq!(clamp_scan_params(hostile), clamped);
    // The backend never answers: the machine gives the scan up at its deadline, which the
    // clamped parameters bound (14 channels of 1.5 s, pauses and slack: under 30 s).
    let limit = scan_time_limit(hostile);
    assert!(limit < std::time::Duration::from_secs(30), "{limit:?}");
    assert_eq!(s.m.poll_at(), Some(s.now + limit));
    assert_eq!(
        s.until_deadline(),
        [Action::Answer(Answer::Scanned { ok: false })]
    );
    assert_eq!(s.m.scan_status(), (true, 0));
    // Another session's scan starts and completes.
    assert!(s.m.handle_scan_start(s.now, ScanParams::default()));
    assert_eq!(s.drain(), [Action::Scan(ScanParams::default())]);
    s.m.handle_scan_done(s.now, Ok(Vec::new()));
    assert_eq!(s.drain(), [Action::Answer(Answer::Scanned { ok: true })]);
    assert_eq!(s.m.poll_at(), None, "no scan deadline once it ended");
}

#[test]
fn pages_are_capped() {
    let mut s = Sim::started(ManagerConfig {
        scan_max_entries: 400,
        ..Default::default()
    });
    s.m.handle_scan_start(s.now, ScanParams::default());
    s.drain();
    let many = (0..300)
        .map(|i| AccessPoint {
            ssid: format!("n{i}").into_bytes(),
            bssid: Bssid([0; 6]),
            channel: 1,
            rssi: -50,
            auth: AuthMode::Open,
        })
        .collect();
    s.m.handle_scan_done(s.now, Ok(many));
    assert_eq!(s.m.scan_page(0, 1000).len(), MAX_RESULTS_PER_PAGE);
}

#[test]
fn stop_while_connecting_gives_up_the_attempt_and_forgets_pending_credentials() {
    let mut s = Sim::started(ManagerConfig::default());
    s.m.handle_set_config(s.now, B, creds("Later", "later-pass"));
    let c = creds("HomeNet", "correct-horse");
    let op = s.apply(A, c.clone());
    s.stored(op, Origin::Session(A), b"HomeNet");
    let attempt = s.connect_due(&c);
    s.m.handle_stop(s.now);
    assert_eq!(
        s.drain(),
        [
            Action::Answer(Answer::Finished {
                origin: Origin::Session(A),
                result: Err(ProvError::Refused(Refusal::Ended))
            }),
            Action::Disconnect,
            Action::Stop,
            Action::Emit(ProvEvent::End),
        ]
    );
    assert_eq!(s.m.pending_count(), 0);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"HomeNet")));
    assert_eq!(s.drain(), []);
    assert_eq!(s.m.joined(), None);
    // Requests after the stop change nothing.
    s.m.handle_set_config(s.now, A, c);
    assert_eq!(refused(s.m.handle_apply(s.now, A)), Refusal::NotRunning);
    assert_eq!(s.m.pending_count(), 0);
    // Deinit after the stop: only the event.
    s.m.handle_deinit(s.now);
    assert_eq!(s.drain(), [Action::Emit(ProvEvent::Deinit)]);
    // Started again: serving afresh.
    s.m.handle_start(s.now);
    assert_eq!(
        s.drain(),
        [Action::Disconnect, Action::Emit(ProvEvent::Start)]
    );
}

// --------------------------------------------------------------------------------------------
// Pending credentials per session

#[test]
fn one_session_never_applies_another_sessions_credentials() {
    let mut s = Sim::started(ManagerConfig::default());
    let home = creds("HomeNet", "correct-horse");
    let evil = creds("EvilNet", "evil-pass");
    s.m.handle_set_config(s.now, A, home.clone());
    s.m.handle_set_config(s.now, B, evil.clone());
    s.m.handle_apply(s.now, A).unwrap();
    let op = persist_op(&s.drain(), &home);
    s.stored(op, Origin::Session(A), b"HomeNet");
    let attempt = s.connect_due(&home);
    // B's apply is refused (credentials already received) and its pending entry discarded.
    assert_eq!(refused(s.m.handle_apply(s.now, B)), Refusal::InProgress);
    assert!(!s.m.has_pending(B));
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"HomeNet")));
    s.drain();
    assert_eq!(s.m.joined().map(|(c, _)| c.clone()), Some(home));
}

#[test]
fn set_config_replaces_only_the_sessions_own_credentials() {
    let mut s = Sim::started(ManagerConfig::default());
    s.m.handle_set_config(s.now, A, creds("First", "first-pass"));
    s.m.handle_set_config(s.now, B, creds("EvilNet", "evil-pass"));
    s.m.handle_set_config(s.now, A, creds("Second", "second-pass"));
    s.m.handle_apply(s.now, A).unwrap();
    persist_op(&s.drain(), &creds("Second", "second-pass"));
    assert!(s.m.has_pending(B));
}

#[test]
fn pending_credentials_are_bounded_and_go_with_their_session() {
    let mut s = Sim::started(ManagerConfig {
        max_pending: 2,
        ..Default::default()
    });
    s.m.handle_set_config(s.now, SessionId(1), creds("One", "one-pass"));
    s.m.handle_set_config(s.now, SessionId(2), creds("Two", "two-pass"));
    s.m.handle_set_config(s.now, SessionId(3), creds("Three", "three-pass"));
    assert_eq!(s.m.pending_count(), 2);
    assert!(!s.m.has_pending(SessionId(1)), "the oldest gave way");
    assert_eq!(
        refused(s.m.handle_apply(s.now, SessionId(1))),
        Refusal::NothingPending
    );
    s.m.handle_session_closed(s.now, SessionId(2));
    assert!(!s.m.has_pending(SessionId(2)));
    assert_eq!(
        refused(s.m.handle_apply(s.now, SessionId(2))),
        Refusal::NothingPending
    );
    s.m.handle_apply(s.now, SessionId(3)).unwrap();
    persist_op(&s.drain(), &creds("Three", "three-pass"));
}

#[test]
fn a_session_closing_does_not_stop_its_attempt() {
    let mut s = Sim::started(ManagerConfig::default());
    let c = creds("HomeNet", "correct-horse");
    let op = s.apply(A, c.clone());
    s.m.handle_session_closed(s.now, A);
    s.stored(op, Origin::Session(A), b"HomeNet");
    let attempt = s.connect_due(&c);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"HomeNet")));
    s.drain();
    assert_eq!(s.m.prov_state(), ProvState::Success);
}

// --------------------------------------------------------------------------------------------
// The store

#[test]
fn a_failed_save_is_answered_as_a_failure_and_nothing_is_tried() {
    let mut s = Sim::started(ManagerConfig::default());
    let c = creds("HomeNet", "correct-horse");
    let op = s.apply(A, c.clone());
    s.m.handle_persisted(s.now, op, Err(disk_full()));
    let error = ProvError::Store(disk_full());
    assert_eq!(
        s.drain(),
        [
            Action::Emit(ProvEvent::CredFail {
                error: error.clone()
            }),
            Action::Answer(Answer::Applied {
                origin: Origin::Session(A),
                result: Err(error.clone())
            }),
            Action::Answer(Answer::Finished {
                origin: Origin::Session(A),
                result: Err(error.clone())
            }),
        ]
    );
    assert_eq!(error.reason_key(), "store_error");
    assert!(error.to_string().contains("no space left"), "{error}");
    assert_eq!(
        s.m.prov_state(),
        ProvState::Started,
        "credentials may be sent again"
    );
    assert_eq!(
        s.m.station(),
        &Station::Connecting,
        "never announced as connecting"
    );
    assert_eq!(s.m.poll_at(), None, "no connection attempt is scheduled");
    s.at(60_000);
    assert_eq!(s.drain(), []);
    // A later save that works goes on as usual.
    let op = s.apply(A, c.clone());
    s.stored(op, Origin::Session(A), b"HomeNet");
    s.connect_due(&c);
}

// --------------------------------------------------------------------------------------------
// Routes that bring credentials themselves

#[test]
fn two_routes_submitting_one_is_taken_the_other_refused() {
    let mut s = Sim::started(ManagerConfig::default());
    let first = creds("HomeNet", "correct-horse");
    let second = creds("Other", "other-pass");
    s.m.handle_submit(s.now, Origin::Route(1), first.clone())
        .unwrap();
    let refusal =
        s.m.handle_submit(s.now, Origin::Route(2), second)
            .unwrap_err();
    assert_eq!(refusal, ProvError::Refused(Refusal::InProgress));
    assert!(
        refusal.to_string().contains("being stored or tried"),
        "a clear reason: {refusal}"
    );
    // A session cannot slip its credentials in either.
    s.m.handle_set_config(s.now, A, creds("EvilNet", "evil-pass"));
    assert_eq!(refused(s.m.handle_apply(s.now, A)), Refusal::InProgress);

    let op = persist_op(&s.drain(), &first);
    s.stored(op, Origin::Route(1), b"HomeNet");
    let attempt = s.connect_due(&first);
    s.m.handle_connect_result(s.now, attempt, Ok(link(b"HomeNet")));
    assert!(s.drain().contains(&Action::Answer(Answer::Finished {
        origin: Origin::Route(1),
        result: Ok(link(b"HomeNet"))
    })));
    assert_eq!(
        s.m.handle_submit(s.now, Origin::Route(2), creds("Other", "other-pass")),
        Err(ProvError::Refused(Refusal::AlreadyJoined))
    );
}

#[test]
fn a_routes_failure_returns_to_started_and_clears_the_store() {
    let mut s = Sim::started(ManagerConfig::default());
    let c = creds("HomeNet", "wrong-horse");
    s.m.handle_submit(s.now, Origin::Route(7), c.clone())
        .unwrap();
    let op = persist_op(&s.drain(), &c);
    s.stored(op, Origin::Route(7), b"HomeNet");
    let attempt = s.connect_due(&c);
    s.m.handle_connect_result(s.now, attempt, Err(auth_failed("HomeNet")));
    let error = ProvError::Connect(auth_failed("HomeNet"));
    assert_eq!(
        s.drain(),
        [
            Action::Emit(ProvEvent::CredFail {
                error: error.clone()
            }),
            Action::Answer(Answer::Finished {
                origin: Origin::Route(7),
                result: Err(error)
            }),
            Action::ClearStore,
        ]
    );
    assert_eq!(s.m.prov_state(), ProvState::Started);
    s.m.handle_submit(s.now, Origin::Route(8), creds("HomeNet", "correct-horse"))
        .unwrap();
}

#[test]
fn connect_delay_zero_connects_at_once() {
    let mut s = Sim::started(ManagerConfig {
        connect_delay: std::time::Duration::ZERO,
        ..Default::default()
    });
    let c = creds("HomeNet", "correct-horse");
    let op = s.apply(A, c.clone());
    s.m.handle_persisted(s.now, op, Ok(()));
    let actions = s.drain();
    assert!(
        matches!(actions.last(), Some(Action::Connect { creds, .. }) if *creds == c),
        "{actions:?}"
    );
}

// --------------------------------------------------------------------------------------------
// Random interleavings

mod interleavings {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Step {
        SetConfig { session: u32, net: usize },
        Apply { session: u32 },
        Close { session: u32 },
        Persisted { ok: bool },
        Connected { ok: bool },
        Reset,
        Status,
        Wait { ms: u64 },
    }

    const NETS: [&str; 4] = ["HomeNet", "EvilNet", "Cafe", "Office"];

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0u32..4, 0usize..NETS.len()).prop_map(|(session, net)| Step::SetConfig { session, net }),
            3 => (0u32..4).prop_map(|session| Step::Apply { session }),
            1 => (0u32..4).prop_map(|session| Step::Close { session }),
            2 => any::<bool>().prop_map(|ok| Step::Persisted { ok }),
            2 => any::<bool>().prop_map(|ok| Step::Connected { ok }),
            1 => Just(Step::Reset),
            1 => Just(Step::Status),
            1 => (0u64..3000).prop_map(|ms| Step::Wait { ms }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever several sessions send in whatever order, a session's ApplyConfig stores
        /// and tries exactly the credentials that session set last, and every answer goes
        /// to the session that asked.
        #[test]
        fn no_session_applies_anothers_credentials(
            steps in proptest::collection::vec(step(), 1..80),
            max_pending in 1usize..5,
        ) {
            let mut s = Sim::started(ManagerConfig { max_pending, ..Default::default() });
            // The model: what each session set last and has not applied or lost.
            let mut model: HashMap<u32, Credentials> = HashMap::new();
            let mut order: Vec<u32> = Vec::new();
            // The store write and attempt the machine asked for, and whose credentials.
            let mut persist: Option<(OpId, Credentials)> = None;
            let mut attempt: Option<(OpId, Credentials)> = None;
            let mut applying: Option<(SessionId, Credentials)> = None;
            for step in steps {
                match step {
                    Step::SetConfig { session, net } => {
                        let c = creds(NETS[net], &format!("pass-of-{session}"));
                        let running = s.m.prov_state() != ProvState::Stopped;
                        s.m.handle_set_config(s.now, SessionId(session), c.clone());
                        if running {
                            order.retain(|x| *x != session);
                            model.remove(&session);
                            if model.len() >= max_pending {
                                let oldest = order.remove(0);
                                model.remove(&oldest);
                            }
                            order.push(session);
                            model.insert(session, c);
                        }
                    }
                    Step::Apply { session } => {
                        let expected = model.remove(&session);
                        order.retain(|x| *x != session);
                        let accepting = s.m.prov_state() == ProvState::Started;
                        let result = s.m.handle_apply(s.now, SessionId(session));
                        prop_assert_eq!(result.is_ok(), accepting && expected.is_some());
                        if result.is_ok() {
                            applying = Some((SessionId(session), expected.unwrap()));
                        }
                    }
                    Step::Close { session } => {
                        s.m.handle_session_closed(s.now, SessionId(session));
                        model.remove(&session);
                        order.retain(|x| *x != session);
                    }
                    Step::Persisted { ok } => {
                        if let Some((op, _)) = persist.take() {
                            let result = if ok { Ok(()) } else { Err(disk_full()) };
                            s.m.handle_persisted(s.now, op, result);
                        }
                    }
                    Step::Connected { ok } => {
                        if let Some((op, c)) = attempt.take() {
                            let result = if ok {
                                Ok(link(&c.ssid))
                            } else {
                                Err(auth_failed(&c.ssid_lossy()))
                            };
                            s.m.handle_connect_result(s.now, op, result);
                        }
                    }
                    Step::Reset => {
                        let _ = s.m.handle_reset(s.now);
                    }
                    Step::Status => s.m.handle_status_seen(s.now),
                    Step::Wait { ms } => {
                        let t = Instant::from_millis(s.now.as_millis() + ms);
                        s.now = t;
                    }
                }
                for action in s.drain() {
                    match action {
                        Action::Persist { creds, op } => {
                            let (_, wanted) = applying.as_ref().expect("a Persist follows an apply");
                            prop_assert_eq!(&creds, wanted);
                            persist = Some((op, creds));
                        }
                        Action::Connect { creds, op } => {
                            let (_, wanted) = applying.as_ref().expect("a Connect follows an apply");
                            prop_assert_eq!(&creds, wanted);
                            attempt = Some((op, creds));
                        }
                        Action::Answer(Answer::Applied { origin, .. }) => {
                            let (session, _) = applying.as_ref().expect("an answer follows an apply");
                            prop_assert_eq!(origin, Origin::Session(*session));
                        }
                        Action::Answer(Answer::Finished { origin, result }) => {
                            let (session, wanted) = applying.take().expect("an attempt ran");
                            prop_assert_eq!(origin, Origin::Session(session));
                            if let Ok(link) = result {
                                prop_assert_eq!(&link.ssid, &wanted.ssid);
                            }
                        }
                        Action::Emit(ProvEvent::CredRecv { ssid }) => {
                            let (_, wanted) = applying.as_ref().expect("an apply");
                            prop_assert_eq!(&ssid, &wanted.ssid);
                        }
                        _ => {}
                    }
                }
                if let Some((joined, _)) = s.m.joined() {
                    prop_assert!(s.m.prov_state() == ProvState::Success || s.m.prov_state() == ProvState::Stopped);
                    prop_assert!(NETS.iter().any(|n| n.as_bytes() == joined.ssid.as_bytes()));
                }
                if s.m.prov_state() == ProvState::Stopped {
                    // Stopping forgets every pending set of credentials.
                    model.clear();
                    order.clear();
                }
                for session in model.keys() {
                    prop_assert!(s.m.has_pending(SessionId(*session)), "{} lost its credentials", session);
                }
                prop_assert_eq!(s.m.pending_count(), model.len());
            }
        }
    }
}
