//! `wifiprov device`: the long-running provisioning agent.

mod args;
pub(crate) mod ble;
mod custom;
mod hooks;
mod qr;
mod smartconfig;

pub use args::DeviceArgs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use protocomm::{AppInfo, Sec2Credentials, Secret, Security};
use wifiprov_device::{AgentBuilder, AgentError, CredentialStore, CustomEndpoint, ManagerConfig};
use wifiprov_wifi::WifiBackend;
use wifiprov_wifi::sim::SimEnvironment;

use crate::exit::{Exit, ExitContext};
use crate::output::{out, outln};

/// Runs the agent until provisioning ends or a signal arrives.
pub async fn run(args: DeviceArgs) -> Result<Exit> {
    let args = args.merge_config_file().exit(Exit::Config)?;
    if args.sim_list {
        out!("{}", SimEnvironment::builtin_table())?;
        return Ok(Exit::Ok);
    }
    let wifi = args.wifi.backend().await?;
    let state_dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    let store = CredentialStore::open(&state_dir)
        .with_context(|| format!("cannot use the state directory {}", state_dir.display()))
        .exit(Exit::Config)?;

    if !args.force
        && let Some(stored) = store.load().exit(Exit::Config)?
    {
        return join_stored(wifi.as_ref(), stored).await;
    }

    let security = security(&args).exit(Exit::Usage)?;
    let service_name = args
        .service_name
        .clone()
        .unwrap_or_else(default_service_name);
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 80)));
    let timeout = Duration::from_secs(args.endpoint_timeout.unwrap_or(10));
    let endpoints = args
        .endpoint
        .iter()
        .map(|spec| custom::parse(spec, timeout))
        .collect::<Result<Vec<_>>>()
        .exit(Exit::Usage)?;

    let serve_http = args.transport.is_empty() || args.transport.iter().any(|t| t == "http");
    let console = args.transport.iter().any(|t| t == "console");
    let serve_ble = args.transport.iter().any(|t| t == "ble");
    if args.serial.is_some() && !console {
        return Err(Exit::Usage.error("--serial needs --transport console (or http,console)"));
    }
    let ble_settings = if serve_ble {
        Some(ble::BleSettings::new(
            args.ble_adapter.as_deref(),
            args.ble_service_uuid.as_deref(),
            args.ble_manufacturer_data.as_deref(),
            &service_name,
        )?)
    } else {
        if args.ble_adapter.is_some()
            || args.ble_service_uuid.is_some()
            || args.ble_manufacturer_data.is_some()
        {
            return Err(
                Exit::Usage.error("the --ble-* settings need --transport ble (or e.g. http,ble)")
            );
        }
        None
    };
    let ble_bus = match &ble_settings {
        Some(_) => Some(ble::connect().await?),
        None => None,
    };
    let smartconfig_route = smartconfig::Route::from_flags(
        args.smartconfig_interface.as_deref(),
        args.smartconfig_udp,
        args.smartconfig_type,
        args.smartconfig_aes_key.as_deref(),
        args.smartconfig_ack_port,
        args.smartconfig_ack_broadcast,
    )?;
    let console_on_stdio = console && args.serial.is_none();
    if console_on_stdio && (args.qr || args.events.is_some()) {
        return Err(Exit::Usage.error(
            "--qr and --events print on stdout, which the console uses; serve it on --serial",
        ));
    }
    let console_io = match &args.serial {
        Some(path) if console => Some(crate::serial::open(path, args.baud)?),
        _ => None,
    };

    let mut builder = AgentBuilder::new(security.clone(), wifi.clone(), listen);
    if !serve_http {
        builder = builder.without_http();
    }
    builder.device.limits.max_sessions = args.max_sessions.unwrap_or(4).max(1);
    builder.device.limits.idle_timeout =
        Duration::from_secs(args.session_timeout.unwrap_or(60).max(1));
    builder.device.app_info = app_info(args.app_info.as_deref()).exit(Exit::Usage)?;
    builder.manager = ManagerConfig {
        auto_stop: !args.no_auto_stop,
        max_attempts: args.reset_on_failure.unwrap_or(0),
        reset_on_failure: args.reset_on_failure.is_some(),
        connect_delay: Duration::from_millis(
            args.connect_delay
                .unwrap_or(if wifi.name() == "sim" { 0 } else { 1000 }),
        ),
        ..ManagerConfig::default()
    };
    builder.store = Some(store);
    builder.endpoints = endpoints
        .into_iter()
        .map(|ep| (ep.name().to_string(), ep as Arc<dyn CustomEndpoint>))
        .collect();

    let json = args.events.is_some();
    let hook = args.event_hook.clone();
    let mut reporter = None;
    let agent = builder
        .start_observed(|manager| {
            reporter = Some(tokio::spawn(hooks::report(manager.subscribe(), json, hook)))
        })
        .await
        .map_err(|e| match e {
            AgentError::Bind(b) => bind_error(listen, b.kind(), &b),
            other => other.into(),
        })?;
    let local = agent.addr;
    let ble = match (ble_bus, ble_settings.clone()) {
        (Some(bus), Some(settings)) => match ble::start(bus, settings, agent.service()).await {
            Ok(handle) => Some(handle),
            Err(e) => {
                agent.shutdown().await;
                return Err(e);
            }
        },
        _ => None,
    };
    let (stop_console, console_stopped) = tokio::sync::watch::channel(false);
    let console_task = console.then(|| {
        let config = wifiprov_transport::console::ConsoleConfig {
            max_line: args
                .console_max_line
                .map_or(wifiprov_transport::console::DEFAULT_MAX_LINE, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
            echo: !args.console_no_echo,
        };
        let service = agent.service();
        let mut stopped = console_stopped.clone();
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        match console_io {
            Some((reader, writer)) => tokio::spawn(wifiprov_transport::console::serve_console(
                reader, writer, service, config, shutdown,
            )),
            None => tokio::spawn(wifiprov_transport::console::serve_console(
                tokio::io::stdin(),
                tokio::io::stdout(),
                service,
                config,
                shutdown,
            )),
        }
    });

    match &security {
        Security::Sec0 => tracing::warn!("security 0: credentials travel unencrypted"),
        Security::Sec1 { pop: None } => {
            tracing::warn!(
                "security 1 without a proof of possession: anyone in range can provision this device"
            )
        }
        _ => {}
    }
    let mut places = Vec::new();
    if serve_http {
        places.push(format!("http://{local}"));
    }
    if let Some(settings) = &ble_settings {
        places.push(format!(
            "BLE on {} (service {})",
            settings.adapter_path, settings.config.service_uuid
        ));
    }
    if let Some(interface) = &args.smartconfig_interface {
        places.push(format!("SmartConfig on {interface}"));
    }
    if let Some(addr) = &args.smartconfig_udp {
        places.push(format!("SmartConfig on udp {addr}"));
    }
    if console {
        places.push(match &args.serial {
            Some(path) => format!("the console on {}", path.display()),
            None => "the console on stdin/stdout".to_string(),
        });
    }
    tracing::info!(
        "serving provisioning as {service_name:?} on {} (security {}, {} backend)",
        places.join(" and "),
        security.version(),
        wifi.name()
    );
    if args.qr {
        // Phone apps reach an unprovisioned device over BLE when it offers it.
        let transport = if serve_ble { "ble" } else { "softap" };
        print_qr(&args, &service_name, &security, transport)?;
    }
    let _mdns = if serve_http {
        advertise(&args, &service_name, local)
    } else {
        None
    };

    let manager = agent.manager.clone();
    let smartconfig = smartconfig_route.map(|route| route.spawn(wifi.clone(), manager.clone()));
    let console_ended = async {
        match console_task {
            // Without HTTP or BLE nothing can reach the agent once its console has ended.
            Some(task) if !serve_http && !serve_ble => match task.await {
                Ok(Ok(())) => tracing::info!("the console ended"),
                Ok(Err(e)) => tracing::error!("the console failed: {e}"),
                Err(e) => tracing::error!("the console task failed: {e}"),
            },
            _ => std::future::pending().await,
        }
    };
    tokio::select! {
        () = manager.wait_stopped() => {}
        () = shutdown_signal() => {
            tracing::info!("stopping on signal");
        }
        () = console_ended => {}
    }
    let _ = stop_console.send(true);
    if let Some(smartconfig) = smartconfig {
        smartconfig.finish().await;
    }
    if let Some(ble) = ble {
        ble.stop().await;
    }
    agent.shutdown().await;
    drop(manager);
    // Let the reporter print the last events.
    if let Some(reporter) = reporter {
        let _ = tokio::time::timeout(Duration::from_secs(2), reporter).await;
    }
    Ok(Exit::Ok)
}
fn security(args: &DeviceArgs) -> Result<Security> {
    security_from(
        args.security,
        args.pop.as_deref(),
        args.username.as_deref(),
        args.password.as_deref(),
        args.salt.as_deref(),
        args.verifier.as_deref(),
        args.sec_patch_ver,
    )
}

