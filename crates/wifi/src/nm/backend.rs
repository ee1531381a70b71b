//! [`NmBackend`]: the connection to NetworkManager, device lookup and profile management.

use std::collections::HashMap;
use std::time::Duration;

use wifiprov_types::Secret;
use zbus::{Connection, ObjectPath, OwnedObjectPath};

use super::bus::{bus_error, is_error};
use super::reasons::state;
use super::settings::{ConnectionSettings, Profile, WifiMode};
use super::{DEVICE_TYPE_WIFI, HOTSPOT_ID, WIFI_CAP_AP, add_flags, iface, proxies};
use crate::{AccessPoint, ConnectError, WifiError, WifiErrorKind};

/// How long a call to NetworkManager may take before it counts as failed (libdbus's
/// default), on the system bus connection [`NmBackend::connect`] opens.
const METHOD_TIMEOUT: Duration = Duration::from_secs(25);

/// The [`WifiBackend`](crate::WifiBackend) that drives NetworkManager over D-Bus. See the
/// [module documentation](super).
#[derive(Debug, Clone)]
pub struct NmBackend {
    pub(super) conn: Connection,
    pub(super) interface: Option<String>,
    pub(super) connect_timeout: Duration,
    pub(super) ap_timeout: Duration,
    pub(super) scan_timeout: Duration,
    pub(super) find_timeout: Duration,
}

/// A Wi-Fi device as NetworkManager describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WifiDevice {
    /// The device object.
    pub path: OwnedObjectPath,
    /// The interface name (`wlan0`).
    pub interface: String,
    /// `NMDeviceState` (10 unmanaged, 20 unavailable, 30 disconnected, 100 activated, …).
    pub state: u32,
    /// `NMDeviceWifiCapabilities` bits.
    pub capabilities: u32,
}

impl WifiDevice {
    /// Whether the device can run an access point (`NM_WIFI_DEVICE_CAP_AP`).
    pub fn supports_ap(&self) -> bool {
        self.capabilities & WIFI_CAP_AP != 0
    }

    /// Whether NetworkManager manages the device (its state is above `UNMANAGED`).
    pub fn is_managed(&self) -> bool {
        self.state > state::UNMANAGED
    }
}

/// A profile stored by NetworkManager, with its object path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProfile {
    /// The `Settings.Connection` object.
    pub path: OwnedObjectPath,
    /// Its settings (without secrets).
    pub profile: Profile,
}

/// Whether NetworkManager runs on `conn`'s bus and manages at least one Wi-Fi device — what
/// automatic backend selection asks. Any failure counts as "no".
pub async fn manages_wifi_device(conn: &Connection) -> bool {
    let Ok(manager) = proxies::manager(conn).await else {
        return false;
    };
    let Ok(devices) = manager.get_devices().await else {
        return false;
    };
    for path in devices {
        let Ok(device) = proxies::device(conn, &path).await else {
            continue;
        };
        if device.device_type().await.ok() == Some(DEVICE_TYPE_WIFI)
            && device.state().await.is_ok_and(|s| s > state::UNMANAGED)
        {
            return true;
        }
    }
    false
}

/// A human name of an `NMDeviceType`, for messages.
fn device_type_name(t: u32) -> String {
    match t {
        1 => "Ethernet".into(),
        2 => "Wi-Fi".into(),
        5 => "Bluetooth".into(),
        8 => "modem".into(),
        13 => "bridge".into(),
        14 => "generic".into(),
        16 => "TUN/TAP".into(),
        20 => "veth".into(),
        22 => "dummy".into(),
        30 => "Wi-Fi P2P".into(),
        32 => "loopback".into(),
        n => format!("type-{n}"),
    }
}

impl NmBackend {
    /// How long `connect` waits for NetworkManager to finish an activation by default.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(45);
    /// How long `start_ap` waits for the access point by default.
    pub const DEFAULT_AP_TIMEOUT: Duration = Duration::from_secs(30);
    /// How long `scan` waits for NetworkManager's scan to complete by default: within the
    /// about 5 s a provisioning service gives a scan (ESP-IDF's 14 channels at 120 ms, and
    /// some slack), which a scan of 2.4 and 5 GHz by NetworkManager can outlast. After it the
    /// list NetworkManager holds from its earlier scans is returned.
    pub const DEFAULT_SCAN_TIMEOUT: Duration = Duration::from_millis(3500);
    /// How long `connect` waits for the directed scan that looks for a network absent from
    /// NetworkManager's list, by default.
    pub const DEFAULT_FIND_TIMEOUT: Duration = Duration::from_secs(10);

