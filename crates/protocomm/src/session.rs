//! The device's sessions: their ids, the connections that speak for them, their lifetime, and
//! which one gives way when the table is full.
//!
//! ESP-IDF keeps exactly one session and lets any new client destroy it. This table keeps up to
//! [`SessionLimits::max_sessions`] independent sessions, and the device alone decides what
//! happens to them. Transports only report connections and pass on what the peer claims.
//!
//! # Connections and ids
//!
//! A transport announces every connection with [`crate::Device::connect`] and gets a
//! [`ConnectionId`]; the device gives each connection a fresh [`SessionId`] of its own at the
//! same time. A request arrives from an [`Origin`]: the connection, and optionally the session
//! the peer *claims* (an HTTP `session=<id>` cookie; BLE and console peers never claim).
//!
//! * Without a claim, or with the connection's own id, a request speaks for the connection's
//!   own session.
//! * A claim of a session whose connection is still open is refused
//!   ([`crate::Error::SessionInUse`]), and that session is left exactly as it was.
//! * A claim of a *detached* session (its connection closed, [`AfterDisconnect::Keep`]) may
//!   continue it: this is how esp_prov comes back on a new TCP connection. Such a request is
//!   tried without consequences: if it fails (bad ciphertext, a wrong proof, a handler that
//!   refuses what a security 1 keystream decrypted to) the session stays as it was; if it
//!   succeeds the session moves to the new connection. A `Cmd0` never resets a claimed
//!   session: it starts the connection's own session instead.
//!   What counts as success depends on the scheme: security 2 (patch 1) authenticates every
//!   request, so garbage and replays always fail; security 1 has no authentication, so a
//!   request counts as failed only when the application handler refuses what it decrypted to
//!   (as the provisioning endpoints refuse what does not parse); security 2 patch 0 reuses one
//!   nonce, so a replayed request is authentic to the device.
//! * A claim of a session that does not exist (any more) is ignored for `proto-ver` and
//!   `Cmd0`, which then use the connection's own session, and refused for everything else.
//!
//! Security 0 has no session state, so its sessions are ids only and take no slot.
//!
//! # Lifetime
//!
//! A session takes a slot when its first `Cmd0` has been checked and answered: a malformed
//! or unacceptable `Cmd0` never takes a slot nor pushes anyone out. Sessions idle for
//! [`SessionLimits::idle_timeout`] expire (time is the caller's [`Instant`]). A failed `Cmd1`
//! spends the handshake of the connection that sent it; a GCM authentication failure on the
//! session's own connection closes the session. [`AfterDisconnect::Close`] ends a session
//! together with its connection (BLE, console).
//!
//! # A full table
//!
//! When a new session needs a slot and the table is full, the first of these gives way (the
//! least recently used within each rank): a session that expired; one whose handshake failed;
//! a detached session with an unfinished handshake; a detached established session; an
//! established session idle for [`SessionLimits::evict_idle_after`]; a handshake stalled for
//! as long. A session answering a request, a recently active established session and a
//! handshake in progress never give way: the newcomer is refused
//! ([`crate::Error::TooManySessions`]).

use alloc::collections::{BTreeMap, VecDeque};
use core::fmt;
use core::time::Duration;
use rand_core::CryptoRng;

use crate::error::{Error, Result};
use crate::time::Instant;

/// A session id, minted by the device (and sent to HTTP clients as `session=<id>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u32);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A transport connection (a TCP connection, a BLE link, a console), minted by
/// [`crate::Device::connect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a request comes from: the connection, and the session its peer claims, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The connection the request arrived on.
    pub connection: ConnectionId,
    /// The session the peer names (an HTTP cookie); `None` for the connection's own session.
    pub claim: Option<SessionId>,
}

impl Origin {
    /// A request on `connection` naming `claim`.
    pub fn new(connection: ConnectionId, claim: Option<SessionId>) -> Self {
        Origin { connection, claim }
    }
}

impl From<ConnectionId> for Origin {
    fn from(connection: ConnectionId) -> Self {
        Origin {
            connection,
            claim: None,
        }
    }
}

/// What becomes of a connection's session when the connection closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterDisconnect {
    /// The session stays, detached: a peer may continue it from another connection by
    /// claiming it (HTTP clients reconnect with their cookie). It is among the first to give
    /// way when the table is full.
    Keep,
    /// The session ends with the connection (BLE, console: nothing can claim it later).
    Close,
}

