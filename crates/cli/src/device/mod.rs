//! `wifiprov device`: the long-running provisioning agent.
//!
//! The flags become an agent (`setup`) and its routes (`routes`: HTTP, BLE, SmartConfig, the
//! console, the mDNS announcement); the agent runs until provisioning ends, a signal arrives,
//! or the console it is reached through closes.

pub(crate) mod args;
pub(crate) mod ble;
pub(crate) mod child;
mod custom;
mod hooks;
mod http_limits;
pub(crate) mod qr;
mod routes;
mod setup;

pub use args::DeviceArgs;
pub(crate) use setup::security_from;

use std::time::Duration;

use anyhow::{Context, Result};
use wifiprov_device::CredentialStore;
use wifiprov_wifi::sim::SimEnvironment;

use crate::exit::{Exit, ExitContext};
use crate::host::{default_service_name, default_state_dir, shutdown_signal};
use crate::output::out;

/// Examples at the end of `wifiprov device --help` (run by tests/readme_examples.rs).
pub const EXAMPLES: &str = "\
Examples:
  An agent on loopback with the simulated radio (security 2), and a client provisioning it:
  $ wifiprov device --wifi sim --listen 127.0.0.1:8090 --security 2 --sec2-username wifiprov --sec2-password choose-a-password &
  $ wifiprov provision --service-name 127.0.0.1:8090 --sec2-username wifiprov --sec2-password choose-a-password --ssid HomeNet --passphrase correct-horse
  The simulator's networks (SSIDs and passphrases to try):
  $ wifiprov device --sim-list";

/// Runs the agent until provisioning ends or a signal arrives.
pub async fn run(args: DeviceArgs) -> Result<Exit> {
    let args = args.merge_config_file().exit(Exit::Config)?;
    if args.sim_list {
        out!("{}", SimEnvironment::builtin_table())?;
        return Ok(Exit::Ok);
    }
    // Contradicting secrets are refused before anything else happens.
    setup::check_args(&args)?;
    let wifi = args.wifi.backend().await?;
    let state_dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    let store = CredentialStore::open(&state_dir)
        .with_context(|| format!("cannot use the state directory {}", state_dir.display()))
        .exit(Exit::Config)?;
    if !args.force
        && let Some(stored) = store.load().exit(Exit::Config)?
    {
        let exit = setup::join_stored(wifi.as_ref(), stored).await?;
        if exit == Exit::Ok {
            crate::service::ready("provisioned: joined the stored network");
        }
        return Ok(exit);
    }

    let security = setup::security(&args).exit(Exit::Usage)?;
    let service_name = args
        .service_name
        .clone()
        .unwrap_or_else(default_service_name);
    let child_env = child::ChildEnv {
        pass: args.child_env.clone(),
    };
    let mut routes =
        routes::Routes::from_args(&args, &service_name, &child_env).exit(Exit::Usage)?;
    let builder = routes
        .add_to(setup::builder(&args, security.clone(), wifi.clone(), store).exit(Exit::Usage)?);
    let (json, hook) = (args.events.is_some(), args.event_hook.clone());
    let mut reporter = None;
    // Caught from here on: a signal while the routes start (a SmartConfig route may already
    // hold the radio) ends the run cleanly instead of killing the process.
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let starting = builder.start_observed(|manager| {
        reporter = Some(tokio::spawn(hooks::report(
            manager.subscribe(),
            json,
            hook,
            child_env,
        )))
    });
    let agent = tokio::select! {
        agent = starting => agent.map_err(|e| setup::start_error(e, routes.listen))?,
        () = &mut stop => {
            // Whatever had started is dropped with the runtime (a SmartConfig source gives
            // its radio back then).
            tracing::info!("stopping on signal while starting");
            return Ok(Exit::Ok);
        }
    };

    setup::warn_about(&security);
    let places: Vec<String> = agent.places().iter().map(ToString::to_string).collect();
    tracing::info!(
        "serving provisioning as {service_name:?} on {} (security {}, {} backend)",
        places.join(" and "),
        security.version(),
        wifi.name()
    );
    crate::service::ready(&format!("serving provisioning on {}", places.join(" and ")));
    if args.qr {
        // Phone apps reach an unprovisioned device over BLE when it offers it.
        let transport = if routes.ble { "ble" } else { "softap" };
        let http = agent.places().iter().find_map(|place| match place {
            wifiprov_agent::Place::Http(addr) => Some(*addr),
            _ => None,
        });
        setup::print_qr(&args, &service_name, &security, transport, http)?;
    }
    let signal = async {
        stop.await;
        tracing::info!("stopping on signal");
    };
    agent.run_until(signal).await;
    crate::service::stopping();
    // Let the reporter print the last events.
    if let Some(reporter) = reporter {
        let _ = tokio::time::timeout(Duration::from_secs(2), reporter).await;
    }
    Ok(Exit::Ok)
}
