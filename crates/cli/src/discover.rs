//! `wifiprov discover`: find provisioning agents that announce themselves over mDNS or BLE.
//!
//! Browses `_esp_wifi_prov._tcp.local.` for a while and lists every instance that resolved:
//! its name, host, addresses, port and TXT records. With `--probe`, each device's `proto-ver`
//! document is fetched over HTTP as well, to show its security scheme and capabilities.
//!
//! Meanwhile, when BlueZ answers on the system bus, the first Bluetooth adapter scans for LE
//! devices advertising the provisioning service (or named `PROV_…`), listed in a second table.
//! Without BlueZ, a one-line note says so and the mDNS results are listed as usual.
//!
//! The browsing, probing and scanning are [`wifiprov_client::discover`]; this module parses
//! the arguments and prints what was found.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{Value, json};
use wifiprov_client::discover::{DiscoverError, Found, Probe, browse, probe_all, scan_ble};
use wifiprov_client::{BleDevice, TransportError};
use wifiprov_transport::ble::Uuid128;
use wifiprov_transport::mdns::MDNS_PORT;

use crate::exit::{Exit, ExitContext};
use crate::output::{out, outln};

/// Longest listening time accepted by `--timeout`, in seconds.
const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// Arguments of `wifiprov discover`.
#[derive(Args, Debug)]
#[command(after_help = "\
Only devices that announce `_esp_wifi_prov._tcp` over mDNS are found: `wifiprov device` \
does unless it listens on loopback (see its --mdns), older ESP-IDF SoftAP firmware did, and \
current ESP-IDF firmware does not (join its SoftAP and use 192.168.4.1:80 instead). \
BLE devices advertising the provisioning service (or named PROV_…) are listed too when BlueZ \
answers on the system bus; provision them with `wifiprov provision --transport ble \
--service_name NAME`. Improv Wi-Fi devices (advertising its service UUID or its service data \
0x4677) are listed there as well, with the protocol `improv`; provision them with \
`wifiprov provision --transport improv-ble --service_name NAME|ADDRESS`.")]
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

/// Why BLE is unavailable, in a few words.
fn why(error: DiscoverError) -> String {
    match error {
        DiscoverError::Ble(TransportError::Unreachable { reason, .. }) => reason,
        other => other.to_string(),
    }
}

/// One mDNS device as `--json` prints it.
fn found_json(device: &Found) -> Value {
    let mut value = json!({
        "name": device.name,
        "fullname": device.fullname,
        "host": device.host,
        "addresses": device.addresses.iter().map(IpAddr::to_string).collect::<Vec<_>>(),
        "port": device.port,
        "txt": device.txt,
    });
    if let (Some(probe), Value::Object(map)) = (&device.probe, &mut value) {
        map.insert("probe".to_owned(), probe_json(probe));
    }
    value
}

/// What `--probe` learnt, as `--json` prints it.
fn probe_json(probe: &Probe) -> Value {
    json!({
        "address": probe.address,
        "version": probe.version,
        "sec_ver": probe.sec_ver,
        "sec_patch_ver": probe.sec_patch_ver,
        "needs_pop": probe.needs_pop,
        "capabilities": probe.capabilities,
        "error": probe.error,
    })
}

/// One BLE device as `--json` prints it.
fn ble_json(device: &BleDevice) -> Value {
    json!({
        "name": device.name.clone().unwrap_or_default(),
        "address": device.address,
        "rssi": device.rssi,
        "uuids": device.uuids,
        "improv": device.improv,
        "path": device.path,
    })
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
        scan_ble(args.timeout, args.ble_service_uuid)
            .await
            .map_err(why)
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
fn json(found: &[Found], ble: &[BleDevice]) -> Result<String> {
    let tagged = |value: Value, transport: &str| match value {
        Value::Object(mut map) => {
            map.insert("transport".to_owned(), transport.into());
            Value::Object(map)
        }
        other => other,
    };
    let mut items = Vec::with_capacity(found.len() + ble.len());
    for device in found {
        items.push(tagged(found_json(device), "mdns"));
    }
    for device in ble {
        items.push(tagged(ble_json(device), "ble"));
    }
    serde_json::to_string_pretty(&items).context("cannot format the list")
}

/// What a BLE device speaks: `esp` (ESP-IDF provisioning, `--transport ble`), `improv`
/// (`--transport improv-ble`) or both.
fn protocol(device: &BleDevice) -> &'static str {
    let esp = device.is_provisioning(None);
    match (esp, device.improv) {
        (true, true) => "esp,improv",
        (false, true) => "improv",
        _ => "esp",
    }
}

