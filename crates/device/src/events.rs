//! Typed provisioning events, in ESP-IDF's order (`WIFI_PROV_INIT` … `WIFI_PROV_DEINIT`).

use std::fmt;

use serde::Serialize;
use wifiprov_wifi::{ConnectError, LinkStatus};

/// Why the station gave up on the credentials, as reported on the wire and in events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// Wrong passphrase (or another authentication failure).
    AuthError,
    /// No access point with that SSID.
    NetworkNotFound,
}

impl FailReason {
    /// The `WifiConnectFailedReason` number.
    pub fn wire(self) -> i32 {
        match self {
            FailReason::AuthError => 0,
            FailReason::NetworkNotFound => 1,
        }
    }

    /// Maps a backend failure to the reason the protocol can carry.
    pub fn from_error(error: &ConnectError) -> Self {
        if error.is_network_not_found() {
            FailReason::NetworkNotFound
        } else {
            FailReason::AuthError
        }
    }
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailReason::AuthError => "authentication failed (wrong passphrase?)",
            FailReason::NetworkNotFound => "network not found",
        })
    }
}

/// Something the Manager did, broadcast to every subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProvEvent {
    /// The Manager was created.
    Init,
    /// The provisioning service is serving (also after a re-provision request).
    Start,
    /// Credentials were accepted by ApplyConfig and will be tried.
    CredRecv {
        /// The network (text, lossy).
        ssid: String,
    },
    /// The station gave up on the credentials.
    CredFail {
        /// The reason carried on the wire.
        reason: FailReason,
        /// The backend's full explanation.
        detail: String,
    },
    /// The station joined the network.
    CredSuccess {
        /// The network (text, lossy).
        ssid: String,
        /// The address obtained.
        ip: String,
    },
    /// The provisioning service stopped.
    End,
    /// The Manager was torn down.
    Deinit,
}

impl ProvEvent {
    /// The event's name (`init`, `start`, `cred_recv`, `cred_fail`, `cred_success`, `end`,
    /// `deinit`).
    pub fn name(&self) -> &'static str {
        match self {
            ProvEvent::Init => "init",
            ProvEvent::Start => "start",
            ProvEvent::CredRecv { .. } => "cred_recv",
            ProvEvent::CredFail { .. } => "cred_fail",
            ProvEvent::CredSuccess { .. } => "cred_success",
            ProvEvent::End => "end",
            ProvEvent::Deinit => "deinit",
        }
    }

    /// The event's details as `(key, value)` pairs (for JSON lines and hook environments).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            ProvEvent::CredRecv { ssid } => vec![("ssid", ssid.clone())],
            ProvEvent::CredFail { reason, detail } => vec![
                (
                    "reason",
                    serde_json::to_value(reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                ),
                ("detail", detail.clone()),
            ],
            ProvEvent::CredSuccess { ssid, ip } => vec![("ssid", ssid.clone()), ("ip", ip.clone())],
            _ => Vec::new(),
        }
    }

    /// One JSON object, the event name first and then its fields in a fixed order:
    /// `{"event":"cred_fail","reason":"auth_error","detail":"…"}`.
    pub fn to_json(&self) -> String {
        let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        let mut out = format!("{{\"event\":{}", quote(self.name()));
        for (key, value) in self.fields() {
            out.push_str(&format!(",{}:{}", quote(key), quote(&value)));
        }
        out.push('}');
        out
    }

    pub(crate) fn success(link: &LinkStatus) -> Self {
        ProvEvent::CredSuccess {
            ssid: String::from_utf8_lossy(&link.ssid).into_owned(),
            ip: link.ip.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines() {
        let e = ProvEvent::CredFail {
            reason: FailReason::NetworkNotFound,
            detail: "x".into(),
        };
        assert_eq!(
            e.to_json(),
            r#"{"event":"cred_fail","reason":"network_not_found","detail":"x"}"#
        );
        assert_eq!(ProvEvent::Start.to_json(), r#"{"event":"start"}"#);
    }
}
