//! The `wifiprov provision` run, in esp_prov's order: version, session, then either one
//! control command (`--reset`, `--reprov`) or custom data, network choice, credentials and
//! the outcome.

use std::time::Instant;

use wifiprov_client::{ClientConfig, WifiStatus};
use wifiprov_wifi::AccessPoint;

use crate::exit::Exit;
use zeroize::Zeroizing;

use super::args::ProvisionArgs;
use super::prompt::{self, Choice};
use super::report::{Failure, Outcome};
use super::session::{self, Session};
use super::ui::{Ui, seconds};

/// The longest SSID and passphrase a device accepts, in bytes.
const MAX_SSID: usize = 32;
const MAX_PASSPHRASE: usize = 63;

/// The action a run performs, as named in the JSON result.
pub fn action(args: &ProvisionArgs) -> &'static str {
    if args.reset {
        "reset"
    } else if args.reprov {
        "reprov"
    } else {
        "provision"
    }
}

/// Checks the flags that need no device, so that usage errors come before any network
/// traffic.
pub(super) fn check_flags(args: &ProvisionArgs, interactive: bool) -> Result<(), Failure> {
    if args.reset || args.reprov {
        return Ok(());
    }
    if let Some(ssid) = &args.ssid
        && (ssid.is_empty() || ssid.len() > MAX_SSID)
    {
        return Err(Failure::usage(format!(
            "--ssid must be 1 to {MAX_SSID} bytes (got {})",
            ssid.len()
        )));
    }
    if let Some(pass) = &args.passphrase
        && pass.len() > MAX_PASSPHRASE
    {
        return Err(Failure::usage(format!(
            "--passphrase must be at most {MAX_PASSPHRASE} bytes (got {})",
            pass.len()
        )));
    }
    if interactive {
        return Ok(());
    }
    match (&args.ssid, &args.passphrase) {
        (None, _) => Err(
            prompt::missing("the network to join", "--ssid and --passphrase")
                .hint("run in a terminal to choose from the networks the device sees"),
        ),
        (Some(_), None) => Err(prompt::missing(
            "the network's passphrase",
            "--passphrase ('' for an open network)",
        )),
        _ => Ok(()),
    }
}

/// Runs the provisioning and fills `outcome` as it goes.
pub async fn execute(
    args: &ProvisionArgs,
    ui: &Ui,
    interactive: bool,
    started: Instant,
    outcome: &mut Outcome,
) -> Result<(), Failure> {
    let conn = args.connection();
    let target = session::Target::resolve(&conn)?;
    outcome.device = target.addr.clone();
    check_flags(args, interactive)?;
    let config = ClientConfig {
        outcome_timeout: args.timeout,
        ..ClientConfig::default()
    };
    let mut session = session::open(&conn, target, config, ui, interactive).await?;
    outcome.protocol = session.version.version.clone();
    outcome.security = Some(session.security);
    outcome.sec_patch_ver = Some(session.version.sec_patch_ver);

    if args.reset {
        session.device.reset().await?;
        ui.step("Reset accepted: the device takes new credentials again");
        return Ok(());
    }
    if args.reprov {
        session.device.reprovision().await?;
        ui.step("Re-provisioning accepted: the device takes new credentials again");
        return Ok(());
    }
    if let Some(data) = &args.custom_data {
        let reply = custom_data(&mut session, data).await?;
        ui.step("Custom data sent");
        if !args.json {
            super::ui::out(&format!("{reply}\n"))?;
        }
        outcome.custom_data_reply = Some(reply);
    }

    let (ssid, passphrase) =
        network_and_passphrase(args, ui, interactive, &mut session, outcome).await?;
    let shown = super::table::display_ssid(&ssid);

    let mut passphrase = passphrase;
    let mut reset_first = false;
    loop {
        let failure = match join(&mut session, ui, &ssid, &passphrase, reset_first).await {
            Ok(joined) => {
                outcome.connected(&joined);
                ui.step(&format!(
                    "Provisioned: {}, IP {} ({})",
                    super::table::display_ssid(&joined.ssid),
                    joined.ip,
                    seconds(started.elapsed().saturating_sub(prompt::time_waiting()))
                ));
                return Ok(());
            }
            Err(failure) => failure,
        };
        let Some(retry) = interactive.then(|| Retry::after(&failure)).flatten() else {
            return Err(failure);
        };
        ui.fail(&Failure::new(failure.code, failure.message.clone()));
        if !prompt::confirm(retry.question()).await? {
            return Err(Failure {
                shown: true,
                ..failure
            });
        }
        if retry == Retry::NewPassphrase
            && let Some(answer) = ask_passphrase_again(&shown).await?
        {
            passphrase = answer;
        }
        reset_first = true;
    }
}

/// Something that lists the networks a device sees: a protocomm session, an Improv client.
pub(super) trait Scanner {
    /// The networks, as the device reports them.
    async fn networks(&mut self) -> Result<Vec<AccessPoint>, Failure>;
}

