//! `wifiprov smartconfig listen`: the device's part.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{ArgGroup, Args};
use smartconfig::ScType;
use smartconfig::api::{Outcome, Settings, SmartConfig, Status};
use smartconfig::net::AckConfig;
use smartconfig::net::capture::MonitorOptions;
use smartconfig::net::source::{OpenSource, open_udp};
use wifiprov_device::CredentialStore;

use super::{decoded_json, mac_text, parse_mac};
use crate::exit::{Exit, ExitContext};
use crate::output::outln;

/// `wifiprov smartconfig listen` flags.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("source").required(true).args(["interface", "pcap", "udp"])))]
pub struct ListenArgs {
    /// What to listen for: esptouch, airkiss, esptouch-airkiss or esptouch-v2.
    #[arg(long = "type", value_name = "TYPE", value_parser = super::parse_type, default_value = "esptouch-airkiss")]
    sc_type: ScType,
    /// Capture on this monitor-mode interface (channel hopping until a lock).
    #[arg(long = "monitor-interface", alias = "interface", value_name = "IFACE")]
    interface: Option<String>,
    /// With --monitor-interface: channels to hop through, comma-separated [default: 1-13].
    #[arg(long, value_name = "LIST", value_delimiter = ',', requires = "interface",
          value_parser = clap::value_parser!(u8).range(1..=196))]
    channels: Vec<u8>,
    /// With --monitor-interface: milliseconds on each channel [default: 100].
    #[arg(long, value_name = "MS", requires = "interface",
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    dwell_ms: Option<u64>,
    /// With --monitor-interface: do not hop; stay on the channel the interface is tuned to.
    #[arg(long, requires = "interface", conflicts_with = "channels")]
    no_hop: bool,
    /// Read frames from a pcap or pcapng capture.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Read UDP payload lengths from datagrams arriving on this address (the phone's own
    /// datagrams, for a machine on the phone's network, or tests).
    #[arg(long, value_name = "ADDR:PORT")]
    udp: Option<SocketAddr>,
    #[command(flatten)]
    key: super::ReceiverKey,
    /// Give up after this many seconds without a complete message.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// With --json: include the passphrase.
    #[arg(long = "show-passphrase", alias = "show-password", requires = "json")]
    show_password: bool,
    /// The station MAC the acknowledgement announces [default: derived from the machine id].
    #[arg(long, value_name = "MAC", value_parser = parse_mac)]
    mac: Option<[u8; 6]>,
    #[arg(long, value_name = "BACKEND", help = crate::wifi::WIFI_HELP)]
    wifi: Option<String>,
    /// wpa_supplicant control socket [default: the first in /run/wpa_supplicant].
    #[arg(long, value_name = "PATH")]
    wpa_ctrl: Option<PathBuf>,
    /// The station interface that joins the network (NetworkManager device or
    /// wpa_supplicant socket name), as everywhere; --monitor-interface is the capture's.
    #[arg(long, value_name = "IFACE")]
    wifi_interface: Option<String>,
    /// Simulator radio environment (TOML) instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    sim_env: Option<PathBuf>,
    /// Add a simulated network, "SSID:PASSPHRASE" (empty passphrase: open). Repeatable.
    #[arg(long, value_name = "SSID:PASSPHRASE")]
    sim_ap: Vec<String>,
    /// Simulated networks from a file, one SSID:PASSPHRASE a line.
    #[arg(long, value_name = "FILE")]
    sim_ap_file: Option<PathBuf>,
    /// Directory for the stored credentials [default: as `wifiprov device`].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Do not store the credentials.
    #[arg(long)]
    no_store: bool,
    /// The phone's reply port instead of the protocol's (18266, 18266+10000·mark, 10000).
    #[arg(long, value_name = "PORT")]
    ack_port: Option<u16>,
    /// Broadcast address for the acknowledgement copies [default: 255.255.255.255].
    #[arg(long, value_name = "ADDR")]
    ack_broadcast: Option<IpAddr>,
    /// AirKiss: where to wait for the phone's datagram before replying [default: 0.0.0.0:10001;
    /// with --udp the socket the message arrived on].
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "udp")]
    airkiss_listen: Option<SocketAddr>,
    /// AirKiss: reply only to a phone heard on the AirKiss port, never by broadcast (as
    /// ESP-IDF).
    #[arg(long)]
    no_airkiss_broadcast: bool,
}

