//! Data exchanged with a [`crate::WifiBackend`].

use std::net::Ipv4Addr;

pub use wifiprov_types::{
    Bssid, BssidParseError, Credentials, CredentialsError, Passphrase, PassphraseError, Secret,
    Ssid, SsidError,
};

/// Scan parameters, as carried by `CmdScanStart`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanParams {
    /// Passive instead of active scanning.
    pub passive: bool,
    /// 0: all channels in one sweep; N: one channel at a time, pausing 120 ms after every N.
    pub group_channels: u8,
    /// Dwell time per channel in milliseconds (0 = the backend's default, 120 ms).
    pub period_ms: u32,
}

/// Authentication mode of a network, numbered as ESP-IDF numbers them on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// No security.
    Open,
    /// WEP.
    Wep,
    /// WPA-PSK.
    WpaPsk,
    /// WPA2-PSK.
    Wpa2Psk,
    /// WPA/WPA2 mixed.
    WpaWpa2Psk,
    /// WPA2-Enterprise.
    Wpa2Enterprise,
    /// WPA3-SAE.
    Wpa3Psk,
    /// WPA2/WPA3 transition.
    Wpa2Wpa3Psk,
    /// Another ESP-IDF auth mode number (8 WAPI, 9 OWE, …).
    Other(u8),
}

impl AuthMode {
    /// The ESP-IDF `wifi_auth_mode_t` number.
    pub fn esp_number(self) -> u8 {
        match self {
            AuthMode::Open => 0,
            AuthMode::Wep => 1,
            AuthMode::WpaPsk => 2,
            AuthMode::Wpa2Psk => 3,
            AuthMode::WpaWpa2Psk => 4,
            AuthMode::Wpa2Enterprise => 5,
            AuthMode::Wpa3Psk => 6,
            AuthMode::Wpa2Wpa3Psk => 7,
            AuthMode::Other(n) => n,
        }
    }

    /// From an ESP-IDF auth mode number.
    pub fn from_esp_number(n: u8) -> Self {
        match n {
            0 => AuthMode::Open,
            1 => AuthMode::Wep,
            2 => AuthMode::WpaPsk,
            3 => AuthMode::Wpa2Psk,
            4 => AuthMode::WpaWpa2Psk,
            5 => AuthMode::Wpa2Enterprise,
            6 => AuthMode::Wpa3Psk,
            7 => AuthMode::Wpa2Wpa3Psk,
            n => AuthMode::Other(n),
        }
    }

    /// Whether joining needs a passphrase.
    pub fn needs_passphrase(self) -> bool {
        !matches!(self, AuthMode::Open | AuthMode::Other(9))
    }

    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            AuthMode::Open => "open",
            AuthMode::Wep => "WEP",
            AuthMode::WpaPsk => "WPA",
            AuthMode::Wpa2Psk => "WPA2",
            AuthMode::WpaWpa2Psk => "WPA/WPA2",
            AuthMode::Wpa2Enterprise => "WPA2-Enterprise",
            AuthMode::Wpa3Psk => "WPA3",
            AuthMode::Wpa2Wpa3Psk => "WPA2/WPA3",
            AuthMode::Other(8) => "WAPI",
            AuthMode::Other(9) => "OWE",
            AuthMode::Other(_) => "other",
        }
    }
}

/// One access point seen by a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPoint {
    /// SSID bytes (empty for a hidden network).
    pub ssid: Vec<u8>,
    /// BSSID.
    pub bssid: Bssid,
    /// Primary channel.
    pub channel: u8,
    /// Signal strength in dBm.
    pub rssi: i8,
    /// Security.
    pub auth: AuthMode,
}

/// Steps of a connection attempt, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectProgress {
    /// Looking for the network.
    Searching,
    /// Associating with an access point.
    Associating {
        /// The chosen access point.
        bssid: Bssid,
        /// Its channel.
        channel: u8,
    },
    /// Key handshake under way.
    Authenticating,
    /// Associated; waiting for an address.
    ObtainingAddress,
    /// Done.
    Connected(LinkStatus),
}

