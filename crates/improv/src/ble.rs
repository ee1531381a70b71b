//! The BLE framing: the GATT service's UUIDs, RPC commands and results followed by a checksum,
//! an assembler for commands that arrive in several writes, the capabilities byte and the
//! advertisement's service data.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::rpc::{Rpc, RpcError, RpcResult};
use crate::{State, checksum};

/// The Improv GATT service.
pub const SERVICE_UUID: &str = "00467768-6228-2272-4663-277478268000";
/// Current state (read, notify).
pub const CURRENT_STATE_UUID: &str = "00467768-6228-2272-4663-277478268001";
/// Error state (read, notify).
pub const ERROR_STATE_UUID: &str = "00467768-6228-2272-4663-277478268002";
/// RPC command (write).
pub const RPC_COMMAND_UUID: &str = "00467768-6228-2272-4663-277478268003";
/// RPC result (read, notify).
pub const RPC_RESULT_UUID: &str = "00467768-6228-2272-4663-277478268004";
/// Capabilities (read).
pub const CAPABILITIES_UUID: &str = "00467768-6228-2272-4663-277478268005";
/// The 16-bit UUID of the advertisement's service data, in its 128-bit form.
pub const SERVICE_DATA_UUID: &str = "00004677-0000-1000-8000-00805f9b34fb";
/// The 16-bit UUID of the advertisement's service data.
pub const SERVICE_DATA_UUID16: u16 = 0x4677;

/// Capability bit 0: the identify command.
pub const CAP_IDENTIFY: u8 = 0x01;
/// Capability bit 1: the device info command.
pub const CAP_DEVICE_INFO: u8 = 0x02;
/// Capability bit 2: the Wi-Fi scan command.
pub const CAP_WIFI_SCAN: u8 = 0x04;
/// Capability bit 3: the hostname command.
pub const CAP_HOSTNAME: u8 = 0x08;
/// Capability bit 4: the device name command.
pub const CAP_DEVICE_NAME: u8 = 0x10;

/// The longest command: command, length, 255 bytes, checksum.
pub const MAX_COMMAND: usize = 258;

/// `body` followed by its checksum.
fn with_checksum(mut body: Vec<u8>) -> Vec<u8> {
    body.push(checksum(&body));
    body
}

/// Checks and strips the trailing checksum.
fn strip_checksum(bytes: &[u8]) -> Result<&[u8], RpcError> {
    let (&found, body) = bytes
        .split_last()
        .ok_or(RpcError::Truncated("no checksum"))?;
    let expected = checksum(body);
    if found != expected {
        return Err(RpcError::Checksum { found, expected });
    }
    Ok(body)
}

/// An RPC command as written to the RPC command characteristic.
pub fn encode_command(rpc: &Rpc) -> Result<Zeroizing<Vec<u8>>, RpcError> {
    let body = rpc.encode()?;
    Ok(Zeroizing::new(with_checksum(body.to_vec())))
}

/// Reads a whole RPC command with its checksum.
pub fn decode_command(bytes: &[u8]) -> Result<Rpc, RpcError> {
    Rpc::decode(strip_checksum(bytes)?)
}

/// An RPC result as the RPC result characteristic holds it.
pub fn encode_result(result: &RpcResult) -> Result<Vec<u8>, RpcError> {
    Ok(with_checksum(result.encode()?))
}

/// Reads an RPC result with its checksum.
pub fn decode_result(bytes: &[u8]) -> Result<RpcResult, RpcError> {
    RpcResult::decode(strip_checksum(bytes)?)
}

/// Collects the writes of one RPC command until it is whole.
///
/// A command longer than the ATT payload arrives in several writes; its length byte tells
/// when it is complete. Never holds more than [`MAX_COMMAND`] bytes.
#[derive(Default)]
pub struct RpcAssembler {
    buf: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for RpcAssembler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RpcAssembler")
            .field("pending", &self.buf.len())
            .finish()
    }
}

impl RpcAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        RpcAssembler::default()
    }

    /// Whether part of a command is waiting for the rest.
    pub fn is_pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Forgets a partial command (the peer went away, or took too long).
    pub fn reset(&mut self) {
        self.buf.clear();
    }

    /// Adds one write. Returns `None` while the command is incomplete, then the command or
    /// why it is invalid; either way the assembler is empty again.
    pub fn push(&mut self, write: &[u8]) -> Option<Result<Rpc, RpcError>> {
        self.buf.extend_from_slice(write);
        let need = usize::from(*self.buf.get(1)?) + 3;
        if self.buf.len() < need {
            return None;
        }
        let result = if self.buf.len() > need {
            Err(RpcError::TrailingBytes(self.buf.len() - need))
        } else {
            decode_command(&self.buf)
        };
        self.reset();
        Some(result)
    }
}

/// The advertisement's service data for UUID 0x4677: state, capabilities, four reserved
/// zeros.
pub fn service_data(state: State, capabilities: u8) -> [u8; 6] {
    [state.byte(), capabilities, 0, 0, 0, 0]
}

/// Reads service data for UUID 0x4677: the state (if known) and the capabilities.
pub fn parse_service_data(data: &[u8]) -> Option<(Option<State>, u8)> {
    match data {
        [state, caps, ..] => Some((State::from_byte(*state), *caps)),
        _ => None,
    }
}
