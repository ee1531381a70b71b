//! Network passphrases.

use alloc::vec::Vec;
use core::fmt;

use crate::secret::Secret;

/// Longest passphrase, in bytes. ESP-IDF's `SetConfig` refuses 64 bytes and more, so a
/// 64-hex-digit raw PSK is not a passphrase anywhere in wifiprov.
pub const MAX_PASSPHRASE_LEN: usize = 63;

/// Why bytes are not a [`Passphrase`]. Never contains the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PassphraseError {
    /// More than [`MAX_PASSPHRASE_LEN`] bytes.
    #[error("the passphrase is {len} bytes long; at most 63 are allowed")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A NUL byte (the device's C strings would cut it there).
    #[error("the passphrase contains a NUL byte")]
    Nul,
}

/// A network passphrase: empty for an open network, otherwise at most 63 bytes without NUL.
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
        if secret.len() > MAX_PASSPHRASE_LEN {
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

    /// Whether WPA would accept its length (8 to 63).
    pub fn is_wpa_length(&self) -> bool {
        (8..=MAX_PASSPHRASE_LEN).contains(&self.len())
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
        assert_eq!(
            Passphrase::new([b'a'; 64]),
            Err(PassphraseError::TooLong { len: 64 })
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
