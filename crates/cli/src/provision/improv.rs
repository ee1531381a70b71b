//! `wifiprov provision --transport improv-serial`: Improv Wi-Fi to ESPHome, WLED, Tasmota or
//! wifiprov devices, with the same flags, prompts, `--json` object and exit codes as the ESP
//! transports.

use std::time::{Duration, Instant};

use ::improv::{ErrorCode, State};
use wifiprov_client::improv::{ImprovDeviceInfo, ImprovError, ImprovNetwork, ImprovSerial};
use wifiprov_wifi::{AccessPoint, AuthMode, Bssid};

use super::args::{Connection, ProvisionArgs, TransportKind};
use super::flow::{self, Scanner};
use super::prompt;
use super::report::{Failure, Outcome};
use super::ui::{Ui, seconds};
use crate::exit::Exit;

/// How long a device has to answer the first state request (re-sent every second).
const DETECT: Duration = Duration::from_secs(5);
/// How long a scan may take.
const SCAN: Duration = Duration::from_secs(30);

/// An Improv client and what it was opened on.
pub(super) struct Link {
    client: ImprovSerial,
    /// The serial path or the command, for messages.
    pub place: String,
}

impl Scanner for Link {
    async fn networks(&mut self) -> Result<Vec<AccessPoint>, Failure> {
        let networks = self
            .client
            .scan(SCAN)
            .await
            .map_err(|e| failure(e, &self.place))?;
        Ok(networks.iter().map(access_point).collect())
    }
}

/// An Improv network as the scan table shows it (Improv gives no BSSID or channel).
pub(super) fn access_point(n: &ImprovNetwork) -> AccessPoint {
    AccessPoint {
        ssid: n.ssid.clone(),
        bssid: Bssid([0; 6]),
        channel: 0,
        rssi: i8::try_from(n.rssi.clamp(-128, 0)).unwrap_or(-100),
        auth: if n.secured {
            AuthMode::Wpa2Psk
        } else {
            AuthMode::Open
        },
    }
}

/// Whether `conn` asks for an Improv transport.
pub(super) fn wanted(conn: &Connection) -> bool {
    conn.transport == Some(TransportKind::ImprovSerial)
}

/// What `conn` names: the serial path or the command.
fn place_of(conn: &Connection) -> String {
    match (&conn.serial, &conn.console_command) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(command)) => format!("command {command:?}"),
        (None, None) => String::new(),
    }
}

/// Opens the client on `--serial` or `--console-command`.
pub(super) fn open(conn: &Connection) -> Result<Link, Failure> {
    if conn.ble_service_uuid.is_some() || conn.ble_adapter.is_some() {
        return Err(Failure::usage(
            "the --ble-* flags do not apply to --transport improv-serial",
        ));
    }
    if conn.qr_payload.is_some() {
        return Err(Failure::usage(
            "--qr_payload does not apply to Improv (ESP QR codes only)",
        ));
    }
    match (&conn.serial, &conn.console_command) {
        (Some(path), None) => {
            let (reader, writer) = crate::serial::open(path, conn.baud)
                .map_err(|e| Failure::new(Exit::Unreachable, crate::exit::message(&*e)))?;
            Ok(Link {
                client: ImprovSerial::new(reader, writer),
                place: place_of(conn),
            })
        }
        (None, Some(command)) => {
            let client = ImprovSerial::spawn(command).map_err(|e| {
                Failure::new(Exit::Unreachable, format!("cannot start {command:?}: {e}"))
            })?;
            Ok(Link {
                client,
                place: place_of(conn),
            })
        }
        _ => Err(Failure::usage(
            "--transport improv-serial needs --serial PATH or --console-command COMMAND",
        )),
    }
}

/// The failure an Improv error stands for.
pub(super) fn failure(e: ImprovError, place: &str) -> Failure {
    match e {
        ImprovError::Device(ErrorCode::NotAuthorized) => Failure::new(Exit::Refused, e.to_string())
            .hint("authorize the device (press its button), then run again within its time"),
        ImprovError::Device(ErrorCode::UnableToConnect) => {
            Failure::new(Exit::WifiFailed, e.to_string()).hint(
                "Improv does not say why: check the passphrase and that the network is in the \
                 device's range; the device takes new credentials at once",
            )
        }
        ImprovError::Device(_) => Failure::new(Exit::Refused, e.to_string()),
        ImprovError::Timeout { .. } => Failure::new(Exit::Timeout, e.to_string()),
        ImprovError::Io(_) | ImprovError::Closed => {
            Failure::new(Exit::Unreachable, format!("{place}: {e}"))
        }
        ImprovError::Protocol(_) => Failure::new(Exit::Failure, e.to_string()),
    }
}

