//! Credentials set by SetConfig and not applied yet, one entry per session.

use std::collections::VecDeque;

use protocomm::SessionId;
use wifiprov_wifi::Credentials;

/// Pending credentials per session, oldest first, at most `limit` entries.
///
/// A session's SetConfig replaces only its own entry; its ApplyConfig takes only its own
/// entry. When a new session sets credentials and the table is full, the oldest entry is
/// dropped. Dropped and replaced credentials are zeroized (their passphrase is a
/// [`protocomm::Secret`]).
#[derive(Debug)]
pub struct PendingCredentials {
    entries: VecDeque<(SessionId, Credentials)>,
    limit: usize,
}

impl PendingCredentials {
    /// An empty table holding at most `limit` entries (at least one).
    pub fn new(limit: usize) -> Self {
        PendingCredentials {
            entries: VecDeque::new(),
            limit: limit.max(1),
        }
    }

    /// Sets `session`'s credentials, replacing its previous ones; returns the session whose
    /// entry was dropped to make room, if any.
    pub fn set(&mut self, session: SessionId, creds: Credentials) -> Option<SessionId> {
        self.remove(session);
        let evicted = if self.entries.len() >= self.limit {
            self.entries.pop_front().map(|(id, _)| id)
        } else {
            None
        };
        self.entries.push_back((session, creds));
        evicted
    }

    /// Takes `session`'s credentials out of the table.
    pub fn take(&mut self, session: SessionId) -> Option<Credentials> {
        let at = self.entries.iter().position(|(id, _)| *id == session)?;
        self.entries.remove(at).map(|(_, creds)| creds)
    }

    /// Forgets `session`'s credentials (its session closed). Returns whether it had some.
    pub fn remove(&mut self, session: SessionId) -> bool {
        self.take(session).is_some()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Whether `session` has credentials pending.
    pub fn contains(&self, session: SessionId) -> bool {
        self.entries.iter().any(|(id, _)| *id == session)
    }

    /// Number of sessions with credentials pending.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no session has credentials pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
