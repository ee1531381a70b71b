//! Who may touch a session: claims from other connections, detached sessions, a full table,
//! and a property test of hostile interleavings.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::os_rng;
use common::pair::{connect, established, handshake, sec1, sec2};
use proptest::prelude::*;
use protocomm::proto::Message;
use protocomm::proto::session::{SessionData, session_data::Proto};
use protocomm::proto::{sec1 as p1, sec2 as p2};
use protocomm::*;

/// The application handler of these tests: like the provisioning endpoints, it refuses what
/// does not parse (here: a request without the `req:` prefix) and answers the rest.
fn strict(_: SessionId, _: &str, request: &[u8]) -> Result<Vec<u8>, HandlerError> {
    match request.strip_prefix(b"req:") {
        Some(rest) => Ok([b"ans:", rest].concat()),
        None => Err(HandlerError::peer("malformed request")),
    }
}

fn device_with(security: Security, max_sessions: usize) -> Device {
    let mut config = DeviceConfig::new(security);
    config.limits.max_sessions = max_sessions;
    // The brute-force guard couples sessions on purpose; it has its own tests.
    config.throttle = ThrottleConfig::unlimited();
    Device::new(config).unwrap()
}

fn send(d: &mut Device, origin: impl Into<Origin>, ep: &str, body: &[u8]) -> Result<Vec<u8>> {
    d.handle_request(Instant::ZERO, origin, ep, body, &mut os_rng(), &mut strict)
}

/// One request from a client session on `origin`; returns the decrypted answer.
fn ask(
    d: &mut Device,
    origin: impl Into<Origin>,
    client: &mut ClientSession,
    text: &str,
) -> Result<Vec<u8>> {
    let wire = client.encrypt(format!("req:{text}").as_bytes())?;
    let answer = send(d, origin, "prov-config", &wire)?;
    client.decrypt(&answer)
}

fn works(d: &mut Device, origin: impl Into<Origin>, client: &mut ClientSession, text: &str) {
    let answer = ask(d, origin, client, text).unwrap();
    assert_eq!(answer, format!("ans:{text}").as_bytes());
}

/// A well-formed `Cmd1` with a made-up proof.
fn forged_cmd1(security: u8, proof: &[u8]) -> Vec<u8> {
    let proto = if security == 1 {
        Proto::Sec1(p1::Sec1Payload {
            msg: 2,
            payload: Some(p1::sec1_payload::Payload::Sc1(p1::SessionCmd1 {
                client_verify_data: proof.iter().copied().cycle().take(32).collect(),
            })),
        })
    } else {
        Proto::Sec2(p2::Sec2Payload {
            msg: 2,
            payload: Some(p2::sec2_payload::Payload::Sc1(p2::S2SessionCmd1 {
                client_proof: proof.iter().copied().cycle().take(64).collect(),
            })),
        })
    };
    SessionData {
        sec_ver: i32::from(security),
        proto: Some(proto),
    }
    .encode_to_vec()
}

fn schemes() -> Vec<(&'static str, Security, ClientSecurity)> {
    let (d1, c1) = sec1(Some("abcd1234"));
    let (d2, c2) = sec2("wifiprov", "abcd1234", 1);
    vec![("sec1", d1, c1), ("sec2", d2, c2)]
}

