//! The bounded table of links (one per (direction, BSSID, source) key) a searching receiver
//! tracks, each with its own decoders. Slots are allocated once; a new key takes an empty slot
//! or evicts the least recently active one and resets its decoders, so the table never grows
//! and steady-state operation allocates nothing.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::{Direction, LengthDecoder, Observation};

/// A decoder as the receiver holds it.
pub(crate) type BoxedDecoder = Box<dyn LengthDecoder + Send>;

/// A link key packed into one integer: direction (bits 96..98), BSSID (48..96), source (0..48).
pub(crate) type Key = u128;

/// The key of an empty slot; no observation packs to it (direction codes are 0..=2).
const EMPTY: Key = Key::MAX;

/// Packs `obs`'s link key.
pub(crate) fn key_of(obs: &Observation) -> Key {
    let direction: Key = match obs.direction {
        Direction::ToDs => 0,
        Direction::FromDs => 1,
        Direction::Direct => 2,
    };
    (direction << 96) | (mac48(&obs.bssid) << 48) | mac48(&obs.source)
}

fn mac48(mac: &[u8; 6]) -> Key {
    mac.iter().fold(0, |acc, &b| (acc << 8) | Key::from(b))
}

/// One tracked link.
pub(crate) struct Slot {
    /// Sequence number of the last accepted frame (retry filter).
    pub(crate) last_seq: Option<u16>,
    /// Activity stamp for least-recently-active eviction.
    stamp: u64,
    /// One decoder per protocol the receiver listens for.
    pub(crate) decoders: Vec<BoxedDecoder>,
}

impl Slot {
    fn clear(&mut self) {
        self.last_seq = None;
        self.stamp = 0;
        for decoder in &mut self.decoders {
            decoder.reset();
        }
    }

    /// Whether `seq` repeats the previous accepted frame; records it otherwise.
    pub(crate) fn is_retry(&mut self, seq: Option<u16>) -> bool {
        match seq {
            Some(seq) if self.last_seq == Some(seq) => true,
            Some(seq) => {
                self.last_seq = Some(seq);
                false
            }
            None => false,
        }
    }
}

/// Where [`Table::insert`] put a new key.
pub(crate) enum Inserted {
    /// In a free slot.
    Free(usize),
    /// In the slot of the least recently active link, which was forgotten.
    Evicted(usize),
}

/// The bounded link table.
pub(crate) struct Table {
    /// Keys, parallel to `slots` (a separate array so the search touches little memory).
    keys: Vec<Key>,
    slots: Vec<Slot>,
    /// Number of occupied slots.
    used: usize,
    /// Monotonic activity counter.
    clock: u64,
    /// Slot of the previous hit (bursts from one link are the common case).
    last_hit: usize,
}

impl Table {
    /// A table of `capacity` (≥ 1) slots, each with the decoders `make` produces.
    pub(crate) fn new(capacity: usize, mut make: impl FnMut() -> Vec<BoxedDecoder>) -> Self {
        let capacity = capacity.max(1);
        let mut keys = Vec::with_capacity(capacity);
        let mut slots = Vec::with_capacity(capacity);
        for _ in 0..capacity {
            keys.push(EMPTY);
            slots.push(Slot {
                last_seq: None,
                stamp: 0,
                decoders: make(),
            });
        }
        Table {
            keys,
            slots,
            used: 0,
            clock: 0,
            last_hit: 0,
        }
    }

    /// Number of links tracked.
    pub(crate) fn len(&self) -> usize {
        self.used
    }

    /// Forgets every link.
    pub(crate) fn clear(&mut self) {
        for (key, slot) in self.keys.iter_mut().zip(self.slots.iter_mut()) {
            if *key != EMPTY {
                *key = EMPTY;
                slot.clear();
            }
        }
        self.used = 0;
        self.clock = 0;
    }

    /// The slot at `index`.
    pub(crate) fn slot_mut(&mut self, index: usize) -> Option<&mut Slot> {
        self.slots.get_mut(index)
    }

