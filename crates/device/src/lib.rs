//! The provisioning Manager: ESP-IDF's `wifi_prov_mgr` for any device.
//!
//! * [`Manager`] owns the provisioning state machine (set/apply credentials, connection
//!   outcome, scan, reset, re-provision, auto-stop) and answers the `prov-config`,
//!   `prov-scan`, `prov-ctrl` and custom endpoints as a [`wifiprov_transport::AppHandler`].
//! * [`ProvEvent`]s are broadcast to every subscriber.
//! * [`CredentialStore`] keeps accepted credentials on disk, atomically.
//!
//! The agent that serves a Manager through routes (HTTP, console, BLE, SmartConfig) is the
//! `wifiprov-agent` crate.

pub mod atomic;
pub mod endpoints;
pub mod events;
pub mod manager;
pub mod store;

pub use events::{FailReason, ProvEvent};
pub use manager::{CustomEndpoint, Manager, ManagerConfig, ProvState, Station};
pub use store::CredentialStore;
