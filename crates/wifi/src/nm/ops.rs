//! The [`WifiBackend`] operations of [`NmBackend`].

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use zbus::{ObjectPath, OwnedObjectPath, OwnedVariant, Variant};

use super::backend::{NmBackend, StoredProfile, WifiDevice};
use super::bus::{bus_error, is_error};
use super::follow::{self, Activation, next_message, report};
use super::reasons::state;
use super::settings::{KeyMgmt, Profile, WifiMode};
use super::{MODE_AP, iface, proxies};
use crate::{
    AccessPoint, ApConfig, AuthMode, BoxFuture, ConnectError, ConnectProgress, Credentials,
    LinkStatus, ScanParams, StationStatus, WifiBackend, WifiError, WifiErrorKind,
};

/// How a requested scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanEnd {
    /// `LastScan` changed: the list is fresh.
    Done,
    /// It did not change in time.
    TimedOut,
    /// NetworkManager refused to scan now (`Device.NotAllowed`, e.g. while the device runs
    /// the access point).
    Refused,
}

/// A profile NetworkManager refuses as invalid holds unusable credentials; the rest is a
/// backend failure.
fn connect_error(e: WifiError) -> ConnectError {
    if e.is(WifiErrorKind::Invalid) {
        ConnectError::InvalidCredentials(e.message().to_owned())
    } else {
        ConnectError::Backend(e)
    }
}

fn check_credentials(credentials: &Credentials) -> Result<(), ConnectError> {
    let ssid_len = credentials.ssid.len();
    if !(1..=32).contains(&ssid_len) {
        return Err(ConnectError::InvalidCredentials(format!(
            "the SSID must be 1 to 32 bytes (got {ssid_len})"
        )));
    }
    let passphrase_len = credentials.passphrase.len();
    if passphrase_len > 64 {
        return Err(ConnectError::InvalidCredentials(format!(
            "the passphrase must be at most 64 bytes (got {passphrase_len})"
        )));
    }
    if std::str::from_utf8(credentials.passphrase.expose()).is_err() {
        return Err(ConnectError::Unsupported(
            "the passphrase is not valid UTF-8 (NetworkManager takes text)".to_owned(),
        ));
    }
    Ok(())
}

/// The key management for a network of security `seen` (`None`: not in the scan list).
fn key_mgmt_for(
    seen: Option<AuthMode>,
    credentials: &Credentials,
) -> Result<KeyMgmt, ConnectError> {
    let no_passphrase = credentials.passphrase.is_empty();
    let ssid = credentials.ssid_lossy();
    let key_mgmt = match seen {
        None if no_passphrase => KeyMgmt::Open,
        None => KeyMgmt::WpaPsk,
        Some(AuthMode::Open) => KeyMgmt::Open,
        Some(AuthMode::Wpa3Psk) => KeyMgmt::Sae,
        Some(
            AuthMode::WpaPsk | AuthMode::Wpa2Psk | AuthMode::WpaWpa2Psk | AuthMode::Wpa2Wpa3Psk,
        ) => KeyMgmt::WpaPsk,
        Some(other) => {
            return Err(ConnectError::Unsupported(format!(
                "joining {ssid:?}: {} networks are not supported by the NetworkManager backend",
                other.label()
            )));
        }
    };
    if key_mgmt != KeyMgmt::Open && no_passphrase {
        // A secured network without a passphrase cannot authenticate.
        return Err(ConnectError::AuthFailed { ssid });
    }
    Ok(key_mgmt)
}

