//! Human-readable, colour-aware log lines on stderr.

use std::io::IsTerminal;

use tracing::Level;

/// Sets up logging: info by default (warnings only when `quiet`), debug with `-v`, trace
/// with `-vv`.
pub fn init(verbose: u8, quiet: bool) {
    let level = match verbose {
        0 if quiet => Level::WARN,
        0 => Level::INFO,
        1 => Level::DEBUG,
        _ => Level::TRACE,
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(verbose > 1)
        .compact()
        .try_init();
}
