//! Flags of `wifiprov manage`, each also settable in the TOML file given with `--config`
//! (flags win over the file, the file wins over defaults), as for `wifiprov device`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Deserialize;

use crate::device::args::{MAX_CONFIG_LEN, redacted, warn_if_readable};

/// `wifiprov manage` flags (the exit codes are in `main`'s help of the subcommand).
#[derive(Args, Debug, Default)]
pub struct ManageArgs {
    /// TOML file with any of these settings (keys as the long flag names, with `_` or `-`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Try the known networks once, report, and exit (instead of running as a daemon).
    #[arg(long)]
    pub once: bool,
    /// The networks file (micropython-wifimanager schema 2) [default: /etc/wifiprov/networks.json
    /// as root, else ~/.config/wifiprov/networks.json].
    #[arg(long, value_name = "FILE")]
    pub networks: Option<PathBuf>,
    #[command(flatten)]
    pub wifi: crate::wifi::WifiArgs,
    /// Seconds between link checks while connected [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub interval: Option<u64>,
    /// Control socket of the daemon [default: see `wifiprov status --help`].
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Where the fallback access point serves provisioning (HTTP) [default: 0.0.0.0:80;
    /// 0.0.0.0:8080 with --portal, whose page takes port 80].
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// The address clients reach the fallback provisioning at, shown by `status` and in the QR
    /// payload [default: --listen when it names one address, else 192.168.4.1 (ESP-IDF's
    /// SoftAP address) with --listen's port].
    #[arg(long, value_name = "ADDR:PORT")]
    pub provisioning_address: Option<SocketAddr>,
    /// The access point's own address and prefix on its interface, with the wpa_supplicant
    /// backend (NetworkManager's hotspot sets up its own) [default: 192.168.4.1/24, ESP-IDF's
    /// SoftAP network].
    #[arg(long, value_name = "ADDR/PREFIX", value_parser = parse_cidr)]
    pub ap_address: Option<(std::net::Ipv4Addr, u8)>,
    /// DHCP for the stations that join the access point, with the wpa_supplicant backend:
    /// `dnsmasq` (started and stopped with the access point), `off`, or `auto` (dnsmasq when
    /// it is installed) [default: auto].
    #[arg(long, value_name = "auto|dnsmasq|off", value_parser = ["auto", "dnsmasq", "off"])]
    pub ap_dhcp: Option<String>,
    /// Security of the fallback provisioning service: 0, 1 or 2 [default: 1 with --pop, else 2].
    #[arg(long, value_name = "0|1|2", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub security: Option<u8>,
    /// Proof of possession for security 1.
    #[arg(long, env = "WIFIPROV_POP", hide_env_values = true)]
    pub pop: Option<String>,
    /// SRP username for security 2.
    #[arg(long = "sec2-username", alias = "username", value_name = "NAME")]
    pub username: Option<String>,
    /// SRP password for security 2.
    #[arg(
        long = "sec2-password",
        alias = "password",
        value_name = "PASSWORD",
        env = "WIFIPROV_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Without provisioning secrets (and without a SmartConfig source): on generates them at
    /// start and prints them once with a QR payload; off refuses to start when the access
    /// point could come up [default: on].
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    pub generate_secrets: Option<String>,
    /// Command run while a network (or the access point) with `enables_webrepl` is active.
    #[arg(long, value_name = "COMMAND")]
    pub remote_console: Option<String>,
    /// Directory for the provisioning service's transient state.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Also serve the fallback provisioning over BLE (through BlueZ) while the access point is up.
    #[arg(long)]
    pub ble: bool,
    /// BLE adapter (with --ble) [default: hci0].
    #[arg(long, value_name = "NAME|PATH")]
    pub ble_adapter: Option<String>,
    /// BLE service UUID (with --ble) [default: ESP-IDF's 1775244d-6b43-439b-877c-060f2d9bed07].
    #[arg(long, value_name = "UUID")]
    pub ble_service_uuid: Option<String>,
    /// The advertised BLE name (with --ble) [default: PROV_ + 6 hex digits of the machine id].
    #[arg(long = "device-name", alias = "service-name", value_name = "NAME")]
    pub service_name: Option<String>,
    /// SmartConfig as a fallback route too (while the access point is up); without --pop or
    /// --sec2-username/--sec2-password it is the only one.
    #[command(flatten)]
    pub smartconfig: crate::route_flags::SmartConfigArgs,
    #[command(flatten)]
    pub portal: crate::portal_flags::PortalArgs,
    /// Print one JSON object per manager event on stdout.
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub events: Option<String>,
    /// Run COMMAND for every manager event, with the event in WIFIPROV_* environment
    /// variables (WIFIPROV_EVENT, WIFIPROV_SSID, WIFIPROV_IP, WIFIPROV_REASON, …).
    #[arg(long, value_name = "COMMAND")]
    pub event_hook: Option<String>,
    /// Pass the manager's environment variable NAME to --event-hook commands, which otherwise
    /// get its environment without any WIFIPROV_* variable. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub child_env: Vec<String>,
    /// Improv Wi-Fi in the fallback too: over BLE beside the ESP service (with --ble), or on a
    /// serial port.
    #[command(flatten)]
    pub improv: crate::improv_flags::ImprovArgs,
}

/// The same settings as read from a `--config` file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    networks: Option<PathBuf>,
    wifi: Option<String>,
    #[serde(alias = "wpa_ctrl")]
    wpa_ctrl: Option<PathBuf>,
    interface: Option<String>,
    #[serde(alias = "ap_interface")]
    ap_interface: Option<String>,
    #[serde(alias = "sim_env")]
    sim_env: Option<PathBuf>,
    #[serde(alias = "sim_ap", default)]
    sim_ap: Vec<String>,
    #[serde(alias = "sim_ap_file")]
    sim_ap_file: Option<PathBuf>,
    interval: Option<u64>,
    control: Option<PathBuf>,
    listen: Option<SocketAddr>,
    #[serde(alias = "ap_address")]
    ap_address: Option<String>,
    #[serde(alias = "ap_dhcp")]
    ap_dhcp: Option<String>,
    #[serde(alias = "provisioning_address")]
    provisioning_address: Option<SocketAddr>,
    security: Option<u8>,
    pop: Option<String>,
    username: Option<String>,
    password: Option<String>,
    #[serde(alias = "generate_secrets")]
    generate_secrets: Option<OnOff>,
    #[serde(alias = "remote_console")]
    remote_console: Option<String>,
    #[serde(alias = "state_dir")]
    state_dir: Option<PathBuf>,
    #[serde(default)]
    ble: bool,
    #[serde(alias = "ble_adapter")]
    ble_adapter: Option<String>,
    #[serde(alias = "ble_service_uuid")]
    ble_service_uuid: Option<String>,
    #[serde(alias = "service_name")]
    service_name: Option<String>,
    #[serde(alias = "smartconfig_interface")]
    smartconfig_interface: Option<String>,
    #[serde(alias = "smartconfig_udp")]
    smartconfig_udp: Option<SocketAddr>,
    #[serde(alias = "smartconfig_type")]
    smartconfig_type: Option<String>,
    #[serde(alias = "smartconfig_aes_key")]
    smartconfig_aes_key: Option<String>,
    #[serde(alias = "smartconfig_ack_port")]
    smartconfig_ack_port: Option<u16>,
    #[serde(alias = "smartconfig_ack_broadcast")]
    smartconfig_ack_broadcast: Option<IpAddr>,
    events: Option<String>,
    #[serde(alias = "event_hook")]
    event_hook: Option<String>,
    #[serde(alias = "child_env", default)]
    child_env: Vec<String>,
}

