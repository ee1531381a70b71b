//! Brute-force protection: failed authentications are counted per device, and after a run of
//! failures further handshakes are refused with exponentially growing pauses.

use core::time::Duration;

use crate::error::{Error, Result};
use crate::time::Instant;

/// Settings of the [`AuthThrottle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures in a row that are tolerated without any pause (default 5).
    pub free_failures: u32,
    /// The pause after the first failure beyond the free ones (default 1 s).
    pub base_delay: Duration,
    /// The longest pause (default 5 min).
    pub max_delay: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            free_failures: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
        }
    }
}

/// Counts consecutive authentication failures and decides when handshakes may resume.
#[derive(Clone, Debug)]
pub struct AuthThrottle {
    config: ThrottleConfig,
    failures: u32,
    blocked_until: Option<Instant>,
}

impl AuthThrottle {
    /// A throttle with no failures recorded.
    pub fn new(config: ThrottleConfig) -> Self {
        AuthThrottle {
            config,
            failures: 0,
            blocked_until: None,
        }
    }

    /// Fails with [`Error::Throttled`] while handshakes are paused.
    pub fn check(&self, now: Instant) -> Result<()> {
        match self.blocked_until {
            Some(until) if now < until => Err(Error::Throttled {
                retry_after: until.saturating_duration_since(now),
            }),
            _ => Ok(()),
        }
    }

    /// Records a failed authentication at `now`.
    pub fn record_failure(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.config.free_failures {
            let doublings = (self.failures - self.config.free_failures).min(31);
            let delay = self
                .config
                .base_delay
                .saturating_mul(1u32 << doublings)
                .min(self.config.max_delay);
            self.blocked_until = Some(now + delay);
        }
    }

    /// Records a successful authentication: the count starts again.
    pub fn record_success(&mut self) {
        self.failures = 0;
        self.blocked_until = None;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    #[test]
    fn backoff_grows_and_resets() {
        let mut t = AuthThrottle::new(ThrottleConfig::default());
        for _ in 0..4 {
            t.record_failure(ms(0));
            assert!(t.check(ms(0)).is_ok());
        }
        t.record_failure(ms(0)); // fifth in a row
        assert!(
            matches!(t.check(ms(999)), Err(Error::Throttled { retry_after }) if retry_after == Duration::from_millis(1))
        );
        assert!(t.check(ms(1000)).is_ok());
        t.record_failure(ms(1000));
        assert!(t.check(ms(2999)).is_err());
        assert!(t.check(ms(3000)).is_ok());
        for _ in 0..40 {
            t.record_failure(ms(3000));
        }
        assert!(
            matches!(t.check(ms(3000)), Err(Error::Throttled { retry_after }) if retry_after == Duration::from_secs(300))
        );
        t.record_success();
        assert!(t.check(ms(3000)).is_ok());
        assert_eq!(t.failures(), 0);
    }
}
