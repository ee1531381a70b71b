//! `wifiprov`: Wi-Fi provisioning for headless devices.
//!
//! Subcommands: `demo` (try everything on a simulated device), `device` (the provisioning
//! agent), `provision` (esp_prov-compatible client, fleet mode), `scan`, `info`, `discover`,
//! `manage` / `status` / `networks` (the Wi-Fi manager), `smartconfig` (ESPTouch, AirKiss).

mod demo;
mod device;
mod discover;
mod fleet;
mod host;
mod logging;
mod manage;
mod provision;
mod route_flags;
mod serial;
mod smartconfig;
mod wifi;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Gets headless devices onto Wi-Fi (ESP-IDF provisioning compatible).
#[derive(Parser, Debug)]
#[command(name = "wifiprov", version, about, long_about = None)]
struct Cli {
    /// More log output (-v debug, -vv trace). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start a simulated device in-process and provision it, narrating every step.
    Demo(demo::DemoArgs),
    /// Provision a device (esp_prov-compatible flags), or many with --fleet.
    Provision(Box<provision::ProvisionArgs>),
    /// Show the Wi-Fi networks a device sees.
    Scan(Box<provision::ScanArgs>),
    /// Show a device's version and capabilities.
    Info(Box<provision::InfoArgs>),
    /// Find provisionable devices on the local network (mDNS `_esp_wifi_prov._tcp`).
    Discover(discover::DiscoverArgs),
    /// Keep this machine online from networks.json (micropython-wifimanager schema 2), with a
    /// fallback access point that serves provisioning.
    Manage(Box<manage::ManageArgs>),
    /// Show the running manager's state.
    Status(manage::StatusArgs),
    /// List or change the running manager's known networks.
    Networks(manage::NetworksArgs),
    /// Run the device agent: serve ESP-IDF provisioning (SoftAP/HTTP) and join the network it
    /// is given.
    Device(Box<device::DeviceArgs>),
    /// SmartConfig (ESPTouch v1/v2, AirKiss): send credentials as a phone does, or receive
    /// them as a device does.
    Smartconfig(smartconfig::SmartconfigArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo narrates by itself; its log lines would only interleave with the story.
    let quiet = matches!(cli.command, Command::Demo(_));
    logging::init(cli.verbose, quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Device(args) => device::run(*args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Provision(args) => provision::run(*args).await,
            Command::Scan(args) => provision::scan(*args).await,
            Command::Info(args) => provision::info(*args).await,
            Command::Discover(args) => discover::run(args).await,
            Command::Manage(args) => manage::manage(*args).await,
            Command::Status(args) => manage::status(args).await,
            Command::Networks(args) => manage::networks(args).await,
            Command::Smartconfig(args) => smartconfig::run(args).await,
        }
    });
    // A console on standard input leaves a read that cannot be cancelled; do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
