//! Telling systemd how a `Type=notify` service is doing (sd_notify): `READY=1` once the agent
//! listens or the manager runs, `STOPPING=1` when a signal stops it, `STATUS=` one line for
//! `systemctl status`. Without `NOTIFY_SOCKET` (not run by systemd) every call does nothing.

use std::future::Future;

use sd_notify::NotifyState;

/// The service is up; `status` is shown by `systemctl status`.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(&one_line(status))]);
}

/// The service is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// Waits for `signal`, then says the service is stopping.
pub async fn stop_on(signal: impl Future<Output = ()>) {
    signal.await;
    stopping();
}

/// A failed notification is logged, never fatal: the service itself still works (systemd
/// then reports the start as timed out).
fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}

/// `STATUS=` ends at a newline: keep the text on one line.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_stays_on_one_line() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
