//! Unsolicited messages wpa_supplicant sends to attached control sockets.
//!
//! Each message is one datagram `<N>TEXT`, where `N` is the message level (2 debug,
//! 3 info, 4 warning, …). [`WpaEvent::parse`] recognises the messages the backend acts on
//! and keeps everything else as [`WpaEvent::Other`].

use crate::Bssid;

use super::parse::printf_decode;

/// One unsolicited message from wpa_supplicant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WpaEvent {
    /// `CTRL-EVENT-CONNECTED - Connection to <bssid> completed [id=N id_str=…]`.
    Connected {
        /// The access point (on a wired link, the PAE group address).
        bssid: Option<Bssid>,
        /// The network id.
        id: Option<u32>,
    },
    /// `CTRL-EVENT-DISCONNECTED bssid=<bssid> reason=N [locally_generated=1]`.
    Disconnected {
        /// The access point left.
        bssid: Option<Bssid>,
        /// IEEE 802.11 reason code.
        reason: u16,
        /// Whether this station (not the access point) ended the link.
        locally_generated: bool,
    },
    /// `CTRL-EVENT-SSID-TEMP-DISABLED id=N ssid="…" auth_failures=N duration=N reason=R`.
    TempDisabled {
        /// The network id.
        id: Option<u32>,
        /// The SSID.
        ssid: Vec<u8>,
        /// Failed attempts so far.
        auth_failures: u32,
        /// Seconds the network stays disabled.
        duration: u32,
        /// `WRONG_KEY`, `CONN_FAILED`, `AUTH_FAILED`, …
        reason: String,
    },
    /// `CTRL-EVENT-SSID-REENABLED id=N ssid="…"`.
    Reenabled {
        /// The network id.
        id: Option<u32>,
    },
    /// `CTRL-EVENT-NETWORK-NOT-FOUND`: a scan found no enabled network.
    NetworkNotFound,
    /// `CTRL-EVENT-SCAN-STARTED`.
    ScanStarted,
    /// `CTRL-EVENT-SCAN-RESULTS`: new results are available.
    ScanResults,
    /// `CTRL-EVENT-SCAN-FAILED ret=N [retry=1]`.
    ScanFailed {
        /// The driver's (negative errno) result.
        ret: i32,
        /// Whether wpa_supplicant will retry by itself.
        retry: bool,
    },
    /// `CTRL-EVENT-ASSOC-REJECT bssid=<bssid> status_code=N [timeout] …`.
    AssocReject {
        /// The access point.
        bssid: Option<Bssid>,
        /// IEEE 802.11 status code.
        status_code: u16,
        /// The association timed out rather than being refused.
        timeout: bool,
    },
    /// `CTRL-EVENT-AUTH-REJECT <bssid> auth_type=N auth_transaction=N status_code=N`.
    AuthReject {
        /// The access point.
        bssid: Option<Bssid>,
        /// IEEE 802.11 status code.
        status_code: u16,
    },
    /// `Trying to associate with <bssid> (SSID='…' freq=N MHz)`, or the same after
    /// `SME: Trying to authenticate with`.
    Trying {
        /// The access point.
        bssid: Option<Bssid>,
        /// Its frequency in MHz.
        freq: Option<u32>,
    },
    /// `Associated with <bssid>`.
    Associated {
        /// The access point.
        bssid: Option<Bssid>,
    },
    /// `WPA: 4-Way Handshake failed - pre-shared key may be incorrect`.
    HandshakeFailed,
    /// `CTRL-EVENT-NETWORK-ADDED N`.
    NetworkAdded(u32),
    /// `CTRL-EVENT-NETWORK-REMOVED N`.
    NetworkRemoved(u32),
    /// `AP-ENABLED`: the access point is up.
    ApEnabled,
    /// `AP-DISABLED`: the access point is down.
    ApDisabled,
    /// `AP-STA-CONNECTED <mac>`.
    StationJoined(Option<Bssid>),
    /// `AP-STA-DISCONNECTED <mac>`.
    StationLeft(Option<Bssid>),
    /// `CTRL-EVENT-TERMINATING`: wpa_supplicant is exiting.
    Terminating,
    /// Any other message, without its level prefix.
    Other(String),
}

