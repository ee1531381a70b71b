//! Flags of `wifiprov provision`, `wifiprov scan` and `wifiprov info`.
//!
//! Every flag esp_prov spells with underscores (`--service_name`, `--sec_ver`, …) is accepted
//! as written and also in kebab-case (`--service-name`, `--sec-ver`, …).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use wifiprov_transport::ble::Uuid128;

use crate::exit::{self, Exit};

/// The exit codes of `provision` (`scan` and `info` use a part of them).
const PROVISION_CODES: &[Exit] = &[
    Exit::Unreachable,
    Exit::Auth,
    Exit::Throttled,
    Exit::WifiFailed,
    Exit::Refused,
    Exit::Timeout,
    Exit::Config,
    Exit::OutputClosed,
];

/// The exit codes in one line, shown at the end of `wifiprov provision -h`.
pub fn short_help() -> String {
    let codes: Vec<Exit> = [Exit::Ok, Exit::Usage]
        .into_iter()
        .chain(PROVISION_CODES.iter().copied())
        .collect();
    exit::wrap(
        &format!(
            "{} (meanings and the --json shape: --help).",
            exit::summary(&codes)
        ),
        "",
    )
}

/// Exit codes and `--json` shape, shown at the end of `wifiprov provision --help`.
pub fn long_help() -> String {
    format!(
        "{}\n{}",
        exit::help(PROVISION_CODES),
        "\
Unlike esp_prov, a failed connection and a refused --reset / --reprov are not exit 0.
Fleet mode (--fleet) exits with 0 when every device joined its network; otherwise 5 if
any device could not join; otherwise the code of the failed device that comes first in
the file. A fleet file with mistakes exits with 9 before any device is contacted.

With --json, stdout carries exactly one JSON object when the run ends:
  {\"ok\":true,\"exit_code\":0,\"action\":\"provision\",\"device\":\"192.168.4.1:80\",
   \"protocol\":\"v1.1\",\"security\":2,\"sec_patch_ver\":1,\"ssid\":\"HomeNet\",
   \"ip\":\"192.168.1.42\",\"bssid\":\"24:0a:c4:12:34:56\",\"channel\":6,\"auth\":\"WPA2\",
   \"custom_data_reply\":null,\"error\":null,\"reason\":null,\"hint\":null,
   \"elapsed_ms\":812}
Every key is always present (null when unknown). \"action\" is provision, reset or reprov.
On failure \"ok\" is false, \"error\" says what went wrong, \"hint\" what to do, and
\"reason\" is auth_error (wrong passphrase), network_not_found or other for Wi-Fi
failures (exit code 5), else null.

Secrets may also come from the environment: WIFIPROV_POP, WIFIPROV_PASSWORD (SRP
password), WIFIPROV_PASSPHRASE. They are never printed.

In a terminal, a failed join (or a device that waits for a reset) is followed by an
offer to reset the device and try again in the same run.

Examples:
  An agent on loopback (security 1) kept serving, then esp_prov's and wifiprov's spellings:
  $ wifiprov device --wifi sim --listen 127.0.0.1:8091 --security 1 --pop abcd1234 --no-auto-stop &
  $ wifiprov provision --service_name 127.0.0.1:8091 --sec_ver 1 --pop abcd1234 --ssid HomeNet --passphrase correct-horse
  $ wifiprov provision --service-name 127.0.0.1:8091 --pop abcd1234 --reprov
  $ wifiprov provision --service-name 127.0.0.1:8091 --pop abcd1234 --ssid MeshNet --passphrase battery-staple --json
  Salt and verifier for an ESP32 (or `wifiprov device --salt … --verifier …`):
  $ wifiprov provision --sec2-gen-cred --sec2-username wifiprov --sec2-password choose-a-password"
    )
}

/// Exit codes and `--json` shape of `wifiprov scan --help`.
pub fn scan_help() -> String {
    format!(
        "{}\n{}",
        exit::help(&[
            Exit::Unreachable,
            Exit::Auth,
            Exit::Throttled,
            Exit::Refused,
            Exit::Timeout,
            Exit::OutputClosed
        ]),
        "\
With --json, stdout is one JSON array:
  [{\"ssid\":\"HomeNet\",\"bssid\":\"24:0a:c4:12:34:56\",\"channel\":6,\"rssi\":-42,
    \"auth\":\"WPA2\",\"auth_mode\":3}, …]
strongest first; a hidden network has an empty ssid."
    )
}

/// Exit codes and `--json` shape of `wifiprov info --help`.
pub fn info_help() -> String {
    format!(
        "{}\n{}",
        exit::help(&[Exit::Unreachable, Exit::Timeout, Exit::OutputClosed]),
        "\
With --json, stdout is one object:
  {\"device\":\"192.168.4.1:80\",\"json\":true,\"prov\":{\"ver\":\"v1.1\",\"sec_ver\":2,
   \"sec_patch_ver\":1,\"cap\":[\"wifi_scan\"]},\"apps\":{\"my_app\":{\"ver\":\"1.0\",\"cap\":[]}}}
\"json\" is false for old firmware that answers plain text (then prov.ver holds that text)."
    )
}

/// The transport to reach the device with (esp_prov's `--transport`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TransportKind {
    /// HTTP to the device's SoftAP address (192.168.4.1:80 by default).
    Softap,
    /// HTTP to any address (same as softap).
    Httpd,
    /// Bluetooth LE through BlueZ (the device's name in --service_name).
    Ble,
    /// ESP-IDF's console command lines over a serial port or a spawned command.
    Console,
    /// Improv Wi-Fi over a serial port (--serial) or a spawned command (--console-command),
    /// as ESP Web Tools speaks it to ESPHome, WLED and wifiprov devices.
    ImprovSerial,
    /// Improv Wi-Fi over BLE through BlueZ (--service_name: the device's name or address), as
    /// Home Assistant speaks it to ESPHome, WLED and wifiprov devices.
    ImprovBle,
    /// The captive web portal's JSON API (wifiprov device --portal) at --service_name
    /// http://ADDR.
    Portal,
}

impl TransportKind {
    /// The name used on the command line and in QR payloads.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Softap => "softap",
            TransportKind::Httpd => "httpd",
            TransportKind::Ble => "ble",
            TransportKind::Console => "console",
            TransportKind::ImprovSerial => "improv-serial",
            TransportKind::ImprovBle => "improv-ble",
            TransportKind::Portal => "portal",
        }
    }

    /// Parses a QR payload's `transport` value.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "softap" => Some(TransportKind::Softap),
            "httpd" | "http" => Some(TransportKind::Httpd),
            "ble" => Some(TransportKind::Ble),
            "console" => Some(TransportKind::Console),
            _ => None,
        }
    }
}

