//! The sender side: from credentials to one cycle of datagram lengths and its timing.

use alloc::vec::Vec;
use core::fmt;

use zeroize::Zeroize;

use super::crypto::{self, AesKey};
use super::wire::{
    self, COUNT_BASE, FieldInfo, Header, IV_FIELD_LEN, MARKER_BASE, MAX_PASSWORD, MAX_RESERVED,
    MAX_SSID, SYNC_LENGTH, SegmentKind,
};
use crate::{EncodeError, Secret, Transmit, crc8};

/// Pause between datagrams during the first 45 s (microseconds).
pub const INTERVAL_US: u32 = 15_000;
/// Pause between datagrams after 45 s (microseconds).
pub const SLOW_INTERVAL_US: u32 = 100_000;
/// Elapsed sending time after which the reference sender slows down (microseconds).
pub const SLOW_AFTER_US: u64 = 45_000_000;
/// Elapsed sending time after which the reference sender stops (microseconds).
pub const SEND_DURATION_US: u64 = 90_000_000;
/// Delay between binding the reply socket and the first datagram (microseconds).
pub const START_DELAY_US: u32 = 300_000;
/// How long the reference sender keeps its reply socket open (microseconds).
pub const REPLY_TIMEOUT_US: u64 = 92_000_000;
/// Period of the optional stand-alone sync datagrams sent before provisioning (microseconds).
pub const SYNC_INTERVAL_US: u32 = 100_000;

/// How the password and reserved data are protected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Security {
    /// Sent in the clear (security version 0).
    #[default]
    Plain,
    /// AES-128-CBC with an all-zero IV (security version 1; every v2-capable ESP-IDF).
    AesZeroIv(AesKey),
    /// AES-128-CBC with a random IV sent along in a 20-byte field (security version 2;
    /// SmartConfig V3.0.2 and later).
    AesRandomIv(AesKey),
}

/// What to send.
///
/// `Debug` shows neither the password nor the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Params {
    /// Raw SSID octets (at most 32).
    pub ssid: Vec<u8>,
    /// Whether the SSID goes on the air; when `false` SSID length 0 is sent and the receiver
    /// must find the SSID from its scan by the BSSID CRC (the app does this for visible APs).
    pub send_ssid: bool,
    /// Password bytes (at most 64).
    pub password: Secret,
    /// Reserved (custom) data (at most 64 bytes).
    pub reserved: Vec<u8>,
    /// The access point's BSSID (only its CRC-8 is sent).
    pub bssid: [u8; 6],
    /// Encryption of password and reserved data. When both are empty the sender falls back to
    /// [`Security::Plain`], as the reference does.
    pub security: Security,
    /// The phone's address family is IPv6 (the device then answers over IPv6).
    pub ipv6: bool,
    /// Index 0..=3 of the reply port the sender bound ([`super::APP_PORTS`]).
    pub port_mark: u8,
}

impl Params {
    /// SSID sent, no reserved data, no encryption, IPv4, port mark 0.
    pub fn new(ssid: impl Into<Vec<u8>>, password: impl Into<Vec<u8>>, bssid: [u8; 6]) -> Self {
        Params {
            ssid: ssid.into(),
            send_ssid: true,
            password: Secret::new(password),
            reserved: Vec::new(),
            bssid,
            security: Security::Plain,
            ipv6: false,
            port_mark: 0,
        }
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Params")
            .field("ssid", &self.ssid)
            .field("send_ssid", &self.send_ssid)
            .field("password", &self.password)
            .field("reserved_len", &self.reserved.len())
            .field("bssid", &self.bssid)
            .field("security", &self.security)
            .field("ipv6", &self.ipv6)
            .field("port_mark", &self.port_mark)
            .finish()
    }
}

/// One cycle of datagram lengths (exactly the reference app's packet list).
///
/// `Debug` shows only sizes: the lengths spell out the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded {
    lengths: Vec<u16>,
    groups: u8,
}

