//! Capture files: write/read round trips for both formats, both link types and both byte
//! orders; pcapng timestamp resolutions, simple packets, skipped blocks and several sections;
//! truncated, garbage, oversized and unsupported files give errors (never panics, never hangs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::borrow::Cow;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::simple_packet::SimplePacketBlock;
use pcap_file::pcapng::blocks::unknown::UnknownBlock;
use pcap_file::pcapng::{Block, PcapNgWriter};
use proptest::prelude::{ProptestConfig, any, prop_assert, proptest};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use smartconfig::pcap::{
    self, ByteOrder, FileFormat, LinkType, MAX_RECORD, PcapError, PcapReader, PcapWriter,
};

/// Deterministic frames of assorted sizes (including empty) with increasing times.
fn frames(seed: u64, n: usize) -> Vec<(u64, Vec<u8>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = 1_700_000_000_000_000u64;
    (0..n)
        .map(|i| {
            t += u64::from(rng.next_u32() % 50_000);
            let len = match i % 5 {
                0 => 0,
                1 => 1 + (rng.next_u32() % 3) as usize,
                _ => (rng.next_u32() % 2400) as usize,
            };
            let mut data = vec![0u8; len];
            rng.fill_bytes(&mut data);
            (t, data)
        })
        .collect()
}

fn write_all(
    format: FileFormat,
    linktype: LinkType,
    order: ByteOrder,
    frames: &[(u64, Vec<u8>)],
) -> Vec<u8> {
    let mut w = PcapWriter::with_byte_order(Vec::new(), format, linktype, order).unwrap();
    assert_eq!(w.linktype(), linktype);
    for (t, data) in frames {
        w.write(*t, data).unwrap();
    }
    w.finish().unwrap()
}

/// Reads every record; the error, if any, ends the list.
/// (time, link type, data, original length)
type Owned = (u64, LinkType, Vec<u8>, u32);

fn read_all(bytes: &[u8]) -> Result<(FileFormat, Vec<Owned>), PcapError> {
    let mut r = PcapReader::new(bytes)?;
    let mut out = Vec::new();
    while let Some(rec) = r.next_record()? {
        out.push((rec.time_us, rec.linktype, rec.data.to_vec(), rec.orig_len));
    }
    // Fused after the end.
    assert!(r.next_record().unwrap().is_none());
    Ok((r.format(), out))
}

#[test]
fn round_trip_both_formats_link_types_and_byte_orders() {
    for format in [FileFormat::Pcap, FileFormat::PcapNg] {
        for linktype in [LinkType::Ieee80211, LinkType::Radiotap] {
            for order in [ByteOrder::Little, ByteOrder::Big] {
                let frames = frames(u64::from(linktype.dlt()), 60);
                let bytes = write_all(format, linktype, order, &frames);
                let (read_format, records) = read_all(&bytes).unwrap();
                assert_eq!(read_format, format);
                assert_eq!(records.len(), frames.len());
                for ((t, data), (rt, rl, rd, orig)) in frames.iter().zip(&records) {
                    assert_eq!(
                        (rt, rl, rd),
                        (t, &linktype, data),
                        "{format:?} {linktype:?} {order:?}"
                    );
                    assert_eq!(*orig as usize, data.len());
                }
            }
        }
    }
}

#[test]
fn round_trip_through_files() {
    let dir = std::env::temp_dir().join(format!("smartconfig-pcap-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (format, name) in [
        (FileFormat::Pcap, "a.pcap"),
        (FileFormat::PcapNg, "a.pcapng"),
    ] {
        let path = dir.join(name);
        let frames = frames(7, 10);
        let mut w = pcap::create(&path, format, LinkType::Radiotap).unwrap();
        for (t, data) in &frames {
            w.write(*t, data).unwrap();
        }
        w.finish().unwrap();
        let mut r = pcap::open(&path).unwrap();
        assert_eq!(r.format(), format);
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            assert_eq!((rec.time_us, rec.data), (frames[n].0, &frames[n].1[..]));
            n += 1;
        }
        assert_eq!(n, frames.len());
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(
        pcap::open(dir.join("missing.pcap")),
        Err(PcapError::Io(_))
    ));
}