/// `generate-secrets`: a TOML boolean or the flag's words.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum OnOff {
    Bool(bool),
    Word(String),
}

impl FileSettings {
    /// Whether the file holds a secret: a PoP, a password, an AES key, the passphrase of a
    /// simulated network.
    fn holds_secrets(&self) -> bool {
        self.pop.is_some()
            || self.password.is_some()
            || self.smartconfig_aes_key.is_some()
            || !self.sim_ap.is_empty()
    }
}

/// `ADDR/PREFIX` (an IPv4 host address and a prefix length of 8 to 30).
fn parse_cidr(text: &str) -> Result<(std::net::Ipv4Addr, u8), String> {
    let (addr, prefix) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not ADDR/PREFIX (e.g. 192.168.4.1/24)"))?;
    let addr: std::net::Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| (8..=30).contains(p))
        .ok_or_else(|| format!("the prefix of {text:?} must be 8 to 30"))?;
    let net = wifiprov_wifi::wpa::ApNetwork {
        address: addr,
        prefix,
        ..Default::default()
    };
    net.pool().map_err(|e| e.message().to_string())?;
    Ok((addr, prefix))
}

/// Whether `program` names an executable file, directly or in `PATH`.
fn in_path(program: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 {
        return executable(program);
    }
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| executable(&dir.join(program)))
    })
}