#[test]
fn a_claim_from_another_open_connection_never_touches_the_session() {
    for (name, dev, cli) in schemes() {
        let mut d = device_with(dev, 8);
        let v = connect(&mut d);
        let mut victim = handshake(&mut d, Instant::ZERO, v, cli.clone()).unwrap();
        let id = d.session_of(v).unwrap();
        let last = victim.encrypt(b"req:first").unwrap();
        assert_eq!(
            victim
                .decrypt(&send(&mut d, v, "prov-config", &last).unwrap())
                .unwrap(),
            b"ans:first"
        );
        let w = connect(&mut d);
        let claim = Origin::new(w, Some(id));
        let (_, cmd0) = ClientHandshake::start(cli.clone(), &mut os_rng()).unwrap();
        let attacks: [(&str, Vec<u8>); 6] = [
            ("prov-session", cmd0),
            (
                "prov-config",
                (0..40u8).map(|i| i.wrapping_mul(7)).collect(),
            ),
            ("prov-config", last.clone()),
            ("prov-session", forged_cmd1(d.security_version(), &[5; 8])),
            ("prov-session", vec![0xff; 5]),
            ("proto-ver", b"---".to_vec()),
        ];
        for (ep, body) in attacks {
            let err = send(&mut d, claim, ep, &body).unwrap_err();
            assert!(
                matches!(err, Error::SessionInUse(s) if s == id),
                "{name} {ep}: {err}"
            );
            assert_eq!(err.fault(), Fault::Peer);
            works(&mut d, v, &mut victim, "still mine");
        }
        // The same connection without the claim has a session of its own.
        let mut other = handshake(&mut d, Instant::ZERO, w, cli).unwrap();
        assert_ne!(d.session_of(w), Some(id));
        works(&mut d, w, &mut other, "other");
        works(&mut d, v, &mut victim, "victim");
    }
}

#[test]
fn a_detached_session_continues_from_a_new_connection_and_shrugs_off_failures() {
    for (name, dev, cli) in schemes() {
        let mut d = device_with(dev, 8);
        let v = connect(&mut d);
        let mut victim = handshake(&mut d, Instant::ZERO, v, cli.clone()).unwrap();
        let id = d.session_of(v).unwrap();
        let last = victim.encrypt(b"req:first").unwrap();
        victim
            .decrypt(&send(&mut d, v, "prov-config", &last).unwrap())
            .unwrap();
        d.disconnect(v, AfterDisconnect::Keep);
        assert!(d.is_established(id), "{name}");

        // Failures from a stranger's connection leave the detached session exactly as it was.
        let w = connect(&mut d);
        let claim = Origin::new(w, Some(id));
        assert!(send(&mut d, claim, "prov-config", &[0x42; 40]).is_err());
        assert!(send(&mut d, claim, "prov-config", &last).is_err());
        let forged = forged_cmd1(d.security_version(), &[1, 2]);
        assert!(matches!(
            send(&mut d, claim, "prov-session", &forged),
            Err(Error::UnexpectedMessage { .. })
        ));
        // A Cmd0 naming it starts the stranger's own session instead.
        let (hs, cmd0) = ClientHandshake::start(cli.clone(), &mut os_rng()).unwrap();
        let opened = d
            .open_request(Instant::ZERO, claim, "prov-session", &cmd0, &mut os_rng())
            .unwrap();
        assert_ne!(opened.session, id, "{name}");
        assert_eq!(Some(opened.session), d.session_of(w));
        drop(hs);
        assert!(d.is_established(id));

        // The victim comes back on a new connection with its claim (esp_prov's reconnect).
        let v2 = connect(&mut d);
        works(&mut d, Origin::new(v2, Some(id)), &mut victim, "back");
        assert_eq!(d.session_of(v2), Some(id));
        // Now it is attached again: the stranger is refused outright.
        assert!(matches!(
            send(&mut d, claim, "prov-config", &[0x42; 40]),
            Err(Error::SessionInUse(_))
        ));
        works(&mut d, v2, &mut victim, "cookieless on its own connection");
    }
}

