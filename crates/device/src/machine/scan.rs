//! The scan list: one scan at a time, with parameters a radio would accept and a bounded
//! duration; results strongest first, pages clamped.

use std::time::Duration;

use protocomm::Instant;
use wifiprov_wifi::{AccessPoint, ScanParams, WifiError};

/// Results per ScanResult page at most, whatever the client asks (bounds the reply size).
pub const MAX_RESULTS_PER_PAGE: usize = 255;

/// Longest dwell time per channel a client may ask for, in milliseconds (ESP-IDF's limit for
/// an active scan, and what it recommends at most for a passive one).
pub const MAX_DWELL_MS: u32 = 1500;

/// Most channels a scan visits (2.4 GHz channels 1–14); `group_channels` above it means one
/// group of all channels.
pub const MAX_CHANNELS: u8 = 14;

/// Dwell time a backend uses for `period_ms = 0`, and the pause between channel groups.
const DEFAULT_DWELL_MS: u64 = 120;

/// Slack beyond the longest scan the parameters allow before the machine gives it up.
const SCAN_SLACK: Duration = Duration::from_secs(2);

/// `params` as a radio would run them: the dwell time at most [`MAX_DWELL_MS`] (0 still
/// means the backend's default), channel groups at most [`MAX_CHANNELS`] wide.
pub fn clamp_scan_params(params: ScanParams) -> ScanParams {
    ScanParams {
        passive: params.passive,
        group_channels: params.group_channels.min(MAX_CHANNELS),
        period_ms: params.period_ms.min(MAX_DWELL_MS),
    }
}

/// How long a scan with (clamped) `params` may take before it is given up as failed: every
/// channel at the dwell time, a pause after each, and some slack.
pub fn scan_time_limit(params: ScanParams) -> Duration {
    let dwell = match clamp_scan_params(params).period_ms {
        0 => DEFAULT_DWELL_MS,
        ms => u64::from(ms),
    };
    Duration::from_millis(u64::from(MAX_CHANNELS) * (dwell + DEFAULT_DWELL_MS)) + SCAN_SLACK
}

/// The state of the last scan.
#[derive(Debug, Default)]
pub(super) struct ScanList {
    running: bool,
    /// When the running scan is given up.
    deadline: Option<Instant>,
    failed: bool,
    results: Vec<AccessPoint>,
}

impl ScanList {
    /// Starts a scan unless one runs; returns whether one was started. Starting clears the
    /// previous results.
    pub(super) fn start(&mut self, deadline: Instant) -> bool {
        if self.running {
            return false;
        }
        *self = ScanList {
            running: true,
            deadline: Some(deadline),
            failed: false,
            results: Vec::new(),
        };
        true
    }

    /// Ends the running scan with its outcome; returns `None` when no scan was running,
    /// otherwise whether it succeeded. Results are sorted strongest first (the sort is
    /// stable, so equal RSSIs keep the backend's order) and cut to `max_entries`.
    pub(super) fn finish(
        &mut self,
        outcome: Result<Vec<AccessPoint>, WifiError>,
        max_entries: usize,
    ) -> Option<bool> {
        if !self.running {
            return None;
        }
        self.running = false;
        self.deadline = None;
        match outcome {
            Ok(mut found) => {
                found.sort_by_key(|ap| std::cmp::Reverse(ap.rssi));
                found.truncate(max_entries);
                self.results = found;
                self.failed = false;
            }
            Err(e) => {
                tracing::warn!("scan failed: {e}");
                self.results.clear();
                self.failed = true;
            }
        }
        Some(!self.failed)
    }

    /// When the running scan is given up, if one runs.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline.filter(|_| self.running)
    }

    /// `(finished, result_count)`, as ScanStatus reports them.
    pub(super) fn status(&self) -> (bool, usize) {
        (!self.running, self.results.len())
    }

    /// Entries `start .. start + count` (count at most [`MAX_RESULTS_PER_PAGE`]), clamped to
    /// what exists.
    pub(super) fn page(&self, start: usize, count: usize) -> &[AccessPoint] {
        let start = start.min(self.results.len());
        let end = start
            .saturating_add(count.min(MAX_RESULTS_PER_PAGE))
            .min(self.results.len());
        self.results.get(start..end).unwrap_or_default()
    }
}
