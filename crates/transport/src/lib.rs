//! Transport adapters over one protocomm service.
//!
//! Every adapter (HTTP, console, BLE) does the same three things: announce each of its
//! connections to the shared [`Service`] ([`Service::connect`]), hand each request to that
//! [`Connection`] with the session its peer claims, if it can claim one (an HTTP cookie), and
//! send back the bytes that come out, or, on error, no response at all, as ESP-IDF devices do.
//! The protocomm device mints the session ids and decides what happens to sessions; no
//! adapter keeps a session table or decrypts anything.

pub mod ble;
pub mod console;
pub mod http;
pub mod http_client;
pub mod mdns;
pub mod service;

pub use http::{BindError, HttpConfig, HttpServer, serve};
pub use mdns::{Advertisement, MdnsError, MdnsHandle, advertise};
pub use service::{AppHandler, Connection, Response, Service, ServiceConfig};