#[test]
fn writer_refuses_what_the_format_cannot_hold() {
    let mut w = PcapWriter::new(Vec::new(), FileFormat::Pcap, LinkType::Ieee80211).unwrap();
    assert!(matches!(
        w.write(0, &vec![0; MAX_RECORD + 1]),
        Err(PcapError::TooLarge { .. })
    ));
    // Seconds beyond u32.
    assert!(matches!(
        w.write((1u64 << 32) * 1_000_000, b"x"),
        Err(PcapError::Unwritable(_))
    ));
    w.write(0, &vec![0; MAX_RECORD]).unwrap();
}

#[test]
fn pcap_nanosecond_files_and_truncated_captures() {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter as Raw};
    let header = PcapHeader {
        datalink: DataLink::IEEE802_11,
        ts_resolution: pcap_file::TsResolution::NanoSecond,
        snaplen: 64,
        ..PcapHeader::default()
    };
    let mut w = Raw::with_header(Vec::new(), header).unwrap();
    // A 1500-byte frame of which only 64 bytes were captured.
    w.write_packet(&PcapPacket::new(
        Duration::new(12, 345_678_999),
        1500,
        &[0xab; 64],
    ))
    .unwrap();
    let (format, records) = read_all(&w.into_writer()).unwrap();
    assert_eq!(format, FileFormat::Pcap);
    assert_eq!(
        records,
        vec![(12_345_678, LinkType::Ieee80211, vec![0xab; 64], 1500)]
    );
}

/// A pcapng file written with `pcap-file` directly: one interface with `options`, packets
/// whose raw timestamp field is `ticks`.
fn pcapng_with(
    options: Vec<InterfaceDescriptionOption<'static>>,
    linktype: DataLink,
    packets: &[(u64, &[u8])],
) -> Vec<u8> {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype,
        snaplen: 0,
        options,
    })
    .unwrap();
    for (ticks, data) in packets {
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            // `pcap-file` writes `as_nanos()` into the timestamp field.
            timestamp: Duration::from_nanos(*ticks),
            original_len: data.len() as u32,
            data: Cow::Borrowed(data),
            options: vec![],
        };
        w.write_pcapng_block(epb).unwrap();
    }
    w.into_inner()
}

#[test]
fn pcapng_timestamp_resolutions() {
    // No if_tsresol: microseconds.
    let bytes = pcapng_with(vec![], DataLink::IEEE802_11_RADIOTAP, &[(1_234_567, b"a")]);
    assert_eq!(read_all(&bytes).unwrap().1[0].0, 1_234_567);
    // Milliseconds.
    let bytes = pcapng_with(
        vec![InterfaceDescriptionOption::IfTsResol(3)],
        DataLink::IEEE802_11,
        &[(42, b"a")],
    );
    assert_eq!(read_all(&bytes).unwrap().1[0].0, 42_000);
    // 2^-20 s ticks, plus a 10 s offset.
    let bytes = pcapng_with(
        vec![
            InterfaceDescriptionOption::IfTsResol(0x80 | 20),
            InterfaceDescriptionOption::IfTsOffset(10),
        ],
        DataLink::IEEE802_11,
        &[(3 << 20, b"a")],
    );
    assert_eq!(read_all(&bytes).unwrap().1[0].0, 13_000_000);
}

#[test]
fn pcapng_simple_packets_unknown_blocks_and_sections() {
    let mut w = PcapNgWriter::with_endianness(Vec::new(), pcap_file::Endianness::Little).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::IEEE802_11, 0))
        .unwrap();
    // A 5-byte frame: the block pads its data to 8 bytes.
    w.write_pcapng_block(SimplePacketBlock {
        original_len: 5,
        data: Cow::Borrowed(b"hello"),
    })
    .unwrap();
    w.write_block(&Block::Unknown(UnknownBlock::new(
        0x0000_0BAD,
        16,
        &[1, 2, 3, 4],
    )))
    .unwrap();
    let mut bytes = w.into_inner();
    // A second section, big endian, radiotap.
    let mut w = PcapNgWriter::with_endianness(Vec::new(), pcap_file::Endianness::Big).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock::new(
        DataLink::IEEE802_11_RADIOTAP,
        0,
    ))
    .unwrap();
    w.write_pcapng_block(EnhancedPacketBlock {
        interface_id: 0,
        timestamp: Duration::from_nanos(99),
        original_len: 3,
        data: Cow::Borrowed(b"abc"),
        options: vec![],
    })
    .unwrap();
    bytes.extend(w.into_inner());
    let (format, records) = read_all(&bytes).unwrap();
    assert_eq!(format, FileFormat::PcapNg);
    assert_eq!(
        records,
        vec![
            (0, LinkType::Ieee80211, b"hello".to_vec(), 5),
            (99, LinkType::Radiotap, b"abc".to_vec(), 3),
        ]
    );
}