/// Why a connection attempt failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The passphrase was rejected (4-way handshake or SAE failure).
    #[error("authentication failed: wrong passphrase for {ssid:?}")]
    AuthFailed {
        /// The network.
        ssid: String,
    },
    /// No access point with this SSID (and BSSID, if given) was found.
    #[error("network {ssid:?} not found")]
    NetworkNotFound {
        /// The network.
        ssid: String,
    },
    /// The access point refused the association (e.g. full, or an unsupported security mode).
    #[error("association with {ssid:?} rejected: {reason}")]
    AssociationRejected {
        /// The network.
        ssid: String,
        /// The reason given.
        reason: String,
    },
    /// Associated, but no address was obtained.
    #[error("joined {ssid:?} but obtained no IP address")]
    NoAddress {
        /// The network.
        ssid: String,
    },
    /// The attempt took too long.
    #[error("connection to {ssid:?} timed out")]
    Timeout {
        /// The network.
        ssid: String,
    },
    /// The link dropped during the attempt (flaky signal).
    #[error("connection to {ssid:?} lost during the attempt")]
    LinkLost {
        /// The network.
        ssid: String,
    },
    /// The credentials themselves are unusable: an SSID that is empty or longer than 32
    /// bytes, a passphrase of the wrong length or with characters WPA forbids, a malformed
    /// WEP key, a raw PSK for a network that needs the passphrase.
    #[error("invalid credentials: {0}")]
    InvalidCredentials(String),
    /// This backend or this network cannot do it: an enterprise network, a security mode
    /// the backend does not support, a non-UTF-8 SSID or passphrase on a backend that takes
    /// text.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The provisioning service does not take credentials now: an attempt is running,
    /// provisioning has ended, or the same credentials failed moments ago.
    #[error("credentials not accepted now: {0}")]
    NotAccepting(String),
    /// The backend itself failed.
    #[error(transparent)]
    Backend(#[from] WifiError),
}

impl ConnectError {
    /// Whether ESP-IDF would report this as `AuthError` (otherwise `NetworkNotFound`
    /// or a retry).
    pub fn is_auth_error(&self) -> bool {
        matches!(self, ConnectError::AuthFailed { .. })
    }

    /// Whether ESP-IDF would report this as `NetworkNotFound`.
    pub fn is_network_not_found(&self) -> bool {
        matches!(self, ConnectError::NetworkNotFound { .. })
    }

    /// The network the attempt was for, when the error names one (every kind but
    /// `InvalidCredentials`, `Unsupported`, `NotAccepting` and `Backend`).
    pub fn ssid(&self) -> Option<&str> {
        match self {
            ConnectError::AuthFailed { ssid }
            | ConnectError::NetworkNotFound { ssid }
            | ConnectError::AssociationRejected { ssid, .. }
            | ConnectError::NoAddress { ssid }
            | ConnectError::Timeout { ssid }
            | ConnectError::LinkLost { ssid } => Some(ssid),
            ConnectError::InvalidCredentials(_)
            | ConnectError::Unsupported(_)
            | ConnectError::NotAccepting(_)
            | ConnectError::Backend(_) => None,
        }
    }
}

/// An established station link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkStatus {
    /// SSID joined.
    pub ssid: Vec<u8>,
    /// BSSID joined.
    pub bssid: Bssid,
    /// Channel.
    pub channel: u8,
    /// Security of the network.
    pub auth: AuthMode,
    /// Address obtained.
    pub ip: Ipv4Addr,
    /// Signal strength in dBm.
    pub rssi: i8,
}

/// The station's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StationStatus {
    /// Not connected.
    Disconnected,
    /// An attempt is under way.
    Connecting {
        /// The network being joined.
        ssid: Vec<u8>,
    },
    /// Connected.
    Connected(LinkStatus),
}

/// Access point settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApConfig {
    /// SSID (1–32 bytes).
    pub ssid: Vec<u8>,
    /// WPA2 passphrase (8–63 characters); `None` for an open access point.
    pub passphrase: Option<Secret>,
    /// Channel (0 = backend's choice).
    pub channel: u8,
    /// Do not broadcast the SSID.
    pub hidden: bool,
    /// Most stations at once.
    pub max_clients: u8,
}

