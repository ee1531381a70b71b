//! Session ciphers for application traffic after a handshake.
//!
//! * Security 1: **one** AES-256-CTR keystream per session, shared by both directions and every
//!   message in protocol order, continuing byte by byte after the 64 bytes the handshake used.
//! * Security 2: AES-256-GCM per message (`ciphertext || tag`, no AAD). With `sec_patch_ver`
//!   ≥ 1 the nonce is `prefix(8) || BE32(counter)`, and both sides bump the counter after every
//!   successful encryption and decryption; with patch 0 the nonce never changes.

use aes::Aes256;
use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::{AeadInOut, AesGcm, KeyInit};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use ctr::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use zeroize::Zeroize;

use crate::error::{Error, Result};

type Aes256Ctr = ctr::Ctr128BE<Aes256>;
type Gcm12 = AesGcm<Aes256, U12>;
type Gcm16 = AesGcm<Aes256, U16>;

/// GCM tag length.
pub const TAG_LEN: usize = 16;

/// The continuous AES-256-CTR keystream of a security 1 session.
pub(crate) struct CtrStream(Box<Aes256Ctr>);

impl CtrStream {
    /// A keystream starting at counter block `iv` (the device random) with `key`.
    pub(crate) fn new(key: &[u8; 32], iv: &[u8; 16]) -> Self {
        CtrStream(Box::new(Aes256Ctr::new(key.into(), iv.into())))
    }

    /// XORs the next `buf.len()` keystream bytes into `buf`.
    pub(crate) fn apply(&mut self, buf: &mut [u8]) {
        self.0.apply_keystream(buf);
    }

    /// How many keystream bytes have been used.
    pub(crate) fn position(&self) -> Option<u64> {
        self.0.try_current_pos::<u64>().ok()
    }

    /// Goes back to `position` (from [`CtrStream::position`]), as if the bytes since had
    /// never been used.
    pub(crate) fn rewind(&mut self, position: u64) -> Result<()> {
        self.0
            .try_seek(position)
            .map_err(|_| Error::InvalidConfig("keystream position out of range"))
    }
}

impl fmt::Debug for CtrStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CtrStream(<redacted>)")
    }
}

/// The AES-256-GCM state of a security 2 session.
pub(crate) enum GcmSession {
    /// 12-byte nonce; `counting` selects patch 1 (counter in bytes 8..12).
    Nonce12 {
        aead: Box<Gcm12>,
        nonce: [u8; 12],
        counting: bool,
    },
    /// 16-byte nonce of old patch-0 firmware, never changes.
    Nonce16 { aead: Box<Gcm16>, nonce: [u8; 16] },
}

impl fmt::Debug for GcmSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcmSession::Nonce12 { counting, .. } => {
                write!(f, "GcmSession(12-byte nonce, counting: {counting})")
            }
            GcmSession::Nonce16 { .. } => f.write_str("GcmSession(16-byte nonce)"),
        }
    }
}

impl Drop for GcmSession {
    fn drop(&mut self) {
        match self {
            GcmSession::Nonce12 { nonce, .. } => nonce.zeroize(),
            GcmSession::Nonce16 { nonce, .. } => nonce.zeroize(),
        }
    }
}

fn bad_key<E>(_: E) -> Error {
    Error::InvalidConfig("the GCM key must be 32 bytes")
}

impl GcmSession {
    /// A GCM session with the 32-byte `key` and the nonce exactly as sent in `device_nonce`.
    ///
    /// `counting` selects patch 1 behaviour (counter in bytes 8..12); it requires a 12-byte
    /// nonce. Patch 0 accepts 12- or 16-byte nonces.
    pub(crate) fn new(key: &[u8], nonce: &[u8], counting: bool) -> Result<Self> {
        if let Ok(nonce) = <[u8; 12]>::try_from(nonce) {
            let aead = Box::new(Gcm12::new_from_slice(key).map_err(bad_key)?);
            return Ok(GcmSession::Nonce12 {
                aead,
                nonce,
                counting,
            });
        }
        match <[u8; 16]>::try_from(nonce) {
            Ok(nonce) if !counting => {
                let aead = Box::new(Gcm16::new_from_slice(key).map_err(bad_key)?);
                Ok(GcmSession::Nonce16 { aead, nonce })
            }
            _ => Err(Error::BadLength {
                field: "device_nonce",
                expected: 12,
                got: nonce.len(),
            }),
        }
    }

    /// Fails once a counting nonce has wrapped to zero.
    fn check_counter(&self) -> Result<()> {
        match self {
            GcmSession::Nonce12 {
                nonce,
                counting: true,
                ..
            } if nonce[8..12] == [0; 4] => Err(Error::NonceExhausted),
            _ => Ok(()),
        }
    }

    fn advance(&mut self) {
        if let GcmSession::Nonce12 {
            nonce,
            counting: true,
            ..
        } = self
        {
            let c = u32::from_be_bytes([nonce[8], nonce[9], nonce[10], nonce[11]]).wrapping_add(1);
            nonce[8..12].copy_from_slice(&c.to_be_bytes());
        }
    }

