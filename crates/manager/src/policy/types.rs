//! What the policy asks for and what it reports.

use std::net::Ipv4Addr;

use wifiprov_types::Instant;
use wifiprov_types::{Passphrase, Ssid};
use wifiprov_wifi::{ConnectError, Credentials};

/// Something the caller must do, returned by [`Policy::poll`](super::Policy::poll).
///
/// Actions that expect an answer name the input that carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Scan; answer with [`handle_scan`](super::Policy::handle_scan) or
    /// [`handle_scan_failed`](super::Policy::handle_scan_failed).
    Scan,
    /// Join this network; answer with
    /// [`handle_connect_result`](super::Policy::handle_connect_result). `channel` is set
    /// when the network was seen by the last scan (the channel of its strongest access point).
    Connect(Credentials),
    /// Leave the current network, or abandon a connection attempt. No answer.
    Disconnect,
    /// Check whether the link is still up; answer with
    /// [`handle_link_status`](super::Policy::handle_link_status).
    CheckLink,
    /// Start the manager's access point (and its provisioning service). No answer.
    StartAp,
    /// Stop the manager's access point. No answer.
    StopAp,
    /// Persist this network at the top of `known_networks`; if an entry with the same SSID
    /// exists, move it to the top and replace its password, keeping its other keys. The
    /// policy has already made the same change to its own copy of the list.
    AddKnownNetwork {
        /// The network.
        ssid: Ssid,
        /// Its passphrase.
        password: Passphrase,
    },
    /// Start the configured remote-console service. No answer.
    StartRemoteConsole,
    /// Stop the remote-console service. No answer.
    StopRemoteConsole,
}

/// The policy's state, as [`Policy::state`](super::Policy::state) reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for scan results.
    Scanning,
    /// Waiting for the result of an attempt to join `ssid`.
    Joining {
        /// The network being joined.
        ssid: Vec<u8>,
    },
    /// Joined.
    Connected {
        /// The network joined.
        ssid: Vec<u8>,
        /// The address obtained.
        ip: Ipv4Addr,
    },
    /// No known network could be joined (since the start or a deliberate change); the next
    /// round comes after the rescan interval, or never when no network is known or in
    /// one-shot mode.
    NoNetwork {
        /// Whether the access point is up.
        ap_up: bool,
    },
    /// The link was lost (or the rounds since then failed); the next recovery round starts at
    /// `until`.
    Backoff {
        /// When the next recovery round starts.
        until: Instant,
    },
    /// [`Policy::shutdown`](super::Policy::shutdown) was called; all inputs are ignored.
    Stopped,
}

/// The last failure of one known network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkFailure {
    /// The network.
    pub ssid: Vec<u8>,
    /// Why it failed. A lost link is recorded as [`ConnectError::LinkLost`].
    pub reason: ConnectError,
    /// When.
    pub at: Instant,
}

/// A summary for the control API's `status` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The state.
    pub state: State,
    /// The network joined or being joined.
    pub network: Option<Vec<u8>>,
    /// The address, when connected.
    pub ip: Option<Ipv4Addr>,
    /// Whether the access point is up (as far as the actions handed out say).
    pub ap_up: bool,
    /// Whether the remote-console service runs (as far as the actions handed out say).
    pub remote_console: bool,
    /// When the policy next wants to be polled, if ever.
    pub next_deadline: Option<Instant>,
    /// The last failure of each known network that has failed since it was last joined, in
    /// the order of the known networks list.
    pub failures: Vec<NetworkFailure>,
}

/// The verdict of one-shot mode, from [`Policy::outcome`](super::Policy::outcome).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A network was joined: exit with success.
    Connected {
        /// The network joined.
        ssid: Vec<u8>,
        /// The address obtained.
        ip: Ipv4Addr,
    },
    /// No known network could be joined: exit with failure and these reasons, one per
    /// network tried, in the order of the known networks list (empty when no network is known).
    Failed {
        /// The reasons.
        failures: Vec<NetworkFailure>,
    },
}
