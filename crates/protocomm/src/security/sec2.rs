//! Security 2: SRP-6a handshake, AES-256-GCM application traffic.
//!
//! ```text
//! client                                          device
//!   Cmd0  username, A (384 bytes) ─────────────►  draws b; B = k·v + g^b; precomputes S, K, M
//!        ◄───────────────── Resp0  B (minimal), salt
//!   Cmd1  M ────────────────────────────────────►  checks M (wrong user/password fails here)
//!        ◄───────────────── Resp1  HAMK, nonce = prefix(8) || 00000001
//!   application messages: AES-256-GCM with key K[0..32), nonce per sec_patch_ver
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use rand_core::CryptoRng;
use wifiprov_proto::sec2::{
    S2SessionCmd0, S2SessionCmd1, S2SessionResp0, S2SessionResp1, Sec2MsgType, Sec2Payload,
    sec2_payload::Payload,
};
use wifiprov_proto::session::session_data::Proto;

use super::srp::{
    ClientEphemeral, ClientProof, DeviceProof, MODULUS_LEN, Sec2Credentials, device_start,
};
use super::{Command, expect_success, open_envelope, seal_envelope, sec2_payload};
use crate::cipher::GcmSession;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Length of the random part of the GCM nonce.
const NONCE_PREFIX_LEN: usize = 8;
/// Longest username accepted (it must fit a BLE characteristic together with `A`).
pub const MAX_USERNAME_LEN: usize = 255;

fn payload_msg(msg: Sec2MsgType, payload: Payload) -> Vec<u8> {
    seal_envelope(Proto::Sec2(Sec2Payload {
        msg: msg as i32,
        payload: Some(payload),
    }))
}

/// Builds the GCM session for an established handshake.
fn gcm(key: &Secret, nonce: &[u8], patch: u32) -> Result<GcmSession> {
    let key = key.expose().get(..32).ok_or(Error::InvalidConfig(
        "SRP session key shorter than 32 bytes",
    ))?;
    GcmSession::new(key, nonce, patch >= 1)
}

/// Device-side state of one security 2 session.
#[derive(Default)]
pub(crate) enum Sec2Device {
    /// Waiting for `Cmd0`.
    #[default]
    ExpectCmd0,
    /// `Resp0` sent, waiting for the client proof.
    ExpectCmd1(Box<DeviceProof>),
    /// Handshake complete.
    Established(GcmSession),
}

impl fmt::Debug for Sec2Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sec2Device::ExpectCmd0 => "Sec2Device::ExpectCmd0",
            Sec2Device::ExpectCmd1(_) => "Sec2Device::ExpectCmd1",
            Sec2Device::Established(_) => "Sec2Device::Established",
        })
    }
}

/// A decoded and validated client handshake message.
#[derive(Debug)]
pub(crate) enum DeviceRequest {
    /// `Cmd0`: username (1..=255 bytes) and `A` (1..=384 bytes).
    Cmd0 { username: Vec<u8>, a_pub: Vec<u8> },
    /// `Cmd1`: the proof (not yet length-checked; the proof check does that).
    Cmd1 { proof: Vec<u8> },
}

/// Decodes and validates a client handshake message without doing any arithmetic.
pub(crate) fn parse_device_request(request: &[u8]) -> Result<DeviceRequest> {
    let payload = sec2_payload(open_envelope(request, 2)?)?;
    match (payload.msg, payload.payload) {
        (m, Some(Payload::Sc0(cmd0))) if m == Sec2MsgType::S2SessionCommand0 as i32 => {
            if cmd0.client_username.is_empty() || cmd0.client_username.len() > MAX_USERNAME_LEN {
                return Err(Error::BadLength {
                    field: "client_username",
                    expected: MAX_USERNAME_LEN,
                    got: cmd0.client_username.len(),
                });
            }
            if cmd0.client_pubkey.is_empty() || cmd0.client_pubkey.len() > MODULUS_LEN {
                return Err(Error::BadLength {
                    field: "client_pubkey",
                    expected: MODULUS_LEN,
                    got: cmd0.client_pubkey.len(),
                });
            }
            Ok(DeviceRequest::Cmd0 {
                username: cmd0.client_username,
                a_pub: cmd0.client_pubkey,
            })
        }
        (m, Some(Payload::Sc1(cmd1))) if m == Sec2MsgType::S2SessionCommand1 as i32 => {
            Ok(DeviceRequest::Cmd1 {
                proof: cmd1.client_proof,
            })
        }
        (m, Some(_)) => Err(Error::UnexpectedMessage {
            expected: "S2Session_Command0 or S2Session_Command1",
            got: m,
        }),
        (m, None) => Err(Error::MissingPayload { msg: m }),
    }
}

/// Decodes a client handshake message far enough to tell `Cmd0` from `Cmd1` (and checks the
/// lengths of a `Cmd0`), with the errors [`Sec2Device::handle`] gives.
pub(crate) fn classify(request: &[u8]) -> Result<Command> {
    Ok(match parse_device_request(request)? {
        DeviceRequest::Cmd0 { .. } => Command::Start,
        DeviceRequest::Cmd1 { .. } => Command::Finish,
    })
}

