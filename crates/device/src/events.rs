//! Typed provisioning events, in ESP-IDF's order (`WIFI_PROV_INIT` … `WIFI_PROV_DEINIT`).

use wifiprov_types::Escaped;
use wifiprov_wifi::LinkStatus;

pub use crate::error::FailReason;
use crate::error::ProvError;

/// Something the Manager did, broadcast to every subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProvEvent {
    /// The Manager was created.
    Init,
    /// The provisioning service is serving (also after a re-provision request).
    Start,
    /// Credentials were accepted (and stored) and will be tried.
    CredRecv {
        /// The network's SSID bytes.
        ssid: Vec<u8>,
    },
    /// The credentials were not taken into use: the station gave up on them, or they could
    /// not be stored (never [`ProvError::Refused`]).
    CredFail {
        /// Why.
        error: ProvError,
    },
    /// The station joined the network.
    CredSuccess {
        /// The link: network, access point, channel, security, address, signal.
        link: LinkStatus,
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

    /// The event's details as `(key, value)` pairs (for JSON lines and hook environments):
    ///
    /// * `cred_recv`: `ssid`;
    /// * `cred_fail`: `reason` ([`ProvError::reason_key`]: `auth_error`,
    ///   `network_not_found` or `store_error`), `detail` (the full explanation) and, when
    ///   the failure names the network (a connection failure, [`ProvError::ssid`]), `ssid`;
    /// * `cred_success`: `ssid` and `ip` (dotted quad).
    ///
    /// SSIDs are written with [`ssid_text`]: text as it is when the SSID is printable UTF-8,
    /// `\xNN` for each byte that is not UTF-8 or belongs to a control character, `\\` for a
    /// backslash.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            ProvEvent::CredRecv { ssid } => vec![("ssid", ssid_text(ssid))],
            ProvEvent::CredFail { error } => {
                let mut fields = vec![
                    ("reason", error.reason_key().to_string()),
                    ("detail", error.to_string()),
                ];
                if let Some(ssid) = error.ssid() {
                    fields.push(("ssid", ssid_text(ssid.as_bytes())));
                }
                fields
            }
            ProvEvent::CredSuccess { link } => {
                vec![("ssid", ssid_text(&link.ssid)), ("ip", link.ip.to_string())]
            }
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
}

/// An SSID (bytes) as one line of text that loses nothing, as [`Escaped`] writes it: UTF-8
/// text as it is, `\\` for a backslash, and `\xNN` (two lowercase hex digits) for each byte
/// that is not UTF-8 and for each byte of a control character. `b"Caf\xe9"` becomes
/// `Caf\xe9`, `b"a\\b"` becomes `a\\b`, and `"Café"` stays `Café`.
pub fn ssid_text(ssid: &[u8]) -> String {
    Escaped(ssid).to_string()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use wifiprov_wifi::{AuthMode, Bssid, ConnectError};

    use super::*;

    #[test]
    fn json_lines() {
        let e = ProvEvent::CredFail {
            error: ProvError::Connect(ConnectError::NetworkNotFound { ssid: "x".into() }),
        };
        assert_eq!(
            e.to_json(),
            r#"{"event":"cred_fail","reason":"network_not_found","detail":"network \"x\" not found","ssid":"x"}"#
        );
        let e = ProvEvent::CredFail {
            error: ProvError::Connect(ConnectError::AuthFailed { ssid: "x".into() }),
        };
        assert!(
            e.to_json()
                .starts_with(r#"{"event":"cred_fail","reason":"auth_error","#)
        );
        assert_eq!(ProvEvent::Start.to_json(), r#"{"event":"start"}"#);
        let link = LinkStatus {
            ssid: b"Caf\xe9".to_vec(),
            bssid: Bssid([1, 2, 3, 4, 5, 6]),
            channel: 6,
            auth: AuthMode::Wpa2Psk,
            ip: Ipv4Addr::new(192, 168, 1, 42),
            rssi: -40,
        };
        assert_eq!(
            ProvEvent::CredSuccess { link }.to_json(),
            r#"{"event":"cred_success","ssid":"Caf\\xe9","ip":"192.168.1.42"}"#
        );
        assert_eq!(
            ProvEvent::CredRecv {
                ssid: b"HomeNet".to_vec()
            }
            .to_json(),
            r#"{"event":"cred_recv","ssid":"HomeNet"}"#
        );
    }

    #[test]
    fn ssid_text_escapes_only_what_is_not_text() {
        assert_eq!(ssid_text("Café".as_bytes()), "Café");
        assert_eq!(ssid_text(b"Caf\xe9"), "Caf\\xe9");
        assert_eq!(ssid_text(b"a\\b"), "a\\\\b");
        assert_eq!(ssid_text(b"\xff\xfe"), "\\xff\\xfe");
        assert_eq!(ssid_text(b"a\nb"), "a\\x0ab");
        assert_eq!(ssid_text(b""), "");
    }
}
