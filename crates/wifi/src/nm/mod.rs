//! The NetworkManager backend: [`NmBackend`] drives NetworkManager over D-Bus (zbus).
//!
//! Everything goes through NetworkManager's D-Bus API on the system bus
//! (`org.freedesktop.NetworkManager`); the backend never runs `nmcli`.
//!
//! # Device
//!
//! With an interface name (`--interface wlan0`) the backend uses that device and fails with
//! [`WifiErrorKind::Unsupported`](crate::WifiErrorKind::Unsupported) when NetworkManager has no such
//! device or it is not a Wi-Fi device, and with
//! [`WifiErrorKind::Unavailable`](crate::WifiErrorKind::Unavailable) when the device is unmanaged.
//! Without one it uses the first managed Wi-Fi device NetworkManager lists
//! ([`NmBackend::wifi_device`]).
//!
//! # Profiles
//!
//! Connections are NetworkManager profiles ([`Profile`], stored by NetworkManager through its
//! settings plugin). Profiles the backend creates are tagged by an id starting with
//! [`PROFILE_PREFIX`]: `wifiprov-<SSID>` for a network joined by
//! [`connect`](crate::WifiBackend::connect) and [`HOTSPOT_ID`] for the access point. The
//! backend only ever replaces or deletes profiles carrying the tag.
//!
//! # Joining
//!
//! `connect` checks the credentials, reports `Searching`, and looks the SSID up in
//! NetworkManager's current scan list to choose the key management: `sae` for a WPA3-only
//! network, `wpa-psk` for any other secured one, none for an open one (a passphrase given
//! for an open network is ignored). A network absent from the list is looked for with a
//! directed scan (`RequestScan` with the `ssids` option, which also finds a hidden network
//! answering probes), waiting at most [`NmBackend::set_find_timeout`] (10 s by default) for
//! `LastScan` to change: when the scan completes without it, the join ends at once with
//! `NetworkNotFound` and no profile is added (NetworkManager itself, asked to activate a
//! profile for a network it does not list, keeps waiting for later scans for about 25 s
//! before it fails with `SSID_NOT_FOUND`). When NetworkManager refuses the scan (e.g. while
//! the device runs the access point) or it does not complete in time, the network is
//! assumed to be WPA2 with a passphrase and open without, and NetworkManager decides. A
//! network not in the first list gets a profile marked hidden, so that NetworkManager
//! probes for it. Any earlier `wifiprov-` profile for the same SSID is replaced by a new
//! one (autoconnect on, `ipv4.method=auto` with `ipv4.may-fail=false` so that success
//! means an IPv4 address, BSSID lock if the credentials name one; the channel hint is not
//! used), added with `AddConnection2` and the flag `BLOCK_AUTOCONNECT` (written to disk;
//! see [`NmBackend::add_profile`]) so that NetworkManager does not start an activation of
//! its own that would race with the backend's. The profile is activated on the device (or,
//! with no interface configured and no Wi-Fi device found, on whichever device
//! NetworkManager picks, so that its own explanation of why none fits reaches the caller),
//! and the device's `StateChanged(new, old, reason)` and the active connection's
//! `StateChanged(state, reason)` signals give the progress:
//!
//! | NetworkManager                          | progress / outcome                            |
//! |-----------------------------------------|-----------------------------------------------|
//! | device `CONFIG` (50)                    | `Associating` (+ `Authenticating` if secured) |
//! | device `NEED_AUTH` (60)                 | `Authenticating` (if not yet reported)        |
//! | device `IP_CONFIG` (70)                 | `ObtainingAddress`                            |
//! | active connection `ACTIVATED` (2)       | `Connected(LinkStatus)`                       |
//! | device `FAILED` (120) with a reason     | the reason mapped by [`device_reason_error`]  |
//! | active connection `DEACTIVATED` (4)     | the reason mapped by [`active_reason_error`]  |
//! | either, with an authentication reason, after `IP_CONFIG` | `LinkLost` (the handshake had completed) |
//! | D-Bus error from `ActivateConnection`   | mapped by [`bus_error`], e.g. `UnknownDevice` |
//! |                                         | → `Backend(Unsupported(..))`                  |
//! | nothing decisive within the timeout     | `Timeout` (the activation is cancelled)       |
//!
//! A failed attempt deletes the profile it created, so a wrong passphrase is not kept.
//!
//! # Status, disconnect, scan
//!
//! `status` reads the device: `ACTIVATED` in station mode is `Connected` (SSID, BSSID,
//! channel, signal and security from `ActiveAccessPoint`, address from `Ip4Config`), the
//! states between `PREPARE` and `SECONDARIES` are `Connecting`, anything else (and a device
//! running the access point) is `Disconnected`. `disconnect` calls `Device.Disconnect`
//! unless the device runs the access point. `scan` calls `RequestScan`, waits for `LastScan`
//! to change (at most [`NmBackend::set_scan_timeout`], 3.5 s by default, so that the
//! answer comes within the time a provisioning service allows a scan; a scan that takes
//! longer leaves the list NetworkManager has from its earlier scans) and lists
//! `GetAllAccessPoints` ([`parse_access_point`] maps each property set); the scan
//! parameters cannot be passed to NetworkManager and are ignored. A scan NetworkManager
//! refuses (`Device.NotAllowed`, e.g. while the access point runs) returns the current list.
//!
//! # Access point
//!
//! `start_ap` needs a device with the `AP` capability. It replaces the [`HOTSPOT_ID`]
//! profile with one in mode `ap`, `ipv4.method=shared` (NetworkManager's DHCP and NAT),
//! `ipv6.method=ignore`, no autoconnect, WPA2 (`wpa-psk`, RSN, CCMP) with a passphrase or
//! open without, band `bg`/`a` and the channel when one is given, kept in memory only
//! (`AddConnection2` with `IN_MEMORY`), and activates it (30 s limit). `max_clients` has
//! no NetworkManager setting and is not applied. `stop_ap`
//! deactivates and deletes it.
//!
//! # Secrets
//!
//! Passphrases travel to NetworkManager as the `psk` setting and are stored by it like any
//! other profile secret. They are held in [`Secret`](protocomm::Secret)s, never logged,
//! and redacted in the `Debug` output of [`Profile`] and [`ConnectionSettings`].