/// `wifiprov provision` flags (esp_prov-compatible). The exit codes are in [`long_help`].
#[derive(Args, Debug, Clone)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub conn: Connection,

    /// Print a salt and verifier for --sec2_username/--sec2_pwd (C arrays for ESP-IDF and hex
    /// for `wifiprov device --salt/--verifier`), then exit. No device is contacted.
    #[arg(
        long = "sec2-gen-cred",
        visible_alias = "sec2_gen_cred",
        help_heading = "Security"
    )]
    pub sec2_gen_cred: bool,
    /// Salt length in bytes for --sec2_gen_cred.
    #[arg(long = "sec2-salt-len", visible_alias = "sec2_salt_len", value_name = "BYTES", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=64), help_heading = "Security")]
    pub sec2_salt_len: u16,

    /// Network to join. Without it, on a terminal, choose from the device's scan.
    #[arg(long, value_name = "SSID", help_heading = "Wi-Fi")]
    pub ssid: Option<String>,
    /// Passphrase of the network ('' for an open network; asked for on a terminal when absent).
    #[arg(
        long,
        value_name = "PASSPHRASE",
        env = "WIFIPROV_PASSPHRASE",
        hide_env_values = true,
        help_heading = "Wi-Fi"
    )]
    pub passphrase: Option<String>,
    /// Seconds to wait for the device to report the connection outcome.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds, help_heading = "Wi-Fi")]
    pub timeout: Duration,

    /// Send this text to the device's `custom-data` endpoint after the session starts and
    /// print the reply (then provision as usual).
    #[arg(
        long = "custom-data",
        visible_alias = "custom_data",
        value_name = "TEXT",
        help_heading = "Actions"
    )]
    pub custom_data: Option<String>,
    /// Only reset the device after a failed attempt, so it accepts new credentials.
    #[arg(long, conflicts_with = "reprov", help_heading = "Actions")]
    pub reset: bool,
    /// Only ask a provisioned device to accept new credentials (it must keep serving after
    /// success).
    #[arg(long, help_heading = "Actions")]
    pub reprov: bool,

    /// Print one JSON object with the result on stdout (shape below).
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// Provision every device listed in this CSV file.
    #[arg(long, value_name = "CSV", help_heading = "Fleet", long_help = crate::fleet::FLEET_HELP)]
    pub fleet: Option<PathBuf>,
    /// How many devices of --fleet to provision at once.
    #[arg(long, default_value_t = 8, help_heading = "Fleet")]
    pub concurrency: usize,
    /// Write the --fleet results to this file.
    #[arg(long, value_name = "FILE", help_heading = "Fleet")]
    pub report: Option<PathBuf>,
}

