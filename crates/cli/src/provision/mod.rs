//! `wifiprov provision`, `wifiprov scan` and `wifiprov info`: the client side, a drop-in for
//! Espressif's `esp_prov` over HTTP (SoftAP) with typed exit codes, `--json` output and
//! prompts for whatever the flags leave out.
//!
//! Output rules: progress goes to stderr (symbols and a spinner on a terminal, plain lines
//! otherwise, nothing with `--json`); stdout carries only data: the `--json` object, the
//! custom-data reply, the `scan` table, the `info` document and `--sec2_gen_cred` output.
//! Secrets (PoP, SRP password, passphrase) are never printed.

mod args;
mod flow;
mod gen_cred;
mod improv;
mod improv_ble;
mod portal;
mod prompt;
mod qr;
mod report;
mod session;
mod table;
mod ui;

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use wifiprov_client::ClientConfig;

use crate::exit::Exit;
pub use args::{InfoArgs, ProvisionArgs, ScanArgs, info_help, long_help, scan_help, short_help};
pub use report::{Failure, Outcome};
pub use ui::Ui;

/// The exit of a failed run, reported on `ui` unless the failure is a closed stdout.
fn failed(ui: &Ui, failure: &Failure) -> Exit {
    ui.fail(failure);
    failure.code
}

/// `wifiprov provision`: one device, or a fleet with `--fleet`.
pub async fn run(args: ProvisionArgs) -> anyhow::Result<Exit> {
    if let Some(csv) = args.fleet.clone() {
        return crate::fleet::run(csv, args.concurrency, args.report.clone(), &args).await;
    }
    let ui = Ui::new(args.json);
    if args.sec2_gen_cred {
        return Ok(match gen_cred::run(&args).await {
            Ok(()) => Exit::Ok,
            Err(failure) => failed(&ui, &failure),
        });
    }
    let outcome = provision(&args, &ui, prompt::interactive()).await;
    if args.json
        && let Err(failure) = ui::out(&format!("{}\n", outcome.to_json()))
    {
        return Ok(failed(&ui, &failure));
    }
    Ok(Exit::from_code(outcome.exit_code))
}

/// Provisions the device `args` names and returns the result; failures are reported on
/// `ui` as they happen. Prompts only when `interactive`.
pub async fn provision(args: &ProvisionArgs, ui: &Ui, interactive: bool) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome {
        ok: true,
        action: flow::action(args),
        device: args
            .conn
            .service_name
            .clone()
            .unwrap_or_else(|| session::DEFAULT_ADDR.into()),
        ..Outcome::default()
    };
    let run = if improv::wanted(&args.conn) {
        improv::execute(args, ui, interactive, started, &mut outcome).await
    } else if improv_ble::wanted(&args.conn) {
        improv_ble::execute(args, ui, interactive, started, &mut outcome).await
    } else if portal::wanted(&args.conn) {
        portal::execute(args, ui, interactive, started, &mut outcome).await
    } else {
        flow::execute(args, ui, interactive, started, &mut outcome).await
    };
    if let Err(failure) = run {
        ui.fail(&failure);
        outcome.failed(&failure);
    }
    outcome.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    outcome
}

/// `wifiprov scan`: the networks the device sees.
pub async fn scan(args: ScanArgs) -> anyhow::Result<Exit> {
    let ui = Ui::new(args.json);
    let result = async {
        let conn = args.connection();
        if improv::wanted(&conn) {
            return improv::scan(&conn, &ui).await;
        }
        if improv_ble::wanted(&conn) {
            return improv_ble::scan(&conn, &ui).await;
        }
        if portal::wanted(&conn) {
            return portal::scan(&conn, &ui).await;
        }
        let target = session::Target::resolve(&conn)?;
        let mut session = session::open(
            &conn,
            target,
            ClientConfig::default(),
            &ui,
            prompt::interactive(),
        )
        .await?;
        let waiting = ui.wait("Scanning for networks");
        let aps = session.device.scan().await;
        drop(waiting);
        Ok::<_, Failure>(aps?)
    }
    .await;
    let aps = match result {
        Ok(aps) => aps,
        Err(failure) => return Ok(failed(&ui, &failure)),
    };
    let written = if args.json {
        ui::out(&format!("{}\n", table::to_json(&aps)))
    } else if aps.is_empty() {
        ui.step("The device sees no networks");
        Ok(())
    } else {
        use std::io::IsTerminal;
        ui::out(&table::render(&aps, std::io::stdout().is_terminal()))
    };
    Ok(written.map_or_else(|failure| failed(&ui, &failure), |()| Exit::Ok))
}

