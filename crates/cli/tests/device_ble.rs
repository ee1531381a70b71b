//! `wifiprov device --transport ble` end to end, against a stand-in for BlueZ.
//!
//! There is no Bluetooth controller here, so the test starts a private `dbus-daemon`, puts a
//! small double of `org.bluez` on it (`/org/bluez/hci0` with `GattManager1` and
//! `LEAdvertisingManager1`, recording the registrations and reading the registered objects
//! back as BlueZ does), points the real binary at it with `DBUS_SYSTEM_BUS_ADDRESS`, then
//! plays BlueZ's part for one central (`WriteValue` + `ReadValue` on a characteristic).
//! The radio side of BlueZ is not exercised.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wifiprov_testkit::bluez::{self, Shared, path_of, string, strings};
use wifiprov_testkit::dbus::PrivateBus;
use wifiprov_transport::ble::gatt::legacy_endpoint_name;
use wifiprov_transport::ble::uuid::{
    DEFAULT_SERVICE_UUID, EXAMPLE_SERVICE_UUID, Uuid128, characteristic_uuid,
};
use zbus::fdo::ManagedObjects;
use zbus::{Connection, ObjectPath, Variant};

const HINT: &str = "BlueZ (bluetoothd) is not running or this machine has no Bluetooth adapter";
const CENTRAL: &str = "/org/bluez/hci0/dev_00_11_22_33_44_55";

/// The `wifiprov device` process, killed on drop, its stderr collected.
struct Agent {
    child: Child,
    stderr: Arc<Mutex<String>>,
    _state_dir: tempfile::TempDir,
}

