//! A token bucket for credential submissions.
//!
//! Each attempt makes the device leave its access point's channel on single-radio hardware,
//! and access points lock out stations that keep failing: a burst of [`Limiter::BURST`]
//! submissions is allowed, then one per [`Limiter::REFILL`]. Time is passed in.

use std::time::Duration;

/// The submission limiter.
#[derive(Clone, Debug)]
pub struct Limiter {
    burst: u32,
    refill: Duration,
    /// Tokens left, and the instant they were counted at.
    tokens: u32,
    at: Duration,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(Limiter::BURST, Limiter::REFILL)
    }
}

impl Limiter {
    /// The default burst.
    pub const BURST: u32 = 5;
    /// The default time for one more submission.
    pub const REFILL: Duration = Duration::from_secs(10);

    /// A full bucket of `burst` tokens, one more every `refill` (at least one token, and at
    /// least a millisecond).
    pub fn new(burst: u32, refill: Duration) -> Self {
        let burst = burst.max(1);
        Limiter {
            burst,
            refill: refill.max(Duration::from_millis(1)),
            tokens: burst,
            at: Duration::ZERO,
        }
    }

    /// Takes a token at `now` (time since any fixed start, never going back): `Ok` if the
    /// submission may go on, or how long until it may.
    pub fn take(&mut self, now: Duration) -> Result<(), Duration> {
        let elapsed = now.saturating_sub(self.at);
        let refill_nanos = self.refill.as_nanos().max(1);
        let earned = elapsed.as_nanos() / refill_nanos;
        if earned > 0 {
            let earned = u32::try_from(earned).unwrap_or(u32::MAX);
            self.tokens = self.tokens.saturating_add(earned).min(self.burst);
            let used = self.refill.saturating_mul(earned);
            self.at = if self.tokens == self.burst {
                now
            } else {
                self.at.saturating_add(used)
            };
        }
        if self.tokens == 0 {
            let next = self.at.saturating_add(self.refill);
            return Err(next.saturating_sub(now).max(Duration::from_millis(1)));
        }
        if self.tokens == self.burst {
            self.at = now;
        }
        self.tokens -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn burst_then_one_per_refill() {
        let mut l = Limiter::new(3, S(10));
        assert!(l.take(S(0)).is_ok());
        assert!(l.take(S(0)).is_ok());
        assert!(l.take(S(1)).is_ok());
        assert_eq!(l.take(S(2)), Err(S(8)));
        assert!(l.take(S(10)).is_ok());
        assert!(l.take(S(11)).is_err());
        assert!(l.take(S(20)).is_ok());
        assert!(l.take(S(100)).is_ok());
        assert!(l.take(S(100)).is_ok());
        assert!(l.take(S(100)).is_ok());
        assert!(l.take(S(100)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_more_than_burst_plus_rate(steps in proptest::collection::vec(0u64..5_000, 1..200)) {
            let mut l = Limiter::new(3, Duration::from_millis(1_000));
            let mut now = Duration::ZERO;
            let mut allowed = 0u64;
            for step in steps {
                now += Duration::from_millis(step);
                if l.take(now).is_ok() { allowed += 1; }
            }
            proptest::prop_assert!(allowed <= 3 + now.as_millis() as u64 / 1_000);
        }
    }
}
