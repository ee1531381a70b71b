//! Cutting the normalised symbol stream into candidate blocks.
//!
//! A block on the air is two header symbols (0x80 + 7-bit CRC, 0x80 + index) followed by its
//! 1..=4 data symbols (0x100 + byte). The framer reports every data run that follows adjacent
//! header symbols, together with the header pairs it may belong to and what came after it; the
//! decoder then decides, knowing the message length, which reading (if any) passes the CRC.
//! Duplicated lengths (retries nobody removed) are tolerated: a duplicated second header is
//! offered as an alternative reading, and a run up to two symbols too long may be shortened by
//! collapsing adjacent equal data symbols ([`collapse`]).

use zeroize::Zeroize;

use super::encode::crc8_block;

/// Longest data run kept: four data symbols plus two duplicates.
pub(super) const MAX_RUN: usize = 6;

/// One normalised symbol, as the framer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Symbol {
    /// 0x100..=0x1FF: a data byte.
    Data(u8),
    /// 0x80..=0xFF: a block header (low byte).
    Header(u8),
    /// Anything else (guide, magic, prefix, out of range).
    Other,
}

/// What followed a data run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Two adjacent header symbols; the index of the second one.
    Pair(u8),
    /// A symbol that is neither header nor data (the prefix or leading field after a pass).
    Other,
    /// A header followed by a non-header: the next block's index is unknown.
    Unknown,
}

/// A data run and the header pairs `(crc7, index)` it may belong to.
#[derive(Clone, Copy, Default)]
pub(super) struct Run {
    /// The last two header symbols before the run; when those two are equal and a third header
    /// precedes them, also that one and the first of the two (the second header duplicated).
    pub(super) headers: [Option<(u8, u8)>; 2],
    data: [u8; MAX_RUN],
    len: u8,
}

