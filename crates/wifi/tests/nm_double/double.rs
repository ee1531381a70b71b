//! The test double of NetworkManager's D-Bus API and the private bus it runs on.
//!
//! Objects, names, signatures and numbers are NetworkManager's documented API; the state
//! transitions and their timing are the double's (see `main.rs`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use wifiprov_testkit::dbus::PrivateBus;
use wifiprov_wifi::nm::NmBackend;
use wifiprov_wifi::{AuthMode, ConnectProgress, LinkStatus};
use zbus::names::InterfaceName;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, ObjectServer, OwnedObjectPath, OwnedVariant, Variant, interface};

pub const NM: &str = "org.freedesktop.NetworkManager";
pub const DEVICE: &str = "/org/freedesktop/NetworkManager/Devices/1";
pub const IP4: &str = "/org/freedesktop/NetworkManager/IP4Config/1";
pub const SETTINGS: &str = "/org/freedesktop/NetworkManager/Settings";
pub const WIRELESS: &str = "org.freedesktop.NetworkManager.Device.Wireless";

pub type Settings = HashMap<String, HashMap<String, OwnedVariant>>;

// ---------------------------------------------------------------- private bus

pub async fn connect(bus: &PrivateBus) -> Connection {
    zbus::connection::Builder::address(bus.address())
        .build()
        .await
        .unwrap()
}

// ---------------------------------------------------------------- the double's world

/// How the next activation ends.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// PREPARE, CONFIG, (NEED_AUTH, PREPARE, CONFIG when secured), IP_CONFIG,
    /// IP_CHECK, SECONDARIES, ACTIVATED.
    Succeed,
    /// PREPARE, CONFIG, (NEED_AUTH for NO_SECRETS), (IP_CONFIG for DHCP reasons), then
    /// FAILED with this device reason and DEACTIVATED (DEVICE_DISCONNECTED).
    Fail(u32),
    /// PREPARE, CONFIG, FAILED with UNKNOWN, then DEACTIVATED with this active reason.
    Deactivated(u32),
    /// PREPARE, CONFIG, IP_CONFIG (the handshake completed), then the access point drops the
    /// station: NEED_AUTH with SUPPLICANT_DISCONNECT and FAILED with NO_SECRETS, as
    /// NetworkManager reports it (seen in the radio lab).
    DropAfterKeys,
    /// PREPARE, CONFIG, then nothing until deactivated.
    Hang,
}

#[derive(Clone)]
pub struct ApSpec {
    pub path: OwnedObjectPath,
    pub ssid: &'static str,
    pub bssid: &'static str,
    pub frequency: u32,
    pub strength: u8,
    pub flags: u32,
    pub rsn: u32,
}

#[derive(Default)]
pub struct World {
    pub profiles: Vec<(OwnedObjectPath, Settings)>,
    pub next_profile: u32,
    pub next_active: u32,
    pub device_state: u32,
    pub mode: u32,
    pub capabilities: u32,
    pub active: Option<(OwnedObjectPath, OwnedObjectPath)>,
    pub active_state: u32,
    pub active_ap: Option<OwnedObjectPath>,
    ip4: bool,
    pub aps: Vec<ApSpec>,
    pub visible: bool,
    pub last_scan: i64,
    pub refuse_scan: bool,
    /// Scans are accepted but never complete (`LastScan` stays).
    pub stall_scan: bool,
    pub outcome: Option<Outcome>,
    /// Every profile added, as added.
    pub added: Vec<Settings>,
    /// Method calls, in order (`ActivateConnection <profile> <device>`, …).
    pub calls: Vec<String>,
}

#[derive(Clone)]
pub struct Double {
    pub world: Arc<Mutex<World>>,
    pub conn: Connection,
}

impl Double {
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    pub fn path(p: &str) -> OwnedObjectPath {
        OwnedObjectPath::try_from(p.to_owned()).unwrap()
    }

