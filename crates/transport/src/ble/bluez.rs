//! The device side of the BLE transport on Linux, through BlueZ's D-Bus API (pure Rust, zbus).
//!
//! [`BluezPeripheral::start`] exports a GATT application on the bus and registers it, and an
//! advertisement, with the adapter:
//!
//! * `<base>/app` carries `org.freedesktop.DBus.ObjectManager` (BlueZ discovers the application
//!   with `GetManagedObjects`);
//! * `<base>/app/service0` is the `org.bluez.GattService1` (`UUID`, `Primary = true`);
//! * `<base>/app/service0/charN` is one `org.bluez.GattCharacteristic1` per endpoint, in
//!   registration order (`UUID` derived as [`super::uuid::characteristic_uuid`] does, `Service`,
//!   `Flags = ["read", "write"]`);
//! * `<base>/app/service0/charN/desc0` is its `org.bluez.GattDescriptor1` 0x2901
//!   (`Flags = ["read"]`), whose value is the endpoint name;
//! * `<base>/advertisement0` is the `org.bluez.LEAdvertisement1` (`Type = "peripheral"`,
//!   `ServiceUUIDs`, `LocalName`, `ManufacturerData`), outside the application tree.
//!
//! Then it calls `org.bluez.GattManager1.RegisterApplication` and
//! `org.bluez.LEAdvertisingManager1.RegisterAdvertisement` on the adapter object.
//!
//! # Connections and sessions
//!
//! BlueZ passes the remote device's object path in the `device` option of every `ReadValue`
//! and `WriteValue`. Each device path gets its own [`GattConnection`] and its own protocomm
//! session (a random [`SessionId`], as the other adapters use), created on its first operation.
//! The session is closed when BlueZ reports the device's `Connected` property as `false`
//! (a `PropertiesChanged` signal of `org.bluez.Device1` from `org.bluez`), and at
//! [`BluezHandle::stop`]. Disconnect tracking is best-effort: a device object that BlueZ
//! removes without first signalling `Connected = false` keeps its session until the protocomm
//! session timeout or the stop.
//!
//! # When a written value is complete
//!
//! BlueZ answers Prepare Write itself and, at Execute Write, delivers the queued value through
//! `WriteValue` (contiguous parts aggregated into one call at the first offset, or, when it
//! does not aggregate, one call per part with increasing offsets). `WriteValue` carries no
//! "last part" marker, so this adapter uses the protocol's own shape, a write followed by a
//! read, as the completion rule:
//!
//! 1. `WriteValue` at offset 0 starts a new value for that characteristic of that device
//!    (discarding an unprocessed value written before);
//! 2. `WriteValue` at an offset equal to the bytes written so far appends to it (any other
//!    offset fails with `org.bluez.Error.InvalidOffset`; growing past the maximum attribute
//!    length fails with `org.bluez.Error.InvalidValueLength`);
//! 3. the first `ReadValue` at offset 0 of the same characteristic by the same device hands the
//!    complete value to the protocomm [`Service`], stores the response as the characteristic's
//!    value and returns its first chunk; `ReadValue` at a higher offset continues the long
//!    read. A request the service rejects fails that read with `org.bluez.Error.Failed`.
//!
//! A read returns at most `mtu − 1` bytes from the offset (the `mtu` option; the whole rest
//! when BlueZ does not pass it, since BlueZ truncates to the PDU itself).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use protocomm::SessionId;
use stream_next::next_message;
use zbus::fdo::ObjectManager;
use zbus::{Connection, MatchRule, ObjectPath, OwnedObjectPath, OwnedVariant, interface};

use super::gatt::{
    Advertisement, AttError, GattConnection, GattLayout, MAX_ATTRIBUTE_LEN, MAX_MTU, read_chunk_len,
};
use super::uuid::{DEFAULT_SERVICE_UUID, Uuid128};
use crate::Service;

/// The UUID of the Characteristic User Description descriptor (0x2901) in BlueZ's notation.
pub const USER_DESCRIPTION_UUID: &str = "00002901-0000-1000-8000-00805f9b34fb";
/// The adapter object of the first Bluetooth controller.
pub const DEFAULT_ADAPTER_PATH: &str = "/org/bluez/hci0";
/// The default root of the exported objects.
pub const DEFAULT_BASE_PATH: &str = "/io/wifiprov/ble";
/// BlueZ's well-known bus name.
pub const BLUEZ_SERVICE: &str = "org.bluez";

