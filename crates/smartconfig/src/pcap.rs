//! Reading and writing capture files (pcap and pcapng) of 802.11 frames.
//!
//! [`PcapReader`] yields one [`Record`] per captured frame — capture time in microseconds, link
//! type ([`LinkType::Radiotap`] = 127 or plain [`LinkType::Ieee80211`] = 105) and the frame
//! bytes — from either file format (detected by its magic number). Parsing is done by the
//! `pcap-file` crate; the I/O around it is bounded: a record larger than [`MAX_RECORD`] bytes,
//! more than [`MAX_INTERFACES`] pcapng interfaces or an oversized pcapng header block is an
//! error, so a hostile file cannot make the reader allocate without limit. Truncated or
//! corrupt files give a [`PcapError`]; after an error the reader yields nothing more.
//!
//! [`PcapWriter`] writes frames into a new file of either format (one link type per file).

mod read;
mod write;

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

pub use crate::frame::LinkType;
pub use read::{PcapReader, Record};
pub use write::{ByteOrder, PcapWriter};

/// The largest record (captured frame) accepted, in bytes (libpcap's largest snapshot length).
pub const MAX_RECORD: usize = 262_144;

/// The most interfaces a pcapng file may describe.
pub const MAX_INTERFACES: usize = 64;

/// The largest pcapng section header or interface description block accepted, in bytes.
pub const MAX_HEADER_BLOCK: usize = 65_536;

/// The two capture file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

/// Why a capture file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// The underlying reader or writer failed.
    #[error("capture file I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with a pcap or pcapng magic number.
    #[error("not a pcap or pcapng file (starts with {0:02x?})")]
    NotCapture([u8; 4]),
    /// The file ends in the middle of a header or record.
    #[error("capture file truncated inside {0}")]
    Truncated(&'static str),
    /// The frames are of a link type other than 802.11 (105) or radiotap (127).
    #[error("unsupported link type {0} (only 105 = 802.11 and 127 = 802.11 + radiotap)")]
    UnsupportedLinkType(u32),
    /// A record or block is larger than the reader accepts.
    #[error("{what} of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The pcapng file describes more than [`MAX_INTERFACES`] interfaces.
    #[error("more than {MAX_INTERFACES} capture interfaces")]
    TooManyInterfaces,
    /// A pcapng packet refers to an interface that was not described.
    #[error("packet refers to undescribed interface {0}")]
    UnknownInterface(u32),
    /// A header or record is malformed.
    #[error("corrupt capture file: {0}")]
    Corrupt(String),
    /// A value cannot be written (e.g. a timestamp beyond the format's range).
    #[error("cannot write record: {0}")]
    Unwritable(String),
}

impl PcapError {
    /// Converts an error of the `pcap-file` parser.
    fn corrupt(error: pcap_file::PcapError) -> Self {
        match error {
            pcap_file::PcapError::IoError(e) => PcapError::Io(e),
            pcap_file::PcapError::IncompleteBuffer => {
                PcapError::Corrupt("inconsistent lengths".into())
            }
            other => PcapError::Corrupt(other.to_string()),
        }
    }

    /// Converts an error of the `pcap-file` writer.
    fn unwritable(error: pcap_file::PcapError) -> Self {
        match error {
            pcap_file::PcapError::IoError(e) => PcapError::Io(e),
            other => PcapError::Unwritable(other.to_string()),
        }
    }
}

/// Opens a capture file for reading.
pub fn open(path: impl AsRef<Path>) -> Result<PcapReader<BufReader<File>>, PcapError> {
    PcapReader::new(BufReader::new(File::open(path)?))
}

/// Creates (or truncates) a capture file for writing.
pub fn create(
    path: impl AsRef<Path>,
    format: FileFormat,
    linktype: LinkType,
) -> Result<PcapWriter<BufWriter<File>>, PcapError> {
    PcapWriter::new(BufWriter::new(File::create(path)?), format, linktype)
}
