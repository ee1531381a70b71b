//! Progress output on stderr: symbols, colour and a spinner on a terminal, plain lines
//! otherwise, nothing but errors with `--json`.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::report::Failure;
use crate::exit::Exit;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A terminal: symbols, colour (unless `NO_COLOR`) and a spinner.
    Fancy { colour: bool },
    /// A pipe or file: one plain line per step.
    Plain,
    /// `--json`: only errors.
    Quiet,
}

/// Writes progress to stderr.
#[derive(Clone, Debug)]
pub struct Ui {
    mode: Mode,
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl Ui {
    /// Progress for the current stderr; `quiet` (for `--json`) keeps only errors.
    pub fn new(quiet: bool) -> Self {
        let terminal =
            std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        let mode = if quiet {
            Mode::Quiet
        } else if terminal {
            Mode::Fancy {
                colour: std::env::var_os("NO_COLOR").is_none(),
            }
        } else {
            Mode::Plain
        };
        Ui { mode }
    }

    /// Whether output goes to a terminal with symbols.
    pub fn is_fancy(&self) -> bool {
        matches!(self.mode, Mode::Fancy { .. })
    }

    fn paint(&self, colour: &str, text: &str) -> String {
        match self.mode {
            Mode::Fancy { colour: true } => format!("{colour}{text}{RESET}"),
            _ => text.to_string(),
        }
    }

    /// A completed step: `✓ text`.
    pub fn step(&self, text: &str) {
        match self.mode {
            Mode::Fancy { .. } => eprintln!("{} {text}", self.paint(GREEN, "✓")),
            Mode::Plain => eprintln!("{text}"),
            Mode::Quiet => {}
        }
    }

    /// Extra information under a step.
    pub fn note(&self, text: &str) {
        match self.mode {
            Mode::Fancy { .. } => eprintln!("  {}", self.paint(DIM, text)),
            Mode::Plain => eprintln!("  {text}"),
            Mode::Quiet => {}
        }
    }

    /// A failure, with its hint. Shown in every mode (with `--json` on stderr, besides the
    /// JSON object on stdout).
    pub fn fail(&self, failure: &Failure) {
        if failure.code == Exit::OutputClosed {
            return;
        }
        match self.mode {
            _ if failure.shown => {}
            Mode::Fancy { .. } => eprintln!("{} {}", self.paint(RED, "✗"), failure.message),
            Mode::Plain | Mode::Quiet => eprintln!("error: {}", failure.message),
        }
        if let Some(hint) = &failure.hint {
            match self.mode {
                Mode::Quiet => eprintln!("  hint: {hint}"),
                _ => self.note(&format!("hint: {hint}")),
            }
        }
    }

    /// Something that takes a while: a spinner on a terminal, a `… text` line otherwise.
    /// The spinner stops when the returned value is dropped.
    pub fn wait(&self, text: &str) -> Waiting {
        match self.mode {
            Mode::Fancy { colour } => Waiting::spin(text.to_string(), colour),
            Mode::Plain => {
                eprintln!("… {text}");
                Waiting::none()
            }
            Mode::Quiet => Waiting::none(),
        }
    }
}

/// A running spinner; [`Waiting::set`] changes its text.
pub struct Waiting {
    /// The text; `None` once stopped. Held while drawing, so that no frame is drawn after
    /// the line was cleared.
    text: Option<Arc<Mutex<Option<String>>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

impl Waiting {
    fn none() -> Self {
        Waiting {
            text: None,
            task: None,
        }
    }

    fn spin(text: String, colour: bool) -> Self {
        let shared = Arc::new(Mutex::new(Some(text)));
        let reader = shared.clone();
        let started = Instant::now();
        let (dim, reset) = if colour { (DIM, RESET) } else { ("", "") };
        let task = tokio::spawn(async move {
            let mut frames = FRAMES.iter().cycle();
            let mut tick = tokio::time::interval(Duration::from_millis(80));
            loop {
                tick.tick().await;
                let Ok(guard) = reader.lock() else { return };
                let Some(text) = guard.as_deref() else { return };
                let frame = frames.next().copied().unwrap_or("…");
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\r\x1b[2K{frame} {text} {dim}{:.1} s{reset}",
                    started.elapsed().as_secs_f64()
                );
                let _ = err.flush();
            }
        });
        Waiting {
            text: Some(shared),
            task: Some(task),
        }
    }

    /// Replaces the spinner's text.
    pub fn set(&self, text: String) {
        if let Some(shared) = &self.text
            && let Ok(mut t) = shared.lock()
            && t.is_some()
        {
            *t = Some(text);
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(shared) = self.text.take()
            && let Ok(mut t) = shared.lock()
        {
            *t = None;
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Writes `text` to stdout. A closed stdout (`wifiprov scan | head -1`) is an error that
/// ends the run quietly (see [`crate::output`]).
pub fn out(text: &str) -> Result<(), Failure> {
    crate::output::out!("{text}").map_err(Failure::output)
}

/// Seconds with one decimal, for messages.
pub fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
