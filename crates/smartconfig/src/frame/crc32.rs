//! The 802.11 FCS: CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial value and
//! final XOR 0xFFFFFFFF), sent least significant byte first.

const POLY: u32 = 0xEDB8_8320;

// `i < 256` bounds every index of the 256-entry table.
#[allow(clippy::indexing_slicing)]
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// Running state; start with [`START`], finish with `!state`.
pub(crate) const START: u32 = 0xFFFF_FFFF;

/// Feeds `bytes` into a running CRC state.
pub(crate) fn update(mut state: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        let idx = usize::from((state as u8) ^ b);
        state = (state >> 8) ^ TABLE.get(idx).copied().unwrap_or(0);
    }
    state
}

/// The FCS of an 802.11 frame (MAC header and body): append it as `fcs(frame).to_le_bytes()`.
pub fn fcs(frame: &[u8]) -> u32 {
    !update(START, frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(fcs(b"123456789"), 0xCBF4_3926);
        assert_eq!(fcs(b""), 0);
        let split = !update(update(START, b"1234"), b"56789");
        assert_eq!(split, 0xCBF4_3926);
    }
}
