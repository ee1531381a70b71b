//! The sans-I/O SmartConfig receiver: observed frames in, lock / result events out.
//!
//! A [`Receiver`] is fed [`Observation`]s (from a monitor-mode capture, a pcap file or a UDP
//! socket) and behaves as spec §1.4 and §5 describe:
//!
//! * **filter**: a sniffed frame must go to a group address from a unicast source and BSSID;
//!   [`Direction::Direct`] observations (UDP payload lengths) are taken as they are;
//! * **key** every frame by (direction, BSSID, source) — never mixing the two copies of a
//!   datagram — and drop to-DS retries (same sequence number as the previous frame of the key);
//! * **search**: a key starts being tracked with a length that can begin a guide pattern
//!   ([`guide_window`]); every tracked key gets its own decoder for each protocol the
//!   [`ScType`] accepts (both for [`ScType::EspTouchAirKiss`]); the table of keys is bounded
//!   and evicts the least recently active key, so traffic from many stations cannot grow
//!   memory;
//! * **lock**: the first decoder that learns its offset from its guide pattern locks the
//!   receiver on its key ([`Event::Locked`]: a live capture stops hopping channels); from then on
//!   only that key is decoded;
//! * **finish**: the first complete, validated message is completed from the scan table when
//!   the sender left the SSID out, and reported as [`Event::Done`]; the receiver then stops
//!   until [`Receiver::reset`];
//! * **give up**: a lock that sees no frame for the idle timeout, outlives the lock timeout or
//!   whose decoder drops its offset (conflicting data) ends with [`Event::Reset`], and the
//!   receiver searches again.
//!
//! Time comes only from [`Observation::time_us`] (and [`Receiver::poll`]), so replays are
//! deterministic. Per observation the work is a filter, a search of a small array of keys and
//! one or two decoder steps; nothing is allocated in the steady state.

mod decoders;
mod resolve;
mod table;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::ops::RangeInclusive;

use zeroize::Zeroize;

use crate::{
    Decoded, Direction, LengthDecoder, MAX_OFFSET, Observation, Protocol, ScType, esptouch_v1,
    esptouch_v2,
};
use table::{BoxedDecoder, Inserted, Key, Table, key_of};

/// Default idle timeout of a lock: no frame of the locked link for 2.5 s (spec §5).
pub const DEFAULT_IDLE_TIMEOUT_US: u64 = 2_500_000;
/// Default absolute timeout of a lock: 60 s (spec §5: 30–60 s).
pub const DEFAULT_LOCK_TIMEOUT_US: u64 = 60_000_000;
/// Default number of links tracked at once while searching.
pub const DEFAULT_MAX_LINKS: usize = 32;

/// One access point from a Wi-Fi scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanEntry {
    /// SSID bytes (raw octets).
    pub ssid: Vec<u8>,
    /// BSSID.
    pub bssid: [u8; 6],
    /// Primary channel.
    pub channel: u8,
    /// Signal strength in dBm.
    pub rssi: i8,
}

/// A 16-byte AES key, zeroized on drop and redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
struct AesKey([u8; 16]);

impl Drop for AesKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// How a [`Receiver`] is set up.
#[derive(Clone)]
pub struct ReceiverConfig {
    /// Which protocols to listen for.
    pub sc_type: ScType,
    /// Access points of a recent scan, for SSID (and BSSID) recovery.
    pub scan: Vec<ScanEntry>,
    /// A lock ends when its link is silent for this long (µs).
    pub idle_timeout_us: u64,
    /// A lock ends this long after it began (µs).
    pub lock_timeout_us: u64,
    /// How many links are tracked at once while searching (at least 1).
    pub max_links: usize,
    aes_key: Option<AesKey>,
}