impl NmBackend {
    async fn join(
        &self,
        credentials: Credentials,
        progress: Option<UnboundedSender<ConnectProgress>>,
    ) -> Result<LinkStatus, ConnectError> {
        check_credentials(&credentials)?;
        let ssid = credentials.ssid_lossy();
        let device = self.device_for_activation().await?;
        report(progress.as_ref(), ConnectProgress::Searching);
        let mut seen = match &device {
            Some(d) => self.seen_security(d, &credentials).await,
            None => None,
        };
        let listed = seen.is_some();
        if let Some(d) = device.as_ref().filter(|_| !listed) {
            // NetworkManager keeps its scan results for a while and, asked to join a network
            // it does not list, waits for later scans before it gives up: look for the
            // network with a directed scan and decide from its result.
            match self
                .scan_and_wait(&d.path, Some(&credentials.ssid), self.find_timeout)
                .await?
            {
                ScanEnd::Done => {
                    seen = self.seen_security(d, &credentials).await;
                    if seen.is_none() {
                        tracing::info!(ssid = ?ssid, "not found by a directed scan");
                        return Err(ConnectError::NetworkNotFound { ssid });
                    }
                }
                end => {
                    tracing::debug!(?end, "the directed scan is inconclusive; joining as hidden");
                    seen = self.seen_security(d, &credentials).await;
                }
            }
        }
        let key_mgmt = key_mgmt_for(seen, &credentials)?;
        let secured = key_mgmt != KeyMgmt::Open;
        let mut profile = Profile::station(&credentials, key_mgmt);
        profile.hidden = !listed;
        profile.interface = self.interface.clone();
        tracing::info!(ssid = ?ssid, key_mgmt = ?profile.key_mgmt, hidden = profile.hidden, "joining");

        let earlier: Vec<StoredProfile> = self
            .profiles()
            .await?
            .into_iter()
            .filter(|p| {
                p.profile.is_ours()
                    && p.profile.mode == WifiMode::Infrastructure
                    && p.profile.ssid == credentials.ssid
            })
            .collect();
        self.remove_profiles(&earlier).await?;
        let path = self.add_profile(&profile).await.map_err(connect_error)?;

        let outcome = self
            .run_activation(
                &path,
                device.as_ref(),
                &ssid,
                secured,
                progress.as_ref(),
                self.connect_timeout,
            )
            .await;
        let outcome = match outcome {
            Ok(device_path) => self.link_status(&device_path).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(link) => {
                tracing::info!(ssid = ?ssid, ip = %link.ip, "joined");
                report(progress.as_ref(), ConnectProgress::Connected(link.clone()));
                Ok(link)
            }
            Err(e) => {
                tracing::info!(ssid = ?ssid, error = %e, "join failed");
                if let Err(cleanup) = self.delete_profile(&path).await {
                    tracing::warn!(error = %cleanup, "could not delete the failed profile");
                }
                Err(e)
            }
        }
    }