impl ManageArgs {
    /// Where the fallback access point serves provisioning.
    pub fn listen(&self) -> SocketAddr {
        self.listen.unwrap_or_else(|| self.portal.http_default())
    }

    /// Where clients reach the fallback provisioning (see `--provisioning-address`); `None`
    /// when that is where it listens (a port 0 is known only once it listens).
    pub fn provisioning_address(&self) -> Option<SocketAddr> {
        let listen = self.listen();
        self.provisioning_address.or_else(|| {
            listen
                .ip()
                .is_unspecified()
                .then(|| SocketAddr::from((self.ap_network().address, listen.port())))
        })
    }

    /// The access point's network (`--ap-address`, `--ap-dhcp`): dnsmasq is asked for unless
    /// `off`, and with `auto` only when it is found in `PATH`.
    pub fn ap_network(&self) -> wifiprov_wifi::wpa::ApNetwork {
        let mut net = wifiprov_wifi::wpa::ApNetwork::default();
        if let Some((address, prefix)) = self.ap_address {
            net.address = address;
            net.prefix = prefix;
        }
        net.dhcp = match self.ap_dhcp.as_deref() {
            Some("off") => false,
            Some("dnsmasq") => true,
            _ => in_path(&net.dnsmasq),
        };
        net
    }

    /// Whether missing provisioning secrets are generated.
    pub fn generates_secrets(&self) -> bool {
        self.generate_secrets.as_deref() != Some("off")
    }

    /// Fills unset flags from the `--config` file, if any, and checks what clap cannot.
    pub fn merge_config_file(mut self) -> Result<Self> {
        if let Some(path) = self.config.clone() {
            self.merge(&path)?;
        }
        if !self.ble
            && (self.ble_adapter.is_some()
                || self.ble_service_uuid.is_some()
                || self.service_name.is_some())
        {
            bail!("--ble-adapter, --ble-service-uuid and --device-name need --ble");
        }
        Ok(self)
    }

