//! Reading capture files: bounded block I/O here, field parsing by `pcap-file`.

use std::io::{self, Read};

use pcap_file::Endianness;
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgParser};

use crate::Observation;
use crate::frame::{self, FrameError};

use super::{FileFormat, LinkType, MAX_HEADER_BLOCK, MAX_INTERFACES, MAX_RECORD, PcapError};

/// pcapng block types.
const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;

/// Fixed bytes before the frame data: pcap record header; pcapng block header + fields.
const PCAP_RECORD_HEADER: usize = 16;
const NG_PACKET_DATA: usize = 28;
const NG_SIMPLE_DATA: usize = 12;

/// One captured frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Capture time, microseconds since the Unix epoch.
    pub time_us: u64,
    /// Link type of the frame bytes.
    pub linktype: LinkType,
    /// The captured bytes (may be shorter than `orig_len` if the capture was truncated).
    pub data: &'a [u8],
    /// The frame's length on the wire, including bytes not captured.
    pub orig_len: u32,
}

impl Record<'_> {
    /// Reduces the frame to an [`Observation`] with [`crate::frame::parse`]: frames that cannot
    /// carry SmartConfig lengths (management frames, unicast data, …) give a [`FrameError`].
    ///
    /// A frame captured shorter than it was (snapshot length) is measured by its original
    /// length; if the capture claims to end with the FCS, the cut-off FCS cannot be checked and
    /// the frame is refused as [`FrameError::BadFcs`].
    pub fn observation(&self) -> Result<Observation, FrameError> {
        let mut obs = frame::parse(self.linktype, self.data, self.time_us)?;
        let missing = usize::try_from(self.orig_len)
            .unwrap_or(usize::MAX)
            .saturating_sub(self.data.len());
        if missing > 0 {
            let missing = u16::try_from(missing).map_err(|_| FrameError::TooLong)?;
            obs.length = obs.length.checked_add(missing).ok_or(FrameError::TooLong)?;
        }
        Ok(obs)
    }
}

/// How to interpret one pcapng interface's packets.
#[derive(Clone, Copy, Debug)]
struct Interface {
    /// `Err(number)` for link types this reader does not handle.
    linktype: Result<LinkType, u32>,
    /// `if_tsresol`: bit 7 clear → 10^-n s per tick, set → 2^-n s.
    tsresol: u8,
    /// `if_tsoffset`, seconds.
    tsoffset: u64,
}

impl Interface {
    fn from_block(idb: &InterfaceDescriptionBlock<'_>) -> Self {
        let mut interface = Interface {
            linktype: {
                let number = u32::from(idb.linktype);
                LinkType::from_dlt(number).ok_or(number)
            },
            tsresol: 6,
            tsoffset: 0,
        };
        for option in &idb.options {
            match option {
                InterfaceDescriptionOption::IfTsResol(r) => interface.tsresol = *r,
                InterfaceDescriptionOption::IfTsOffset(o) => interface.tsoffset = *o,
                _ => {}
            }
        }
        interface
    }

    fn time_us(&self, ticks: u64) -> u64 {
        ticks_to_us(ticks, self.tsresol).saturating_add(self.tsoffset.saturating_mul(1_000_000))
    }
}

/// Converts pcapng timestamp ticks of resolution `tsresol` to microseconds.
fn ticks_to_us(ticks: u64, tsresol: u8) -> u64 {
    let ticks = u128::from(ticks);
    let exponent = u32::from(tsresol & 0x7f);
    let us = if tsresol & 0x80 == 0 {
        if exponent >= 6 {
            10u128
                .checked_pow(exponent - 6)
                .map_or(0, |div| ticks / div)
        } else {
            ticks * 10u128.pow(6 - exponent)
        }
    } else {
        // exponent ≤ 127 and ticks·10^6 < 2^84: no overflow.
        (ticks * 1_000_000) >> exponent
    };
    u64::try_from(us).unwrap_or(u64::MAX)
}

enum Format {
    Pcap {
        parser: PcapParser,
        linktype: LinkType,
        nanos: bool,
    },
    PcapNg {
        parser: PcapNgParser,
        interfaces: Vec<Interface>,
    },
}

/// Where the frame of the block in the buffer is.
struct Located {
    start: usize,
    len: usize,
    time_us: u64,
    linktype: LinkType,
    orig_len: u32,
}

/// Reads the records of a pcap or pcapng stream.
pub struct PcapReader<R: Read> {
    source: R,
    format: Format,
    /// The current record or block, reused.
    buf: Vec<u8>,
    /// Set after the end or an error: nothing more is read.
    finished: bool,
    /// Records that gave no observation.
    skipped: u64,
}