    /// Activates `path` and follows it until it is up (returns the device it runs on), fails
    /// or times out (then it is deactivated).
    async fn run_activation(
        &self,
        path: &ObjectPath<'_>,
        device: Option<&WifiDevice>,
        ssid: &str,
        secured: bool,
        progress: Option<&UnboundedSender<ConnectProgress>>,
        limit: std::time::Duration,
    ) -> Result<OwnedObjectPath, ConnectError> {
        let mut stream = follow::subscribe_states(&self.conn).await?;
        let active = self.activate_on(path, device).await?;
        let mut activation = Activation {
            conn: &self.conn,
            active: active.clone(),
            device: device.map(|d| d.path.clone()),
            ssid: ssid.to_owned(),
            secured,
            progress,
        };
        match tokio::time::timeout(limit, activation.follow(&mut stream)).await {
            Ok(Ok(())) => activation.device.ok_or_else(|| {
                ConnectError::Backend(WifiError::unavailable(
                    "NetworkManager activated the profile on no device".to_owned(),
                ))
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                if let Err(e) = self.deactivate(&active).await {
                    tracing::debug!(error = %e, "could not cancel the timed-out activation");
                }
                Err(ConnectError::Timeout {
                    ssid: ssid.to_owned(),
                })
            }
        }
    }

    /// The security of the strongest listed access point matching the credentials.
    async fn seen_security(
        &self,
        device: &WifiDevice,
        credentials: &Credentials,
    ) -> Option<AuthMode> {
        let aps = self.device_access_points(&device.path).await.ok()?;
        aps.into_iter()
            .filter(|ap| ap.ssid == credentials.ssid)
            .filter(|ap| credentials.bssid.is_none_or(|b| b == ap.bssid))
            .max_by_key(|ap| ap.rssi)
            .map(|ap| ap.auth)
    }

    /// The link on `device`: its access point and IPv4 address.
    async fn link_status(&self, device: &ObjectPath<'_>) -> Result<LinkStatus, ConnectError> {
        let context = "reading the link";
        let wireless = proxies::wireless(&self.conn, device)
            .await
            .map_err(|e| bus_error(context, &e))?;
        let ap_path = wireless
            .active_access_point()
            .await
            .map_err(|e| bus_error(context, &e))?;
        let ap: AccessPoint = if ap_path.as_str() == "/" {
            return Err(ConnectError::Backend(WifiError::unavailable(
                "NetworkManager reports no access point for the link".to_owned(),
            )));
        } else {
            let props = proxies::get_all(&self.conn, &ap_path, iface::ACCESS_POINT)
                .await
                .map_err(|e| bus_error(context, &e))?;
            super::parse_access_point(&props)?
        };
        let ssid = String::from_utf8_lossy(&ap.ssid).into_owned();
        let ip = self
            .ipv4_address(device)
            .await?
            .ok_or(ConnectError::NoAddress { ssid })?;
        Ok(LinkStatus {
            ssid: ap.ssid,
            bssid: ap.bssid,
            channel: ap.channel,
            auth: ap.auth,
            ip,
            rssi: ap.rssi,
        })
    }

    async fn ipv4_address(&self, device: &ObjectPath<'_>) -> Result<Option<Ipv4Addr>, WifiError> {
        let context = "reading the IPv4 configuration";
        let config = proxies::device(&self.conn, device)
            .await
            .map_err(|e| bus_error(context, &e))?
            .ip4_config()
            .await
            .map_err(|e| bus_error(context, &e))?;
        if config.as_str() == "/" {
            return Ok(None);
        }
        let data: Vec<HashMap<String, OwnedVariant>> = proxies::ip4_config(&self.conn, &config)
            .await
            .map_err(|e| bus_error(context, &e))?
            .address_data()
            .await
            .map_err(|e| bus_error(context, &e))?;
        Ok(data.iter().find_map(|entry| {
            entry
                .get("address")
                .and_then(|a| <&str>::try_from(a).ok())
                .and_then(|a| a.parse().ok())
        }))
    }

    async fn station_status(&self) -> Result<StationStatus, WifiError> {
        let device = self.wifi_device().await?;
        let context = "reading the station state";
        let proxy = proxies::device(&self.conn, &device.path)
            .await
            .map_err(|e| bus_error(context, &e))?;
        let active = proxy
            .active_connection()
            .await
            .map_err(|e| bus_error(context, &e))?;
        if active.as_str() == "/" {
            return Ok(StationStatus::Disconnected);
        }
        let mode = proxies::wireless(&self.conn, &device.path)
            .await
            .map_err(|e| bus_error(context, &e))?
            .mode()
            .await
            .map_err(|e| bus_error(context, &e))?;
        if mode == MODE_AP {
            return Ok(StationStatus::Disconnected);
        }
        match device.state {
            state::ACTIVATED => match self.link_status(&device.path).await {
                Ok(link) => Ok(StationStatus::Connected(link)),
                Err(ConnectError::Backend(e)) => Err(e),
                Err(_) => Ok(StationStatus::Disconnected),
            },
            s if (state::PREPARE..=state::SECONDARIES).contains(&s) => {
                let profile = proxies::active(&self.conn, &active)
                    .await
                    .map_err(|e| bus_error(context, &e))?
                    .connection()
                    .await
                    .map_err(|e| bus_error(context, &e))?;
                let ssid = self
                    .profile(&profile)
                    .await
                    .map(|p| p.ssid)
                    .unwrap_or_default();
                Ok(StationStatus::Connecting { ssid })
            }
            _ => Ok(StationStatus::Disconnected),
        }
    }

    async fn leave(&self) -> Result<(), WifiError> {
        let device = self.wifi_device().await?;
        let context = "disconnecting";
        let mode = proxies::wireless(&self.conn, &device.path)
            .await
            .map_err(|e| bus_error(context, &e))?
            .mode()
            .await
            .map_err(|e| bus_error(context, &e))?;
        if mode == MODE_AP {
            // The access point is not a station link; stop_ap ends it.
            return Ok(());
        }
        match proxies::device(&self.conn, &device.path)
            .await
            .map_err(|e| bus_error(context, &e))?
            .disconnect()
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if is_error(&e, "NotActive") => Ok(()),
            Err(e) => Err(bus_error(context, &e)),
        }
    }

