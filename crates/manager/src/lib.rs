//! The Wi-Fi manager: keeps a device online from an ordered list of known networks and raises
//! its own access point by policy, as micropython-wifimanager does with `networks.json`.
//!
//! * [`networks`]: the `networks.json` file (schema 2): strict reading with errors that name
//!   the file and the JSON path, and atomic rewrites that keep unknown keys and entry order.
//! * [`control`]: the local control API (JSON lines on a 0600 Unix socket).
//! * [`policy`]: the connection policy as a sans-I/O state machine: which network to try next,
//!   when to start the access point, how to back off after a loss.

pub mod control;
pub mod daemon;
pub mod networks;
pub mod policy;