#[test]
fn a_failed_visit_leaves_a_handshake_in_progress_alone() {
    for (name, dev, cli) in schemes() {
        let mut d = device_with(dev, 8);
        let v = connect(&mut d);
        let (hs, cmd0) = ClientHandshake::start(cli.clone(), &mut os_rng()).unwrap();
        let opened = d
            .open_request(Instant::ZERO, v, "prov-session", &cmd0, &mut os_rng())
            .unwrap();
        let Incoming::Reply(resp0) = opened.incoming else {
            panic!("{name}: no reply")
        };
        let id = opened.session;
        let HandshakeStep::Send(hs, cmd1) = hs.handle_response(&resp0).unwrap() else {
            panic!("{name}: two steps")
        };
        d.disconnect(v, AfterDisconnect::Keep);
        let w = connect(&mut d);
        let forged = forged_cmd1(d.security_version(), &[9; 3]);
        assert!(matches!(
            send(&mut d, Origin::new(w, Some(id)), "prov-session", &forged),
            Err(Error::AuthenticationFailed)
        ));
        // The real client finishes from yet another connection.
        let v2 = connect(&mut d);
        let resp1 = send(&mut d, Origin::new(v2, Some(id)), "prov-session", &cmd1).unwrap();
        let HandshakeStep::Done(mut session) = hs.handle_response(&resp1).unwrap() else {
            panic!("{name}: done")
        };
        works(&mut d, v2, &mut session, "finished");
        // On its own connection a wrong Cmd1 does spend a handshake.
        let x = connect(&mut d);
        let (hs, cmd0) = ClientHandshake::start(cli, &mut os_rng()).unwrap();
        let resp0 = send(&mut d, x, "prov-session", &cmd0).unwrap();
        let HandshakeStep::Send(_, good) = hs.handle_response(&resp0).unwrap() else {
            panic!()
        };
        assert!(send(&mut d, x, "prov-session", &forged).is_err());
        assert!(matches!(
            send(&mut d, x, "prov-session", &good),
            Err(Error::UnexpectedMessage { .. })
        ));
    }
}

#[test]
fn a_security1_visit_refused_by_the_handler_leaves_the_keystream_alone() {
    let (dev, cli) = sec1(None);
    let mut d = device_with(dev, 4);
    let v = connect(&mut d);
    let mut victim = handshake(&mut d, Instant::ZERO, v, cli).unwrap();
    let id = d.session_of(v).unwrap();
    d.disconnect(v, AfterDisconnect::Keep);
    let w = connect(&mut d);
    // Without authentication these decrypt, to garbage the handler refuses; the keystream
    // goes back to where it stood.
    for garbage in [&[0x11u8; 40][..], &[0u8; 3], &[0xfe; 700]] {
        assert!(matches!(
            send(&mut d, Origin::new(w, Some(id)), "prov-scan", garbage),
            Err(Error::Handler { .. })
        ));
    }
    let v2 = connect(&mut d);
    works(&mut d, Origin::new(v2, Some(id)), &mut victim, "in step");
}

#[test]
fn a_full_table_keeps_handshakes_in_progress() {
    for (name, dev, cli) in schemes() {
        let mut d = device_with(dev, 3);
        // Three finished sessions whose connections closed.
        for _ in 0..3 {
            let c = connect(&mut d);
            handshake(&mut d, Instant::ZERO, c, cli.clone()).unwrap();
            d.disconnect(c, AfterDisconnect::Keep);
        }
        // A legitimate client sends Cmd0: a detached session gives way.
        let legit = connect(&mut d);
        let (hs, cmd0) = ClientHandshake::start(cli.clone(), &mut os_rng()).unwrap();
        let resp0 = send(&mut d, legit, "prov-session", &cmd0).unwrap();
        let HandshakeStep::Send(hs, cmd1) = hs.handle_response(&resp0).unwrap() else {
            panic!()
        };
        assert_eq!(d.session_count(), 3);
        // A stranger's five bytes of garbage take no slot and push nobody out.
        let stranger = connect(&mut d);
        let err = send(
            &mut d,
            stranger,
            "prov-session",
            &[0x08, 0x01, 0x12, 0x00, 0xff],
        )
        .unwrap_err();
        assert_eq!(err.fault(), Fault::Peer, "{name}: {err}");
        assert_eq!(d.session_count(), 3);
        // Valid Cmd0s push out the detached sessions, then are refused.
        for _ in 0..2 {
            let c = connect(&mut d);
            let (_, cmd0) = ClientHandshake::start(cli.clone(), &mut os_rng()).unwrap();
            send(&mut d, c, "prov-session", &cmd0).unwrap();
        }
        let c = connect(&mut d);
        let (_, cmd0) = ClientHandshake::start(cli.clone(), &mut os_rng()).unwrap();
        assert!(matches!(
            send(&mut d, c, "prov-session", &cmd0),
            Err(Error::TooManySessions { limit: 3 })
        ));
        // The legitimate handshake completes with its right PoP or password.
        let resp1 = send(&mut d, legit, "prov-session", &cmd1).unwrap();
        let HandshakeStep::Done(mut session) = hs.handle_response(&resp1).unwrap() else {
            panic!()
        };
        works(&mut d, legit, &mut session, "made it");
        assert!(established(&d, legit));
    }
}

