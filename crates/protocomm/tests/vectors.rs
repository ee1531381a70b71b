//! Replays the shared esp_prov transcripts (`testdata/vectors/protocomm/sec*.json`) in both
//! roles with the recorded randomness injected. Every handshake message and every encrypted
//! application message must match byte for byte, in order; this also checks that the security 1
//! keystream continues across messages and directions and that security 2 counts its nonces.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{ScriptedRng, field, hex, load, os_rng};
use protocomm::*;
use serde_json::Value;

struct Scenario {
    file: &'static str,
    device: Security,
    client: ClientSecurity,
    device_rng: ScriptedRng,
    client_rng: ScriptedRng,
}

fn scenario(file: &'static str) -> Scenario {
    let v = load(file);
    let inputs = &v["inputs"];
    let mut device_rng = ScriptedRng::new();
    let mut client_rng = ScriptedRng::new();
    let (device, client) = match v["scheme"].as_str().unwrap() {
        s if s.contains('0') && !s.contains('2') && !s.contains('1') => {
            (Security::Sec0, ClientSecurity::Sec0)
        }
        _ if file == "sec1.json" => {
            let pop = Secret::from(inputs["pop"].as_str().unwrap());
            device_rng
                .push(&hex(&inputs["device_x25519_private_key"]))
                .push(&hex(&inputs["device_random"]));
            client_rng.push(&hex(&inputs["client_x25519_private_key"]));
            (
                Security::Sec1 {
                    pop: Some(pop.clone()),
                },
                ClientSecurity::Sec1 { pop: Some(pop) },
            )
        }
        _ => {
            let patch = inputs["sec_patch_ver"].as_u64().unwrap() as u32;
            let credentials =
                Sec2Credentials::new(hex(&inputs["salt"]), hex(&inputs["verifier"])).unwrap();
            device_rng
                .push(&hex(field(inputs, "device_b")))
                .push(&hex(field(inputs, "device_nonce_random_prefix")));
            client_rng.push(&hex(field(inputs, "client_os_urandom_32_for_a")));
            (
                Security::Sec2 { credentials, patch },
                ClientSecurity::Sec2 {
                    username: inputs["username"].as_str().unwrap().as_bytes().to_vec(),
                    password: Secret::from(inputs["password"].as_str().unwrap()),
                    patch,
                },
            )
        }
    };
    Scenario {
        file,
        device,
        client,
        device_rng,
        client_rng,
    }
}

/// `(endpoint, request, response)` triples of a transcript section.
fn exchanges(messages: &Value, key: &str) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let list = messages.as_array().unwrap();
    assert_eq!(list.len() % 2, 0);
    list.chunks(2)
        .map(|pair| {
            assert_eq!(pair[0]["direction"], "client->device");
            assert_eq!(pair[1]["direction"], "device->client");
            assert_eq!(pair[0]["endpoint"], pair[1]["endpoint"]);
            (
                pair[0]["endpoint"].as_str().unwrap().to_string(),
                hex(&pair[0][key]),
                hex(&pair[1][key]),
            )
        })
        .collect()
}

/// The application handler of the replayed device: answers each plaintext request with the
/// recorded plaintext response, checking the request on the way.
struct Recorded {
    expected: std::collections::VecDeque<(String, Vec<u8>, Vec<u8>)>,
}

impl EndpointHandler for Recorded {
    fn handle(
        &mut self,
        _: SessionId,
        endpoint: &str,
        request: &[u8],
    ) -> Result<Vec<u8>, HandlerError> {
        let (ep, req, resp) = self
            .expected
            .pop_front()
            .expect("more requests than recorded");
        assert_eq!(endpoint, ep);
        assert_eq!(
            hex::encode(request),
            hex::encode(&req),
            "decrypted request on {ep}"
        );
        Ok(resp)
    }
}

fn no_app(_: SessionId, ep: &str, _: &[u8]) -> Result<Vec<u8>, HandlerError> {
    panic!("handshake reached the application handler on {ep}")
}

fn replay_device(mut s: Scenario) {
    let v = load(s.file);
    let mut device = Device::new(DeviceConfig::new(s.device.clone())).unwrap();
    device.register_endpoint("custom-data").unwrap();
    // The connection's session id is drawn from another generator: the recorded randomness
    // is the handshake's alone.
    let sid = device.connect(&mut os_rng());
    let now = Instant::ZERO;
    // proto-ver: the device answers with the recorded document whatever the request says.
    assert_eq!(
        std::str::from_utf8(device.version_json()).unwrap(),
        v["proto_ver_json"].as_str().unwrap()
    );
    for (ep, req, resp) in exchanges(&v["session_transcript"], "hex") {
        let got = device
            .handle_request(now, sid, &ep, &req, &mut s.device_rng, &mut no_app)
            .unwrap();
        assert_eq!(
            hex::encode(&got),
            hex::encode(&resp),
            "{}: device response on {ep}",
            s.file
        );
    }
    assert!(
        s.device_rng.is_empty(),
        "{}: device did not use all recorded randomness",
        s.file
    );
    let app = exchanges(&v["application_transcript"], "plaintext_hex");
    let wire = exchanges(&v["application_transcript"], "ciphertext_hex");
    let mut handler = Recorded {
        expected: app.into_iter().collect(),
    };
    for (ep, req, resp) in wire {
        let got = device
            .handle_request(now, sid, &ep, &req, &mut s.device_rng, &mut handler)
            .unwrap();
        assert_eq!(
            hex::encode(&got),
            hex::encode(&resp),
            "{}: encrypted response on {ep}",
            s.file
        );
    }
    assert!(handler.expected.is_empty());
}

