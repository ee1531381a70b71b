//! Improv Wi-Fi clients: [`ImprovSerial`] drives a device over a serial port, a
//! pseudo-terminal or a spawned command's standard streams, as ESP Web Tools does over Web
//! Serial.
//!
//! Every call sends one RPC command and waits, bounded by its timeout, for the device's
//! answer: its result(s), or an error state, which becomes [`ImprovError::Device`].

use std::time::Duration;

use improv::rpc::{self, Rpc, RpcResult};
use improv::serial::{PacketType, SerialDecoder, encode_packet};
use improv::{ErrorCode, State};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::time::Instant;
use zeroize::Zeroizing;

/// How long a device may take to answer a command other than Wi-Fi settings.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// The most results a scan may return before the client stops collecting.
pub const MAX_NETWORKS: usize = 256;

/// Why an Improv call failed.
#[derive(Debug, thiserror::Error)]
pub enum ImprovError {
    /// Reading or writing the port failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The port closed.
    #[error("the device closed the connection")]
    Closed,
    /// No answer in time.
    #[error("no answer from the device to {what} within {} s", timeout.as_secs())]
    Timeout {
        /// What was asked.
        what: &'static str,
        /// How long the client waited.
        timeout: Duration,
    },
    /// The device reported an error.
    #[error("{}", .0.describe())]
    Device(ErrorCode),
    /// The device answered something that does not fit.
    #[error("unexpected answer from the device: {0}")]
    Protocol(String),
}

/// A network the device sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImprovNetwork {
    /// Its SSID.
    pub ssid: Vec<u8>,
    /// Signal strength in dBm.
    pub rssi: i32,
    /// Whether it needs a passphrase.
    pub secured: bool,
}

/// What the device says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ImprovDeviceInfo {
    /// Firmware name.
    pub firmware: String,
    /// Firmware version.
    pub version: String,
    /// Hardware (chip, board).
    pub hardware: String,
    /// Device name.
    pub name: String,
    /// Operating system, when the device reports one.
    pub os_name: Option<String>,
    /// Its version.
    pub os_version: Option<String>,
}

impl ImprovDeviceInfo {
    /// Reads a device info result (at least four strings).
    pub fn from_result(result: &RpcResult) -> Result<Self, ImprovError> {
        let text = |i| result.text(i);
        match (text(0), text(1), text(2), text(3)) {
            (Some(firmware), Some(version), Some(hardware), Some(name)) => Ok(ImprovDeviceInfo {
                firmware,
                version,
                hardware,
                name,
                os_name: text(4),
                os_version: text(5),
            }),
            _ => Err(ImprovError::Protocol(format!(
                "device info with {} strings (at least 4 expected)",
                result.strings.len()
            ))),
        }
    }
}

/// The device's connectivity (command 0x07).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkState {
    /// Whether it is online.
    pub online: bool,
    /// The flags as sent (bit 1 Wi-Fi, 2 Ethernet, 3 Thread, 4 cellular).
    pub flags: u8,
    /// Its URLs when online.
    pub urls: Vec<String>,
}

/// A network entry of a scan result: SSID, RSSI, and "YES"/"NO" (serial) or an
/// authentication name (BLE: "NO" means open).
pub fn network_from_strings(ssid: &[u8], rssi: &[u8], auth: &[u8]) -> ImprovNetwork {
    let rssi = std::str::from_utf8(rssi)
        .ok()
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or(-100);
    ImprovNetwork {
        ssid: ssid.to_vec(),
        rssi,
        secured: !auth.eq_ignore_ascii_case(b"NO"),
    }
}

/// An Improv client on a byte stream.
pub struct ImprovSerial {
    reader: Box<dyn AsyncRead + Send + Unpin>,
    writer: Box<dyn AsyncWrite + Send + Unpin>,
    decoder: SerialDecoder,
    state: Option<State>,
    _child: Option<Child>,
}

