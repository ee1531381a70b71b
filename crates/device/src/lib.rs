//! The provisioning Manager: ESP-IDF's `wifi_prov_mgr` for any device.
//!
//! * [`ProvMachine`] is ESP-IDF's provisioning state machine, sans I/O (set/apply
//!   credentials per session, connection outcome, scan, reset, re-provision, auto-stop).
//! * [`Manager`] drives it (radio, store, events, timers) and answers the `prov-config`,
//!   `prov-scan`, `prov-ctrl` and custom endpoints as a [`wifiprov_transport::AppHandler`];
//!   [`endpoints`] is the protobuf codec of those requests.
//! * [`ProvEvent`]s are broadcast to every subscriber.
//! * [`CredentialStore`] keeps accepted credentials on disk, atomically.
//!
//! The agent that serves a Manager through routes (HTTP, console, BLE, SmartConfig) is the
//! `wifiprov-agent` crate.

pub mod atomic;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod files;
pub mod machine;
pub mod manager;
pub mod store;

pub use error::{ProvError, Refusal, StoreFailure};
pub use events::{FailReason, ProvEvent, ssid_text};
pub use machine::ProvMachine;
pub use manager::{CustomEndpoint, Manager, ManagerConfig, ProvState, Station};
pub use store::CredentialStore;
