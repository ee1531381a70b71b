//! `wifiprov status` (with `--watch`) and `wifiprov networks`: clients of the running
//! manager's control socket.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::Value;
use wifi_manager::control::{self, Request};

use super::is_root;
use crate::exit::Exit;
use crate::output::outln;

/// `wifiprov status` flags.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Control socket [default: /run/wifiprov/manager.sock as root, else
    /// $XDG_RUNTIME_DIR/wifiprov/manager.sock or /tmp/wifiprov-$USER/manager.sock].
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Print the raw JSON answer (and with --watch the events as JSON lines).
    #[arg(long)]
    pub json: bool,
    /// Then follow the manager's events, one line each, until it stops (or Ctrl-C).
    #[arg(long)]
    pub watch: bool,
}

/// `wifiprov networks` subcommands.
#[derive(Args, Debug)]
pub struct NetworksArgs {
    /// Control socket (as for `wifiprov status`).
    #[arg(long, value_name = "PATH", global = true)]
    pub control: Option<PathBuf>,
    #[command(subcommand)]
    pub command: NetworksCommand,
}

/// What to do with the known networks.
#[derive(Subcommand, Debug)]
pub enum NetworksCommand {
    /// List the known networks, most preferred first.
    List,
    /// Add a network at the top (or move it there and update its password).
    Add {
        /// The SSID.
        ssid: String,
        /// The passphrase ('' or absent for an open network).
        #[arg(
            long = "passphrase",
            alias = "password",
            value_name = "PASSPHRASE",
            env = "WIFIPROV_PASSPHRASE",
            hide_env_values = true,
            default_value = ""
        )]
        password: String,
    },
    /// Remove a network.
    Remove {
        /// The SSID.
        ssid: String,
    },
    /// Put the networks in this order (all of them, most preferred first).
    Reorder {
        /// The SSIDs.
        ssids: Vec<String>,
    },
    /// Scan again now.
    Rescan,
}

