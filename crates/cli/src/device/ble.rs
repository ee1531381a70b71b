//! `--transport ble`: serves the agent's protocomm service as ESP-IDF's GATT provisioning
//! service through BlueZ, on the D-Bus system bus.
//!
//! The flags select the adapter (`--ble-adapter`, a name such as `hci0` or an object path),
//! the primary service UUID (`--ble-service-uuid`, ESP-IDF's default
//! `1775244d-6b43-439b-877c-060f2d9bed07` unless set; firmware built from ESP-IDF's example
//! uses `021a9004-0382-4aea-bff4-6b3f1c5adfb4`) and optional manufacturer data
//! (`--ble-manufacturer-data`, hex, company identifier first in little-endian). The advertised
//! name is the service name, cut to 29 bytes as ESP-IDF does.
//!
//! The system bus is reached through `DBUS_SYSTEM_BUS_ADDRESS` when it is set (as every D-Bus
//! client does), else through its standard socket.

use anyhow::{Context, Result, anyhow, bail};
use wifiprov_transport::Service;
use wifiprov_transport::ble::bluez::{
    BLUEZ_SERVICE, BluezConfig, BluezError, BluezHandle, BluezPeripheral,
};
use wifiprov_transport::ble::gatt::MAX_NAME_LEN;
use wifiprov_transport::ble::uuid::{DEFAULT_SERVICE_UUID, Uuid128};

/// What the user is told when the system bus or BlueZ cannot be reached.
pub const NO_BLUEZ_HINT: &str =
    "BlueZ (bluetoothd) is not running or this machine has no Bluetooth adapter";

/// The object path prefix of BlueZ's adapters.
const ADAPTER_PREFIX: &str = "/org/bluez/";

/// The default adapter name.
pub const DEFAULT_ADAPTER: &str = "hci0";

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

/// Connects to the system bus (done before the agent starts, so that a machine without one
/// fails at once).
pub async fn connect() -> Result<zbus::Connection> {
    let address = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .unwrap_or_else(|_| "the default system bus socket".to_string());
    zbus::Connection::system().await.map_err(|e| {
        anyhow!("cannot connect to the D-Bus system bus ({address}): {e} ({NO_BLUEZ_HINT})")
    })
}

/// Registers the GATT service and the advertisement with BlueZ on `connection`, serving
/// `service`.
pub async fn start(
    connection: zbus::Connection,
    settings: BleSettings,
    service: Service,
) -> Result<BluezHandle> {
    let adapter = settings.adapter_path.clone();
    BluezPeripheral::start(connection, &adapter, settings.config, service)
        .await
        .map_err(|e| start_error(&adapter, e))
}

/// Explains a failed start in the user's terms.
fn start_error(adapter: &str, e: BluezError) -> anyhow::Error {
    let (name, detail) = match &e {
        BluezError::Bus(zbus::Error::MethodError(name, detail, _)) => {
            (name.to_string(), detail.clone().unwrap_or_default())
        }
        BluezError::Bus(zbus::Error::FDO(fdo)) => (
            zbus::DBusError::name(fdo.as_ref()).to_string(),
            zbus::DBusError::description(fdo.as_ref())
                .unwrap_or_default()
                .to_string(),
        ),
        _ => return anyhow!("cannot start the BLE transport: {e}"),
    };
    let detail = if detail.is_empty() { &name } else { &detail };
    match name.as_str() {
        "org.freedesktop.DBus.Error.ServiceUnknown"
        | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
            anyhow!("{BLUEZ_SERVICE} is not on the system bus: {detail} ({NO_BLUEZ_HINT})")
        }
        "org.freedesktop.DBus.Error.UnknownObject"
        | "org.freedesktop.DBus.Error.UnknownInterface"
        | "org.freedesktop.DBus.Error.UnknownMethod" => anyhow!(
            "no usable Bluetooth adapter at {adapter}: {detail} (list the adapters with \
             `bluetoothctl list` and pick one with --ble-adapter)"
        ),
        "org.freedesktop.DBus.Error.AccessDenied" => anyhow!(
            "the system bus refused the BlueZ registration: {detail} (run as root, or allow \
             this user to talk to {BLUEZ_SERVICE} in the D-Bus policy)"
        ),
        "org.bluez.Error.NotReady" | "org.bluez.Error.Failed" => anyhow!(
            "BlueZ refused the registration on {adapter}: {detail} (is the adapter powered? \
             try `bluetoothctl power on`)"
        ),
        _ => anyhow!("BlueZ refused the registration on {adapter}: {name}: {detail}"),
    }
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
