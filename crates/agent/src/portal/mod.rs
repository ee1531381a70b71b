//! [`PortalRoute`]: a captive web portal. Any phone or laptop that joins the device's access
//! point is shown a page to pick a network and type its password, and sees the outcome there.
//!
//! The route serves, on its own HTTP listener:
//!
//! - the page (`GET /`, HTML + CSS + a small script embedded in the binary; it works without
//!   JavaScript through plain form posts to `POST /connect` and `POST /rescan`), or a user's
//!   own static UI from a directory ([`PortalSettings::ui_dir`]);
//! - the JSON API the page uses: `GET /api/status`, `GET /api/networks`, `POST /api/rescan`,
//!   `POST /api/connect` (`{"ssid","password"}`), `GET /api/events` (server-sent `status`
//!   events), and `GET /api/captive` (RFC 8908, `application/captive+json`). Posts need the
//!   form token of `GET /api/status` (`csrf`) in an `X-CSRF-Token` header (the form: a `csrf`
//!   field); submissions are rate-limited ([`wifiprov_portal::limit`]);
//! - the connectivity checks of Android, Apple, Windows and Firefox: redirected to the page
//!   until provisioning succeeds, then answered "online" ([`wifiprov_portal::probe`]);
//! - a redirect to the page for any request naming another host.
//!
//! And, unless turned off, a DNS responder on UDP that answers every name with the portal's
//! address ([`wifiprov_portal::dns`]).
//!
//! Credentials go through the provisioning service like any route's; the outcome ("joined
//! HomeNet, the device is now at 192.168.1.42", "wrong password — try again") stays on the page
//! until another attempt, and provisioning is told the outcome was reported once the browser
//! has been sent a success.

mod http;

pub use http::{MAX_BODY, MAX_CONNECTIONS, UI_BYTES};

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use wifiprov_device::ProvError;
use wifiprov_portal::csrf::{CsrfToken, TOKEN_BYTES};
use wifiprov_portal::limit::Limiter;
use wifiprov_wifi::{AccessPoint, BoxFuture, ConnectError, Credentials, ScanParams};

use crate::route::{Place, Route, RouteContext, RouteError, RunningRoute};

/// The most networks listed.
pub const MAX_NETWORKS: usize = 50;

/// The address the DNS responder answers with when neither [`PortalSettings::address`] nor the
/// listen address names one.
pub const DEFAULT_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 1);

/// The portal's settings.
#[derive(Clone, Debug)]
pub struct PortalSettings {
    /// Where the web portal listens.
    pub listen: SocketAddr,
    /// Where the DNS responder listens (`None`: no responder, DNS is served elsewhere).
    pub dns: Option<SocketAddr>,
    /// The portal's address on the access point, the answer to every DNS query (default: the
    /// listen address if it names one, else [`DEFAULT_ADDRESS`]).
    pub address: Option<Ipv4Addr>,
    /// Serve the static files of this directory instead of the embedded page (the API stays).
    pub ui_dir: Option<PathBuf>,
    /// More host names that are the portal (requests for them are not redirected).
    pub hosts: Vec<String>,
    /// The submission limiter's burst and refill time.
    pub limit: (u32, Duration),
    /// The device's mDNS name shown beside its address after a join (`name.local`, as the
    /// system's mDNS responder announces it); `None` shows the address alone.
    pub local_name: Option<String>,
}

impl PortalSettings {
    /// The portal on `listen` with a DNS responder on `dns`.
    pub fn new(listen: SocketAddr, dns: Option<SocketAddr>) -> Self {
        PortalSettings {
            listen,
            dns,
            address: None,
            ui_dir: None,
            hosts: Vec::new(),
            limit: (Limiter::BURST, Limiter::REFILL),
            local_name: None,
        }
    }
}

/// Serves the captive portal.
#[derive(Clone, Debug)]
pub struct PortalRoute {
    settings: PortalSettings,
}

impl PortalRoute {
    /// The portal as `settings` say.
    pub fn new(settings: PortalSettings) -> Self {
        PortalRoute { settings }
    }

    /// The same portal reached at `address` (see [`PortalSettings::address`]).
    pub fn with_address(mut self, address: Ipv4Addr) -> Self {
        self.settings.address = Some(address);
        self
    }
}

/// How a submission ended, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing submitted yet.
    Idle,
    /// Joining this network.
    Joining(String),
    /// Joined this network at this address (and this mDNS name, when known).
    Joined(String, Ipv4Addr, Option<String>),
    /// The attempt at this network failed.
    Failed(String, Failure),
}