impl Encoded {
    /// UDP payload lengths of one cycle: `1048, C, 1048, C`, 8 header planes, then per body
    /// group three markers and 8 planes (`12 + 11·(N−1)` datagrams).
    pub fn lengths(&self) -> &[u16] {
        &self.lengths
    }

    /// N: groups per cycle, header included (1..=41; the count datagram is `1071 + N`).
    pub fn group_count(&self) -> u8 {
        self.groups
    }

    /// One cycle paced like the reference sender during its first 45 s: 15 ms after every
    /// datagram and another 15 ms after the last one of the cycle.
    pub fn schedule(&self) -> Vec<Transmit> {
        self.schedule_with_interval(INTERVAL_US)
    }

    /// One cycle paced like the reference sender after 45 s: 100 ms after every datagram,
    /// another 100 ms after the last one. See [`interval_at`] for when to switch.
    pub fn slow_schedule(&self) -> Vec<Transmit> {
        self.schedule_with_interval(SLOW_INTERVAL_US)
    }

    /// One cycle with `interval_us` after every datagram and twice that after the last.
    pub fn schedule_with_interval(&self, interval_us: u32) -> Vec<Transmit> {
        let last = self.lengths.len().saturating_sub(1);
        self.lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| Transmit {
                length,
                gap_us: if i == last {
                    interval_us.saturating_mul(2)
                } else {
                    interval_us
                },
            })
            .collect()
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded")
            .field("groups", &self.groups)
            .field("datagrams", &self.lengths.len())
            .finish_non_exhaustive()
    }
}

/// The reference sender's pacing decision, taken after each complete cycle: `elapsed_us` is
/// the time since the first datagram. `Some(INTERVAL_US)` up to 45 s, then
/// `Some(SLOW_INTERVAL_US)`, `None` (stop) after 90 s. The next cycle uses
/// [`Encoded::schedule`] or [`Encoded::slow_schedule`] accordingly.
pub fn interval_at(elapsed_us: u64) -> Option<u32> {
    if elapsed_us > SEND_DURATION_US {
        None
    } else if elapsed_us > SLOW_AFTER_US {
        Some(SLOW_INTERVAL_US)
    } else {
        Some(INTERVAL_US)
    }
}

/// The stand-alone sync datagram the app sends every 100 ms before provisioning starts.
pub fn sync_transmit() -> Transmit {
    Transmit {
        length: SYNC_LENGTH,
        gap_us: SYNC_INTERVAL_US,
    }
}

