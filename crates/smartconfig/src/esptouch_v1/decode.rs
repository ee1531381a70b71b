//! The device side: guide detection, item reading, accumulation and validation.

use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr};

use zeroize::Zeroize;

use super::{GUIDE_BASE, INDEX_BASE, MAX_PASSWORD_LEN, MAX_SSID_LEN, NIBBLE_BASE};
use crate::{Decoded, LengthDecoder, MAX_OFFSET, Protocol, Secret, crc8, crc8_update};

/// Item slots: the index datagram carries 7 bits.
const SLOTS: usize = 128;

/// A legacy (SSID-less) message is accepted only after this many legacy passes' worth of
/// further valid items arrived without any item that only the SSID-carrying layout has.
const LEGACY_EVIDENCE_PASSES: u32 = 3;

/// Conflicting slots (both values seen at least twice) that mean two sessions are mixed.
const CONFLICTS_FOR_RESTART: u32 = 2;

/// The last four raw lengths, checked for a guide quartet.
#[derive(Clone, Copy, Default)]
struct GuideWindow {
    last: [u16; 4],
    seen: u8,
}

impl GuideWindow {
    /// Records `length`; returns the offset when the last four lengths are four distinct values
    /// spanning exactly 3 (any order) whose minimum lies in `512..=512 + MAX_OFFSET`.
    fn push(&mut self, length: u16) -> Option<u16> {
        let [_, a, b, c] = self.last;
        self.last = [a, b, c, length];
        self.seen = self.seen.saturating_add(1).min(4);
        if self.seen < 4 {
            return None;
        }
        let min = self.last.iter().copied().min()?;
        let mut mask = 0u8;
        for &l in &self.last {
            let d = l.wrapping_sub(min);
            if d > 3 {
                return None;
            }
            mask |= 1 << d;
        }
        if mask != 0b1111 {
            return None;
        }
        let offset = min.checked_sub(GUIDE_BASE)?;
        (offset <= MAX_OFFSET).then_some(offset)
    }
}

/// A classified, normalised length.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Symbol {
    /// Nothing yet.
    Gap,
    /// A nibble datagram: `L − 40` (0..=255).
    Nibble(u8),
    /// An index datagram: `L − 296` (0..=127).
    Index(u8),
}

impl Symbol {
    /// Classifies a normalised length; `None` for lengths outside the data code (40..=423).
    fn classify(normalised: u16) -> Option<Self> {
        if let Some(v) = normalised.checked_sub(INDEX_BASE) {
            return u8::try_from(v)
                .ok()
                .filter(|&i| i <= super::MAX_INDEX)
                .map(Symbol::Index);
        }
        let v = normalised.checked_sub(NIBBLE_BASE)?;
        u8::try_from(v).ok().map(Symbol::Nibble)
    }
}

/// One item index: the value seen most often and one competing value, with their counts.
#[derive(Clone, Copy, Default, Zeroize)]
struct Slot {
    byte: u8,
    count: u8,
    alt: u8,
    alt_count: u8,
}

const EMPTY_SLOT: Slot = Slot {
    byte: 0,
    count: 0,
    alt: 0,
    alt_count: 0,
};

/// The two most recent distinct values of one half of one item.
#[derive(Clone, Copy, Default, Zeroize)]
struct Recent {
    newest: u8,
    older: u8,
    len: u8,
}

impl Recent {
    const EMPTY: Recent = Recent {
        newest: 0,
        older: 0,
        len: 0,
    };

    fn push(&mut self, value: u8) {
        if self.len > 0 && self.newest == value {
            return;
        }
        self.older = self.newest;
        self.newest = value;
        self.len = (self.len + 1).min(2);
    }

    fn values(&self) -> impl Iterator<Item = u8> {
        [self.newest, self.older]
            .into_iter()
            .take(usize::from(self.len))
    }
}

