//! Bad input and bad credentials: every case gives a typed error and leaves the other
//! sessions of the device working.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::time::Duration;

use common::os_rng;
use common::pair::{connect, device, echo, established, handshake, roundtrip, sec1, sec2};
use protocomm::proto::Message;
use protocomm::proto::session::{SessionData, session_data::Proto};
use protocomm::proto::{sec1 as p1, sec2 as p2};
use protocomm::*;

/// A connection with an established session, which nothing else may disturb.
type Bystander = (ConnectionId, ClientSession);

/// A device with one established bystander session, for each scheme with keys.
fn setups() -> Vec<(&'static str, Device, Bystander, ClientSecurity)> {
    let mut out = Vec::new();
    for (name, (dev, cli)) in [
        ("sec1", sec1(Some("abcd1234"))),
        ("sec1-nopop", sec1(None)),
        ("sec2-patch1", sec2("wifiprov", "abcd1234", 1)),
        ("sec2-patch0", sec2("wifiprov", "abcd1234", 0)),
    ] {
        let mut d = device(dev);
        let by = connect(&mut d);
        let bystander = handshake(&mut d, Instant::ZERO, by, cli.clone()).unwrap();
        out.push((name, d, (by, bystander), cli));
    }
    out
}

fn bystander_still_works(name: &str, d: &mut Device, c: &mut Bystander, now: Instant) {
    roundtrip(d, now, c.0, &mut c.1, "prov-config", b"still here")
        .unwrap_or_else(|e| panic!("{name}: bystander broken: {e}"));
}

fn send(d: &mut Device, id: impl Into<Origin>, ep: &str, body: &[u8]) -> Result<Vec<u8>> {
    d.handle_request(Instant::ZERO, id, ep, body, &mut os_rng(), &mut echo)
}

fn wrong_credentials(cli: &ClientSecurity) -> Vec<ClientSecurity> {
    match cli {
        ClientSecurity::Sec1 { pop: Some(_) } => vec![
            ClientSecurity::Sec1 {
                pop: Some(Secret::from("abcd1235")),
            },
            ClientSecurity::Sec1 { pop: None },
        ],
        ClientSecurity::Sec1 { pop: None } => vec![ClientSecurity::Sec1 {
            pop: Some(Secret::from("unexpected")),
        }],
        ClientSecurity::Sec2 {
            username, patch, ..
        } => vec![
            ClientSecurity::Sec2 {
                username: username.clone(),
                password: Secret::from("abcd1235"),
                patch: *patch,
            },
            ClientSecurity::Sec2 {
                username: b"intruder".to_vec(),
                password: Secret::from("abcd1234"),
                patch: *patch,
            },
        ],
        ClientSecurity::Sec0 => vec![],
    }
}

#[test]
fn wrong_pop_or_password_is_an_authentication_failure() {
    for (name, mut d, mut c, cli) in setups() {
        for wrong in wrong_credentials(&cli) {
            let id = connect(&mut d);
            let err = handshake(&mut d, Instant::ZERO, id, wrong).unwrap_err();
            assert!(matches!(err, Error::AuthenticationFailed), "{name}: {err}");
            assert_eq!(err.fault(), Fault::Crypto);
            assert!(!established(&d, id));
            // The failed handshake is spent: application traffic is refused.
            assert!(matches!(
                send(&mut d, id, "prov-config", b"x"),
                Err(Error::SessionNotEstablished(_))
            ));
        }
        bystander_still_works(name, &mut d, &mut c, Instant::ZERO);
    }
}