/// Why an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The password was refused.
    WrongPassword,
    /// The network was not found.
    NotFound,
    /// Any other reason.
    Other,
}

impl Outcome {
    /// The state's name in the API.
    pub fn state(&self) -> &'static str {
        match self {
            Outcome::Idle => "idle",
            Outcome::Joining(_) => "joining",
            Outcome::Joined(..) => "joined",
            Outcome::Failed(..) => "failed",
        }
    }

    /// The sentence the page shows.
    pub fn message(&self) -> String {
        match self {
            Outcome::Idle => String::new(),
            Outcome::Joining(ssid) => format!("Joining {ssid}…"),
            Outcome::Joined(ssid, ip, None) => {
                format!("Joined {ssid}, the device is now at {ip}.")
            }
            Outcome::Joined(ssid, ip, Some(name)) => {
                format!("Joined {ssid}, the device is now at {ip} / {name}.")
            }
            Outcome::Failed(ssid, Failure::WrongPassword) => {
                format!("Wrong password for {ssid} — try again.")
            }
            Outcome::Failed(ssid, Failure::NotFound) => {
                format!("{ssid} was not found — check the name and try again.")
            }
            Outcome::Failed(ssid, Failure::Other) => format!("Could not join {ssid} — try again."),
        }
    }

    fn json(&self, provisioned: bool) -> serde_json::Value {
        let (ssid, ip, local_name) = match self {
            Outcome::Idle => (None, None, None),
            Outcome::Joining(s) | Outcome::Failed(s, _) => (Some(s.as_str()), None, None),
            Outcome::Joined(s, ip, name) => (Some(s.as_str()), Some(ip.to_string()), name.clone()),
        };
        let reason = match self {
            Outcome::Failed(_, Failure::WrongPassword) => Some("wrong-password"),
            Outcome::Failed(_, Failure::NotFound) => Some("not-found"),
            Outcome::Failed(_, Failure::Other) => Some("other"),
            _ => None,
        };
        serde_json::json!({
            "state": self.state(),
            "ssid": ssid,
            "ip": ip,
            "local_name": local_name,
            "reason": reason,
            "message": self.message(),
            "provisioned": provisioned,
        })
    }
}

/// One network of the list.
#[derive(Clone, Debug)]
struct Network {
    ssid: String,
    rssi: i8,
    security: &'static str,
    open: bool,
    channel: u8,
}

impl Network {
    fn bars(&self) -> u8 {
        match self.rssi {
            r if r >= -55 => 4,
            r if r >= -67 => 3,
            r if r >= -78 => 2,
            r if r >= -89 => 1,
            _ => 0,
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "ssid": self.ssid,
            "rssi": self.rssi,
            "bars": self.bars(),
            "security": self.security,
            "open": self.open,
            "channel": self.channel,
        })
    }
}

/// The named networks of a scan, strongest first, one entry per name.
fn networks_of(mut scan: Vec<AccessPoint>) -> Vec<Network> {
    scan.sort_by_key(|ap| std::cmp::Reverse(ap.rssi));
    let mut out: Vec<Network> = Vec::new();
    for ap in scan {
        if ap.ssid.is_empty() || out.len() >= MAX_NETWORKS {
            continue;
        }
        let ssid = String::from_utf8_lossy(&ap.ssid).into_owned();
        if out.iter().any(|n| n.ssid == ssid) {
            continue;
        }
        out.push(Network {
            ssid,
            rssi: ap.rssi,
            security: ap.auth.label(),
            open: !ap.auth.needs_passphrase(),
            channel: ap.channel,
        });
    }
    out
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a submission was not tried.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The form token is missing or wrong.
    Csrf,
    /// Too many submissions: retry after this long.
    Limited(Duration),
    /// The network name or password is not valid.
    Invalid(String),
    /// Another attempt runs, or provisioning has ended.
    Busy,
}

/// What the portal's handlers share.
/// How long a scan's list is shown before a page load scans again.
const SCAN_MAX_AGE: Duration = Duration::from_secs(30);

pub(crate) struct Portal {
    ctx: RouteContext,
    token: CsrfToken,
    limiter: Mutex<Limiter>,
    started: Instant,
    outcome: watch::Sender<Outcome>,
    /// The last scan's networks and when it ended (`None` before the first scan).
    networks: Mutex<Option<(Instant, Vec<Network>)>>,
    scanning: tokio::sync::Mutex<()>,
    portal_url: String,
    hosts: Vec<String>,
    ui_dir: Option<PathBuf>,
    local_name: Option<String>,
}

