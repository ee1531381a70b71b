//! Asking on the terminal for what the flags left out: hidden input for secrets (PoP, SRP
//! password, passphrase), visible input for the rest, and the network choice.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::exit::Exit;
use wifiprov_wifi::AccessPoint;
use zeroize::Zeroizing;

use super::report::Failure;
use super::table;

/// Whether prompts may be shown: stdin and stderr are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The error for input that is missing while there is nobody to ask.
pub fn missing(what: &str, flag: &str) -> Failure {
    Failure::usage(format!(
        "{what} is needed: pass {flag} (there is no terminal to ask on)"
    ))
}

/// Milliseconds this process spent waiting for answers, so that reported durations can
/// leave the user's thinking time out.
static WAITED_MS: AtomicU64 = AtomicU64::new(0);

/// How long prompts have waited for answers so far.
pub fn time_waiting() -> Duration {
    Duration::from_millis(WAITED_MS.load(Ordering::Relaxed))
}

/// Runs blocking terminal input off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Failure::new(Exit::Usage, format!("the prompt failed: {e}")));
    let waited = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    WAITED_MS.fetch_add(waited, Ordering::Relaxed);
    result?
}

fn read_line(prompt: &str) -> Result<String, Failure> {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) => Err(Failure::usage("no answer: the input ended")),
        Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_string()),
        Err(e) => Err(Failure::usage(format!("cannot read the answer: {e}"))),
    }
}

/// Asks for a visible answer.
pub async fn ask(prompt: String) -> Result<String, Failure> {
    blocking(move || read_line(&prompt)).await
}

/// Asks a yes/no question; an empty answer is yes.
pub async fn confirm(question: &str) -> Result<bool, Failure> {
    let question = question.to_string();
    blocking(move || {
        loop {
            let answer = read_line(&question)?;
            match answer.trim().to_ascii_lowercase().as_str() {
                "" | "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => eprintln!("Please answer y or n"),
            }
        }
    })
    .await
}

/// Asks for a secret without echoing it.
pub async fn ask_secret(prompt: String) -> Result<Zeroizing<String>, Failure> {
    blocking(move || {
        rpassword::prompt_password(&prompt)
            .map(Zeroizing::new)
            .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))
    })
    .await
}

/// What the user picked from the scan.
pub enum Choice {
    /// Scan again.
    Rescan,
    /// This network.
    Network {
        /// Its SSID.
        ssid: Vec<u8>,
        /// Whether it needs no passphrase.
        open: bool,
    },
}

/// Shows the scan and asks for a number until the answer is valid.
pub async fn choose(aps: Vec<AccessPoint>, unicode: bool) -> Result<Choice, Failure> {
    blocking(move || {
        eprintln!();
        if aps.is_empty() {
            eprintln!("The device sees no networks.");
        } else {
            eprint!("{}", table::render(&aps, unicode));
        }
        loop {
            let answer = read_line("Select network by number (0 to rescan): ")?;
            match answer.trim().parse::<usize>() {
                Ok(0) => return Ok(Choice::Rescan),
                Ok(n) => {
                    if let Some(ap) = n.checked_sub(1).and_then(|i| aps.get(i)) {
                        let ssid = if ap.ssid.is_empty() {
                            hidden_ssid()?
                        } else {
                            ap.ssid.clone()
                        };
                        return Ok(Choice::Network {
                            ssid,
                            open: !ap.auth.needs_passphrase(),
                        });
                    }
                }
                Err(_) => {}
            }
            eprintln!("Invalid input, try again");
        }
    })
    .await
}

fn hidden_ssid() -> Result<Vec<u8>, Failure> {
    loop {
        let name = read_line("SSID of the hidden network: ")?;
        if !name.is_empty() && name.len() <= 32 {
            return Ok(name.into_bytes());
        }
        eprintln!("An SSID is 1 to 32 bytes, try again");
    }
}
