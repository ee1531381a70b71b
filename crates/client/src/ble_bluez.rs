//! The client side of the BLE transport on Linux: a BLE central driven through BlueZ's D-Bus
//! API (pure Rust, zbus), as esp_prov's `ble_cli` does it.
//!
//! [`BluezCentral::connect`] talks to `bluetoothd` on the system bus (the address in
//! `DBUS_SYSTEM_BUS_ADDRESS` when set):
//!
//! 1. **Finding the device.** The first adapter (`org.bluez.Adapter1`, or the one configured)
//!    scans with a discovery filter `Transport = "le"`. Devices are read from
//!    `org.freedesktop.DBus.ObjectManager.GetManagedObjects` on `org.bluez`, again at every
//!    `InterfacesAdded` signal and every [`POLL_INTERVAL`]. An `org.bluez.Device1` matches by its
//!    exact `Name` when a name is configured (`PROV_1A2B3C`), otherwise when its advertised
//!    `UUIDs` contain the service UUID. Nothing within the scan time gives
//!    [`TransportError::Unreachable`].
//! 2. **Connecting.** `Device1.Connect`, then waiting for `ServicesResolved = true`.
//! 3. **Identifying the endpoints.** The GATT objects under the device path: the
//!    `org.bluez.GattService1` with the service UUID (or, when none is configured, the service
//!    whose characteristics include the one ESP-IDF derives for `prov-session`), its
//!    `org.bluez.GattCharacteristic1` objects, and for each the 0x2901 `org.bluez.GattDescriptor1`
//!    whose value (`ReadValue`) is the endpoint name. A characteristic without one is named by
//!    its legacy 16-bit id (`ff51` → `prov-session`, …).
//! 4. **Requests.** `WriteValue(request, {"type": "request"})` then `ReadValue({})`. BlueZ
//!    negotiates the MTU and performs long writes (Prepare / Execute Write) and long reads (Read
//!    Blob) itself; should a read come back as exactly one full chunk of the characteristic's
//!    `MTU`, the rest is read with the `offset` option until a shorter chunk.
//!
//! A BLE session lives as long as its connection: [`ClientTransport::reset_session`] makes the
//! next request disconnect and connect again (`Device1.Disconnect` + `Connect`). Dropping a
//! [`BluezCentral`] disconnects the device (best effort).
//!
//! `org.bluez.Error.Failed` from `WriteValue` / `ReadValue` (how BlueZ reports the ATT error
//! of a device that refused a request) is [`TransportError::Rejected`], which the
//! [`crate::Provisioner`] turns into an authentication error during the handshake.
//!
//! Use esp_prov's BLE scan settings with this transport (`ClientConfig { scan_page: 4,
//! scan_group_channels: 0, .. }`): a page of 100 scan results does not fit one 512-byte
//! attribute value.

use std::collections::{BTreeMap, HashMap};
use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;
use wifiprov_transport::ble::gatt::{
    LEGACY_ENDPOINT_IDS, MAX_ATTRIBUTE_LEN, NAME_PREFIX, USER_DESCRIPTION_UUID16,
    legacy_endpoint_name, read_chunk_len,
};
use wifiprov_transport::ble::uuid::{DEFAULT_SERVICE_UUID, EXAMPLE_SERVICE_UUID};
use wifiprov_transport::ble::{Uuid128, characteristic_uuid};
use wifiprov_wifi::BoxFuture;
use zbus::export::serde::Serialize;
use zbus::fdo::ManagedObjects;
use zbus::{Connection, DynamicType, MatchRule, Message, MessageStream, OwnedVariant, Variant};

use crate::transport::{ClientTransport, TransportError};

/// BlueZ's well-known bus name.
pub const BLUEZ_SERVICE: &str = "org.bluez";
/// How long [`BluezCentral::connect`] scans for the device by default.
pub const DEFAULT_SCAN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one D-Bus call (a GATT read or write, Connect…) may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the object tree is read again while scanning or waiting for the services.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

const ADAPTER_IFACE: &str = "org.bluez.Adapter1";
const DEVICE_IFACE: &str = "org.bluez.Device1";
const SERVICE_IFACE: &str = "org.bluez.GattService1";
const CHARACTERISTIC_IFACE: &str = "org.bluez.GattCharacteristic1";
const DESCRIPTOR_IFACE: &str = "org.bluez.GattDescriptor1";
const OBJECT_MANAGER_IFACE: &str = "org.freedesktop.DBus.ObjectManager";
const PROPERTIES_IFACE: &str = "org.freedesktop.DBus.Properties";
/// The endpoint id of `prov-session`, whose derived characteristic marks a provisioning service.
const SESSION_ID16: u16 = 0xff51;

