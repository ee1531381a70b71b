//! What the two roles exchange: the phone's request ([`SendRequest`]), the device that
//! answered it ([`Device`]) and what the device acknowledges ([`AckRequest`]). Shared by the
//! codecs, the sender and the acknowledgement, which therefore do not depend on one another.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::{Protocol, Secret};

/// What to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendRequest {
    /// The protocol.
    pub protocol: Protocol,
    /// SSID bytes (raw octets).
    pub ssid: Vec<u8>,
    /// The password.
    pub password: Secret,
    /// The access point's BSSID (ESPTouch v1 sends it, v2 its CRC; all zeros when `None`).
    pub bssid: Option<[u8; 6]>,
    /// ESPTouch v2 reserved (custom) data.
    pub reserved: Vec<u8>,
    /// ESPTouch v2: the 16-byte AES key; AirKiss: the key (zero-padded to 16 bytes).
    pub aes_key: Option<Secret>,
    /// ESPTouch v2 with a key: security 2 (a random IV sent along; SmartConfig V3.0.2 and
    /// later) instead of security 1 (zero IV, every v2-capable device).
    pub v2_random_iv: bool,
}

impl SendRequest {
    /// A request for `protocol` with `ssid` and `password` and nothing else.
    pub fn new(protocol: Protocol, ssid: impl Into<Vec<u8>>, password: impl Into<Vec<u8>>) -> Self {
        SendRequest {
            protocol,
            ssid: ssid.into(),
            password: Secret::new(password),
            bssid: None,
            reserved: Vec::new(),
            aes_key: None,
            v2_random_iv: false,
        }
    }
}

/// A device that acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Device {
    /// Its address (v1: from the reply's payload; otherwise the reply's source).
    pub ip: IpAddr,
    /// Its station MAC (absent only in 1-byte AirKiss replies).
    pub mac: Option<[u8; 6]>,
    /// Where the reply came from.
    pub from: SocketAddr,
}

/// What to acknowledge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckRequest {
    /// The protocol the credentials arrived with.
    pub protocol: Protocol,
    /// [`crate::Decoded::token`]: v1 `T`, v2 the port mark, AirKiss the random token.
    pub token: u8,
    /// ESPTouch v1: the phone's address from the datum.
    pub phone_ip: Option<IpAddr>,
    /// The device's station MAC.
    pub mac: [u8; 6],
    /// The address the device obtained.
    pub ip: Ipv4Addr,
}
