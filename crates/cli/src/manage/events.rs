//! The manager's events on this side: `--events json` (one object a line on stdout),
//! `--event-hook` (a command per event, run as the device agent runs its children: its own
//! process group, no `WIFIPROV_*` variables of ours) and the one-time banner of generated
//! secrets.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast;

use super::secrets::Generated;
use crate::device::child::{ChildEnv, run_bounded};

/// How long an event hook may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// What is done with each event.
pub struct Reporter {
    /// Print each event as a JSON line.
    pub json: bool,
    /// The `--event-hook` command.
    pub hook: Option<String>,
    /// The hook's environment.
    pub env: ChildEnv,
    /// Secrets to show once, when provisioning first serves.
    pub generated: Option<Generated>,
}

impl Reporter {
    /// Consumes events until the channel closes (the manager stopped).
    pub async fn run(mut self, mut events: broadcast::Receiver<Value>) {
        let mut essid = String::new();
        loop {
            let event = match events.recv().await {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("{n} manager events were dropped (consumer too slow)");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let name = event.get("event").and_then(Value::as_str).unwrap_or("");
            if name == "ap_up"
                && let Some(name) = event.get("essid").and_then(Value::as_str)
            {
                name.clone_into(&mut essid);
            }
            if self.json {
                print(&event.to_string());
            }
            // Shown when the secrets become usable: an HTTP route serves (it has an address).
            if name == "provisioning"
                && let Some(address) = event.get("address").and_then(Value::as_str)
                && let Some(generated) = self.generated.take()
            {
                match generated.banner(&essid, address, self.json) {
                    Ok(banner) => print(&banner),
                    Err(e) => tracing::error!("cannot show the generated secrets: {e:#}"),
                }
            }
            if let Some(command) = &self.hook {
                let vars = hook_env(&event);
                let _ = run_bounded(&self.env, command, vars, HOOK_TIMEOUT, "the event hook").await;
            }
        }
    }
}

/// One line on stdout (a closed stdout is not the manager's problem).
fn print(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The hook's variables: `WIFIPROV_EVENT` and one `WIFIPROV_<KEY>` per other field (text as
/// it is, lists joined with spaces, other values as JSON).
pub fn hook_env(event: &Value) -> Vec<(String, String)> {
    let Some(fields) = event.as_object() else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            (format!("WIFIPROV_{}", key.to_ascii_uppercase()), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_field_becomes_a_variable() {
        let env = hook_env(&json!({
            "event": "provisioning", "address": "127.0.0.1:80",
            "routes": ["http://127.0.0.1:80", "BLE"], "ip": null
        }));
        assert!(env.contains(&("WIFIPROV_EVENT".into(), "provisioning".into())));
        assert!(env.contains(&("WIFIPROV_ADDRESS".into(), "127.0.0.1:80".into())));
        assert!(env.contains(&("WIFIPROV_ROUTES".into(), "http://127.0.0.1:80 BLE".into())));
        assert!(!env.iter().any(|(k, _)| k == "WIFIPROV_IP"));
    }
}
