//! The exit codes of `wifiprov`: one table for every subcommand.
//!
//! Every subcommand returns an [`Exit`]; an error reaching `main` is classified by
//! [`classify`]: a code attached where the error arose ([`ExitContext::exit`],
//! [`Exit::error`]) wins, then the typed errors of the libraries decide (the client's exit
//! code, a [`WifiErrorKind`], an I/O error kind), and anything else is [`Exit::Failure`].
//! The `--help` texts and the README are generated from or checked against [`TABLE`].

use std::fmt;

use wifi_manager::control::ControlError;
use wifi_manager::daemon::DaemonError;
use wifiprov_wifi::{ConnectError, WifiError, WifiErrorKind};

/// How a run of `wifiprov` ended, as its process exit code.
///
/// 0 and 2 to 7 are `wifiprov provision`'s documented codes, which esp_prov-compatible
/// scripts rely on; every other subcommand gives them the same meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Any failure the table does not name.
    Failure = 1,
    /// Invalid flags or arguments.
    Usage = 2,
    /// The device or the manager daemon does not answer.
    Unreachable = 3,
    /// Authentication failed.
    Auth = 4,
    /// A Wi-Fi network could not be joined.
    WifiFailed = 5,
    /// Refused in the current state.
    Refused = 6,
    /// Timed out.
    Timeout = 7,
    /// The input ended without a result.
    NothingReceived = 8,
    /// A file cannot be used (configuration, input, state, report).
    Config = 9,
    /// The local system failed.
    System = 10,
    /// The device is throttling authentication attempts.
    Throttled = 11,
    /// Interrupted by a signal before the work was done.
    Interrupted = 130,
    /// Standard output was closed by its reader.
    OutputClosed = 141,
}

