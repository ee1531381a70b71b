//! Flags of `wifiprov device`, each also settable in the TOML file given with `--config`
//! (flags win over the file, the file wins over defaults).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Deserialize;

/// `wifiprov device` flags.
#[derive(Args, Debug, Default)]
pub struct DeviceArgs {
    /// TOML file with any of these settings (keys as the long flag names, with `_` or `-`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to serve provisioning on [default: 0.0.0.0:80, as ESP-IDF's SoftAP transport;
    /// 0.0.0.0:8080 with --portal, whose page takes port 80].
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Transports to serve, comma-separated: http, ble, console [default: http]. The console
    /// speaks ESP-IDF's command lines on stdin/stdout (logs stay on stderr), or on --serial.
    /// BLE serves ESP-IDF's GATT service through BlueZ on the D-Bus system bus
    /// ($DBUS_SYSTEM_BUS_ADDRESS if set), advertising the service name.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = TRANSPORTS)]
    pub transport: Vec<String>,
    /// With --transport ble: the Bluetooth adapter, a name or a BlueZ object path
    /// [default: hci0, i.e. /org/bluez/hci0].
    #[arg(long, value_name = "NAME|PATH")]
    pub ble_adapter: Option<String>,
    /// With --transport ble: the primary service UUID [default: ESP-IDF's
    /// 1775244d-6b43-439b-877c-060f2d9bed07; firmware built from ESP-IDF's example uses
    /// 021a9004-0382-4aea-bff4-6b3f1c5adfb4].
    #[arg(long, value_name = "UUID")]
    pub ble_service_uuid: Option<String>,
    /// With --transport ble: manufacturer data to advertise, hex, starting with the 2-byte
    /// company identifier in little-endian (e.g. e502…); dropped when the name leaves no room.
    #[arg(long, value_name = "HEX")]
    pub ble_manufacturer_data: Option<String>,
    /// Serve the console on this serial device or pseudo-terminal instead of stdin/stdout
    /// (opened read/write and put into raw mode).
    #[arg(long, value_name = "PATH")]
    pub serial: Option<PathBuf>,
    /// With --serial: the line speed, set through termios (e.g. 115200) [default: leave as is].
    #[arg(long, value_name = "BAUD", requires = "serial")]
    pub baud: Option<u32>,
    /// Longest console command line in bytes [default: 4096; ESP-IDF's 256 rules out security 2].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub console_max_line: Option<u64>,
    /// Do not echo console input (echo is on by default, as on ESP-IDF).
    #[arg(long)]
    pub console_no_echo: bool,
    /// Security scheme: 0 (none), 1 (PoP + X25519), 2 (SRP6a) [default: 2].
    #[arg(long, value_name = "0|1|2", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub security: Option<u8>,
    /// Proof of possession for security 1. Without it the agent serves without one and says so.
    #[arg(long, value_name = "POP", env = "WIFIPROV_POP", hide_env_values = true)]
    pub pop: Option<String>,
    /// SRP username for security 2 (the same flag as `wifiprov provision --sec2-username`).
    #[arg(long = "sec2-username", alias = "username", value_name = "NAME")]
    pub username: Option<String>,
    /// SRP password for security 2 (the verifier is derived at start; the same flag as
    /// `wifiprov provision --sec2-password`).
    #[arg(
        long = "sec2-password",
        alias = "password",
        value_name = "PASSWORD",
        env = "WIFIPROV_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Precomputed SRP salt (hex), instead of --sec2-password.
    #[arg(
        long,
        value_name = "HEX",
        env = "WIFIPROV_SALT",
        hide_env_values = true
    )]
    pub salt: Option<String>,
    /// Precomputed SRP verifier (hex), instead of --sec2-password.
    #[arg(
        long,
        value_name = "HEX",
        env = "WIFIPROV_VERIFIER",
        hide_env_values = true
    )]
    pub verifier: Option<String>,
    /// Security 2 patch version: 1 counts GCM nonces (current ESP-IDF), 0 is the old fixed nonce.
    #[arg(long, value_name = "0|1", value_parser = clap::value_parser!(u32).range(0..=1))]
    pub sec_patch_ver: Option<u32>,
    /// The name this device goes by: its SoftAP SSID, BLE name and QR code `name`
    /// [default: PROV_ + 6 hex digits of the machine id].
    #[arg(long = "device-name", alias = "service-name", value_name = "NAME")]
    pub service_name: Option<String>,
    #[command(flatten)]
    pub wifi: crate::wifi::WifiArgs,
    #[command(flatten)]
    pub smartconfig: crate::route_flags::SmartConfigArgs,
    #[command(flatten)]
    pub improv: crate::improv_flags::ImprovArgs,
    #[command(flatten)]
    pub portal: crate::portal_flags::PortalArgs,
    /// Print the simulator's built-in networks and exit.
    #[arg(long)]
    pub sim_list: bool,
    /// Directory for the stored credentials [default: /var/lib/wifiprov as root, else
    /// $XDG_STATE_HOME/wifiprov or ~/.local/state/wifiprov].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Keep serving after a successful provisioning (needed for re-provisioning).
    #[arg(long)]
    pub no_auto_stop: bool,
    /// Milliseconds between ApplyConfig and the first connection attempt [default: 0 with the
    /// simulator, 1000 otherwise, as ESP-IDF, so the answer leaves before the radio retunes].
    #[arg(long, value_name = "MS")]
    pub connect_delay: Option<u64>,
    /// Try each set of credentials N times, then accept new ones without a reset.
    #[arg(long, value_name = "N")]
    pub reset_on_failure: Option<u32>,
    /// Custom endpoint: the request body goes to COMMAND's stdin, its stdout is the response.
    /// Repeatable.
    #[arg(long, value_name = "NAME=COMMAND")]
    pub endpoint: Vec<String>,
    /// Seconds a custom endpoint command may run [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub endpoint_timeout: Option<u64>,
    /// Application entries for proto-ver, as ESP-IDF prints them:
    /// '{"my_app":{"ver":"1.0","cap":["a","b"]}}'.
    #[arg(long, value_name = "JSON")]
    pub app_info: Option<String>,
    /// Serve provisioning even if credentials are already stored.
    #[arg(long)]
    pub force: bool,
    /// Print the ESP QR payload and a terminal QR code at start.
    #[arg(long)]
    pub qr: bool,
    /// Print one JSON object per provisioning event on stdout.
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub events: Option<String>,
    /// Run COMMAND for every event, with the event in WIFIPROV_* environment variables.
    #[arg(long, value_name = "COMMAND")]
    pub event_hook: Option<String>,
    /// Pass the agent's environment variable NAME to --endpoint and --event-hook commands.
    /// Children get the agent's environment without any WIFIPROV_* variable (where secrets
    /// are given) unless named here. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub child_env: Vec<String>,
    /// Most concurrent provisioning sessions [default: 4].
    #[arg(long, value_name = "N")]
    pub max_sessions: Option<usize>,
    /// Seconds after which an idle session is dropped [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub session_timeout: Option<u64>,
    /// Failed authentications one client address may make before it must wait [default: 5].
    #[arg(long, value_name = "N")]
    pub auth_free_failures: Option<u32>,
    /// A client's first wait after its free failures, doubling with each further failure up
    /// to 300 s [default: 1].
    #[arg(long, value_name = "SECONDS")]
    pub auth_backoff: Option<u64>,
    /// Advertise _esp_wifi_prov._tcp over mDNS [default: on unless listening on loopback].
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    pub mdns: Option<String>,
    /// Most HTTP connections open at once [default: 1024, lowered to fit the open-file limit].
    #[arg(long, value_name = "N")]
    pub http_max_connections: Option<usize>,
    /// Most HTTP connections open at once from one address [default: 3/4 of the maximum].
    #[arg(long, value_name = "N")]
    pub http_max_per_source: Option<usize>,
    /// Seconds an open HTTP connection may wait for the next request [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub http_idle_timeout: Option<u64>,
    /// Seconds allowed for a whole request head once it started [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub http_head_timeout: Option<u64>,
    /// Seconds allowed for a whole request body [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub http_body_timeout: Option<u64>,
}