    async fn device_state(&self, new: u32, reason: u32) {
        let old = std::mem::replace(&mut self.world().device_state, new);
        let emitter = SignalEmitter::new(&self.conn, DEVICE).unwrap();
        DeviceDouble::state_signal(&emitter, new, old, reason)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    async fn active_state(&self, active: &OwnedObjectPath, state: u32, reason: u32) {
        self.world().active_state = state;
        let emitter = SignalEmitter::new(&self.conn, active.as_str()).unwrap();
        ActiveDouble::state_signal(&emitter, state, reason)
            .await
            .unwrap();
    }

    fn profile_settings(&self, path: &OwnedObjectPath) -> Option<Settings> {
        self.world()
            .profiles
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, s)| clone_settings(s))
    }

    /// Whether `active` is still the device's activation (a newer one supersedes it).
    fn current(&self, active: &OwnedObjectPath) -> bool {
        self.world()
            .active
            .as_ref()
            .is_some_and(|(a, _)| a == active)
    }

    /// Starts an activation of `connection` on the device, as `ActivateConnection` does and
    /// as NetworkManager's autoconnect does for a new profile (`how` is recorded in `calls`).
    /// An activation already running is superseded: it ends with `DEACTIVATED`.
    async fn start_activation(
        &self,
        server: &ObjectServer,
        connection: OwnedObjectPath,
        how: String,
    ) -> zbus::Result<OwnedObjectPath> {
        let (active, previous) = {
            let mut w = self.world();
            w.calls.push(how);
            w.next_active += 1;
            let active = Double::path(&format!(
                "/org/freedesktop/NetworkManager/ActiveConnection/{}",
                w.next_active
            ));
            let previous = w.active.replace((active.clone(), connection.clone()));
            w.active_state = 1;
            (active, previous)
        };
        if let Some((old, _)) = previous {
            // The device leaves the old activation with reason NEW_ACTIVATION, as
            // NetworkManager's does when an activation replaces the access point.
            self.device_state(110, 60).await;
            self.device_state(30, 60).await;
            let emitter = SignalEmitter::new(&self.conn, old.as_str())?;
            ActiveDouble::state_signal(&emitter, 4, 3).await?;
        }
        server
            .at(active.as_str(), ActiveDouble(self.clone()))
            .await?;
        tokio::spawn(self.clone().run(active.clone(), connection));
        Ok(active)
    }

    /// Runs an activation as scripted, until it ends or a newer one supersedes it.
    async fn run(self, active: OwnedObjectPath, profile: OwnedObjectPath) {
        let settings = self.profile_settings(&profile).unwrap();
        let wireless = &settings["802-11-wireless"];
        let ssid = bytes(&wireless["ssid"]);
        let ap_mode = str_of(&wireless["mode"]) == "ap";
        let secured = settings.contains_key("802-11-wireless-security");
        let outcome = self.world().outcome.take().unwrap_or(Outcome::Succeed);
        self.device_state(40, 0).await;
        if !self.current(&active) {
            return;
        }
        {
            let mut w = self.world();
            w.active_ap = w
                .aps
                .iter()
                .find(|ap| ap.ssid.as_bytes() == ssid.as_slice())
                .map(|ap| ap.path.clone());
        }
        self.device_state(50, 0).await;
        if secured {
            // NetworkManager 1.42 goes through NEED_AUTH and back once at the start of every
            // secured activation, station or access point (seen in the radio lab).
            self.device_state(60, 0).await;
            self.device_state(40, 0).await;
            self.device_state(50, 0).await;
        }
        if !self.current(&active) {
            return;
        }
        match outcome {
            Outcome::Succeed => {
                {
                    let mut w = self.world();
                    w.ip4 = true;
                    w.mode = if ap_mode { 3 } else { 2 };
                    if ap_mode {
                        w.active_ap = None;
                    }
                }
                self.device_state(70, 0).await;
                self.device_state(80, 0).await;
                self.device_state(90, 0).await;
                self.device_state(100, 0).await;
                self.active_state(&active, 2, 1).await;
            }
            Outcome::Fail(reason) => {
                if reason == 7 {
                    // The handshake failed (SUPPLICANT_DISCONNECT); NetworkManager asks for
                    // new secrets, and with no secret agent to give them it fails.
                    self.device_state(60, 8).await;
                }
                if (15..=17).contains(&reason) {
                    self.device_state(70, 0).await;
                }
                self.device_state(120, reason).await;
                self.end(&active, 3).await;
            }
            Outcome::Deactivated(reason) => {
                self.device_state(120, 1).await;
                self.end(&active, reason).await;
            }
            Outcome::DropAfterKeys => {
                self.device_state(70, 0).await;
                self.device_state(60, 8).await;
                self.device_state(120, 7).await;
                self.end(&active, 3).await;
            }
            Outcome::Hang => {}
        }
    }

    async fn end(&self, active: &OwnedObjectPath, reason: u32) {
        {
            let mut w = self.world();
            // A newer activation may have taken over the device in the meantime.
            if w.active.as_ref().is_some_and(|(a, _)| a == active) {
                w.active = None;
                w.active_ap = None;
                w.ip4 = false;
                w.mode = 2;
            }
        }
        self.device_state(30, 0).await;
        self.active_state(active, 4, reason).await;
    }
}

