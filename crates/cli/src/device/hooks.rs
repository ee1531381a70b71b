//! Reporting provisioning events: log lines, `--events json` and `--event-hook`.

use std::io::Write;
use std::time::Duration;

use tokio::sync::broadcast;
use wifiprov_device::{ProvEvent, ssid_text};

use super::child::{ChildEnv, Group};

/// How long an event hook may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Consumes events until the channel closes.
pub async fn report(
    mut events: broadcast::Receiver<ProvEvent>,
    json: bool,
    hook: Option<String>,
    env: ChildEnv,
) {
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("{n} events were dropped (consumer too slow)");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        log(&event);
        if json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", event.to_json());
            let _ = out.flush();
        }
        if let Some(command) = &hook {
            run_hook(command, &event, &env).await;
        }
    }
}

fn log(event: &ProvEvent) {
    match event {
        ProvEvent::Init | ProvEvent::Deinit => tracing::debug!("provisioning {}", event.name()),
        ProvEvent::Start => tracing::info!("provisioning service started"),
        ProvEvent::CredRecv { ssid } => {
            tracing::info!("received credentials for {:?}; connecting", ssid_text(ssid))
        }
        ProvEvent::CredFail { error } => match error.fail_reason() {
            Some(reason) => tracing::warn!("connection failed: {reason} ({error})"),
            None => tracing::warn!("credentials not taken: {error}"),
        },
        ProvEvent::CredSuccess { link } => {
            tracing::info!(
                "connected to {:?}, address {}",
                ssid_text(&link.ssid),
                link.ip
            )
        }
        ProvEvent::End => tracing::info!("provisioning service stopped"),
    }
}

async fn run_hook(command: &str, event: &ProvEvent, env: &ChildEnv) {
    let mut cmd = env.command(command);
    cmd.env("WIFIPROV_EVENT", event.name());
    for (key, value) in event.fields() {
        cmd.env(format!("WIFIPROV_{}", key.to_ascii_uppercase()), value);
    }
    let mut group = match cmd.spawn() {
        Ok(child) => Group::new(child),
        Err(e) => return tracing::warn!("cannot run the event hook: {e}"),
    };
    let outcome = tokio::time::timeout(HOOK_TIMEOUT, group.child.wait()).await;
    match outcome {
        Ok(Ok(status)) if status.success() => {}
        Ok(Ok(status)) => tracing::warn!("event hook exited with {status}"),
        Ok(Err(e)) => tracing::warn!("cannot run the event hook: {e}"),
        Err(_) => {
            tracing::warn!("event hook timed out after {HOOK_TIMEOUT:?}");
            group.kill().await;
        }
    }
}
