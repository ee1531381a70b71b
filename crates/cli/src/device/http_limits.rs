//! The HTTP transport's limits from `wifiprov device`'s flags, and the open-file limit they
//! must fit in.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Result, bail};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use tracing::{info, warn};
use wifiprov_transport::http::HttpConfig;

use super::DeviceArgs;

/// File descriptors kept out of the HTTP connection cap: the listener, standard streams,
/// logs, the state directory, D-Bus and BLE sockets, wpa_supplicant's control socket, hooks'
/// pipes, the mDNS sockets.
pub(super) const FD_RESERVE: u64 = 64;

/// Raises the soft open-file limit to the hard one and returns the soft limit now in force
/// (`None` when it cannot be read).
pub(super) fn raise_nofile_limit() -> Option<u64> {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            warn!(error = %e, "cannot read the open-file limit");
            return None;
        }
    };
    if soft >= hard {
        return Some(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => Some(hard),
        Err(e) => {
            warn!(error = %e, soft, hard, "cannot raise the open-file limit");
            Some(soft)
        }
    }
}

/// The connection cap that fits `soft_limit` open files (after [`FD_RESERVE`]), at least 1.
pub(super) fn fitted_cap(configured: usize, soft_limit: Option<u64>) -> usize {
    let Some(soft) = soft_limit else {
        return configured;
    };
    let room = usize::try_from(soft.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
    configured.min(room).max(1)
}

/// The HTTP transport's settings: `listen`, the `--http-*` flags, the cap fitted to the
/// open-file limit (raised first), logged.
pub(super) fn http_config(args: &DeviceArgs, listen: SocketAddr) -> Result<HttpConfig> {
    let mut config = HttpConfig::new(listen);
    let seconds = |flag: &str, value: Option<u64>, default: Duration| -> Result<Duration> {
        match value {
            Some(0) => bail!("--{flag} must be at least 1 second"),
            Some(s) => Ok(Duration::from_secs(s)),
            None => Ok(default),
        }
    };
    config.idle_timeout = seconds(
        "http-idle-timeout",
        args.http_idle_timeout,
        config.idle_timeout,
    )?;
    config.head_timeout = seconds(
        "http-head-timeout",
        args.http_head_timeout,
        config.head_timeout,
    )?;
    config.body_timeout = seconds(
        "http-body-timeout",
        args.http_body_timeout,
        config.body_timeout,
    )?;
    if args.http_max_connections == Some(0) {
        bail!("--http-max-connections must be at least 1");
    }
    if args.http_max_per_source == Some(0) {
        bail!("--http-max-per-source must be at least 1");
    }
    let configured = args.http_max_connections.unwrap_or(config.max_connections);
    let soft = raise_nofile_limit();
    config.max_connections = fitted_cap(configured, soft);
    config.max_per_source = args
        .http_max_per_source
        .map(|n| n.min(config.max_connections));
    info!(
        max_connections = config.max_connections,
        configured,
        open_file_limit = soft,
        reserved = FD_RESERVE,
        "HTTP connection cap"
    );
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_the_open_file_limit() {
        assert_eq!(fitted_cap(1024, Some(100)), 36);
        assert_eq!(fitted_cap(16, Some(100)), 16);
        assert_eq!(fitted_cap(1024, Some(10)), 1);
        assert_eq!(fitted_cap(1024, None), 1024);
    }
}
