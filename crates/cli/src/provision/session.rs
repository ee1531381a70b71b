//! Reaching a device and opening a secure session: address, `proto-ver`, the security
//! scheme, credentials (from flags, the QR payload or the terminal) and the handshake.

use std::time::Duration;

use protocomm::{PeerVersion, Secret};
use wifiprov_client::{
    BluezCentral, BluezCentralConfig, ClientConfig, ClientTransport, ConsoleTransport, Credentials,
    HttpTransport, Provisioner,
};

use super::args::{Connection, TransportKind};
use super::prompt;
use super::qr::QrPayload;
use super::report::Failure;
use super::ui::Ui;
use crate::exit::Exit;

/// Where a device answers when this machine has joined its SoftAP.
pub const DEFAULT_ADDR: &str = "192.168.4.1:80";

/// How long any single request may take (a blocking scan takes a few seconds).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the first answer may take before the device counts as unreachable.
const FIRST_CONTACT: Duration = Duration::from_secs(10);

/// How the device is reached.
pub enum Link {
    /// HTTP at `Target::addr`.
    Http,
    /// Console command lines on a serial device or pseudo-terminal, at an optional baud rate.
    Serial(std::path::PathBuf, Option<u32>),
    /// Console command lines on a spawned command's standard input and output.
    Command(String),
    /// BLE through BlueZ on the system bus: the device to look for.
    Ble(BluezCentralConfig),
}

/// How long to scan for a BLE device before it counts as unreachable.
const BLE_SCAN_TIME: Duration = Duration::from_secs(15);

/// The resolved connection flags.
pub struct Target {
    /// `host:port`, for the console the serial path or the command, for BLE the device name
    /// followed by ` (BLE)`.
    pub addr: String,
    /// How to reach it.
    pub link: Link,
    /// The parsed `--qr-payload`.
    pub qr: QrPayload,
}

impl Target {
    /// Applies the QR payload and defaults to the flags.
    pub fn resolve(conn: &Connection) -> Result<Self, Failure> {
        let qr = match &conn.qr_payload {
            Some(text) => QrPayload::parse(text)?,
            None => QrPayload::default(),
        };
        let transport = match conn.transport {
            Some(kind) => kind,
            None => qr.transport()?.unwrap_or(TransportKind::Softap),
        };
        if transport != TransportKind::Ble && conn.ble_service_uuid.is_some() {
            return Err(Failure::usage(
                "--ble-service-uuid only applies to --transport ble",
            ));
        }
        if transport != TransportKind::Ble && conn.ble_adapter.is_some() {
            return Err(Failure::usage(
                "--ble-adapter only applies to --transport ble",
            ));
        }
        if transport == TransportKind::Ble {
            if conn.serial.is_some() || conn.console_command.is_some() {
                return Err(Failure::usage(
                    "--serial and --console-command only apply to --transport console",
                ));
            }
            let Some(name) = conn.service_name.clone().or_else(|| qr.name.clone()) else {
                return Err(Failure::usage(
                    "--transport ble needs the device's BLE name in --service_name (PROV_…; \
                     `wifiprov discover` lists the devices in range)",
                ));
            };
            let config = BluezCentralConfig {
                name: Some(name.clone()),
                service_uuid: conn.ble_service_uuid,
                adapter: conn.ble_adapter.clone(),
                scan_timeout: BLE_SCAN_TIME,
                request_timeout: REQUEST_TIMEOUT,
            };
            return Ok(Target {
                addr: format!("{name} (BLE)"),
                link: Link::Ble(config),
                qr,
            });
        }
        if transport == TransportKind::Console {
            let (addr, link) = match (&conn.serial, &conn.console_command) {
                (Some(path), None) => (
                    path.display().to_string(),
                    Link::Serial(path.clone(), conn.baud),
                ),
                (None, Some(command)) => (
                    format!("console command {command:?}"),
                    Link::Command(command.clone()),
                ),
                _ => {
                    return Err(Failure::usage(
                        "--transport console needs --serial PATH or --console-command COMMAND",
                    ));
                }
            };
            return Ok(Target { addr, link, qr });
        }
        if conn.serial.is_some() || conn.console_command.is_some() {
            return Err(Failure::usage(
                "--serial and --console-command only apply to --transport console",
            ));
        }
        let addr = match (&conn.service_name, &qr.address) {
            (Some(name), _) => normalise(name)?,
            (None, Some(address)) => normalise(address)?,
            (None, None) => {
                if let Some(name) = &qr.name {
                    tracing::debug!(
                        "the QR payload names the device's access point {name:?}, not an address: \
                         join that network first; the device then answers at {DEFAULT_ADDR} \
                         (use --service_name for another address)"
                    );
                }
                DEFAULT_ADDR.to_string()
            }
        };
        if qr.password.is_some() {
            tracing::debug!(
                "the QR payload carries the passphrase of the device's access point: join it \
                 with that passphrase before provisioning"
            );
        }
        Ok(Target {
            addr,
            link: Link::Http,
            qr,
        })
    }
}

