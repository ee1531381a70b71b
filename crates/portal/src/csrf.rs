//! The portal's form token.
//!
//! The page carries a token the portal made at start (from random bytes the driver supplies)
//! in a hidden field, and the JSON API takes it in a header; a submission without the right
//! token is refused. Another site the browser visits cannot read the page, so it cannot
//! learn the token. The comparison takes the same time whatever the token presented.

use std::fmt;

use subtle::ConstantTimeEq;

/// The number of random bytes in a token.
pub const TOKEN_BYTES: usize = 16;

/// A form token (hex text).
#[derive(Clone)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token made of `random` bytes (from the operating system's generator).
    pub fn new(random: [u8; TOKEN_BYTES]) -> Self {
        let mut text = String::with_capacity(TOKEN_BYTES * 2);
        for byte in random {
            text.push(hex_digit(byte >> 4));
            text.push(hex_digit(byte & 0x0f));
        }
        CsrfToken(text)
    }

    /// The token as it goes in the page.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, compared in constant time.
    pub fn verify(&self, presented: &str) -> bool {
        let presented = presented.trim();
        presented.len() == self.0.len() && bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(..)")
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from(if nibble < 10 {
        b'0' + nibble
    } else {
        b'a' + nibble - 10
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_itself() {
        let token = CsrfToken::new([0xab; TOKEN_BYTES]);
        assert_eq!(token.as_str(), "ab".repeat(TOKEN_BYTES));
        assert!(token.verify(&"ab".repeat(TOKEN_BYTES)));
        assert!(!token.verify(&"ab".repeat(TOKEN_BYTES - 1)));
        assert!(!token.verify(&format!("{}ac", "ab".repeat(TOKEN_BYTES - 1))));
        assert!(!token.verify(""));
        assert_eq!(format!("{token:?}"), "CsrfToken(..)");
    }

    proptest::proptest! {
        #[test]
        fn random_tokens_round_trip(bytes in proptest::prelude::any::<[u8; TOKEN_BYTES]>(), other in ".{0,40}") {
            let token = CsrfToken::new(bytes);
            proptest::prop_assert!(token.verify(token.as_str()));
            proptest::prop_assert_eq!(token.verify(&other), other.trim() == token.as_str());
        }
    }
}
