//! Typed proxies for the parts of NetworkManager's D-Bus API the backend uses.
//!
//! Property reads are not cached (every read asks the daemon), because the backend holds a
//! proxy only for the duration of one operation and needs current values.

use std::collections::HashMap;

use zbus::proxy::CacheProperties;
use zbus::{Connection, ObjectPath, OwnedObjectPath, OwnedVariant, Variant, proxy};

use super::{NM_PATH, NM_SERVICE, SETTINGS_PATH};

/// A connection's settings as D-Bus carries them (`a{sa{sv}}`).
pub(crate) type SettingsMap = HashMap<String, HashMap<String, OwnedVariant>>;

/// `org.freedesktop.NetworkManager` on `/org/freedesktop/NetworkManager`.
#[proxy(
    interface = "org.freedesktop.NetworkManager",
    default_service = "org.freedesktop.NetworkManager",
    default_path = "/org/freedesktop/NetworkManager"
)]
pub(crate) trait Manager {
    /// The realized network devices.
    fn get_devices(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    /// The device whose IP interface is `iface`.
    fn get_device_by_ip_iface(&self, iface: &str) -> zbus::Result<OwnedObjectPath>;

    /// Activates a stored profile; returns the active connection.
    fn activate_connection(
        &self,
        connection: &ObjectPath<'_>,
        device: &ObjectPath<'_>,
        specific_object: &ObjectPath<'_>,
    ) -> zbus::Result<OwnedObjectPath>;

    /// Deactivates an active connection.
    fn deactivate_connection(&self, active_connection: &ObjectPath<'_>) -> zbus::Result<()>;

    /// The active connections.
    #[zbus(property)]
    fn active_connections(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    /// The daemon's version.
    #[zbus(property)]
    fn version(&self) -> zbus::Result<String>;
}

/// `org.freedesktop.NetworkManager.Device`.
#[proxy(
    interface = "org.freedesktop.NetworkManager.Device",
    default_service = "org.freedesktop.NetworkManager"
)]
pub(crate) trait Device {
    /// Disconnects the device and blocks autoconnect on it until the next activation.
    fn disconnect(&self) -> zbus::Result<()>;

    /// `NMDeviceType`.
    #[zbus(property)]
    fn device_type(&self) -> zbus::Result<u32>;

    /// The interface name.
    #[zbus(property)]
    fn interface(&self) -> zbus::Result<String>;

    /// `NMDeviceState`.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<u32>;

    /// The current state and the reason for it.
    #[zbus(property)]
    fn state_reason(&self) -> zbus::Result<(u32, u32)>;

    /// The active connection on the device, `/` for none.
    #[zbus(property)]
    fn active_connection(&self) -> zbus::Result<OwnedObjectPath>;

    /// The IPv4 configuration, `/` for none.
    #[zbus(property)]
    fn ip4_config(&self) -> zbus::Result<OwnedObjectPath>;
}

/// `org.freedesktop.NetworkManager.Device.Wireless`.
#[proxy(
    interface = "org.freedesktop.NetworkManager.Device.Wireless",
    default_service = "org.freedesktop.NetworkManager"
)]
pub(crate) trait Wireless {
    /// Asks for a scan; NetworkManager updates `LastScan` when it completes.
    fn request_scan(&self, options: HashMap<&str, Variant<'_>>) -> zbus::Result<()>;

    /// Every access point seen, hidden ones included.
    fn get_all_access_points(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    /// The access point the station is associated with, `/` for none.
    #[zbus(property)]
    fn active_access_point(&self) -> zbus::Result<OwnedObjectPath>;

    /// `NM80211Mode` of the device.
    #[zbus(property)]
    fn mode(&self) -> zbus::Result<u32>;

    /// `NMDeviceWifiCapabilities`.
    #[zbus(property)]
    fn wireless_capabilities(&self) -> zbus::Result<u32>;

    /// `CLOCK_BOOTTIME` milliseconds of the last completed scan, -1 if none.
    #[zbus(property)]
    fn last_scan(&self) -> zbus::Result<i64>;
}

/// `org.freedesktop.NetworkManager.Settings`.
#[proxy(
    interface = "org.freedesktop.NetworkManager.Settings",
    default_service = "org.freedesktop.NetworkManager",
    default_path = "/org/freedesktop/NetworkManager/Settings"
)]
pub(crate) trait Settings {
    /// The stored profiles.
    fn list_connections(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    /// Stores a new profile (persistently); returns its path. NetworkManager may start
    /// activating it on its own right away when it has autoconnect on.
    fn add_connection(&self, connection: &SettingsMap) -> zbus::Result<OwnedObjectPath>;

    /// Stores a new profile as `flags` say (`NM_SETTINGS_ADD_CONNECTION2_FLAG_*`: to disk or
    /// in memory, autoconnect blocked until the next explicit activation); returns its path
    /// and a result dictionary (empty in NetworkManager 1.42). Since NetworkManager 1.20.
    fn add_connection2(
        &self,
        settings: &SettingsMap,
        flags: u32,
        args: HashMap<&str, Variant<'_>>,
    ) -> zbus::Result<(OwnedObjectPath, HashMap<String, OwnedVariant>)>;
}

/// `org.freedesktop.NetworkManager.Settings.Connection`.
#[proxy(
    interface = "org.freedesktop.NetworkManager.Settings.Connection",
    default_service = "org.freedesktop.NetworkManager"
)]
pub(crate) trait Profile {
    /// The settings, without secrets.
    fn get_settings(&self) -> zbus::Result<SettingsMap>;

