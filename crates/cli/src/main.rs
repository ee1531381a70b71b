//! `wifiprov`: Wi-Fi provisioning for headless devices.
//!
//! Subcommands: `demo` (try everything on a simulated device), `device` (the provisioning
//! agent), `provision` (esp_prov-compatible client, fleet mode), `scan`, `info`, `discover`,
//! `manage` / `status` / `networks` (the Wi-Fi manager), `smartconfig` (ESPTouch, AirKiss).

mod demo;
mod device;
mod discover;
mod docs;
mod exit;
mod fleet;
mod host;
mod improv_flags;
mod logging;
mod manage;
mod output;
mod portal_flags;
mod provision;
mod route_flags;
mod serial;
mod service;
mod smartconfig;
mod wifi;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use exit::Exit;

/// Gets headless devices onto Wi-Fi (ESP-IDF provisioning compatible).
#[derive(Parser, Debug)]
#[command(name = "wifiprov", version, about, long_about = None, after_long_help = exit::table())]
struct Cli {
    /// More log output (-v debug, -vv trace). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log lines: `auto` (plain; under systemd without timestamps), `plain` (with timestamps)
    /// or `json` (one object per line).
    #[arg(
        long,
        value_enum,
        global = true,
        default_value_t,
        value_name = "FORMAT"
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start a simulated device in-process and provision it, narrating every step.
    #[command(after_help = exit::help(&[Exit::System, Exit::OutputClosed]))]
    Demo(demo::DemoArgs),
    /// Provision a device (esp_prov-compatible flags), or many with --fleet.
    #[command(
        after_help = provision::short_help(),
        after_long_help = provision::long_help()
    )]
    Provision(Box<provision::ProvisionArgs>),
    /// Show the Wi-Fi networks a device sees.
    #[command(after_long_help = provision::scan_help())]
    Scan(Box<provision::ScanArgs>),
    /// Show a device's version and capabilities.
    #[command(after_long_help = provision::info_help())]
    Info(Box<provision::InfoArgs>),
    /// Find provisionable devices on the local network (mDNS `_esp_wifi_prov._tcp`).
    #[command(after_help = exit::help(&[Exit::System, Exit::OutputClosed]))]
    Discover(discover::DiscoverArgs),
    /// Keep this machine online from networks.json (micropython-wifimanager schema 2), with a
    /// fallback access point that serves provisioning.
    #[command(after_help = manage_help())]
    Manage(Box<manage::ManageArgs>),
    /// Show the running manager's state.
    #[command(after_help = exit::help(&[Exit::Unreachable, Exit::Refused, Exit::OutputClosed]))]
    Status(manage::StatusArgs),
    /// List or change the running manager's known networks.
    #[command(after_help = exit::help(&[Exit::Unreachable, Exit::Refused, Exit::OutputClosed]))]
    Networks(manage::NetworksArgs),
    /// Run the device agent: serve ESP-IDF provisioning (SoftAP/HTTP) and join the network it
    /// is given.
    #[command(after_help = device_help())]
    Device(Box<device::DeviceArgs>),
    /// SmartConfig (ESPTouch v1/v2, AirKiss): send credentials as a phone does, or receive
    /// them as a device does.
    #[command(after_help = smartconfig::help())]
    Smartconfig(smartconfig::SmartconfigArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(hide = true)]
    Completions(docs::CompletionsArgs),
    /// Write the man pages into a directory.
    #[command(hide = true)]
    Man(docs::ManArgs),
}

/// The exit codes of `wifiprov manage`.
fn manage_help() -> String {
    let codes = exit::help(&[
        Exit::WifiFailed,
        Exit::Config,
        Exit::System,
        Exit::OutputClosed,
    ]);
    let once = exit::wrap(
        "With --once, 0 means a known network was joined and 5 that none could be (the reason \
         for each network is printed). 2 also means the access point could come up with \
         nothing serving provisioning (--generate-secrets off and no secrets).",
        "",
    );
    format!("{codes}\n{once}")
}

/// The exit codes of `wifiprov device`.
fn device_help() -> String {
    let codes = exit::help(&[
        Exit::WifiFailed,
        Exit::Config,
        Exit::System,
        Exit::OutputClosed,
    ]);
    let stored = exit::wrap(
        "5: already provisioned, and the stored network could not be joined (--force serves \
         provisioning anyway).",
        "",
    );
    format!("{codes}\n{stored}\n\n{}", device::EXAMPLES)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo narrates by itself; its log lines would only interleave with the story.
    let quiet = matches!(cli.command, Command::Demo(_));
    let log_format = cli.log_format;
    logging::init(cli.verbose, quiet, log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::System.into();
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
            Command::Completions(args) => docs::completions(Cli::command(), &args),
            Command::Man(args) => docs::man(Cli::command(), &args),
        }
    });
    // A console on standard input leaves a read that cannot be cancelled; do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            let exit = exit::classify(&e);
            // A reader that went away needs no explanation.
            if exit != Exit::OutputClosed && logging::is_json(log_format) {
                tracing::error!("{}", exit::message(&*e));
            } else if exit != Exit::OutputClosed {
                eprintln!("error: {}", exit::message(&*e));
            }
            exit.into()
        }
    }
}
