//! Provisioning over the in-memory GATT link: every security scheme at MTU 23 and 512 (long
//! writes and long reads), two connections with independent sessions, endpoint discovery by
//! 0x2901 descriptor and by legacy id, and ATT errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::time::Duration;

use protocomm::{ClientSecurity, Device, DeviceConfig, Sec2Credentials, Secret, Security};
use wifiprov_client::ble_memory::MemoryBleTransport;
use wifiprov_client::{ClientConfig, ClientTransport, Credentials, Provisioner, TransportError};
use wifiprov_device::{Manager, ManagerConfig};
use wifiprov_transport::Service;
use wifiprov_transport::ble::gatt::{
    AttError, BLUEDROID_MAX_ATTRIBUTE_LEN, USER_DESCRIPTION_UUID16,
};
use wifiprov_transport::ble::uuid::EXAMPLE_SERVICE_UUID;
use wifiprov_transport::ble::{MemoryGattConfig, MemoryGattDevice, Uuid128};
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

fn rng() -> protocomm::rand_core::UnwrapErr<getrandom::SysRng> {
    protocomm::rand_core::UnwrapErr(getrandom::SysRng)
}

fn sec1() -> Security {
    Security::Sec1 {
        pop: Some(Secret::from("abcd1234")),
    }
}

fn sec2() -> Security {
    Security::Sec2 {
        credentials: Sec2Credentials::generate(b"wifiprov", &Secret::from("abcd1234"), &mut rng())
            .unwrap(),
        patch: 1,
    }
}

/// A provisioner with esp_prov's BLE settings: 4 scan results per read, so that every
/// response fits one attribute value.
fn ble_client(transport: MemoryBleTransport) -> Provisioner<MemoryBleTransport> {
    Provisioner::with_config(
        transport,
        ClientConfig {
            scan_page: 4,
            scan_group_channels: 0,
            ..Default::default()
        },
    )
}

