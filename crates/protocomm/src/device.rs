//! The device role: endpoint router, session table, security dispatch and brute-force guard.
//!
//! A transport announces each of its connections with [`Device::connect`] and hands every
//! request to [`Device::handle_request`] (or the split [`Device::open_request`] /
//! [`Device::seal_response`]) together with its [`Origin`]: the connection, and the session
//! id its peer claims, if any. It gets back the response bytes or an error, in which case it
//! sends no response, as ESP-IDF devices do. When the connection closes it calls
//! [`Device::disconnect`]. The device mints every session id and alone decides what happens to
//! a session (see [`crate::session`]). Transports that must not hold their lock during a
//! handshake's arithmetic use [`Device::begin_request`] (see [`crate::handshake`]).

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::cipher::SessionCipher;
use crate::error::{Error, Fault, Result};
use crate::handshake::HandshakeJob;
use crate::proto_ver::{AppInfo, VersionInfo};
use crate::security::Security;
use crate::security::sec1::Sec1Device;
use crate::security::sec2::Sec2Device;
use crate::session::{
    AfterDisconnect, ConnectionId, Origin, Progress, SessionId, SessionLimits, SessionTable, Stage,
    Target,
};
use crate::throttle::{AuthThrottle, Source, ThrottleConfig};
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

/// The outcome of [`Device::open_request`]: the session the request was for, and what to do.
#[derive(Debug)]
pub struct Opened {
    /// The session the request was taken for: the claimed one, or the connection's own (for
    /// a new client, the id to announce, as HTTP does with `Set-Cookie`).
    pub session: SessionId,
    /// The reply, or the decrypted request to answer.
    pub incoming: Incoming,
}

/// What [`Device::open_request`] made of a request.
#[derive(Debug)]
pub enum Incoming {
    /// The complete response (for `proto-ver` and `prov-session`): send it as it is.
    Reply(Vec<u8>),
    /// A handshake message whose computation is to run without the device (only from
    /// [`Device::begin_request`]): run it, then [`Device::commit_handshake`] (or
    /// [`Device::abandon_handshake`]).
    Handshake(HandshakeJob),
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

/// A decrypted request waiting for its answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pending {
    /// The connection that claimed this detached session: the session moves there once the
    /// answer is sealed.
    visitor: Option<ConnectionId>,
    /// Where the security 1 keystream stood before a visitor's request was decrypted, so that
    /// abandoning it leaves the session as it was.
    rewind: Option<u64>,
}

/// Per-session device state.
#[derive(Debug, Default)]
pub(crate) enum SessionState {
    /// No handshake in progress: the last one failed.
    #[default]
    Spent,
    /// A handshake step is being computed away from the device ([`HandshakeJob`]).
    Working,
    Sec1(Sec1Device),
    Sec2(Sec2Device),
    /// Handshake done; `pending` while a decrypted request is being answered.
    Established {
        cipher: SessionCipher,
        pending: Option<Pending>,
    },
}

impl Progress for SessionState {
    fn stage(&self) -> Stage {
        match self {
            SessionState::Spent => Stage::Spent,
            SessionState::Sec1(_) | SessionState::Sec2(_) | SessionState::Working => {
                Stage::Handshake
            }
            SessionState::Established { .. } => Stage::Established,
        }
    }

    fn is_busy(&self) -> bool {
        matches!(
            self,
            SessionState::Working
                | SessionState::Established {
                    pending: Some(_),
                    ..
                }
        )
    }
}

/// The session a claim named that is not there, as an error.
pub(crate) fn gone(claim: SessionId, expired: bool) -> Error {
    if expired {
        Error::SessionExpired(claim)
    } else {
        Error::UnknownSession(claim)
    }
}