type Props = HashMap<String, OwnedVariant>;
type Options = HashMap<&'static str, Variant<'static>>;

/// What [`BluezCentral`] looks for and how long it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BluezCentralConfig {
    /// The advertised device name to match exactly (`PROV_1A2B3C`). Without one, the first
    /// device advertising the service UUID is taken (an error when several do).
    pub name: Option<String>,
    /// The provisioning service UUID. Without one, a device matches by name only (or, when no
    /// name is given either, by advertising [`DEFAULT_SERVICE_UUID`] or
    /// [`EXAMPLE_SERVICE_UUID`]), and the service is the one carrying ESP-IDF's derived
    /// `prov-session` characteristic.
    pub service_uuid: Option<Uuid128>,
    /// The adapter to use: an object path (`/org/bluez/hci1`) or a name (`hci1`); the first
    /// adapter when `None`.
    pub adapter: Option<String>,
    /// How long to scan for the device.
    pub scan_timeout: Duration,
    /// How long one D-Bus call may take.
    pub request_timeout: Duration,
}

impl Default for BluezCentralConfig {
    fn default() -> Self {
        BluezCentralConfig {
            name: None,
            service_uuid: None,
            adapter: None,
            scan_timeout: DEFAULT_SCAN_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl BluezCentralConfig {
    /// Looks for the device named `name` (exactly).
    pub fn named(name: impl Into<String>) -> Self {
        BluezCentralConfig {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// What the device is, for messages.
    fn target(&self) -> String {
        match (&self.name, self.service_uuid) {
            (Some(name), _) => format!("BLE device {name}"),
            (None, Some(uuid)) => format!("a BLE device advertising {uuid}"),
            (None, None) => "a BLE provisioning device".to_string(),
        }
    }

    /// Whether a device with these properties is the one looked for.
    fn matches(&self, device: &BleDevice) -> bool {
        match (&self.name, self.service_uuid) {
            (Some(name), _) => device.name.as_deref() == Some(name.as_str()),
            (None, Some(uuid)) => device.advertises(uuid),
            (None, None) => {
                device.advertises(DEFAULT_SERVICE_UUID) || device.advertises(EXAMPLE_SERVICE_UUID)
            }
        }
    }
}

/// A remote device as BlueZ knows it (an `org.bluez.Device1` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BleDevice {
    /// Its object path (`/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF`).
    pub path: String,
    /// Its Bluetooth address (`AA:BB:CC:DD:EE:FF`), when BlueZ reports one.
    pub address: Option<String>,
    /// The advertised name.
    pub name: Option<String>,
    /// The signal strength of the last advertisement seen, in dBm.
    pub rssi: Option<i16>,
    /// The advertised service UUIDs (as BlueZ spells them, lower case).
    pub uuids: Vec<String>,
    /// Whether BlueZ has a connection to it.
    pub connected: bool,
}

impl BleDevice {
    fn from_props(path: &str, props: &Props) -> Self {
        BleDevice {
            path: path.to_string(),
            address: string(props, "Address"),
            name: string(props, "Name"),
            rssi: props.get("RSSI").and_then(|v| i16::try_from(v).ok()),
            uuids: strings(props, "UUIDs"),
            connected: boolean(props, "Connected"),
        }
    }

    /// Whether `uuid` is among the advertised service UUIDs.
    pub fn advertises(&self, uuid: Uuid128) -> bool {
        self.uuids
            .iter()
            .any(|u| Uuid128::parse(u).is_ok_and(|u| u == uuid))
    }

    /// Whether it looks like a provisioning device: it advertises `service_uuid` (or, when
    /// `None`, ESP-IDF's default or example service UUID), or its name has the `PROV_` prefix.
    pub fn is_provisioning(&self, service_uuid: Option<Uuid128>) -> bool {
        let by_uuid = match service_uuid {
            Some(uuid) => self.advertises(uuid),
            None => self.advertises(DEFAULT_SERVICE_UUID) || self.advertises(EXAMPLE_SERVICE_UUID),
        };
        by_uuid
            || self
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with(NAME_PREFIX))
    }
}

fn string(props: &Props, key: &str) -> Option<String> {
    props
        .get(key)
        .and_then(|v| <&str>::try_from(v).ok())
        .map(str::to_string)
}

fn strings(props: &Props, key: &str) -> Vec<String> {
    props
        .get(key)
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| Vec::<String>::try_from(v).ok())
        .unwrap_or_default()
}

fn boolean(props: &Props, key: &str) -> bool {
    props
        .get(key)
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false)
}

fn object_path(props: &Props, key: &str) -> Option<String> {
    props
        .get(key)
        .and_then(|v| <&zbus::ObjectPath<'_>>::try_from(v).ok())
        .map(|p| p.to_string())
}

fn uuid(props: &Props) -> Option<Uuid128> {
    string(props, "UUID").and_then(|u| Uuid128::parse(&u).ok())
}

/// The properties of interface `iface` of every object that has it, in path order.
fn with_iface<'a>(objects: &'a ManagedObjects, iface: &str) -> Vec<(&'a str, &'a Props)> {
    let mut found: Vec<(&str, &Props)> = objects
        .iter()
        .filter_map(|(path, ifaces)| ifaces.get(iface).map(|props| (path.as_str(), props)))
        .collect();
    found.sort_by(|a, b| a.0.cmp(b.0));
    found
}

/// Connects to the system bus (honouring `DBUS_SYSTEM_BUS_ADDRESS`).
pub async fn system_bus() -> Result<Connection, TransportError> {
    Connection::system()
        .await
        .map_err(|e| TransportError::Unreachable {
            target: "BlueZ on the system bus".into(),
            reason: format!("no system D-Bus ({e}); BLE needs bluetoothd on a running system bus"),
        })
}

/// A D-Bus error as a transport error.
fn bus_error(e: zbus::Error) -> TransportError {
    match &e {
        zbus::Error::MethodError(name, detail, _) => {
            let detail = detail.as_deref().unwrap_or("");
            match name.as_str() {
                "org.bluez.Error.Failed" => {
                    tracing::debug!(%detail, "BlueZ: operation failed");
                    TransportError::Rejected
                }
                other => TransportError::Status(format!("{other}: {detail}")),
            }
        }
        _ => TransportError::Other(format!("D-Bus: {e}")),
    }
}

/// A thin caller of BlueZ methods with a time limit.
#[derive(Clone)]
struct Bluez {
    bus: Connection,
    timeout: Duration,
}

impl Bluez {
    async fn call<B>(
        &self,
        path: &str,
        iface: &str,
        method: &str,
        body: &B,
    ) -> Result<Message, TransportError>
    where
        B: Serialize + DynamicType,
    {
        let call = self
            .bus
            .call_method(Some(BLUEZ_SERVICE), path, Some(iface), method, body);
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(bus_error),
            Err(_) => Err(TransportError::Timeout(self.timeout)),
        }
    }

