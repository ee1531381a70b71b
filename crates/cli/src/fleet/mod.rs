//! Fleet mode: `wifiprov provision --fleet devices.csv`, many devices in parallel.
//!
//! The CSV names one device per row (see [`rows`] for the columns); empty cells take the
//! value of the matching `provision` flag, so a file of bare service names plus `--ssid` and
//! `--passphrase` is enough. Up to `--concurrency` devices are provisioned at once, each
//! independently: a device that fails never stops the others. A line per finished device
//! and a closing summary go to stderr, the optional `--report` gets the JSON report (see
//! [`report::Report`]), and the exit status follows [`report::exit_code`].
//!
//! Secrets (PoP, SRP password, passphrase) are held as [`protocomm::Secret`] and appear in
//! no output.

pub mod report;
pub mod rows;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::task::JoinSet;
use wifiprov_client::{ClientConfig, Credentials, HttpTransport, Provisioner};

use crate::exit::Exit;
use crate::output::outln;
use report::{DeviceReport, Failure, Report};
use rows::{Defaults, Row};

/// The long help of `--fleet`.
pub const FLEET_HELP: &str = "\
Provision every device listed in this CSV file, several at a time (--concurrency). Columns: \
service_name, transport, sec_ver, pop, sec2_username, sec2_pwd, ssid, passphrase; empty cells \
take the values of the corresponding flags. --report FILE writes a JSON report. The exit \
status in fleet mode is explained at the end of --help.";

/// Timeout of one request to a device (shorter when `--timeout` is).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest service name column in the progress lines (longer names are not cut).
const MAX_NAME_WIDTH: usize = 32;

/// Everything a device task needs besides its row.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Values for empty cells.
    pub defaults: Defaults,
    /// The protocol version every device must announce (`--proto_ver`), if any.
    pub proto_ver: Option<String>,
    /// Timeout of every request to a device.
    pub request_timeout: Duration,
    /// How long a device may take to report the outcome of joining.
    pub outcome_timeout: Duration,
    /// Also print the JSON report on stdout.
    pub json: bool,
}

/// Runs fleet mode with the `provision` flags as defaults.
pub async fn run(
    csv: PathBuf,
    concurrency: usize,
    report: Option<PathBuf>,
    defaults: &crate::provision::ProvisionArgs,
) -> Result<Exit> {
    if let Some(flag) = conflicting_flag(defaults) {
        return Ok(refuse(
            Exit::Usage,
            format_args!("{flag} cannot be combined with --fleet"),
        ));
    }
    run_with(
        &csv,
        concurrency,
        report.as_deref(),
        settings_from(defaults),
    )
    .await
}

/// A `provision` flag that makes no sense for a whole fleet, if one is set.
fn conflicting_flag(args: &crate::provision::ProvisionArgs) -> Option<&'static str> {
    [
        (
            args.conn.service_name.is_some(),
            "--service_name (the CSV names the devices)",
        ),
        (args.conn.qr_payload.is_some(), "--qr-payload"),
        (args.custom_data.is_some(), "--custom-data"),
        (args.reset, "--reset"),
        (args.reprov, "--reprov"),
        (args.sec2_gen_cred, "--sec2_gen_cred"),
    ]
    .into_iter()
    .find_map(|(set, flag)| set.then_some(flag))
}

/// The settings taken from the `provision` flags.
fn settings_from(args: &crate::provision::ProvisionArgs) -> Settings {
    Settings {
        defaults: Defaults {
            transport: args.conn.transport.map(|kind| kind.name().to_owned()),
            sec_ver: args.conn.sec_ver,
            pop: args.conn.pop.as_deref().map(protocomm::Secret::from),
            sec2_username: args.conn.sec2_username.clone(),
            sec2_pwd: args.conn.sec2_pwd.as_deref().map(protocomm::Secret::from),
            ssid: args.ssid.clone(),
            passphrase: args.passphrase.as_deref().map(protocomm::Secret::from),
        },
        proto_ver: args.conn.proto_ver.clone(),
        request_timeout: REQUEST_TIMEOUT.min(args.timeout),
        outcome_timeout: args.timeout,
        json: args.json,
    }
}

/// Prints `problem`, found before any device was contacted, and returns `exit`.
fn refuse(exit: Exit, problem: impl std::fmt::Display) -> Exit {
    for line in problem.to_string().lines() {
        eprintln!("error: {line}");
    }
    eprintln!("error: no device was contacted");
    exit
}

