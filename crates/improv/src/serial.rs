//! The serial framing: `"IMPROV"`, version `1`, type, length, data, checksum (the low byte of
//! the sum of every byte before it).
//!
//! A serial port often carries a console too, so [`SerialDecoder`] looks for the header in
//! whatever arrives, skips the text around packets and never holds more than one packet's
//! worth of bytes.

use alloc::vec::Vec;

use crate::checksum;

/// The header every packet starts with.
pub const HEADER: &[u8; 6] = b"IMPROV";
/// The protocol version this crate speaks.
pub const VERSION: u8 = 1;
/// Header, version, type and length.
const PREFIX: usize = 9;
/// The longest packet: prefix, 255 bytes of data, checksum.
pub const MAX_PACKET: usize = PREFIX + 255 + 1;

/// A packet's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0x01, device to client: the current state (one byte).
    CurrentState = 0x01,
    /// 0x02, device to client: the error state (one byte).
    ErrorState = 0x02,
    /// 0x03, client to device: an RPC command.
    RpcCommand = 0x03,
    /// 0x04, device to client: an RPC result.
    RpcResult = 0x04,
}

impl PacketType {
    /// The type a byte stands for.
    pub fn from_byte(byte: u8) -> Option<PacketType> {
        Some(match byte {
            0x01 => PacketType::CurrentState,
            0x02 => PacketType::ErrorState,
            0x03 => PacketType::RpcCommand,
            0x04 => PacketType::RpcResult,
            _ => return None,
        })
    }
}

/// A decoded packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Its type.
    pub kind: PacketType,
    /// Its data (for an RPC command, `command, length, data`).
    pub data: Vec<u8>,
}

/// Why bytes that started like a packet are not one. The decoder has skipped them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A version other than 1.
    #[error("Improv serial version {0} (this side speaks 1)")]
    Version(u8),
    /// A type other than 1–4.
    #[error("unknown Improv packet type 0x{0:02x}")]
    UnknownType(u8),
    /// The checksum does not match.
    #[error("bad Improv checksum: 0x{found:02x}, expected 0x{expected:02x}")]
    Checksum {
        /// The checksum that arrived.
        found: u8,
        /// The checksum of the bytes.
        expected: u8,
    },
}

/// A whole packet with `data`; `None` if `data` is longer than 255 bytes.
pub fn encode_packet(kind: PacketType, data: &[u8]) -> Option<Vec<u8>> {
    let len = u8::try_from(data.len()).ok()?;
    let mut out = Vec::with_capacity(PREFIX + data.len() + 1);
    out.extend_from_slice(HEADER);
    out.extend_from_slice(&[VERSION, kind as u8, len]);
    out.extend_from_slice(data);
    out.push(checksum(&out));
    Some(out)
}

/// Finds packets in a byte stream.
#[derive(Debug, Default)]
pub struct SerialDecoder {
    buf: Vec<u8>,
    skipped: u64,
}

impl SerialDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        SerialDecoder::default()
    }

    /// Feeds the next bytes from the port. Call [`SerialDecoder::next_packet`] until it
    /// returns `None` before feeding more: the decoder keeps at most one packet's worth of
    /// bytes between calls, so large feeds should come in pieces of at most
    /// [`MAX_PACKET`] bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// How many bytes outside packets (console text, noise) have been skipped so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn drop_front(&mut self, n: usize, noise: bool) {
        let n = n.min(self.buf.len());
        if noise {
            self.skipped += n as u64;
        }
        self.buf.drain(..n);
    }

    /// The next packet or framing error in what has been fed, or `None` when more bytes are
    /// needed.
    pub fn next_packet(&mut self) -> Option<Result<Packet, FrameError>> {
        match find_header(&self.buf) {
            Some(at) => self.drop_front(at, true),
            None => {
                // Keep a tail that may be the start of a header.
                let keep = partial_header_len(&self.buf);
                let drop = self.buf.len() - keep;
                self.drop_front(drop, true);
                return None;
            }
        }
        let (&version, &kind, &len) = match self.buf.get(6..PREFIX) {
            Some([v, k, l]) => (v, k, l),
            _ => return None,
        };
        if version != VERSION {
            self.drop_front(HEADER.len(), false);
            return Some(Err(FrameError::Version(version)));
        }
        let Some(kind) = PacketType::from_byte(kind) else {
            self.drop_front(HEADER.len(), false);
            return Some(Err(FrameError::UnknownType(kind)));
        };
        let end = PREFIX + usize::from(len);
        let (Some(body), Some(&found)) = (self.buf.get(..end), self.buf.get(end)) else {
            return None;
        };
        let expected = checksum(body);
        if found != expected {
            // Resynchronise after this header: a packet may start inside the bad one.
            self.drop_front(HEADER.len(), false);
            return Some(Err(FrameError::Checksum { found, expected }));
        }
        let data = body.get(PREFIX..).unwrap_or_default().to_vec();
        self.drop_front(end + 1, false);
        Some(Ok(Packet { kind, data }))
    }
}

fn find_header(buf: &[u8]) -> Option<usize> {
    buf.windows(HEADER.len()).position(|w| w == HEADER)
}

/// The length of the longest suffix of `buf` that is a proper prefix of the header.
fn partial_header_len(buf: &[u8]) -> usize {
    (1..HEADER.len())
        .rev()
        .find(|&n| buf.len() >= n && buf.get(buf.len() - n..) == HEADER.get(..n))
        .unwrap_or(0)
}
