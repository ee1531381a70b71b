//! The BlueZ central (`wifiprov_client::BluezCentral`) against a private `dbus-daemon` and a
//! test double of `org.bluez`.
//!
//! This machine has no Bluetooth controller: the double plays `bluetoothd` with one adapter
//! (`/org/bluez/hci0`, `Adapter1` with discovery) and one remote device
//! (`/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF`, `Device1` named `PROV_TEST01`, exported when
//! discovery starts). Connecting exports the device's GATT objects (service, characteristics,
//! 0x2901 descriptors) whose `ReadValue` / `WriteValue` go through a real
//! `MemoryGattDevice` link at MTU 23 (so long writes and long reads happen, as BlueZ performs
//! them) to a protocomm device and a `Manager` over the Wi-Fi simulator. What real BlueZ and a
//! radio do below D-Bus is not exercised.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocomm::{Device, DeviceConfig, Sec2Credentials, Secret, Security};
use wifiprov_client::ble_bluez::scan_devices;
use wifiprov_client::{
    BluezCentral, BluezCentralConfig, ClientConfig, ClientTransport, Credentials, Error,
    Provisioner, TransportError,
};
use wifiprov_device::{Manager, ManagerConfig};
use wifiprov_testkit::dbus::PrivateBus;
use wifiprov_transport::Service;
use wifiprov_transport::ble::gatt::{
    AttError, USER_DESCRIPTION_UUID16, prepare_write_len, read_chunk_len, write_request_len,
};
use wifiprov_transport::ble::uuid::EXAMPLE_SERVICE_UUID;
use wifiprov_transport::ble::{MemoryGattConfig, MemoryGattDevice, MemoryGattLink, Uuid128};
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};
use zbus::object_server::SignalEmitter;
use zbus::{Connection, ObjectServer, OwnedObjectPath, OwnedVariant, interface};

const ADAPTER: &str = "/org/bluez/hci0";
const DEVICE: &str = "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF";
const NAME: &str = "PROV_TEST01";
/// The MTU BlueZ negotiated with the device: the smallest, so that long operations happen.
const MTU: u16 = 23;

async fn connect(bus: &PrivateBus) -> Connection {
    zbus::connection::Builder::address(bus.address())
        .build()
        .await
        .unwrap()
}

/// What the double saw.
#[derive(Default, Debug)]
struct Log {
    filters: Vec<String>,
    discovery_started: usize,
    discovery_stopped: usize,
    connects: usize,
    disconnects: usize,
    write_types: Vec<String>,
    /// How many of the next `Connect` calls fail as BlueZ's do when the link cannot be made
    /// (`org.bluez.Error.Failed: le-connection-abort-by-local`).
    refuse_connects: usize,
    /// `Connect` calls that failed so.
    refused_connects: usize,
}

/// The remote device behind the double: the GATT link of the current connection.
struct Remote {
    gatt: MemoryGattDevice,
    link: tokio::sync::Mutex<Option<MemoryGattLink>>,
    log: Mutex<Log>,
    gatt_paths: Mutex<Vec<(String, &'static str)>>,
}

type Shared = Arc<Remote>;

/// BlueZ's errors (`org.bluez.Error.*`), as `gatt-client.c` maps ATT errors.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.bluez.Error")]
enum BluezError {
    #[zbus(error)]
    ZBus(zbus::Error),
    Failed(String),
    NotConnected(String),
    InvalidOffset(String),
    NotPermitted(String),
}

impl From<AttError> for BluezError {
    fn from(e: AttError) -> Self {
        match e {
            AttError::InvalidOffset => BluezError::InvalidOffset("Invalid offset".into()),
            AttError::ReadNotPermitted | AttError::WriteNotPermitted => {
                BluezError::NotPermitted(e.to_string())
            }
            other => BluezError::Failed(format!(
                "Operation failed with ATT error: 0x{:02x}",
                other.code()
            )),
        }
    }
}

fn offset_of(options: &HashMap<String, OwnedVariant>) -> usize {
    options
        .get("offset")
        .map(|v| usize::from(u16::try_from(v).unwrap()))
        .unwrap_or(0)
}

/// Reads a whole value from `offset` as BlueZ's long read does.
fn read_long(
    mut read: impl FnMut(usize) -> Result<Vec<u8>, AttError>,
    offset: usize,
) -> Result<Vec<u8>, BluezError> {
    let full = read_chunk_len(MTU);
    let mut value = Vec::new();
    loop {
        let chunk = read(offset + value.len())?;
        let done = chunk.len() < full;
        value.extend(chunk);
        if done {
            return Ok(value);
        }
    }
}

struct AdapterDouble(Shared);

#[interface(name = "org.bluez.Adapter1")]
impl AdapterDouble {
    async fn set_discovery_filter(&self, filter: HashMap<String, OwnedVariant>) {
        let transport = filter
            .get("Transport")
            .and_then(|v| <&str>::try_from(v).ok())
            .unwrap_or("")
            .to_string();
        self.0.log.lock().unwrap().filters.push(transport);
    }

