//! BLE (GATT) transport: how protocomm endpoints map onto one GATT service.
//!
//! The mapping is ESP-IDF's (`protocomm_ble` / `protocomm_nimble`):
//!
//! * **One primary service** whose 128-bit UUID is configurable
//!   ([`uuid::DEFAULT_SERVICE_UUID`] unless the application sets one; ESP-IDF's example uses
//!   [`uuid::EXAMPLE_SERVICE_UUID`]).
//! * **One characteristic per endpoint**, in registration order, with properties Read + Write.
//!   Its UUID is the service UUID with bytes 12–13 of the little-endian array replaced by the
//!   endpoint's 16-bit id (`021a9004-…` → `021aff51-…` for `prov-session`), see
//!   [`uuid::characteristic_uuid`]. A read-only 0x2901 user-description descriptor carries the
//!   endpoint name; clients identify endpoints by it, falling back to the legacy ids
//!   ([`gatt::LEGACY_ENDPOINT_IDS`]).
//! * **Request/response**: the client writes the request to the characteristic (Write Request,
//!   or Prepare Write + Execute Write when longer than `MTU − 3`); the device processes it before
//!   acknowledging and stores the response as the characteristic's value, which the client reads
//!   back (Read, then Read Blob in chunks of `MTU − 1` until a short chunk). Values are limited
//!   to 512 bytes (481 on Bluedroid).
//! * **One protocomm session per connection**, opened by the handshake and closed on
//!   disconnect.
//! * **Advertising**: Flags `0x06` and the service UUID; the scan response holds the device name
//!   (`PROV_…`, at most 29 bytes) and the manufacturer data if it fits.
//!
//! [`gatt`] is the sans-I/O core shared by every adapter; [`memory`] is an in-memory link used
//! by tests and by the client library's in-memory BLE transport; [`bluez`] (cargo feature
//! `bluez`, on by default) serves the service on Linux through BlueZ's D-Bus API.

#[cfg(feature = "bluez")]
pub mod bluez;
pub mod gatt;
pub mod memory;
pub mod uuid;

pub use gatt::{Advertisement, AttError, GattConnection, GattLayout, GattRequest};
pub use memory::{LinkStats, MemoryGattConfig, MemoryGattDevice, MemoryGattLink};
pub use uuid::{Uuid128, characteristic_uuid};
