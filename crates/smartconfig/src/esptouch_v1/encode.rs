//! The sender side: datum layout, length code and the reference transmission schedule.

use alloc::vec::Vec;
use core::fmt;

use zeroize::Zeroize;

use super::{
    DATA_PHASE_US, GUIDE, GUIDE_PHASE_US, INDEX_BASE, INTERVAL_US, MAX_PASSWORD_LEN, MAX_SSID_LEN,
    NIBBLE_BASE, PERIOD_US,
};
use crate::{EncodeError, Secret, Transmit, crc8};

/// What the phone sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// SSID bytes (raw octets, 1..=32).
    pub ssid: Vec<u8>,
    /// Password bytes (0..=64).
    pub password: Secret,
    /// BSSID of the access point the phone is associated with.
    pub bssid: [u8; 6],
    /// The phone's IPv4 address (where the device sends its reply).
    pub phone_ip: [u8; 4],
    /// Legacy variant (old Android library with `isSsidHidden = false`): leave the SSID items
    /// out; `T` and the XOR byte still count the SSID and the BSSID items take indices
    /// `9 + p ..= 14 + p`. The device must then find the SSID in its scan table.
    pub omit_ssid: bool,
}

impl Params {
    /// Parameters for the current (SSID-carrying) encoding.
    pub fn new(
        ssid: impl Into<Vec<u8>>,
        password: impl Into<Vec<u8>>,
        bssid: [u8; 6],
        phone_ip: [u8; 4],
    ) -> Self {
        Params {
            ssid: ssid.into(),
            password: Secret::new(password),
            bssid,
            phone_ip,
            omit_ssid: false,
        }
    }
}

/// The encoder's output: the guide quartet and one pass over the datum, as UDP payload lengths.
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The guide quartet (515, 514, 513, 512).
    pub guide: [u16; 4],
    /// One full pass over the datum items, three lengths per item, in transmission order.
    pub datum: Vec<u16>,
    /// `T = 9 + p + s` (mod 256): byte 0 of the reply the phone waits for.
    pub token: u8,
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The datum lengths spell out the password: show only their number.
        f.debug_struct("Encoded")
            .field("guide", &self.guide)
            .field("datum_len", &self.datum.len())
            .field("token", &self.token)
            .finish()
    }
}

impl Drop for Encoded {
    fn drop(&mut self) {
        self.datum.zeroize();
    }
}

/// The three datagram lengths of one datum item (index `index` ≤ 127, byte `byte`).
pub fn data_code(index: u8, byte: u8) -> [u16; 3] {
    let crc = crc8(&[byte, index]);
    let first = u16::from((crc & 0xF0) | (byte >> 4));
    let last = u16::from((crc << 4) | (byte & 0x0F));
    [
        NIBBLE_BASE + first,
        INDEX_BASE + u16::from(index & 0x7F),
        NIBBLE_BASE + last,
    ]
}

fn too_long(field: &'static str, len: usize, max: usize) -> EncodeError {
    EncodeError::TooLong { field, len, max }
}

