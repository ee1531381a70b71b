//! The per-index block store: contents received for each block index, with their counts.

use zeroize::Zeroize;

use super::MAX_BLOCKS;

/// One candidate content of a block index, with how it was received.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Candidate {
    bytes: [u8; 4],
    len: u8,
    /// How often it was received; 0 = empty slot.
    count: u8,
    /// Received at least once followed by the header pair of the next block (or, for the last
    /// block, by the end of the pass), so it cannot be two blocks run together.
    in_sequence: bool,
}

/// Receptions (and margin) needed by a content with two equal adjacent bytes: a duplicated
/// length in place of a lost one produces exactly such contents.
const REPEAT_NEED: u8 = 3;

impl Candidate {
    /// Evidence of a message of its own, so that a different one of the same standing means
    /// two messages: received three times, at least once in sequence.
    fn established(&self) -> bool {
        self.count >= 3 && self.in_sequence
    }

    fn clear(&mut self) {
        self.bytes.zeroize();
        *self = Candidate::default();
    }
}

/// What storing a block did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stored {
    /// The block was recorded; completion may have become possible.
    Changed,
    /// Nothing changed (not a storable index, or a third content while two are repeated).
    Unchanged,
    /// Two different contents are both established: two messages are mixed.
    Conflict,
}

/// Blocks by index. Each index keeps up to two different CRC-valid contents with their counts.
/// A content is used once it was received at least twice and at least two times more than the
/// other content of its index (three and three when it holds two equal adjacent bytes). A single reception is never enough: two blocks run together
/// after lost headers, or a noise or duplicated length in place of a lost data length, keep the
/// framing and pass the 7-bit CRC once in 128; the SSID CRC (the same polynomial) then misses
/// half of them and nothing checks the password. Such a content can recur (the same loss and
/// duplicate pattern), but far less often than the real one, hence the margin.
#[derive(Clone, Default)]
pub(super) struct BlockStore {
    slots: [[Candidate; 2]; MAX_BLOCKS],
}

impl BlockStore {
    /// Records one reception of `bytes` (1..=4) as block `index`.
    pub(super) fn insert(&mut self, index: usize, bytes: &[u8], in_sequence: bool) -> Stored {
        let Some(pair) = self.slots.get_mut(index) else {
            return Stored::Unchanged;
        };
        let mut content = [0u8; 4];
        let Some(dst) = content.get_mut(..bytes.len()) else {
            return Stored::Unchanged;
        };
        dst.copy_from_slice(bytes);
        let len = dst.len() as u8;
        let fresh = Candidate {
            bytes: content,
            len,
            count: 1,
            in_sequence,
        };
        let same = |c: &Candidate| c.count > 0 && c.len == len && c.bytes == content;
        if let Some(c) = pair.iter_mut().find(|c| same(c)) {
            c.count = c.count.saturating_add(1);
            c.in_sequence |= in_sequence;
        } else if let Some(c) = pair.iter_mut().find(|c| c.count == 0) {
            *c = fresh;
        } else {
            // Both slots hold other contents: a single-sighting one makes room, else keep both.
            let [a, b] = pair;
            let weakest = if a.count <= b.count { a } else { b };
            if weakest.count > 1 {
                return Stored::Unchanged;
            }
            weakest.clear();
            *weakest = fresh;
        }
        let [a, b] = pair;
        if a.established() && b.established() {
            Stored::Conflict
        } else {
            Stored::Changed
        }
    }

    /// The usable content of `index` (its bytes), if it has one.
    pub(super) fn leader(&self, index: usize) -> Option<&[u8]> {
        let [a, b] = self.slots.get(index)?;
        let (best, other) = if a.count >= b.count { (a, b) } else { (b, a) };
        let bytes = best.bytes.get(..usize::from(best.len))?;
        let need = if bytes.windows(2).any(|w| w.first() == w.get(1)) {
            REPEAT_NEED
        } else {
            2
        };
        let usable = best.count >= need && best.count >= other.count.saturating_add(need);
        if !usable {
            return None;
        }
        best.bytes.get(..usize::from(best.len))
    }

    /// Drops every content that cannot belong to a message of `total` bytes.
    pub(super) fn prune(&mut self, total: usize) {
        for (index, pair) in self.slots.iter_mut().enumerate() {
            let want = total.saturating_sub(4 * index).min(4);
            for c in pair.iter_mut() {
                if c.count > 0 && usize::from(c.len) != want {
                    c.clear();
                }
            }
        }
    }

    /// Forgets everything stored for `indices`.
    pub(super) fn forget(&mut self, indices: core::ops::Range<usize>) {
        for c in self
            .slots
            .iter_mut()
            .take(indices.end)
            .skip(indices.start)
            .flatten()
        {
            c.clear();
        }
    }

    /// How many indices in `0..total_blocks` have a usable content.
    pub(super) fn ready(&self, total_blocks: usize) -> usize {
        (0..total_blocks)
            .filter(|&i| self.leader(i).is_some())
            .count()
    }
}

impl Zeroize for BlockStore {
    fn zeroize(&mut self) {
        for c in self.slots.iter_mut().flatten() {
            c.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voting() {
        let (good, bad) = (b"abcd", b"abce");
        let mut s = BlockStore::default();
        // Once, even in sequence: not used; twice: used.
        assert_eq!(s.insert(3, good, true), Stored::Changed);
        assert_eq!(s.leader(3), None);
        assert_eq!(s.insert(3, good, false), Stored::Changed);
        assert_eq!(s.leader(3), Some(&good[..]));
        // A rival: the leader needs a margin of two.
        s.insert(3, bad, true);
        assert_eq!(s.leader(3), None);
        s.insert(3, good, true);
        assert_eq!(s.leader(3), Some(&good[..]));
        s.insert(3, bad, false);
        assert_eq!(s.leader(3), None);
        // Both three times, in sequence: two messages are mixed.
        assert_eq!(s.insert(3, bad, false), Stored::Conflict);

        // A third content replaces a single-sighting one only.
        let mut s = BlockStore::default();
        s.insert(3, good, false);
        s.insert(3, good, false);
        s.insert(3, bad, false);
        s.insert(3, b"abcf", false);
        s.insert(3, good, false);
        assert_eq!(s.leader(3), Some(&good[..]));

        // Repeated adjacent bytes need three receptions.
        s.insert(5, b"xx", true);
        s.insert(5, b"xx", true);
        assert_eq!(s.leader(5), None);
        s.insert(5, b"xx", true);
        assert_eq!(s.leader(5), Some(&b"xx"[..]));

        // Lengths that do not fit the message are dropped.
        s.insert(4, b"x", true);
        s.insert(4, b"x", true);
        assert_eq!(s.ready(6), 3);
        s.prune(22);
        assert_eq!(s.leader(4), None);
        assert_eq!(s.leader(3), Some(&good[..]));
        assert_eq!(s.leader(5), Some(&b"xx"[..]));
        s.prune(14);
        assert_eq!(s.leader(3), None);
        s.forget(0..6);
        assert_eq!(s.ready(6), 0);
        // Out of range.
        assert_eq!(s.insert(MAX_BLOCKS, good, true), Stored::Unchanged);
        assert_eq!(s.insert(0, b"abcde", true), Stored::Unchanged);
    }
}
