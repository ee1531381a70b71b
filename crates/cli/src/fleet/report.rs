//! What fleet mode tells: a line per finished device, the closing summary, the JSON report
//! and the exit status. None of it ever contains a PoP, an SRP password or a passphrase.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use wifiprov_client::{Error, ExitCode as ClientExit, FailReason, TransportError};

/// Exit status of a device whose Wi-Fi join failed.
const WIFI_FAILED: u8 = ClientExit::WifiFailed as u8;

/// Why one device failed, in a form that sorts, groups and serialises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Stable machine-readable key (`wrong_passphrase`, `unreachable`, …).
    pub reason: &'static str,
    /// The process exit code this failure maps to.
    pub exit_code: u8,
    /// The full explanation.
    pub message: String,
}

impl Failure {
    /// Classifies a client error.
    pub fn from_client(error: &Error) -> Failure {
        let reason = match error {
            Error::WifiFailed {
                reason: FailReason::AuthError,
                ..
            } => "wrong_passphrase",
            Error::WifiFailed {
                reason: FailReason::NetworkNotFound,
                ..
            } => "network_not_found",
            Error::WifiFailed { .. } => "wifi_failed",
            Error::Auth(_) => "auth_failed",
            Error::Session(_) if error.is_auth() => "auth_failed",
            Error::Session(_) if error.exit_code() == ClientExit::Usage => "usage",
            Error::Transport(TransportError::Timeout(_)) | Error::Timeout(_) => "timeout",
            Error::Transport(_) => "unreachable",
            Error::Session(_) | Error::Protocol(_) | Error::Decode { .. } => "protocol_error",
            Error::Refused { .. } | Error::Unsupported(_) => "refused",
            Error::Usage(_) => "usage",
            _ => "error",
        };
        Failure {
            reason,
            exit_code: error.exit_code() as u8,
            message: crate::exit::message(error),
        }
    }

    /// A row whose transport fleet mode cannot drive.
    pub fn unsupported_transport(transport: &str) -> Failure {
        Failure {
            reason: "unsupported_transport",
            exit_code: ClientExit::Usage as u8,
            message: format!(
                "transport {transport:?} is not supported in fleet mode (use softap or httpd; \
                 provision BLE and console devices one at a time)"
            ),
        }
    }

    /// A device announcing another protocol version than `--proto_ver` asks for.
    pub fn proto_ver_mismatch(announced: &str, wanted: &str) -> Failure {
        Failure {
            reason: "proto_ver_mismatch",
            exit_code: ClientExit::Refused as u8,
            message: format!(
                "protocol version mismatch: the device speaks {announced}, --proto_ver asks for \
                 {wanted}"
            ),
        }
    }

    /// A device task that ended abnormally.
    pub fn internal(what: impl std::fmt::Display) -> Failure {
        Failure {
            reason: "internal_error",
            exit_code: 1,
            message: what.to_string(),
        }
    }
}

/// How a reason key reads in the summary.
fn reason_label(reason: &str) -> &str {
    match reason {
        "wrong_passphrase" => "wrong passphrase",
        "network_not_found" => "network not found",
        "wifi_failed" => "could not join the network",
        "auth_failed" => "authentication failed (PoP / SRP credentials)",
        "timeout" => "timed out",
        "unreachable" => "unreachable",
        "protocol_error" => "unexpected answer",
        "refused" => "refused by the device",
        "usage" => "unusable settings",
        "unsupported_transport" => "unsupported transport",
        "proto_ver_mismatch" => "protocol version mismatch",
        "internal_error" => "internal error",
        other => other,
    }
}

/// The result for one device (one CSV row); an entry of the JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceReport {
    /// The row's line in the CSV file.
    pub line: u64,
    /// `host:port` of the device.
    pub service_name: String,
    /// The transport used.
    pub transport: String,
    /// Whether the device joined its network.
    pub ok: bool,
    /// 0 on success, else the exit code of the failure.
    pub exit_code: u8,
    /// The address the device obtained.
    pub ip: Option<String>,
    /// The network the device was given.
    pub ssid: String,
    /// The security scheme used, once known.
    pub sec_ver: Option<u8>,
    /// Time spent on this device, in milliseconds.
    pub elapsed_ms: u64,
    /// What went wrong, in words.
    pub error: Option<String>,
    /// What went wrong, as a stable key.
    pub reason: Option<&'static str>,
}

/// The whole JSON report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Devices in the file.
    pub total: usize,
    /// Devices that joined their network.
    pub succeeded: usize,
    /// Devices that did not.
    pub failed: usize,
    /// From the first device started to the last finished, in milliseconds.
    pub wall_ms: u64,
    /// Per-device time percentiles, in milliseconds.
    pub p50_ms: u64,
    /// 95th percentile.
    pub p95_ms: u64,
    /// 99th percentile.
    pub p99_ms: u64,
    /// The exit status of the run.
    pub exit_code: u8,
    /// One entry per row, in file order.
    pub devices: Vec<DeviceReport>,
}

/// Milliseconds, saturating.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The `percent`-th percentile (nearest rank) of `sorted`, 0 when empty.
pub fn percentile(sorted: &[u64], percent: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = u64::try_from(sorted.len()).unwrap_or(u64::MAX);
    let rank = (percent.saturating_mul(n).div_ceil(100)).clamp(1, n);
    usize::try_from(rank - 1)
        .ok()
        .and_then(|index| sorted.get(index))
        .copied()
        .unwrap_or(0)
}