/// The transports `--transport` (and the `transport` key of the file) accept.
pub const TRANSPORTS: [&str; 3] = ["http", "ble", "console"];

/// The same settings as read from a `--config` file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    #[serde(alias = "listen")]
    listen: Option<SocketAddr>,
    /// A list (`["http", "ble"]`) or a comma-separated string (`"http,ble"`).
    transport: Option<TransportList>,
    #[serde(alias = "ble_adapter")]
    ble_adapter: Option<String>,
    #[serde(alias = "ble_service_uuid")]
    ble_service_uuid: Option<String>,
    #[serde(alias = "ble_manufacturer_data")]
    ble_manufacturer_data: Option<String>,
    security: Option<u8>,
    pop: Option<String>,
    #[serde(alias = "sec2-username", alias = "sec2_username")]
    username: Option<String>,
    #[serde(alias = "sec2-password", alias = "sec2_password")]
    password: Option<String>,
    salt: Option<String>,
    verifier: Option<String>,
    #[serde(alias = "sec_patch_ver")]
    sec_patch_ver: Option<u32>,
    #[serde(alias = "service_name", alias = "device-name", alias = "device_name")]
    service_name: Option<String>,
    wifi: Option<String>,
    #[serde(alias = "wpa_ctrl")]
    wpa_ctrl: Option<PathBuf>,
    #[serde(alias = "wifi-interface", alias = "wifi_interface")]
    interface: Option<String>,
    #[serde(alias = "ap_interface")]
    ap_interface: Option<String>,
    #[serde(alias = "sim_env")]
    sim_env: Option<PathBuf>,
    #[serde(alias = "sim_ap", default)]
    sim_ap: Vec<String>,
    #[serde(alias = "sim_ap_file")]
    sim_ap_file: Option<PathBuf>,
    #[serde(alias = "state_dir")]
    state_dir: Option<PathBuf>,
    #[serde(alias = "no_auto_stop", default)]
    no_auto_stop: bool,
    #[serde(alias = "reset_on_failure")]
    reset_on_failure: Option<u32>,
    #[serde(alias = "connect_delay")]
    connect_delay: Option<u64>,
    #[serde(default)]
    endpoint: Vec<String>,
    #[serde(alias = "endpoint_timeout")]
    endpoint_timeout: Option<u64>,
    #[serde(alias = "app_info")]
    app_info: Option<String>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    qr: bool,
    events: Option<String>,
    #[serde(alias = "event_hook")]
    event_hook: Option<String>,
    #[serde(alias = "child_env", default)]
    child_env: Vec<String>,
    #[serde(alias = "max_sessions")]
    max_sessions: Option<usize>,
    #[serde(alias = "session_timeout")]
    session_timeout: Option<u64>,
    #[serde(alias = "auth_free_failures")]
    auth_free_failures: Option<u32>,
    #[serde(alias = "auth_backoff")]
    auth_backoff: Option<u64>,
    mdns: Option<String>,
    http_max_connections: Option<usize>,
    http_max_per_source: Option<usize>,
    http_idle_timeout: Option<u64>,
    http_head_timeout: Option<u64>,
    http_body_timeout: Option<u64>,
}

