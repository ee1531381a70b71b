//! The receiver side: a streaming length decoder for one link.

use core::fmt;

use super::assemble::assemble;
use super::crypto::AesKey;
use super::votes::{Pass, Votes};
use super::wire::{self, COUNT_BASE, Class, Header, MAX_GROUPS, SECURITY_PLAIN, SYNC_LENGTH};
use crate::{Decoded, LengthDecoder, MAX_OFFSET, Protocol};

/// Slot 0 is the header, slot q + 1 body group q.
const SLOTS: usize = MAX_GROUPS as usize;

/// Which group a run of sync/count/marker datagrams announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ident {
    Header,
    Group(u8),
}

impl Ident {
    fn slot(self) -> usize {
        match self {
            Ident::Header => 0,
            Ident::Group(q) => usize::from(q) + 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// The last classified datagram was a plane (or nothing yet).
    Closed,
    /// A run of sync/count/marker datagrams.
    Open(Streak),
}

/// The tail of a run: the datagrams at its end that announce the same thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Streak {
    /// What they announce (`None`: nothing usable).
    ident: Option<Ident>,
    len: u8,
    /// Something else came before them in the same run.
    mixed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Lock {
    offset: u16,
    /// N, header included.
    groups: u8,
}

/// How far the current session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Groups per cycle, header included (N).
    pub groups_total: u8,
    /// Groups whose planes are all in and pass their CRC, header included.
    pub groups_valid: u8,
    /// Whether the header is known.
    pub header: bool,
    /// Whether every plane must be seen twice (the link carried foreign lengths).
    pub confirming: bool,
}

/// Streaming ESPTouch v2 decoder for one link.
///
/// `Debug` shows progress only, never the key or received data.
///
/// # How it works
///
/// * **Lock.** The last three raw lengths (consecutive repeats collapsed) are watched for
///   `x, y, x` with `{x, y} = {1048 + K, 1071 + N + K}` (`K ≤ MAX_OFFSET`, `1 ≤ N ≤ 41`):
///   three of the four sync/count datagrams that open every cycle. That yields K and N at once.
///   Once locked, a different (K, N) is adopted only from the full four-datagram pattern, so a
///   stray length cannot throw away progress.
/// * **Runs.** After locking, lengths are normalised (`L = raw − K`) and classified; lengths
///   outside every class are skipped. Consecutive sync/count/marker datagrams form a *run*,
///   which says which group the following planes belong to (the header after sync/count, body
///   group q after marker `128 + q`). The first plane after a run settles it: if the run ends
///   in a single datagram and the plane simply continues the interrupted group's planes, the
///   run was a stray length and the group resumes; otherwise the run gives the new context if
///   it ends in at least two datagrams announcing the same group, or is a single datagram
///   announcing the group the sender transmits next (or the same one again). Anything else —
///   a count other than N, a group ≥ N − 1, a lone out-of-order marker — gives no context.
/// * **Passes.** Within one context plane indices must increase (an identical repeat is
///   ignored). On a disorder the plane that continues the sequence is kept and the other one
///   dropped (a second disorder ends the pass, which also covers the next group arriving
///   without its markers); plane 7 ends the pass. A pass's planes then vote, per group and
///   plane, across passes (the leading value and one challenger per plane, so stray values
///   cannot dislodge a well-supported plane), so a group completes even if no single pass
///   delivered all of its planes.
/// * **Groups.** A group is valid when its leading plane values pass its CRC: CRC-8 for the
///   header and 8-bit groups, the 6-bit CRC for 7-bit groups (either, until the header is
///   known). The header must also be well formed (§3.4 limits, version 0, security 0..=2) and
///   imply exactly N − 1 body groups. While the link has shown nothing but ESPTouch v2 traffic
///   one sighting per plane suffices (a clean cycle decodes in one pass); once anything foreign
///   was seen (a length outside every class, a wrong count or marker, disagreeing or CRC-failing
///   planes) every plane's leader must be ahead of its challenger by two sightings, so a stray
///   length that happens to fit where a plane was lost cannot slip through on a weak CRC. A
///   group whose planes are all well supported but fail the CRC starts over.
/// * **Conflicts.** A complete, CRC-valid single pass that contradicts a group already
///   confirmed twice means a new session: the session is reset (offset kept) and starts with
///   that pass.
/// * **Completion.** With the header and every body group valid, the message is assembled:
///   decrypted when the header says AES (full PKCS#7 check, plaintext length = password +
///   reserved length), and every field's length and high-byte flag must equal the header's.
///   On success the message is returned; either way the session then starts over (offset and N
///   kept), so a failed attempt (e.g. a wrong key) costs another cycle, never a loop.
/// * **Encrypted, no key.** The decoder never returns ciphertext as a password: it keeps the
///   lock and waits; [`Decoder::key_required`] reports the situation. A key does not make the
///   decoder refuse plaintext sessions.
///
/// Work per length is O(1) (at most a re-check of the 41 groups when the header changes and
/// one assembly per completed message), nothing is allocated except the returned message, and
/// all state is fixed-size.
#[derive(Clone)]
pub struct Decoder {
    key: Option<AesKey>,
    /// Last distinct raw lengths, oldest first.
    window: [u16; 4],
    window_len: u8,
    lock: Option<Lock>,
    run: Run,
    /// The group the current pass belongs to.
    context: Option<Ident>,
    pass: Pass,
    /// The last trusted run.
    previous: Option<Ident>,
    /// Foreign lengths were seen since the lock: planes need two sightings.
    suspicious: bool,
    header: Option<Header>,
    votes: [Votes; SLOTS],
    /// Slots whose leading values pass their checks (bit = slot).
    valid: u64,
    decrypt_failures: u32,
}

impl Decoder {
    /// A decoder that decrypts AES sessions with `aes_key` (plaintext sessions are always
    /// accepted).
    pub fn new(aes_key: Option<[u8; 16]>) -> Self {
        Decoder {
            key: aes_key.map(AesKey::new),
            window: [0; 4],
            window_len: 0,
            lock: None,
            run: Run::Closed,
            context: None,
            pass: Pass::default(),
            previous: None,
            suspicious: false,
            header: None,
            votes: [Votes::default(); SLOTS],
            valid: 0,
            decrypt_failures: 0,
        }
    }

