//! `--wifi`: choosing and opening the Wi-Fi backend (simulator, wpa_supplicant, NetworkManager,
//! or detection).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use wifiprov_wifi::WifiBackend;
use wifiprov_wifi::detect::{self, BackendKind, Choice};
use wifiprov_wifi::sim::{SimBackend, SimEnvironment, SimNetwork};
use wifiprov_wifi::split::SplitRadio;

use crate::exit::{Exit, ExitContext};

/// The help text of `--wifi`.
pub(crate) const WIFI_HELP: &str = "Wi-Fi backend: sim, wpa-supplicant, networkmanager or auto \
    [default: auto on a machine with Wi-Fi hardware, else sim]";

/// The backend flags (`--wifi`, `--wpa-ctrl`, `--wifi-interface`, `--sim-env`, `--sim-ap`).
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct WifiArgs {
    #[arg(long, value_name = "BACKEND", help = WIFI_HELP)]
    pub wifi: Option<String>,
    /// wpa_supplicant control socket [default: the first in /run/wpa_supplicant].
    #[arg(long, value_name = "PATH")]
    pub wpa_ctrl: Option<PathBuf>,
    /// The station's Wi-Fi interface (NetworkManager device or wpa_supplicant socket name).
    #[arg(long = "wifi-interface", alias = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// Simulator radio environment (TOML) instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub sim_env: Option<PathBuf>,
    /// Add a simulated network, "SSID:PASSPHRASE" (empty passphrase: open). Repeatable.
    #[arg(long, value_name = "SSID:PASSPHRASE")]
    pub sim_ap: Vec<String>,
    /// Simulated networks from a file, one SSID:PASSPHRASE a line (blank lines and lines
    /// starting with # are skipped), so passphrases stay off the command line.
    #[arg(long, value_name = "FILE")]
    pub sim_ap_file: Option<PathBuf>,
    /// Run the access point on this second interface (a second radio, or a virtual AP
    /// interface of the station's radio), so that it stays up while the station scans and
    /// joins: the phone on it is told a join's outcome directly (wpa_supplicant backend: the
    /// socket IFACE beside the station's).
    #[arg(long, value_name = "IFACE")]
    pub ap_interface: Option<String>,
    /// The access point's network with the wpa_supplicant backend (set by `manage`).
    #[arg(skip)]
    pub ap_network: Option<wifiprov_wifi::wpa::ApNetwork>,
}

/// The backend to use when `--wifi` is not given: detection on a machine with Wi-Fi hardware
/// (or when a backend-specific flag was given), the simulator elsewhere.
fn default_kind(options: &WifiArgs) -> BackendKind {
    if options.wpa_ctrl.is_some() {
        BackendKind::WpaSupplicant
    } else if options.interface.is_some() || detect::has_wifi_hardware() {
        BackendKind::Auto
    } else {
        BackendKind::Sim
    }
}

impl WifiArgs {
    /// The station's interface: `--wifi-interface`, else the name of the `--wpa-ctrl` socket
    /// (wpa_supplicant names it after the interface).
    pub(crate) fn station(&self) -> Option<&str> {
        self.interface.as_deref().or_else(|| {
            self.wpa_ctrl
                .as_deref()
                .and_then(|path| path.file_name())
                .and_then(|name| name.to_str())
        })
    }

    /// Opens the backend the flags name (with `--ap-interface`, the station's and the access
    /// point's wpa_supplicant as one [`SplitRadio`]).
    pub(crate) async fn backend(&self) -> Result<Arc<dyn WifiBackend>> {
        open(self).await
    }
}

async fn open(options: &WifiArgs) -> Result<Arc<dyn WifiBackend>> {
    let kind = match options.wifi.as_deref() {
        Some(name) => BackendKind::parse(name).with_context(|| {
            format!(
                "unknown Wi-Fi backend {name:?}; available: sim, wpa-supplicant, networkmanager, auto"
            )
        })
        .exit(Exit::Usage)?,
        None => default_kind(options),
    };
    if options.ap_interface.is_some()
        && matches!(kind, BackendKind::Sim | BackendKind::NetworkManager)
    {
        return Err(Exit::Usage.error(
            "--ap-interface needs the wpa-supplicant backend (the simulator runs its access \
             point beside the station already)",
        ));
    }
    match kind {
        BackendKind::Sim => sim(options),
        BackendKind::WpaSupplicant => {
            let path = match &options.wpa_ctrl {
                Some(path) => path.clone(),
                None => wpa_default_socket(options.interface.as_deref())?,
            };
            wpa(&path, options).await
        }
        BackendKind::NetworkManager => networkmanager(options.interface.as_deref()).await,
        BackendKind::Auto => {
            if let Some(path) = &options.wpa_ctrl {
                return wpa(path, options).await;
            }
            let probe = detect::probe(options.interface.as_deref()).await;
            match detect::decide(&probe) {
                Choice::NetworkManager if options.ap_interface.is_some() => Err(Exit::Usage.error(
                    "--ap-interface needs the wpa-supplicant backend, and NetworkManager \
                         manages this machine's Wi-Fi",
                )),
                Choice::NetworkManager => {
                    tracing::info!("Wi-Fi backend: NetworkManager (detected)");
                    networkmanager(options.interface.as_deref()).await
                }
                Choice::WpaSupplicant(path) => {
                    tracing::info!(socket = %path.display(), "Wi-Fi backend: wpa_supplicant (detected)");
                    wpa(&path, options).await
                }
                Choice::Nothing(message) => Err(Exit::System.error(message)),
            }
        }
    }
}

