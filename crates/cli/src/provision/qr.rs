//! `--qr-payload`: the JSON an ESP device shows as a QR code.
//!
//! `{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"softap"}`, optionally with
//! `username` (security 2, then `pop` carries the SRP password), `security` (the scheme),
//! `password` (the passphrase of the device's SoftAP) and `address` (HOST:PORT of an agent
//! that is not at 192.168.4.1:80, as `wifiprov device --qr` prints it). The payload may also
//! be given as the `https://espressif.github.io/esp-jumpstart/qrcode.html?data=…` address
//! the examples print.

use serde::Deserialize;

use super::args::TransportKind;
use super::report::Failure;

/// The fields of a QR payload this client uses.
#[derive(Default, Deserialize)]
pub struct QrPayload {
    /// Payload format version (`v1`).
    pub ver: Option<String>,
    /// The service name: the SoftAP SSID or BLE device name.
    pub name: Option<String>,
    /// PoP (security 1) or SRP password (security 2).
    pub pop: Option<String>,
    /// SRP username (security 2).
    pub username: Option<String>,
    /// `softap` or `ble`.
    pub transport: Option<String>,
    /// The security scheme.
    pub security: Option<u8>,
    /// The passphrase of the device's SoftAP (joining it is up to the user).
    pub password: Option<String>,
    /// Where the device's HTTP service answers, HOST:PORT, when not at the SoftAP default
    /// (`wifiprov device --qr` adds it; ESP-IDF firmware does not).
    pub address: Option<String>,
}

impl std::fmt::Debug for QrPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrPayload")
            .field("ver", &self.ver)
            .field("name", &self.name)
            .field("pop", &self.pop.as_ref().map(|_| "<redacted>"))
            .field("username", &self.username)
            .field("transport", &self.transport)
            .field("security", &self.security)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("address", &self.address)
            .finish()
    }
}

impl QrPayload {
    /// Parses the payload (plain JSON or the jumpstart address carrying it).
    pub fn parse(text: &str) -> Result<Self, Failure> {
        let text = text.trim();
        let json = match text.split_once("data=") {
            Some((prefix, data)) if prefix.starts_with("http") => percent_decode(data),
            _ => text.to_string(),
        };
        let payload: QrPayload = serde_json::from_str(&json).map_err(|e| {
            Failure::usage(format!(
                "--qr-payload is not an ESP QR payload ({e}); expected JSON like \
                 '{{\"ver\":\"v1\",\"name\":\"PROV_XXXXXX\",\"pop\":\"…\",\"transport\":\"softap\"}}'"
            ))
        })?;
        if let Some(ver) = &payload.ver
            && ver != "v1"
        {
            tracing::warn!(
                "QR payload version {ver:?} is not v1; using the keys it shares with v1"
            );
        }
        if let Some(s) = payload.security
            && s > 2
        {
            return Err(Failure::usage(format!(
                "the QR payload asks for security {s}; only 0, 1 and 2 exist"
            )));
        }
        Ok(payload)
    }

    /// The transport it names, if any.
    pub fn transport(&self) -> Result<Option<TransportKind>, Failure> {
        match &self.transport {
            None => Ok(None),
            Some(name) => TransportKind::from_name(name).map(Some).ok_or_else(|| {
                Failure::usage(format!(
                    "the QR payload names an unknown transport {name:?}"
                ))
            }),
        }
    }
}

/// Decodes `%XX` escapes (and leaves anything else as it is).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_example_payloads() {
        let p = QrPayload::parse(
            r#"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"softap"}"#,
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("PROV_1A2B3C"));
        assert_eq!(p.pop.as_deref(), Some("abcd1234"));
        assert_eq!(p.transport().unwrap(), Some(TransportKind::Softap));
        assert!(!format!("{p:?}").contains("abcd1234"));

        let p = QrPayload::parse(
            r#"{"ver":"v1","name":"P","username":"wifiprov","pop":"pw","transport":"ble","security":2,"password":"apkey123"}"#,
        )
        .unwrap();
        assert_eq!(p.username.as_deref(), Some("wifiprov"));
        assert_eq!(p.security, Some(2));
        assert_eq!(p.transport().unwrap(), Some(TransportKind::Ble));

        let p = QrPayload::parse(
            r#"{"ver":"v1","name":"setup","pop":"x","transport":"softap","address":"127.0.0.1:8080"}"#,
        )
        .unwrap();
        assert_eq!(p.address.as_deref(), Some("127.0.0.1:8080"));
    }

    #[test]
    fn accepts_the_jumpstart_address() {
        let p = QrPayload::parse(
            "https://espressif.github.io/esp-jumpstart/qrcode.html?data=%7B%22ver%22:%22v1%22,%22name%22:%22PROV_X%22,%22transport%22:%22softap%22%7D",
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("PROV_X"));
        let p = QrPayload::parse(
            r#"https://espressif.github.io/esp-jumpstart/qrcode.html?data={"ver":"v1","name":"PROV_Y","transport":"softap"}"#,
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("PROV_Y"));
    }

    #[test]
    fn rejects_nonsense() {
        assert_eq!(
            QrPayload::parse("PROV_1A2B3C").unwrap_err().code,
            crate::exit::Exit::Usage
        );
        assert!(QrPayload::parse(r#"{"security":7}"#).is_err());
        let p = QrPayload::parse(r#"{"transport":"pigeon"}"#).unwrap();
        assert!(p.transport().is_err());
    }
}
