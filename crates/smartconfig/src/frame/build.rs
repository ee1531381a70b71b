//! Synthetic Data frames (radiotap + 802.11 + security wrapper + LLC/SNAP + IP + UDP) whose
//! parsed length is `udp_payload_len + offset()`, for tests and pcap files.

use alloc::vec::Vec;

use super::mac::{
    FROM_DS, MORE_FRAGMENTS, ORDER, PROTECTED, QOS_AMSDU, RETRY, SUBTYPE_QOS, TO_DS, TYPE_DATA,
};
use super::radiotap::{FLAG_BAD_FCS, FLAG_DATA_PAD, FLAG_FCS_AT_END, frequency_from_channel};
use super::{FCS_LEN, crc32};
use crate::Direction;

/// The protection of a frame body, and what it adds to the length (spec §1.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Security {
    /// Open network: no overhead.
    #[default]
    Open,
    /// WEP: IV 4 + ICV 4.
    Wep,
    /// TKIP: IV/ExtIV 8 + MIC 8 + ICV 4.
    Tkip,
    /// CCMP-128 (WPA2, WPA3-SAE): header 8 + MIC 8.
    Ccmp,
    /// GCMP-256 / CCMP-256 (WPA3-192): header 8 + MIC 16.
    Gcmp256,
}

impl Security {
    /// Bytes the protection adds to the body.
    pub fn overhead(self) -> u16 {
        let (head, tail) = self.parts();
        (head + tail) as u16
    }

    /// (header, trailer) sizes.
    fn parts(self) -> (usize, usize) {
        match self {
            Security::Open => (0, 0),
            Security::Wep => (4, 4),
            Security::Tkip => (8, 12),
            Security::Ccmp => (8, 8),
            Security::Gcmp256 => (8, 16),
        }
    }
}

/// The radiotap header to put in front of a built frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RadiotapSpec {
    /// Channel field (2.4 GHz 1..=14 or 5 GHz 32..=177); other numbers leave it out.
    pub channel: Option<u8>,
    /// TSFT field.
    pub tsft: Option<u64>,
    /// Antenna signal field, dBm.
    pub signal_dbm: Option<i8>,
    /// Set the bad-FCS flag (the FCS bytes, if any, stay correct).
    pub bad_fcs: bool,
    /// Set the data-pad flag and pad the MAC header to a multiple of 4.
    pub data_pad: bool,
    /// Add extended presence bitmaps: two per-antenna radiotap namespaces (antenna signal 2
    /// and 5 dB below the main one, antennas 0 and 1) and a vendor namespace with 3 bytes.
    pub extended: bool,
}

/// A Data frame to build with [`build_data_frame`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataFrameSpec {
    /// ToDS (a1 = BSSID, a2 = SA, a3 = DA), FromDS (a1 = DA, a2 = BSSID, a3 = SA), or
    /// [`Direction::Direct`]: no DS bit (a1 = DA, a2 = SA, a3 = BSSID), which parsers reject.
    pub direction: Direction,
    /// BSSID.
    pub bssid: [u8; 6],
    /// Source (SA).
    pub source: [u8; 6],
    /// Destination (DA).
    pub destination: [u8; 6],
    /// Sequence number (low 12 bits used).
    pub seq: u16,
    /// QoS Data (adds the 2-byte QoS control field).
    pub qos: bool,
    /// Set the A-MSDU bit of the QoS control field (only with `qos`).
    pub amsdu: bool,
    /// Set the Order bit; with `qos` this adds a 4-byte HT control field.
    pub ht_control: bool,
    /// Protection (sets the Protected bit unless [`Security::Open`]).
    pub security: Security,
    /// IPv6 (40-byte IP header) instead of IPv4 (20).
    pub ipv6: bool,
    /// UDP payload length: the length the sender passed to `sendto`.
    pub udp_payload_len: u16,
    /// Retry bit.
    pub retry: bool,
    /// More-Fragments bit.
    pub more_fragments: bool,
    /// Fragment number (low 4 bits used).
    pub fragment: u8,
    /// Append the FCS (and, with radiotap, set the FCS-at-end flag).
    pub fcs: bool,
    /// Radiotap header in front, if any.
    pub radiotap: Option<RadiotapSpec>,
}

impl Default for DataFrameSpec {
    /// An open, non-QoS, IPv4 from-DS broadcast of an empty datagram, no radiotap, no FCS.
    fn default() -> Self {
        DataFrameSpec {
            direction: Direction::FromDs,
            bssid: [0x02, 0, 0, 0, 0, 0x01],
            source: [0x02, 0, 0, 0, 0, 0x02],
            destination: [0xff; 6],
            seq: 0,
            qos: false,
            amsdu: false,
            ht_control: false,
            security: Security::Open,
            ipv6: false,
            udp_payload_len: 0,
            retry: false,
            more_fragments: false,
            fragment: 0,
            fcs: false,
            radiotap: None,
        }
    }
}

