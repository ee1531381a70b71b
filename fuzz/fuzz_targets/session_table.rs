//! The device's session table and brute-force guard under a hostile population: sequences of
//! connects (from a few IP sources, a BLE address, the console), requests (`proto-ver`, real
//! `Cmd0`/`Cmd1` with the right or a wrong PoP, garbage, claims of other connections'
//! sessions), handshakes held out as jobs, disconnects and clock steps.
//!
//! Each input byte picks an operation (`byte % 9`); operations read their arguments from the
//! following bytes. After every operation the target asserts: the table holds at most
//! `max_sessions` sessions and the guard at most `max_sources` sources; no request is taken for
//! a session another open connection speaks for; the failed authentications so far stay within
//! the global bound `burst + t/refill + t/clean + 1` (plus the handshakes that may be in flight).
#![no_main]

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use protocomm::{
    AfterDisconnect, ClientHandshake, ClientSecurity, ConnectionId, Device, DeviceConfig, Error,
    HandshakeJob, HandshakeStep, Incoming, Instant, Opened, Origin, Secret, Security, SessionId,
    Source, ThrottleConfig,
};
use wifiprov_fuzz::{ReplayRng, SEC1_POP};

const MAX_SESSIONS: usize = 4;
const MAX_CONNECTIONS: usize = 12;
const MAX_OPS: usize = 96;
/// Handshakes per input are costly (X25519); beyond this Cmd0/Cmd1 become garbage.
const MAX_HANDSHAKE_STEPS: usize = 4;

fn config() -> DeviceConfig {
    let mut config = DeviceConfig::new(Security::Sec1 {
        pop: Some(Secret::from(SEC1_POP)),
    });
    config.limits.max_sessions = MAX_SESSIONS;
    config.limits.idle_timeout = Duration::from_secs(20);
    config.throttle = ThrottleConfig {
        free_failures: 2,
        base_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(4),
        max_sources: 4,
        global_burst: 3,
        global_refill: Duration::from_secs(2),
        clean_interval: Duration::from_secs(1),
        cmd0_burst: 3,
        cmd0_refill: Duration::from_millis(300),
    };
    config
}

struct Conn {
    id: ConnectionId,
    client: Option<ClientHandshake>,
    cmd1: Option<Vec<u8>>,
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn frame(&mut self) -> Vec<u8> {
        let len = usize::from(self.byte() % 64).min(self.0.len());
        let (frame, rest) = self.0.split_at(len);
        self.0 = rest;
        frame.to_vec()
    }
}

fn source(b: u8) -> Source {
    match b % 6 {
        n @ 0..=3 => Source::ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))),
        4 => Source::Ble([0xaa, 0, 0, 0, 0, b]),
        _ => Source::Local,
    }
}

struct World {
    device: Device,
    conns: Vec<Conn>,
    rng: ReplayRng,
    now: Instant,
    failures: u64,
    steps: usize,
    held: Vec<HandshakeJob>,
}

impl World {
    /// The claim a selector byte names, and whether it names a session another open
    /// connection speaks for.
    fn claim(&self, me: usize, b: u8) -> (Option<SessionId>, bool) {
        let own = self.device.session_of(self.conns[me].id);
        match b % 4 {
            0 => (None, false),
            1 => (own, false),
            2 => {
                let other = usize::from(b / 4) % self.conns.len();
                let theirs = self.device.session_of(self.conns[other].id);
                (theirs, other != me && theirs.is_some() && theirs != own)
            }
            _ => (Some(SessionId(u32::from(b) * 0x0101_0101)), false),
        }
    }

    fn check_opened(
        &mut self,
        result: &Result<Opened, Error>,
        claim: Option<SessionId>,
        foreign: bool,
    ) {
        if let Err(Error::AuthenticationFailed) = result {
            self.failures += 1;
        }
        if let Ok(opened) = result
            && foreign
        {
            // A claim of a session another open connection speaks for is refused, or (if that
            // session holds no slot yet) the request is taken for the connection's own.
            assert_ne!(
                Some(opened.session),
                claim,
                "a request was taken for a session another open connection speaks for"
            );
        }
    }

    fn request(
        &mut self,
        me: usize,
        claim_b: u8,
        endpoint: &str,
        body: &[u8],
    ) -> Result<Opened, Error> {
        let (claim, foreign) = self.claim(me, claim_b);
        let origin = Origin::new(self.conns[me].id, claim);
        let result = self
            .device
            .open_request(self.now, origin, endpoint, body, &mut self.rng);
        self.check_opened(&result, claim, foreign);
        if let Ok(Opened {
            session,
            incoming: Incoming::Request { .. },
        }) = &result
        {
            if claim_b & 0x80 != 0 {
                let _ = self.device.seal_response(self.now, *session, b"ok");
            } else {
                self.device.abandon_request(*session);
            }
        }
        result
    }

