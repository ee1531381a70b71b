//! The receiver side: raw lengths of one link → a validated message (spec §4.5).

use alloc::vec::Vec;
use core::fmt;

use zeroize::Zeroize;

use super::framer::{self, Framer, Next, Run, Symbol};
use super::guide::GuideDetector;
use super::store::{BlockStore, Stored};
use super::{MAX_MESSAGE_LEN, MAX_PASSWORD_PART_LEN, MAX_SSID_LEN, decrypt_password};
use crate::{Decoded, LengthDecoder, Protocol, Secret, crc8};

/// Marks a position of the symbol history that held no AirKiss symbol.
const NO_SYMBOL: u16 = u16::MAX;

/// Streaming AirKiss decoder for one link.
///
/// * **Offset**: learned from leading quartets (four distinct raw lengths spanning 3, any order,
///   all at most [`MAX_GUIDE_LENGTH`](super::MAX_GUIDE_LENGTH)), confirmed by a second quartet.
///   A confirmed quartet for a different offset re-locks and starts the message over. After
///   that, lengths that cannot be a symbol (below `K + 1` or above `K + 0x1FF`) are skipped as
///   other traffic; every other length takes part in the windows below.
/// * **Magic and prefix codes**: a window of four consecutive symbols with tags 0‥3 (resp. 4‥7);
///   each must be received twice identically before it counts. A differing value received twice
///   in a row while another is established means a new message: everything else is forgotten.
/// * **Blocks**: two adjacent header symbols, the block's data symbols, then a non-data symbol;
///   the 7-bit CRC must match. Duplicated lengths are tolerated (a duplicated second header, or
///   up to two repeated data symbols, are tried both ways; an ambiguous reading is dropped).
///   Blocks are kept by index across repetitions, in any order. A content is used once received
///   at least twice (three times if it holds two equal adjacent bytes) and that many times more
///   than a competing content of its index: a single reception can be a CRC
///   collision (7 bits) — two blocks run together because the headers between them were lost,
///   or a noise or duplicated length in place of a lost data length — which the SSID CRC, the
///   same polynomial, misses half the time and nothing checks in the password. Two contents of
///   one index each received three times and at least once followed by the next block's header
///   pair mean two messages are mixed and reset the message.
/// * **Completion**: every block present, SSID CRC from the magic code correct, lengths
///   consistent (SSID 1..=32 bytes, password part at most 80), and with a key valid ciphertext
///   (see the [module docs](super)).
///
/// After delivering a message the decoder keeps the offset and starts the message over. Memory
/// is fixed (no allocation except for the delivered message); work per length is bounded by a
/// constant.
#[derive(Clone)]
pub struct Decoder {
    key: Option<[u8; 16]>,
    guide: GuideDetector,
    offset: Option<u16>,
    session: Session,
}

#[derive(Clone, Default)]
struct Session {
    recent: [u16; 4],
    magic: Confirmed<(u8, u8)>,
    prefix: Confirmed<u8>,
    framer: Framer,
    blocks: BlockStore,
}

impl Session {
    fn clear(&mut self) {
        self.framer.zeroize();
        self.blocks.zeroize();
        self.recent = [NO_SYMBOL; 4];
        self.magic = Confirmed::default();
        self.prefix = Confirmed::default();
    }
}

/// A value that counts once it was received twice identically.
#[derive(Clone, Copy, Default)]
struct Confirmed<V> {
    value: Option<V>,
    count: u8,
    challenger: Option<(V, u8)>,
}

enum Seen<V> {
    Nothing,
    NewlyConfirmed,
    Conflict(V),
}

impl<V: Copy + PartialEq> Confirmed<V> {
    fn established(value: V) -> Self {
        Confirmed {
            value: Some(value),
            count: 2,
            challenger: None,
        }
    }

    fn get(&self) -> Option<V> {
        self.value.filter(|_| self.count >= 2)
    }

    fn observe(&mut self, v: V) -> Seen<V> {
        if self.value == Some(v) {
            self.count = self.count.saturating_add(1);
            self.challenger = None;
            return if self.count == 2 {
                Seen::NewlyConfirmed
            } else {
                Seen::Nothing
            };
        }
        if self.count < 2 {
            *self = Confirmed {
                value: Some(v),
                count: 1,
                challenger: None,
            };
            return Seen::Nothing;
        }
        match self.challenger {
            Some((c, _)) if c == v => Seen::Conflict(v),
            _ => {
                self.challenger = Some((v, 1));
                Seen::Nothing
            }
        }
    }
}