mod ap;
mod backend;
mod bus;
mod follow;
mod ops;
mod proxies;
mod reasons;
mod settings;

pub use ap::{access_point_auth, frequency_to_channel, parse_access_point, strength_to_dbm};
pub use backend::{NmBackend, StoredProfile, WifiDevice, manages_wifi_device};
pub use bus::bus_error;
pub use reasons::{
    active_reason_error, active_reason_name, device_reason_error, device_reason_name,
    device_state_name,
};
pub use settings::{
    ConnectionSettings, HOTSPOT_ID, Ipv4Method, KeyMgmt, PROFILE_PREFIX, Profile, WifiMode,
};

/// NetworkManager's bus name.
pub const NM_SERVICE: &str = "org.freedesktop.NetworkManager";
/// The manager object.
pub const NM_PATH: &str = "/org/freedesktop/NetworkManager";
/// The settings object.
pub const SETTINGS_PATH: &str = "/org/freedesktop/NetworkManager/Settings";

/// D-Bus interface names.
pub(crate) mod iface {
    pub const DEVICE: &str = "org.freedesktop.NetworkManager.Device";
    pub const WIRELESS: &str = "org.freedesktop.NetworkManager.Device.Wireless";
    pub const ACTIVE: &str = "org.freedesktop.NetworkManager.Connection.Active";
    pub const ACCESS_POINT: &str = "org.freedesktop.NetworkManager.AccessPoint";
}

/// `NMDeviceType` of a Wi-Fi device.
pub(crate) const DEVICE_TYPE_WIFI: u32 = 2;
/// `NM_WIFI_DEVICE_CAP_AP`: the device can run an access point.
pub(crate) const WIFI_CAP_AP: u32 = 0x40;
/// `NM_802_11_MODE_AP`.
pub(crate) const MODE_AP: u32 = 3;

/// `NM_SETTINGS_ADD_CONNECTION2_FLAG_*`: how `AddConnection2` stores a profile.
pub(crate) mod add_flags {
    /// Persist the profile through the settings plugin.
    pub const TO_DISK: u32 = 0x1;
    /// Keep the profile in memory only (gone when NetworkManager restarts).
    pub const IN_MEMORY: u32 = 0x2;
    /// Do not autoconnect the new profile until it is activated explicitly.
    pub const BLOCK_AUTOCONNECT: u32 = 0x20;
}