impl<R: Read> std::fmt::Debug for PcapReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapReader")
            .field("format", &self.format())
            .field("finished", &self.finished)
            .finish()
    }
}

impl<R: Read> PcapReader<R> {
    /// Reads the file header (pcap) or first section header (pcapng) from `source`.
    pub fn new(mut source: R) -> Result<Self, PcapError> {
        let mut magic = [0u8; 4];
        if !read_or_eof(&mut source, &mut magic, "file header")? {
            return Err(PcapError::Truncated("file header"));
        }
        let format = match magic {
            [0xa1, 0xb2, 0xc3, 0xd4]
            | [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x4d, 0x3c, 0xb2, 0xa1] => Self::open_pcap(&mut source, magic)?,
            [0x0a, 0x0d, 0x0d, 0x0a] => Self::open_pcapng(&mut source)?,
            other => return Err(PcapError::NotCapture(other)),
        };
        Ok(PcapReader {
            source,
            format,
            buf: Vec::new(),
            finished: false,
            skipped: 0,
        })
    }

    fn open_pcap(source: &mut R, magic: [u8; 4]) -> Result<Format, PcapError> {
        let mut header = [0u8; 24];
        header[..4].copy_from_slice(&magic);
        read_exact(source, &mut header[4..], "file header")?;
        let (_, parser) = PcapParser::new(&header).map_err(PcapError::corrupt)?;
        let pcap_header = parser.header();
        let number = u32::from(pcap_header.datalink);
        let linktype = LinkType::from_dlt(number).ok_or(PcapError::UnsupportedLinkType(number))?;
        let nanos = pcap_header.ts_resolution == pcap_file::TsResolution::NanoSecond;
        Ok(Format::Pcap {
            parser,
            linktype,
            nanos,
        })
    }

    fn open_pcapng(source: &mut R) -> Result<Format, PcapError> {
        let mut block = Vec::new();
        block.extend_from_slice(&SECTION_HEADER.to_be_bytes());
        let mut rest = [0u8; 8];
        read_exact(source, &mut rest, "section header")?;
        block.extend_from_slice(&rest);
        read_block_rest(source, &mut block, Endianness::Big, SECTION_HEADER)?;
        let (_, parser) = PcapNgParser::new(&block).map_err(PcapError::corrupt)?;
        Ok(Format::PcapNg {
            parser,
            interfaces: Vec::new(),
        })
    }

    /// The file format.
    pub fn format(&self) -> FileFormat {
        match self.format {
            Format::Pcap { .. } => FileFormat::Pcap,
            Format::PcapNg { .. } => FileFormat::PcapNg,
        }
    }

    /// The next record that reduces to an [`Observation`] (see [`Record::observation`]);
    /// records that do not are skipped and counted in [`PcapReader::skipped`].
    pub fn next_observation(&mut self) -> Result<Option<Observation>, PcapError> {
        loop {
            let Some(record) = self.next_record()? else {
                return Ok(None);
            };
            match record.observation() {
                Ok(obs) => return Ok(Some(obs)),
                Err(_) => self.skipped += 1,
            }
        }
    }

    /// Number of records [`PcapReader::next_observation`] skipped.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The next record; `Ok(None)` at the end of the file. After an error, `Ok(None)`.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, PcapError> {
        if self.finished {
            return Ok(None);
        }
        let located = match self.next_located() {
            Ok(Some(located)) => located,
            Ok(None) => {
                self.finished = true;
                return Ok(None);
            }
            Err(e) => {
                self.finished = true;
                return Err(e);
            }
        };
        let end = located.start.saturating_add(located.len);
        let data = self
            .buf
            .get(located.start..end)
            .ok_or_else(|| PcapError::Corrupt("record data out of its block".into()))?;
        Ok(Some(Record {
            time_us: located.time_us,
            linktype: located.linktype,
            data,
            orig_len: located.orig_len,
        }))
    }

    fn next_located(&mut self) -> Result<Option<Located>, PcapError> {
        match &mut self.format {
            Format::Pcap {
                parser,
                linktype,
                nanos,
            } => next_pcap(&mut self.source, &mut self.buf, parser, *linktype, *nanos),
            Format::PcapNg { parser, interfaces } => loop {
                match next_pcapng(&mut self.source, &mut self.buf, parser, interfaces)? {
                    NgBlock::End => return Ok(None),
                    NgBlock::Packet(located) => return Ok(Some(located)),
                    NgBlock::Other => {}
                }
            },
        }
    }
}

