//! The `--improv-*` flags shared by `wifiprov device` and `wifiprov manage`: Improv Wi-Fi on a
//! serial port (ESP Web Tools) and next to the ESP GATT service over BLE (Home Assistant).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use wifiprov_agent::console::ConsoleIo;
use wifiprov_agent::improv::{Authorizer, Hook, ImprovSettings};
use wifiprov_agent::{ImprovSerialRoute, RouteError};

use crate::device::child::{ChildEnv, run_bounded};

/// How long the identify, hostname and authorize commands may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The `--improv-*` flags.
#[derive(Args, Debug, Default, Clone)]
pub struct ImprovArgs {
    /// Also speak Improv Wi-Fi on this serial port or pseudo-terminal (ESP Web Tools, the
    /// improv-wifi-serial-sdk), or on stdin/stdout with "-". It may sit beside the ESP
    /// console on another port.
    #[arg(long, value_name = "PATH", help_heading = "Improv")]
    pub improv_serial: Option<PathBuf>,
    /// Baud rate of --improv-serial (a terminal only) [default: unchanged].
    #[arg(long, value_name = "BAUD", help_heading = "Improv")]
    pub improv_baud: Option<u32>,
    /// Also serve Improv's GATT service over BLE, next to the ESP one on the same adapter
    /// (needs BLE: --transport ble on `device`, --ble on `manage`).
    #[arg(long, help_heading = "Improv")]
    pub improv_ble: bool,
    /// The URL the client is sent to once the device is on the network: {ip} is the address
    /// it got, {hostname} its hostname, {port} the HTTP port; "" for none [default:
    /// http://{ip}, with :{port} when HTTP serves on a port other than 80].
    #[arg(long, value_name = "TEMPLATE", help_heading = "Improv")]
    pub improv_url: Option<String>,
    /// The device name Improv reports and may change [default: the service name].
    #[arg(long, value_name = "NAME", help_heading = "Improv")]
    pub improv_device_name: Option<String>,
    /// Run this shell command when a client asks the device to identify itself (blink a LED).
    #[arg(long, value_name = "CMD", help_heading = "Improv")]
    pub improv_identify_command: Option<String>,
    /// Run this shell command to set the hostname a client sends, given in
    /// $WIFIPROV_HOSTNAME; without it the hostname cannot be set.
    #[arg(long, value_name = "CMD", help_heading = "Improv")]
    pub improv_hostname_command: Option<String>,
    /// How BLE clients get authorized: "always" (anyone in range; logged as a warning),
    /// "command:CMD" (authorized while CMD succeeds, asked twice a second) or "gpio:PATH" (a
    /// sysfs GPIO value file; "1" authorizes) [default: always].
    #[arg(long, value_name = "HOW", help_heading = "Improv")]
    pub improv_authorize: Option<String>,
    /// How long an authorization lasts, in seconds [default: 60].
    #[arg(long, value_name = "SECONDS", help_heading = "Improv")]
    pub improv_authorize_timeout: Option<u64>,
}

fn command_hook(env: &ChildEnv, command: &str, what: &'static str, var: &'static str) -> Hook {
    let (env, command) = (env.clone(), command.to_owned());
    Arc::new(move |args: Vec<String>| {
        let (env, command) = (env.clone(), command.clone());
        let vars: Vec<(String, String)> = args
            .into_iter()
            .take(1)
            .map(|value| (var.to_owned(), value))
            .collect();
        Box::pin(async move { run_bounded(&env, &command, vars, COMMAND_TIMEOUT, what).await })
    })
}

fn authorizer(how: &str, env: &ChildEnv) -> Result<Authorizer> {
    if how == "always" {
        return Ok(Authorizer::Always);
    }
    if let Some(command) = how.strip_prefix("command:") {
        let (env, command) = (env.clone(), command.to_owned());
        return Ok(Authorizer::Poll(Arc::new(move || {
            let (env, command) = (env.clone(), command.clone());
            Box::pin(async move {
                run_bounded(&env, &command, [], COMMAND_TIMEOUT, "the authorize command").await
            })
        })));
    }
    if let Some(path) = how.strip_prefix("gpio:") {
        let path = PathBuf::from(path);
        return Ok(Authorizer::Poll(Arc::new(move || {
            // A sysfs value file answers at once.
            let pressed = std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == "1");
            Box::pin(std::future::ready(pressed))
        })));
    }
    bail!("--improv-authorize {how:?}: expected always, command:CMD or gpio:PATH")
}

