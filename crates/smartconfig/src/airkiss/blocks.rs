//! Framing of header/data symbols into blocks and the per-index block store with voting.

use zeroize::Zeroize;

use super::MAX_BLOCKS;
use super::encode::crc8_block;

/// A block as framed from the symbol stream, before it is checked against the message length.
#[derive(Clone, Copy, Default)]
pub(super) struct RawBlock {
    /// The 7-bit CRC from the first header.
    pub(super) crc: u8,
    /// The index from the second header.
    pub(super) index: u8,
    pub(super) bytes: [u8; 4],
    pub(super) len: u8,
}

impl RawBlock {
    /// Whether the 7-bit CRC over index and bytes matches.
    pub(super) fn crc_ok(&self) -> bool {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or(&[]);
        crc8_block(self.index, bytes) & 0x7f == self.crc
    }
}

/// Cuts the normalised symbol stream into blocks: two consecutive header symbols (0x80..=0xFF)
/// followed by 1..=4 data symbols (0x100..=0x1FF) and then any non-data symbol. A run of more
/// than four data symbols (an inserted length) is discarded.
#[derive(Clone, Default)]
pub(super) struct Framer {
    prev_header: Option<u8>,
    pair: Option<(u8, u8)>,
    block: RawBlock,
    overflow: bool,
}

impl Framer {
    /// A data symbol (the byte it carries).
    pub(super) fn data(&mut self, byte: u8) {
        self.prev_header = None;
        if self.pair.is_none() {
            return;
        }
        match self.block.bytes.get_mut(usize::from(self.block.len)) {
            Some(slot) => {
                *slot = byte;
                self.block.len += 1;
            }
            None => self.overflow = true,
        }
    }

    /// Any other symbol: a header value (0x80..=0xFF, low byte) or `None` for anything else.
    /// Returns the block this symbol terminated, if any.
    pub(super) fn other(&mut self, header: Option<u8>) -> Option<RawBlock> {
        let done = self.pair.take().and_then(|(first, second)| {
            (self.block.len > 0 && !self.overflow).then_some(RawBlock {
                crc: first & 0x7f,
                index: second & 0x7f,
                ..self.block
            })
        });
        self.block.zeroize();
        self.overflow = false;
        self.pair = match (self.prev_header, header) {
            (Some(first), Some(second)) => Some((first, second)),
            _ => None,
        };
        self.prev_header = header;
        done
    }
}

impl Zeroize for RawBlock {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        self.len = 0;
        self.crc = 0;
        self.index = 0;
    }
}

impl Zeroize for Framer {
    fn zeroize(&mut self) {
        self.block.zeroize();
        self.prev_header = None;
        self.pair = None;
        self.overflow = false;
    }
}

/// One candidate content of a block index, with how often it was received.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Candidate {
    bytes: [u8; 4],
    len: u8,
    /// 0 = empty slot.
    count: u8,
}

/// What storing a block did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stored {
    /// The index gained or kept a leader; completion may have become possible.
    Changed,
    /// Nothing that matters for completion changed.
    Unchanged,
    /// Two different contents were each received at least twice: two messages are mixed.
    Conflict,
}

/// Blocks by index. Each index keeps up to two different CRC-valid contents with their counts;
/// the one received more often leads, and an index whose two contents tie has no leader yet.
/// A stray CRC collision therefore loses to the real block as soon as that is received twice.
#[derive(Clone, Default)]
pub(super) struct BlockStore {
    slots: [[Candidate; 2]; MAX_BLOCKS],
}

impl BlockStore {
    pub(super) fn insert(&mut self, block: &RawBlock) -> Stored {
        let Some(pair) = self.slots.get_mut(usize::from(block.index)) else {
            return Stored::Unchanged;
        };
        let same = |c: &Candidate| c.count > 0 && c.len == block.len && c.bytes == block.bytes;
        if let Some(c) = pair.iter_mut().find(|c| same(c)) {
            c.count = c.count.saturating_add(1);
        } else if let Some(c) = pair.iter_mut().find(|c| c.count == 0) {
            *c = Candidate {
                bytes: block.bytes,
                len: block.len,
                count: 1,
            };
        } else {
            // Both slots hold other contents: replace a single-sighting one (noise), else keep.
            let [a, b] = pair;
            let weakest = if a.count <= b.count { a } else { b };
            if weakest.count > 1 {
                return Stored::Conflict;
            }
            *weakest = Candidate {
                bytes: block.bytes,
                len: block.len,
                count: 1,
            };
        }
        let [a, b] = pair;
        if a.count >= 2 && b.count >= 2 {
            Stored::Conflict
        } else {
            Stored::Changed
        }
    }

