//! The ESP QR payload (`{"ver":"v1","name":…,"pop":…,"transport":…}`) and its terminal
//! rendering.

use anyhow::Result;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// The payload Espressif's phone apps scan, keys in the example firmware's order. With
/// security 2 the SRP password travels in `pop`, as the example does.
pub fn payload(name: &str, username: Option<&str>, pop: Option<&str>, transport: &str) -> String {
    let mut out = String::from("{\"ver\":\"v1\",\"name\":");
    out.push_str(&json_string(name));
    if let Some(user) = username {
        out.push_str(",\"username\":");
        out.push_str(&json_string(user));
    }
    if let Some(pop) = pop {
        out.push_str(",\"pop\":");
        out.push_str(&json_string(pop));
    }
    out.push_str(",\"transport\":");
    out.push_str(&json_string(transport));
    out.push('}');
    out
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Renders `data` as a QR code with Unicode half blocks.
pub fn render(data: &str) -> Result<String> {
    let code = QrCode::new(data.as_bytes())?;
    Ok(code.render::<Dense1x2>().quiet_zone(true).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_shapes() {
        assert_eq!(
            payload("PROV_1A2B3C", None, Some("abcd1234"), "softap"),
            r#"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"softap"}"#
        );
        assert_eq!(
            payload("P", Some("wifiprov"), Some("pw"), "softap"),
            r#"{"ver":"v1","name":"P","username":"wifiprov","pop":"pw","transport":"softap"}"#
        );
        assert_eq!(
            payload("P", None, None, "ble"),
            r#"{"ver":"v1","name":"P","transport":"ble"}"#
        );
        assert!(render("hello").unwrap().lines().count() > 10);
    }
}
