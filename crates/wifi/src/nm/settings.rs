//! Wi-Fi connection profiles and NetworkManager's `a{sa{sv}}` settings dictionaries.

use std::collections::HashMap;
use std::fmt;

use wifiprov_types::Secret;
use zbus::{Array, OwnedVariant, Variant};

use crate::{ApConfig, Bssid, Credentials, WifiError};

/// The id prefix that marks a profile as created by this backend.
pub const PROFILE_PREFIX: &str = "wifiprov-";
/// The id of the access point profile.
pub const HOTSPOT_ID: &str = "wifiprov-hotspot";

const CONNECTION: &str = "connection";
const WIRELESS: &str = "802-11-wireless";
const SECURITY: &str = "802-11-wireless-security";
const IPV4: &str = "ipv4";
const IPV6: &str = "ipv6";

/// Setting keys whose values are secrets (redacted in `Debug`).
const SECRET_KEYS: [&str; 9] = [
    "psk",
    "wep-key0",
    "wep-key1",
    "wep-key2",
    "wep-key3",
    "leap-password",
    "password",
    "pin",
    "private-key-password",
];

/// `802-11-wireless.mode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WifiMode {
    /// `infrastructure`: a station joining an access point.
    Infrastructure,
    /// `ap`: this machine is the access point (hotspot).
    AccessPoint,
    /// Another mode (`adhoc`, `mesh`), as NetworkManager names it.
    Other(String),
}

impl WifiMode {
    /// NetworkManager's name of the mode.
    pub fn as_nm(&self) -> &str {
        match self {
            WifiMode::Infrastructure => "infrastructure",
            WifiMode::AccessPoint => "ap",
            WifiMode::Other(s) => s,
        }
    }

    fn from_nm(s: &str) -> Self {
        match s {
            "infrastructure" => WifiMode::Infrastructure,
            "ap" => WifiMode::AccessPoint,
            other => WifiMode::Other(other.to_owned()),
        }
    }
}

/// `802-11-wireless-security.key-mgmt` (no security setting at all for an open network).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMgmt {
    /// No `802-11-wireless-security` setting: an open network.
    Open,
    /// `wpa-psk`: WPA/WPA2 personal.
    WpaPsk,
    /// `sae`: WPA3 personal.
    Sae,
    /// Another key management (`none` for WEP, `owe`, `wpa-eap`, …), as NetworkManager
    /// names it. Profiles with it can be read but not written by this module.
    Other(String),
}

impl KeyMgmt {
    /// NetworkManager's name (`None` for an open network, which has no security setting).
    pub fn as_nm(&self) -> Option<&str> {
        match self {
            KeyMgmt::Open => None,
            KeyMgmt::WpaPsk => Some("wpa-psk"),
            KeyMgmt::Sae => Some("sae"),
            KeyMgmt::Other(s) => Some(s),
        }
    }

    fn from_nm(s: &str) -> Self {
        match s {
            "wpa-psk" => KeyMgmt::WpaPsk,
            "sae" => KeyMgmt::Sae,
            other => KeyMgmt::Other(other.to_owned()),
        }
    }
}

/// `ipv4.method`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ipv4Method {
    /// `auto`: DHCP.
    Auto,
    /// `shared`: NetworkManager serves DHCP and NATs (the hotspot).
    Shared,
    /// Another method (`manual`, `link-local`, `disabled`), as NetworkManager names it.
    Other(String),
}

impl Ipv4Method {
    /// NetworkManager's name of the method.
    pub fn as_nm(&self) -> &str {
        match self {
            Ipv4Method::Auto => "auto",
            Ipv4Method::Shared => "shared",
            Ipv4Method::Other(s) => s,
        }
    }

    fn from_nm(s: &str) -> Self {
        match s {
            "auto" => Ipv4Method::Auto,
            "shared" => Ipv4Method::Shared,
            other => Ipv4Method::Other(other.to_owned()),
        }
    }
}

