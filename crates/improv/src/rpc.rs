//! RPC commands and results, as carried by both framings: `command, length, data`.
//!
//! A result is the command it answers, a length, and a list of strings, each prefixed by its
//! length in one byte. Strings are UTF-8 in the specification; SSIDs and passphrases are kept
//! as bytes because Wi-Fi allows any.

use alloc::vec::Vec;
use core::fmt;

use zeroize::Zeroizing;

/// Command 0x01: join a network.
pub const WIFI_SETTINGS: u8 = 0x01;
/// Command 0x02: on serial "request current state", on BLE "identify".
pub const CURRENT_STATE_OR_IDENTIFY: u8 = 0x02;
/// Command 0x03: device information.
pub const DEVICE_INFO: u8 = 0x03;
/// Command 0x04: the networks the device sees.
pub const WIFI_NETWORKS: u8 = 0x04;
/// Command 0x05: get or set the hostname.
pub const HOSTNAME: u8 = 0x05;
/// Command 0x06: get or set the device name.
pub const DEVICE_NAME: u8 = 0x06;
/// Command 0x07: network connectivity and interfaces.
pub const NETWORK_STATE: u8 = 0x07;

/// The most data one RPC or result carries (its length is one byte).
pub const MAX_DATA: usize = 255;

/// Why bytes are not a valid RPC command or result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// Fewer bytes than the header or the declared lengths need.
    #[error("truncated RPC: {0}")]
    Truncated(&'static str),
    /// Bytes after the declared data.
    #[error("{0} bytes after the RPC's declared data")]
    TrailingBytes(usize),
    /// The data does not fit the command's layout.
    #[error("malformed RPC data: {0}")]
    Malformed(&'static str),
    /// More than 255 bytes of data, or a string longer than 255 bytes.
    #[error("too long for Improv: {0}")]
    TooLong(&'static str),
    /// The checksum does not match (BLE framing).
    #[error("bad checksum: 0x{found:02x}, expected 0x{expected:02x}")]
    Checksum {
        /// The checksum that arrived.
        found: u8,
        /// The checksum of the bytes.
        expected: u8,
    },
}

/// An RPC command.
#[derive(Clone, PartialEq, Eq)]
pub enum Rpc {
    /// 0x01: join `ssid` with `password` (empty for an open network).
    WifiSettings {
        /// The network's name.
        ssid: Vec<u8>,
        /// The passphrase (zeroized on drop, never in `Debug`).
        password: Zeroizing<Vec<u8>>,
    },
    /// 0x02: on serial, send the current state (and the redirect URL once provisioned); on
    /// BLE, identify (blink, beep).
    CurrentStateOrIdentify,
    /// 0x03: firmware, version, hardware, device name (then OS name and version).
    DeviceInfo,
    /// 0x04: the networks the device sees.
    WifiNetworks,
    /// 0x05: get (`None`) or set the hostname.
    Hostname(Option<Vec<u8>>),
    /// 0x06: get (`None`) or set the device name.
    DeviceName(Option<Vec<u8>>),
    /// 0x07: connectivity flags and the device's URLs.
    NetworkState,
    /// A command this crate does not know, kept so that the device can answer "unknown
    /// command".
    Unknown {
        /// Its command byte.
        command: u8,
        /// Its data.
        data: Vec<u8>,
    },
}

impl fmt::Debug for Rpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rpc::WifiSettings { ssid, password } => f
                .debug_struct("WifiSettings")
                .field("ssid", &alloc::string::String::from_utf8_lossy(ssid))
                .field("password", &format_args!("<{} bytes>", password.len()))
                .finish(),
            Rpc::CurrentStateOrIdentify => f.write_str("CurrentStateOrIdentify"),
            Rpc::DeviceInfo => f.write_str("DeviceInfo"),
            Rpc::WifiNetworks => f.write_str("WifiNetworks"),
            Rpc::Hostname(v) => f.debug_tuple("Hostname").field(v).finish(),
            Rpc::DeviceName(v) => f.debug_tuple("DeviceName").field(v).finish(),
            Rpc::NetworkState => f.write_str("NetworkState"),
            Rpc::Unknown { command, data } => f
                .debug_struct("Unknown")
                .field("command", command)
                .field("len", &data.len())
                .finish(),
        }
    }
}

fn one_byte_len(len: usize, what: &'static str) -> Result<u8, RpcError> {
    u8::try_from(len).map_err(|_| RpcError::TooLong(what))
}

/// `[len] bytes`, appended to `out`.
fn push_string(out: &mut Vec<u8>, s: &[u8], what: &'static str) -> Result<(), RpcError> {
    out.push(one_byte_len(s.len(), what)?);
    out.extend_from_slice(s);
    Ok(())
}

