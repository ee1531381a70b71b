//! AES-128-CBC of the password part: key = IV = the agreed key zero-padded to 16 bytes, PKCS#7
//! padding, an empty password stays empty (spec §4.3).

use alloc::vec::Vec;

use aes::Aes128;
use cbc::cipher::{Block, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use zeroize::Zeroize;

use crate::{EncodeError, Secret};

type Encryptor = cbc::Encryptor<Aes128>;
type Decryptor = cbc::Decryptor<Aes128>;

const BLOCK: usize = 16;

/// The 16-byte key for a configured key of up to 16 bytes (zero-padded, as AirKiss senders do).
///
/// # Errors
/// [`EncodeError::TooLong`] for more than 16 bytes, [`EncodeError::Invalid`] for an empty key.
pub fn key_from_bytes(bytes: &[u8]) -> Result<[u8; 16], EncodeError> {
    if bytes.is_empty() {
        return Err(EncodeError::Invalid("the AES key is empty"));
    }
    let mut key = [0u8; 16];
    let dst = key.get_mut(..bytes.len()).ok_or(EncodeError::TooLong {
        field: "AES key",
        len: bytes.len(),
        max: 16,
    })?;
    dst.copy_from_slice(bytes);
    Ok(key)
}

/// Encrypts a password the AirKiss way (the result is what goes on the air).
pub fn encrypt_password(password: &[u8], key: &[u8; 16]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let padded = (password.len() / BLOCK + 1) * BLOCK;
    let pad = u8::try_from(padded - password.len()).unwrap_or(BLOCK as u8);
    let mut buf = Vec::with_capacity(padded);
    buf.extend_from_slice(password);
    buf.resize(padded, pad);
    let mut cipher = Encryptor::new(key.into(), key.into());
    for chunk in buf.chunks_exact_mut(BLOCK) {
        if let Ok(block) = <&mut Block<Encryptor>>::try_from(chunk) {
            cipher.encrypt_block(block);
        }
    }
    buf
}

/// Decrypts a password part received from the air; `None` when it is not valid ciphertext under
/// `key` (length not a multiple of 16, or bad padding). An empty part decrypts to an empty password.
pub fn decrypt_password(ciphertext: &[u8], key: &[u8; 16]) -> Option<Secret> {
    if ciphertext.is_empty() {
        return Some(Secret::default());
    }
    if !ciphertext.len().is_multiple_of(BLOCK) {
        return None;
    }
    let mut buf = ciphertext.to_vec();
    let mut cipher = Decryptor::new(key.into(), key.into());
    for chunk in buf.chunks_exact_mut(BLOCK) {
        if let Ok(block) = <&mut Block<Decryptor>>::try_from(chunk) {
            cipher.decrypt_block(block);
        }
    }
    let pad = buf.last().copied().unwrap_or(0);
    let pad_len = usize::from(pad);
    let plain_len = buf.len().checked_sub(pad_len);
    let valid = (1..=BLOCK).contains(&pad_len)
        && plain_len.is_some_and(|n| {
            buf.get(n..)
                .is_some_and(|tail| tail.iter().all(|&b| b == pad))
        });
    match plain_len {
        Some(n) if valid => {
            if let Some(tail) = buf.get_mut(n..) {
                tail.zeroize();
            }
            buf.truncate(n);
            Some(Secret::new(buf))
        }
        _ => {
            buf.zeroize();
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        let key = key_from_bytes(b"Wechatiothardwav").unwrap();
        for len in [0usize, 1, 15, 16, 17, 64] {
            let pw: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5a).collect();
            let ct = encrypt_password(&pw, &key);
            assert_eq!(ct.len(), if len == 0 { 0 } else { (len / 16 + 1) * 16 });
            assert_eq!(decrypt_password(&ct, &key).unwrap().expose(), &pw[..]);
        }
        assert!(decrypt_password(&[0u8; 15], &key).is_none());
    }

    #[test]
    fn key_padding() {
        assert_eq!(key_from_bytes(b"ab").unwrap()[..3], [b'a', b'b', 0]);
        assert!(key_from_bytes(&[1; 17]).is_err());
        assert!(key_from_bytes(&[]).is_err());
    }
}
