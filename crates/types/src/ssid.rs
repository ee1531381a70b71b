//! Network names.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::escape::Escaped;

/// Longest SSID, in bytes (IEEE 802.11).
pub const MAX_SSID_LEN: usize = 32;

/// Why bytes are not an [`Ssid`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SsidError {
    /// No bytes at all.
    #[error("the SSID is empty")]
    Empty,
    /// More than [`MAX_SSID_LEN`] bytes.
    #[error("the SSID is {len} bytes long; at most 32 are allowed")]
    TooLong {
        /// Its length.
        len: usize,
    },
}

/// A network name: 1 to 32 bytes. SSIDs are bytes, not text: they may hold any value,
/// including ones that are not UTF-8, and are kept exactly. `Display` and `Debug` escape what
/// could mislead a reader (see [`Escaped`]).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssid(Vec<u8>);

impl Ssid {
    /// Checks the length.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, SsidError> {
        let bytes = bytes.into();
        match bytes.len() {
            0 => Err(SsidError::Empty),
            len if len > MAX_SSID_LEN => Err(SsidError::TooLong { len }),
            _ => Ok(Ssid(bytes)),
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The name as text if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.0).ok()
    }

    /// The name as text, with bytes that are not UTF-8 replaced by U+FFFD. For display only:
    /// the result may name another network.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    /// The escaped form, for logs and messages.
    pub fn escaped(&self) -> Escaped<'_> {
        Escaped(&self.0)
    }
}

impl core::ops::Deref for Ssid {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Ssid> for Vec<u8> {
    fn from(ssid: Ssid) -> Vec<u8> {
        ssid.0
    }
}

impl PartialEq<Vec<u8>> for Ssid {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Ssid> for Vec<u8> {
    fn eq(&self, other: &Ssid) -> bool {
        *self == other.0
    }
}

impl PartialEq<Ssid> for [u8] {
    fn eq(&self, other: &Ssid) -> bool {
        *self == other.0[..]
    }
}

impl AsRef<[u8]> for Ssid {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl TryFrom<&str> for Ssid {
    type Error = SsidError;

    fn try_from(s: &str) -> Result<Self, SsidError> {
        Ssid::new(s.as_bytes())
    }
}

impl TryFrom<&[u8]> for Ssid {
    type Error = SsidError;

    fn try_from(s: &[u8]) -> Result<Self, SsidError> {
        Ssid::new(s)
    }
}

impl TryFrom<Vec<u8>> for Ssid {
    type Error = SsidError;

    fn try_from(s: Vec<u8>) -> Result<Self, SsidError> {
        Ssid::new(s)
    }
}

impl PartialEq<str> for Ssid {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Ssid {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Ssid {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.0 == other[..]
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Ssid {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.0 == other[..]
    }
}

impl PartialEq<&[u8]> for Ssid {
    fn eq(&self, other: &&[u8]) -> bool {
        self.0 == *other
    }
}

impl PartialEq<[u8]> for Ssid {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl fmt::Display for Ssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.escaped(), f)
    }
}

impl fmt::Debug for Ssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.escaped(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn length_rule() {
        assert_eq!(Ssid::new(Vec::new()), Err(SsidError::Empty));
        assert!(Ssid::new([b'a'; 32]).is_ok());
        assert_eq!(Ssid::new([b'a'; 33]), Err(SsidError::TooLong { len: 33 }));
    }

    #[test]
    fn kept_exactly_and_shown_escaped() {
        let s = Ssid::new(&b"Net\xff\n"[..]).unwrap();
        assert_eq!(s.as_bytes(), b"Net\xff\n");
        assert_eq!(s.as_str(), None);
        assert_eq!(s.to_string(), "Net\\xff\\x0a");
        assert_eq!(format!("{s:?}"), "\"Net\\xff\\x0a\"");
        assert_eq!(Ssid::try_from("Home").unwrap().as_str(), Some("Home"));
    }
}
