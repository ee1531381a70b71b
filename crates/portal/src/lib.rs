//! The sans-I/O core of wifiprov's captive web portal.
//!
//! Nothing here opens a socket or reads a clock: the agent's portal route feeds bytes, host
//! names, paths and instants in, and sends what comes out.
//!
//! - [`dns`]: the answer to every DNS query while the device is unprovisioned (every name is
//!   the portal), bounded and dropping what is not a plain query.
//! - [`probe`]: the connectivity-check URLs of Android, Apple, Windows and Firefox, and what
//!   to answer them before (show the sign-in sheet) and after success ("online").
//! - [`captive`]: the RFC 8908 captive-portal API document (`application/captive+json`).
//! - [`csrf`]: a per-run form token compared in constant time.
//! - [`limit`]: a token bucket for credential submissions.
//! - [`host`]: whether a `Host` header names the portal (otherwise the request is redirected).

pub mod captive;
pub mod csrf;
pub mod dns;
pub mod host;
pub mod limit;
pub mod probe;