    async fn run_scan(&self) -> Result<Vec<AccessPoint>, WifiError> {
        let device = self.wifi_device().await?;
        match self
            .scan_and_wait(&device.path, None, self.scan_timeout)
            .await?
        {
            ScanEnd::Done | ScanEnd::Refused => {}
            ScanEnd::TimedOut => {
                tracing::warn!("NetworkManager's scan did not finish in time; listing what it has");
            }
        }
        self.device_access_points(&device.path).await
    }

    /// Asks NetworkManager for a scan (for `ssid` only: a directed scan, which also finds a
    /// hidden network answering probes) and waits at most `limit` for `LastScan` to change.
    async fn scan_and_wait(
        &self,
        device: &ObjectPath<'_>,
        ssid: Option<&[u8]>,
        limit: Duration,
    ) -> Result<ScanEnd, WifiError> {
        let context = "scanning";
        let mut changes = follow::subscribe_wireless_properties(&self.conn, device).await?;
        let wireless = proxies::wireless(&self.conn, device)
            .await
            .map_err(|e| bus_error(context, &e))?;
        let before = wireless
            .last_scan()
            .await
            .map_err(|e| bus_error(context, &e))?;
        let mut options = HashMap::new();
        if let Some(ssid) = ssid {
            options.insert("ssids", Variant::from(vec![ssid.to_vec()]));
        }
        match wireless.request_scan(options).await {
            Ok(()) => {
                let done = async {
                    while let Some(Ok(message)) = next_message(&mut changes).await {
                        let Ok((_iface, changed, _)) = message.body().deserialize::<(
                            String,
                            HashMap<String, OwnedVariant>,
                            Vec<String>,
                        )>() else {
                            continue;
                        };
                        let last = changed.get("LastScan").and_then(|v| i64::try_from(v).ok());
                        if last.is_some_and(|l| l != before) {
                            return;
                        }
                    }
                };
                match tokio::time::timeout(limit, done).await {
                    Ok(()) => Ok(ScanEnd::Done),
                    Err(_) => Ok(ScanEnd::TimedOut),
                }
            }
            Err(e) if is_error(&e, "NotAllowed") => {
                let reason = super::bus::error_reply(&e)
                    .map(|(_, m)| m)
                    .unwrap_or_default();
                tracing::debug!(%reason, "scan refused; using the current access points");
                Ok(ScanEnd::Refused)
            }
            Err(e) => Err(bus_error(context, &e)),
        }
    }

    async fn run_ap(&self, config: ApConfig) -> Result<(), WifiError> {
        if !(1..=32).contains(&config.ssid.len()) {
            return Err(WifiError::invalid(format!(
                "the access point SSID must be 1 to 32 bytes (got {})",
                config.ssid.len()
            )));
        }
        if let Some(p) = &config.passphrase
            && !(8..=63).contains(&p.len())
        {
            return Err(WifiError::invalid(format!(
                "the access point passphrase must be 8 to 63 bytes (got {})",
                p.len()
            )));
        }
        let device = self.wifi_device().await?;
        if !device.supports_ap() {
            return Err(WifiError::unsupported(format!(
                "{} cannot run an access point (NetworkManager reports no AP capability)",
                device.interface
            )));
        }
        let earlier = self.hotspot_profiles().await?;
        self.remove_profiles(&earlier).await?;
        let profile = Profile::hotspot(&config, Some(&device.interface));
        let ssid = profile.ssid_lossy();
        let path = self.add_profile(&profile).await?;
        let secured = profile.key_mgmt != KeyMgmt::Open;
        match self
            .run_activation(&path, Some(&device), &ssid, secured, None, self.ap_timeout)
            .await
        {
            Ok(_) => {
                tracing::info!(ssid = ?ssid, interface = %device.interface, "access point up");
                Ok(())
            }
            Err(e) => {
                if let Err(cleanup) = self.delete_profile(&path).await {
                    tracing::warn!(error = %cleanup, "could not delete the failed hotspot profile");
                }
                Err(match e {
                    ConnectError::Backend(e) => e,
                    ConnectError::InvalidCredentials(m) => WifiError::invalid(m),
                    ConnectError::Unsupported(m) => WifiError::unsupported(m),
                    other => {
                        WifiError::unavailable(format!("the access point did not start: {other}"))
                    }
                })
            }
        }
    }