/// Settings of a [`BluezPeripheral`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BluezConfig {
    /// The primary service UUID ([`DEFAULT_SERVICE_UUID`] by default).
    pub service_uuid: Uuid128,
    /// The advertised device name (`PROV_…`; truncated as [`Advertisement::new`] does).
    pub local_name: String,
    /// Manufacturer data (company identifier little-endian in the first two bytes, then the
    /// data); empty for none.
    pub manufacturer_data: Vec<u8>,
    /// The root path of the exported objects ([`DEFAULT_BASE_PATH`] by default); it must be a
    /// valid D-Bus object path not used by anything else on the connection.
    pub base_path: String,
    /// The longest attribute value accepted or stored ([`MAX_ATTRIBUTE_LEN`] by default).
    pub max_value_len: usize,
}

impl Default for BluezConfig {
    fn default() -> Self {
        BluezConfig {
            service_uuid: DEFAULT_SERVICE_UUID,
            local_name: "PROV_000000".into(),
            manufacturer_data: Vec::new(),
            base_path: DEFAULT_BASE_PATH.into(),
            max_value_len: MAX_ATTRIBUTE_LEN,
        }
    }
}

/// A failure to start or stop the BlueZ peripheral.
#[derive(Debug, thiserror::Error)]
pub enum BluezError {
    /// A configured object path is not a valid D-Bus object path.
    #[error("invalid object path {0:?}")]
    InvalidPath(String),
    /// A D-Bus call or export failed (BlueZ absent, adapter missing, registration refused…).
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
}

/// The errors returned to BlueZ from `ReadValue` / `WriteValue` (`org.bluez.Error.*`), which
/// BlueZ turns into ATT error responses.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.bluez.Error")]
pub enum GattError {
    /// A D-Bus level failure.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The request failed (rejected by the protocomm service, out of sequence…).
    Failed(String),
    /// An offset past the value.
    InvalidOffset(String),
    /// A value longer than the maximum attribute length.
    InvalidValueLength(String),
    /// The operation is not allowed on this attribute.
    NotPermitted(String),
}

impl From<AttError> for GattError {
    fn from(e: AttError) -> Self {
        let text = e.to_string();
        match e {
            AttError::InvalidOffset => GattError::InvalidOffset(text),
            AttError::InvalidAttributeValueLength => GattError::InvalidValueLength(text),
            AttError::ReadNotPermitted | AttError::WriteNotPermitted => {
                GattError::NotPermitted(text)
            }
            _ => GattError::Failed(text),
        }
    }
}

/// The options BlueZ passes to `ReadValue` / `WriteValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    offset: usize,
    mtu: u16,
    device: String,
}

