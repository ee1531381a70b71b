//! Text formats of the wpa_supplicant control interface: replies to `STATUS`,
//! `LIST_NETWORKS` and `SCAN_RESULTS`, the escaping wpa_supplicant applies to SSIDs, and the
//! values `SET_NETWORK` accepts.
//!
//! wpa_supplicant prints SSIDs byte by byte: printable ASCII (0x20–0x7e) as is, except `"`
//! and `\`, which are preceded by a backslash; tab, newline, carriage return and escape as
//! `\t`, `\n`, `\r`, `\e`; every other byte as `\xHH` with two lowercase hex digits.
//! [`printf_encode`] produces that form and [`printf_decode`] reverses it (also accepting
//! `\x` with one hex digit, up to three octal digits, and the raw byte 0x7f that older
//! versions print unescaped).
//!
//! `SET_NETWORK` takes strings either in double quotes (the bytes between the first and the
//! last quote, taken literally) or as an even number of hex digits; [`ssid_value`] picks the
//! quoted form for printable ASCII and hex for anything else.

use std::net::Ipv4Addr;

use crate::{AccessPoint, AuthMode, Bssid};

/// Encodes bytes as wpa_supplicant prints SSIDs (see the [module documentation](self)).
pub fn printf_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x1b => out.push_str("\\e"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// Decodes text printed by wpa_supplicant's SSID escaping back into bytes.
///
/// Unknown escapes are kept literally (backslash and character), and a trailing lone
/// backslash is kept as well, so no input is rejected.
pub fn printf_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&esc) = bytes.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match esc {
            b'\\' => out.push(b'\\'),
            b'"' => out.push(b'"'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'e' => out.push(0x1b),
            b'x' => {
                let hi = bytes.get(i).and_then(|&c| hex_digit(c));
                let lo = bytes.get(i + 1).and_then(|&c| hex_digit(c));
                match (hi, lo) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    (Some(h), None) => {
                        out.push(h);
                        i += 1;
                    }
                    _ => out.extend_from_slice(b"\\x"),
                }
            }
            b'0'..=b'7' => {
                let mut value = u32::from(esc - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

fn hex_digit(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Lowercase hex digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `SET_NETWORK … ssid` value for `ssid`: `"text"` when every byte is printable ASCII,
/// otherwise the hex digits (which is also how wpa_supplicant saves such SSIDs).
pub fn ssid_value(ssid: &[u8]) -> String {
    if !ssid.is_empty() && ssid.iter().all(|b| (0x20..=0x7e).contains(b)) {
        let mut out = String::with_capacity(ssid.len() + 2);
        out.push('"');
        out.extend(ssid.iter().map(|&b| char::from(b)));
        out.push('"');
        out
    } else {
        hex(ssid)
    }
}

/// The Wi-Fi channel of a centre frequency in MHz (2.4, 4.9, 5, 6 and 60 GHz bands);
/// 0 when the frequency belongs to none of them.
pub fn frequency_to_channel(freq: u32) -> u8 {
    let channel = match freq {
        2412..=2472 if (freq - 2407).is_multiple_of(5) => (freq - 2407) / 5,
        2484 => 14,
        4910..=4980 if freq.is_multiple_of(5) => (freq - 4000) / 5,
        5005..=5895 if freq.is_multiple_of(5) => (freq - 5000) / 5,
        5955..=7115 if (freq - 5950).is_multiple_of(5) => (freq - 5950) / 5,
        58320..=70200 if (freq - 56160).is_multiple_of(2160) => (freq - 56160) / 2160,
        _ => 0,
    };
    u8::try_from(channel).unwrap_or(0)
}

/// The centre frequency in MHz of a 2.4 GHz (1–14) or 5 GHz (32–177) channel.
pub fn channel_to_frequency(channel: u8) -> Option<u32> {
    let ch = u32::from(channel);
    match channel {
        1..=13 => Some(2407 + 5 * ch),
        14 => Some(2484),
        32..=177 => Some(5000 + 5 * ch),
        _ => None,
    }
}

/// The security of a scanned network from its `SCAN_RESULTS` flags, such as
/// `[WPA2-PSK-CCMP][ESS]`, `[WPA2-PSK+SAE-CCMP][ESS]` or `[WEP][ESS]`.
///
/// Any EAP key management makes it enterprise; SAE with PSK is the WPA2/WPA3 transition
/// mode, SAE alone WPA3; PSK in both a `WPA-` and a `WPA2-` element is WPA/WPA2 mixed; a
/// network announcing only OWE is `Other(9)` (ESP-IDF's OWE number). `[OWE-TRANS-OPEN]`
/// and networks without any security element are open; an element wpa_supplicant could
/// not parse (`[WPA2-?]`) gives `Other(255)`.
pub fn auth_from_flags(flags: &str) -> AuthMode {
    let mut wpa_psk = false;
    let mut rsn_psk = false;
    let mut sae = false;
    let mut eap = false;
    let mut owe = false;
    let mut wep = false;
    let mut unknown = false;
    for element in flags.split(['[', ']']).filter(|e| !e.is_empty()) {
        if element == "WEP" {
            wep = true;
            continue;
        }
        let (proto, rest) = match element.split_once('-') {
            Some((p @ ("WPA" | "WPA2" | "RSN" | "OSEN"), rest)) => (p, rest),
            _ => continue,
        };
        // rest: "<key mgmt names joined by '+'>-<ciphers>[-preauth]"; names may contain
        // '-' themselves (PSK-SHA256), so they are recognised by prefix.
        for name in rest.split('+') {
            let name = name.trim_start_matches("FT/");
            if name.starts_with("PSK") {
                if proto == "WPA" {
                    wpa_psk = true;
                } else {
                    rsn_psk = true;
                }
            } else if name.starts_with("SAE") {
                sae = true;
            } else if name.starts_with("EAP") || name.contains("FILS") || name == "OSEN" {
                eap = true;
            } else if name.starts_with("OWE") {
                owe = true;
            } else if name.starts_with('?') {
                unknown = true;
            }
        }
        if proto == "OSEN" {
            eap = true;
        }
    }
    if sae && (rsn_psk || wpa_psk) {
        AuthMode::Wpa2Wpa3Psk
    } else if sae {
        AuthMode::Wpa3Psk
    } else if wpa_psk && rsn_psk {
        AuthMode::WpaWpa2Psk
    } else if rsn_psk {
        AuthMode::Wpa2Psk
    } else if wpa_psk {
        AuthMode::WpaPsk
    } else if eap {
        AuthMode::Wpa2Enterprise
    } else if owe {
        AuthMode::Other(9)
    } else if unknown {
        AuthMode::Other(255)
    } else if wep {
        AuthMode::Wep
    } else {
        AuthMode::Open
    }
}

/// The security of the current link from `STATUS` `key_mgmt=` (and `pairwise_cipher=`,
/// which tells WEP from open).
pub fn auth_from_key_mgmt(key_mgmt: &str, pairwise_cipher: Option<&str>) -> AuthMode {
    match key_mgmt {
        "NONE" => {
            if pairwise_cipher.is_some_and(|c| c.starts_with("WEP")) {
                AuthMode::Wep
            } else {
                AuthMode::Open
            }
        }
        "SAE" | "FT-SAE" | "SAE-EXT-KEY" | "FT-SAE-EXT-KEY" => AuthMode::Wpa3Psk,
        "WPA-PSK" => AuthMode::WpaPsk,
        "WPA2-PSK" | "FT-PSK" | "WPA2-PSK-SHA256" => AuthMode::Wpa2Psk,
        "OWE" => AuthMode::Other(9),
        k if k.contains("EAP") || k.contains("802.1X") || k.contains("FILS") => {
            AuthMode::Wpa2Enterprise
        }
        _ => AuthMode::Other(255),
    }
}

/// Parses a `SCAN_RESULTS` reply: a header line, then one line per BSS with tab-separated
/// BSSID, frequency (MHz), signal level (dBm), flags and escaped SSID. Lines that do not
/// have that shape are skipped; an SSID of NUL bytes only (a hidden network) becomes empty.
pub fn parse_scan_results(text: &str) -> Vec<AccessPoint> {
    text.lines().filter_map(parse_scan_line).collect()
}

fn parse_scan_line(line: &str) -> Option<AccessPoint> {
    let mut fields = line.splitn(5, '\t');
    let bssid: Bssid = fields.next()?.parse().ok()?;
    let freq: u32 = fields.next()?.trim().parse().ok()?;
    let level: i32 = fields.next()?.trim().parse().ok()?;
    let flags = fields.next()?;
    let mut ssid = fields.next().map(printf_decode).unwrap_or_default();
    // Hidden networks may announce their SSID's length as NUL bytes.
    if ssid.iter().all(|&b| b == 0) {
        ssid.clear();
    }
    let rssi = i8::try_from(level.clamp(i32::from(i8::MIN), i32::from(i8::MAX))).ok()?;
    Some(AccessPoint {
        ssid,
        bssid,
        channel: frequency_to_channel(freq),
        rssi,
        auth: auth_from_flags(flags),
    })
}

/// One network block, as listed by `LIST_NETWORKS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkEntry {
    /// The network id (used by `SELECT_NETWORK`, `REMOVE_NETWORK`, …).
    pub id: u32,
    /// SSID bytes.
    pub ssid: Vec<u8>,
    /// The BSSID the block is pinned to, if any.
    pub bssid: Option<Bssid>,
    /// `[CURRENT]`: the network in use.
    pub current: bool,
    /// `[DISABLED]`: not considered for automatic selection.
    pub disabled: bool,
    /// `[TEMP-DISABLED]`: disabled for a while after failed attempts.
    pub temp_disabled: bool,
}

/// Parses a `LIST_NETWORKS` reply (header line, then `id\tssid\tbssid\tflags` lines).
pub fn parse_list_networks(text: &str) -> Vec<NetworkEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let id = fields.next()?.trim().parse().ok()?;
            let ssid = printf_decode(fields.next()?);
            let bssid = fields.next().and_then(|b| b.parse().ok());
            let flags = fields.next().unwrap_or("");
            Some(NetworkEntry {
                id,
                ssid,
                bssid,
                current: flags.contains("[CURRENT]"),
                disabled: flags.contains("[DISABLED]"),
                temp_disabled: flags.contains("[TEMP-DISABLED]"),
            })
        })
        .collect()
}

