//! The receiver side: a streaming length decoder for one link.
//!
//! # How it works
//!
//! * **Lock.** The last three raw lengths are watched for `x, y, x` with
//!   `{x, y} = {1048 + K, 1071 + N + K}` (`K ≤ MAX_OFFSET`, `1 ≤ N ≤ 41`): three of the four
//!   sync/count datagrams that open every cycle. That yields K and N at once. Once locked, a
//!   different (K, N) is adopted only from the full four-datagram pattern, so a stray length
//!   cannot throw away progress.
//! * **Runs and context.** After locking, lengths are normalised (`L = raw − K`) and
//!   classified. Consecutive sync/count/marker datagrams form a *run*; the run decides which
//!   group the following planes belong to (the header after sync/count, body group q after
//!   marker `128 + q`). A run that mixes identities (e.g. a stray marker next to the real
//!   ones), or names a count other than N or a group ≥ N − 1, gives no context and its planes
//!   are ignored. Lengths outside every class are ignored without breaking anything.
//! * **Planes.** Within one context planes must arrive with increasing index (a repeat of the
//!   same plane with the same value is ignored); anything else abandons that pass of the group.
//!   A group whose 8 planes arrive in one pass is checked at once. An incomplete pass is merged
//!   into a per-group accumulator across passes (conflicting plane values restart that
//!   accumulator), so a group completes even if no single pass delivered all of its planes.
//! * **Units.** A complete group is accepted only if its CRC checks: CRC-8 for the header and
//!   8-bit groups, the 6-bit CRC for 7-bit groups (before the header is known, either). The
//!   header must also be well formed (§3.4 limits, version 0, security 0..=2) and imply exactly
//!   N − 1 body groups. A valid unit that contradicts a stored one resets the session (offset
//!   kept) and starts the new session with it.
//! * **Completion.** With the header and every body group present, the message is assembled:
//!   decrypted when the header says AES (full PKCS#7 check, plaintext length = password +
//!   reserved length), and every field's length and high-byte flag must equal the header's.
//!   On success the message is returned; either way the session then starts over (offset and N
//!   kept), so a failed attempt (e.g. a wrong key) costs one more cycle, never a loop.
//! * **No key, encrypted message.** The decoder never returns ciphertext as a password: it
//!   keeps the lock and waits (for a plaintext session, or for the caller to supply a key with
//!   a new decoder); [`Decoder::key_required`] reports the situation. A key does not make the
//!   decoder refuse plaintext sessions.
//!
//! Work per length is O(1) (a complete group costs at most a re-check of the 40 stored groups
//! when the header arrives, and one assembly per completed message), nothing is allocated
//! except the returned message, and all state is fixed-size.

use core::fmt;

use zeroize::Zeroize;

use super::assemble::assemble;
use super::crypto::AesKey;
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
    /// A run announcing one group.
    Open(Ident),
    /// A run that announces nothing usable.
    Broken,
}

/// Planes gathered for one group: values and a presence mask (bit i = plane i).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Planes {
    values: [u8; 8],
    mask: u8,
}

impl Planes {
    fn get(&self, index: u8) -> Option<u8> {
        if self.mask & (1 << index) != 0 {
            self.values.get(usize::from(index)).copied()
        } else {
            None
        }
    }

    fn set(&mut self, index: u8, value: u8) {
        if let Some(slot) = self.values.get_mut(usize::from(index)) {
            *slot = value;
            self.mask |= 1 << index;
        }
    }

    fn is_full(&self) -> bool {
        self.mask == 0xff
    }

    fn clear(&mut self) {
        self.values.zeroize();
        self.mask = 0;
    }
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
    /// Groups received and checked so far, header included.
    pub groups_received: u8,
    /// Whether the header is among them.
    pub header: bool,
}

