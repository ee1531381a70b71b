//! `wifiprov manage`, `wifiprov status`, `wifiprov networks`: the Wi-Fi manager and its
//! control commands.
//!
//! `manage` reads its flags and `--config` file (`args`), builds the fallback provisioning
//! service (making up secrets when none are given: `secrets`), runs the daemon of the
//! `wifi-manager` crate and reports its events (`events`: JSON lines, the hook, the one-time
//! banner). `status` and `networks` talk to it over the control socket (`control`).

mod args;
mod control;
mod events;
mod secrets;

pub use args::ManageArgs;
pub use control::{NetworksArgs, StatusArgs, networks, status};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use protocomm::Security;
use tokio::sync::broadcast;
use wifi_manager::daemon::{DaemonConfig, Fallback, run as run_daemon};
use wifi_manager::policy::Outcome;
use wifiprov_agent::{HttpRoute, Route};
use zeroize::Zeroizing;

use crate::exit::{Exit, ExitContext};
use crate::output::outln;
use secrets::Generated;

fn is_root() -> bool {
    std::env::var("USER").is_ok_and(|u| u == "root")
        || std::env::var_os("HOME").is_some_and(|h| h == "/root")
}

fn default_networks() -> PathBuf {
    if is_root() {
        return PathBuf::from("/etc/wifiprov/networks.json");
    }
    match std::env::var_os("XDG_CONFIG_HOME").or_else(|| {
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".config").into_os_string())
    }) {
        Some(dir) => PathBuf::from(dir).join("wifiprov/networks.json"),
        None => PathBuf::from("/etc/wifiprov/networks.json"),
    }
}

/// Runs the manager.
pub async fn manage(args: ManageArgs) -> Result<Exit> {
    let mut args = args.merge_config_file().exit(Exit::Config)?;
    let mut ap_network = args.ap_network();
    if args.portal.portal {
        // DHCP tells phones where the portal is (RFC 8910) and, with the portal's DNS
        // responder, to ask it for every name.
        let port = args.portal.listen(Some(args.listen())).port();
        let host = args.portal.portal_address.unwrap_or(ap_network.address);
        let url = if port == 80 {
            format!("http://{host}/api/captive")
        } else {
            format!("http://{host}:{port}/api/captive")
        };
        ap_network.captive_portal = Some(url);
        ap_network.dns = args.portal.serves_dns();
    }
    let no_dhcp = !ap_network.dhcp && args.ap_dhcp.as_deref() != Some("off");
    args.wifi.ap_network = Some(ap_network);
    let wifi = args.wifi.backend().await?;
    if no_dhcp && wifi.name() == "wpa_supplicant" {
        tracing::warn!(
            "dnsmasq not found: a phone joining the access point gets no address from it \
             (install dnsmasq, or pass --ap-dhcp off to silence this)"
        );
    }
    let networks = args.networks.clone().unwrap_or_else(default_networks);
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("wifiprov-manage-{}", std::process::id()))
    });
    let (provisioning, generated) = fallback(&args).exit(Exit::Usage)?;
    let (events, receiver) = broadcast::channel(64);
    let reporter = events::Reporter {
        json: args.events.is_some(),
        hook: args.event_hook.clone(),
        env: crate::device::child::ChildEnv {
            pass: args.child_env.clone(),
        },
        generated,
    };
    let reporter = tokio::spawn(reporter.run(receiver));
    let config = DaemonConfig {
        networks,
        interval: Duration::from_secs(args.interval.unwrap_or(30).max(1)),
        once: args.once,
        control: (!args.once).then(|| {
            args.control
                .clone()
                .unwrap_or_else(control::default_control)
        }),
        provisioning,
        remote_console: args.remote_console.clone(),
        state_dir,
        events: Some(events),
    };
    // The daemon first waits on this future once its control socket is bound and its first
    // actions are under way: the moment systemd hears it is ready.
    let stop = crate::host::shutdown_signal();
    let shutdown = async {
        crate::service::ready("managing Wi-Fi");
        crate::service::stop_on(stop).await;
    };
    let outcome = run_daemon(config, wifi, shutdown).await;
    // The last events (`stopped`) are printed and hooked before the verdict.
    let _ = tokio::time::timeout(Duration::from_secs(2), reporter).await;
    match outcome? {
        Some(Outcome::Connected { ssid, ip }) => {
            outln!(
                "connected to {:?}, address {ip}",
                String::from_utf8_lossy(&ssid)
            )?;
            Ok(Exit::Ok)
        }
        Some(Outcome::Failed { failures }) => {
            if failures.is_empty() {
                outln!("no known network to join")?;
            }
            for failure in failures {
                outln!(
                    "{:?}: {}",
                    String::from_utf8_lossy(&failure.ssid),
                    failure.reason
                )?;
            }
            Ok(Exit::WifiFailed)
        }
        None => Ok(Exit::Ok),
    }
}

