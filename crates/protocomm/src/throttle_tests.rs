#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use core::net::Ipv4Addr;
use proptest::prelude::*;

fn ms(v: u64) -> Instant {
    Instant::from_millis(v)
}

fn src(n: u8) -> Source {
    Source::ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)))
}

fn retry(r: Result<()>) -> Option<Duration> {
    match r {
        Ok(()) => None,
        Err(Error::Throttled { retry_after }) => Some(retry_after),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn backoff_grows_and_resets_per_source() {
    let mut t = AuthThrottle::new(ThrottleConfig::default());
    let a = src(1);
    for _ in 0..4 {
        t.record_failure(ms(0), a);
        assert!(t.admit(ms(0), a, 0).is_ok());
    }
    t.record_failure(ms(0), a); // fifth in a row
    assert_eq!(
        retry(t.admit(ms(999), a, 0)),
        Some(Duration::from_millis(1))
    );
    assert_eq!(
        retry(t.check_source(ms(999), a)),
        Some(Duration::from_millis(1))
    );
    // Another source is not affected.
    assert_eq!(retry(t.admit(ms(999), src(2), 0)), None);
    assert!(t.check_source(ms(1000), a).is_ok());
    t.record_failure(ms(1000), a);
    assert!(t.check_source(ms(2999), a).is_err());
    assert!(t.check_source(ms(3000), a).is_ok());
    for _ in 0..40 {
        t.record_failure(ms(3000), a);
    }
    assert_eq!(
        retry(t.check_source(ms(3000), a)),
        Some(Duration::from_secs(300))
    );
    t.record_success(ms(3000), a);
    assert!(t.check_source(ms(3000), a).is_ok());
    assert_eq!(t.failures(a), 0);
}

#[test]
fn empty_global_bucket_refuses_failing_sources_and_admits_clean_ones_slowly() {
    let config = ThrottleConfig {
        free_failures: 1000,
        global_burst: 3,
        ..ThrottleConfig::default()
    };
    let mut t = AuthThrottle::new(config);
    for n in 1..=3 {
        t.admit(ms(0), src(n), 0).unwrap();
        t.record_failure(ms(0), src(n));
    }
    // Bucket empty: a source with failures waits for the next token (3 s).
    assert_eq!(
        retry(t.admit(ms(0), src(1), 0)),
        Some(Duration::from_secs(3))
    );
    // A clean source gets the reserved slot, the next clean one waits 2 s.
    assert!(t.admit(ms(0), src(10), 0).is_ok());
    assert_eq!(
        retry(t.admit(ms(500), src(11), 0)),
        Some(Duration::from_millis(1500))
    );
    assert!(t.admit(ms(2000), src(11), 0).is_ok());
    // A token came back: the failing source may try again.
    assert!(t.admit(ms(3000), src(1), 0).is_ok());
}

#[test]
fn tokens_must_cover_the_handshakes_in_flight() {
    let config = ThrottleConfig {
        global_burst: 3,
        ..ThrottleConfig::default()
    };
    let mut t = AuthThrottle::new(config);
    t.record_failure(ms(0), src(1));
    // Two tokens left: two handshakes already in flight leave no room for a third on
    // tokens; a source with failures waits, a clean one takes the reserved slot.
    assert!(t.admit(ms(0), src(1), 1).is_ok());
    assert!(retry(t.admit(ms(0), src(1), 2)).is_some());
    assert!(t.admit(ms(0), src(2), 2).is_ok());
    assert!(retry(t.admit(ms(0), src(3), 2)).is_some());
}

#[test]
fn cmd0_rate_is_bounded_per_source() {
    let config = ThrottleConfig {
        cmd0_burst: 2,
        cmd0_refill: Duration::from_millis(100),
        ..ThrottleConfig::default()
    };
    let mut t = AuthThrottle::new(config);
    assert!(t.admit(ms(0), src(1), 0).is_ok());
    assert!(t.admit(ms(0), src(1), 0).is_ok());
    assert_eq!(
        retry(t.admit(ms(40), src(1), 0)),
        Some(Duration::from_millis(60))
    );
    assert!(t.admit(ms(40), src(2), 0).is_ok());
    assert!(t.admit(ms(100), src(1), 0).is_ok());
    assert!(retry(t.admit(ms(100), src(1), 0)).is_some());
    // A client that knows the secret may go on at once.
    t.record_success(ms(100), src(1));
    assert!(t.admit(ms(100), src(1), 0).is_ok());
}

#[test]
fn the_source_table_is_bounded() {
    let config = ThrottleConfig {
        max_sources: 4,
        ..ThrottleConfig::default()
    };
    let mut t = AuthThrottle::new(config);
    for n in 0..50u8 {
        t.record_failure(ms(u64::from(n)), src(n));
        assert!(t.source_count() <= 4);
    }
    // The most recent stay.
    assert_eq!(t.failures(src(49)), 1);
    assert_eq!(t.failures(src(0)), 0);
}

#[test]
fn ipv6_sources_are_keyed_by_their_64_prefix() {
    let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:bbbb::7".parse().unwrap();
    let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert_eq!(Source::ip(a), Source::ip(b));
    assert_ne!(Source::ip(a), Source::ip(c));
    assert_eq!(Source::ip(a).to_string(), "2001:db8:1:2::/64");
    let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
    assert_eq!(Source::ip(mapped).to_string(), "127.0.0.2");
}

/// One step of a simulated population: `who` tries at `dt` ms after the last step; an
/// attacker always fails, the legitimate client always succeeds.
#[derive(Clone, Debug)]
struct Step {
    dt: u64,
    attacker: u8,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (0u64..400, 0u8..40).prop_map(|(dt, attacker)| Step { dt, attacker }),
        1..400,
    )
}

proptest! {
    /// Attackers (from one or many sources) guessing as fast as they are let in never admit
    /// more failures than the burst plus the refill and reserved rates allow, and a clean
    /// source never waits longer than the reserved interval (or its own Cmd0 rate).
    #[test]
    fn failures_are_bounded_and_clean_sources_get_in(steps in steps(), single in any::<bool>()) {
        let config = ThrottleConfig::default();
        let mut t = AuthThrottle::new(config);
        let mut now = 0u64;
        let mut admitted_failures = 0u64;
        for (i, step) in steps.iter().enumerate() {
            now += step.dt;
            let who = if single { src(200) } else { src(step.attacker) };
            if t.admit(ms(now), who, 0).is_ok() {
                t.record_failure(ms(now), who);
                admitted_failures += 1;
            }
            // Every 50 steps a clean newcomer shows up with the right secret.
            if i % 50 == 0 {
                let newcomer = Source::Ble([0, 0, 0, 0, (i >> 8) as u8, i as u8]);
                match t.admit(ms(now), newcomer, 0) {
                    Ok(()) => t.record_success(ms(now), newcomer),
                    Err(Error::Throttled { retry_after }) => {
                        prop_assert!(retry_after <= config.clean_interval, "{:?}", retry_after);
                    }
                    Err(e) => prop_assert!(false, "{}", e),
                }
            }
        }
        let bound = u64::from(config.global_burst)
            + now / config.global_refill.as_millis() as u64
            + now / config.clean_interval.as_millis() as u64
            + 1;
        prop_assert!(admitted_failures <= bound, "{} > {}", admitted_failures, bound);
    }

    /// However one source behaves, a different clean source with the right secret is
    /// admitted at once while the global bucket holds tokens.
    #[test]
    fn one_attacking_source_never_delays_a_clean_one(dts in prop::collection::vec(0u64..2000, 1..200)) {
        let mut t = AuthThrottle::new(ThrottleConfig::default());
        let mut now = 0;
        for dt in dts {
            now += dt;
            if t.admit(ms(now), src(1), 0).is_ok() {
                t.record_failure(ms(now), src(1));
            }
        }
        // One source alone cannot drain the global bucket faster than its own backoff allows.
        prop_assert!(t.admit(ms(now), src(2), 0).is_ok());
    }
}
