//! The 802.11 MAC header of Data frames.

use super::{FCS_LEN, Frame, FrameError, crc32};
use crate::{Direction, Observation};

/// Frame-control flag bits (second octet).
pub(crate) const TO_DS: u8 = 0x01;
pub(crate) const FROM_DS: u8 = 0x02;
pub(crate) const MORE_FRAGMENTS: u8 = 0x04;
pub(crate) const RETRY: u8 = 0x08;
pub(crate) const PROTECTED: u8 = 0x40;
pub(crate) const ORDER: u8 = 0x80;

/// Data frame type (bits 2..3 of the first octet).
pub(crate) const TYPE_DATA: u8 = 2;
/// Subtype bit: QoS Data.
pub(crate) const SUBTYPE_QOS: u8 = 0x08;
/// Subtype bit: no frame body (Null and friends).
pub(crate) const SUBTYPE_NO_BODY: u8 = 0x04;
/// QoS control, first octet: A-MSDU present.
pub(crate) const QOS_AMSDU: u8 = 0x80;

/// What the capture layer knows about the bytes.
pub(crate) struct Context {
    /// The last 4 bytes are the FCS.
    pub fcs: bool,
    /// Radiotap data padding after the MAC header.
    pub data_pad: bool,
    /// Channel from radiotap.
    pub channel: Option<u8>,
}

fn mac_at(bytes: &[u8], at: usize) -> Option<[u8; 6]> {
    bytes.get(at..at + 6)?.try_into().ok()
}

fn is_group(addr: &[u8; 6]) -> bool {
    addr[0] & 1 != 0
}

/// Parses one 802.11 frame (no radiotap in front).
pub(crate) fn parse(bytes: &[u8], ctx: &Context, time_us: u64) -> Result<Frame, FrameError> {
    // Split off and check the FCS first: a corrupted frame tells nothing reliable.
    let mpdu_end = if ctx.fcs {
        bytes
            .len()
            .checked_sub(usize::from(FCS_LEN))
            .ok_or(FrameError::Truncated("FCS"))?
    } else {
        bytes.len()
    };
    let (frame, fcs_bytes) = bytes.split_at(mpdu_end);

    let &[fc0, fc1] = frame
        .get(..2)
        .ok_or(FrameError::Truncated("frame control"))?
    else {
        return Err(FrameError::Truncated("frame control"));
    };
    let version = fc0 & 0x03;
    let frame_type = (fc0 >> 2) & 0x03;
    let subtype = fc0 >> 4;
    if version != 0 {
        return Err(FrameError::ProtocolVersion(version));
    }
    if frame_type != TYPE_DATA {
        return Err(FrameError::NotData {
            frame_type,
            subtype,
        });
    }
    if subtype & SUBTYPE_NO_BODY != 0 {
        return Err(FrameError::NoBody(subtype));
    }
    let direction = match fc1 & (TO_DS | FROM_DS) {
        TO_DS => Direction::ToDs,
        FROM_DS => Direction::FromDs,
        0 => return Err(FrameError::NoDs),
        _ => return Err(FrameError::BothDs),
    };
    if fc1 & MORE_FRAGMENTS != 0 {
        return Err(FrameError::Fragment);
    }
    let qos = subtype & SUBTYPE_QOS != 0;
    let ht_control = qos && fc1 & ORDER != 0;
    let header_len: usize = 24 + if qos { 2 } else { 0 } + if ht_control { 4 } else { 0 };
    if frame.len() < header_len {
        return Err(FrameError::Truncated("802.11 header"));
    }

    // Body padding (radiotap): present only when there is a body.
    let pad = if ctx.data_pad && frame.len() > header_len {
        let padded = header_len.next_multiple_of(4);
        if frame.len() < padded {
            return Err(FrameError::Truncated("radiotap data padding"));
        }
        padded - header_len
    } else {
        0
    };
    let (header, rest) = frame.split_at(header_len);
    let body = rest.get(pad..).unwrap_or_default();

    if ctx.fcs {
        let state = crc32::update(crc32::update(crc32::START, header), body);
        let expected = (!state).to_le_bytes();
        if fcs_bytes != expected {
            return Err(FrameError::BadFcs);
        }
    }

    let seq_ctl = match header.get(22..24) {
        Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
        _ => return Err(FrameError::Truncated("sequence control")),
    };
    if seq_ctl & 0x000f != 0 {
        return Err(FrameError::Fragment);
    }
    if qos && header.get(24).is_some_and(|q| q & QOS_AMSDU != 0) {
        return Err(FrameError::AMsdu);
    }

    let a1 = mac_at(header, 4).ok_or(FrameError::Truncated("address 1"))?;
    let a2 = mac_at(header, 10).ok_or(FrameError::Truncated("address 2"))?;
    let a3 = mac_at(header, 16).ok_or(FrameError::Truncated("address 3"))?;
    let (bssid, source, destination) = match direction {
        Direction::ToDs => (a1, a2, a3),
        _ => (a2, a3, a1),
    };
    if !is_group(&destination) {
        return Err(FrameError::UnicastDestination);
    }
    if is_group(&source) {
        return Err(FrameError::GroupSource);
    }
    if is_group(&bssid) {
        return Err(FrameError::GroupBssid);
    }

    let mpdu_len = header_len + body.len() + usize::from(FCS_LEN);
    let length = u16::try_from(mpdu_len).map_err(|_| FrameError::TooLong)?;

    Ok(Frame {
        observation: Observation {
            time_us,
            source,
            destination,
            bssid,
            direction,
            length,
            seq: Some(seq_ctl >> 4),
            channel: ctx.channel,
        },
        qos,
        ht_control,
        protected: fc1 & PROTECTED != 0,
        retry: fc1 & RETRY != 0,
        header_len: header_len as u16,
        fcs_checked: ctx.fcs,
        signal_dbm: None,
        tsft: None,
    })
}