impl Decoder {
    /// A decoder; `aes_key` is the out-of-band AirKiss key (zero-padded to 16 bytes, see
    /// [`key_from_bytes`](super::key_from_bytes)), `None` for plaintext senders such as the ones
    /// ESP-IDF devices accept.
    pub fn new(aes_key: Option<[u8; 16]>) -> Self {
        let mut session = Session::default();
        session.clear();
        Decoder {
            key: aes_key,
            guide: GuideDetector::default(),
            offset: None,
            session,
        }
    }

    fn on_run(&mut self, run: &Run, next: Next) -> bool {
        let total = self.session.magic.get().map(|(t, _)| usize::from(t));
        // Bytes block `index` holds; before the length is known only full blocks are accepted.
        let want = |index: u8| match total {
            Some(total) => total.saturating_sub(4 * usize::from(index)).min(4),
            None => 4,
        };
        let Some((index, mut bytes, len)) = framer::read(run, want) else {
            return false;
        };
        let index = usize::from(index);
        let last = total.is_some_and(|t| index + 1 == t.div_ceil(4));
        let in_sequence = match next {
            Next::Pair(i) => usize::from(i) == index + 1 || (last && i == 0),
            Next::Other => last,
            Next::Unknown => false,
        };
        let content = bytes.get(..usize::from(len)).unwrap_or(&[]);
        let stored = self.session.blocks.insert(index, content, in_sequence);
        bytes.zeroize();
        match stored {
            Stored::Changed => true,
            Stored::Unchanged => false,
            Stored::Conflict => {
                self.session.clear();
                false
            }
        }
    }

    fn on_symbol_window(&mut self) -> bool {
        let mut changed = false;
        if let Some(magic) = magic_window(&self.session.recent) {
            match self.session.magic.observe(magic) {
                Seen::Nothing => {}
                Seen::NewlyConfirmed => {
                    self.session.blocks.prune(usize::from(magic.0));
                    changed = true;
                }
                Seen::Conflict(v) => {
                    self.session.clear();
                    self.session.magic = Confirmed::established(v);
                }
            }
        }
        if let Some(prefix) = prefix_window(&self.session.recent) {
            match self.session.prefix.observe(prefix) {
                Seen::Nothing => {}
                Seen::NewlyConfirmed => changed = true,
                Seen::Conflict(v) => {
                    self.session.clear();
                    self.session.prefix = Confirmed::established(v);
                }
            }
        }
        changed
    }

    fn try_complete(&mut self) -> Option<Decoded> {
        let (total, ssid_crc) = self.session.magic.get()?;
        let part_len = usize::from(self.session.prefix.get()?);
        let total = usize::from(total);
        let ssid_len = total.saturating_sub(part_len + 1);
        if ssid_len == 0 || ssid_len > MAX_SSID_LEN {
            // Magic and prefix codes of different messages.
            self.session.clear();
            return None;
        }
        let block_count = total.div_ceil(4);
        if self.session.blocks.ready(block_count) < block_count {
            return None;
        }
        let mut message = [0u8; MAX_MESSAGE_LEN];
        for (index, chunk) in message.chunks_mut(4).take(block_count).enumerate() {
            let bytes = self.session.blocks.leader(index)?;
            chunk.get_mut(..bytes.len())?.copy_from_slice(bytes);
        }
        let result = self.finish(&message, total, part_len, ssid_crc);
        message.zeroize();
        if result.is_some() {
            self.session.clear();
        }
        result
    }

    fn finish(
        &mut self,
        message: &[u8; MAX_MESSAGE_LEN],
        total: usize,
        part_len: usize,
        ssid_crc: u8,
    ) -> Option<Decoded> {
        let ssid = message.get(part_len + 1..total)?;
        if crc8(ssid) != ssid_crc {
            // An SSID block is wrong although received repeatedly: collect those again.
            self.session
                .blocks
                .forget((part_len + 1) / 4..total.div_ceil(4));
            return None;
        }
        let part = message.get(..part_len)?;
        let password = match &self.key {
            Some(key) => match decrypt_password(part, key) {
                Some(p) => p,
                None => {
                    self.session.clear();
                    return None;
                }
            },
            None => Secret::new(part.to_vec()),
        };
        Some(Decoded {
            protocol: Protocol::AirKiss,
            ssid: Some(ssid.to_vec()),
            ssid_crc: Some(ssid_crc),
            password,
            bssid: None,
            bssid_crc: None,
            token: *message.get(part_len)?,
            phone_ip: None,
            ipv6: false,
            reserved: Vec::new(),
            offset: self.offset.unwrap_or(0),
        })
    }
}

