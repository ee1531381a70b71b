//! `wifiprov smartconfig send`: the phone's part.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use smartconfig::net::{SendError, SendProgress, Sender, SenderConfig};

use super::{MessageArgs, mac_text};
use crate::exit::Exit;
use crate::output::outln;

/// `wifiprov smartconfig send` flags.
#[derive(Args, Debug)]
pub struct SendArgs {
    #[command(flatten)]
    message: MessageArgs,
    /// Where the length code goes [default: esptouch 255.255.255.255:7001, esptouch-v2 the
    /// subnet broadcast address:7001, airkiss 255.255.255.255:10001].
    #[arg(long, value_name = "ADDR:PORT")]
    target: Option<SocketAddr>,
    /// Seconds to wait for a reply [default: esptouch 60, esptouch-v2 92, airkiss 60].
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Where to listen for replies [default: 0.0.0.0:18266, esptouch-v2 the first free of
    /// 18266/28266/38266/48266, airkiss 0.0.0.0:10000].
    #[arg(long, value_name = "ADDR:PORT")]
    ack_listen: Option<SocketAddr>,
    /// ESPTouch v1: the phone address announced [default: the local address reaching the
    /// target].
    #[arg(long, value_name = "IPV4")]
    phone_ip: Option<Ipv4Addr>,
    /// Wait for this many devices (told apart by MAC).
    #[arg(long, value_name = "N", default_value_t = 1)]
    devices: usize,
    /// Microseconds between datagrams instead of the protocol's pacing.
    #[arg(long, value_name = "MICROSECONDS")]
    gap_us: Option<u64>,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `send`.
pub async fn run(args: SendArgs) -> Result<Exit> {
    let request = args.message.request()?;
    let timeout = match args.timeout {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(_) => {
            return Err(Exit::Usage.error("--timeout must be a positive number of seconds"));
        }
        None => None,
    };
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let config = SenderConfig {
        target: args.target,
        ack_listen: args.ack_listen,
        phone_ip: args.phone_ip,
        timeout,
        gap: args.gap_us.map(Duration::from_micros),
        devices: args.devices,
        progress: Some(progress_tx),
        ..SenderConfig::default()
    };
    let sender = Sender::bind(&request, config).await?;
    let ack = sender.ack_addr()?;
    tracing::info!(
        "sending {} for {:?} to {} ({} datagrams per cycle); replies on {ack}",
        request.protocol.name(),
        args.message.ssid,
        sender.target(),
        sender.schedule().len()
    );
    let reporter = tokio::spawn(async move {
        let mut last_cycles = 0;
        while let Some(event) = progress_rx.recv().await {
            match event {
                SendProgress::Sending {
                    datagrams, cycles, ..
                } if cycles != last_cycles => {
                    last_cycles = cycles;
                    tracing::info!("{datagrams} datagrams sent ({cycles} cycles)");
                }
                SendProgress::Sending { datagrams, .. } => {
                    tracing::debug!("{datagrams} datagrams sent");
                }
                SendProgress::Listening { datagrams } => {
                    tracing::info!("stopped sending after {datagrams} datagrams; still listening");
                }
                SendProgress::Device(_) => {}
            }
        }
    });
    let protocol = request.protocol;
    let result = sender.run().await;
    reporter.abort();
    match result {
        Ok(devices) => {
            if args.json {
                let list: Vec<_> = devices
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "ip": d.ip.to_string(),
                            "mac": d.mac.map(mac_text),
                            "from": d.from.to_string(),
                        })
                    })
                    .collect();
                let out = serde_json::json!({
                    "ok": true,
                    "protocol": protocol.name(),
                    "devices": list,
                });
                outln!("{out}")?;
            } else {
                for d in &devices {
                    let mac = d
                        .mac
                        .map_or_else(|| "(no MAC in the reply)".into(), mac_text);
                    outln!("{mac} {}", d.ip)?;
                }
            }
            Ok(Exit::Ok)
        }
        Err(e @ SendError::Timeout { .. }) => {
            if args.json {
                let out = serde_json::json!({
                    "ok": false,
                    "protocol": protocol.name(),
                    "error": e.to_string(),
                    "devices": [],
                });
                outln!("{out}")?;
            }
            tracing::error!("{e}");
            tracing::info!("hint: {}", no_reply_hint(protocol, ack));
            Ok(Exit::Timeout)
        }
        Err(e) => Err(e.into()),
    }
}

/// What to check when no device replied: the listener's type and where its reply goes.
fn no_reply_hint(protocol: smartconfig::Protocol, ack: std::net::SocketAddr) -> String {
    let listener = match protocol {
        smartconfig::Protocol::EspTouchV2 => "--type esptouch-v2".to_string(),
        other => format!(
            "--type esptouch-airkiss (the default) or --type {}",
            other.name()
        ),
    };
    format!(
        "a wifiprov listener must run with {listener}; its acknowledgement must reach {ack} \
         (on loopback: listen --ack-port {} --ack-broadcast {}); and the passphrase must be \
         the network's (a device that cannot join never replies)",
        ack.port(),
        ack.ip()
    )
}
