//! Taking a station's radio for sniffing, as an ESP32 does while it runs SmartConfig.
//!
//! On Linux a monitor interface can only be tuned while every other running interface of its
//! radio (wiphy) is a monitor too: with the station interface up, `iw dev mon0 set channel N`
//! fails with `EBUSY` (-16). A [`RadioClaim`] therefore takes the station interface down
//! (`ip link set STA down`; the Wi-Fi backend should have been told to disconnect before, so
//! that it does not join again on its own when the interface comes back), creates the
//! monitor interface on the same radio when it does not exist (`iw dev STA interface add MON
//! type monitor`) and brings it up. Dropping the claim (or [`RadioClaim::release`]) removes
//! the monitor interface it created and brings the station interface up again.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::MonitorError;

/// How long one `ip` or `iw` command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// The wiphy (`phyN`) a network interface belongs to, from sysfs; `None` for an interface
/// that is not a Wi-Fi interface (or does not exist).
pub fn wiphy_of(ifname: &str) -> Option<String> {
    let path = Path::new("/sys/class/net")
        .join(ifname)
        .join("phy80211/name");
    let name = std::fs::read_to_string(path).ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Whether a network interface of that name exists (in this network namespace).
fn exists(ifname: &str) -> bool {
    Path::new("/sys/class/net").join(ifname).exists()
}

/// Whether sniffing on `monitor` needs the radio of `station`: `monitor` is (or, when it
/// does not exist yet, will be created) on the same radio as the Wi-Fi interface `station`.
pub fn shares_radio(monitor: &str, station: &str) -> bool {
    let Some(phy) = wiphy_of(station) else {
        return false;
    };
    if monitor == station || !exists(monitor) {
        return true;
    }
    wiphy_of(monitor).is_some_and(|m| m == phy)
}

/// The station's radio, held for a monitor interface until dropped.
#[derive(Debug)]
pub struct RadioClaim {
    station: String,
    monitor: String,
    /// The monitor interface was created by the claim (and is removed by it).
    created: bool,
    released: bool,
}

impl RadioClaim {
    /// Takes the radio of `station` for `monitor`: station down, `monitor` created on the same
    /// radio if missing, and up. Returns `Ok(None)` when `monitor` does not share the radio
    /// of `station` ([`shares_radio`]): there is nothing to take.
    pub fn take(station: &str, monitor: &str) -> Result<Option<RadioClaim>, MonitorError> {
        if monitor == station {
            return Err(MonitorError::InvalidConfig(
                "the monitor interface must be another interface than the station's",
            ));
        }
        if !shares_radio(monitor, station) {
            return Ok(None);
        }
        let mut claim = RadioClaim {
            station: station.to_owned(),
            monitor: monitor.to_owned(),
            created: false,
            released: false,
        };
        // From here on, dropping `claim` undoes what was done.
        run("ip", &["link", "set", "dev", station, "down"])?;
        if !exists(monitor) {
            run(
                "iw",
                &[
                    "dev",
                    station,
                    "interface",
                    "add",
                    monitor,
                    "type",
                    "monitor",
                ],
            )?;
            claim.created = true;
        }
        run("ip", &["link", "set", "dev", monitor, "up"])?;
        tracing::info!(
            "took the radio of {station} for sniffing on {monitor}{}",
            if claim.created { " (created)" } else { "" }
        );
        Ok(Some(claim))
    }

    /// The station interface.
    pub fn station(&self) -> &str {
        &self.station
    }

    /// The monitor interface.
    pub fn monitor(&self) -> &str {
        &self.monitor
    }

    /// Checks that the monitor interface is tuned to a channel (call it after setting one).
    /// mac80211 accepts `set channel` on a monitor interface but leaves the radio where it is
    /// while another interface of the radio runs that is not a network interface, such as
    /// the P2P device wpa_supplicant creates on radios that support one: nothing is received
    /// then. The error names those interfaces.
    pub fn check_tuned(&self) -> Result<(), MonitorError> {
        let info = output("iw", &["dev", &self.monitor, "info"])?;
        if info
            .lines()
            .any(|line| line.trim_start().starts_with("channel "))
        {
            return Ok(());
        }
        let phy = wiphy_of(&self.station).unwrap_or_default();
        let others = output("iw", &["dev"])
            .map(|list| other_wdevs(&list, &phy))
            .unwrap_or_default();
        let hint = if others.iter().any(|t| t == "P2P-device") {
            "; wpa_supplicant's P2P device keeps it: set p2p_disabled=1 in wpa_supplicant's \
             configuration"
        } else {
            ""
        };
        Err(MonitorError::Command {
            command: format!("iw dev {} set channel", self.monitor),
            message: format!(
                "the radio {phy} did not tune: another interface of it is running ({}){hint}",
                if others.is_empty() {
                    "unknown".to_owned()
                } else {
                    others.join(", ")
                }
            ),
        })
    }

    /// Gives the radio back: removes the monitor interface if the claim created it (else
    /// takes it down), then brings the station interface up. Errors are logged, and the
    /// station is brought up whatever happened to the monitor.
    pub fn release(mut self) {
        self.give_back();
    }

    fn give_back(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        let monitor = self.monitor.as_str();
        let undone = if self.created {
            run("iw", &["dev", monitor, "del"])
        } else {
            run("ip", &["link", "set", "dev", monitor, "down"])
        };
        if let Err(e) = undone {
            tracing::warn!("giving the radio back: {e}");
        }
        match run("ip", &["link", "set", "dev", &self.station, "up"]) {
            Ok(()) => tracing::info!("gave the radio back to {}", self.station),
            Err(e) => tracing::warn!("giving the radio back: {e}"),
        }
    }
}

impl Drop for RadioClaim {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// The types of the interfaces of `phy` (`phyN`) in the output of `iw dev` that are not
/// monitors or the radio's network interfaces (those have a name: `Interface NAME`).
fn other_wdevs(list: &str, phy: &str) -> Vec<String> {
    let number = phy.trim_start_matches("phy");
    let mut in_phy = false;
    let mut unnamed = false;
    let mut types = Vec::new();
    for line in list.lines() {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("phy#") {
            in_phy = n == number;
        } else if line.starts_with("Interface ") {
            unnamed = false;
        } else if line.starts_with("Unnamed") {
            unnamed = true;
        } else if let Some(kind) = line.strip_prefix("type ")
            && in_phy
            && unnamed
        {
            types.push(kind.to_owned());
        }
    }
    types
}

/// Runs `program args…` and returns its standard output.
fn output(program: &str, args: &[&str]) -> Result<String, MonitorError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| MonitorError::Command {
            command: command.clone(),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(MonitorError::Command { command, message });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `program args…`, killing it after [`COMMAND_TIMEOUT`].
fn run(program: &str, args: &[&str]) -> Result<(), MonitorError> {
    let command = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| MonitorError::Command {
            command: command.clone(),
            message: e.to_string(),
        })?;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            other => {
                let _ = child.kill();
                let _ = child.wait();
                let message = match other {
                    Err(e) => e.to_string(),
                    _ => format!("timed out after {COMMAND_TIMEOUT:?}"),
                };
                return Err(MonitorError::Command { command, message });
            }
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    if stderr.contains("Operation not permitted") || stderr.contains("(-1)") {
        return Err(MonitorError::NotPermitted {
            action: "take the radio (interfaces up/down, monitor interface)",
        });
    }
    let message = match stderr.trim() {
        "" => status.to_string(),
        text => text.to_owned(),
    };
    Err(MonitorError::Command { command, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_without_a_radio_share_nothing() {
        assert_eq!(wiphy_of("lo"), None);
        assert!(!shares_radio("mon-nope0", "lo"));
        assert!(!shares_radio("mon-nope0", "no-such-if0"));
        assert!(RadioClaim::take("lo", "mon-nope0").unwrap().is_none());
        assert!(matches!(
            RadioClaim::take("wlan-x", "wlan-x"),
            Err(MonitorError::InvalidConfig(_))
        ));
    }

    #[test]
    fn the_radios_unnamed_interfaces_are_found() {
        let list = "phy#1\n\tInterface mon0\n\t\tifindex 6\n\t\ttype monitor\n\
                    \tUnnamed/non-netdev interface\n\t\twdev 0x100000002\n\t\ttype P2P-device\n\
                    \tInterface wlan1\n\t\ttype managed\n\
                    phy#0\n\tUnnamed/non-netdev interface\n\t\ttype NAN\n\
                    \tInterface wlan0\n\t\ttype managed\n";
        assert_eq!(other_wdevs(list, "phy1"), ["P2P-device"]);
        assert_eq!(other_wdevs(list, "phy0"), ["NAN"]);
        assert!(other_wdevs(list, "phy2").is_empty());
    }

    #[test]
    fn failing_commands_say_what_failed() {
        let e = run("ip", &["link", "set", "dev", "no-such-if0", "up"]).unwrap_err();
        assert!(e.to_string().contains("no-such-if0"), "{e}");
        let e = run("no-such-program-xyz", &[]).unwrap_err();
        assert!(e.to_string().contains("no-such-program-xyz"), "{e}");
    }
}