    async fn start_discovery(
        &self,
        #[zbus(object_server)] server: &ObjectServer,
    ) -> zbus::fdo::Result<()> {
        self.0.log.lock().unwrap().discovery_started += 1;
        // The device shows up once scanning starts.
        server
            .at(
                DEVICE,
                DeviceDouble {
                    remote: self.0.clone(),
                    connected: false,
                    resolved: false,
                },
            )
            .await?;
        Ok(())
    }

    async fn stop_discovery(&self) {
        self.0.log.lock().unwrap().discovery_stopped += 1;
    }

    #[zbus(property)]
    fn powered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn address(&self) -> String {
        "00:11:22:33:44:55".into()
    }
}

struct DeviceDouble {
    remote: Shared,
    connected: bool,
    resolved: bool,
}

#[interface(name = "org.bluez.Device1")]
impl DeviceDouble {
    async fn connect(
        &mut self,
        #[zbus(object_server)] server: &ObjectServer,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), BluezError> {
        if self.connected {
            return Ok(());
        }
        {
            let mut log = self.remote.log.lock().unwrap();
            if log.refuse_connects > 0 {
                log.refuse_connects -= 1;
                log.refused_connects += 1;
                return Err(BluezError::Failed("le-connection-abort-by-local".into()));
            }
            log.connects += 1;
        }
        let mut link = self.remote.gatt.connect();
        link.exchange_mtu(MTU);
        *self.remote.link.lock().await = Some(link);
        export_gatt(&self.remote, server).await?;
        self.connected = true;
        self.connected_changed(&emitter).await?;
        self.resolved = true;
        self.services_resolved_changed(&emitter).await?;
        Ok(())
    }

    async fn disconnect(
        &mut self,
        #[zbus(object_server)] server: &ObjectServer,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        self.remote.log.lock().unwrap().disconnects += 1;
        let paths = std::mem::take(&mut *self.remote.gatt_paths.lock().unwrap());
        for (path, iface) in paths.into_iter().rev() {
            server
                .remove_named(
                    path.as_str(),
                    zbus::names::InterfaceName::from_static_str(iface).unwrap(),
                )
                .await?;
        }
        *self.remote.link.lock().await = None;
        self.connected = false;
        self.resolved = false;
        self.connected_changed(&emitter).await?;
        self.services_resolved_changed(&emitter).await?;
        Ok(())
    }

    #[zbus(property)]
    fn name(&self) -> String {
        NAME.into()
    }

    #[zbus(property)]
    fn alias(&self) -> String {
        NAME.into()
    }

    #[zbus(property)]
    fn address(&self) -> String {
        "AA:BB:CC:DD:EE:FF".into()
    }

    #[zbus(property, name = "UUIDs")]
    fn uuids(&self) -> Vec<String> {
        vec![self.remote.gatt.layout().service_uuid().to_string()]
    }

    #[zbus(property, name = "RSSI")]
    fn rssi(&self) -> i16 {
        -48
    }