impl Run {
    /// The data bytes as received.
    pub(super) fn data(&self) -> &[u8] {
        self.data.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl Zeroize for Run {
    fn zeroize(&mut self) {
        self.data.zeroize();
        self.len = 0;
        self.headers = [None; 2];
    }
}

/// The framing state machine.
#[derive(Clone, Default)]
pub(super) struct Framer {
    /// The last (up to three) header symbols of the current run of consecutive headers.
    headers: [u8; 3],
    header_count: u8,
    /// The run being collected, if it followed at least two header symbols.
    run: Option<Run>,
    overflow: bool,
    /// A run ended by a header, waiting for the symbol after that header.
    pending: Option<Run>,
}

impl Framer {
    /// Feeds one symbol; returns a finished run with what followed it.
    pub(super) fn push(&mut self, symbol: Symbol) -> Option<(Run, Next)> {
        let out = self.pending.take().map(|run| {
            let next = match symbol {
                Symbol::Header(h) => Next::Pair(h & 0x7f),
                _ => Next::Unknown,
            };
            (run, next)
        });
        match symbol {
            Symbol::Data(byte) => {
                if self.header_count > 0 {
                    self.start_run();
                }
                if let Some(run) = self.run.as_mut() {
                    match run.data.get_mut(usize::from(run.len)) {
                        Some(slot) => {
                            *slot = byte;
                            run.len += 1;
                        }
                        None => self.overflow = true,
                    }
                }
                out
            }
            Symbol::Header(h) => {
                // A finished run implies the previous symbol was data, so nothing was pending.
                self.pending = self.finish();
                let [_, b, c] = self.headers;
                self.headers = [b, c, h];
                self.header_count = self.header_count.saturating_add(1);
                out
            }
            Symbol::Other => {
                self.header_count = 0;
                out.or_else(|| self.finish().map(|run| (run, Next::Other)))
            }
        }
    }

    /// The first data symbol after headers: decide which header pairs the run may belong to.
    fn start_run(&mut self) {
        let [a, b, c] = self.headers;
        self.run = (self.header_count >= 2).then(|| Run {
            headers: [
                Some((b & 0x7f, c & 0x7f)),
                (self.header_count >= 3 && b == c).then_some((a & 0x7f, b & 0x7f)),
            ],
            ..Run::default()
        });
        self.header_count = 0;
        self.overflow = false;
    }

    fn finish(&mut self) -> Option<Run> {
        let run = self.run.take()?;
        let overflow = core::mem::replace(&mut self.overflow, false);
        (run.len > 0 && !overflow).then_some(run)
    }
}

impl Zeroize for Framer {
    fn zeroize(&mut self) {
        if let Some(run) = self.run.as_mut() {
            run.zeroize();
        }
        if let Some(run) = self.pending.as_mut() {
            run.zeroize();
        }
        *self = Framer::default();
    }
}

/// The readings of `run` that are exactly `want` bytes long: the run itself, or the run with
/// one or two symbols removed that each repeated the symbol before it (duplicates). Calls `f`
/// once per distinct reading.
pub(super) fn collapse(run: &[u8], want: usize, f: &mut impl FnMut(&[u8])) {
    let mut seen = Seen::default();
    collapse_into(run, want, &mut seen, f);
}

/// Readings already reported (a run of several equal symbols gives the same reading whichever
/// copy is removed).
#[derive(Default)]
struct Seen {
    items: [[u8; 4]; 8],
    count: usize,
}

fn collapse_into(run: &[u8], want: usize, seen: &mut Seen, f: &mut impl FnMut(&[u8])) {
    if run.len() == want {
        let mut key = [0u8; 4];
        if let Some(dst) = key.get_mut(..want) {
            dst.copy_from_slice(run);
        } else {
            return;
        }
        let known = seen.items.iter().take(seen.count).any(|k| *k == key);
        if !known {
            if let Some(slot) = seen.items.get_mut(seen.count) {
                *slot = key;
                seen.count += 1;
            }
            f(run);
        }
        return;
    }
    if run.len() > want + 2 || run.len() < want {
        return;
    }
    for i in 1..run.len() {
        if run.get(i) == run.get(i - 1) {
            let mut shorter = [0u8; MAX_RUN];
            let (head, tail) = (run.get(..i).unwrap_or(&[]), run.get(i + 1..).unwrap_or(&[]));
            if let Some(dst) = shorter.get_mut(..head.len()) {
                dst.copy_from_slice(head);
            }
            if let Some(dst) = shorter.get_mut(head.len()..head.len() + tail.len()) {
                dst.copy_from_slice(tail);
            }
            let len = run.len() - 1;
            collapse_into(shorter.get(..len).unwrap_or(&[]), want, seen, f);
            shorter.zeroize();
        }
    }
}

/// The unique `(index, bytes)` reading of `run` whose CRC matches, given the number of bytes
/// the block with a given index must hold (`want(index)`, 0 for an impossible index). `None`
/// when no reading or more than one distinct reading matches.
pub(super) fn read(run: &Run, want: impl Fn(u8) -> usize) -> Option<(u8, [u8; 4], u8)> {
    let mut found: Option<(u8, [u8; 4], u8)> = None;
    let mut ambiguous = false;
    for (crc, index) in run.headers.iter().flatten().copied() {
        let n = want(index);
        if n == 0 {
            continue;
        }
        collapse(run.data(), n, &mut |bytes| {
            if crc8_block(index, bytes) & 0x7f != crc {
                return;
            }
            let mut content = [0u8; 4];
            if let Some(dst) = content.get_mut(..bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            let reading = (index, content, bytes.len() as u8);
            match found {
                None => found = Some(reading),
                Some(f) if f == reading => {}
                Some(_) => ambiguous = true,
            }
        });
    }
    if ambiguous { None } else { found }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Symbol::{Data, Header, Other};
    use alloc::vec;
    use alloc::vec::Vec;

    fn feed(f: &mut Framer, symbols: &[Symbol]) -> Option<(Run, Next)> {
        let mut out = None;
        for &s in symbols {
            if let Some(got) = f.push(s) {
                assert!(out.is_none(), "one run expected");
                out = Some(got);
            }
        }
        out
    }

    #[test]
    fn framing() {
        let mut f = Framer::default();
        let (r, next) = feed(
            &mut f,
            &[Header(0x85), Header(0x80), Data(1), Data(2), Other],
        )
        .unwrap();
        assert_eq!(
            (r.headers, r.data(), next),
            ([Some((5, 0)), None], &[1, 2][..], Next::Other)
        );
        // Ended by a header pair: reported with the next index once the pair is complete.
        assert!(feed(&mut f, &[Header(0x85), Header(0x81), Data(1), Header(0x90)]).is_none());
        let (r, next) = f.push(Header(0x82)).unwrap();
        assert_eq!((r.headers[0], next), (Some((5, 1)), Next::Pair(2)));
        // Ended by a lone header.
        f.push(Data(7));
        let (_, next) = feed(&mut f, &[Header(0x90), Other]).unwrap();
        assert_eq!(next, Next::Unknown);
        // Seven data symbols in a row: discarded; six are kept.
        let mut long = vec![Header(0x85), Header(0x81)];
        long.extend((0..7).map(Data));
        long.push(Other);
        assert!(feed(&mut f, &long).is_none());
        long.remove(2);
        assert_eq!(
            feed(&mut f, &long).unwrap().0.data(),
            &[1, 2, 3, 4, 5, 6][..]
        );
        // A header not adjacent to another one starts nothing.
        let lone = [Header(0x85), Data(1), Header(0x81), Data(1), Other];
        assert!(feed(&mut f, &lone).is_none());
        // A duplicated second header: both readings offered.
        let dup = [Header(0x85), Header(0x81), Header(0x81), Data(1), Other];
        let (r, _) = feed(&mut f, &dup).unwrap();
        assert_eq!(r.headers, [Some((1, 1)), Some((5, 1))]);
    }

    #[test]
    fn collapsing() {
        let mut got = Vec::new();
        collapse(&[1, 1, 2, 3, 3, 4], 4, &mut |r| got.push(r.to_vec()));
        assert_eq!(got, [vec![1, 2, 3, 4]]);
        got.clear();
        collapse(&[1, 1, 1, 2, 3], 4, &mut |r| got.push(r.to_vec()));
        assert_eq!(got, [vec![1, 1, 2, 3]]);
        got.clear();
        collapse(&[1, 1, 2, 2, 3], 4, &mut |r| got.push(r.to_vec()));
        assert_eq!(got, [vec![1, 2, 2, 3], vec![1, 1, 2, 3]]);
        got.clear();
        collapse(&[1, 2, 3, 4, 5], 4, &mut |r| got.push(r.to_vec()));
        assert!(got.is_empty());
        collapse(&[1, 2, 3], 4, &mut |r| got.push(r.to_vec()));
        assert!(got.is_empty());
    }

    #[test]
    fn reading() {
        let crc = crc8_block(2, b"abcd") & 0x7f;
        let mut run = Run {
            headers: [Some((crc, 2)), None],
            ..Run::default()
        };
        for (i, b) in b"abbcdd".iter().enumerate() {
            run.data[i] = *b;
        }
        run.len = 6;
        assert_eq!(read(&run, |_| 4), Some((2, *b"abcd", 4)));
        assert_eq!(read(&run, |_| 0), None);
        run.headers = [Some((crc ^ 1, 2)), Some((crc, 2))];
        assert_eq!(read(&run, |_| 4), Some((2, *b"abcd", 4)));
    }
}