/// The two halves of an item: `(nibble, index)` and `(index, nibble)` pairs of adjacent
/// datagrams, kept until they combine into a CRC-valid item. A lost datagram makes a neighbour
/// item's nibble look like a half, so the two most recent values of each half are kept. Halves
/// are used once, so every accepted item stands for distinct receptions.
#[derive(Clone, Zeroize)]
struct Halves {
    first: [Recent; SLOTS],
    second: [Recent; SLOTS],
}

impl Halves {
    fn new() -> Self {
        Halves {
            first: [Recent::EMPTY; SLOTS],
            second: [Recent::EMPTY; SLOTS],
        }
    }

    /// The item's byte if the halves `u` and `w` pass the CRC.
    fn combine(u: u8, index: u8, w: u8) -> Option<u8> {
        let byte = (u << 4) | (w & 0x0F);
        let crc = (u & 0xF0) | (w >> 4);
        (crc8(&[byte, index]) == crc).then_some(byte)
    }

    /// A half seen for `index`: `value` goes to `mine` unless it combines with one of `theirs`.
    fn half(&mut self, index: u8, value: u8, is_first: bool) -> Option<u8> {
        let slot = usize::from(index & 0x7F);
        let (mine, theirs) = if is_first {
            (self.first.get_mut(slot)?, self.second.get_mut(slot)?)
        } else {
            (self.second.get_mut(slot)?, self.first.get_mut(slot)?)
        };
        let found = theirs.values().find_map(|other| {
            if is_first {
                Self::combine(value, index, other)
            } else {
                Self::combine(other, index, value)
            }
        });
        if found.is_some() {
            *mine = Recent::EMPTY;
            *theirs = Recent::EMPTY;
        } else {
            mine.push(value);
        }
        found
    }
}

fn low_bits(n: u32) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

/// The bytes gathered so far for one message.
#[derive(Clone)]
struct Session {
    slots: [Slot; SLOTS],
    halves: Halves,
    /// Slots holding a value.
    filled: u128,
    /// Slots whose value was seen at least twice.
    confirmed: u128,
    /// Slots holding two values each seen at least twice.
    conflicted: u128,
    /// A complete set failed validation: from now on only confirmed values count.
    strict: bool,
    /// Something changed since the last validation.
    dirty: bool,
    /// Valid items received while the legacy layout looked complete.
    legacy_evidence: u32,
}

/// Header fields `T` and `p` once plausible, with the derived SSID length.
#[derive(Clone, Copy)]
struct Header {
    total: u8,
    password_len: u8,
    ssid_len: u8,
}

impl Session {
    fn new() -> Self {
        Session {
            slots: [EMPTY_SLOT; SLOTS],
            halves: Halves::new(),
            filled: 0,
            confirmed: 0,
            conflicted: 0,
            strict: false,
            dirty: false,
            legacy_evidence: 0,
        }
    }

    fn clear(&mut self) {
        self.slots.zeroize();
        self.halves.zeroize();
        *self = Session::new();
    }

    fn byte(&self, index: usize) -> Option<u8> {
        let bit = 1u128.checked_shl(u32::try_from(index).ok()?)?;
        if self.filled & bit == 0 {
            return None;
        }
        self.slots.get(index).map(|s| s.byte)
    }