impl Options {
    fn parse(options: &HashMap<String, OwnedVariant>) -> Self {
        let u16_of = |key: &str| options.get(key).and_then(|v| u16::try_from(v).ok());
        let device = options
            .get("device")
            .and_then(|v| <&ObjectPath<'_>>::try_from(v).ok().map(|p| p.to_string()))
            .unwrap_or_default();
        Options {
            offset: usize::from(u16_of("offset").unwrap_or(0)),
            mtu: u16_of("mtu").unwrap_or(MAX_MTU),
            device,
        }
    }
}

/// GATT state of one remote device.
struct DeviceState {
    conn: GattConnection,
    session: SessionId,
    /// The characteristic whose written value awaits processing.
    pending: Option<Uuid128>,
}

struct Shared {
    service: Service,
    layout: Arc<GattLayout>,
    max_value_len: usize,
    devices: Mutex<HashMap<String, DeviceState>>,
}

impl Shared {
    fn devices(&self) -> MutexGuard<'_, HashMap<String, DeviceState>> {
        self.devices.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn device<'a>(
        &self,
        devices: &'a mut HashMap<String, DeviceState>,
        path: &str,
    ) -> &'a mut DeviceState {
        let in_use = devices_ids(devices);
        devices.entry(path.to_string()).or_insert_with(|| {
            let session = self.new_session(in_use);
            tracing::debug!(device = path, session = %session, "BLE device seen");
            DeviceState {
                conn: GattConnection::new(self.layout.clone(), self.max_value_len),
                session,
                pending: None,
            }
        })
    }

    fn new_session(&self, in_use: Vec<u32>) -> SessionId {
        let mut fallback = 1u32;
        loop {
            let candidate = getrandom::u32().unwrap_or_else(|_| {
                fallback = fallback.wrapping_add(1);
                fallback
            });
            let taken = in_use.contains(&candidate)
                || self
                    .service
                    .with_device(|d| d.is_established(SessionId(candidate)));
            if !taken {
                return SessionId(candidate);
            }
        }
    }

    fn close(&self, path: &str) -> bool {
        let removed = self.devices().remove(path);
        match removed {
            Some(state) => {
                self.service.close_session(state.session);
                tracing::debug!(device = path, session = %state.session, "BLE session closed");
                true
            }
            None => false,
        }
    }

    fn write(&self, characteristic: Uuid128, value: &[u8], opts: &Options) -> Result<(), AttError> {
        let mut devices = self.devices();
        let state = self.device(&mut devices, &opts.device);
        if opts.offset == 0 && state.pending.is_some_and(|p| p != characteristic) {
            // A new value for another characteristic replaces an unread one.
            state.conn.execute_write(false)?;
            state.pending = None;
        }
        state
            .conn
            .prepare_write(characteristic, opts.offset, value)?;
        state.pending = Some(characteristic);
        Ok(())
    }

    async fn read(&self, characteristic: Uuid128, opts: &Options) -> Result<Vec<u8>, AttError> {
        let (request, session) = {
            let mut devices = self.devices();
            let state = self.device(&mut devices, &opts.device);
            if opts.offset != 0 || state.pending != Some(characteristic) {
                return state.conn.read(characteristic, opts.offset, opts.mtu);
            }
            state.pending = None;
            match state.conn.execute_write(true)? {
                Some(request) => (request, state.session),
                None => return state.conn.read(characteristic, opts.offset, opts.mtu),
            }
        };
        let response = match self
            .service
            .request(session, &request.endpoint, &request.body)
            .await
        {
            Ok(response) => Some(response),
            Err(e) => {
                tracing::debug!(device = %opts.device, endpoint = %request.endpoint, error = %e,
                    "request rejected");
                None
            }
        };
        let mut devices = self.devices();
        // The device may have disconnected while the request ran.
        let state = devices
            .get_mut(&opts.device)
            .filter(|s| s.session == session)
            .ok_or(AttError::UnlikelyError)?;
        state.conn.finish_request(&request, response)?;
        state.conn.read(characteristic, opts.offset, opts.mtu)
    }
}

fn devices_ids(devices: &HashMap<String, DeviceState>) -> Vec<u32> {
    devices.values().map(|d| d.session.0).collect()
}

fn chunk(value: &[u8], offset: usize, mtu: u16) -> Result<Vec<u8>, AttError> {
    let rest = value.get(offset..).ok_or(AttError::InvalidOffset)?;
    Ok(rest.iter().take(read_chunk_len(mtu)).copied().collect())
}

struct ServiceObject {
    uuid: String,
}

#[interface(name = "org.bluez.GattService1")]
impl ServiceObject {
    /// The service UUID.
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        self.uuid.clone()
    }

    /// Always a primary service.
    #[zbus(property)]
    fn primary(&self) -> bool {
        true
    }
}

struct CharacteristicObject {
    shared: Arc<Shared>,
    uuid: Uuid128,
    service_path: OwnedObjectPath,
}

#[interface(name = "org.bluez.GattCharacteristic1")]
impl CharacteristicObject {
    /// The characteristic UUID.
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        self.uuid.to_string()
    }

    /// The service object this characteristic belongs to.
    #[zbus(property)]
    fn service(&self) -> OwnedObjectPath {
        self.service_path.clone()
    }

    /// Read and Write (with response).
    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        vec!["read".into(), "write".into()]
    }

    /// Reads the stored response (processing a newly written value first).
    async fn read_value(
        &self,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<Vec<u8>, GattError> {
        let opts = Options::parse(&options);
        Ok(self.shared.read(self.uuid, &opts).await?)
    }

    /// Writes (part of) a request.
    async fn write_value(
        &self,
        value: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<(), GattError> {
        let opts = Options::parse(&options);
        Ok(self.shared.write(self.uuid, &value, &opts)?)
    }
}

struct DescriptorObject {
    characteristic_path: OwnedObjectPath,
    description: Vec<u8>,
}

#[interface(name = "org.bluez.GattDescriptor1")]
impl DescriptorObject {
    /// The Characteristic User Description type.
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        USER_DESCRIPTION_UUID.into()
    }

    /// The characteristic this descriptor belongs to.
    #[zbus(property)]
    fn characteristic(&self) -> OwnedObjectPath {
        self.characteristic_path.clone()
    }

    /// Read only.
    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        vec!["read".into()]
    }

    /// The endpoint name from `offset`.
    async fn read_value(
        &self,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<Vec<u8>, GattError> {
        let opts = Options::parse(&options);
        Ok(chunk(&self.description, opts.offset, opts.mtu)?)
    }

    /// The description is read-only.
    async fn write_value(
        &self,
        _value: Vec<u8>,
        _options: HashMap<String, OwnedVariant>,
    ) -> Result<(), GattError> {
        Err(AttError::WriteNotPermitted.into())
    }
}