impl Agent {
    fn start(system_bus: &str, args: &[&str]) -> Agent {
        let state_dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
            .arg("device")
            .args(args)
            .args(["--listen", "127.0.0.1:0", "--force", "--state-dir"])
            .arg(state_dir.path())
            .env("DBUS_SYSTEM_BUS_ADDRESS", system_bus)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let into = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = into.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Agent {
            child,
            stderr,
            _state_dir: state_dir,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until `ready` holds, failing if the agent exits first.
    async fn wait_until(&mut self, what: &str, mut ready: impl FnMut(&Agent) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready(self) {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the stderr reader a moment to catch the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!(
                    "agent exited with {status} before {what}: {}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "agent did not exit: {}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn terminate(&self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    }

    /// The service name from the start line (`serving provisioning as "PROV_…" on …`).
    fn service_name(&self) -> String {
        let text = self.stderr();
        let rest = text
            .split("serving provisioning as \"")
            .nth(1)
            .unwrap_or_else(|| panic!("no start line: {text}"));
        rest.split('"').next().unwrap().to_string()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn options(offset: u16) -> HashMap<&'static str, Variant<'static>> {
    HashMap::from([
        ("offset", Variant::from(offset)),
        ("mtu", Variant::from(185u16)),
        (
            "device",
            Variant::from(ObjectPath::try_from(CENTRAL).unwrap()),
        ),
    ])
}

/// Bounds every D-Bus exchange of the test, so that a misbehaving bus fails instead of hanging.
async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

async fn read_value(bus: &Connection, agent: &str, iface: &str, path: &str) -> Vec<u8> {
    let args = (options(0),);
    let call = bus.call_method(Some(agent), path, Some(iface), "ReadValue", &args);
    bounded("ReadValue", call)
        .await
        .unwrap()
        .body()
        .deserialize::<Vec<u8>>()
        .unwrap()
}

async fn write_value(bus: &Connection, agent: &str, path: &str, value: &[u8]) {
    let args = (value, options(0));
    let call = bus.call_method(
        Some(agent),
        path,
        Some("org.bluez.GattCharacteristic1"),
        "WriteValue",
        &args,
    );
    bounded("WriteValue", call).await.unwrap();
}

/// Endpoint name → (characteristic path, characteristic UUID), from the registered tree and
/// the 0x2901 descriptors (read from the agent, as a central would).
async fn characteristics(
    bus: &Connection,
    agent: &str,
    managed: &ManagedObjects,
) -> HashMap<String, (String, String)> {
    let mut out = HashMap::new();
    for (path, ifaces) in managed {
        let Some(desc) = ifaces.get("org.bluez.GattDescriptor1") else {
            continue;
        };
        assert_eq!(
            string(&desc["UUID"]),
            "00002901-0000-1000-8000-00805f9b34fb"
        );
        let char_path = path_of(&desc["Characteristic"]);
        let name = read_value(bus, agent, "org.bluez.GattDescriptor1", path.as_str()).await;
        let char_ifaces = managed
            .iter()
            .find(|(p, _)| p.as_str() == char_path)
            .map(|(_, i)| i)
            .unwrap_or_else(|| panic!("descriptor of an unknown characteristic {char_path}"));
        let uuid = string(&char_ifaces["org.bluez.GattCharacteristic1"]["UUID"]);
        out.insert(String::from_utf8(name).unwrap(), (char_path, uuid));
    }
    out
}

/// Checks the registered tree: one primary service `service_uuid`, and one characteristic per
/// built-in endpoint with the UUID derived from it.
fn check_tree(
    chars: &HashMap<String, (String, String)>,
    managed: &ManagedObjects,
    service_uuid: Uuid128,
) {
    let services: Vec<_> = managed
        .values()
        .filter_map(|i| i.get("org.bluez.GattService1"))
        .collect();
    assert_eq!(services.len(), 1);
    assert_eq!(string(&services[0]["UUID"]), service_uuid.to_string());
    assert!(bool::try_from(&services[0]["Primary"]).unwrap());
    for name in [
        "prov-session",
        "proto-ver",
        "prov-config",
        "prov-scan",
        "prov-ctrl",
    ] {
        let (_, uuid) = chars
            .get(name)
            .unwrap_or_else(|| panic!("no characteristic for {name}: {chars:?}"));
        let id16 = wifiprov_transport::ble::gatt::LEGACY_ENDPOINT_IDS
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| *id)
            .unwrap();
        assert_eq!(legacy_endpoint_name(id16), Some(name));
        assert_eq!(*uuid, characteristic_uuid(service_uuid, id16).to_string());
    }
}

/// Writes `request` to the characteristic of `endpoint`, reads the response back.
async fn transact(
    bus: &Connection,
    agent: &str,
    chars: &HashMap<String, (String, String)>,
    endpoint: &str,
    request: &[u8],
) -> Vec<u8> {
    let (path, _) = &chars[endpoint];
    write_value(bus, agent, path, request).await;
    read_value(bus, agent, "org.bluez.GattCharacteristic1", path).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_ble_through_bluez_and_unregisters_on_sigterm() {
    let bus = PrivateBus::start();
    let record: Shared = Arc::default();
    let bluez = bluez::double(&bus, record.clone()).await;

    let mut agent = Agent::start(
        bus.address(),
        &["--transport", "ble", "--security", "1", "--pop", "abcd1234"],
    );
    agent
        .wait_until("the BLE registration", |a| {
            !record.lock().unwrap().registered_advs.is_empty()
                && a.stderr().contains("serving provisioning as")
        })
        .await;
    let name = agent.service_name();
    assert!(
        name.starts_with("PROV_") && name.len() == 11,
        "{name:?}: {}",
        agent.stderr()
    );
    assert!(agent.stderr().contains("BLE on /org/bluez/hci0"));
    assert!(!agent.stderr().contains("http://"), "{}", agent.stderr());

    let (peer, managed, adv, app_path, adv_path) = {
        let r = record.lock().unwrap();
        assert_eq!(r.registered_apps.len(), 1);
        assert_eq!(r.registered_advs.len(), 1);
        (
            r.agent.clone().unwrap(),
            r.managed.clone().unwrap(),
            r.advertisement.as_ref().unwrap().clone(),
            r.registered_apps[0].clone(),
            r.registered_advs[0].clone(),
        )
    };
    // The advertisement: the service name and ESP-IDF's default service UUID.
    assert_eq!(string(&adv["LocalName"]), name);
    assert_eq!(string(&adv["Type"]), "peripheral");
    assert_eq!(
        strings(&adv["ServiceUUIDs"]),
        ["1775244d-6b43-439b-877c-060f2d9bed07"]
    );
    // The GATT tree, characteristic UUIDs derived from the default service UUID.
    let chars = characteristics(&bluez, &peer, &managed).await;
    check_tree(&chars, &managed, DEFAULT_SERVICE_UUID);
    assert_eq!(chars["proto-ver"].1, "1775ff53-6b43-439b-877c-060f2d9bed07");
    assert_eq!(
        chars["prov-session"].1,
        "1775ff51-6b43-439b-877c-060f2d9bed07"
    );

    // One request through a characteristic: proto-ver answers with the version document.
    let response = transact(&bluez, &peer, &chars, "proto-ver", b"---").await;
    let version: serde_json::Value = serde_json::from_slice(&response)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&response)));
    assert_eq!(version["prov"]["sec_ver"], 1, "{version}");
    assert!(version["prov"]["ver"].is_string(), "{version}");
    assert!(version["prov"]["cap"].is_array(), "{version}");

    // SIGTERM: both registrations are withdrawn before the agent exits.
    agent.terminate();
    let status = agent.wait_exit().await;
    assert!(status.success(), "{status}: {}", agent.stderr());
    let r = record.lock().unwrap();
    assert_eq!(r.unregistered_advs, [adv_path]);
    assert_eq!(r.unregistered_apps, [app_path]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_ble_with_the_example_uuid_and_manufacturer_data() {
    let bus = PrivateBus::start();
    let record: Shared = Arc::default();
    let bluez = bluez::double(&bus, record.clone()).await;

    let mut agent = Agent::start(
        bus.address(),
        &[
            "--transport",
            "http,ble",
            "--security",
            "0",
            "--service-name",
            "PROV_kitchen",
            "--ble-service-uuid",
            "021a9004-0382-4aea-bff4-6b3f1c5adfb4",
            "--ble-manufacturer-data",
            "e5:02:01:02",
            "--mdns",
            "off",
        ],
    );
    agent
        .wait_until("the BLE registration", |a| {
            !record.lock().unwrap().registered_advs.is_empty()
                && a.stderr().contains("serving provisioning as")
        })
        .await;
    let (peer, managed, adv) = {
        let r = record.lock().unwrap();
        (
            r.agent.clone().unwrap(),
            r.managed.clone().unwrap(),
            r.advertisement.as_ref().unwrap().clone(),
        )
    };
    assert_eq!(string(&adv["LocalName"]), "PROV_kitchen");
    assert_eq!(
        strings(&adv["ServiceUUIDs"]),
        ["021a9004-0382-4aea-bff4-6b3f1c5adfb4"]
    );
    let maker =
        HashMap::<u16, Vec<u8>>::try_from(adv["ManufacturerData"].try_clone().unwrap()).unwrap();
    assert_eq!(maker, HashMap::from([(0x02e5, vec![1, 2])]));
    let chars = characteristics(&bluez, &peer, &managed).await;
    check_tree(&chars, &managed, EXAMPLE_SERVICE_UUID);
    assert_eq!(
        chars["prov-session"].1,
        "021aff51-0382-4aea-bff4-6b3f1c5adfb4"
    );

    // Both transports serve the same agent.
    let stderr = agent.stderr();
    let addr = stderr
        .split("on http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no HTTP address: {stderr}"))
        .to_string();
    let mut http = wifiprov_transport::http_client::HttpClient::new(&addr, Duration::from_secs(10));
    let over_http: serde_json::Value =
        serde_json::from_slice(&http.post("proto-ver", b"---").await.unwrap()).unwrap();
    let over_ble: serde_json::Value =
        serde_json::from_slice(&transact(&bluez, &peer, &chars, "proto-ver", b"---").await)
            .unwrap();
    assert_eq!(over_http, over_ble);
    assert_eq!(over_ble["prov"]["sec_ver"], 0);

    agent.terminate();
    assert!(agent.wait_exit().await.success(), "{}", agent.stderr());
    let r = record.lock().unwrap();
    assert_eq!(r.unregistered_advs.len(), 1);
    assert_eq!(r.unregistered_apps.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_system_bus_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let address = format!("unix:path={}", dir.path().join("no-bus").display());
    let mut agent = Agent::start(
        &address,
        &["--transport", "ble", "--security", "1", "--pop", "abcd1234"],
    );
    let status = agent.wait_exit().await;
    assert!(!status.success(), "{}", agent.stderr());
    let stderr = agent.stderr();
    assert!(stderr.contains("system bus"), "{stderr}");
    assert!(stderr.contains(HINT), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_without_bluez_is_a_clear_error() {
    let bus = PrivateBus::start();
    let mut agent = Agent::start(
        bus.address(),
        &["--transport", "ble,console", "--security", "0"],
    );
    let status = agent.wait_exit().await;
    assert!(!status.success(), "{}", agent.stderr());
    let stderr = agent.stderr();
    assert!(
        stderr.contains("org.bluez is not on the system bus"),
        "{stderr}"
    );
    assert!(stderr.contains(HINT), "{stderr}");
}

#[test]
fn ble_flags_need_the_ble_transport() {
    let state_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["device", "--transport", "http", "--ble-adapter", "hci1"])
        .args(["--listen", "127.0.0.1:0", "--force", "--security", "0"])
        .arg("--state-dir")
        .arg(state_dir.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--transport ble"), "{stderr}");
}

/// `wifiprov manage --ble`: while the fallback access point is up, the provisioning service
/// is also registered with BlueZ and answers over its characteristics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manage_serves_fallback_provisioning_over_ble_too() {
    let bus = PrivateBus::start();
    let record: Shared = Arc::default();
    let bluez = bluez::double(&bus, record.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let networks = dir.path().join("networks.json");
    std::fs::write(
        &networks,
        r#"{"schema": 2, "known_networks": [{"ssid": "Nowhere", "password": "not-here-at-all"}],
            "access_point": {"config": {"essid": "setup"}, "start_policy": "fallback"}}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["manage", "--networks"])
        .arg(&networks)
        .args(["--control"])
        .arg(dir.path().join("manager.sock"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--pop",
            "abcd1234",
            "--ble",
            "--service-name",
            "PROV_FALLBK",
        ])
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus.address())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while record.lock().unwrap().registered_advs.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the fallback BLE service was not registered"
        );
        assert!(child.try_wait().unwrap().is_none(), "the manager exited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (peer, managed, adv) = {
        let r = record.lock().unwrap();
        (
            r.agent.clone().unwrap(),
            r.managed.clone().unwrap(),
            r.advertisement.clone().unwrap(),
        )
    };
    assert_eq!(string(&adv["LocalName"]), "PROV_FALLBK");
    let chars = characteristics(&bluez, &peer, &managed).await;
    check_tree(&chars, &managed, DEFAULT_SERVICE_UUID);
    let response = transact(&bluez, &peer, &chars, "proto-ver", b"---").await;
    let version: serde_json::Value = serde_json::from_slice(&response).unwrap();
    assert_eq!(version["prov"]["sec_ver"], 1);
    let _ = child.kill();
    let _ = child.wait();
}