/// Limits of the session table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// Most sessions held at once.
    pub max_sessions: usize,
    /// A session unused for this long is dropped.
    pub idle_timeout: Duration,
    /// When the table is full, an established session idle for at least this long (or a
    /// handshake stalled for as long) may make room for a new client.
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

/// How far a session has come (used to pick who gives way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// No handshake in progress: the last one failed.
    Spent,
    /// `Resp0` sent, waiting for `Cmd1`.
    Handshake,
    /// Keys agreed.
    Established,
}

/// What the table needs to know about a session's state.
pub(crate) trait Progress {
    fn stage(&self) -> Stage;
    /// A request is being answered.
    fn is_busy(&self) -> bool;
}

struct Entry<S> {
    last_active: Instant,
    /// The open connection that speaks for the session; `None` once it closed (detached).
    attached: Option<ConnectionId>,
    state: S,
}

/// Which session a request concerns (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// The connection's own session.
    Own(SessionId),
    /// A detached session claimed from another connection: tried without consequences.
    Visit(SessionId),
    /// The claimed session does not exist (`expired`: it just expired); `own` is the
    /// connection's own session.
    Gone {
        own: SessionId,
        claim: SessionId,
        expired: bool,
    },
}

/// Bounded table of per-session state and of the connections speaking for it, with idle
/// expiry driven by the caller's clock.
pub(crate) struct SessionTable<S> {
    limits: SessionLimits,
    entries: BTreeMap<SessionId, Entry<S>>,
    /// Every open connection and the session it speaks for (which may have no entry yet).
    connections: BTreeMap<ConnectionId, SessionId>,
    next_connection: u64,
    /// Sessions that ended (closed, expired, evicted) and were not yet reported by
    /// [`SessionTable::poll_ended`]; the oldest are dropped beyond [`MAX_ENDED`].
    ended: VecDeque<SessionId>,
}

/// Most ended sessions remembered for [`SessionTable::poll_ended`].
const MAX_ENDED: usize = 64;

impl<S: Progress> SessionTable<S> {
    pub(crate) fn new(limits: SessionLimits) -> Self {
        SessionTable {
            limits,
            entries: BTreeMap::new(),
            connections: BTreeMap::new(),
            next_connection: 0,
            ended: VecDeque::new(),
        }
    }

    fn expired(&self, entry: &Entry<S>, now: Instant) -> bool {
        now.saturating_duration_since(entry.last_active) >= self.limits.idle_timeout
    }

    fn taken(&self, id: SessionId) -> bool {
        self.entries.contains_key(&id) || self.connections.values().any(|s| *s == id)
    }

    /// A session id no session or connection uses: random, so that a cookie from an earlier
    /// run of the device does not name a session of this one.
    fn mint(&self, rng: &mut (impl CryptoRng + ?Sized)) -> SessionId {
        let mut candidate = SessionId(rng.next_u32());
        for _ in 0..8 {
            if !self.taken(candidate) {
                return candidate;
            }
            candidate = SessionId(rng.next_u32());
        }
        // A generator this unlucky is broken; count up to the next free id instead. Fewer ids
        // are taken than exist, so this ends.
        for _ in 0..=self.entries.len() + self.connections.len() {
            if !self.taken(candidate) {
                break;
            }
            candidate = SessionId(candidate.0.wrapping_add(1));
        }
        candidate
    }

    /// Registers a new connection with a fresh session id of its own.
    pub(crate) fn connect(&mut self, rng: &mut (impl CryptoRng + ?Sized)) -> ConnectionId {
        let id = self.mint(rng);
        self.next_connection = self.next_connection.wrapping_add(1);
        let connection = ConnectionId(self.next_connection);
        self.connections.insert(connection, id);
        connection
    }

    /// Forgets `connection`; its session is detached or closed as `after` says.
    pub(crate) fn disconnect(&mut self, connection: ConnectionId, after: AfterDisconnect) {
        let Some(id) = self.connections.remove(&connection) else {
            return;
        };
        let attached = self
            .entries
            .get(&id)
            .is_some_and(|e| e.attached == Some(connection));
        if !attached {
            return;
        }
        match after {
            AfterDisconnect::Keep => {
                if let Some(entry) = self.entries.get_mut(&id) {
                    entry.attached = None;
                }
            }
            AfterDisconnect::Close => {
                self.forget(id);
            }
        }
    }

    /// The session `connection` speaks for.
    pub(crate) fn own(&self, connection: ConnectionId) -> Result<SessionId> {
        self.connections
            .get(&connection)
            .copied()
            .ok_or(Error::UnknownConnection(connection))
    }