/// Runs fleet mode with explicit settings.
pub async fn run_with(
    csv: &Path,
    concurrency: usize,
    report_path: Option<&Path>,
    settings: Settings,
) -> Result<Exit> {
    if concurrency == 0 {
        return Ok(refuse(Exit::Usage, "--concurrency must be at least 1"));
    }
    let rows = match rows::read(csv, &settings.defaults) {
        Ok(rows) => rows,
        Err(e) => return Ok(refuse(Exit::Config, e)),
    };
    // Open the report first, so that a bad path is known before any device changes.
    let report_file = match report_path {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some((path, file)),
            Err(e) => {
                return Ok(refuse(
                    Exit::Config,
                    format_args!("cannot create the report {}: {e}", path.display()),
                ));
            }
        },
        None => None,
    };

    let total = rows.len();
    let parallel = concurrency.min(total);
    eprintln!(
        "fleet: provisioning {total} device{} from {}, {parallel} at a time",
        if total == 1 { "" } else { "s" },
        csv.display()
    );
    let name_width = rows
        .iter()
        .map(|row| row.service_name.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_NAME_WIDTH);

    let started = Instant::now();
    let settings = Arc::new(settings);
    let mut pending = rows.into_iter();
    let mut running = JoinSet::new();
    // Which row each task works on, to report a task that ended abnormally.
    let mut owners: HashMap<tokio::task::Id, (u64, String, String, String)> = HashMap::new();
    let mut finished: Vec<DeviceReport> = Vec::with_capacity(total);

    let spawn_next = |running: &mut JoinSet<DeviceReport>,
                      owners: &mut HashMap<_, _>,
                      pending: &mut std::vec::IntoIter<Row>| {
        if let Some(row) = pending.next() {
            let owner = (
                row.line,
                row.service_name.clone(),
                row.transport.clone(),
                row.ssid.clone(),
            );
            let handle = running.spawn(provision_device(row, Arc::clone(&settings)));
            owners.insert(handle.id(), owner);
        }
    };
    for _ in 0..parallel {
        spawn_next(&mut running, &mut owners, &mut pending);
    }
    while let Some(joined) = running.join_next_with_id().await {
        let device = match joined {
            Ok((id, device)) => {
                owners.remove(&id);
                device
            }
            Err(e) => {
                let (line, service_name, transport, ssid) =
                    owners.remove(&e.id()).unwrap_or_default();
                let failure = Failure::internal(format_args!("the device task ended: {e}"));
                DeviceReport {
                    line,
                    service_name,
                    transport,
                    ok: false,
                    exit_code: failure.exit_code,
                    ip: None,
                    ssid,
                    sec_ver: None,
                    elapsed_ms: 0,
                    error: Some(failure.message),
                    reason: Some(failure.reason),
                }
            }
        };
        finished.push(device);
        if let Some(device) = finished.last() {
            eprintln!(
                "{}",
                report::progress_line(finished.len(), total, name_width, device)
            );
        }
        spawn_next(&mut running, &mut owners, &mut pending);
    }

    let report = Report::new(finished, started.elapsed());
    eprintln!("{}", report.summary());
    let mut exit = Exit::from_code(report.exit_code);
    let text = serde_json::to_string_pretty(&report)?;
    if let Some((path, mut file)) = report_file {
        use std::io::Write as _;
        match file
            .write_all(text.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
        {
            Ok(()) => eprintln!("  report written to {}", path.display()),
            Err(e) => {
                eprintln!("error: cannot write the report {}: {e}", path.display());
                if exit == Exit::Ok {
                    exit = Exit::Config;
                }
            }
        }
    }
    if settings.json {
        outln!("{text}")?;
    }
    Ok(exit)
}

/// Provisions one device and reports how it went.
async fn provision_device(row: Row, settings: Arc<Settings>) -> DeviceReport {
    let started = Instant::now();
    let mut sec_ver = None;
    let result = attempt(&row, &settings, &mut sec_ver).await;
    let elapsed_ms = report::millis(started.elapsed());
    let (ok, exit_code, ip, error, reason) = match result {
        Ok(ip) => (true, 0, Some(ip), None, None),
        Err(failure) => {
            tracing::debug!(line = row.line, reason = failure.reason, "device failed");
            (
                false,
                failure.exit_code,
                None,
                Some(failure.message),
                Some(failure.reason),
            )
        }
    };
    DeviceReport {
        line: row.line,
        service_name: row.service_name,
        transport: row.transport,
        ok,
        exit_code,
        ip,
        ssid: row.ssid,
        sec_ver,
        elapsed_ms,
        error,
        reason,
    }
}

/// version → handshake → credentials → outcome, for one row. Returns the device's address.
async fn attempt(
    row: &Row,
    settings: &Settings,
    sec_ver: &mut Option<u8>,
) -> Result<String, Failure> {
    if !row.uses_http() {
        return Err(Failure::unsupported_transport(&row.transport));
    }
    let client = |e: wifiprov_client::Error| Failure::from_client(&e);
    let transport = HttpTransport::new(&row.service_name, settings.request_timeout);
    let config = ClientConfig {
        outcome_timeout: settings.outcome_timeout,
        ..ClientConfig::default()
    };
    let mut device = Provisioner::with_config(transport, config);
    if let Some(wanted) = &settings.proto_ver {
        let version = device.version().await.map_err(client)?;
        let announced = version.version.as_deref().unwrap_or("unknown");
        if !announced.eq_ignore_ascii_case(wanted.trim()) {
            return Err(Failure::proto_ver_mismatch(announced, wanted));
        }
    }
    let credentials = Credentials {
        pop: row.pop.clone(),
        username: row.sec2_username.clone(),
        password: row.sec2_pwd.clone(),
    };
    let security = device
        .negotiate(row.sec_ver, &credentials)
        .await
        .map_err(client)?;
    *sec_ver = Some(security.version());
    device.establish(security).await.map_err(client)?;
    let joined = device
        .provision(row.ssid.as_bytes(), row.passphrase.expose())
        .await
        .map_err(client)?;
    Ok(joined.ip)
}