/// A Wi-Fi connection profile: the settings this backend writes and reads.
///
/// `Debug` shows the passphrase only as `Secret(<redacted …>)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// `connection.id`; profiles of this backend start with [`PROFILE_PREFIX`].
    pub id: String,
    /// `connection.uuid` (assigned by NetworkManager when `None` at creation).
    pub uuid: Option<String>,
    /// `connection.interface-name`: restricts the profile to one interface.
    pub interface: Option<String>,
    /// `802-11-wireless.ssid` (1–32 bytes).
    pub ssid: Vec<u8>,
    /// `802-11-wireless.mode`.
    pub mode: WifiMode,
    /// `802-11-wireless-security.key-mgmt`.
    pub key_mgmt: KeyMgmt,
    /// `802-11-wireless-security.psk`; `None` when unset, and in profiles read without their
    /// secrets.
    pub psk: Option<Secret>,
    /// `802-11-wireless.hidden`: probe for the SSID (station) or do not broadcast it (AP).
    pub hidden: bool,
    /// `802-11-wireless.bssid`: join only this access point.
    pub bssid: Option<Bssid>,
    /// `802-11-wireless.channel` (with the matching `band`); `None` for any.
    pub channel: Option<u8>,
    /// `ipv4.method`.
    pub ipv4: Ipv4Method,
    /// `connection.autoconnect`.
    pub autoconnect: bool,
    /// `connection.autoconnect-priority`.
    pub autoconnect_priority: i32,
}

impl Profile {
    /// The profile `connect` creates for `credentials`: id `wifiprov-<SSID>`, station mode,
    /// `key_mgmt` with the passphrase (ignored for [`KeyMgmt::Open`]), BSSID lock if the
    /// credentials name one, DHCP, autoconnect. The channel hint is not used.
    pub fn station(credentials: &Credentials, key_mgmt: KeyMgmt) -> Profile {
        let psk = match key_mgmt {
            KeyMgmt::Open => None,
            _ => Some(credentials.passphrase.secret().clone()),
        };
        Profile {
            id: format!("{PROFILE_PREFIX}{}", credentials.ssid_lossy()),
            uuid: None,
            interface: None,
            ssid: credentials.ssid.to_vec(),
            mode: WifiMode::Infrastructure,
            key_mgmt,
            psk,
            hidden: false,
            bssid: credentials.bssid,
            channel: None,
            ipv4: Ipv4Method::Auto,
            autoconnect: true,
            autoconnect_priority: 0,
        }
    }

    /// The access point profile for `config`: id [`HOTSPOT_ID`], mode `ap`, WPA2
    /// (`wpa-psk`) with the passphrase or open, `ipv4.method=shared`, no autoconnect,
    /// restricted to `interface` when given.
    pub fn hotspot(config: &ApConfig, interface: Option<&str>) -> Profile {
        let (key_mgmt, psk) = match &config.passphrase {
            Some(p) => (KeyMgmt::WpaPsk, Some(p.clone())),
            None => (KeyMgmt::Open, None),
        };
        Profile {
            id: HOTSPOT_ID.to_owned(),
            uuid: None,
            interface: interface.map(str::to_owned),
            ssid: config.ssid.clone(),
            mode: WifiMode::AccessPoint,
            key_mgmt,
            psk,
            hidden: config.hidden,
            bssid: None,
            channel: (config.channel != 0).then_some(config.channel),
            ipv4: Ipv4Method::Shared,
            autoconnect: false,
            autoconnect_priority: 0,
        }
    }

    /// Whether the profile was created by this backend (its id starts with
    /// [`PROFILE_PREFIX`]).
    pub fn is_ours(&self) -> bool {
        self.id.starts_with(PROFILE_PREFIX)
    }

    /// The SSID as text (lossy), for messages.
    pub fn ssid_lossy(&self) -> String {
        String::from_utf8_lossy(&self.ssid).into_owned()
    }

