//! Which known network to try next: candidate order and small helpers.

use tracing::warn;
use wifiprov_wifi::{AccessPoint, ConnectError, LinkStatus};

use super::config::KnownNetwork;

/// A network name seen by a scan, with the channel of its strongest access point.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    pub(super) ssid: Vec<u8>,
    pub(super) channel: u8,
    pub(super) rssi: i8,
}

/// The known networks in the order they are tried after `scan`: those the scan saw, in
/// preference order, then those it did not see (they may be hidden), in preference order.
/// Hidden access points (empty SSID) in the scan match nothing.
pub fn candidate_order<'a>(
    networks: &'a [KnownNetwork],
    scan: &[AccessPoint],
) -> Vec<&'a KnownNetwork> {
    let seen = seen_from_scan(scan);
    ordered(networks, &seen).collect()
}

pub(super) fn seen_from_scan(scan: &[AccessPoint]) -> Vec<Seen> {
    let mut seen: Vec<Seen> = Vec::new();
    for ap in scan.iter().filter(|ap| !ap.ssid.is_empty()) {
        match seen.iter_mut().find(|s| s.ssid == ap.ssid) {
            Some(s) if ap.rssi > s.rssi => {
                s.channel = ap.channel;
                s.rssi = ap.rssi;
            }
            Some(_) => {}
            None => seen.push(Seen {
                ssid: ap.ssid.clone(),
                channel: ap.channel,
                rssi: ap.rssi,
            }),
        }
    }
    seen
}

pub(super) fn ordered<'a>(
    networks: &'a [KnownNetwork],
    seen: &[Seen],
) -> impl Iterator<Item = &'a KnownNetwork> {
    let visible = move |n: &&KnownNetwork| seen.iter().any(|s| s.ssid == n.ssid);
    networks
        .iter()
        .filter(visible)
        .chain(networks.iter().filter(move |n| !visible(n)))
}

/// The first entry of every SSID, in order.
pub(super) fn deduplicated(networks: Vec<KnownNetwork>) -> Vec<KnownNetwork> {
    let mut out: Vec<KnownNetwork> = Vec::with_capacity(networks.len());
    for n in networks {
        if out.iter().any(|o| o.ssid == n.ssid) {
            warn!(ssid = %n.ssid, "known network listed twice; the first entry wins");
        } else {
            out.push(n);
        }
    }
    out
}

pub(super) fn lossy(ssid: &[u8]) -> String {
    String::from_utf8_lossy(ssid).into_owned()
}

/// The network a connection result names, if it names one.
pub(super) fn named_network(result: &Result<LinkStatus, ConnectError>) -> Option<String> {
    match result {
        Ok(link) => Some(lossy(&link.ssid)),
        Err(
            ConnectError::AuthFailed { ssid }
            | ConnectError::NetworkNotFound { ssid }
            | ConnectError::AssociationRejected { ssid, .. }
            | ConnectError::NoAddress { ssid }
            | ConnectError::Timeout { ssid }
            | ConnectError::LinkLost { ssid },
        ) => Some(ssid.clone()),
        Err(ConnectError::Invalid(_) | ConnectError::Backend(_)) => None,
    }
}
