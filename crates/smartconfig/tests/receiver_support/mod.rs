//! A small stand-in decoder and frame builders for the receiver tests.
//!
//! The toy protocol: a guide of four ascending lengths `base..base+3` (plus the link offset K)
//! teaches the offset; then each message byte `b` is the length `0x100 + b + K`, `0x200 + K`
//! ends the message and `0x201 + K` signals conflicting data (the decoder forgets everything).
//! Message bytes: `[flags, ssid_crc, bssid_crc, ssid.., 0, password..]`, flags bit 0 = the SSID
//! CRC is carried, bit 1 = the BSSID CRC is carried. An empty SSID means "left out".
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use smartconfig::{Decoded, Direction, LengthDecoder, MAX_OFFSET, Observation, Protocol, Secret};

#[derive(Debug, Clone)]
pub struct Toy {
    protocol: Protocol,
    base: u16,
    last: [u16; 4],
    offset: Option<u16>,
    bytes: Vec<u8>,
    pushes: Arc<AtomicU64>,
}

impl Toy {
    pub fn new(protocol: Protocol, pushes: Arc<AtomicU64>) -> Self {
        Toy {
            protocol,
            base: base(protocol),
            last: [0; 4],
            offset: None,
            bytes: Vec::new(),
            pushes,
        }
    }
}

/// Guide base per protocol (like the real ones: v1 512, AirKiss 1, v2 1048).
pub fn base(protocol: Protocol) -> u16 {
    match protocol {
        Protocol::EspTouch => 512,
        Protocol::AirKiss => 1,
        Protocol::EspTouchV2 => 1048,
    }
}

impl LengthDecoder for Toy {
    fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn push(&mut self, length: u16) -> Option<Decoded> {
        self.pushes.fetch_add(1, Ordering::Relaxed);
        self.last = [self.last[1], self.last[2], self.last[3], length];
        let [a, b, c, d] = self.last;
        if a >= self.base
            && a - self.base <= MAX_OFFSET
            && b == a + 1
            && c == a + 2
            && d == a + 3
            && self.offset.is_none()
        {
            self.offset = Some(a - self.base);
            self.bytes.clear();
            return None;
        }
        let k = self.offset?;
        let v = length.checked_sub(k)?;
        match v {
            0x100..=0x1ff => self.bytes.push((v - 0x100) as u8),
            0x200 => {
                let bytes = std::mem::take(&mut self.bytes);
                self.offset = None;
                return parse(self.protocol, &bytes, k);
            }
            0x201 => self.reset(),
            _ => {}
        }
        None
    }

    fn offset(&self) -> Option<u16> {
        self.offset
    }

    fn reset(&mut self) {
        self.last = [0; 4];
        self.offset = None;
        self.bytes.clear();
    }
}

fn parse(protocol: Protocol, bytes: &[u8], offset: u16) -> Option<Decoded> {
    let (&[flags, ssid_crc, bssid_crc], rest) = bytes.split_first_chunk::<3>()?;
    let split = rest.iter().position(|&b| b == 0)?;
    let (ssid, password) = (&rest[..split], &rest[split + 1..]);
    Some(Decoded {
        protocol,
        ssid: (!ssid.is_empty()).then(|| ssid.to_vec()),
        ssid_crc: (flags & 1 != 0).then_some(ssid_crc),
        password: Secret::new(password.to_vec()),
        bssid: None,
        bssid_crc: (flags & 2 != 0).then_some(bssid_crc),
        token: 7,
        phone_ip: None,
        ipv6: false,
        reserved: Vec::new(),
        offset,
    })
}

/// The message bytes of the toy protocol.
pub fn message(
    ssid: &[u8],
    ssid_crc: Option<u8>,
    bssid_crc: Option<u8>,
    password: &[u8],
) -> Vec<u8> {
    let flags = u8::from(ssid_crc.is_some()) | (u8::from(bssid_crc.is_some()) << 1);
    let mut m = vec![flags, ssid_crc.unwrap_or(0), bssid_crc.unwrap_or(0)];
    m.extend_from_slice(ssid);
    m.push(0);
    m.extend_from_slice(password);
    m
}

/// Raw lengths of one transmission (guide, message, end) with offset `k`.
pub fn stream(protocol: Protocol, k: u16, message: &[u8]) -> Vec<u16> {
    let b = base(protocol);
    let mut lengths: Vec<u16> = (0..4).map(|i| b + i + k).collect();
    lengths.extend(message.iter().map(|&byte| 0x100 + u16::from(byte) + k));
    lengths.push(0x200 + k);
    lengths
}

/// A factory for [`smartconfig::receiver::Receiver::with_decoders`] counting pushes.
pub fn factory(
    pushes: &Arc<AtomicU64>,
) -> impl FnMut(Protocol) -> Box<dyn LengthDecoder + Send> + use<> {
    let pushes = pushes.clone();
    move |p| Box::new(Toy::new(p, pushes.clone()))
}

pub const AP: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01];
pub const PHONE: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// A sniffed frame of `direction` from `source` via `bssid` to the broadcast address.
pub fn frame(
    time_us: u64,
    direction: Direction,
    bssid: [u8; 6],
    source: [u8; 6],
    length: u16,
    seq: Option<u16>,
) -> Observation {
    Observation {
        time_us,
        source,
        destination: BROADCAST,
        bssid,
        direction,
        length,
        seq,
        channel: Some(6),
    }
}

/// `n`-th station MAC (unicast, locally administered).
pub fn station(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0x77, b[0], b[1], b[2], b[3]]
}
