//! Secret byte strings: zeroized on drop, redacted in `Debug`, compared in constant time.

use alloc::vec::Vec;
use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret byte string (proof of possession, SRP password, passphrase, key material).
///
/// The bytes are wiped when the value is dropped and never appear in `Debug` output.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The secret bytes. Handle with care: do not log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.as_bytes().to_vec())
    }
}

impl From<&[u8]> for Secret {
    fn from(s: &[u8]) -> Self {
        Secret(s.to_vec())
    }
}

impl PartialEq for Secret {
    /// Constant-time in the contents (the length is not secret).
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted {} bytes>)", self.0.len())
    }
}

/// Constant-time equality of two byte strings (length is compared in the clear).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from("hunter22");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter22"), "{shown}");
        assert!(shown.contains("8 bytes"));
    }

    #[test]
    fn equality() {
        assert_eq!(Secret::from("abc"), Secret::from("abc"));
        assert_ne!(Secret::from("abc"), Secret::from("abd"));
        assert_ne!(Secret::from("abc"), Secret::from("abcd"));
        assert!(ct_eq(b"xy", b"xy"));
        assert!(!ct_eq(b"xy", b"xz"));
    }
}
