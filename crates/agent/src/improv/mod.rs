//! Improv Wi-Fi routes: [`ImprovSerialRoute`] on a serial port or pseudo-terminal (ESP Web
//! Tools), and the BLE one next to the ESP GATT service (Home Assistant).
//!
//! Both framings share [`Core`]: the `improv` crate's device machine plus what answers its
//! actions here: credentials go to the [`Provisioner`](crate::Provisioner) (stored, joined,
//! reported with events like every other route), scans to the Wi-Fi backend, identify and
//! hostname changes to hooks the binary provides. A failed join answers "unable to connect"
//! and the next credentials are taken at once.

#[cfg(feature = "bluez")]
pub mod ble;
mod serial;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use improv::device::{Action, Config, Device, Framing};
use improv::rpc::{self, Rpc, RpcResult};
use improv::{ErrorCode, State};
use wifiprov_device::ProvError;
use wifiprov_wifi::{AuthMode, BoxFuture, Credentials, LinkStatus, ScanParams};

use crate::route::RouteContext;

pub use serial::ImprovSerialRoute;

/// A hook the binary provides: runs with these arguments, `true` on success.
pub type Hook = Arc<dyn Fn(Vec<String>) -> BoxFuture<'static, bool> + Send + Sync>;

/// The most networks a scan answers (each is one result on serial).
pub const MAX_SCAN_RESULTS: usize = 32;

/// What the device says about itself (command 0x03).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Firmware name.
    pub firmware: String,
    /// Firmware version.
    pub version: String,
    /// Hardware (chip, board or machine).
    pub hardware: String,
    /// Operating system name, if known.
    pub os_name: Option<String>,
    /// Operating system version, if known.
    pub os_version: Option<String>,
}

impl DeviceInfo {
    /// This program on this system: `wifiprov`, its version, the machine's model (device
    /// tree) or architecture, and `NAME`/`VERSION_ID` of `/etc/os-release`.
    pub fn of_this_system() -> Self {
        let model = std::fs::read_to_string("/proc/device-tree/model")
            .ok()
            .map(|m| m.trim_end_matches('\0').trim().to_owned())
            .filter(|m| !m.is_empty());
        let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let field = |key: &str| {
            release.lines().find_map(|line| {
                let value = line.strip_prefix(key)?.strip_prefix('=')?;
                Some(value.trim().trim_matches('"').to_owned())
            })
        };
        DeviceInfo {
            firmware: "wifiprov".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            hardware: model.unwrap_or_else(|| std::env::consts::ARCH.into()),
            os_name: field("NAME"),
            os_version: field("VERSION_ID"),
        }
    }
}

/// How an Improv BLE device gets authorized.
#[derive(Clone)]
pub enum Authorizer {
    /// Authorized from the start (anyone in radio range may send credentials).
    Always,
    /// Asked every [`AUTHORIZER_POLL`] while authorization is required; `true` authorizes
    /// (a button's GPIO value, a command).
    Poll(Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>),
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Authorizer::Always => "Always",
            Authorizer::Poll(_) => "Poll",
        })
    }
}

/// How often a polling authorizer is asked.
pub const AUTHORIZER_POLL: Duration = Duration::from_millis(500);

/// Settings shared by the Improv routes.
#[derive(Clone)]
pub struct ImprovSettings {
    /// The device's name (device info, the device name command).
    pub device_name: String,
    /// The URL the client is sent to once provisioned: `{ip}` is replaced by the address the
    /// device got, `{hostname}` by its hostname, `{port}` by the HTTP route's port. Empty: no
    /// URL. `None`: `http://{ip}`, with `:{port}` when an HTTP route serves on a port other
    /// than 80.
    pub redirect_url: Option<String>,
    /// What the device says about itself.
    pub info: DeviceInfo,
    /// Run on identify (BLE).
    pub identify: Option<Hook>,
    /// Sets the hostname (given as the one argument); without it the hostname cannot be set.
    pub set_hostname: Option<Hook>,
    /// BLE authorization.
    pub authorizer: Authorizer,
    /// How long an authorization lasts.
    pub authorization_timeout: Duration,
}

impl ImprovSettings {
    /// Settings for a device called `device_name`, with the system's device info, the
    /// default URL, no hooks and no authorization needed.
    pub fn new(device_name: impl Into<String>) -> Self {
        ImprovSettings {
            device_name: device_name.into(),
            redirect_url: None,
            info: DeviceInfo::of_this_system(),
            identify: None,
            set_hostname: None,
            authorizer: Authorizer::Always,
            authorization_timeout: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for ImprovSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImprovSettings")
            .field("device_name", &self.device_name)
            .field("redirect_url", &self.redirect_url)
            .field("info", &self.info)
            .field("identify", &self.identify.is_some())
            .field("set_hostname", &self.set_hostname.is_some())
            .field("authorizer", &self.authorizer)
            .field("authorization_timeout", &self.authorization_timeout)
            .finish()
    }
}

/// The system's hostname.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// Something to tell the peer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Out {
    State(State),
    Error(ErrorCode),
    Result(RpcResult),
}