    async fn objects(&self) -> Result<ManagedObjects, TransportError> {
        let reply = self
            .call("/", OBJECT_MANAGER_IFACE, "GetManagedObjects", &())
            .await
            .map_err(|e| match e {
                TransportError::Status(text) | TransportError::Other(text) => {
                    TransportError::Unreachable {
                        target: "BlueZ".into(),
                        reason: format!(
                            "org.bluez does not answer on the system bus ({text}); is bluetoothd \
                             running?"
                        ),
                    }
                }
                other => other,
            })?;
        reply.body().deserialize::<ManagedObjects>().map_err(|e| {
            TransportError::Other(format!(
                "unexpected GetManagedObjects reply from BlueZ: {e}"
            ))
        })
    }

    async fn read_value(
        &self,
        path: &str,
        iface: &str,
        offset: usize,
    ) -> Result<Vec<u8>, TransportError> {
        let mut options = Options::new();
        if offset > 0 {
            let offset = u16::try_from(offset).map_err(|_| {
                TransportError::Other(format!("read offset {offset} beyond a GATT value"))
            })?;
            options.insert("offset", Variant::from(offset));
        }
        let reply = self.call(path, iface, "ReadValue", &(options,)).await?;
        reply
            .body()
            .deserialize::<Vec<u8>>()
            .map_err(|e| TransportError::Other(format!("unexpected ReadValue reply: {e}")))
    }

