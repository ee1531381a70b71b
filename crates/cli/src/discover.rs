//! `wifiprov discover`: find provisioning agents that announce themselves over mDNS or BLE.
//!
//! Browses `_esp_wifi_prov._tcp.local.` for a while and lists every instance that resolved:
//! its name, host, addresses, port and TXT records. With `--probe`, each device's `proto-ver`
//! document is fetched over HTTP as well, to show its security scheme and capabilities.
//!
//! Meanwhile, when BlueZ answers on the system bus, the first Bluetooth adapter scans for LE
//! devices advertising the provisioning service (or named `PROV_…`), listed in a second table.
//! Without BlueZ, a one-line note says so and the mDNS results are listed as usual.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent};
use protocomm::PeerVersion;
use serde::Serialize;
use wifiprov_client::ble_bluez::{BleDevice, scan_devices, system_bus};
use wifiprov_client::{ClientTransport, HttpTransport, TransportError};
use wifiprov_transport::ble::Uuid128;
use wifiprov_transport::mdns::{MDNS_PORT, SERVICE_TYPE};

use crate::exit::{Exit, ExitContext};
use crate::output::{out, outln};

/// Longest listening time accepted by `--timeout`, in seconds.
const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// How long one `--probe` request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The TXT key naming the version endpoint, and the endpoint used when it is absent.
const VERSION_ENDPOINT_KEY: &str = "version_endpoint";
const DEFAULT_VERSION_ENDPOINT: &str = "proto-ver";

/// Arguments of `wifiprov discover`.
#[derive(Args, Debug)]
#[command(after_help = "\
Only devices that announce `_esp_wifi_prov._tcp` over mDNS are found: `wifiprov device` \
does unless it listens on loopback (see its --mdns), older ESP-IDF SoftAP firmware did, and \
current ESP-IDF firmware does not (join its SoftAP and use 192.168.4.1:80 instead). \
BLE devices advertising the provisioning service (or named PROV_…) are listed too when BlueZ \
answers on the system bus; provision them with `wifiprov provision --transport ble \
--service_name NAME`.")]
pub struct DiscoverArgs {
    /// How long to listen for announcements, in seconds (fractions allowed).
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = parse_seconds)]
    pub timeout: Duration,

    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Also fetch each device's `proto-ver` over HTTP (security scheme, capabilities).
    #[arg(long)]
    pub probe: bool,

    /// Do not scan for BLE devices.
    #[arg(long, conflicts_with = "ble_only")]
    pub no_ble: bool,

    /// Only scan for BLE devices (no mDNS); fails when BlueZ is not reachable.
    #[arg(long)]
    pub ble_only: bool,

    /// The BLE provisioning service UUID to look for [default: ESP-IDF's default and example
    /// UUIDs]; devices named PROV_… are listed whatever they advertise.
    #[arg(
        long = "ble-service-uuid",
        visible_alias = "ble_service_uuid",
        value_name = "UUID"
    )]
    pub ble_service_uuid: Option<Uuid128>,

    /// UDP port of mDNS (tests use a private one).
    #[arg(long, hide = true, default_value_t = MDNS_PORT)]
    pub mdns_port: u16,
}

