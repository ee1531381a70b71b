//! [`ImprovBle`]: an Improv Wi-Fi client over BLE through BlueZ, as Home Assistant's
//! integration speaks it to ESPHome, WLED or `wifiprov device --improv-ble`.
//!
//! The device is found as the ESP central finds one ([`super::scan`]): by its advertised name
//! or its address when one is given, otherwise as the one device advertising the Improv
//! service UUID. After connecting, the client subscribes (`StartNotify`) to the current state,
//! error state and RPC result characteristics and follows their `PropertiesChanged` signals.
//! A command is written to the RPC command characteristic in writes of at most 20 bytes (the
//! payload of the smallest ATT MTU), and answered by a result, an error state, or nothing
//! (identify). A result's notification only says that it changed: the value is read back
//! with `ReadValue`, which BlueZ completes with long reads.

use std::collections::HashMap;
use std::time::Duration;

use improv::ble::{
    CAPABILITIES_UUID, CURRENT_STATE_UUID, ERROR_STATE_UUID, RPC_COMMAND_UUID, RPC_RESULT_UUID,
    SERVICE_UUID, decode_result, encode_command,
};
use improv::rpc::{self, Rpc, RpcResult};
use improv::{ErrorCode, State};
use tokio::sync::mpsc;
use tokio::time::Instant;
use zbus::{MatchRule, MessageStream, OwnedVariant, Variant};

use super::bus::{Bluez, next_message, system_bus};
use super::device::{BleDevice, string, with_iface};
use super::{
    BLUEZ_SERVICE, CHARACTERISTIC_IFACE, DEFAULT_REQUEST_TIMEOUT, DEVICE_IFACE, Options,
    POLL_INTERVAL, PROPERTIES_IFACE,
};
use crate::TransportError;
use crate::improv::{ImprovDeviceInfo, ImprovError, ImprovNetwork, network_from_strings};

/// The largest write: the payload of a Write Request at the smallest ATT MTU.
pub const WRITE_CHUNK: usize = 20;
/// How long a device may take to answer a command other than Wi-Fi settings.
pub const IMPROV_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `device` advertises the Improv service (or its service data).
pub fn is_improv(device: &BleDevice) -> bool {
    device.improv
}

fn transport(e: TransportError) -> ImprovError {
    match e {
        TransportError::Timeout(timeout) => ImprovError::Timeout {
            what: "a BlueZ call",
            timeout,
        },
        other => ImprovError::Io(std::io::Error::other(other.to_string())),
    }
}

/// The Improv characteristics' object paths.
#[derive(Debug, Default)]
struct Characteristics {
    state: String,
    error: String,
    command: String,
    result: String,
    capabilities: Option<String>,
}

/// A connected Improv BLE device.
pub struct ImprovBle {
    bluez: Bluez,
    device: BleDevice,
    chars: Characteristics,
    changes: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    watcher: tokio::task::JoinHandle<()>,
    connected: bool,
}

impl std::fmt::Debug for ImprovBle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImprovBle")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// Why one connection attempt failed.
enum Attempt {
    /// Worth another attempt, with the reason.
    Retry(String),
    /// Final.
    Fatal(ImprovError),
}

enum Answer {
    Result(RpcResult),
    Error(ErrorCode),
    State(State),
}