#[test]
fn brute_force_is_throttled_with_backoff() {
    let (dev, cli) = sec1(Some("abcd1234"));
    let mut d = device(dev);
    let by = connect(&mut d);
    let mut bystander = (
        by,
        handshake(&mut d, Instant::ZERO, by, cli.clone()).unwrap(),
    );
    let wrong = ClientSecurity::Sec1 {
        pop: Some(Secret::from("guess")),
    };
    let at = Instant::from_millis;
    for _ in 0..5 {
        let id = connect(&mut d);
        let err = handshake(&mut d, at(0), id, wrong.clone()).unwrap_err();
        assert!(matches!(err, Error::AuthenticationFailed));
    }
    assert_eq!(d.throttle().failures(Source::Local), 5);
    // Even the right PoP is refused while paused.
    let id = connect(&mut d);
    match handshake(&mut d, at(500), id, cli.clone()).unwrap_err() {
        Error::Throttled { retry_after } => assert_eq!(retry_after, Duration::from_millis(500)),
        e => panic!("{e}"),
    }
    // Established sessions keep working.
    bystander_still_works("sec1", &mut d, &mut bystander, at(500));
    // After the pause one more guess is allowed, and a failure doubles the pause.
    let ids: Vec<_> = (0..5).map(|_| connect(&mut d)).collect();
    assert!(matches!(
        handshake(&mut d, at(1000), ids[0], wrong.clone()),
        Err(Error::AuthenticationFailed)
    ));
    assert!(matches!(
        handshake(&mut d, at(2999), ids[1], cli.clone()),
        Err(Error::Throttled { .. })
    ));
    // A success resets the count.
    handshake(&mut d, at(3000), ids[2], cli.clone()).unwrap();
    assert_eq!(d.throttle().failures(Source::Local), 0);
    assert!(matches!(
        handshake(&mut d, at(3000), ids[3], wrong),
        Err(Error::AuthenticationFailed)
    ));
    handshake(&mut d, at(3000), ids[4], cli).unwrap();
}

#[test]
fn tampered_ciphertext_closes_a_gcm_session() {
    for (name, mut d, mut c, cli) in setups().into_iter().filter(|s| s.0.starts_with("sec2")) {
        let id = connect(&mut d);
        let mut victim = handshake(&mut d, Instant::ZERO, id, cli.clone()).unwrap();
        let mut wire = victim.encrypt(b"\x52\x00").unwrap();
        let last = wire.len() - 1;
        wire[last] ^= 0x80;
        let err = send(&mut d, id, "prov-config", &wire).unwrap_err();
        assert!(matches!(err, Error::DecryptFailed), "{name}: {err}");
        // The session is gone: the connection has to shake hands again.
        assert!(!established(&d, id));
        assert!(matches!(
            send(&mut d, id, "prov-config", &wire),
            Err(Error::SessionNotEstablished(_))
        ));
        // Too short to even hold a tag.
        let id2 = connect(&mut d);
        handshake(&mut d, Instant::ZERO, id2, cli).unwrap();
        assert!(matches!(
            send(&mut d, id2, "prov-config", &[1, 2, 3]),
            Err(Error::DecryptFailed)
        ));
        bystander_still_works(name, &mut d, &mut c, Instant::ZERO);
    }
}

#[test]
fn client_detects_a_forged_device_proof() {
    for (name, mut d, _, cli) in setups() {
        let mut rng = os_rng();
        let id = connect(&mut d);
        let (hs, req) = ClientHandshake::start(cli, &mut rng).unwrap();
        let resp0 = send(&mut d, id, "prov-session", &req).unwrap();
        let HandshakeStep::Send(hs, req) = hs.handle_response(&resp0).unwrap() else {
            panic!()
        };
        let mut resp1 = send(&mut d, id, "prov-session", &req).unwrap();
        // Flip a bit inside the device's verify token / proof (well past the headers).
        let at = resp1.len() - 20;
        resp1[at] ^= 1;
        let err = hs.handle_response(&resp1).unwrap_err();
        assert!(matches!(err, Error::DeviceNotVerified), "{name}: {err}");
    }
}

fn sec1_msg(msg: i32, payload: Option<p1::sec1_payload::Payload>) -> Vec<u8> {
    SessionData {
        sec_ver: 1,
        proto: Some(Proto::Sec1(p1::Sec1Payload { msg, payload })),
    }
    .encode_to_vec()
}

fn sec2_msg(msg: i32, payload: Option<p2::sec2_payload::Payload>) -> Vec<u8> {
    SessionData {
        sec_ver: 2,
        proto: Some(Proto::Sec2(p2::Sec2Payload { msg, payload })),
    }
    .encode_to_vec()
}

