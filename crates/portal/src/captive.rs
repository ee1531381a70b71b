//! The RFC 8908 captive-portal API document.

/// The media type of the document.
pub const CONTENT_TYPE: &str = "application/captive+json";

/// The captive-portal API document (RFC 8908 §5): `captive` is true while the device is
/// unprovisioned; `user_portal_url` is the page to show.
pub fn document(captive: bool, user_portal_url: &str) -> String {
    serde_json::json!({
        "captive": captive,
        "user-portal-url": user_portal_url,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn shape() {
        let doc: serde_json::Value =
            serde_json::from_str(&document(true, "http://192.168.4.1/")).unwrap();
        assert_eq!(doc["captive"], true);
        assert_eq!(doc["user-portal-url"], "http://192.168.4.1/");
        let doc: serde_json::Value =
            serde_json::from_str(&document(false, "http://a\"b/")).unwrap();
        assert_eq!(doc["captive"], false);
        assert_eq!(doc["user-portal-url"], "http://a\"b/");
    }
}