    /// The leading content of `index` (its bytes), if it has one.
    pub(super) fn leader(&self, index: usize) -> Option<&[u8]> {
        let [a, b] = self.slots.get(index)?;
        let best = match (a.count, b.count) {
            (0, 0) => return None,
            (x, y) if x == y => return None,
            (x, y) if x > y => a,
            _ => b,
        };
        best.bytes.get(..usize::from(best.len))
    }

    /// Drops every content that cannot belong to a message of `total` bytes.
    pub(super) fn prune(&mut self, total: usize) {
        for (index, pair) in self.slots.iter_mut().enumerate() {
            let want = total.saturating_sub(4 * index).min(4);
            for c in pair.iter_mut() {
                if c.count > 0 && usize::from(c.len) != want {
                    c.zeroize_candidate();
                }
            }
        }
    }

    /// Forgets the single-sighting leaders of `indices`; returns whether it forgot any.
    pub(super) fn forget_weak(&mut self, indices: core::ops::Range<usize>) -> bool {
        let mut forgot = false;
        for pair in self.slots.iter_mut().take(indices.end).skip(indices.start) {
            for c in pair.iter_mut() {
                if c.count == 1 {
                    c.zeroize_candidate();
                    forgot = true;
                }
            }
        }
        forgot
    }

    /// How many indices in `0..total_blocks` have a leader.
    pub(super) fn led(&self, total_blocks: usize) -> usize {
        (0..total_blocks)
            .filter(|&i| self.leader(i).is_some())
            .count()
    }
}

impl Candidate {
    fn zeroize_candidate(&mut self) {
        self.bytes.zeroize();
        self.len = 0;
        self.count = 0;
    }
}

impl Zeroize for BlockStore {
    fn zeroize(&mut self) {
        for c in self.slots.iter_mut().flatten() {
            c.zeroize_candidate();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(index: u8, bytes: [u8; 4], len: u8) -> RawBlock {
        let mut b = RawBlock {
            crc: 0,
            index,
            bytes,
            len,
        };
        b.crc = crc8_block(index, b.bytes.get(..usize::from(len)).unwrap()) & 0x7f;
        b
    }

    #[test]
    fn framing() {
        let mut f = Framer::default();
        assert!(f.other(Some(0x85)).is_none());
        assert!(f.other(Some(0x80)).is_none());
        f.data(1);
        f.data(2);
        let b = f.other(None).unwrap();
        assert_eq!((b.crc, b.index, b.len, b.bytes), (5, 0, 2, [1, 2, 0, 0]));
        // Five data symbols in a row: discarded.
        f.other(Some(0x85));
        f.other(Some(0x81));
        for i in 0..5 {
            f.data(i);
        }
        assert!(f.other(None).is_none());
        // A header not adjacent to another one starts nothing.
        f.other(Some(0x85));
        f.data(1);
        f.other(Some(0x81));
        f.data(1);
        assert!(f.other(None).is_none());
    }

    #[test]
    fn voting() {
        let mut s = BlockStore::default();
        let good = block(3, *b"abcd", 4);
        let bad = block(3, *b"abce", 4);
        assert_eq!(s.insert(&bad), Stored::Changed);
        assert_eq!(s.leader(3), Some(&b"abce"[..]));
        assert_eq!(s.insert(&good), Stored::Changed);
        assert_eq!(s.leader(3), None);
        assert_eq!(s.insert(&good), Stored::Changed);
        assert_eq!(s.leader(3), Some(&b"abcd"[..]));
        assert_eq!(s.insert(&bad), Stored::Conflict);

        let mut s = BlockStore::default();
        s.insert(&good);
        s.insert(&block(4, *b"x\0\0\0", 1));
        assert_eq!(s.led(5), 2);
        s.prune(16);
        assert_eq!(s.leader(4), None);
        assert_eq!(s.leader(3), Some(&b"abcd"[..]));
        s.prune(14);
        assert_eq!(s.leader(3), None);
    }
}
