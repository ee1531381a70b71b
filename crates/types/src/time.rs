//! Time as the caller tells it.
//!
//! The core never reads a clock. Every input that can expire something takes an [`Instant`]:
//! a monotonic timestamp in milliseconds since an epoch the caller chooses (process start, boot,
//! or zero in tests).

use core::ops::Add;
use core::time::Duration;

/// A monotonic point in time, in milliseconds since a caller-chosen epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The epoch.
    pub const ZERO: Instant = Instant(0);

    /// An instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, rhs: Duration) -> Instant {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t + Duration::from_millis(7), Instant::from_millis(12));
        assert_eq!(
            Instant::from_millis(u64::MAX) + Duration::from_secs(1),
            Instant::from_millis(u64::MAX)
        );
        assert_eq!(
            t.saturating_duration_since(Instant::from_millis(9)),
            Duration::ZERO
        );
        assert_eq!(
            Instant::from_millis(9).saturating_duration_since(t),
            Duration::from_millis(4)
        );
    }
}