    async fn get_bool(&self, path: &str, iface: &str, name: &str) -> Result<bool, TransportError> {
        let reply = self
            .call(path, PROPERTIES_IFACE, "Get", &(iface, name))
            .await?;
        let value = reply
            .body()
            .deserialize::<OwnedVariant>()
            .map_err(|e| TransportError::Other(format!("unexpected {name} property: {e}")))?;
        bool::try_from(&value)
            .map_err(|e| TransportError::Other(format!("unexpected {name} property: {e}")))
    }

    /// The adapter to use: the configured one, or the first in path order.
    async fn adapter(&self, wanted: Option<&str>) -> Result<String, TransportError> {
        let objects = self.objects().await?;
        let adapters = with_iface(&objects, ADAPTER_IFACE);
        let chosen = match wanted {
            Some(w) => adapters
                .iter()
                .find(|(path, _)| *path == w || path.rsplit('/').next() == Some(w)),
            None => adapters.first(),
        };
        match chosen {
            Some((path, props)) => {
                if props.contains_key("Powered") && !boolean(props, "Powered") {
                    tracing::warn!(adapter = %path, "the Bluetooth adapter is powered off");
                }
                Ok((*path).to_string())
            }
            None => Err(TransportError::Unreachable {
                target: "BlueZ".into(),
                reason: match wanted {
                    Some(w) => format!("no Bluetooth adapter {w}"),
                    None => "no Bluetooth adapter (is a controller attached and bluetoothd \
                             running?)"
                        .into(),
                },
            }),
        }
    }