/// The parts of a `STATUS` reply this backend uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// `wpa_state=` (`DISCONNECTED`, `SCANNING`, `ASSOCIATING`, `4WAY_HANDSHAKE`,
    /// `COMPLETED`, …).
    pub wpa_state: String,
    /// `ssid=`, decoded.
    pub ssid: Option<Vec<u8>>,
    /// `bssid=`.
    pub bssid: Option<Bssid>,
    /// `freq=` in MHz.
    pub freq: Option<u32>,
    /// `id=`: the network id in use.
    pub id: Option<u32>,
    /// `mode=` (`station`, `AP`, …).
    pub mode: Option<String>,
    /// `key_mgmt=` (`NONE`, `WPA2-PSK`, `SAE`, …).
    pub key_mgmt: Option<String>,
    /// `pairwise_cipher=`.
    pub pairwise_cipher: Option<String>,
    /// `ip_address=`: the interface's IPv4 address, once it has one.
    pub ip_address: Option<Ipv4Addr>,
    /// `address=`: the interface's own MAC address.
    pub address: Option<Bssid>,
}

impl Status {
    /// The security of the link described by this status.
    pub fn auth(&self) -> Option<AuthMode> {
        self.key_mgmt
            .as_deref()
            .map(|k| auth_from_key_mgmt(k, self.pairwise_cipher.as_deref()))
    }
}

