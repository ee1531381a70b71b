//! The device role: endpoint router, session table, security dispatch and brute-force guard.
//!
//! [`Device::handle_request`] is the single entry point. It takes the transport's session id,
//! the endpoint name and the request bytes, and returns the response bytes or an error (in
//! which case the transport sends no response, as ESP-IDF devices do).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::cipher::SessionCipher;
use crate::error::{Error, Fault, Result};
use crate::proto_ver::{AppInfo, VersionInfo};
use crate::security::sec1::Sec1Device;
use crate::security::sec2::Sec2Device;
use crate::security::{Security, sec0};
use crate::session::{Progress, SessionId, SessionLimits, SessionTable};
use crate::throttle::{AuthThrottle, ThrottleConfig};
use crate::time::Instant;

/// Name of the version endpoint.
pub const EP_PROTO_VER: &str = "proto-ver";
/// Name of the handshake endpoint.
pub const EP_SESSION: &str = "prov-session";
/// Name of the Wi-Fi configuration endpoint.
pub const EP_CONFIG: &str = "prov-config";
/// Name of the Wi-Fi scan endpoint.
pub const EP_SCAN: &str = "prov-scan";
/// Name of the control (reset / reprovision) endpoint.
pub const EP_CTRL: &str = "prov-ctrl";
/// The 16-bit id given to the first custom endpoint; later ones count up.
pub const FIRST_CUSTOM_UUID16: u16 = 0xff54;
/// Longest endpoint name accepted.
pub const MAX_ENDPOINT_NAME_LEN: usize = 32;

/// What an endpoint does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointKind {
    /// `proto-ver`: the unencrypted version document.
    Version,
    /// `prov-session`: unencrypted handshake messages.
    Session,
    /// Every other endpoint: payloads protected by the session cipher.
    Request,
}

/// A registered endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Its name (the HTTP path without `/`, the BLE user description, the console command).
    pub name: String,
    /// What it does.
    pub kind: EndpointKind,
    /// Its 16-bit id, used to derive the BLE characteristic UUID.
    pub uuid16: u16,
}

/// The outcome of [`Device::open_request`].
#[derive(Debug)]
pub enum Incoming {
    /// The complete response (for `proto-ver` and `prov-session`): send it as it is.
    Reply(Vec<u8>),
    /// A decrypted request for an application endpoint, to be answered with
    /// [`Device::seal_response`] or dropped with [`Device::abandon_request`].
    Request {
        /// The endpoint it was sent to.
        endpoint: String,
        /// The decrypted request (wiped on drop).
        plaintext: Zeroizing<Vec<u8>>,
    },
}

/// An application endpoint failed; the transport sends no response.
///
/// It says whose fault the failure was: a request that does not decode or that the endpoint
/// cannot accept is the peer's ([`HandlerError::peer`]); a failure on this side (a backend
/// that is down, a custom command that crashed) is local ([`HandlerError::local`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct HandlerError {
    fault: Fault,
    reason: String,
}

impl HandlerError {
    /// A handler error with its fault and an explanation.
    pub fn new(fault: Fault, reason: impl Into<String>) -> Self {
        HandlerError {
            fault,
            reason: reason.into(),
        }
    }

    /// The request is malformed or not acceptable ([`Fault::Peer`]).
    pub fn peer(reason: impl Into<String>) -> Self {
        Self::new(Fault::Peer, reason)
    }

    /// Something on this side failed ([`Fault::Local`]).
    pub fn local(reason: impl Into<String>) -> Self {
        Self::new(Fault::Local, reason)
    }

    /// A local policy refused the request ([`Fault::Policy`]).
    pub fn policy(reason: impl Into<String>) -> Self {
        Self::new(Fault::Policy, reason)
    }

    /// Whose fault the failure was.
    pub fn fault(&self) -> Fault {
        self.fault
    }