impl ImprovBle {
    /// Finds the device (`target`: its name or address; `None`: the one advertising Improv)
    /// on `adapter` (the first when `None`) within `scan_timeout`, connects and subscribes.
    pub async fn connect(
        target: Option<&str>,
        adapter: Option<&str>,
        scan_timeout: Duration,
    ) -> Result<Self, ImprovError> {
        let bus = system_bus().await.map_err(transport)?;
        let bluez = Bluez {
            bus,
            timeout: DEFAULT_REQUEST_TIMEOUT,
        };
        let adapter = bluez.adapter(adapter).await.map_err(transport)?;
        let matches = |d: &BleDevice| match target {
            Some(t) => {
                d.name.as_deref() == Some(t)
                    || d.address
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(t))
            }
            None => is_improv(d),
        };
        let devices = bluez
            .scan(&adapter, scan_timeout, |devices| {
                devices.iter().any(matches)
            })
            .await
            .map_err(transport)?;
        let mut found: Vec<BleDevice> = devices.into_iter().filter(|d| matches(d)).collect();
        let what = target.map_or_else(|| "an Improv device".to_owned(), |t| format!("{t:?}"));
        if found.len() > 1 {
            return Err(ImprovError::Io(std::io::Error::other(format!(
                "several Improv devices in range; choose one with --service_name ({})",
                found
                    .iter()
                    .filter_map(|d| d.name.clone().or_else(|| d.address.clone()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))));
        }
        let device = found.pop().ok_or_else(|| {
            ImprovError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "{what} not seen by {adapter} within {} s",
                    scan_timeout.as_secs()
                ),
            ))
        })?;
        let (tx, changes) = mpsc::unbounded_channel();
        let watcher = watch(&bluez.bus, &device.path, tx).await?;
        let mut client = ImprovBle {
            bluez,
            device,
            chars: Characteristics::default(),
            changes,
            watcher,
            connected: false,
        };
        client.open().await?;
        Ok(client)
    }

    /// The device connected to.
    pub fn device(&self) -> &BleDevice {
        &self.device
    }

    /// A name for messages: the advertised name and the address.
    pub fn describe(&self) -> String {
        let name = self.device.name.clone().unwrap_or_default();
        match &self.device.address {
            Some(a) if name.is_empty() => a.clone(),
            Some(a) => format!("{name} ({a})"),
            None => name,
        }
    }

    /// Connects, waits for the services and subscribes, [`super::CONNECT_ATTEMPTS`] times in
    /// all when BlueZ cannot connect or the link drops before the subscriptions are in place
    /// (BlueZ then answers `StartNotify` with `org.bluez.Error.NotConnected`).
    async fn open(&mut self) -> Result<(), ImprovError> {
        let mut attempt = 1;
        loop {
            match self.open_once().await {
                Ok(()) => return Ok(()),
                Err(Attempt::Retry(why)) if attempt < super::CONNECT_ATTEMPTS => {
                    tracing::debug!(attempt, %why, "Improv BLE: connecting again");
                    self.disconnect_quietly().await;
                    attempt += 1;
                    tokio::time::sleep(POLL_INTERVAL * attempt).await;
                }
                Err(Attempt::Retry(why)) => {
                    return Err(ImprovError::Io(std::io::Error::other(format!(
                        "could not connect to {} ({} attempts): {why}",
                        self.describe(),
                        super::CONNECT_ATTEMPTS
                    ))));
                }
                Err(Attempt::Fatal(e)) => return Err(e),
            }
        }
    }

    /// One attempt of [`Self::open`].
    async fn open_once(&mut self) -> Result<(), Attempt> {
        let path = self.device.path.clone();
        if let Err(e) = self.bluez.call(&path, DEVICE_IFACE, "Connect", &()).await {
            return Err(Attempt::Retry(e.to_string()));
        }
        self.connected = true;
        let deadline = Instant::now() + DEFAULT_REQUEST_TIMEOUT;
        loop {
            let resolved = self
                .bluez
                .get_bool(&path, DEVICE_IFACE, "ServicesResolved")
                .await
                .map_err(|e| Attempt::Fatal(transport(e)))?;
            if resolved {
                break;
            }
            let up = self
                .bluez
                .get_bool(&path, DEVICE_IFACE, "Connected")
                .await
                .map_err(|e| Attempt::Fatal(transport(e)))?;
            if !up {
                return Err(Attempt::Retry(
                    "the link dropped before the services were resolved".into(),
                ));
            }
            if Instant::now() >= deadline {
                return Err(Attempt::Fatal(ImprovError::Timeout {
                    what: "the GATT services",
                    timeout: DEFAULT_REQUEST_TIMEOUT,
                }));
            }
            tokio::time::sleep(POLL_INTERVAL / 5).await;
        }
        self.chars = self.characteristics().await.map_err(Attempt::Fatal)?;
        for char_path in [&self.chars.state, &self.chars.error, &self.chars.result] {
            match self
                .bluez
                .call(char_path, CHARACTERISTIC_IFACE, "StartNotify", &())
                .await
            {
                Ok(_) => {}
                Err(TransportError::Status(text))
                    if text.starts_with("org.bluez.Error.NotConnected") =>
                {
                    return Err(Attempt::Retry(format!(
                        "the link dropped while subscribing ({text})"
                    )));
                }
                // Already subscribed, or notifications the device does not offer: the
                // answers are then read back when they are awaited.
                Err(e) => tracing::debug!(path = %char_path, error = %e, "StartNotify failed"),
            }
        }
        Ok(())
    }

    /// Drops the link after a failed attempt, ignoring errors (it may already be down).
    async fn disconnect_quietly(&mut self) {
        self.bluez.disconnect_quietly(&self.device.path).await;
        self.connected = false;
    }

    async fn characteristics(&self) -> Result<Characteristics, ImprovError> {
        let objects = self.bluez.objects().await.map_err(transport)?;
        let prefix = format!("{}/", self.device.path);
        let mut by_uuid: HashMap<String, String> = HashMap::new();
        for (path, props) in with_iface(&objects, CHARACTERISTIC_IFACE) {
            if let (true, Some(uuid)) = (path.starts_with(&prefix), string(props, "UUID")) {
                by_uuid.insert(uuid.to_ascii_lowercase(), path.to_owned());
            }
        }
        let get = |uuid: &str| by_uuid.get(uuid).cloned();
        match (
            get(CURRENT_STATE_UUID),
            get(ERROR_STATE_UUID),
            get(RPC_COMMAND_UUID),
            get(RPC_RESULT_UUID),
        ) {
            (Some(state), Some(error), Some(command), Some(result)) => Ok(Characteristics {
                state,
                error,
                command,
                result,
                capabilities: get(CAPABILITIES_UUID),
            }),
            _ => Err(ImprovError::Protocol(format!(
                "{} has no Improv service ({SERVICE_UUID})",
                self.describe()
            ))),
        }
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, ImprovError> {
        self.bluez
            .read_value(path, CHARACTERISTIC_IFACE, 0)
            .await
            .map_err(transport)
    }

    /// The current state.
    pub async fn state(&self) -> Result<State, ImprovError> {
        let value = self.read(&self.chars.state).await?;
        value
            .first()
            .and_then(|b| State::from_byte(*b))
            .ok_or_else(|| ImprovError::Protocol(format!("current state {value:02x?}")))
    }

    /// The capabilities byte (0 when the device has no such characteristic).
    pub async fn capabilities(&self) -> Result<u8, ImprovError> {
        match &self.chars.capabilities {
            Some(path) => Ok(self.read(path).await?.first().copied().unwrap_or(0)),
            None => Ok(0),
        }
    }

    async fn write(&self, rpc: &Rpc) -> Result<(), ImprovError> {
        let bytes = encode_command(rpc).map_err(|e| ImprovError::Protocol(e.to_string()))?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            let options: Options = HashMap::from([("type", Variant::from("request"))]);
            self.bluez
                .call(
                    &self.chars.command,
                    CHARACTERISTIC_IFACE,
                    "WriteValue",
                    &(chunk, options),
                )
                .await
                .map_err(transport)?;
        }
        Ok(())
    }

    /// The next answer before `deadline`.
    async fn next(&mut self, deadline: Instant, what: &'static str) -> Result<Answer, ImprovError> {
        loop {
            let timeout = deadline.saturating_duration_since(Instant::now());
            let Ok(change) = tokio::time::timeout(timeout, self.changes.recv()).await else {
                return Err(ImprovError::Timeout {
                    what,
                    timeout: timeout.max(Duration::from_secs(1)),
                });
            };
            let Some((path, value)) = change else {
                return Err(ImprovError::Closed);
            };
            if path == self.chars.error {
                match value.first().map(|b| ErrorCode::from_byte(*b)) {
                    Some(ErrorCode::None) | None => continue,
                    Some(code) => return Ok(Answer::Error(code)),
                }
            } else if path == self.chars.state {
                if let Some(state) = value.first().and_then(|b| State::from_byte(*b)) {
                    return Ok(Answer::State(state));
                }
            } else if path == self.chars.result {
                // The notification may be cut to the MTU: read the whole value.
                let full = self.read(&self.chars.result).await?;
                let bytes = if full.is_empty() { value } else { full };
                match decode_result(&bytes) {
                    Ok(result) => return Ok(Answer::Result(result)),
                    Err(e) => tracing::debug!("Improv BLE: unreadable result: {e}"),
                }
            }
        }
    }

    /// Sends `rpc` and waits for its result.
    async fn call(&mut self, rpc: &Rpc, what: &'static str) -> Result<RpcResult, ImprovError> {
        while self.changes.try_recv().is_ok() {}
        let command = rpc.command();
        self.write(rpc).await?;
        let deadline = Instant::now() + IMPROV_COMMAND_TIMEOUT;
        loop {
            match self.next(deadline, what).await? {
                Answer::Result(r) if r.command == command => return Ok(r),
                Answer::Error(code) => return Err(ImprovError::Device(code)),
                _ => {}
            }
        }
    }

    /// Asks the device to identify itself (no answer expected).
    pub async fn identify(&mut self) -> Result<(), ImprovError> {
        self.write(&Rpc::CurrentStateOrIdentify).await
    }

    /// The device's information.
    pub async fn device_info(&mut self) -> Result<ImprovDeviceInfo, ImprovError> {
        let result = self.call(&Rpc::DeviceInfo, "device info").await?;
        ImprovDeviceInfo::from_result(&result)
    }

    /// The networks the device sees.
    pub async fn scan(&mut self) -> Result<Vec<ImprovNetwork>, ImprovError> {
        let result = self.call(&Rpc::WifiNetworks, "the scan").await?;
        Ok(result
            .strings
            .chunks(3)
            .filter_map(|entry| match entry {
                [ssid, rssi, auth] => Some(network_from_strings(ssid, rssi, auth)),
                _ => None,
            })
            .collect())
    }

    /// Sends the credentials and waits up to `timeout` for the outcome: the redirect URLs
    /// once provisioned, or the device's error ("unable to connect", "not authorized").
    pub async fn provision(
        &mut self,
        ssid: &[u8],
        password: &[u8],
        timeout: Duration,
    ) -> Result<Vec<String>, ImprovError> {
        while self.changes.try_recv().is_ok() {}
        let rpc = Rpc::WifiSettings {
            ssid: ssid.to_vec(),
            password: password.to_vec().into(),
        };
        self.write(&rpc).await?;
        let deadline = Instant::now() + timeout;
        let mut provisioned_at: Option<Instant> = None;
        loop {
            // Once provisioned, the result follows at once; do not wait long for it.
            let until = provisioned_at.map_or(deadline, |at| at + Duration::from_secs(2));
            match self.next(until, "the Wi-Fi settings").await {
                Ok(Answer::Result(r)) if r.command == rpc::WIFI_SETTINGS => {
                    return Ok((0..r.strings.len()).filter_map(|i| r.text(i)).collect());
                }
                Ok(Answer::Error(code)) => return Err(ImprovError::Device(code)),
                Ok(Answer::State(State::Provisioned)) => {
                    provisioned_at.get_or_insert_with(Instant::now);
                }
                Ok(_) => {}
                Err(ImprovError::Timeout { .. }) if provisioned_at.is_some() => {
                    return Ok(Vec::new());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Disconnects.
    pub async fn disconnect(mut self) {
        self.disconnect_quietly().await;
    }
}

impl Drop for ImprovBle {
    fn drop(&mut self) {
        self.watcher.abort();
        if !self.connected {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let bluez = self.bluez.clone();
        let path = self.device.path.clone();
        let disconnect = async move {
            let call = bluez.call(&path, DEVICE_IFACE, "Disconnect", &());
            let _ = tokio::time::timeout(Duration::from_secs(2), call).await;
        };
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            // Finish before the process may exit: a link left up would be reused by the next
            // client, with the subscriptions of this one.
            tokio::task::block_in_place(|| handle.block_on(disconnect));
        } else {
            handle.spawn(disconnect);
        }
    }
}

/// Forwards the `Value` changes of the characteristics under `device` to `tx`.
async fn watch(
    bus: &zbus::Connection,
    device: &str,
    tx: mpsc::UnboundedSender<(String, Vec<u8>)>,
) -> Result<tokio::task::JoinHandle<()>, ImprovError> {
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(BLUEZ_SERVICE)
        .interface(PROPERTIES_IFACE)
        .member("PropertiesChanged")
        .path_namespace(device.to_owned())
        .build()
        .map_err(|e| ImprovError::Protocol(e.to_string()))?;
    let mut stream = MessageStream::for_match_rule(rule, bus, None)
        .await
        .map_err(|e| ImprovError::Io(std::io::Error::other(e.to_string())))?;
    Ok(tokio::spawn(async move {
        while let Some(message) = next_message(&mut stream).await {
            let Ok(message) = message else { continue };
            let header = message.header();
            let Some(path) = header.path().map(|p| p.to_string()) else {
                continue;
            };
            let Ok((iface, changed, _)) =
                message
                    .body()
                    .deserialize::<(String, HashMap<String, OwnedVariant>, Vec<String>)>()
            else {
                continue;
            };
            if iface != CHARACTERISTIC_IFACE {
                continue;
            }
            let Some(value) = changed
                .get("Value")
                .and_then(|v| v.try_clone().ok())
                .and_then(|v| Vec::<u8>::try_from(v).ok())
            else {
                continue;
            };
            if tx.send((path, value)).is_err() {
                break;
            }
        }
    }))
}
