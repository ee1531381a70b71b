//! Radiotap headers (<https://www.radiotap.org>): version 0, little-endian, a chain of 32-bit
//! presence bitmaps (bit 31 = another bitmap follows, bit 29 = the next bitmap restarts the
//! radiotap namespace, bit 30 = the next bitmap is a vendor namespace), then the fields in bit
//! order, each aligned to its natural size relative to the start of the header.

use super::FrameError;

/// Flags field: the frame ends with the 4-byte FCS.
pub const FLAG_FCS_AT_END: u8 = 0x10;
/// Flags field: padding between the 802.11 header and the body (to a 4-byte boundary).
pub const FLAG_DATA_PAD: u8 = 0x20;
/// Flags field: the FCS check failed.
pub const FLAG_BAD_FCS: u8 = 0x40;
/// Flags field: the frame was sent/received with fragmentation.
pub const FLAG_FRAGMENTED: u8 = 0x08;

const EXT: u32 = 1 << 31;
const NS_RADIOTAP: u32 = 1 << 29;
const NS_VENDOR: u32 = 1 << 30;

/// The radiotap fields this crate reads. Values come from the first radiotap namespace only
/// (later namespaces repeat per-antenna values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Radiotap {
    /// Total header length (`it_len`): the 802.11 frame starts here.
    pub header_len: usize,
    /// TSFT (bit 0): TSF timer in microseconds.
    pub tsft: Option<u64>,
    /// Flags (bit 1); see the `FLAG_*` constants.
    pub flags: Option<u8>,
    /// Rate (bit 2), in 500 kbit/s units.
    pub rate: Option<u8>,
    /// Channel frequency in MHz (bit 3, or the XChannel field, bit 18).
    pub channel_mhz: Option<u16>,
    /// Channel flags (bit 3).
    pub channel_flags: Option<u16>,
    /// Antenna signal in dBm (bit 5).
    pub signal_dbm: Option<i8>,
    /// Antenna noise in dBm (bit 6).
    pub noise_dbm: Option<i8>,
    /// Antenna index (bit 11).
    pub antenna: Option<u8>,
}

impl Radiotap {
    /// The frame ends with its FCS.
    pub fn fcs_at_end(&self) -> bool {
        self.flag(FLAG_FCS_AT_END)
    }

    /// The receiver flagged the FCS as bad.
    pub fn bad_fcs(&self) -> bool {
        self.flag(FLAG_BAD_FCS)
    }

    /// The 802.11 header is followed by padding to a 4-byte boundary.
    pub fn data_pad(&self) -> bool {
        self.flag(FLAG_DATA_PAD)
    }

    /// The channel number of [`Radiotap::channel_mhz`].
    pub fn channel(&self) -> Option<u8> {
        self.channel_mhz.and_then(channel_from_frequency)
    }

    fn flag(&self, bit: u8) -> bool {
        self.flags.is_some_and(|f| f & bit != 0)
    }

    fn record(&mut self, index: u32, field: &[u8]) {
        match (index, field) {
            (0, &[a, b, c, d, e, f, g, h]) => {
                self.tsft = Some(u64::from_le_bytes([a, b, c, d, e, f, g, h]));
            }
            (1, &[f]) => self.flags = Some(f),
            (2, &[r]) => self.rate = Some(r),
            (3, &[a, b, c, d]) => {
                self.channel_mhz = Some(u16::from_le_bytes([a, b]));
                self.channel_flags = Some(u16::from_le_bytes([c, d]));
            }
            (5, &[s]) => self.signal_dbm = Some(i8::from_le_bytes([s])),
            (6, &[n]) => self.noise_dbm = Some(i8::from_le_bytes([n])),
            (11, &[a]) => self.antenna = Some(a),
            (18, &[_, _, _, _, lo, hi, _, _]) if self.channel_mhz.is_none() => {
                self.channel_mhz = Some(u16::from_le_bytes([lo, hi]));
            }
            _ => {}
        }
    }
}

/// (alignment, size) of a radiotap-namespace field, `None` when unknown or variable (TLVs):
/// the walk must stop there because later offsets cannot be computed.
fn layout(index: u32) -> Option<(usize, usize)> {
    Some(match index {
        0 => (8, 8),        // TSFT
        1 | 2 => (1, 1),    // Flags, Rate
        3 => (2, 4),        // Channel: frequency, flags
        4 => (1, 2),        // FHSS
        5 | 6 => (1, 1),    // antenna signal / noise, dBm
        7..=9 => (2, 2),    // lock quality, TX attenuation, dB TX attenuation
        10..=13 => (1, 1),  // dBm TX power, antenna, dB antenna signal / noise
        14 | 15 => (2, 2),  // RX flags, TX flags
        16 | 17 => (1, 1),  // RTS retries, data retries
        18 => (4, 8),       // XChannel
        19 => (1, 3),       // MCS
        20 => (4, 8),       // A-MPDU status
        21 => (2, 12),      // VHT
        22 => (8, 12),      // timestamp
        23 | 24 => (2, 12), // HE, HE-MU
        25 => (2, 6),       // HE-MU-other-user
        26 => (1, 1),       // 0-length PSDU
        27 => (2, 4),       // L-SIG
        _ => return None,
    })
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    match bytes.get(at..at.checked_add(2)?)? {
        &[a, b] => Some(u16::from_le_bytes([a, b])),
        _ => None,
    }
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at.checked_add(4)?)? {
        &[a, b, c, d] => Some(u32::from_le_bytes([a, b, c, d])),
        _ => None,
    }
}

