//! `wifiprov demo`: a simulated device and the client, end to end, in one process.
//!
//! No arguments, no hardware, no setup: an agent with security 2 (fresh credentials) serves on
//! a free loopback port over the Wi-Fi simulator; the client discovers it over mDNS, opens a
//! session, scans, sends credentials and follows the device until it has joined the network.
//! Every step and every device event is narrated.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use protocomm::{Sec2Credentials, Secret, Security};
use wifiprov_agent::{AgentBuilder, HttpRoute};
use wifiprov_client::{ClientConfig, Credentials, HttpTransport, Provisioner, WifiStatus};
use wifiprov_device::{ManagerConfig, ProvEvent, ssid_text};
use wifiprov_transport::mdns::Advertisement;
use wifiprov_wifi::ScanParams;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

use crate::exit::Exit;
use crate::output::outln;

/// The network the demo provisions (from the simulator's built-in environment).
const DEMO_SSID: &str = "HomeNet";
const DEMO_PASSPHRASE: &str = "correct-horse";
const DEMO_SERVICE: &str = "PROV_DEMO01";
/// Dwell time per channel of the demo's scan (esp_prov asks for 120 ms, in groups of 5
/// channels, which the simulator plays as 1.8 s).
const DEMO_SCAN_DWELL_MS: u32 = 10;
/// How long the simulated access point of the demo network takes to let the device join
/// (the simulator's default is 500 ms).
const DEMO_JOIN_MS: u64 = 150;
/// How long the device's narration may take to end once the device is torn down; it ends by
/// itself at the teardown event, so this bound is never reached in a sound run.
const NARRATION_END_BOUND: Duration = Duration::from_secs(1);

/// `wifiprov demo` takes no arguments.
#[derive(Args, Debug)]
pub struct DemoArgs {}

fn step(text: &str) {
    eprintln!("==> {text}");
}

fn detail(text: &str) {
    eprintln!("    {text}");
}

fn rng() -> protocomm::rand_core::UnwrapErr<getrandom::SysRng> {
    protocomm::rand_core::UnwrapErr(getrandom::SysRng)
}

/// A random password of 16 letters and digits, never shown.
fn random_password() -> Result<Secret> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let chars: Vec<u8> = raw
        .iter()
        .map(|b| {
            ALPHABET
                .get(usize::from(*b) % ALPHABET.len())
                .copied()
                .unwrap_or(b'x')
        })
        .collect();
    Ok(Secret::new(chars))
}

