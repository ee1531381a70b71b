//! The device's side of Improv as a state machine without I/O, shared by the serial and BLE
//! drivers.
//!
//! The driver decodes a command, hands it to [`Device::handle`], and carries out the
//! [`Action`] it gets back: answering a result, joining a network, blinking a light. After
//! every call it compares [`Device::state`] and [`Device::error`] with what it last sent and
//! notifies the peer of changes. Time is whatever monotonic clock the driver keeps, as a
//! [`Duration`] since any fixed point.

use alloc::vec::Vec;
use core::time::Duration;

use zeroize::Zeroizing;

use crate::rpc::Rpc;
use crate::{ErrorCode, State};

/// Which framing the device speaks: command 0x02 differs, and only BLE has authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// 0x02 asks for the current state.
    Serial,
    /// 0x02 asks the device to identify itself.
    Ble,
}

/// How the device behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// The framing.
    pub framing: Framing,
    /// Whether a physical authorization is needed before credentials are taken (BLE only;
    /// ignored on serial).
    pub requires_authorization: bool,
    /// How long an authorization lasts (the specification suggests one minute).
    pub authorization_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            framing: Framing::Serial,
            requires_authorization: false,
            authorization_timeout: Duration::from_secs(60),
        }
    }
}

/// Credentials from a Wi-Fi settings command.
#[derive(Clone, PartialEq, Eq)]
pub struct WifiCredentials {
    /// The network's name (1–32 bytes).
    pub ssid: Vec<u8>,
    /// The passphrase (empty for an open network; zeroized on drop).
    pub password: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for WifiCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WifiCredentials")
            .field("ssid", &alloc::string::String::from_utf8_lossy(&self.ssid))
            .finish_non_exhaustive()
    }
}

/// What the driver does for a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing to answer beyond the error state (already set on the machine).
    Error(ErrorCode),
    /// Join this network, then call [`Device::joined`] or [`Device::join_failed`].
    Join(WifiCredentials),
    /// Serial 0x02: send the current state, and once provisioned the redirect URLs as the
    /// result of a Wi-Fi settings command.
    ReportState,
    /// BLE 0x02: identify (blink, beep); there is no result.
    Identify,
    /// Answer the device information.
    DeviceInfo,
    /// Answer the networks in sight.
    Scan,
    /// Answer the hostname.
    GetHostname,
    /// Set the hostname (already checked against RFC 1123), then answer it.
    SetHostname(Vec<u8>),
    /// Answer the device name.
    GetDeviceName,
    /// Set the device name (UTF-8, 1–255 bytes), then answer it.
    SetDeviceName(Vec<u8>),
    /// Answer the network state.
    NetworkState,
}

/// The device's Improv state.
#[derive(Debug)]
pub struct Device {
    config: Config,
    state: State,
    error: ErrorCode,
    authorized_until: Option<Duration>,
}

/// Whether `name` is an acceptable hostname: letters, digits and hyphens, 1–63 bytes per
/// dot-separated label (RFC 1123), 255 in all, no label starting or ending with a hyphen.
pub fn valid_hostname(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split(|b| *b == b'.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && label.first() != Some(&b'-')
                && label.last() != Some(&b'-')
        })
}