/// What kind of failure a [`WifiError`] is: callers decide on this, never on the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WifiErrorKind {
    /// The backend is not reachable (daemon down, socket missing, permission denied, device
    /// unmanaged).
    Unavailable,
    /// The operation is not supported by this backend or hardware.
    Unsupported,
    /// Another operation is in progress (e.g. a scan during a scan), or this one was
    /// superseded.
    Busy,
    /// Bad input: parameters, a configuration, an object that does not exist.
    Invalid,
}

impl WifiErrorKind {
    /// A short lower-case name (`unavailable`, `unsupported`, `busy`, `invalid`).
    pub fn name(self) -> &'static str {
        match self {
            WifiErrorKind::Unavailable => "unavailable",
            WifiErrorKind::Unsupported => "unsupported",
            WifiErrorKind::Busy => "busy",
            WifiErrorKind::Invalid => "invalid",
        }
    }
}

/// A backend failure that is not about a particular network: a [`WifiErrorKind`] and an
/// explanation for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", prefix(*kind))]
pub struct WifiError {
    kind: WifiErrorKind,
    message: String,
}

fn prefix(kind: WifiErrorKind) -> &'static str {
    match kind {
        WifiErrorKind::Unavailable => "Wi-Fi backend unavailable: ",
        WifiErrorKind::Unsupported => "not supported: ",
        WifiErrorKind::Busy => "busy: ",
        WifiErrorKind::Invalid => "",
    }
}

impl WifiError {
    /// An error of `kind` with an explanation.
    pub fn new(kind: WifiErrorKind, message: impl Into<String>) -> Self {
        WifiError {
            kind,
            message: message.into(),
        }
    }

    /// [`WifiErrorKind::Unavailable`].
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(WifiErrorKind::Unavailable, message)
    }

    /// [`WifiErrorKind::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(WifiErrorKind::Unsupported, message)
    }

    /// [`WifiErrorKind::Busy`].
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(WifiErrorKind::Busy, message)
    }

    /// [`WifiErrorKind::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(WifiErrorKind::Invalid, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> WifiErrorKind {
        self.kind
    }

    /// The explanation, without the kind's prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether this is an error of `kind`.
    pub fn is(&self, kind: WifiErrorKind) -> bool {
        self.kind == kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_numbers_round_trip() {
        for n in 0..=16u8 {
            assert_eq!(AuthMode::from_esp_number(n).esp_number(), n);
        }
    }

    #[test]
    fn wifi_errors_keep_kind_and_text_apart() {
        let e = WifiError::unavailable("wpa_supplicant is not running");
        assert_eq!(e.kind(), WifiErrorKind::Unavailable);
        assert!(e.is(WifiErrorKind::Unavailable) && !e.is(WifiErrorKind::Busy));
        assert_eq!(e.message(), "wpa_supplicant is not running");
        assert_eq!(
            e.to_string(),
            "Wi-Fi backend unavailable: wpa_supplicant is not running"
        );
        assert_eq!(WifiError::busy("scan").to_string(), "busy: scan");
        assert_eq!(
            WifiError::unsupported("AP").to_string(),
            "not supported: AP"
        );
        assert_eq!(WifiError::invalid("bad BSSID").to_string(), "bad BSSID");
        let e: ConnectError = WifiError::busy("superseded").into();
        assert_eq!(e, ConnectError::Backend(WifiError::busy("superseded")));
    }

    #[test]
    fn connect_errors_name_their_cause() {
        let cases = [
            (
                ConnectError::InvalidCredentials("SSID of 33 bytes".into()),
                "invalid credentials: SSID of 33 bytes",
            ),
            (
                ConnectError::Unsupported("enterprise network".into()),
                "not supported: enterprise network",
            ),
            (
                ConnectError::NotAccepting("an attempt runs".into()),
                "credentials not accepted now: an attempt runs",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
            assert!(!error.is_auth_error() && !error.is_network_not_found());
        }
    }
}