    /// The settings dictionary for `AddConnection`.
    ///
    /// Checks what NetworkManager cannot be asked about: the SSID is 1–32 bytes, the key
    /// management is one this module writes, a passphrase is present for WPA and is valid
    /// UTF-8 (D-Bus strings are), the channel is a 2.4 GHz (1–14) or 5 GHz (32–177) one.
    /// The passphrase's length rules are left to NetworkManager, whose error names the
    /// property.
    pub fn to_settings(&self) -> Result<ConnectionSettings, WifiError> {
        if !(1..=32).contains(&self.ssid.len()) {
            return Err(WifiError::Invalid(format!(
                "the SSID must be 1 to 32 bytes (got {})",
                self.ssid.len()
            )));
        }
        let mut s = ConnectionSettings::default();
        s.set(CONNECTION, "id", Variant::from(self.id.clone()))?;
        s.set(CONNECTION, "type", Variant::from(WIRELESS))?;
        if let Some(uuid) = &self.uuid {
            s.set(CONNECTION, "uuid", Variant::from(uuid.clone()))?;
        }
        if let Some(interface) = &self.interface {
            s.set(
                CONNECTION,
                "interface-name",
                Variant::from(interface.clone()),
            )?;
        }
        s.set(CONNECTION, "autoconnect", Variant::from(self.autoconnect))?;
        s.set(
            CONNECTION,
            "autoconnect-priority",
            Variant::from(self.autoconnect_priority),
        )?;

        s.set(WIRELESS, "ssid", Variant::from(self.ssid.clone()))?;
        s.set(
            WIRELESS,
            "mode",
            Variant::from(self.mode.as_nm().to_owned()),
        )?;
        s.set(WIRELESS, "hidden", Variant::from(self.hidden))?;
        if let Some(bssid) = self.bssid {
            s.set(WIRELESS, "bssid", Variant::from(bssid.0.to_vec()))?;
        }
        if let Some(channel) = self.channel {
            let band = match channel {
                1..=14 => "bg",
                32..=177 => "a",
                _ => {
                    return Err(WifiError::Invalid(format!(
                        "channel {channel} is neither a 2.4 GHz (1-14) nor a 5 GHz (32-177) \
                         channel"
                    )));
                }
            };
            s.set(WIRELESS, "band", Variant::from(band))?;
            s.set(WIRELESS, "channel", Variant::from(u32::from(channel)))?;
        }

        match &self.key_mgmt {
            KeyMgmt::Open => {}
            KeyMgmt::WpaPsk | KeyMgmt::Sae => {
                let psk = self.psk.as_ref().filter(|p| !p.is_empty()).ok_or_else(|| {
                    WifiError::Invalid(format!(
                        "a passphrase is needed for {:?} ({})",
                        self.ssid_lossy(),
                        self.key_mgmt.as_nm().unwrap_or_default()
                    ))
                })?;
                let psk = std::str::from_utf8(psk.expose()).map_err(|_| {
                    WifiError::Invalid("the passphrase is not valid UTF-8".to_owned())
                })?;
                let key_mgmt = self.key_mgmt.as_nm().unwrap_or_default().to_owned();
                s.set(SECURITY, "key-mgmt", Variant::from(key_mgmt))?;
                s.set(SECURITY, "psk", Variant::from(psk.to_owned()))?;
                if self.mode == WifiMode::AccessPoint && self.key_mgmt == KeyMgmt::WpaPsk {
                    // WPA2 only: RSN with CCMP, no WPA1/TKIP.
                    s.set(SECURITY, "proto", Variant::from(vec!["rsn".to_owned()]))?;
                    s.set(SECURITY, "pairwise", Variant::from(vec!["ccmp".to_owned()]))?;
                    s.set(SECURITY, "group", Variant::from(vec!["ccmp".to_owned()]))?;
                }
            }
            KeyMgmt::Other(k) => {
                return Err(WifiError::Unsupported(format!(
                    "writing profiles with key management {k:?}"
                )));
            }
        }

        s.set(IPV4, "method", Variant::from(self.ipv4.as_nm().to_owned()))?;
        if self.ipv4 == Ipv4Method::Auto {
            // Succeed only with an IPv4 address, not with IPv6 alone.
            s.set(IPV4, "may-fail", Variant::from(false))?;
        }
        let ipv6 = if self.mode == WifiMode::AccessPoint {
            "ignore"
        } else {
            "auto"
        };
        s.set(IPV6, "method", Variant::from(ipv6))?;
        Ok(s)
    }

