//! Access point MAC addresses.

use core::fmt;
use core::str::FromStr;

/// A 6-byte MAC address (an access point's BSSID), shown as `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bssid(pub [u8; 6]);

/// Text that is not `aa:bb:cc:dd:ee:ff` (or with `-`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a BSSID: expected six hex bytes like aa:bb:cc:dd:ee:ff")]
pub struct BssidParseError;

impl fmt::Display for Bssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for Bssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Bssid {
    type Err = BssidParseError;

    /// Six hex bytes separated by `:` or `-`, each one or two digits.
    fn from_str(s: &str) -> Result<Self, BssidParseError> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or(BssidParseError)?;
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(BssidParseError);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| BssidParseError)?;
        }
        if parts.next().is_some() {
            return Err(BssidParseError);
        }
        Ok(Bssid(out))
    }
}

impl TryFrom<&[u8]> for Bssid {
    type Error = BssidParseError;

    /// Exactly six bytes.
    fn try_from(bytes: &[u8]) -> Result<Self, BssidParseError> {
        <[u8; 6]>::try_from(bytes)
            .map(Bssid)
            .map_err(|_| BssidParseError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn text() {
        let b: Bssid = "78:8a:20:84:19:96".parse().unwrap();
        assert_eq!(b.0, [0x78, 0x8a, 0x20, 0x84, 0x19, 0x96]);
        assert_eq!(b.to_string(), "78:8a:20:84:19:96");
        assert_eq!("78-8A-20-84-19-96".parse::<Bssid>(), Ok(b));
        for bad in [
            "78:8a:20:84:19",
            "78:8a:20:84:19:96:00",
            "zz:8a:20:84:19:96",
            "788:a:20:84:19:96",
            "78::20:84:19:96",
            "+7:8a:20:84:19:96",
        ] {
            assert!(bad.parse::<Bssid>().is_err(), "{bad}");
        }
        assert_eq!(
            Bssid::try_from(&[1u8, 2, 3, 4, 5, 6][..]),
            Ok(Bssid([1, 2, 3, 4, 5, 6]))
        );
        assert!(Bssid::try_from(&[1u8, 2, 3][..]).is_err());
    }
}
