//! Brute-force protection, per source with a global ceiling.
//!
//! Every connection comes from a [`Source`] (the peer's IP address, a BLE address, the
//! console). Failed authentications are counted per source: a few are free, then that source
//! alone waits, exponentially longer. Sources live in a bounded table; the least recently
//! seen is forgotten when it is full.
//!
//! Because sources can be many (an attacker with many addresses), a global bucket of failed
//! attempts bounds the total guess rate: every failure takes a token, tokens come back at a
//! fixed rate. A handshake is admitted on tokens only if the bucket holds more tokens than
//! there are handshakes in flight (each may still fail once), so failures never outrun the
//! bucket. Otherwise sources with failures on record are refused, and clean sources (no
//! failure on record) are admitted one at a time at a small reserved rate, so a legitimate
//! newcomer with the right secret waits seconds, never minutes. Over any span `t` the
//! failures are at most `global_burst + t / global_refill + t / clean_interval + 1`.
//!
//! Separately, each source may start handshakes (`Cmd0`) only at a bounded rate, so one
//! stranger cannot keep the handshake workers busy; a successful authentication refills it.
//!
//! The policy is sans-I/O: time is the caller's [`Instant`].

use alloc::collections::BTreeMap;
use core::fmt;
use core::net::IpAddr;
use core::time::Duration;

use crate::error::{Error, Result};
use crate::time::Instant;

/// Where a connection comes from, as the throttle counts it: an opaque key.
///
/// IPv6 addresses are reduced to their /64 prefix, the block one host usually controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// An IP peer (IPv6 reduced to its /64).
    Ip(IpAddr),
    /// A Bluetooth LE peer address.
    Ble([u8; 6]),
    /// The local console (one key for all of it).
    Local,
}

impl Source {
    /// The source key of an IP peer.
    pub fn ip(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) => Source::Ip(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::Ip(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    Source::Ip(IpAddr::V6(bits.into()))
                }
            },
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            Source::Ip(IpAddr::V6(a)) => write!(f, "{a}/64"),
            Source::Ble(b) => write!(
                f,
                "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
                b[0], b[1], b[2], b[3], b[4], b[5]
            ),
            Source::Local => f.write_str("console"),
        }
    }
}

/// Settings of the [`AuthThrottle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures in a row one source may make without any pause (default 5).
    pub free_failures: u32,
    /// That source's pause after the first failure beyond the free ones (default 1 s).
    pub base_delay: Duration,
    /// The longest pause of one source (default 5 min).
    pub max_delay: Duration,
    /// Sources remembered at once; the least recently seen is forgotten (default 256).
    pub max_sources: usize,
    /// Failed attempts the whole device tolerates in a burst (default 20).
    pub global_burst: u32,
    /// One failed attempt more is tolerated per this interval (default 3 s: 20 a minute).
    pub global_refill: Duration,
    /// While the global bucket is empty, a clean source may start one handshake per this
    /// interval (default 2 s).
    pub clean_interval: Duration,
    /// Handshakes (`Cmd0`) one source may start in a burst (default 8).
    pub cmd0_burst: u32,
    /// One more `Cmd0` per source per this interval (default 250 ms).
    pub cmd0_refill: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            free_failures: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            max_sources: 256,
            global_burst: 20,
            global_refill: Duration::from_secs(3),
            clean_interval: Duration::from_secs(2),
            cmd0_burst: 8,
            cmd0_refill: Duration::from_millis(250),
        }
    }
}

impl ThrottleConfig {
    /// No throttling at all (tests that make many failures on purpose).
    pub fn unlimited() -> Self {
        ThrottleConfig {
            free_failures: u32::MAX,
            global_burst: u32::MAX,
            cmd0_burst: u32::MAX,
            ..ThrottleConfig::default()
        }
    }
}

/// A token bucket holding whole tokens, refilled one per `every`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: u32,
    /// When the last refill was accounted for.
    since: Instant,
}

impl Bucket {
    fn full(cap: u32, now: Instant) -> Self {
        Bucket {
            tokens: cap,
            since: now,
        }
    }

    fn refill(&mut self, now: Instant, cap: u32, every: Duration) {
        if self.tokens >= cap {
            self.since = now;
            return;
        }
        let every_ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX).max(1);
        let elapsed = now.saturating_duration_since(self.since).as_millis();
        let elapsed = u64::try_from(elapsed).unwrap_or(u64::MAX);
        let new = elapsed / every_ms;
        if new == 0 {
            return;
        }
        let added = u32::try_from(new).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(added).min(cap);
        self.since = if self.tokens >= cap {
            now
        } else {
            Instant::from_millis(self.since.as_millis().saturating_add(new * every_ms))
        };
    }

    /// How long until the next token, after a refill at `now`.
    fn wait(&self, now: Instant, every: Duration) -> Duration {
        (self.since + every).saturating_duration_since(now)
    }
}

/// What the throttle remembers of one source.
#[derive(Clone, Copy, Debug)]
struct SourceEntry {
    failures: u32,
    blocked_until: Option<Instant>,
    last_seen: Instant,
    cmd0: Bucket,
}

/// Counts authentication failures per source and overall, and decides who may try.
#[derive(Clone, Debug)]
pub struct AuthThrottle {
    config: ThrottleConfig,
    sources: BTreeMap<Source, SourceEntry>,
    global: Option<Bucket>,
    /// While the global bucket is empty, the next clean source may start then.
    next_clean: Instant,
}