#[test]
fn a_cmd0_is_checked_before_it_takes_a_slot() {
    let (dev, cli) = sec1(Some("abcd1234"));
    let mut d = device_with(dev, 2);
    let a = connect(&mut d);
    let mut sa = handshake(&mut d, Instant::ZERO, a, cli.clone()).unwrap();
    let b = connect(&mut d);
    let mut sb = handshake(&mut d, Instant::ZERO, b, cli.clone()).unwrap();
    let id_b = d.session_of(b).unwrap();
    d.disconnect(b, AfterDisconnect::Keep);
    let c = connect(&mut d);
    let low_order = SessionData {
        sec_ver: 1,
        proto: Some(Proto::Sec1(p1::Sec1Payload {
            msg: 0,
            payload: Some(p1::sec1_payload::Payload::Sc0(p1::SessionCmd0 {
                client_pubkey: vec![0; 32],
            })),
        })),
    }
    .encode_to_vec();
    let short_key = SessionData {
        sec_ver: 1,
        proto: Some(Proto::Sec1(p1::Sec1Payload {
            msg: 0,
            payload: Some(p1::sec1_payload::Payload::Sc0(p1::SessionCmd0 {
                client_pubkey: vec![9; 31],
            })),
        })),
    }
    .encode_to_vec();
    for bad in [&low_order[..], &short_key, b"\x08\x01", &[0xff; 5]] {
        assert!(send(&mut d, c, "prov-session", bad).is_err());
        // The detached session that would give way first is still there.
        assert!(d.is_established(id_b));
    }
    works(&mut d, Origin::new(c, Some(id_b)), &mut sb, "b is back");
    // Now nothing may give way: a valid Cmd0 is refused, and still nobody is pushed out.
    let e = connect(&mut d);
    let (_, cmd0) = ClientHandshake::start(cli, &mut os_rng()).unwrap();
    assert!(matches!(
        send(&mut d, e, "prov-session", &cmd0),
        Err(Error::TooManySessions { limit: 2 })
    ));
    works(&mut d, a, &mut sa, "a");
    works(&mut d, c, &mut sb, "b");
}

#[test]
fn a_session_busy_answering_refuses_and_yields_to_nobody() {
    let (dev, cli) = sec2("wifiprov", "abcd1234", 1);
    let mut d = device_with(dev, 1);
    let v = connect(&mut d);
    let mut victim = handshake(&mut d, Instant::ZERO, v, cli.clone()).unwrap();
    let wire = victim.encrypt(b"req:slow").unwrap();
    let opened = d
        .open_request(Instant::ZERO, v, "prov-scan", &wire, &mut os_rng())
        .unwrap();
    d.disconnect(v, AfterDisconnect::Keep);
    // Detached but busy: a newcomer much later cannot push it out.
    let late = Instant::from_millis(30_000);
    let w = connect(&mut d);
    let (_, cmd0) = ClientHandshake::start(cli, &mut os_rng()).unwrap();
    assert!(matches!(
        d.handle_request(late, w, "prov-session", &cmd0, &mut os_rng(), &mut strict),
        Err(Error::TooManySessions { .. })
    ));
    assert!(matches!(
        d.handle_request(
            late,
            Origin::new(w, Some(opened.session)),
            "prov-scan",
            &wire,
            &mut os_rng(),
            &mut strict
        ),
        Err(Error::SessionBusy(_))
    ));
    let sealed = d.seal_response(late, opened.session, b"ans:slow").unwrap();
    assert_eq!(victim.decrypt(&sealed).unwrap(), b"ans:slow");
}

