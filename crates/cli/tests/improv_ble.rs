//! Improv over BLE: `wifiprov device --transport ble --improv-ble` against a stand-in for
//! BlueZ.
//!
//! There is no Bluetooth controller here: a private `dbus-daemon` carries a double of
//! `org.bluez` (see `wifiprov_testkit::bluez`), the real binary registers its GATT application
//! and advertisement with it, and the test plays BlueZ's part for one Improv client: it writes
//! RPC commands to the command characteristic (split in 20-byte writes, as over the air with
//! the default MTU) and follows the `PropertiesChanged` signals of the state, error and result
//! characteristics, which BlueZ turns into notifications. The radio is not exercised (the lab's
//! `improv_ble` scenario does that).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use improv::ble::{
    CAPABILITIES_UUID, CURRENT_STATE_UUID, ERROR_STATE_UUID, RPC_COMMAND_UUID, RPC_RESULT_UUID,
    SERVICE_DATA_UUID, SERVICE_UUID, decode_result, encode_command,
};
use improv::rpc::{Rpc, RpcResult};
use wifiprov_testkit::bluez::{self, Shared, string, strings};
use wifiprov_testkit::dbus::PrivateBus;
use zbus::{Connection, MatchRule, ObjectPath, OwnedVariant, Variant};

const CENTRAL: &str = "/org/bluez/hci0/dev_00_11_22_33_44_55";

