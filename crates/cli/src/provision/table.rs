//! The scan result as a numbered table or as JSON.

use serde::Serialize;
use wifiprov_wifi::{AccessPoint, AuthMode};

/// A security label for any ESP-IDF auth mode number, including the ones newer esp_wifi
/// releases added (esp_prov crashes on those).
pub fn auth_label(auth: AuthMode) -> String {
    match auth {
        AuthMode::Other(10) => "WPA3-Enterprise-192".into(),
        AuthMode::Other(11) => "WPA3-ExtPSK".into(),
        AuthMode::Other(12) => "WPA3-ExtPSK/mixed".into(),
        AuthMode::Other(13) => "DPP".into(),
        AuthMode::Other(n) if n > 9 => format!("unknown ({n})"),
        known => known.label().into(),
    }
}

/// An SSID for display: lossy UTF-8 with control characters escaped (an SSID is 32
/// arbitrary bytes and must not drive the terminal); `(hidden)` when empty.
pub fn display_ssid(ssid: &[u8]) -> String {
    if ssid.is_empty() {
        return "(hidden)".into();
    }
    String::from_utf8_lossy(ssid)
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Four signal bars from the RSSI.
fn bars(rssi: i8, unicode: bool) -> &'static str {
    let level = match rssi {
        r if r >= -55 => 4,
        r if r >= -67 => 3,
        r if r >= -78 => 2,
        _ => 1,
    };
    match (unicode, level) {
        (true, 4) => "▂▄▆█",
        (true, 3) => "▂▄▆_",
        (true, 2) => "▂▄__",
        (true, _) => "▂___",
        (false, 4) => "####",
        (false, 3) => "###-",
        (false, 2) => "##--",
        (false, _) => "#---",
    }
}

/// Pads `text` with spaces to `width` characters.
fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}

/// The table, numbered from 1, one line per access point (with a trailing newline).
pub fn render(aps: &[AccessPoint], unicode: bool) -> String {
    let mut out = format!(
        "{:>3}  {}  {:<17}  {:>3}  {:<13}  {}\n",
        "#",
        pad("SSID", 32),
        "BSSID",
        "CH",
        "SIGNAL",
        "SECURITY"
    );
    for (i, ap) in aps.iter().enumerate() {
        // Improv scans give neither BSSID nor channel.
        let (bssid, channel) = if ap.channel == 0 && ap.bssid.0 == [0; 6] {
            ("-".to_string(), "-".to_string())
        } else {
            (ap.bssid.to_string(), ap.channel.to_string())
        };
        out.push_str(&format!(
            "{:>3}  {}  {:<17}  {:>3}  {:>4} dBm {}  {}\n",
            i + 1,
            pad(&display_ssid(&ap.ssid), 32),
            bssid,
            channel,
            ap.rssi,
            bars(ap.rssi, unicode),
            auth_label(ap.auth)
        ));
    }
    out
}

/// One access point in `wifiprov scan --json`.
#[derive(Debug, Serialize)]
pub struct JsonAp {
    /// SSID (lossy UTF-8; empty for a hidden network).
    pub ssid: String,
    /// BSSID, `aa:bb:cc:dd:ee:ff`.
    pub bssid: String,
    /// Channel.
    pub channel: u8,
    /// Signal in dBm.
    pub rssi: i8,
    /// Security label.
    pub auth: String,
    /// ESP-IDF `wifi_auth_mode_t` number.
    pub auth_mode: u8,
}

/// The scan as a JSON array.
pub fn to_json(aps: &[AccessPoint]) -> String {
    let list: Vec<JsonAp> = aps
        .iter()
        .map(|ap| JsonAp {
            ssid: String::from_utf8_lossy(&ap.ssid).into_owned(),
            bssid: ap.bssid.to_string(),
            channel: ap.channel,
            rssi: ap.rssi,
            auth: auth_label(ap.auth),
            auth_mode: ap.auth.esp_number(),
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wifiprov_wifi::Bssid;

    fn ap(ssid: &[u8], auth: u8, rssi: i8) -> AccessPoint {
        AccessPoint {
            ssid: ssid.to_vec(),
            bssid: Bssid([0x24, 0x0a, 0xc4, 1, 2, 3]),
            channel: 6,
            rssi,
            auth: AuthMode::from_esp_number(auth),
        }
    }

    #[test]
    fn unknown_auth_modes_are_labelled() {
        assert_eq!(auth_label(AuthMode::from_esp_number(3)), "WPA2");
        assert_eq!(auth_label(AuthMode::from_esp_number(8)), "WAPI");
        assert_eq!(auth_label(AuthMode::from_esp_number(9)), "OWE");
        assert_eq!(auth_label(AuthMode::from_esp_number(11)), "WPA3-ExtPSK");
        assert_eq!(auth_label(AuthMode::from_esp_number(200)), "unknown (200)");
    }

    #[test]
    fn table_rows() {
        let table = render(
            &[
                ap(b"HomeNet", 3, -42),
                ap(b"", 0, -90),
                ap(b"evil\x1b[2J", 12, -60),
                ap(b"Caf\xc3\xa9", 200, -70),
            ],
            true,
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("  #  SSID"));
        assert!(lines[1].starts_with("  1  HomeNet "), "{table}");
        assert!(lines[1].contains("24:0a:c4:01:02:03"));
        assert!(lines[1].ends_with("-42 dBm ▂▄▆█  WPA2"), "{table}");
        assert!(lines[2].contains("(hidden)") && lines[2].ends_with("open"));
        assert!(!table.contains('\x1b'), "control characters are escaped");
        assert!(lines[3].contains("evil\\u{1b}[2J"));
        assert!(lines[4].contains("Café") && lines[4].ends_with("unknown (200)"));
        // Columns line up whatever the SSID.
        let at = |l: &str| l.find("24:0a").map(|b| l[..b].chars().count());
        assert_eq!(at(lines[1]), at(lines[4]));
        assert!(render(&[ap(b"x", 3, -80)], false).contains("#---"));
    }

    #[test]
    fn json_entries() {
        let json: serde_json::Value =
            serde_json::from_str(&to_json(&[ap(b"HomeNet", 3, -42), ap(b"", 9, -70)])).unwrap();
        assert_eq!(json[0]["ssid"], "HomeNet");
        assert_eq!(json[0]["auth_mode"], 3);
        assert_eq!(json[1]["auth"], "OWE");
        assert_eq!(json[1]["rssi"], -70);
    }
}
