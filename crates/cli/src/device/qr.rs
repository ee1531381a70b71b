//! The ESP QR payload (`{"ver":"v1","name":…,"pop":…,"transport":…}`) and its terminal
//! rendering.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::Result;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// What the QR payload carries.
#[derive(Debug, Clone, Copy)]
pub struct Payload<'a> {
    /// The device's name (SoftAP SSID or BLE name).
    pub name: &'a str,
    /// The SRP username (security 2).
    pub username: Option<&'a str>,
    /// The PoP (security 1) or the SRP password (security 2).
    pub pop: Option<&'a str>,
    /// `softap` or `ble`.
    pub transport: &'a str,
    /// The security scheme (0, 1 or 2).
    pub security: u8,
    /// Where the HTTP route is reached, when that is not the SoftAP default 192.168.4.1:80.
    pub address: Option<&'a str>,
}

/// The payload Espressif's phone apps scan, keys in the example firmware's order, then
/// `security` (as newer ESP-IDF examples add it) and `address` (read by `wifiprov provision
/// --qr-payload`, ignored by the phone apps). With security 2 the SRP password travels in
/// `pop`, as the example does.
pub fn payload(p: &Payload<'_>) -> String {
    let mut out = String::from("{\"ver\":\"v1\",\"name\":");
    out.push_str(&json_string(p.name));
    if let Some(user) = p.username {
        out.push_str(",\"username\":");
        out.push_str(&json_string(user));
    }
    if let Some(pop) = p.pop {
        out.push_str(",\"pop\":");
        out.push_str(&json_string(pop));
    }
    out.push_str(",\"transport\":");
    out.push_str(&json_string(p.transport));
    out.push_str(&format!(",\"security\":{}", p.security));
    if let Some(address) = p.address {
        out.push_str(",\"address\":");
        out.push_str(&json_string(address));
    }
    out.push('}');
    out
}

/// The address to put in the payload for an HTTP route bound to `bound`: none for ESP-IDF's
/// SoftAP default (192.168.4.1:80); an unspecified address (0.0.0.0) becomes this machine's
/// address on its default route, or the SoftAP address when it has none.
pub fn address(bound: SocketAddr) -> Option<String> {
    let ip = if bound.ip().is_unspecified() {
        outbound_ip().unwrap_or(IpAddr::V4(SOFTAP_IP))
    } else {
        bound.ip()
    };
    let addr = SocketAddr::new(ip, bound.port());
    (addr != SocketAddr::new(IpAddr::V4(SOFTAP_IP), 80)).then(|| addr.to_string())
}

/// ESP-IDF's SoftAP address.
const SOFTAP_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 1);

/// The local IPv4 address of the default route (a UDP "connection" sends nothing).
fn outbound_ip() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
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
        let p = Payload {
            name: "PROV_1A2B3C",
            username: None,
            pop: Some("abcd1234"),
            transport: "softap",
            security: 1,
            address: None,
        };
        assert_eq!(
            payload(&p),
            r#"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"softap","security":1}"#
        );
        let p = Payload {
            name: "P",
            username: Some("wifiprov"),
            pop: Some("pw"),
            security: 2,
            address: Some("127.0.0.1:8080"),
            ..p
        };
        assert_eq!(
            payload(&p),
            r#"{"ver":"v1","name":"P","username":"wifiprov","pop":"pw","transport":"softap","security":2,"address":"127.0.0.1:8080"}"#
        );
        assert!(render("hello").unwrap().lines().count() > 10);
    }

    #[test]
    fn the_softap_default_address_is_left_out() {
        assert_eq!(address("192.168.4.1:80".parse().unwrap()), None);
        assert_eq!(
            address("127.0.0.1:8080".parse().unwrap()).as_deref(),
            Some("127.0.0.1:8080")
        );
        let any = address("0.0.0.0:8080".parse().unwrap()).unwrap();
        assert!(
            any.ends_with(":8080") && !any.starts_with("0.0.0.0"),
            "{any}"
        );
    }
}
