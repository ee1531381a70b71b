//! NetworkManager access point objects → [`AccessPoint`].
//!
//! An `org.freedesktop.NetworkManager.AccessPoint` object carries `Ssid` (`ay`),
//! `HwAddress` (`s`, the BSSID), `Frequency` (`u`, MHz), `Strength` (`y`, percent),
//! `Flags` (`u`, `NM80211ApFlags`), `WpaFlags` and `RsnFlags` (`u`,
//! `NM80211ApSecurityFlags` of the WPA and RSN information elements), among others.

use std::collections::HashMap;

use zbus::OwnedVariant;

use super::settings::variant_bytes;
use crate::{AccessPoint, AuthMode, Bssid, WifiError};

/// `NM_802_11_AP_FLAGS_PRIVACY`.
const AP_FLAGS_PRIVACY: u32 = 0x1;
/// `NM_802_11_AP_SEC_KEY_MGMT_PSK`.
const SEC_PSK: u32 = 0x100;
/// `NM_802_11_AP_SEC_KEY_MGMT_802_1X`.
const SEC_8021X: u32 = 0x200;
/// `NM_802_11_AP_SEC_KEY_MGMT_SAE`.
const SEC_SAE: u32 = 0x400;
/// `NM_802_11_AP_SEC_KEY_MGMT_OWE`.
const SEC_OWE: u32 = 0x800;
/// `NM_802_11_AP_SEC_KEY_MGMT_EAP_SUITE_B_192`.
const SEC_SUITE_B: u32 = 0x2000;

/// The security of an access point from its `Flags`, `WpaFlags` and `RsnFlags`:
/// 802.1X or Suite-B key management → WPA2-Enterprise; SAE in RSN → WPA3 (WPA2/WPA3 with
/// PSK too); PSK in RSN → WPA2 (WPA/WPA2 with PSK in WPA too); PSK in WPA only → WPA; OWE
/// → OWE (ESP-IDF number 9); the privacy flag alone → WEP; nothing → open.
pub fn access_point_auth(flags: u32, wpa_flags: u32, rsn_flags: u32) -> AuthMode {
    if (wpa_flags | rsn_flags) & (SEC_8021X | SEC_SUITE_B) != 0 {
        AuthMode::Wpa2Enterprise
    } else if rsn_flags & SEC_SAE != 0 {
        if rsn_flags & SEC_PSK != 0 {
            AuthMode::Wpa2Wpa3Psk
        } else {
            AuthMode::Wpa3Psk
        }
    } else if rsn_flags & SEC_PSK != 0 {
        if wpa_flags & SEC_PSK != 0 {
            AuthMode::WpaWpa2Psk
        } else {
            AuthMode::Wpa2Psk
        }
    } else if wpa_flags & SEC_PSK != 0 {
        AuthMode::WpaPsk
    } else if rsn_flags & SEC_OWE != 0 {
        AuthMode::Other(9)
    } else if flags & AP_FLAGS_PRIVACY != 0 {
        AuthMode::Wep
    } else {
        AuthMode::Open
    }
}

/// The channel number of a centre frequency in MHz: 2412–2472 → 1–13, 2484 → 14,
/// 4915–4980 → 183–196, 5000–5895 → 0–179, 5955–7115 (6 GHz) → 1–233. `None` for other
/// frequencies.
pub fn frequency_to_channel(mhz: u32) -> Option<u8> {
    let channel = match mhz {
        2412..=2472 if (mhz - 2407).is_multiple_of(5) => (mhz - 2407) / 5,
        2484 => 14,
        4915..=4980 if mhz.is_multiple_of(5) => (mhz - 4000) / 5,
        5000..=5895 if mhz.is_multiple_of(5) => (mhz - 5000) / 5,
        5955..=7115 if (mhz - 5950).is_multiple_of(5) => (mhz - 5950) / 5,
        _ => return None,
    };
    u8::try_from(channel).ok()
}

/// An approximate dBm value for NetworkManager's `Strength` percentage: the inverse of the
/// linear scale NetworkManager derives the percentage with (−100 dBm → 0 %, −40 dBm →
/// 100 %). Percentages above 100 count as 100.
pub fn strength_to_dbm(strength: u8) -> i8 {
    let percent = i32::from(strength.min(100));
    let dbm = -100 + (percent * 60 + 50) / 100;
    i8::try_from(dbm).unwrap_or(i8::MIN)
}

fn u32_of(props: &HashMap<String, OwnedVariant>, key: &str) -> Result<u32, WifiError> {
    match props.get(key) {
        None => Ok(0),
        Some(v) => u32::try_from(v)
            .map_err(|_| WifiError::Invalid(format!("access point property {key} is not a u32"))),
    }
}

