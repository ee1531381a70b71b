//! `wifiprov provision --transport improv-ble`: Improv Wi-Fi over BLE through BlueZ (ESPHome,
//! WLED, `wifiprov device --improv-ble`), with the same flags, prompts, `--json` object and
//! exit codes as the other transports. `--service_name` names the device by its advertised
//! name or its address; without it, the one device advertising Improv is taken.

use std::time::{Duration, Instant};

use ::improv::State;
use ::improv::ble::CAP_WIFI_SCAN;
use wifiprov_client::ble_bluez::ImprovBle;
use wifiprov_client::improv::ImprovError;
use wifiprov_wifi::AccessPoint;

use super::args::{Connection, ProvisionArgs, TransportKind};
use super::flow::{self, Scanner};
use super::improv::{access_point, failure};
use super::prompt;
use super::report::{Failure, Outcome};
use super::ui::{Ui, seconds};
use crate::exit::Exit;

/// How long to scan for the device.
const FIND: Duration = Duration::from_secs(20);

struct Link {
    client: ImprovBle,
    place: String,
}

impl Scanner for Link {
    async fn networks(&mut self) -> Result<Vec<AccessPoint>, Failure> {
        let networks = self
            .client
            .scan()
            .await
            .map_err(|e| failure(e, &self.place))?;
        Ok(networks.iter().map(access_point).collect())
    }
}

/// Whether `conn` asks for Improv over BLE.
pub(super) fn wanted(conn: &Connection) -> bool {
    conn.transport == Some(TransportKind::ImprovBle)
}

fn place_of(conn: &Connection) -> String {
    conn.service_name
        .clone()
        .unwrap_or_else(|| "the Improv BLE device".into())
}

/// Finds and connects to the device.
async fn open(conn: &Connection, ui: &Ui) -> Result<(Link, State), Failure> {
    if conn.ble_service_uuid.is_some() {
        return Err(Failure::usage(
            "--ble_service_uuid does not apply to Improv (its service UUID is fixed)",
        ));
    }
    if conn.qr_payload.is_some() || conn.serial.is_some() || conn.console_command.is_some() {
        return Err(Failure::usage(
            "--transport improv-ble takes --service_name (name or address) and --ble-adapter only",
        ));
    }
    let place = place_of(conn);
    let waiting = ui.wait("Looking for the Improv device over BLE");
    let found = ImprovBle::connect(
        conn.service_name.as_deref(),
        conn.ble_adapter.as_deref(),
        FIND,
    )
    .await;
    drop(waiting);
    let client = found.map_err(|e| match e {
        ImprovError::Io(_) | ImprovError::Closed | ImprovError::Timeout { .. } => {
            Failure::new(Exit::Unreachable, format!("{place}: {e}")).hint(
                "check that the device is powered, in range and advertising Improv \
                 (`wifiprov discover` lists BLE devices)",
            )
        }
        other => failure(other, &place),
    })?;
    let place = client.describe();
    let state = client.state().await.map_err(|e| failure(e, &place))?;
    Ok((Link { client, place }, state))
}

/// `provision` over Improv BLE.
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
    let (mut link, state) = open(&conn, ui).await?;
    outcome.device = link.place.clone();
    outcome.protocol = Some("improv-ble 2.4".into());
    ui.step(&format!(
        "Improv device {} found ({})",
        link.place,
        state.name()
    ));
    if args.ssid.is_none() {
        let caps = link
            .client
            .capabilities()
            .await
            .map_err(|e| failure(e, &link.place))?;
        if caps & CAP_WIFI_SCAN == 0 {
            return Err(Failure::usage(
                "the device cannot scan for networks: give the network with --ssid",
            ));
        }
    }
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
                link.client.disconnect().await;
                return Ok(());
            }
            Err(e @ ImprovError::Device(::improv::ErrorCode::UnableToConnect)) => Failure {
                message: format!("the device could not join {shown}"),
                ..failure(e, &link.place)
            },
            Err(e) => failure(e, &link.place),
        };
        flow::offer_retry(failure, ui, interactive, &shown, &mut passphrase).await?;
    }
}

/// `info` over Improv BLE.
pub(super) async fn info(conn: &Connection, ui: &Ui, json: bool) -> Result<String, Failure> {
    let (mut link, state) = open(conn, ui).await?;
    let info = link
        .client
        .device_info()
        .await
        .map_err(|e| failure(e, &link.place))?;
    Ok(if json {
        super::improv::info_json(&link.place, "improv-ble", state, None, &info)
    } else {
        super::improv::info_text(&link.place, "Improv BLE 2.4", state, None, &info)
    })
}

/// `scan` over Improv BLE.
pub(super) async fn scan(conn: &Connection, ui: &Ui) -> Result<Vec<AccessPoint>, Failure> {
    let (mut link, _) = open(conn, ui).await?;
    let waiting = ui.wait("Scanning for networks");
    let aps = link.networks().await;
    drop(waiting);
    aps
}
