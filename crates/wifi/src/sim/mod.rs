//! A deterministic Wi-Fi simulator.
//!
//! [`SimBackend`] implements [`WifiBackend`](crate::WifiBackend) without any radio: it plays
//! a [`SimEnvironment`], a list of [`SimNetwork`]s, and takes the time a real chip would
//! (through `tokio::time`, so tests can run it on a paused clock and finish instantly).
//! The same environment, seed and sequence of calls always give the same results.
//!
//! # Environments
//!
//! [`SimEnvironment::builtin`] has a dozen networks covering the usual cases; the table from
//! [`SimEnvironment::builtin_table`] lists them with their passwords. Single networks can
//! be added with [`SimNetwork::from_spec`] (`"SSID:PASSPHRASE"`) and
//! [`SimEnvironment::add_or_replace`]. Whole environments are written in TOML:
//!
//! ```toml
//! seed = 7            # seeds signal jitter and flaky links (default 0)
//! search_ms = 300     # how long joining an absent network searches (default 300)
//!
//! [[network]]
//! ssid = "HomeNet"                # 1-32 bytes, required
//! bssid = "24:0a:c4:12:34:56"     # default: derived from the ssid
//! channel = 6                     # 1-14, default: derived from the ssid
//! rssi = -45                      # dBm, -100..=0, default -40
//! auth = "wpa2"                   # open wep wpa wpa2 wpa-wpa2 wpa2-enterprise wpa3 wpa2-wpa3;
//!                                 # default: "wpa2" with a password, "open" without
//! password = "correct-horse"      # WPA family 8-63 bytes; none for open/enterprise
//! hidden = false                  # scans show an empty SSID; joining by name works
//! latency_ms = 500                # time to join, default 500
//! flakiness = 0.0                 # chance an attempt loses the link halfway, 0.0-1.0
//! ip = "192.168.1.42"             # default 192.168.<channel>.<100 + position>
//! ```
//!
//! Unknown keys are rejected, so a misspelt key is an error rather than silently ignored.
//! Errors ([`SimError`]) name the file, the `[[network]]` entry (position, SSID and line)
//! and the problem, and never repeat a password.
//!
//! # Scanning
//!
//! A scan sweeps channels 1–13, dwelling `period_ms` on each (120 ms when 0, active or
//! passive alike). With `group_channels = N > 0` the sweep pauses 120 ms after every N
//! channels, except after the last group — so the default scan takes 13 × 120 = 1560 ms
//! and `group_channels = 5` adds two pauses (1800 ms); see [`SimBackend::scan_duration`].
//! The result lists every access point on the air, in environment order (unsorted), hidden
//! ones with an empty SSID, including any on channel 14 (the simulator has no country
//! settings). Each reported RSSI is the configured one plus a jitter of −2 to +2 dB drawn
//! from the seeded generator. A scan started while another runs fails with
//! [`WifiErrorKind::Busy`](crate::WifiErrorKind::Busy).
//!
//! # Joining
//!
//! `connect` checks the credentials (SSID 1–32 bytes, passphrase at most 64 bytes, else
//! `InvalidCredentials`), then picks among the access points on the air whose SSID matches byte for
//! byte (hidden ones included) and, if the credentials name a BSSID, that BSSID; the
//! strongest wins (the first listed on a tie). The channel hint is ignored. With `L` the
//! network's latency, the attempt runs:
//!
//! | time    | progress / outcome                                                        |
//! |---------|---------------------------------------------------------------------------|
//! | 0       | `Searching`; nothing matches → `NetworkNotFound` after `search_ms`        |
//! | L/4     | `Associating { bssid, channel }`; enterprise → `AssociationRejected`      |
//! | L/2     | flaky link → `LinkLost`; otherwise `Authenticating`                       |
//! | 3L/4    | `ObtainingAddress` (only with the right passphrase)                       |
//! | L       | `Connected(LinkStatus)`, and `status()` reports it; or, with a wrong      |
//! |         | passphrase, `AuthFailed` (a wrong guess costs the full latency)           |
//!
//! Secured networks want the exact passphrase; open networks accept any. Whether an
//! attempt loses the link is a draw from a random stream owned by that attempt (the Nth
//! attempt always draws the same number for a given seed), compared with `flakiness`.
//!
//! While an attempt runs, `status()` is `Connecting`; when it fails, or when its future is
//! dropped, the station is `Disconnected` (starting an attempt leaves any previous network).
//! A `connect` made while another attempt runs replaces it: the older attempt ends at once
//! with `ConnectError::Backend` (a [`WifiErrorKind::Busy`](crate::WifiErrorKind::Busy)
//! error) and sends no more progress. `disconnect` ends a running attempt the same way; [`SimBackend::drop_link`] and taking the network
//! off the air ([`SimBackend::set_network_visible`]) end it with `LinkLost`.
//!
//! # Access point
//!
//! `start_ap` checks the SSID (1–32 bytes), the passphrase (8–63 bytes, if any) and the
//! channel (0–14) and remembers the configuration ([`SimBackend::access_point`]); it does
//! not appear in scans.

mod backend;
mod env;

pub use backend::SimBackend;
pub use env::{
    DEFAULT_LATENCY_MS, DEFAULT_RSSI, DEFAULT_SEARCH_MS, MAX_DELAY_MS, SimEnvironment, SimError,
    SimNetwork,
};
