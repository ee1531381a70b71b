//! The provisioning Manager: ESP-IDF's `wifi_prov_mgr` for any device.

pub mod store;