/// Streaming ESPTouch v2 decoder for one link (see the module docs for the method).
///
/// `Debug` shows progress only, never the key or received data.
#[derive(Clone)]
pub struct Decoder {
    key: Option<AesKey>,
    /// Last raw lengths, oldest first.
    window: [u16; 4],
    window_len: u8,
    lock: Option<Lock>,
    run: Run,
    /// The group the current pass of planes belongs to.
    context: Option<Ident>,
    /// Planes of the current pass.
    pass: Planes,
    last_index: u8,
    /// Last plane index of the incomplete pass a run cut off (see [`Decoder::plane`]).
    interrupted: Option<u8>,
    header: Option<Header>,
    /// Checked groups (slot 0 unused: the header is kept parsed).
    done: [[u8; 8]; SLOTS],
    done_mask: u64,
    /// Planes accumulated across passes for groups not yet complete.
    partial: [Planes; SLOTS],
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
            pass: Planes::default(),
            last_index: 0,
            interrupted: None,
            header: None,
            done: [[0; 8]; SLOTS],
            done_mask: 0,
            partial: [Planes::default(); SLOTS],
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
            groups_received: self.done_mask.count_ones() as u8 + u8::from(self.header.is_some()),
            header: self.header.is_some(),
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

    /// Watches raw lengths for the sync/count pattern; (re)locks when appropriate.
    fn observe(&mut self, raw: u16) {
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
        }
    }

    /// Forgets the session (header, groups, partial planes), keeping the lock.
    fn reset_session(&mut self) {
        self.header = None;
        self.done.iter_mut().for_each(Zeroize::zeroize);
        self.done_mask = 0;
        self.partial.iter_mut().for_each(Planes::clear);
        self.pass.clear();
        self.context = None;
        self.interrupted = None;
    }

    /// A sync, count or marker datagram; `ident` is what it announces (`None`: nothing usable).
    fn run_item(&mut self, ident: Option<Ident>) -> Option<Decoded> {
        match self.run {
            Run::Closed => {
                self.interrupted =
                    (self.context.is_some() && self.pass.mask != 0).then_some(self.last_index);
                let flushed = self.end_pass();
                self.run = ident.map_or(Run::Broken, Run::Open);
                flushed
            }
            Run::Open(current) => {
                if Some(current) != ident {
                    self.run = Run::Broken;
                }
                None
            }
            Run::Broken => None,
        }
    }

    /// One plane datagram. When a run cut a group's pass short and the plane that follows the
    /// run continues that pass's index sequence, the run was most likely a stray length in the
    /// middle of a group, not a real group start: its planes are not attributed to anything.
    fn plane(&mut self, index: u8, value: u8) -> Option<Decoded> {
        match self.run {
            Run::Open(ident) => {
                let continuation = self.interrupted.is_some_and(|last| index > last);
                self.context = (!continuation).then_some(ident);
                self.pass.clear();
            }
            Run::Broken => {
                self.context = None;
                self.pass.clear();
            }
            Run::Closed => {}
        }
        self.run = Run::Closed;
        self.interrupted = None;
        let ident = self.context?;
        if self.pass.mask != 0 {
            if index == self.last_index && self.pass.get(index) == Some(value) {
                return None;
            }
            if index <= self.last_index {
                self.pass.clear();
                self.context = None;
                return None;
            }
        }
        self.pass.set(index, value);
        self.last_index = index;
        if !self.pass.is_full() {
            return None;
        }
        let planes = self.pass.values;
        self.pass.clear();
        self.context = None;
        if self.checks(ident, &planes) {
            self.accept(ident, planes)
        } else {
            None
        }
    }

    /// Merges an incomplete pass into the group's accumulator when a new run begins.
    fn end_pass(&mut self) -> Option<Decoded> {
        let ident = self.context.take()?;
        let pass = self.pass;
        self.pass.clear();
        if pass.mask == 0 || self.is_done(ident) {
            return None;
        }
        let slot = ident.slot();
        let acc = self.partial.get_mut(slot)?;
        let conflict =
            (0..8u8).any(|i| matches!((acc.get(i), pass.get(i)), (Some(x), Some(y)) if x != y));
        if conflict {
            *acc = pass;
        } else {
            for i in 0..8u8 {
                if let Some(v) = pass.get(i) {
                    acc.set(i, v);
                }
            }
        }
        if !acc.is_full() {
            return None;
        }
        let planes = acc.values;
        acc.clear();
        if self.checks(ident, &planes) {
            self.accept(ident, planes)
        } else {
            None
        }
    }

    fn is_done(&self, ident: Ident) -> bool {
        match ident {
            Ident::Header => self.header.is_some(),
            Ident::Group(_) => self.done_mask & (1 << ident.slot()) != 0,
        }
    }

    /// CRC check of a complete group against its type (either type while the header is
    /// unknown).
    fn checks(&self, ident: Ident, planes: &[u8; 8]) -> bool {
        match ident {
            Ident::Header => wire::check_eight_bit(planes).is_some(),
            Ident::Group(q) => match self.header.map(|h| h.layout().eight_bit(usize::from(q))) {
                Some(Some(true)) => wire::check_eight_bit(planes).is_some(),
                Some(Some(false)) => wire::check_seven_bit(planes).is_some(),
                Some(None) => false,
                None => {
                    wire::check_eight_bit(planes).is_some()
                        || wire::check_seven_bit(planes).is_some()
                }
            },
        }
    }

    /// Stores a checked unit (conflicts reset the session) and tries to complete the message.
    fn accept(&mut self, ident: Ident, planes: [u8; 8]) -> Option<Decoded> {
        let lock = self.lock?;
        match ident {
            Ident::Header => {
                let bytes = wire::check_eight_bit(&planes)?;
                let header = Header::from_bytes(&bytes)?;
                let layout = header.layout();
                if layout.body_groups() + 1 != usize::from(lock.groups) {
                    return None;
                }
                match self.header {
                    Some(old) if old == header => return None,
                    Some(_) => self.reset_session(),
                    None => {}
                }
                self.header = Some(header);
                // Groups stored before the header was known were checked loosely.
                for q in 0..lock.groups.saturating_sub(1) {
                    let slot = usize::from(q) + 1;
                    if self.done_mask & (1 << slot) == 0 {
                        continue;
                    }
                    let stored = self.done.get(slot).copied().unwrap_or_default();
                    if !self.checks(Ident::Group(q), &stored) {
                        self.done_mask &= !(1 << slot);
                    }
                }
            }
            Ident::Group(_) => {
                let slot = ident.slot();
                if self.done_mask & (1 << slot) != 0 {
                    if self.done.get(slot) == Some(&planes) {
                        return None;
                    }
                    self.reset_session();
                }
                if let Some(stored) = self.done.get_mut(slot) {
                    *stored = planes;
                    self.done_mask |= 1 << slot;
                }
                if let Some(acc) = self.partial.get_mut(slot) {
                    acc.clear();
                }
            }
        }
        self.try_complete(lock)
    }

    fn try_complete(&mut self, lock: Lock) -> Option<Decoded> {
        let header = self.header?;
        if header.security != SECURITY_PLAIN && self.key.is_none() {
            return None;
        }
        let body = usize::from(lock.groups) - 1;
        let needed = ((1u64 << body) - 1) << 1;
        if self.done_mask & needed != needed {
            return None;
        }
        let groups = self.done.get(1..=body)?;
        let message = assemble(&header, groups, self.key.as_ref(), lock.offset);
        if message.is_none() && header.security != SECURITY_PLAIN {
            self.decrypt_failures = self.decrypt_failures.saturating_add(1);
        }
        self.reset_session();
        message
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
        let normalised = length.checked_sub(lock.offset)?;
        match wire::classify(normalised) {
            Class::Sync => self.run_item(Some(Ident::Header)),
            Class::Count(n) => self.run_item((n == lock.groups).then_some(Ident::Header)),
            Class::Marker(q) => self.run_item((q + 1 < lock.groups).then_some(Ident::Group(q))),
            Class::Plane { index, value } => self.plane(index, value),
            Class::Other => None,
        }
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
        self.last_index = 0;
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