impl Scanner for Session {
    async fn networks(&mut self) -> Result<Vec<AccessPoint>, Failure> {
        Ok(self.device.scan().await?)
    }
}

/// The network to join and its passphrase: from the flags, or chosen from the device's scan
/// and asked for in a terminal. Records the SSID in `outcome`.
pub(super) async fn network_and_passphrase(
    args: &ProvisionArgs,
    ui: &Ui,
    interactive: bool,
    scanner: &mut impl Scanner,
    outcome: &mut Outcome,
) -> Result<(Vec<u8>, Zeroizing<String>), Failure> {
    let (ssid, open) = match &args.ssid {
        Some(ssid) => (ssid.as_bytes().to_vec(), false),
        None => choose_network(scanner, ui).await?,
    };
    let shown = super::table::display_ssid(&ssid);
    outcome.ssid = Some(String::from_utf8_lossy(&ssid).into_owned());
    let passphrase = match &args.passphrase {
        Some(p) => Zeroizing::new(p.clone()),
        None if open => Zeroizing::new(String::new()),
        None if interactive => {
            let prompt = if args.ssid.is_some() {
                format!("Passphrase for {shown} (empty for an open network): ")
            } else {
                format!("Passphrase for {shown}: ")
            };
            prompt::ask_secret(prompt).await?
        }
        None => return Err(prompt::missing("the network's passphrase", "--passphrase")),
    };
    if passphrase.len() > MAX_PASSPHRASE {
        return Err(Failure::usage(format!(
            "the passphrase must be at most {MAX_PASSPHRASE} bytes"
        )));
    }
    Ok((ssid, passphrase))
}

/// After a failed join: asks for the passphrase again (`None`: keep the old one).
pub(super) async fn ask_passphrase_again(
    shown: &str,
) -> Result<Option<Zeroizing<String>>, Failure> {
    let answer =
        prompt::ask_secret(format!("Passphrase for {shown} (empty: the same again): ")).await?;
    if answer.is_empty() {
        return Ok(None);
    }
    if answer.len() > MAX_PASSPHRASE {
        return Err(Failure::usage(format!(
            "the passphrase must be at most {MAX_PASSPHRASE} bytes"
        )));
    }
    Ok(Some(answer))
}

/// After a failed join by a transport whose device takes new credentials at once (Improv, the
/// portal): in a terminal, a Wi-Fi failure is shown and another try offered, with the
/// passphrase asked again (`Ok`: try again); anything else ends the run with `failure`.
pub(super) async fn offer_retry(
    failure: Failure,
    ui: &Ui,
    interactive: bool,
    shown: &str,
    passphrase: &mut Zeroizing<String>,
) -> Result<(), Failure> {
    if !interactive || failure.code != Exit::WifiFailed {
        return Err(failure);
    }
    ui.fail(&Failure::new(failure.code, failure.message.clone()));
    if !prompt::confirm("Try again? [Y/n] ").await? {
        return Err(Failure {
            shown: true,
            ..failure
        });
    }
    if let Some(answer) = ask_passphrase_again(shown).await? {
        *passphrase = answer;
    }
    Ok(())
}

/// What the interactive client offers after a failure, in the same session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// The network could not be joined: reset, ask for the passphrase again, apply.
    NewPassphrase,
    /// The device refused the credentials because an earlier attempt failed: reset, apply.
    ResetAndApply,
}

impl Retry {
    /// The retry that fits `failure`, if any.
    fn after(failure: &Failure) -> Option<Retry> {
        match failure.code {
            Exit::WifiFailed => Some(Retry::NewPassphrase),
            Exit::Refused => Some(Retry::ResetAndApply),
            _ => None,
        }
    }

    fn question(self) -> &'static str {
        match self {
            Retry::NewPassphrase => "Reset the device and try again? [Y/n] ",
            Retry::ResetAndApply => {
                "The device waits for a reset after a failed attempt. Reset it and apply \
                 these credentials? [Y/n] "
            }
        }
    }
}