/// Runs the demo.
pub async fn run(_args: DemoArgs) -> Result<Exit> {
    let started = Instant::now();
    eprintln!(
        "wifiprov demo: a simulated device is provisioned over HTTP with security 2 (SRP6a + AES-GCM).\n"
    );

    step("Starting a device agent with the Wi-Fi simulator");
    let username = "wifiprov";
    let password = loop {
        let candidate = random_password()?;
        // One password in 256 hashes differently in esp_prov; just draw another.
        if !protocomm::security::srp::identity_hash_starts_with_zero(
            username.as_bytes(),
            &candidate,
        ) {
            break candidate;
        }
    };
    let credentials = Sec2Credentials::generate(username.as_bytes(), &password, &mut rng())?;
    let mut environment = SimEnvironment::builtin();
    for network in environment
        .networks
        .iter_mut()
        .filter(|n| n.ssid == DEMO_SSID)
    {
        network.connect_latency_ms = DEMO_JOIN_MS;
    }
    let wifi = Arc::new(SimBackend::new(environment));
    let mut builder = AgentBuilder::new(
        Security::Sec2 {
            credentials,
            patch: 1,
        },
        wifi,
    )
    .route(HttpRoute::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
    builder.manager = ManagerConfig {
        connect_delay: Duration::ZERO,
        ..ManagerConfig::default()
    };
    let mut events = None;
    let agent = builder
        .start_observed(|m| events = Some(m.subscribe()))
        .await
        .context("cannot start the demo device")?;
    let narrator = events.map(|rx| tokio::spawn(narrate(rx)));
    detail(&format!(
        "device {DEMO_SERVICE} listens on http://{} (security 2, username {username:?}, password generated)",
        agent.addr
    ));

    step("Discovering the device over mDNS (_esp_wifi_prov._tcp)");
    let target = match discover(agent.addr.port()).await {
        Ok(found) => {
            detail(&format!("found {DEMO_SERVICE} at {found}"));
            found
        }
        Err(e) => {
            detail(&format!(
                "mDNS is not available here ({}); using the device's address directly",
                crate::exit::message(&*e)
            ));
            agent.addr
        }
    };

    let scan = ScanParams {
        passive: false,
        group_channels: 0,
        period_ms: DEMO_SCAN_DWELL_MS,
    };
    let mut client = Provisioner::with_config(
        HttpTransport::new(&target.to_string(), Duration::from_secs(10)),
        ClientConfig {
            scan_group_channels: u32::from(scan.group_channels),
            scan_period_ms: scan.period_ms,
            ..ClientConfig::default()
        },
    );
    step("Reading the device's capabilities (proto-ver)");
    let version = client.version().await?.clone();
    detail(&format!(
        "version {}, security {}, patch {}, capabilities [{}]",
        version.version.as_deref().unwrap_or("?"),
        version.security(),
        version.sec_patch_ver,
        version.capabilities.join(", ")
    ));

    step("Opening a secure session (SRP6a handshake)");
    let t = Instant::now();
    let security = client
        .negotiate(
            None,
            &Credentials {
                username: Some(username.into()),
                password: Some(password),
                pop: None,
            },
        )
        .await?;
    client.establish(security).await?;
    detail(&format!(
        "session established in {} ms",
        t.elapsed().as_millis()
    ));

    step("Asking the device to scan for networks");
    detail(&format!(
        "the simulated radio listens {DEMO_SCAN_DWELL_MS} ms on each channel: {} ms (a real scan listens about 120 ms per channel)",
        SimBackend::scan_duration(scan).as_millis()
    ));
    let networks = client.scan().await?;
    detail(&format!("{} networks, strongest first:", networks.len()));
    for ap in &networks {
        let name = if ap.ssid.is_empty() {
            "(hidden)".to_string()
        } else {
            ssid_text(&ap.ssid)
        };
        detail(&format!(
            "  {name:<18} ch {:>2}  {:>4} dBm  {}",
            ap.channel,
            ap.rssi,
            ap.auth.label()
        ));
    }

    step(&format!(
        "Sending credentials for {DEMO_SSID:?} and applying them"
    ));
    client
        .set_config(DEMO_SSID.as_bytes(), DEMO_PASSPHRASE.as_bytes())
        .await?;
    client.apply_config().await?;
    step("Waiting for the device to join");
    detail(&format!(
        "the simulated access point lets a station join in {DEMO_JOIN_MS} ms"
    ));
    let mut last = None;
    let joined = client
        .wait_for_outcome(DEMO_SSID.as_bytes(), |status| {
            let shown = match status {
                WifiStatus::Connecting { .. } => "connecting…",
                WifiStatus::Connected(_) => "connected",
                WifiStatus::Failed(_) => "failed",
                WifiStatus::Disconnected => "disconnected",
            };
            if last != Some(shown) {
                detail(&format!("station: {shown}"));
                last = Some(shown);
            }
        })
        .await?;

    // The client has the outcome, so the story is told: close the client's connection and
    // tear the device down now rather than waiting for its auto-stop. The teardown's last
    // event ends the narration.
    drop(client);
    agent.shutdown().await;
    if let Some(narrator) = narrator
        && tokio::time::timeout(NARRATION_END_BOUND, narrator)
            .await
            .is_err()
    {
        detail("(the device's narration did not end; cut short)");
    }
    eprintln!();
    outln!(
        "Provisioned: the device joined {:?} (BSSID {}, channel {}) with address {} in {:.1} s.",
        String::from_utf8_lossy(&joined.ssid),
        joined.bssid,
        joined.channel,
        joined.ip,
        started.elapsed().as_secs_f64()
    )?;
    outln!(
        "Next: `wifiprov device --help` to run a real agent, `wifiprov provision --help` for the client."
    )?;
    Ok(Exit::Ok)
}

/// Narrates the device's events until its teardown (`Deinit`, the last event a Manager emits)
/// or until the channel closes.
async fn narrate(mut events: tokio::sync::broadcast::Receiver<ProvEvent>) {
    while let Ok(event) = events.recv().await {
        let text = match &event {
            ProvEvent::Start => "provisioning service started".to_string(),
            ProvEvent::CredRecv { ssid } => {
                format!("received credentials for {:?}", ssid_text(ssid))
            }
            ProvEvent::CredFail { error } => match error.fail_reason() {
                Some(reason) => format!("could not join: {reason}"),
                None => format!("could not take the credentials: {error}"),
            },
            ProvEvent::CredSuccess { link } => format!(
                "joined {:?}, got address {}",
                ssid_text(&link.ssid),
                link.ip
            ),
            ProvEvent::End => "provisioning finished; service stopped".to_string(),
            ProvEvent::Deinit => return,
            ProvEvent::Init => continue,
        };
        eprintln!("    [device] {text}");
    }
}

/// Advertises the demo device on a private mDNS port and finds it again with a browser.
async fn discover(port: u16) -> Result<SocketAddr> {
    // A private mDNS port keeps the demo off the real network and away from other responders.
    let mdns_port = 15_000 + (std::process::id() % 5_000) as u16;
    let mut ad = Advertisement::new(DEMO_SERVICE, port);
    ad.addrs = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    ad.mdns_port = mdns_port;
    let handle = ad.start().context("cannot advertise")?;
    let fullname = handle.fullname().to_string();
    let found = wifiprov_client::discover::browse_until(mdns_port, Duration::from_secs(3), |f| {
        f.fullname == fullname
    })
    .await
    .context("cannot browse")?
    .into_iter()
    .find(|f| f.fullname == fullname)
    .and_then(|f| f.http_address())
    .ok_or_else(|| anyhow::anyhow!("no answer within 3 s"));
    drop(handle);
    found
}