pub fn clone_settings(s: &Settings) -> Settings {
    s.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.iter()
                    .map(|(k, v)| (k.clone(), v.try_clone().unwrap()))
                    .collect(),
            )
        })
        .collect()
}

pub fn bytes(v: &OwnedVariant) -> Vec<u8> {
    Vec::<u8>::try_from(v.try_clone().unwrap()).unwrap()
}

pub fn str_of(v: &OwnedVariant) -> String {
    String::try_from(v.try_clone().unwrap()).unwrap()
}

#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.freedesktop.NetworkManager")]
pub enum NmError {
    #[zbus(error)]
    ZBus(zbus::Error),
    UnknownDevice(String),
    UnknownConnection(String),
}

#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.freedesktop.NetworkManager.Device")]
pub enum DeviceError {
    #[zbus(error)]
    ZBus(zbus::Error),
    NotActive(String),
    NotAllowed(String),
}

/// NetworkManager's settings errors (`NM_SETTINGS_ERROR`) and connection errors
/// (`NM_CONNECTION_ERROR`, under `….Settings.Connection`).
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.freedesktop.NetworkManager.Settings")]
pub enum SettingsError {
    #[zbus(error)]
    ZBus(zbus::Error),
    #[zbus(name = "Connection.InvalidProperty")]
    InvalidProperty(String),
    #[zbus(name = "Connection.SettingNotFound")]
    SettingNotFound(String),
    InvalidArguments(String),
}

/// `NM_SETTINGS_ADD_CONNECTION2_FLAG_BLOCK_AUTOCONNECT`.
pub const BLOCK_AUTOCONNECT: u32 = 0x20;

// ---------------------------------------------------------------- interfaces

pub struct ManagerDouble(pub Double);

#[interface(name = "org.freedesktop.NetworkManager")]
impl ManagerDouble {
    fn get_devices(&self) -> Vec<OwnedObjectPath> {
        vec![Double::path(DEVICE)]
    }

    fn get_device_by_ip_iface(&self, iface: &str) -> Result<OwnedObjectPath, NmError> {
        if iface == "wlan0" {
            Ok(Double::path(DEVICE))
        } else {
            Err(NmError::UnknownDevice(
                "No device found for the requested iface.".into(),
            ))
        }
    }

    async fn activate_connection(
        &self,
        #[zbus(object_server)] server: &ObjectServer,
        connection: OwnedObjectPath,
        device: OwnedObjectPath,
        _specific_object: OwnedObjectPath,
    ) -> Result<OwnedObjectPath, NmError> {
        let double = self.0.clone();
        if double.profile_settings(&connection).is_none() {
            return Err(NmError::UnknownConnection(
                "Connection could not be found.".into(),
            ));
        }
        let how = format!(
            "ActivateConnection {} {}",
            connection.as_str(),
            device.as_str()
        );
        let active = double.start_activation(server, connection, how).await?;
        Ok(active)
    }