    async fn end_ap(&self) -> Result<(), WifiError> {
        let hotspots = self.hotspot_profiles().await?;
        self.remove_profiles(&hotspots).await
    }
}

impl WifiBackend for NmBackend {
    fn name(&self) -> &'static str {
        "networkmanager"
    }

    fn scan(&self, _params: ScanParams) -> BoxFuture<'_, Result<Vec<AccessPoint>, WifiError>> {
        Box::pin(self.run_scan())
    }

    fn connect(
        &self,
        credentials: Credentials,
        progress: Option<UnboundedSender<ConnectProgress>>,
    ) -> BoxFuture<'_, Result<LinkStatus, ConnectError>> {
        Box::pin(self.join(credentials, progress))
    }

    fn disconnect(&self) -> BoxFuture<'_, Result<(), WifiError>> {
        Box::pin(self.leave())
    }

    fn status(&self) -> BoxFuture<'_, Result<StationStatus, WifiError>> {
        Box::pin(self.station_status())
    }

    fn start_ap(&self, config: ApConfig) -> BoxFuture<'_, Result<(), WifiError>> {
        Box::pin(self.run_ap(config))
    }

    fn stop_ap(&self) -> BoxFuture<'_, Result<(), WifiError>> {
        Box::pin(self.end_ap())
    }

    fn ap_shares_radio(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_management_follows_the_scan() {
        let wpa = Credentials::new("Home", "correct horse").unwrap();
        let open = Credentials::new("Cafe", "").unwrap();
        assert_eq!(key_mgmt_for(None, &wpa).unwrap(), KeyMgmt::WpaPsk);
        assert_eq!(key_mgmt_for(None, &open).unwrap(), KeyMgmt::Open);
        assert_eq!(
            key_mgmt_for(Some(AuthMode::Open), &wpa).unwrap(),
            KeyMgmt::Open
        );
        assert_eq!(
            key_mgmt_for(Some(AuthMode::Wpa3Psk), &wpa).unwrap(),
            KeyMgmt::Sae
        );
        for mode in [
            AuthMode::WpaPsk,
            AuthMode::Wpa2Psk,
            AuthMode::WpaWpa2Psk,
            AuthMode::Wpa2Wpa3Psk,
        ] {
            assert_eq!(key_mgmt_for(Some(mode), &wpa).unwrap(), KeyMgmt::WpaPsk);
        }
        assert!(
            key_mgmt_for(Some(AuthMode::Wpa2Psk), &open)
                .unwrap_err()
                .is_auth_error()
        );
        assert!(matches!(
            key_mgmt_for(Some(AuthMode::Wep), &wpa),
            Err(ConnectError::Unsupported(m)) if m.contains("WEP")
        ));
        assert!(matches!(
            key_mgmt_for(Some(AuthMode::Wpa2Enterprise), &wpa),
            Err(ConnectError::Unsupported(_))
        ));
    }

    #[test]
    fn credentials_are_checked() {
        assert!(check_credentials(&Credentials::new("Home", "correct horse").unwrap()).is_ok());
        // Lengths are the credentials' own rule: such values never reach the backend.
        assert!(Credentials::new("", "x").is_err());
        assert!(Credentials::new(vec![b'a'; 33], "x").is_err());
        assert!(Credentials::new("Home", vec![b'a'; 65]).is_err());
        assert!(matches!(
            check_credentials(&Credentials::new("Home", vec![0xff, 0xfe]).unwrap()),
            Err(ConnectError::Unsupported(m)) if m.contains("UTF-8")
        ));
    }
}