impl WpaEvent {
    /// Parses one message, with or without its `<N>` level prefix.
    pub fn parse(message: &str) -> WpaEvent {
        let text = strip_level(message).trim_end_matches(['\n', '\0']);
        let (name, rest) = text.split_once(' ').unwrap_or((text, ""));
        match name {
            "CTRL-EVENT-CONNECTED" => {
                let bssid = rest
                    .split_once("Connection to ")
                    .and_then(|(_, r)| first_word(r).parse().ok());
                WpaEvent::Connected {
                    bssid,
                    id: field(rest, "[id=").and_then(|v| v.parse().ok()),
                }
            }
            "CTRL-EVENT-DISCONNECTED" => WpaEvent::Disconnected {
                bssid: field(rest, "bssid=").and_then(|v| v.parse().ok()),
                reason: field(rest, "reason=")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                locally_generated: field(rest, "locally_generated=") == Some("1"),
            },
            "CTRL-EVENT-SSID-TEMP-DISABLED" => WpaEvent::TempDisabled {
                id: field(rest, "id=").and_then(|v| v.parse().ok()),
                ssid: quoted_ssid(rest),
                auth_failures: last_field(rest, "auth_failures=")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                duration: last_field(rest, "duration=")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                reason: last_field(rest, "reason=").unwrap_or("").to_owned(),
            },
            "CTRL-EVENT-SSID-REENABLED" => WpaEvent::Reenabled {
                id: field(rest, "id=").and_then(|v| v.parse().ok()),
            },
            "CTRL-EVENT-NETWORK-NOT-FOUND" => WpaEvent::NetworkNotFound,
            "CTRL-EVENT-SCAN-STARTED" => WpaEvent::ScanStarted,
            "CTRL-EVENT-SCAN-RESULTS" => WpaEvent::ScanResults,
            "CTRL-EVENT-SCAN-FAILED" => WpaEvent::ScanFailed {
                ret: field(rest, "ret=")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                retry: field(rest, "retry=") == Some("1"),
            },
            "CTRL-EVENT-ASSOC-REJECT" => WpaEvent::AssocReject {
                bssid: field(rest, "bssid=").and_then(|v| v.parse().ok()),
                status_code: field(rest, "status_code=")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                timeout: rest.split(' ').any(|w| w == "timeout"),
            },
            "CTRL-EVENT-AUTH-REJECT" => WpaEvent::AuthReject {
                bssid: first_word(rest).parse().ok(),
                status_code: field(rest, "status_code=")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            },
            "CTRL-EVENT-NETWORK-ADDED" => match first_word(rest).parse() {
                Ok(id) => WpaEvent::NetworkAdded(id),
                Err(_) => WpaEvent::Other(text.to_owned()),
            },
            "CTRL-EVENT-NETWORK-REMOVED" => match first_word(rest).parse() {
                Ok(id) => WpaEvent::NetworkRemoved(id),
                Err(_) => WpaEvent::Other(text.to_owned()),
            },
            "AP-ENABLED" => WpaEvent::ApEnabled,
            "AP-DISABLED" => WpaEvent::ApDisabled,
            "AP-STA-CONNECTED" => WpaEvent::StationJoined(first_word(rest).parse().ok()),
            "AP-STA-DISCONNECTED" => WpaEvent::StationLeft(first_word(rest).parse().ok()),
            "CTRL-EVENT-TERMINATING" => WpaEvent::Terminating,
            _ => parse_plain(text),
        }
    }
}

/// Messages without a `CTRL-EVENT-` style name.
fn parse_plain(text: &str) -> WpaEvent {
    let trying = text
        .strip_prefix("Trying to associate with ")
        .or_else(|| text.strip_prefix("SME: Trying to authenticate with "));
    if let Some(rest) = trying {
        // The SSID inside (SSID='…') is escaped but may contain "' freq=", so the
        // frequency is taken from the last occurrence.
        let freq = rest
            .rsplit_once(" freq=")
            .and_then(|(_, f)| first_word(f).parse().ok());
        return WpaEvent::Trying {
            bssid: first_word(rest).parse().ok(),
            freq,
        };
    }
    if let Some(rest) = text.strip_prefix("Associated with ") {
        return WpaEvent::Associated {
            bssid: first_word(rest).parse().ok(),
        };
    }
    if text.starts_with("WPA: 4-Way Handshake failed") {
        return WpaEvent::HandshakeFailed;
    }
    WpaEvent::Other(text.to_owned())
}

/// Removes a leading `<N>` level.
pub(crate) fn strip_level(message: &str) -> &str {
    message
        .strip_prefix('<')
        .and_then(|r| r.split_once('>'))
        .filter(|(level, _)| !level.is_empty() && level.bytes().all(|b| b.is_ascii_digit()))
        .map_or(message, |(_, rest)| rest)
}

fn first_word(s: &str) -> &str {
    s.split([' ', ']']).next().unwrap_or("")
}

/// The value after the first `key` at a word start (up to the next space or `]`).
fn field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(pos) = s.get(from..).and_then(|r| r.find(key)) {
        let at = from + pos;
        let word_start = at == 0 || s.get(..at).is_some_and(|b| b.ends_with([' ', '[']));
        if word_start || key.starts_with('[') {
            return s.get(at + key.len()..).map(first_word);
        }
        from = at + key.len();
    }
    None
}

/// Like [`field`], but the last occurrence (for fields after an SSID that may contain
/// anything).
fn last_field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let at = s.rfind(&format!(" {key}"))?;
    s.get(at + 1 + key.len()..).map(first_word)
}

/// The SSID in `ssid="…"`, where `"` inside is escaped as `\"`.
fn quoted_ssid(s: &str) -> Vec<u8> {
    let Some((_, rest)) = s.split_once("ssid=\"") else {
        return Vec::new();
    };
    let mut end = rest.len();
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                end = i;
                break;
            }
            _ => escaped = false,
        }
    }
    rest.get(..end).map(printf_decode).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_prefix() {
        assert_eq!(
            strip_level("<3>CTRL-EVENT-SCAN-RESULTS "),
            "CTRL-EVENT-SCAN-RESULTS "
        );
        assert_eq!(strip_level("<x>y"), "<x>y");
        assert_eq!(strip_level("PONG"), "PONG");
    }

    #[test]
    fn temp_disabled_with_tricky_ssid() {
        let ev = WpaEvent::parse(
            "<3>CTRL-EVENT-SSID-TEMP-DISABLED id=4 ssid=\"a\\\" reason=X b\" auth_failures=2 duration=20 reason=WRONG_KEY",
        );
        assert_eq!(
            ev,
            WpaEvent::TempDisabled {
                id: Some(4),
                ssid: b"a\" reason=X b".to_vec(),
                auth_failures: 2,
                duration: 20,
                reason: "WRONG_KEY".into(),
            }
        );
    }
}