    async fn deactivate_connection(
        &self,
        active_connection: OwnedObjectPath,
    ) -> Result<(), NmError> {
        let double = self.0.clone();
        let current = {
            let mut w = double.world();
            w.calls.push(format!(
                "DeactivateConnection {}",
                active_connection.as_str()
            ));
            w.active.clone()
        };
        match current {
            Some((active, _)) if active == active_connection => {
                double.device_state(110, 39).await;
                double.end(&active, 2).await;
                Ok(())
            }
            _ => Err(NmError::UnknownConnection(
                "Not a active connection.".into(),
            )),
        }
    }

    #[zbus(property)]
    fn active_connections(&self) -> Vec<OwnedObjectPath> {
        self.0
            .world()
            .active
            .iter()
            .map(|(a, _)| a.clone())
            .collect()
    }

    #[zbus(property)]
    fn version(&self) -> String {
        "1.42.4".into()
    }
}

pub struct DeviceDouble(pub Double);

#[interface(name = "org.freedesktop.NetworkManager.Device")]
impl DeviceDouble {
    async fn disconnect(&self) -> Result<(), DeviceError> {
        let double = self.0.clone();
        let current = {
            let mut w = double.world();
            w.calls.push("Disconnect".into());
            w.active.clone()
        };
        let Some((active, _)) = current else {
            return Err(DeviceError::NotActive("This device is not active".into()));
        };
        double.device_state(110, 39).await;
        double.end(&active, 2).await;
        Ok(())
    }

    #[zbus(signal, name = "StateChanged")]
    async fn state_signal(
        emitter: &SignalEmitter<'_>,
        new_state: u32,
        old_state: u32,
        reason: u32,
    ) -> zbus::Result<()>;

    #[zbus(property)]
    fn device_type(&self) -> u32 {
        2
    }

    #[zbus(property)]
    fn interface(&self) -> String {
        "wlan0".into()
    }

    #[zbus(property)]
    fn state(&self) -> u32 {
        self.0.world().device_state
    }

    #[zbus(property)]
    fn active_connection(&self) -> OwnedObjectPath {
        self.0
            .world()
            .active
            .as_ref()
            .map_or_else(|| Double::path("/"), |(a, _)| a.clone())
    }

    #[zbus(property)]
    fn ip4_config(&self) -> OwnedObjectPath {
        Double::path(if self.0.world().ip4 { IP4 } else { "/" })
    }
}

pub struct WirelessDouble(pub Double);

#[interface(name = "org.freedesktop.NetworkManager.Device.Wireless")]
impl WirelessDouble {
    fn get_all_access_points(&self) -> Vec<OwnedObjectPath> {
        let w = self.0.world();
        if w.visible {
            w.aps.iter().map(|ap| ap.path.clone()).collect()
        } else {
            Vec::new()
        }
    }

    fn request_scan(&self, options: HashMap<String, OwnedVariant>) -> Result<(), DeviceError> {
        let double = self.0.clone();
        {
            let mut w = double.world();
            let mut call = "RequestScan".to_owned();
            if let Some(ssids) = options.get("ssids") {
                let ssids = Vec::<Vec<u8>>::try_from(ssids.try_clone().unwrap()).unwrap();
                let names: Vec<String> = ssids
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect();
                call.push_str(&format!(" ssids={}", names.join(",")));
            }
            w.calls.push(call);
            if w.refuse_scan {
                return Err(DeviceError::NotAllowed(
                    "Scanning not allowed while in AP mode".into(),
                ));
            }
            if w.stall_scan {
                return Ok(());
            }
        }
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let last_scan = {
                let mut w = double.world();
                w.visible = true;
                w.last_scan += 1000;
                w.last_scan
            };
            let emitter = SignalEmitter::new(&double.conn, DEVICE).unwrap();
            zbus::fdo::Properties::properties_changed(
                &emitter,
                InterfaceName::from_static_str(WIRELESS).unwrap(),
                HashMap::from([("LastScan", Variant::from(last_scan))]),
                Cow::Borrowed(&[]),
            )
            .await
            .unwrap();
        });
        Ok(())
    }

    #[zbus(property)]
    fn active_access_point(&self) -> OwnedObjectPath {
        self.0
            .world()
            .active_ap
            .clone()
            .unwrap_or_else(|| Double::path("/"))
    }

    #[zbus(property)]
    fn mode(&self) -> u32 {
        self.0.world().mode
    }

    #[zbus(property)]
    fn wireless_capabilities(&self) -> u32 {
        self.0.world().capabilities
    }

    #[zbus(property)]
    fn last_scan(&self) -> i64 {
        self.0.world().last_scan
    }
}