/// The exit status of a fleet run: 0 when every device succeeded; otherwise 5 when any
/// device could not join its Wi-Fi network; otherwise the exit code of the failed device
/// that comes first in the file.
pub fn exit_code(devices: &[DeviceReport]) -> u8 {
    let mut failed = devices.iter().filter(|d| !d.ok);
    let Some(first) = devices.iter().filter(|d| !d.ok).min_by_key(|d| d.line) else {
        return 0;
    };
    if failed.any(|d| d.exit_code == WIFI_FAILED) {
        WIFI_FAILED
    } else {
        first.exit_code
    }
}

impl Report {
    /// Builds the report; `devices` may come in any order.
    pub fn new(mut devices: Vec<DeviceReport>, wall: Duration) -> Report {
        devices.sort_by_key(|d| d.line);
        let mut times: Vec<u64> = devices.iter().map(|d| d.elapsed_ms).collect();
        times.sort_unstable();
        let succeeded = devices.iter().filter(|d| d.ok).count();
        Report {
            total: devices.len(),
            succeeded,
            failed: devices.len() - succeeded,
            wall_ms: millis(wall),
            p50_ms: percentile(&times, 50),
            p95_ms: percentile(&times, 95),
            p99_ms: percentile(&times, 99),
            exit_code: exit_code(&devices),
            devices,
        }
    }

    /// The closing summary for stderr.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "fleet: {} device{} in {:.2} s: {} ok, {} failed",
            self.total,
            if self.total == 1 { "" } else { "s" },
            self.wall_ms as f64 / 1000.0,
            self.succeeded,
            self.failed
        );
        let mut by_reason: BTreeMap<(&str, u8), usize> = BTreeMap::new();
        for device in self.devices.iter().filter(|d| !d.ok) {
            *by_reason
                .entry((device.reason.unwrap_or("error"), device.exit_code))
                .or_default() += 1;
        }
        let mut reasons: Vec<_> = by_reason.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for ((reason, code), count) in reasons {
            let _ = writeln!(
                out,
                "  failed: {count:>4} x {} (exit {code})",
                reason_label(reason)
            );
        }
        let _ = writeln!(
            out,
            "  per device: p50 {} ms, p95 {} ms, max {} ms",
            self.p50_ms,
            self.p95_ms,
            self.devices.iter().map(|d| d.elapsed_ms).max().unwrap_or(0)
        );
        let _ = write!(out, "  exit status {}", self.exit_code);
        out
    }
}

/// The line printed when device number `done` of `total` has finished.
pub fn progress_line(
    done: usize,
    total: usize,
    name_width: usize,
    device: &DeviceReport,
) -> String {
    let digits = total.to_string().len();
    let status = if device.ok {
        format!(
            "ok {} ({} ms)",
            device.ip.as_deref().unwrap_or("(no address)"),
            device.elapsed_ms
        )
    } else {
        format!(
            "failed: {} (exit {}, {} ms)",
            device.error.as_deref().unwrap_or("unknown error"),
            device.exit_code,
            device.elapsed_ms
        )
    };
    format!(
        "[{done:>digits$}/{total}] {:<name_width$}  {status}",
        device.service_name
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn device(line: u64, exit_code: u8) -> DeviceReport {
        DeviceReport {
            line,
            service_name: format!("10.0.0.{line}:80"),
            transport: "softap".into(),
            ok: exit_code == 0,
            exit_code,
            ip: (exit_code == 0).then(|| "192.168.1.42".into()),
            ssid: "HomeNet".into(),
            sec_ver: Some(1),
            elapsed_ms: line * 10,
            error: (exit_code != 0).then(|| "boom".into()),
            reason: (exit_code != 0).then_some("unreachable"),
        }
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), 50);
        assert_eq!(percentile(&v, 95), 95);
        assert_eq!(percentile(&v, 99), 99);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn the_exit_status_prefers_wifi_failures_then_the_first_row() {
        assert_eq!(exit_code(&[device(2, 0), device(3, 0)]), 0);
        assert_eq!(exit_code(&[device(4, 4), device(2, 3), device(5, 0)]), 3);
        assert_eq!(exit_code(&[device(2, 3), device(3, 5), device(4, 4)]), 5);
    }

    #[test]
    fn the_summary_groups_failures() {
        let report = Report::new(
            vec![device(3, 3), device(2, 0), device(4, 3)],
            Duration::from_millis(1234),
        );
        assert_eq!(report.devices[0].line, 2);
        let text = report.summary();
        assert!(
            text.contains("3 devices in 1.23 s: 1 ok, 2 failed"),
            "{text}"
        );
        assert!(text.contains("2 x unreachable (exit 3)"), "{text}");
        assert!(text.ends_with("exit status 3"), "{text}");
        let line = progress_line(1, 100, 12, &report.devices[0]);
        assert_eq!(line, "[  1/100] 10.0.0.2:80   ok 192.168.1.42 (20 ms)");
        let line = progress_line(2, 3, 0, &report.devices[1]);
        assert_eq!(line, "[2/3] 10.0.0.3:80  failed: boom (exit 3, 30 ms)");
    }
}