/// A join under way.
pub(crate) type Join = BoxFuture<'static, Result<LinkStatus, ProvError>>;

/// The device machine and what carries out its actions.
pub(crate) struct Core {
    device: Device,
    settings: ImprovSettings,
    ctx: RouteContext,
    epoch: Instant,
    sent_state: Option<State>,
    sent_error: Option<ErrorCode>,
    device_name: String,
    link: Option<LinkStatus>,
    framing: Framing,
    redirect_url: String,
    identifying: Option<tokio::task::JoinHandle<bool>>,
}

fn auth_text(auth: AuthMode, framing: Framing) -> &'static str {
    match (framing, auth) {
        (Framing::Serial, AuthMode::Open) => "NO",
        (Framing::Serial, _) => "YES",
        (Framing::Ble, AuthMode::Open) => "NO",
        (Framing::Ble, AuthMode::Wep) => "WEP",
        (Framing::Ble, AuthMode::WpaPsk) => "WPA",
        (Framing::Ble, _) => "WPA2",
    }
}

impl Core {
    pub(crate) fn new(settings: ImprovSettings, ctx: RouteContext, framing: Framing) -> Self {
        let requires_authorization =
            framing == Framing::Ble && !matches!(settings.authorizer, Authorizer::Always);
        let device = Device::new(Config {
            framing,
            requires_authorization,
            authorization_timeout: settings.authorization_timeout,
        });
        let port = ctx.http_addr().map(|a| a.port());
        let redirect_url = match (&settings.redirect_url, port) {
            (Some(url), _) => url.replace("{port}", &port.unwrap_or(80).to_string()),
            (None, Some(port)) if port != 80 => format!("http://{{ip}}:{port}"),
            (None, _) => "http://{ip}".into(),
        };
        Core {
            identifying: None,
            redirect_url,
            device,
            device_name: settings.device_name.clone(),
            settings,
            ctx,
            epoch: Instant::now(),
            sent_state: None,
            sent_error: None,
            link: None,
            framing,
        }
    }

    pub(crate) fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    pub(crate) fn state(&self) -> State {
        self.device.state()
    }

    pub(crate) fn settings(&self) -> &ImprovSettings {
        &self.settings
    }

    /// The state and error, where they differ from what was last sent.
    pub(crate) fn changes(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        let (state, error) = (self.device.state(), self.device.error());
        if self.sent_error != Some(error) {
            self.sent_error = Some(error);
            out.push(Out::Error(error));
        }
        if self.sent_state != Some(state) {
            self.sent_state = Some(state);
            out.push(Out::State(state));
        }
        out
    }

    /// Answers a command that could not be read with `code`.
    pub(crate) fn reject(&mut self, code: ErrorCode) {
        self.device.report_error(code);
    }

    /// Lets time pass (authorization lapses).
    pub(crate) fn tick(&mut self) {
        let now = self.now();
        self.device.tick(now);
    }

    /// The user authorized the device.
    pub(crate) fn authorize(&mut self) {
        let now = self.now();
        self.device.authorize(now);
    }

    /// Whether a polling authorizer should be asked now.
    pub(crate) fn wants_authorization(&self) -> bool {
        self.device.state() == State::AuthorizationRequired
    }

    fn redirect_urls(&self) -> Vec<String> {
        let template = &self.redirect_url;
        if template.is_empty() {
            return Vec::new();
        }
        let ip = self
            .link
            .as_ref()
            .map(|l| l.ip.to_string())
            .unwrap_or_default();
        vec![
            template
                .replace("{ip}", &ip)
                .replace("{hostname}", &hostname()),
        ]
    }

    fn wifi_settings_result(&self) -> RpcResult {
        RpcResult::new(rpc::WIFI_SETTINGS, self.redirect_urls())
    }

