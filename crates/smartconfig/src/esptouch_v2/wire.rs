//! On-air building blocks shared by the encoder and the decoder: length classes, the 6-byte
//! header, the segment layout it implies and the bit-plane transposition of groups.

use crate::crc8;

/// Sync datagram length (also sent alone every 100 ms by the app's "sync" screen).
pub const SYNC_LENGTH: u16 = 1048;
/// Count datagram length is `COUNT_BASE + N` (N = groups per cycle, header included).
pub const COUNT_BASE: u16 = 1071;
/// Sequence-marker datagram length is `MARKER_BASE + q` (q = body group number).
pub const MARKER_BASE: u16 = 128;
/// The most groups one cycle can have (header included): 1 + 29 ciphertext + 4 IV + 7 SSID.
pub const MAX_GROUPS: u8 = 41;
/// Longest SSID.
pub const MAX_SSID: usize = 32;
/// Longest password.
pub const MAX_PASSWORD: usize = 64;
/// Longest reserved (custom) data.
pub const MAX_RESERVED: usize = 64;
/// Bytes of the security-2 IV field on the air (the CBC IV is its first 16).
pub(crate) const IV_FIELD_LEN: usize = 20;

/// What one normalised length (observed − offset) means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// 1048.
    Sync,
    /// 1071 + N, N = 1..=41.
    Count(u8),
    /// 128 + q, q = 0..=39.
    Marker(u8),
    /// Plane `index` (0..=7) carrying the 6-bit `value`.
    Plane { index: u8, value: u8 },
    /// Nothing ESPTouch v2 sends.
    Other,
}

pub(crate) fn classify(length: u16) -> Class {
    match length {
        SYNC_LENGTH => Class::Sync,
        1072..=1112 => Class::Count((length - COUNT_BASE) as u8),
        128..=167 => Class::Marker((length - MARKER_BASE) as u8),
        64..=1023 if length & 64 != 0 => Class::Plane {
            index: (length >> 7) as u8,
            value: (length & 63) as u8,
        },
        _ => Class::Other,
    }
}

/// Length of the datagram carrying `value` (6 bits) in plane `index` (0..=7).
pub(crate) fn plane_length(index: u8, value: u8) -> u16 {
    (u16::from(index & 7) << 7) | 64 | u16::from(value & 63)
}

/// Bit-plane transposition: plane i holds bit i of B0..B5, B0 in the top bit.
pub(crate) fn to_planes(bytes: &[u8; 6]) -> [u8; 8] {
    let mut planes = [0u8; 8];
    for (i, plane) in planes.iter_mut().enumerate() {
        *plane = bytes
            .iter()
            .fold(0u8, |acc, &b| (acc << 1) | ((b >> i) & 1));
    }
    planes
}

/// Inverse of [`to_planes`] over the first `count` planes (8 for 8-bit groups, 7 for 7-bit).
pub(crate) fn from_planes(planes: &[u8; 8], count: usize) -> [u8; 6] {
    let mut bytes = [0u8; 6];
    for (i, &plane) in planes.iter().enumerate().take(count) {
        for (k, byte) in bytes.iter_mut().enumerate() {
            *byte |= ((plane >> (5 - k)) & 1) << i;
        }
    }
    bytes
}

/// An 8-bit group (or the header): 8 planes, the sixth byte is CRC-8 of the first five.
pub(crate) fn check_eight_bit(planes: &[u8; 8]) -> Option<[u8; 6]> {
    let bytes = from_planes(planes, 8);
    let (data, crc) = bytes.split_at(5);
    (crc == [crc8(data)]).then_some(bytes)
}

/// A 7-bit group: planes 0..=6 carry six bytes < 0x80, plane 7 the low 6 bits of their CRC-8.
pub(crate) fn check_seven_bit(planes: &[u8; 8]) -> Option<[u8; 6]> {
    let bytes = from_planes(planes, 7);
    (Some(&(crc8(&bytes) & 63)) == planes.get(7)).then_some(bytes)
}

/// Length and "has a byte ≥ 0x80" flag of one field, as the header carries them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldInfo {
    pub len: u8,
    pub high: bool,
}

impl FieldInfo {
    /// Describes `data` (at most 127 bytes; callers check the limits first).
    pub fn of(data: &[u8]) -> Self {
        FieldInfo {
            len: (data.len() & 0x7f) as u8,
            high: has_high_byte(data),
        }
    }

