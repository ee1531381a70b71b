//! The vocabulary shared by the three protocols, the receiver and the sender.

use alloc::vec::Vec;
use core::net::IpAddr;

/// The largest per-link length offset (observed frame length − UDP payload length) a decoder
/// accepts. Real links give 54..136 (IPv4) and up to 156 (IPv6); a UDP socket source gives 0.
pub const MAX_OFFSET: u16 = 160;

/// What a receiver listens for: ESP-IDF's `smartconfig_type_t`, numbered as there and as
/// MicroPython's `smartconfig.TYPE_*` constants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ScType {
    /// ESPTouch v1 (`TYPE_ESPTOUCH = 0`).
    EspTouch,
    /// AirKiss (`TYPE_AIRKISS = 1`).
    AirKiss,
    /// ESPTouch v1 and AirKiss at once (`TYPE_ESPTOUCH_AIRKISS = 2`, the default).
    #[default]
    EspTouchAirKiss,
    /// ESPTouch v2 (`TYPE_ESPTOUCH_V2 = 3`).
    EspTouchV2,
}

impl ScType {
    /// The ESP-IDF / MicroPython number.
    pub fn number(self) -> u8 {
        match self {
            ScType::EspTouch => 0,
            ScType::AirKiss => 1,
            ScType::EspTouchAirKiss => 2,
            ScType::EspTouchV2 => 3,
        }
    }

    /// From a number; out-of-range values become [`ScType::EspTouchAirKiss`], as MicroPython does.
    pub fn from_number(n: i64) -> Self {
        match n {
            0 => ScType::EspTouch,
            1 => ScType::AirKiss,
            3 => ScType::EspTouchV2,
            _ => ScType::EspTouchAirKiss,
        }
    }

    /// The command-line name (`esptouch`, `airkiss`, `esptouch-airkiss`, `esptouch-v2`).
    pub fn name(self) -> &'static str {
        match self {
            ScType::EspTouch => "esptouch",
            ScType::AirKiss => "airkiss",
            ScType::EspTouchAirKiss => "esptouch-airkiss",
            ScType::EspTouchV2 => "esptouch-v2",
        }
    }

    /// From a command-line name (also accepts the MicroPython constant names and numbers).
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.trim().to_ascii_lowercase().replace('_', "-");
        Some(match lower.trim_start_matches("type-") {
            "esptouch" | "esptouch-v1" | "0" => ScType::EspTouch,
            "airkiss" | "1" => ScType::AirKiss,
            "esptouch-airkiss" | "2" => ScType::EspTouchAirKiss,
            "esptouch-v2" | "3" => ScType::EspTouchV2,
            _ => return None,
        })
    }

    /// Whether a receiver of this type listens for `protocol`.
    pub fn accepts(self, protocol: Protocol) -> bool {
        matches!(
            (self, protocol),
            (ScType::EspTouch, Protocol::EspTouch)
                | (ScType::AirKiss, Protocol::AirKiss)
                | (
                    ScType::EspTouchAirKiss,
                    Protocol::EspTouch | Protocol::AirKiss
                )
                | (ScType::EspTouchV2, Protocol::EspTouchV2)
        )
    }
}

/// The protocol a message actually arrived with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// ESPTouch v1.
    EspTouch,
    /// AirKiss.
    AirKiss,
    /// ESPTouch v2.
    EspTouchV2,
}

impl Protocol {
    /// The [`ScType`] that names only this protocol (what `type()` reports after a result).
    pub fn sc_type(self) -> ScType {
        match self {
            Protocol::EspTouch => ScType::EspTouch,
            Protocol::AirKiss => ScType::AirKiss,
            Protocol::EspTouchV2 => ScType::EspTouchV2,
        }
    }

    /// A short name.
    pub fn name(self) -> &'static str {
        self.sc_type().name()
    }
}

/// Which way a frame went relative to the distribution system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Station → access point (ToDS=1, FromDS=0): the phone's own transmission.
    ToDs,
    /// Access point → group (ToDS=0, FromDS=1): the relayed broadcast.
    FromDs,
    /// No 802.11 header: a UDP payload length seen directly (loopback, tests).
    Direct,
}

/// One observed frame, reduced to what the decoders use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Capture time in microseconds (any epoch, monotonic per source).
    pub time_us: u64,
    /// The original sender (the phone's MAC: SA).
    pub source: [u8; 6],
    /// The final destination (DA; a group address for SmartConfig traffic).
    pub destination: [u8; 6],
    /// The access point's BSSID (all zeros when unknown, e.g. for [`Direction::Direct`]).
    pub bssid: [u8; 6],
    /// Direction.
    pub direction: Direction,
    /// Observed length (frame length for sniffed frames, payload length for UDP).
    pub length: u16,
    /// 802.11 sequence number (12 bits), if known; used to drop retries.
    pub seq: Option<u16>,
    /// Channel the frame was captured on, if known.
    pub channel: Option<u8>,
}