#[test]
fn unsupported_link_types_are_named() {
    let mut w = pcap_file::pcap::PcapWriter::with_header(
        Vec::new(),
        pcap_file::pcap::PcapHeader {
            datalink: DataLink::ETHERNET,
            ..Default::default()
        },
    )
    .unwrap();
    w.write_packet(&pcap_file::pcap::PcapPacket::new(Duration::ZERO, 1, b"x"))
        .unwrap();
    let err = PcapReader::new(&w.into_writer()[..]).unwrap_err();
    assert!(matches!(err, PcapError::UnsupportedLinkType(1)), "{err}");
    assert!(err.to_string().contains("127"));

    let bytes = pcapng_with(vec![], DataLink::ETHERNET, &[(1, b"x")]);
    let mut r = PcapReader::new(&bytes[..]).unwrap();
    assert!(matches!(
        r.next_record(),
        Err(PcapError::UnsupportedLinkType(1))
    ));
    assert!(r.next_record().unwrap().is_none(), "fused after an error");
}

#[test]
fn packets_of_undescribed_interfaces_are_errors() {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::IEEE802_11, 0))
        .unwrap();
    let mut bytes = w.into_inner();
    // An enhanced packet block for interface 3, built by hand (native byte order, as written).
    let mut body = Vec::new();
    for word in [3u32, 0, 0, 0, 0] {
        body.extend_from_slice(&word.to_ne_bytes());
    }
    let len = (body.len() + 12) as u32;
    bytes.extend_from_slice(&6u32.to_ne_bytes());
    bytes.extend_from_slice(&len.to_ne_bytes());
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(&len.to_ne_bytes());
    let mut r = PcapReader::new(&bytes[..]).unwrap();
    assert!(matches!(
        r.next_record(),
        Err(PcapError::UnknownInterface(3))
    ));
}

/// Cuts `bytes` everywhere: at a boundary (the ends of the `headers` header blocks, then of
/// each record) reading succeeds with the complete records, anywhere else it is an error.
fn truncations_behave(bytes: &[u8], boundaries: &[usize], headers: usize, records: usize) {
    for cut in 0..bytes.len() {
        let result = read_all(&bytes[..cut]);
        let complete = boundaries.iter().filter(|&&b| b <= cut).count();
        if boundaries.contains(&cut) {
            let (_, got) = result.unwrap_or_else(|e| panic!("cut at boundary {cut}: {e}"));
            assert_eq!(got.len(), complete.saturating_sub(headers), "cut {cut}");
        } else {
            let err = result.expect_err("a cut inside a header or record is an error");
            assert!(matches!(err, PcapError::Truncated(_)), "cut {cut}: {err}");
        }
    }
    assert_eq!(read_all(bytes).unwrap().1.len(), records);
}

#[test]
fn truncated_files_are_errors() {
    let frames = frames(3, 4);
    // pcap: 24-byte header, then 16 + len per record.
    let bytes = write_all(
        FileFormat::Pcap,
        LinkType::Radiotap,
        ByteOrder::Little,
        &frames,
    );
    let mut boundaries = vec![24];
    for (_, d) in &frames {
        boundaries.push(boundaries.last().unwrap() + 16 + d.len());
    }
    truncations_behave(&bytes, &boundaries, 1, frames.len());

    // pcapng: section header (28) + interface block (32 with if_tsresol), then 32 + padded len.
    let bytes = write_all(
        FileFormat::PcapNg,
        LinkType::Radiotap,
        ByteOrder::Big,
        &frames,
    );
    let mut boundaries = vec![28, 28 + 32];
    for (_, d) in &frames {
        boundaries.push(boundaries.last().unwrap() + 32 + d.len().div_ceil(4) * 4);
    }
    assert_eq!(*boundaries.last().unwrap(), bytes.len());
    truncations_behave(&bytes, &boundaries, 2, frames.len());
}