    fn bytes(&self, from: usize, to: usize) -> impl Iterator<Item = u8> + '_ {
        self.slots
            .get(from..to)
            .unwrap_or(&[])
            .iter()
            .map(|s| s.byte)
    }

    fn header(&self) -> Option<Header> {
        let total = self.byte(0)?;
        let password_len = self.byte(1)?;
        if usize::from(password_len) > MAX_PASSWORD_LEN {
            return None;
        }
        let ssid_len = total.checked_sub(9)?.checked_sub(password_len)?;
        if usize::from(ssid_len) > MAX_SSID_LEN {
            return None;
        }
        Some(Header {
            total,
            password_len,
            ssid_len,
        })
    }

    /// Stores one CRC-valid item.
    fn accept(&mut self, index: u8, byte: u8) {
        let index = index & 0x7F;
        let bit = 1u128 << index;
        let Some(slot) = self.slots.get_mut(usize::from(index)) else {
            return;
        };
        if self.filled & bit == 0 {
            *slot = Slot {
                byte,
                count: 1,
                ..EMPTY_SLOT
            };
            self.filled |= bit;
            self.dirty = true;
            return;
        }
        if slot.byte == byte {
            slot.count = slot.count.saturating_add(1);
            if slot.count == 2 {
                self.confirmed |= bit;
                self.dirty = true;
            }
            return;
        }
        if slot.alt_count > 0 && slot.alt == byte {
            slot.alt_count = slot.alt_count.saturating_add(1);
        } else {
            slot.alt = byte;
            slot.alt_count = 1;
        }
        if slot.alt_count > slot.count {
            // The competing value is now the more frequent one.
            core::mem::swap(&mut slot.byte, &mut slot.alt);
            core::mem::swap(&mut slot.count, &mut slot.alt_count);
            if slot.count >= 2 {
                self.confirmed |= bit;
            } else {
                self.confirmed &= !bit;
            }
            self.dirty = true;
        }
        if slot.count >= 2 && slot.alt_count >= 2 {
            self.conflicted |= bit;
        } else {
            self.conflicted &= !bit;
        }
        if self.conflicted.count_ones() >= CONFLICTS_FOR_RESTART {
            // Two sessions (or two senders) are mixed: start over from the value just seen.
            let seen = if slot.byte == byte {
                slot.count
            } else {
                slot.alt_count
            };
            self.clear();
            if let Some(slot) = self.slots.get_mut(usize::from(index)) {
                *slot = Slot {
                    byte,
                    count: seen,
                    ..EMPTY_SLOT
                };
                self.filled = bit;
                self.confirmed = if seen >= 2 { bit } else { 0 };
                self.dirty = true;
            }
        }
    }

    /// Checks for a complete, valid message after an item was accepted.
    fn complete(&mut self, offset: u16) -> Option<Decoded> {
        let header = self.header()?;
        let total = u32::from(header.total);
        if self.dirty {
            self.dirty = false;
            let need = low_bits(total + 6);
            let have = if self.strict {
                self.confirmed
            } else {
                self.filled
            };
            if have & need == need {
                if let Some(decoded) = self.validate(header, offset) {
                    self.clear();
                    return Some(decoded);
                }
                if self.strict {
                    // Every value was confirmed and it still does not add up.
                    self.clear();
                    return None;
                }
                self.strict = true;
            }
        }
        self.legacy(header, offset)
    }

    /// The SSID-carrying layout: SSID at `9+p..T`, BSSID at `T..T+6`; CRCs and XOR must match.
    /// Allocates only for the message it returns.
    fn validate(&self, h: Header, offset: u16) -> Option<Decoded> {
        let p = usize::from(h.password_len);
        let t = usize::from(h.total);
        let crc_of =
            |bytes: &mut dyn Iterator<Item = u8>| bytes.fold(0, |c, b| crc8_update(c, &[b]));
        let ssid_crc = crc_of(&mut self.bytes(9 + p, t));
        let bssid = self.bssid(t)?;
        let xor = self
            .bytes(0, 4)
            .chain(self.bytes(5, t))
            .fold(0u8, |acc, b| acc ^ b);
        if ssid_crc != self.byte(2)? || crc8(&bssid) != self.byte(3)? || xor != self.byte(4)? {
            return None;
        }
        let ssid = self.bytes(9 + p, t).collect();
        Some(self.decoded(h, Some(ssid), bssid, offset))
    }

    /// The legacy layout (SSID items omitted, BSSID at `9+p..15+p`). It has no check byte over
    /// the message that can be verified without the SSID, so every value must be confirmed, the
    /// BSSID CRC must match, and enough further items must have arrived without any index that
    /// only the SSID-carrying layout uses.
    fn legacy(&mut self, h: Header, offset: u16) -> Option<Decoded> {
        if h.ssid_len == 0 {
            // Both layouts coincide; the SSID-carrying check covers it.
            return None;
        }
        let p = u32::from(h.password_len);
        let legacy_items = 15 + p;
        let need = low_bits(legacy_items);
        let only_current = low_bits(u32::from(h.total) + 6) & !need;
        if self.confirmed & need != need || self.filled & only_current != 0 {
            self.legacy_evidence = 0;
            return None;
        }
        self.legacy_evidence = self.legacy_evidence.saturating_add(1);
        if self.legacy_evidence < LEGACY_EVIDENCE_PASSES * legacy_items {
            return None;
        }
        self.legacy_evidence = 0;
        let bssid = self.bssid(9 + usize::from(h.password_len))?;
        if crc8(&bssid) != self.byte(3)? {
            return None;
        }
        let decoded = self.decoded(h, None, bssid, offset);
        self.clear();
        Some(decoded)
    }

    fn bssid(&self, from: usize) -> Option<[u8; 6]> {
        let mut bssid = [0u8; 6];
        let mut n = 0;
        for (slot, b) in bssid.iter_mut().zip(self.bytes(from, from + 6)) {
            *slot = b;
            n += 1;
        }
        (n == 6).then_some(bssid)
    }

    fn decoded(&self, h: Header, ssid: Option<Vec<u8>>, bssid: [u8; 6], offset: u16) -> Decoded {
        let p = usize::from(h.password_len);
        let mut ip = [0u8; 4];
        for (slot, b) in ip.iter_mut().zip(self.bytes(5, 9)) {
            *slot = b;
        }
        Decoded {
            protocol: Protocol::EspTouch,
            ssid,
            ssid_crc: self.byte(2),
            password: Secret::new(self.bytes(9, 9 + p).collect::<Vec<u8>>()),
            bssid: Some(bssid),
            bssid_crc: None,
            token: h.total,
            phone_ip: Some(IpAddr::V4(Ipv4Addr::from(ip))),
            ipv6: false,
            reserved: Vec::new(),
            offset,
        }
    }
}

