//! Reporting provisioning events: log lines, `--events json` and `--event-hook`.

use std::io::Write;
use std::time::Duration;

use tokio::sync::broadcast;
use wifiprov_device::{ProvError, ProvEvent, ssid_text};

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
            run_hook(command, &event, &env, HOOK_TIMEOUT).await;
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
        ProvEvent::CredFail { error } => tracing::warn!("{}", failure_line(error)),
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

/// The log line of a failure: what happened, and the coarser reason the client is told when
/// it differs (ESP-IDF's wire has only "auth error" and "network not found", so a timeout is
/// reported as an auth error; the log must not claim a wrong passphrase for it).
fn failure_line(error: &ProvError) -> String {
    let Some(reason) = error.fail_reason() else {
        return format!("credentials not taken: {error}");
    };
    let exact = match error {
        ProvError::Connect(e) => e.is_auth_error() || e.is_network_not_found(),
        _ => false,
    };
    // A connection error says what failed ("authentication failed: …", "connection to … timed
    // out"), so it is not prefixed with a second "failed".
    if exact {
        error.to_string()
    } else {
        format!("{error} (reported to the client as {})", reason.key())
    }
}

async fn run_hook(command: &str, event: &ProvEvent, env: &ChildEnv, timeout: Duration) {
    let mut cmd = env.command(command);
    cmd.env("WIFIPROV_EVENT", event.name());
    for (key, value) in event.fields() {
        cmd.env(format!("WIFIPROV_{}", key.to_ascii_uppercase()), value);
    }
    let mut group = match cmd.spawn() {
        Ok(child) => Group::new(child),
        Err(e) => return tracing::warn!("cannot run the event hook: {e}"),
    };
    let outcome = tokio::time::timeout(timeout, group.child.wait()).await;
    match outcome {
        Ok(Ok(status)) if status.success() => {}
        Ok(Ok(status)) => tracing::warn!("event hook exited with {status}"),
        Ok(Err(e)) => tracing::warn!("cannot run the event hook: {e}"),
        Err(_) => {
            tracing::warn!("event hook timed out after {timeout:?}");
            group.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use wifiprov_wifi::ConnectError;

    use super::*;

    #[tokio::test]
    async fn a_hook_that_times_out_takes_its_grandchildren_along() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let command = format!(
            "sleep 300 & echo $! > {}; echo \"$WIFIPROV_EVENT\" > {}.event; wait",
            pidfile.display(),
            pidfile.display()
        );
        let env = ChildEnv::default();
        run_hook(
            &command,
            &ProvEvent::Start,
            &env,
            Duration::from_millis(500),
        )
        .await;
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(super::super::child::gone(pid).await, "{pid} still runs");
        let event = std::fs::read_to_string(dir.path().join("pid.event")).unwrap();
        assert_eq!(event.trim(), ProvEvent::Start.name());
    }

    #[tokio::test]
    async fn a_cred_fail_hook_is_told_the_network() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        let command = format!(
            "printf '%s|%s' \"$WIFIPROV_SSID\" \"$WIFIPROV_REASON\" > {}",
            out.display()
        );
        let event = ProvEvent::CredFail {
            error: ProvError::Connect(ConnectError::AuthFailed {
                ssid: "Home\nNet".into(),
            }),
        };
        run_hook(&command, &event, &ChildEnv::default(), HOOK_TIMEOUT).await;
        // The SSID, escaped as every peer-supplied SSID is, not the error text.
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "Home\\x0aNet|auth_error"
        );
    }

    #[test]
    fn failures_are_logged_as_what_happened() {
        let ssid = "Home".to_string();
        let line = |e: ConnectError| failure_line(&ProvError::Connect(e));
        let not_found = line(ConnectError::NetworkNotFound { ssid: ssid.clone() });
        assert!(not_found.contains("not found"), "{not_found}");
        assert!(!not_found.contains("passphrase"), "{not_found}");
        let timeout = line(ConnectError::Timeout { ssid: ssid.clone() });
        assert!(!timeout.contains("passphrase"), "{timeout}");
        assert!(timeout.contains("timed out"), "{timeout}");
        assert!(
            timeout.contains("reported to the client as auth_error"),
            "{timeout}"
        );
        let auth = line(ConnectError::AuthFailed { ssid });
        assert!(auth.contains("wrong passphrase"), "{auth}");
        assert!(!auth.contains("reported"), "{auth}");
    }
}
