//! The `proto-ver` endpoint: the device's version and capability document.
//!
//! The device answers every `proto-ver` request with a JSON document in the exact layout of
//! cJSON's formatted printer (TAB indentation, `":"` followed by a TAB, arrays on one line with
//! `", "` separators, no trailing newline). Application entries come first, in the order they
//! were added, then `"prov"`:
//!
//! ```text
//! {
//! →"my_app":→{
//! →→"ver":→"1.0",
//! →→"cap":→["cap_a", "cap_b"]
//! →},
//! →"prov":→{
//! →→"ver":→"v1.1",
//! →→"sec_ver":→2,
//! →→"sec_patch_ver":→1,
//! →→"cap":→["wifi_scan"]
//! →}
//! }
//! ```
//!
//! Clients must parse, not compare: older firmware replies with plain text, or omits
//! `sec_ver` / `sec_patch_ver`. [`PeerVersion::parse`] accepts all of those.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

/// The manager version string of the baseline ESP-IDF revision.
pub const MANAGER_VERSION: &str = "v1.1";
/// Capability: security 0.
pub const CAP_NO_SEC: &str = "no_sec";
/// Capability: security 1 without proof of possession.
pub const CAP_NO_POP: &str = "no_pop";
/// Capability: the device can scan for networks.
pub const CAP_WIFI_SCAN: &str = "wifi_scan";
/// The application entry wifiprov's agents add to `proto-ver` (ESP-IDF's devices have none).
pub const APP_WIFIPROV: &str = "wifiprov";
/// Capability in the [`APP_WIFIPROV`] entry: after a failed connection the device takes new
/// credentials at once, without a reset command.
pub const CAP_RETRY_WITHOUT_RESET: &str = "retry_without_reset";

/// One application entry (`wifi_prov_mgr_set_app_info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppInfo {
    /// The JSON key.
    pub label: String,
    /// Its `"ver"`.
    pub version: String,
    /// Its `"cap"` list.
    pub capabilities: Vec<String>,
}

/// The device's version document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// Application entries, printed before `"prov"` in this order.
    pub app_info: Vec<AppInfo>,
    /// `prov.ver`.
    pub version: String,
    /// `prov.sec_ver`.
    pub sec_ver: u8,
    /// `prov.sec_patch_ver`.
    pub sec_patch_ver: u32,
    /// `prov.cap`.
    pub capabilities: Vec<String>,
}

impl VersionInfo {
    /// The document ESP-IDF's manager publishes for a scheme: `no_sec` for security 0,
    /// `no_pop` for security 1 without PoP, then `wifi_scan`.
    pub fn for_security(sec_ver: u8, sec_patch_ver: u32, no_pop: bool) -> Self {
        let mut capabilities = Vec::new();
        if sec_ver == 0 {
            capabilities.push(CAP_NO_SEC.to_string());
        } else if sec_ver == 1 && no_pop {
            capabilities.push(CAP_NO_POP.to_string());
        }
        capabilities.push(CAP_WIFI_SCAN.to_string());
        VersionInfo {
            app_info: Vec::new(),
            version: MANAGER_VERSION.to_string(),
            sec_ver,
            sec_patch_ver,
            capabilities,
        }
    }

    /// Renders the document byte for byte as the device does.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n");
        let mut first = true;
        for app in &self.app_info {
            if !first {
                out.push_str(",\n");
            }
            first = false;
            out.push('\t');
            push_string(&mut out, &app.label);
            out.push_str(":\t{\n\t\t\"ver\":\t");
            push_string(&mut out, &app.version);
            out.push_str(",\n\t\t\"cap\":\t");
            push_array(&mut out, &app.capabilities);
            out.push_str("\n\t}");
        }
        if !first {
            out.push_str(",\n");
        }
        out.push_str("\t\"prov\":\t{\n\t\t\"ver\":\t");
        push_string(&mut out, &self.version);
        let _ = write!(
            out,
            ",\n\t\t\"sec_ver\":\t{},\n\t\t\"sec_patch_ver\":\t{},\n\t\t\"cap\":\t",
            self.sec_ver, self.sec_patch_ver
        );
        push_array(&mut out, &self.capabilities);
        out.push_str("\n\t}\n}");
        out
    }
}

fn push_array(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_string(out, item);
    }
    out.push(']');
}

/// Writes a JSON string literal with cJSON's escapes.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What a client learned from a device's `proto-ver` reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerVersion {
    /// `prov.ver`, or the whole reply when it was plain text.
    pub version: Option<String>,
    /// `prov.sec_ver` when present.
    pub sec_ver: Option<u8>,
    /// `prov.sec_patch_ver` (0 when absent).
    pub sec_patch_ver: u32,
    /// `prov.cap`.
    pub capabilities: Vec<String>,
    /// Other top-level entries shaped like application info.
    pub app_info: Vec<AppInfo>,
    /// False when the reply was not JSON (very old firmware).
    pub is_json: bool,
}