    /// Reads a Wi-Fi profile from NetworkManager's settings (as `GetSettings` returns them,
    /// optionally merged with `GetSecrets`). Keys NetworkManager leaves out take their
    /// NetworkManager defaults (autoconnect on, priority 0, not hidden, infrastructure,
    /// `ipv4.method=auto`).
    pub fn from_settings(s: &ConnectionSettings) -> Result<Profile, WifiError> {
        let kind = s.str(CONNECTION, "type").unwrap_or_default();
        if kind != WIRELESS {
            return Err(WifiError::Invalid(format!(
                "not a Wi-Fi profile (connection.type {kind:?})"
            )));
        }
        let id = s
            .str(CONNECTION, "id")
            .ok_or_else(|| WifiError::Invalid("the profile has no connection.id".to_owned()))?
            .to_owned();
        let ssid = s.bytes(WIRELESS, "ssid").ok_or_else(|| {
            WifiError::Invalid(format!("profile {id:?} has no 802-11-wireless.ssid"))
        })?;
        let bssid = match s.bytes(WIRELESS, "bssid") {
            Some(b) if !b.is_empty() => Some(Bssid(b.as_slice().try_into().map_err(|_| {
                WifiError::Invalid(format!("profile {id:?} has a BSSID of {} bytes", b.len()))
            })?)),
            _ => None,
        };
        let channel = match s.u32(WIRELESS, "channel").unwrap_or(0) {
            0 => None,
            c => Some(
                u8::try_from(c)
                    .map_err(|_| WifiError::Invalid(format!("profile {id:?} has channel {c}")))?,
            ),
        };
        let key_mgmt = if s.has_section(SECURITY) {
            KeyMgmt::from_nm(s.str(SECURITY, "key-mgmt").unwrap_or_default())
        } else {
            KeyMgmt::Open
        };
        Ok(Profile {
            uuid: s.str(CONNECTION, "uuid").map(str::to_owned),
            interface: s
                .str(CONNECTION, "interface-name")
                .filter(|i| !i.is_empty())
                .map(str::to_owned),
            ssid,
            mode: WifiMode::from_nm(s.str(WIRELESS, "mode").unwrap_or("infrastructure")),
            key_mgmt,
            psk: s
                .str(SECURITY, "psk")
                .map(|p| Secret::new(p.as_bytes().to_vec())),
            hidden: s.bool(WIRELESS, "hidden").unwrap_or(false),
            bssid,
            channel,
            ipv4: Ipv4Method::from_nm(s.str(IPV4, "method").unwrap_or("auto")),
            autoconnect: s.bool(CONNECTION, "autoconnect").unwrap_or(true),
            autoconnect_priority: s.i32(CONNECTION, "autoconnect-priority").unwrap_or(0),
            id,
        })
    }
}

/// A connection's settings dictionary (`a{sa{sv}}`: setting name → key → value).
///
/// `Debug` lists every setting and key but redacts secret values (`psk`, WEP keys,
/// passwords).
#[derive(Clone, Default, PartialEq)]
pub struct ConnectionSettings(HashMap<String, HashMap<String, OwnedVariant>>);

impl ConnectionSettings {
    /// Wraps a dictionary received from NetworkManager.
    pub fn from_map(map: HashMap<String, HashMap<String, OwnedVariant>>) -> Self {
        ConnectionSettings(map)
    }

    /// The dictionary.
    pub fn as_map(&self) -> &HashMap<String, HashMap<String, OwnedVariant>> {
        &self.0
    }

    /// Sets `key` of `setting`.
    pub fn set(&mut self, setting: &str, key: &str, value: Variant<'_>) -> Result<(), WifiError> {
        let value = value
            .try_into_owned()
            .map_err(|e| WifiError::Invalid(format!("setting {setting}.{key}: {e}")))?;
        self.0
            .entry(setting.to_owned())
            .or_default()
            .insert(key.to_owned(), value);
        Ok(())
    }