impl Target {
    /// Opens the link (a serial device is opened, a console command started, a BLE device
    /// found and connected).
    pub async fn transport(&self) -> Result<Box<dyn ClientTransport>, Failure> {
        Ok(match &self.link {
            Link::Ble(config) => Box::new(
                BluezCentral::connect(config.clone())
                    .await
                    .map_err(|e| ble_failure(e, &self.addr))?,
            ),
            Link::Http => Box::new(HttpTransport::new(&self.addr, REQUEST_TIMEOUT)),
            Link::Serial(path, baud) => {
                let (reader, writer) = crate::serial::open(path, *baud)
                    .map_err(|e| Failure::new(Exit::Unreachable, crate::exit::message(&*e)))?;
                Box::new(ConsoleTransport::new(
                    reader,
                    writer,
                    self.addr.clone(),
                    REQUEST_TIMEOUT,
                ))
            }
            Link::Command(command) => Box::new(
                ConsoleTransport::spawn(command, REQUEST_TIMEOUT)
                    .map_err(|e| Failure::new(Exit::Unreachable, e.to_string()))?,
            ),
        })
    }
}

/// A BLE transport failure, with a BLE hint when the device is unreachable.
fn ble_failure(error: wifiprov_client::TransportError, addr: &str) -> Failure {
    let failure = Failure::from(wifiprov_client::Error::Transport(error));
    if failure.code != Exit::Unreachable {
        return failure;
    }
    failure.hint(format!(
        "check that Bluetooth is on here (bluetoothctl show), that {addr} is in range and \
         still provisioning, and its name (--service_name; `wifiprov discover` lists BLE \
         devices)"
    ))
}

/// Accepts `host`, `host:port` or `http://host:port/`; adds port 80 when absent.
fn normalise(name: &str) -> Result<String, Failure> {
    let trimmed = name.trim();
    let bare = trimmed
        .strip_prefix("http://")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    if bare.is_empty() || bare.contains(['/', ' ']) || trimmed.starts_with("https://") {
        return Err(Failure::usage(format!(
            "--service_name {name:?} is not an HTTP address (HOST or HOST:PORT)"
        )));
    }
    let has_port = bare
        .rsplit_once(':')
        .is_some_and(|(host, port)| port.parse::<u16>().is_ok() && !host.ends_with(':'));
    Ok(if has_port {
        bare.to_string()
    } else {
        format!("{bare}:80")
    })
}

/// An open session with a device.
pub struct Session {
    /// The client, with an established session.
    pub device: Provisioner<Box<dyn ClientTransport>>,
    /// The device's version document.
    pub version: PeerVersion,
    /// The security scheme in use.
    pub security: u8,
}

/// Reads the device's version without a session (for `info`).
pub async fn read_version(conn: &Connection) -> Result<(String, PeerVersion), Failure> {
    let target = Target::resolve(conn)?;
    let mut device = Provisioner::new(target.transport().await?);
    let version = first_contact(&mut device, &target).await?;
    Ok((target.addr, version))
}