    /// The secrets of one setting.
    fn get_secrets(&self, setting_name: &str) -> zbus::Result<SettingsMap>;

    /// Deletes the profile.
    fn delete(&self) -> zbus::Result<()>;
}

/// `org.freedesktop.NetworkManager.Connection.Active`.
#[proxy(
    interface = "org.freedesktop.NetworkManager.Connection.Active",
    default_service = "org.freedesktop.NetworkManager"
)]
pub(crate) trait Active {
    /// The profile this activation uses.
    #[zbus(property)]
    fn connection(&self) -> zbus::Result<OwnedObjectPath>;

    /// `NMActiveConnectionState`.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<u32>;

    /// The devices the activation runs on.
    #[zbus(property)]
    fn devices(&self) -> zbus::Result<Vec<OwnedObjectPath>>;
}

/// `org.freedesktop.NetworkManager.IP4Config`.
#[proxy(
    interface = "org.freedesktop.NetworkManager.IP4Config",
    default_service = "org.freedesktop.NetworkManager"
)]
pub(crate) trait Ip4Config {
    /// The addresses, each a dictionary with `address` (string) and `prefix` (u32).
    #[zbus(property)]
    fn address_data(&self) -> zbus::Result<Vec<HashMap<String, OwnedVariant>>>;
}

/// The manager object.
pub(crate) async fn manager(conn: &Connection) -> zbus::Result<ManagerProxy<'static>> {
    ManagerProxy::builder(conn)
        .destination(NM_SERVICE)
        .path(NM_PATH)
        .cache_properties(CacheProperties::No)
        .build()
        .await
}

/// The settings object.
pub(crate) async fn settings(conn: &Connection) -> zbus::Result<SettingsProxy<'static>> {
    SettingsProxy::builder(conn)
        .destination(NM_SERVICE)
        .path(SETTINGS_PATH)
        .cache_properties(CacheProperties::No)
        .build()
        .await
}

macro_rules! at_path {
    ($(#[$doc:meta])* $name:ident, $proxy:ident) => {
        $(#[$doc])*
        pub(crate) async fn $name(
            conn: &Connection,
            path: &ObjectPath<'_>,
        ) -> zbus::Result<$proxy<'static>> {
            $proxy::builder(conn)
                .destination(NM_SERVICE)
                .path(path.to_owned())
                .cache_properties(CacheProperties::No)
                .build()
                .await
        }
    };
}

at_path!(
    /// A device object.
    device, DeviceProxy
);
at_path!(
    /// The Wi-Fi side of a device object.
    wireless, WirelessProxy
);
at_path!(
    /// A stored profile.
    profile, ProfileProxy
);
at_path!(
    /// An active connection.
    active, ActiveProxy
);
at_path!(
    /// An IPv4 configuration.
    ip4_config, Ip4ConfigProxy
);

/// All properties of `interface` on the object at `path`.
pub(crate) async fn get_all(
    conn: &Connection,
    path: &ObjectPath<'_>,
    interface: &'static str,
) -> zbus::Result<HashMap<String, OwnedVariant>> {
    let props = zbus::fdo::PropertiesProxy::builder(conn)
        .destination(NM_SERVICE)
        .path(path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let name = zbus::names::InterfaceName::try_from(interface)?;
    Ok(props.get_all(name).await?)
}
