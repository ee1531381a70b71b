//! 802.11 frames as a sniffer sees them: radiotap and plain 802.11 MAC headers reduced to
//! [`Observation`]s, plus a builder of synthetic Data frames for tests and pcap files.
//!
//! `no_std` (the builder needs `alloc`). Every parser is total: any byte input gives either an
//! [`Observation`] or a typed [`FrameError`], never a panic.
//!
//! # What is accepted
//!
//! Only frames that can carry a SmartConfig length (spec §1.2, §1.4 step 3): Data frames with a
//! body (not Null/QoS-Null), exactly one of ToDS/FromDS, not fragmented, not an A-MSDU, not
//! flagged with a bad FCS (and, when the FCS is captured, with a matching CRC-32), sent to a
//! group address by a unicast source through a unicast BSSID.
//!
//! # The observed length
//!
//! [`Observation::length`] is the length of the frame **as it went over the air, FCS
//! included**: MAC header (with QoS control and HT control when present) + frame body
//! (security header, LLC/SNAP, IP, UDP, payload, MIC/ICV) + 4. This is the `sig_len` an ESP32
//! reports and the convention of the spec's offset table (§1.2: open non-QoS IPv4 K = 64, CCMP
//! K = 80, +2 for QoS). The 4 FCS bytes are counted whether or not the capture carried them
//! (radiotap tells; Linux usually strips them), so the same datagram gives the same length
//! from every source. Radiotap header bytes and radiotap data padding are never counted.
//! Decoders still learn the offset per link, so only consistency within a link matters.

mod build;
mod crc32;
mod mac;
mod radiotap;

pub use build::{DataFrameSpec, RadiotapSpec, Security, build_data_frame};
pub use crc32::fcs;
pub use radiotap::{
    FLAG_BAD_FCS, FLAG_DATA_PAD, FLAG_FCS_AT_END, FLAG_FRAGMENTED, Radiotap,
    channel_from_frequency, frequency_from_channel, parse_radiotap,
};

use crate::Observation;

/// The bytes added to every MPDU length for the FCS (see the module docs).
pub const FCS_LEN: u16 = 4;

/// How a captured frame starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// A radiotap header, then the 802.11 frame (`DLT_IEEE802_11_RADIO` = 127,
    /// `ARPHRD_IEEE80211_RADIOTAP` = 803). Radiotap says whether the FCS is at the end.
    Radiotap,
    /// The 802.11 frame itself, without FCS (`DLT_IEEE802_11` = 105,
    /// `ARPHRD_IEEE80211` = 801).
    Ieee80211,
}

impl LinkType {
    /// From a Linux `ARPHRD_*` interface type (`/sys/class/net/IF/type`).
    pub fn from_arphrd(arphrd: u16) -> Option<Self> {
        match arphrd {
            803 => Some(LinkType::Radiotap),
            801 => Some(LinkType::Ieee80211),
            _ => None,
        }
    }

    /// From a pcap link-layer type (`LINKTYPE_*` / `DLT_*`).
    pub fn from_dlt(dlt: u32) -> Option<Self> {
        match dlt {
            127 => Some(LinkType::Radiotap),
            105 => Some(LinkType::Ieee80211),
            _ => None,
        }
    }

    /// The Linux `ARPHRD_*` value.
    pub fn arphrd(self) -> u16 {
        match self {
            LinkType::Radiotap => 803,
            LinkType::Ieee80211 => 801,
        }
    }

    /// The pcap link-layer type.
    pub fn dlt(self) -> u32 {
        match self {
            LinkType::Radiotap => 127,
            LinkType::Ieee80211 => 105,
        }
    }
}