/// Encodes `params` into one cycle.
///
/// `random` supplies the random material, in this order: the 20-byte IV field (security 2
/// only, one call), then one call per padding byte in segment order (the low 7 bits are used;
/// 127 is redrawn, so padding is uniform over 0..=126 as the reference draws it).
pub fn encode(params: &Params, random: &mut dyn FnMut(&mut [u8])) -> Result<Encoded, EncodeError> {
    let ssid: &[u8] = if params.send_ssid { &params.ssid } else { &[] };
    let password = params.password.expose();
    check_len("ssid", ssid.len(), MAX_SSID)?;
    check_len("password", password.len(), MAX_PASSWORD)?;
    check_len("reserved data", params.reserved.len(), MAX_RESERVED)?;
    if params.port_mark > 3 {
        return Err(EncodeError::Invalid("port mark must be 0..=3"));
    }
    let has_secret = !password.is_empty() || !params.reserved.is_empty();
    let key = match &params.security {
        Security::Plain => None,
        Security::AesZeroIv(key) => has_secret.then_some((key, wire::SECURITY_AES_ZERO_IV)),
        Security::AesRandomIv(key) => has_secret.then_some((key, wire::SECURITY_AES_RANDOM_IV)),
    };
    let header = Header {
        ssid: FieldInfo::of(ssid),
        password: FieldInfo::of(password),
        reserved: FieldInfo::of(&params.reserved),
        bssid_crc: crc8(&params.bssid),
        ipv4: !params.ipv6,
        security: key.map_or(wire::SECURITY_PLAIN, |(_, s)| s),
        port_mark: params.port_mark,
    };

    let mut iv_field = [0u8; IV_FIELD_LEN];
    let mut iv = [0u8; 16];
    if header.security == wire::SECURITY_AES_RANDOM_IV {
        random(&mut iv_field);
        iv.iter_mut()
            .zip(iv_field.iter())
            .for_each(|(d, s)| *d = *s);
    }
    let mut secret = Vec::with_capacity(password.len() + params.reserved.len());
    secret.extend_from_slice(password);
    secret.extend_from_slice(&params.reserved);
    let mut ciphertext = match key {
        Some((key, _)) => crypto::encrypt(key, &iv, &secret),
        None => Vec::new(),
    };

    let layout = header.layout();
    let groups = 1 + layout.body_groups();
    let count = COUNT_BASE + groups as u16;
    let mut lengths = Vec::with_capacity(12 + 11 * (groups - 1));
    lengths.extend_from_slice(&[SYNC_LENGTH, count, SYNC_LENGTH, count]);
    push_planes(&mut lengths, &header.to_bytes(), true);

    let mut seq: u16 = 0;
    let mut chunk = [0u8; 6];
    for segment in layout.segments() {
        let data: &[u8] = match segment.kind {
            SegmentKind::Ciphertext => &ciphertext,
            SegmentKind::Iv => &iv_field,
            SegmentKind::Credentials => &secret,
            SegmentKind::Password => password,
            SegmentKind::Reserved => &params.reserved,
            SegmentKind::Ssid => ssid,
        };
        let width = segment.width();
        for part in data.chunks(width) {
            chunk = [0; 6];
            for (dst, src) in chunk.iter_mut().zip(part) {
                *dst = *src;
            }
            for pad in chunk.iter_mut().take(width).skip(part.len()) {
                *pad = padding_byte(random);
            }
            let marker = MARKER_BASE + seq;
            lengths.extend_from_slice(&[marker, marker, marker]);
            push_planes(&mut lengths, &chunk, segment.eight_bit);
            seq += 1;
        }
    }
    chunk.zeroize();
    secret.zeroize();
    ciphertext.zeroize();
    iv_field.zeroize();
    iv.zeroize();
    Ok(Encoded {
        lengths,
        groups: groups as u8,
    })
}

fn check_len(field: &'static str, len: usize, max: usize) -> Result<(), EncodeError> {
    if len > max {
        Err(EncodeError::TooLong { field, len, max })
    } else {
        Ok(())
    }
}

/// Appends the 8 plane datagrams of one group. 8-bit groups (and the header) carry 5 data bytes
/// and their CRC-8 as the sixth byte (the header already ends with its CRC); 7-bit groups carry
/// 6 bytes in planes 0..=6 and the low 6 bits of their CRC-8 in plane 7.
fn push_planes(lengths: &mut Vec<u16>, chunk: &[u8; 6], eight_bit: bool) {
    let mut bytes = *chunk;
    let crc = if eight_bit {
        let crc = crc8(bytes.get(..5).unwrap_or_default());
        if let Some(last) = bytes.last_mut() {
            *last = crc;
        }
        None
    } else {
        Some(crc8(&bytes) & 63)
    };
    let planes = wire::to_planes(&bytes);
    for (i, &plane) in planes.iter().enumerate() {
        let value = match crc {
            Some(crc) if i == 7 => crc,
            _ => plane,
        };
        lengths.push(wire::plane_length(i as u8, value));
    }
    bytes.zeroize();
}

fn padding_byte(random: &mut dyn FnMut(&mut [u8])) -> u8 {
    let mut byte = [0u8; 1];
    for _ in 0..16 {
        random(&mut byte);
        let value = byte[0] & 0x7f;
        if value != 0x7f {
            return value;
        }
    }
    0
}
