//! Network passphrases.

use alloc::vec::Vec;
use core::fmt;

use crate::secret::Secret;

/// Longest passphrase, in bytes: 64, and only as 64 hex digits (a raw WPA key); any other text
/// is at most 63 bytes (a WPA passphrase). ESP-IDF's `SetConfig` refuses 64 bytes on the wire,
/// which is a limit of that protocol, applied where it is decoded, not of the passphrase.
pub const MAX_PASSPHRASE_LEN: usize = 64;

/// Why bytes are not a [`Passphrase`]. Never contains the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PassphraseError {
    /// More than 64 bytes, or 64 that are not all hex digits.
    #[error(
        "the passphrase is {len} bytes long; at most 63 are allowed (or 64 hex digits for a raw key)"
    )]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A NUL byte (the device's C strings would cut it there).
    #[error("the passphrase contains a NUL byte")]
    Nul,
}

/// A network passphrase: empty for an open network, otherwise at most 63 bytes without NUL,
/// or 64 hex digits (a raw WPA key).
/// A [`Secret`]: wiped on drop, compared in constant time, redacted in `Debug`.
///
/// Whether a network accepts it (WPA needs 8 to 63 characters) is for the network to say;
/// [`Passphrase::is_wpa_length`] tells in advance.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Passphrase(Secret);

impl Passphrase {
    /// Checks the rule.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, PassphraseError> {
        let secret = Secret::new(bytes);
        let raw_key =
            secret.len() == MAX_PASSPHRASE_LEN && secret.expose().iter().all(u8::is_ascii_hexdigit);
        if secret.len() >= MAX_PASSPHRASE_LEN && !raw_key {
            return Err(PassphraseError::TooLong { len: secret.len() });
        }
        if secret.expose().contains(&0) {
            return Err(PassphraseError::Nul);
        }
        Ok(Passphrase(secret))
    }

    /// No passphrase (an open network).
    pub fn open() -> Self {
        Passphrase(Secret::default())
    }

    /// The bytes. Handle with care: do not log them.
    pub fn expose(&self) -> &[u8] {
        self.0.expose()
    }

    /// The passphrase as a [`Secret`].
    pub fn secret(&self) -> &Secret {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an open network.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether WPA would accept it: 8 to 63 bytes, or a raw key of 64 hex digits.
    pub fn is_wpa_length(&self) -> bool {
        (8..=MAX_PASSPHRASE_LEN).contains(&self.len())
    }

    /// Whether it is a raw WPA key (64 hex digits) rather than a passphrase.
    pub fn is_raw_key(&self) -> bool {
        self.len() == MAX_PASSPHRASE_LEN
    }
}

impl TryFrom<Secret> for Passphrase {
    type Error = PassphraseError;

    fn try_from(secret: Secret) -> Result<Self, PassphraseError> {
        Passphrase::new(secret.expose())
    }
}

impl From<Passphrase> for Secret {
    fn from(p: Passphrase) -> Secret {
        p.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Passphrase(<redacted {} bytes>)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn rule() {
        assert!(Passphrase::new(Vec::new()).unwrap().is_empty());
        assert!(Passphrase::new([b'a'; 63]).unwrap().is_wpa_length());
        assert!(Passphrase::new([b'a'; 64]).unwrap().is_raw_key());
        assert_eq!(
            Passphrase::new([b'g'; 64]),
            Err(PassphraseError::TooLong { len: 64 })
        );
        assert_eq!(
            Passphrase::new([b'a'; 65]),
            Err(PassphraseError::TooLong { len: 65 })
        );
        assert_eq!(
            Passphrase::new(&b"ab\0cdefgh"[..]),
            Err(PassphraseError::Nul)
        );
        assert!(!Passphrase::new(&b"short"[..]).unwrap().is_wpa_length());
    }

    #[test]
    fn never_shown() {
        let p = Passphrase::new(&b"correct horse"[..]).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
