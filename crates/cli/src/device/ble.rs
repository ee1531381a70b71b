//! The BLE flags (`--transport ble` of `device`, `--ble` of `manage`) as a
//! [`BleRoute`]: ESP-IDF's GATT provisioning service through BlueZ, on the D-Bus system bus.
//!
//! The flags select the adapter (`--ble-adapter`, a name such as `hci0` or an object path),
//! the primary service UUID (`--ble-service-uuid`, ESP-IDF's default
//! `1775244d-6b43-439b-877c-060f2d9bed07` unless set; firmware built from ESP-IDF's example
//! uses `021a9004-0382-4aea-bff4-6b3f1c5adfb4`) and optional manufacturer data
//! (`--ble-manufacturer-data`, hex, company identifier first in little-endian). The advertised
//! name is the service name, cut to 29 bytes as ESP-IDF does.

use anyhow::{Context, Result, anyhow, bail};
use wifiprov_agent::BleRoute;
use wifiprov_transport::ble::bluez::BluezConfig;
use wifiprov_transport::ble::gatt::MAX_NAME_LEN;
use wifiprov_transport::ble::uuid::{DEFAULT_SERVICE_UUID, Uuid128};

/// The object path prefix of BlueZ's adapters.
const ADAPTER_PREFIX: &str = "/org/bluez/";

/// The default adapter name.
pub const DEFAULT_ADAPTER: &str = "hci0";

/// The BLE route the flags describe; `service_name` becomes the advertised name.
pub fn route(
    adapter: Option<&str>,
    service_uuid: Option<&str>,
    manufacturer_data: Option<&str>,
    service_name: &str,
) -> Result<BleRoute> {
    let settings = BleSettings::new(adapter, service_uuid, manufacturer_data, service_name)?;
    Ok(BleRoute::new(settings.adapter_path, settings.config))
}

/// Everything needed to start the BLE transport, checked before the agent starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BleSettings {
    /// The adapter's object path (`/org/bluez/hci0`).
    pub adapter_path: String,
    /// The peripheral's configuration (service UUID, advertised name, manufacturer data).
    pub config: BluezConfig,
}

impl BleSettings {
    /// Validates the `--ble-*` flags; `service_name` becomes the advertised name.
    pub fn new(
        adapter: Option<&str>,
        service_uuid: Option<&str>,
        manufacturer_data: Option<&str>,
        service_name: &str,
    ) -> Result<Self> {
        let adapter_path = adapter_path(adapter.unwrap_or(DEFAULT_ADAPTER))?;
        let service_uuid = match service_uuid {
            Some(text) => Uuid128::parse(text.trim()).context("invalid --ble-service-uuid")?,
            None => DEFAULT_SERVICE_UUID,
        };
        let manufacturer_data = match manufacturer_data {
            Some(text) => parse_manufacturer_data(text)?,
            None => Vec::new(),
        };
        if service_name.len() > MAX_NAME_LEN {
            tracing::warn!(
                "the service name {service_name:?} is longer than {MAX_NAME_LEN} bytes; \
                 BLE advertises only its first {MAX_NAME_LEN}"
            );
        }
        Ok(BleSettings {
            adapter_path,
            config: BluezConfig {
                service_uuid,
                local_name: service_name.to_string(),
                manufacturer_data,
                ..BluezConfig::default()
            },
        })
    }
}

/// The adapter object path for `--ble-adapter`: a path is taken as given, a bare name (`hci1`)
/// is looked up under `/org/bluez/`.
pub fn adapter_path(name_or_path: &str) -> Result<String> {
    let text = name_or_path.trim();
    let path = if text.starts_with('/') {
        text.to_string()
    } else {
        let valid =
            !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            bail!(
                "invalid --ble-adapter {name_or_path:?}: expected an adapter name such as hci0 \
                 or an object path such as /org/bluez/hci0"
            );
        }
        format!("{ADAPTER_PREFIX}{text}")
    };
    zbus::ObjectPath::try_from(path.as_str())
        .map_err(|_| anyhow!("invalid --ble-adapter {name_or_path:?}: not a D-Bus object path"))?;
    Ok(path)
}

/// `--ble-manufacturer-data`: hexadecimal bytes (`:`, `-`, spaces and a `0x` prefix are
/// allowed), at least the two bytes of the company identifier.
pub fn parse_manufacturer_data(text: &str) -> Result<Vec<u8>> {
    let trimmed = text.trim();
    let trimmed = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    let digits: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .collect();
    let bytes = hex::decode(&digits)
        .with_context(|| format!("--ble-manufacturer-data is not hex: {text:?}"))?;
    if bytes.len() < 2 {
        bail!(
            "--ble-manufacturer-data needs at least the 2-byte company identifier \
             (little-endian, e.g. e502 for 0x02E5), then the data"
        );
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_names_and_paths() {
        assert_eq!(adapter_path("hci0").unwrap(), "/org/bluez/hci0");
        assert_eq!(adapter_path(" hci1 ").unwrap(), "/org/bluez/hci1");
        assert_eq!(adapter_path("/org/bluez/hci2").unwrap(), "/org/bluez/hci2");
        for bad in ["", "hci 0", "hci0/", "/org//bluez", "/org/bluez/"] {
            assert!(adapter_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn manufacturer_data_forms() {
        assert_eq!(
            parse_manufacturer_data("e5020102").unwrap(),
            [0xe5, 2, 1, 2]
        );
        assert_eq!(parse_manufacturer_data("0xE5:02:01").unwrap(), [0xe5, 2, 1]);
        assert_eq!(parse_manufacturer_data("e5 02").unwrap(), [0xe5, 2]);
        assert!(parse_manufacturer_data("e5").is_err());
        assert!(parse_manufacturer_data("zz00").is_err());
        assert!(parse_manufacturer_data("e50").is_err());
    }

    #[test]
    fn settings_defaults_and_overrides() {
        let s = BleSettings::new(None, None, None, "PROV_A1B2C3").unwrap();
        assert_eq!(s.adapter_path, "/org/bluez/hci0");
        assert_eq!(s.config.service_uuid, DEFAULT_SERVICE_UUID);
        assert_eq!(s.config.local_name, "PROV_A1B2C3");
        assert!(s.config.manufacturer_data.is_empty());
        let s = BleSettings::new(
            Some("hci1"),
            Some("021a9004-0382-4aea-bff4-6b3f1c5adfb4"),
            Some("e502ff"),
            "PROV_X",
        )
        .unwrap();
        assert_eq!(s.adapter_path, "/org/bluez/hci1");
        assert_eq!(
            s.config.service_uuid,
            wifiprov_transport::ble::uuid::EXAMPLE_SERVICE_UUID
        );
        assert_eq!(s.config.manufacturer_data, [0xe5, 0x02, 0xff]);
        assert!(BleSettings::new(None, Some("not-a-uuid"), None, "PROV_X").is_err());
    }
}