    /// N (groups per cycle, header included), once locked.
    pub fn group_count(&self) -> Option<u8> {
        self.lock.map(|l| l.groups)
    }

    /// Progress of the current session, once locked.
    pub fn progress(&self) -> Option<Progress> {
        let lock = self.lock?;
        Some(Progress {
            groups_total: lock.groups,
            groups_valid: self.valid.count_ones() as u8,
            header: self.header.is_some(),
            confirming: self.suspicious,
        })
    }

    /// The header says the password is AES-encrypted and this decoder has no key: it will not
    /// return a message for this session.
    pub fn key_required(&self) -> bool {
        self.key.is_none() && self.header.is_some_and(|h| h.security != SECURITY_PLAIN)
    }

    /// Complete encrypted sessions that failed decryption or the PKCS#7 / length checks so far
    /// (a wrong key shows up here once per cycle).
    pub fn decrypt_failures(&self) -> u32 {
        self.decrypt_failures
    }

    fn need(&self) -> u8 {
        if self.suspicious { 2 } else { 1 }
    }

    /// Watches raw lengths for the sync/count pattern; (re)locks when appropriate.
    fn observe(&mut self, raw: u16) {
        // A repeated length (retry, duplicate) must not break the alternation.
        if self.window_len > 0 && self.window.last() == Some(&raw) {
            return;
        }
        self.window.rotate_left(1);
        if let Some(last) = self.window.last_mut() {
            *last = raw;
        }
        self.window_len = (self.window_len + 1).min(4);
        let [a, b, c, d] = self.window;
        if self.window_len < 3 || b != d || b == c {
            return;
        }
        let Some((offset, groups)) = sync_pair(b, c) else {
            return;
        };
        let four = self.window_len == 4 && a == c;
        let adopt = match self.lock {
            None => true,
            Some(lock) => (lock.offset != offset || lock.groups != groups) && four,
        };
        if adopt {
            self.lock = Some(Lock { offset, groups });
            self.reset_session();
            self.run = Run::Closed;
            self.previous = None;
            self.suspicious = false;
        }
    }

    /// Forgets the session (header, votes, current pass), keeping the lock.
    fn reset_session(&mut self) {
        self.header = None;
        self.votes.iter_mut().for_each(Votes::clear);
        self.valid = 0;
        self.pass.clear();
        self.context = None;
    }

    /// A sync, count or marker datagram; `ident` is what it announces (`None`: nothing usable).
    /// The pass in progress stays suspended until the next plane shows whether the run was
    /// real.
    fn run_item(&mut self, ident: Option<Ident>) {
        self.run = Run::Open(match self.run {
            Run::Open(streak) if streak.ident == ident => Streak {
                len: streak.len.saturating_add(1),
                ..streak
            },
            Run::Open(_) => Streak {
                ident,
                len: 1,
                mixed: true,
            },
            Run::Closed => Streak {
                ident,
                len: 1,
                mixed: false,
            },
        });
    }

