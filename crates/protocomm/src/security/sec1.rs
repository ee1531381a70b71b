//! Security 1: X25519 key agreement, proof of possession, one AES-256-CTR keystream.
//!
//! ```text
//! client                                         device
//!   Cmd0  client_pubkey ───────────────────────►  draws key pair + device_random
//!                                                 key = X25519(dev, cli) XOR SHA-256(PoP)
//!        ◄───────────────── Resp0  device_pubkey, device_random
//!   Cmd1  CTR(device_pubkey), keystream 0..32 ─►  checks it (wrong PoP fails here)
//!        ◄───────────────── Resp1  CTR(client_pubkey), keystream 32..64
//!   application messages continue the same keystream from byte 64, in both directions
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use wifiprov_proto::sec1::{
    Sec1MsgType, Sec1Payload, SessionCmd0, SessionCmd1, SessionResp0, SessionResp1,
    sec1_payload::Payload,
};
use wifiprov_proto::session::session_data::Proto;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::{Command, expect_success, fixed, open_envelope, seal_envelope, sec1_payload};
use crate::cipher::CtrStream;
use crate::error::{Error, Result};
use crate::secret::{Secret, ct_eq};

/// Derives the CTR key: the shared secret, XORed with SHA-256(PoP) when a PoP is set.
fn session_key(
    secret: &StaticSecret,
    peer: &[u8; 32],
    pop: Option<&Secret>,
) -> Result<Zeroizing<[u8; 32]>> {
    let shared = secret.diffie_hellman(&PublicKey::from(*peer));
    if !shared.was_contributory() {
        return Err(Error::IllegalPublicValue("X25519 public key of low order"));
    }
    let mut key = Zeroizing::new(*shared.as_bytes());
    if let Some(pop) = pop.filter(|p| !p.is_empty()) {
        let digest = Sha256::digest(pop.expose());
        for (k, d) in key.iter_mut().zip(digest.iter()) {
            *k ^= d;
        }
    }
    Ok(key)
}

fn payload_msg(msg: Sec1MsgType, payload: Payload) -> Vec<u8> {
    seal_envelope(Proto::Sec1(Sec1Payload {
        msg: msg as i32,
        payload: Some(payload),
    }))
}

/// Device-side state of one security 1 session.
#[derive(Default)]
pub(crate) enum Sec1Device {
    /// Waiting for `Cmd0`.
    #[default]
    ExpectCmd0,
    /// `Resp0` sent, waiting for the client's verify token.
    ExpectCmd1(Box<Sec1ExpectCmd1>),
    /// Handshake complete.
    Established(CtrStream),
}

pub(crate) struct Sec1ExpectCmd1 {
    client_pub: [u8; 32],
    device_pub: [u8; 32],
    key: Zeroizing<[u8; 32]>,
    device_random: [u8; 16],
}

impl fmt::Debug for Sec1Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sec1Device::ExpectCmd0 => "Sec1Device::ExpectCmd0",
            Sec1Device::ExpectCmd1(_) => "Sec1Device::ExpectCmd1",
            Sec1Device::Established(_) => "Sec1Device::Established",
        })
    }
}

/// Decodes a client handshake message far enough to tell `Cmd0` from `Cmd1`, with the errors
/// [`Sec1Device::handle`] gives for anything else.
pub(crate) fn classify(request: &[u8]) -> Result<Command> {
    let payload = sec1_payload(open_envelope(request, 1)?)?;
    match (payload.msg, payload.payload) {
        (m, Some(Payload::Sc0(_))) if m == Sec1MsgType::SessionCommand0 as i32 => {
            Ok(Command::Start)
        }
        (m, Some(Payload::Sc1(_))) if m == Sec1MsgType::SessionCommand1 as i32 => {
            Ok(Command::Finish)
        }
        (m, Some(_)) => Err(Error::UnexpectedMessage {
            expected: "Session_Command0 or Session_Command1",
            got: m,
        }),
        (m, None) => Err(Error::MissingPayload { msg: m }),
    }
}