/// Opens the link and waits until the device answers.
async fn detect(conn: &Connection, ui: &Ui) -> Result<(Link, State, Option<String>), Failure> {
    let mut link = open(conn)?;
    let waiting = ui.wait("Looking for the Improv device");
    let found = link.client.detect(DETECT).await;
    drop(waiting);
    let (state, url) = found.map_err(|e| match e {
        ImprovError::Timeout { .. } => Failure::new(
            Exit::Unreachable,
            format!("no Improv device answers on {}", link.place),
        )
        .hint("check the port (and --baud); a device that is booting answers after a moment"),
        other => failure(other, &link.place),
    })?;
    Ok((link, state, url))
}

/// `provision` over Improv.
pub(super) async fn execute(
    args: &ProvisionArgs,
    ui: &Ui,
    interactive: bool,
    started: Instant,
    outcome: &mut Outcome,
) -> Result<(), Failure> {
    if args.reset || args.reprov || args.custom_data.is_some() {
        return Err(Failure::usage(
            "--reset, --reprov and --custom_data are ESP-IDF provisioning; Improv takes new \
             credentials without them",
        ));
    }
    let conn = args.connection();
    outcome.device = place_of(&conn);
    flow::check_flags(args, interactive)?;
    let (mut link, state, _) = detect(&conn, ui).await?;
    outcome.protocol = Some("improv-serial 1".into());
    ui.step(&format!("Improv device found ({})", state.name()));
    let (ssid, mut passphrase) =
        flow::network_and_passphrase(args, ui, interactive, &mut link, outcome).await?;
    let shown = super::table::display_ssid(&ssid);
    loop {
        let waiting = ui.wait(&format!("Waiting for the device to join {shown}"));
        let result = link
            .client
            .provision(&ssid, passphrase.as_bytes(), args.timeout)
            .await;
        drop(waiting);
        let failure = match result {
            Ok(urls) => {
                outcome.url = urls.first().cloned();
                let next = urls
                    .first()
                    .map(|u| format!("; the device is at {u}"))
                    .unwrap_or_default();
                ui.step(&format!(
                    "Provisioned: {shown}{next} ({})",
                    seconds(started.elapsed().saturating_sub(prompt::time_waiting()))
                ));
                return Ok(());
            }
            Err(e @ ImprovError::Device(ErrorCode::UnableToConnect)) => Failure {
                message: format!("the device could not join {shown}"),
                ..failure(e, &link.place)
            },
            Err(e) => failure(e, &link.place),
        };
        // Improv devices take new credentials at once: a terminal offers another passphrase.
        flow::offer_retry(failure, ui, interactive, &shown, &mut passphrase).await?;
    }
}

/// `info` over Improv: the device info, state and (when the device has it) network state.
pub(super) async fn info(conn: &Connection, ui: &Ui, json: bool) -> Result<String, Failure> {
    let (mut link, state, url) = detect(conn, ui).await?;
    let info = link
        .client
        .device_info()
        .await
        .map_err(|e| failure(e, &link.place))?;
    Ok(if json {
        info_json(&link.place, "improv-serial", state, url.as_deref(), &info)
    } else {
        info_text(&link.place, "Improv serial 1", state, url.as_deref(), &info)
    })
}

/// Improv device information for people; `protocol` names the framing ("Improv serial 1").
pub(super) fn info_text(
    place: &str,
    protocol: &str,
    state: State,
    url: Option<&str>,
    info: &ImprovDeviceInfo,
) -> String {
    let mut text = format!("Device:        {place}\nProtocol:      {protocol}\n");
    text.push_str(&format!("State:         {}\n", state.name()));
    if let Some(url) = url {
        text.push_str(&format!("URL:           {url}\n"));
    }
    text.push_str(&format!("Name:          {}\n", info.name));
    text.push_str(&format!(
        "Firmware:      {} {}\n",
        info.firmware, info.version
    ));
    text.push_str(&format!("Hardware:      {}\n", info.hardware));
    if let (Some(os), Some(version)) = (&info.os_name, &info.os_version) {
        text.push_str(&format!("OS:            {os} {version}\n"));
    }
    text
}

/// Improv device information as one JSON line; `protocol` is `improv-serial` or `improv-ble`.
pub(super) fn info_json(
    place: &str,
    protocol: &str,
    state: State,
    url: Option<&str>,
    info: &ImprovDeviceInfo,
) -> String {
    serde_json::json!({
        "device": place,
        "protocol": protocol,
        "state": state.name(),
        "url": url,
        "name": info.name,
        "firmware": info.firmware,
        "version": info.version,
        "hardware": info.hardware,
        "os_name": info.os_name,
        "os_version": info.os_version,
    })
    .to_string()
        + "\n"
}

/// `scan` over Improv.
pub(super) async fn scan(conn: &Connection, ui: &Ui) -> Result<Vec<AccessPoint>, Failure> {
    let (mut link, _, _) = detect(conn, ui).await?;
    let waiting = ui.wait("Scanning for networks");
    let aps = link.networks().await;
    drop(waiting);
    aps
}
