//! The typed view of a `networks.json` document.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};
use wifiprov_types::Secret;

use super::Problem;

/// One entry of `known_networks`: the connection policy's own type, so the file's view and
/// the policy's never drift apart.
pub use crate::policy::KnownNetwork;

/// When the device raises its own access point (`access_point.start_policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StartPolicy {
    /// `"always"`: whether or not a known network was joined.
    Always,
    /// `"fallback"`: only while no known network is joined.
    Fallback,
    /// `"never"`: not at all. The default when the key is absent, as in micropython-wifimanager.
    Never,
}

impl StartPolicy {
    /// The three policies, in the order their names are listed in messages.
    pub const ALL: [StartPolicy; 3] = [
        StartPolicy::Always,
        StartPolicy::Fallback,
        StartPolicy::Never,
    ];

    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            StartPolicy::Always => "always",
            StartPolicy::Fallback => "fallback",
            StartPolicy::Never => "never",
        }
    }
}

impl fmt::Display for StartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StartPolicy {
    type Err = Problem;

    /// Parses `always`, `fallback` or `never` (exactly; names are case-sensitive).
    fn from_str(s: &str) -> Result<Self, Problem> {
        StartPolicy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Problem::UnknownStartPolicy {
                found: s.to_owned(),
            })
    }
}

/// The device's own access point (`access_point`).
#[derive(Clone, PartialEq, Eq)]
pub struct AccessPointConfig {
    /// Its network name (`config.essid`, or MicroPython's alias `config.ssid`).
    pub essid: String,
    /// Its channel (`config.channel`, 1 to 14); `None` leaves the choice to the driver.
    pub channel: Option<u8>,
    /// Whether it hides its name (`config.hidden`, default false).
    pub hidden: bool,
    /// Its WPA password (`config.password`, or MicroPython's alias `config.key`); `None` for
    /// an open access point (key absent, `null` or `""`).
    pub password: Option<Secret>,
    /// Whether to run the remote-console service while the access point is up.
    pub enables_webrepl: bool,
    /// When to raise it.
    pub start_policy: StartPolicy,
    /// The other keys of `config` (such as `authmode`, `max_clients`), in file order, passed
    /// to the access point as they are.
    pub extra: Map<String, Value>,
}

impl AccessPointConfig {
    /// An access point named `essid` with the defaults a file gets for absent keys: driver's
    /// channel, not hidden, open, no remote console, start policy [`StartPolicy::Never`].
    pub fn new(essid: impl Into<String>) -> Self {
        AccessPointConfig {
            essid: essid.into(),
            channel: None,
            hidden: false,
            password: None,
            enables_webrepl: false,
            start_policy: StartPolicy::Never,
            extra: Map::new(),
        }
    }
}

impl fmt::Debug for AccessPointConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessPointConfig")
            .field("essid", &self.essid)
            .field("channel", &self.channel)
            .field("hidden", &self.hidden)
            .field("password", &Redacted(self.password.is_some()))
            .field("enables_webrepl", &self.enables_webrepl)
            .field("start_policy", &self.start_policy)
            .field("extra", &self.extra)
            .finish()
    }
}

/// The whole document, typed: what the connection policy needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Networks {
    /// The schema number; always [`SCHEMA`](super::SCHEMA) for a document that was read.
    pub schema: u32,
    /// `known_networks`, most preferred first.
    pub known: Vec<KnownNetwork>,
    /// `access_point`.
    pub access_point: AccessPointConfig,
}

impl Networks {
    /// The known network named `ssid` (text or bytes).
    pub fn find(&self, ssid: impl AsRef<[u8]>) -> Option<&KnownNetwork> {
        let ssid = ssid.as_ref();
        self.known.iter().find(|n| n.ssid == *ssid)
    }

    /// The index of the known network named `ssid` (0 = most preferred).
    pub fn position(&self, ssid: impl AsRef<[u8]>) -> Option<usize> {
        let ssid = ssid.as_ref();
        self.known.iter().position(|n| n.ssid == *ssid)
    }
}

/// What [`NetworksFile::add_or_promote`](super::NetworksFile::add_or_promote) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// The network was new; it is now the first entry.
    Added,
    /// The network was known; it moved to the top (if not there already) and its password
    /// was replaced.
    Promoted,
}

/// Stands in for a password in `Debug` output: says whether there is one, never what it is.
struct Redacted(bool);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "<redacted>" } else { "<none>" })
    }
}