    #[zbus(property)]
    fn connected(&self) -> bool {
        self.connected
    }

    #[zbus(property)]
    fn services_resolved(&self) -> bool {
        self.resolved
    }
}

struct ServiceDouble {
    uuid: Uuid128,
}

#[interface(name = "org.bluez.GattService1")]
impl ServiceDouble {
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        self.uuid.to_string()
    }

    #[zbus(property)]
    fn primary(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn device(&self) -> OwnedObjectPath {
        OwnedObjectPath::try_from(DEVICE).unwrap()
    }
}

struct CharacteristicDouble {
    remote: Shared,
    uuid: Uuid128,
    service: OwnedObjectPath,
}

#[interface(name = "org.bluez.GattCharacteristic1")]
impl CharacteristicDouble {
    async fn read_value(
        &self,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<Vec<u8>, BluezError> {
        let guard = self.remote.link.lock().await;
        let link = guard
            .as_ref()
            .ok_or_else(|| BluezError::NotConnected("Not connected".into()))?;
        read_long(|at| link.read(self.uuid, at), offset_of(&options))
    }

    async fn write_value(
        &self,
        value: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<(), BluezError> {
        let kind = options
            .get("type")
            .and_then(|v| <&str>::try_from(v).ok())
            .unwrap_or("")
            .to_string();
        self.remote.log.lock().unwrap().write_types.push(kind);
        let mut guard = self.remote.link.lock().await;
        let link = guard
            .as_mut()
            .ok_or_else(|| BluezError::NotConnected("Not connected".into()))?;
        // As BlueZ does: a Write Request when it fits, else Prepare Writes + Execute Write.
        if value.len() <= write_request_len(MTU) {
            link.write(self.uuid, &value).await?;
        } else {
            let step = prepare_write_len(MTU);
            for (i, part) in value.chunks(step).enumerate() {
                link.prepare_write(self.uuid, i * step, part)?;
            }
            link.execute_write(true).await?;
        }
        Ok(())
    }

    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        self.uuid.to_string()
    }

    #[zbus(property)]
    fn service(&self) -> OwnedObjectPath {
        self.service.clone()
    }

    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        vec!["read".into(), "write".into()]
    }

    #[zbus(property, name = "MTU")]
    fn mtu(&self) -> u16 {
        MTU
    }
}

struct DescriptorDouble {
    remote: Shared,
    characteristic_uuid: Uuid128,
    characteristic: OwnedObjectPath,
}

#[interface(name = "org.bluez.GattDescriptor1")]
impl DescriptorDouble {
    async fn read_value(
        &self,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<Vec<u8>, BluezError> {
        let guard = self.remote.link.lock().await;
        let link = guard
            .as_ref()
            .ok_or_else(|| BluezError::NotConnected("Not connected".into()))?;
        read_long(
            |at| link.read_descriptor(self.characteristic_uuid, USER_DESCRIPTION_UUID16, at),
            offset_of(&options),
        )
    }

    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        Uuid128::from_u16(USER_DESCRIPTION_UUID16).to_string()
    }

    #[zbus(property)]
    fn characteristic(&self) -> OwnedObjectPath {
        self.characteristic.clone()
    }

    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        vec!["read".into()]
    }
}

/// Exports the device's GATT objects as BlueZ does after service discovery.
async fn export_gatt(remote: &Shared, server: &ObjectServer) -> zbus::Result<()> {
    let layout = remote.gatt.layout();
    let described = remote.gatt.config().descriptions;
    let service = format!("{DEVICE}/service000a");
    let mut paths = vec![(service.clone(), "org.bluez.GattService1")];
    server
        .at(
            service.as_str(),
            ServiceDouble {
                uuid: layout.service_uuid(),
            },
        )
        .await?;
    for (i, c) in layout.characteristics().iter().enumerate() {
        let path = format!("{service}/char{:04x}", 0x0b + 3 * i);
        server
            .at(
                path.as_str(),
                CharacteristicDouble {
                    remote: remote.clone(),
                    uuid: c.uuid,
                    service: OwnedObjectPath::try_from(service.clone())?,
                },
            )
            .await?;
        paths.push((path.clone(), "org.bluez.GattCharacteristic1"));
        if described {
            let desc = format!("{path}/desc{:04x}", 0x0d + 3 * i);
            server
                .at(
                    desc.as_str(),
                    DescriptorDouble {
                        remote: remote.clone(),
                        characteristic_uuid: c.uuid,
                        characteristic: OwnedObjectPath::try_from(path.clone())?,
                    },
                )
                .await?;
            paths.push((desc, "org.bluez.GattDescriptor1"));
        }
    }
    *remote.gatt_paths.lock().unwrap() = paths;
    Ok(())
}