pub struct ApDouble(pub ApSpec);

#[interface(name = "org.freedesktop.NetworkManager.AccessPoint")]
impl ApDouble {
    #[zbus(property)]
    fn ssid(&self) -> Vec<u8> {
        self.0.ssid.as_bytes().to_vec()
    }

    #[zbus(property)]
    fn hw_address(&self) -> String {
        self.0.bssid.into()
    }

    #[zbus(property)]
    fn frequency(&self) -> u32 {
        self.0.frequency
    }

    #[zbus(property)]
    fn strength(&self) -> u8 {
        self.0.strength
    }

    #[zbus(property)]
    fn flags(&self) -> u32 {
        self.0.flags
    }

    #[zbus(property)]
    fn wpa_flags(&self) -> u32 {
        0
    }

    #[zbus(property)]
    fn rsn_flags(&self) -> u32 {
        self.0.rsn
    }

    #[zbus(property)]
    fn mode(&self) -> u32 {
        2
    }
}

pub struct SettingsDouble(pub Double);

#[interface(name = "org.freedesktop.NetworkManager.Settings")]
impl SettingsDouble {
    fn list_connections(&self) -> Vec<OwnedObjectPath> {
        self.0
            .world()
            .profiles
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    async fn add_connection(
        &self,
        #[zbus(object_server)] server: &ObjectServer,
        connection: Settings,
    ) -> Result<OwnedObjectPath, SettingsError> {
        let path = self.store(server, connection, "AddConnection").await?;
        self.autoconnect(server, &path).await?;
        Ok(path)
    }

    async fn add_connection2(
        &self,
        #[zbus(object_server)] server: &ObjectServer,
        settings: Settings,
        flags: u32,
        _args: HashMap<String, OwnedVariant>,
    ) -> Result<(OwnedObjectPath, HashMap<String, OwnedVariant>), SettingsError> {
        // NetworkManager's checks, in its words.
        match flags & 0x3 {
            0 => {
                return Err(SettingsError::InvalidArguments(
                    "Requires either to-disk (0x1) or in-memory (0x2) flags".into(),
                ));
            }
            0x3 => {
                return Err(SettingsError::InvalidArguments(
                    "Cannot set to-disk and in-memory flags together".into(),
                ));
            }
            _ => {}
        }
        let path = self
            .store(server, settings, &format!("AddConnection2 0x{flags:x}"))
            .await?;
        if flags & BLOCK_AUTOCONNECT == 0 {
            self.autoconnect(server, &path).await?;
        }
        Ok((path, HashMap::new()))
    }
}

/// The settings object of a NetworkManager older than 1.20: no `AddConnection2`.
pub struct LegacySettingsDouble(pub SettingsDouble);

#[interface(name = "org.freedesktop.NetworkManager.Settings")]
impl LegacySettingsDouble {
    fn list_connections(&self) -> Vec<OwnedObjectPath> {
        self.0.list_connections()
    }

    async fn add_connection(
        &self,
        #[zbus(object_server)] server: &ObjectServer,
        connection: Settings,
    ) -> Result<OwnedObjectPath, SettingsError> {
        self.0.add_connection(server, connection).await
    }
}

impl SettingsDouble {
    async fn store(
        &self,
        server: &ObjectServer,
        connection: Settings,
        how: &str,
    ) -> Result<OwnedObjectPath, SettingsError> {
        let psk_len = connection
            .get("802-11-wireless-security")
            .and_then(|s| s.get("psk"))
            .map(|p| str_of(p).len());
        if psk_len.is_some_and(|n| n < 8) {
            return Err(SettingsError::InvalidProperty(
                "802-11-wireless-security.psk: property is invalid".into(),
            ));
        }
        let path = {
            let mut w = self.0.world();
            w.next_profile += 1;
            let path = Double::path(&format!(
                "/org/freedesktop/NetworkManager/Settings/{}",
                w.next_profile
            ));
            w.calls.push(format!("{how} {}", path.as_str()));
            w.added.push(clone_settings(&connection));
            w.profiles.push((path.clone(), connection));
            path
        };
        server
            .at(path.as_str(), ProfileDouble(self.0.clone(), path.clone()))
            .await?;
        Ok(path)
    }