    /// Encrypts `plaintext` into `ciphertext || tag` and advances the nonce.
    pub(crate) fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.check_counter()?;
        let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
        out.extend_from_slice(plaintext);
        let tag: [u8; TAG_LEN] = match self {
            GcmSession::Nonce12 { aead, nonce, .. } => aead
                .encrypt_inout_detached(&(*nonce).into(), &[], out.as_mut_slice().into())
                .map(Into::into),
            GcmSession::Nonce16 { aead, nonce } => aead
                .encrypt_inout_detached(&(*nonce).into(), &[], out.as_mut_slice().into())
                .map(Into::into),
        }
        .map_err(|_| Error::RequestTooLarge {
            len: plaintext.len(),
            limit: u32::MAX as usize,
        })?;
        out.extend_from_slice(&tag);
        self.advance();
        Ok(out)
    }

    /// Decrypts `ciphertext || tag`; advances the nonce only on success.
    pub(crate) fn open(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        self.check_counter()?;
        let body_len = message
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::DecryptFailed)?;
        let (body, tag) = message.split_at(body_len);
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| Error::DecryptFailed)?;
        let mut out = body.to_vec();
        let verdict = match self {
            GcmSession::Nonce12 { aead, nonce, .. } => aead.decrypt_inout_detached(
                &(*nonce).into(),
                &[],
                out.as_mut_slice().into(),
                &tag.into(),
            ),
            GcmSession::Nonce16 { aead, nonce } => aead.decrypt_inout_detached(
                &(*nonce).into(),
                &[],
                out.as_mut_slice().into(),
                &tag.into(),
            ),
        };
        if verdict.is_err() {
            out.zeroize();
            return Err(Error::DecryptFailed);
        }
        self.advance();
        Ok(out)
    }
}

/// The cipher of an established session.
#[derive(Debug)]
pub(crate) enum SessionCipher {
    /// Security 0: identity.
    Plain,
    /// Security 1: the continuing CTR keystream.
    Ctr(CtrStream),
    /// Security 2: AES-GCM.
    Gcm(GcmSession),
}

impl SessionCipher {
    /// Encrypts an outgoing message.
    pub(crate) fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        match self {
            SessionCipher::Plain => Ok(plaintext.to_vec()),
            SessionCipher::Ctr(s) => {
                let mut out = plaintext.to_vec();
                s.apply(&mut out);
                Ok(out)
            }
            SessionCipher::Gcm(g) => g.seal(plaintext),
        }
    }

    /// Where a security 1 keystream stands, to undo an [`SessionCipher::open`] with
    /// [`SessionCipher::rewind`]; `None` for the other ciphers, whose `open` changes nothing
    /// unless the message is authentic.
    pub(crate) fn position(&self) -> Option<u64> {
        match self {
            SessionCipher::Ctr(s) => s.position(),
            SessionCipher::Plain | SessionCipher::Gcm(_) => None,
        }
    }

    /// Takes a security 1 keystream back to `position`.
    pub(crate) fn rewind(&mut self, position: u64) -> Result<()> {
        match self {
            SessionCipher::Ctr(s) => s.rewind(position),
            SessionCipher::Plain | SessionCipher::Gcm(_) => Ok(()),
        }
    }

    /// Decrypts an incoming message.
    pub(crate) fn open(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        match self {
            SessionCipher::Plain => Ok(message.to_vec()),
            SessionCipher::Ctr(s) => {
                let mut out = message.to_vec();
                s.apply(&mut out);
                Ok(out)
            }
            SessionCipher::Gcm(g) => g.open(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctr_stream_is_continuous_across_calls() {
        let key = [7u8; 32];
        let iv = [0xffu8; 16]; // exercises the 128-bit carry
        let mut whole = [0u8; 100];
        CtrStream::new(&key, &iv).apply(&mut whole);
        let mut pieces = [0u8; 100];
        let mut s = CtrStream::new(&key, &iv);
        for chunk in pieces.chunks_mut(7) {
            s.apply(chunk);
        }
        assert_eq!(whole, pieces);
    }

    #[test]
    fn ctr_stream_rewinds() {
        let mut s = CtrStream::new(&[7u8; 32], &[0xffu8; 16]);
        s.apply(&mut [0u8; 64]);
        let mark = s.position().unwrap();
        assert_eq!(mark, 64);
        let mut first = [0u8; 40];
        s.apply(&mut first);
        s.rewind(mark).unwrap();
        let mut again = [0u8; 40];
        s.apply(&mut again);
        assert_eq!(first, again);
    }

    #[test]
    fn gcm_counts_and_detects_tampering() {
        let key = [3u8; 32];
        let nonce = [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1];
        let mut a = GcmSession::new(&key, &nonce, true).unwrap();
        let mut b = GcmSession::new(&key, &nonce, true).unwrap();
        let c1 = a.seal(b"hello").unwrap();
        assert_eq!(b.open(&c1).unwrap(), b"hello");
        let mut c2 = b.seal(b"world").unwrap();
        c2[0] ^= 1;
        assert!(matches!(a.open(&c2), Err(Error::DecryptFailed)));
        c2[0] ^= 1;
        assert_eq!(a.open(&c2).unwrap(), b"world");
        assert!(matches!(a.open(&[0u8; 3]), Err(Error::DecryptFailed)));
    }

    #[test]
    fn gcm_refuses_wrapped_counter() {
        let key = [3u8; 32];
        let nonce = [1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff];
        let mut a = GcmSession::new(&key, &nonce, true).unwrap();
        a.seal(b"x").unwrap();
        assert!(matches!(a.seal(b"x"), Err(Error::NonceExhausted)));
    }

    #[test]
    fn gcm_nonce_lengths() {
        let key = [3u8; 32];
        assert!(GcmSession::new(&key, &[0u8; 16], false).is_ok());
        assert!(GcmSession::new(&key, &[0u8; 16], true).is_err());
        assert!(GcmSession::new(&key, &[0u8; 8], false).is_err());
        let mut fixed = GcmSession::new(&key, &[9u8; 16], false).unwrap();
        let a = fixed.seal(b"same").unwrap();
        let b = fixed.seal(b"same").unwrap();
        assert_eq!(a, b, "patch 0 reuses its nonce");
    }
}