impl std::fmt::Debug for ImprovSerial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImprovSerial")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ImprovSerial {
    /// A client on `reader` and `writer` (the two halves of a serial port).
    pub fn new(
        reader: impl AsyncRead + Send + Unpin + 'static,
        writer: impl AsyncWrite + Send + Unpin + 'static,
    ) -> Self {
        ImprovSerial {
            reader: Box::new(reader),
            writer: Box::new(writer),
            decoder: SerialDecoder::new(),
            state: None,
            _child: None,
        }
    }

    /// A client on the standard streams of `command` (run with `sh -c`; its standard error
    /// is passed through). The command is killed when the client is dropped.
    pub fn spawn(command: &str) -> std::io::Result<Self> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other(
                "the command's streams are not available",
            ));
        };
        let mut client = ImprovSerial::new(stdout, stdin);
        client._child = Some(child);
        Ok(client)
    }

    /// The last state the device reported.
    pub fn state(&self) -> Option<State> {
        self.state
    }

    async fn send(&mut self, rpc: &Rpc) -> Result<(), ImprovError> {
        let body = rpc
            .encode()
            .map_err(|e| ImprovError::Protocol(e.to_string()))?;
        let mut packet = Zeroizing::new(
            encode_packet(PacketType::RpcCommand, &body)
                .ok_or_else(|| ImprovError::Protocol("command too long".into()))?,
        );
        packet.push(b'\n');
        self.writer.write_all(&packet).await?;
        self.writer.flush().await?;
        Ok(())
    }

    /// The next packet, by `deadline`.
    async fn next_packet(
        &mut self,
        deadline: Instant,
        what: &'static str,
        timeout: Duration,
    ) -> Result<improv::serial::Packet, ImprovError> {
        let mut buf = [0u8; 256];
        loop {
            while let Some(item) = self.decoder.next_packet() {
                match item {
                    Ok(packet) => return Ok(packet),
                    Err(e) => tracing::debug!("Improv: {e}"),
                }
            }
            let n = tokio::time::timeout_at(deadline, self.reader.read(&mut buf))
                .await
                .map_err(|_| ImprovError::Timeout { what, timeout })??;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                return Err(ImprovError::Closed);
            };
            self.decoder.push(chunk);
        }
    }

    /// Sends `rpc` and collects results for its command until `done` says the answer is
    /// complete (given the results so far and whether the last one was empty).
    async fn call(
        &mut self,
        rpc: &Rpc,
        what: &'static str,
        timeout: Duration,
        many: bool,
    ) -> Result<Vec<RpcResult>, ImprovError> {
        let command = rpc.command();
        self.send(rpc).await?;
        let deadline = Instant::now() + timeout;
        let mut results = Vec::new();
        loop {
            let packet = self.next_packet(deadline, what, timeout).await?;
            let byte = packet.data.first().copied();
            match packet.kind {
                PacketType::CurrentState => {
                    self.state = byte.and_then(State::from_byte);
                    // Only a provisioned device follows its state with a result.
                    if command == rpc::CURRENT_STATE_OR_IDENTIFY
                        && self.state != Some(State::Provisioned)
                    {
                        return Ok(results);
                    }
                }
                PacketType::ErrorState => match byte.map(ErrorCode::from_byte) {
                    Some(ErrorCode::None) | None => {}
                    Some(code) => return Err(ImprovError::Device(code)),
                },
                PacketType::RpcResult => {
                    let result = RpcResult::decode(&packet.data)
                        .map_err(|e| ImprovError::Protocol(e.to_string()))?;
                    if result.command != command {
                        tracing::debug!("Improv: a result for 0x{:02x} ignored", result.command);
                        continue;
                    }
                    if !many {
                        results.push(result);
                        return Ok(results);
                    }
                    if result.strings.is_empty() {
                        return Ok(results);
                    }
                    if results.len() >= MAX_NETWORKS {
                        return Err(ImprovError::Protocol("too many results".into()));
                    }
                    results.push(result);
                }
                PacketType::RpcCommand => {}
            }
        }
    }

    /// The device's state, and its redirect URL when provisioned.
    pub async fn current_state(&mut self) -> Result<(State, Option<String>), ImprovError> {
        let results = self
            .call(
                &Rpc::CurrentStateOrIdentify,
                "the state request",
                COMMAND_TIMEOUT,
                false,
            )
            .await?;
        let state = self
            .state
            .ok_or_else(|| ImprovError::Protocol("no state".into()))?;
        Ok((state, results.first().and_then(|r| r.text(0))))
    }

    /// Asks for the state every second until the device answers, for at most `timeout`
    /// (a device that just booted misses the first requests).
    pub async fn detect(
        &mut self,
        timeout: Duration,
    ) -> Result<(State, Option<String>), ImprovError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let attempt = left.min(Duration::from_secs(1));
            match self
                .call(
                    &Rpc::CurrentStateOrIdentify,
                    "the state request",
                    attempt,
                    false,
                )
                .await
            {
                Ok(results) => {
                    if let Some(state) = self.state {
                        return Ok((state, results.first().and_then(|r| r.text(0))));
                    }
                }
                Err(ImprovError::Timeout { .. }) if Instant::now() < deadline => {}
                Err(ImprovError::Timeout { .. }) => {
                    return Err(ImprovError::Timeout {
                        what: "the state request (no Improv device answers)",
                        timeout,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// What the device says about itself.
    pub async fn device_info(&mut self) -> Result<ImprovDeviceInfo, ImprovError> {
        let results = self
            .call(
                &Rpc::DeviceInfo,
                "the device info request",
                COMMAND_TIMEOUT,
                false,
            )
            .await?;
        ImprovDeviceInfo::from_result(results.first().ok_or(ImprovError::Closed)?)
    }

    /// The networks the device sees (strongest first).
    pub async fn scan(&mut self, timeout: Duration) -> Result<Vec<ImprovNetwork>, ImprovError> {
        let results = self
            .call(&Rpc::WifiNetworks, "the scan", timeout, true)
            .await?;
        let mut networks: Vec<ImprovNetwork> = results
            .iter()
            .filter_map(|r| match r.strings.as_slice() {
                [ssid, rssi, auth, ..] => Some(network_from_strings(ssid, rssi, auth)),
                _ => None,
            })
            .collect();
        networks.sort_by_key(|n| std::cmp::Reverse(n.rssi));
        Ok(networks)
    }

    /// Sends Wi-Fi credentials and waits up to `timeout` for the outcome: the redirect URLs
    /// (possibly none), or [`ImprovError::Device`] with
    /// [`ErrorCode::UnableToConnect`].
    pub async fn provision(
        &mut self,
        ssid: &[u8],
        passphrase: &[u8],
        timeout: Duration,
    ) -> Result<Vec<String>, ImprovError> {
        let rpc = Rpc::WifiSettings {
            ssid: ssid.to_vec(),
            password: Zeroizing::new(passphrase.to_vec()),
        };
        let results = self
            .call(&rpc, "the Wi-Fi settings", timeout, false)
            .await?;
        Ok(results
            .first()
            .map(|r| {
                (0..r.strings.len())
                    .filter_map(|i| r.text(i))
                    .filter(|u| !u.is_empty())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Gets (`None`) or sets the hostname; returns the device's hostname.
    pub async fn hostname(&mut self, set: Option<&str>) -> Result<String, ImprovError> {
        let rpc = Rpc::Hostname(set.map(|s| s.as_bytes().to_vec()));
        self.text_call(&rpc, "the hostname request").await
    }

    /// Gets (`None`) or sets the device name; returns the device's name.
    pub async fn device_name(&mut self, set: Option<&str>) -> Result<String, ImprovError> {
        let rpc = Rpc::DeviceName(set.map(|s| s.as_bytes().to_vec()));
        self.text_call(&rpc, "the device name request").await
    }

    async fn text_call(&mut self, rpc: &Rpc, what: &'static str) -> Result<String, ImprovError> {
        let results = self.call(rpc, what, COMMAND_TIMEOUT, false).await?;
        results
            .first()
            .and_then(|r| r.text(0))
            .ok_or_else(|| ImprovError::Protocol(format!("{what}: an empty result")))
    }

    /// The device's connectivity (devices without command 0x07 answer
    /// [`ErrorCode::UnknownCommand`]).
    pub async fn network_state(&mut self) -> Result<NetworkState, ImprovError> {
        let results = self
            .call(
                &Rpc::NetworkState,
                "the network state request",
                COMMAND_TIMEOUT,
                false,
            )
            .await?;
        let result = results.first().ok_or(ImprovError::Closed)?;
        let flags: u8 = result
            .text(0)
            .and_then(|f| f.trim().parse().ok())
            .ok_or_else(|| ImprovError::Protocol("network state without flags".into()))?;
        Ok(NetworkState {
            online: flags & 1 != 0,
            flags,
            urls: (1..result.strings.len())
                .filter_map(|i| result.text(i))
                .collect(),
        })
    }
}
