//! Improv Wi-Fi: the open protocol that ESP Web Tools (Web Serial), Home Assistant (BLE),
//! ESPHome, WLED and Tasmota use to hand Wi-Fi credentials to a device.
//!
//! This crate is the protocol only, with no I/O and no allocation beyond `alloc`:
//!
//! * [`rpc`]: RPC commands ([`Rpc`]) and results (lists of length-prefixed strings), shared by
//!   both framings;
//! * [`serial`]: the serial packet (`IMPROV`, version 1, type, length, data, checksum) and a
//!   stream decoder that finds packets among console output;
//! * [`ble`]: the GATT service's UUIDs, the checksummed RPC framing with an assembler for
//!   commands split over several writes, capabilities and the advertisement's service data;
//! * [`device`]: the device's state machine (authorization, provisioning, errors), which
//!   serial and BLE drivers share.
//!
//! Implemented from the Improv specification: serial protocol version 1 (with the device
//! name, hostname and network state commands) and BLE revision 2.4.
//!
//! ```
//! use improv::rpc::Rpc;
//! use improv::serial::{encode_packet, PacketType};
//!
//! let rpc = Rpc::WifiSettings { ssid: b"HomeNet".to_vec(), password: b"secret12".to_vec().into() };
//! let packet = encode_packet(PacketType::RpcCommand, &rpc.encode().unwrap()).unwrap();
//! assert!(packet.starts_with(b"IMPROV\x01\x03"));
//! ```
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod ble;
pub mod device;
pub mod rpc;
pub mod serial;

pub use rpc::{Rpc, RpcError};

/// The provisioning state a device reports (serial packet 0x01, BLE characteristic …8001).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for a physical authorization (BLE only).
    AuthorizationRequired = 0x01,
    /// Ready to accept credentials.
    Authorized = 0x02,
    /// Credentials received, joining.
    Provisioning = 0x03,
    /// Joined.
    Provisioned = 0x04,
}

impl State {
    /// The state a byte stands for, if any.
    pub fn from_byte(byte: u8) -> Option<State> {
        Some(match byte {
            0x01 => State::AuthorizationRequired,
            0x02 => State::Authorized,
            0x03 => State::Provisioning,
            0x04 => State::Provisioned,
            _ => return None,
        })
    }

    /// Its byte on the wire.
    pub fn byte(self) -> u8 {
        self as u8
    }

    /// A short lowercase name for messages.
    pub fn name(self) -> &'static str {
        match self {
            State::AuthorizationRequired => "authorization required",
            State::Authorized => "authorized",
            State::Provisioning => "provisioning",
            State::Provisioned => "provisioned",
        }
    }
}

/// The error a device reports (serial packet 0x02, BLE characteristic …8002).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// No error.
    None = 0x00,
    /// The RPC packet was malformed.
    InvalidRpc = 0x01,
    /// The command is unknown.
    UnknownCommand = 0x02,
    /// The credentials were received but joining failed.
    UnableToConnect = 0x03,
    /// Credentials (or a setting) were sent while the device is not authorized.
    NotAuthorized = 0x04,
    /// The hostname was not acceptable.
    BadHostname = 0x05,
    /// Any other error (and codes this crate does not know).
    Unknown = 0xFF,
}

impl ErrorCode {
    /// The error a byte stands for; codes not in the specification read as
    /// [`ErrorCode::Unknown`].
    pub fn from_byte(byte: u8) -> ErrorCode {
        match byte {
            0x00 => ErrorCode::None,
            0x01 => ErrorCode::InvalidRpc,
            0x02 => ErrorCode::UnknownCommand,
            0x03 => ErrorCode::UnableToConnect,
            0x04 => ErrorCode::NotAuthorized,
            0x05 => ErrorCode::BadHostname,
            _ => ErrorCode::Unknown,
        }
    }

    /// Its byte on the wire.
    pub fn byte(self) -> u8 {
        self as u8
    }

    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorCode::None => "no error",
            ErrorCode::InvalidRpc => "the device found the RPC packet malformed",
            ErrorCode::UnknownCommand => "the device does not know the command",
            ErrorCode::UnableToConnect => "the device could not join the network",
            ErrorCode::NotAuthorized => "the device is not authorized (press its button first)",
            ErrorCode::BadHostname => "the device refused the hostname",
            ErrorCode::Unknown => "the device reported an unknown error",
        }
    }
}

/// The low byte of the sum of `bytes`: the checksum of both framings.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b))
}
