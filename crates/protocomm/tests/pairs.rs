//! Random client ⇄ device pairs for every scheme: handshakes with random credentials, then
//! random application messages in both directions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::pair::{connect, device, handshake, roundtrip, sec1, sec2};
use common::{ScriptedRng, os_rng};
use proptest::prelude::*;
use protocomm::proto::{
    Message, sec2::sec2_payload::Payload, session::SessionData, session::session_data::Proto,
};
use protocomm::*;

const ENDPOINTS: [&str; 4] = ["prov-config", "prov-scan", "prov-ctrl", "custom-data"];

fn messages() -> impl Strategy<Value = Vec<(usize, Vec<u8>)>> {
    prop::collection::vec(
        (
            0..ENDPOINTS.len(),
            prop::collection::vec(any::<u8>(), 0..1500),
        ),
        1..8,
    )
}

fn exercise(security: (Security, ClientSecurity), msgs: &[(usize, Vec<u8>)]) {
    let (dev, cli) = security;
    let mut device = device(dev);
    let now = Instant::ZERO;
    let id = connect(&mut device);
    let mut client = handshake(&mut device, now, id, cli).unwrap();
    for (ep, msg) in msgs {
        roundtrip(&mut device, now, id, &mut client, ENDPOINTS[*ep], msg).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sec0_pairs(msgs in messages()) {
        exercise((Security::Sec0, ClientSecurity::Sec0), &msgs);
    }

    #[test]
    fn sec1_pairs(pop in proptest::option::of("[ -~]{0,64}"), msgs in messages()) {
        exercise(sec1(pop.as_deref()), &msgs);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sec2_pairs(user in "[a-z0-9_]{1,32}", password in "[ -~]{1,64}", patch in 0u32..2, msgs in messages()) {
        exercise(sec2(&user, &password, patch), &msgs);
    }
}

/// Several sessions interleaved on one device stay independent (each keeps its own keystream
/// or nonce counter).
#[test]
fn interleaved_sessions_are_independent() {
    for (dev, cli) in [sec1(Some("abcd1234")), sec2("wifiprov", "abcd1234", 1)] {
        let mut device = device(dev);
        let now = Instant::ZERO;
        let mut clients: Vec<_> = (0..4)
            .map(|_| {
                let id = connect(&mut device);
                (id, handshake(&mut device, now, id, cli.clone()).unwrap())
            })
            .collect();
        for round in 0..5u8 {
            for (id, client) in clients.iter_mut().rev() {
                roundtrip(&mut device, now, *id, client, "prov-config", &[round; 33]).unwrap();
            }
        }
    }
}

/// A client may handshake again on the same session at any time (ESP-IDF accepts Cmd0 in any
/// state); the old keys are gone afterwards.
#[test]
fn rehandshake_replaces_keys() {
    for (dev, cli) in [sec1(None), sec2("u", "p", 1)] {
        let mut device = device(dev);
        let now = Instant::ZERO;
        let id = connect(&mut device);
        let mut old = handshake(&mut device, now, id, cli.clone()).unwrap();
        let mut new = handshake(&mut device, now, id, cli).unwrap();
        roundtrip(&mut device, now, id, &mut new, "prov-scan", b"fresh").unwrap();
        // Security 1 cannot detect the stale stream (no MAC) but the bytes come out wrong;
        // security 2 refuses the message outright.
        match common::pair::exchange(&mut device, now, id, &mut old, "prov-scan", b"stale") {
            Ok(plain) => assert_ne!(plain, b"prov-scan:stale"),
            Err(e) => assert!(matches!(e, Error::DecryptFailed), "{e}"),
        }
    }
}

fn cmd0_pubkey(request: &[u8]) -> Vec<u8> {
    match SessionData::decode(request).unwrap().proto {
        Some(Proto::Sec2(p)) => match p.payload {
            Some(Payload::Sc0(c)) => c.client_pubkey,
            _ => panic!("not Cmd0"),
        },
        _ => panic!("not sec2"),
    }
}

/// The client re-draws `a` until `A` fills 384 bytes. The first scripted `a` below gives a
/// 383-byte `A` (found by search), which real firmware would reject.
#[test]
fn client_redraws_short_a() {
    let short_a =
        hex::decode("ae2f055412f788985a2d302793ad38128b889d5fd4d14255de12fb4a4f8cc1dc").unwrap();
    let good_a = [0x91u8; 32];
    let mut rng = ScriptedRng::new();
    rng.push(&short_a).push(&good_a);
    let (_, request) = ClientHandshake::start(
        ClientSecurity::Sec2 {
            username: b"wifiprov".to_vec(),
            password: Secret::from("abcd1234"),
            patch: 1,
        },
        &mut rng,
    )
    .unwrap();
    assert!(rng.is_empty(), "the short A must have been re-drawn");
    let a_pub = cmd0_pubkey(&request);
    assert_eq!(a_pub.len(), 384);
    assert_ne!(a_pub[0], 0);
}

/// 10,000 fresh client handshakes: `A` is always exactly 384 bytes.
#[test]
fn a_is_always_384_bytes() {
    let mut rng = os_rng();
    for _ in 0..10_000 {
        let (_, request) = ClientHandshake::start(
            ClientSecurity::Sec2 {
                username: b"u".to_vec(),
                password: Secret::from("p"),
                patch: 1,
            },
            &mut rng,
        )
        .unwrap();
        let a_pub = cmd0_pubkey(&request);
        assert_eq!(a_pub.len(), 384);
        assert_ne!(a_pub[0], 0);
    }
}

/// esp_prov-style clients send `A` in minimal form; the device accepts a 383-byte `A` and
/// hashes the received bytes in M and HAMK, so such a client still authenticates.
#[test]
fn device_accepts_short_a_like_esp_prov_sends() {
    use sha2::Sha512;
    use srp::ClientG3072;
    let (dev, _) = sec2("wifiprov", "abcd1234", 1);
    let mut device = device(dev);
    let short_a =
        hex::decode("ae2f055412f788985a2d302793ad38128b889d5fd4d14255de12fb4a4f8cc1dc").unwrap();
    let client = ClientG3072::<Sha512>::new();
    let a_pub = client.compute_public_ephemeral(&short_a);
    assert_eq!(a_pub.len(), 383);
    let now = Instant::ZERO;
    let id = connect(&mut device);
    let mut rng = os_rng();
    let cmd0 = protocomm::proto::session::SessionData {
        sec_ver: 2,
        proto: Some(Proto::Sec2(protocomm::proto::sec2::Sec2Payload {
            msg: 0,
            payload: Some(Payload::Sc0(protocomm::proto::sec2::S2SessionCmd0 {
                client_username: b"wifiprov".to_vec(),
                client_pubkey: a_pub.clone(),
            })),
        })),
    };
    let resp0 = device
        .handle_request(
            now,
            id,
            "prov-session",
            &cmd0.encode_to_vec(),
            &mut rng,
            &mut common::pair::echo,
        )
        .unwrap();
    let Some(Proto::Sec2(p)) = SessionData::decode(resp0.as_slice()).unwrap().proto else {
        panic!()
    };
    let Some(Payload::Sr0(sr0)) = p.payload else {
        panic!()
    };
    let verifier = client
        .process_reply(
            &short_a,
            b"wifiprov",
            b"abcd1234",
            &sr0.device_salt,
            &sr0.device_pubkey,
        )
        .unwrap();
    let cmd1 = protocomm::proto::session::SessionData {
        sec_ver: 2,
        proto: Some(Proto::Sec2(protocomm::proto::sec2::Sec2Payload {
            msg: 2,
            payload: Some(Payload::Sc1(protocomm::proto::sec2::S2SessionCmd1 {
                client_proof: verifier.proof().to_vec(),
            })),
        })),
    };
    let resp1 = device
        .handle_request(
            now,
            id,
            "prov-session",
            &cmd1.encode_to_vec(),
            &mut rng,
            &mut common::pair::echo,
        )
        .unwrap();
    let Some(Proto::Sec2(p)) = SessionData::decode(resp1.as_slice()).unwrap().proto else {
        panic!()
    };
    let Some(Payload::Sr1(sr1)) = p.payload else {
        panic!()
    };
    assert!(verifier.verify_server(&sr1.device_proof).is_ok());
    assert!(common::pair::established(&device, id));
}

/// The verifier generator refuses credentials esp_prov would hash differently, unless told
/// otherwise, and never produces a salt starting with 0x00.
#[test]
fn verifier_generator_avoids_leading_zero_hazards() {
    // SHA-512("wifiprov:pw69") starts with 0x00 (found by search).
    let err =
        Sec2Credentials::generate(b"wifiprov", &Secret::from("pw69"), &mut os_rng()).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)));
    assert!(protocomm::security::srp::identity_hash_starts_with_zero(
        b"wifiprov",
        &Secret::from("pw69")
    ));
    let allowed = Sec2Credentials::generate_with(
        b"wifiprov",
        &Secret::from("pw69"),
        VerifierOptions {
            allow_esp_prov_incompatible: true,
            ..Default::default()
        },
        &mut os_rng(),
    );
    assert!(allowed.is_ok());

    let mut rng = ScriptedRng::new();
    let mut zero_first = [0x55u8; 16];
    zero_first[0] = 0;
    rng.push(&zero_first).push(&[0x66u8; 16]);
    let creds =
        Sec2Credentials::generate(b"wifiprov", &Secret::from("abcd1234"), &mut rng).unwrap();
    assert_eq!(creds.salt(), &[0x66u8; 16]);

    let mut rng = ScriptedRng::new();
    rng.push(&[0x77u8; 32]);
    let long = Sec2Credentials::generate_with(
        b"wifiprov",
        &Secret::from("abcd1234"),
        VerifierOptions {
            salt_len: 32,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    assert_eq!(long.salt().len(), 32);
}
