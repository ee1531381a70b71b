//! Radiotap / 802.11 parsing of built and hand-written frames, rejections, and properties.

use smartconfig::frame::{
    self, DataFrameSpec, FrameError, LinkType, RadiotapSpec, Security, build_data_frame,
    channel_from_frequency, parse, parse_80211, parse_frame, parse_radiotap,
};
use smartconfig::{Direction, Observation};

const BSSID: [u8; 6] = [0x24, 0x0a, 0xc4, 0x11, 0x22, 0x33];
const PHONE: [u8; 6] = [0x3c, 0x28, 0x6d, 0xaa, 0xbb, 0xcc];
const BCAST: [u8; 6] = [0xff; 6];
const MCAST: [u8; 6] = [0x01, 0x00, 0x5e, 0x07, 0x07, 0x07];

fn spec(direction: Direction) -> DataFrameSpec {
    DataFrameSpec {
        direction,
        bssid: BSSID,
        source: PHONE,
        destination: BCAST,
        seq: 0x5a5,
        udp_payload_len: 515,
        ..DataFrameSpec::default()
    }
}

/// Parses a built frame with the link type its spec implies.
fn parse_built(s: &DataFrameSpec, time_us: u64) -> Result<frame::Frame, FrameError> {
    let bytes = build_data_frame(s);
    match s.radiotap {
        Some(_) => parse_frame(LinkType::Radiotap, &bytes, time_us),
        None => frame::parse_80211_frame(&bytes, s.fcs, time_us),
    }
}

#[test]
fn lengths_match_the_spec_table() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/vectors/smartconfig/frame-lengths.json"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    for row in rows {
        let security = match row["security"].as_str().unwrap() {
            "open" => Security::Open,
            "wep" => Security::Wep,
            "tkip" => Security::Tkip,
            "ccmp" => Security::Ccmp,
            "gcmp256" => Security::Gcmp256,
            other => panic!("unknown security {other}"),
        };
        let qos = row["qos_data_header"].as_bool().unwrap();
        let k = row["overhead_with_fcs_ipv4"].as_u64().unwrap();
        for (payload, key) in [
            (515u16, "esptouch_v1_guide_515_frame_len"),
            (1048, "esptouch_v2_sync_1048_frame_len"),
            (1, "airkiss_guide_1_frame_len"),
        ] {
            let want = row[key].as_u64().unwrap();
            // Same length whatever the capture carries: with or without FCS, with or without radiotap.
            for (fcs, radiotap) in [
                (false, None),
                (true, None),
                (false, Some(RadiotapSpec::default())),
                (true, Some(RadiotapSpec::default())),
            ] {
                for direction in [Direction::FromDs, Direction::ToDs] {
                    let s = DataFrameSpec {
                        security,
                        qos,
                        fcs,
                        radiotap,
                        udp_payload_len: payload,
                        ..spec(direction)
                    };
                    let f = parse_built(&s, 0).unwrap();
                    assert_eq!(
                        u64::from(f.observation.length),
                        want,
                        "{row} {key} fcs={fcs}"
                    );
                    assert_eq!(u64::from(f.observation.length) - u64::from(payload), k);
                    assert_eq!(u64::from(s.offset()), k);
                }
            }
        }
    }
}

#[test]
fn addresses_by_direction() {
    for direction in [Direction::ToDs, Direction::FromDs] {
        for destination in [BCAST, MCAST] {
            let s = DataFrameSpec {
                destination,
                ..spec(direction)
            };
            let bytes = build_data_frame(&s);
            // Address positions in the raw header, independent of the builder's own logic.
            let (a1, a2, a3) = (&bytes[4..10], &bytes[10..16], &bytes[16..22]);
            match direction {
                Direction::ToDs => {
                    assert_eq!(bytes[1] & 3, 1);
                    assert_eq!((a1, a2, a3), (&BSSID[..], &PHONE[..], &destination[..]));
                }
                _ => {
                    assert_eq!(bytes[1] & 3, 2);
                    assert_eq!((a1, a2, a3), (&destination[..], &BSSID[..], &PHONE[..]));
                }
            }
            let o = parse(LinkType::Ieee80211, &bytes, 77).unwrap();
            assert_eq!(
                o,
                Observation {
                    time_us: 77,
                    source: PHONE,
                    destination,
                    bssid: BSSID,
                    direction,
                    length: 515 + 64,
                    seq: Some(0x5a5),
                    channel: None,
                }
            );
        }
    }
}