impl ReceiverConfig {
    /// Defaults for `sc_type`: no key, no scan table, spec timeouts.
    pub fn new(sc_type: ScType) -> Self {
        ReceiverConfig {
            sc_type,
            scan: Vec::new(),
            idle_timeout_us: DEFAULT_IDLE_TIMEOUT_US,
            lock_timeout_us: DEFAULT_LOCK_TIMEOUT_US,
            max_links: DEFAULT_MAX_LINKS,
            aes_key: None,
        }
    }

    /// Sets the AES key (ESPTouch v2 and AirKiss).
    pub fn with_aes_key(mut self, key: [u8; 16]) -> Self {
        self.aes_key = Some(AesKey(key));
        self
    }

    /// Sets the scan table.
    pub fn with_scan(mut self, scan: Vec<ScanEntry>) -> Self {
        self.scan = scan;
        self
    }

    /// Sets the idle and absolute lock timeouts (µs).
    pub fn with_timeouts(mut self, idle_us: u64, lock_us: u64) -> Self {
        self.idle_timeout_us = idle_us;
        self.lock_timeout_us = lock_us;
        self
    }

    /// Sets how many links are tracked at once while searching.
    pub fn with_max_links(mut self, max_links: usize) -> Self {
        self.max_links = max_links;
        self
    }

    /// Whether an AES key is configured.
    pub fn has_aes_key(&self) -> bool {
        self.aes_key.is_some()
    }

    /// The protocols `sc_type` listens for, in decoder order.
    pub fn protocols(&self) -> &'static [Protocol] {
        match self.sc_type {
            ScType::EspTouch => &[Protocol::EspTouch],
            ScType::AirKiss => &[Protocol::AirKiss],
            ScType::EspTouchAirKiss => &[Protocol::EspTouch, Protocol::AirKiss],
            ScType::EspTouchV2 => &[Protocol::EspTouchV2],
        }
    }
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig::new(ScType::default())
    }
}

impl fmt::Debug for ReceiverConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field("sc_type", &self.sc_type)
            .field("scan", &self.scan)
            .field("idle_timeout_us", &self.idle_timeout_us)
            .field("lock_timeout_us", &self.lock_timeout_us)
            .field("max_links", &self.max_links)
            .field("aes_key", &self.aes_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The link a receiver locked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// The protocol whose guide pattern locked.
    pub protocol: Protocol,
    /// Channel of the frame that completed the guide, if known.
    pub channel: Option<u8>,
    /// BSSID of the link (zeros for [`Direction::Direct`]).
    pub bssid: [u8; 6],
    /// Source (the phone's MAC).
    pub source: [u8; 6],
    /// Direction of the link.
    pub direction: Direction,
    /// The length offset the decoder learned.
    pub offset: u16,
    /// Time of the frame that completed the guide (µs).
    pub time_us: u64,
}

/// A complete, validated result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The message; its `ssid` is always `Some` (from the air or from the scan table) and its
    /// `protocol` is the protocol it arrived with.
    pub decoded: Decoded,
    /// The SSID was left out by the sender and recovered from the scan table.
    pub ssid_from_scan: bool,
    /// The access point's BSSID as well as it is known: ESPTouch v1 carries it; otherwise the
    /// link's BSSID when it fits the ESPTouch v2 BSSID CRC (or no CRC is carried), or the only
    /// scanned BSSID of the SSID that fits the CRC.
    pub bssid: Option<[u8; 6]>,
    /// The channel: the link's, else the scan entry's of `bssid`.
    pub channel: Option<u8>,
    /// The link the message came from, with the protocol and offset of the decoder that
    /// completed it (in combined mode that can be the other protocol's decoder on the locked
    /// link, if the phone switched apps).
    pub link: Link,
}

impl Received {
    /// The SSID bytes.
    pub fn ssid(&self) -> &[u8] {
        self.decoded.ssid.as_deref().unwrap_or_default()
    }

    /// The protocol the message arrived with.
    pub fn protocol(&self) -> Protocol {
        self.decoded.protocol
    }
}