impl Portal {
    fn provisioned(&self) -> bool {
        self.ctx.provisioner().is_provisioned()
    }

    /// The status document (with the form token when `with_token`).
    fn status(&self, with_token: bool) -> serde_json::Value {
        let outcome = self.outcome.borrow().clone();
        let mut doc = outcome.json(self.provisioned());
        if with_token && let Some(map) = doc.as_object_mut() {
            map.insert("csrf".into(), self.token.as_str().into());
        }
        doc
    }

    /// Tells provisioning the outcome reached the browser, if it is a success.
    fn outcome_seen(&self, outcome: &Outcome) {
        if matches!(outcome, Outcome::Joined(..)) {
            self.ctx.provisioner().outcome_reported();
        }
    }

    /// Scans (one scan at a time; a caller arriving during a scan gets its result).
    async fn rescan(&self) -> Vec<Network> {
        let busy = self.scanning.try_lock();
        match busy {
            Ok(_guard) => match self.ctx.wifi().scan(ScanParams::default()).await {
                Ok(scan) => {
                    let nets = networks_of(scan);
                    *lock(&self.networks) = Some((Instant::now(), nets.clone()));
                    nets
                }
                Err(e) => {
                    tracing::warn!("portal: scan failed: {e}");
                    lock(&self.networks)
                        .clone()
                        .map(|(_, n)| n)
                        .unwrap_or_default()
                }
            },
            Err(_) => {
                let _wait = self.scanning.lock().await;
                lock(&self.networks)
                    .clone()
                    .map(|(_, n)| n)
                    .unwrap_or_default()
            }
        }
    }

    /// The networks of the last scan, scanning first if there was none or it is older than
    /// [`SCAN_MAX_AGE`] (an empty result counts: page loads stay fast when nothing is in
    /// range, and rescan is a button away).
    async fn networks(&self) -> Vec<Network> {
        let nets = lock(&self.networks).clone();
        match nets {
            Some((at, nets)) if at.elapsed() < SCAN_MAX_AGE => nets,
            _ => self.rescan().await,
        }
    }

    /// Checks a submission and joins: the outcome, or why it was not tried.
    async fn connect(&self, token: &str, ssid: &str, password: &str) -> Result<Outcome, Refused> {
        if !self.token.verify(token) {
            return Err(Refused::Csrf);
        }
        if ssid.is_empty() || ssid.len() > 32 {
            return Err(Refused::Invalid(
                "the network name must be 1 to 32 bytes".into(),
            ));
        }
        let credentials = Credentials::new(ssid.as_bytes(), password.as_bytes())
            .map_err(|e| Refused::Invalid(e.to_string()))?;
        if matches!(*self.outcome.borrow(), Outcome::Joining(_)) {
            return Err(Refused::Busy);
        }
        // Only submissions that would be tried count.
        let now = self.started.elapsed();
        lock(&self.limiter).take(now).map_err(Refused::Limited)?;
        let ssid = ssid.to_owned();
        self.outcome.send_replace(Outcome::Joining(ssid.clone()));
        tracing::info!("portal: credentials submitted for {ssid:?}");
        let outcome = match self.ctx.provisioner().submit(credentials).await {
            Ok(link) => Outcome::Joined(ssid, link.ip, self.local_name.clone()),
            Err(ProvError::Refused(e)) => {
                tracing::debug!("portal: submission refused: {e}");
                self.outcome.send_replace(Outcome::Idle);
                return Err(Refused::Busy);
            }
            Err(ProvError::Connect(ConnectError::AuthFailed { .. })) => {
                Outcome::Failed(ssid, Failure::WrongPassword)
            }
            Err(ProvError::Connect(ConnectError::NetworkNotFound { .. })) => {
                Outcome::Failed(ssid, Failure::NotFound)
            }
            Err(e) => {
                tracing::debug!("portal: {e}");
                Outcome::Failed(ssid, Failure::Other)
            }
        };
        self.outcome.send_replace(outcome.clone());
        Ok(outcome)
    }
}

/// The address the portal is reached at.
fn portal_address(settings: &PortalSettings) -> Ipv4Addr {
    settings.address.unwrap_or(match settings.listen.ip() {
        IpAddr::V4(ip) if !ip.is_unspecified() => ip,
        _ => DEFAULT_ADDRESS,
    })
}

