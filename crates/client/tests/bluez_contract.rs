//! CONTRACT TEST of the D-Bus shape of the BlueZ adapter (`wifiprov_transport::ble::bluez`).
//!
//! This machine has no Bluetooth controller, so no radio and no real BlueZ are involved: the
//! test starts a private `dbus-daemon`, registers a small test double of `org.bluez` on it
//! (`/org/bluez/hci0` with `Adapter1`, `GattManager1` and `LEAdvertisingManager1`) that records
//! what the adapter registers and introspects it as BlueZ would (`GetManagedObjects`, `GetAll`),
//! checks that the adapter's alias (its GAP name) becomes the advertised name, that the
//! advertisement is registered again after every disconnection, and
//! then plays BlueZ's part for two connected centrals: `WriteValue` / `ReadValue` with the
//! `device`, `offset` and `mtu` options, driving a security 1 handshake and an encrypted
//! `prov-config` request through to the Manager. What real BlueZ does with the registered
//! objects (ATT, advertising on air) is not exercised here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use protocomm::{
    ClientHandshake, ClientSecurity, ClientSession, Device, DeviceConfig, HandshakeStep, Secret,
    Security,
};
use wifiprov_device::{Manager, ManagerConfig};
use wifiprov_testkit::bluez::{self, ADAPTER, Shared, path_of, string, strings};
use wifiprov_testkit::dbus::PrivateBus;
use wifiprov_transport::Service;
use wifiprov_transport::ble::bluez::{BluezConfig, BluezHandle, BluezPeripheral};
use wifiprov_transport::ble::gatt::{prepare_write_len, read_chunk_len, write_request_len};
use wifiprov_transport::ble::uuid::EXAMPLE_SERVICE_UUID;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};
use zbus::fdo::{ManagedObjects, ObjectManagerProxy};
use zbus::{Connection, ObjectPath, OwnedVariant, Variant};

async fn connect(bus: &PrivateBus) -> Connection {
    zbus::connection::Builder::address(bus.address())
        .build()
        .await
        .unwrap()
}

async fn service() -> (Service, Manager) {
    let device = Device::new(DeviceConfig::new(Security::Sec1 {
        pop: Some(Secret::from("abcd1234")),
    }))
    .unwrap();
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
    (service, manager)
}

/// Plays BlueZ for one connected central.
struct Central<'a> {
    bus: &'a Connection,
    peer: String,
    device: &'a str,
    mtu: u16,
}

impl Central<'_> {
    fn options(&self, offset: usize) -> HashMap<&'static str, Variant<'static>> {
        HashMap::from([
            ("offset", Variant::from(u16::try_from(offset).unwrap())),
            ("mtu", Variant::from(self.mtu)),
            (
                "device",
                Variant::from(ObjectPath::try_from(self.device.to_string()).unwrap()),
            ),
        ])
    }

    async fn write_at(&self, path: &str, offset: usize, value: &[u8]) -> zbus::Result<()> {
        self.bus
            .call_method(
                Some(self.peer.as_str()),
                path,
                Some("org.bluez.GattCharacteristic1"),
                "WriteValue",
                &(value, self.options(offset)),
            )
            .await
            .map(|_| ())
    }

    async fn read_at(&self, iface: &str, path: &str, offset: usize) -> zbus::Result<Vec<u8>> {
        let reply = self
            .bus
            .call_method(
                Some(self.peer.as_str()),
                path,
                Some(iface),
                "ReadValue",
                &(self.options(offset),),
            )
            .await?;
        reply.body().deserialize::<Vec<u8>>()
    }

    /// A Write (or Prepare Writes at increasing offsets when too long), then Read / Read Blobs
    /// until a short chunk. Returns the response and whether a long write was needed.
    async fn transact(&self, path: &str, body: &[u8]) -> zbus::Result<(Vec<u8>, bool)> {
        let long = body.len() > write_request_len(self.mtu);
        if long {
            let part = prepare_write_len(self.mtu);
            for (i, chunk) in body.chunks(part).enumerate() {
                self.write_at(path, i * part, chunk).await?;
            }
        } else {
            self.write_at(path, 0, body).await?;
        }
        let mut out = Vec::new();
        loop {
            let chunk = self
                .read_at("org.bluez.GattCharacteristic1", path, out.len())
                .await?;
            assert!(chunk.len() <= read_chunk_len(self.mtu));
            let done = chunk.len() < read_chunk_len(self.mtu);
            out.extend(chunk);
            if done {
                return Ok((out, long));
            }
        }
    }
}

