//! What `status` reports beyond the policy's state (the access point, where provisioning
//! serves, the last outcome), and the events that go with it.

use serde_json::{Value, json};
use wifiprov_wifi::{ConnectError, LinkStatus};

use super::Runner;
use crate::policy::{Policy, State};

/// What the daemon remembers for `status` beyond the policy's state.
#[derive(Default)]
pub(super) struct Report {
    /// The access point's SSID while it is up.
    pub(super) ap_ssid: Option<String>,
    /// Where its provisioning service serves while it runs.
    pub(super) address: Option<String>,
    /// Why the access point serves no provisioning, when it could not start.
    pub(super) unavailable: Option<String>,
    /// The network being joined (for the `join_failed` event).
    pub(super) joining: Option<String>,
    /// The last join or provisioning outcome, as its event.
    pub(super) last_outcome: Option<Value>,
}

impl Runner {
    /// Reports a join attempt's result as an event and as the last outcome.
    pub(super) fn joined(&mut self, result: &Result<LinkStatus, ConnectError>) {
        let ssid = self.report.joining.take();
        match result {
            Ok(link) => self.outcome(json!({
                "event": "connected",
                "ssid": String::from_utf8_lossy(&link.ssid),
                "ip": link.ip.to_string(),
            })),
            Err(e) => self.outcome(json!({
                "event": "join_failed",
                "ssid": ssid,
                "reason": e.to_string(),
            })),
        }
    }

    /// Reports that the access point is up without its provisioning service.
    pub(super) fn unavailable(&mut self, reason: String) {
        self.emit(json!({"event": "provisioning_unavailable", "reason": reason}));
        self.report.unavailable = Some(reason);
    }

    /// Emits an outcome event and keeps it for `status`.
    pub(super) fn outcome(&mut self, event: Value) {
        self.report.last_outcome = Some(event.clone());
        self.emit(event);
    }
}

/// The `status` answer.
pub(super) fn status_json(policy: &Policy, report: &Report) -> Value {
    let status = policy.status();
    let state = match &status.state {
        State::Scanning => "scanning",
        State::Joining { .. } => "joining",
        State::Connected { .. } => "connected",
        State::NoNetwork { .. } => "no_network",
        State::Backoff { .. } => "backoff",
        State::Stopped => "stopped",
    };
    let failures: serde_json::Map<String, Value> = status
        .failures
        .iter()
        .map(|f| {
            (
                String::from_utf8_lossy(&f.ssid).into_owned(),
                Value::String(f.reason.to_string()),
            )
        })
        .collect();
    json!({
        "state": state,
        "network": status.network.as_ref().map(|s| String::from_utf8_lossy(s).into_owned()),
        "ip": status.ip.map(|ip| ip.to_string()),
        "ap_up": status.ap_up,
        "remote_console": status.remote_console,
        "failures": failures,
        "ap_ssid": report.ap_ssid,
        "provisioning_address": report.address,
        "provisioning_unavailable": report.unavailable,
        "last_outcome": report.last_outcome,
    })
}