impl Default for ProvisionArgs {
    /// The values the command line gives when no flag is set.
    fn default() -> Self {
        ProvisionArgs {
            conn: Connection::default(),
            sec2_gen_cred: false,
            sec2_salt_len: 16,
            ssid: None,
            passphrase: None,
            timeout: Duration::from_secs(60),
            custom_data: None,
            reset: false,
            reprov: false,
            json: false,
            fleet: None,
            concurrency: 8,
            report: None,
        }
    }
}

/// `wifiprov scan` flags: how to reach and authenticate to the device.
#[derive(Args, Debug, Clone, Default)]
pub struct ScanArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Print the networks as a JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `wifiprov info` flags: how to reach the device (no session is needed).
#[derive(Args, Debug, Clone, Default)]
pub struct InfoArgs {
    /// How to reach the device: softap or httpd (HTTP), ble (BlueZ, with the device's name
    /// in --service_name), or console (with --serial or --console-command).
    #[arg(long, value_enum)]
    pub transport: Option<TransportKind>,
    /// With --transport console: the serial device or pseudo-terminal to talk to.
    #[arg(long, value_name = "PATH", conflicts_with = "console_command")]
    pub serial: Option<std::path::PathBuf>,
    /// With --serial: the line speed (e.g. 115200) [default: leave as is].
    #[arg(long, value_name = "BAUD", requires = "serial")]
    pub baud: Option<u32>,
    /// With --transport console: run COMMAND (with sh -c) and talk to its stdin and stdout.
    #[arg(long = "console-command", value_name = "COMMAND")]
    pub console_command: Option<String>,
    /// The device's HTTP address, HOST[:PORT] [default: 192.168.4.1:80]; with --transport
    /// ble, its advertised name (PROV_…); with --transport improv-ble, its advertised name or
    /// its address [default: the one device advertising Improv].
    #[arg(
        long = "service-name",
        visible_alias = "service_name",
        value_name = "HOST[:PORT]|NAME"
    )]
    pub service_name: Option<String>,
    /// With --transport ble: the provisioning service UUID [default: the service carrying
    /// ESP-IDF's endpoint characteristics].
    #[arg(
        long = "ble-service-uuid",
        visible_alias = "ble_service_uuid",
        value_name = "UUID"
    )]
    pub ble_service_uuid: Option<Uuid128>,
    /// With --transport ble or improv-ble: the Bluetooth adapter to scan and connect with, a
    /// name (hci1) or a BlueZ object path [default: the first adapter].
    #[arg(
        long = "ble-adapter",
        visible_alias = "ble_adapter",
        value_name = "ADAPTER"
    )]
    pub ble_adapter: Option<String>,
    /// ESP QR code payload: fills the transport.
    #[arg(long = "qr-payload", visible_alias = "qr_payload", value_name = "JSON")]
    pub qr_payload: Option<String>,
    /// Print the version document as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What every subcommand needs to reach and authenticate to a device (flags shared by
