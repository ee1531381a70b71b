//! Plane bookkeeping for the decoder: one pass of a group, and per-plane votes across passes.

use zeroize::Zeroize;

/// Planes of one pass of one group: values and a presence mask (bit i = plane i).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pass {
    pub values: [u8; 8],
    pub mask: u8,
    /// The pass already lost a plane to a disorder.
    pub strike: bool,
}

impl Pass {
    pub fn get(&self, index: u8) -> Option<u8> {
        if self.mask & (1 << index) != 0 {
            self.values.get(usize::from(index)).copied()
        } else {
            None
        }
    }

    pub fn set(&mut self, index: u8, value: u8) {
        if let Some(slot) = self.values.get_mut(usize::from(index)) {
            *slot = value;
            self.mask |= 1 << index;
        }
    }

    /// Highest plane index present.
    pub fn last(&self) -> Option<u8> {
        (self.mask != 0).then(|| 7 - self.mask.leading_zeros() as u8)
    }

    pub fn remove(&mut self, index: u8) {
        self.mask &= !(1 << index);
    }

    pub fn is_full(&self) -> bool {
        self.mask == 0xff
    }

    pub fn clear(&mut self) {
        self.values.zeroize();
        self.mask = 0;
        self.strike = false;
    }
}

/// Saturation of a vote count.
const CAP: u8 = 15;

/// One candidate value of a plane and its support.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    value: u8,
    count: u8,
}

/// Per-plane votes across passes: the leading value and one challenger (a two-counter
/// frequent-items summary). A sighting of a third value erodes the challenger, never the
/// leader, so sporadic stray values cannot dislodge a well-supported plane; a value seen more
/// often than the leader takes over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Votes {
    leader: [Tally; 8],
    challenger: [Tally; 8],
}

impl Votes {
    /// Adds one sighting; returns whether it disagreed with the current leader.
    pub fn add(&mut self, index: u8, value: u8) -> bool {
        let i = usize::from(index);
        let (Some(leader), Some(challenger)) = (self.leader.get_mut(i), self.challenger.get_mut(i))
        else {
            return false;
        };
        if leader.count == 0 || leader.value == value {
            leader.value = value;
            leader.count = (leader.count + 1).min(CAP);
            return false;
        }
        if challenger.count == 0 || challenger.value == value {
            challenger.value = value;
            challenger.count = (challenger.count + 1).min(CAP);
            if challenger.count > leader.count {
                core::mem::swap(leader, challenger);
            }
        } else {
            challenger.count -= 1;
        }
        true
    }

    /// Adds every plane of `pass`; returns whether any disagreed.
    pub fn add_pass(&mut self, pass: &Pass) -> bool {
        let mut conflict = false;
        for index in 0..8u8 {
            if let Some(value) = pass.get(index) {
                conflict |= self.add(index, value);
            }
        }
        conflict
    }

    /// The leading value of every plane.
    pub fn values(&self) -> [u8; 8] {
        self.leader.map(|t| t.value)
    }

    /// The weakest plane's support: its leader's count minus its challenger's (0 while some
    /// plane was never seen or is tied).
    pub fn min_count(&self) -> u8 {
        self.leader
            .iter()
            .zip(&self.challenger)
            .map(|(l, c)| l.count.saturating_sub(c.count))
            .min()
            .unwrap_or(0)
    }

    pub fn clear(&mut self) {
        self.leader
            .iter_mut()
            .chain(self.challenger.iter_mut())
            .for_each(|t| {
                t.value.zeroize();
                t.count = 0;
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_wins() {
        let mut v = Votes::default();
        assert!(!v.add(0, 5));
        assert_eq!(v.min_count(), 0); // planes 1..7 unseen
        assert!(v.add(0, 9)); // tie 1:1
        assert!(!v.add(0, 5));
        assert!(v.add(0, 7)); // erodes the challenger, not the leader
        assert_eq!(v.values()[0], 5);
        assert!(v.add(0, 7));
        assert!(v.add(0, 7));
        assert!(v.add(0, 7)); // 7 now seen more often than 5
        assert_eq!(v.values()[0], 7);
        let mut pass = Pass::default();
        for i in 0..8 {
            pass.set(i, i + 1);
        }
        assert!(pass.is_full());
        let mut w = Votes::default();
        assert!(!w.add_pass(&pass));
        assert!(!w.add_pass(&pass));
        assert_eq!(w.min_count(), 2);
        assert_eq!(w.values(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(w.add(3, 0));
        assert_eq!(w.min_count(), 1);
        for _ in 0..20 {
            w.add_pass(&pass);
        }
        assert_eq!(w.min_count(), CAP - 1);
        w.clear();
        assert_eq!(w, Votes::default());
    }
}