    /// Carries out one command: what to send (the state/error changes come from
    /// [`Core::changes`]), and a join to await when credentials arrived.
    pub(crate) async fn command(&mut self, rpc: Rpc) -> (Vec<Out>, Option<Join>) {
        let now = self.now();
        let command = rpc.command();
        let action = self.device.handle(rpc, now);
        let mut out = Vec::new();
        match action {
            Action::Error(code) => {
                tracing::debug!(
                    "Improv command 0x{command:02x} refused: {}",
                    code.describe()
                )
            }
            Action::Join(creds) => match Credentials::new(creds.ssid, creds.password.to_vec()) {
                Ok(credentials) => {
                    let provisioner = self.ctx.provisioner().clone();
                    return (
                        out,
                        Some(Box::pin(
                            async move { provisioner.submit(credentials).await },
                        )),
                    );
                }
                Err(e) => {
                    tracing::warn!("Improv credentials refused: {e}");
                    self.device.join_failed(ErrorCode::UnableToConnect, now);
                }
            },
            Action::ReportState => {
                // The state (sent even when unchanged), then once provisioned the URL, as
                // after a successful join.
                let state = self.device.state();
                self.sent_state = Some(state);
                out.push(Out::State(state));
                if state == State::Provisioned {
                    // Clients match a result to the command they sent: this one is 0x02.
                    let urls = self.redirect_urls();
                    out.push(Out::Result(RpcResult::new(
                        rpc::CURRENT_STATE_OR_IDENTIFY,
                        urls,
                    )));
                }
            }
            Action::Identify => {
                // One identify at a time, however often a peer asks.
                let idle = self.identifying.as_ref().is_none_or(|h| h.is_finished());
                if let (Some(hook), true) = (self.settings.identify.clone(), idle) {
                    self.identifying = Some(tokio::spawn(hook(Vec::new())));
                }
            }
            Action::DeviceInfo => {
                let info = &self.settings.info;
                let mut strings = vec![
                    info.firmware.clone(),
                    info.version.clone(),
                    info.hardware.clone(),
                    self.device_name.clone(),
                ];
                if let (Some(name), Some(version)) = (&info.os_name, &info.os_version) {
                    strings.push(name.clone());
                    strings.push(version.clone());
                }
                out.push(Out::Result(RpcResult::new(rpc::DEVICE_INFO, strings)));
            }
            Action::Scan => out.extend(self.scan().await),
            Action::GetHostname => {
                out.push(Out::Result(RpcResult::new(rpc::HOSTNAME, [hostname()])));
            }
            Action::SetHostname(name) => {
                let name = String::from_utf8_lossy(&name).into_owned();
                let done = match self.settings.set_hostname.clone() {
                    Some(hook) => hook(vec![name.clone()]).await,
                    None => false,
                };
                if done {
                    out.push(Out::Result(RpcResult::new(rpc::HOSTNAME, [name])));
                } else {
                    self.device.report_error(ErrorCode::BadHostname);
                }
            }
            Action::GetDeviceName => {
                out.push(Out::Result(RpcResult::new(
                    rpc::DEVICE_NAME,
                    [&self.device_name],
                )));
            }
            Action::SetDeviceName(name) => {
                self.device_name = String::from_utf8_lossy(&name).into_owned();
                out.push(Out::Result(RpcResult::new(
                    rpc::DEVICE_NAME,
                    [&self.device_name],
                )));
            }
            Action::NetworkState => {
                let online = self.link.is_some() || self.ctx.provisioner().is_provisioned();
                let flags: u8 = 0x02 | u8::from(online);
                let mut strings = vec![flags.to_string()];
                if online {
                    strings.extend(self.redirect_urls());
                }
                out.push(Out::Result(RpcResult::new(rpc::NETWORK_STATE, strings)));
            }
        }
        (out, None)
    }

    async fn scan(&mut self) -> Vec<Out> {
        let found = self.ctx.wifi().scan(ScanParams::default()).await;
        let mut networks = match found {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!("Improv scan failed: {e}");
                Vec::new()
            }
        };
        networks.retain(|ap| !ap.ssid.is_empty());
        networks.sort_by_key(|ap| std::cmp::Reverse(ap.rssi));
        let mut seen = std::collections::HashSet::new();
        networks.retain(|ap| seen.insert(ap.ssid.clone()));
        networks.truncate(MAX_SCAN_RESULTS);
        let entry = |ap: &wifiprov_wifi::AccessPoint| {
            [
                String::from_utf8_lossy(&ap.ssid).into_owned(),
                ap.rssi.to_string(),
                auth_text(ap.auth, self.framing).to_owned(),
            ]
        };
        match self.framing {
            // One result per network, then an empty one.
            Framing::Serial => networks
                .iter()
                .map(|ap| Out::Result(RpcResult::new(rpc::WIFI_NETWORKS, entry(ap))))
                .chain([Out::Result(RpcResult::new::<&str>(rpc::WIFI_NETWORKS, []))])
                .collect(),
            // One result holding as many networks as fit in 255 bytes.
            Framing::Ble => {
                let mut strings: Vec<String> = Vec::new();
                let mut size = 0;
                for ap in &networks {
                    let e = entry(ap);
                    let len: usize = e.iter().map(|s| s.len() + 1).sum();
                    if size + len > rpc::MAX_DATA {
                        break;
                    }
                    size += len;
                    strings.extend(e);
                }
                vec![Out::Result(RpcResult::new(rpc::WIFI_NETWORKS, strings))]
            }
        }
    }

    /// The outcome of a join: the state change and, on success, the redirect URL.
    pub(crate) fn join_done(&mut self, outcome: Result<LinkStatus, ProvError>) -> Vec<Out> {
        let now = self.now();
        match outcome {
            Ok(link) => {
                self.link = Some(link);
                self.device.joined();
                let mut out = self.changes();
                out.push(Out::Result(self.wifi_settings_result()));
                out
            }
            Err(e) => {
                let code = match &e {
                    ProvError::Connect(_) => ErrorCode::UnableToConnect,
                    _ => ErrorCode::Unknown,
                };
                // The provisioning events log the failure itself.
                tracing::debug!("Improv: {e}; waiting for other credentials");
                self.device.join_failed(code, now);
                self.changes()
            }
        }
    }

    /// Tells the provisioning service that the peer has the outcome.
    pub(crate) fn outcome_sent(&self) {
        if self.device.state() == State::Provisioned {
            self.ctx.provisioner().outcome_reported();
        }
    }
}