/// Encodes `params` exactly as the reference Android encoder does.
///
/// Transmission order: items 0..=4, then the remaining message items in index order with BSSID
/// byte `k` inserted at list position `5 + 4k` (appended at the end when the list is shorter).
pub fn encode(params: &Params) -> Result<Encoded, EncodeError> {
    let ssid = params.ssid.as_slice();
    let password = params.password.expose();
    if ssid.is_empty() {
        return Err(EncodeError::Invalid("the SSID is empty"));
    }
    if ssid.len() > MAX_SSID_LEN {
        return Err(too_long("SSID", ssid.len(), MAX_SSID_LEN));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(too_long("password", password.len(), MAX_PASSWORD_LEN));
    }
    // Both lengths are bounded above, so these conversions cannot fail.
    let p = u8::try_from(password.len()).map_err(|_| EncodeError::Invalid("password length"))?;
    let s = u8::try_from(ssid.len()).map_err(|_| EncodeError::Invalid("SSID length"))?;
    let total = 9 + p + s;

    let head = [total, p, crc8(ssid), crc8(&params.bssid)];
    let xor = head
        .iter()
        .chain(&params.phone_ip)
        .chain(password)
        .chain(ssid)
        .fold(0u8, |acc, b| acc ^ b);

    // Message items in index order (index = position).
    let mut message: Vec<u8> = Vec::with_capacity(usize::from(total));
    message.extend_from_slice(&head);
    message.push(xor);
    message.extend_from_slice(&params.phone_ip);
    message.extend_from_slice(password);
    if !params.omit_ssid {
        message.extend_from_slice(ssid);
    }
    let bssid_base = if params.omit_ssid { 9 + p } else { total };

    let mut datum = Vec::with_capacity(3 * (message.len() + 6));
    let mut sent = 0usize; // items already placed in the transmission list
    let mut items = message.iter().zip(0u8..);
    for (k, (&byte, index)) in params.bssid.iter().zip(bssid_base..).enumerate() {
        let position = 5 + 4 * k;
        while sent < position {
            let Some((&b, i)) = items.next() else { break };
            datum.extend_from_slice(&data_code(i, b));
            sent += 1;
        }
        datum.extend_from_slice(&data_code(index, byte));
        sent += 1;
    }
    for (&b, i) in items {
        datum.extend_from_slice(&data_code(i, b));
    }
    message.zeroize();

    Ok(Encoded {
        guide: GUIDE,
        datum,
        token: total,
    })
}

/// Guide quartets per period: the reference app starts a new quartet while less than
/// [`GUIDE_PHASE_US`] has elapsed (63 quartets, 2.016 s).
pub const GUIDE_QUARTETS_PER_PERIOD: u32 = GUIDE_PHASE_US.div_ceil(4 * INTERVAL_US);

/// Data steps (three datagrams each) per period: started while the period's 6 s have not yet
/// elapsed (166 steps, 3.984 s).
pub const DATA_STEPS_PER_PERIOD: u32 =
    (PERIOD_US - GUIDE_QUARTETS_PER_PERIOD * 4 * INTERVAL_US).div_ceil(3 * INTERVAL_US);

// The data phase must leave room for a whole pass of the largest datum (111 items).
const _: () = assert!(DATA_STEPS_PER_PERIOD >= 111 && DATA_PHASE_US <= PERIOD_US);

impl Encoded {
    /// Number of datum items (data codes) in one pass.
    pub fn items(&self) -> usize {
        self.datum.len() / 3
    }

    /// One 6-second period of the reference apps' transmission, starting with the data at item 0:
    /// the guide quartet repeated [`GUIDE_QUARTETS_PER_PERIOD`] times, then
    /// [`DATA_STEPS_PER_PERIOD`] data codes (wrapping around the datum), every datagram followed
    /// by an 8 ms pause. Every period holds at least one full datum pass, so looping this list is
    /// a complete sender; [`Encoded::schedule_period`] reproduces the apps exactly (their data
    /// index continues across periods).
    pub fn schedule(&self) -> Vec<Transmit> {
        self.schedule_period(0)
    }

    /// Period number `period` (0-based) of the reference schedule: like [`Encoded::schedule`],
    /// but the data phase resumes where period `period − 1` stopped.
    pub fn schedule_period(&self, period: u64) -> Vec<Transmit> {
        let quartets = GUIDE_QUARTETS_PER_PERIOD as usize;
        let steps = DATA_STEPS_PER_PERIOD as usize;
        let mut out = Vec::with_capacity(4 * quartets + 3 * steps);
        let datagram = |length: u16| Transmit {
            length,
            gap_us: INTERVAL_US,
        };
        for _ in 0..quartets {
            out.extend(self.guide.iter().copied().map(datagram));
        }
        let items = self.items();
        if items == 0 {
            return out;
        }
        let n = items as u64;
        let start = (period % n) * u64::from(DATA_STEPS_PER_PERIOD) % n;
        let start = usize::try_from(start).unwrap_or(0);
        let codes = self.datum.chunks_exact(3).cycle().skip(start).take(steps);
        for code in codes {
            out.extend(code.iter().copied().map(datagram));
        }
        out
    }
}