    /// One plane datagram. The first plane after a run settles the run:
    ///
    /// * if the suspended pass simply continues (higher plane index) and the run ends in a
    ///   single datagram, the run was a stray length inside a group: the pass resumes;
    /// * otherwise the suspended pass ends, and the run gives the new context if it ends in at
    ///   least two datagrams announcing the same group, or consists of a single datagram
    ///   announcing the group the sender transmits after the previous trusted run.
    ///
    /// Within a pass, plane indices must increase (an identical repeat is ignored). Plane 7
    /// ends the pass.
    fn plane(&mut self, index: u8, value: u8) -> Option<Decoded> {
        if let Run::Open(streak) = self.run {
            self.run = Run::Closed;
            let continuation =
                self.context.is_some() && self.pass.last().is_some_and(|last| index > last);
            if !(continuation && (streak.len == 1 || streak.ident.is_none())) {
                if streak.ident.is_some() && streak.ident == self.context {
                    // The same group announced again before its planes: what came between
                    // was stray.
                    self.pass.clear();
                }
                let flushed = self.end_pass();
                if flushed.is_some() {
                    return flushed;
                }
                let trusted = streak.ident.filter(|&ident| {
                    streak.len >= 2
                        || !streak.mixed
                            && match (self.previous, self.lock) {
                                (Some(previous), Some(lock)) => {
                                    previous == ident || successor(previous, lock.groups) == ident
                                }
                                _ => true,
                            }
                });
                if trusted.is_some() {
                    self.previous = trusted;
                }
                self.context = trusted;
            }
        }
        self.context?;
        if let Some(last) = self.pass.last().filter(|&last| index <= last) {
            if index == last && self.pass.get(index) == Some(value) {
                return None;
            }
            // Out of order: either this plane or the one before it is a stray (or the next
            // group's planes arrive without their markers). Keep whichever continues the
            // sequence before it; for equal indices keep neither. A second disorder ends the
            // pass.
            let struck = self.pass.strike;
            self.pass.strike = true;
            if index < last {
                let mut without_last = self.pass;
                without_last.remove(last);
                if without_last.last().map_or(0, |p| p + 1) == index {
                    without_last.set(index, value);
                    self.pass = without_last;
                }
            } else {
                self.pass.remove(last);
            }
            return if struck { self.end_pass() } else { None };
        }
        self.pass.set(index, value);
        if index == 7 { self.end_pass() } else { None }
    }

    /// Ends the current pass: its planes vote for its group, which is then re-evaluated.
    fn end_pass(&mut self) -> Option<Decoded> {
        let ident = self.context.take()?;
        let pass = self.pass;
        self.pass.clear();
        let slot = ident.slot();
        if pass.is_full() {
            if !self.full_pass_checks(ident, &pass.values) {
                // At least one plane is wrong; do not let it vote.
                self.suspicious = true;
                return None;
            }
            let confirmed = self.valid & (1 << slot) != 0
                && self.votes.get(slot).is_some_and(|v| v.min_count() >= 2);
            if confirmed && self.votes.get(slot).map(|v| v.values()) != Some(pass.values) {
                self.reset_session();
            }
        } else if pass.mask == 0 {
            return None;
        }
        let conflict = self.votes.get_mut(slot).is_some_and(|v| v.add_pass(&pass));
        self.suspicious |= conflict;
        self.refresh(slot);
        self.try_complete()
    }

    /// Whether a single complete pass is a plausible instance of its group.
    fn full_pass_checks(&self, ident: Ident, planes: &[u8; 8]) -> bool {
        match ident {
            Ident::Header => self.parse_header(planes).is_some(),
            Ident::Group(q) => self.group_checks(q, planes),
        }
    }

    fn parse_header(&self, planes: &[u8; 8]) -> Option<Header> {
        let lock = self.lock?;
        let header = Header::from_bytes(&wire::check_eight_bit(planes)?)?;
        (header.layout().body_groups() + 1 == usize::from(lock.groups)).then_some(header)
    }

    /// CRC check of body group `q` against its type (either type while the header is unknown).
    fn group_checks(&self, q: u8, planes: &[u8; 8]) -> bool {
        match self.header.map(|h| h.layout().eight_bit(usize::from(q))) {
            Some(Some(true)) => wire::check_eight_bit(planes).is_some(),
            Some(Some(false)) => wire::check_seven_bit(planes).is_some(),
            Some(None) => false,
            None => {
                wire::check_eight_bit(planes).is_some() || wire::check_seven_bit(planes).is_some()
            }
        }
    }