/// Identifies the endpoint characteristics by reading their 0x2901 descriptors.
async fn endpoints(central: &Central<'_>, managed: &ManagedObjects) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (path, ifaces) in managed {
        if let Some(desc) = ifaces.get("org.bluez.GattDescriptor1") {
            let name = central
                .read_at("org.bluez.GattDescriptor1", path.as_str(), 0)
                .await
                .unwrap();
            let characteristic = path_of(&desc["Characteristic"]);
            out.insert(String::from_utf8(name).unwrap(), characteristic);
        }
    }
    out
}

/// Completes a security 1 handshake through the central, one step per call, returning the
/// session at the end.
async fn handshake(central: &Central<'_>, session_path: &str) -> (ClientSession, bool) {
    let mut rng = protocomm::rand_core::UnwrapErr(getrandom::SysRng);
    let (mut hs, mut request) = ClientHandshake::start(
        ClientSecurity::Sec1 {
            pop: Some(Secret::from("abcd1234")),
        },
        &mut rng,
    )
    .unwrap();
    let mut any_long = false;
    loop {
        let (response, long) = central.transact(session_path, &request).await.unwrap();
        any_long |= long;
        match hs.handle_response(&response).unwrap() {
            HandshakeStep::Send(next, req) => (hs, request) = (next, req),
            HandshakeStep::Done(session) => return (session, any_long),
        }
    }
}

/// GetStatus over the encrypted session: `WiFiConfigPayload { msg: 0, cmd_get_status: {} }`.
async fn get_status(central: &Central<'_>, session: &mut ClientSession, config_path: &str) {
    let wire = session.encrypt(&[0x52, 0x00]).unwrap();
    let (response, _) = central.transact(config_path, &wire).await.unwrap();
    let plain = session.decrypt(&response).unwrap();
    // msg = TypeRespGetStatus (1), then resp_get_status (field 11).
    assert_eq!(plain.first().copied(), Some(0x08), "{plain:02x?}");
    assert_eq!(plain.get(1).copied(), Some(0x01), "{plain:02x?}");
    assert!(plain.contains(&0x5a), "{plain:02x?}");
}

fn error_name(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => format!("{other:?}"),
    }
}

