//! Live capture from a Linux monitor-mode interface, and a channel hopper.
//!
//! * [`Capture`] (blocking) and [`AsyncCapture`] (tokio, a capture thread) read frames with a raw `AF_PACKET`
//!   socket (needs `CAP_NET_RAW`), keep those received on the chosen interface and turn them
//!   into [`crate::Observation`]s with [`crate::frame`]. The interface must be in monitor mode:
//!   its link type (`/sys/class/net/IF/type`) must be 803 (radiotap) or 801 (plain 802.11).
//! * [`Hopper`] cycles the interface through channels (`iw dev IF set channel N`, 1..=13,
//!   100 ms each by default) on a thread, and can be locked to one channel when a receiver has
//!   seen a guide pattern there, then unlocked. The channel-setting command is injectable
//!   ([`ChannelSetter`]).
//! * [`RadioClaim`] takes a station interface's radio for a monitor interface (station down,
//!   monitor interface created on the same radio) and gives it back when dropped: a radio
//!   whose station interface is up cannot be tuned by a monitor interface (`EBUSY`).
//!
//! The socket is not bound to the interface (binding needs a `sockaddr_ll`, which cannot be
//! built without `unsafe`); every frame of the network namespace is received and those whose
//! source interface index differs are dropped in user space.

mod capture;
mod hopper;
mod radio;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

pub use capture::{AsyncCapture, Capture, CaptureOptions, CaptureStats, RawFrame};
pub use hopper::{ChannelSetter, Hopper, HopperConfig, IwRunner};
pub use radio::{RadioClaim, shares_radio, wiphy_of};

/// Why capture or hopping failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The interface name cannot name a Linux interface (empty, too long, `/`, NUL…).
    #[error("invalid interface name {0:?}")]
    InvalidInterfaceName(String),
    /// No interface of that name exists (in this network namespace).
    #[error("network interface {0:?} does not exist")]
    InterfaceMissing(String),
    /// The interface is not a monitor-mode interface.
    #[error(
        "interface {ifname:?} is not in monitor mode (link type {arphrd}; expected 803 = radiotap \
         or 801 = 802.11); put it in monitor mode, e.g. `iw dev {ifname} set type monitor`"
    )]
    NotMonitor {
        /// The interface.
        ifname: String,
        /// Its `ARPHRD_*` type (1 = Ethernet: a managed Wi-Fi or wired interface).
        arphrd: u16,
    },
    /// The kernel refused: raw sockets need `CAP_NET_RAW`, setting channels `CAP_NET_ADMIN`.
    #[error("not permitted to {action}: run as root or grant CAP_NET_RAW and CAP_NET_ADMIN")]
    NotPermitted {
        /// What was attempted.
        action: &'static str,
    },
    /// The `iw` program could not be started.
    #[error("cannot run {program:?}: not found; install the `iw` package")]
    IwMissing {
        /// The program that was looked for.
        program: String,
    },
    /// A channel command failed.
    #[error("`{command}` failed: {message}")]
    Command {
        /// The command line.
        command: String,
        /// Its error output or exit status.
        message: String,
    },
    /// The capture thread has ended (after an error, reported once).
    #[error("the capture has stopped")]
    Stopped,
    /// A configuration value is unusable.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// Another operating-system error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl MonitorError {
    pub(crate) fn io(context: &'static str, source: impl Into<std::io::Error>) -> Self {
        MonitorError::Io {
            context,
            source: source.into(),
        }
    }
}

/// The channel an interface is tuned to, shared between a [`Hopper`] (which sets it) and a
/// capture (which stamps it on frames whose radiotap header has no channel, or that have no
/// radiotap header at all). 0 means unknown.
#[derive(Clone, Debug, Default)]
pub struct ChannelTag(Arc<AtomicU8>);

impl ChannelTag {
    /// A tag with no channel.
    pub fn new() -> Self {
        ChannelTag::default()
    }

    /// The current channel.
    pub fn get(&self) -> Option<u8> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            c => Some(c),
        }
    }

    /// Records the current channel (`None` = unknown).
    pub fn set(&self, channel: Option<u8>) {
        self.0.store(channel.unwrap_or(0), Ordering::Relaxed);
    }
}
