//! The brute-force guard and the split handshake through the device: failures count against
//! their source only, and a handshake computed away from the device leaves everything else
//! answering.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::os_rng;
use common::pair::{device, echo, handshake, roundtrip, sec1, sec2};
use protocomm::*;

fn from(d: &mut Device, last: u8) -> ConnectionId {
    let ip = IpAddr::V4(Ipv4Addr::new(192, 168, 4, last));
    d.connect_from(&mut os_rng(), Source::ip(ip))
}

#[test]
fn a_guesser_is_throttled_alone() {
    for (dev, cli) in [sec1(Some("abcd1234")), sec2("wifiprov", "abcd1234", 1)] {
        let mut d = device(dev);
        let wrong = match &cli {
            ClientSecurity::Sec2 {
                username, patch, ..
            } => ClientSecurity::Sec2 {
                username: username.clone(),
                password: Secret::from("guess"),
                patch: *patch,
            },
            _ => ClientSecurity::Sec1 {
                pop: Some(Secret::from("guess")),
            },
        };
        let at = Instant::from_millis;
        for _ in 0..5 {
            let c = from(&mut d, 2);
            let err = handshake(&mut d, at(0), c, wrong.clone()).unwrap_err();
            assert!(matches!(err, Error::AuthenticationFailed), "{err}");
        }
        let attacker = Source::ip(IpAddr::V4(Ipv4Addr::new(192, 168, 4, 2)));
        assert_eq!(d.throttle().failures(attacker), 5);
        // The guesser now waits, even with the right secret...
        let c = from(&mut d, 2);
        assert!(matches!(
            handshake(&mut d, at(10), c, cli.clone()),
            Err(Error::Throttled { .. })
        ));
        // ...while a newcomer from another address gets in at once.
        let c = from(&mut d, 3);
        let mut s = handshake(&mut d, at(10), c, cli.clone()).unwrap();
        roundtrip(&mut d, at(10), c, &mut s, "prov-config", b"hello").unwrap();
    }
}

#[test]
fn a_handshake_being_computed_holds_nothing_else_up() {
    for (dev, cli) in [sec1(Some("abcd1234")), sec2("wifiprov", "abcd1234", 1)] {
        let mut d = device(dev);
        let now = Instant::ZERO;
        let by = from(&mut d, 1);
        let mut bystander = handshake(&mut d, now, by, cli.clone()).unwrap();

        let c = from(&mut d, 2);
        let mut rng = os_rng();
        let (hs, cmd0) = ClientHandshake::start(cli.clone(), &mut rng).unwrap();
        let Opened {
            incoming: Incoming::Handshake(job),
            ..
        } = d.begin_request(now, c, "prov-session", &cmd0).unwrap()
        else {
            panic!("a Cmd0 is a job")
        };
        assert!(job.is_start());
        // While it runs: proto-ver and the established session answer.
        let version = d
            .handle_request(now, c, "proto-ver", b"---", &mut rng, &mut echo)
            .unwrap();
        assert_eq!(version, d.version_json());
        roundtrip(&mut d, now, by, &mut bystander, "prov-config", b"x").unwrap();
        let done = job.run(&mut rng);
        let Incoming::Reply(resp0) = d.commit_handshake(now, done).unwrap().incoming else {
            panic!("a committed job gives a reply")
        };
        let HandshakeStep::Send(hs, cmd1) = hs.handle_response(&resp0).unwrap() else {
            panic!("two steps")
        };
        // The Cmd1 is a job too; the session is busy until it is committed.
        let Opened {
            incoming: Incoming::Handshake(job),
            session,
        } = d.begin_request(now, c, "prov-session", &cmd1).unwrap()
        else {
            panic!("a Cmd1 is a job")
        };
        assert!(matches!(
            d.begin_request(now, c, "prov-session", &cmd1),
            Err(Error::SessionBusy(s)) if s == session
        ));
        assert!(matches!(
            d.begin_request(now, c, "prov-session", &cmd0),
            Err(Error::SessionBusy(_))
        ));
        // Abandoned, the handshake is as it was and can still finish.
        d.abandon_handshake(job);
        let resp1 = d
            .handle_request(now, c, "prov-session", &cmd1, &mut rng, &mut echo)
            .unwrap();
        let HandshakeStep::Done(mut s) = hs.handle_response(&resp1).unwrap() else {
            panic!("done")
        };
        roundtrip(&mut d, now, c, &mut s, "prov-config", b"y").unwrap();
    }
}
