//! Completing a decoded message with the scan table: the SSID a sender left out (found by its
//! CRC-8 or by the access point's BSSID / BSSID CRC-8), and the access point's BSSID and
//! channel.

use alloc::vec::Vec;

use super::{Link, Received, RejectReason, ScanEntry};
use crate::{Decoded, Direction, crc8};

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

/// Whether `entry` is consistent with what `decoded` says about the SSID and the BSSID.
fn consistent(entry: &ScanEntry, decoded: &Decoded) -> bool {
    if entry.ssid.is_empty() || entry.ssid.len() > MAX_SSID {
        return false;
    }
    if decoded.ssid_crc.is_some_and(|crc| crc != crc8(&entry.ssid)) {
        return false;
    }
    match (decoded.bssid, decoded.bssid_crc) {
        (Some(bssid), _) => entry.bssid == bssid,
        (None, Some(crc)) => crc8(&entry.bssid) == crc,
        (None, None) => true,
    }
}

/// The SSID of the only network of the scan that fits; entries heard on the link's own BSSID
/// take precedence over the rest.
fn recover_ssid(
    decoded: &Decoded,
    link: &Link,
    scan: &[ScanEntry],
) -> Result<Vec<u8>, RejectReason> {
    if decoded.ssid_crc.is_none() && decoded.bssid.is_none() && decoded.bssid_crc.is_none() {
        // Nothing identifies the network.
        return Err(RejectReason::SsidNotInScan);
    }
    let candidates = || scan.iter().filter(|e| consistent(e, decoded));
    let on_link =
        || candidates().filter(|e| link.direction != Direction::Direct && e.bssid == link.bssid);
    if on_link().next().is_some() {
        unique_ssid(on_link())
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
