//! Settings of the provisioning machine.

use std::time::Duration;

/// Settings of the provisioning machine (and so of the [`Manager`](crate::Manager)), with
/// ESP-IDF's defaults.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// Stop the service once the client has seen the connection succeed (default true).
    pub auto_stop: bool,
    /// Delay between the decision to stop and the stop, so the last response can leave
    /// (default 1 s, at least 100 ms).
    pub cleanup_delay: Duration,
    /// Stop this long after the connection succeeded even if no client asks (default 30 s).
    pub autostop_timeout: Duration,
    /// Delay between ApplyConfig (once the credentials are stored) and the first connection
    /// attempt (default 1 s).
    pub connect_delay: Duration,
    /// Most scan results kept, strongest first (default 16).
    pub scan_max_entries: usize,
    /// Connection attempts per set of credentials; 0 (default) means one attempt with
    /// ESP-IDF's legacy failure handling.
    pub max_attempts: u32,
    /// After a failure, go back to accepting credentials without CtrlReset (ESP-IDF example's
    /// "reset state machine on failure").
    pub reset_on_failure: bool,
    /// In legacy mode, how often transient failures (link lost, no address, timeout) are
    /// retried before they are reported.
    pub transient_retries: u32,
    /// Most sessions with credentials set (SetConfig) but not applied yet; when a further
    /// session sets credentials, the oldest entry is dropped (default 8, at least 1).
    pub max_pending: usize,
}

/// The shortest cleanup delay (ESP-IDF's minimum).
pub const MIN_CLEANUP_DELAY: Duration = Duration::from_millis(100);

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            auto_stop: true,
            cleanup_delay: Duration::from_millis(1000),
            autostop_timeout: Duration::from_secs(30),
            connect_delay: Duration::from_secs(1),
            scan_max_entries: 16,
            max_attempts: 0,
            reset_on_failure: false,
            transient_retries: 3,
            max_pending: 8,
        }
    }
}