/// The device, killed on drop, its stderr in a file.
struct Agent {
    child: Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    /// `wifiprov ARGS…`; `{dir}` in an argument stands for a fresh directory.
    fn start(system_bus: &str, args: &[&str]) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("device.log");
        let here = dir.path().display().to_string();
        let child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
            .args(args.iter().map(|a| a.replace("{dir}", &here)))
            .env("DBUS_SYSTEM_BUS_ADDRESS", system_bus)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Agent {
            child,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn options() -> HashMap<&'static str, Variant<'static>> {
    HashMap::from([
        ("offset", Variant::from(0u16)),
        ("mtu", Variant::from(23u16)),
        (
            "device",
            Variant::from(ObjectPath::try_from(CENTRAL).unwrap()),
        ),
    ])
}

/// A value change of a characteristic: (characteristic UUID, value).
type Event = (String, Vec<u8>);

/// BlueZ's part for one Improv client.
struct Client {
    bus: Connection,
    agent: String,
    /// Characteristic UUID → object path.
    chars: HashMap<String, String>,
    events: Arc<Mutex<Vec<Event>>>,
    record: Shared,
    device: Agent,
}

impl Client {
    /// Starts the device with `extra` flags and waits for its registration.
    async fn start(extra: &[&str]) -> (Client, PrivateBus) {
        let mut args = vec![
            "device",
            "--transport",
            "ble",
            "--improv-ble",
            "--security",
            "0",
            "--service-name",
            "PROV_IMPROV",
            "--connect-delay",
            "0",
            "--no-auto-stop",
            "--listen",
            "127.0.0.1:0",
            "--force",
            "--improv-url",
            "http://{ip}/setup",
            "--state-dir",
            "{dir}/state",
        ];
        args.extend(extra);
        Client::start_with(&args).await
    }

    /// Starts `wifiprov ARGS…` and waits for its registration.
    async fn start_with(args: &[&str]) -> (Client, PrivateBus) {
        let bus = PrivateBus::start();
        let record: Shared = Arc::default();
        let conn = bluez::double(&bus, record.clone()).await;
        let mut device = Agent::start(bus.address(), args);
        let deadline = Instant::now() + Duration::from_secs(30);
        while record.lock().unwrap().registered_advs.is_empty() {
            if let Ok(Some(status)) = device.child.try_wait() {
                panic!("the device exited with {status}: {}", device.log());
            }
            assert!(
                Instant::now() < deadline,
                "no registration: {}",
                device.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (agent, managed) = {
            let r = record.lock().unwrap();
            (r.agent.clone().unwrap(), r.managed.clone().unwrap())
        };
        let services: Vec<String> = managed
            .values()
            .filter_map(|i| i.get("org.bluez.GattService1"))
            .map(|s| string(&s["UUID"]))
            .collect();
        assert_eq!(services.len(), 2, "{services:?}");
        assert!(services.contains(&SERVICE_UUID.to_string()), "{services:?}");
        let mut chars = HashMap::new();
        for (path, ifaces) in &managed {
            if let Some(c) = ifaces.get("org.bluez.GattCharacteristic1") {
                chars.insert(string(&c["UUID"]), path.to_string());
            }
        }
        // Every value change the device signals on its characteristics.
        let events: Arc<Mutex<Vec<Event>>> = Arc::default();
        let rule = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(agent.as_str())
            .interface("org.freedesktop.DBus.Properties")
            .member("PropertiesChanged")
            .build()
            .unwrap();
        let mut stream =
            zbus::MessageStream::for_match_rule(rule, &conn, std::num::NonZeroUsize::new(64))
                .await
                .unwrap();
        let by_path: HashMap<String, String> =
            chars.iter().map(|(u, p)| (p.clone(), u.clone())).collect();
        let into = events.clone();
        tokio::spawn(async move {
            use std::future::poll_fn;
            use std::pin::Pin;
            use zbus::export::futures_core::Stream;
            while let Some(Ok(message)) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
                let header = message.header();
                let Some(path) = header.path().map(|p| p.to_string()) else {
                    continue;
                };
                let Ok((_, changed, _)) =
                    message
                        .body()
                        .deserialize::<(String, HashMap<String, OwnedVariant>, Vec<String>)>()
                else {
                    continue;
                };
                if let (Some(uuid), Some(value)) = (by_path.get(&path), changed.get("Value")) {
                    let value = Vec::<u8>::try_from(value.try_clone().unwrap()).unwrap();
                    into.lock().unwrap().push((uuid.clone(), value));
                }
            }
        });
        let client = Client {
            bus: conn,
            agent,
            chars,
            events,
            record,
            device,
        };
        (client, bus)
    }

    async fn read(&self, uuid: &str) -> Vec<u8> {
        let reply = self
            .bus
            .call_method(
                Some(self.agent.as_str()),
                self.chars[uuid].as_str(),
                Some("org.bluez.GattCharacteristic1"),
                "ReadValue",
                &(options(),),
            )
            .await
            .unwrap();
        reply.body().deserialize::<Vec<u8>>().unwrap()
    }

    async fn write(&self, bytes: &[u8]) {
        self.bus
            .call_method(
                Some(self.agent.as_str()),
                self.chars[RPC_COMMAND_UUID].as_str(),
                Some("org.bluez.GattCharacteristic1"),
                "WriteValue",
                &(bytes, options()),
            )
            .await
            .unwrap();
    }

    /// Sends `rpc` in 20-byte writes; returns the mark to wait from.
    async fn send(&self, rpc: &Rpc) -> usize {
        let mark = self.events.lock().unwrap().len();
        let bytes = encode_command(rpc).unwrap();
        for chunk in bytes.chunks(20) {
            self.write(chunk).await;
        }
        mark
    }

    /// Waits for a change of `uuid` after `mark` satisfying `check`; returns its value.
    async fn wait(&self, mark: usize, uuid: &str, check: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self
                .events
                .lock()
                .unwrap()
                .iter()
                .skip(mark)
                .find(|(u, v)| u == uuid && check(v))
                .map(|(_, v)| v.clone());
            if let Some(v) = found {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "no {uuid} change: {:?}\n{}",
                self.events.lock().unwrap(),
                self.device.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn state_becomes(&self, mark: usize, state: u8) {
        self.wait(mark, CURRENT_STATE_UUID, |v| v == [state]).await;
        assert_eq!(self.read(CURRENT_STATE_UUID).await, [state]);
    }

    async fn result(&self, mark: usize, command: u8) -> RpcResult {
        let bytes = self
            .wait(mark, RPC_RESULT_UUID, |v| {
                decode_result(v).is_ok_and(|r| r.command == command)
            })
            .await;
        decode_result(&bytes).unwrap()
    }

    fn advertised(&self) -> HashMap<String, OwnedVariant> {
        self.record.lock().unwrap().advertisement.clone().unwrap()
    }

    fn service_data(&self) -> Vec<u8> {
        let adv = self.advertised();
        let data =
            HashMap::<String, OwnedVariant>::try_from(adv["ServiceData"].try_clone().unwrap())
                .unwrap();
        Vec::<u8>::try_from(data[SERVICE_DATA_UUID].try_clone().unwrap()).unwrap()
    }

    async fn service_data_becomes(&self, state: u8) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.service_data()[0] != state {
            assert!(Instant::now() < deadline, "{:?}", self.service_data());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn wifi(ssid: &str, password: &str) -> Rpc {
    Rpc::WifiSettings {
        ssid: ssid.as_bytes().to_vec(),
        password: password.as_bytes().to_vec().into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn improv_client_provisions_the_device_over_ble() {
    let dir = tempfile::tempdir().unwrap();
    let identified = dir.path().join("identified");
    let identify = format!("touch {}", identified.display());
    let (c, _bus) = Client::start(&["--improv-identify-command", &identify]).await;

    // The advertisement: Improv's UUID and service data (authorized, capabilities), the name.
    let adv = c.advertised();
    assert_eq!(string(&adv["LocalName"]), "PROV_IMPROV");
    assert_eq!(strings(&adv["ServiceUUIDs"]), [SERVICE_UUID]);
    assert_eq!(c.service_data(), [0x02, 0x1f, 0, 0, 0, 0]);
    // The characteristics.
    assert_eq!(c.read(CURRENT_STATE_UUID).await, [0x02]);
    assert_eq!(c.read(ERROR_STATE_UUID).await, [0x00]);
    assert_eq!(c.read(CAPABILITIES_UUID).await, [0x1f]);

    // Device info.
    let mark = c.send(&Rpc::DeviceInfo).await;
    let info = c.result(mark, 0x03).await;
    assert_eq!(info.text(0).unwrap(), "wifiprov");
    assert_eq!(info.text(1).unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(info.text(3).unwrap(), "PROV_IMPROV");

    // Scan: SSID, RSSI, auth triples.
    let mark = c.send(&Rpc::WifiNetworks).await;
    let scan = c.result(mark, 0x04).await;
    assert_eq!(scan.strings.len() % 3, 0, "{scan:?}");
    let home = scan.strings.iter().position(|s| s == b"HomeNet").unwrap();
    assert_eq!(scan.text(home + 2).unwrap(), "WPA2");
    assert!(scan.text(home + 1).unwrap().starts_with('-'));

    // Identify runs the hook.
    c.send(&Rpc::CurrentStateOrIdentify).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !identified.exists() {
        assert!(Instant::now() < deadline, "identify: {}", c.device.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A partial command is forgotten after a few seconds: what follows is read afresh.
    c.write(&[0x01, 0x10]).await;
    tokio::time::sleep(Duration::from_millis(3600)).await;
    let mark = c.send(&Rpc::DeviceInfo).await;
    c.result(mark, 0x03).await;

    // A network that is not there: unable to connect, and credentials are taken again.
    let mark = c.send(&wifi("NoSuchNetwork", "whatever-123")).await;
    c.wait(mark, ERROR_STATE_UUID, |v| v == [0x03]).await;
    c.state_becomes(mark, 0x02).await;

    // A wrong passphrase: the same, without a restart.
    let mark = c.send(&wifi("HomeNet", "wrong-horse")).await;
    c.wait(mark, CURRENT_STATE_UUID, |v| v == [0x03]).await;
    c.wait(mark, ERROR_STATE_UUID, |v| v == [0x03]).await;
    c.state_becomes(mark, 0x02).await;
    assert_eq!(c.read(ERROR_STATE_UUID).await, [0x03]);

    // The right one: provisioned, with the redirect URL, and advertised as provisioned.
    let mark = c.send(&wifi("HomeNet", "correct-horse")).await;
    c.wait(mark, ERROR_STATE_UUID, |v| v == [0x00]).await;
    c.state_becomes(mark, 0x04).await;
    let result = c.result(mark, 0x01).await;
    assert_eq!(result.text(0).unwrap(), "http://192.168.1.42/setup");
    c.service_data_becomes(0x04).await;
    let log = c.device.log();
    assert!(
        log.contains("received credentials for \"HomeNet\""),
        "{log}"
    );
    assert!(
        !log.contains("correct-horse") && !log.contains("wrong-horse"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_is_required_then_lapses() {
    let dir = tempfile::tempdir().unwrap();
    let button = dir.path().join("button");
    let authorize = format!("command:test -f {}", button.display());
    let (c, _bus) = Client::start(&[
        "--improv-authorize",
        &authorize,
        "--improv-authorize-timeout",
        "2",
    ])
    .await;
    assert_eq!(c.read(CURRENT_STATE_UUID).await, [0x01]);
    assert_eq!(c.service_data()[..2], [0x01, 0x1e]);

    // Credentials before the button: not authorized.
    let mark = c.send(&wifi("HomeNet", "correct-horse")).await;
    c.wait(mark, ERROR_STATE_UUID, |v| v == [0x04]).await;
    assert_eq!(c.read(CURRENT_STATE_UUID).await, [0x01]);
    // Device info needs no authorization.
    let mark = c.send(&Rpc::DeviceInfo).await;
    c.result(mark, 0x03).await;

    // The button: authorized, then the authorization lapses after its timeout.
    let mark = c.events.lock().unwrap().len();
    press(&button);
    c.state_becomes(mark, 0x02).await;
    c.service_data_becomes(0x02).await;
    let authorized = Instant::now();
    std::fs::remove_file(&button).unwrap();
    let mark = c.events.lock().unwrap().len();
    c.state_becomes(mark, 0x01).await;
    let lasted = authorized.elapsed();
    assert!(lasted >= Duration::from_millis(1500), "{lasted:?}");

    // Pressed again: the credentials are taken.
    let mark = c.events.lock().unwrap().len();
    press(&button);
    c.state_becomes(mark, 0x02).await;
    let mark = c.send(&wifi("HomeNet", "correct-horse")).await;
    c.state_becomes(mark, 0x04).await;
    let result = c.result(mark, 0x01).await;
    assert_eq!(result.text(0).unwrap(), "http://192.168.1.42/setup");
}

fn press(button: &Path) {
    std::fs::write(button, b"").unwrap();
}

/// `wifiprov manage --ble --improv-ble`: while the fallback access point is up, Improv is
/// served beside the ESP service and its credentials reach the manager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manage_fallback_serves_improv_over_ble() {
    let networks = r#"{"schema": 2, "known_networks": [{"ssid": "Nowhere", "password": "not-here-at-all"}],
        "access_point": {"config": {"essid": "setup"}, "start_policy": "fallback"}}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    std::fs::write(&path, networks).unwrap();
    let path = path.display().to_string();
    let (c, _bus) = Client::start_with(&[
        "manage",
        "--networks",
        &path,
        "--control",
        "{dir}/manager.sock",
        "--listen",
        "127.0.0.1:0",
        "--pop",
        "abcd1234",
        "--ble",
        "--improv-ble",
        "--service-name",
        "PROV_FALLBK",
    ])
    .await;
    let adv = c.advertised();
    assert_eq!(string(&adv["LocalName"]), "PROV_FALLBK");
    assert_eq!(strings(&adv["ServiceUUIDs"]), [SERVICE_UUID]);
    assert_eq!(c.read(CURRENT_STATE_UUID).await, [0x02]);
    let mark = c.send(&Rpc::DeviceInfo).await;
    let info = c.result(mark, 0x03).await;
    assert_eq!(info.text(3).unwrap(), "PROV_FALLBK");
}

#[test]
fn improv_ble_needs_ble() {
    let dir = tempfile::tempdir().unwrap();
    let device = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args([
            "device",
            "--transport",
            "http",
            "--improv-ble",
            "--security",
            "0",
        ])
        .args(["--listen", "127.0.0.1:0", "--force", "--state-dir"])
        .arg(dir.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!device.status.success());
    let stderr = String::from_utf8_lossy(&device.stderr);
    assert!(
        stderr.contains("--improv-ble needs --transport ble"),
        "{stderr}"
    );

    let manage = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["manage", "--improv-ble", "--pop", "abcd1234", "--control"])
        .arg(dir.path().join("manager.sock"))
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!manage.status.success());
    let stderr = String::from_utf8_lossy(&manage.stderr);
    assert!(stderr.contains("--improv-ble needs --ble"), "{stderr}");
}
