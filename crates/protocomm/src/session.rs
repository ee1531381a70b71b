//! The device's table of concurrent sessions, keyed by the transport's session id.
//!
//! ESP-IDF keeps exactly one session and lets any new client destroy it. This table keeps up to
//! `max_sessions` independent sessions and expires idle ones. When it is full, a newcomer
//! takes the place of, in this order: the stalest unfinished handshake; the least recently
//! used session whose transport connection has closed ([`crate::Device::detach_session`]);
//! the least recently used session idle for at least `evict_idle_after`. A client that is
//! actively provisioning is never pushed out.

use alloc::collections::BTreeMap;
use core::fmt;
use core::time::Duration;

use crate::error::{Error, Result};
use crate::time::Instant;

/// An opaque session id chosen by the transport (HTTP cookie, BLE connection, console number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u32);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Limits of a [`SessionTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// Most sessions held at once.
    pub max_sessions: usize,
    /// A session unused for this long is dropped.
    pub idle_timeout: Duration,
    /// When the table is full, an established session idle for at least this long may make
    /// room for a new client.
    pub evict_idle_after: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_sessions: 4,
            idle_timeout: Duration::from_secs(60),
            evict_idle_after: Duration::from_secs(5),
        }
    }
}

/// Whether a session has finished its handshake (used to pick eviction victims).
pub(crate) trait Progress {
    fn is_established(&self) -> bool;
}

struct Entry<S> {
    last_active: Instant,
    /// The transport connection that carried the session has closed (it may come back).
    detached: bool,
    state: S,
}

/// Bounded table of per-session state with idle expiry driven by the caller's clock.
pub(crate) struct SessionTable<S> {
    limits: SessionLimits,
    entries: BTreeMap<SessionId, Entry<S>>,
}

impl<S: Progress + Default> SessionTable<S> {
    pub(crate) fn new(limits: SessionLimits) -> Self {
        SessionTable {
            limits,
            entries: BTreeMap::new(),
        }
    }

    fn expired(&self, entry: &Entry<S>, now: Instant) -> bool {
        now.saturating_duration_since(entry.last_active) >= self.limits.idle_timeout
    }

    /// The state of `id`, if it exists and has not expired; refreshes its idle timer.
    pub(crate) fn get(&mut self, now: Instant, id: SessionId) -> Result<&mut S> {
        let expired = match self.entries.get(&id) {
            None => return Err(Error::UnknownSession(id)),
            Some(entry) => self.expired(entry, now),
        };
        if expired {
            self.entries.remove(&id);
            return Err(Error::SessionExpired(id));
        }
        let entry = self.entries.get_mut(&id).ok_or(Error::UnknownSession(id))?;
        entry.last_active = now;
        entry.detached = false;
        Ok(&mut entry.state)
    }

    /// The state of `id`, created fresh if it does not exist (or had expired).
    pub(crate) fn get_or_open(&mut self, now: Instant, id: SessionId) -> Result<&mut S> {
        let live = self.entries.get(&id).is_some_and(|e| !self.expired(e, now));
        if !live {
            self.entries.remove(&id);
            self.make_room(now)?;
            self.entries.insert(
                id,
                Entry {
                    last_active: now,
                    detached: false,
                    state: S::default(),
                },
            );
        }
        self.get(now, id)
    }

    fn make_room(&mut self, now: Instant) -> Result<()> {
        if self.entries.len() < self.limits.max_sessions {
            return Ok(());
        }
        self.handle_timeout(now);
        if self.entries.len() < self.limits.max_sessions {
            return Ok(());
        }
        let min_idle = self.limits.evict_idle_after;
        let unfinished = self
            .entries
            .iter()
            .filter(|(_, e)| !e.state.is_established())
            .min_by_key(|(_, e)| e.last_active)
            .map(|(id, _)| *id);
        let detached = || {
            self.entries
                .iter()
                .filter(|(_, e)| e.detached)
                .min_by_key(|(_, e)| e.last_active)
                .map(|(id, _)| *id)
        };
        let idle_established = || {
            self.entries
                .iter()
                .filter(|(_, e)| now.saturating_duration_since(e.last_active) >= min_idle)
                .min_by_key(|(_, e)| e.last_active)
                .map(|(id, _)| *id)
        };
        let victim = unfinished.or_else(detached).or_else(idle_established);
        match victim {
            Some(id) => {
                self.entries.remove(&id);
                Ok(())
            }
            None => Err(Error::TooManySessions {
                limit: self.limits.max_sessions,
            }),
        }
    }