// ---------------------------------------------------------------------------------------------
// Property: random interleavings of honest clients and hostile connections.

/// How many requests each honest client makes after its handshake.
const REQUESTS: usize = 3;
const HONEST: usize = 3;
const ATTACKERS: usize = 3;
const ENDPOINTS: [&str; 5] = [
    "proto-ver",
    "prov-session",
    "prov-config",
    "prov-scan",
    "custom-data",
];

/// Whose session a hostile request names.
#[derive(Clone, Debug)]
enum Claim {
    Nothing,
    Honest(usize),
    Made(u32),
}

#[derive(Clone, Debug)]
enum Op {
    /// Honest client `i` takes its next step.
    Step(usize),
    /// Honest client `i` drops its connection and comes back on a new one with its claim.
    Reconnect(usize),
    /// Arbitrary bytes to an endpoint.
    Garbage(usize, Claim, usize, Vec<u8>),
    /// One of the messages honest clients sent so far, again.
    Replay(usize, Claim, usize),
    /// A valid `Cmd0`.
    Cmd0(usize, Claim),
    /// A well-formed `Cmd1` with a made-up proof.
    Cmd1(usize, Claim, Vec<u8>),
    /// The attacker's connection closes and a new one opens.
    Churn(usize),
}

fn claim() -> impl Strategy<Value = Claim> {
    prop_oneof![
        Just(Claim::Nothing),
        (0..HONEST).prop_map(Claim::Honest),
        (0..HONEST).prop_map(Claim::Honest),
        any::<u32>().prop_map(Claim::Made),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..HONEST).prop_map(Op::Step),
        2 => (0..HONEST).prop_map(Op::Reconnect),
        3 => (0..ATTACKERS, claim(), 0..ENDPOINTS.len(), prop::collection::vec(any::<u8>(), 0..80))
            .prop_map(|(a, c, e, b)| Op::Garbage(a, c, e, b)),
        3 => (0..ATTACKERS, claim(), any::<usize>()).prop_map(|(a, c, i)| Op::Replay(a, c, i)),
        1 => (0..ATTACKERS, claim()).prop_map(|(a, c)| Op::Cmd0(a, c)),
        2 => (0..ATTACKERS, claim(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(a, c, p)| Op::Cmd1(a, c, p)),
        1 => (0..ATTACKERS).prop_map(Op::Churn),
    ]
}

enum Phase {
    Fresh,
    Handshaking(ClientHandshake, Vec<u8>),
    Ready(ClientSession),
    /// A request decrypted by the device, its answer not yet sealed.
    Answering(ClientSession, SessionId, Vec<u8>),
    Gone,
}

/// An honest client: a handshake, then [`REQUESTS`] requests, each decrypted and answered in
/// two steps so that hostile requests land in between.
struct Honest {
    index: usize,
    connection: ConnectionId,
    /// The session id the device gave it (what an HTTP client keeps as its cookie).
    claim: Option<SessionId>,
    phase: Phase,
    done: usize,
}