/// Waits until the advertisement was registered `n` times (and is registered).
async fn wait_for_adverts(record: &Shared, n: usize) {
    for _ in 0..200 {
        {
            let r = record.lock().unwrap();
            if r.registered_advs.len() == n && r.active_advs.len() == 1 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = record.lock().unwrap();
    assert_eq!((r.registered_advs.len(), r.active_advs.len()), (n, 1));
}

async fn wait_for(handle: &BluezHandle, expected: &[&str]) {
    for _ in 0..200 {
        if handle.connected_devices() == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(handle.connected_devices(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluez_dbus_shape_contract_with_test_double() {
    let bus = PrivateBus::start();
    let record: Shared = Arc::default();
    let bluez = bluez::double(&bus, record.clone()).await;
    let agent_bus = connect(&bus).await;
    let peer = agent_bus.unique_name().unwrap().to_string();

    let (service, _manager) = service().await;
    let handle = BluezPeripheral::start(
        agent_bus.clone(),
        ADAPTER,
        BluezConfig {
            service_uuid: EXAMPLE_SERVICE_UUID,
            local_name: "PROV_A1B2C3".into(),
            manufacturer_data: vec![0xe5, 0x02, 1, 2],
            ..Default::default()
        },
        service.clone(),
    )
    .await
    .unwrap();

    // --- What was registered, and its shape.
    let managed = {
        let r = record.lock().unwrap();
        assert_eq!(r.registered_apps, [handle.application_path().to_string()]);
        assert_eq!(r.registered_advs, [handle.advertisement_path().to_string()]);
        // The GAP Device Name a connected central reads is the adapter's alias.
        assert_eq!(r.aliases, ["PROV_A1B2C3"]);
        r.managed.clone().unwrap()
    };
    let with = |iface: &str| -> Vec<(String, HashMap<String, OwnedVariant>)> {
        let mut v: Vec<_> = managed
            .iter()
            .filter_map(|(p, i)| {
                i.get(iface).map(|props| {
                    let props = props
                        .iter()
                        .map(|(k, v)| (k.clone(), v.try_clone().unwrap()))
                        .collect();
                    (p.to_string(), props)
                })
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let services = with("org.bluez.GattService1");
    assert_eq!(services.len(), 1);
    let (service_path, service_props) = &services[0];
    assert_eq!(
        string(&service_props["UUID"]),
        "021a9004-0382-4aea-bff4-6b3f1c5adfb4"
    );
    assert!(bool::try_from(&service_props["Primary"]).unwrap());

    let characteristics = with("org.bluez.GattCharacteristic1");
    let mut uuids: Vec<String> = characteristics
        .iter()
        .map(|(_, p)| string(&p["UUID"]))
        .collect();
    uuids.sort();
    assert_eq!(
        uuids,
        ["ff4f", "ff50", "ff51", "ff52", "ff53"]
            .map(|id| format!("021a{id}-0382-4aea-bff4-6b3f1c5adfb4"))
    );
    for (path, props) in &characteristics {
        assert_eq!(path_of(&props["Service"]), *service_path);
        assert_eq!(strings(&props["Flags"]), ["read", "write"]);
        assert!(path.starts_with(&format!("{service_path}/")));
    }
    let descriptors = with("org.bluez.GattDescriptor1");
    assert_eq!(descriptors.len(), characteristics.len());
    for (path, props) in &descriptors {
        assert_eq!(
            string(&props["UUID"]),
            "00002901-0000-1000-8000-00805f9b34fb"
        );
        assert_eq!(strings(&props["Flags"]), ["read"]);
        let owner = path_of(&props["Characteristic"]);
        assert!(characteristics.iter().any(|(p, _)| *p == owner), "{path}");
    }
    // Only GATT objects in the application tree.
    assert_eq!(
        managed.len(),
        1 + characteristics.len() + descriptors.len(),
        "{:?}",
        managed.keys().collect::<Vec<_>>()
    );

    let adv = record.lock().unwrap().advertisement.take().unwrap();
    assert_eq!(string(&adv["Type"]), "peripheral");
    assert_eq!(string(&adv["LocalName"]), "PROV_A1B2C3");
    assert_eq!(
        strings(&adv["ServiceUUIDs"]),
        ["021a9004-0382-4aea-bff4-6b3f1c5adfb4"]
    );
    let mfr = HashMap::<u16, OwnedVariant>::try_from(adv["ManufacturerData"].try_clone().unwrap())
        .unwrap();
    assert_eq!(
        Vec::<u8>::try_from(mfr[&0x02e5].try_clone().unwrap()).unwrap(),
        [1, 2]
    );

    // --- Acting as BlueZ for two connected centrals.
    let dev_a = "/org/bluez/hci0/dev_AA_AA_AA_AA_AA_AA";
    let dev_b = "/org/bluez/hci0/dev_BB_BB_BB_BB_BB_BB";
    let a = Central {
        bus: &bluez,
        peer: peer.clone(),
        device: dev_a,
        mtu: 23,
    };
    let b = Central {
        bus: &bluez,
        peer: peer.clone(),
        device: dev_b,
        mtu: 185,
    };
    let names = endpoints(&a, &managed).await;
    let mut listed: Vec<&str> = names.keys().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "proto-ver",
            "prov-config",
            "prov-ctrl",
            "prov-scan",
            "prov-session"
        ]
    );
    let session_path = &names["prov-session"];
    let config_path = &names["prov-config"];

    // The version document is longer than one 22-byte chunk: a long read.
    let (version, _) = a.transact(&names["proto-ver"], b"ESP").await.unwrap();
    assert!(version.len() > 22);
    assert!(
        String::from_utf8(version)
            .unwrap()
            .contains("\"sec_ver\":\t1")
    );

    // Security 1 Cmd0 (a 32-byte key + framing) needs a long write at MTU 23.
    let (mut sa, long_a) = handshake(&a, session_path).await;
    assert!(long_a, "security 1 at MTU 23 should need offsets");
    let (mut sb, long_b) = handshake(&b, session_path).await;
    assert!(!long_b);
    assert_ne!(handle.session_of(dev_a), handle.session_of(dev_b));
    get_status(&a, &mut sa, config_path).await;
    get_status(&b, &mut sb, config_path).await;
    get_status(&a, &mut sa, config_path).await;
    assert_eq!(handle.connected_devices(), [dev_a, dev_b]);

    // --- Errors as BlueZ sees them.
    let e = a.write_at(config_path, 5, b"x").await.unwrap_err();
    assert_eq!(error_name(&e), "org.bluez.Error.InvalidOffset");
    let e = a.write_at(config_path, 0, &[0; 513]).await.unwrap_err();
    assert_eq!(error_name(&e), "org.bluez.Error.InvalidValueLength");
    let desc_path = descriptors[0].0.as_str();
    let e = bluez
        .call_method(
            Some(peer.as_str()),
            desc_path,
            Some("org.bluez.GattDescriptor1"),
            "WriteValue",
            &(&[1u8][..], a.options(0)),
        )
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), "org.bluez.Error.NotPermitted");
    // A request the service rejects: the read fails. The rejection must be certain, so it
    // comes from a third central without a session (from A, AES-CTR would turn the bytes into
    // some plaintext that is now and then a valid message).
    let dev_c = "/org/bluez/hci0/dev_CC_CC_CC_CC_CC_CC";
    let c = Central {
        bus: &bluez,
        peer: peer.clone(),
        device: dev_c,
        mtu: 23,
    };
    c.write_at(config_path, 0, b"garbage").await.unwrap();
    let e = c
        .read_at("org.bluez.GattCharacteristic1", config_path, 0)
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), "org.bluez.Error.Failed");
    let gone = HashMap::from([("Connected", Variant::from(false))]);
    bluez
        .emit_signal(
            None::<()>,
            dev_c,
            "org.freedesktop.DBus.Properties",
            "PropertiesChanged",
            &("org.bluez.Device1", gone, Vec::<String>::new()),
        )
        .await
        .unwrap();
    wait_for(&handle, &[dev_a, dev_b]).await;
    // A disconnection may have stopped advertising: the advertisement is registered again.
    wait_for_adverts(&record, 2).await;

    // --- Disconnection of A, as BlueZ signals it.
    let changed = HashMap::from([("Connected", Variant::from(false))]);
    bluez
        .emit_signal(
            None::<()>,
            dev_a,
            "org.freedesktop.DBus.Properties",
            "PropertiesChanged",
            &("org.bluez.Device1", changed, Vec::<String>::new()),
        )
        .await
        .unwrap();
    wait_for(&handle, &[dev_b]).await;
    wait_for_adverts(&record, 3).await;
    // A central of another adapter of the same BlueZ is not ours: nothing changes.
    bluez
        .emit_signal(
            None::<()>,
            "/org/bluez/hci1/dev_BB_BB_BB_BB_BB_BB",
            "org.freedesktop.DBus.Properties",
            "PropertiesChanged",
            &(
                "org.bluez.Device1",
                HashMap::from([("Connected", Variant::from(false))]),
                Vec::<String>::new(),
            ),
        )
        .await
        .unwrap();
    // B's session is unaffected.
    get_status(&b, &mut sb, config_path).await;

    // --- Stop: both unregistered, objects gone, sessions closed.
    let app_path = handle.application_path().to_string();
    handle.stop().await;
    {
        let r = record.lock().unwrap();
        assert_eq!(r.registered_advs.len(), 3);
        assert_eq!(r.unregistered_advs, r.registered_advs);
        assert_eq!(r.unregistered_apps, r.registered_apps);
        assert!(r.active_advs.is_empty() && r.active_apps.is_empty());
        // The adapter's own name is back.
        assert_eq!(r.aliases, ["PROV_A1B2C3", bluez::ADAPTER_NAME]);
    }
    let proxy = ObjectManagerProxy::builder(&bluez)
        .destination(peer.as_str())
        .path(app_path.as_str())
        .build()
        .await
        .unwrap();
    assert!(proxy.get_managed_objects().await.is_err());
    assert!(
        b.read_at("org.bluez.GattCharacteristic1", config_path, 0)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnection_while_stopping_leaves_nothing_registered() {
    let bus = PrivateBus::start();
    let record: Shared = Arc::default();
    let bluez = bluez::double(&bus, record.clone()).await;
    let agent_bus = connect(&bus).await;
    let (service, _manager) = service().await;
    for round in 0..5 {
        let handle = BluezPeripheral::start(
            agent_bus.clone(),
            ADAPTER,
            BluezConfig::default(),
            service.clone(),
        )
        .await
        .unwrap();
        // A central disconnects just as the peripheral stops: the advertisement may be
        // registered again, but never after the stop has unregistered it.
        let gone = HashMap::from([("Connected", Variant::from(false))]);
        bluez
            .emit_signal(
                None::<()>,
                "/org/bluez/hci0/dev_AA_AA_AA_AA_AA_AA",
                "org.freedesktop.DBus.Properties",
                "PropertiesChanged",
                &("org.bluez.Device1", gone, Vec::<String>::new()),
            )
            .await
            .unwrap();
        // Stop at various points of the re-registration.
        tokio::time::sleep(Duration::from_millis(8 * round)).await;
        handle.stop().await;
        // Let anything still in flight land.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = record.lock().unwrap();
        assert!(
            r.active_advs.is_empty(),
            "round {round}: {:?}",
            r.active_advs
        );
        assert!(r.active_apps.is_empty(), "round {round}");
        assert_eq!(
            r.unregistered_advs.len(),
            r.registered_advs.len(),
            "round {round}"
        );
    }
}