    /// What NetworkManager does with a new profile unless told not to: a station profile
    /// with autoconnect on starts activating at once on a device that is free.
    async fn autoconnect(
        &self,
        server: &ObjectServer,
        path: &OwnedObjectPath,
    ) -> Result<(), SettingsError> {
        let settings = self.0.profile_settings(path).unwrap_or_default();
        let autoconnect = settings
            .get("connection")
            .and_then(|c| c.get("autoconnect"))
            .is_none_or(|v| bool::try_from(v).unwrap_or(true));
        let station = settings
            .get("802-11-wireless")
            .and_then(|w| w.get("mode"))
            .is_none_or(|m| str_of(m) != "ap");
        let free = {
            let w = self.0.world();
            w.active.is_none() && w.device_state == 30
        };
        if autoconnect && station && free {
            self.0
                .start_activation(
                    server,
                    path.clone(),
                    format!("AutoActivate {}", path.as_str()),
                )
                .await?;
        }
        Ok(())
    }
}

pub struct ProfileDouble(pub Double, pub OwnedObjectPath);

#[interface(name = "org.freedesktop.NetworkManager.Settings.Connection")]
impl ProfileDouble {
    fn get_settings(&self) -> Settings {
        let mut s = self.0.profile_settings(&self.1).unwrap_or_default();
        if let Some(sec) = s.get_mut("802-11-wireless-security") {
            sec.remove("psk");
        }
        s
    }

    fn get_secrets(&self, setting_name: &str) -> Result<Settings, SettingsError> {
        let s = self.0.profile_settings(&self.1).unwrap_or_default();
        let section = s.get(setting_name).ok_or_else(|| {
            SettingsError::SettingNotFound(format!(
                "Connection didn't have requested setting '{setting_name}'."
            ))
        })?;
        let secrets = section
            .iter()
            .filter(|(k, _)| k.as_str() == "psk")
            .map(|(k, v)| (k.clone(), v.try_clone().unwrap()))
            .collect();
        Ok(HashMap::from([(setting_name.to_owned(), secrets)]))
    }