/// Every code with a short label and its meaning, in order: the source of the help texts
/// and of the README's table.
pub const TABLE: &[(Exit, &str, &str)] = &[
    (
        Exit::Ok,
        "ok",
        "success (provision: the device joined the network, or --reset / --reprov was accepted)",
    ),
    (
        Exit::Failure,
        "error",
        "another error, named in the message (please report it if the message does not help)",
    ),
    (
        Exit::Usage,
        "usage",
        "usage: invalid flags or arguments, or input missing while there is no terminal to \
         ask on",
    ),
    (
        Exit::Unreachable,
        "unreachable",
        "unreachable: nothing answers at the device's address (or the manager's control \
         socket), or it does not speak provisioning",
    ),
    (
        Exit::Auth,
        "authentication failed",
        "authentication failed: wrong PoP, SRP username or password, or a security scheme \
         the device does not use",
    ),
    (
        Exit::WifiFailed,
        "Wi-Fi join failed",
        "a Wi-Fi network could not be joined: wrong passphrase, network not found, …",
    ),
    (
        Exit::Refused,
        "refused",
        "refused in the current state: credentials already applied (--reset first), a \
         request the device or the manager declines, a missing capability, a busy radio",
    ),
    (
        Exit::Timeout,
        "timed out",
        "timed out: no outcome, reply or message before the deadline (--timeout)",
    ),
    (
        Exit::NothingReceived,
        "nothing received",
        "nothing received: a capture or input ended without a complete message",
    ),
    (
        Exit::Config,
        "file unusable",
        "a file cannot be used: missing, unreadable, unwritable or malformed (--config, \
         networks.json, the --fleet CSV or --report, the state directory, a capture)",
    ),
    (
        Exit::System,
        "system failure",
        "the local system failed: Wi-Fi backend unavailable or unsupported, permission \
         denied, an address, port or interface that cannot be used",
    ),
    (
        Exit::Throttled,
        "throttled",
        "the device is throttling authentication attempts after failures (its own or \
         others'): retry after the delay printed; not a verdict on the PoP or password",
    ),
    (
        Exit::Interrupted,
        "interrupted",
        "interrupted (Ctrl-C) before the work was done; `device` and `manage` stop on a \
         signal with 0",
    ),
    (
        Exit::OutputClosed,
        "output closed",
        "standard output was closed early (`| head`): the run ends quietly",
    ),
];

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit with this code; [`Exit::Failure`] for a code the table does not have.
    pub fn from_code(code: u8) -> Exit {
        TABLE
            .iter()
            .map(|(exit, _, _)| *exit)
            .find(|exit| exit.code() == code)
            .unwrap_or(Exit::Failure)
    }

    /// What the code means (its line of [`TABLE`]).
    pub fn meaning(self) -> &'static str {
        TABLE
            .iter()
            .find(|(exit, _, _)| *exit == self)
            .map_or("", |(_, _, meaning)| meaning)
    }

    /// The code's short label (`usage`, `timed out`, …).
    pub fn label(self) -> &'static str {
        TABLE
            .iter()
            .find(|(exit, _, _)| *exit == self)
            .map_or("", |(_, label, _)| label)
    }

    /// An error that ends the run with this code.
    pub fn error(
        self,
        message: impl fmt::Display + fmt::Debug + Send + Sync + 'static,
    ) -> anyhow::Error {
        anyhow::Error::new(Coded {
            exit: self,
            error: anyhow::Error::msg(message),
        })
    }

    /// Attaches this code to `error`.
    pub fn wrap(self, error: impl Into<anyhow::Error>) -> anyhow::Error {
        anyhow::Error::new(Coded {
            exit: self,
            error: error.into(),
        })
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

impl From<wifiprov_client::ExitCode> for Exit {
    fn from(code: wifiprov_client::ExitCode) -> Self {
        use wifiprov_client::ExitCode as Client;
        match code {
            Client::Success => Exit::Ok,
            Client::Usage => Exit::Usage,
            Client::Unreachable => Exit::Unreachable,
            Client::Auth => Exit::Auth,
            Client::WifiFailed => Exit::WifiFailed,
            Client::Refused => Exit::Refused,
            Client::Timeout => Exit::Timeout,
            Client::Throttled => Exit::Throttled,
        }
    }
}

/// Width of the help texts.
const WIDTH: usize = 90;

/// The help section listing `codes` (0, 1 and 2 always; 130 and 141 where they apply),
/// each with its line of [`TABLE`].
pub fn help(codes: &[Exit]) -> String {
    let mut text = String::from("Exit codes:\n");
    for (exit, _, meaning) in TABLE {
        let always = matches!(exit, Exit::Ok | Exit::Failure | Exit::Usage);
        if always || codes.contains(exit) {
            text.push_str(&entry(*exit, meaning));
        }
    }
    text.push_str("A code means the same in every subcommand (all of them: wifiprov --help).");
    text
}

/// `codes` with their labels in one sentence: `Exit codes: 0 ok, 2 usage, …`.
pub fn summary(codes: &[Exit]) -> String {
    let listed: Vec<String> = codes
        .iter()
        .map(|exit| format!("{} {}", exit.code(), exit.label()))
        .collect();
    format!("Exit codes: {}", listed.join(", "))
}

/// The whole table, for `wifiprov --help`.
pub fn table() -> String {
    let mut text = String::from("Exit codes (the same in every subcommand):\n");
    for (exit, _, meaning) in TABLE {
        text.push_str(&entry(*exit, meaning));
    }
    text
}

/// One code of a help table: the number, then the meaning wrapped under itself.
fn entry(exit: Exit, meaning: &str) -> String {
    let head = format!("  {:>3}  ", exit.code());
    let indent = " ".repeat(head.len());
    let mut text = head;
    text.push_str(wrap(meaning, &indent).trim_start());
    text.push('\n');
    text
}

/// `text` wrapped at [`WIDTH`] columns, every line after the first starting with `indent`.
pub fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            out.push_str(indent);
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

/// `error` and its causes in one line, as `{:#}` shows an `anyhow::Error`: `a: b: c`; a
/// cause whose text the line already holds (an error whose message includes its source's)
/// is not repeated.
pub fn message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let shown = e.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        cause = e.source();
    }
    text
}

