//! Standard output, for results only (progress and logs go to stderr).
//!
//! `println!` panics when the reader of standard output has gone away (`wifiprov scan |
//! head -1`: EPIPE, since Rust ignores SIGPIPE). Writing through [`write_fmt`] (or the
//! [`out!`] and [`outln!`] macros) turns that into an error carrying
//! [`Exit::OutputClosed`], which `main` ends the run with, quietly; any other write failure
//! is [`Exit::System`].

use std::fmt;
use std::io::{self, Write};

use crate::exit::Exit;

/// Writes `args` to standard output and flushes it.
pub fn write_fmt(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_fmt(args)
        .and_then(|()| stdout.flush())
        .map_err(failed)
}

/// The error for a failed write to standard output.
pub fn failed(error: io::Error) -> anyhow::Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Exit::OutputClosed.wrap(error)
    } else {
        Exit::System.wrap(anyhow::Error::new(error).context("cannot write to standard output"))
    }
}

/// `print!` to standard output, as an `anyhow::Result<()>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_fmt(format_args!($($arg)*))
    };
}

/// `println!` to standard output, as an `anyhow::Result<()>`.
macro_rules! outln {
    () => {
        $crate::output::write_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_is_a_closed_output_and_other_failures_are_the_systems() {
        let closed = failed(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(crate::exit::classify(&closed), Exit::OutputClosed);
        let full = failed(io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(crate::exit::classify(&full), Exit::System);
        assert!(format!("{full:#}").starts_with("cannot write to standard output"));
    }
}