#[test]
fn garbage_is_rejected() {
    assert!(matches!(
        PcapReader::new(&b""[..]),
        Err(PcapError::Truncated(_))
    ));
    assert!(matches!(
        PcapReader::new(&b"GIF89a......"[..]),
        Err(PcapError::NotCapture(_))
    ));
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut noise = vec![0u8; 4096];
    rng.fill_bytes(&mut noise);
    noise[0] = 0;
    assert!(matches!(
        PcapReader::new(&noise[..]),
        Err(PcapError::NotCapture(_))
    ));
    // A valid header followed by noise ends in an error, not in a hang.
    for format in [FileFormat::Pcap, FileFormat::PcapNg] {
        let mut bytes = write_all(format, LinkType::Radiotap, ByteOrder::Little, &[]);
        bytes.extend_from_slice(&noise);
        let err = read_all(&bytes).expect_err("noise is not records");
        assert!(
            matches!(
                err,
                PcapError::TooLarge { .. } | PcapError::Corrupt(_) | PcapError::Truncated(_)
            ),
            "{format:?}: {err}"
        );
    }
}

#[test]
fn oversized_lengths_fail_before_allocating() {
    // pcap: a record header announcing 4 GiB.
    let mut bytes = write_all(FileFormat::Pcap, LinkType::Radiotap, ByteOrder::Little, &[]);
    bytes.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    assert!(matches!(
        read_all(&bytes),
        Err(PcapError::TooLarge {
            len: 0xffff_ffff,
            ..
        })
    ));
    // pcapng: an enhanced packet block announcing ~2 GiB.
    let mut bytes = write_all(
        FileFormat::PcapNg,
        LinkType::Radiotap,
        ByteOrder::Little,
        &[],
    );
    bytes.extend_from_slice(&6u32.to_le_bytes());
    bytes.extend_from_slice(&0x7fff_fff0u32.to_le_bytes());
    assert!(matches!(read_all(&bytes), Err(PcapError::TooLarge { .. })));
    // pcapng: an interface block over the header-block limit.
    let mut bytes = write_all(
        FileFormat::PcapNg,
        LinkType::Radiotap,
        ByteOrder::Little,
        &[],
    );
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&(1u32 << 20).to_le_bytes());
    assert!(matches!(read_all(&bytes), Err(PcapError::TooLarge { .. })));
    // pcapng: a skipped block may be large, but must be complete.
    let mut bytes = write_all(
        FileFormat::PcapNg,
        LinkType::Radiotap,
        ByteOrder::Little,
        &[],
    );
    bytes.extend_from_slice(&5u32.to_le_bytes());
    bytes.extend_from_slice(&0x7fff_fff0u32.to_le_bytes());
    assert!(matches!(read_all(&bytes), Err(PcapError::Truncated(_))));
    // A block length that is not a multiple of 4.
    let mut bytes = write_all(
        FileFormat::PcapNg,
        LinkType::Radiotap,
        ByteOrder::Little,
        &[],
    );
    bytes.extend_from_slice(&6u32.to_le_bytes());
    bytes.extend_from_slice(&33u32.to_le_bytes());
    bytes.extend_from_slice(&[0; 40]);
    assert!(matches!(read_all(&bytes), Err(PcapError::Corrupt(_))));
}

#[test]
fn too_many_interfaces() {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    for _ in 0..=pcap::MAX_INTERFACES {
        w.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::IEEE802_11, 0))
            .unwrap();
    }
    assert!(matches!(
        read_all(&w.into_inner()),
        Err(PcapError::TooManyInterfaces)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes after a valid header, or a valid file with bytes flipped: the reader
    /// terminates with records or an error and never panics.
    #[test]
    fn hostile_bytes_never_panic(
        ng in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..600),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
    ) {
        let format = if ng { FileFormat::PcapNg } else { FileFormat::Pcap };
        let mut bytes = write_all(format, LinkType::Radiotap, ByteOrder::Little, &frames(5, 6));
        for (at, x) in flips {
            let i = at % bytes.len();
            bytes[i] ^= x;
        }
        bytes.extend_from_slice(&tail);
        if let Ok(mut r) = PcapReader::new(&bytes[..]) {
            let mut n = 0usize;
            while let Ok(Some(rec)) = r.next_record() {
                prop_assert!(rec.data.len() <= MAX_RECORD);
                n += 1;
                // Every record consumes at least 12 bytes.
                prop_assert!(n <= bytes.len() / 12 + 1);
            }
        }
    }
}