    /// The explanation.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Serves the plaintext of request endpoints (`prov-config`, `prov-scan`, `prov-ctrl`, custom).
pub trait EndpointHandler {
    /// Answers `request` on `endpoint` for `session`. The bytes are already decrypted and the
    /// answer will be encrypted by the caller.
    fn handle(
        &mut self,
        session: SessionId,
        endpoint: &str,
        request: &[u8],
    ) -> Result<Vec<u8>, HandlerError>;
}

impl<F> EndpointHandler for F
where
    F: FnMut(SessionId, &str, &[u8]) -> Result<Vec<u8>, HandlerError>,
{
    fn handle(
        &mut self,
        session: SessionId,
        endpoint: &str,
        request: &[u8],
    ) -> Result<Vec<u8>, HandlerError> {
        self(session, endpoint, request)
    }
}

/// Settings of a [`Device`].
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    /// Security scheme and credentials.
    pub security: Security,
    /// Session table size and idle expiry.
    pub limits: SessionLimits,
    /// Brute-force protection.
    pub throttle: ThrottleConfig,
    /// Largest request accepted on any endpoint (default 4096, as ESP-IDF's HTTP transport).
    pub max_request_len: usize,
    /// Application entries of the `proto-ver` document.
    pub app_info: Vec<AppInfo>,
    /// Whether `wifi_scan` is advertised (default true).
    pub wifi_scan: bool,
}

impl DeviceConfig {
    /// Defaults for `security`.
    pub fn new(security: Security) -> Self {
        DeviceConfig {
            security,
            limits: SessionLimits::default(),
            throttle: ThrottleConfig::default(),
            max_request_len: 4096,
            app_info: Vec::new(),
            wifi_scan: true,
        }
    }
}

/// Per-session device state.
#[derive(Debug, Default)]
enum SessionState {
    #[default]
    Fresh,
    Sec1(Sec1Device),
    Sec2(Sec2Device),
    /// Handshake done; `awaiting_response` while a decrypted request is being answered.
    Established {
        cipher: SessionCipher,
        awaiting_response: bool,
    },
}

impl Progress for SessionState {
    fn is_established(&self) -> bool {
        matches!(self, SessionState::Established { .. })
    }
}

/// Runs one handshake step of the configured scheme on `state`.
fn step(
    security: &Security,
    state: SessionState,
    request: &[u8],
    rng: &mut (impl CryptoRng + ?Sized),
) -> (Result<Vec<u8>>, SessionState) {
    match security {
        Security::Sec0 => (
            Err(Error::InvalidConfig("security 0 has no session state")),
            state,
        ),
        Security::Sec1 { pop } => {
            let mut sec1 = match state {
                SessionState::Sec1(s) => s,
                _ => Sec1Device::default(),
            };
            let result = sec1.handle(request, pop.as_ref(), rng);
            let next = match sec1 {
                Sec1Device::Established(stream) => SessionState::Established {
                    cipher: SessionCipher::Ctr(stream),
                    awaiting_response: false,
                },
                other => SessionState::Sec1(other),
            };
            (result, next)
        }
        Security::Sec2 { credentials, patch } => {
            let mut sec2 = match state {
                SessionState::Sec2(s) => s,
                _ => Sec2Device::default(),
            };
            let result = sec2.handle(request, credentials, *patch, rng);
            let next = match sec2 {
                Sec2Device::Established(gcm) => SessionState::Established {
                    cipher: SessionCipher::Gcm(gcm),
                    awaiting_response: false,
                },
                other => SessionState::Sec2(other),
            };
            (result, next)
        }
    }
}

/// The device side of protocomm (see the [crate docs](crate)).
pub struct Device {
    security: Security,
    version: VersionInfo,
    version_json: Vec<u8>,
    endpoints: Vec<Endpoint>,
    next_uuid16: u16,
    sessions: SessionTable<SessionState>,
    throttle: AuthThrottle,
    max_request_len: usize,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("security", &self.security.version())
            .field("endpoints", &self.endpoints)
            .field("sessions", &self.sessions.len())
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

impl Device {
    /// A device with the built-in endpoints registered.
    pub fn new(config: DeviceConfig) -> Result<Self> {
        if config.limits.max_sessions == 0 {
            return Err(Error::InvalidConfig("max_sessions must be at least 1"));
        }
        let no_pop = matches!(config.security, Security::Sec1 { pop: None });
        let mut version = VersionInfo::for_security(
            config.security.version(),
            config.security.patch_version(),
            no_pop,
        );
        if !config.wifi_scan {
            version
                .capabilities
                .retain(|c| c != crate::proto_ver::CAP_WIFI_SCAN);
        }
        version.app_info = config.app_info;
        let version_json = version.to_json().into_bytes();
        let builtin = [
            (EP_CTRL, EndpointKind::Request, 0xff4f),
            (EP_SCAN, EndpointKind::Request, 0xff50),
            (EP_SESSION, EndpointKind::Session, 0xff51),
            (EP_CONFIG, EndpointKind::Request, 0xff52),
            (EP_PROTO_VER, EndpointKind::Version, 0xff53),
        ];
        Ok(Device {
            security: config.security,
            version,
            version_json,
            endpoints: builtin
                .iter()
                .map(|(name, kind, uuid16)| Endpoint {
                    name: (*name).to_string(),
                    kind: *kind,
                    uuid16: *uuid16,
                })
                .collect(),
            next_uuid16: FIRST_CUSTOM_UUID16,
            sessions: SessionTable::new(config.limits),
            throttle: AuthThrottle::new(config.throttle),
            max_request_len: config.max_request_len,
        })
    }

