//! Defaults taken from this machine, and the stop signal, shared by the subcommands that run
//! for a while (`device`, `manage`, `smartconfig listen`).

use std::path::PathBuf;

/// The state directory: `$XDG_STATE_HOME/wifiprov`, `/var/lib/wifiprov` as root, else
/// `~/.local/state/wifiprov`.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("wifiprov");
    }
    let is_root = std::env::var("USER").is_ok_and(|u| u == "root")
        || std::env::var_os("HOME").is_some_and(|h| h == "/root");
    if is_root {
        return PathBuf::from("/var/lib/wifiprov");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/wifiprov"),
        None => PathBuf::from("/var/lib/wifiprov"),
    }
}

/// The machine id (or, without one, the boot id), trimmed.
fn machine_id() -> String {
    std::fs::read_to_string("/etc/machine-id")
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/random/boot_id"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `PROV_` and six hex digits derived from the machine id (stable across restarts).
pub fn default_service_name() -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in machine_id().bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("PROV_{:06X}", hash & 0x00ff_ffff)
}

/// A locally administered unicast MAC derived from the machine id (stable across runs), the
/// one SmartConfig acknowledgements announce.
pub fn default_mac() -> [u8; 6] {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in machine_id().bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let [_, _, _, a, b, c, d, e] = hash.to_be_bytes();
    [0x02, a, b, c, d, e]
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed by this call, not
/// when the future is first polled: a signal right after a service reported itself ready
/// (see `service`) is already caught.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    async move {
        tokio::select! {
            () = wait_for(interrupt.as_mut()) => {}
            () = wait_for(terminate.as_mut()) => {}
        }
    }
}

/// Resolves when `signal` arrives; never without a handler.
async fn wait_for(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mac_is_local_unicast() {
        let mac = default_mac();
        assert_eq!(mac[0] & 0x03, 0x02);
        assert_eq!(mac, default_mac());
    }

    #[test]
    fn default_service_name_is_prov_and_six_hex_digits() {
        let name = default_service_name();
        assert_eq!(name, default_service_name());
        let digits = name.strip_prefix("PROV_").unwrap();
        assert_eq!(digits.len(), 6);
        assert!(digits.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    }
}