pub(super) fn default_control() -> PathBuf {
    if is_root() {
        return PathBuf::from("/run/wifiprov/manager.sock");
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(dir).join("wifiprov/manager.sock");
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    PathBuf::from(format!("/tmp/wifiprov-{user}/manager.sock"))
}

async fn ask(control: Option<PathBuf>, request: Request) -> Result<Value> {
    let path = control.unwrap_or_else(default_control);
    let answer = control::request(&path, &request).await?;
    if answer.get("ok") != Some(&Value::Bool(true)) {
        return Err(Exit::Refused.error(
            answer
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the manager refused the request")
                .to_owned(),
        ));
    }
    Ok(answer)
}

/// `wifiprov status`, and with `--watch` the events that follow.
pub async fn status(args: StatusArgs) -> Result<Exit> {
    let path = args.control.clone().unwrap_or_else(default_control);
    // Subscribed before asking, so nothing between the answer and the stream is missed.
    let mut stream = match args.watch {
        true => Some(control::subscribe(&path).await?),
        false => None,
    };
    let answer = ask(Some(path), Request::Status).await?;
    if args.json {
        outln!("{answer}")?;
    } else {
        print_status(&answer)?;
    }
    let Some(stream) = &mut stream else {
        return Ok(Exit::Ok);
    };
    while let Some(event) = stream.next().await? {
        if args.json {
            outln!("{event}")?;
        } else {
            outln!("{}", describe(&event))?;
        }
    }
    Ok(Exit::Ok)
}

fn print_status(answer: &Value) -> Result<()> {
    let field = |k: &str| answer.get(k).and_then(Value::as_str);
    outln!("state:    {}", field("state").unwrap_or("-"))?;
    outln!("network:  {}", field("network").map_or("-".into(), quoted))?;
    outln!("address:  {}", field("ip").unwrap_or("-"))?;
    if answer.get("ap_up") == Some(&Value::Bool(true)) {
        let ssid = field("ap_ssid").map_or(String::new(), |s| format!(" {}", quoted(s)));
        outln!("AP:       up{ssid}")?;
        match (
            field("provisioning_address"),
            field("provisioning_unavailable"),
        ) {
            (Some(address), _) => outln!("provisioning at: {address}")?,
            (None, Some(reason)) => outln!("provisioning: unavailable ({reason})")?,
            (None, None) => outln!("provisioning at: -")?,
        }
    } else {
        outln!("AP:       down")?;
    }
    if let Some(outcome) = answer.get("last_outcome").filter(|o| !o.is_null()) {
        outln!("last outcome: {}", describe(outcome))?;
    }
    if let Some(failures) = answer
        .get("failures")
        .and_then(Value::as_object)
        .filter(|f| !f.is_empty())
    {
        outln!("last failures:")?;
        for (ssid, reason) in failures {
            outln!("  {}: {}", quoted(ssid), reason.as_str().unwrap_or("?"))?;
        }
    }
    Ok(())
}

/// Text from the manager (SSIDs come from networks and peers) quoted with its control
/// characters escaped, so it cannot drive the terminal.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// One line for a manager event.
fn describe(event: &Value) -> String {
    let field = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or("?");
    let ssid = || {
        event
            .get("ssid")
            .and_then(Value::as_str)
            .map_or("?".to_string(), quoted)
    };
    match field("event") {
        "joining" => format!("joining {}", ssid()),
        "connected" => format!("connected to {}, address {}", ssid(), field("ip")),
        "join_failed" => format!("joining {} failed: {}", ssid(), field("reason")),
        "ap_up" => format!("access point {} up", quoted(field("essid"))),
        "ap_down" => "access point down".to_string(),
        "ap_failed" => format!(
            "access point {} could not start: {}",
            quoted(field("essid")),
            field("reason")
        ),
        "provisioning" => match event.get("address").and_then(Value::as_str) {
            Some(address) => format!("provisioning at {address}"),
            None => "provisioning by SmartConfig".to_string(),
        },
        "provisioned" => format!("provisioned {}, address {}", ssid(), field("ip")),
        "provisioning_failed" => format!("provisioning failed: {}", field("reason")),
        "provisioning_unavailable" => format!("provisioning unavailable: {}", field("reason")),
        "network_added" => format!("network {} added", ssid()),
        "stopped" => "manager stopped".to_string(),
        _ => event.to_string(),
    }
}

/// `wifiprov networks …`.
pub async fn networks(args: NetworksArgs) -> Result<Exit> {
    let request = match args.command {
        NetworksCommand::List => Request::ListNetworks,
        NetworksCommand::Add { ssid, password } => Request::AddNetwork {
            ssid,
            password,
            enables_webrepl: false,
        },
        NetworksCommand::Remove { ssid } => Request::RemoveNetwork { ssid },
        NetworksCommand::Reorder { ssids } => Request::ReorderNetworks { ssids },
        NetworksCommand::Rescan => Request::Rescan,
    };
    let listing = matches!(request, Request::ListNetworks);
    let answer = ask(args.control, request).await?;
    if listing {
        for (i, net) in answer
            .get("networks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let ssid = net.get("ssid").and_then(Value::as_str).unwrap_or("?");
            let open = net.get("open") == Some(&Value::Bool(true));
            outln!("{:>2}. {ssid}{}", i + 1, if open { "  (open)" } else { "" })?;
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_read_as_sentences_with_ssids_escaped() {
        assert_eq!(
            describe(
                &json!({"event": "join_failed", "ssid": "Home\nNet", "reason": "network \"Home\" not found"})
            ),
            "joining \"Home\\nNet\" failed: network \"Home\" not found"
        );
        assert_eq!(
            describe(&json!({"event": "provisioning", "address": "127.0.0.1:80"})),
            "provisioning at 127.0.0.1:80"
        );
        assert_eq!(
            describe(&json!({"event": "ap_failed", "essid": "setup", "reason": "no AP mode"})),
            "access point \"setup\" could not start: no AP mode"
        );
        assert_eq!(
            describe(&json!({"event": "new_thing", "x": 1})),
            r#"{"event":"new_thing","x":1}"#
        );
    }
}