impl Observation {
    /// A direct (UDP payload) observation from `source` at `time_us`.
    pub fn direct(time_us: u64, source: [u8; 6], length: u16) -> Self {
        Observation {
            time_us,
            source,
            destination: [0xff; 6],
            bssid: [0; 6],
            direction: Direction::Direct,
            length,
            seq: None,
            channel: None,
        }
    }
}

/// Secret bytes (a password): the workspace's one secret type, zeroized on drop, compared in
/// constant time, redacted in `Debug`. `wifiprov-types` is `no_std` and free of cryptography, so
/// the codecs stay light.
pub use wifiprov_types::Secret;

/// A complete, validated message, as a decoder delivers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The protocol it arrived with.
    pub protocol: Protocol,
    /// SSID bytes; `None` when the sender left the SSID out (recover it from a scan with
    /// [`Decoded::ssid_crc`] / [`Decoded::bssid`] / [`Decoded::bssid_crc`]).
    pub ssid: Option<Vec<u8>>,
    /// CRC-8 of the SSID, when the protocol carries one.
    pub ssid_crc: Option<u8>,
    /// The password (for AirKiss with AES and no key: the ciphertext, see the module docs).
    pub password: Secret,
    /// The access point's BSSID, when carried in full (ESPTouch v1).
    pub bssid: Option<[u8; 6]>,
    /// CRC-8 of the BSSID, when only that is carried (ESPTouch v2).
    pub bssid_crc: Option<u8>,
    /// ESP-IDF's `token`: v1 the datum's first byte (the ACK's first byte), AirKiss the random
    /// token, v2 the port mark 0..=3.
    pub token: u8,
    /// The phone's address, when carried (ESPTouch v1: IPv4).
    pub phone_ip: Option<IpAddr>,
    /// ESPTouch v2: the phone announced IPv6 (the ACK goes out over IPv6).
    pub ipv6: bool,
    /// ESPTouch v2 reserved (custom) data; empty otherwise.
    pub reserved: Vec<u8>,
    /// The length offset the decoder learned (observed − UDP payload length).
    pub offset: u16,
}

/// A streaming decoder for one link (one (direction, BSSID, source) key).
///
/// It is fed the raw observed lengths of that link in arrival order, learns the offset from the
/// protocol's guide pattern (any offset in `0..=MAX_OFFSET`), tolerates loss, duplicates and
/// interleaved unrelated lengths, and returns the message once every part is received and
/// validated. After returning a message it starts over.
pub trait LengthDecoder {
    /// The protocol this decoder reads.
    fn protocol(&self) -> Protocol;

    /// Feeds one observed length; returns the message when it is complete.
    fn push(&mut self, length: u16) -> Option<Decoded>;

    /// The learned offset, once the guide pattern was seen.
    fn offset(&self) -> Option<u16>;

    /// Forgets everything (offset included).
    fn reset(&mut self);
}

/// One datagram of a sender's schedule: its UDP payload length and the pause before the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// UDP payload length.
    pub length: u16,
    /// Pause after sending it, in microseconds.
    pub gap_us: u32,
}

/// Why an encoder refused its input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A field is longer than the protocol can carry.
    #[error("{field} is {len} bytes; at most {max} fit")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Something else is wrong with the input (missing SSID, bad key length, …).
    #[error("{0}")]
    Invalid(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_numbers_and_names() {
        for t in [
            ScType::EspTouch,
            ScType::AirKiss,
            ScType::EspTouchAirKiss,
            ScType::EspTouchV2,
        ] {
            assert_eq!(ScType::from_number(t.number().into()), t);
            assert_eq!(ScType::from_name(t.name()), Some(t));
        }
        assert_eq!(ScType::from_number(7), ScType::EspTouchAirKiss);
        assert_eq!(ScType::from_number(-1), ScType::EspTouchAirKiss);
        assert_eq!(
            ScType::from_name("TYPE_ESPTOUCH_V2"),
            Some(ScType::EspTouchV2)
        );
        assert_eq!(ScType::from_name("smoke"), None);
        assert!(ScType::EspTouchAirKiss.accepts(Protocol::AirKiss));
        assert!(!ScType::EspTouchAirKiss.accepts(Protocol::EspTouchV2));
    }

    #[test]
    fn secret_is_redacted() {
        let s = Secret::new(b"hunter22".to_vec());
        assert!(!alloc::format!("{s:?}").contains("hunter"));
    }
}