/// Why a captured frame gave no [`Observation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The bytes end before the named part is complete.
    #[error("truncated: {0}")]
    Truncated(&'static str),
    /// The radiotap header has a version other than 0.
    #[error("radiotap version {0} is not supported")]
    RadiotapVersion(u8),
    /// The radiotap header is inconsistent.
    #[error("malformed radiotap header: {0}")]
    Radiotap(&'static str),
    /// The 802.11 protocol version is not 0.
    #[error("802.11 protocol version {0} is not supported")]
    ProtocolVersion(u8),
    /// Not a Data frame (type 0 = management, 1 = control, 3 = extension).
    #[error("not a data frame (type {frame_type}, subtype {subtype})")]
    NotData {
        /// The 2-bit frame type.
        frame_type: u8,
        /// The 4-bit subtype.
        subtype: u8,
    },
    /// A Data subtype without a body (Null, QoS Null, CF-Ack/Poll without data).
    #[error("data frame without a body (subtype {0})")]
    NoBody(u8),
    /// Neither ToDS nor FromDS (IBSS or direct link).
    #[error("neither ToDS nor FromDS is set")]
    NoDs,
    /// Both ToDS and FromDS (4-address WDS/mesh frame).
    #[error("both ToDS and FromDS are set (4-address frame)")]
    BothDs,
    /// More-Fragments set or fragment number not 0.
    #[error("fragmented frame")]
    Fragment,
    /// The QoS control field announces an A-MSDU.
    #[error("A-MSDU frame")]
    AMsdu,
    /// Radiotap flags the FCS as bad, or the captured FCS does not match.
    #[error("bad FCS")]
    BadFcs,
    /// The destination is a unicast address (SmartConfig traffic goes to group addresses).
    #[error("unicast destination")]
    UnicastDestination,
    /// The source address is a group address.
    #[error("group source address")]
    GroupSource,
    /// The BSSID is a group address.
    #[error("group BSSID")]
    GroupBssid,
    /// The frame is longer than a `u16` length can describe.
    #[error("frame too long")]
    TooLong,
}

/// A parsed frame: the [`Observation`] and the header facts a receiver may key on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// What the decoders use.
    pub observation: Observation,
    /// QoS Data (2-byte QoS control field in the header).
    pub qos: bool,
    /// An HT control field is present (QoS Data with the Order bit set).
    pub ht_control: bool,
    /// Protected Frame bit (the body is encrypted).
    pub protected: bool,
    /// Retry bit (a retransmission; same sequence number as the original).
    pub retry: bool,
    /// MAC header length in bytes (24, 26 or 30).
    pub header_len: u16,
    /// Whether the captured bytes carried the FCS (and it was checked).
    pub fcs_checked: bool,
    /// Radiotap antenna signal, dBm.
    pub signal_dbm: Option<i8>,
    /// Radiotap TSF timer, microseconds.
    pub tsft: Option<u64>,
}

/// Parses one captured frame into an [`Observation`] stamped with `time_us`.
pub fn parse(link: LinkType, bytes: &[u8], time_us: u64) -> Result<Observation, FrameError> {
    parse_frame(link, bytes, time_us).map(|f| f.observation)
}

/// Parses one captured frame, keeping the header details.
pub fn parse_frame(link: LinkType, bytes: &[u8], time_us: u64) -> Result<Frame, FrameError> {
    match link {
        LinkType::Ieee80211 => parse_80211_frame(bytes, false, time_us),
        LinkType::Radiotap => {
            let rt = parse_radiotap(bytes)?;
            if rt.bad_fcs() {
                return Err(FrameError::BadFcs);
            }
            let rest = bytes
                .get(rt.header_len..)
                .ok_or(FrameError::Truncated("radiotap header"))?;
            let ctx = mac::Context {
                fcs: rt.fcs_at_end(),
                data_pad: rt.data_pad(),
                channel: rt.channel(),
            };
            let mut frame = mac::parse(rest, &ctx, time_us)?;
            frame.signal_dbm = rt.signal_dbm;
            frame.tsft = rt.tsft;
            Ok(frame)
        }
    }
}

/// Parses a plain 802.11 frame (no radiotap); `fcs` says whether its last 4 bytes are the FCS
/// (then they are checked).
pub fn parse_80211(bytes: &[u8], fcs: bool, time_us: u64) -> Result<Observation, FrameError> {
    parse_80211_frame(bytes, fcs, time_us).map(|f| f.observation)
}

/// [`parse_80211`], keeping the header details.
pub fn parse_80211_frame(bytes: &[u8], fcs: bool, time_us: u64) -> Result<Frame, FrameError> {
    let ctx = mac::Context {
        fcs,
        data_pad: false,
        channel: None,
    };
    mac::parse(bytes, &ctx, time_us)
}