    /// Recomputes whether `slot`'s leading values are valid; adopts a new header.
    fn refresh(&mut self, slot: usize) {
        let bit = 1u64 << slot;
        self.valid &= !bit;
        let Some(votes) = self.votes.get(slot).copied() else {
            return;
        };
        let min = votes.min_count();
        if min == 0 {
            return;
        }
        let ok = if slot == 0 {
            match self.parse_header(&votes.values()) {
                Some(header) => {
                    if self.header != Some(header) {
                        self.adopt_header(header);
                    }
                    true
                }
                None => false,
            }
        } else {
            self.group_checks((slot - 1) as u8, &votes.values())
        };
        if ok {
            self.valid |= bit;
        } else if min >= self.need() {
            // Every plane seen often enough, yet the CRC fails: start this group over.
            self.suspicious = true;
            if let Some(v) = self.votes.get_mut(slot) {
                v.clear();
            }
        }
    }

    /// A (new) valid header: a different one starts a new session; body groups are re-checked
    /// against their now known types.
    fn adopt_header(&mut self, header: Header) {
        if self.header.is_some() {
            self.votes.iter_mut().skip(1).for_each(Votes::clear);
            self.valid &= 1;
        }
        self.header = Some(header);
        for slot in 1..SLOTS {
            if self.valid & (1 << slot) != 0 {
                self.refresh(slot);
            }
        }
    }

    fn try_complete(&mut self) -> Option<Decoded> {
        let lock = self.lock?;
        let header = self.header?;
        if header.security != SECURITY_PLAIN && self.key.is_none() {
            return None;
        }
        let needed = (1u64 << lock.groups) - 1;
        if self.valid & needed != needed {
            return None;
        }
        let slots = self.votes.get(..usize::from(lock.groups))?;
        let need = self.need();
        if slots.iter().any(|v| v.min_count() < need) {
            return None;
        }
        let mut groups = [[0u8; 8]; SLOTS];
        for (dst, src) in groups.iter_mut().zip(slots.iter().skip(1)) {
            *dst = src.values();
        }
        let body = groups.get(..usize::from(lock.groups) - 1)?;
        let message = assemble(&header, body, self.key.as_ref(), lock.offset);
        zeroize::Zeroize::zeroize(&mut groups);
        if message.is_none() && header.security != SECURITY_PLAIN {
            self.decrypt_failures = self.decrypt_failures.saturating_add(1);
        }
        self.reset_session();
        message
    }
}

/// The group the sender transmits after `ident` in a cycle of `groups` groups.
fn successor(ident: Ident, groups: u8) -> Ident {
    let next = match ident {
        Ident::Header => 0,
        Ident::Group(q) => q.saturating_add(1),
    };
    if next.saturating_add(1) < groups {
        Ident::Group(next)
    } else {
        Ident::Header
    }
}

/// `(K, N)` if `{x, y}` is a sync/count pair.
fn sync_pair(x: u16, y: u16) -> Option<(u16, u8)> {
    let (low, high) = if x < y { (x, y) } else { (y, x) };
    let offset = low.checked_sub(SYNC_LENGTH)?;
    let groups = (high - low).checked_sub(COUNT_BASE - SYNC_LENGTH)?;
    (offset <= MAX_OFFSET && (1..=u16::from(MAX_GROUPS)).contains(&groups))
        .then_some((offset, groups as u8))
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(None)
    }
}

impl LengthDecoder for Decoder {
    fn protocol(&self) -> Protocol {
        Protocol::EspTouchV2
    }

    fn push(&mut self, length: u16) -> Option<Decoded> {
        self.observe(length);
        let lock = self.lock?;
        let class = match length.checked_sub(lock.offset) {
            Some(normalised) => wire::classify(normalised),
            None => Class::Other,
        };
        match class {
            Class::Sync => self.run_item(Some(Ident::Header)),
            Class::Count(n) if n == lock.groups => self.run_item(Some(Ident::Header)),
            Class::Marker(q) if q + 1 < lock.groups => self.run_item(Some(Ident::Group(q))),
            Class::Count(_) | Class::Marker(_) => {
                self.suspicious = true;
                self.run_item(None);
            }
            Class::Plane { index, value } => return self.plane(index, value),
            Class::Other => self.suspicious = true,
        }
        None
    }

    fn offset(&self) -> Option<u16> {
        self.lock.map(|l| l.offset)
    }

    fn reset(&mut self) {
        self.reset_session();
        self.window = [0; 4];
        self.window_len = 0;
        self.lock = None;
        self.run = Run::Closed;
        self.previous = None;
        self.suspicious = false;
        self.decrypt_failures = 0;
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        self.reset_session();
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("offset", &self.lock.map(|l| l.offset))
            .field("progress", &self.progress())
            .field("decrypt_failures", &self.decrypt_failures)
            .finish_non_exhaustive()
    }
}