    /// The security scheme number.
    pub fn security_version(&self) -> u8 {
        self.security.version()
    }

    /// The exact bytes answered on `proto-ver`.
    pub fn version_json(&self) -> &[u8] {
        &self.version_json
    }

    /// The version document.
    pub fn version(&self) -> &VersionInfo {
        &self.version
    }

    /// Adds an application entry to `proto-ver` (after the existing ones, before `"prov"`).
    pub fn add_app_info(&mut self, info: AppInfo) {
        self.version.app_info.push(info);
        self.version_json = self.version.to_json().into_bytes();
    }

    /// Registers a custom request endpoint and gives it the next 16-bit id.
    ///
    /// Names are 1–32 characters of `A–Z a–z 0–9 - _ .`, and must not be taken.
    pub fn register_endpoint(&mut self, name: &str) -> Result<&Endpoint> {
        let bad = |reason| {
            Err(Error::BadEndpointName {
                name: name.to_string(),
                reason,
            })
        };
        if name.is_empty() || name.len() > MAX_ENDPOINT_NAME_LEN {
            return bad("names are 1 to 32 characters long");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return bad("names may only contain letters, digits, '-', '_' and '.'");
        }
        if self.endpoint(name).is_some() {
            return bad("an endpoint with this name exists");
        }
        if self.next_uuid16 == u16::MAX {
            return bad("no 16-bit ids left");
        }
        let uuid16 = self.next_uuid16;
        self.next_uuid16 += 1;
        self.endpoints.push(Endpoint {
            name: name.to_string(),
            kind: EndpointKind::Request,
            uuid16,
        });
        self.endpoints
            .last()
            .ok_or(Error::InvalidConfig("endpoint list is empty"))
    }

    /// Removes a custom endpoint. Built-in endpoints cannot be removed.
    pub fn unregister_endpoint(&mut self, name: &str) -> bool {
        let before = self.endpoints.len();
        self.endpoints
            .retain(|e| e.name != name || e.uuid16 < FIRST_CUSTOM_UUID16);
        self.endpoints.len() != before
    }

    /// All endpoints in registration order (built-ins first).
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Looks up an endpoint by name.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// Handles one request and returns the response bytes.
    ///
    /// * `proto-ver` → the version document (request ignored).
    /// * `prov-session` → the next handshake message (security 1/2 sessions are created on
    ///   first use of `session`).
    /// * any other endpoint → decrypt, `handler`, encrypt.
    ///
    /// On error the transport must send no response. Errors never disturb other sessions; a
    /// GCM authentication failure closes this session.
    pub fn handle_request(
        &mut self,
        now: Instant,
        session: SessionId,
        endpoint: &str,
        request: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
        handler: &mut (impl EndpointHandler + ?Sized),
    ) -> Result<Vec<u8>> {
        match self.open_request(now, session, endpoint, request, rng)? {
            Incoming::Reply(reply) => Ok(reply),
            Incoming::Request {
                endpoint,
                plaintext,
            } => match handler.handle(session, &endpoint, &plaintext) {
                Ok(response) => self.seal_response(now, session, &Zeroizing::new(response)),
                Err(e) => {
                    self.abandon_request(session);
                    Err(Error::Handler { endpoint, error: e })
                }
            },
        }
    }

