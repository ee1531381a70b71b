//! [`SplitRadio`]: the station on one interface and the access point on another, behind one
//! [`WifiBackend`].
//!
//! A device with two radios (a second USB adapter, a board with two chips), or one radio that
//! runs a station and an access point at once (AP+STA concurrency: a second virtual interface
//! on the same channel), keeps its access point up while the station scans and joins. The
//! phone on the access point then stays connected through a join and is told its outcome
//! directly, instead of reading it after the access point comes back. Each side is a whole
//! backend of its own (wpa_supplicant on each interface, or two NetworkManager devices); this
//! adapter sends the station's calls to one and the access point's to the other, and says that
//! the access point does not share the station's radio.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::{
    AccessPoint, ApConfig, BoxFuture, ConnectError, ConnectProgress, Credentials, LinkStatus,
    ScanParams, StationStatus, WifiBackend, WifiError,
};

/// A station backend and an access point backend as one; see the [module documentation](self).
pub struct SplitRadio {
    station: Arc<dyn WifiBackend>,
    ap: Arc<dyn WifiBackend>,
}

impl SplitRadio {
    /// Scans, joins and reports status with `station`; runs the access point with `ap`.
    pub fn new(station: Arc<dyn WifiBackend>, ap: Arc<dyn WifiBackend>) -> Self {
        SplitRadio { station, ap }
    }
}

impl std::fmt::Debug for SplitRadio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitRadio")
            .field("station", &self.station.name())
            .field("ap", &self.ap.name())
            .finish()
    }
}

impl WifiBackend for SplitRadio {
    fn name(&self) -> &'static str {
        self.station.name()
    }

    fn scan(&self, params: ScanParams) -> BoxFuture<'_, Result<Vec<AccessPoint>, WifiError>> {
        self.station.scan(params)
    }

    fn connect(
        &self,
        credentials: Credentials,
        progress: Option<UnboundedSender<ConnectProgress>>,
    ) -> BoxFuture<'_, Result<LinkStatus, ConnectError>> {
        self.station.connect(credentials, progress)
    }

    fn disconnect(&self) -> BoxFuture<'_, Result<(), WifiError>> {
        self.station.disconnect()
    }

    fn status(&self) -> BoxFuture<'_, Result<StationStatus, WifiError>> {
        self.station.status()
    }

    fn start_ap(&self, config: ApConfig) -> BoxFuture<'_, Result<(), WifiError>> {
        self.ap.start_ap(config)
    }

    fn stop_ap(&self) -> BoxFuture<'_, Result<(), WifiError>> {
        self.ap.stop_ap()
    }

    fn ap_shares_radio(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{SimBackend, SimEnvironment};

    fn ap_config() -> ApConfig {
        ApConfig {
            ssid: b"wifiprov-setup".to_vec(),
            passphrase: None,
            channel: 1,
            hidden: false,
            max_clients: 4,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_access_point_stays_on_its_own_interface_through_a_join() {
        let station = Arc::new(SimBackend::new(SimEnvironment::builtin()));
        let ap = Arc::new(SimBackend::new(SimEnvironment::builtin()));
        let radio = SplitRadio::new(station.clone(), ap.clone());
        assert!(!radio.ap_shares_radio());
        radio.start_ap(ap_config()).await.unwrap();
        assert_eq!(
            ap.access_point().map(|c| c.ssid),
            Some(b"wifiprov-setup".to_vec())
        );
        assert!(station.access_point().is_none());

        let link = radio
            .connect(Credentials::new("HomeNet", "correct-horse").unwrap(), None)
            .await
            .unwrap();
        assert_eq!(link.ip.to_string(), "192.168.1.42");
        assert_eq!(station.connect_attempts(), 1);
        assert_eq!(ap.connect_attempts(), 0);
        assert!(
            ap.access_point().is_some(),
            "the join left the access point up"
        );
        assert!(matches!(
            radio.status().await.unwrap(),
            StationStatus::Connected(_)
        ));

        radio.stop_ap().await.unwrap();
        assert!(ap.access_point().is_none());
        assert!(matches!(
            radio.status().await.unwrap(),
            StationStatus::Connected(_)
        ));
    }
}