    /// Decides which session a request from `origin` concerns; refuses a claim of a session
    /// another open connection speaks for. Touches nothing but expired entries.
    pub(crate) fn resolve(&mut self, now: Instant, origin: Origin) -> Result<Target> {
        let own = self.own(origin.connection)?;
        let Some(claim) = origin.claim.filter(|c| *c != own) else {
            return Ok(Target::Own(own));
        };
        let (expired, attached) = match self.entries.get(&claim) {
            None => {
                return Ok(Target::Gone {
                    own,
                    claim,
                    expired: false,
                });
            }
            Some(entry) => (self.expired(entry, now), entry.attached),
        };
        if expired {
            self.forget(claim);
            return Ok(Target::Gone {
                own,
                claim,
                expired: true,
            });
        }
        match attached {
            None => Ok(Target::Visit(claim)),
            // Not reachable while the table is consistent: the connection speaks for `own`.
            Some(c) if c == origin.connection => Ok(Target::Own(claim)),
            Some(_) => Err(Error::SessionInUse(claim)),
        }
    }

    /// The state of `id`: `Ok(None)` if it has no entry, [`Error::SessionExpired`] (and the
    /// entry dropped) if it expired. With `refresh` its idle timer starts again.
    pub(crate) fn state(
        &mut self,
        now: Instant,
        id: SessionId,
        refresh: bool,
    ) -> Result<Option<&mut S>> {
        let expired = match self.entries.get(&id) {
            None => return Ok(None),
            Some(entry) => self.expired(entry, now),
        };
        if expired {
            self.forget(id);
            return Err(Error::SessionExpired(id));
        }
        Ok(self.entries.get_mut(&id).map(|e| {
            if refresh {
                e.last_active = now;
            }
            &mut e.state
        }))
    }