fn sim(options: &WifiArgs) -> Result<Arc<dyn WifiBackend>> {
    let mut env = match &options.sim_env {
        Some(path) => SimEnvironment::from_file(path).exit(Exit::Config)?,
        None => SimEnvironment::builtin(),
    };
    let from_file = match &options.sim_ap_file {
        Some(path) => sim_ap_lines(path).exit(Exit::Config)?,
        None => Vec::new(),
    };
    for spec in from_file.iter().chain(&options.sim_ap) {
        env.add_or_replace(
            SimNetwork::from_spec(spec)
                .context("invalid --sim-ap (expected SSID:PASSPHRASE)")
                .exit(Exit::Usage)?,
        );
    }
    Ok(Arc::new(SimBackend::new(env)))
}

/// The `SSID:PASSPHRASE` lines of a `--sim-ap-file`.
fn sim_ap_lines(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect())
}

fn wpa_default_socket(interface: Option<&str>) -> Result<PathBuf> {
    let dirs: Vec<&Path> = detect::WPA_CTRL_DIRS.iter().map(Path::new).collect();
    match detect::wpa_sockets_in(&dirs, interface).into_iter().next() {
        Some(path) => Ok(path),
        None => Err(Exit::System.error(format!(
            "no wpa_supplicant control socket{} in {}; start wpa_supplicant with a \
             ctrl_interface or name the socket with --wpa-ctrl PATH",
            interface.map(|i| format!(" for {i}")).unwrap_or_default(),
            detect::WPA_CTRL_DIRS.join(" or ")
        ))),
    }
}

/// wpa_supplicant at `path`. A joined network is saved to wpa_supplicant's configuration (when
/// it allows that: `update_config=1`), so the device reconnects after a restart on its own.
///
/// With `--ap-interface`, the access point runs on that interface's wpa_supplicant (its socket
/// beside the station's), which also sets up the access point's network.
async fn wpa(path: &Path, args: &WifiArgs) -> Result<Arc<dyn WifiBackend>> {
    let options = wifiprov_wifi::wpa::WpaOptions {
        save_after_connect: true,
        ap_network: if args.ap_interface.is_some() {
            None
        } else {
            args.ap_network.clone()
        },
        ..Default::default()
    };
    let ap_path = args
        .ap_interface
        .as_ref()
        .map(|iface| path.with_file_name(iface));
    if ap_path.as_deref() == Some(path) {
        return Err(Exit::Usage.error(format!(
            "--ap-interface {} is the station's own interface",
            args.ap_interface.as_deref().unwrap_or_default()
        )));
    }
    let station = wifiprov_wifi::wpa::WpaBackend::connect_with(path, options).await?;
    let (Some(ap_iface), Some(ap_path)) = (&args.ap_interface, ap_path) else {
        return Ok(Arc::new(station));
    };
    let options = wifiprov_wifi::wpa::WpaOptions {
        ap_network: args.ap_network.clone(),
        ..Default::default()
    };
    let ap = wifiprov_wifi::wpa::WpaBackend::connect_with(&ap_path, options)
        .await
        .with_context(|| {
            format!(
                "the access point's interface {ap_iface} (wpa_supplicant socket {})",
                ap_path.display()
            )
        })?;
    tracing::info!(station = %path.display(), ap = %ap_path.display(), "access point on its own interface");
    Ok(Arc::new(SplitRadio::new(Arc::new(station), Arc::new(ap))))
}

async fn networkmanager(interface: Option<&str>) -> Result<Arc<dyn WifiBackend>> {
    let backend = wifiprov_wifi::nm::NmBackend::connect(interface).await?;
    Ok(Arc::new(backend))
}
