//! Test support shared by the integration tests of the wifiprov workspace.
//!
//! Only ever a dev-dependency. It gathers the setup that privileged and daemon-backed tests
//! need, so that each test file states what it checks rather than how it gets a namespace:
//!
//! - [`needs`]: prerequisite checks ("needs root", "needs `ip netns`") that FAIL with a clear
//!   message, or print `SKIPPED` and let the test return when `WIFIPROV_ALLOW_SKIP=1`;
//! - [`cmd`]: running helper programs and stopping daemons by pid;
//! - [`netns`]: network namespaces and veth pairs, deleted on drop even when a test fails;
//! - [`dbus`]: a private `dbus-daemon`, killed on drop;
//! - [`bluez`] (feature `bluez`): a double of `org.bluez` recording what an application
//!   registers;
//! - [`wpa`]: a real `wpa_supplicant` (`-D wired` / `-D none`) on a veth in its own namespace;
//! - [`child`]: running the current test again as a child process (inside a namespace, as
//!   another user, without a capability) with an environment variable telling it its part.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "bluez")]
pub mod bluez;
pub mod child;
pub mod cmd;
pub mod dbus;
pub mod needs;
pub mod netns;
pub mod wpa;
