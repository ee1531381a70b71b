//! Finding provisioning devices: mDNS browsing for `_esp_wifi_prov._tcp` and, with the `bluez`
//! feature, a BLE scan for devices advertising the provisioning service.
//!
//! * [`browse`] listens for a while and returns every instance still announced at the end,
//!   with its host, addresses, port and TXT records ([`Found`]).
//! * [`probe_all`] (or [`probe`] for one address) fetches each device's version document over
//!   HTTP: version, security scheme, patch level, capabilities ([`Probe`]).
//! * [`scan_ble`] (feature `bluez`) scans with the first Bluetooth adapter for devices that
//!   advertise the provisioning service UUID or a `PROV_` name.
//!
//! Nothing here prints: the caller decides how to show what was found.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent};
use protocomm::PeerVersion;
use wifiprov_transport::mdns::SERVICE_TYPE;

use crate::transport::{ClientTransport, HttpTransport};

/// How long one [`probe`] request may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The TXT key naming the version endpoint.
pub const VERSION_ENDPOINT_KEY: &str = "version_endpoint";

/// The version endpoint used when the TXT records name none.
pub const DEFAULT_VERSION_ENDPOINT: &str = "proto-ver";

/// Why discovery could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The mDNS browser could not start (the port is taken, no multicast socket, …).
    #[error("cannot start an mDNS browser on port {port}")]
    Browser {
        /// The mDNS UDP port asked for.
        port: u16,
        /// What the mDNS library said.
        #[source]
        source: mdns_sd::Error,
    },
    /// The browser refused to browse the provisioning service type.
    #[error("cannot browse {service}")]
    Browse {
        /// The service type.
        service: &'static str,
        /// What the mDNS library said.
        #[source]
        source: mdns_sd::Error,
    },
    /// BlueZ could not be used for a BLE scan.
    #[error(transparent)]
    Ble(#[from] crate::transport::TransportError),
    /// BlueZ did not answer in time.
    #[error("BlueZ did not answer in time")]
    BleTimeout,
}

/// One device announced over mDNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The DNS-SD instance name (normally the provisioning service name, `PROV_261FCC`).
    pub name: String,
    /// The full DNS-SD name (`<name>._esp_wifi_prov._tcp.local.`).
    pub fullname: String,
    /// The announced host name (`prov-261fcc.local.`).
    pub host: String,
    /// The announced addresses, IPv4 first, each family in ascending order.
    pub addresses: Vec<IpAddr>,
    /// TCP port of the HTTP transport.
    pub port: u16,
    /// The TXT records (a key without a value maps to an empty string).
    pub txt: BTreeMap<String, String>,
    /// What [`probe_all`] learnt, if it ran.
    pub probe: Option<Probe>,
}

/// The result of fetching a device's version document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// The address asked (`host:port`), if the device announced any address.
    pub address: Option<String>,
    /// The provisioning version (`prov.ver`, e.g. `v1.1`).
    pub version: Option<String>,
    /// The security scheme a client would use (0, 1 or 2).
    pub sec_ver: Option<u8>,
    /// The security patch level.
    pub sec_patch_ver: Option<u32>,
    /// Whether security 1 needs a proof of possession (`None` for other schemes).
    pub needs_pop: Option<bool>,
    /// The `prov.cap` capabilities.
    pub capabilities: Vec<String>,
    /// Why the probe failed, if it did.
    pub error: Option<String>,
}

impl Found {
    fn from_resolved(service: &ResolvedService) -> Found {
        let fullname = service.get_fullname().to_owned();
        let name = fullname
            .strip_suffix(SERVICE_TYPE)
            .and_then(|rest| rest.strip_suffix('.'))
            .unwrap_or(&fullname)
            .to_owned();
        let txt = service
            .get_properties()
            .iter()
            .map(|p| {
                let value = p
                    .val()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                (p.key().to_owned(), value)
            })
            .collect();
        Found {
            name,
            fullname,
            host: service.get_hostname().to_owned(),
            addresses: sorted_addresses(service.get_addresses().iter().map(|a| a.to_ip_addr())),
            port: service.get_port(),
            txt,
            probe: None,
        }
    }

