//! 128-bit Bluetooth UUIDs and the derivation of characteristic UUIDs from the service UUID.
//!
//! A [`Uuid128`] keeps its bytes in the order of the canonical text form
//! (`1775244d-6b43-…`, most significant first). Bluetooth stacks and ESP-IDF's configuration
//! store the same UUID as a little-endian array (least significant first), which
//! [`Uuid128::to_le_bytes`] and [`Uuid128::from_le_bytes`] convert to and from.

use std::fmt;
use std::str::FromStr;

/// A 128-bit UUID.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid128([u8; 16]);

/// The service UUID of ESP-IDF's Wi-Fi provisioning BLE scheme when the application sets none:
/// `1775244d-6b43-439b-877c-060f2d9bed07`.
pub const DEFAULT_SERVICE_UUID: Uuid128 = Uuid128([
    0x17, 0x75, 0x24, 0x4d, 0x6b, 0x43, 0x43, 0x9b, 0x87, 0x7c, 0x06, 0x0f, 0x2d, 0x9b, 0xed, 0x07,
]);

/// The service UUID set by ESP-IDF's provisioning example, used by many deployed devices:
/// `021a9004-0382-4aea-bff4-6b3f1c5adfb4`.
pub const EXAMPLE_SERVICE_UUID: Uuid128 = Uuid128([
    0x02, 0x1a, 0x90, 0x04, 0x03, 0x82, 0x4a, 0xea, 0xbf, 0xf4, 0x6b, 0x3f, 0x1c, 0x5a, 0xdf, 0xb4,
]);

/// The Bluetooth base UUID `00000000-0000-1000-8000-00805f9b34fb`; a 16-bit UUID `xxxx`
/// stands for `0000xxxx-0000-1000-8000-00805f9b34fb`.
pub const BLUETOOTH_BASE_UUID: Uuid128 = Uuid128([
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0x80, 0x5f, 0x9b, 0x34, 0xfb,
]);

/// Text that is not a canonical UUID (`8-4-4-4-12` hexadecimal digits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx): {0:?}")]
pub struct UuidParseError(pub String);

impl Uuid128 {
    /// The UUID whose canonical (big-endian, text-order) bytes are `bytes`.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Uuid128(bytes)
    }

    /// The canonical (big-endian, text-order) bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The UUID stored as a little-endian array (the order of ESP-IDF's `service_uuid`
    /// configuration and of ATT PDUs).
    pub fn from_le_bytes(mut le: [u8; 16]) -> Self {
        le.reverse();
        Uuid128(le)
    }

    /// The little-endian array (least significant byte first).
    pub fn to_le_bytes(&self) -> [u8; 16] {
        let mut le = self.0;
        le.reverse();
        le
    }

    /// The 128-bit form of the 16-bit Bluetooth UUID `id` (`0000<id>-0000-1000-8000-00805f9b34fb`).
    pub fn from_u16(id: u16) -> Self {
        with_id16(BLUETOOTH_BASE_UUID, id)
    }

    /// The 16-bit value held in little-endian bytes 12–13 (text bytes 2–3, the `YYYY` of
    /// `xxxxYYYY-…`): the endpoint id of a characteristic UUID derived by
    /// [`characteristic_uuid`].
    pub fn id16(&self) -> u16 {
        let [_, _, hi, lo, ..] = self.0;
        u16::from_be_bytes([hi, lo])
    }

    /// The 16-bit UUID, if this is one expanded over the Bluetooth base UUID.
    pub fn as_u16(&self) -> Option<u16> {
        let id = self.id16();
        (Uuid128::from_u16(id) == *self).then_some(id)
    }

    /// Parses the canonical text form (either case).
    pub fn parse(text: &str) -> Result<Self, UuidParseError> {
        let err = || UuidParseError(text.to_string());
        if text.len() != 36 {
            return Err(err());
        }
        let mut bytes = [0u8; 16];
        let mut digits = 0usize;
        for (pos, c) in text.char_indices() {
            if matches!(pos, 8 | 13 | 18 | 23) {
                if c != '-' {
                    return Err(err());
                }
                continue;
            }
            let nibble = c.to_digit(16).ok_or_else(err)?;
            let byte = bytes.get_mut(digits / 2).ok_or_else(err)?;
            // `to_digit(16)` is below 16, so the narrowing is lossless.
            *byte = (*byte << 4) | (nibble as u8);
            digits += 1;
        }
        if digits != 32 {
            return Err(err());
        }
        Ok(Uuid128(bytes))
    }
}

fn with_id16(base: Uuid128, id: u16) -> Uuid128 {
    let [a, b, _, _, rest @ ..] = base.0;
    let [hi, lo] = id.to_be_bytes();
    let mut out = [0u8; 16];
    let (head, tail) = out.split_at_mut(4);
    head.copy_from_slice(&[a, b, hi, lo]);
    tail.copy_from_slice(&rest);
    Uuid128(out)
}