/// ESPTouch v1 decoder for one link (see the module docs).
///
/// * **Lock**: the last four raw lengths are checked for a guide quartet (four distinct lengths
///   spanning exactly 3, any order, smallest in `512..=512 + MAX_OFFSET`); the offset is its
///   smallest length − 512. A quartet with a different offset re-locks and starts over.
/// * **Items**: after the lock, lengths outside the data code (40..=423 after the offset) are
///   skipped without separating their neighbours. A `(nibble, index)` pair is the first half of
///   an item, an `(index, nibble)` pair the second half; halves are kept per index until two
///   combine into a CRC-valid item, so a triplet missing its first datagram in one pass and its
///   last in another still counts. The two latest values of each half are kept (a lost
///   datagram makes a neighbour's nibble look like a half); each half is used once; a repeated
///   index datagram is ignored.
/// * **Votes**: per index the most frequent value wins; when two indices each carry two values
///   seen at least twice, two sessions are mixed and the decoder starts over from the newest
///   value. A complete set that fails the CRC/XOR checks makes the decoder accept only values
///   seen at least twice; if that still fails it starts over.
/// * **Legacy layout** (SSID omitted): accepted once every item of `0..15+p` was seen twice, the
///   BSSID CRC matches and three more legacy passes' worth of items arrived without any index
///   only the SSID-carrying layout uses; reported with `ssid: None`.
///
/// Memory is fixed (under 2 KiB, no allocation until a message is returned) and each
/// [`LengthDecoder::push`] does a bounded amount of work. After a message is returned the bytes
/// are forgotten but the learned offset is kept; [`LengthDecoder::reset`] forgets both.
#[derive(Clone)]
pub struct Decoder {
    guide: GuideWindow,
    offset: Option<u16>,
    /// The previous data-code symbol.
    previous: Symbol,
    session: Session,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder that has not seen a guide quartet yet.
    pub fn new() -> Self {
        Decoder {
            guide: GuideWindow::default(),
            offset: None,
            previous: Symbol::Gap,
            session: Session::new(),
        }
    }