    fn byte(self) -> u8 {
        self.len | if self.high { 0x80 } else { 0 }
    }

    fn from_byte(byte: u8) -> Self {
        FieldInfo {
            len: byte & 0x7f,
            high: byte & 0x80 != 0,
        }
    }

    /// Whether `data` matches this description (length and flag).
    pub fn matches(self, data: &[u8]) -> bool {
        usize::from(self.len) == data.len() && self.high == has_high_byte(data)
    }
}

pub(crate) fn has_high_byte(data: &[u8]) -> bool {
    data.iter().any(|&b| b >= 0x80)
}

/// Security version of the header (flag bits 1–2).
pub(crate) const SECURITY_PLAIN: u8 = 0;
pub(crate) const SECURITY_AES_ZERO_IV: u8 = 1;
pub(crate) const SECURITY_AES_RANDOM_IV: u8 = 2;

/// The decoded 6-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub ssid: FieldInfo,
    pub password: FieldInfo,
    pub reserved: FieldInfo,
    pub bssid_crc: u8,
    pub ipv4: bool,
    pub security: u8,
    pub port_mark: u8,
}

impl Header {
    pub fn to_bytes(self) -> [u8; 6] {
        let flag = u8::from(self.ipv4) | ((self.security & 3) << 1) | ((self.port_mark & 3) << 3);
        let [s, p, r] = [self.ssid, self.password, self.reserved].map(FieldInfo::byte);
        [
            s,
            p,
            r,
            self.bssid_crc,
            flag,
            crc8(&[s, p, r, self.bssid_crc, flag]),
        ]
    }

    /// Parses and validates a header: CRC, version 0, reserved bit clear, security 0..=2,
    /// lengths within the limits, no "high byte" flag on an empty field, something to
    /// encrypt when encrypted.
    pub fn from_bytes(bytes: &[u8; 6]) -> Option<Self> {
        let [s, p, r, bssid_crc, flag, crc] = *bytes;
        if crc8(&[s, p, r, bssid_crc, flag]) != crc || flag & 0xe0 != 0 {
            return None;
        }
        let header = Header {
            ssid: FieldInfo::from_byte(s),
            password: FieldInfo::from_byte(p),
            reserved: FieldInfo::from_byte(r),
            bssid_crc,
            ipv4: flag & 1 != 0,
            security: (flag >> 1) & 3,
            port_mark: (flag >> 3) & 3,
        };
        let field_ok =
            |f: FieldInfo, max: usize| usize::from(f.len) <= max && !(f.high && f.len == 0);
        let ok = field_ok(header.ssid, MAX_SSID)
            && field_ok(header.password, MAX_PASSWORD)
            && field_ok(header.reserved, MAX_RESERVED)
            && header.security <= SECURITY_AES_RANDOM_IV
            && (header.security == SECURITY_PLAIN || header.password.len + header.reserved.len > 0);
        ok.then_some(header)
    }

    /// Total plaintext length of password and reserved data.
    pub fn secret_len(self) -> usize {
        usize::from(self.password.len) + usize::from(self.reserved.len)
    }

    /// The body segments this header implies, in transmission order.
    pub fn layout(self) -> Layout {
        let mut layout = Layout::default();
        if self.security != SECURITY_PLAIN {
            let cipher_len = 16 * (self.secret_len() / 16 + 1);
            layout.push(SegmentKind::Ciphertext, cipher_len, true);
            if self.security == SECURITY_AES_RANDOM_IV {
                layout.push(SegmentKind::Iv, IV_FIELD_LEN, true);
            }
        } else if !self.password.high && !self.reserved.high {
            layout.push(SegmentKind::Credentials, self.secret_len(), false);
        } else {
            layout.push(
                SegmentKind::Password,
                self.password.len.into(),
                self.password.high,
            );
            layout.push(
                SegmentKind::Reserved,
                self.reserved.len.into(),
                self.reserved.high,
            );
        }
        layout.push(SegmentKind::Ssid, self.ssid.len.into(), self.ssid.high);
        layout
    }
}