/// Why a lock ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetReason {
    /// No frame of the locked link for the idle timeout.
    IdleTimeout,
    /// The lock outlived the absolute timeout.
    LockTimeout,
    /// The locked decoder dropped its offset (conflicting data: two sessions or senders).
    Conflict,
    /// A decoded message could not be completed (see [`Event::Rejected`]).
    Rejected,
}

/// Why a decoded message was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// The SSID was left out and no scanned network fits its CRC / BSSID.
    SsidNotInScan,
    /// The SSID was left out and several scanned networks fit.
    SsidAmbiguous,
    /// The carried SSID is too long or contradicts its CRC.
    InvalidSsid,
}

/// What a [`Receiver`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A guide pattern was found: the receiver now listens to this link only.
    Locked(Link),
    /// A complete, validated message. The receiver has stopped.
    Done(Box<Received>),
    /// A message was decoded but cannot be completed (e.g. its SSID is not in the scan table);
    /// the receiver searches again (a [`Event::Reset`] is implied).
    Rejected {
        /// The protocol of the message.
        protocol: Protocol,
        /// Why.
        reason: RejectReason,
    },
    /// The lock ended; the receiver searches again.
    Reset {
        /// Why.
        reason: ResetReason,
    },
}

/// Where a receiver is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Looking for a guide pattern on any link.
    Searching,
    /// Decoding one link.
    Locked(Link),
    /// Finished with a result; call [`Receiver::reset`] to listen again.
    Done,
}

/// Counters of what happened to the observations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Observations pushed.
    pub observations: u64,
    /// Dropped by the filter (unicast destination, group source/BSSID).
    pub filtered: u64,
    /// Dropped as retries (repeated sequence number).
    pub retries: u64,
    /// Dropped while searching because they came from a link not tracked yet and their
    /// length cannot begin a guide pattern.
    pub untracked: u64,
    /// Dropped while locked because they belong to another link.
    pub other_links: u64,
    /// Links forgotten to make room for new ones.
    pub evictions: u64,
    /// Locks taken.
    pub locks: u64,
    /// Locks that ended without a result.
    pub resets: u64,
}

/// The active lock.
struct Lock {
    link: Link,
    key: Key,
    slot: usize,
    /// Index of the decoder whose guide locked.
    decoder: usize,
    last_us: u64,
}

enum Phase {
    Searching,
    Locked(Lock),
    Done,
}