impl DataFrameSpec {
    /// MAC header length: 24, +2 with QoS, +4 more with HT control.
    pub fn header_len(&self) -> u16 {
        24 + if self.qos { 2 } else { 0 } + if self.qos && self.ht_control { 4 } else { 0 }
    }

    /// The offset K a parser sees: observed length − UDP payload length (FCS always counted).
    pub fn offset(&self) -> u16 {
        let ip = if self.ipv6 { 40 } else { 20 };
        self.header_len() + 8 + ip + 8 + self.security.overhead() + FCS_LEN
    }

    /// The [`crate::Observation::length`] a parser reports for this frame (may exceed
    /// `u16::MAX`, which parsers reject).
    pub fn expected_length(&self) -> u32 {
        u32::from(self.offset()) + u32::from(self.udp_payload_len)
    }
}

/// Builds the frame described by `spec`: radiotap header (if any), MAC header, padding (if
/// asked), body and FCS (if asked).
pub fn build_data_frame(spec: &DataFrameSpec) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + spec.expected_length() as usize);
    if let Some(rt) = &spec.radiotap {
        write_radiotap(&mut out, rt, spec.fcs);
    }

    let mut header = Vec::with_capacity(32);
    let fc0 = (TYPE_DATA << 2) | if spec.qos { SUBTYPE_QOS << 4 } else { 0 };
    let mut fc1 = match spec.direction {
        Direction::ToDs => TO_DS,
        Direction::FromDs => FROM_DS,
        Direction::Direct => 0,
    };
    for (set, bit) in [
        (spec.more_fragments, MORE_FRAGMENTS),
        (spec.retry, RETRY),
        (spec.security != Security::Open, PROTECTED),
        (spec.ht_control, ORDER),
    ] {
        if set {
            fc1 |= bit;
        }
    }
    header.extend_from_slice(&[fc0, fc1, 0, 0]);
    let (a1, a2, a3) = match spec.direction {
        Direction::ToDs => (spec.bssid, spec.source, spec.destination),
        Direction::FromDs => (spec.destination, spec.bssid, spec.source),
        Direction::Direct => (spec.destination, spec.source, spec.bssid),
    };
    for a in [a1, a2, a3] {
        header.extend_from_slice(&a);
    }
    let seq_ctl = ((spec.seq & 0x0fff) << 4) | u16::from(spec.fragment & 0x0f);
    header.extend_from_slice(&seq_ctl.to_le_bytes());
    if spec.qos {
        header.extend_from_slice(&[if spec.amsdu { QOS_AMSDU } else { 0 }, 0]);
        if spec.ht_control {
            header.extend_from_slice(&[0; 4]);
        }
    }

    let body = build_body(spec);
    out.extend_from_slice(&header);
    if spec.radiotap.is_some_and(|rt| rt.data_pad) {
        let pad = header.len().next_multiple_of(4) - header.len();
        out.resize(out.len() + pad, 0);
    }
    out.extend_from_slice(&body);
    if spec.fcs {
        let state = crc32::update(crc32::update(crc32::START, &header), &body);
        out.extend_from_slice(&(!state).to_le_bytes());
    }
    out
}