impl Sec2Device {
    /// Handles one `prov-session` request. `Cmd0` restarts the handshake from any state; a
    /// `Cmd1` that fails leaves the state as it was.
    pub(crate) fn handle(
        &mut self,
        request: &[u8],
        credentials: &Sec2Credentials,
        patch: u32,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Vec<u8>> {
        match parse_device_request(request)? {
            DeviceRequest::Cmd0 { username, a_pub } => {
                *self = Sec2Device::ExpectCmd0;
                let (b_pub, proof) = device_start(credentials, &username, &a_pub, rng)?;
                *self = Sec2Device::ExpectCmd1(Box::new(proof));
                Ok(payload_msg(
                    Sec2MsgType::S2SessionResponse0,
                    Payload::Sr0(S2SessionResp0 {
                        status: 0,
                        device_pubkey: b_pub,
                        device_salt: credentials.salt().to_vec(),
                    }),
                ))
            }
            DeviceRequest::Cmd1 { proof } => {
                let Sec2Device::ExpectCmd1(pending) = self else {
                    return Err(Error::UnexpectedMessage {
                        expected: "S2Session_Command0",
                        got: Sec2MsgType::S2SessionCommand1 as i32,
                    });
                };
                // A failure leaves the state as it was; the device decides whether the
                // handshake is spent (it is, for the session's own connection).
                let (hamk, key) = pending.verify(&proof)?;
                let mut nonce = [0u8; 12];
                rng.fill_bytes(&mut nonce[..NONCE_PREFIX_LEN]);
                nonce[NONCE_PREFIX_LEN..].copy_from_slice(&1u32.to_be_bytes());
                let session = gcm(&key, &nonce, patch)?;
                *self = Sec2Device::Established(session);
                Ok(payload_msg(
                    Sec2MsgType::S2SessionResponse1,
                    Payload::Sr1(S2SessionResp1 {
                        status: 0,
                        device_proof: hamk,
                        device_nonce: nonce.to_vec(),
                    }),
                ))
            }
        }
    }
}

/// Decodes the device's `Resp0` (client side) without doing any arithmetic.
pub(crate) fn parse_resp0(response: &[u8]) -> Result<S2SessionResp0> {
    let payload = sec2_payload(open_envelope(response, 2)?)?;
    let resp0 = match (payload.msg, payload.payload) {
        (m, Some(Payload::Sr0(r))) if m == Sec2MsgType::S2SessionResponse0 as i32 => r,
        (m, _) => {
            return Err(Error::UnexpectedMessage {
                expected: "S2Session_Response0",
                got: m,
            });
        }
    };
    expect_success(resp0.status)?;
    if resp0.device_pubkey.is_empty() || resp0.device_pubkey.len() > MODULUS_LEN {
        return Err(Error::BadLength {
            field: "device_pubkey",
            expected: MODULUS_LEN,
            got: resp0.device_pubkey.len(),
        });
    }
    if resp0.device_salt.is_empty() {
        return Err(Error::BadLength {
            field: "device_salt",
            expected: 16,
            got: 0,
        });
    }
    Ok(resp0)
}

/// Decodes the device's `Resp1` (client side).
pub(crate) fn parse_resp1(response: &[u8]) -> Result<S2SessionResp1> {
    let payload = sec2_payload(open_envelope(response, 2)?)?;
    let resp1 = match (payload.msg, payload.payload) {
        (m, Some(Payload::Sr1(r))) if m == Sec2MsgType::S2SessionResponse1 as i32 => r,
        (m, _) => {
            return Err(Error::UnexpectedMessage {
                expected: "S2Session_Response1",
                got: m,
            });
        }
    };
    expect_success(resp1.status)?;
    Ok(resp1)
}

/// Client waiting for `Resp0`.
pub(crate) struct Sec2ClientExpectResp0 {
    ephemeral: ClientEphemeral,
    username: Vec<u8>,
    password: Secret,
    patch: u32,
}

/// Client waiting for `Resp1`.
pub(crate) struct Sec2ClientExpectResp1 {
    proof: ClientProof,
    patch: u32,
}

/// Client role, step 1: draws `a` (re-drawing until `A` is 384 bytes) and builds `Cmd0`.
pub(crate) fn client_start(
    username: Vec<u8>,
    password: Secret,
    patch: u32,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(Sec2ClientExpectResp0, Vec<u8>)> {
    if username.is_empty() || username.len() > MAX_USERNAME_LEN {
        return Err(Error::InvalidConfig(
            "the SRP username must be 1 to 255 bytes",
        ));
    }
    let ephemeral = ClientEphemeral::draw(rng)?;
    let request = payload_msg(
        Sec2MsgType::S2SessionCommand0,
        Payload::Sc0(S2SessionCmd0 {
            client_username: username.clone(),
            client_pubkey: ephemeral.public().to_vec(),
        }),
    );
    Ok((
        Sec2ClientExpectResp0 {
            ephemeral,
            username,
            password,
            patch,
        },
        request,
    ))
}

impl Sec2ClientExpectResp0 {
    /// Step 2: computes `M` from `B` and the salt and builds `Cmd1`.
    pub(crate) fn handle(self, response: &[u8]) -> Result<(Sec2ClientExpectResp1, Vec<u8>)> {
        let resp0 = parse_resp0(response)?;
        let proof = self.ephemeral.respond(
            &self.username,
            &self.password,
            &resp0.device_salt,
            &resp0.device_pubkey,
        )?;
        let request = payload_msg(
            Sec2MsgType::S2SessionCommand1,
            Payload::Sc1(S2SessionCmd1 {
                client_proof: proof.proof().to_vec(),
            }),
        );
        Ok((
            Sec2ClientExpectResp1 {
                proof,
                patch: self.patch,
            },
            request,
        ))
    }
}

impl Sec2ClientExpectResp1 {
    /// Step 3: checks `HAMK` and sets up AES-GCM with the received nonce.
    pub(crate) fn handle(self, response: &[u8]) -> Result<GcmSession> {
        let resp1 = parse_resp1(response)?;
        let key = self.proof.verify(&resp1.device_proof)?;
        gcm(&key, &resp1.device_nonce, self.patch)
    }
}