fn replay_client(mut s: Scenario) {
    let v = load(s.file);
    let session: Vec<_> = exchanges(&v["session_transcript"], "hex")
        .into_iter()
        .filter(|(ep, ..)| ep == "prov-session")
        .collect();
    let mut steps = session.into_iter();
    let (first_req, mut response) = {
        let (_, req, resp) = steps.next().unwrap();
        (req, resp)
    };
    let (mut handshake, request) =
        ClientHandshake::start(s.client.clone(), &mut s.client_rng).unwrap();
    assert_eq!(
        hex::encode(&request),
        hex::encode(&first_req),
        "{}: client Cmd0",
        s.file
    );
    let mut client = loop {
        match handshake.handle_response(&response).unwrap() {
            HandshakeStep::Send(next, request) => {
                let (_, expected, resp) = steps
                    .next()
                    .expect("client sent more handshake messages than recorded");
                assert_eq!(
                    hex::encode(&request),
                    hex::encode(&expected),
                    "{}: client handshake message",
                    s.file
                );
                handshake = next;
                response = resp;
            }
            HandshakeStep::Done(session) => break session,
        }
    };
    assert!(steps.next().is_none(), "{}: client finished early", s.file);
    assert!(s.client_rng.is_empty());
    let plain = exchanges(&v["application_transcript"], "plaintext_hex");
    let wire = exchanges(&v["application_transcript"], "ciphertext_hex");
    for ((ep, p_req, p_resp), (_, c_req, c_resp)) in plain.iter().zip(&wire) {
        assert_eq!(
            hex::encode(client.encrypt(p_req).unwrap()),
            hex::encode(c_req),
            "{}: request on {ep}",
            s.file
        );
        assert_eq!(
            hex::encode(client.decrypt(c_resp).unwrap()),
            hex::encode(p_resp),
            "{}: response on {ep}",
            s.file
        );
    }
}

const FILES: [&str; 4] = [
    "sec0.json",
    "sec1.json",
    "sec2_patch0.json",
    "sec2_patch1.json",
];

#[test]
fn device_role_reproduces_every_vector_byte() {
    for file in FILES {
        replay_device(scenario(file));
    }
}

#[test]
fn client_role_reproduces_every_vector_byte() {
    for file in FILES {
        replay_client(scenario(file));
    }
}

#[test]
fn client_understands_every_recorded_proto_ver() {
    for file in FILES {
        let v = load(file);
        let peer = PeerVersion::parse(v["proto_ver_json"].as_str().unwrap().as_bytes());
        assert!(peer.is_json);
        assert_eq!(peer.version.as_deref(), Some("v1.1"));
        let scheme = scenario(file);
        assert_eq!(peer.security(), scheme.device.version());
        assert_eq!(peer.sec_patch_ver, scheme.device.patch_version());
    }
}

#[test]
fn verifier_generation_reproduces_the_vectors() {
    for file in ["sec2_patch0.json", "sec2_patch1.json"] {
        let inputs = &load(file)["inputs"];
        let salt = hex(&inputs["salt"]);
        let mut rng = ScriptedRng::new();
        rng.push(&salt);
        let creds = Sec2Credentials::generate_with(
            inputs["username"].as_str().unwrap().as_bytes(),
            &Secret::from(inputs["password"].as_str().unwrap()),
            VerifierOptions::default(),
            &mut rng,
        )
        .unwrap();
        assert_eq!(creds.salt(), salt.as_slice());
        assert_eq!(
            hex::encode(creds.verifier().expose()),
            inputs["verifier"].as_str().unwrap()
        );
    }
}

/// Spec §15.2: the ESP-IDF example's hard-coded salt and verifier for wifiprov / abcd1234.
#[test]
fn example_firmware_verifier() {
    let salt = hex::decode("036ee0c7bcb9eda84c9eac97d93decf4").unwrap();
    let mut rng = ScriptedRng::new();
    rng.push(&salt);
    let creds =
        Sec2Credentials::generate(b"wifiprov", &Secret::from("abcd1234"), &mut rng).unwrap();
    assert!(
        hex::encode(creds.verifier().expose())
            .starts_with("7c7c85476508946dd636af37d7e8914378cffd616c59d2f83908127238de9e24")
    );
    assert!(
        hex::encode(creds.verifier().expose())
            .ends_with("e71649ede8cf675a1e6f653c831a878de5040f762de36b2ba")
    );
}