impl Sec1Device {
    /// Handles one `prov-session` request. `Cmd0` restarts the handshake from any state; a
    /// `Cmd1` that fails leaves the state as it was.
    pub(crate) fn handle(
        &mut self,
        request: &[u8],
        pop: Option<&Secret>,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Vec<u8>> {
        let payload = sec1_payload(open_envelope(request, 1)?)?;
        match (payload.msg, payload.payload) {
            (m, Some(Payload::Sc0(cmd0))) if m == Sec1MsgType::SessionCommand0 as i32 => {
                *self = Sec1Device::ExpectCmd0;
                let client_pub = fixed::<32>("client_pubkey", &cmd0.client_pubkey)?;
                let mut private = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(private.as_mut());
                let secret = StaticSecret::from(*private);
                let device_pub = PublicKey::from(&secret).to_bytes();
                let key = session_key(&secret, &client_pub, pop)?;
                let mut device_random = [0u8; 16];
                rng.fill_bytes(&mut device_random);
                *self = Sec1Device::ExpectCmd1(Box::new(Sec1ExpectCmd1 {
                    client_pub,
                    device_pub,
                    key,
                    device_random,
                }));
                Ok(payload_msg(
                    Sec1MsgType::SessionResponse0,
                    Payload::Sr0(SessionResp0 {
                        status: 0,
                        device_pubkey: device_pub.to_vec(),
                        device_random: device_random.to_vec(),
                    }),
                ))
            }
            (m, Some(Payload::Sc1(cmd1))) if m == Sec1MsgType::SessionCommand1 as i32 => {
                let Sec1Device::ExpectCmd1(state) = self else {
                    return Err(Error::UnexpectedMessage {
                        expected: "Session_Command0",
                        got: m,
                    });
                };
                let mut token = fixed::<32>("client_verify_data", &cmd1.client_verify_data)?;
                let mut stream = CtrStream::new(&state.key, &state.device_random);
                stream.apply(&mut token);
                if !ct_eq(&token, &state.device_pub) {
                    // The state is left as it was; the device decides whether the handshake
                    // is spent (it is, for the session's own connection).
                    return Err(Error::AuthenticationFailed);
                }
                let mut device_verify = state.client_pub;
                stream.apply(&mut device_verify);
                *self = Sec1Device::Established(stream);
                Ok(payload_msg(
                    Sec1MsgType::SessionResponse1,
                    Payload::Sr1(SessionResp1 {
                        status: 0,
                        device_verify_data: device_verify.to_vec(),
                    }),
                ))
            }
            (m, Some(_)) => Err(Error::UnexpectedMessage {
                expected: "Session_Command0 or Session_Command1",
                got: m,
            }),
            (m, None) => Err(Error::MissingPayload { msg: m }),
        }
    }
}

/// Client role, step 1: draws a key pair and builds `Cmd0`.
pub(crate) fn client_start(
    pop: Option<Secret>,
    rng: &mut (impl CryptoRng + ?Sized),
) -> (Sec1ClientExpectResp0, Vec<u8>) {
    let mut private = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(private.as_mut());
    let secret = StaticSecret::from(*private);
    let client_pub = PublicKey::from(&secret).to_bytes();
    let request = payload_msg(
        Sec1MsgType::SessionCommand0,
        Payload::Sc0(SessionCmd0 {
            client_pubkey: client_pub.to_vec(),
        }),
    );
    (
        Sec1ClientExpectResp0 {
            secret,
            client_pub,
            pop,
        },
        request,
    )
}

/// Client waiting for `Resp0`.
pub(crate) struct Sec1ClientExpectResp0 {
    secret: StaticSecret,
    client_pub: [u8; 32],
    pop: Option<Secret>,
}

/// Client waiting for `Resp1`.
pub(crate) struct Sec1ClientExpectResp1 {
    stream: CtrStream,
    client_pub: [u8; 32],
}

impl Sec1ClientExpectResp0 {
    /// Step 2: checks `Resp0`, derives the key and builds `Cmd1`.
    pub(crate) fn handle(self, response: &[u8]) -> Result<(Sec1ClientExpectResp1, Vec<u8>)> {
        let payload = sec1_payload(open_envelope(response, 1)?)?;
        let resp0 = match (payload.msg, payload.payload) {
            (m, Some(Payload::Sr0(r))) if m == Sec1MsgType::SessionResponse0 as i32 => r,
            (m, _) => {
                return Err(Error::UnexpectedMessage {
                    expected: "Session_Response0",
                    got: m,
                });
            }
        };
        expect_success(resp0.status)?;
        let device_pub = fixed::<32>("device_pubkey", &resp0.device_pubkey)?;
        let device_random = fixed::<16>("device_random", &resp0.device_random)?;
        let key = session_key(&self.secret, &device_pub, self.pop.as_ref())?;
        let mut stream = CtrStream::new(&key, &device_random);
        let mut token = device_pub;
        stream.apply(&mut token);
        let request = payload_msg(
            Sec1MsgType::SessionCommand1,
            Payload::Sc1(SessionCmd1 {
                client_verify_data: token.to_vec(),
            }),
        );
        Ok((
            Sec1ClientExpectResp1 {
                stream,
                client_pub: self.client_pub,
            },
            request,
        ))
    }
}

impl Sec1ClientExpectResp1 {
    /// Step 3: checks the device's token and returns the application keystream.
    pub(crate) fn handle(mut self, response: &[u8]) -> Result<CtrStream> {
        let payload = sec1_payload(open_envelope(response, 1)?)?;
        let resp1 = match (payload.msg, payload.payload) {
            (m, Some(Payload::Sr1(r))) if m == Sec1MsgType::SessionResponse1 as i32 => r,
            (m, _) => {
                return Err(Error::UnexpectedMessage {
                    expected: "Session_Response1",
                    got: m,
                });
            }
        };
        expect_success(resp1.status)?;
        let mut token = fixed::<32>("device_verify_data", &resp1.device_verify_data)?;
        self.stream.apply(&mut token);
        if !ct_eq(&token, &self.client_pub) {
            return Err(Error::DeviceNotVerified);
        }
        Ok(self.stream)
    }
}