    /// Takes a newer resolution of the same instance, keeping addresses seen earlier.
    fn merge(&mut self, newer: Found) {
        let addresses = sorted_addresses(self.addresses.iter().copied().chain(newer.addresses));
        *self = Found { addresses, ..newer };
    }

    /// The address to reach the HTTP transport on: IPv4 before IPv6, routable before
    /// link-local.
    pub fn http_address(&self) -> Option<SocketAddr> {
        let rank = |ip: &IpAddr| match ip {
            IpAddr::V4(v4) if !v4.is_link_local() => 0,
            IpAddr::V4(_) => 1,
            IpAddr::V6(v6) if !v6.is_unicast_link_local() => 2,
            IpAddr::V6(_) => 3,
        };
        self.addresses
            .iter()
            .min_by_key(|ip| rank(ip))
            .map(|ip| SocketAddr::new(*ip, self.port))
    }

    /// The endpoint serving the version document, from the TXT record when present.
    pub fn version_endpoint(&self) -> String {
        self.txt
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(VERSION_ENDPOINT_KEY))
            .map(|(_, value)| value.trim_start_matches('/').to_owned())
            .filter(|endpoint| !endpoint.is_empty())
            .unwrap_or_else(|| DEFAULT_VERSION_ENDPOINT.to_owned())
    }
}

/// Deduplicated addresses, IPv4 first, each family in ascending order.
fn sorted_addresses(addresses: impl Iterator<Item = IpAddr>) -> Vec<IpAddr> {
    let unique: BTreeSet<IpAddr> = addresses.collect();
    unique.into_iter().collect()
}

/// Browses `_esp_wifi_prov._tcp` on UDP port `mdns_port` (5353 normally) for `timeout` and
/// returns the instances still announced at the end, by name.
pub async fn browse(mdns_port: u16, timeout: Duration) -> Result<Vec<Found>, DiscoverError> {
    browse_until(mdns_port, timeout, |_| false).await
}

/// Like [`browse`], but returns as soon as a resolved instance satisfies `enough` (the
/// instances announced so far, that one included), without waiting for the whole `timeout`.
pub async fn browse_until(
    mdns_port: u16,
    timeout: Duration,
    enough: impl Fn(&Found) -> bool,
) -> Result<Vec<Found>, DiscoverError> {
    let daemon =
        ServiceDaemon::new_with_port(mdns_port).map_err(|source| DiscoverError::Browser {
            port: mdns_port,
            source,
        })?;
    let events = match daemon.browse(SERVICE_TYPE) {
        Ok(events) => events,
        Err(source) => {
            let _ = daemon.shutdown();
            return Err(DiscoverError::Browse {
                service: SERVICE_TYPE,
                source,
            });
        }
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    loop {
        let event = match tokio::time::timeout_at(deadline, events.recv_async()).await {
            Ok(Ok(event)) => event,
            // Time is up, or the browser stopped.
            Ok(Err(_)) | Err(_) => break,
        };
        match event {
            ServiceEvent::ServiceResolved(service) => {
                let device = Found::from_resolved(&service);
                tracing::debug!(name = ?device.name, port = device.port, "resolved");
                let done = enough(&device);
                match found.get_mut(&device.fullname) {
                    Some(known) => known.merge(device),
                    None => {
                        found.insert(device.fullname.clone(), device);
                    }
                }
                if done {
                    break;
                }
            }
            ServiceEvent::ServiceRemoved(_, fullname) => {
                tracing::debug!(?fullname, "withdrawn");
                found.remove(&fullname);
            }
            _ => {}
        }
    }
    let _ = daemon.stop_browse(SERVICE_TYPE);
    let _ = daemon.shutdown();
    let mut list: Vec<Found> = found.into_values().collect();
    list.sort_by(|a, b| a.name.cmp(&b.name).then(a.fullname.cmp(&b.fullname)));
    Ok(list)
}

/// Fetches every device's version document, all at once, into [`Found::probe`].
pub async fn probe_all(found: &mut [Found]) {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, device) in found.iter().enumerate() {
        let address = device.http_address();
        let endpoint = device.version_endpoint();
        tasks.spawn(async move { (index, probe(address, endpoint).await) });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, result)) => {
                if let Some(device) = found.get_mut(index) {
                    device.probe = Some(result);
                }
            }
            Err(e) => tracing::warn!("a probe did not finish: {e}"),
        }
    }
}