/// The `transport` key: either form a user may write.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum TransportList {
    List(Vec<String>),
    Text(String),
}

impl TransportList {
    fn into_names(self) -> Vec<String> {
        match self {
            TransportList::List(names) => names,
            TransportList::Text(text) => text.split(',').map(|t| t.trim().to_string()).collect(),
        }
    }
}

impl FileSettings {
    /// Whether the file holds a secret: a PoP, a password, an SRP salt/verifier, the
    /// passphrase of a simulated network.
    fn holds_secrets(&self) -> bool {
        self.pop.is_some()
            || self.password.is_some()
            || self.salt.is_some()
            || self.verifier.is_some()
            || !self.sim_ap.is_empty()
    }
}

/// A TOML error without the snippet of the file it normally quotes (the line may hold a
/// secret): its message, the line and column, and the key it was reading if any.
pub(crate) fn redacted(e: &toml::de::Error, text: &str) -> anyhow::Error {
    let place = e.span().map(|span| {
        let before = text.as_bytes().get(..span.start).unwrap_or(text.as_bytes());
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        let key = text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(key, _)| key.trim())
            .filter(|key| {
                !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.\"'".contains(c))
            });
        match key {
            Some(key) => format!(" at line {line}, column {column} (key {key})"),
            None => format!(" at line {line}, column {column}"),
        }
    });
    anyhow::anyhow!(
        "{}{}",
        without_values(e.message()),
        place.unwrap_or_default()
    )
}

/// A serde message without the values it quotes ("invalid type: string \"…\"" may quote a
/// secret); messages about keys (unknown, missing, duplicate) keep the key names they quote.
fn without_values(message: &str) -> String {
    let about_keys = ["unknown field", "missing field", "duplicate"]
        .iter()
        .any(|m| message.starts_with(m));
    if about_keys {
        return message.to_string();
    }
    let mut out = String::new();
    let mut quote = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '`' || c == '"' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out
}

/// Warns when a file holding secrets may be read by other users.
pub(crate) fn warn_if_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            "{} holds secrets but other users may read it (mode {:o}); run chmod 600 on it",
            path.display(),
            meta.permissions().mode() & 0o777
        );
    }
}

/// The largest `--config` file read, in bytes.
pub const MAX_CONFIG_LEN: u64 = 1024 * 1024;