/// The fallback provisioning service the flags ask for: HTTP (and BLE) when protocomm
/// credentials are given or generated, SmartConfig when its source is. Generated secrets
/// come back to be shown once.
fn fallback(args: &ManageArgs) -> Result<(Option<Fallback>, Option<Generated>)> {
    let smartconfig = args.smartconfig.route(args.wifi.station())?;
    let mut scheme = args
        .security
        .or(if args.pop.is_some() { Some(1) } else { None });
    let no_srp = args.username.is_none() && args.password.is_none();
    // What is missing for an ESP-IDF provisioning service nobody could otherwise use.
    let missing = match scheme {
        Some(1) => args.pop.is_none(),
        Some(0) => false,
        _ => no_srp && smartconfig.is_none(),
    };
    let generated = if missing && args.generates_secrets() && !args.once {
        let security = scheme.unwrap_or(2);
        scheme = Some(security);
        Some(Generated {
            security,
            username: (security == 2).then(|| secrets::USERNAME.to_string()),
            secret: secrets::random_secret()?,
        })
    } else {
        None
    };
    let (pop, username, password) = match &generated {
        Some(g) if g.security == 1 => (Some(Zeroizing::new(g.secret.to_string())), None, None),
        Some(g) => (
            None,
            g.username.clone(),
            Some(Zeroizing::new(g.secret.to_string())),
        ),
        None => (
            args.pop.clone().map(Zeroizing::new),
            args.username.clone(),
            args.password.clone().map(Zeroizing::new),
        ),
    };
    let protocomm = generated.is_some()
        || !matches!((scheme, &username, &password), (Some(2) | None, None, None));
    let mut routes: Vec<Arc<dyn Route>> = Vec::new();
    let name = args
        .service_name
        .clone()
        .unwrap_or_else(crate::host::default_service_name);
    args.improv.check()?;
    if args.improv.improv_ble && !args.ble {
        bail!("--improv-ble needs --ble");
    }
    let improv = if args.improv.any() {
        let env = crate::device::child::ChildEnv {
            pass: args.child_env.clone(),
        };
        Some(args.improv.settings(&name, &env)?)
    } else {
        None
    };
    let security = if protocomm {
        routes.push(Arc::new(HttpRoute::new(args.listen())));
        if args.ble {
            let mut route = crate::device::ble::route(
                args.ble_adapter.as_deref(),
                args.ble_service_uuid.as_deref(),
                None,
                &name,
            )?;
            if let (true, Some(settings)) = (args.improv.improv_ble, &improv) {
                route = route.with_improv(settings.clone());
            }
            routes.push(Arc::new(route));
        }
        crate::device::security_from(
            scheme,
            pop.as_deref().map(String::as_str),
            username.as_deref(),
            password.as_deref().map(String::as_str),
            None,
            None,
            None,
        )?
    } else {
        // Nothing reaches the protocomm service then; the scheme does not matter.
        Security::Sec0
    };
    if let Some(route) = smartconfig {
        routes.push(Arc::new(route));
    }
    if let Some(route) = improv.as_ref().and_then(|s| args.improv.serial_route(s)) {
        routes.push(Arc::new(route));
    }
    if let Some(mut route) = args.portal.route(Some(args.listen()))? {
        // The portal answers DNS with the access point's own address.
        if args.portal.portal_address.is_none() {
            route = route.with_address(args.ap_network().address);
        }
        routes.push(Arc::new(route));
    }
    if routes.is_empty() {
        tracing::info!(
            "fallback provisioning is off: give --pop (security 1) or --sec2-username/--sec2-password \
             (security 2), or a SmartConfig source, or let them be generated \
             (--generate-secrets on)"
        );
        return Ok((None, None));
    }
    if !protocomm {
        tracing::info!(
            "fallback provisioning by SmartConfig only (give --pop or --sec2-username/--sec2-password to \
             serve ESP-IDF provisioning too)"
        );
    }
    if let Some(g) = &generated {
        tracing::info!(
            "no provisioning secrets given: generated a {} for security {}; it is printed once \
             on standard output if the access point comes up and serves provisioning",
            if g.security == 1 {
                "proof of possession"
            } else {
                "password"
            },
            g.security
        );
    }
    let fallback = Fallback {
        security,
        routes,
        address: args.provisioning_address().map(|a| a.to_string()),
    };
    Ok((Some(fallback), generated))
}