/// The device-side security scheme from the `--security`, `--pop`, `--username`,
/// `--password`, `--salt`, `--verifier` and `--sec-patch-ver` flags.
pub(crate) fn security_from(
    security: Option<u8>,
    pop: Option<&str>,
    username: Option<&str>,
    password: Option<&str>,
    salt: Option<&str>,
    verifier: Option<&str>,
    sec_patch_ver: Option<u32>,
) -> Result<Security> {
    Ok(match security.unwrap_or(2) {
        0 => Security::Sec0,
        1 => Security::Sec1 {
            pop: pop.map(Secret::from),
        },
        _ => {
            let patch = sec_patch_ver.unwrap_or(1);
            let credentials = match (username, password, salt, verifier) {
                (_, _, Some(salt), Some(verifier)) => Sec2Credentials::new(
                    hex::decode(salt).context("--salt is not hex")?,
                    hex::decode(verifier).context("--verifier is not hex")?,
                )?,
                (Some(user), Some(password), None, None) => Sec2Credentials::generate(
                    user.as_bytes(),
                    &Secret::from(password),
                    &mut protocomm::rand_core::UnwrapErr(getrandom::SysRng),
                )?,
                _ => bail!(
                    "security 2 needs --username and --password, or --salt and --verifier \
                     (or choose --security 1 --pop …)"
                ),
            };
            Security::Sec2 { credentials, patch }
        }
    })
}