struct AdvertisementObject {
    advertisement: Advertisement,
}

#[interface(name = "org.bluez.LEAdvertisement1")]
impl AdvertisementObject {
    /// Connectable undirected advertising.
    #[zbus(property, name = "Type")]
    fn kind(&self) -> String {
        "peripheral".into()
    }

    /// The provisioning service.
    #[zbus(property, name = "ServiceUUIDs")]
    fn service_uuids(&self) -> Vec<String> {
        vec![self.advertisement.service_uuid.to_string()]
    }

    /// The device name.
    #[zbus(property)]
    fn local_name(&self) -> String {
        self.advertisement.name.clone()
    }

    /// Manufacturer data keyed by company identifier (empty when none is configured).
    #[zbus(property)]
    fn manufacturer_data(&self) -> HashMap<u16, Vec<u8>> {
        let mut out = HashMap::new();
        if let Some(data) = &self.advertisement.manufacturer_data
            && let [lo, hi, rest @ ..] = data.as_slice()
        {
            out.insert(u16::from_le_bytes([*lo, *hi]), rest.to_vec());
        }
        out
    }

    /// Called by BlueZ when it drops the advertisement.
    fn release(&self) {
        tracing::debug!("BlueZ released the advertisement");
    }
}

mod stream_next {
    //! A minimal `next()` for zbus's message stream without a futures dependency.

    use std::future::poll_fn;
    use std::pin::Pin;

    use zbus::MessageStream;

    /// The next message of `stream`, `None` at its end.
    pub(super) async fn next_message(
        stream: &mut MessageStream,
    ) -> Option<zbus::Result<zbus::Message>> {
        poll_fn(|cx| {
            use zbus::export::futures_core::Stream;
            Pin::new(&mut *stream).poll_next(cx)
        })
        .await
    }
}

/// Starts the BlueZ peripheral; see [`BluezPeripheral::start`].
#[derive(Debug, Clone, Copy)]
pub struct BluezPeripheral;

#[derive(Clone)]
struct Paths {
    root: OwnedObjectPath,
    service: OwnedObjectPath,
    characteristics: Vec<OwnedObjectPath>,
    descriptors: Vec<OwnedObjectPath>,
    advertisement: OwnedObjectPath,
    adapter: OwnedObjectPath,
}

fn path(text: String) -> Result<OwnedObjectPath, BluezError> {
    OwnedObjectPath::try_from(text.clone()).map_err(|_| BluezError::InvalidPath(text))
}

impl BluezPeripheral {
    /// Exports the GATT application and the advertisement on `connection` (normally the system
    /// bus), registers both with the adapter at `adapter_path` ([`DEFAULT_ADAPTER_PATH`]) and
    /// starts tracking disconnections. Requests go to `service`.
    ///
    /// Must be called within a Tokio runtime. On failure, whatever was exported is removed.
    pub async fn start(
        connection: Connection,
        adapter_path: &str,
        config: BluezConfig,
        service: Service,
    ) -> Result<BluezHandle, BluezError> {
        let endpoints = service.with_device(|d| d.endpoints().to_vec());
        let layout = Arc::new(GattLayout::new(config.service_uuid, &endpoints));
        let base = config.base_path.trim_end_matches('/');
        let service_text = format!("{base}/app/service0");
        let paths = Paths {
            root: path(format!("{base}/app"))?,
            service: path(service_text.clone())?,
            characteristics: (0..layout.characteristics().len())
                .map(|i| path(format!("{service_text}/char{i}")))
                .collect::<Result<_, _>>()?,
            descriptors: (0..layout.characteristics().len())
                .map(|i| path(format!("{service_text}/char{i}/desc0")))
                .collect::<Result<_, _>>()?,
            advertisement: path(format!("{base}/advertisement0"))?,
            adapter: path(adapter_path.to_string())?,
        };
        let shared = Arc::new(Shared {
            service,
            layout: layout.clone(),
            max_value_len: config.max_value_len,
            devices: Mutex::new(HashMap::new()),
        });
        let advertisement = Advertisement::new(
            &config.local_name,
            config.service_uuid,
            &config.manufacturer_data,
        );
        let mut handle = BluezHandle {
            connection,
            shared,
            paths,
            app_registered: false,
            adv_registered: false,
            watcher: None,
            stopped: false,
        };
        match handle.export_and_register(&layout, advertisement).await {
            Ok(()) => Ok(handle),
            Err(e) => {
                handle.shutdown().await;
                Err(e)
            }
        }
    }
}

