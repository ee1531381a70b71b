//! `wifiprov manage`, `wifiprov status`, `wifiprov networks`: the Wi-Fi manager and its
//! control commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};
use protocomm::Security;
use serde_json::Value;
use wifi_manager::control::{self, Request};
use wifi_manager::daemon::{DaemonConfig, Fallback, run as run_daemon};
use wifi_manager::policy::Outcome;
use wifiprov_agent::{HttpRoute, Route};

use crate::exit::{Exit, ExitContext};
use crate::output::outln;

/// `wifiprov manage` flags (the exit codes are in `main`'s help of the subcommand).
#[derive(Args, Debug)]
pub struct ManageArgs {
    /// Try the known networks once, report, and exit (instead of running as a daemon).
    #[arg(long)]
    pub once: bool,
    /// The networks file (micropython-wifimanager schema 2) [default: /etc/wifiprov/networks.json
    /// as root, else ~/.config/wifiprov/networks.json].
    #[arg(long, value_name = "FILE")]
    pub networks: Option<PathBuf>,
    #[command(flatten)]
    pub wifi: crate::wifi::WifiArgs,
    /// Seconds between link checks while connected.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub interval: u64,
    /// Control socket of the daemon [default: see `wifiprov status --help`].
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Where the fallback access point serves provisioning (HTTP).
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:80")]
    pub listen: SocketAddr,
    /// Security of the fallback provisioning service: 0, 1 or 2 [default: 1 with --pop, else 2].
    #[arg(long, value_name = "0|1|2", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub security: Option<u8>,
    /// Proof of possession for security 1.
    #[arg(long, env = "WIFIPROV_POP", hide_env_values = true)]
    pub pop: Option<String>,
    /// SRP username for security 2.
    #[arg(long)]
    pub username: Option<String>,
    /// SRP password for security 2.
    #[arg(long, env = "WIFIPROV_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Command run while a network (or the access point) with `enables_webrepl` is active.
    #[arg(long, value_name = "COMMAND")]
    pub remote_console: Option<String>,
    /// Directory for the provisioning service's transient state.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Also serve the fallback provisioning over BLE (through BlueZ) while the access point is up.
    #[arg(long)]
    pub ble: bool,
    /// BLE adapter (with --ble) [default: hci0].
    #[arg(long, value_name = "NAME|PATH", requires = "ble")]
    pub ble_adapter: Option<String>,
    /// BLE service UUID (with --ble) [default: ESP-IDF's 1775244d-6b43-439b-877c-060f2d9bed07].
    #[arg(long, value_name = "UUID", requires = "ble")]
    pub ble_service_uuid: Option<String>,
    /// The advertised BLE name (with --ble) [default: PROV_ + 6 hex digits of the machine id].
    #[arg(long, value_name = "NAME", requires = "ble")]
    pub service_name: Option<String>,
    /// SmartConfig as a fallback route too (while the access point is up); without --pop or
    /// --username/--password it is the only one.
    #[command(flatten)]
    pub smartconfig: crate::route_flags::SmartConfigArgs,
}

/// `wifiprov status` flags.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Control socket [default: /run/wifiprov/manager.sock as root, else
    /// $XDG_RUNTIME_DIR/wifiprov/manager.sock or /tmp/wifiprov-$USER/manager.sock].
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Print the raw JSON answer.
    #[arg(long)]
    pub json: bool,
}

/// `wifiprov networks` subcommands.
#[derive(Args, Debug)]
pub struct NetworksArgs {
    /// Control socket (as for `wifiprov status`).
    #[arg(long, value_name = "PATH", global = true)]
    pub control: Option<PathBuf>,
    #[command(subcommand)]
    pub command: NetworksCommand,
}

/// What to do with the known networks.
#[derive(Subcommand, Debug)]
pub enum NetworksCommand {
    /// List the known networks, most preferred first.
    List,
    /// Add a network at the top (or move it there and update its password).
    Add {
        /// The SSID.
        ssid: String,
        /// The passphrase ('' or absent for an open network).
        #[arg(
            long,
            env = "WIFIPROV_PASSPHRASE",
            hide_env_values = true,
            default_value = ""
        )]
        password: String,
    },
    /// Remove a network.
    Remove {
        /// The SSID.
        ssid: String,
    },
    /// Put the networks in this order (all of them, most preferred first).
    Reorder {
        /// The SSIDs.
        ssids: Vec<String>,
    },
    /// Scan again now.
    Rescan,
}

fn is_root() -> bool {
    std::env::var("USER").is_ok_and(|u| u == "root")
        || std::env::var_os("HOME").is_some_and(|h| h == "/root")
}

fn default_networks() -> PathBuf {
    if is_root() {
        return PathBuf::from("/etc/wifiprov/networks.json");
    }
    match std::env::var_os("XDG_CONFIG_HOME").or_else(|| {
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".config").into_os_string())
    }) {
        Some(dir) => PathBuf::from(dir).join("wifiprov/networks.json"),
        None => PathBuf::from("/etc/wifiprov/networks.json"),
    }
}