/// Sends the credentials (after a CtrlReset when `reset_first`), applies them and waits
/// for the outcome.
async fn join(
    session: &mut Session,
    ui: &Ui,
    ssid: &[u8],
    passphrase: &str,
    reset_first: bool,
) -> Result<wifiprov_client::Connected, Failure> {
    let shown = super::table::display_ssid(ssid);
    if reset_first {
        session.device.reset().await?;
        ui.step("Reset accepted");
    }
    session
        .device
        .set_config(ssid, passphrase.as_bytes())
        .await?;
    if let Err(e) = session.device.apply_config().await {
        let failure = Failure::from(e);
        if failure.code != Exit::Refused {
            return Err(failure);
        }
        return Err(if retries_without_reset(session).await {
            failure.hint(
                "the device is trying other credentials or has finished provisioning; try \
                 again in a moment",
            )
        } else {
            failure.hint(
                "the device already has credentials: after a failed attempt run with --reset \
                 first (in a terminal, provision offers that itself); a device that joined needs \
                 --reprov (if it still serves provisioning)",
            )
        });
    }
    tracing::debug!("credentials sent and applied");

    let waiting = ui.wait(&format!("Waiting for the device to join {shown}"));
    let joined = session
        .device
        .wait_for_outcome(ssid, |status| {
            if let WifiStatus::Connecting {
                attempts_remaining: Some(n),
            } = status
            {
                waiting.set(format!(
                    "Waiting for the device to join {shown} ({n} attempts left)"
                ));
            }
        })
        .await;
    drop(waiting);
    match joined {
        Ok(joined) => Ok(joined),
        Err(e @ wifiprov_client::Error::WifiFailed { .. }) => {
            let failure = Failure::from(e);
            Err(if retries_without_reset(session).await {
                failure.hint(
                    "the device takes new credentials at once: provision again with the right \
                     details (no --reset needed)",
                )
            } else {
                failure.hint(
                    "a device that waits for a reset after a failure (ESP-IDF's default) \
                     needs one: run again with --reset first, then with the right details (in a \
                     terminal, provision offers that itself)",
                )
            })
        }
        // The device stopped answering (not: it answers "still connecting" past --timeout).
        Err(e @ wifiprov_client::Error::Transport(_)) => Err(Failure::from(e).hint(format!(
            "the device took the credentials and then stopped answering. A device whose \
                 access point and station share one radio (wifiprov manage with \
                 wpa_supplicant or NetworkManager) takes its access point down to join \
                 {shown}; if the join fails the access point comes back for another try. Look \
                 for the device on {shown} (wifiprov discover) or on its access point again"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Whether the device says it takes new credentials after a failure without a reset
/// (wifiprov's fallback access point, `--reset-on-failure`).
async fn retries_without_reset(session: &mut Session) -> bool {
    use protocomm::proto_ver::{APP_WIFIPROV, CAP_RETRY_WITHOUT_RESET};
    session.device.version().await.is_ok_and(|v| {
        v.app_info.iter().any(|app| {
            app.label == APP_WIFIPROV
                && app
                    .capabilities
                    .iter()
                    .any(|c| c == CAP_RETRY_WITHOUT_RESET)
        })
    })
}

/// Sends `--custom_data` and returns the reply as text (trailing NULs dropped, other control
/// characters escaped).
async fn custom_data(session: &mut Session, data: &str) -> Result<String, Failure> {
    let reply = session
        .device
        .custom("custom-data", data.as_bytes())
        .await
        .map_err(|e| match e {
            wifiprov_client::Error::Transport(wifiprov_client::TransportError::Status(s))
                if s.contains("404") =>
            {
                Failure::new(Exit::Refused, "the device has no custom-data endpoint")
            }
            other => other.into(),
        })?;
    let end = reply.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let text = String::from_utf8_lossy(reply.get(..end).unwrap_or_default());
    Ok(text
        .chars()
        .flat_map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect())
}

/// Scans and lets the user choose, rescanning on request.
async fn choose_network(scanner: &mut impl Scanner, ui: &Ui) -> Result<(Vec<u8>, bool), Failure> {
    loop {
        let waiting = ui.wait("Scanning for networks");
        let aps = scanner.networks().await;
        drop(waiting);
        match prompt::choose(aps?, ui.is_fancy()).await? {
            Choice::Rescan => continue,
            Choice::Network { ssid, open } => return Ok((ssid, open)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(ssid: Option<&str>, pass: Option<&str>) -> ProvisionArgs {
        ProvisionArgs {
            ssid: ssid.map(str::to_string),
            passphrase: pass.map(str::to_string),
            ..ProvisionArgs::default()
        }
    }

    #[test]
    fn missing_input_without_a_terminal_names_the_flag() {
        let err = check_flags(&args(None, None), false).unwrap_err();
        assert_eq!(err.code, Exit::Usage);
        assert!(err.message.contains("--ssid"), "{}", err.message);
        let err = check_flags(&args(Some("HomeNet"), None), false).unwrap_err();
        assert!(err.message.contains("--passphrase"), "{}", err.message);
        assert!(check_flags(&args(Some("Open"), Some("")), false).is_ok());
        assert!(check_flags(&args(None, None), true).is_ok());
        let reset = ProvisionArgs {
            reset: true,
            ..ProvisionArgs::default()
        };
        assert!(check_flags(&reset, false).is_ok());
    }

    #[test]
    fn lengths_are_checked() {
        assert!(check_flags(&args(Some(&"x".repeat(33)), Some("")), false).is_err());
        assert!(check_flags(&args(Some(""), Some("")), false).is_err());
        assert!(check_flags(&args(Some("a"), Some(&"p".repeat(64))), false).is_err());
        assert!(check_flags(&args(Some("a"), Some(&"p".repeat(63))), false).is_ok());
    }
}