/// Attaching an exit code to a fallible result.
pub trait ExitContext<T> {
    /// On error, end the run with `exit` (the message is unchanged).
    fn exit(self, exit: Exit) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> ExitContext<T> for Result<T, E> {
    fn exit(self, exit: Exit) -> anyhow::Result<T> {
        self.map_err(|e| exit.wrap(e))
    }
}

/// An error with the exit code it ends the run with. It reads exactly as the error it
/// wraps, and its source is that error's source, so `{:#}` shows the same chain.
#[derive(Debug)]
struct Coded {
    exit: Exit,
    error: anyhow::Error,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.error, f)
    }
}

impl std::error::Error for Coded {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// The exit code of an error that ended a subcommand.
pub fn classify(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if let Some(coded) = cause.downcast_ref::<Coded>() {
            return coded.exit;
        }
    }
    error.chain().find_map(typed).unwrap_or(Exit::Failure)
}

/// The code a library error decides, if it is one `wifiprov` knows.
fn typed(cause: &(dyn std::error::Error + 'static)) -> Option<Exit> {
    if let Some(e) = cause.downcast_ref::<wifiprov_client::Error>() {
        return Some(e.exit_code().into());
    }
    if let Some(e) = cause.downcast_ref::<WifiError>() {
        return Some(wifi_exit(e));
    }
    if let Some(e) = cause.downcast_ref::<ConnectError>() {
        return Some(match e {
            ConnectError::Backend(e) => wifi_exit(e),
            ConnectError::InvalidCredentials(_) => Exit::Usage,
            ConnectError::Unsupported(_) => Exit::System,
            ConnectError::NotAccepting(_) => Exit::Refused,
            _ => Exit::WifiFailed,
        });
    }
    if let Some(e) = cause.downcast_ref::<DaemonError>() {
        return Some(match e {
            DaemonError::Networks(_) => Exit::Config,
            DaemonError::Control(e) => control_exit(e),
            DaemonError::NoProvisioning { .. } => Exit::Usage,
            _ => Exit::System,
        });
    }
    if let Some(e) = cause.downcast_ref::<ControlError>() {
        return Some(control_exit(e));
    }
    if cause.is::<smartconfig::EncodeError>() {
        return Some(Exit::Usage);
    }
    if cause.is::<wifi_manager::networks::NetworksError>() {
        return Some(Exit::Config);
    }
    if let Some(e) = cause.downcast_ref::<std::io::Error>() {
        return Some(io_exit(e));
    }
    None
}

/// The code of a failure of the manager's control socket: the daemon's side is unreachable,
/// this side's socket is the local system's.
fn control_exit(error: &ControlError) -> Exit {
    match error {
        ControlError::Bind { .. } => Exit::System,
        ControlError::NotASocket { .. } => Exit::Config,
        _ => Exit::Unreachable,
    }
}

/// The code of a Wi-Fi backend failure, by its kind.
pub fn wifi_exit(error: &WifiError) -> Exit {
    match error.kind() {
        WifiErrorKind::Busy => Exit::Refused,
        WifiErrorKind::Invalid => Exit::Usage,
        _ => Exit::System,
    }
}

/// The code of an I/O failure no caller classified: the local system's, except a timeout.
fn io_exit(error: &std::io::Error) -> Exit {
    match error.kind() {
        std::io::ErrorKind::TimedOut => Exit::Timeout,
        _ => Exit::System,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_every_one_has_a_meaning() {
        let mut seen = std::collections::HashSet::new();
        for (exit, label, meaning) in TABLE {
            assert!(seen.insert(exit.code()), "{exit:?} twice");
            assert!(!meaning.is_empty() && !label.is_empty());
            assert_eq!(exit.meaning(), *meaning);
            assert_eq!(exit.label(), *label);
            assert_eq!(Exit::from_code(exit.code()), *exit);
        }
        assert_eq!(seen.len(), 14);
        assert_eq!(Exit::from_code(99), Exit::Failure);
    }

    #[test]
    fn provision_codes_keep_their_numbers() {
        use wifiprov_client::ExitCode as Client;
        for (client, code) in [
            (Client::Success, 0),
            (Client::Usage, 2),
            (Client::Unreachable, 3),
            (Client::Auth, 4),
            (Client::WifiFailed, 5),
            (Client::Refused, 6),
            (Client::Timeout, 7),
            (Client::Throttled, 11),
        ] {
            assert_eq!(Exit::from(client).code(), code);
            assert_eq!(client as u8, code);
        }
    }

    #[test]
    fn an_attached_code_wins_and_keeps_the_message() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = Err::<(), _>(io)
            .exit(Exit::Config)
            .map_err(|e| e.context("cannot read /etc/wifiprov/device.toml"))
            .unwrap_err();
        assert_eq!(classify(&err), Exit::Config);
        assert_eq!(
            format!("{err:#}"),
            "cannot read /etc/wifiprov/device.toml: no such file"
        );
        let err = Exit::Refused.error("the manager refused");
        assert_eq!(classify(&err), Exit::Refused);
        assert_eq!(err.to_string(), "the manager refused");
    }

    #[test]
    fn messages_show_the_causes() {
        let err = wifiprov_client::Error::from(protocomm::Error::DeviceNotVerified);
        let text = message(&err);
        assert_eq!(
            text,
            "authentication failed: the device could not prove it knows the credentials"
        );
        assert_eq!(text, format!("{:#}", anyhow::Error::new(err)));
    }

    #[test]
    fn messages_do_not_repeat_a_cause() {
        let err = wifi_manager::control::ControlError::Connect {
            path: "/run/wifiprov/control".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let cause = std::io::Error::from(std::io::ErrorKind::NotFound).to_string();
        // The error's message includes its source's, and `{:#}` would print it twice.
        assert_eq!(
            format!("{:#}", anyhow::Error::new(err))
                .matches(&cause)
                .count(),
            2
        );
        let err = anyhow::Error::new(wifi_manager::control::ControlError::Connect {
            path: "/run/wifiprov/control".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })
        .context("status");
        let text = message(&*err);
        assert_eq!(text.matches(&cause).count(), 1, "{text}");
        assert!(
            text.starts_with("status: cannot reach the manager"),
            "{text}"
        );
    }

    #[test]
    fn library_errors_decide_by_kind() {
        let err = anyhow::Error::new(WifiError::unavailable("no wpa_supplicant"));
        assert_eq!(classify(&err), Exit::System);
        let err = anyhow::Error::new(WifiError::busy("scanning")).context("scan");
        assert_eq!(classify(&err), Exit::Refused);
        let err = anyhow::Error::new(ConnectError::AuthFailed { ssid: "x".into() });
        assert_eq!(classify(&err), Exit::WifiFailed);
        let err = anyhow::Error::new(ConnectError::NotAccepting("ended".into()));
        assert_eq!(classify(&err), Exit::Refused);
        let err = anyhow::Error::new(wifiprov_client::Error::Usage("x".into()));
        assert_eq!(classify(&err), Exit::Usage);
        let err = anyhow::anyhow!("something else");
        assert_eq!(classify(&err), Exit::Failure);
        let err = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::AddrInUse));
        assert_eq!(classify(&err), Exit::System);
    }

    #[test]
    fn help_lists_the_asked_codes_and_the_general_ones() {
        let text = help(&[Exit::Timeout, Exit::OutputClosed]);
        for code in [0, 1, 2, 7, 141] {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "{code} missing in {text}"
            );
        }
        assert!(!text.contains("  4  "));
        let whole = table();
        for (exit, _, _) in TABLE {
            assert!(
                whole.contains(&format!("  {:>3}  ", exit.code())),
                "{exit:?}"
            );
        }
        assert!(whole.lines().all(|l| l.chars().count() <= WIDTH), "{whole}");
        assert_eq!(
            summary(&[Exit::Ok, Exit::Timeout]),
            "Exit codes: 0 ok, 7 timed out"
        );
    }
}
