//! The device side of the BLE transport on Linux, through BlueZ's D-Bus API (pure Rust, zbus).
//!
//! [`BluezPeripheral::start`] exports a GATT application on the bus and registers it, and an
//! advertisement, with the adapter:
//!
//! * `<base>/app` carries `org.freedesktop.DBus.ObjectManager` (BlueZ discovers the application
//!   with `GetManagedObjects`);
//! * `<base>/app/service0` is the `org.bluez.GattService1` (`UUID`, `Primary = true`);
//! * `<base>/app/service0/charN` is one `org.bluez.GattCharacteristic1` per endpoint, in
//!   registration order (`UUID` derived as [`super::uuid::characteristic_uuid`] does, `Service`,
//!   `Flags = ["read", "write"]`);
//! * `<base>/app/service0/charN/desc0` is its `org.bluez.GattDescriptor1` 0x2901
//!   (`Flags = ["read"]`), whose value is the endpoint name;
//! * `<base>/advertisement0` is the `org.bluez.LEAdvertisement1` (`Type = "peripheral"`,
//!   `ServiceUUIDs`, `LocalName`, `ManufacturerData`), outside the application tree.
//!
//! Then it sets the adapter's `org.bluez.Adapter1.Alias` to the advertised name and calls
//! `org.bluez.GattManager1.RegisterApplication` and
//! `org.bluez.LEAdvertisingManager1.RegisterAdvertisement` on the adapter object.
//!
//! The alias matters because BlueZ serves it as the GAP Device Name (0x2A00): a central whose
//! BlueZ connects reads that name and from then on reports it as the device's `Name`, in place
//! of the advertised `PROV_…` (without the alias it would be the host's name, `BlueZ 5.66`, and
//! a client looking the device up by name would not find it again). The previous alias is
//! restored at [`BluezHandle::stop`].
//!
//! # Connections and sessions
//!
//! BlueZ passes the remote device's object path in the `device` option of every `ReadValue`
//! and `WriteValue`. Each device path gets its own [`GattConnection`](super::gatt::GattConnection) and its own connection to
//! the protocomm [`Service`] (whose device mints the session id), created on its first
//! operation. The session is closed when BlueZ reports the device's `Connected` property as
//! `false` (a `PropertiesChanged` signal of `org.bluez.Device1` from `org.bluez`, for a device
//! under this adapter), and at [`BluezHandle::stop`]. After such a disconnection the
//! advertisement is registered again (`UnregisterAdvertisement` + `RegisterAdvertisement`): a
//! controller stops advertising when a central connects, and not every controller resumes
//! afterwards, which would hide the device from the next client. Disconnect tracking is
//! best-effort: a device object that BlueZ removes without first signalling
//! `Connected = false` keeps its session until the protocomm session timeout or the stop.
//!
//! # A second service
//!
//! [`BluezPeripheral::start_with`] may add an [`ExtraService`] to the same application
//! (`<base>/app/service1` and its `charN`, without descriptors): characteristics with the
//! given flags whose `Value` the owner sets through [`BluezHandle::set_extra_value`] (the
//! `PropertiesChanged` signal is what BlueZ turns into notifications), and whose writes reach
//! the owner through a channel. It replaces the advertised service UUIDs and adds service data
//! (`ServiceData`, changed with [`BluezHandle::set_service_data`], which registers the
//! advertisement again). Improv Wi-Fi is served this way.
//!
//! # Files
//!
//! `mod.rs` has the settings and errors, `peripheral` exports, registers and tears down the
//! objects and watches disconnections, `objects` holds the D-Bus interfaces, and `devices`
//! the per-device GATT and protocomm state.
//!
//! # When a written value is complete
//!
//! BlueZ answers Prepare Write itself and, at Execute Write, delivers the queued value through
//! `WriteValue` (contiguous parts aggregated into one call at the first offset, or, when it
//! does not aggregate, one call per part with increasing offsets). `WriteValue` carries no
//! "last part" marker, so this adapter uses the protocol's own shape, a write followed by a
//! read, as the completion rule:
//!
//! 1. `WriteValue` at offset 0 starts a new value for that characteristic of that device
//!    (discarding an unprocessed value written before);
//! 2. `WriteValue` at an offset equal to the bytes written so far appends to it (any other
//!    offset fails with `org.bluez.Error.InvalidOffset`; growing past the maximum attribute
//!    length fails with `org.bluez.Error.InvalidValueLength`);
//! 3. the first `ReadValue` at offset 0 of the same characteristic by the same device hands the
//!    complete value to the protocomm [`Service`], stores the response as the characteristic's
//!    value and returns its first chunk; `ReadValue` at a higher offset continues the long
//!    read. A request the service rejects fails that read with `org.bluez.Error.Failed`.
//!
//! A read returns at most `mtu − 1` bytes from the offset (the `mtu` option; the whole rest
//! when BlueZ does not pass it, since BlueZ truncates to the PDU itself).

