//! Completing a decoded message with the scan table: the SSID a sender left out (found by its
//! CRC-8 or by the access point's BSSID / BSSID CRC-8), and the access point's BSSID and
//! channel.

use alloc::vec::Vec;

use super::{Link, Received, RejectReason, ScanEntry};
use crate::{Decoded, Direction, Protocol, crc8, esptouch_v1};

/// The longest SSID 802.11 allows.
const MAX_SSID: usize = 32;

/// Validates `decoded`, fills in its SSID from `scan` if it was left out, and works out the
/// access point.
pub(super) fn complete(
    mut decoded: Decoded,
    link: Link,
    scan: &[ScanEntry],
) -> Result<Received, RejectReason> {
    let carried = decoded.ssid.as_ref().filter(|ssid| !ssid.is_empty());
    let ssid_from_scan = match carried {
        Some(ssid) => {
            if ssid.len() > MAX_SSID {
                return Err(RejectReason::InvalidSsid);
            }
            if decoded.ssid_crc.is_some_and(|crc| crc != crc8(ssid)) {
                return Err(RejectReason::InvalidSsid);
            }
            false
        }
        None => {
            let ssid = recover_ssid(&decoded, &link, scan)?;
            decoded.ssid = Some(ssid);
            true
        }
    };
    let ssid = decoded.ssid.as_deref().unwrap_or_default();
    let bssid = ap_bssid(&decoded, &link, ssid, scan);
    let channel = link.channel.or_else(|| {
        let bssid = bssid?;
        scan.iter().find(|e| e.bssid == bssid).map(|e| e.channel)
    });
    Ok(Received {
        decoded,
        ssid_from_scan,
        bssid,
        channel,
        link,
    })
}

/// Whether `entry`'s SSID fits what `decoded` says about the SSID itself: its CRC-8 and, for
/// ESPTouch v1, its length. `None` when the message says nothing about the SSID.
fn ssid_fits(entry: &ScanEntry, decoded: &Decoded) -> Option<bool> {
    if decoded.protocol == Protocol::EspTouch && decoded.ssid_crc.is_some() {
        return Some(esptouch_v1::ssid_candidate_matches(decoded, &entry.ssid));
    }
    decoded.ssid_crc.map(|crc| crc == crc8(&entry.ssid))
}

/// Whether `entry`'s BSSID is the one `decoded` carries (v1) or fits its CRC-8 (v2). `None`
/// when the message says nothing about the BSSID.
fn bssid_fits(entry: &ScanEntry, decoded: &Decoded) -> Option<bool> {
    match (decoded.bssid, decoded.bssid_crc) {
        (Some(bssid), _) => Some(entry.bssid == bssid),
        (None, Some(crc)) => Some(crc8(&entry.bssid) == crc),
        (None, None) => None,
    }
}

/// The SSID of the only network of the scan that fits. The SSID's CRC (and length) decides
/// when the message carries it, the BSSID (or its CRC) otherwise. Among the fitting entries,
/// those heard on the link's own BSSID take precedence, then those whose BSSID the message
/// names; a network is accepted only if it is the only SSID of the first non-empty group.
fn recover_ssid(
    decoded: &Decoded,
    link: &Link,
    scan: &[ScanEntry],
) -> Result<Vec<u8>, RejectReason> {
    let usable = |e: &&ScanEntry| !e.ssid.is_empty() && e.ssid.len() <= MAX_SSID;
    let fits = |e: &&ScanEntry| match ssid_fits(e, decoded) {
        Some(fits) => fits,
        None => bssid_fits(e, decoded).unwrap_or(false),
    };
    let candidates = || scan.iter().filter(usable).filter(fits);
    let heard = link.direction != Direction::Direct;
    let on_link = || candidates().filter(move |e| heard && e.bssid == link.bssid);
    let named = || candidates().filter(|e| bssid_fits(e, decoded) == Some(true));
    if on_link().next().is_some() {
        unique_ssid(on_link())
    } else if named().next().is_some() {
        unique_ssid(named())
    } else {
        unique_ssid(candidates())
    }
}

/// The SSID all `entries` share, if there is exactly one.
fn unique_ssid<'a>(
    mut entries: impl Iterator<Item = &'a ScanEntry>,
) -> Result<Vec<u8>, RejectReason> {
    let first = entries.next().ok_or(RejectReason::SsidNotInScan)?;
    if entries.any(|e| e.ssid != first.ssid) {
        return Err(RejectReason::SsidAmbiguous);
    }
    Ok(first.ssid.clone())
}

/// The access point's BSSID as well as it is known: carried in full (ESPTouch v1); else the
/// BSSID the link was heard on if it fits the carried CRC (or no CRC is carried); else the only
/// scan entry of the SSID whose BSSID fits the CRC.
fn ap_bssid(decoded: &Decoded, link: &Link, ssid: &[u8], scan: &[ScanEntry]) -> Option<[u8; 6]> {
    if let Some(bssid) = decoded.bssid {
        return Some(bssid);
    }
    let heard = (link.direction != Direction::Direct).then_some(link.bssid);
    let Some(crc) = decoded.bssid_crc else {
        return heard;
    };
    if let Some(bssid) = heard.filter(|b| crc8(b) == crc) {
        return Some(bssid);
    }
    let mut matching = scan
        .iter()
        .filter(|e| e.ssid == ssid && crc8(&e.bssid) == crc);
    let first = matching.next()?;
    matching
        .all(|e| e.bssid == first.bssid)
        .then_some(first.bssid)
}