fn app_info(json: Option<&str>) -> Result<Vec<AppInfo>> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let value: serde_json::Value = serde_json::from_str(json).context("--app-info is not JSON")?;
    if !value.is_object() || value.get("prov").is_some() {
        bail!(
            "--app-info must be an object of entries like {{\"my_app\":{{\"ver\":\"1.0\",\"cap\":[\"x\"]}}}} (\"prov\" is reserved)"
        );
    }
    // The same reading a client applies to a device's proto-ver document.
    Ok(protocomm::PeerVersion::parse(json.as_bytes()).app_info)
}

async fn join_stored(wifi: &dyn WifiBackend, stored: wifiprov_wifi::Credentials) -> Result<Exit> {
    tracing::info!(
        "already provisioned for {:?}; joining it (use --force to serve provisioning anyway)",
        stored.ssid_lossy()
    );
    match wifi.connect(stored, None).await {
        Ok(link) => {
            tracing::info!(
                "connected to {:?}, address {}",
                String::from_utf8_lossy(&link.ssid),
                link.ip
            );
            Ok(Exit::Ok)
        }
        Err(e) => {
            tracing::error!(
                "cannot join the stored network: {e}; run with --force to provision again"
            );
            Ok(Exit::WifiFailed)
        }
    }
}

fn bind_error(
    addr: SocketAddr,
    kind: std::io::ErrorKind,
    e: &dyn std::fmt::Display,
) -> anyhow::Error {
    let hint = match kind {
        std::io::ErrorKind::PermissionDenied => format!(
            "ports below 1024 need root or CAP_NET_BIND_SERVICE; try --listen {}:8080",
            addr.ip()
        ),
        std::io::ErrorKind::AddrInUse => {
            "another program uses this port; pick another with --listen".to_string()
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "this machine has no such address; try --listen 0.0.0.0:8080".to_string()
        }
        _ => "check --listen".to_string(),
    };
    Exit::System.error(format!("cannot listen on {addr}: {e} ({hint})"))
}

fn print_qr(args: &DeviceArgs, name: &str, security: &Security, transport: &str) -> Result<()> {
    let (username, pop) = match security {
        Security::Sec0 => (None, None),
        Security::Sec1 { pop } => (None, pop.as_ref().and(args.pop.as_deref())),
        Security::Sec2 { .. } => (args.username.as_deref(), args.password.as_deref()),
    };
    let payload = qr::payload(name, username, pop, transport);
    let app = if transport == "ble" { "BLE" } else { "SoftAP" };
    outln!(
        "Scan this with the ESP {app} Prov app, or pass it to `wifiprov provision --qr-payload`:"
    )?;
    outln!("{payload}")?;
    outln!("{}", qr::render(&payload)?)?;
    Ok(())
}

fn advertise(
    args: &DeviceArgs,
    name: &str,
    local: SocketAddr,
) -> Option<wifiprov_transport::mdns::MdnsHandle> {
    let enabled = match args.mdns.as_deref() {
        Some("on") => true,
        Some(_) => false,
        None => !local.ip().is_loopback(),
    };
    if !enabled {
        return None;
    }
    match wifiprov_transport::mdns::advertise(name, local.port(), &[], &[]) {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::warn!("mDNS advertisement failed: {e}");
            None
        }
    }
}

pub(crate) fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("wifiprov");
    }
    let is_root = std::env::var("USER").is_ok_and(|u| u == "root")
        || std::env::var_os("HOME").is_some_and(|h| h == "/root");
    if is_root {
        return PathBuf::from("/var/lib/wifiprov");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/wifiprov"),
        None => PathBuf::from("/var/lib/wifiprov"),
    }
}

/// `PROV_` and six hex digits derived from the machine id (stable across restarts).
pub(crate) fn default_service_name() -> String {
    let id = std::fs::read_to_string("/etc/machine-id")
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/random/boot_id"))
        .unwrap_or_default();
    let mut hash: u32 = 0x811c_9dc5;
    for b in id.trim().bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("PROV_{:06X}", hash & 0x00ff_ffff)
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