/// Parses a `STATUS` reply (`key=value` lines; unknown keys are ignored).
pub fn parse_status(text: &str) -> Status {
    let mut status = Status::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key {
            "wpa_state" => status.wpa_state = value.to_owned(),
            "ssid" => status.ssid = Some(printf_decode(value)),
            "bssid" => status.bssid = value.parse().ok(),
            "freq" => status.freq = value.parse().ok(),
            "id" => status.id = value.parse().ok(),
            "mode" => status.mode = Some(value.to_owned()),
            "key_mgmt" => status.key_mgmt = Some(value.to_owned()),
            "pairwise_cipher" => status.pairwise_cipher = Some(value.to_owned()),
            "ip_address" => status.ip_address = value.parse().ok(),
            "address" => status.address = value.parse().ok(),
            _ => {}
        }
    }
    status
}

/// `RSSI=` from a `SIGNAL_POLL` reply.
pub fn parse_signal_rssi(text: &str) -> Option<i8> {
    text.lines()
        .find_map(|l| l.strip_prefix("RSSI="))
        .and_then(|v| v.trim().parse::<i32>().ok())
        .and_then(|v| i8::try_from(v.clamp(i32::from(i8::MIN), i32::from(i8::MAX))).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip_every_byte() {
        let all: Vec<u8> = (0..=255u8).collect();
        let text = printf_encode(&all);
        assert!(text.is_ascii());
        assert_eq!(printf_decode(&text), all);
    }

    #[test]
    fn escape_forms() {
        assert_eq!(
            printf_encode(b"a\"b\\c\td\x1b\x7f\xc3\xa9"),
            "a\\\"b\\\\c\\td\\e\\x7f\\xc3\\xa9"
        );
        assert_eq!(printf_decode("\\x4"), vec![4]);
        assert_eq!(printf_decode("\\101\\0"), b"A\0".to_vec());
        assert_eq!(printf_decode("a\\qb\\"), b"a\\qb\\".to_vec());
        assert_eq!(printf_decode("\x7f"), vec![0x7f]);
    }

    #[test]
    fn ssid_values() {
        assert_eq!(ssid_value(b"Home \"Net\""), "\"Home \"Net\"\"");
        assert_eq!(ssid_value("Café".as_bytes()), "436166c3a9");
        assert_eq!(ssid_value(b"a\tb"), "610962");
    }

    #[test]
    fn channels() {
        assert_eq!(frequency_to_channel(2412), 1);
        assert_eq!(frequency_to_channel(2472), 13);
        assert_eq!(frequency_to_channel(2484), 14);
        assert_eq!(frequency_to_channel(5180), 36);
        assert_eq!(frequency_to_channel(5825), 165);
        assert_eq!(frequency_to_channel(5955), 1);
        assert_eq!(frequency_to_channel(0), 0);
        assert_eq!(frequency_to_channel(2413), 0);
        for ch in (1..=14).chain(36..=165) {
            if let Some(f) = channel_to_frequency(ch) {
                assert_eq!(frequency_to_channel(f), ch);
            }
        }
    }
}