/// Reads the next classic pcap record into `buf`.
fn next_pcap(
    source: &mut impl Read,
    buf: &mut Vec<u8>,
    parser: &PcapParser,
    linktype: LinkType,
    nanos: bool,
) -> Result<Option<Located>, PcapError> {
    let mut header = [0u8; PCAP_RECORD_HEADER];
    if !read_or_eof(source, &mut header, "record header")? {
        return Ok(None);
    }
    let endianness = parser.header().endianness;
    let incl_len = u32_at(&header, 8, endianness);
    let len = usize::try_from(incl_len).unwrap_or(usize::MAX);
    if len > MAX_RECORD {
        return Err(PcapError::TooLarge {
            what: "record",
            len: incl_len.into(),
            max: MAX_RECORD,
        });
    }
    buf.clear();
    buf.extend_from_slice(&header);
    buf.resize(PCAP_RECORD_HEADER + len, 0);
    read_exact(
        source,
        buf.get_mut(PCAP_RECORD_HEADER..).unwrap_or_default(),
        "record",
    )?;
    let (_, raw) = parser.next_raw_packet(buf).map_err(PcapError::corrupt)?;
    if raw.incl_len > raw.orig_len {
        return Err(PcapError::Corrupt(
            "record longer than its original length".into(),
        ));
    }
    let (frac_us, frac_limit) = if nanos {
        (u64::from(raw.ts_frac) / 1000, 1_000_000_000)
    } else {
        (u64::from(raw.ts_frac), 1_000_000)
    };
    if raw.ts_frac >= frac_limit {
        return Err(PcapError::Corrupt("timestamp fraction out of range".into()));
    }
    Ok(Some(Located {
        start: PCAP_RECORD_HEADER,
        len,
        time_us: u64::from(raw.ts_sec) * 1_000_000 + frac_us,
        linktype,
        orig_len: raw.orig_len,
    }))
}

/// What the next pcapng block was.
enum NgBlock {
    /// The end of the file.
    End,
    /// A packet.
    Packet(Located),
    /// Something else (section or interface description, skipped block).
    Other,
}

/// Reads the next pcapng block.
fn next_pcapng(
    source: &mut impl Read,
    buf: &mut Vec<u8>,
    parser: &mut PcapNgParser,
    interfaces: &mut Vec<Interface>,
) -> Result<NgBlock, PcapError> {
    let mut header = [0u8; 8];
    if !read_or_eof(source, &mut header, "block header")? {
        return Ok(NgBlock::End);
    }
    let endianness = parser.section().endianness;
    let kind = u32_at(&header, 0, endianness);
    buf.clear();
    buf.extend_from_slice(&header);
    match kind {
        SECTION_HEADER => {
            // The byte order of a new section is given by its byte-order magic.
            let mut magic = [0u8; 4];
            read_exact(source, &mut magic, "section header")?;
            buf.extend_from_slice(&magic);
            read_block_rest(source, buf, Endianness::Big, SECTION_HEADER)?;
            parser.next_raw_block(buf).map_err(PcapError::corrupt)?;
            interfaces.clear();
            Ok(NgBlock::Other)
        }
        INTERFACE_DESCRIPTION | ENHANCED_PACKET | PACKET | SIMPLE_PACKET => {
            read_block_rest(source, buf, endianness, kind)?;
            let (_, block) = parser.next_block(buf).map_err(PcapError::corrupt)?;
            let located = match block {
                Block::InterfaceDescription(idb) => {
                    if interfaces.len() >= MAX_INTERFACES {
                        return Err(PcapError::TooManyInterfaces);
                    }
                    interfaces.push(Interface::from_block(&idb));
                    None
                }
                Block::EnhancedPacket(epb) => {
                    let interface = interface(interfaces, epb.interface_id)?;
                    let ticks = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                    Some(Located {
                        start: NG_PACKET_DATA,
                        len: epb.data.len(),
                        time_us: interface.time_us(ticks),
                        linktype: linktype(interface)?,
                        orig_len: epb.original_len,
                    })
                }
                Block::Packet(pb) => {
                    let interface = interface(interfaces, u32::from(pb.interface_id))?;
                    // `pcap-file` reads the two timestamp halves as one integer of the
                    // section's byte order; in little endian that swaps them.
                    let ticks = match endianness {
                        Endianness::Little => pb.timestamp.rotate_left(32),
                        Endianness::Big => pb.timestamp,
                    };
                    Some(Located {
                        start: NG_PACKET_DATA,
                        len: pb.data.len(),
                        time_us: interface.time_us(ticks),
                        linktype: linktype(interface)?,
                        orig_len: pb.original_len,
                    })
                }
                Block::SimplePacket(spb) => {
                    let interface = interface(interfaces, 0)?;
                    // The block's data includes its padding; the frame is the original length
                    // at most.
                    let len = spb
                        .data
                        .len()
                        .min(usize::try_from(spb.original_len).unwrap_or(usize::MAX));
                    Some(Located {
                        start: NG_SIMPLE_DATA,
                        len,
                        time_us: 0,
                        linktype: linktype(interface)?,
                        orig_len: spb.original_len,
                    })
                }
                _ => None,
            };
            Ok(located.map_or(NgBlock::Other, NgBlock::Packet))
        }
        _ => {
            // Statistics, name resolution, custom and unknown blocks: skipped unread.
            let total = u32_at(&header, 4, endianness);
            check_block_length(total, u64::MAX)?;
            let rest = u64::from(total) - 8;
            let skipped = io::copy(&mut source.take(rest), &mut io::sink())?;
            if skipped < rest {
                return Err(PcapError::Truncated("block"));
            }
            Ok(NgBlock::Other)
        }
    }
}