fn default_control() -> PathBuf {
    if is_root() {
        return PathBuf::from("/run/wifiprov/manager.sock");
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(dir).join("wifiprov/manager.sock");
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    PathBuf::from(format!("/tmp/wifiprov-{user}/manager.sock"))
}

/// Runs the manager.
pub async fn manage(args: ManageArgs) -> Result<Exit> {
    let wifi = args.wifi.backend().await?;
    let networks = args.networks.clone().unwrap_or_else(default_networks);
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("wifiprov-manage-{}", std::process::id()))
    });
    let config = DaemonConfig {
        networks,
        interval: Duration::from_secs(args.interval.max(1)),
        once: args.once,
        control: (!args.once).then(|| args.control.clone().unwrap_or_else(default_control)),
        provisioning: fallback(&args).exit(Exit::Usage)?,
        remote_console: args.remote_console.clone(),
        state_dir,
    };
    // The daemon first waits on this future once its control socket is bound and its first
    // actions are under way: the moment systemd hears it is ready.
    let stop = crate::host::shutdown_signal();
    let shutdown = async {
        crate::service::ready("managing Wi-Fi");
        crate::service::stop_on(stop).await;
    };
    let outcome = run_daemon(config, wifi, shutdown).await?;
    match outcome {
        Some(Outcome::Connected { ssid, ip }) => {
            outln!(
                "connected to {:?}, address {ip}",
                String::from_utf8_lossy(&ssid)
            )?;
            Ok(Exit::Ok)
        }
        Some(Outcome::Failed { failures }) => {
            if failures.is_empty() {
                outln!("no known network to join")?;
            }
            for failure in failures {
                outln!(
                    "{:?}: {}",
                    String::from_utf8_lossy(&failure.ssid),
                    failure.reason
                )?;
            }
            Ok(Exit::WifiFailed)
        }
        None => Ok(Exit::Ok),
    }
}

/// The fallback provisioning service the flags ask for: HTTP (and BLE) when protocomm
/// credentials are given, SmartConfig when its source is.
fn fallback(args: &ManageArgs) -> Result<Option<Fallback>> {
    let scheme = args
        .security
        .or(if args.pop.is_some() { Some(1) } else { None });
    let protocomm = !matches!(
        (scheme, &args.username, &args.password),
        (Some(2) | None, None, None)
    );
    let mut routes: Vec<Arc<dyn Route>> = Vec::new();
    let security = if protocomm {
        routes.push(Arc::new(HttpRoute::new(args.listen)));
        if args.ble {
            let name = args
                .service_name
                .clone()
                .unwrap_or_else(crate::host::default_service_name);
            let route = crate::device::ble::route(
                args.ble_adapter.as_deref(),
                args.ble_service_uuid.as_deref(),
                None,
                &name,
            )?;
            routes.push(Arc::new(route));
        }
        crate::device::security_from(
            scheme,
            args.pop.as_deref(),
            args.username.as_deref(),
            args.password.as_deref(),
            None,
            None,
            None,
        )?
    } else {
        // Nothing reaches the protocomm service then; the scheme does not matter.
        Security::Sec0
    };
    if let Some(route) = args.smartconfig.route()? {
        routes.push(Arc::new(route));
    }
    if routes.is_empty() {
        tracing::info!(
            "fallback provisioning is off: give --pop (security 1) or --username/--password \
             (security 2), or a SmartConfig source"
        );
        return Ok(None);
    }
    if !protocomm {
        tracing::info!(
            "fallback provisioning by SmartConfig only (give --pop or --username/--password to \
             serve ESP-IDF provisioning too)"
        );
    }
    Ok(Some(Fallback { security, routes }))
}

async fn ask(control: Option<PathBuf>, request: Request) -> Result<Value> {
    let path = control.unwrap_or_else(default_control);
    let answer = control::request(&path, &request).await?;
    if answer.get("ok") != Some(&Value::Bool(true)) {
        return Err(Exit::Refused.error(
            answer
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the manager refused the request")
                .to_owned(),
        ));
    }
    Ok(answer)
}

/// `wifiprov status`.
pub async fn status(args: StatusArgs) -> Result<Exit> {
    let answer = ask(args.control, Request::Status).await?;
    if args.json {
        outln!("{answer}")?;
        return Ok(Exit::Ok);
    }
    let field = |k: &str| {
        answer
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string()
    };
    outln!("state:    {}", field("state"))?;
    outln!("network:  {}", field("network"))?;
    outln!("address:  {}", field("ip"))?;
    outln!(
        "AP:       {}",
        if answer.get("ap_up") == Some(&Value::Bool(true)) {
            "up"
        } else {
            "down"
        }
    )?;
    if let Some(failures) = answer
        .get("failures")
        .and_then(Value::as_object)
        .filter(|f| !f.is_empty())
    {
        outln!("last failures:")?;
        for (ssid, reason) in failures {
            outln!("  {ssid}: {}", reason.as_str().unwrap_or("?"))?;
        }
    }
    Ok(Exit::Ok)
}

/// `wifiprov networks …`.
pub async fn networks(args: NetworksArgs) -> Result<Exit> {
    let request = match args.command {
        NetworksCommand::List => Request::ListNetworks,
        NetworksCommand::Add { ssid, password } => Request::AddNetwork {
            ssid,
            password,
            enables_webrepl: false,
        },
        NetworksCommand::Remove { ssid } => Request::RemoveNetwork { ssid },
        NetworksCommand::Reorder { ssids } => Request::ReorderNetworks { ssids },
        NetworksCommand::Rescan => Request::Rescan,
    };
    let listing = matches!(request, Request::ListNetworks);
    let answer = ask(args.control, request).await?;
    if listing {
        for (i, net) in answer
            .get("networks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let ssid = net.get("ssid").and_then(Value::as_str).unwrap_or("?");
            let open = net.get("open") == Some(&Value::Bool(true));
            outln!("{:>2}. {ssid}{}", i + 1, if open { "  (open)" } else { "" })?;
        }
    }
    Ok(Exit::Ok)
}