/// Magic code in a window of normalised symbols: (total length, SSID CRC).
fn magic_window(w: &[u16; 4]) -> Option<(u8, u8)> {
    let [a, b, c, d] = *w;
    if !(1..=8).contains(&a) || b >> 4 != 1 || c >> 4 != 2 || d >> 4 != 3 {
        return None;
    }
    let hi = if a == 8 { 0 } else { a };
    let total = (hi << 4) | (b & 0x0f);
    let crc = ((c & 0x0f) << 4) | (d & 0x0f);
    let total_ok = (2..=MAX_MESSAGE_LEN).contains(&usize::from(total));
    total_ok.then_some((total as u8, crc as u8))
}

/// Prefix code in a window of normalised symbols: the password-part length, CRC-checked.
fn prefix_window(w: &[u16; 4]) -> Option<u8> {
    let [a, b, c, d] = *w;
    if a >> 4 != 4 || b >> 4 != 5 || c >> 4 != 6 || d >> 4 != 7 {
        return None;
    }
    let len = (((a & 0x0f) << 4) | (b & 0x0f)) as u8;
    let crc = (((c & 0x0f) << 4) | (d & 0x0f)) as u8;
    (crc8(&[len]) == crc && usize::from(len) <= MAX_PASSWORD_PART_LEN).then_some(len)
}

impl LengthDecoder for Decoder {
    fn protocol(&self) -> Protocol {
        Protocol::AirKiss
    }

    fn push(&mut self, length: u16) -> Option<Decoded> {
        if let Some(k) = self.guide.push(length)
            && self.offset != Some(k)
        {
            self.offset = Some(k);
            self.session.clear();
        }
        let k = self.offset?;
        // Lengths that cannot be a symbol belong to other traffic: skipped, not a window break.
        let symbol = length.checked_sub(k).filter(|l| (1..=0x1ff).contains(l))?;
        let mut changed = false;
        let framed = self.session.framer.push(match symbol {
            0x100.. => Symbol::Data((symbol & 0xff) as u8),
            0x80.. => Symbol::Header((symbol & 0xff) as u8),
            _ => Symbol::Other,
        });
        if let Some((run, next)) = framed {
            changed |= self.on_run(&run, next);
        }
        let [_, b, c, d] = self.session.recent;
        self.session.recent = [b, c, d, symbol];
        changed |= self.on_symbol_window();
        if changed { self.try_complete() } else { None }
    }

    fn offset(&self) -> Option<u16> {
        self.offset
    }

    fn reset(&mut self) {
        self.guide.reset();
        // The session only fills once an offset is known: without one there is nothing to wipe.
        if self.offset.take().is_some() {
            self.session.clear();
        }
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(None)
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.session.magic.get().map(|(t, _)| usize::from(t));
        let blocks = total.map(|t| {
            let n = t.div_ceil(4);
            (self.session.blocks.ready(n), n)
        });
        f.debug_struct("Decoder")
            .field("aes_key", &self.key.map(|_| "<redacted>"))
            .field("offset", &self.offset)
            .field("message_len", &total)
            .field("prefix_known", &self.session.prefix.get().is_some())
            .field("blocks_ready", &blocks)
            .finish()
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        if let Some(key) = self.key.as_mut() {
            key.zeroize();
        }
        self.session.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(magic_window(&[8, 0x1f, 0x21, 0x3c]), Some((15, 0x1c)));
        assert_eq!(magic_window(&[6, 0x11, 0x2b, 0x3b]), Some((97, 0xbb)));
        assert_eq!(magic_window(&[9, 0x11, 0x2b, 0x3b]), None);
        assert_eq!(magic_window(&[8, 0x10, 0x2b, 0x3b]), None);
        assert_eq!(prefix_window(&[64, 88, 108, 114]), Some(8));
        assert_eq!(prefix_window(&[64, 88, 108, 115]), None);
        assert_eq!(prefix_window(&[NO_SYMBOL, 88, 108, 114]), None);
    }

    #[test]
    fn debug_hides_key() {
        let d = Decoder::new(Some([0x41; 16]));
        let s = alloc::format!("{d:?}");
        assert!(s.contains("redacted") && !s.contains("65"));
    }
}