/// What a body segment carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SegmentKind {
    /// AES-128-CBC of PKCS#7(password ‖ reserved).
    Ciphertext,
    /// The 20-byte IV field of security 2.
    Iv,
    /// Plain password ‖ reserved, both 7-bit clean.
    Credentials,
    /// Plain password (some byte of password or reserved is ≥ 0x80).
    Password,
    /// Plain reserved data (ditto).
    Reserved,
    /// The SSID.
    Ssid,
}

/// One body segment: `len` data bytes carried in groups of 5 (8-bit) or 6 (7-bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub kind: SegmentKind,
    pub len: usize,
    pub eight_bit: bool,
}

impl Segment {
    pub fn width(self) -> usize {
        if self.eight_bit { 5 } else { 6 }
    }

    pub fn groups(self) -> usize {
        self.len.div_ceil(self.width())
    }
}

/// The body segments of one message (at most four).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    segments: [Option<Segment>; 4],
}

impl Layout {
    fn push(&mut self, kind: SegmentKind, len: usize, eight_bit: bool) {
        if let Some(slot) = self.segments.iter_mut().find(|s| s.is_none()) {
            *slot = Some(Segment {
                kind,
                len,
                eight_bit,
            });
        }
    }

    pub fn segments(&self) -> impl Iterator<Item = Segment> + '_ {
        self.segments.iter().flatten().copied()
    }

    /// Number of body groups (N − 1).
    pub fn body_groups(&self) -> usize {
        self.segments().map(Segment::groups).sum()
    }

    /// Whether body group `q` is an 8-bit group (`None` past the end).
    pub fn eight_bit(&self, q: usize) -> Option<bool> {
        let mut first = 0;
        for segment in self.segments() {
            let end = first + segment.groups();
            if q < end {
                return Some(segment.eight_bit);
            }
            first = end;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_round_trip() {
        let bytes = [0x06, 0x08, 0x00, 0x12, 0x01, 0xa3];
        let planes = to_planes(&bytes);
        let lengths: alloc::vec::Vec<u16> = planes
            .iter()
            .enumerate()
            .map(|(i, &d)| plane_length(i as u8, d))
            .collect();
        assert_eq!(lengths, [67, 229, 352, 464, 580, 705, 832, 961]);
        assert_eq!(from_planes(&planes, 8), bytes);
        assert_eq!(check_eight_bit(&planes), Some(bytes));
        let header = Header::from_bytes(&bytes).unwrap();
        assert_eq!(header.to_bytes(), bytes);
        assert_eq!(header.layout().body_groups(), 3);
    }

    #[test]
    fn classes() {
        assert_eq!(classify(1048), Class::Sync);
        assert_eq!(classify(1075), Class::Count(4));
        assert_eq!(classify(1071), Class::Other);
        assert_eq!(classify(1113), Class::Other);
        assert_eq!(classify(130), Class::Marker(2));
        assert_eq!(classify(168), Class::Other);
        assert_eq!(
            classify(1004),
            Class::Plane {
                index: 7,
                value: 44
            }
        );
        assert_eq!(classify(63), Class::Other);
        assert_eq!(classify(256), Class::Other);
        for i in 0..8 {
            for d in 0..64 {
                assert_eq!(
                    classify(plane_length(i, d)),
                    Class::Plane { index: i, value: d }
                );
            }
        }
    }

    #[test]
    fn header_rejects_bad_fields() {
        let mut good = Header::from_bytes(&[0x06, 0x08, 0x00, 0x12, 0x01, 0xa3]).unwrap();
        good.security = SECURITY_AES_ZERO_IV;
        assert!(Header::from_bytes(&good.to_bytes()).is_some());
        let mut bytes = good.to_bytes();
        bytes[4] |= 0x20;
        bytes[5] = crc8(&bytes[..5]);
        assert!(Header::from_bytes(&bytes).is_none());
        let mut bad = good;
        bad.security = 3;
        assert!(Header::from_bytes(&bad.to_bytes()).is_none());
        let mut bad = good;
        bad.password = FieldInfo { len: 0, high: true };
        assert!(Header::from_bytes(&bad.to_bytes()).is_none());
        let mut bad = good;
        bad.password.len = 0;
        bad.reserved.len = 0;
        assert!(Header::from_bytes(&bad.to_bytes()).is_none());
        let mut bad = good;
        bad.ssid.len = 33;
        assert!(Header::from_bytes(&bad.to_bytes()).is_none());
    }
}
