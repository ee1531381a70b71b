//! Client library for ESP-IDF unified provisioning.
//!
//! [`Provisioner`] drives one device over any [`ClientTransport`] (HTTP and
//! [`ConsoleTransport`]; BLE through BlueZ with [`BluezCentral`], cargo feature `bluez`, on by
//! default): read `proto-ver`, pick the security scheme and patch level
//! from it (security 2 included), handshake, scan with paging, send and apply credentials, and
//! follow the outcome by polling adaptively. Every failure is a typed [`Error`] with a
//! documented exit code. [`discover`] finds devices that announce themselves (mDNS, and BLE
//! with the `bluez` feature).
//!
//! ```no_run
//! # async fn example() -> Result<(), wifiprov_client::Error> {
//! use std::time::Duration;
//! use wifiprov_client::{Credentials, HttpTransport, Provisioner};
//!
//! let transport = HttpTransport::new("192.168.4.1:80", Duration::from_secs(30));
//! let mut device = Provisioner::new(transport);
//! let security = device.negotiate(None, &Credentials::pop("abcd1234")).await?;
//! device.establish(security).await?;
//! let joined = device.provision(b"HomeNet", b"correct-horse").await?;
//! println!("device joined with address {}", joined.ip);
//! # Ok(()) }
//! ```

#[cfg(feature = "bluez")]
pub mod ble_bluez;
pub mod ble_memory;
mod console;
pub mod discover;
mod error;
pub mod improv;
mod provisioner;
mod transport;

#[cfg(feature = "bluez")]
pub use ble_bluez::{BleDevice, BluezCentral, BluezCentralConfig, CONNECT_ATTEMPTS};
pub use console::ConsoleTransport;
pub use error::{Error, ExitCode};
pub use provisioner::{ClientConfig, Connected, Credentials, FailReason, Provisioner, WifiStatus};
pub use transport::{ClientTransport, HttpTransport, TransportError};
pub use wifiprov_wifi::BoxFuture;