struct World {
    device: Device,
    security: ClientSecurity,
    now: u64,
    honest: Vec<Honest>,
    attackers: Vec<ConnectionId>,
    sent: Vec<(&'static str, Vec<u8>)>,
}

impl World {
    fn new(device: Security, security: ClientSecurity) -> Self {
        let mut device = device_with(device, 64);
        device.register_endpoint("custom-data").unwrap();
        let honest = (0..HONEST)
            .map(|index| Honest {
                index,
                connection: connect(&mut device),
                claim: None,
                phase: Phase::Fresh,
                done: 0,
            })
            .collect();
        let attackers = (0..ATTACKERS).map(|_| connect(&mut device)).collect();
        World {
            device,
            security,
            now: 0,
            honest,
            attackers,
            sent: Vec::new(),
        }
    }

    fn now(&mut self) -> Instant {
        self.now += 1;
        Instant::from_millis(self.now)
    }

    /// Honest client `i` takes its next step; every step must succeed as it would alone.
    fn step(&mut self, i: usize) {
        let now = self.now();
        let h = &mut self.honest[i];
        let origin = Origin::new(h.connection, h.claim);
        let mut rng = os_rng();
        h.phase = match std::mem::replace(&mut h.phase, Phase::Gone) {
            Phase::Fresh => {
                let (hs, cmd0) = ClientHandshake::start(self.security.clone(), &mut rng).unwrap();
                let opened = self
                    .device
                    .open_request(now, origin, "prov-session", &cmd0, &mut rng)
                    .unwrap_or_else(|e| panic!("client {i}: Cmd0 refused: {e}"));
                h.claim = Some(opened.session);
                let Incoming::Reply(resp0) = opened.incoming else {
                    panic!("client {i}: Cmd0 not answered")
                };
                self.sent.push(("prov-session", cmd0));
                match hs.handle_response(&resp0).unwrap() {
                    HandshakeStep::Send(hs, cmd1) => Phase::Handshaking(hs, cmd1),
                    HandshakeStep::Done(_) => panic!("two-step schemes only"),
                }
            }
            Phase::Handshaking(hs, cmd1) => {
                let opened = self
                    .device
                    .open_request(now, origin, "prov-session", &cmd1, &mut rng)
                    .unwrap_or_else(|e| panic!("client {i}: Cmd1 refused: {e}"));
                assert_eq!(Some(opened.session), h.claim, "client {i}: session changed");
                let Incoming::Reply(resp1) = opened.incoming else {
                    panic!("client {i}: Cmd1 not answered")
                };
                self.sent.push(("prov-session", cmd1));
                match hs.handle_response(&resp1).unwrap() {
                    HandshakeStep::Done(session) => Phase::Ready(session),
                    HandshakeStep::Send(..) => panic!("two-step schemes only"),
                }
            }
            Phase::Ready(mut session) if h.done < REQUESTS => {
                let text = format!("req:{}:{}", h.index, h.done);
                let wire = session.encrypt(text.as_bytes()).unwrap();
                let opened = self
                    .device
                    .open_request(now, origin, "prov-config", &wire, &mut rng)
                    .unwrap_or_else(|e| panic!("client {i}: request refused: {e}"));
                assert_eq!(Some(opened.session), h.claim, "client {i}: session changed");
                let Incoming::Request { plaintext, .. } = opened.incoming else {
                    panic!("client {i}: not a request")
                };
                assert_eq!(plaintext.as_slice(), text.as_bytes());
                self.sent.push(("prov-config", wire));
                Phase::Answering(session, opened.session, plaintext.to_vec())
            }
            Phase::Answering(mut session, id, plaintext) => {
                let answer = strict(id, "prov-config", &plaintext).unwrap();
                let sealed = self
                    .device
                    .seal_response(now, id, &answer)
                    .unwrap_or_else(|e| panic!("client {i}: answer lost: {e}"));
                assert_eq!(session.decrypt(&sealed).unwrap(), answer, "client {i}");
                h.done += 1;
                Phase::Ready(session)
            }
            done @ Phase::Ready(_) => done,
            Phase::Gone => unreachable!(),
        };
    }