impl PeerVersion {
    /// Parses a reply tolerantly: JSON with or without `sec_ver` / `sec_patch_ver`, extra
    /// application sections, or plain text. Never fails; unknown shapes yield defaults.
    pub fn parse(reply: &[u8]) -> Self {
        let text = String::from_utf8_lossy(reply);
        let Ok(serde_json::Value::Object(root)) = serde_json::from_str::<serde_json::Value>(&text)
        else {
            let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
            return PeerVersion {
                version: (!trimmed.is_empty()).then(|| trimmed.to_string()),
                ..PeerVersion::default()
            };
        };
        let mut peer = PeerVersion {
            is_json: true,
            ..PeerVersion::default()
        };
        for (key, value) in &root {
            let Some(obj) = value.as_object() else {
                continue;
            };
            let version = obj.get("ver").and_then(|v| v.as_str()).map(str::to_string);
            let capabilities: Vec<String> = obj
                .get("cap")
                .and_then(|c| c.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if key == "prov" {
                peer.version = version;
                peer.sec_ver = obj
                    .get("sec_ver")
                    .and_then(|v| v.as_u64())
                    .and_then(|v| u8::try_from(v).ok());
                peer.sec_patch_ver = obj
                    .get("sec_patch_ver")
                    .and_then(|v| v.as_u64())
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(0);
                peer.capabilities = capabilities;
            } else {
                peer.app_info.push(AppInfo {
                    label: key.clone(),
                    version: version.unwrap_or_default(),
                    capabilities,
                });
            }
        }
        peer
    }

    /// Whether `prov.cap` lists `cap`.
    pub fn has_capability(&self, cap: &str) -> bool {
        self.capabilities.iter().any(|c| c == cap)
    }

    /// The security scheme to use: `sec_ver` when present, else security 0 if `no_sec` is
    /// listed, else security 1 (what pre-security-2 firmware means).
    pub fn security(&self) -> u8 {
        match self.sec_ver {
            Some(v) => v,
            None if self.has_capability(CAP_NO_SEC) => 0,
            None => 1,
        }
    }

    /// Whether a security 1 session needs a proof of possession.
    pub fn needs_pop(&self) -> bool {
        !self.has_capability(CAP_NO_POP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec2_document_matches_the_device() {
        let json = VersionInfo::for_security(2, 1, false).to_json();
        assert_eq!(
            json,
            "{\n\t\"prov\":\t{\n\t\t\"ver\":\t\"v1.1\",\n\t\t\"sec_ver\":\t2,\n\t\t\"sec_patch_ver\":\t1,\n\t\t\"cap\":\t[\"wifi_scan\"]\n\t}\n}"
        );
        assert_eq!(json.len(), 95);
    }

    #[test]
    fn capability_variants_have_the_documented_sizes() {
        assert_eq!(VersionInfo::for_security(1, 0, true).to_json().len(), 105);
        assert_eq!(VersionInfo::for_security(0, 0, false).to_json().len(), 105);
        assert!(
            VersionInfo::for_security(0, 0, false)
                .to_json()
                .contains("[\"no_sec\", \"wifi_scan\"]")
        );
    }

    #[test]
    fn app_info_comes_first() {
        let mut v = VersionInfo::for_security(2, 1, false);
        v.app_info.push(AppInfo {
            label: "my_app".into(),
            version: "1.0".into(),
            capabilities: alloc::vec!["cap_a".into(), "cap_b".into()],
        });
        let json = v.to_json();
        assert!(json.starts_with(
            "{\n\t\"my_app\":\t{\n\t\t\"ver\":\t\"1.0\",\n\t\t\"cap\":\t[\"cap_a\", \"cap_b\"]\n\t},\n\t\"prov\":\t{"
        ));
        let peer = PeerVersion::parse(json.as_bytes());
        assert_eq!(peer.app_info.len(), 1);
        assert_eq!(peer.app_info[0].capabilities, ["cap_a", "cap_b"]);
        assert_eq!(peer.security(), 2);
    }

    #[test]
    fn empty_capabilities_and_escapes() {
        let mut v = VersionInfo::for_security(1, 0, false);
        v.capabilities.clear();
        v.version = "a\"b\\c\n\u{1}".into();
        let json = v.to_json();
        assert!(json.contains("\"cap\":\t[]"));
        assert!(json.contains(r#""a\"b\\c\n\u0001""#));
        assert_eq!(
            PeerVersion::parse(json.as_bytes()).version.as_deref(),
            Some("a\"b\\c\n\u{1}")
        );
    }

    #[test]
    fn tolerant_parsing() {
        let plain = PeerVersion::parse(b"V0.1\0");
        assert!(!plain.is_json);
        assert_eq!(plain.version.as_deref(), Some("V0.1"));
        assert_eq!(plain.security(), 1);

        let old = PeerVersion::parse(br#"{"prov":{"ver":"v1.0","cap":["no_sec"]}}"#);
        assert_eq!(old.security(), 0);
        assert_eq!(old.sec_patch_ver, 0);

        let no_pop = PeerVersion::parse(
            br#"{"prov":{"ver":"v1.1","sec_ver":1,"cap":["no_pop","wifi_scan"]}}"#,
        );
        assert!(!no_pop.needs_pop());
        assert!(no_pop.has_capability(CAP_WIFI_SCAN));

        let weird = PeerVersion::parse(
            br#"{"prov":{"sec_ver":"two","sec_patch_ver":-1,"cap":[1,"x"]},"n":3}"#,
        );
        assert_eq!(weird.sec_ver, None);
        assert_eq!(weird.capabilities, ["x"]);

        assert_eq!(PeerVersion::parse(b"").version, None);
        assert!(!PeerVersion::parse(&[0xff, 0xfe]).is_json);
    }
}
