//! Log lines on stderr: human-readable and colour-aware on a terminal, journald-friendly under
//! systemd, or one JSON object per line for log shippers (`--log-format`).

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written (`--log-format`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Plain text; under systemd without timestamps (the journal adds its own) and with a
    /// syslog priority prefix when stderr is the journal.
    #[default]
    Auto,
    /// Plain text with timestamps, wherever it goes.
    Plain,
    /// One JSON object per line: `timestamp`, `level`, `message`, `target` and the event's fields.
    Json,
}

/// Sets up logging: info by default (warnings only when `quiet`), debug with `-v`, trace
/// with `-vv`.
pub fn init(verbose: u8, quiet: bool, format: LogFormat) {
    let level = match verbose {
        0 if quiet => Level::WARN,
        0 => Level::INFO,
        1 => Level::DEBUG,
        _ => Level::TRACE,
    };
    if format == LogFormat::Json {
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    let systemd = format == LogFormat::Auto && under_systemd();
    let colour =
        !systemd && std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    let plain = format::format()
        .compact()
        .with_ansi(colour)
        .with_target(verbose > 1);
    let _ = if systemd && stderr_is_journal() {
        builder
            .event_format(Prioritised(plain.without_time()))
            .try_init()
    } else if systemd {
        builder.event_format(plain.without_time()).try_init()
    } else {
        builder.event_format(plain).try_init()
    };
}

/// Whether log lines are in JSON (the binary's last error is then logged too, not printed).
pub fn is_json(format: LogFormat) -> bool {
    format == LogFormat::Json
}

/// Run by systemd: it sets `INVOCATION_ID` for every service, `JOURNAL_STREAM` when an output
/// goes to the journal.
fn under_systemd() -> bool {
    std::env::var_os("INVOCATION_ID").is_some() || std::env::var_os("JOURNAL_STREAM").is_some()
}

/// Whether stderr is the journal stream systemd names in `JOURNAL_STREAM` (`DEVICE:INODE`), as
/// systemd.exec(5) says to check: a redirected stderr is not.
fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let Ok(stat) = nix::sys::stat::fstat(std::io::stderr()) else {
        return false;
    };
    dev.parse::<u64>().ok() == Some(stat.st_dev) && ino.parse::<u64>().ok() == Some(stat.st_ino)
}

/// Prefixes each line with its syslog priority (`<3>` error … `<7>` debug), which journald
/// reads as the entry's priority (`journalctl -p warning`).
struct Prioritised<F>(F);

impl<S, N, F> FormatEvent<S, N> for Prioritised<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// The syslog priority of a tracing level.
fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(priority(Level::ERROR), 3);
        assert_eq!(priority(Level::WARN), 4);
        assert_eq!(priority(Level::INFO), 6);
        assert_eq!(priority(Level::DEBUG), 7);
        assert_eq!(priority(Level::TRACE), 7);
    }
}