impl Route for PortalRoute {
    fn name(&self) -> &str {
        "portal"
    }

    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
        let settings = self.settings.clone();
        Box::pin(async move {
            let listener = TcpListener::bind(settings.listen)
                .await
                .map_err(|e| RouteError::io(format!("portal: binding {}", settings.listen), e))?;
            let local = listener
                .local_addr()
                .map_err(|e| RouteError::io("portal: local address", e))?;
            let dns = match settings.dns {
                Some(addr) => Some(
                    UdpSocket::bind(addr)
                        .await
                        .map_err(|e| RouteError::io(format!("portal DNS: binding {addr}"), e))?,
                ),
                None => None,
            };
            let address = portal_address(&settings);
            let url_host = match local.ip() {
                IpAddr::V4(ip) if !ip.is_unspecified() => ip,
                _ => address,
            };
            let portal_url = if local.port() == 80 {
                format!("http://{url_host}/")
            } else {
                format!("http://{url_host}:{}/", local.port())
            };
            let mut hosts = vec![
                url_host.to_string(),
                address.to_string(),
                "localhost".into(),
            ];
            hosts.extend(settings.hosts.iter().map(|h| h.to_ascii_lowercase()));
            let mut random = [0u8; TOKEN_BYTES];
            getrandom::fill(&mut random)
                .map_err(|e| RouteError::other(format!("portal: no randomness: {e}")))?;
            let portal = Arc::new(Portal {
                token: CsrfToken::new(random),
                limiter: Mutex::new(Limiter::new(settings.limit.0, settings.limit.1)),
                started: Instant::now(),
                outcome: watch::Sender::new(Outcome::Idle),
                networks: Mutex::new(None),
                scanning: tokio::sync::Mutex::new(()),
                portal_url: portal_url.clone(),
                hosts,
                ui_dir: settings.ui_dir.clone(),
                local_name: settings.local_name.clone(),
                ctx: ctx.clone(),
            });
            let mut place = format!("the captive portal on {portal_url}");
            if let Some(Ok(addr)) = dns.as_ref().map(UdpSocket::local_addr) {
                place.push_str(&format!(" (DNS on udp {addr})"));
            }
            let stop = ctx.shutdown().signalled();
            Ok(RunningRoute::new(Some(Place::Other(place)), async move {
                // The first scan runs while the phone is still opening the page.
                let scan = {
                    let portal = portal.clone();
                    async move {
                        portal.rescan().await;
                        std::future::pending::<()>().await
                    }
                };
                let dns = async move {
                    match dns {
                        Some(socket) => serve_dns(socket, address).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = stop => Ok(()),
                    () = scan => Ok(()),
                    r = dns => r,
                    r = http::serve(listener, portal) => r,
                }
            }))
        })
    }
}

/// Answers DNS queries on `socket` with `address` until cancelled.
async fn serve_dns(socket: UdpSocket, address: Ipv4Addr) -> Result<(), RouteError> {
    // One byte more than the largest query, to tell a too-long datagram apart.
    let mut buf = vec![0u8; wifiprov_portal::dns::MAX_QUERY_LEN + 1];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!("portal DNS: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(query) = buf.get(..len) else {
            continue;
        };
        if let Some(reply) = wifiprov_portal::dns::answer(query, address)
            && let Err(e) = socket.send_to(&reply, peer).await
        {
            tracing::debug!("portal DNS: answering {peer}: {e}");
        }
    }
}

/// HTML-escapes `text`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn messages() {
        let joined = Outcome::Joined("HomeNet".into(), Ipv4Addr::new(192, 168, 1, 42), None);
        assert_eq!(
            joined.message(),
            "Joined HomeNet, the device is now at 192.168.1.42."
        );
        assert!(joined.json(true)["local_name"].is_null());
        let named = Outcome::Joined(
            "HomeNet".into(),
            Ipv4Addr::new(192, 168, 1, 42),
            Some("sensor-7.local".into()),
        );
        assert_eq!(
            named.message(),
            "Joined HomeNet, the device is now at 192.168.1.42 / sensor-7.local."
        );
        assert_eq!(named.json(true)["local_name"], "sensor-7.local");
        let wrong = Outcome::Failed("HomeNet".into(), Failure::WrongPassword);
        assert_eq!(wrong.message(), "Wrong password for HomeNet — try again.");
        assert_eq!(wrong.json(false)["reason"], "wrong-password");
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