/// The device as the agent builds it (protocomm device + Manager + Service), behind the
/// in-memory GATT link instead of HTTP.
async fn device(
    security: Security,
    config: MemoryGattConfig,
    custom: &[&str],
) -> (MemoryGattDevice, Manager) {
    let mut device = Device::new(DeviceConfig::new(security)).unwrap();
    for name in custom {
        device.register_endpoint(name).unwrap();
    }
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

#[tokio::test]
async fn every_scheme_provisions_at_mtu_23_and_512() {
    let cases = [
        (Security::Sec0, Credentials::default()),
        (sec1(), Credentials::pop("abcd1234")),
        (sec2(), Credentials::srp("wifiprov", "abcd1234")),
    ];
    for (security, creds) in cases {
        let version = security.version();
        for mtu in [23u16, 512] {
            let (dev, manager) = device(security.clone(), MemoryGattConfig::default(), &[]).await;
            let transport = MemoryBleTransport::connect(&dev, mtu).unwrap();
            assert_eq!(transport.mtu(), mtu);
            let mut c = ble_client(transport);
            let negotiated = c.negotiate(None, &creds).await.unwrap();
            assert_eq!(negotiated.version(), version);
            c.establish(negotiated).await.unwrap();
            let scan = c.scan().await.unwrap();
            assert!(scan.iter().any(|ap| ap.ssid == b"HomeNet"));
            let joined = c.provision(b"HomeNet", b"correct-horse").await.unwrap();
            assert_eq!(joined.ip, "192.168.1.42");

            let stats = dev.stats();
            assert!(stats.write_requests > 0 && stats.reads > 0, "{stats:?}");
            // The version document (and more) does not fit 22-byte reads; nothing exceeds a
            // 511-byte read.
            assert_eq!(stats.read_blobs > 0, mtu == 23, "mtu {mtu}: {stats:?}");
            // Security 2's Cmd0 (406 bytes) needs a long write at MTU 23, and nothing does at 512.
            if version == 2 && mtu == 23 {
                assert!(stats.prepare_writes >= 406 / 18, "{stats:?}");
                assert!(stats.execute_writes >= 1);
            }
            if mtu == 512 {
                assert_eq!(stats.prepare_writes, 0, "{stats:?}");
            }
            drop(c);
            assert_eq!(dev.connection_count(), 0);
            manager.stop();
            manager.deinit();
        }
    }
}

#[tokio::test]
async fn two_connections_have_independent_sessions() {
    let (dev, manager) = device(sec1(), MemoryGattConfig::default(), &[]).await;
    let mut a = ble_client(MemoryBleTransport::connect(&dev, 23).unwrap());
    let mut b = ble_client(MemoryBleTransport::connect(&dev, 512).unwrap());
    let sa = a.transport().session().unwrap();
    let sb = b.transport().session().unwrap();
    assert_ne!(sa, sb);
    assert_eq!(dev.connection_count(), 2);

    let creds = Credentials::pop("abcd1234");
    let sec_a = a.negotiate(None, &creds).await.unwrap();
    let sec_b = b.negotiate(None, &creds).await.unwrap();
    a.establish(sec_a).await.unwrap();
    b.establish(sec_b).await.unwrap();
    let established = |s| dev.service().with_device(|d| d.is_established(s));
    assert!(established(sa) && established(sb));
    assert!(!a.scan().await.unwrap().is_empty());
    assert!(!b.scan().await.unwrap().is_empty());

    // A third connection has no session: an encrypted endpoint rejects it (ATT 0x04).
    let config = dev.layout().by_endpoint("prov-config").unwrap().uuid;
    let mut raw = dev.connect();
    assert_eq!(
        raw.write(config, b"\x08\x00").await,
        Err(AttError::InvalidPdu)
    );
    assert_eq!(raw.read(config, 0).unwrap(), b"");
    raw.disconnect();

    // Dropping one connection closes its session only.
    drop(a);
    assert!(!established(sa));
    assert!(established(sb));
    let joined = b.provision(b"HomeNet", b"correct-horse").await.unwrap();
    assert_eq!(joined.ip, "192.168.1.42");
    drop(b);
    assert!(!established(sb));
    assert_eq!(dev.connection_count(), 0);
    manager.stop();
    manager.deinit();
}

#[tokio::test]
async fn reset_session_reconnects_with_a_new_session() {
    let (dev, manager) = device(Security::Sec0, MemoryGattConfig::default(), &[]).await;
    let mut t = MemoryBleTransport::connect(&dev, 185).unwrap();
    let first = t.session().unwrap();
    t.reset_session();
    let second = t.session().unwrap();
    assert_ne!(first, second);
    assert_eq!(t.mtu(), 185);
    assert_eq!(dev.connection_count(), 1);
    // HTTP's 100 scan results per read do not fit a 512-byte value: the device cannot store
    // the response (ATT 0x0E); BLE's 4 per read do.
    let mut c = Provisioner::new(t);
    c.establish(ClientSecurity::Sec0).await.unwrap();
    let err = c.scan().await.unwrap_err();
    assert!(err.to_string().contains("0x0E"), "{err}");
    let mut c = ble_client(MemoryBleTransport::connect(&dev, 185).unwrap());
    c.establish(ClientSecurity::Sec0).await.unwrap();
    assert!(!c.scan().await.unwrap().is_empty());
    manager.stop();
    manager.deinit();
}

#[tokio::test]
async fn endpoints_are_found_by_descriptor_or_legacy_id() {
    let config = MemoryGattConfig {
        service_uuid: EXAMPLE_SERVICE_UUID,
        ..Default::default()
    };
    let (dev, manager) = device(Security::Sec0, config.clone(), &["custom-data"]).await;
    let t = MemoryBleTransport::connect(&dev, 23).unwrap();
    let found: Vec<(String, String)> = t
        .endpoints()
        .iter()
        .map(|(name, uuid)| (name.clone(), uuid.to_string()))
        .collect();
    let expected = [
        ("custom-data", "021aff54"),
        ("proto-ver", "021aff53"),
        ("prov-config", "021aff52"),
        ("prov-ctrl", "021aff4f"),
        ("prov-scan", "021aff50"),
        ("prov-session", "021aff51"),
    ]
    .map(|(n, u)| (n.to_string(), format!("{u}-0382-4aea-bff4-6b3f1c5adfb4")));
    assert_eq!(found, expected);
    // Discovery read each characteristic's descriptor (every name fits one 22-byte chunk).
    assert_eq!(dev.stats().descriptor_reads, 6);
    // Registration order, properties and descriptor content of the GATT database.
    let link = dev.connect();
    let chars = link.characteristics();
    assert_eq!(chars.len(), 6);
    assert!(chars.iter().all(|c| c.properties == 0x0a));
    assert_eq!(
        link.read_descriptor(chars[5].uuid, USER_DESCRIPTION_UUID16, 0)
            .unwrap(),
        b"custom-data"
    );
    assert_eq!(link.services(), vec![EXAMPLE_SERVICE_UUID]);
    drop(link);
    manager.stop();
    manager.deinit();

    // Old firmware without descriptors: the built-in endpoints are found by their ids; the
    // custom one is not (it has no legacy id).
    let (dev, manager) = device(
        Security::Sec0,
        MemoryGattConfig {
            descriptions: false,
            ..config
        },
        &["custom-data"],
    )
    .await;
    let t = MemoryBleTransport::connect(&dev, 23).unwrap();
    assert_eq!(
        t.endpoints().keys().collect::<Vec<_>>(),
        [
            "proto-ver",
            "prov-config",
            "prov-ctrl",
            "prov-scan",
            "prov-session"
        ]
    );
    assert_eq!(dev.stats().descriptor_reads, 0);
    let mut c = ble_client(t);
    c.establish(ClientSecurity::Sec0).await.unwrap();
    c.provision(b"HomeNet", b"correct-horse").await.unwrap();
    let mut t = MemoryBleTransport::connect(&dev, 23).unwrap();
    assert!(matches!(
        t.request("custom-data", b"x").await,
        Err(TransportError::Status(_))
    ));
    manager.stop();
    manager.deinit();
}

#[tokio::test]
async fn att_errors() {
    let (dev, manager) = device(
        Security::Sec0,
        MemoryGattConfig {
            max_value_len: BLUEDROID_MAX_ATTRIBUTE_LEN,
            ..Default::default()
        },
        &[],
    )
    .await;
    let ver = dev.layout().by_endpoint("proto-ver").unwrap().uuid;
    let mut link = dev.connect();
    assert_eq!(link.exchange_mtu(23), 23);

    // Long read of proto-ver, then offsets at and past the end.
    link.write(ver, b"---").await.unwrap();
    let mut doc = Vec::new();
    loop {
        let part = link.read(ver, doc.len()).unwrap();
        let done = part.len() < 22;
        doc.extend(part);
        if done {
            break;
        }
    }
    assert!(doc.len() > 22);
    assert!(doc.starts_with(b"{"), "{}", String::from_utf8_lossy(&doc));
    assert_eq!(link.read(ver, doc.len()).unwrap(), b"");
    let err = link.read(ver, doc.len() + 1).unwrap_err();
    assert_eq!((err, err.code()), (AttError::InvalidOffset, 0x07));

    // A value longer than Bluedroid's 481-byte buffer.
    let body = vec![0u8; 482];
    let mut failure = None;
    for (i, part) in body.chunks(18).enumerate() {
        if let Err(e) = link.prepare_write(ver, i * 18, part) {
            failure = Some(e);
            break;
        }
    }
    let err = failure.unwrap();
    assert_eq!(
        (err, err.code()),
        (AttError::InvalidAttributeValueLength, 0x0d)
    );
    link.execute_write(false).await.unwrap();
    // Through the client transport the same failure is a transport error naming the code.
    let mut t = MemoryBleTransport::connect(&dev, 517).unwrap();
    let err = t.request("proto-ver", &body).await.unwrap_err();
    assert!(err.to_string().contains("0x0D"), "{err}");
    // 481 bytes fit.
    t.request("proto-ver", &body[..481]).await.unwrap();

    // Unknown characteristic.
    let stranger = Uuid128::from_u16(0xff52);
    let err = link.write(stranger, b"x").await.unwrap_err();
    assert_eq!((err, err.code()), (AttError::AttributeNotFound, 0x0a));
    assert_eq!(link.read(stranger, 0), Err(AttError::AttributeNotFound));
    assert_eq!(
        link.read_descriptor(ver, 0x2902, 0),
        Err(AttError::AttributeNotFound)
    );
    // A Write Request longer than MTU − 3 cannot be sent.
    assert_eq!(link.write(ver, &[0; 21]).await, Err(AttError::InvalidPdu));
    manager.stop();
    manager.deinit();
}