/// `provision` and `scan`).
#[derive(Args, Clone, Debug, Default)]
pub struct Connection {
    /// How to reach the device: softap or httpd (HTTP), ble (BlueZ, with the device's name in
    /// --service_name), console (with --serial or --console-command), or Improv Wi-Fi:
    /// improv-serial (--serial or --console-command) or improv-ble (BlueZ) [default: softap,
    /// or the QR payload's].
    #[arg(long, value_enum, help_heading = "Device")]
    pub transport: Option<TransportKind>,
    /// The device's HTTP address, HOST[:PORT] [default: 192.168.4.1:80]; with --transport
    /// ble, its advertised name (PROV_…); with --transport improv-ble, its advertised name or
    /// its address [default: the one device advertising Improv].
    #[arg(
        long = "service-name",
        visible_alias = "service_name",
        value_name = "HOST[:PORT]|NAME",
        help_heading = "Device"
    )]
    pub service_name: Option<String>,
    /// With --transport ble: the provisioning service UUID [default: the service carrying
    /// ESP-IDF's endpoint characteristics].
    #[arg(
        long = "ble-service-uuid",
        visible_alias = "ble_service_uuid",
        value_name = "UUID",
        help_heading = "Device"
    )]
    pub ble_service_uuid: Option<Uuid128>,
    /// With --transport ble or improv-ble: the Bluetooth adapter to scan and connect with, a
    /// name (hci1) or a BlueZ object path [default: the first adapter].
    #[arg(
        long = "ble-adapter",
        visible_alias = "ble_adapter",
        value_name = "ADAPTER",
        help_heading = "Device"
    )]
    pub ble_adapter: Option<String>,
    /// With --transport console: the serial device or pseudo-terminal to talk to
    /// (e.g. /dev/ttyUSB0).
    #[arg(
        long,
        value_name = "PATH",
        help_heading = "Device",
        conflicts_with = "console_command"
    )]
    pub serial: Option<std::path::PathBuf>,
    /// With --serial: the line speed, set through termios (e.g. 115200) [default: leave as is].
    #[arg(
        long,
        value_name = "BAUD",
        help_heading = "Device",
        requires = "serial"
    )]
    pub baud: Option<u32>,
    /// With --transport console: run COMMAND (with sh -c) and talk to its standard input and
    /// output, e.g. "wifiprov device --transport console --security 0".
    #[arg(
        long = "console-command",
        value_name = "COMMAND",
        help_heading = "Device"
    )]
    pub console_command: Option<String>,
    /// Require this protocol version (prov.ver, e.g. v1.1; compared case-insensitively).
    #[arg(
        long = "proto-ver",
        visible_alias = "proto_ver",
        value_name = "VERSION",
        help_heading = "Device"
    )]
    pub proto_ver: Option<String>,
    /// ESP QR code payload, '{"ver":"v1","name":…,"pop":…,"transport":…}': fills the
    /// transport and credentials that no flag gives.
    #[arg(
        long = "qr-payload",
        visible_alias = "qr_payload",
        value_name = "JSON",
        help_heading = "Device"
    )]
    pub qr_payload: Option<String>,

    /// Security scheme: 0 (none), 1 (PoP), 2 (SRP6a) [default: what the device announces,
    /// security 2 included].
    #[arg(long = "sec-ver", visible_alias = "sec_ver", value_name = "0|1|2",
          value_parser = clap::value_parser!(u8).range(0..=2), help_heading = "Security")]
    pub sec_ver: Option<u8>,
    /// Proof of possession for security 1 (asked for on a terminal when needed).
    #[arg(
        long,
        value_name = "POP",
        env = "WIFIPROV_POP",
        hide_env_values = true,
        help_heading = "Security"
    )]
    pub pop: Option<String>,
    /// SRP username for security 2 (asked for on a terminal when needed).
    #[arg(
        long = "sec2-username",
        visible_alias = "sec2_username",
        value_name = "NAME",
        help_heading = "Security"
    )]
    pub sec2_username: Option<String>,
    /// SRP password for security 2 (asked for on a terminal when needed).
    #[arg(
        long = "sec2-password",
        visible_alias = "sec2_pwd",
        alias = "sec2-pwd",
        value_name = "PASSWORD",
        env = "WIFIPROV_PASSWORD",
        hide_env_values = true,
        help_heading = "Security"
    )]
    pub sec2_pwd: Option<String>,
}

impl ProvisionArgs {
    /// The connection part of the flags.
    pub fn connection(&self) -> Connection {
        self.conn.clone()
    }
}

impl ScanArgs {
    /// The connection part of the flags.
    pub fn connection(&self) -> Connection {
        self.conn.clone()
    }
}

impl InfoArgs {
    /// The connection part of the flags.
    pub fn connection(&self) -> Connection {
        Connection {
            transport: self.transport,
            service_name: self.service_name.clone(),
            ble_service_uuid: self.ble_service_uuid,
            ble_adapter: self.ble_adapter.clone(),
            qr_payload: self.qr_payload.clone(),
            serial: self.serial.clone(),
            baud: self.baud,
            console_command: self.console_command.clone(),
            ..Connection::default()
        }
    }
}

/// Parses a positive number of seconds (fractions allowed) into a duration.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds, got {text:?}"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "must be more than 0 and at most 86400 seconds, got {text}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("soon").is_err());
    }

    #[test]
    fn transport_names() {
        for kind in [
            TransportKind::Softap,
            TransportKind::Httpd,
            TransportKind::Ble,
            TransportKind::Console,
        ] {
            assert_eq!(TransportKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(
            TransportKind::from_name("SoftAP"),
            Some(TransportKind::Softap)
        );
        assert_eq!(TransportKind::from_name("carrier-pigeon"), None);
    }
}