#[test]
fn header_details() {
    let cases = [
        (false, false, Security::Open, 24u16),
        (true, false, Security::Ccmp, 26),
        (true, true, Security::Tkip, 30),
        (false, true, Security::Wep, 24), // Order without QoS: no HT control field
    ];
    for (qos, ht_control, security, header_len) in cases {
        let s = DataFrameSpec {
            qos,
            ht_control,
            security,
            retry: true,
            ..spec(Direction::ToDs)
        };
        let f = parse_built(&s, 0).unwrap();
        assert_eq!(f.header_len, header_len);
        assert_eq!(f.qos, qos);
        assert_eq!(f.ht_control, qos && ht_control);
        assert_eq!(f.protected, security != Security::Open);
        assert!(f.retry);
        assert!(!f.fcs_checked);
        assert_eq!(
            u32::from(f.observation.length),
            515 + u32::from(header_len) + 36 + u32::from(security.overhead()) + 4
        );
    }
    let ipv6 = DataFrameSpec {
        ipv6: true,
        ..spec(Direction::FromDs)
    };
    assert_eq!(parse_built(&ipv6, 0).unwrap().observation.length, 515 + 84);
}

#[test]
fn radiotap_fields_from_builder() {
    for extended in [false, true] {
        for data_pad in [false, true] {
            for qos in [false, true] {
                let rt = RadiotapSpec {
                    channel: Some(11),
                    tsft: Some(0x0102_0304_0506_0708),
                    signal_dbm: Some(-47),
                    data_pad,
                    extended,
                    ..RadiotapSpec::default()
                };
                let s = DataFrameSpec {
                    qos,
                    fcs: true,
                    radiotap: Some(rt),
                    ..spec(Direction::FromDs)
                };
                let bytes = build_data_frame(&s);
                let r = parse_radiotap(&bytes).unwrap();
                assert_eq!(r.channel_mhz, Some(2462));
                assert_eq!(r.channel(), Some(11));
                assert_eq!(r.tsft, Some(0x0102_0304_0506_0708));
                assert_eq!(r.signal_dbm, Some(-47), "first namespace wins");
                assert!(r.fcs_at_end());
                assert_eq!(r.data_pad(), data_pad);
                assert!(!r.bad_fcs());
                let f = parse_frame(LinkType::Radiotap, &bytes, 5).unwrap();
                assert_eq!(f.observation.channel, Some(11));
                assert_eq!(f.signal_dbm, Some(-47));
                assert_eq!(f.tsft, Some(0x0102_0304_0506_0708));
                assert!(f.fcs_checked);
                assert_eq!(f.observation.length, 515 + if qos { 66 } else { 64 });
                // The MAC header starts right after the radiotap header.
                assert_eq!(bytes[r.header_len] & 0x0c, 0x08, "data frame type");
                if data_pad && qos {
                    assert_eq!(&bytes[r.header_len + 26..r.header_len + 28], &[0, 0]);
                }
            }
        }
    }
}

/// A header in the shape Linux mac80211 writes: flags, rate, channel, signal, antenna, RX flags.
#[test]
fn handwritten_mac80211_header() {
    let mut bytes = vec![
        0x00, 0x00, 0x12, 0x00, // version, pad, length 18
        0x2e, 0x48, 0x00, 0x00, // present: flags, rate, channel, signal, antenna, RX flags
        0x00, // flags
        0x02, // rate 1 Mbit/s
        0x6c, 0x09, 0xa0, 0x00, // 2412 MHz, 2 GHz + CCK
        0xc5, // -59 dBm
        0x01, // antenna 1
        0x00, 0x00, // RX flags
    ];
    let r = parse_radiotap(&bytes).unwrap();
    assert_eq!(r.header_len, 18);
    assert_eq!(
        (r.rate, r.channel_mhz, r.channel_flags),
        (Some(2), Some(2412), Some(0x00a0))
    );
    assert_eq!(
        (r.signal_dbm, r.antenna, r.tsft),
        (Some(-59), Some(1), None)
    );
    assert!(!r.fcs_at_end());
    bytes.extend(build_data_frame(&spec(Direction::FromDs)));
    let o = parse(LinkType::Radiotap, &bytes, 9).unwrap();
    assert_eq!((o.channel, o.length, o.source), (Some(1), 579, PHONE));
}

