//! Which connection makes room for a newcomer: a pure function of the connection table, so
//! that the policy can be tested without sockets.
//!
//! Connections are classed by [`Phase`]: idle (between requests), reading a request (its head
//! or its body), answering (in the handler). A newcomer never pushes out a connection that is
//! being answered. Among the others, idle connections go first (least recently active first),
//! then the connection that has been reading a request the longest (a slow sender). When the
//! newcomer's source already holds its share of the table, only that source's connections are
//! candidates: one address cannot push everyone else out.

use std::net::IpAddr;

use tokio::time::Instant;

/// What a connection is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the first byte of the next request, since the instant given.
    Idle,
    /// Receiving a request head (since its first byte).
    Head,
    /// Receiving a request body (since the head was complete).
    Body,
    /// In the handler: the request is being answered.
    Answering,
}

impl Phase {
    /// Eviction rank: lower goes first; `None` is never evicted.
    fn rank(self) -> Option<u8> {
        match self {
            Phase::Idle => Some(0),
            Phase::Head | Phase::Body => Some(1),
            Phase::Answering => None,
        }
    }
}

/// One row of the connection table as the policy sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    /// Connection id.
    pub(super) id: u64,
    /// The peer's address.
    pub(super) source: IpAddr,
    /// What it is doing.
    pub(super) phase: Phase,
    /// Since when it has been in that phase.
    pub(super) since: Instant,
}

/// What to do with a newcomer from `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admission {
    /// There is room.
    Admit,
    /// Close connection `id` first.
    Evict(u64),
    /// Every candidate is being answered: refuse the newcomer.
    Refuse,
}

/// Decides a newcomer from `source` given the open connections `table`, at most `max` open and
/// at most `per_source` from one address.
pub(super) fn admit(table: &[Entry], source: IpAddr, max: usize, per_source: usize) -> Admission {
    let own = table.iter().filter(|e| e.source == source).count();
    let own_full = own >= per_source;
    if !own_full && table.len() < max {
        return Admission::Admit;
    }
    victim(table.iter().filter(|e| !own_full || e.source == source))
        .map_or(Admission::Refuse, Admission::Evict)
}

/// The connection to close first among `candidates`: idle before reading, the longest in its
/// phase first; `None` when every candidate is being answered.
pub(super) fn victim<'a>(candidates: impl IntoIterator<Item = &'a Entry>) -> Option<u64> {
    candidates
        .into_iter()
        .filter_map(|e| e.phase.rank().map(|rank| (rank, e.since, e.id)))
        .min()
        .map(|(_, _, id)| id)
}

/// The default per-source share of a table of `max` connections: three quarters, rounded up.
pub(super) fn default_per_source(max: usize) -> usize {
    max.saturating_mul(3).div_ceil(4).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
    }

    fn entry(id: u64, source: u8, phase: Phase, age_s: u64, now: Instant) -> Entry {
        Entry {
            id,
            source: ip(source),
            phase,
            since: now - Duration::from_secs(age_s),
        }
    }

    #[test]
    fn room_admits() {
        let now = Instant::now();
        let table = [entry(1, 1, Phase::Idle, 5, now)];
        assert_eq!(admit(&table, ip(2), 2, 2), Admission::Admit);
    }

    #[test]
    fn idle_goes_before_the_oldest_reader() {
        let now = Instant::now();
        let table = [
            entry(1, 1, Phase::Head, 50, now),
            entry(2, 1, Phase::Idle, 1, now),
            entry(3, 1, Phase::Idle, 3, now),
            entry(4, 1, Phase::Answering, 99, now),
        ];
        assert_eq!(admit(&table, ip(2), 4, 4), Admission::Evict(3));
    }

    #[test]
    fn the_longest_reader_goes_when_none_is_idle() {
        let now = Instant::now();
        let table = [
            entry(1, 1, Phase::Head, 5, now),
            entry(2, 1, Phase::Body, 9, now),
            entry(3, 1, Phase::Answering, 99, now),
        ];
        assert_eq!(admit(&table, ip(2), 3, 3), Admission::Evict(2));
    }

    #[test]
    fn answering_connections_are_never_evicted() {
        let now = Instant::now();
        let table = [
            entry(1, 1, Phase::Answering, 5, now),
            entry(2, 1, Phase::Answering, 9, now),
        ];
        assert_eq!(admit(&table, ip(2), 2, 2), Admission::Refuse);
    }

    #[test]
    fn a_source_at_its_share_evicts_its_own() {
        let now = Instant::now();
        let table = [
            entry(1, 2, Phase::Idle, 50, now),
            entry(2, 1, Phase::Head, 1, now),
            entry(3, 1, Phase::Body, 2, now),
        ];
        // Source 1 holds two of its two: its own oldest reader goes, not source 2's idle one.
        assert_eq!(admit(&table, ip(1), 10, 2), Admission::Evict(3));
        // Another source still gets in.
        assert_eq!(admit(&table, ip(3), 10, 2), Admission::Admit);
    }

    #[test]
    fn default_share_is_three_quarters() {
        assert_eq!(default_per_source(1), 1);
        assert_eq!(default_per_source(2), 2);
        assert_eq!(default_per_source(64), 48);
    }
}