    /// Starts LE discovery on `adapter`; whether this call started it (and must stop it).
    async fn start_discovery(&self, adapter: &str) -> Result<bool, TransportError> {
        let filter: Options = HashMap::from([("Transport", Variant::from("le"))]);
        if let Err(e) = self
            .call(adapter, ADAPTER_IFACE, "SetDiscoveryFilter", &(filter,))
            .await
        {
            tracing::debug!(error = %e, "BlueZ refused the LE discovery filter; scanning without");
        }
        match self
            .call(adapter, ADAPTER_IFACE, "StartDiscovery", &())
            .await
        {
            Ok(_) => Ok(true),
            Err(TransportError::Status(text)) if text.starts_with("org.bluez.Error.InProgress") => {
                Ok(false)
            }
            Err(TransportError::Status(text)) if text.starts_with("org.bluez.Error.NotReady") => {
                Err(TransportError::Unreachable {
                    target: adapter.to_string(),
                    reason: "the Bluetooth adapter is not ready; power it on (bluetoothctl power \
                             on)"
                    .into(),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn stop_discovery(&self, adapter: &str) {
        if let Err(e) = self
            .call(adapter, ADAPTER_IFACE, "StopDiscovery", &())
            .await
        {
            tracing::debug!(error = %e, "StopDiscovery failed");
        }
    }

    /// Scans on `adapter` for `duration`, calling `done` on the devices known after every
    /// change; stops early when it returns `true`.
    async fn scan(
        &self,
        adapter: &str,
        duration: Duration,
        mut done: impl FnMut(&[BleDevice]) -> bool,
    ) -> Result<Vec<BleDevice>, TransportError> {
        let devices = self.devices(adapter).await?;
        if done(&devices) {
            return Ok(devices);
        }
        let mut added = self.interfaces_added().await;
        let started = self.start_discovery(adapter).await?;
        let deadline = Instant::now() + duration;
        let result = loop {
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(POLL_INTERVAL);
            match added.as_mut() {
                Some(stream) => {
                    let _ = tokio::time::timeout(wait, next_message(stream)).await;
                }
                None => tokio::time::sleep(wait).await,
            }
            let devices = match self.devices(adapter).await {
                Ok(devices) => devices,
                Err(e) => break Err(e),
            };
            if done(&devices) || Instant::now() >= deadline {
                break Ok(devices);
            }
        };
        if started {
            self.stop_discovery(adapter).await;
        }
        result
    }

    /// The devices under `adapter`.
    async fn devices(&self, adapter: &str) -> Result<Vec<BleDevice>, TransportError> {
        let objects = self.objects().await?;
        let prefix = format!("{adapter}/");
        Ok(with_iface(&objects, DEVICE_IFACE)
            .into_iter()
            .filter(|(path, _)| path.starts_with(&prefix))
            .map(|(path, props)| BleDevice::from_props(path, props))
            .collect())
    }

    /// A stream of BlueZ's `InterfacesAdded` signals, if the bus lets us subscribe.
    async fn interfaces_added(&self) -> Option<MessageStream> {
        let rule = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(BLUEZ_SERVICE)
            .interface(OBJECT_MANAGER_IFACE)
            .member("InterfacesAdded")
            .build()
            .ok()?;
        MessageStream::for_match_rule(rule, &self.bus, None)
            .await
            .map_err(|e| tracing::debug!(error = %e, "no InterfacesAdded subscription"))
            .ok()
    }
}

/// The next message of `stream`, `None` at its end.
async fn next_message(stream: &mut MessageStream) -> Option<zbus::Result<Message>> {
    poll_fn(|cx| {
        use zbus::export::futures_core::Stream;
        Pin::new(&mut *stream).poll_next(cx)
    })
    .await
}

/// Lists the BLE devices that look like provisioning devices (see
/// [`BleDevice::is_provisioning`]) after scanning for `duration` on the first adapter (or
/// `adapter`), strongest signal first.
pub async fn scan_devices(
    bus: &Connection,
    adapter: Option<&str>,
    service_uuid: Option<Uuid128>,
    duration: Duration,
) -> Result<Vec<BleDevice>, TransportError> {
    let bluez = Bluez {
        bus: bus.clone(),
        timeout: DEFAULT_REQUEST_TIMEOUT.min(duration + Duration::from_secs(5)),
    };
    let adapter = bluez.adapter(adapter).await?;
    let devices = bluez.scan(&adapter, duration, |_| false).await?;
    let mut found: Vec<BleDevice> = devices
        .into_iter()
        .filter(|d| d.is_provisioning(service_uuid))
        .collect();
    found.sort_by(|a, b| {
        b.rssi
            .unwrap_or(i16::MIN)
            .cmp(&a.rssi.unwrap_or(i16::MIN))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.path.cmp(&b.path))
    });
    Ok(found)
}

/// One endpoint characteristic.
#[derive(Debug, Clone)]
struct Endpoint {
    path: String,
    /// The characteristic's `MTU` property, when BlueZ reports it.
    mtu: Option<u16>,
}

/// A [`ClientTransport`] to a provisioning device over BLE, through BlueZ; see the module
/// documentation.
pub struct BluezCentral {
    bluez: Bluez,
    config: BluezCentralConfig,
    device: BleDevice,
    endpoints: BTreeMap<String, Endpoint>,
    /// The session was reset: reconnect before the next request.
    stale: bool,
    /// Whether this transport believes the device connected.
    connected: bool,
}

impl BluezCentral {
    /// Finds, connects to and maps the device on the system bus.
    pub async fn connect(config: BluezCentralConfig) -> Result<Self, TransportError> {
        let bus = system_bus().await?;
        Self::connect_on(bus, config).await
    }

    /// Finds, connects to and maps the device through the BlueZ found on `bus`.
    pub async fn connect_on(
        bus: Connection,
        config: BluezCentralConfig,
    ) -> Result<Self, TransportError> {
        let bluez = Bluez {
            bus,
            timeout: config.request_timeout,
        };
        let adapter = bluez.adapter(config.adapter.as_deref()).await?;
        let device = find(&bluez, &adapter, &config).await?;
        tracing::debug!(path = %device.path, name = ?device.name, "BLE device found");
        let mut central = BluezCentral {
            bluez,
            config,
            device,
            endpoints: BTreeMap::new(),
            stale: false,
            connected: false,
        };
        central.open().await?;
        Ok(central)
    }

    /// The device connected to.
    pub fn device(&self) -> &BleDevice {
        &self.device
    }

    /// The endpoint names found, with their characteristic object paths.
    pub fn endpoints(&self) -> BTreeMap<String, String> {
        self.endpoints
            .iter()
            .map(|(name, e)| (name.clone(), e.path.clone()))
            .collect()
    }

    /// Disconnects from the device.
    pub async fn disconnect(mut self) -> Result<(), TransportError> {
        self.connected = false;
        self.bluez
            .call(&self.device.path, DEVICE_IFACE, "Disconnect", &())
            .await
            .map(|_| ())
    }

    /// Connects (when needed), waits for the services and maps the endpoints.
    async fn open(&mut self) -> Result<(), TransportError> {
        let path = self.device.path.clone();
        let unreachable = |reason: String| TransportError::Unreachable {
            target: self.config.target(),
            reason,
        };
        self.bluez
            .call(&path, DEVICE_IFACE, "Connect", &())
            .await
            .map_err(|e| match e {
                TransportError::Timeout(_) => e,
                other => unreachable(format!("BlueZ could not connect to {path}: {other}")),
            })?;
        self.connected = true;
        let deadline = Instant::now() + self.config.request_timeout;
        while !self
            .bluez
            .get_bool(&path, DEVICE_IFACE, "ServicesResolved")
            .await?
        {
            if Instant::now() >= deadline {
                return Err(TransportError::Timeout(self.config.request_timeout));
            }
            tokio::time::sleep(POLL_INTERVAL / 5).await;
        }
        self.endpoints = self.map_endpoints().await?;
        self.stale = false;
        tracing::debug!(endpoints = ?self.endpoints.keys().collect::<Vec<_>>(), "BLE endpoints");
        Ok(())
    }

    /// Reads the GATT objects under the device and names the endpoint characteristics.
    async fn map_endpoints(&self) -> Result<BTreeMap<String, Endpoint>, TransportError> {
        let objects = self.bluez.objects().await?;
        let prefix = format!("{}/", self.device.path);
        let services: Vec<(&str, Uuid128)> = with_iface(&objects, SERVICE_IFACE)
            .into_iter()
            .filter(|(path, _)| path.starts_with(&prefix))
            .filter_map(|(path, props)| uuid(props).map(|u| (path, u)))
            .collect();
        let characteristics = with_iface(&objects, CHARACTERISTIC_IFACE);
        let of_service = |service: &str| -> Vec<(&str, &Props)> {
            characteristics
                .iter()
                .filter(|(_, props)| object_path(props, "Service").as_deref() == Some(service))
                .copied()
                .collect()
        };
        let chosen = services
            .iter()
            .find(|(path, service_uuid)| match self.config.service_uuid {
                Some(wanted) => *service_uuid == wanted,
                None => of_service(path).iter().any(|(_, props)| {
                    uuid(props) == Some(characteristic_uuid(*service_uuid, SESSION_ID16))
                }),
            });
        let Some((service_path, service_uuid)) = chosen else {
            let wanted = self.config.service_uuid.map_or_else(
                || "the provisioning service".to_string(),
                |u| format!("service {u}"),
            );
            let listed: Vec<String> = services.iter().map(|(_, u)| u.to_string()).collect();
            return Err(TransportError::Unreachable {
                target: self.config.target(),
                reason: format!(
                    "the device has no {wanted} (its services: {}); check --ble-service-uuid",
                    if listed.is_empty() {
                        "none".to_string()
                    } else {
                        listed.join(", ")
                    }
                ),
            });
        };
        tracing::debug!(service = %service_uuid, path = %service_path, "provisioning service");
        let descriptors = with_iface(&objects, DESCRIPTOR_IFACE);
        let description = Uuid128::from_u16(USER_DESCRIPTION_UUID16);
        let mut endpoints = BTreeMap::new();
        for (path, props) in of_service(service_path) {
            let described = descriptors.iter().find(|(_, d)| {
                object_path(d, "Characteristic").as_deref() == Some(path)
                    && uuid(d) == Some(description)
            });
            let name = match described {
                Some((desc_path, _)) => {
                    let raw = self
                        .bluez
                        .read_value(desc_path, DESCRIPTOR_IFACE, 0)
                        .await?;
                    String::from_utf8(raw).ok()
                }
                None => uuid(props)
                    .and_then(|u| legacy_endpoint_name(u.id16()))
                    .map(str::to_string),
            };
            let Some(name) = name else {
                tracing::debug!(%path, "characteristic without a known endpoint");
                continue;
            };
            let mtu = props.get("MTU").and_then(|v| u16::try_from(v).ok());
            endpoints.entry(name).or_insert(Endpoint {
                path: path.to_string(),
                mtu,
            });
        }
        if endpoints.is_empty() {
            return Err(TransportError::Unreachable {
                target: self.config.target(),
                reason: format!(
                    "service {service_uuid} has no endpoint characteristics (neither 0x2901 \
                     descriptions nor the legacy ids {})",
                    LEGACY_ENDPOINT_IDS
                        .iter()
                        .map(|(id, _)| format!("{id:04x}"))
                        .collect::<Vec<_>>()
                        .join("/")
                ),
            });
        }
        Ok(endpoints)
    }

    /// Disconnects and connects again, for a new protocomm session.
    async fn reconnect(&mut self) -> Result<(), TransportError> {
        if let Err(e) = self
            .bluez
            .call(&self.device.path, DEVICE_IFACE, "Disconnect", &())
            .await
        {
            tracing::debug!(error = %e, "Disconnect failed");
        }
        self.connected = false;
        self.open().await
    }

    /// Write, then read the response (the rest at offsets when one full chunk came back).
    async fn exchange(&self, endpoint: &Endpoint, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let options: Options = HashMap::from([("type", Variant::from("request"))]);
        self.bluez
            .call(
                &endpoint.path,
                CHARACTERISTIC_IFACE,
                "WriteValue",
                &(body, options),
            )
            .await?;
        let mut value = self
            .bluez
            .read_value(&endpoint.path, CHARACTERISTIC_IFACE, 0)
            .await?;
        let Some(full) = endpoint.mtu.map(read_chunk_len).filter(|n| *n > 0) else {
            return Ok(value);
        };
        let mut last = value.len();
        while last == full && value.len() < MAX_ATTRIBUTE_LEN {
            match self
                .bluez
                .read_value(&endpoint.path, CHARACTERISTIC_IFACE, value.len())
                .await
            {
                Ok(chunk) => {
                    last = chunk.len();
                    value.extend(chunk);
                }
                // The value ended exactly at the chunk boundary.
                Err(TransportError::Status(text))
                    if text.starts_with("org.bluez.Error.InvalidOffset") =>
                {
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(value)
    }
}

/// Scans until the device of `config` shows up.
async fn find(
    bluez: &Bluez,
    adapter: &str,
    config: &BluezCentralConfig,
) -> Result<BleDevice, TransportError> {
    let devices = bluez
        .scan(adapter, config.scan_timeout, |devices| {
            devices.iter().any(|d| config.matches(d))
        })
        .await?;
    let mut matching: Vec<BleDevice> = devices.into_iter().filter(|d| config.matches(d)).collect();
    if matching.len() > 1 {
        let names: Vec<String> = matching
            .iter()
            .map(|d| {
                d.name
                    .clone()
                    .or_else(|| d.address.clone())
                    .unwrap_or_else(|| d.path.clone())
            })
            .collect();
        return Err(TransportError::Unreachable {
            target: config.target(),
            reason: format!(
                "several devices match ({}); choose one with --service_name",
                names.join(", ")
            ),
        });
    }
    matching.pop().ok_or_else(|| TransportError::Unreachable {
        target: config.target(),
        reason: format!(
            "no such device seen by {adapter} within {:.0} s; check that it is powered, in \
             range and still provisioning (advertising), and the name (`wifiprov discover` \
             lists BLE devices)",
            config.scan_timeout.as_secs_f64()
        ),
    })
}

impl ClientTransport for BluezCentral {
    fn request<'a>(
        &'a mut self,
        endpoint: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>> {
        Box::pin(async move {
            if self.stale {
                self.reconnect().await?;
            }
            let found = self.endpoints.get(endpoint).cloned().ok_or_else(|| {
                TransportError::Status(format!("the device has no characteristic for {endpoint}"))
            })?;
            self.exchange(&found, body).await
        })
    }

    fn reset_session(&mut self) {
        // A BLE session ends with its connection: reconnect before the next request.
        self.stale = true;
    }

    fn describe(&self) -> String {
        let name = self
            .device
            .name
            .clone()
            .unwrap_or_else(|| self.device.path.clone());
        match &self.device.address {
            Some(address) => format!("ble://{name} ({address})"),
            None => format!("ble://{name}"),
        }
    }
}

impl Drop for BluezCentral {
    fn drop(&mut self) {
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
            if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), call).await {
                tracing::debug!(error = %e, "Disconnect on drop failed");
            }
        };
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            // Finish before the process may exit, so the device is free for the next client.
            tokio::task::block_in_place(|| handle.block_on(disconnect));
        } else {
            handle.spawn(disconnect);
        }
    }
}
