//! Sans-I/O implementation of ESP-IDF's **protocomm**: the secured request/response layer under
//! Wi-Fi provisioning, in both the device and the client role.
//!
//! This crate never opens a socket, reads a clock or spawns a task. Transports announce their
//! connections ([`Device::connect`]), hand it `(connection, claimed session, endpoint, bytes)`
//! and get bytes back; the device mints session ids and alone decides what happens to a
//! session ([`session`]). Time comes in as an [`Instant`]; randomness comes in as a
//! [`rand_core::CryptoRng`], so recorded transcripts replay byte for byte.
//!
//! # Data flow
//!
//! ```text
//!  client                                   transport                       device
//!  ──────                                   ─────────                       ──────
//!  ClientHandshake::start ── request ──► POST /prov-session ──► Device::handle_request
//!          ▲                               (or GATT write,          │  session table (by
//!          │                                console line)           │  connection and claim)
//!          └──── response ◄── handle_response ◄── response ◄────────┤  security 0 / 1 / 2
//!  ClientSession::encrypt ── ciphertext ──► POST /prov-config ──►   │  decrypt
//!                                                                   ▼
//!                                                      EndpointHandler::handle(plaintext)
//!                                                                   │  encrypt
//!  ClientSession::decrypt ◄── ciphertext ◄──────────────────────────┘
//! ```
//!
//! * `proto-ver` is never encrypted: the device answers with its [`VersionInfo`] document and
//!   clients read it with [`PeerVersion::parse`] to pick the scheme and patch level.
//! * `prov-session` carries the handshake ([`security`]): security 0 (none), 1 (X25519 + proof of
//!   possession, AES-256-CTR) or 2 (SRP-6a, AES-256-GCM).
//! * Every other endpoint carries application bytes through the session cipher to your
//!   [`EndpointHandler`].
//!
//! Errors are typed ([`Error`]) and say whose fault they were ([`Fault`]). On the device an error
//! means "send no response", which is what ESP-IDF clients expect. Repeated authentication
//! failures pause handshakes ([`ThrottleConfig`]).
//!
//! # Example: a client and a device talking in memory
//!
//! ```
//! use protocomm::*;
//!
//! let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
//! let password = Secret::from("correct horse");
//! let credentials = Sec2Credentials::generate(b"wifiprov", &password, &mut rng)?;
//! let mut device = Device::new(DeviceConfig::new(Security::Sec2 { credentials, patch: 1 }))?;
//! let mut app = |_: SessionId, endpoint: &str, request: &[u8]| -> Result<Vec<u8>, HandlerError> {
//!     assert_eq!(endpoint, "prov-config");
//!     Ok([b"echo: ", request].concat())
//! };
//! // The transport announces its connection; the device gives it a session id of its own.
//! let id = device.connect(&mut rng);
//! let now = Instant::ZERO;
//!
//! // The client reads proto-ver to choose the scheme.
//! let reply = device.handle_request(now, id, "proto-ver", b"---", &mut rng, &mut app)?;
//! let peer = PeerVersion::parse(&reply);
//! assert_eq!((peer.security(), peer.sec_patch_ver), (2, 1));
//!
//! let security = ClientSecurity::Sec2 { username: b"wifiprov".to_vec(), password, patch: peer.sec_patch_ver };
//! let (mut handshake, mut request) = ClientHandshake::start(security, &mut rng)?;
//! let mut session = loop {
//!     let response = device.handle_request(now, id, "prov-session", &request, &mut rng, &mut app)?;
//!     match handshake.handle_response(&response)? {
//!         HandshakeStep::Send(next, req) => (handshake, request) = (next, req),
//!         HandshakeStep::Done(session) => break session,
//!     }
//! };
//!
//! let ciphertext = session.encrypt(b"hello")?;
//! let answer = device.handle_request(now, id, "prov-config", &ciphertext, &mut rng, &mut app)?;
//! assert_eq!(session.decrypt(&answer)?, b"echo: hello");
//! # Ok::<(), protocomm::Error>(())
//! ```
//!
//! # Features
//!
//! * `std` (default): nothing more than the standard library's error integration; the core is
//!   `#![no_std]` + `alloc` and builds with `--no-default-features`.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod cipher;
pub mod client;
pub mod device;
pub mod error;
pub mod handshake;
pub mod proto_ver;
pub mod security;
pub mod session;
pub mod throttle;

pub use client::{ClientHandshake, ClientSession, HandshakeStep};
pub use device::{
    Device, DeviceConfig, Endpoint, EndpointHandler, EndpointKind, HandlerError, Incoming, Opened,
};
pub use error::{Error, Fault, Result};
pub use handshake::{HandshakeDone, HandshakeJob};
pub use proto_ver::{AppInfo, PeerVersion, VersionInfo};
pub use rand_core;

/// Entry points for the fuzz targets in `fuzz/`: the decoders of handshake messages that are
/// otherwise only reachable after expensive big-number arithmetic. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes a security 2 client handshake message as the device does.
    pub fn sec2_device_request(bytes: &[u8]) -> bool {
        crate::security::sec2::parse_device_request(bytes).is_ok()
    }

    /// Decodes a security 2 `Resp0` as the client does.
    pub fn sec2_client_resp0(bytes: &[u8]) -> bool {
        crate::security::sec2::parse_resp0(bytes).is_ok()
    }

    /// Decodes a security 2 `Resp1` as the client does.
    pub fn sec2_client_resp1(bytes: &[u8]) -> bool {
        crate::security::sec2::parse_resp1(bytes).is_ok()
    }
}
pub use security::srp::{Sec2Credentials, VerifierOptions};
pub use security::{ClientSecurity, Security};
pub use session::{AfterDisconnect, ConnectionId, Origin, SessionId, SessionLimits};
pub use throttle::{AuthThrottle, Source, ThrottleConfig};
pub use wifiprov_proto as proto;
pub use wifiprov_types::Instant;
pub use wifiprov_types::Secret;

/// Secret byte strings (see [`wifiprov_types::Secret`]).
pub mod secret {
    pub use wifiprov_types::{Secret, ct_eq};
}

/// Time as the caller tells it (see [`wifiprov_types::Instant`]).
pub mod time {
    pub use wifiprov_types::Instant;
}