impl Device {
    /// A device waiting for credentials: authorized at once unless `config` asks for an
    /// authorization over BLE.
    pub fn new(config: Config) -> Self {
        let state = if config.framing == Framing::Ble && config.requires_authorization {
            State::AuthorizationRequired
        } else {
            State::Authorized
        };
        Device {
            config,
            state,
            error: ErrorCode::None,
            authorized_until: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The current error.
    pub fn error(&self) -> ErrorCode {
        self.error
    }

    /// When the current authorization lapses, if one is running.
    pub fn authorized_until(&self) -> Option<Duration> {
        self.authorized_until
    }

    fn authorization_lapses(&self) -> bool {
        self.config.framing == Framing::Ble && self.config.requires_authorization
    }

    fn extend_authorization(&mut self, now: Duration) {
        if self.authorization_lapses() && self.state == State::Authorized {
            self.authorized_until = Some(now + self.config.authorization_timeout);
        }
    }

    /// The user authorized the device (pressed its button): credentials are taken until the
    /// authorization lapses.
    pub fn authorize(&mut self, now: Duration) {
        if self.state == State::AuthorizationRequired {
            self.state = State::Authorized;
            self.error = ErrorCode::None;
        }
        self.extend_authorization(now);
    }

    /// Lets time pass: an authorization whose time is up is withdrawn.
    pub fn tick(&mut self, now: Duration) {
        if self.state == State::Authorized
            && self.authorization_lapses()
            && self.authorized_until.is_some_and(|until| now >= until)
        {
            self.state = State::AuthorizationRequired;
            self.authorized_until = None;
        }
    }

    fn fail(&mut self, code: ErrorCode) -> Action {
        self.error = code;
        Action::Error(code)
    }

    /// What to do for `rpc`. Every command clears the error state first, as the
    /// specification asks.
    pub fn handle(&mut self, rpc: Rpc, now: Duration) -> Action {
        self.tick(now);
        self.error = ErrorCode::None;
        let authorized = matches!(self.state, State::Authorized | State::Provisioned);
        let sets_a_name = matches!(&rpc, Rpc::Hostname(Some(_)) | Rpc::DeviceName(Some(_)));
        let ble = self.config.framing == Framing::Ble;
        match rpc {
            Rpc::WifiSettings { ssid, password } => {
                if self.state == State::AuthorizationRequired {
                    return self.fail(ErrorCode::NotAuthorized);
                }
                if self.state == State::Provisioning {
                    return self.fail(ErrorCode::Unknown);
                }
                if ssid.is_empty() || ssid.len() > 32 || password.len() > 64 {
                    return self.fail(ErrorCode::InvalidRpc);
                }
                self.state = State::Provisioning;
                Action::Join(WifiCredentials { ssid, password })
            }
            Rpc::CurrentStateOrIdentify => match self.config.framing {
                Framing::Serial => Action::ReportState,
                Framing::Ble => Action::Identify,
            },
            Rpc::DeviceInfo => Action::DeviceInfo,
            Rpc::WifiNetworks => Action::Scan,
            Rpc::NetworkState => Action::NetworkState,
            Rpc::Hostname(_) | Rpc::DeviceName(_) if !authorized && (sets_a_name || ble) => {
                self.fail(ErrorCode::NotAuthorized)
            }
            Rpc::Hostname(None) => {
                self.extend_authorization(now);
                Action::GetHostname
            }
            Rpc::Hostname(Some(name)) => {
                if !valid_hostname(&name) {
                    return self.fail(ErrorCode::BadHostname);
                }
                self.extend_authorization(now);
                Action::SetHostname(name)
            }
            Rpc::DeviceName(None) => {
                self.extend_authorization(now);
                Action::GetDeviceName
            }
            Rpc::DeviceName(Some(name)) => {
                if name.len() > 255 || core::str::from_utf8(&name).is_err() {
                    return self.fail(ErrorCode::InvalidRpc);
                }
                self.extend_authorization(now);
                Action::SetDeviceName(name)
            }
            Rpc::Unknown { .. } => self.fail(ErrorCode::UnknownCommand),
        }
    }

    /// Carrying out an action failed with `code` (a hostname the system refused).
    pub fn report_error(&mut self, code: ErrorCode) {
        self.error = code;
    }

    /// The join of an [`Action::Join`] succeeded.
    pub fn joined(&mut self) {
        self.state = State::Provisioned;
        self.error = ErrorCode::None;
        self.authorized_until = None;
    }

    /// The join of an [`Action::Join`] failed (`code` is [`ErrorCode::UnableToConnect`] for
    /// a network that refused or was not found): the device takes credentials again, and an
    /// authorization starts over.
    pub fn join_failed(&mut self, code: ErrorCode, now: Duration) {
        if self.state == State::Provisioning {
            self.state = State::Authorized;
        }
        self.error = code;
        self.extend_authorization(now);
    }
}