/// The SmartConfig receiver (see the module docs).
pub struct Receiver {
    config: ReceiverConfig,
    /// Raw lengths that can begin a guide pattern of the protocols listened for.
    guides: Vec<RangeInclusive<u16>>,
    table: Table,
    phase: Phase,
    stats: Stats,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("config", &self.config)
            .field("state", &self.state())
            .field("links", &self.table.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Receiver {
    /// A receiver with the crate's decoders for the protocols of `config.sc_type`.
    pub fn new(config: ReceiverConfig) -> Self {
        let key = config.aes_key.as_ref().map(|k| k.0);
        Self::with_decoders(config, |protocol| default_decoder(protocol, key))
    }

    /// A receiver whose decoders come from `make` (called once per protocol of
    /// `config.sc_type` for each of the `config.max_links` link slots, all up front).
    pub fn with_decoders(
        config: ReceiverConfig,
        mut make: impl FnMut(Protocol) -> Box<dyn LengthDecoder + Send>,
    ) -> Self {
        let protocols = config.protocols();
        let table = Table::new(config.max_links, || {
            protocols
                .iter()
                .map(|&p| make(p))
                .collect::<Vec<BoxedDecoder>>()
        });
        let guides = protocols.iter().map(|&p| guide_window(p)).collect();
        Receiver {
            config,
            guides,
            table,
            phase: Phase::Searching,
            stats: Stats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    /// Replaces the scan table (used for messages completed from now on).
    pub fn set_scan_table(&mut self, scan: Vec<ScanEntry>) {
        self.config.scan = scan;
    }

    /// Where the receiver is.
    pub fn state(&self) -> State {
        match &self.phase {
            Phase::Searching => State::Searching,
            Phase::Locked(lock) => State::Locked(lock.link),
            Phase::Done => State::Done,
        }
    }

    /// Whether a result was delivered.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Number of links currently tracked (never more than `max_links`).
    pub fn links(&self) -> usize {
        self.table.len()
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Forgets everything and searches again (also after a result).
    pub fn reset(&mut self) {
        self.table.clear();
        self.phase = Phase::Searching;
    }

    /// Checks the lock timeouts at `now_us` without an observation (for a live source that
    /// may go quiet). Returns [`Event::Reset`] if the lock ended.
    pub fn poll(&mut self, now_us: u64) -> Option<Event> {
        let Phase::Locked(lock) = &self.phase else {
            return None;
        };
        let reason = if now_us.saturating_sub(lock.link.time_us) > self.config.lock_timeout_us {
            ResetReason::LockTimeout
        } else if now_us.saturating_sub(lock.last_us) > self.config.idle_timeout_us {
            ResetReason::IdleTimeout
        } else {
            return None;
        };
        Some(self.unlock(reason))
    }

    /// Feeds one observation.
    pub fn push(&mut self, obs: &Observation) -> Option<Event> {
        self.stats.observations += 1;
        if matches!(self.phase, Phase::Done) {
            return None;
        }
        if let Some(event) = self.poll(obs.time_us) {
            // Right after a reset every decoder is empty, so this frame cannot lock anything
            // on its own: feeding it on would not change the outcome of this call.
            return Some(event);
        }
        if !admissible(obs) {
            self.stats.filtered += 1;
            return None;
        }
        let key = key_of(obs);
        match &self.phase {
            Phase::Locked(lock) if lock.key == key => self.push_locked(obs),
            Phase::Locked(_) => {
                self.stats.other_links += 1;
                None
            }
            Phase::Searching => self.push_searching(obs, key),
            Phase::Done => None,
        }
    }

    fn push_searching(&mut self, obs: &Observation, key: Key) -> Option<Event> {
        let index = match self.table.find(key) {
            Some(index) => index,
            // A link starts being tracked with a length that can begin a guide pattern: the
            // lengths before it cannot be part of one, and noise from many stations then
            // rarely displaces a tracked link.
            None if !self.guides.iter().any(|w| w.contains(&obs.length)) => {
                self.stats.untracked += 1;
                return None;
            }
            None => match self.table.insert(key) {
                Inserted::Free(index) => index,
                Inserted::Evicted(index) => {
                    self.stats.evictions += 1;
                    index
                }
            },
        };
        let slot = self.table.slot_mut(index)?;
        if slot.is_retry(obs.seq) {
            self.stats.retries += 1;
            return None;
        }
        let mut locked = None;
        let mut message = None;
        for (d, decoder) in slot.decoders.iter_mut().enumerate() {
            if let Some(decoded) = decoder.push(obs.length) {
                message.get_or_insert((d, decoded));
            }
            if locked.is_none() {
                locked = decoder
                    .offset()
                    .map(|offset| (d, decoder.protocol(), offset));
            }
        }
        let (decoder, protocol, offset) = match (locked, &message) {
            (Some(lock), _) => lock,
            // A decoder that completes without reporting an offset: lock on what it says.
            (None, Some((d, decoded))) => (*d, decoded.protocol, decoded.offset),
            (None, None) => return None,
        };
        let link = Link {
            protocol,
            channel: obs.channel,
            bssid: obs.bssid,
            source: obs.source,
            direction: obs.direction,
            offset,
            time_us: obs.time_us,
        };
        self.stats.locks += 1;
        self.phase = Phase::Locked(Lock {
            link,
            key,
            slot: index,
            decoder,
            last_us: obs.time_us,
        });
        match message {
            Some((_, decoded)) => Some(self.finish(decoded)),
            None => Some(Event::Locked(link)),
        }
    }

    fn push_locked(&mut self, obs: &Observation) -> Option<Event> {
        let Phase::Locked(lock) = &mut self.phase else {
            return None;
        };
        lock.last_us = obs.time_us;
        let lock_decoder = lock.decoder;
        let slot = self.table.slot_mut(lock.slot)?;
        if slot.is_retry(obs.seq) {
            self.stats.retries += 1;
            return None;
        }
        let mut message = None;
        let mut lost = false;
        for (d, decoder) in slot.decoders.iter_mut().enumerate() {
            if let Some(decoded) = decoder.push(obs.length) {
                message.get_or_insert(decoded);
            }
            if d == lock_decoder && decoder.offset().is_none() {
                lost = true;
            }
        }
        if let Some(decoded) = message {
            Some(self.finish(decoded))
        } else if lost {
            Some(self.unlock(ResetReason::Conflict))
        } else {
            None
        }
    }

    /// Completes `decoded` on the current lock: [`Event::Done`] or [`Event::Rejected`].
    fn finish(&mut self, decoded: Decoded) -> Event {
        let Phase::Locked(lock) = &self.phase else {
            return Event::Reset {
                reason: ResetReason::Rejected,
            };
        };
        let protocol = decoded.protocol;
        let mut link = lock.link;
        if link.protocol != protocol {
            // Another protocol's decoder on the same link found its own guide and finished.
            link.protocol = protocol;
            link.offset = decoded.offset;
        }
        if !self.config.sc_type.accepts(protocol) {
            // A decoder of a protocol this receiver does not listen for: ignore the lock.
            self.unlock(ResetReason::Rejected);
            return Event::Reset {
                reason: ResetReason::Rejected,
            };
        }
        match resolve::complete(decoded, link, &self.config.scan) {
            Ok(received) => {
                self.table.clear();
                self.phase = Phase::Done;
                Event::Done(Box::new(received))
            }
            Err(reason) => {
                self.unlock(ResetReason::Rejected);
                Event::Rejected { protocol, reason }
            }
        }
    }

    /// Ends the lock and searches again.
    fn unlock(&mut self, reason: ResetReason) -> Event {
        self.stats.resets += 1;
        self.table.clear();
        self.phase = Phase::Searching;
        Event::Reset { reason }
    }
}

/// Whether a frame can carry SmartConfig lengths: group destination, unicast source and BSSID
/// (spec §1.4 step 3). Direct observations always can.
fn admissible(obs: &Observation) -> bool {
    let group = |mac: &[u8; 6]| mac[0] & 1 == 1;
    match obs.direction {
        Direction::Direct => true,
        Direction::ToDs | Direction::FromDs => {
            group(&obs.destination) && !group(&obs.source) && !group(&obs.bssid)
        }
    }
}

/// The raw lengths a guide pattern of `protocol` consists of, for any offset up to
/// [`MAX_OFFSET`]: ESPTouch v1 512..=515, AirKiss 1..=4, ESPTouch v2 1048 and 1071 + N
/// (N ≤ 41), each plus the offset.
pub fn guide_window(protocol: Protocol) -> RangeInclusive<u16> {
    let (low, high) = match protocol {
        Protocol::EspTouch => (esptouch_v1::GUIDE_BASE, esptouch_v1::GUIDE_BASE + 3),
        Protocol::AirKiss => (1, 4),
        Protocol::EspTouchV2 => (
            esptouch_v2::SYNC_LENGTH,
            esptouch_v2::COUNT_BASE + u16::from(esptouch_v2::MAX_GROUPS),
        ),
    };
    low..=high + MAX_OFFSET
}

/// The crate's decoder for `protocol`.
fn default_decoder(protocol: Protocol, key: Option<[u8; 16]>) -> Box<dyn LengthDecoder + Send> {
    decoders::make(protocol, key)
}
