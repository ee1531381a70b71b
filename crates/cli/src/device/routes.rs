//! `wifiprov device`'s transport and route flags as the agent's routes, checked before
//! anything starts: HTTP, BLE, SmartConfig, Improv, the console, then the mDNS announcement of
//! HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use wifiprov_agent::console::{ConsoleIo, ConsoleRoute};
use wifiprov_agent::{AgentBuilder, HttpRoute, MdnsRoute, Route, RouteError};
use wifiprov_transport::console::{ConsoleConfig, DEFAULT_MAX_LINE};

use super::child::ChildEnv;
use super::{DeviceArgs, ble};

/// The routes to start, in order, each required or not.
pub(super) struct Routes {
    /// Where HTTP listens (also when it is off: the bind hint names it).
    pub listen: SocketAddr,
    /// Whether BLE is among them (the QR code then names BLE).
    pub ble: bool,
    list: Vec<(Box<dyn Route>, bool)>,
}

impl Routes {
    /// The routes `args` ask for; `service_name` is what BLE and mDNS announce.
    pub fn from_args(args: &DeviceArgs, service_name: &str, env: &ChildEnv) -> Result<Routes> {
        let listen = args.listen.unwrap_or_else(|| args.portal.http_default());
        let wants = |name: &str| args.transport.iter().any(|t| t == name);
        let http = args.transport.is_empty() || wants("http");
        let (ble, console) = (wants("ble"), wants("console"));
        if args.serial.is_some() && !console {
            bail!("--serial needs --transport console (or http,console)");
        }
        let ble_flags = args.ble_adapter.is_some()
            || args.ble_service_uuid.is_some()
            || args.ble_manufacturer_data.is_some();
        if ble_flags && !ble {
            bail!("the --ble-* settings need --transport ble (or e.g. http,ble)");
        }
        if console && args.serial.is_none() && (args.qr || args.events.is_some()) {
            bail!(
                "--qr and --events print on stdout, which the console uses; serve it on --serial"
            );
        }
        let mut list: Vec<(Box<dyn Route>, bool)> = Vec::new();
        if http {
            let config = super::http_limits::http_config(args, listen)?;
            list.push((Box::new(HttpRoute::with_config(config)), true));
        }
        args.improv.check()?;
        if args.improv.improv_ble && !ble {
            bail!("--improv-ble needs --transport ble (or e.g. http,ble)");
        }
        if args.improv.improv_serial.is_some() && args.improv.improv_serial == args.serial {
            bail!("--improv-serial and --serial name the same port; give each its own");
        }
        if args.improv.on_stdio()
            && ((console && args.serial.is_none()) || args.qr || args.events.is_some())
        {
            bail!("Improv on stdin/stdout cannot share them with the console, --qr or --events");
        }
        let improv = if args.improv.any() {
            Some(args.improv.settings(service_name, env)?)
        } else {
            None
        };
        if ble {
            let mut route = ble::route(
                args.ble_adapter.as_deref(),
                args.ble_service_uuid.as_deref(),
                args.ble_manufacturer_data.as_deref(),
                service_name,
            )?;
            if let (true, Some(settings)) = (args.improv.improv_ble, &improv) {
                route = route.with_improv(settings.clone());
            }
            list.push((Box::new(route), true));
        }
        if let Some(route) = args.smartconfig.route(args.wifi.station())? {
            list.push((Box::new(route), true));
        }
        if let Some(route) = improv.as_ref().and_then(|s| args.improv.serial_route(s)) {
            list.push((Box::new(route), true));
        }
        if let Some(route) = args.portal.route(http.then_some(listen))? {
            list.push((Box::new(route), true));
        }
        if console {
            // Without HTTP or BLE nothing can reach the agent once its console has ended.
            let route = console_route(args).ending_the_agent(!http && !ble);
            list.push((Box::new(route), true));
        }
        // Announced unless HTTP is off or listens on loopback, or --mdns says otherwise.
        let mdns = match args.mdns.as_deref() {
            Some("on") => Some(true),
            Some(_) => None,
            None => Some(false),
        };
        if let (true, Some(on_loopback)) = (http, mdns) {
            let route = MdnsRoute::new(service_name).on_loopback(on_loopback);
            list.push((Box::new(route), false));
        }
        Ok(Routes { listen, ble, list })
    }

    /// Adds the routes to `builder`.
    pub fn add_to(&mut self, mut builder: AgentBuilder) -> AgentBuilder {
        for (route, required) in self.list.drain(..) {
            builder = if required {
                builder.route(route)
            } else {
                builder.optional_route(route)
            };
        }
        builder
    }
}

/// The console on `--serial` (opened afresh at every start) or on stdin/stdout.
fn console_route(args: &DeviceArgs) -> ConsoleRoute {
    let config = ConsoleConfig {
        max_line: args.console_max_line.map_or(DEFAULT_MAX_LINE, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        }),
        echo: !args.console_no_echo,
    };
    let Some(path) = args.serial.clone() else {
        return ConsoleRoute::stdio(config);
    };
    let place = format!("the console on {}", path.display());
    let baud = args.baud;
    let open = move |path: &PathBuf| -> Result<ConsoleIo, RouteError> {
        let (reader, writer) = crate::serial::open(path, baud)
            .map_err(|e| RouteError::other(crate::exit::message(&*e)))?;
        Ok((Box::new(reader), Box::new(writer)))
    };
    ConsoleRoute::new(place, Arc::new(move || open(&path)), config)
}