/// Parses a positive number of seconds.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_TIMEOUT_SECS {
        return Err(format!(
            "the timeout must be more than 0 and at most {MAX_TIMEOUT_SECS} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// One discovered device, as printed by `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct Found {
    /// The DNS-SD instance name (normally the provisioning service name, `PROV_261FCC`).
    pub name: String,
    /// The full DNS-SD name (`<name>._esp_wifi_prov._tcp.local.`).
    pub fullname: String,
    /// The announced host name (`prov-261fcc.local.`).
    pub host: String,
    /// The announced addresses, IPv4 first.
    pub addresses: Vec<IpAddr>,
    /// TCP port of the HTTP transport.
    pub port: u16,
    /// The TXT records (a key without a value maps to an empty string).
    pub txt: BTreeMap<String, String>,
    /// What `--probe` learnt; absent without `--probe`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
}

/// The result of fetching a device's version document.
#[derive(Clone, Debug, Default, Serialize)]
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
    fn http_address(&self) -> Option<SocketAddr> {
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
    fn version_endpoint(&self) -> String {
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

/// A BLE device found by the scan, as printed by `--json` (with `"transport": "ble"`).
#[derive(Clone, Debug, Serialize)]
pub struct BleFound {
    /// The advertised name (empty when none was seen).
    pub name: String,
    /// The Bluetooth address.
    pub address: Option<String>,
    /// The signal strength of the last advertisement, in dBm.
    pub rssi: Option<i16>,
    /// The advertised service UUIDs.
    pub uuids: Vec<String>,
    /// BlueZ's object path of the device.
    pub path: String,
}

impl From<BleDevice> for BleFound {
    fn from(d: BleDevice) -> Self {
        BleFound {
            name: d.name.unwrap_or_default(),
            address: d.address,
            rssi: d.rssi,
            uuids: d.uuids,
            path: d.path,
        }
    }
}

/// Why BLE is unavailable, in a few words.
fn why(error: TransportError) -> String {
    match error {
        TransportError::Unreachable { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// Scans for BLE provisioning devices for `timeout`; `Err` says why BLE is unavailable.
async fn scan_ble(
    timeout: Duration,
    service_uuid: Option<Uuid128>,
) -> Result<Vec<BleFound>, String> {
    let scan = async {
        let bus = system_bus().await.map_err(why)?;
        scan_devices(&bus, None, service_uuid, timeout)
            .await
            .map_err(why)
    };
    // The scan itself stops at `timeout`; the margin covers BlueZ's answers.
    match tokio::time::timeout(timeout + Duration::from_secs(5), scan).await {
        Ok(Ok(devices)) => Ok(devices.into_iter().map(BleFound::from).collect()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err("BlueZ did not answer in time".to_owned()),
    }
}

/// Runs `wifiprov discover`.
pub async fn run(args: DiscoverArgs) -> Result<Exit> {
    let mdns = async {
        if args.ble_only {
            return Ok(Vec::new());
        }
        let mut found = browse(args.mdns_port, args.timeout).await?;
        if args.probe {
            probe_all(&mut found).await;
        }
        Ok::<_, anyhow::Error>(found)
    };
    let ble = async {
        if args.no_ble {
            return Ok(Vec::new());
        }
        scan_ble(args.timeout, args.ble_service_uuid).await
    };
    let (found, ble) = tokio::join!(mdns, ble);
    let found = found.exit(Exit::System)?;
    let ble = match ble {
        Ok(devices) => devices,
        Err(reason) if args.ble_only => {
            return Err(Exit::System.error(format!("cannot scan for BLE devices: {reason}")));
        }
        Err(reason) => {
            eprintln!("note: BLE devices are not listed: {reason}");
            Vec::new()
        }
    };
    if args.json {
        outln!("{}", json(&found, &ble)?)?;
    } else {
        out!("{}", table(&found, args.probe))?;
        if !ble.is_empty() {
            if !found.is_empty() {
                outln!()?;
            }
            out!("{}", ble_table(&ble))?;
        }
    }
    let sources = match (args.ble_only, args.no_ble) {
        (true, _) => "over BLE",
        (_, true) => "over mDNS",
        _ => "over mDNS or BLE",
    };
    match found.len() + ble.len() {
        0 => eprintln!(
            "no provisioning device announced itself {sources} within {:.1} s \
             (devices that do not are not listed)",
            args.timeout.as_secs_f64()
        ),
        1 => eprintln!("1 device found"),
        n => eprintln!("{n} devices found"),
    }
    Ok(Exit::Ok)
}

/// The `--json` array: the mDNS devices then the BLE ones, each with a `transport` key.
fn json(found: &[Found], ble: &[BleFound]) -> Result<String> {
    let tagged = |value: serde_json::Value, transport: &str| match value {
        serde_json::Value::Object(mut map) => {
            map.insert("transport".to_owned(), transport.into());
            serde_json::Value::Object(map)
        }
        other => other,
    };
    let mut items = Vec::with_capacity(found.len() + ble.len());
    for device in found {
        items.push(tagged(serde_json::to_value(device)?, "mdns"));
    }
    for device in ble {
        items.push(tagged(serde_json::to_value(device)?, "ble"));
    }
    serde_json::to_string_pretty(&items).context("cannot format the list")
}

/// The table of BLE devices.
fn ble_table(ble: &[BleFound]) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        ["BLE NAME", "ADDRESS", "RSSI", "SERVICE UUIDS"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect(),
    ];
    for device in ble {
        rows.push(vec![
            if device.name.is_empty() {
                "-".to_owned()
            } else {
                device.name.clone()
            },
            device.address.clone().unwrap_or_else(|| "-".to_owned()),
            device
                .rssi
                .map_or_else(|| "-".to_owned(), |r| format!("{r} dBm")),
            device.uuids.join(","),
        ]);
    }
    render(&rows, &[])
}

/// Browses for `timeout` and returns the instances still announced at the end, by name.
async fn browse(mdns_port: u16, timeout: Duration) -> Result<Vec<Found>> {
    let daemon = ServiceDaemon::new_with_port(mdns_port)
        .map_err(|e| anyhow::anyhow!("cannot start an mDNS browser on port {mdns_port}: {e}"))?;
    let events = match daemon.browse(SERVICE_TYPE) {
        Ok(events) => events,
        Err(e) => {
            let _ = daemon.shutdown();
            anyhow::bail!("cannot browse {SERVICE_TYPE}: {e}");
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
                tracing::debug!(name = %device.name, port = device.port, "resolved");
                match found.get_mut(&device.fullname) {
                    Some(known) => known.merge(device),
                    None => {
                        found.insert(device.fullname.clone(), device);
                    }
                }
            }
            ServiceEvent::ServiceRemoved(_, fullname) => {
                tracing::debug!(%fullname, "withdrawn");
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

/// Fetches every device's version document, all at once.
async fn probe_all(found: &mut [Found]) {
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

/// Reads one device's version document.
async fn probe(address: Option<SocketAddr>, endpoint: String) -> Probe {
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

/// How the probe's security reads in the table.
fn security_label(probe: Option<&Probe>) -> String {
    match probe {
        Some(Probe {
            sec_ver: Some(1),
            needs_pop: Some(false),
            ..
        }) => "1 (no PoP)".to_owned(),
        Some(Probe {
            sec_ver: Some(1), ..
        }) => "1 (PoP)".to_owned(),
        Some(Probe {
            sec_ver: Some(2), ..
        }) => "2 (SRP6a)".to_owned(),
        Some(Probe {
            sec_ver: Some(n), ..
        }) => n.to_string(),
        _ => "?".to_owned(),
    }
}

/// The human-readable table (empty when nothing was found).
fn table(found: &[Found], probed: bool) -> String {
    if found.is_empty() {
        return String::new();
    }
    let mut header = vec!["NAME", "HOST", "ADDRESSES", "PORT"];
    if probed {
        header.extend(["SECURITY", "VERSION", "CAPABILITIES"]);
    }
    header.push("TXT");
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    let mut notes = Vec::new();
    for device in found {
        let addresses: Vec<String> = device.addresses.iter().map(IpAddr::to_string).collect();
        let mut row = vec![
            device.name.clone(),
            device.host.clone(),
            if addresses.is_empty() {
                "-".to_owned()
            } else {
                addresses.join(",")
            },
            device.port.to_string(),
        ];
        if probed {
            let probe = device.probe.as_ref();
            row.push(security_label(probe));
            row.push(
                probe
                    .and_then(|p| p.version.clone())
                    .unwrap_or_else(|| "-".to_owned()),
            );
            let caps = probe.map(|p| p.capabilities.join(",")).unwrap_or_default();
            row.push(if caps.is_empty() {
                "-".to_owned()
            } else {
                caps
            });
            if let Some(error) = probe.and_then(|p| p.error.as_deref()) {
                notes.push(format!("{}: probe failed: {error}", device.name));
            }
        }
        let txt: Vec<String> = device
            .txt
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        row.push(txt.join(" "));
        rows.push(row);
    }
    render(&rows, &notes)
}

/// Aligned columns (the last one unpadded), then the notes.
fn render(rows: &[Vec<String>], notes: &[String]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            let last = column + 1 == row.len();
            if last {
                line.push_str(cell);
            } else {
                let width = widths.get(column).copied().unwrap_or(0);
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    for note in notes {
        out.push_str(note);
        out.push('\n');
    }
    out
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
    fn timeouts_must_be_positive_seconds() {
        assert_eq!(parse_seconds("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("nan").is_err());
        assert!(parse_seconds("soon").is_err());
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
    fn the_table_lists_every_device() {
        let text = table(&[device(&["127.0.0.1"])], false);
        assert!(text.starts_with("NAME"), "{text}");
        assert!(text.contains("PROV_1"), "{text}");
        assert!(text.contains("127.0.0.1"), "{text}");
        assert!(text.contains("version_endpoint=/proto-ver"), "{text}");
        assert!(table(&[], true).is_empty());
    }

    #[test]
    fn ble_devices_are_listed_and_tagged() {
        let ble = BleFound {
            name: "PROV_1A2B3C".into(),
            address: Some("AA:BB:CC:DD:EE:FF".into()),
            rssi: Some(-51),
            uuids: vec!["021a9004-0382-4aea-bff4-6b3f1c5adfb4".into()],
            path: "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF".into(),
        };
        let text = ble_table(std::slice::from_ref(&ble));
        assert!(text.starts_with("BLE NAME"), "{text}");
        assert!(
            text.contains("PROV_1A2B3C  AA:BB:CC:DD:EE:FF  -51 dBm"),
            "{text}"
        );
        let list: serde_json::Value =
            serde_json::from_str(&json(&[device(&["127.0.0.1"])], &[ble]).unwrap()).unwrap();
        assert_eq!(list[0]["transport"], "mdns");
        assert_eq!(list[0]["name"], "PROV_1");
        assert_eq!(list[1]["transport"], "ble");
        assert_eq!(list[1]["address"], "AA:BB:CC:DD:EE:FF");
        assert_eq!(list[1]["rssi"], -51);
    }
}
