//! Writing capture files.

use std::borrow::Cow;
use std::io::Write;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::{DataLink, Endianness, TsResolution};

use super::{FileFormat, LinkType, MAX_RECORD, PcapError};

/// Byte order of a written file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ByteOrder {
    /// Little endian (what x86 and ARM capture tools write).
    #[default]
    Little,
    /// Big endian.
    Big,
}

enum Inner<W: Write> {
    Pcap(pcap_file::pcap::PcapWriter<W>),
    PcapNg(PcapNgWriter<W>),
}

/// Writes frames of one link type into a pcap or pcapng file.
pub struct PcapWriter<W: Write> {
    inner: Inner<W>,
    linktype: LinkType,
}

impl<W: Write> std::fmt::Debug for PcapWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let format = match self.inner {
            Inner::Pcap(_) => FileFormat::Pcap,
            Inner::PcapNg(_) => FileFormat::PcapNg,
        };
        f.debug_struct("PcapWriter")
            .field("format", &format)
            .field("linktype", &self.linktype)
            .finish()
    }
}

impl<W: Write> PcapWriter<W> {
    /// Starts a little-endian file: writes the file header (pcap, microsecond timestamps) or
    /// the section header and the one interface description (pcapng, nanosecond timestamps).
    pub fn new(writer: W, format: FileFormat, linktype: LinkType) -> Result<Self, PcapError> {
        Self::with_byte_order(writer, format, linktype, ByteOrder::Little)
    }

    /// Like [`PcapWriter::new`] with a chosen byte order.
    pub fn with_byte_order(
        writer: W,
        format: FileFormat,
        linktype: LinkType,
        order: ByteOrder,
    ) -> Result<Self, PcapError> {
        let endianness = match order {
            ByteOrder::Little => Endianness::Little,
            ByteOrder::Big => Endianness::Big,
        };
        let datalink = DataLink::from(linktype.dlt());
        let snaplen = MAX_RECORD as u32;
        let inner = match format {
            FileFormat::Pcap => {
                let header = PcapHeader {
                    snaplen,
                    datalink,
                    ts_resolution: TsResolution::MicroSecond,
                    endianness,
                    ..PcapHeader::default()
                };
                Inner::Pcap(
                    pcap_file::pcap::PcapWriter::with_header(writer, header)
                        .map_err(PcapError::unwritable)?,
                )
            }
            FileFormat::PcapNg => {
                let mut ng = PcapNgWriter::with_endianness(writer, endianness)
                    .map_err(PcapError::unwritable)?;
                // Nanosecond ticks: `pcap-file` stores an enhanced packet block's timestamp as
                // nanoseconds, so the interface says so (if_tsresol = 9).
                let interface = InterfaceDescriptionBlock {
                    linktype: datalink,
                    snaplen,
                    options: vec![InterfaceDescriptionOption::IfTsResol(9)],
                };
                ng.write_pcapng_block(interface)
                    .map_err(PcapError::unwritable)?;
                Inner::PcapNg(ng)
            }
        };
        Ok(PcapWriter { inner, linktype })
    }

    /// The link type of the file.
    pub fn linktype(&self) -> LinkType {
        self.linktype
    }

    /// Appends one frame captured at `time_us` (microseconds since the Unix epoch).
    pub fn write(&mut self, time_us: u64, frame: &[u8]) -> Result<(), PcapError> {
        if frame.len() > MAX_RECORD {
            return Err(PcapError::TooLarge {
                what: "frame",
                len: frame.len() as u64,
                max: MAX_RECORD,
            });
        }
        let len = frame.len() as u32;
        let timestamp = Duration::from_micros(time_us);
        match &mut self.inner {
            Inner::Pcap(w) => {
                if timestamp.as_secs() > u64::from(u32::MAX) {
                    return Err(PcapError::Unwritable("timestamp beyond 2106".into()));
                }
                w.write_packet(&PcapPacket::new(timestamp, len, frame))
                    .map_err(PcapError::unwritable)?;
            }
            Inner::PcapNg(w) => {
                if timestamp.as_nanos() > u128::from(u64::MAX) {
                    return Err(PcapError::Unwritable("timestamp beyond 2554".into()));
                }
                let block = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp,
                    original_len: len,
                    data: Cow::Borrowed(frame),
                    options: Vec::new(),
                };
                w.write_pcapng_block(block).map_err(PcapError::unwritable)?;
            }
        }
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> Result<W, PcapError> {
        let mut writer = match self.inner {
            Inner::Pcap(w) => w.into_writer(),
            Inner::PcapNg(w) => w.into_inner(),
        };
        writer.flush()?;
        Ok(writer)
    }
}