    /// Adds the keys of `other` (e.g. the secrets from `GetSecrets`), replacing equal keys.
    pub fn merge(&mut self, other: ConnectionSettings) {
        for (setting, keys) in other.0 {
            self.0.entry(setting).or_default().extend(keys);
        }
    }

    /// Whether the setting is present.
    pub fn has_section(&self, setting: &str) -> bool {
        self.0.contains_key(setting)
    }

    /// The raw value of `setting.key`.
    pub fn get(&self, setting: &str, key: &str) -> Option<&Variant<'static>> {
        self.0.get(setting)?.get(key).map(|v| &**v)
    }

    /// A string value.
    pub fn str(&self, setting: &str, key: &str) -> Option<&str> {
        <&str>::try_from(self.get(setting, key)?).ok()
    }

    /// A boolean value.
    pub fn bool(&self, setting: &str, key: &str) -> Option<bool> {
        bool::try_from(self.get(setting, key)?).ok()
    }

    /// An `i32` value.
    pub fn i32(&self, setting: &str, key: &str) -> Option<i32> {
        i32::try_from(self.get(setting, key)?).ok()
    }

    /// A `u32` value.
    pub fn u32(&self, setting: &str, key: &str) -> Option<u32> {
        u32::try_from(self.get(setting, key)?).ok()
    }

    /// A byte-array (`ay`) value.
    pub fn bytes(&self, setting: &str, key: &str) -> Option<Vec<u8>> {
        variant_bytes(self.get(setting, key)?)
    }

    /// A string-array (`as`) value.
    pub fn strings(&self, setting: &str, key: &str) -> Option<Vec<String>> {
        let array = <&Array<'_>>::try_from(self.get(setting, key)?).ok()?;
        array
            .inner()
            .iter()
            .map(|v| String::try_from(v).ok())
            .collect()
    }
}

/// The bytes of an `ay` value.
pub(crate) fn variant_bytes(v: &Variant<'_>) -> Option<Vec<u8>> {
    let array = <&Array<'_>>::try_from(v).ok()?;
    array.inner().iter().map(|b| u8::try_from(b).ok()).collect()
}