/// The table of BLE devices.
fn ble_table(ble: &[BleDevice]) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        ["BLE NAME", "ADDRESS", "RSSI", "PROTOCOL", "SERVICE UUIDS"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect(),
    ];
    for device in ble {
        rows.push(vec![
            device
                .name
                .clone()
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "-".to_owned()),
            device.address.clone().unwrap_or_else(|| "-".to_owned()),
            device
                .rssi
                .map_or_else(|| "-".to_owned(), |r| format!("{r} dBm")),
            protocol(device).to_owned(),
            device.uuids.join(","),
        ]);
    }
    render(&rows, &[])
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
    use std::collections::BTreeMap;

    use wifiprov_transport::mdns::SERVICE_TYPE;

    use super::*;

    fn device(addresses: &[&str]) -> Found {
        Found {
            name: "PROV_1".into(),
            fullname: format!("PROV_1.{SERVICE_TYPE}"),
            host: "prov-1.local.".into(),
            addresses: addresses.iter().filter_map(|a| a.parse().ok()).collect(),
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
    fn the_table_lists_every_device() {
        let text = table(&[device(&["127.0.0.1"])], false);
        assert!(text.starts_with("NAME"), "{text}");
        assert!(text.contains("PROV_1"), "{text}");
        assert!(text.contains("127.0.0.1"), "{text}");
        assert!(text.contains("version_endpoint=/proto-ver"), "{text}");
        assert!(table(&[], true).is_empty());
    }

    #[test]
    fn json_has_the_probe_only_when_probed() {
        let mut d = device(&["127.0.0.1"]);
        let plain = found_json(&d);
        assert_eq!(plain["addresses"][0], "127.0.0.1");
        assert_eq!(plain["txt"]["version_endpoint"], "/proto-ver");
        assert!(plain.get("probe").is_none(), "{plain}");
        d.probe = Some(Probe {
            address: Some("127.0.0.1:8080".into()),
            sec_ver: Some(1),
            needs_pop: Some(true),
            ..Probe::default()
        });
        let probed = found_json(&d);
        assert_eq!(probed["probe"]["sec_ver"], 1);
        assert_eq!(probed["probe"]["needs_pop"], true);
        assert_eq!(probed["probe"]["error"], Value::Null);
        assert_eq!(probed["probe"]["capabilities"], json!([]));
    }

    #[test]
    fn ble_devices_are_listed_and_tagged() {
        let ble = BleDevice {
            name: Some("PROV_1A2B3C".into()),
            address: Some("AA:BB:CC:DD:EE:FF".into()),
            rssi: Some(-51),
            uuids: vec!["021a9004-0382-4aea-bff4-6b3f1c5adfb4".into()],
            path: "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF".into(),
            connected: false,
            improv: false,
        };
        let text = ble_table(std::slice::from_ref(&ble));
        assert!(text.starts_with("BLE NAME"), "{text}");
        assert!(
            text.contains("PROV_1A2B3C  AA:BB:CC:DD:EE:FF  -51 dBm"),
            "{text}"
        );
        let list: Value =
            serde_json::from_str(&json(&[device(&["127.0.0.1"])], &[ble]).unwrap()).unwrap();
        assert_eq!(list[0]["transport"], "mdns");
        assert_eq!(list[0]["name"], "PROV_1");
        assert_eq!(list[1]["transport"], "ble");
        assert_eq!(list[1]["address"], "AA:BB:CC:DD:EE:FF");
        assert_eq!(list[1]["rssi"], -51);
        assert!(list[1].get("connected").is_none(), "{list}");
    }
}
