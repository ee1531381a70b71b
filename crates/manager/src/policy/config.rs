//! The policy's inputs that change rarely: the known networks and the settings.

use core::time::Duration;

use wifiprov_types::{Passphrase, Ssid};

/// One entry of the known networks list (`known_networks` in `networks.json`). The list is
/// ordered, most preferred first. `Debug` never shows the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownNetwork {
    /// The network, matched byte for byte against scan results.
    pub ssid: Ssid,
    /// Its password (empty for an open network).
    pub password: Passphrase,
    /// Run the remote-console service while this network is the active one.
    pub enables_webrepl: bool,
}

impl KnownNetwork {
    /// A network with `ssid` and `password` that does not enable the remote console.
    pub fn new(ssid: Ssid, password: Passphrase) -> Self {
        KnownNetwork {
            ssid,
            password,
            enables_webrepl: false,
        }
    }

    /// True for an open network (empty password).
    pub fn is_open(&self) -> bool {
        self.password.is_empty()
    }

    /// The same network with `enables_webrepl` set to `on`.
    #[must_use]
    pub fn with_webrepl(mut self, on: bool) -> Self {
        self.enables_webrepl = on;
        self
    }
}

/// When the manager's own access point runs (`access_point.start_policy` in `networks.json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ApPolicy {
    /// From the start, for the whole run, whatever the station does.
    Always,
    /// Only while no known network is joined: started when a whole round of attempts has
    /// failed, stopped as soon as a network is joined.
    #[default]
    Fallback,
    /// Never.
    Never,
}

/// Timing of the policy: intervals, watchdogs and the back-off after a lost link.
///
/// Every duration is raised to at least 1 ms when the policy is built, so a zero can never make
/// the machine ask for the same thing over and over at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// How often the link is checked while connected (the `--interval` option; default 30 s).
    pub check_interval: Duration,
    /// How long to wait between rounds when no network could be joined since the start or
    /// since a deliberate change, e.g. while the fallback access point is up (default 60 s).
    pub rescan_interval: Duration,
    /// The first wait after a lost link (default 1 s). Each failed recovery round doubles it.
    pub initial_backoff: Duration,
    /// The longest wait between recovery rounds (default 5 min).
    pub max_backoff: Duration,
    /// A scan whose results have not arrived after this long counts as a failed scan
    /// (default 30 s).
    pub scan_timeout: Duration,
    /// A connection attempt whose result has not arrived after this long counts as
    /// [`ConnectError::Timeout`](wifiprov_wifi::ConnectError::Timeout); the policy then asks
    /// for a [`Disconnect`](super::Action::Disconnect) to abandon it (default 60 s).
    pub connect_timeout: Duration,
    /// The wait between rounds while the access point is up on the station's own radio
    /// ([`PolicyConfig::ap_shares_radio`]): each round interrupts the access point for a scan,
    /// so it comes less often than [`RetryConfig::rescan_interval`] (default 5 min).
    pub ap_rescan_interval: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            check_interval: Duration::from_secs(30),
            rescan_interval: Duration::from_secs(60),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            scan_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(60),
            ap_rescan_interval: Duration::from_secs(300),
        }
    }
}

impl RetryConfig {
    /// The wait before recovery round `failed_rounds + 1`: `initial_backoff` doubled once per
    /// failed round, capped at `max_backoff`.
    pub fn backoff(&self, failed_rounds: u32) -> Duration {
        let factor = 1u32 << failed_rounds.min(31);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff.max(self.initial_backoff))
    }

    /// Every duration raised to at least 1 ms.
    pub(crate) fn normalized(self) -> Self {
        let at_least = |d: Duration| d.max(Duration::from_millis(1));
        RetryConfig {
            check_interval: at_least(self.check_interval),
            rescan_interval: at_least(self.rescan_interval),
            initial_backoff: at_least(self.initial_backoff),
            max_backoff: at_least(self.max_backoff),
            scan_timeout: at_least(self.scan_timeout),
            connect_timeout: at_least(self.connect_timeout),
            ap_rescan_interval: at_least(self.ap_rescan_interval),
        }
    }
}

/// Settings of a [`Policy`](super::Policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolicyConfig {
    /// When the access point runs.
    pub ap_policy: ApPolicy,
    /// Run the remote-console service while the access point is up.
    pub ap_enables_webrepl: bool,
    /// Intervals, watchdogs and back-off.
    pub retry: RetryConfig,
    /// One-shot mode (`wifiprov manage --once`): a single round, then
    /// [`Policy::outcome`](super::Policy::outcome) gives the verdict and the policy schedules
    /// nothing more (no link checks, no retries).
    pub one_shot: bool,
    /// The access point and the station share one radio interface (a wpa_supplicant or
    /// NetworkManager device): scanning or joining takes the access point down. While it is
    /// up, rounds then come every [`RetryConfig::ap_rescan_interval`] and try only the known
    /// networks the scan saw, so the access point is gone for a scan, not for attempts at
    /// networks out of range.
    pub ap_shares_radio: bool,
}