mod devices;
mod extra;
mod objects;
mod peripheral;

use super::gatt::{AttError, MAX_ATTRIBUTE_LEN};
use super::uuid::{DEFAULT_SERVICE_UUID, Uuid128};
#[cfg(doc)]
use crate::Service;
pub use extra::{ExtraCharacteristic, ExtraService, ExtraWrite};
pub use peripheral::{BluezHandle, BluezPeripheral};

/// The UUID of the Characteristic User Description descriptor (0x2901) in BlueZ's notation.
pub const USER_DESCRIPTION_UUID: &str = "00002901-0000-1000-8000-00805f9b34fb";
/// The adapter object of the first Bluetooth controller.
pub const DEFAULT_ADAPTER_PATH: &str = "/org/bluez/hci0";
/// The default root of the exported objects.
pub const DEFAULT_BASE_PATH: &str = "/io/wifiprov/ble";
/// BlueZ's well-known bus name.
pub const BLUEZ_SERVICE: &str = "org.bluez";

/// Settings of a [`BluezPeripheral`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BluezConfig {
    /// The primary service UUID ([`DEFAULT_SERVICE_UUID`] by default).
    pub service_uuid: Uuid128,
    /// The advertised device name (`PROV_…`; truncated as
    /// [`Advertisement::new`](super::gatt::Advertisement::new) does).
    pub local_name: String,
    /// Manufacturer data (company identifier little-endian in the first two bytes, then the
    /// data); empty for none.
    pub manufacturer_data: Vec<u8>,
    /// The root path of the exported objects ([`DEFAULT_BASE_PATH`] by default); it must be a
    /// valid D-Bus object path not used by anything else on the connection.
    pub base_path: String,
    /// The longest attribute value accepted or stored ([`MAX_ATTRIBUTE_LEN`] by default).
    pub max_value_len: usize,
}

impl Default for BluezConfig {
    fn default() -> Self {
        BluezConfig {
            service_uuid: DEFAULT_SERVICE_UUID,
            local_name: "PROV_000000".into(),
            manufacturer_data: Vec::new(),
            base_path: DEFAULT_BASE_PATH.into(),
            max_value_len: MAX_ATTRIBUTE_LEN,
        }
    }
}

/// A failure to start or stop the BlueZ peripheral.
#[derive(Debug, thiserror::Error)]
pub enum BluezError {
    /// A configured object path is not a valid D-Bus object path.
    #[error("invalid object path {0:?}")]
    InvalidPath(String),
    /// A D-Bus call or export failed (BlueZ absent, adapter missing, registration refused…).
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
}

/// The errors returned to BlueZ from `ReadValue` / `WriteValue` (`org.bluez.Error.*`), which
/// BlueZ turns into ATT error responses.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.bluez.Error")]
pub enum GattError {
    /// A D-Bus level failure.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The request failed (rejected by the protocomm service, out of sequence…).
    Failed(String),
    /// An offset past the value.
    InvalidOffset(String),
    /// A value longer than the maximum attribute length.
    InvalidValueLength(String),
    /// The operation is not allowed on this attribute.
    NotPermitted(String),
}

impl From<AttError> for GattError {
    fn from(e: AttError) -> Self {
        let text = e.to_string();
        match e {
            AttError::InvalidOffset => GattError::InvalidOffset(text),
            AttError::InvalidAttributeValueLength => GattError::InvalidValueLength(text),
            AttError::ReadNotPermitted | AttError::WriteNotPermitted => {
                GattError::NotPermitted(text)
            }
            _ => GattError::Failed(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn att_errors_map_to_bluez_errors() {
        let name = |e: AttError| zbus::DBusError::name(&GattError::from(e)).to_string();
        assert_eq!(
            name(AttError::InvalidOffset),
            "org.bluez.Error.InvalidOffset"
        );
        assert_eq!(
            name(AttError::InvalidAttributeValueLength),
            "org.bluez.Error.InvalidValueLength"
        );
        assert_eq!(
            name(AttError::WriteNotPermitted),
            "org.bluez.Error.NotPermitted"
        );
        assert_eq!(name(AttError::InvalidPdu), "org.bluez.Error.Failed");
    }
}