/// The device as the agent builds it (protocomm device + Manager + Service) behind the
/// in-memory GATT link.
async fn gatt_device(security: Security, config: MemoryGattConfig) -> (MemoryGattDevice, Manager) {
    let device = Device::new(DeviceConfig::new(security)).unwrap();
    let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let manager = Manager::new(
        ManagerConfig {
            connect_delay: Duration::ZERO,
            auto_stop: false,
            ..Default::default()
        },
        wifi,
        None,
    );
    let service = Service::new(device, Arc::new(manager.clone()));
    manager.start().await;
    (MemoryGattDevice::new(service, config), manager)
}

/// A private bus with the `org.bluez` double serving `gatt`.
struct World {
    _bus: PrivateBus,
    _bluez: Connection,
    client_bus: Connection,
    remote: Shared,
    _manager: Manager,
}

async fn world(security: Security, config: MemoryGattConfig) -> World {
    let bus = PrivateBus::start();
    let (gatt, manager) = gatt_device(security, config).await;
    let remote = Arc::new(Remote {
        gatt,
        link: tokio::sync::Mutex::new(None),
        log: Mutex::new(Log::default()),
        gatt_paths: Mutex::new(Vec::new()),
    });
    let bluez = zbus::connection::Builder::address(bus.address())
        .name("org.bluez")
        .serve_at("/", zbus::fdo::ObjectManager)
        .serve_at(ADAPTER, AdapterDouble(remote.clone()))
        .build()
        .await
        .unwrap();
    let client_bus = connect(&bus).await;
    World {
        _bus: bus,
        _bluez: bluez,
        client_bus,
        remote,
        _manager: manager,
    }
}

fn sec1() -> Security {
    Security::Sec1 {
        pop: Some(Secret::from("abcd1234")),
    }
}

fn sec2() -> Security {
    let mut rng = protocomm::rand_core::UnwrapErr(getrandom::SysRng);
    Security::Sec2 {
        credentials: Sec2Credentials::generate(b"wifiprov", &Secret::from("abcd1234"), &mut rng)
            .unwrap(),
        patch: 1,
    }
}

fn quick(config: BluezCentralConfig) -> BluezCentralConfig {
    BluezCentralConfig {
        scan_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        ..config
    }
}

/// esp_prov's BLE settings.
fn ble_client(transport: BluezCentral) -> Provisioner<BluezCentral> {
    Provisioner::with_config(
        transport,
        ClientConfig {
            scan_page: 4,
            scan_group_channels: 0,
            ..Default::default()
        },
    )
}

