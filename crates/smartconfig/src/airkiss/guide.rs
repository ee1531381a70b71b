//! Offset learning from the leading field `1, 2, 3, 4` (spec §1.4, §4.5, §5).

use super::MAX_GUIDE_LENGTH;

/// The offset `K` a quartet of raw lengths implies if it is an AirKiss leading quartet: four
/// distinct lengths, in any order, spanning exactly 3, all within `1..=MAX_GUIDE_LENGTH`
/// (so `K = min − 1` lies in `0..=MAX_OFFSET`).
pub fn guide_offset(quartet: &[u16; 4]) -> Option<u16> {
    let [a, b, c, d] = *quartet;
    let min = a.min(b).min(c).min(d);
    let max = a.max(b).max(c).max(d);
    let distinct = a != b && a != c && a != d && b != c && b != d && c != d;
    (distinct && min >= 1 && max <= MAX_GUIDE_LENGTH && max - min == 3).then(|| min - 1)
}

/// Watches the raw lengths of one link for leading quartets.
///
/// An offset is reported once two quartets implying it were seen with no quartet implying a
/// different one in between. A single stray quartet (for instance the last three leading lengths
/// followed by a magic length of 5, or a noise length next to three leading ones) is ignored.
#[derive(Clone, Debug, Default)]
pub(super) struct GuideDetector {
    recent: [u16; 4],
    seen: u8,
    candidate: Option<(u16, u8)>,
}

impl GuideDetector {
    /// Feeds one raw length; returns the offset when it is confirmed by this length.
    pub(super) fn push(&mut self, raw: u16) -> Option<u16> {
        let [_, b, c, d] = self.recent;
        self.recent = [b, c, d, raw];
        if self.seen < 4 {
            self.seen += 1;
            if self.seen < 4 {
                return None;
            }
        }
        let k = guide_offset(&self.recent)?;
        let count = match self.candidate {
            Some((prev, n)) if prev == k => n.saturating_add(1),
            _ => 1,
        };
        self.candidate = Some((k, count));
        (count >= 2).then_some(k)
    }

    pub(super) fn reset(&mut self) {
        *self = GuideDetector::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartets() {
        assert_eq!(guide_offset(&[81, 82, 83, 84]), Some(80));
        assert_eq!(guide_offset(&[84, 82, 81, 83]), Some(80));
        assert_eq!(guide_offset(&[1, 2, 3, 4]), Some(0));
        assert_eq!(guide_offset(&[161, 162, 163, 164]), Some(160));
        assert_eq!(guide_offset(&[162, 163, 164, 165]), None);
        assert_eq!(guide_offset(&[513, 514, 515, 516]), None);
        assert_eq!(guide_offset(&[0, 1, 2, 3]), None);
        assert_eq!(guide_offset(&[81, 81, 83, 84]), None);
        assert_eq!(guide_offset(&[81, 82, 83, 85]), None);
    }

    #[test]
    fn needs_two_quartets() {
        let mut g = GuideDetector::default();
        let got = [81, 82, 83, 84, 81].map(|l| g.push(l));
        assert_eq!(got, [None, None, None, None, Some(80)]);
        let mut g = GuideDetector::default();
        // A quartet implying another offset in between restarts the count.
        for l in [81, 82, 83, 84, 85, 100, 81, 82, 83, 84] {
            assert_eq!(g.push(l), None);
        }
        assert_eq!(g.push(81), Some(80));
    }
}