/// Extended bitmaps: TSFT alignment after two bitmaps, a second (per-antenna) namespace.
#[test]
fn handwritten_extended_bitmaps() {
    let mut h = vec![0u8; 36];
    h[2] = 36;
    h[4..8].copy_from_slice(&0xa000_402fu32.to_le_bytes()); // TSFT flags rate chan signal rxflags + ns + ext
    h[8..12].copy_from_slice(&0x0000_0820u32.to_le_bytes()); // signal, antenna
    h[16..24].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes()); // TSFT aligned to 8 (not 12)
    h[24] = 0x10; // FCS at end
    h[25] = 0x0c; // rate
    h[26..28].copy_from_slice(&2437u16.to_le_bytes());
    h[30] = (-33i8) as u8;
    h[34] = (-35i8) as u8; // antenna 0 signal
    h[35] = 0;
    let r = parse_radiotap(&h).unwrap();
    assert_eq!(r.tsft, Some(0x1122_3344_5566_7788));
    assert_eq!(r.flags, Some(0x10));
    assert_eq!(r.rate, Some(0x0c));
    assert_eq!(r.channel(), Some(6));
    assert_eq!(r.signal_dbm, Some(-33));
    // One byte short: the second namespace's antenna field no longer fits.
    let mut short = h.clone();
    short[2] = 35;
    assert_eq!(
        parse_radiotap(&short[..35]),
        Err(FrameError::Truncated("radiotap field"))
    );
}

/// Fields with 4- and 8-byte alignment after odd offsets: XChannel, MCS, A-MPDU, timestamp.
#[test]
fn handwritten_alignment() {
    let present: u32 = (1 << 1) | (1 << 18) | (1 << 19) | (1 << 20) | (1 << 22);
    let mut h = vec![0u8; 44];
    h[2] = 44;
    h[4..8].copy_from_slice(&present.to_le_bytes());
    h[8] = 0x00; // flags at 8
    h[12..16].copy_from_slice(&0x0000_0140u32.to_le_bytes()); // XChannel flags at 12 (aligned 4)
    h[16..18].copy_from_slice(&5180u16.to_le_bytes());
    h[18] = 36;
    // MCS 20..23, A-MPDU 24..32 (aligned 4), timestamp 32..44 (aligned 8).
    let r = parse_radiotap(&h).unwrap();
    assert_eq!(r.header_len, 44);
    assert_eq!(r.channel_mhz, Some(5180));
    assert_eq!(r.channel(), Some(36));
    assert_eq!(r.flags, Some(0));
    let mut short = h.clone();
    short[2] = 43;
    assert_eq!(
        parse_radiotap(&short),
        Err(FrameError::Truncated("radiotap field"))
    );
    // A frame behind it parses with the channel from XChannel.
    h.extend(build_data_frame(&spec(Direction::ToDs)));
    assert_eq!(parse(LinkType::Radiotap, &h, 0).unwrap().channel, Some(36));
}

/// A vendor namespace is skipped by its skip length; a later radiotap namespace follows it.
#[test]
fn handwritten_vendor_namespace() {
    let w0: u32 = (1 << 1) | (1 << 5) | (1 << 30) | (1 << 31);
    let w1: u32 = 1 | (1 << 29) | (1 << 31);
    let w2: u32 = (1 << 5) | (1 << 11);
    let mut h = vec![0u8; 31];
    h[2] = 31;
    h[4..8].copy_from_slice(&w0.to_le_bytes());
    h[8..12].copy_from_slice(&w1.to_le_bytes());
    h[12..16].copy_from_slice(&w2.to_le_bytes());
    h[16] = 0; // flags
    h[17] = (-40i8) as u8; // signal
    h[18..21].copy_from_slice(&[0x00, 0x1b, 0x2c]); // OUI at 18 (aligned 2)
    h[21] = 0; // sub-namespace
    h[22..24].copy_from_slice(&5u16.to_le_bytes()); // skip 5: 24..29
    h[29] = (-70i8) as u8; // per-antenna signal
    h[30] = 3; // antenna
    let r = parse_radiotap(&h).unwrap();
    assert_eq!(r.signal_dbm, Some(-40));
    assert_eq!(r.antenna, None, "later namespaces are not reported");
    let mut long_skip = h.clone();
    long_skip[22] = 6; // skip past the end: 24 + 6 = 30, then signal 30, antenna 31 > 31
    assert!(parse_radiotap(&long_skip).is_err());
    long_skip[22] = 8; // vendor data alone runs past the header
    assert_eq!(
        parse_radiotap(&long_skip),
        Err(FrameError::Truncated("radiotap vendor namespace"))
    );
}

