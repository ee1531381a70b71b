//! The client role: drive a handshake, then encrypt requests and decrypt responses.
//!
//! ```no_run
//! # use protocomm::{ClientHandshake, ClientSecurity, HandshakeStep};
//! # fn send(_: &[u8]) -> Vec<u8> { Vec::new() }
//! # fn example(rng: &mut impl rand_core::CryptoRng) -> Result<(), protocomm::Error> {
//! let (mut handshake, mut request) = ClientHandshake::start(ClientSecurity::Sec0, rng)?;
//! let mut session = loop {
//!     let response = send(&request); // POST /prov-session, GATT write+read, ...
//!     match handshake.handle_response(&response)? {
//!         HandshakeStep::Send(next, req) => (handshake, request) = (next, req),
//!         HandshakeStep::Done(session) => break session,
//!     }
//! };
//! let wire = session.encrypt(b"\x52\x00")?; // GetStatus
//! # Ok(()) }
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use rand_core::CryptoRng;

use crate::cipher::SessionCipher;
use crate::error::Result;
use crate::security::sec1::{self, Sec1ClientExpectResp0, Sec1ClientExpectResp1};
use crate::security::sec2::{self, Sec2ClientExpectResp0, Sec2ClientExpectResp1};
use crate::security::{ClientSecurity, sec0};

enum State {
    Sec0,
    Sec1Resp0(Box<Sec1ClientExpectResp0>),
    Sec1Resp1(Box<Sec1ClientExpectResp1>),
    Sec2Resp0(Box<Sec2ClientExpectResp0>),
    Sec2Resp1(Box<Sec2ClientExpectResp1>),
}

/// A client handshake in progress. Each step consumes the value, so a step cannot be repeated
/// or skipped.
pub struct ClientHandshake {
    state: State,
}

impl fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.state {
            State::Sec0 => "sec0: expect response",
            State::Sec1Resp0(_) => "sec1: expect response 0",
            State::Sec1Resp1(_) => "sec1: expect response 1",
            State::Sec2Resp0(_) => "sec2: expect response 0",
            State::Sec2Resp1(_) => "sec2: expect response 1",
        };
        f.debug_struct("ClientHandshake")
            .field("step", &step)
            .finish()
    }
}

/// What to do after a handshake response.
#[derive(Debug)]
pub enum HandshakeStep {
    /// Send this request on `prov-session` and feed the answer to the returned handshake.
    Send(ClientHandshake, Vec<u8>),
    /// The session is established.
    Done(ClientSession),
}

impl ClientHandshake {
    /// Begins a handshake; returns the first `prov-session` request.
    pub fn start(
        security: ClientSecurity,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Self, Vec<u8>)> {
        Ok(match security {
            ClientSecurity::Sec0 => (
                ClientHandshake { state: State::Sec0 },
                sec0::client_request(),
            ),
            ClientSecurity::Sec1 { pop } => {
                let (state, request) = sec1::client_start(pop, rng);
                (
                    ClientHandshake {
                        state: State::Sec1Resp0(Box::new(state)),
                    },
                    request,
                )
            }
            ClientSecurity::Sec2 {
                username,
                password,
                patch,
            } => {
                let (state, request) = sec2::client_start(username, password, patch, rng)?;
                (
                    ClientHandshake {
                        state: State::Sec2Resp0(Box::new(state)),
                    },
                    request,
                )
            }
        })
    }

    /// Feeds the device's answer to the last request.
    pub fn handle_response(self, response: &[u8]) -> Result<HandshakeStep> {
        Ok(match self.state {
            State::Sec0 => {
                sec0::client_check(response)?;
                HandshakeStep::Done(ClientSession {
                    cipher: SessionCipher::Plain,
                    security: 0,
                })
            }
            State::Sec1Resp0(s) => {
                let (next, request) = s.handle(response)?;
                HandshakeStep::Send(
                    ClientHandshake {
                        state: State::Sec1Resp1(Box::new(next)),
                    },
                    request,
                )
            }
            State::Sec1Resp1(s) => HandshakeStep::Done(ClientSession {
                cipher: SessionCipher::Ctr(s.handle(response)?),
                security: 1,
            }),
            State::Sec2Resp0(s) => {
                let (next, request) = s.handle(response)?;
                HandshakeStep::Send(
                    ClientHandshake {
                        state: State::Sec2Resp1(Box::new(next)),
                    },
                    request,
                )
            }
            State::Sec2Resp1(s) => HandshakeStep::Done(ClientSession {
                cipher: SessionCipher::Gcm(s.handle(response)?),
                security: 2,
            }),
        })
    }
}

/// An established client session.
///
/// Messages must be processed strictly in protocol order: encrypt a request, decrypt its
/// response, and so on. With security 1 the keystream is shared by both directions; a client
/// that abandons a response without decrypting it falls out of step and must re-handshake.
pub struct ClientSession {
    cipher: SessionCipher,
    security: u8,
}

impl fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSession")
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

impl ClientSession {
    /// The security scheme number.
    pub fn security(&self) -> u8 {
        self.security
    }

    /// Encrypts a request for an application endpoint.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.cipher.seal(plaintext)
    }

    /// Decrypts the device's response.
    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        self.cipher.open(ciphertext)
    }
}