impl ImprovArgs {
    /// Whether any Improv route is asked for.
    pub fn any(&self) -> bool {
        self.improv_serial.is_some() || self.improv_ble
    }

    /// Whether Improv serial runs on stdin/stdout.
    pub fn on_stdio(&self) -> bool {
        self.improv_serial
            .as_deref()
            .is_some_and(|p| p.as_os_str() == "-")
    }

    /// Checks that the settings flags come with a route.
    pub fn check(&self) -> Result<()> {
        let settings = self.improv_baud.is_some()
            || self.improv_url.is_some()
            || self.improv_device_name.is_some()
            || self.improv_identify_command.is_some()
            || self.improv_hostname_command.is_some()
            || self.improv_authorize.is_some()
            || self.improv_authorize_timeout.is_some();
        if settings && !self.any() {
            bail!("the --improv-* settings need --improv-serial or --improv-ble");
        }
        if self.improv_baud.is_some() && self.improv_serial.is_none() {
            bail!("--improv-baud needs --improv-serial");
        }
        if self.on_stdio() && self.improv_baud.is_some() {
            bail!("--improv-baud applies to a serial port, not to stdin/stdout");
        }
        Ok(())
    }

    /// The settings both Improv routes share; `name` is the default device name.
    pub fn settings(&self, name: &str, env: &ChildEnv) -> Result<ImprovSettings> {
        let mut settings = ImprovSettings::new(self.improv_device_name.as_deref().unwrap_or(name));
        settings.redirect_url = self.improv_url.clone();
        settings.identify = self
            .improv_identify_command
            .as_deref()
            .map(|c| command_hook(env, c, "the identify command", "WIFIPROV_IDENTIFY"));
        settings.set_hostname = self
            .improv_hostname_command
            .as_deref()
            .map(|c| command_hook(env, c, "the hostname command", "WIFIPROV_HOSTNAME"));
        settings.authorizer =
            authorizer(self.improv_authorize.as_deref().unwrap_or("always"), env)?;
        if self.improv_ble && matches!(settings.authorizer, Authorizer::Always) {
            tracing::warn!(
                "Improv BLE takes credentials from anyone in radio range (--improv-authorize \
                 always); use command:CMD or gpio:PATH to require a button press"
            );
        }
        if let Some(secs) = self.improv_authorize_timeout {
            if secs == 0 {
                bail!("--improv-authorize-timeout must be at least 1 second");
            }
            settings.authorization_timeout = Duration::from_secs(secs);
        }
        Ok(settings)
    }

    /// The serial route, if --improv-serial is given.
    pub fn serial_route(&self, settings: &ImprovSettings) -> Option<ImprovSerialRoute> {
        let path = self.improv_serial.clone()?;
        if path.as_os_str() == "-" {
            let open = || -> Result<ConsoleIo, RouteError> {
                Ok((Box::new(tokio::io::stdin()), Box::new(tokio::io::stdout())))
            };
            let place = "Improv on stdin/stdout";
            return Some(ImprovSerialRoute::new(
                place,
                Arc::new(open),
                settings.clone(),
            ));
        }
        let baud = self.improv_baud;
        let place = format!("Improv on {}", path.display());
        let open = move || -> Result<ConsoleIo, RouteError> {
            let (reader, writer) = crate::serial::open(&path, baud)
                .map_err(|e| RouteError::other(crate::exit::message(&*e)))?;
            Ok((Box::new(reader), Box::new(writer)))
        };
        Some(ImprovSerialRoute::new(
            place,
            Arc::new(open),
            settings.clone(),
        ))
    }
}