fn align_up(pos: usize, align: usize) -> usize {
    pos.div_ceil(align).saturating_mul(align)
}

/// Parses the radiotap header at the start of `bytes`.
///
/// Fields after the first unknown one (or a TLV list) are not read; everything before it is.
pub fn parse_radiotap(bytes: &[u8]) -> Result<Radiotap, FrameError> {
    let version = *bytes
        .first()
        .ok_or(FrameError::Truncated("radiotap header"))?;
    if version != 0 {
        return Err(FrameError::RadiotapVersion(version));
    }
    let len = usize::from(le_u16(bytes, 2).ok_or(FrameError::Truncated("radiotap header"))?);
    if len < 8 {
        return Err(FrameError::Radiotap("length below 8"));
    }
    let hdr = bytes
        .get(..len)
        .ok_or(FrameError::Truncated("radiotap header"))?;

    // The presence bitmaps: the fields start after the last one.
    let mut data_start = 4;
    loop {
        let word = le_u32(hdr, data_start).ok_or(FrameError::Radiotap(
            "presence bitmaps run past the header length",
        ))?;
        data_start += 4;
        if word & EXT == 0 {
            break;
        }
    }

    let mut rt = Radiotap {
        header_len: len,
        ..Radiotap::default()
    };
    let mut pos = data_start;
    let mut word_at = 4;
    let mut in_vendor = false;
    let mut first_namespace = true;
    let mut base = 0u32;
    'words: while word_at < data_start {
        let word = le_u32(hdr, word_at).ok_or(FrameError::Truncated("radiotap bitmap"))?;
        word_at += 4;
        if !in_vendor {
            for bit in 0..29 {
                if word & (1 << bit) == 0 {
                    continue;
                }
                let Some((align, size)) = layout(base + bit) else {
                    break 'words;
                };
                pos = align_up(pos, align);
                let end = pos.saturating_add(size);
                let field = hdr
                    .get(pos..end)
                    .ok_or(FrameError::Truncated("radiotap field"))?;
                if first_namespace {
                    rt.record(base + bit, field);
                }
                pos = end;
            }
        }
        if word & EXT == 0 {
            break;
        }
        match (word & NS_RADIOTAP != 0, word & NS_VENDOR != 0) {
            (true, true) => return Err(FrameError::Radiotap("two namespaces announced at once")),
            (true, false) => {
                in_vendor = false;
                first_namespace = false;
                base = 0;
            }
            (false, true) => {
                // Vendor namespace: OUI (3), sub-namespace (1), skip length (2), data.
                in_vendor = true;
                first_namespace = false;
                base = 0;
                pos = align_up(pos, 2);
                let skip = le_u16(hdr, pos + 4)
                    .ok_or(FrameError::Truncated("radiotap vendor namespace"))?;
                pos = pos.saturating_add(6 + usize::from(skip));
                if pos > len {
                    return Err(FrameError::Truncated("radiotap vendor namespace"));
                }
            }
            (false, false) => base = base.saturating_add(32),
        }
    }
    Ok(rt)
}

/// The channel number of a centre frequency in MHz: 2.4 GHz (2412..=2472 → 1..=13, 2484 →
/// 14), 4.9 GHz (4910..=4980 → 182..=196), 5 GHz (5005..=5895 → 1..=179) and 6 GHz (5935 → 2,
/// 5955..=7115 → 1..=233). Band is not part of the answer (5 and 6 GHz numbers overlap).
pub fn channel_from_frequency(mhz: u16) -> Option<u8> {
    let n = match mhz {
        2484 => 14,
        2412..=2472 if mhz % 5 == 2 => (mhz - 2407) / 5,
        4910..=4980 if mhz.is_multiple_of(5) => (mhz - 4000) / 5,
        5005..=5895 if mhz.is_multiple_of(5) => (mhz - 5000) / 5,
        5935 => 2,
        5955..=7115 if mhz.is_multiple_of(5) => (mhz - 5950) / 5,
        _ => return None,
    };
    u8::try_from(n).ok()
}

/// The centre frequency of a 2.4 GHz (1..=14) or 5 GHz (32..=177) channel number.
pub fn frequency_from_channel(channel: u8) -> Option<u16> {
    let c = u16::from(channel);
    match channel {
        1..=13 => Some(2407 + 5 * c),
        14 => Some(2484),
        32..=177 => Some(5000 + 5 * c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels() {
        assert_eq!(channel_from_frequency(2412), Some(1));
        assert_eq!(channel_from_frequency(2437), Some(6));
        assert_eq!(channel_from_frequency(2472), Some(13));
        assert_eq!(channel_from_frequency(2484), Some(14));
        assert_eq!(channel_from_frequency(2413), None);
        assert_eq!(channel_from_frequency(5180), Some(36));
        assert_eq!(channel_from_frequency(5825), Some(165));
        assert_eq!(channel_from_frequency(5955), Some(1));
        assert_eq!(channel_from_frequency(7115), Some(233));
        assert_eq!(channel_from_frequency(0), None);
        for ch in (1..=14).chain(36..=165) {
            if let Some(f) = frequency_from_channel(ch) {
                assert_eq!(channel_from_frequency(f), Some(ch), "channel {ch}");
            }
        }
        assert_eq!(frequency_from_channel(0), None);
        assert_eq!(frequency_from_channel(15), None);
    }

    #[test]
    fn minimal_header() {
        let rt = parse_radiotap(&[0, 0, 8, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(rt.header_len, 8);
        assert_eq!(rt.flags, None);
        assert!(!rt.fcs_at_end());
    }
}