#[test]
fn handshake_steps_out_of_order_or_repeated() {
    for (name, mut d, mut c, cli) in setups() {
        let id = connect(&mut d);
        // Cmd1 first.
        let cmd1 = match d.security_version() {
            1 => sec1_msg(
                2,
                Some(p1::sec1_payload::Payload::Sc1(p1::SessionCmd1 {
                    client_verify_data: vec![0; 32],
                })),
            ),
            _ => sec2_msg(
                2,
                Some(p2::sec2_payload::Payload::Sc1(p2::S2SessionCmd1 {
                    client_proof: vec![0; 64],
                })),
            ),
        };
        assert!(
            matches!(
                send(&mut d, id, "prov-session", &cmd1),
                Err(Error::UnexpectedMessage { .. })
            ),
            "{name}"
        );
        // A response type sent to the device.
        let resp = match d.security_version() {
            1 => sec1_msg(
                1,
                Some(p1::sec1_payload::Payload::Sr0(p1::SessionResp0::default())),
            ),
            _ => sec2_msg(
                1,
                Some(p2::sec2_payload::Payload::Sr0(p2::S2SessionResp0::default())),
            ),
        };
        assert!(
            matches!(
                send(&mut d, id, "prov-session", &resp),
                Err(Error::UnexpectedMessage { .. })
            ),
            "{name}"
        );
        // msg says Cmd0 but the payload is absent.
        let empty = if d.security_version() == 1 {
            sec1_msg(0, None)
        } else {
            sec2_msg(0, None)
        };
        assert!(
            matches!(
                send(&mut d, id, "prov-session", &empty),
                Err(Error::MissingPayload { .. })
            ),
            "{name}"
        );
        // msg says Cmd1 but carries Cmd0.
        let mixed = match d.security_version() {
            1 => sec1_msg(
                2,
                Some(p1::sec1_payload::Payload::Sc0(p1::SessionCmd0 {
                    client_pubkey: vec![9; 32],
                })),
            ),
            _ => sec2_msg(
                2,
                Some(p2::sec2_payload::Payload::Sc0(p2::S2SessionCmd0 {
                    client_username: b"u".to_vec(),
                    client_pubkey: vec![9; 384],
                })),
            ),
        };
        assert!(
            matches!(
                send(&mut d, id, "prov-session", &mixed),
                Err(Error::UnexpectedMessage { .. })
            ),
            "{name}"
        );

        // Complete a handshake, then repeat its Cmd1: refused, session stays usable.
        let mut rng = os_rng();
        let (hs, req) = ClientHandshake::start(cli.clone(), &mut rng).unwrap();
        let resp0 = send(&mut d, id, "prov-session", &req).unwrap();
        let HandshakeStep::Send(hs, cmd1) = hs.handle_response(&resp0).unwrap() else {
            panic!()
        };
        let resp1 = send(&mut d, id, "prov-session", &cmd1).unwrap();
        let HandshakeStep::Done(mut session) = hs.handle_response(&resp1).unwrap() else {
            panic!()
        };
        assert!(
            matches!(
                send(&mut d, id, "prov-session", &cmd1),
                Err(Error::UnexpectedMessage { .. })
            ),
            "{name}"
        );
        roundtrip(&mut d, Instant::ZERO, id, &mut session, "prov-ctrl", b"ok").unwrap();
        bystander_still_works(name, &mut d, &mut c, Instant::ZERO);
    }
}