async fn first_contact(
    device: &mut Provisioner<Box<dyn ClientTransport>>,
    target: &Target,
) -> Result<PeerVersion, Failure> {
    let addr = target.addr.as_str();
    let error = match tokio::time::timeout(FIRST_CONTACT, device.version()).await {
        Ok(Ok(version)) => return Ok(version.clone()),
        Ok(Err(e)) => e,
        Err(_) => wifiprov_client::Error::Transport(wifiprov_client::TransportError::Timeout(
            FIRST_CONTACT,
        )),
    };
    match (&target.link, error) {
        (Link::Ble(_), wifiprov_client::Error::Transport(e)) => Err(ble_failure(e, addr)),
        (_, e) => Err(Failure::first_contact(e, addr)),
    }
}

/// Connects, checks the version and establishes a session.
pub async fn open(
    conn: &Connection,
    target: Target,
    config: ClientConfig,
    ui: &Ui,
    interactive: bool,
) -> Result<Session, Failure> {
    let config = match target.link {
        // esp_prov's BLE settings: a page of 100 scan results does not fit one 512-byte
        // attribute value, and the device has no SoftAP to keep beaconing.
        Link::Ble(_) => ClientConfig {
            scan_page: 4,
            scan_group_channels: 0,
            ..config
        },
        _ => config,
    };
    let mut device = Provisioner::with_config(target.transport().await?, config);
    let version = first_contact(&mut device, &target).await?;
    let announced = version.version.as_deref().unwrap_or("unknown");
    if let Some(wanted) = &conn.proto_ver
        && !announced.eq_ignore_ascii_case(wanted.trim())
    {
        return Err(Failure::new(
            Exit::Refused,
            format!(
                "protocol version mismatch: the device speaks {announced}, --proto_ver asks for {wanted}"
            ),
        ));
    }
    ui.step(&format!(
        "Connected to device {} (protocol {announced})",
        target.addr
    ));
    tracing::debug!(
        "device version: sec_ver {:?}, sec_patch_ver {}, capabilities {:?}",
        version.sec_ver,
        version.sec_patch_ver,
        version.capabilities
    );

    let security = conn
        .sec_ver
        .or(target.qr.security)
        .unwrap_or_else(|| version.security());
    if let Some(theirs) = version.sec_ver
        && theirs != security
    {
        ui.note(&format!(
            "the device announces security {theirs}; using security {security} as asked"
        ));
    }
    let credentials = credentials(security, &version, conn, &target.qr, ui, interactive).await?;
    let scheme = device.negotiate(Some(security), &credentials).await?;
    device.establish(scheme).await?;
    if security == 2 {
        tracing::debug!("security 2 patch level {}", version.sec_patch_ver);
    }
    ui.step(&format!("Session established (security {security})"));
    Ok(Session {
        device,
        version,
        security,
    })
}