/// Security header, plaintext (LLC/SNAP, IP, UDP, payload) and security trailer. The
/// "ciphertext" is the plaintext itself: only lengths matter.
fn build_body(spec: &DataFrameSpec) -> Vec<u8> {
    let (head, tail) = spec.security.parts();
    let payload = usize::from(spec.udp_payload_len);
    let mut body = Vec::with_capacity(head + 76 + payload + tail);
    let pn = spec.seq.to_le_bytes();
    match spec.security {
        Security::Open => {}
        Security::Wep => body.extend_from_slice(&[pn[0], pn[1], 0, 0]),
        // TSC1, WEP seed, TSC0, ExtIV | key id 1, TSC2..5.
        Security::Tkip => {
            body.extend_from_slice(&[pn[1], (pn[1] | 0x20) & 0x7f, pn[0], 0x60, 0, 0, 0, 0])
        }
        // PN0, PN1, reserved, ExtIV | key id 1, PN2..5.
        Security::Ccmp | Security::Gcmp256 => {
            body.extend_from_slice(&[pn[0], pn[1], 0, 0x60, 0, 0, 0, 0]);
        }
    }
    let ethertype: [u8; 2] = if spec.ipv6 {
        [0x86, 0xdd]
    } else {
        [0x08, 0x00]
    };
    body.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, ethertype[0], ethertype[1]]);
    let udp_len = (payload + 8) as u16;
    if spec.ipv6 {
        // Version 6, payload length, next header UDP, hop limit 1, fe80::2 → ff02::1.
        body.extend_from_slice(&[0x60, 0, 0, 0]);
        body.extend_from_slice(&udp_len.to_be_bytes());
        body.extend_from_slice(&[17, 1]);
        body.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02]);
        body.extend_from_slice(&[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
    } else {
        let total = udp_len.wrapping_add(20).to_be_bytes();
        let mut ip = [
            0x45, 0, total[0], total[1], 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 168, 4, 2, 255, 255,
            255, 255,
        ];
        let sum = ipv4_checksum(&ip).to_be_bytes();
        ip[10] = sum[0];
        ip[11] = sum[1];
        body.extend_from_slice(&ip);
    }
    // UDP: source port 50000, destination port 7001, length, no checksum.
    body.extend_from_slice(&50000u16.to_be_bytes());
    body.extend_from_slice(&7001u16.to_be_bytes());
    body.extend_from_slice(&udp_len.to_be_bytes());
    body.extend_from_slice(&[0, 0]);
    body.resize(body.len() + payload, b'1');
    body.resize(body.len() + tail, 0);
    body
}

fn ipv4_checksum(header: &[u8; 20]) -> u16 {
    let mut sum: u32 = header
        .chunks_exact(2)
        .map(|w| match w {
            &[a, b] => u32::from(u16::from_be_bytes([a, b])),
            _ => 0,
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn write_radiotap(out: &mut Vec<u8>, rt: &RadiotapSpec, fcs: bool) {
    const EXT: u32 = 1 << 31;
    const NS_RADIOTAP: u32 = 1 << 29;
    const NS_VENDOR: u32 = 1 << 30;
    const ANTENNA_FIELDS: u32 = (1 << 5) | (1 << 11);

    let freq = rt.channel.and_then(frequency_from_channel);
    let mut word0 = 1 << 1; // Flags, always
    if rt.tsft.is_some() {
        word0 |= 1;
    }
    if freq.is_some() {
        word0 |= 1 << 3;
    }
    if rt.signal_dbm.is_some() {
        word0 |= 1 << 5;
    }
    let mut words = Vec::with_capacity(4);
    if rt.extended {
        words.extend_from_slice(&[
            word0 | NS_RADIOTAP | EXT,
            ANTENNA_FIELDS | NS_RADIOTAP | EXT,
            ANTENNA_FIELDS | NS_VENDOR | EXT,
            1,
        ]);
    } else {
        words.push(word0);
    }

    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    for w in &words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    let mut field = |align: usize, bytes: &[u8]| {
        let rel = out.len() - start;
        out.resize(start + rel.next_multiple_of(align), 0);
        out.extend_from_slice(bytes);
    };
    if let Some(t) = rt.tsft {
        field(8, &t.to_le_bytes());
    }
    let mut flags = 0;
    for (set, bit) in [
        (fcs, FLAG_FCS_AT_END),
        (rt.bad_fcs, FLAG_BAD_FCS),
        (rt.data_pad, FLAG_DATA_PAD),
    ] {
        if set {
            flags |= bit;
        }
    }
    field(1, &[flags]);
    if let Some(f) = freq {
        let chan_flags: u16 = if f < 3000 { 0x00a0 } else { 0x0140 };
        let mut c = [0u8; 4];
        c[..2].copy_from_slice(&f.to_le_bytes());
        c[2..].copy_from_slice(&chan_flags.to_le_bytes());
        field(2, &c);
    }
    let signal = rt.signal_dbm.unwrap_or(-50);
    if rt.signal_dbm.is_some() {
        field(1, &signal.to_le_bytes());
    }
    if rt.extended {
        for (antenna, drop) in [(0u8, 2i8), (1, 5)] {
            field(1, &signal.saturating_sub(drop).to_le_bytes());
            field(1, &[antenna]);
        }
        // Vendor namespace: OUI, sub-namespace, skip length 3, 3 data bytes.
        field(2, &[0x00, 0x1b, 0x2c, 0, 3, 0, 0xde, 0xad, 0xbe]);
    }
    let len = (out.len() - start) as u16;
    if let Some(slot) = out.get_mut(start + 2..start + 4) {
        slot.copy_from_slice(&len.to_le_bytes());
    }
}