/// A running BlueZ peripheral. [`BluezHandle::stop`] unregisters everything; dropping the
/// handle does the same in a background task (when a Tokio runtime is still running).
pub struct BluezHandle {
    connection: Connection,
    shared: Arc<Shared>,
    paths: Paths,
    app_registered: bool,
    adv_registered: bool,
    watcher: Option<tokio::task::JoinHandle<()>>,
    stopped: bool,
}

impl BluezHandle {
    async fn export_and_register(
        &mut self,
        layout: &GattLayout,
        advertisement: Advertisement,
    ) -> Result<(), BluezError> {
        let server = self.connection.object_server();
        let p = &self.paths;
        server
            .at(
                &p.service,
                ServiceObject {
                    uuid: layout.service_uuid().to_string(),
                },
            )
            .await?;
        for ((c, char_path), desc_path) in layout
            .characteristics()
            .iter()
            .zip(&p.characteristics)
            .zip(&p.descriptors)
        {
            server
                .at(
                    char_path,
                    CharacteristicObject {
                        shared: self.shared.clone(),
                        uuid: c.uuid,
                        service_path: p.service.clone(),
                    },
                )
                .await?;
            server
                .at(
                    desc_path,
                    DescriptorObject {
                        characteristic_path: char_path.clone(),
                        description: c.description.clone(),
                    },
                )
                .await?;
        }
        // The object manager last, so that its first InterfacesAdded covers the whole tree.
        server.at(&p.root, ObjectManager).await?;
        server
            .at(&p.advertisement, AdvertisementObject { advertisement })
            .await?;

        self.watcher = Some(self.watch_disconnections().await?);

        let no_options: HashMap<String, OwnedVariant> = HashMap::new();
        self.connection
            .call_method(
                Some(BLUEZ_SERVICE),
                &p.adapter,
                Some("org.bluez.GattManager1"),
                "RegisterApplication",
                &(&p.root, &no_options),
            )
            .await?;
        self.app_registered = true;
        self.connection
            .call_method(
                Some(BLUEZ_SERVICE),
                &p.adapter,
                Some("org.bluez.LEAdvertisingManager1"),
                "RegisterAdvertisement",
                &(&p.advertisement, &no_options),
            )
            .await?;
        self.adv_registered = true;
        tracing::info!(adapter = %p.adapter, application = %p.root, "BLE GATT service registered");
        Ok(())
    }

    async fn watch_disconnections(&self) -> Result<tokio::task::JoinHandle<()>, BluezError> {
        let rule = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(BLUEZ_SERVICE)
            .interface("org.freedesktop.DBus.Properties")
            .member("PropertiesChanged")
            .arg(0, "org.bluez.Device1")
            .build()?;
        let mut stream = zbus::MessageStream::for_match_rule(rule, &self.connection, None).await?;
        let shared = Arc::downgrade(&self.shared);
        Ok(tokio::spawn(async move {
            while let Some(message) = next_message(&mut stream).await {
                let Ok(message) = message else { continue };
                let header = message.header();
                let Some(device) = header.path().map(|p| p.to_string()) else {
                    continue;
                };
                let Ok((_iface, changed, _invalidated)) =
                    message
                        .body()
                        .deserialize::<(String, HashMap<String, OwnedVariant>, Vec<String>)>()
                else {
                    continue;
                };
                let disconnected = changed
                    .get("Connected")
                    .and_then(|v| bool::try_from(v).ok())
                    == Some(false);
                if disconnected {
                    let Some(shared) = shared.upgrade() else {
                        break;
                    };
                    shared.close(&device);
                }
            }
        }))
    }