impl AuthThrottle {
    /// A throttle with no failures recorded.
    pub fn new(config: ThrottleConfig) -> Self {
        AuthThrottle {
            config,
            sources: BTreeMap::new(),
            global: None,
            next_clean: Instant::ZERO,
        }
    }

    fn global_tokens(&mut self, now: Instant) -> (u32, Duration) {
        let c = self.config;
        let bucket = self
            .global
            .get_or_insert_with(|| Bucket::full(c.global_burst, now));
        bucket.refill(now, c.global_burst, c.global_refill);
        (bucket.tokens, bucket.wait(now, c.global_refill))
    }

    fn entry(&mut self, now: Instant, source: Source) -> &mut SourceEntry {
        if !self.sources.contains_key(&source) && self.sources.len() >= self.config.max_sources {
            let oldest = self
                .sources
                .iter()
                .min_by_key(|(_, e)| e.last_seen)
                .map(|(s, _)| *s);
            if let Some(oldest) = oldest {
                self.sources.remove(&oldest);
            }
        }
        let cmd0_burst = self.config.cmd0_burst;
        let entry = self.sources.entry(source).or_insert(SourceEntry {
            failures: 0,
            blocked_until: None,
            last_seen: now,
            cmd0: Bucket::full(cmd0_burst, now),
        });
        entry.last_seen = now;
        entry
    }

    /// Fails with [`Error::Throttled`] while `source` itself is paused (checked before a
    /// `Cmd1`, the guess itself).
    pub fn check_source(&self, now: Instant, source: Source) -> Result<()> {
        match self.sources.get(&source).and_then(|e| e.blocked_until) {
            Some(until) if now < until => Err(Error::Throttled {
                retry_after: until.saturating_duration_since(now),
            }),
            _ => Ok(()),
        }
    }

    /// Decides whether `source` may start a handshake (a `Cmd0`) at `now`, while `in_flight`
    /// other handshakes may still fail, and counts it against the source's `Cmd0` rate if so.
    pub fn admit(&mut self, now: Instant, source: Source, in_flight: usize) -> Result<()> {
        self.check_source(now, source)?;
        let c = self.config;
        let (tokens, refill_wait) = self.global_tokens(now);
        let entry = self.entry(now, source);
        entry.cmd0.refill(now, c.cmd0_burst, c.cmd0_refill);
        if entry.cmd0.tokens == 0 {
            return Err(Error::Throttled {
                retry_after: entry.cmd0.wait(now, c.cmd0_refill),
            });
        }
        let clean = entry.failures == 0;
        let covered = usize::try_from(tokens).map_or(true, |t| t > in_flight);
        if !covered {
            if !clean {
                return Err(Error::Throttled {
                    retry_after: refill_wait,
                });
            }
            if now < self.next_clean {
                return Err(Error::Throttled {
                    retry_after: self.next_clean.saturating_duration_since(now),
                });
            }
            self.next_clean = now + c.clean_interval;
        }
        let entry = self.entry(now, source);
        entry.cmd0.tokens -= 1;
        Ok(())
    }

    /// Decides whether `source` may try a `Cmd1` on a detached handshake it claimed (a visit,
    /// which leaves the handshake as it was and so is a guess without a `Cmd0`): only while
    /// `source` is not paused and the global bucket covers the `in_flight` handshakes too.
    pub fn admit_visit(&mut self, now: Instant, source: Source, in_flight: usize) -> Result<()> {
        self.check_source(now, source)?;
        let (tokens, refill_wait) = self.global_tokens(now);
        if usize::try_from(tokens).map_or(true, |t| t > in_flight) {
            Ok(())
        } else {
            Err(Error::Throttled {
                retry_after: refill_wait,
            })
        }
    }

    /// Records a failed authentication by `source` at `now`.
    pub fn record_failure(&mut self, now: Instant, source: Source) {
        let c = self.config;
        let _ = self.global_tokens(now);
        if let Some(bucket) = self.global.as_mut() {
            bucket.tokens = bucket.tokens.saturating_sub(1);
        }
        let entry = self.entry(now, source);
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures >= c.free_failures {
            let doublings = (entry.failures - c.free_failures).min(31);
            let delay = c
                .base_delay
                .saturating_mul(1u32 << doublings)
                .min(c.max_delay);
            entry.blocked_until = Some(now + delay);
        }
    }

    /// Records a successful authentication by `source`: its count starts again, and so does
    /// its `Cmd0` rate (a client that knows the secret may run one session after another).
    pub fn record_success(&mut self, now: Instant, source: Source) {
        let cmd0_burst = self.config.cmd0_burst;
        let entry = self.entry(now, source);
        entry.failures = 0;
        entry.blocked_until = None;
        entry.cmd0 = Bucket::full(cmd0_burst, now);
    }

    /// Consecutive failures of `source` on record.
    pub fn failures(&self, source: Source) -> u32 {
        self.sources.get(&source).map_or(0, |e| e.failures)
    }

    /// Sources remembered (at most [`ThrottleConfig::max_sources`]).
    pub fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// The settings.
    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }
}

#[cfg(test)]
#[path = "throttle_tests.rs"]
mod tests;