    /// Connects to NetworkManager on the system bus and checks that it has a Wi-Fi device
    /// to use (`interface`, or any managed one).
    ///
    /// Fails with [`WifiErrorKind::Unavailable`](crate::WifiErrorKind::Unavailable) when the system bus cannot be reached or
    /// NetworkManager is not on it, and with the errors of [`NmBackend::wifi_device`] when
    /// there is no usable Wi-Fi device.
    pub async fn connect(interface: Option<&str>) -> Result<Self, WifiError> {
        let conn = zbus::connection::Builder::system()
            .method_timeout(METHOD_TIMEOUT)
            .build()
            .await
            .map_err(|e| {
                WifiError::unavailable(format!("cannot reach the system D-Bus bus: {e}"))
            })?;
        let backend = Self::with_connection(conn, interface).await?;
        let device = backend.wifi_device().await?;
        tracing::info!(interface = %device.interface, "using NetworkManager's Wi-Fi device");
        Ok(backend)
    }

    /// Uses NetworkManager on an existing bus connection (a private bus in tests). Checks
    /// only that NetworkManager answers ([`WifiErrorKind::Unavailable`](crate::WifiErrorKind::Unavailable) otherwise); the Wi-Fi
    /// device is looked up by each operation.
    pub async fn with_connection(
        conn: Connection,
        interface: Option<&str>,
    ) -> Result<Self, WifiError> {
        let backend = NmBackend {
            conn,
            interface: interface.map(str::to_owned),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            ap_timeout: Self::DEFAULT_AP_TIMEOUT,
            scan_timeout: Self::DEFAULT_SCAN_TIMEOUT,
            find_timeout: Self::DEFAULT_FIND_TIMEOUT,
        };
        let version = backend.version().await?;
        tracing::debug!(%version, "NetworkManager answers");
        Ok(backend)
    }

    /// Sets how long `connect` waits for an activation to finish.
    pub fn set_connect_timeout(&mut self, timeout: Duration) {
        self.connect_timeout = timeout;
    }

    /// Sets how long `start_ap` waits for the access point to come up.
    pub fn set_ap_timeout(&mut self, timeout: Duration) {
        self.ap_timeout = timeout;
    }

    /// Sets how long `scan` waits for NetworkManager's scan.
    pub fn set_scan_timeout(&mut self, timeout: Duration) {
        self.scan_timeout = timeout;
    }

    /// Sets how long `connect` waits for the directed scan for a network NetworkManager does
    /// not list.
    pub fn set_find_timeout(&mut self, timeout: Duration) {
        self.find_timeout = timeout;
    }

    /// The bus connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The configured interface, if any.
    pub fn interface(&self) -> Option<&str> {
        self.interface.as_deref()
    }

    /// NetworkManager's version.
    pub async fn version(&self) -> Result<String, WifiError> {
        let context = "contacting NetworkManager";
        proxies::manager(&self.conn)
            .await
            .map_err(|e| bus_error(context, &e))?
            .version()
            .await
            .map_err(|e| bus_error(context, &e))
    }

    async fn describe(&self, path: &ObjectPath<'_>) -> Result<(u32, WifiDevice), WifiError> {
        let context = "reading a NetworkManager device";
        let device = proxies::device(&self.conn, path)
            .await
            .map_err(|e| bus_error(context, &e))?;
        let kind = device
            .device_type()
            .await
            .map_err(|e| bus_error(context, &e))?;
        let interface = device
            .interface()
            .await
            .map_err(|e| bus_error(context, &e))?;
        let state = device.state().await.map_err(|e| bus_error(context, &e))?;
        let capabilities = if kind == DEVICE_TYPE_WIFI {
            let wireless = proxies::wireless(&self.conn, path)
                .await
                .map_err(|e| bus_error(context, &e))?;
            wireless
                .wireless_capabilities()
                .await
                .map_err(|e| bus_error(context, &e))?
        } else {
            0
        };
        Ok((
            kind,
            WifiDevice {
                path: path.to_owned().into(),
                interface,
                state,
                capabilities,
            },
        ))
    }

