//! AES-128-CBC with PKCS#7 padding, as ESPTouch v2 applies it to `password ‖ reserved`.

use aes::Aes128;
use alloc::vec::Vec;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use core::fmt;
use zeroize::Zeroize;

/// A 16-byte AES-128 key: zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey([u8; 16]);

impl AesKey {
    /// Wraps `key`.
    pub fn new(key: [u8; 16]) -> Self {
        AesKey(key)
    }

    /// From a byte slice; `None` unless it is exactly 16 bytes (the apps take the UTF-8 bytes
    /// of a 16-character string).
    pub fn from_slice(key: &[u8]) -> Option<Self> {
        <[u8; 16]>::try_from(key).ok().map(AesKey)
    }

    /// The key bytes. Do not log them.
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }
}

impl From<[u8; 16]> for AesKey {
    fn from(key: [u8; 16]) -> Self {
        AesKey(key)
    }
}

impl Drop for AesKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

const BLOCK: usize = 16;

/// `AES-128-CBC(key, iv, PKCS#7(plain))`: always `16·(⌊len/16⌋ + 1)` bytes.
pub(crate) fn encrypt(key: &AesKey, iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let pad = BLOCK - plain.len() % BLOCK;
    let mut buf = Vec::with_capacity(plain.len() + pad);
    buf.extend_from_slice(plain);
    buf.resize(plain.len() + pad, pad as u8);
    // Key and IV are fixed-size arrays of the right length, so construction cannot fail.
    if let Ok(mut enc) = cbc::Encryptor::<Aes128>::new_from_slices(&key.0, iv) {
        for chunk in buf.chunks_exact_mut(BLOCK) {
            let mut block = aes::Block::default();
            block.copy_from_slice(chunk);
            enc.encrypt_block(&mut block);
            chunk.copy_from_slice(&block);
            block.zeroize();
        }
    }
    buf
}

/// Decrypts `cipher` (a whole number of blocks) into `out` (same length) and checks the full
/// PKCS#7 suffix; returns the plaintext length, or `None` on any inconsistency.
pub(crate) fn decrypt(key: &AesKey, iv: &[u8; 16], cipher: &[u8], out: &mut [u8]) -> Option<usize> {
    if cipher.is_empty() || !cipher.len().is_multiple_of(BLOCK) || out.len() != cipher.len() {
        return None;
    }
    let mut dec = cbc::Decryptor::<Aes128>::new_from_slices(&key.0, iv).ok()?;
    for (src, dst) in cipher.chunks_exact(BLOCK).zip(out.chunks_exact_mut(BLOCK)) {
        let mut block = aes::Block::default();
        block.copy_from_slice(src);
        dec.decrypt_block(&mut block);
        dst.copy_from_slice(&block);
        block.zeroize();
    }
    let pad = usize::from(*out.last()?);
    if pad == 0 || pad > BLOCK {
        return None;
    }
    let plain_len = out.len() - pad;
    let suffix = out.get(plain_len..)?;
    suffix
        .iter()
        .all(|&b| usize::from(b) == pad)
        .then_some(plain_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_ciphertext() {
        // Security-1 vector: key "1234567890abcdef", zero IV, "12345678" ‖ "hello".
        let key = AesKey::from_slice(b"1234567890abcdef").unwrap();
        let ct = encrypt(&key, &[0; 16], b"12345678hello");
        assert_eq!(ct, hex_bytes("45be0e87f798dfffc5457ec38d58358a"));
        let mut out = [0u8; 16];
        assert_eq!(decrypt(&key, &[0; 16], &ct, &mut out), Some(13));
        assert_eq!(&out[..13], b"12345678hello");
        let wrong = AesKey::new([7; 16]);
        let mut out = [0u8; 16];
        let result = decrypt(&wrong, &[0; 16], &ct, &mut out);
        assert_ne!(result.map(|n| &out[..n]), Some(&b"12345678hello"[..]));
        assert!(!alloc::format!("{key:?}").contains("1234"));
    }

    #[test]
    fn full_block_gets_a_pad_block() {
        let key = AesKey::new([1; 16]);
        let ct = encrypt(&key, &[2; 16], &[0x41; 16]);
        assert_eq!(ct.len(), 32);
        let mut out = [0u8; 32];
        assert_eq!(decrypt(&key, &[2; 16], &ct, &mut out), Some(16));
        assert!(decrypt(&key, &[2; 16], &ct[..31], &mut out[..31]).is_none());
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