#[test]
fn radiotap_errors() {
    assert_eq!(
        parse_radiotap(&[]),
        Err(FrameError::Truncated("radiotap header"))
    );
    assert_eq!(
        parse_radiotap(&[1, 0, 8, 0, 0, 0, 0, 0]),
        Err(FrameError::RadiotapVersion(1))
    );
    assert_eq!(
        parse_radiotap(&[0, 0, 7, 0, 0, 0, 0]),
        Err(FrameError::Radiotap("length below 8"))
    );
    assert_eq!(
        parse_radiotap(&[0, 0, 9, 0, 0, 0, 0, 0]),
        Err(FrameError::Truncated("radiotap header"))
    );
    // Extension bit set in the only bitmap that fits.
    assert!(matches!(
        parse_radiotap(&[0, 0, 8, 0, 0, 0, 0, 0x80]),
        Err(FrameError::Radiotap(_))
    ));
    // Both namespace bits at once.
    let mut both = vec![0, 0, 12, 0];
    both.extend(0xe000_0000u32.to_le_bytes());
    both.extend(0u32.to_le_bytes());
    assert_eq!(
        parse_radiotap(&both),
        Err(FrameError::Radiotap("two namespaces announced at once"))
    );
    // A TLV list (bit 28) stops the walk but keeps earlier fields.
    let mut tlv = vec![0, 0, 16, 0];
    tlv.extend(((1u32 << 1) | (1 << 28)).to_le_bytes());
    tlv.extend([0x10, 0, 0, 0, 9, 9, 9, 9]);
    assert_eq!(parse_radiotap(&tlv).unwrap().flags, Some(0x10));
}

#[test]
fn rejections() {
    let rejected = |s: &DataFrameSpec| parse_built(s, 0).unwrap_err();
    let base = spec(Direction::FromDs);
    assert_eq!(
        rejected(&DataFrameSpec {
            direction: Direction::Direct,
            ..base
        }),
        FrameError::NoDs
    );
    assert_eq!(
        rejected(&DataFrameSpec {
            more_fragments: true,
            ..base
        }),
        FrameError::Fragment
    );
    assert_eq!(
        rejected(&DataFrameSpec {
            fragment: 1,
            ..base
        }),
        FrameError::Fragment
    );
    assert_eq!(
        rejected(&DataFrameSpec {
            qos: true,
            amsdu: true,
            ..base
        }),
        FrameError::AMsdu
    );
    assert_eq!(
        rejected(&DataFrameSpec {
            destination: PHONE,
            ..base
        }),
        FrameError::UnicastDestination
    );
    assert_eq!(
        rejected(&DataFrameSpec {
            source: MCAST,
            ..base
        }),
        FrameError::GroupSource
    );
    assert_eq!(
        rejected(&DataFrameSpec {
            bssid: BCAST,
            ..base
        }),
        FrameError::GroupBssid
    );
    let bad_flag = RadiotapSpec {
        bad_fcs: true,
        ..RadiotapSpec::default()
    };
    assert_eq!(
        rejected(&DataFrameSpec {
            radiotap: Some(bad_flag),
            ..base
        }),
        FrameError::BadFcs
    );
    assert_eq!(
        rejected(&DataFrameSpec {
            udp_payload_len: 65_500,
            ..base
        }),
        FrameError::TooLong
    );

    let plain = build_data_frame(&base);
    let patched = |at: usize, value: u8| {
        let mut b = plain.clone();
        b[at] = value;
        parse(LinkType::Ieee80211, &b, 0).unwrap_err()
    };
    assert_eq!(patched(1, 0x03), FrameError::BothDs);
    assert_eq!(
        patched(0, 0x80),
        FrameError::NotData {
            frame_type: 0,
            subtype: 8
        }
    ); // beacon
    assert_eq!(
        patched(0, 0xd4),
        FrameError::NotData {
            frame_type: 1,
            subtype: 13
        }
    ); // ACK
    assert_eq!(patched(0, 0x48), FrameError::NoBody(4)); // Null
    assert_eq!(patched(0, 0xc8), FrameError::NoBody(12)); // QoS Null
    assert_eq!(patched(0, 0x09), FrameError::ProtocolVersion(1));

    // Corrupted FCS or body with the FCS present.
    let with_fcs = DataFrameSpec {
        fcs: true,
        radiotap: Some(RadiotapSpec::default()),
        ..base
    };
    let good = build_data_frame(&with_fcs);
    assert!(parse(LinkType::Radiotap, &good, 0).is_ok());
    for at in [good.len() - 1, good.len() - 30, 20] {
        let mut b = good.clone();
        b[at] ^= 0x01;
        assert_eq!(
            parse(LinkType::Radiotap, &b, 0),
            Err(FrameError::BadFcs),
            "byte {at}"
        );
    }
    // An FCS-less frame read as if it had one.
    assert_eq!(parse_80211(&plain, true, 0), Err(FrameError::BadFcs));
}

