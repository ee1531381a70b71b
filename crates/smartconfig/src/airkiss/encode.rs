//! The sender side: message → datagram lengths (spec §4.2, §4.4).

use alloc::vec::Vec;
use core::fmt;

use zeroize::Zeroize;

use super::{
    DATA_REPEATS, GAP_US, LEADING_REPEATS, MAGIC_REPEATS, MAX_PASSWORD_LEN, MAX_SSID_LEN,
    encrypt_password,
};
use crate::{EncodeError, Secret, Transmit, crc8};

/// What to send.
#[derive(Clone)]
pub struct Params {
    /// SSID bytes (1..=32, any octets).
    pub ssid: Vec<u8>,
    /// Password bytes (0..=64).
    pub password: Secret,
    /// The agreed AES key, zero-padded to 16 bytes (see [`key_from_bytes`](super::key_from_bytes));
    /// `None` sends the password in clear, as ESP-IDF devices require.
    pub aes_key: Option<[u8; 16]>,
    /// The random token byte; the device's reply echoes it. Draw it at random per session.
    pub token: u8,
}

impl Params {
    /// Parameters without encryption.
    pub fn new(ssid: impl Into<Vec<u8>>, password: impl Into<Vec<u8>>, token: u8) -> Self {
        Params {
            ssid: ssid.into(),
            password: Secret::new(password),
            aes_key: None,
            token,
        }
    }

    /// The same parameters with the password encrypted under `key`.
    pub fn with_aes_key(mut self, key: [u8; 16]) -> Self {
        self.aes_key = Some(key);
        self
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Params")
            .field("ssid", &self.ssid)
            .field("password", &self.password)
            .field("aes_key", &self.aes_key.map(|_| "<redacted>"))
            .field("token", &self.token)
            .finish()
    }
}

impl Drop for Params {
    fn drop(&mut self) {
        if let Some(key) = self.aes_key.as_mut() {
            key.zeroize();
        }
    }
}

/// The lengths of one message, as the reference sender produces them.
///
/// The data lengths carry the password (in clear without a key), so `Debug` only shows counts
/// and the buffers are zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded {
    token: u8,
    total_len: u8,
    magic: [u16; 4],
    prefix: [u16; 4],
    data: Vec<u16>,
}

/// Encodes `params` (spec §4.2; encrypting the password first when a key is given, §4.3).
///
/// # Errors
/// [`EncodeError::Invalid`] for an empty SSID; [`EncodeError::TooLong`] for an SSID over 32 bytes
/// or a password over 64 bytes.
pub fn encode(params: &Params) -> Result<Encoded, EncodeError> {
    let ssid = params.ssid.as_slice();
    let password = params.password.expose();
    if ssid.is_empty() {
        return Err(EncodeError::Invalid("the SSID is empty"));
    }
    if ssid.len() > MAX_SSID_LEN {
        return Err(EncodeError::TooLong {
            field: "SSID",
            len: ssid.len(),
            max: MAX_SSID_LEN,
        });
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(EncodeError::TooLong {
            field: "password",
            len: password.len(),
            max: MAX_PASSWORD_LEN,
        });
    }
    let on_air = match &params.aes_key {
        Some(key) => Secret::new(encrypt_password(password, key)),
        None => params.password.clone(),
    };
    let part = on_air.expose();
    // Bounded above (80 + 1 + 32 = 113 and 80), so the conversions cannot fail.
    let total = u8::try_from(part.len() + 1 + ssid.len())
        .map_err(|_| EncodeError::Invalid("message too long"))?;
    let part_len =
        u8::try_from(part.len()).map_err(|_| EncodeError::Invalid("password too long"))?;

    let ssid_crc = crc8(ssid);
    let hi_total = match total >> 4 {
        0 => 8,
        hi => hi,
    };
    let magic = [
        u16::from(hi_total),
        0x10 | u16::from(total & 0x0f),
        0x20 | u16::from(ssid_crc >> 4),
        0x30 | u16::from(ssid_crc & 0x0f),
    ];
    let part_crc = crc8(&[part_len]);
    let prefix = [
        0x40 | u16::from(part_len >> 4),
        0x50 | u16::from(part_len & 0x0f),
        0x60 | u16::from(part_crc >> 4),
        0x70 | u16::from(part_crc & 0x0f),
    ];

    let mut message = Vec::with_capacity(usize::from(total));
    message.extend_from_slice(part);
    message.push(params.token);
    message.extend_from_slice(ssid);
    let mut data = Vec::with_capacity(message.len() + 2 * message.len().div_ceil(4));
    for (index, chunk) in (0u8..).zip(message.chunks(4)) {
        let crc = crc8_block(index, chunk);
        data.push(0x80 | u16::from(crc & 0x7f));
        data.push(0x80 | u16::from(index));
        data.extend(chunk.iter().map(|&b| 0x100 | u16::from(b)));
    }
    message.zeroize();
    Ok(Encoded {
        token: params.token,
        total_len: total,
        magic,
        prefix,
        data,
    })
}

/// CRC-8 of a block: its index byte followed by its data bytes.
pub(super) fn crc8_block(index: u8, bytes: &[u8]) -> u8 {
    crate::crc8_update(crc8(&[index]), bytes)
}

impl Encoded {
    /// The token carried in the message.
    pub fn token(&self) -> u8 {
        self.token
    }

    /// Message length `T` = password part + 1 + SSID, in bytes.
    pub fn message_len(&self) -> usize {
        usize::from(self.total_len)
    }

    /// The magic code: total length and SSID CRC (4 lengths).
    pub fn magic_lengths(&self) -> [u16; 4] {
        self.magic
    }

    /// The prefix code: password-part length and its CRC (4 lengths).
    pub fn prefix_lengths(&self) -> [u16; 4] {
        self.prefix
    }

    /// All blocks in order: per block two header lengths then its 1..=4 data lengths.
    pub fn data_lengths(&self) -> &[u16] {
        &self.data
    }

    /// One period of the reference sender: `[1, 2, 3, 4] × 50`, magic × 20, then
    /// (prefix + blocks) × 15 (spec §4.4). The reference sends five periods, then stops.
    pub fn one_repetition_lengths(&self) -> Vec<u16> {
        let len = 4 * LEADING_REPEATS + 4 * MAGIC_REPEATS + DATA_REPEATS * (4 + self.data.len());
        let mut out = Vec::with_capacity(len);
        for _ in 0..LEADING_REPEATS {
            out.extend_from_slice(&[1, 2, 3, 4]);
        }
        for _ in 0..MAGIC_REPEATS {
            out.extend_from_slice(&self.magic);
        }
        for _ in 0..DATA_REPEATS {
            out.extend_from_slice(&self.prefix);
            out.extend_from_slice(&self.data);
        }
        out
    }

    /// One period ([`Encoded::one_repetition_lengths`]) with the reference pacing: a
    /// [`GAP_US`] pause after every datagram. Send it to
    /// [`DESTINATION`](super::DESTINATION):[`PORT`](super::PORT) repeatedly until a reply arrives
    /// or the session times out.
    pub fn schedule(&self) -> Vec<Transmit> {
        self.one_repetition_lengths()
            .into_iter()
            .map(|length| Transmit {
                length,
                gap_us: GAP_US,
            })
            .collect()
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded")
            .field("token", &self.token)
            .field("message_len", &self.total_len)
            .field(
                "data_lengths",
                &format_args!("<{} lengths redacted>", self.data.len()),
            )
            .finish_non_exhaustive()
    }
}

impl Drop for Encoded {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}