    fn reconnect(&mut self, i: usize) {
        // A client does not drop its connection while waiting for an answer.
        if matches!(self.honest[i].phase, Phase::Answering(..)) {
            self.step(i);
        }
        let h = &mut self.honest[i];
        self.device.disconnect(h.connection, AfterDisconnect::Keep);
        h.connection = self.device.connect(&mut os_rng());
    }

    fn claim(&self, claim: &Claim) -> Option<SessionId> {
        match claim {
            Claim::Nothing => None,
            Claim::Honest(i) => self.honest[*i].claim,
            Claim::Made(id) => Some(SessionId(*id)),
        }
    }

    /// A hostile request, answered as a transport would answer it (handler included).
    fn attack(&mut self, attacker: usize, claim: &Claim, endpoint: &str, body: &[u8]) {
        let now = self.now();
        let origin = Origin::new(self.attackers[attacker], self.claim(claim));
        let opened = self
            .device
            .open_request(now, origin, endpoint, body, &mut os_rng());
        if let Ok(Opened {
            session,
            incoming: Incoming::Request { plaintext, .. },
        }) = opened
        {
            match strict(session, endpoint, &plaintext) {
                Ok(answer) => {
                    let _ = self.device.seal_response(now, session, &answer);
                }
                Err(_) => self.device.abandon_request(session),
            }
        }
    }

    fn run(&mut self, op: &Op) {
        match op {
            Op::Step(i) => self.step(*i),
            Op::Reconnect(i) => self.reconnect(*i),
            Op::Garbage(a, c, e, bytes) => self.attack(*a, c, ENDPOINTS[*e], bytes),
            Op::Replay(a, c, which) => {
                if !self.sent.is_empty() {
                    let (ep, bytes) = self.sent[which % self.sent.len()].clone();
                    self.attack(*a, c, ep, &bytes);
                }
            }
            Op::Cmd0(a, c) => {
                let (_, cmd0) =
                    ClientHandshake::start(self.security.clone(), &mut os_rng()).unwrap();
                self.attack(*a, c, "prov-session", &cmd0);
            }
            Op::Cmd1(a, c, proof) => {
                let cmd1 = forged_cmd1(self.device.security_version(), proof);
                self.attack(*a, c, "prov-session", &cmd1);
            }
            Op::Churn(a) => {
                self.device
                    .disconnect(self.attackers[*a], AfterDisconnect::Keep);
                self.attackers[*a] = self.device.connect(&mut os_rng());
            }
        }
    }

    /// Lets every honest client finish undisturbed; each must get all its answers.
    fn finish(&mut self) {
        for i in 0..HONEST {
            for _ in 0..2 + 2 * REQUESTS {
                self.step(i);
            }
            assert_eq!(self.honest[i].done, REQUESTS, "client {i}");
            let id = self.honest[i].claim.unwrap();
            assert!(self.device.is_established(id), "client {i}");
        }
    }
}

fn interleave(security: Security, client: ClientSecurity, ops: &[Op]) {
    let mut world = World::new(security, client);
    for op in ops {
        world.run(op);
    }
    world.finish();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Whatever other connections send, with or without another session's id, every honest
    /// client completes its handshake and gets every answer exactly as it would alone.
    #[test]
    fn hostile_interleavings_never_change_another_sessions_outcome_sec1(
        ops in prop::collection::vec(op(), 0..60),
    ) {
        let (dev, cli) = sec1(Some("abcd1234"));
        interleave(dev, cli, &ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// The same for security 2 (fewer cases: every Cmd0 costs 3072-bit arithmetic).
    #[test]
    fn hostile_interleavings_never_change_another_sessions_outcome_sec2(
        ops in prop::collection::vec(op(), 0..40),
    ) {
        let (dev, cli) = sec2("wifiprov", "abcd1234", 1);
        interleave(dev, cli, &ops);
    }
}