    /// The Wi-Fi device to use: the configured interface, or the first managed Wi-Fi device.
    ///
    /// * configured interface unknown to NetworkManager, or not Wi-Fi →
    ///   [`WifiErrorKind::Unsupported`](crate::WifiErrorKind::Unsupported) naming it;
    /// * configured interface unmanaged → [`WifiErrorKind::Unavailable`](crate::WifiErrorKind::Unavailable);
    /// * no interface configured and no managed Wi-Fi device → [`WifiErrorKind::Unsupported`](crate::WifiErrorKind::Unsupported)
    ///   listing the devices NetworkManager has.
    pub async fn wifi_device(&self) -> Result<WifiDevice, WifiError> {
        let manager = proxies::manager(&self.conn)
            .await
            .map_err(|e| bus_error("contacting NetworkManager", &e))?;
        if let Some(name) = &self.interface {
            let path = match manager.get_device_by_ip_iface(name).await {
                Ok(path) => path,
                Err(e) if is_error(&e, "UnknownDevice") => {
                    let detail = super::bus::error_reply(&e)
                        .map(|(_, m)| m)
                        .unwrap_or_default();
                    return Err(WifiError::unsupported(format!(
                        "NetworkManager has no device {name:?} ({detail})"
                    )));
                }
                Err(e) => return Err(bus_error("looking up the Wi-Fi interface", &e)),
            };
            let (kind, device) = self.describe(&path).await?;
            if kind != DEVICE_TYPE_WIFI {
                return Err(WifiError::unsupported(format!(
                    "{name} is a {} device, not a Wi-Fi device",
                    device_type_name(kind)
                )));
            }
            if !device.is_managed() {
                return Err(WifiError::unavailable(format!(
                    "NetworkManager does not manage {name}"
                )));
            }
            return Ok(device);
        }
        let paths = manager
            .get_devices()
            .await
            .map_err(|e| bus_error("listing NetworkManager's devices", &e))?;
        let mut others = Vec::new();
        for path in paths {
            let (kind, device) = match self.describe(&path).await {
                Ok(found) => found,
                // Removed since the listing.
                Err(e) if e.is(WifiErrorKind::Invalid) => continue,
                Err(e) => return Err(e),
            };
            if kind == DEVICE_TYPE_WIFI && device.is_managed() {
                return Ok(device);
            }
            let managed = if device.is_managed() {
                ""
            } else {
                ", unmanaged"
            };
            others.push(format!(
                "{} ({}{managed})",
                device.interface,
                device_type_name(kind)
            ));
        }
        let listed = if others.is_empty() {
            "none".to_owned()
        } else {
            others.join(", ")
        };
        Err(WifiError::unsupported(format!(
            "NetworkManager manages no Wi-Fi device (its devices: {listed})"
        )))
    }