/// An [`AccessPoint`] from the properties of an `org.freedesktop.NetworkManager.AccessPoint`
/// object (as `org.freedesktop.DBus.Properties.GetAll` returns them). `HwAddress` and
/// `Frequency` are required; a missing `Ssid` is a hidden network, missing flags are 0,
/// a missing `Strength` is 0 %. A frequency without a channel number gives channel 0.
pub fn parse_access_point(props: &HashMap<String, OwnedVariant>) -> Result<AccessPoint, WifiError> {
    let hw = props
        .get("HwAddress")
        .and_then(|v| <&str>::try_from(v).ok())
        .ok_or_else(|| WifiError::Invalid("access point without HwAddress".to_owned()))?;
    let bssid: Bssid = hw
        .parse()
        .map_err(|_| WifiError::Invalid(format!("bad BSSID {hw:?}")))?;
    let frequency = props
        .get("Frequency")
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| WifiError::Invalid(format!("access point {bssid} without Frequency")))?;
    let ssid = match props.get("Ssid") {
        None => Vec::new(),
        Some(v) => variant_bytes(v).ok_or_else(|| {
            WifiError::Invalid(format!("access point {bssid}: Ssid is not a byte array"))
        })?,
    };
    if ssid.len() > 32 {
        return Err(WifiError::Invalid(format!(
            "access point {bssid}: SSID of {} bytes",
            ssid.len()
        )));
    }
    let strength = match props.get("Strength") {
        None => 0,
        Some(v) => u8::try_from(v).map_err(|_| {
            WifiError::Invalid(format!("access point {bssid}: Strength is not a byte"))
        })?,
    };
    Ok(AccessPoint {
        ssid,
        bssid,
        channel: frequency_to_channel(frequency).unwrap_or(0),
        rssi: strength_to_dbm(strength),
        auth: access_point_auth(
            u32_of(props, "Flags")?,
            u32_of(props, "WpaFlags")?,
            u32_of(props, "RsnFlags")?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_of_frequencies() {
        assert_eq!(frequency_to_channel(2412), Some(1));
        assert_eq!(frequency_to_channel(2437), Some(6));
        assert_eq!(frequency_to_channel(2472), Some(13));
        assert_eq!(frequency_to_channel(2484), Some(14));
        assert_eq!(frequency_to_channel(5180), Some(36));
        assert_eq!(frequency_to_channel(5825), Some(165));
        assert_eq!(frequency_to_channel(4920), Some(184));
        assert_eq!(frequency_to_channel(5955), Some(1));
        assert_eq!(frequency_to_channel(7115), Some(233));
        assert_eq!(frequency_to_channel(2413), None);
        assert_eq!(frequency_to_channel(0), None);
        assert_eq!(frequency_to_channel(60480), None);
    }

    #[test]
    fn strength_scale() {
        assert_eq!(strength_to_dbm(0), -100);
        assert_eq!(strength_to_dbm(100), -40);
        assert_eq!(strength_to_dbm(255), -40);
        assert_eq!(strength_to_dbm(50), -70);
        assert_eq!(strength_to_dbm(75), -55);
        // Monotonic.
        for s in 0..100u8 {
            assert!(strength_to_dbm(s) <= strength_to_dbm(s + 1));
        }
    }

    #[test]
    fn security_flags() {
        assert_eq!(access_point_auth(0, 0, 0), AuthMode::Open);
        assert_eq!(access_point_auth(1, 0, 0), AuthMode::Wep);
        assert_eq!(access_point_auth(1, 0x14c, 0), AuthMode::WpaPsk);
        assert_eq!(access_point_auth(1, 0, 0x188), AuthMode::Wpa2Psk);
        assert_eq!(access_point_auth(1, 0x14c, 0x14c), AuthMode::WpaWpa2Psk);
        assert_eq!(access_point_auth(1, 0, 0x488), AuthMode::Wpa3Psk);
        assert_eq!(access_point_auth(1, 0, 0x588), AuthMode::Wpa2Wpa3Psk);
        assert_eq!(access_point_auth(1, 0, 0x288), AuthMode::Wpa2Enterprise);
        assert_eq!(access_point_auth(1, 0x248, 0), AuthMode::Wpa2Enterprise);
        assert_eq!(access_point_auth(1, 0, 0x2088), AuthMode::Wpa2Enterprise);
        assert_eq!(access_point_auth(1, 0, 0x888), AuthMode::Other(9));
    }
}