/// The UUID of the characteristic of the endpoint with 16-bit id `id16`, as ESP-IDF derives it:
/// bytes 12 and 13 of the service UUID's little-endian array are overwritten with `id16`
/// (little-endian), so `021a9004-0382-…` with `0xff51` gives `021aff51-0382-…`.
pub fn characteristic_uuid(service: Uuid128, id16: u16) -> Uuid128 {
    with_id16(service, id16)
}

impl fmt::Display for Uuid128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid128({self})")
    }
}

impl FromStr for Uuid128 {
    type Err = UuidParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid128::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        let text = "1775244d-6b43-439b-877c-060f2d9bed07";
        let u = Uuid128::parse(text).unwrap();
        assert_eq!(u, DEFAULT_SERVICE_UUID);
        assert_eq!(u.to_string(), text);
        assert_eq!(
            Uuid128::parse("021A9004-0382-4AEA-BFF4-6B3F1C5ADFB4").unwrap(),
            EXAMPLE_SERVICE_UUID
        );
        for bad in [
            "",
            "1775244d6b43439b877c060f2d9bed07",
            "1775244d-6b43-439b-877c-060f2d9bed0",
            "1775244d-6b43-439b-877c-060f2d9bed0g",
            "1775244d+6b43-439b-877c-060f2d9bed07",
            "1775244d-6b43-439b-877c-060f2d9bed0é",
        ] {
            assert!(Uuid128::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn little_endian_arrays_match_the_spec() {
        assert_eq!(
            DEFAULT_SERVICE_UUID.to_le_bytes(),
            [
                0x07, 0xed, 0x9b, 0x2d, 0x0f, 0x06, 0x7c, 0x87, 0x9b, 0x43, 0x43, 0x6b, 0x4d, 0x24,
                0x75, 0x17
            ]
        );
        assert_eq!(
            EXAMPLE_SERVICE_UUID.to_le_bytes(),
            [
                0xb4, 0xdf, 0x5a, 0x1c, 0x3f, 0x6b, 0xf4, 0xbf, 0xea, 0x4a, 0x82, 0x03, 0x04, 0x90,
                0x1a, 0x02
            ]
        );
        assert_eq!(
            Uuid128::from_le_bytes(EXAMPLE_SERVICE_UUID.to_le_bytes()),
            EXAMPLE_SERVICE_UUID
        );
    }

    #[test]
    fn characteristic_uuids_match_the_spec_table() {
        let table = [
            (0xff4f, "1775ff4f", "021aff4f"),
            (0xff50, "1775ff50", "021aff50"),
            (0xff51, "1775ff51", "021aff51"),
            (0xff52, "1775ff52", "021aff52"),
            (0xff53, "1775ff53", "021aff53"),
            (0xff54, "1775ff54", "021aff54"),
        ];
        for (id, default, example) in table {
            let d = characteristic_uuid(DEFAULT_SERVICE_UUID, id);
            let e = characteristic_uuid(EXAMPLE_SERVICE_UUID, id);
            assert_eq!(
                d.to_string(),
                format!("{default}-6b43-439b-877c-060f2d9bed07")
            );
            assert_eq!(
                e.to_string(),
                format!("{example}-0382-4aea-bff4-6b3f1c5adfb4")
            );
            assert_eq!(d.id16(), id);
            // Bytes 12–13 of the little-endian array hold the id, little-endian.
            let le = e.to_le_bytes();
            assert_eq!([le[12], le[13]], id.to_le_bytes());
            assert_eq!(le[..12], EXAMPLE_SERVICE_UUID.to_le_bytes()[..12]);
            assert_eq!(le[14..], EXAMPLE_SERVICE_UUID.to_le_bytes()[14..]);
        }
        assert_eq!(
            characteristic_uuid(EXAMPLE_SERVICE_UUID, 0xff51),
            Uuid128::parse("021aff51-0382-4aea-bff4-6b3f1c5adfb4").unwrap()
        );
    }

    #[test]
    fn sixteen_bit_uuids() {
        let u = Uuid128::from_u16(0xff52);
        assert_eq!(u.to_string(), "0000ff52-0000-1000-8000-00805f9b34fb");
        assert_eq!(u.as_u16(), Some(0xff52));
        assert_eq!(Uuid128::from_u16(0x2901).as_u16(), Some(0x2901));
        assert_eq!(EXAMPLE_SERVICE_UUID.as_u16(), None);
        // The legacy ids are what the derivation gives over the base UUID.
        assert_eq!(characteristic_uuid(BLUETOOTH_BASE_UUID, 0xff52), u);
    }
}
