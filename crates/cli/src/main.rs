//! `wifiprov`: Wi-Fi provisioning for headless devices.
//!
//! Subcommands: `device` (the provisioning agent). The client side (`provision`, `scan`,
//! `info`, `discover`, `demo`) builds on the same crates.

mod device;
mod logging;

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
    /// Run the device agent: serve ESP-IDF provisioning (SoftAP/HTTP) and join the network it
    /// is given.
    Device(Box<device::DeviceArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose);
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
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