/// Reads one device's version document from `endpoint` at `address` (a failure is reported
/// in [`Probe::error`]).
pub async fn probe(address: Option<SocketAddr>, endpoint: String) -> Probe {
    let Some(address) = address else {
        return Probe {
            error: Some("the announcement has no address".to_owned()),
            ..Probe::default()
        };
    };
    let mut transport = HttpTransport::new(&address.to_string(), PROBE_TIMEOUT);
    match transport.request(&endpoint, b"---").await {
        Ok(reply) => {
            let version = PeerVersion::parse(&reply);
            let sec_ver = version.security();
            Probe {
                address: Some(address.to_string()),
                sec_ver: Some(sec_ver),
                sec_patch_ver: Some(version.sec_patch_ver),
                needs_pop: (sec_ver == 1).then(|| version.needs_pop()),
                capabilities: version.capabilities.clone(),
                version: version.version,
                error: None,
            }
        }
        Err(e) => Probe {
            address: Some(address.to_string()),
            error: Some(e.to_string()),
            ..Probe::default()
        },
    }
}

/// Scans for BLE provisioning devices (see [`crate::BleDevice::is_provisioning`]) on the
/// system bus's first adapter for `timeout`, strongest signal first.
#[cfg(feature = "bluez")]
pub async fn scan_ble(
    timeout: Duration,
    service_uuid: Option<wifiprov_transport::ble::Uuid128>,
) -> Result<Vec<crate::BleDevice>, DiscoverError> {
    use crate::ble_bluez::{scan_devices, system_bus};
    let scan = async {
        let bus = system_bus().await?;
        scan_devices(&bus, None, service_uuid, timeout).await
    };
    // The scan itself stops at `timeout`; the margin covers BlueZ's answers.
    match tokio::time::timeout(timeout + Duration::from_secs(5), scan).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(DiscoverError::BleTimeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(addresses: &[&str]) -> Found {
        Found {
            name: "PROV_1".into(),
            fullname: format!("PROV_1.{SERVICE_TYPE}"),
            host: "prov-1.local.".into(),
            addresses: sorted_addresses(addresses.iter().filter_map(|a| a.parse().ok())),
            port: 8080,
            txt: BTreeMap::from([("version_endpoint".into(), "/proto-ver".into())]),
            probe: None,
        }
    }

    #[test]
    fn routable_ipv4_is_preferred_for_probing() {
        let d = device(&["fe80::1", "169.254.0.9", "192.168.4.1"]);
        assert_eq!(
            d.http_address(),
            "192.168.4.1:8080".parse::<SocketAddr>().ok()
        );
        assert_eq!(device(&[]).http_address(), None);
        assert_eq!(d.version_endpoint(), "proto-ver");
    }

    #[test]
    fn addresses_are_merged_and_sorted() {
        let mut d = device(&["192.168.4.1", "fe80::1"]);
        let mut newer = device(&["10.0.0.2", "192.168.4.1"]);
        newer.port = 80;
        d.merge(newer);
        assert_eq!(d.port, 80);
        let text: Vec<String> = d.addresses.iter().map(IpAddr::to_string).collect();
        assert_eq!(text, ["10.0.0.2", "192.168.4.1", "fe80::1"]);
    }

    #[tokio::test]
    async fn a_probe_without_address_says_so() {
        let p = probe(None, DEFAULT_VERSION_ENDPOINT.into()).await;
        assert_eq!(p.error.as_deref(), Some("the announcement has no address"));
        assert_eq!(p.sec_ver, None);
    }
}