    /// The device an activation should name: the Wi-Fi device, or `None` (NetworkManager
    /// chooses) when no interface is configured and none was found.
    pub(super) async fn device_for_activation(&self) -> Result<Option<WifiDevice>, WifiError> {
        match self.wifi_device().await {
            Ok(device) => Ok(Some(device)),
            Err(e) if e.is(WifiErrorKind::Unsupported) && self.interface.is_none() => {
                tracing::debug!(error = %e, "no Wi-Fi device; NetworkManager will choose");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Stores a new profile; returns its object path. NetworkManager's validation errors come
    /// back as [`WifiErrorKind::Invalid`](crate::WifiErrorKind::Invalid) naming the property.
    ///
    /// The profile is added with `AddConnection2` and the flag `BLOCK_AUTOCONNECT`, so that
    /// NetworkManager does not start an activation of its own between the addition and the
    /// caller's [`activate`](NmBackend::activate) (the two would race, and the loser's
    /// failure would be reported for the join); autoconnect works again from the first
    /// explicit activation on. A station profile is written to disk by the settings plugin
    /// (`TO_DISK`), so that the device rejoins after a restart; the access point profile is
    /// kept in memory (`IN_MEMORY`), so that none is left behind after a crash. A
    /// NetworkManager older than 1.20 (no `AddConnection2`) gets `AddConnection`.
    pub async fn add_profile(&self, profile: &Profile) -> Result<OwnedObjectPath, WifiError> {
        let settings = profile.to_settings()?;
        let context = format!("adding profile {:?}", profile.id);
        let store = if profile.mode == WifiMode::AccessPoint {
            add_flags::IN_MEMORY
        } else {
            add_flags::TO_DISK
        };
        let proxy = proxies::settings(&self.conn)
            .await
            .map_err(|e| bus_error(&context, &e))?;
        let path = match proxy
            .add_connection2(
                settings.as_map(),
                store | add_flags::BLOCK_AUTOCONNECT,
                HashMap::new(),
            )
            .await
        {
            Ok((path, _result)) => path,
            Err(e) if is_error(&e, "UnknownMethod") => {
                tracing::debug!(
                    "no AddConnection2 (NetworkManager before 1.20); using AddConnection"
                );
                proxy
                    .add_connection(settings.as_map())
                    .await
                    .map_err(|e| bus_error(&context, &e))?
            }
            Err(e) => return Err(bus_error(&context, &e)),
        };
        tracing::debug!(id = %profile.id, path = %path.as_str(), "profile added");
        Ok(path)
    }

    /// The raw settings of a stored profile (without secrets).
    pub async fn profile_settings(
        &self,
        path: &ObjectPath<'_>,
    ) -> Result<ConnectionSettings, WifiError> {
        let context = format!("reading profile {}", path.as_str());
        let map = proxies::profile(&self.conn, path)
            .await
            .map_err(|e| bus_error(&context, &e))?
            .get_settings()
            .await
            .map_err(|e| bus_error(&context, &e))?;
        Ok(ConnectionSettings::from_map(map))
    }

    /// A stored Wi-Fi profile (without secrets).
    pub async fn profile(&self, path: &ObjectPath<'_>) -> Result<Profile, WifiError> {
        Profile::from_settings(&self.profile_settings(path).await?)
    }

    /// The stored passphrase (`802-11-wireless-security.psk`) of a profile; `None` for a
    /// profile without one.
    pub async fn profile_psk(&self, path: &ObjectPath<'_>) -> Result<Option<Secret>, WifiError> {
        let context = format!("reading the secrets of profile {}", path.as_str());
        let proxy = proxies::profile(&self.conn, path)
            .await
            .map_err(|e| bus_error(&context, &e))?;
        match proxy.get_secrets("802-11-wireless-security").await {
            Ok(map) => Ok(ConnectionSettings::from_map(map)
                .str("802-11-wireless-security", "psk")
                .map(|p| Secret::new(p.as_bytes().to_vec()))),
            Err(e) if is_error(&e, "SettingNotFound") => Ok(None),
            Err(e) => Err(bus_error(&context, &e)),
        }
    }

    /// Every stored Wi-Fi profile (other profile types are left out).
    pub async fn profiles(&self) -> Result<Vec<StoredProfile>, WifiError> {
        let paths = proxies::settings(&self.conn)
            .await
            .map_err(|e| bus_error("listing profiles", &e))?
            .list_connections()
            .await
            .map_err(|e| bus_error("listing profiles", &e))?;
        let mut out = Vec::new();
        for path in paths {
            match self.profile(&path).await {
                Ok(profile) => out.push(StoredProfile { path, profile }),
                // Not Wi-Fi, or deleted in the meantime.
                Err(e) if e.is(WifiErrorKind::Invalid) => {
                    tracing::trace!(path = %path.as_str(), reason = e.message(), "profile skipped");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Deletes a stored profile (deactivating it if it is active).
    pub async fn delete_profile(&self, path: &ObjectPath<'_>) -> Result<(), WifiError> {
        let context = format!("deleting profile {}", path.as_str());
        proxies::profile(&self.conn, path)
            .await
            .map_err(|e| bus_error(&context, &e))?
            .delete()
            .await
            .map_err(|e| bus_error(&context, &e))?;
        tracing::debug!(path = %path.as_str(), "profile deleted");
        Ok(())
    }

    /// Asks NetworkManager to activate a stored profile on the Wi-Fi device (or, with no
    /// interface configured and no Wi-Fi device found, on a device of its choice); returns
    /// the active connection object. Does not wait for the outcome. A refusal is
    /// `ConnectError::Backend` with the [`bus_error`](super::bus_error) mapping, e.g.
    /// `Unsupported` for NetworkManager's `UnknownDevice` ("No suitable device found for
    /// this connection …").
    pub async fn activate(&self, path: &ObjectPath<'_>) -> Result<OwnedObjectPath, ConnectError> {
        let device = self.device_for_activation().await?;
        self.activate_on(path, device.as_ref()).await
    }

    pub(super) async fn activate_on(
        &self,
        path: &ObjectPath<'_>,
        device: Option<&WifiDevice>,
    ) -> Result<OwnedObjectPath, ConnectError> {
        let root = ObjectPath::from_str_unchecked("/");
        let device_path = device.map_or_else(|| root.clone(), |d| ObjectPath::from(&d.path));
        let context = format!("activating profile {}", path.as_str());
        let manager = proxies::manager(&self.conn)
            .await
            .map_err(|e| bus_error(&context, &e))?;
        let active = manager
            .activate_connection(path, &device_path, &root)
            .await
            .map_err(|e| bus_error(&context, &e))?;
        tracing::debug!(active = %active.as_str(), "activation started");
        Ok(active)
    }

    /// Deactivates an active connection.
    pub async fn deactivate(&self, active: &ObjectPath<'_>) -> Result<(), WifiError> {
        let context = "deactivating a connection";
        proxies::manager(&self.conn)
            .await
            .map_err(|e| bus_error(context, &e))?
            .deactivate_connection(active)
            .await
            .map_err(|e| bus_error(context, &e))
    }

    /// The access points NetworkManager currently lists for the Wi-Fi device (no new scan).
    pub async fn access_points(&self) -> Result<Vec<AccessPoint>, WifiError> {
        let device = self.wifi_device().await?;
        self.device_access_points(&device.path).await
    }

    pub(super) async fn device_access_points(
        &self,
        device: &ObjectPath<'_>,
    ) -> Result<Vec<AccessPoint>, WifiError> {
        let context = "listing access points";
        let paths = proxies::wireless(&self.conn, device)
            .await
            .map_err(|e| bus_error(context, &e))?
            .get_all_access_points()
            .await
            .map_err(|e| bus_error(context, &e))?;
        let mut out = Vec::new();
        for path in paths {
            // An access point can vanish between the listing and the read; skip it then.
            match proxies::get_all(&self.conn, &path, iface::ACCESS_POINT).await {
                Ok(props) => match super::parse_access_point(&props) {
                    Ok(ap) => out.push(ap),
                    Err(e) => {
                        tracing::debug!(path = %path.as_str(), error = %e, "access point skipped")
                    }
                },
                Err(e) => tracing::debug!(path = %path.as_str(), error = %e, "access point gone"),
            }
        }
        Ok(out)
    }

    /// Our access point profiles.
    pub(super) async fn hotspot_profiles(&self) -> Result<Vec<StoredProfile>, WifiError> {
        Ok(self
            .profiles()
            .await?
            .into_iter()
            .filter(|p| p.profile.id == HOTSPOT_ID && p.profile.mode == WifiMode::AccessPoint)
            .collect())
    }

    /// Deactivates (if active) and deletes the given profiles.
    pub(super) async fn remove_profiles(&self, doomed: &[StoredProfile]) -> Result<(), WifiError> {
        if doomed.is_empty() {
            return Ok(());
        }
        let context = "listing active connections";
        let manager = proxies::manager(&self.conn)
            .await
            .map_err(|e| bus_error(context, &e))?;
        let actives = manager
            .active_connections()
            .await
            .map_err(|e| bus_error(context, &e))?;
        for active in actives {
            let Ok(proxy) = proxies::active(&self.conn, &active).await else {
                continue;
            };
            let Ok(profile) = proxy.connection().await else {
                continue;
            };
            if doomed.iter().any(|d| d.path == profile) {
                match self.deactivate(&active).await {
                    Ok(()) => {}
                    Err(e) if e.is(WifiErrorKind::Invalid) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        for profile in doomed {
            self.delete_profile(&profile.path).await?;
        }
        Ok(())
    }
}
