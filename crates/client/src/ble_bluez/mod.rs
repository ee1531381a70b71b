//! The client side of the BLE transport on Linux: a BLE central driven through BlueZ's D-Bus
//! API (pure Rust, zbus), as esp_prov's `ble_cli` does it.
//!
//! [`BluezCentral::connect`] talks to `bluetoothd` on the system bus (the address in
//! `DBUS_SYSTEM_BUS_ADDRESS` when set):
//!
//! 1. **Finding the device.** The first adapter (`org.bluez.Adapter1`, or the one configured)
//!    scans with a discovery filter `Transport = "le"`. Devices are read from
//!    `org.freedesktop.DBus.ObjectManager.GetManagedObjects` on `org.bluez`, again at every
//!    `InterfacesAdded` signal and every [`POLL_INTERVAL`]. An `org.bluez.Device1` matches by its
//!    exact `Name` when a name is configured (`PROV_1A2B3C`), otherwise when its advertised
//!    `UUIDs` contain the service UUID. Nothing within the scan time gives
//!    [`TransportError::Unreachable`](crate::TransportError::Unreachable).
//! 2. **Connecting.** `Device1.Connect`, then waiting for `ServicesResolved = true`. A
//!    connection BlueZ could not make (`org.bluez.Error.Failed`, `InProgress`) or a link that
//!    drops before the services are resolved is tried again, [`CONNECT_ATTEMPTS`] times in
//!    all.
//! 3. **Identifying the endpoints.** The GATT objects under the device path: the
//!    `org.bluez.GattService1` with the service UUID (or, when none is configured, the service
//!    whose characteristics include the one ESP-IDF derives for `prov-session`), its
//!    `org.bluez.GattCharacteristic1` objects, and for each the 0x2901 `org.bluez.GattDescriptor1`
//!    whose value (`ReadValue`) is the endpoint name. A characteristic without one is named by
//!    its legacy 16-bit id (`ff51` → `prov-session`, …).
//! 4. **Requests.** `WriteValue(request, {"type": "request"})` then `ReadValue({})`. BlueZ
//!    negotiates the MTU and performs long writes (Prepare / Execute Write) and long reads (Read
//!    Blob) itself; should a read come back as exactly one full chunk of the characteristic's
//!    `MTU`, the rest is read with the `offset` option until a shorter chunk.
//!
//! A BLE session lives as long as its connection: [`ClientTransport::reset_session`](crate::ClientTransport::reset_session) makes the
//! next request disconnect and connect again (`Device1.Disconnect` + `Connect`). Dropping a
//! [`BluezCentral`] disconnects the device (best effort).
//!
//! `org.bluez.Error.Failed` from `WriteValue` / `ReadValue` (how BlueZ reports the ATT error
//! of a device that refused a request) is [`TransportError::Rejected`](crate::TransportError::Rejected), which the
//! [`crate::Provisioner`] turns into an authentication error during the handshake.
//!
//! Use esp_prov's BLE scan settings with this transport (`ClientConfig { scan_page: 4,
//! scan_group_channels: 0, .. }`): a page of 100 scan results does not fit one 512-byte
//! attribute value.
//!
//! The code reads in this order: `bus` (the system bus and a time-limited BlueZ caller),
//! `device` ([`BleDevice`] and property readers), `config` ([`BluezCentralConfig`]), `scan`
//! (LE discovery, [`scan_devices`], finding one device), `central` ([`BluezCentral`]: connect,
//! requests, reconnects) and `endpoints` (naming the endpoint characteristics).

mod bus;
mod central;
mod config;
mod device;
mod endpoints;
mod improv;
mod scan;

use std::collections::HashMap;
use std::time::Duration;

use zbus::{OwnedVariant, Variant};

pub use bus::system_bus;
pub use central::{BluezCentral, CONNECT_ATTEMPTS};
pub use config::BluezCentralConfig;
pub use device::BleDevice;
pub use improv::{IMPROV_COMMAND_TIMEOUT, ImprovBle, WRITE_CHUNK, is_improv};
pub use scan::scan_devices;

/// BlueZ's well-known bus name.
pub const BLUEZ_SERVICE: &str = "org.bluez";
/// How long [`BluezCentral::connect`] scans for the device by default.
pub const DEFAULT_SCAN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one D-Bus call (a GATT read or write, Connect…) may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the object tree is read again while scanning or waiting for the services.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

const ADAPTER_IFACE: &str = "org.bluez.Adapter1";
const DEVICE_IFACE: &str = "org.bluez.Device1";
const SERVICE_IFACE: &str = "org.bluez.GattService1";
const CHARACTERISTIC_IFACE: &str = "org.bluez.GattCharacteristic1";
const DESCRIPTOR_IFACE: &str = "org.bluez.GattDescriptor1";
const OBJECT_MANAGER_IFACE: &str = "org.freedesktop.DBus.ObjectManager";
const PROPERTIES_IFACE: &str = "org.freedesktop.DBus.Properties";
/// The endpoint id of `prov-session`, whose derived characteristic marks a provisioning service.
const SESSION_ID16: u16 = 0xff51;

type Props = HashMap<String, OwnedVariant>;
type Options = HashMap<&'static str, Variant<'static>>;
