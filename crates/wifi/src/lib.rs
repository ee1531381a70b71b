//! The radio, behind one trait.
//!
//! [`WifiBackend`] is the only door to the Wi-Fi hardware: scan, connect (with progress and a
//! typed failure reason), disconnect, status, and an access point for SoftAP provisioning.
//! The [`sim`] backend implements all of it deterministically so that everything runs on any
//! machine; the wpa_supplicant and NetworkManager backends implement the same trait.
//!
//! The methods return boxed futures so that backends can be chosen at run time
//! (`Box<dyn WifiBackend>`).

pub mod detect;
#[cfg(feature = "networkmanager")]
pub mod nm;
pub mod sim;
pub mod split;
mod types;
#[cfg(feature = "wpa-supplicant")]
pub mod wpa;

pub use types::*;

use tokio::sync::mpsc::UnboundedSender;

pub use wifiprov_types::BoxFuture;

/// A Wi-Fi station (and optionally access point) implementation.
pub trait WifiBackend: Send + Sync {
    /// A short name for logs (`"sim"`, `"wpa_supplicant"`, `"networkmanager"`).
    fn name(&self) -> &'static str;

    /// Scans for access points. Completes when the scan is done; takes as long as the
    /// parameters imply (dwell time per channel, pauses between channel groups).
    fn scan(&self, params: ScanParams) -> BoxFuture<'_, Result<Vec<AccessPoint>, WifiError>>;

    /// Joins a network. Progress is reported on `progress` (if given) as it happens; the
    /// future ends with the link status or the reason the attempt failed.
    fn connect(
        &self,
        credentials: Credentials,
        progress: Option<UnboundedSender<ConnectProgress>>,
    ) -> BoxFuture<'_, Result<LinkStatus, ConnectError>>;

    /// Leaves the current network, if any.
    fn disconnect(&self) -> BoxFuture<'_, Result<(), WifiError>>;

    /// The station's current state.
    fn status(&self) -> BoxFuture<'_, Result<StationStatus, WifiError>>;

    /// Starts an access point (for SoftAP provisioning or the Wi-Fi manager's fallback).
    fn start_ap(&self, config: ApConfig) -> BoxFuture<'_, Result<(), WifiError>>;

    /// Stops the access point, if one runs.
    fn stop_ap(&self) -> BoxFuture<'_, Result<(), WifiError>>;

    /// Whether the access point runs on the station's own radio interface, so that a scan or
    /// a join takes it down (a wpa_supplicant interface, a NetworkManager device). Backends
    /// that run both at once say `false`.
    fn ap_shares_radio(&self) -> bool {
        false
    }
}