async fn wait_disconnected(w: &World) {
    for _ in 0..200 {
        if w.remote.gatt.connection_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the central did not disconnect: {:?}", w.remote.log.lock());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisions_over_bluez_with_security_1_and_2() {
    let cases = [
        (
            sec1(),
            Credentials::pop("abcd1234"),
            BluezCentralConfig::named(NAME),
            MemoryGattConfig::default(),
        ),
        (
            sec2(),
            Credentials::srp("wifiprov", "abcd1234"),
            // By advertised service UUID, with the ESP-IDF example's UUID.
            BluezCentralConfig {
                service_uuid: Some(EXAMPLE_SERVICE_UUID),
                ..BluezCentralConfig::default()
            },
            MemoryGattConfig {
                service_uuid: EXAMPLE_SERVICE_UUID,
                ..MemoryGattConfig::default()
            },
        ),
    ];
    for (security, creds, config, gatt_config) in cases {
        let version = security.version();
        let w = world(security, gatt_config).await;
        let central = BluezCentral::connect_on(w.client_bus.clone(), quick(config))
            .await
            .unwrap();
        assert_eq!(central.device().path, DEVICE);
        assert_eq!(central.device().name.as_deref(), Some(NAME));
        assert_eq!(central.describe(), "ble://PROV_TEST01 (AA:BB:CC:DD:EE:FF)");
        let mut names: Vec<String> = central.endpoints().into_keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "proto-ver",
                "prov-config",
                "prov-ctrl",
                "prov-scan",
                "prov-session"
            ]
        );

        let mut c = ble_client(central);
        let negotiated = c.negotiate(None, &creds).await.unwrap();
        assert_eq!(negotiated.version(), version);
        c.establish(negotiated).await.unwrap();
        let scan = c.scan().await.unwrap();
        assert!(scan.iter().any(|ap| ap.ssid == b"HomeNet"));
        let joined = c.provision(b"HomeNet", b"correct-horse").await.unwrap();
        assert_eq!(joined.ip, "192.168.1.42");
        assert_eq!(joined.ssid, b"HomeNet");

        let stats = w.remote.gatt.stats();
        // Long reads (the version document) and, for security 2's Cmd0, long writes happened
        // below the D-Bus API, as BlueZ performs them.
        assert!(stats.read_blobs > 0, "{stats:?}");
        if version == 2 {
            assert!(stats.prepare_writes > 0, "{stats:?}");
        }
        {
            let log = w.remote.log.lock().unwrap();
            assert_eq!(log.filters, ["le"], "{log:?}");
            assert_eq!(log.discovery_started, 1, "{log:?}");
            assert_eq!(log.discovery_stopped, 1, "{log:?}");
            assert_eq!(log.connects, 1, "{log:?}");
            assert!(log.write_types.iter().all(|t| t == "request"), "{log:?}");
        }
        // Dropping the client disconnects the device, which closes the session.
        drop(c);
        wait_disconnected(&w).await;
        assert_eq!(w.remote.log.lock().unwrap().disconnects, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_ids_and_reconnection_on_reset() {
    // Old firmware: no 0x2901 descriptors, so the endpoints are named by their legacy ids.
    let w = world(
        Security::Sec0,
        MemoryGattConfig {
            descriptions: false,
            ..MemoryGattConfig::default()
        },
    )
    .await;
    let mut central =
        BluezCentral::connect_on(w.client_bus.clone(), quick(BluezCentralConfig::named(NAME)))
            .await
            .unwrap();
    let names: Vec<String> = central.endpoints().into_keys().collect();
    assert!(names.contains(&"prov-session".to_string()), "{names:?}");
    assert!(names.contains(&"proto-ver".to_string()), "{names:?}");
    let first = central.request("proto-ver", b"---").await.unwrap();
    assert!(String::from_utf8_lossy(&first).contains("prov"));
    let session = w.remote.link.lock().await.as_ref().unwrap().session();

    // A reset makes the next request reconnect: a new connection, a new protocomm session.
    central.reset_session();
    let again = central.request("proto-ver", b"---").await.unwrap();
    assert_eq!(again, first);
    let renewed = w.remote.link.lock().await.as_ref().unwrap().session();
    assert_ne!(session, renewed);
    {
        let log = w.remote.log.lock().unwrap();
        assert_eq!((log.connects, log.disconnects), (2, 1), "{log:?}");
    }
    let err = central.request("no-such-endpoint", b"x").await.unwrap_err();
    assert!(matches!(err, TransportError::Status(_)), "{err:?}");

    // An explicit disconnect.
    central.disconnect().await.unwrap();
    wait_disconnected(&w).await;
    assert_eq!(w.remote.log.lock().unwrap().disconnects, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_device_is_unreachable() {
    let w = world(sec1(), MemoryGattConfig::default()).await;
    let started = std::time::Instant::now();
    let err = BluezCentral::connect_on(
        w.client_bus.clone(),
        BluezCentralConfig {
            scan_timeout: Duration::from_millis(800),
            ..BluezCentralConfig::named("PROV_NOPE99")
        },
    )
    .await
    .err()
    .unwrap();
    match &err {
        TransportError::Unreachable { target, reason } => {
            assert!(target.contains("PROV_NOPE99"), "{err}");
            assert!(reason.contains("wifiprov discover"), "{err}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(800));
    assert!(started.elapsed() < Duration::from_secs(5));
    // The scan was stopped and nothing was connected.
    {
        let log = w.remote.log.lock().unwrap();
        assert_eq!(log.discovery_stopped, 1, "{log:?}");
        assert_eq!(log.connects, 0, "{log:?}");
    }

    // A bus without BlueZ at all.
    let bare = PrivateBus::start();
    let err =
        BluezCentral::connect_on(connect(&bare).await, quick(BluezCentralConfig::named(NAME)))
            .await
            .err()
            .unwrap();
    assert!(matches!(err, TransportError::Unreachable { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pop_is_an_authentication_error() {
    let w = world(sec1(), MemoryGattConfig::default()).await;
    let central =
        BluezCentral::connect_on(w.client_bus.clone(), quick(BluezCentralConfig::named(NAME)))
            .await
            .unwrap();
    let mut c = ble_client(central);
    let negotiated = c
        .negotiate(None, &Credentials::pop("wrong-pop"))
        .await
        .unwrap();
    let err = c.establish(negotiated).await.unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err:?}");
    drop(c);
    wait_disconnected(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanning_lists_provisioning_devices() {
    let w = world(sec1(), MemoryGattConfig::default()).await;
    let found = scan_devices(&w.client_bus, None, None, Duration::from_millis(600))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let d = &found[0];
    assert_eq!(d.name.as_deref(), Some(NAME));
    assert_eq!(d.address.as_deref(), Some("AA:BB:CC:DD:EE:FF"));
    assert_eq!(d.rssi, Some(-48));
    assert!(d.is_provisioning(None));
    assert!(!d.connected);
    // Another service UUID, and a name without the prefix, would not be listed.
    let other = Uuid128::parse("00000000-1111-2222-3333-444444444444").unwrap();
    assert!(!d.advertises(other));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_connection_attempt_is_tried_again() {
    let w = world(sec1(), MemoryGattConfig::default()).await;
    // BlueZ cannot make the link twice (the device stopped advertising for a moment, say):
    // the third attempt connects.
    w.remote.log.lock().unwrap().refuse_connects = 2;
    let central =
        BluezCentral::connect_on(w.client_bus.clone(), quick(BluezCentralConfig::named(NAME)))
            .await
            .unwrap();
    {
        let log = w.remote.log.lock().unwrap();
        assert_eq!((log.refused_connects, log.connects), (2, 1), "{log:?}");
    }
    let mut c = ble_client(central);
    let negotiated = c
        .negotiate(None, &Credentials::pop("abcd1234"))
        .await
        .unwrap();
    c.establish(negotiated).await.unwrap();
    drop(c);
    wait_disconnected(&w).await;

    // Attempts are bounded: a device BlueZ never connects to is unreachable.
    w.remote.log.lock().unwrap().refuse_connects = usize::MAX;
    let err =
        BluezCentral::connect_on(w.client_bus.clone(), quick(BluezCentralConfig::named(NAME)))
            .await
            .err()
            .unwrap();
    match &err {
        TransportError::Unreachable { reason, .. } => {
            assert!(reason.contains("attempts"), "{err}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let log = w.remote.log.lock().unwrap();
    assert_eq!(
        log.refused_connects,
        2 + usize::try_from(wifiprov_client::CONNECT_ATTEMPTS).unwrap(),
        "{log:?}"
    );
}