/// Runs `listen`.
pub async fn run(args: ListenArgs) -> Result<Exit> {
    let wifi = crate::wifi::WifiArgs {
        wifi: args.wifi.clone(),
        wpa_ctrl: args.wpa_ctrl.clone(),
        interface: args.wifi_interface.clone(),
        sim_env: args.sim_env.clone(),
        sim_ap: args.sim_ap.clone(),
        sim_ap_file: args.sim_ap_file.clone(),
        ap_interface: None,
        ap_network: None,
    }
    .backend()
    .await?;
    let store = if args.no_store {
        None
    } else {
        let dir = args
            .state_dir
            .clone()
            .unwrap_or_else(crate::host::default_state_dir);
        Some(
            CredentialStore::open(&dir)
                .with_context(|| format!("cannot use the state directory {}", dir.display()))
                .exit(Exit::Config)?,
        )
    };
    let timeout = match args.timeout {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(_) => {
            return Err(Exit::Usage.error("--timeout must be a positive number of seconds"));
        }
        None => None,
    };

    let sc = SmartConfig::new(wifi, opener(&args)?);
    sc.set_type(args.sc_type);
    let mut ack = AckConfig::default();
    if let Some(port) = args.ack_port {
        ack.esptouch_port = port;
        ack.v2_port = Some(port);
        ack.airkiss_port = port;
    }
    if let Some(ip) = args.ack_broadcast {
        ack.broadcast = Some(ip);
    }
    if let Some(addr) = args.airkiss_listen {
        ack.airkiss_listen = addr;
    }
    ack.airkiss_broadcast_fallback = !args.no_airkiss_broadcast;
    sc.set_settings(Settings {
        aes_key: args.key.bytes()?,
        mac: args.mac.unwrap_or_else(crate::host::default_mac),
        ack,
    });
    let stored = Arc::new(std::sync::Mutex::new(None::<String>));
    if let Some(store) = store {
        let stored = stored.clone();
        sc.on_credentials(Arc::new(move |credentials| match store.save(credentials) {
            Ok(()) => {
                tracing::info!("credentials stored in {}", store.path().display());
                if let Ok(mut s) = stored.lock() {
                    *s = Some(store.path().display().to_string());
                }
            }
            Err(e) => tracing::error!("could not store the credentials: {e}"),
        }));
    }

    // A capture file that cannot be read is a file problem; a socket or an interface, the
    // system's.
    let source_exit = if args.pcap.is_some() {
        Exit::Config
    } else {
        Exit::System
    };
    sc.start().await.exit(source_exit)?;
    let finished = async {
        match timeout {
            Some(t) => tokio::time::timeout(t, sc.wait_finished()).await.ok(),
            None => Some(sc.wait_finished().await),
        }
    };
    let mut interrupted = false;
    let status = tokio::select! {
        status = finished => status,
        () = crate::host::shutdown_signal() => {
            tracing::info!("stopping on signal");
            interrupted = true;
            None
        }
    };
    let status = match status {
        Some(status) => status,
        None => {
            // A message may be half-way through joining: only give up while still listening.
            if sc.status() == Status::Listening {
                sc.stop();
                sc.status()
            } else {
                sc.wait_finished().await
            }
        }
    };
    let stored = stored.lock().ok().and_then(|s| s.clone());
    let unfinished = if interrupted {
        Exit::Interrupted
    } else {
        Exit::Timeout
    };
    report(&sc, &status, stored, &args, unfinished, source_exit)
}

fn opener(args: &ListenArgs) -> Result<OpenSource> {
    if let Some(addr) = args.udp {
        return Ok(open_udp(addr));
    }
    if let Some(path) = &args.pcap {
        return Ok(smartconfig::net::source::open_pcap(path.clone()));
    }
    if let Some(interface) = &args.interface {
        let mut options = MonitorOptions::default();
        if args.no_hop {
            options.channels.clear();
        } else if !args.channels.is_empty() {
            options.channels = args.channels.clone();
        }
        if let Some(ms) = args.dwell_ms {
            options.dwell = Duration::from_millis(ms);
        }
        return Ok(smartconfig::net::source::open_monitor(
            interface.clone(),
            options,
        ));
    }
    Err(Exit::Usage.error("choose a source: --monitor-interface, --pcap or --udp"))
}

fn report(
    sc: &SmartConfig,
    status: &Status,
    stored: Option<String>,
    args: &ListenArgs,
    unfinished: Exit,
    source_exit: Exit,
) -> Result<Exit> {
    let decoded = sc.result();
    let (code, summary, link) = match status {
        Status::Finished(Outcome::Acknowledged { link, ack }) => {
            let summary = format!(
                "joined {:?} as {}; acknowledged with {} datagrams",
                String::from_utf8_lossy(&link.ssid),
                link.ip,
                ack.sent
            );
            (Exit::Ok, summary, Some(link))
        }
        Status::Finished(Outcome::AckFailed { link, error }) => (
            Exit::Ok,
            format!(
                "joined {:?} as {}; acknowledgement failed: {error}",
                String::from_utf8_lossy(&link.ssid),
                link.ip
            ),
            Some(link),
        ),
        Status::Finished(Outcome::ConnectFailed(e)) => (
            Exit::WifiFailed,
            format!("credentials received, but joining failed: {e}"),
            None,
        ),
        Status::Finished(Outcome::SourceEnded) => (
            Exit::NothingReceived,
            "the capture ended without a complete message".into(),
            None,
        ),
        Status::Finished(Outcome::SourceFailed(e)) => {
            return Err(source_exit.error(format!("the source failed: {e}")));
        }
        Status::Idle
        | Status::Listening
        | Status::Connecting
        | Status::Acknowledging
        | Status::Stopped => (unfinished, "no complete message received".into(), None),
    };
    if args.json {
        let mut out = serde_json::json!({
            "ok": code == Exit::Ok,
            "summary": summary,
            "type": sc.type_().name(),
            "message": decoded.as_ref().map(|d| decoded_json(d, args.show_password)),
            "connected": link.is_some(),
            "ip": link.map(|l| l.ip.to_string()),
            "bssid": link.map(|l| l.bssid.to_string()),
            "stored": stored,
        });
        if let (Some(obj), Some(Status::Finished(Outcome::Acknowledged { ack, .. }))) =
            (out.as_object_mut(), Some(status))
        {
            obj.insert(
                "ack".into(),
                serde_json::json!({
                    "sent": ack.sent,
                    "failed": ack.failed,
                    "rounds": ack.rounds,
                    "targets": ack.targets.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                    "airkiss_phone": ack.airkiss_phone.map(|a| a.to_string()),
                }),
            );
        }
        outln!("{out}")?;
    }
    if code == Exit::Ok {
        tracing::info!("{summary}");
    } else {
        tracing::error!("{summary}");
    }
    if let Some(d) = &decoded
        && !args.json
    {
        tracing::info!(
            "{} message for {:?}{}",
            d.protocol().name(),
            String::from_utf8_lossy(d.ssid()),
            d.bssid
                .map(|b| format!(" (BSSID {})", mac_text(b)))
                .unwrap_or_default()
        );
    }
    Ok(code)
}