    /// Marks `id` as used at `now`.
    pub(crate) fn touch(&mut self, now: Instant, id: SessionId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.last_active = now;
        }
    }

    /// The state of `id` whether or not it expired, without refreshing it.
    pub(crate) fn state_unchecked(&mut self, id: SessionId) -> Option<&mut S> {
        self.entries.get_mut(&id).map(|e| &mut e.state)
    }

    /// Whether `id` has a live entry.
    pub(crate) fn contains(&self, now: Instant, id: SessionId) -> bool {
        self.entries.get(&id).is_some_and(|e| !self.expired(e, now))
    }

    /// Gives `connection`'s own session `id` the state `state` (a new handshake): replaces its
    /// entry, or takes a slot, making room if needed.
    pub(crate) fn install(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        id: SessionId,
        state: S,
    ) -> Result<()> {
        if self.own(connection)? != id {
            return Err(Error::InvalidConfig(
                "a new handshake belongs to the connection's own session",
            ));
        }
        if let Some(entry) = self.entries.get_mut(&id) {
            *entry = Entry {
                last_active: now,
                attached: Some(connection),
                state,
            };
            return Ok(());
        }
        self.make_room(now)?;
        self.entries.insert(
            id,
            Entry {
                last_active: now,
                attached: Some(connection),
                state,
            },
        );
        Ok(())
    }

    /// Moves the detached session `id` to `connection` after a request from it succeeded.
    /// The session `connection` spoke for until now is detached.
    pub(crate) fn attach(&mut self, id: SessionId, connection: ConnectionId) {
        let free = self.entries.get(&id).is_some_and(|e| e.attached.is_none());
        if !free {
            return;
        }
        let Some(own) = self.connections.get_mut(&connection) else {
            return;
        };
        let previous = core::mem::replace(own, id);
        if let Some(entry) = self.entries.get_mut(&previous)
            && entry.attached == Some(connection)
        {
            entry.attached = None;
        }
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.attached = Some(connection);
        }
    }

    /// Drops the session `id` (its connection, if any, keeps the id for a new handshake).
    pub(crate) fn close(&mut self, id: SessionId) -> bool {
        self.forget(id)
    }

    /// Drops the entry of `id` and remembers that it ended. Returns whether it existed.
    fn forget(&mut self, id: SessionId) -> bool {
        let existed = self.entries.remove(&id).is_some();
        if existed {
            if self.ended.len() >= MAX_ENDED {
                self.ended.pop_front();
            }
            self.ended.push_back(id);
        }
        existed
    }

    /// The next session that ended since the last call (so the application can drop what it
    /// kept for it), oldest first.
    pub(crate) fn poll_ended(&mut self) -> Option<SessionId> {
        self.ended.pop_front()
    }

    /// The rank of `entry` as a candidate to give way (lowest first); `None` if it must stay.
    fn rank(&self, entry: &Entry<S>, now: Instant) -> Option<u8> {
        if self.expired(entry, now) {
            return Some(0);
        }
        if entry.state.is_busy() {
            return None;
        }
        let idle = now.saturating_duration_since(entry.last_active) >= self.limits.evict_idle_after;
        match (entry.state.stage(), entry.attached.is_some()) {
            (Stage::Spent, _) => Some(1),
            (Stage::Handshake, false) => Some(2),
            (Stage::Established, false) => Some(3),
            (Stage::Established, true) if idle => Some(4),
            (Stage::Handshake, true) if idle => Some(5),
            (Stage::Established | Stage::Handshake, true) => None,
        }
    }

    /// The session that gives way first when the table is full, if any may.
    fn victim(&self, now: Instant) -> Option<SessionId> {
        self.entries
            .iter()
            .filter_map(|(id, e)| self.rank(e, now).map(|rank| (rank, e.last_active, *id)))
            .min()
            .map(|(_, _, id)| id)
    }

    /// Whether a new session could take a slot now.
    pub(crate) fn has_room(&self, now: Instant) -> bool {
        self.entries.len() < self.limits.max_sessions || self.victim(now).is_some()
    }

    fn make_room(&mut self, now: Instant) -> Result<()> {
        if self.entries.len() < self.limits.max_sessions {
            return Ok(());
        }
        self.handle_timeout(now);
        if self.entries.len() < self.limits.max_sessions {
            return Ok(());
        }
        match self.victim(now) {
            Some(id) => {
                self.forget(id);
                Ok(())
            }
            None => Err(Error::TooManySessions {
                limit: self.limits.max_sessions,
            }),
        }
    }

    /// Drops every session idle for too long.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let timeout = self.limits.idle_timeout;
        let expired: alloc::vec::Vec<SessionId> = self
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.last_active) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.forget(id);
        }
    }

    /// When the next session will expire, if any.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.entries
            .values()
            .map(|e| e.last_active + self.limits.idle_timeout)
            .min()
    }

    /// Number of sessions holding a slot (expired ones included until swept).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Sessions with a handshake in progress (`Resp0` sent or a step being computed).
    pub(crate) fn handshakes(&self) -> usize {
        self.entries
            .values()
            .filter(|e| e.state.stage() == Stage::Handshake)
            .count()
    }

    /// The most sessions held at once.
    pub(crate) fn limit(&self) -> usize {
        self.limits.max_sessions
    }

    /// Number of open connections.
    pub(crate) fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// The stage of `id`, if it holds a slot.
    pub(crate) fn stage(&self, id: SessionId) -> Option<Stage> {
        self.entries.get(&id).map(|e| e.state.stage())
    }

    /// The connection speaking for `id`, if it holds a slot and is attached.
    #[cfg(test)]
    pub(crate) fn attached(&self, id: SessionId) -> Option<ConnectionId> {
        self.entries.get(&id).and_then(|e| e.attached)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{TryCryptoRng, TryRng};

    /// A generator counting up by `step` from `value` (ids 1, 2, 3, … by default).
    struct Counter {
        value: u32,
        step: u32,
    }

    impl TryRng for Counter {
        type Error = core::convert::Infallible;

        fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
            self.value = self.value.wrapping_add(self.step);
            Ok(self.value)
        }

        fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
            self.try_next_u32().map(u64::from)
        }

        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
            for b in dst {
                *b = 7;
            }
            Ok(())
        }
    }

    impl TryCryptoRng for Counter {}

    #[derive(Debug, PartialEq, Eq)]
    struct Fake {
        stage: Stage,
        busy: bool,
    }

    impl Progress for Fake {
        fn stage(&self) -> Stage {
            self.stage
        }
        fn is_busy(&self) -> bool {
            self.busy
        }
    }

    fn handshake() -> Fake {
        Fake {
            stage: Stage::Handshake,
            busy: false,
        }
    }

    fn established() -> Fake {
        Fake {
            stage: Stage::Established,
            busy: false,
        }
    }

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    fn table(max: usize) -> (SessionTable<Fake>, Counter) {
        let table = SessionTable::new(SessionLimits {
            max_sessions: max,
            idle_timeout: Duration::from_secs(10),
            evict_idle_after: Duration::from_secs(5),
        });
        (table, Counter { value: 0, step: 1 })
    }

    /// A connection whose session holds `state` from `at`.
    fn session(
        t: &mut SessionTable<Fake>,
        rng: &mut Counter,
        at: Instant,
        state: Fake,
    ) -> (ConnectionId, SessionId) {
        let c = t.connect(rng);
        let id = t.own(c).unwrap();
        t.install(at, c, id, state).unwrap();
        (c, id)
    }

    #[test]
    fn ids_are_minted_fresh_per_connection() {
        let (mut t, mut rng) = table(2);
        let a = t.connect(&mut rng);
        let b = t.connect(&mut rng);
        assert_ne!(a, b);
        assert_ne!(t.own(a).unwrap(), t.own(b).unwrap());
        // A generator that draws taken ids, or the same id forever, still yields a free one.
        let taken = [t.own(a).unwrap(), t.own(b).unwrap()];
        let c = t.connect(&mut Counter { value: 0, step: 1 });
        assert!(!taken.contains(&t.own(c).unwrap()));
        let d = t.connect(&mut Counter { value: 1, step: 0 });
        let minted = [t.own(c).unwrap(), t.own(d).unwrap()];
        assert!(!taken.contains(&minted[1]) && minted[0] != minted[1]);
        t.disconnect(a, AfterDisconnect::Keep);
        assert!(matches!(t.own(a), Err(Error::UnknownConnection(_))));
        assert_eq!(t.connection_count(), 3);
        // Security 0 style: connections without entries take no slot.
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn expiry_is_driven_by_the_caller() {
        let (mut t, mut rng) = table(2);
        let (_, id) = session(&mut t, &mut rng, ms(0), established());
        assert!(t.state(ms(5_000), id, false).unwrap().is_some());
        assert!(t.state(ms(9_999), id, true).unwrap().is_some());
        assert!(t.state(ms(19_998), id, false).unwrap().is_some());
        assert!(matches!(
            t.state(ms(19_999), id, false),
            Err(Error::SessionExpired(_))
        ));
        assert!(t.state(ms(19_999), id, false).unwrap().is_none());
        assert_eq!(t.poll_timeout(), None);
    }

    #[test]
    fn a_claim_from_another_open_connection_is_refused() {
        let (mut t, mut rng) = table(4);
        let (victim, id) = session(&mut t, &mut rng, ms(0), established());
        let attacker = t.connect(&mut rng);
        assert_eq!(
            t.resolve(ms(1), Origin::new(victim, Some(id))).unwrap(),
            Target::Own(id)
        );
        assert_eq!(t.resolve(ms(1), victim.into()).unwrap(), Target::Own(id));
        assert!(matches!(
            t.resolve(ms(1), Origin::new(attacker, Some(id))),
            Err(Error::SessionInUse(s)) if s == id
        ));
        // Once the victim's connection closed, the claim may continue it.
        t.disconnect(victim, AfterDisconnect::Keep);
        assert_eq!(
            t.resolve(ms(2), Origin::new(attacker, Some(id))).unwrap(),
            Target::Visit(id)
        );
        assert_eq!(t.attached(id), None);
        let attacker_own = t.own(attacker).unwrap();
        t.attach(id, attacker);
        assert_eq!(t.attached(id), Some(attacker));
        assert_eq!(t.own(attacker).unwrap(), id);
        assert!(!t.taken(attacker_own));
        // A third connection is refused again.
        let third = t.connect(&mut rng);
        assert!(matches!(
            t.resolve(ms(3), Origin::new(third, Some(id))),
            Err(Error::SessionInUse(_))
        ));
    }

    #[test]
    fn unknown_and_expired_claims_fall_back_to_the_own_session() {
        let (mut t, mut rng) = table(4);
        let (old, id) = session(&mut t, &mut rng, ms(0), established());
        t.disconnect(old, AfterDisconnect::Keep);
        let c = t.connect(&mut rng);
        let own = t.own(c).unwrap();
        assert_eq!(
            t.resolve(ms(1), Origin::new(c, Some(SessionId(own.0 ^ 1))))
                .unwrap(),
            Target::Gone {
                own,
                claim: SessionId(own.0 ^ 1),
                expired: false
            }
        );
        assert_eq!(
            t.resolve(ms(10_000), Origin::new(c, Some(id))).unwrap(),
            Target::Gone {
                own,
                claim: id,
                expired: true
            }
        );
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn ended_sessions_are_reported_once_each() {
        let (mut t, mut rng) = table(2);
        let (a, ida) = session(&mut t, &mut rng, ms(0), established());
        let (b, idb) = session(&mut t, &mut rng, ms(0), established());
        assert_eq!(t.poll_ended(), None);
        // Detached: not ended.
        t.disconnect(a, AfterDisconnect::Keep);
        assert_eq!(t.poll_ended(), None);
        // Made to give way to a newcomer.
        let (_, idc) = session(&mut t, &mut rng, ms(1), handshake());
        assert_eq!(t.poll_ended(), Some(ida));
        // Closed with its connection.
        t.disconnect(b, AfterDisconnect::Close);
        assert_eq!(t.poll_ended(), Some(idb));
        // Expired.
        t.handle_timeout(ms(20_000));
        assert_eq!(t.poll_ended(), Some(idc));
        assert_eq!(t.poll_ended(), None);
    }

    #[test]
    fn disconnect_keeps_or_closes() {
        let (mut t, mut rng) = table(4);
        let (a, ida) = session(&mut t, &mut rng, ms(0), established());
        let (b, idb) = session(&mut t, &mut rng, ms(0), established());
        t.disconnect(a, AfterDisconnect::Keep);
        t.disconnect(b, AfterDisconnect::Close);
        assert_eq!(t.stage(ida), Some(Stage::Established));
        assert_eq!(t.attached(ida), None);
        assert_eq!(t.stage(idb), None);
        // Disconnecting twice is harmless.
        t.disconnect(b, AfterDisconnect::Close);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn full_table_priorities() {
        let (mut t, mut rng) = table(6);
        let (_, busy) = session(
            &mut t,
            &mut rng,
            ms(0),
            Fake {
                stage: Stage::Established,
                busy: true,
            },
        );
        let (_, active) = session(&mut t, &mut rng, ms(4_000), established());
        let (_, idle) = session(&mut t, &mut rng, ms(100), established());
        let (_, stalled) = session(&mut t, &mut rng, ms(50), handshake());
        let (gone, detached) = session(&mut t, &mut rng, ms(3_000), established());
        t.disconnect(gone, AfterDisconnect::Keep);
        let (_, spent) = session(
            &mut t,
            &mut rng,
            ms(3_500),
            Fake {
                stage: Stage::Spent,
                busy: false,
            },
        );
        let now = ms(6_000);
        let order: Vec<SessionId> = (0..4)
            .map(|_| {
                let v = t.victim(now).unwrap();
                t.close(v);
                v
            })
            .collect();
        assert_eq!(order, [spent, detached, idle, stalled]);
        // A busy session and a recently active one never give way.
        assert_eq!(t.victim(now), None);
        assert!(t.contains(now, busy) && t.contains(now, active));
    }

    #[test]
    fn handshakes_in_progress_outrank_finished_sessions() {
        let (mut t, mut rng) = table(3);
        // Two finished sessions whose connections closed, and a handshake in progress.
        for _ in 0..2 {
            let (c, _) = session(&mut t, &mut rng, ms(0), established());
            t.disconnect(c, AfterDisconnect::Keep);
        }
        let (_, legit) = session(&mut t, &mut rng, ms(10), handshake());
        // Newcomers push out the detached sessions, never the handshake.
        for at in [20, 30] {
            let c = t.connect(&mut rng);
            let id = t.own(c).unwrap();
            assert!(t.has_room(ms(at)));
            t.install(ms(at), c, id, handshake()).unwrap();
            assert_eq!(t.stage(legit), Some(Stage::Handshake));
        }
        let c = t.connect(&mut rng);
        let id = t.own(c).unwrap();
        assert!(!t.has_room(ms(40)));
        assert!(matches!(
            t.install(ms(40), c, id, handshake()),
            Err(Error::TooManySessions { limit: 3 })
        ));
        // A handshake stalled for 5 s makes room at last; the stalest goes first.
        t.install(ms(5_010), c, id, handshake()).unwrap();
        assert_eq!(t.stage(legit), None);
    }

    #[test]
    fn install_replaces_the_own_session_only() {
        let (mut t, mut rng) = table(1);
        let (c, id) = session(&mut t, &mut rng, ms(0), established());
        t.install(ms(1), c, id, handshake()).unwrap();
        assert_eq!(t.stage(id), Some(Stage::Handshake));
        let other = t.connect(&mut rng);
        assert!(t.install(ms(1), other, id, handshake()).is_err());
        assert_eq!(t.attached(id), Some(c));
    }
}