    /// First half of [`Device::handle_request`] for callers whose handlers are asynchronous.
    ///
    /// Version and handshake requests are answered at once ([`Incoming::Reply`]). A request
    /// for an application endpoint is decrypted and returned as [`Incoming::Request`]; answer
    /// it with [`Device::seal_response`], or call [`Device::abandon_request`] if there is no
    /// answer. Until then further requests on the same session fail with
    /// [`Error::SessionBusy`], which keeps the security 1 keystream and the security 2 nonce
    /// counter in protocol order.
    pub fn open_request(
        &mut self,
        now: Instant,
        session: SessionId,
        endpoint: &str,
        request: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Incoming> {
        if request.len() > self.max_request_len {
            return Err(Error::RequestTooLarge {
                len: request.len(),
                limit: self.max_request_len,
            });
        }
        let kind = self
            .endpoint(endpoint)
            .map(|e| e.kind)
            .ok_or_else(|| Error::UnknownEndpoint(endpoint.to_string()))?;
        match kind {
            EndpointKind::Version => Ok(Incoming::Reply(self.version_json.clone())),
            EndpointKind::Session => self
                .handle_handshake(now, session, request, rng)
                .map(Incoming::Reply),
            EndpointKind::Request => {
                let plaintext = self.decrypt_request(now, session, request)?;
                Ok(Incoming::Request {
                    endpoint: endpoint.to_string(),
                    plaintext,
                })
            }
        }
    }

    /// Second half of [`Device::handle_request`]: encrypts the answer to the request that
    /// [`Device::open_request`] returned for `session`.
    pub fn seal_response(
        &mut self,
        now: Instant,
        session: SessionId,
        response: &[u8],
    ) -> Result<Vec<u8>> {
        if let Security::Sec0 = self.security {
            return Ok(response.to_vec());
        }
        match self.sessions.get(now, session)? {
            SessionState::Established {
                cipher,
                awaiting_response,
            } if *awaiting_response => {
                *awaiting_response = false;
                cipher.seal(response)
            }
            _ => Err(Error::NoPendingRequest(session)),
        }
    }

    /// Gives up on answering the open request of `session` (the handler failed; the transport
    /// sends no response). Both sides stay in step: each consumed exactly the request.
    pub fn abandon_request(&mut self, session: SessionId) {
        self.sessions.with(session, |state| {
            if let SessionState::Established {
                awaiting_response, ..
            } = state
            {
                *awaiting_response = false;
            }
        });
    }

    fn handle_handshake(
        &mut self,
        now: Instant,
        session: SessionId,
        request: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Vec<u8>> {
        let Device {
            security,
            sessions,
            throttle,
            ..
        } = self;
        if let Security::Sec0 = security {
            return sec0::device_handle(request);
        }
        throttle.check(now)?;
        let state = sessions.get_or_open(now, session)?;
        // An established session survives handshake messages that fail: only a valid Cmd0
        // replaces its keys.
        let previous = core::mem::take(state);
        let (result, next) = match (&*security, previous) {
            (_, established @ SessionState::Established { .. }) => {
                let (result, next) = step(security, SessionState::Fresh, request, rng);
                match result {
                    Ok(_) => (result, next),
                    Err(_) => (result, established),
                }
            }
            (_, previous) => step(security, previous, request, rng),
        };
        *state = next;
        match &result {
            Err(Error::AuthenticationFailed) => throttle.record_failure(now),
            Ok(_) if sessions.is_established(session) => throttle.record_success(),
            _ => {}
        }
        result
    }

    fn decrypt_request(
        &mut self,
        now: Instant,
        session: SessionId,
        request: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        if let Security::Sec0 = self.security {
            return Ok(Zeroizing::new(request.to_vec()));
        }
        let SessionState::Established {
            cipher,
            awaiting_response,
        } = self.sessions.get(now, session)?
        else {
            return Err(Error::SessionNotEstablished(session));
        };
        if *awaiting_response {
            return Err(Error::SessionBusy(session));
        }
        match cipher.open(request) {
            Ok(plaintext) => {
                *awaiting_response = true;
                Ok(Zeroizing::new(plaintext))
            }
            Err(e) => {
                if matches!(e, Error::DecryptFailed) {
                    self.sessions.close(session);
                }
                Err(e)
            }
        }
    }

    /// Forgets `session` (its transport connection closed). Returns whether it existed.
    pub fn close_session(&mut self, session: SessionId) -> bool {
        self.sessions.close(session)
    }

    /// Tells the device that the transport connection of `session` has closed: the session
    /// stays usable (a client may come back with its cookie), but it is the first to give way
    /// when the table is full.
    pub fn detach_session(&mut self, session: SessionId) {
        self.sessions.detach(session);
    }

    /// Whether `session` has completed its handshake (always false for security 0).
    pub fn is_established(&self, session: SessionId) -> bool {
        self.sessions.is_established(session)
    }

    /// Number of sessions held.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Drops idle sessions. Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.sessions.handle_timeout(now);
    }

    /// When [`Device::handle_timeout`] next has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sessions.poll_timeout()
    }

    /// The brute-force guard's state.
    pub fn throttle(&self) -> &AuthThrottle {
        &self.throttle
    }
}
