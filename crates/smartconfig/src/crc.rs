//! CRC-8/MAXIM (Dallas 1-Wire), the checksum all three protocols use.

/// CRC-8/MAXIM: polynomial x^8+x^5+x^4+1 processed LSB first (reflected constant 0x8C),
/// initial value 0, no final XOR.
pub fn crc8(bytes: &[u8]) -> u8 {
    crc8_update(0, bytes)
}

/// Continues a CRC-8/MAXIM computation from `crc` over `bytes`.
pub fn crc8_update(mut crc: u8, bytes: &[u8]) -> u8 {
    for &byte in bytes {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8C
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(crc8(b"123456789"), 0xA1);
        assert_eq!(crc8(b""), 0);
        assert_eq!(crc8_update(crc8(b"1234"), b"56789"), 0xA1);
    }
}