#[test]
fn truncations() {
    let s = DataFrameSpec {
        qos: true,
        ht_control: true,
        ..spec(Direction::ToDs)
    };
    let plain = build_data_frame(&s);
    for cut in 0..30 {
        assert!(
            matches!(
                parse(LinkType::Ieee80211, &plain[..cut], 0),
                Err(FrameError::Truncated(_))
            ),
            "cut at {cut}"
        );
    }
    // Without FCS a shortened body is just a shorter frame.
    assert_eq!(
        parse(LinkType::Ieee80211, &plain[..40], 0).unwrap().length,
        44
    );

    let s = DataFrameSpec {
        fcs: true,
        radiotap: Some(RadiotapSpec {
            channel: Some(3),
            tsft: Some(1),
            ..RadiotapSpec::default()
        }),
        ..s
    };
    let full = build_data_frame(&s);
    assert!(parse(LinkType::Radiotap, &full, 0).is_ok());
    for cut in 0..full.len() {
        assert!(
            parse(LinkType::Radiotap, &full[..cut], 0).is_err(),
            "cut at {cut}"
        );
    }
    let rt_len = parse_radiotap(&full).unwrap().header_len;
    for cut in 0..rt_len {
        assert!(matches!(
            parse(LinkType::Radiotap, &full[..cut], 0),
            Err(FrameError::Truncated(_))
        ));
    }
}