    /// The object path of the application root (the object manager).
    pub fn application_path(&self) -> &ObjectPath<'static> {
        &self.paths.root
    }

    /// The object path of the advertisement.
    pub fn advertisement_path(&self) -> &ObjectPath<'static> {
        &self.paths.advertisement
    }

    /// The object paths of the characteristics, in endpoint registration order.
    pub fn characteristic_paths(&self) -> Vec<ObjectPath<'static>> {
        self.paths
            .characteristics
            .iter()
            .map(|p| p.clone().into_inner())
            .collect()
    }

    /// The GATT database served.
    pub fn layout(&self) -> &GattLayout {
        &self.shared.layout
    }

    /// The device paths that currently hold a session.
    pub fn connected_devices(&self) -> Vec<String> {
        let mut out: Vec<String> = self.shared.devices().keys().cloned().collect();
        out.sort();
        out
    }

    /// The protocomm session of the device at `device_path`, if it has one.
    pub fn session_of(&self, device_path: &str) -> Option<SessionId> {
        self.shared.devices().get(device_path).map(|d| d.session)
    }

    /// Closes the session of `device_path` (as a disconnection does); `false` if it had none.
    pub fn disconnect(&self, device_path: &str) -> bool {
        self.shared.close(device_path)
    }

    /// Unregisters the advertisement and the application, removes the exported objects and
    /// closes every session. Unregistration failures (BlueZ gone) are logged, not returned.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        cleanup(
            self.connection.clone(),
            self.shared.clone(),
            self.paths.clone(),
            std::mem::take(&mut self.adv_registered),
            std::mem::take(&mut self.app_registered),
        )
        .await;
    }
}

async fn cleanup(
    connection: Connection,
    shared: Arc<Shared>,
    p: Paths,
    adv_registered: bool,
    app_registered: bool,
) {
    let calls = [
        (
            adv_registered,
            "org.bluez.LEAdvertisingManager1",
            "UnregisterAdvertisement",
            &p.advertisement,
        ),
        (
            app_registered,
            "org.bluez.GattManager1",
            "UnregisterApplication",
            &p.root,
        ),
    ];
    for (registered, iface, method, arg) in calls {
        if !registered {
            continue;
        }
        if let Err(e) = connection
            .call_method(
                Some(BLUEZ_SERVICE),
                &p.adapter,
                Some(iface),
                method,
                &(arg,),
            )
            .await
        {
            tracing::warn!(error = %e, "{method} failed");
        }
    }
    let server = connection.object_server();
    // Removal errors only mean the object was never exported.
    let _ = server
        .remove::<AdvertisementObject, _>(&p.advertisement)
        .await;
    let _ = server.remove::<ObjectManager, _>(&p.root).await;
    for d in &p.descriptors {
        let _ = server.remove::<DescriptorObject, _>(d).await;
    }
    for c in &p.characteristics {
        let _ = server.remove::<CharacteristicObject, _>(c).await;
    }
    let _ = server.remove::<ServiceObject, _>(&p.service).await;
    let devices: Vec<String> = shared.devices().keys().cloned().collect();
    for d in devices {
        shared.close(&d);
    }
    tracing::info!(application = %p.root, "BLE GATT service stopped");
}

impl Drop for BluezHandle {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("BLE peripheral dropped outside a Tokio runtime: not unregistered");
            return;
        };
        let p = self.paths.clone();
        runtime.spawn(cleanup(
            self.connection.clone(),
            self.shared.clone(),
            p,
            self.adv_registered,
            self.app_registered,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn att_errors_map_to_bluez_errors() {
        let name = |e: AttError| zbus::DBusError::name(&GattError::from(e)).to_string();
        assert_eq!(
            name(AttError::InvalidOffset),
            "org.bluez.Error.InvalidOffset"
        );
        assert_eq!(
            name(AttError::InvalidAttributeValueLength),
            "org.bluez.Error.InvalidValueLength"
        );
        assert_eq!(
            name(AttError::WriteNotPermitted),
            "org.bluez.Error.NotPermitted"
        );
        assert_eq!(name(AttError::InvalidPdu), "org.bluez.Error.Failed");
    }

    #[test]
    fn descriptor_chunks() {
        assert_eq!(chunk(b"prov-session", 5, 23).unwrap(), b"session");
        assert_eq!(chunk(b"abc", 3, 23).unwrap(), b"");
        assert_eq!(chunk(b"abc", 4, 23), Err(AttError::InvalidOffset));
        assert_eq!(chunk(&[0; 40], 0, 23).unwrap().len(), 22);
    }
}