impl fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut settings: Vec<_> = self.0.iter().collect();
        settings.sort_by(|a, b| a.0.cmp(b.0));
        let mut map = f.debug_map();
        for (setting, keys) in settings {
            let mut keys: Vec<_> = keys.iter().collect();
            keys.sort_by(|a, b| a.0.cmp(b.0));
            let shown: Vec<String> = keys
                .into_iter()
                .map(|(k, v)| {
                    if SECRET_KEYS.contains(&k.as_str()) {
                        format!("{k}: <redacted>")
                    } else {
                        format!("{k}: {}", &**v)
                    }
                })
                .collect();
            map.entry(setting, &shown);
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ap(passphrase: Option<&str>, channel: u8, hidden: bool) -> ApConfig {
        ApConfig {
            ssid: b"PROV_1A2B3C".to_vec(),
            passphrase: passphrase.map(Secret::from),
            channel,
            hidden,
            max_clients: 4,
        }
    }

    #[test]
    fn a_wpa2_station_profile_has_the_nm_keys() {
        let mut c = Credentials::new("Café ☕", "correct horse").unwrap();
        c.bssid = Some(Bssid([0x24, 0x0a, 0xc4, 1, 2, 3]));
        let p = Profile::station(&c, KeyMgmt::WpaPsk);
        assert!(p.is_ours());
        let s = p.to_settings().unwrap();
        assert_eq!(s.str("connection", "id"), Some("wifiprov-Café ☕"));
        assert_eq!(s.str("connection", "type"), Some("802-11-wireless"));
        assert_eq!(s.bool("connection", "autoconnect"), Some(true));
        assert_eq!(
            s.bytes("802-11-wireless", "ssid").unwrap(),
            "Café ☕".as_bytes()
        );
        assert_eq!(s.str("802-11-wireless", "mode"), Some("infrastructure"));
        assert_eq!(
            s.bytes("802-11-wireless", "bssid").unwrap(),
            vec![0x24, 0x0a, 0xc4, 1, 2, 3]
        );
        assert_eq!(
            s.str("802-11-wireless-security", "key-mgmt"),
            Some("wpa-psk")
        );
        assert_eq!(
            s.str("802-11-wireless-security", "psk"),
            Some("correct horse")
        );
        assert_eq!(s.strings("802-11-wireless-security", "proto"), None);
        assert_eq!(s.str("ipv4", "method"), Some("auto"));
        assert_eq!(s.bool("ipv4", "may-fail"), Some(false));
        assert_eq!(s.str("ipv6", "method"), Some("auto"));
        assert_eq!(s.get("802-11-wireless", "channel"), None);
        assert_eq!(Profile::from_settings(&s).unwrap(), p);
    }

    #[test]
    fn open_and_wpa3_profiles() {
        let open = Profile::station(&Credentials::new("Cafe", "ignored").unwrap(), KeyMgmt::Open);
        assert_eq!(open.psk, None);
        let s = open.to_settings().unwrap();
        assert!(!s.has_section("802-11-wireless-security"));
        assert_eq!(Profile::from_settings(&s).unwrap(), open);

        let sae = Profile::station(
            &Credentials::new("Lab", "s3cret-pass").unwrap(),
            KeyMgmt::Sae,
        );
        let s = sae.to_settings().unwrap();
        assert_eq!(s.str("802-11-wireless-security", "key-mgmt"), Some("sae"));
        assert_eq!(Profile::from_settings(&s).unwrap(), sae);
    }

    #[test]
    fn hotspot_profiles() {
        let p = Profile::hotspot(&ap(Some("setup1234"), 6, false), Some("wlan0"));
        assert_eq!(p.id, HOTSPOT_ID);
        let s = p.to_settings().unwrap();
        assert_eq!(s.str("802-11-wireless", "mode"), Some("ap"));
        assert_eq!(s.str("802-11-wireless", "band"), Some("bg"));
        assert_eq!(s.u32("802-11-wireless", "channel"), Some(6));
        assert_eq!(s.str("ipv4", "method"), Some("shared"));
        assert_eq!(s.get("ipv4", "may-fail"), None);
        assert_eq!(s.str("ipv6", "method"), Some("ignore"));
        assert_eq!(s.bool("connection", "autoconnect"), Some(false));
        assert_eq!(s.str("connection", "interface-name"), Some("wlan0"));
        assert_eq!(
            s.strings("802-11-wireless-security", "proto"),
            Some(vec!["rsn".to_owned()])
        );
        assert_eq!(
            s.strings("802-11-wireless-security", "pairwise"),
            Some(vec!["ccmp".to_owned()])
        );
        assert_eq!(Profile::from_settings(&s).unwrap(), p);

        let open = Profile::hotspot(&ap(None, 36, true), None);
        let s = open.to_settings().unwrap();
        assert_eq!(s.str("802-11-wireless", "band"), Some("a"));
        assert_eq!(s.bool("802-11-wireless", "hidden"), Some(true));
        assert!(!s.has_section("802-11-wireless-security"));
        assert_eq!(Profile::from_settings(&s).unwrap(), open);

        let auto_channel = Profile::hotspot(&ap(None, 0, false), None);
        let s = auto_channel.to_settings().unwrap();
        assert_eq!(s.get("802-11-wireless", "band"), None);
        assert_eq!(s.get("802-11-wireless", "channel"), None);
    }

    #[test]
    fn bad_profiles_are_refused_before_reaching_the_daemon() {
        // SSIDs of 0 or 33 bytes cannot be credentials at all; a profile read back from the
        // daemon still gets its SSID checked.
        assert!(Credentials::new(vec![b'x'; 33], "password1").is_err());
        let mut long = Profile::station(
            &Credentials::new("x", "password1").unwrap(),
            KeyMgmt::WpaPsk,
        );
        long.ssid = vec![b'x'; 33];
        assert!(matches!(long.to_settings(), Err(WifiError::Invalid(m)) if m.contains("33")));
        let mut empty = Profile::station(
            &Credentials::new("x", "password1").unwrap(),
            KeyMgmt::WpaPsk,
        );
        empty.ssid.clear();
        assert!(matches!(empty.to_settings(), Err(WifiError::Invalid(_))));
        let no_psk = Profile::station(&Credentials::new("Home", "").unwrap(), KeyMgmt::WpaPsk);
        assert!(
            matches!(no_psk.to_settings(), Err(WifiError::Invalid(m)) if m.contains("passphrase"))
        );
        let bad_utf8 = Profile::station(
            &Credentials::new("Home", vec![0xff; 9]).unwrap(),
            KeyMgmt::Sae,
        );
        assert!(
            matches!(bad_utf8.to_settings(), Err(WifiError::Invalid(m)) if m.contains("UTF-8"))
        );
        let bad_channel = Profile::hotspot(&ap(None, 15, false), None);
        assert!(
            matches!(bad_channel.to_settings(), Err(WifiError::Invalid(m)) if m.contains("15"))
        );
        let mut wep = Profile::station(&Credentials::new("Old", "abcde").unwrap(), KeyMgmt::WpaPsk);
        wep.key_mgmt = KeyMgmt::Other("none".into());
        assert!(matches!(wep.to_settings(), Err(WifiError::Unsupported(_))));
    }

    #[test]
    fn reading_fills_in_nm_defaults_and_rejects_other_types() {
        let mut s = ConnectionSettings::default();
        s.set("connection", "id", Variant::from("Office")).unwrap();
        s.set("connection", "type", Variant::from("802-11-wireless"))
            .unwrap();
        s.set("802-11-wireless", "ssid", Variant::from(b"Office".to_vec()))
            .unwrap();
        s.set(
            "802-11-wireless-security",
            "key-mgmt",
            Variant::from("none"),
        )
        .unwrap();
        let p = Profile::from_settings(&s).unwrap();
        assert!(!p.is_ours());
        assert_eq!(p.mode, WifiMode::Infrastructure);
        assert_eq!(p.key_mgmt, KeyMgmt::Other("none".into()));
        assert!(p.autoconnect);
        assert_eq!(p.autoconnect_priority, 0);
        assert_eq!(p.ipv4, Ipv4Method::Auto);
        assert_eq!(p.psk, None);

        s.set("802-11-wireless", "bssid", Variant::from(vec![1u8, 2, 3]))
            .unwrap();
        assert!(
            matches!(Profile::from_settings(&s), Err(WifiError::Invalid(m)) if m.contains("3 bytes"))
        );

        let mut wired = ConnectionSettings::default();
        wired
            .set("connection", "id", Variant::from("Wired"))
            .unwrap();
        wired
            .set("connection", "type", Variant::from("802-3-ethernet"))
            .unwrap();
        assert!(
            matches!(Profile::from_settings(&wired), Err(WifiError::Invalid(m)) if m.contains("802-3-ethernet"))
        );
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let p = Profile::station(
            &Credentials::new("Home", "correct horse").unwrap(),
            KeyMgmt::WpaPsk,
        );
        let s = p.to_settings().unwrap();
        let shown = format!("{s:?} {p:?}");
        assert!(!shown.contains("correct horse"), "{shown}");
        assert!(shown.contains("psk: <redacted>"), "{shown}");
        assert!(shown.contains("key-mgmt"), "{shown}");
    }

    #[test]
    fn merging_secrets() {
        let p = Profile::station(
            &Credentials::new("Home", "correct horse").unwrap(),
            KeyMgmt::WpaPsk,
        );
        let full = p.to_settings().unwrap();
        let mut without = full.clone();
        let mut secrets = ConnectionSettings::default();
        secrets
            .set(
                "802-11-wireless-security",
                "psk",
                Variant::from("correct horse"),
            )
            .unwrap();
        without
            .0
            .get_mut("802-11-wireless-security")
            .unwrap()
            .remove("psk");
        assert_eq!(Profile::from_settings(&without).unwrap().psk, None);
        without.merge(secrets);
        assert_eq!(without, full);
    }
}