    /// The slot of `key`, if tracked; marks it active.
    pub(crate) fn find(&mut self, key: Key) -> Option<usize> {
        let index = if self.keys.get(self.last_hit) == Some(&key) {
            self.last_hit
        } else {
            self.keys.iter().position(|&k| k == key)?
        };
        self.touch(index);
        Some(index)
    }

    /// Starts tracking `key` (not tracked yet) with freshly reset decoders, in a free slot or
    /// in place of the least recently active link; marks it active.
    pub(crate) fn insert(&mut self, key: Key) -> Inserted {
        let inserted = if let Some(index) = self.keys.iter().position(|&k| k == EMPTY) {
            self.used += 1;
            Inserted::Free(index)
        } else {
            let index = self
                .slots
                .iter()
                .enumerate()
                .min_by_key(|(_, slot)| slot.stamp)
                .map_or(0, |(index, _)| index);
            Inserted::Evicted(index)
        };
        let (Inserted::Free(index) | Inserted::Evicted(index)) = inserted;
        self.install(index, key);
        self.touch(index);
        inserted
    }

    fn touch(&mut self, index: usize) {
        self.clock = self.clock.wrapping_add(1);
        self.last_hit = index;
        if let Some(slot) = self.slots.get_mut(index) {
            slot.stamp = self.clock;
        }
    }

    fn install(&mut self, index: usize, key: Key) {
        if let (Some(k), Some(slot)) = (self.keys.get_mut(index), self.slots.get_mut(index)) {
            *k = key;
            slot.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(direction: Direction, bssid: u8, source: u8) -> Observation {
        Observation {
            time_us: 0,
            source: [2, 0, 0, 0, 0, source],
            destination: [0xff; 6],
            bssid: [2, 0, 0, 0, 1, bssid],
            direction,
            length: 100,
            seq: None,
            channel: None,
        }
    }

    #[test]
    fn keys_separate_direction_bssid_and_source() {
        let a = key_of(&obs(Direction::ToDs, 1, 1));
        assert_ne!(a, key_of(&obs(Direction::FromDs, 1, 1)));
        assert_ne!(a, key_of(&obs(Direction::Direct, 1, 1)));
        assert_ne!(a, key_of(&obs(Direction::ToDs, 2, 1)));
        assert_ne!(a, key_of(&obs(Direction::ToDs, 1, 2)));
        assert_eq!(a, key_of(&obs(Direction::ToDs, 1, 1)));
        let all_ones = Observation {
            source: [0xff; 6],
            bssid: [0xff; 6],
            ..obs(Direction::Direct, 0, 0)
        };
        assert_ne!(key_of(&all_ones), EMPTY);
    }

    #[test]
    fn evicts_least_recently_active() {
        let mut table = Table::new(2, Vec::new);
        assert!(table.find(1).is_none());
        assert!(matches!(table.insert(1), Inserted::Free(0)));
        assert!(matches!(table.insert(2), Inserted::Free(1)));
        assert_eq!(table.find(1), Some(0));
        // 2 is now the least recently active.
        assert!(matches!(table.insert(3), Inserted::Evicted(1)));
        assert_eq!(table.find(2), None);
        assert_eq!(table.find(1), Some(0));
        assert!(matches!(table.insert(2), Inserted::Evicted(1)));
        assert_eq!(table.len(), 2);
        table.clear();
        assert_eq!(table.len(), 0);
        assert_eq!(table.find(2), None);
        assert!(matches!(table.insert(2), Inserted::Free(0)));
    }

    #[test]
    fn retry_filter() {
        let mut table = Table::new(1, Vec::new);
        table.insert(7);
        let slot = table.slot_mut(0).unwrap();
        assert!(!slot.is_retry(Some(5)));
        assert!(slot.is_retry(Some(5)));
        assert!(!slot.is_retry(Some(6)));
        assert!(!slot.is_retry(None));
        assert!(slot.is_retry(Some(6)));
    }
}