#[test]
fn truncated_garbage_and_mismatched_messages() {
    for (name, mut d, mut c, cli) in setups() {
        let id = connect(&mut d);
        let mut rng = os_rng();
        let (_, cmd0) = ClientHandshake::start(cli, &mut rng).unwrap();
        for cut in [1, cmd0.len() / 2, cmd0.len() - 1] {
            let err = send(&mut d, id, "prov-session", &cmd0[..cut]).unwrap_err();
            assert_eq!(err.fault(), Fault::Peer, "{name}: cut at {cut}: {err}");
        }
        for garbage in [
            &[0xffu8; 7][..],
            b"\x0a\xff\xff\xff\xff\x0f",
            b"hello world",
        ] {
            let err = send(&mut d, id, "prov-session", garbage).unwrap_err();
            assert_eq!(err.fault(), Fault::Peer, "{name}: {err}");
        }
        // Wrong scheme.
        let sec0 = SessionData {
            sec_ver: 0,
            proto: None,
        }
        .encode_to_vec();
        assert!(matches!(
            send(&mut d, id, "prov-session", &sec0),
            Err(Error::SchemeMismatch { .. })
        ));
        // Bad lengths.
        let bad = match d.security_version() {
            1 => sec1_msg(
                0,
                Some(p1::sec1_payload::Payload::Sc0(p1::SessionCmd0 {
                    client_pubkey: vec![9; 31],
                })),
            ),
            _ => sec2_msg(
                0,
                Some(p2::sec2_payload::Payload::Sc0(p2::S2SessionCmd0 {
                    client_username: b"u".to_vec(),
                    client_pubkey: vec![9; 385],
                })),
            ),
        };
        assert!(
            matches!(
                send(&mut d, id, "prov-session", &bad),
                Err(Error::BadLength { .. })
            ),
            "{name}"
        );
        // Application bytes on a session that never shook hands, and on an unknown one.
        assert!(matches!(
            send(&mut d, id, "prov-config", b"\x52\x00"),
            Err(Error::SessionNotEstablished(_))
        ));
        let stranger = connect(&mut d);
        let unknown = SessionId(d.session_of(stranger).unwrap().0.wrapping_add(1));
        assert!(matches!(
            send(&mut d, Origin::new(stranger, Some(unknown)), "prov-config", b"\x52\x00"),
            Err(Error::UnknownSession(s)) if s == unknown
        ));
        // Unknown endpoint.
        assert!(
            matches!(send(&mut d, id, "prov-nope", b"x"), Err(Error::UnknownEndpoint(ref n)) if n == "prov-nope")
        );
        bystander_still_works(name, &mut d, &mut c, Instant::ZERO);
    }
}

