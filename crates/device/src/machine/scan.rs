//! The scan list: one scan at a time, results strongest first, pages clamped.

use wifiprov_wifi::{AccessPoint, WifiError};

/// Results per ScanResult page at most, whatever the client asks (bounds the reply size).
pub const MAX_RESULTS_PER_PAGE: usize = 255;

/// The state of the last scan.
#[derive(Debug, Default)]
pub(super) struct ScanList {
    running: bool,
    failed: bool,
    results: Vec<AccessPoint>,
}

impl ScanList {
    /// Starts a scan unless one runs; returns whether one was started. Starting clears the
    /// previous results.
    pub(super) fn start(&mut self) -> bool {
        if self.running {
            return false;
        }
        *self = ScanList {
            running: true,
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