    /// Runs `f` on the state of `id` if it exists, without refreshing or expiring it.
    pub(crate) fn with(&mut self, id: SessionId, f: impl FnOnce(&mut S)) {
        if let Some(entry) = self.entries.get_mut(&id) {
            f(&mut entry.state);
        }
    }

    /// Marks `id` as detached: its connection closed, so it may give way to a new client when
    /// the table is full. Using it again re-attaches it.
    pub(crate) fn detach(&mut self, id: SessionId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.detached = true;
        }
    }

    /// Drops the session `id` (a transport connection closed). Returns whether it existed.
    pub(crate) fn close(&mut self, id: SessionId) -> bool {
        self.entries.remove(&id).is_some()
    }

    /// Drops every session idle for too long.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let timeout = self.limits.idle_timeout;
        self.entries
            .retain(|_, e| now.saturating_duration_since(e.last_active) < timeout);
    }

    /// When the next session will expire, if any.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.entries
            .values()
            .map(|e| e.last_active + self.limits.idle_timeout)
            .min()
    }

    /// Number of live entries (expired ones included until swept).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether `id` exists and has finished its handshake.
    pub(crate) fn is_established(&self, id: SessionId) -> bool {
        self.entries
            .get(&id)
            .is_some_and(|e| e.state.is_established())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Fake(bool);

    impl Progress for Fake {
        fn is_established(&self) -> bool {
            self.0
        }
    }

    fn table(max: usize) -> SessionTable<Fake> {
        SessionTable::new(SessionLimits {
            max_sessions: max,
            idle_timeout: Duration::from_secs(10),
            evict_idle_after: Duration::from_secs(5),
        })
    }

    #[test]
    fn expiry_is_driven_by_the_caller() {
        let mut t = table(2);
        t.get_or_open(Instant::from_millis(0), SessionId(1))
            .unwrap();
        assert!(t.get(Instant::from_millis(9_999), SessionId(1)).is_ok());
        assert!(matches!(
            t.get(Instant::from_millis(19_999), SessionId(1)),
            Err(Error::SessionExpired(_))
        ));
        assert!(matches!(
            t.get(Instant::from_millis(19_999), SessionId(1)),
            Err(Error::UnknownSession(_))
        ));
    }

    #[test]
    fn full_table_evicts_only_unfinished_handshakes() {
        let mut t = table(2);
        let now = Instant::from_millis(0);
        t.get_or_open(now, SessionId(1)).unwrap().0 = true;
        t.get_or_open(Instant::from_millis(1), SessionId(2))
            .unwrap();
        // 2 is the only unfinished one: it goes, 1 stays.
        t.get_or_open(Instant::from_millis(2), SessionId(3))
            .unwrap()
            .0 = true;
        assert!(t.is_established(SessionId(1)));
        assert!(matches!(
            t.get(Instant::from_millis(3), SessionId(2)),
            Err(Error::UnknownSession(_))
        ));
        // Both established and recently active: the newcomer is refused.
        assert!(matches!(
            t.get_or_open(Instant::from_millis(4), SessionId(4)),
            Err(Error::TooManySessions { limit: 2 })
        ));
        // Keep 3 busy; once 1 has been idle for 5 s it makes room.
        t.get(Instant::from_millis(4_999), SessionId(3)).unwrap();
        assert!(
            t.get_or_open(Instant::from_millis(5_000), SessionId(4))
                .is_ok()
        );
        assert!(t.is_established(SessionId(3)));
        assert!(!t.is_established(SessionId(1)));
        assert_eq!(t.poll_timeout(), Some(Instant::from_millis(14_999)));
    }

    #[test]
    fn detached_sessions_make_room_first() {
        let mut t = table(2);
        t.get_or_open(Instant::ZERO, SessionId(1)).unwrap().0 = true;
        t.get_or_open(Instant::ZERO, SessionId(2)).unwrap().0 = true;
        t.detach(SessionId(2));
        // Reconnecting re-attaches; then nothing may be evicted.
        t.get(Instant::from_millis(1), SessionId(2)).unwrap();
        assert!(
            t.get_or_open(Instant::from_millis(2), SessionId(3))
                .is_err()
        );
        t.detach(SessionId(1));
        t.get_or_open(Instant::from_millis(3), SessionId(3))
            .unwrap();
        assert!(!t.is_established(SessionId(1)));
        assert!(t.is_established(SessionId(2)));
    }

    #[test]
    fn close_removes() {
        let mut t = table(2);
        t.get_or_open(Instant::ZERO, SessionId(7)).unwrap();
        assert!(t.close(SessionId(7)));
        assert!(!t.close(SessionId(7)));
        assert_eq!(t.len(), 0);
    }
}