fn interface(interfaces: &[Interface], id: u32) -> Result<Interface, PcapError> {
    usize::try_from(id)
        .ok()
        .and_then(|i| interfaces.get(i))
        .copied()
        .ok_or(PcapError::UnknownInterface(id))
}

fn linktype(interface: Interface) -> Result<LinkType, PcapError> {
    interface.linktype.map_err(PcapError::UnsupportedLinkType)
}

/// Validates a pcapng block's total length against the format and `max`.
fn check_block_length(total: u32, max: u64) -> Result<(), PcapError> {
    if total < 12 || !total.is_multiple_of(4) {
        return Err(PcapError::Corrupt(format!("block length {total}")));
    }
    if u64::from(total) > max {
        return Err(PcapError::TooLarge {
            what: "block",
            len: total.into(),
            max: max as usize,
        });
    }
    Ok(())
}

/// Completes the block whose first `buf.len()` bytes (header and, for a section header, the
/// byte-order magic) were read: checks its length and reads the rest.
fn read_block_rest(
    source: &mut impl Read,
    buf: &mut Vec<u8>,
    endianness: Endianness,
    kind: u32,
) -> Result<(), PcapError> {
    let total = if kind == SECTION_HEADER {
        let header: [u8; 4] = buf
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default();
        match buf.get(8..12) {
            Some([0x1a, 0x2b, 0x3c, 0x4d]) => u32::from_be_bytes(header),
            Some([0x4d, 0x3c, 0x2b, 0x1a]) => u32::from_le_bytes(header),
            _ => return Err(PcapError::Corrupt("bad section byte-order magic".into())),
        }
    } else {
        u32_at(buf, 4, endianness)
    };
    let max = match kind {
        SECTION_HEADER | INTERFACE_DESCRIPTION => MAX_HEADER_BLOCK,
        _ => MAX_RECORD + 1024,
    };
    check_block_length(total, max as u64)?;
    let total = total as usize;
    let have = buf.len();
    if total < have {
        return Err(PcapError::Corrupt(format!("block length {total}")));
    }
    buf.resize(total, 0);
    read_exact(source, buf.get_mut(have..).unwrap_or_default(), "block")?;
    Ok(())
}

/// A `u32` at `offset` of `bytes` (zero if out of range).
fn u32_at(bytes: &[u8], offset: usize, endianness: Endianness) -> u32 {
    let word: [u8; 4] = bytes
        .get(offset..offset + 4)
        .and_then(|b| b.try_into().ok())
        .unwrap_or_default();
    match endianness {
        Endianness::Big => u32::from_be_bytes(word),
        Endianness::Little => u32::from_le_bytes(word),
    }
}

/// Fills `buf`; a short read is [`PcapError::Truncated`].
fn read_exact(source: &mut impl Read, buf: &mut [u8], what: &'static str) -> Result<(), PcapError> {
    source.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => PcapError::Truncated(what),
        _ => PcapError::Io(e),
    })
}

/// Fills `buf`, or returns `false` if the stream ends before its first byte.
fn read_or_eof(
    source: &mut impl Read,
    buf: &mut [u8],
    what: &'static str,
) -> Result<bool, PcapError> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(PcapError::Truncated(what)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(PcapError::Io(e)),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_resolutions() {
        assert_eq!(ticks_to_us(1_234_567, 6), 1_234_567);
        assert_eq!(ticks_to_us(1_234_567_891, 9), 1_234_567);
        assert_eq!(ticks_to_us(12, 3), 12_000);
        assert_eq!(ticks_to_us(3, 0), 3_000_000);
        assert_eq!(ticks_to_us(u64::MAX, 0), u64::MAX);
        assert_eq!(ticks_to_us(u64::MAX, 127), 0);
        // 2^-10 s ticks: 1024 ticks = 1 s.
        assert_eq!(ticks_to_us(1024, 0x80 | 10), 1_000_000);
        assert_eq!(ticks_to_us(u64::MAX, 0x80 | 127), 0);
        assert_eq!(ticks_to_us(5, 0x80), 5_000_000);
    }
}
