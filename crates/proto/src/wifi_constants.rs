//! `wifi_constants.proto`: station state, failure reasons, auth modes.

use alloc::string::String;
use alloc::vec::Vec;

/// Station state reported by `GetStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WifiStationState {
    /// Connected with an IP address (zero value, absent on the wire).
    Connected = 0,
    /// Connecting (also used for retries).
    Connecting = 1,
    /// Disconnected (never sent by the reference device).
    Disconnected = 2,
    /// The connection attempt failed; see the failure reason.
    ConnectionFailed = 3,
}

/// Why a connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WifiConnectFailedReason {
    /// Wrong passphrase or handshake failure.
    AuthError = 0,
    /// No access point with that SSID was found.
    NetworkNotFound = 1,
}

/// Authentication mode of an access point.
///
/// Devices send further ESP-IDF numbers (8 WAPI_PSK … 16 WPA_ENTERPRISE); fields holding this
/// enum are `i32` so those values are preserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WifiAuthMode {
    /// Open network.
    Open = 0,
    /// WEP.
    Wep = 1,
    /// WPA-PSK.
    WpaPsk = 2,
    /// WPA2-PSK.
    Wpa2Psk = 3,
    /// WPA/WPA2 mixed.
    WpaWpa2Psk = 4,
    /// WPA2-Enterprise.
    Wpa2Enterprise = 5,
    /// WPA3-SAE.
    Wpa3Psk = 6,
    /// WPA2/WPA3 transition.
    Wpa2Wpa3Psk = 7,
}

/// Connection attempts left while retrying.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct WifiAttemptFailed {
    /// Remaining attempts (≥ 1).
    #[prost(uint32, tag = "1")]
    pub attempts_remaining: u32,
}

/// Details of an established station connection.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WifiConnectedState {
    /// IPv4 address as dotted-quad text.
    #[prost(string, tag = "1")]
    pub ip4_addr: String,
    /// [`WifiAuthMode`] (or another ESP-IDF auth mode number).
    #[prost(enumeration = "WifiAuthMode", tag = "2")]
    pub auth_mode: i32,
    /// SSID bytes.
    #[prost(bytes = "vec", tag = "3")]
    pub ssid: Vec<u8>,
    /// 6-byte BSSID.
    #[prost(bytes = "vec", tag = "4")]
    pub bssid: Vec<u8>,
    /// Primary channel.
    #[prost(int32, tag = "5")]
    pub channel: i32,
}
