//! How a run ends: the failure type with its exit code, and the `--json` result object.

use std::fmt;

use serde::Serialize;
use wifiprov_client::{Connected, Error, FailReason, TransportError};

use crate::exit::Exit;

/// A failed run: the exit code, what went wrong, and what to do about it.
#[derive(Debug)]
pub struct Failure {
    /// The documented exit code.
    pub code: Exit,
    /// One line saying what went wrong.
    pub message: String,
    /// Why the device could not join, for Wi-Fi failures.
    pub reason: Option<FailReason>,
    /// What the user can do next.
    pub hint: Option<String>,
    /// The message was already shown (before a question about it): only the hint is left.
    pub shown: bool,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: Exit, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            reason: None,
            hint: None,
            shown: false,
        }
    }

    /// Standard output could not be written (see [`crate::output`]).
    pub fn output(error: anyhow::Error) -> Self {
        Self::new(crate::exit::classify(&error), crate::exit::message(&*error))
    }

    /// Bad usage (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// Adds advice for the user.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A client error met before the device ever answered: a timeout there means nothing
    /// listens at the address, so it counts as unreachable rather than as a timeout.
    pub fn first_contact(error: Error, device: &str) -> Self {
        match error {
            Error::Transport(TransportError::Timeout(d)) => Failure::new(
                Exit::Unreachable,
                format!("no answer from {device} within {d:?}"),
            ),
            other => other.into(),
        }
        .hint_unreachable(device)
    }

    fn hint_unreachable(self, device: &str) -> Self {
        if self.code != Exit::Unreachable {
            return self;
        }
        self.hint(format!(
            "check that this machine is on the device's network (for SoftAP provisioning, \
             join its PROV_… access point) and that {device} is right (--service_name)"
        ))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let code = Exit::from(error.exit_code());
        let mut failure = Failure::new(code, crate::exit::message(&error));
        match &error {
            Error::WifiFailed { reason, .. } => {
                failure.reason = Some(*reason);
                failure.hint = Some(
                    "provision again with the right details; a device that waits for a reset \
                     after a failure (ESP-IDF's default, not one that resets on failure) \
                     needs --reset first, which provision offers itself in a terminal"
                        .into(),
                );
            }
            _ if code == Exit::Auth => {
                failure.hint = Some(
                    "check --pop (security 1) or --sec2_username/--sec2_pwd (security 2); \
                     --sec_ver must match the device's scheme"
                        .into(),
                );
            }
            Error::Timeout(limit) => {
                failure.message = format!(
                    "the device reported no outcome within {:.1} s (still connecting)",
                    limit.as_secs_f64()
                );
                failure.hint = Some("wait longer with --timeout SECONDS".into());
            }
            _ => {}
        }
        failure
    }
}

/// The single JSON object `--json` prints. Every key is always present.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// Whether the run succeeded.
    pub ok: bool,
    /// The process exit code.
    pub exit_code: u8,
    /// `provision`, `reset` or `reprov`.
    pub action: &'static str,
    /// The device address (`host:port`).
    pub device: String,
    /// `prov.ver` of the device.
    pub protocol: Option<String>,
    /// The security scheme used.
    pub security: Option<u8>,
    /// The security 2 patch level the device announced.
    pub sec_patch_ver: Option<u32>,
    /// The network.
    pub ssid: Option<String>,
    /// The device's address on that network.
    pub ip: Option<String>,
    /// The access point it joined.
    pub bssid: Option<String>,
    /// Its channel.
    pub channel: Option<i32>,
    /// Its security.
    pub auth: Option<&'static str>,
    /// The reply of the `custom-data` endpoint.
    pub custom_data_reply: Option<String>,
    /// Where the device says to go next (Improv's redirect URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The error message on failure.
    pub error: Option<String>,
    /// Why the device could not join (`auth_error`, `network_not_found`, `other`).
    pub reason: Option<&'static str>,
    /// What to do about the failure.
    pub hint: Option<String>,
    /// Milliseconds since the command started.
    pub elapsed_ms: u64,
}

impl Outcome {
    /// Records where the device joined.
    pub fn connected(&mut self, c: &Connected) {
        self.ssid = Some(String::from_utf8_lossy(&c.ssid).into_owned());
        self.ip = Some(c.ip.clone());
        self.bssid = Some(c.bssid.to_string());
        self.channel = Some(c.channel);
        self.auth = Some(c.auth.label());
    }

    /// Records a failure.
    pub fn failed(&mut self, failure: &Failure) {
        self.ok = false;
        self.exit_code = failure.code.code();
        self.error = Some(failure.message.clone());
        self.reason = failure.reason.map(FailReason::key);
        self.hint = failure.hint.clone();
    }

    /// The object as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!("{{\"ok\":false,\"exit_code\":1,\"error\":\"cannot encode the result: {e}\"}}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn wifi_failures_keep_their_reason() {
        let failure = Failure::from(Error::WifiFailed {
            ssid: "HomeNet".into(),
            reason: FailReason::NetworkNotFound,
        });
        assert_eq!(failure.code, Exit::WifiFailed);
        let mut outcome = Outcome::default();
        outcome.failed(&failure);
        let json: serde_json::Value = serde_json::from_str(&outcome.to_json()).unwrap();
        assert_eq!(json["exit_code"], 5);
        assert_eq!(json["reason"], "network_not_found");
        assert!(json["ip"].is_null());
    }

    #[test]
    fn a_silent_first_contact_is_unreachable() {
        let failure = Failure::first_contact(
            Error::Transport(TransportError::Timeout(Duration::from_secs(5))),
            "10.0.0.9:80",
        );
        assert_eq!(failure.code, Exit::Unreachable);
        assert!(failure.hint.unwrap().contains("10.0.0.9:80"));
        let later = Failure::from(Error::Timeout(Duration::from_secs(1)));
        assert_eq!(later.code, Exit::Timeout);
        assert!(later.message.contains("1.0 s"), "{}", later.message);
    }
}