    /// Number of distinct item indices received in the current session.
    pub fn received_items(&self) -> usize {
        self.session.filled.count_ones() as usize
    }

    /// Number of items of the SSID-carrying layout (`T + 6`), once a plausible header arrived.
    pub fn expected_items(&self) -> Option<usize> {
        self.session.header().map(|h| usize::from(h.total) + 6)
    }

    /// Reads the pair (previous, `symbol`): a `(nibble, index)` or `(index, nibble)` pair is one
    /// half of an item; returns the item when it combines with the other half into a CRC-valid
    /// one.
    fn read_pair(&mut self, symbol: Symbol) -> Option<(u8, u8)> {
        let previous = self.previous;
        if matches!(symbol, Symbol::Index(_)) && previous == symbol {
            // A repeated index datagram (retry or duplicate): ignore it entirely.
            return None;
        }
        self.previous = symbol;
        let halves = &mut self.session.halves;
        match (previous, symbol) {
            (Symbol::Nibble(u), Symbol::Index(i)) => halves.half(i, u, true).map(|b| (i, b)),
            (Symbol::Index(i), Symbol::Nibble(w)) => halves.half(i, w, false).map(|b| (i, b)),
            _ => None,
        }
    }
}

impl LengthDecoder for Decoder {
    fn protocol(&self) -> Protocol {
        Protocol::EspTouch
    }

    fn push(&mut self, length: u16) -> Option<Decoded> {
        if let Some(offset) = self.guide.push(length)
            && self.offset != Some(offset)
        {
            self.offset = Some(offset);
            self.session.clear();
            self.previous = Symbol::Gap;
        }
        let offset = self.offset?;
        // Lengths outside the data code are other traffic (or guide datagrams): they are skipped
        // without separating their neighbours, since every item carries its own CRC.
        let symbol = Symbol::classify(length.checked_sub(offset)?)?;
        let (index, byte) = self.read_pair(symbol)?;
        self.session.accept(index, byte);
        self.session.complete(offset)
    }

    fn offset(&self) -> Option<u16> {
        self.offset
    }

    fn reset(&mut self) {
        // Field by field: assigning a new decoder would run `Drop` (a second wipe) on the old.
        // Items are only stored once an offset is known, so without one there is nothing to wipe.
        if self.offset.is_some() {
            self.session.clear();
        }
        self.guide = GuideWindow::default();
        self.offset = None;
        self.previous = Symbol::Gap;
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        self.session.slots.zeroize();
        self.session.halves.zeroize();
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the bytes: they contain the password.
        f.debug_struct("Decoder")
            .field("offset", &self.offset)
            .field("received_items", &self.received_items())
            .field("expected_items", &self.expected_items())
            .field("strict", &self.session.strict)
            .finish_non_exhaustive()
    }
}

/// Whether a scanned `ssid` fits a decoded ESPTouch v1 message: right length
/// (`T − 9 − p`) and right CRC-8; for a message that carried its SSID, also equal to it. This is
/// how a receiver fills in the SSID of a legacy message (`ssid: None`); prefer the scan entry
/// whose BSSID equals [`Decoded::bssid`] and accept only a unique match.
pub fn ssid_candidate_matches(decoded: &Decoded, ssid: &[u8]) -> bool {
    if decoded.protocol != Protocol::EspTouch {
        return false;
    }
    if let Some(own) = &decoded.ssid {
        return own.as_slice() == ssid;
    }
    let expected_len = usize::from(decoded.token)
        .checked_sub(9)
        .and_then(|v| v.checked_sub(decoded.password.len()));
    expected_len == Some(ssid.len()) && decoded.ssid_crc == Some(crc8(ssid))
}