/// Gathers what `security` needs: flags first, then the QR payload, then the terminal.
async fn credentials(
    security: u8,
    version: &PeerVersion,
    conn: &Connection,
    qr: &QrPayload,
    ui: &Ui,
    interactive: bool,
) -> Result<Credentials, Failure> {
    let mut credentials = Credentials::default();
    match security {
        1 if version.needs_pop() => {
            let pop = match conn.pop.as_ref().or(qr.pop.as_ref()) {
                Some(pop) => Secret::from(pop.as_str()),
                None if interactive => {
                    let answer = prompt::ask_secret("Proof of possession: ".into()).await?;
                    Secret::from(answer.as_str())
                }
                None => return Err(prompt::missing("a proof of possession", "--pop")),
            };
            credentials.pop = Some(pop);
        }
        1 if conn.pop.is_some() => {
            ui.note("the device needs no proof of possession; --pop is ignored");
        }
        2 => {
            let username = match conn.sec2_username.as_ref().or(qr.username.as_ref()) {
                Some(name) => name.clone(),
                None if interactive => prompt::ask("SRP username: ".into()).await?,
                None => return Err(prompt::missing("an SRP username", "--sec2_username")),
            };
            if username.is_empty() {
                return Err(Failure::usage("the SRP username must not be empty"));
            }
            let password = match conn.sec2_pwd.as_ref().or(qr.pop.as_ref()) {
                Some(pw) => Secret::from(pw.as_str()),
                None if interactive => {
                    let answer =
                        prompt::ask_secret(format!("SRP password for {username}: ")).await?;
                    Secret::from(answer.as_str())
                }
                None => return Err(prompt::missing("an SRP password", "--sec2_pwd")),
            };
            credentials.username = Some(username);
            credentials.password = Some(password);
        }
        _ => {}
    }
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(normalise("192.168.4.1").unwrap(), "192.168.4.1:80");
        assert_eq!(normalise("127.0.0.1:8080").unwrap(), "127.0.0.1:8080");
        assert_eq!(normalise("http://dev.local:81/").unwrap(), "dev.local:81");
        assert_eq!(normalise("dev.local").unwrap(), "dev.local:80");
        assert_eq!(normalise("[::1]:8080").unwrap(), "[::1]:8080");
        assert_eq!(normalise("[::1]").unwrap(), "[::1]:80");
        assert!(normalise("").is_err());
        assert!(normalise("https://x").is_err());
        assert!(normalise("a b").is_err());
    }

    #[test]
    fn ble_needs_a_device_name() {
        let conn = Connection {
            transport: Some(TransportKind::Ble),
            ..Connection::default()
        };
        let err = Target::resolve(&conn).err().unwrap();
        assert_eq!(err.code, Exit::Usage);
        assert!(err.message.contains("--service_name"), "{}", err.message);

        let uuid = wifiprov_transport::ble::uuid::EXAMPLE_SERVICE_UUID;
        let named = Connection {
            transport: Some(TransportKind::Ble),
            service_name: Some("PROV_1A2B3C".into()),
            ble_service_uuid: Some(uuid),
            ..Connection::default()
        };
        let target = Target::resolve(&named).unwrap();
        assert_eq!(target.addr, "PROV_1A2B3C (BLE)");
        match &target.link {
            Link::Ble(config) => {
                assert_eq!(config.name.as_deref(), Some("PROV_1A2B3C"));
                assert_eq!(config.service_uuid, Some(uuid));
                assert_eq!(config.adapter, None);
            }
            _ => panic!("not a BLE link"),
        }

        // The QR payload's name is the BLE name.
        let from_qr = Connection {
            qr_payload: Some(r#"{"ver":"v1","name":"PROV_1","transport":"ble"}"#.into()),
            ..Connection::default()
        };
        let target = Target::resolve(&from_qr).unwrap();
        assert!(matches!(&target.link, Link::Ble(c) if c.name.as_deref() == Some("PROV_1")));

        // BLE-only flags elsewhere, and console flags with BLE, are usage errors.
        let misplaced = Connection {
            ble_service_uuid: Some(uuid),
            ..Connection::default()
        };
        assert_eq!(Target::resolve(&misplaced).err().unwrap().code, Exit::Usage);
        let misplaced_adapter = Connection {
            ble_adapter: Some("hci1".into()),
            ..Connection::default()
        };
        assert_eq!(
            Target::resolve(&misplaced_adapter).err().unwrap().code,
            Exit::Usage
        );
        let on_hci1 = Connection {
            ble_adapter: Some("hci1".into()),
            ..named.clone()
        };
        assert!(
            matches!(&Target::resolve(&on_hci1).unwrap().link, Link::Ble(c) if c.adapter.as_deref() == Some("hci1"))
        );
        let mixed = Connection {
            serial: Some("/dev/ttyUSB0".into()),
            ..named
        };
        assert_eq!(Target::resolve(&mixed).err().unwrap().code, Exit::Usage);
    }

    #[test]
    fn the_qr_name_is_not_an_address() {
        let conn = Connection {
            qr_payload: Some(
                r#"{"ver":"v1","name":"PROV_1","pop":"x","transport":"softap"}"#.into(),
            ),
            ..Connection::default()
        };
        assert_eq!(Target::resolve(&conn).unwrap().addr, DEFAULT_ADDR);
    }

    #[test]
    fn the_qr_address_is_used_unless_a_flag_names_another() {
        let mut conn = Connection {
            qr_payload: Some(
                r#"{"ver":"v1","name":"PROV_1","pop":"x","transport":"softap","security":1,"address":"127.0.0.1:8080"}"#.into(),
            ),
            ..Connection::default()
        };
        assert_eq!(Target::resolve(&conn).unwrap().addr, "127.0.0.1:8080");
        conn.service_name = Some("127.0.0.1:9090".into());
        assert_eq!(Target::resolve(&conn).unwrap().addr, "127.0.0.1:9090");
    }
}
