//! The wpa_supplicant backend: [`WpaBackend`] drives a running wpa_supplicant through its
//! per-interface control socket (`ctrl_interface`), the same interface `wpa_cli` uses.
//!
//! # Connecting to the daemon
//!
//! [`WpaBackend::connect`] takes the socket path, usually `/run/wpa_supplicant/<iface>`
//! ([`default_ctrl_paths`], [`discover_ctrl_paths`]). It binds two client sockets in a
//! private directory (mode 0700) under the system temporary directory, checks that the daemon
//! answers `PING` with `PONG`, asks for the interface name and attaches one socket for
//! unsolicited messages ([`WpaEvent`], also available through [`WpaBackend::subscribe`]). A
//! missing socket, a path that is not a socket, permission denied, a stale socket nobody
//! listens on, or no answer all give [`WifiErrorKind::Unavailable`](crate::WifiErrorKind::Unavailable)
//! naming the path.
//!
//! # Scanning
//!
//! `scan` sends `SCAN` (`SCAN passive=1` for passive scans), waits for
//! `CTRL-EVENT-SCAN-RESULTS` and reads `SCAN_RESULTS`: flags become [`AuthMode`](crate::AuthMode)s
//! ([`parse::auth_from_flags`]), frequencies channels, escaped SSIDs bytes. wpa_supplicant has
//! no dwell-time or channel-group settings, so `period_ms` and `group_channels` are ignored.
//! `FAIL-BUSY` or `SCAN-FAILED ret=-16` give `Busy`; other `SCAN-FAILED` results
//! `Unavailable`; a daemon running with `ap_scan=0` (the driver picks networks itself, as with
//! `-D wired`) does not scan at all and gives `Unsupported`.
//!
//! # Joining
//!
//! `connect` looks the network up in the cached scan results to choose the network block
//! (see [Network blocks](#network-blocks)), adds it, selects it (`SELECT_NETWORK`,
//! with `freq=` for a channel hint; this disables the other networks for the duration), and
//! follows the messages: `Searching`, `Associating` on `Trying to associate`/`Associated`,
//! `Authenticating` on secured networks, then — after `CTRL-EVENT-CONNECTED` for its network
//! id — `ObtainingAddress` while it polls `STATUS` for `ip_address=`. Failures are typed:
//! a wrong key (`SSID-TEMP-DISABLED … reason=WRONG_KEY`, or a failed 4-way handshake) is
//! `AuthFailed`; repeated `NETWORK-NOT-FOUND` or `reason=CONN_FAILED` is `NetworkNotFound`;
//! repeated `ASSOC-REJECT`/`AUTH-REJECT` is `AssociationRejected` with the status code;
//! repeated `DISCONNECTED reason=N` is `AssociationRejected` with the reason code (or
//! `AuthFailed` for reasons 15 and 23 on a secured network); no association within
//! [`WpaOptions::join_timeout`] is `Timeout`; no address within
//! [`WpaOptions::address_timeout`] is `NoAddress`.
//!
//! On failure the added block is removed; on success older blocks with the same SSID are
//! removed, and the configuration is saved when [`WpaOptions::save_after_connect`] is set.
//! Either way, the networks that were enabled before are enabled again. A newer `connect`,
//! `disconnect` or `start_ap` ends a running attempt with `Backend(Busy)`; dropping the
//! future undoes the attempt too.
//!
//! # Network blocks
//!
//! | security in the cached scan results | key_mgmt      | more                               |
//! |-------------------------------------|---------------|------------------------------------|
//! | open, or no passphrase given        | `NONE`        |                                    |
//! | WEP                                 | `NONE`        | `wep_key0`, `wep_tx_keyidx 0`      |
//! | WPA, WPA2, WPA/WPA2                 | `WPA-PSK`     | `psk`                              |
//! | WPA3 (SAE only)                     | `SAE`         | `psk`, `ieee80211w 2`              |
//! | WPA2/WPA3 transition                | `WPA-PSK SAE` | `psk`, `ieee80211w 1`              |
//! | OWE                                 | `OWE`         | `ieee80211w 2`                     |
//! | not seen (hidden, or no scan yet)   | `WPA-PSK SAE` | `psk`, `ieee80211w 1`, `scan_ssid 1` |
//! | enterprise                          | refused with `ConnectError::Unsupported`           |
//!
//! Without SAE in `GET_CAPABILITY key_mgmt`, or with a 64-hex-digit raw PSK, an unseen
//! network gets `WPA-PSK` only. SSIDs of printable ASCII are passed quoted, others as hex.
//! A passphrase (8–63 bytes, no control characters) is passed quoted, a raw PSK as is; the
//! commands carrying them are built in zeroized buffers and never traced (they show as
//! `SET_NETWORK N psk [redacted]`).
//!
//! # Access point
//!
//! `start_ap` needs `AP` in `GET_CAPABILITY modes strict` (otherwise `Unsupported`), then adds
//! a `mode=2` block (WPA2-PSK/CCMP, or open; `ignore_broadcast_ssid` when hidden; channel 6
//! when the configuration leaves it to the backend), selects it and waits for `AP-ENABLED`.
//! `stop_ap` removes the block and enables the station networks again. Joining a network
//! ends the access point.
//!
//! # Status
//!
//! `status` reads `STATUS`: `COMPLETED` with an address is `Connected`; association states,
//! `COMPLETED` without an address yet, or a running attempt are `Connecting`; anything else
//! (including access point mode) is `Disconnected`.

mod ap;
mod ap_net;
mod attempt;
mod backend;
mod ctrl;
mod event;
mod join;
pub mod parse;
mod plan;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

pub use ap_net::ApNetwork;
pub use backend::{WpaBackend, WpaOptions};
pub use event::WpaEvent;
pub use parse::NetworkEntry;

/// Directories where wpa_supplicant conventionally puts its per-interface sockets.
pub use crate::detect::WPA_CTRL_DIRS as CTRL_DIRS;

/// The conventional control socket paths for `iface`, most likely first.
pub fn default_ctrl_paths(iface: &str) -> Vec<PathBuf> {
    CTRL_DIRS.iter().map(|d| Path::new(d).join(iface)).collect()
}

/// The per-interface control sockets present in the conventional directories
/// ([`CTRL_DIRS`]), sorted and without duplicates (`/var/run` is usually a link to `/run`).
pub fn discover_ctrl_paths() -> Vec<PathBuf> {
    let dirs: Vec<&Path> = CTRL_DIRS.iter().map(Path::new).collect();
    discover_ctrl_paths_in(&dirs)
}

/// The control sockets in `dirs`: every Unix socket except P2P device sockets
/// (`p2p-dev-*`) and the global socket (`global`). Unreadable directories are skipped.
pub fn discover_ctrl_paths_in(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("p2p-dev-") || name == "global" {
                continue;
            }
            let path = entry.path();
            let is_socket = std::fs::metadata(&path).is_ok_and(|m| m.file_type().is_socket());
            if !is_socket {
                continue;
            }
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !found.iter().any(|(k, _)| *k == key) {
                found.push((key, path));
            }
        }
    }
    let mut paths: Vec<PathBuf> = found.into_iter().map(|(_, p)| p).collect();
    paths.sort();
    paths
}