/// The device side of protocomm (see the [crate docs](crate)).
pub struct Device {
    pub(crate) security: Security,
    pub(crate) version: VersionInfo,
    pub(crate) version_json: Vec<u8>,
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) next_uuid16: u16,
    pub(crate) sessions: SessionTable<SessionState>,
    pub(crate) throttle: AuthThrottle,
    /// Where each open connection comes from.
    pub(crate) sources: BTreeMap<ConnectionId, Source>,
    pub(crate) max_request_len: usize,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("security", &self.security.version())
            .field("endpoints", &self.endpoints)
            .field("sessions", &self.sessions.len())
            .field("connections", &self.sessions.connection_count())
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
            sources: BTreeMap::new(),
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

    /// Announces a new transport connection (a TCP connection, a BLE link, a console) and
    /// gives it a fresh session id of its own ([`Device::session_of`]). `rng` draws the id.
    /// The connection counts as coming from [`Source::Local`]; transports that know their
    /// peer's address use [`Device::connect_from`].
    pub fn connect(&mut self, rng: &mut (impl CryptoRng + ?Sized)) -> ConnectionId {
        self.connect_from(rng, Source::Local)
    }

    /// [`Device::connect`] for a peer at `source`: failed authentications and handshake
    /// starts are counted against it (see [`crate::throttle`]).
    pub fn connect_from(
        &mut self,
        rng: &mut (impl CryptoRng + ?Sized),
        source: Source,
    ) -> ConnectionId {
        let connection = self.sessions.connect(rng);
        self.sources.insert(connection, source);
        connection
    }

    /// Where `connection` comes from.
    pub fn source_of(&self, connection: ConnectionId) -> Option<Source> {
        self.sources.get(&connection).copied()
    }

    /// Tells the device that `connection` has closed. Its session stays, detached, for a peer
    /// that comes back with a claim ([`AfterDisconnect::Keep`], HTTP), or ends
    /// ([`AfterDisconnect::Close`], BLE and console). Unknown connections are ignored.
    pub fn disconnect(&mut self, connection: ConnectionId, after: AfterDisconnect) {
        self.sources.remove(&connection);
        self.sessions.disconnect(connection, after);
    }

    /// The session `connection` speaks for: its own, or the detached one it took over.
    pub fn session_of(&self, connection: ConnectionId) -> Option<SessionId> {
        self.sessions.own(connection).ok()
    }

    /// Handles one request and returns the response bytes.
    ///
    /// * `proto-ver` → the version document (request ignored).
    /// * `prov-session` → the next handshake message. A valid `Cmd0` starts the connection's
    ///   own session (security 1/2 sessions take a slot only then).
    /// * any other endpoint → decrypt, `handler`, encrypt.
    ///
    /// On error the transport must send no response. Errors never disturb other sessions (see
    /// [`crate::session`] for what a claim from another connection may do).
    pub fn handle_request(
        &mut self,
        now: Instant,
        origin: impl Into<Origin>,
        endpoint: &str,
        request: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
        handler: &mut (impl EndpointHandler + ?Sized),
    ) -> Result<Vec<u8>> {
        let Opened { session, incoming } =
            self.open_request(now, origin, endpoint, request, rng)?;
        match incoming {
            Incoming::Reply(reply) => Ok(reply),
            // open_request runs handshakes itself.
            Incoming::Handshake(job) => {
                let done = job.run(rng);
                match self.commit_handshake(now, done)?.incoming {
                    Incoming::Reply(reply) => Ok(reply),
                    _ => Err(Error::InvalidConfig("a handshake gives a reply")),
                }
            }
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
    /// counter in protocol order. [`Opened::session`] names the session to pass on.
    pub fn open_request(
        &mut self,
        now: Instant,
        origin: impl Into<Origin>,
        endpoint: &str,
        request: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Opened> {
        let Opened { session, incoming } = self.begin_request(now, origin, endpoint, request)?;
        match incoming {
            Incoming::Handshake(job) => {
                let done = job.run(rng);
                self.commit_handshake(now, done)
            }
            incoming => Ok(Opened { session, incoming }),
        }
    }

    /// [`Device::open_request`] for transports that run handshake computations away from the
    /// device: a `Cmd0` or `Cmd1` comes back as [`Incoming::Handshake`], with the session
    /// marked busy (see [`crate::handshake`]). Everything else is as with
    /// [`Device::open_request`].
    pub fn begin_request(
        &mut self,
        now: Instant,
        origin: impl Into<Origin>,
        endpoint: &str,
        request: &[u8],
    ) -> Result<Opened> {
        let origin = origin.into();
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
        let target = self.sessions.resolve(now, origin)?;
        match kind {
            EndpointKind::Version => {
                let session = match target {
                    Target::Own(id) | Target::Visit(id) => id,
                    Target::Gone { own, .. } => own,
                };
                Ok(Opened {
                    session,
                    incoming: Incoming::Reply(self.version_json.clone()),
                })
            }
            EndpointKind::Session => self.handle_handshake(now, origin.connection, target, request),
            EndpointKind::Request => {
                self.decrypt_request(now, origin.connection, target, endpoint, request)
            }
        }
    }

    /// Second half of [`Device::handle_request`]: encrypts the answer to the request that
    /// [`Device::open_request`] returned for `session`. A detached session whose request came
    /// from another connection moves to that connection now.
    pub fn seal_response(
        &mut self,
        now: Instant,
        session: SessionId,
        response: &[u8],
    ) -> Result<Vec<u8>> {
        if let Security::Sec0 = self.security {
            return Ok(response.to_vec());
        }
        let Some(state) = self.sessions.state(now, session, true)? else {
            return Err(Error::UnknownSession(session));
        };
        let SessionState::Established { cipher, pending } = state else {
            return Err(Error::NoPendingRequest(session));
        };
        let Some(open) = pending.take() else {
            return Err(Error::NoPendingRequest(session));
        };
        let sealed = cipher.seal(response);
        if let (Ok(_), Some(visitor)) = (&sealed, open.visitor) {
            self.sessions.attach(session, visitor);
        }
        sealed
    }

    /// Gives up on answering the open request of `session` (the handler failed; the transport
    /// sends no response). Both sides stay in step: each consumed exactly the request. A
    /// request from a connection that claimed a detached session leaves no trace: a security 1
    /// keystream goes back to where it stood.
    pub fn abandon_request(&mut self, session: SessionId) {
        if let Some(SessionState::Established { cipher, pending }) =
            self.sessions.state_unchecked(session)
            && let Some(open) = pending.take()
            && let Some(position) = open.rewind
        {
            // Cannot fail: the position was read from this keystream.
            let _ = cipher.rewind(position);
        }
    }

    fn decrypt_request(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        target: Target,
        endpoint: &str,
        request: &[u8],
    ) -> Result<Opened> {
        let (id, visiting) = match target {
            Target::Own(id) => (id, false),
            Target::Visit(id) => (id, true),
            Target::Gone { own, .. } if matches!(self.security, Security::Sec0) => (own, false),
            Target::Gone { claim, expired, .. } => return Err(gone(claim, expired)),
        };
        if let Security::Sec0 = self.security {
            return Ok(Opened {
                session: id,
                incoming: Incoming::Request {
                    endpoint: endpoint.to_string(),
                    plaintext: Zeroizing::new(request.to_vec()),
                },
            });
        }
        let Some(SessionState::Established { cipher, pending }) =
            self.sessions.state(now, id, !visiting)?
        else {
            return Err(Error::SessionNotEstablished(id));
        };
        if pending.is_some() {
            return Err(Error::SessionBusy(id));
        }
        let rewind = if visiting { cipher.position() } else { None };
        match cipher.open(request) {
            Ok(plaintext) => {
                *pending = Some(Pending {
                    visitor: visiting.then_some(connection),
                    rewind,
                });
                self.sessions.touch(now, id);
                Ok(Opened {
                    session: id,
                    incoming: Incoming::Request {
                        endpoint: endpoint.to_string(),
                        plaintext: Zeroizing::new(plaintext),
                    },
                })
            }
            Err(e) => {
                // Only the session's own connection can break it; a claim from elsewhere
                // leaves it as it was.
                if matches!(e, Error::DecryptFailed) && !visiting {
                    self.sessions.close(id);
                }
                Err(e)
            }
        }
    }

    /// Whether `session` has completed its handshake (always false for security 0).
    pub fn is_established(&self, session: SessionId) -> bool {
        self.sessions.stage(session) == Some(Stage::Established)
    }

    /// Number of sessions holding a slot.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.sessions.connection_count()
    }

    /// Drops idle sessions. Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.sessions.handle_timeout(now);
    }

    /// The next session that ended (its connection closed for good, it expired, it was made
    /// to give way, or it broke), oldest first, so the application can forget what it kept for
    /// it (pending credentials, say). Call until `None` after requests, disconnects and
    /// timeouts; the device remembers the last 64.
    pub fn poll_ended(&mut self) -> Option<SessionId> {
        self.sessions.poll_ended()
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
