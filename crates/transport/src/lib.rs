//! Transport adapters over one protocomm service.
//!
//! Every adapter (HTTP now; BLE and console later) does the same three things: map its notion
//! of a connection to a [`protocomm::SessionId`], hand `(session, endpoint, bytes)` to the
//! shared [`Service`], and send back the bytes that come out, or, on error, no response at all,
//! as ESP-IDF devices do. No adapter decrypts anything.

pub mod ble;
pub mod console;
pub mod http;
pub mod http_client;
pub mod mdns;
pub mod service;

pub use http::{BindError, HttpConfig, HttpServer, serve};
pub use mdns::{Advertisement, MdnsError, MdnsHandle, advertise};
pub use service::{AppHandler, Service, ServiceConfig};