    async fn delete(&self, #[zbus(object_server)] server: &ObjectServer) -> zbus::fdo::Result<()> {
        {
            let mut w = self.0.world();
            w.calls.push(format!("Delete {}", self.1.as_str()));
            w.profiles.retain(|(p, _)| *p != self.1);
        }
        let path = self.1.clone();
        // Removing the object from inside its own method call is deferred.
        let server = server.clone();
        tokio::spawn(async move {
            let _ = server.remove::<ProfileDouble, _>(path.as_str()).await;
        });
        Ok(())
    }
}

pub struct ActiveDouble(pub Double);

#[interface(name = "org.freedesktop.NetworkManager.Connection.Active")]
impl ActiveDouble {
    #[zbus(signal, name = "StateChanged")]
    async fn state_signal(emitter: &SignalEmitter<'_>, state: u32, reason: u32)
    -> zbus::Result<()>;

    #[zbus(property)]
    fn connection(&self) -> OwnedObjectPath {
        self.0
            .world()
            .active
            .as_ref()
            .map_or_else(|| Double::path("/"), |(_, p)| p.clone())
    }

    #[zbus(property)]
    fn state(&self) -> u32 {
        self.0.world().active_state
    }

    #[zbus(property)]
    fn devices(&self) -> Vec<OwnedObjectPath> {
        vec![Double::path(DEVICE)]
    }
}

pub struct Ip4Double;

#[interface(name = "org.freedesktop.NetworkManager.IP4Config")]
impl Ip4Double {
    #[zbus(property)]
    fn address_data(&self) -> Vec<HashMap<String, OwnedVariant>> {
        vec![HashMap::from([
            (
                "address".to_owned(),
                Variant::from("192.168.1.42").try_into_owned().unwrap(),
            ),
            ("prefix".to_owned(), OwnedVariant::from(24u32)),
        ])]
    }
}

// ---------------------------------------------------------------- set-up

pub const AP_HOME: &str = "/org/freedesktop/NetworkManager/AccessPoint/1";
pub const AP_LAB: &str = "/org/freedesktop/NetworkManager/AccessPoint/2";
pub const AP_CAFE: &str = "/org/freedesktop/NetworkManager/AccessPoint/3";

pub fn access_points() -> Vec<ApSpec> {
    vec![
        ApSpec {
            path: Double::path(AP_HOME),
            ssid: "HomeNet",
            bssid: "24:0A:C4:12:34:56",
            frequency: 2437,
            strength: 70,
            flags: 1,
            rsn: 0x188,
        },
        ApSpec {
            path: Double::path(AP_LAB),
            ssid: "Lab",
            bssid: "3C:84:6A:01:02:03",
            frequency: 5745,
            strength: 81,
            flags: 1,
            rsn: 0x488,
        },
        ApSpec {
            path: Double::path(AP_CAFE),
            ssid: "Cafe",
            bssid: "02:1A:11:F0:00:01",
            frequency: 2412,
            strength: 100,
            flags: 0,
            rsn: 0,
        },
    ]
}

/// The bus, the double (serving `org.freedesktop.NetworkManager`) and a backend on a
/// client connection.
pub struct Rig {
    pub double: Double,
    pub backend: NmBackend,
    pub _server: Connection,
    pub _bus: PrivateBus,
}

pub async fn rig(interface: Option<&str>) -> Rig {
    let bus = PrivateBus::start();
    let server = connect(&bus).await;
    let double = Double {
        world: Arc::new(Mutex::new(World {
            device_state: 30,
            mode: 2,
            capabilities: 0x40 | 0x20 | 0x8,
            aps: access_points(),
            visible: true,
            last_scan: 5000,
            ..World::default()
        })),
        conn: server.clone(),
    };
    let objects = server.object_server();
    objects
        .at(
            "/org/freedesktop/NetworkManager",
            ManagerDouble(double.clone()),
        )
        .await
        .unwrap();
    objects
        .at(SETTINGS, SettingsDouble(double.clone()))
        .await
        .unwrap();
    objects
        .at(DEVICE, DeviceDouble(double.clone()))
        .await
        .unwrap();
    objects
        .at(DEVICE, WirelessDouble(double.clone()))
        .await
        .unwrap();
    objects.at(IP4, Ip4Double).await.unwrap();
    for ap in access_points() {
        objects.at(ap.path.clone(), ApDouble(ap)).await.unwrap();
    }
    server.request_name(NM).await.unwrap();
    let client = connect(&bus).await;
    let backend = NmBackend::with_connection(client, interface).await.unwrap();
    Rig {
        double,
        backend,
        _server: server,
        _bus: bus,
    }
}

pub fn home_link() -> LinkStatus {
    LinkStatus {
        ssid: b"HomeNet".to_vec(),
        bssid: "24:0a:c4:12:34:56".parse().unwrap(),
        channel: 6,
        auth: AuthMode::Wpa2Psk,
        ip: Ipv4Addr::new(192, 168, 1, 42),
        rssi: -58,
    }
}

/// The settings of the only stored profile.
pub fn only_profile(double: &Double) -> Settings {
    let w = double.world();
    assert_eq!(w.profiles.len(), 1, "profiles: {}", w.profiles.len());
    clone_settings(&w.profiles[0].1)
}

pub fn drain(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<ConnectProgress>,
) -> Vec<ConnectProgress> {
    let mut out = Vec::new();
    while let Ok(p) = rx.try_recv() {
        out.push(p);
    }
    out
}
