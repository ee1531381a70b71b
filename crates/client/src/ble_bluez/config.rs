//! What a central looks for: [`BluezCentralConfig`].

use std::time::Duration;

use wifiprov_transport::ble::Uuid128;
use wifiprov_transport::ble::uuid::{DEFAULT_SERVICE_UUID, EXAMPLE_SERVICE_UUID};

use super::{BleDevice, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SCAN_TIMEOUT};

/// What [`BluezCentral`](super::BluezCentral) looks for and how long it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BluezCentralConfig {
    /// The advertised device name to match exactly (`PROV_1A2B3C`). Without one, the first
    /// device advertising the service UUID is taken (an error when several do).
    pub name: Option<String>,
    /// The provisioning service UUID. Without one, a device matches by name only (or, when no
    /// name is given either, by advertising [`DEFAULT_SERVICE_UUID`] or
    /// [`EXAMPLE_SERVICE_UUID`]), and the service is the one carrying ESP-IDF's derived
    /// `prov-session` characteristic.
    pub service_uuid: Option<Uuid128>,
    /// The adapter to use: an object path (`/org/bluez/hci1`) or a name (`hci1`); the first
    /// adapter when `None`.
    pub adapter: Option<String>,
    /// How long to scan for the device.
    pub scan_timeout: Duration,
    /// How long one D-Bus call may take.
    pub request_timeout: Duration,
}

impl Default for BluezCentralConfig {
    fn default() -> Self {
        BluezCentralConfig {
            name: None,
            service_uuid: None,
            adapter: None,
            scan_timeout: DEFAULT_SCAN_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl BluezCentralConfig {
    /// Looks for the device named `name` (exactly).
    pub fn named(name: impl Into<String>) -> Self {
        BluezCentralConfig {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// What the device is, for messages.
    pub(super) fn target(&self) -> String {
        match (&self.name, self.service_uuid) {
            (Some(name), _) => format!("BLE device {name}"),
            (None, Some(uuid)) => format!("a BLE device advertising {uuid}"),
            (None, None) => "a BLE provisioning device".to_string(),
        }
    }

    /// Whether a device with these properties is the one looked for.
    pub(super) fn matches(&self, device: &BleDevice) -> bool {
        match (&self.name, self.service_uuid) {
            (Some(name), _) => device.name.as_deref() == Some(name.as_str()),
            (None, Some(uuid)) => device.advertises(uuid),
            (None, None) => {
                device.advertises(DEFAULT_SERVICE_UUID) || device.advertises(EXAMPLE_SERVICE_UUID)
            }
        }
    }
}