/// Splits `command, length, data` (exactly, no trailing bytes) into command and data.
fn split_body(body: &[u8]) -> Result<(u8, &[u8]), RpcError> {
    let [command, len, rest @ ..] = body else {
        return Err(RpcError::Truncated("no command and length"));
    };
    let len = usize::from(*len);
    if rest.len() < len {
        return Err(RpcError::Truncated("data shorter than its length"));
    }
    if rest.len() > len {
        return Err(RpcError::TrailingBytes(rest.len() - len));
    }
    Ok((*command, rest))
}

/// Reads the length-prefixed strings that make up `data`.
pub fn decode_strings(mut data: &[u8]) -> Result<Vec<Vec<u8>>, RpcError> {
    let mut strings = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let len = usize::from(len);
        let (s, rest) = rest
            .split_at_checked(len)
            .ok_or(RpcError::Truncated("string shorter than its length"))?;
        strings.push(s.to_vec());
        data = rest;
    }
    Ok(strings)
}

impl Rpc {
    /// Its command byte.
    pub fn command(&self) -> u8 {
        match self {
            Rpc::WifiSettings { .. } => WIFI_SETTINGS,
            Rpc::CurrentStateOrIdentify => CURRENT_STATE_OR_IDENTIFY,
            Rpc::DeviceInfo => DEVICE_INFO,
            Rpc::WifiNetworks => WIFI_NETWORKS,
            Rpc::Hostname(_) => HOSTNAME,
            Rpc::DeviceName(_) => DEVICE_NAME,
            Rpc::NetworkState => NETWORK_STATE,
            Rpc::Unknown { command, .. } => *command,
        }
    }

    /// `command, length, data` (without the BLE checksum). The data of a Wi-Fi settings
    /// command holds the passphrase; callers zeroize what they keep.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, RpcError> {
        let mut data = Zeroizing::new(Vec::new());
        match self {
            Rpc::WifiSettings { ssid, password } => {
                push_string(&mut data, ssid, "SSID")?;
                push_string(&mut data, password, "passphrase")?;
            }
            Rpc::Hostname(Some(v)) | Rpc::DeviceName(Some(v)) => data.extend_from_slice(v),
            Rpc::Unknown { data: d, .. } => data.extend_from_slice(d),
            _ => {}
        }
        let mut out = Zeroizing::new(Vec::with_capacity(data.len() + 2));
        out.push(self.command());
        out.push(one_byte_len(data.len(), "RPC data")?);
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Reads `command, length, data` (exactly).
    pub fn decode(body: &[u8]) -> Result<Rpc, RpcError> {
        let (command, data) = split_body(body)?;
        let optional = |data: &[u8]| (!data.is_empty()).then(|| data.to_vec());
        Ok(match command {
            WIFI_SETTINGS => {
                let mut strings = decode_strings(data)?.into_iter();
                let (Some(ssid), Some(password), None) =
                    (strings.next(), strings.next(), strings.next())
                else {
                    return Err(RpcError::Malformed(
                        "Wi-Fi settings are not SSID and passphrase",
                    ));
                };
                Rpc::WifiSettings {
                    ssid,
                    password: Zeroizing::new(password),
                }
            }
            CURRENT_STATE_OR_IDENTIFY => Rpc::CurrentStateOrIdentify,
            DEVICE_INFO => Rpc::DeviceInfo,
            WIFI_NETWORKS => Rpc::WifiNetworks,
            HOSTNAME => Rpc::Hostname(optional(data)),
            DEVICE_NAME => Rpc::DeviceName(optional(data)),
            NETWORK_STATE => Rpc::NetworkState,
            command => Rpc::Unknown {
                command,
                data: data.to_vec(),
            },
        })
    }
}

/// An RPC result: the command it answers and its strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcResult {
    /// The command answered.
    pub command: u8,
    /// The strings, in order.
    pub strings: Vec<Vec<u8>>,
}

impl RpcResult {
    /// A result for `command` made of `strings`.
    pub fn new<S: AsRef<[u8]>>(command: u8, strings: impl IntoIterator<Item = S>) -> Self {
        RpcResult {
            command,
            strings: strings.into_iter().map(|s| s.as_ref().to_vec()).collect(),
        }
    }

    /// `command, length, (len, string)*` (without the BLE checksum).
    pub fn encode(&self) -> Result<Vec<u8>, RpcError> {
        let mut data = Vec::new();
        for s in &self.strings {
            push_string(&mut data, s, "result string")?;
        }
        let mut out = Vec::with_capacity(data.len() + 2);
        out.push(self.command);
        out.push(one_byte_len(data.len(), "result data")?);
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Reads `command, length, (len, string)*` (exactly).
    pub fn decode(body: &[u8]) -> Result<RpcResult, RpcError> {
        let (command, data) = split_body(body)?;
        Ok(RpcResult {
            command,
            strings: decode_strings(data)?,
        })
    }

    /// The string at `index` as text (lossy), if present.
    pub fn text(&self, index: usize) -> Option<alloc::string::String> {
        self.strings
            .get(index)
            .map(|s| alloc::string::String::from_utf8_lossy(s).into_owned())
    }
}