#[test]
fn link_types_and_channels() {
    assert_eq!(LinkType::from_arphrd(803), Some(LinkType::Radiotap));
    assert_eq!(LinkType::from_arphrd(801), Some(LinkType::Ieee80211));
    assert_eq!(LinkType::from_arphrd(1), None);
    assert_eq!(LinkType::from_dlt(127), Some(LinkType::Radiotap));
    assert_eq!(LinkType::from_dlt(105), Some(LinkType::Ieee80211));
    assert_eq!(LinkType::from_dlt(1), None);
    for l in [LinkType::Radiotap, LinkType::Ieee80211] {
        assert_eq!(LinkType::from_dlt(l.dlt()), Some(l));
        assert_eq!(LinkType::from_arphrd(l.arphrd()), Some(l));
    }
    let expected: Vec<u8> = (1..=13).collect();
    let got: Vec<u8> = (2412..=2472)
        .step_by(5)
        .filter_map(channel_from_frequency)
        .collect();
    assert_eq!(got, expected);
    assert_eq!(frame::fcs(b"123456789"), 0xCBF4_3926);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn unicast() -> impl Strategy<Value = [u8; 6]> {
        any::<[u8; 6]>().prop_map(|mut a| {
            a[0] &= 0xfe;
            a
        })
    }

    fn group() -> impl Strategy<Value = [u8; 6]> {
        any::<[u8; 6]>().prop_map(|mut a| {
            a[0] |= 0x01;
            a
        })
    }

    fn security() -> impl Strategy<Value = Security> {
        prop_oneof![
            Just(Security::Open),
            Just(Security::Wep),
            Just(Security::Tkip),
            Just(Security::Ccmp),
            Just(Security::Gcmp256),
        ]
    }

    prop_compose! {
        fn radiotap()(channel in proptest::option::of(1u8..=14), tsft in proptest::option::of(any::<u64>()),
                      signal_dbm in proptest::option::of(-100i8..0), data_pad in any::<bool>(), extended in any::<bool>())
                      -> RadiotapSpec {
            RadiotapSpec { channel, tsft, signal_dbm, data_pad, extended, bad_fcs: false }
        }
    }

    prop_compose! {
        fn good_spec()(to_ds in any::<bool>(), bssid in unicast(), source in unicast(), destination in group(),
                       seq in any::<u16>(), qos in any::<bool>(), ht_control in any::<bool>(),
                       security in security(), ipv6 in any::<bool>(), udp_payload_len in 0u16..2000,
                       retry in any::<bool>(), fcs in any::<bool>(),
                       radiotap in proptest::option::of(radiotap())) -> DataFrameSpec {
            DataFrameSpec {
                direction: if to_ds { Direction::ToDs } else { Direction::FromDs },
                bssid, source, destination, seq, qos, amsdu: false, ht_control, security, ipv6,
                udp_payload_len, retry, more_fragments: false, fragment: 0, fcs, radiotap,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed), ..ProptestConfig::default() })]

        #[test]
        fn build_parse_round_trip(s in good_spec(), time_us in any::<u64>()) {
            let f = parse_built(&s, time_us).unwrap();
            let o = f.observation;
            prop_assert_eq!(o.time_us, time_us);
            prop_assert_eq!(o.direction, s.direction);
            prop_assert_eq!((o.bssid, o.source, o.destination), (s.bssid, s.source, s.destination));
            prop_assert_eq!(o.seq, Some(s.seq & 0x0fff));
            prop_assert_eq!(u32::from(o.length), s.expected_length());
            prop_assert_eq!(o.channel, s.radiotap.and_then(|r| r.channel));
            prop_assert_eq!(f.qos, s.qos);
            prop_assert_eq!(f.protected, s.security != Security::Open);
            prop_assert_eq!(f.retry, s.retry);
            prop_assert_eq!(f.signal_dbm, s.radiotap.and_then(|r| r.signal_dbm));
            prop_assert_eq!(f.tsft, s.radiotap.and_then(|r| r.tsft));
            // The capture format never changes the length.
            let bare = DataFrameSpec { fcs: false, radiotap: None, ..s };
            prop_assert_eq!(parse_built(&bare, 0).unwrap().observation.length, o.length);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), fcs in any::<bool>()) {
            let _ = parse(LinkType::Radiotap, &bytes, 0);
            let _ = parse(LinkType::Ieee80211, &bytes, 0);
            let _ = parse_80211(&bytes, fcs, 0);
            let _ = parse_radiotap(&bytes);
        }

        #[test]
        fn radiotap_like_bytes_never_panic(words in proptest::collection::vec(any::<u32>(), 1..6),
                                           tail in proptest::collection::vec(any::<u8>(), 0..120),
                                           len in any::<u16>()) {
            let mut bytes = vec![0, 0, 0, 0];
            bytes[2..4].copy_from_slice(&len.to_le_bytes());
            for w in &words {
                bytes.extend(w.to_le_bytes());
            }
            bytes.extend(&tail);
            let _ = parse(LinkType::Radiotap, &bytes, 0);
            // A consistent length makes the walk go through the fields.
            let n = bytes.len() as u16;
            bytes[2..4].copy_from_slice(&n.to_le_bytes());
            let _ = parse(LinkType::Radiotap, &bytes, 0);
        }

        #[test]
        fn mutated_frames_never_panic(s in good_spec(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut bytes = build_data_frame(&s);
            for (at, v) in flips {
                let i = at % bytes.len();
                bytes[i] ^= v;
            }
            let _ = parse(LinkType::Radiotap, &bytes, 0);
            let _ = parse(LinkType::Ieee80211, &bytes, 0);
        }
    }
}