#[test]
fn srp_public_values_that_are_zero_mod_n_are_rejected() {
    let (dev, _) = sec2("wifiprov", "abcd1234", 1);
    let mut d = device(dev);
    let n = hex::decode(
        common::load("sec2_patch1.json")["derived"]["N"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let cmd0 = sec2_msg(
        0,
        Some(p2::sec2_payload::Payload::Sc0(p2::S2SessionCmd0 {
            client_username: b"u".to_vec(),
            client_pubkey: n,
        })),
    );
    let id = connect(&mut d);
    assert!(matches!(
        send(&mut d, id, "prov-session", &cmd0),
        Err(Error::IllegalPublicValue(_))
    ));
    let zero = sec2_msg(
        0,
        Some(p2::sec2_payload::Payload::Sc0(p2::S2SessionCmd0 {
            client_username: b"u".to_vec(),
            client_pubkey: vec![0; 384],
        })),
    );
    assert!(matches!(
        send(&mut d, id, "prov-session", &zero),
        Err(Error::IllegalPublicValue(_))
    ));
    // A low-order X25519 point (all zeros) is refused too.
    let (dev, _) = sec1(None);
    let mut d = device(dev);
    let low = sec1_msg(
        0,
        Some(p1::sec1_payload::Payload::Sc0(p1::SessionCmd0 {
            client_pubkey: vec![0; 32],
        })),
    );
    let id = connect(&mut d);
    assert!(matches!(
        send(&mut d, id, "prov-session", &low),
        Err(Error::IllegalPublicValue(_))
    ));
    // None of them took a slot.
    assert_eq!(d.session_count(), 0);
}

#[test]
fn oversized_requests_are_refused_everywhere() {
    for (name, mut d, mut c, _) in setups() {
        let id = connect(&mut d);
        for ep in [
            "proto-ver",
            "prov-session",
            "prov-config",
            "custom-data",
            "nonexistent",
        ] {
            assert!(
                matches!(
                    send(&mut d, id, ep, &vec![0; 4097]),
                    Err(Error::RequestTooLarge {
                        len: 4097,
                        limit: 4096
                    })
                ),
                "{name} {ep}"
            );
        }
        bystander_still_works(name, &mut d, &mut c, Instant::ZERO);
    }
}

#[test]
fn idle_sessions_expire() {
    for (name, mut d, mut c, cli) in setups() {
        let id = connect(&mut d);
        let mut s = handshake(&mut d, Instant::ZERO, id, cli).unwrap();
        let wire = s.encrypt(b"late").unwrap();
        let later = Instant::from_millis(60_000);
        let err = d
            .handle_request(later, id, "prov-config", &wire, &mut os_rng(), &mut echo)
            .unwrap_err();
        assert!(matches!(err, Error::SessionExpired(_)), "{name}: {err}");
        assert_eq!(err.fault(), Fault::Policy);
        // The bystander was idle as long: it expired too, which is the point of the timeout.
        assert!(matches!(
            roundtrip(&mut d, later, c.0, &mut c.1, "prov-config", b"x"),
            Err(Error::SessionExpired(_))
        ));
        assert_eq!(d.poll_timeout(), None);
    }
}

#[test]
fn session_table_is_bounded() {
    let (dev, cli) = sec1(Some("abcd1234"));
    let mut config = DeviceConfig::new(dev);
    config.limits.max_sessions = 2;
    let mut d = Device::new(config).unwrap();
    let [ia, ib, ic] = [(); 3].map(|()| connect(&mut d));
    let mut a = handshake(&mut d, Instant::ZERO, ia, cli.clone()).unwrap();
    let mut b = handshake(&mut d, Instant::ZERO, ib, cli.clone()).unwrap();
    assert!(matches!(
        handshake(&mut d, Instant::ZERO, ic, cli.clone()),
        Err(Error::TooManySessions { limit: 2 })
    ));
    roundtrip(&mut d, Instant::ZERO, ia, &mut a, "prov-config", b"a").unwrap();
    roundtrip(&mut d, Instant::ZERO, ib, &mut b, "prov-config", b"b").unwrap();
    d.disconnect(ib, AfterDisconnect::Close);
    assert_eq!(d.session_count(), 1);
    handshake(&mut d, Instant::ZERO, ic, cli).unwrap();
}

#[test]
fn handler_errors_keep_the_session_in_step() {
    for (name, mut d, mut c, _) in setups() {
        for fault in [Fault::Peer, Fault::Local] {
            let mut failing = |_: SessionId, _: &str, _: &[u8]| -> Result<Vec<u8>, HandlerError> {
                Err(HandlerError::new(fault, "bad protobuf"))
            };
            let wire = c.1.encrypt(b"\x08\x09").unwrap();
            let err = d
                .handle_request(
                    Instant::ZERO,
                    c.0,
                    "prov-ctrl",
                    &wire,
                    &mut os_rng(),
                    &mut failing,
                )
                .unwrap_err();
            assert!(
                matches!(&err, Error::Handler { endpoint, error }
                    if endpoint == "prov-ctrl" && error.reason() == "bad protobuf"),
                "{name}"
            );
            // The handler says whose fault it was, and the error keeps it.
            assert_eq!(err.fault(), fault, "{name}");
            // No response came back. The device consumed exactly what the client produced (the
            // request's keystream bytes, or one GCM nonce), so both sides are still in step.
            bystander_still_works(name, &mut d, &mut c, Instant::ZERO);
        }
    }
}

#[test]
fn custom_endpoints_are_validated() {
    let mut d = Device::new(DeviceConfig::new(Security::Sec0)).unwrap();
    assert_eq!(d.register_endpoint("custom-data").unwrap().uuid16, 0xff54);
    assert_eq!(d.register_endpoint("second").unwrap().uuid16, 0xff55);
    for bad in [
        "",
        "prov-config",
        "custom-data",
        "has space",
        "slash/y",
        &"x".repeat(33),
    ] {
        assert!(
            matches!(d.register_endpoint(bad), Err(Error::BadEndpointName { .. })),
            "{bad:?}"
        );
    }
    assert!(!d.unregister_endpoint("prov-scan"));
    assert!(d.unregister_endpoint("second"));
    let id = connect(&mut d);
    assert!(matches!(
        send(&mut d, id, "second", b"x"),
        Err(Error::UnknownEndpoint(_))
    ));
    assert_eq!(
        send(&mut d, id, "custom-data", b"x").unwrap(),
        b"custom-data:x"
    );
    let ids: Vec<_> = d
        .endpoints()
        .iter()
        .map(|e| (e.name.as_str(), e.uuid16))
        .collect();
    assert_eq!(
        ids,
        [
            ("prov-ctrl", 0xff4f),
            ("prov-scan", 0xff50),
            ("prov-session", 0xff51),
            ("prov-config", 0xff52),
            ("proto-ver", 0xff53),
            ("custom-data", 0xff54)
        ]
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let pop = "pop-SECRET-1234";
    let password = "pw-SECRET-5678";
    let (dev2, cli2) = sec2("wifiprov", password, 1);
    let (dev1, cli1) = sec1(Some(pop));
    let mut d1 = device(dev1.clone());
    let mut d2 = device(dev2.clone());
    let (i1, i2) = (connect(&mut d1), connect(&mut d2));
    let s1 = handshake(&mut d1, Instant::ZERO, i1, cli1.clone()).unwrap();
    let s2 = handshake(&mut d2, Instant::ZERO, i2, cli2.clone()).unwrap();
    let (hs, _) = ClientHandshake::start(cli2.clone(), &mut os_rng()).unwrap();
    let shown = format!(
        "{dev1:?} {cli1:?} {dev2:?} {cli2:?} {d1:?} {d2:?} {s1:?} {s2:?} {hs:?} {:#?}",
        Secret::from(pop)
    );
    for secret in [pop, password, "SECRET"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    let Security::Sec2 { credentials, .. } = &dev2 else {
        panic!()
    };
    let verifier_hex = hex::encode(credentials.verifier().expose());
    assert!(!shown.contains(&verifier_hex[..16]));
}

#[test]
fn security0_needs_no_session() {
    let mut d = device(Security::Sec0);
    let id = connect(&mut d);
    // Application endpoints work from any session without a handshake, even one that claims
    // a session that does not exist.
    assert_eq!(
        send(&mut d, id, "prov-config", b"\x52\x00").unwrap(),
        b"prov-config:\x52\x00"
    );
    assert_eq!(
        send(
            &mut d,
            Origin::new(id, Some(SessionId(9))),
            "prov-ctrl",
            b"x"
        )
        .unwrap(),
        b"prov-ctrl:x"
    );
    let mut c = handshake(&mut d, Instant::ZERO, id, ClientSecurity::Sec0).unwrap();
    roundtrip(&mut d, Instant::ZERO, id, &mut c, "prov-scan", b"plain").unwrap();
    // Many connections, and not one slot taken.
    for _ in 0..40 {
        let other = connect(&mut d);
        handshake(&mut d, Instant::ZERO, other, ClientSecurity::Sec0).unwrap();
    }
    assert_eq!(d.session_count(), 0);
    assert!(matches!(
        send(&mut d, id, "prov-session", &sec1_msg(0, None)),
        Err(Error::SchemeMismatch { .. })
    ));
}

#[test]
fn split_request_api_keeps_sessions_in_order() {
    for (name, mut d, mut c, _) in setups() {
        let mut rng = os_rng();
        let by = d.session_of(c.0).unwrap();
        let first = c.1.encrypt(b"first").unwrap();
        let Opened {
            session,
            incoming:
                Incoming::Request {
                    endpoint,
                    plaintext,
                },
        } = d
            .open_request(Instant::ZERO, c.0, "prov-scan", &first, &mut rng)
            .unwrap()
        else {
            panic!("{name}: expected a request")
        };
        assert_eq!(session, by);
        assert_eq!(
            (endpoint.as_str(), plaintext.as_slice()),
            ("prov-scan", &b"first"[..])
        );
        // A second request before the first is answered is refused without consuming anything.
        let early = vec![0u8; 40];
        assert!(
            matches!(
                d.open_request(Instant::ZERO, c.0, "prov-scan", &early, &mut rng),
                Err(Error::SessionBusy(_))
            ),
            "{name}"
        );
        let answer = d.seal_response(Instant::ZERO, by, b"answer").unwrap();
        assert_eq!(c.1.decrypt(&answer).unwrap(), b"answer");
        assert!(matches!(
            d.seal_response(Instant::ZERO, by, b"again"),
            Err(Error::NoPendingRequest(_))
        ));
        // Abandoning keeps both sides in step.
        let wire = c.1.encrypt(b"dropped").unwrap();
        d.open_request(Instant::ZERO, c.0, "prov-scan", &wire, &mut rng)
            .unwrap();
        d.abandon_request(by);
        bystander_still_works(name, &mut d, &mut c, Instant::ZERO);
        // proto-ver and prov-session are answered directly.
        let other = connect(&mut d);
        assert!(matches!(
            d.open_request(Instant::ZERO, other, "proto-ver", b"x", &mut rng),
            Ok(Opened { session, incoming: Incoming::Reply(_) }) if Some(session) == d.session_of(other)
        ));
    }
}