    fn merge(&mut self, path: &Path) -> Result<()> {
        let text = wifiprov_device::files::read_input_bounded(path, MAX_CONFIG_LEN)
            .and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| std::io::Error::other("the file is not UTF-8 text"))
            })
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: FileSettings = toml::from_str(&text)
            .map_err(|e| redacted(&e, &text))
            .with_context(|| format!("invalid settings in {}", path.display()))?;
        if file.holds_secrets() {
            warn_if_readable(path);
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let relative = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
        self.networks = self.networks.take().or(file.networks.map(relative));
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
        self.interval = self.interval.or(file.interval);
        self.control = self.control.take().or(file.control.map(relative));
        self.listen = self.listen.or(file.listen);
        if self.ap_address.is_none()
            && let Some(text) = &file.ap_address
        {
            self.ap_address = Some(
                parse_cidr(text)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("invalid ap-address in {}", path.display()))?,
            );
        }
        if self.ap_dhcp.is_none()
            && let Some(word) = file.ap_dhcp
        {
            if !["auto", "dnsmasq", "off"].contains(&word.as_str()) {
                bail!(
                    "ap-dhcp must be \"auto\", \"dnsmasq\" or \"off\" in {}",
                    path.display()
                );
            }
            self.ap_dhcp = Some(word);
        }
        self.provisioning_address = self.provisioning_address.or(file.provisioning_address);
        self.security = self.security.or(file.security);
        self.pop = self.pop.take().or(file.pop);
        self.username = self.username.take().or(file.username);
        self.password = self.password.take().or(file.password);
        if self.generate_secrets.is_none() {
            self.generate_secrets = match file.generate_secrets {
                None => None,
                Some(OnOff::Bool(on)) => Some(if on { "on" } else { "off" }.to_string()),
                Some(OnOff::Word(word)) if word == "on" || word == "off" => Some(word),
                Some(OnOff::Word(_)) => bail!(
                    "generate-secrets must be true, false, \"on\" or \"off\" in {}",
                    path.display()
                ),
            };
        }
        self.remote_console = self.remote_console.take().or(file.remote_console);
        self.state_dir = self.state_dir.take().or(file.state_dir.map(relative));
        self.ble |= file.ble;
        self.ble_adapter = self.ble_adapter.take().or(file.ble_adapter);
        self.ble_service_uuid = self.ble_service_uuid.take().or(file.ble_service_uuid);
        self.service_name = self.service_name.take().or(file.service_name);
        let sc = &mut self.smartconfig;
        sc.smartconfig_interface = sc
            .smartconfig_interface
            .take()
            .or(file.smartconfig_interface);
        sc.smartconfig_udp = sc.smartconfig_udp.or(file.smartconfig_udp);
        if sc.smartconfig_type.is_none()
            && let Some(name) = file.smartconfig_type
        {
            sc.smartconfig_type = Some(
                crate::route_flags::parse_type(&name)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("smartconfig-type in {}", path.display()))?,
            );
        }
        sc.smartconfig_aes_key = sc.smartconfig_aes_key.take().or(file.smartconfig_aes_key);
        sc.smartconfig_ack_port = sc.smartconfig_ack_port.or(file.smartconfig_ack_port);
        sc.smartconfig_ack_broadcast = sc
            .smartconfig_ack_broadcast
            .or(file.smartconfig_ack_broadcast);
        self.events = self.events.take().or(file.events);
        self.event_hook = self.event_hook.take().or(file.event_hook);
        if self.child_env.is_empty() {
            self.child_env = file.child_env;
        }
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(text: &str, args: ManageArgs) -> Result<ManageArgs> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manage.toml");
        std::fs::write(&path, text).unwrap();
        ManageArgs {
            config: Some(path),
            ..args
        }
        .merge_config_file()
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let args = merged(
            "listen = \"127.0.0.1:9\"\ninterval = 5\nsecurity = 1\npop = \"from-file\"\n\
             generate_secrets = false\nevents = \"json\"\nevent-hook = \"true\"\n\
             smartconfig-type = \"esptouch-v2\"\nsmartconfig-udp = \"127.0.0.1:7\"\n\
             ap-interface = \"wlan3\"\n",
            ManageArgs {
                interval: Some(1),
                ..ManageArgs::default()
            },
        )
        .unwrap();
        assert_eq!(args.interval, Some(1));
        assert_eq!(args.listen(), "127.0.0.1:9".parse().unwrap());
        assert_eq!(args.provisioning_address(), None);
        assert_eq!(args.pop.as_deref(), Some("from-file"));
        assert!(!args.generates_secrets());
        assert_eq!(args.events.as_deref(), Some("json"));
        assert!(args.smartconfig.smartconfig_type.is_some());
        assert_eq!(args.wifi.ap_interface.as_deref(), Some("wlan3"));
        let defaults = ManageArgs::default().merge_config_file().unwrap();
        assert_eq!(defaults.listen(), "0.0.0.0:80".parse().unwrap());
        // The captive portal takes port 80; HTTP provisioning moves to 8080.
        let mut with_portal = ManageArgs::default();
        with_portal.portal.portal = true;
        assert_eq!(with_portal.listen(), "0.0.0.0:8080".parse().unwrap());
        assert_eq!(
            with_portal.portal.listen(Some(with_portal.listen())).port(),
            80
        );
        with_portal.listen = Some("0.0.0.0:80".parse().unwrap());
        assert_eq!(
            with_portal.portal.listen(Some(with_portal.listen())).port(),
            8080
        );
        assert_eq!(
            defaults.provisioning_address(),
            Some("192.168.4.1:80".parse().unwrap())
        );
        assert!(defaults.generates_secrets());
    }

    #[test]
    fn files_with_secrets_know_it_and_endless_files_are_refused() {
        let with = |text: &str| {
            toml::from_str::<FileSettings>(text)
                .unwrap()
                .holds_secrets()
        };
        assert!(with("pop = \"x\""));
        assert!(with("password = \"x\""));
        assert!(with("smartconfig-aes-key = \"0123456789abcdef\""));
        assert!(!with("username = \"wifiprov\"\nlisten = \"127.0.0.1:9\""));
        let e = ManageArgs {
            config: Some(PathBuf::from("/dev/zero")),
            ..ManageArgs::default()
        }
        .merge_config_file()
        .unwrap_err();
        assert!(
            format!("{e:#}").contains(&format!("larger than {MAX_CONFIG_LEN} bytes")),
            "{e:#}"
        );
    }

    #[test]
    fn errors_name_the_key_and_not_the_value() {
        for text in [
            "password = 314159265\n",
            "pop = \"hunter2\n",
            "generate-secrets = \"hunter2\"\n",
        ] {
            let err = merged(text, ManageArgs::default()).unwrap_err();
            let shown = format!("{err:#}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("314159265"), "{shown}");
        }
        let err = merged("lisen = \"127.0.0.1:9\"\n", ManageArgs::default()).unwrap_err();
        assert!(format!("{err:#}").contains("lisen"), "{err:#}");
        let err = merged("service-name = \"x\"\n", ManageArgs::default()).unwrap_err();
        assert!(format!("{err:#}").contains("need --ble"), "{err:#}");
    }

    #[test]
    fn access_point_network_from_flags_and_file() {
        assert_eq!(
            parse_cidr("10.9.8.1/24").unwrap(),
            ("10.9.8.1".parse().unwrap(), 24)
        );
        for bad in [
            "10.9.8.1",
            "10.9.8.0/24",
            "10.9.8.1/31",
            "10.9.8.1/x",
            "host/24",
        ] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
        let args = merged(
            "ap-address = \"10.9.8.1/24\"\nap-dhcp = \"off\"\n",
            ManageArgs::default(),
        )
        .unwrap();
        let net = args.ap_network();
        assert_eq!(
            (net.address, net.prefix, net.dhcp),
            ("10.9.8.1".parse().unwrap(), 24, false)
        );
        // Clients are told the access point's address when the service listens on all.
        assert_eq!(
            args.provisioning_address(),
            Some("10.9.8.1:80".parse().unwrap())
        );
        assert!(merged("ap-dhcp = \"sometimes\"\n", ManageArgs::default()).is_err());
        let forced = ManageArgs {
            ap_dhcp: Some("dnsmasq".into()),
            ..ManageArgs::default()
        };
        assert!(forced.ap_network().dhcp);
    }
}