impl DeviceArgs {
    /// Fills unset flags from the `--config` file, if any.
    pub fn merge_config_file(mut self) -> Result<Self> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let text = wifiprov_device::files::read_input_bounded(&path, MAX_CONFIG_LEN)
            .and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| std::io::Error::other("the file is not UTF-8 text"))
            })
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: FileSettings = toml::from_str(&text)
            .map_err(|e| redacted(&e, &text))
            .with_context(|| format!("invalid settings in {}", path.display()))?;
        if file.holds_secrets() {
            warn_if_readable(&path);
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let relative = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
        self.listen = self.listen.or(file.listen);
        if self.transport.is_empty()
            && let Some(list) = file.transport
        {
            self.transport = list.into_names();
            if let Some(bad) = self
                .transport
                .iter()
                .find(|t| !TRANSPORTS.contains(&t.as_str()))
            {
                bail!(
                    "unknown transport {bad:?} in {} (available: {})",
                    path.display(),
                    TRANSPORTS.join(", ")
                );
            }
        }
        self.ble_adapter = self.ble_adapter.or(file.ble_adapter);
        self.ble_service_uuid = self.ble_service_uuid.or(file.ble_service_uuid);
        self.ble_manufacturer_data = self.ble_manufacturer_data.or(file.ble_manufacturer_data);
        self.security = self.security.or(file.security);
        self.pop = self.pop.or(file.pop);
        self.username = self.username.or(file.username);
        self.password = self.password.or(file.password);
        self.salt = self.salt.or(file.salt);
        self.verifier = self.verifier.or(file.verifier);
        self.sec_patch_ver = self.sec_patch_ver.or(file.sec_patch_ver);
        self.service_name = self.service_name.or(file.service_name);
        let wifi = &mut self.wifi;
        wifi.wifi = wifi.wifi.take().or(file.wifi);
        wifi.wpa_ctrl = wifi.wpa_ctrl.take().or(file.wpa_ctrl.map(relative));
        wifi.interface = wifi.interface.take().or(file.interface);
        wifi.ap_interface = wifi.ap_interface.take().or(file.ap_interface);
        wifi.sim_env = wifi.sim_env.take().or(file.sim_env.map(relative));
        if wifi.sim_ap.is_empty() {
            wifi.sim_ap = file.sim_ap;
        }
        wifi.sim_ap_file = wifi.sim_ap_file.take().or(file.sim_ap_file.map(relative));
        self.state_dir = self.state_dir.or(file.state_dir.map(relative));
        self.no_auto_stop |= file.no_auto_stop;
        self.reset_on_failure = self.reset_on_failure.or(file.reset_on_failure);
        self.connect_delay = self.connect_delay.or(file.connect_delay);
        if self.endpoint.is_empty() {
            self.endpoint = file.endpoint;
        }
        self.endpoint_timeout = self.endpoint_timeout.or(file.endpoint_timeout);
        self.app_info = self.app_info.or(file.app_info);
        self.force |= file.force;
        self.qr |= file.qr;
        self.events = self.events.or(file.events);
        self.event_hook = self.event_hook.or(file.event_hook);
        if self.child_env.is_empty() {
            self.child_env = file.child_env;
        }
        self.max_sessions = self.max_sessions.or(file.max_sessions);
        self.session_timeout = self.session_timeout.or(file.session_timeout);
        self.auth_free_failures = self.auth_free_failures.or(file.auth_free_failures);
        self.auth_backoff = self.auth_backoff.or(file.auth_backoff);
        self.mdns = self.mdns.or(file.mdns);
        self.http_max_connections = self.http_max_connections.or(file.http_max_connections);
        self.http_max_per_source = self.http_max_per_source.or(file.http_max_per_source);
        self.http_idle_timeout = self.http_idle_timeout.or(file.http_idle_timeout);
        self.http_head_timeout = self.http_head_timeout.or(file.http_head_timeout);
        self.http_body_timeout = self.http_body_timeout.or(file.http_body_timeout);
        if let Some(s) = self.security
            && s > 2
        {
            bail!("security must be 0, 1 or 2 (got {s} in {})", path.display());
        }
        if let Some(events) = &self.events
            && events != "json"
        {
            bail!(
                "events must be \"json\" (got {events:?} in {})",
                path.display()
            );
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.toml");
        std::fs::write(&path, "security = 1\npop = \"from-file\"\nlisten = \"127.0.0.1:9\"\nstate-dir = \"state\"\nsim_ap = [\"A:12345678\"]\n").unwrap();
        let args = DeviceArgs {
            config: Some(path.clone()),
            security: Some(0),
            ..Default::default()
        };
        let merged = args.merge_config_file().unwrap();
        assert_eq!(merged.security, Some(0));
        assert_eq!(merged.pop.as_deref(), Some("from-file"));
        assert_eq!(merged.state_dir, Some(dir.path().join("state")));
        assert_eq!(merged.wifi.sim_ap, ["A:12345678"]);
    }

    #[test]
    fn ble_keys_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.toml");
        std::fs::write(
            &path,
            "transport = \"http, ble\"\nble-adapter = \"hci1\"\n\
             ble_service_uuid = \"021a9004-0382-4aea-bff4-6b3f1c5adfb4\"\n\
             ble-manufacturer-data = \"e502\"\n",
        )
        .unwrap();
        let merged = DeviceArgs {
            config: Some(path.clone()),
            ..Default::default()
        }
        .merge_config_file()
        .unwrap();
        assert_eq!(merged.transport, ["http", "ble"]);
        assert_eq!(merged.ble_adapter.as_deref(), Some("hci1"));
        assert_eq!(
            merged.ble_service_uuid.as_deref(),
            Some("021a9004-0382-4aea-bff4-6b3f1c5adfb4")
        );
        assert_eq!(merged.ble_manufacturer_data.as_deref(), Some("e502"));

        // A list works too, and flags win.
        std::fs::write(&path, "transport = [\"ble\", \"console\"]\n").unwrap();
        let merged = DeviceArgs {
            config: Some(path.clone()),
            ..Default::default()
        }
        .merge_config_file()
        .unwrap();
        assert_eq!(merged.transport, ["ble", "console"]);
        let merged = DeviceArgs {
            config: Some(path.clone()),
            transport: vec!["http".into()],
            ..Default::default()
        }
        .merge_config_file()
        .unwrap();
        assert_eq!(merged.transport, ["http"]);

        std::fs::write(&path, "transport = [\"wifi-direct\"]\n").unwrap();
        let err = DeviceArgs {
            config: Some(path),
            ..Default::default()
        }
        .merge_config_file()
        .unwrap_err();
        assert!(format!("{err:#}").contains("wifi-direct"), "{err:#}");
    }

    #[test]
    fn parse_errors_do_not_quote_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.toml");
        let cases = [
            // A syntax error on the line of the secret (a missing closing quote).
            "security = 1\npop = \"hunter2-pop\n",
            // A value of the wrong type.
            "security = 1\npop = 271828182\n",
            "security = \"hunter2-pop\"\n",
            "sim-ap = [\"Net:hunter2-pass\", 3]\n",
        ];
        for text in cases {
            std::fs::write(&path, text).unwrap();
            let err = DeviceArgs {
                config: Some(path.clone()),
                ..Default::default()
            }
            .merge_config_file()
            .unwrap_err();
            let shown = format!("{err:#} {err:?}");
            assert!(!shown.contains("hunter2"), "{text:?} gave {shown}");
            assert!(!shown.contains("271828182"), "{text:?} gave {shown}");
            assert!(shown.contains("line "), "{text:?} gave {shown}");
        }
        std::fs::write(&path, "security = 1\npop = \"hunter2-pop\n").unwrap();
        let err = DeviceArgs {
            config: Some(path),
            ..Default::default()
        }
        .merge_config_file()
        .unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
        assert!(format!("{err:#}").contains("key pop"), "{err:#}");
    }

    #[test]
    fn files_with_secrets_know_it() {
        let with = |text: &str| {
            toml::from_str::<FileSettings>(text)
                .unwrap()
                .holds_secrets()
        };
        assert!(with("pop = \"x\""));
        assert!(with("verifier = \"00\""));
        assert!(with("sim-ap = [\"A:12345678\"]"));
        assert!(!with("security = 0\nlisten = \"127.0.0.1:9\""));
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.toml");
        std::fs::write(&path, "securty = 1\n").unwrap();
        let err = DeviceArgs {
            config: Some(path),
            ..Default::default()
        }
        .merge_config_file()
        .unwrap_err();
        assert!(format!("{err:#}").contains("securty"), "{err:#}");
    }

    #[test]
    fn an_endless_config_file_is_refused_at_the_size_limit() {
        let e = DeviceArgs {
            config: Some(PathBuf::from("/dev/zero")),
            ..Default::default()
        }
        .merge_config_file()
        .unwrap_err();
        assert!(
            format!("{e:#}").ends_with(&format!(
                "/dev/zero is larger than {MAX_CONFIG_LEN} bytes; refusing to read it"
            )),
            "{e:#}"
        );
    }
}