    fn invariants(&mut self) {
        assert!(self.device.session_count() <= MAX_SESSIONS);
        assert!(self.device.throttle().source_count() <= 4);
        let t = self.now.as_millis();
        let bound = 3 + t / 2000 + t / 1000 + 1 + MAX_SESSIONS as u64 + self.held.len() as u64;
        assert!(
            self.failures <= bound,
            "{} failures in {t} ms (bound {bound})",
            self.failures
        );
        while self.device.poll_ended().is_some() {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(device) = Device::new(config()) else {
        return;
    };
    let mut w = World {
        device,
        conns: Vec::new(),
        rng: ReplayRng::new(&[]),
        now: Instant::ZERO,
        failures: 0,
        steps: 0,
        held: Vec::new(),
    };
    let mut input = Bytes(data);
    let mut client_rng = ReplayRng::new(&[]);
    for _ in 0..MAX_OPS {
        if input.0.is_empty() {
            break;
        }
        let op = input.byte() % 9;
        if w.conns.is_empty() || op == 0 {
            let src = source(input.byte());
            if w.conns.len() < MAX_CONNECTIONS {
                let id = w.device.connect_from(&mut w.rng, src);
                w.conns.push(Conn {
                    id,
                    client: None,
                    cmd1: None,
                });
            }
            w.invariants();
            continue;
        }
        let me = usize::from(input.byte()) % w.conns.len();
        match op {
            1 => {
                let after = if input.byte() & 1 == 0 {
                    AfterDisconnect::Keep
                } else {
                    AfterDisconnect::Close
                };
                let conn = w.conns.swap_remove(me);
                w.device.disconnect(conn.id, after);
            }
            2 => {
                let c = input.byte();
                let result = w.request(me, c, "proto-ver", b"---");
                if result.is_ok() {
                    assert_eq!(
                        result
                            .map(|o| matches!(o.incoming, Incoming::Reply(_)))
                            .ok(),
                        Some(true)
                    );
                }
            }
            3 => {
                let c = input.byte();
                let right = input.byte() & 1 == 0;
                if w.steps >= MAX_HANDSHAKE_STEPS {
                    let _ = w.request(me, c, "prov-session", &[0x08, 0x01]);
                } else {
                    w.steps += 1;
                    let pop = if right { SEC1_POP } else { "wrong-pop" };
                    let security = ClientSecurity::Sec1 {
                        pop: Some(Secret::from(pop)),
                    };
                    let Ok((hs, cmd0)) = ClientHandshake::start(security, &mut client_rng) else {
                        continue;
                    };
                    if let Ok(Opened {
                        incoming: Incoming::Reply(resp0),
                        ..
                    }) = w.request(me, c, "prov-session", &cmd0)
                    {
                        if let Ok(HandshakeStep::Send(next, cmd1)) = hs.handle_response(&resp0) {
                            w.conns[me].client = Some(next);
                            w.conns[me].cmd1 = Some(cmd1);
                        }
                    }
                }
            }
            4 => {
                let c = input.byte();
                let cmd1 = w.conns[me].cmd1.take();
                let client = w.conns[me].client.take();
                match (cmd1, client) {
                    (Some(cmd1), Some(client)) if w.steps < MAX_HANDSHAKE_STEPS => {
                        w.steps += 1;
                        if let Ok(Opened {
                            incoming: Incoming::Reply(resp1),
                            ..
                        }) = w.request(me, c, "prov-session", &cmd1)
                        {
                            let _ = client.handle_response(&resp1);
                        }
                    }
                    _ => {
                        let body = input.frame();
                        let _ = w.request(me, c, "prov-session", &body);
                    }
                }
            }
            5 => {
                let c = input.byte();
                let body = input.frame();
                let _ = w.request(me, c, "prov-session", &body);
            }
            6 => {
                let c = input.byte();
                let body = input.frame();
                let _ = w.request(me, c, "prov-config", &body);
            }
            7 => {
                let step = u64::from(input.byte()) * 100;
                w.now = w.now + Duration::from_millis(step);
                w.device.handle_timeout(w.now);
            }
            _ => {
                // Hold a handshake out as a job, or finish / drop the oldest one held.
                let c = input.byte();
                if c & 1 == 0 && w.held.len() < 2 && w.steps < MAX_HANDSHAKE_STEPS {
                    w.steps += 1;
                    let security = ClientSecurity::Sec1 {
                        pop: Some(Secret::from("wrong-pop")),
                    };
                    if let Ok((_, cmd0)) = ClientHandshake::start(security, &mut client_rng) {
                        let (claim, foreign) = w.claim(me, c >> 1);
                        let origin = Origin::new(w.conns[me].id, claim);
                        match w.device.begin_request(w.now, origin, "prov-session", &cmd0) {
                            Ok(Opened {
                                incoming: Incoming::Handshake(job),
                                session,
                            }) => {
                                assert!(!foreign || Some(session) != claim);
                                w.held.push(job);
                            }
                            Ok(_) => panic!("a security 1 Cmd0 is a job"),
                            Err(_) => {}
                        }
                    }
                } else if !w.held.is_empty() {
                    let job = w.held.remove(0);
                    if c & 2 == 0 {
                        let done = job.run(&mut w.rng);
                        let result = w.device.commit_handshake(w.now, done);
                        if let Err(Error::AuthenticationFailed) = result {
                            w.failures += 1;
                        }
                    } else {
                        w.device.abandon_handshake(job);
                    }
                }
            }
        }
        w.invariants();
    }
});