/// `wifiprov info`: the device's version document.
pub async fn info(args: InfoArgs) -> anyhow::Result<Exit> {
    let ui = Ui::new(args.json);
    let conn = args.connection();
    if improv::wanted(&conn) || improv_ble::wanted(&conn) {
        let found = if improv::wanted(&conn) {
            improv::info(&conn, &ui, args.json).await
        } else {
            improv_ble::info(&conn, &ui, args.json).await
        };
        let written = match found {
            Ok(text) => ui::out(&text),
            Err(failure) => Err(failure),
        };
        return Ok(written.map_or_else(|failure| failed(&ui, &failure), |()| Exit::Ok));
    }
    let (addr, version) = match session::read_version(&conn).await {
        Ok(found) => found,
        Err(failure) => return Ok(failed(&ui, &failure)),
    };
    let written = if args.json {
        ui::out(&format!("{}\n", info_json(&addr, &version)))
    } else {
        ui::out(&info_text(&addr, &version))
    };
    Ok(written.map_or_else(|failure| failed(&ui, &failure), |()| Exit::Ok))
}

/// The version document for people.
fn info_text(addr: &str, version: &protocomm::PeerVersion) -> String {
    // HTTP devices are shown as URLs; console devices by what was opened.
    let shown = if addr.contains(' ') || addr.starts_with('/') {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    let mut text = format!("Device:        {shown}\n");
    let plain = if version.is_json {
        ""
    } else {
        " (plain-text reply: old firmware)"
    };
    let protocol = version.version.as_deref().unwrap_or("unknown");
    text.push_str(&format!("Protocol:      {protocol}{plain}\n"));
    let security = match version.sec_ver {
        Some(s) => s.to_string(),
        None => format!("{} (not announced; inferred)", version.security()),
    };
    text.push_str(&format!(
        "Security:      {security}, patch level {}\n",
        version.sec_patch_ver
    ));
    text.push_str(&format!(
        "Capabilities:  {}\n",
        version.capabilities.join(", ")
    ));
    if version.security() == 1 {
        let pop = if version.needs_pop() {
            "required"
        } else {
            "not used"
        };
        text.push_str(&format!("PoP:           {pop}\n"));
    }
    for app in &version.app_info {
        text.push_str(&format!(
            "App {}:  {} [{}]\n",
            table::display_ssid(app.label.as_bytes()),
            app.version,
            app.capabilities.join(", ")
        ));
    }
    text
}

/// The version document as JSON.
fn info_json(addr: &str, version: &protocomm::PeerVersion) -> String {
    #[derive(Serialize)]
    struct Prov<'a> {
        ver: Option<&'a str>,
        sec_ver: Option<u8>,
        sec_patch_ver: u32,
        cap: &'a [String],
    }
    #[derive(Serialize)]
    struct App<'a> {
        ver: &'a str,
        cap: &'a [String],
    }
    #[derive(Serialize)]
    struct Info<'a> {
        device: &'a str,
        json: bool,
        prov: Prov<'a>,
        apps: BTreeMap<&'a str, App<'a>>,
    }
    let info = Info {
        device: addr,
        json: version.is_json,
        prov: Prov {
            ver: version.version.as_deref(),
            sec_ver: version.sec_ver,
            sec_patch_ver: version.sec_patch_ver,
            cap: &version.capabilities,
        },
        apps: version
            .app_info
            .iter()
            .map(|a| {
                (
                    a.label.as_str(),
                    App {
                        ver: &a.version,
                        cap: &a.capabilities,
                    },
                )
            })
            .collect(),
    };
    serde_json::to_string(&info).unwrap_or_else(|_| "{}".into())
}
