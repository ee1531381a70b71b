//! `NmBackend` against a real NetworkManager.
//!
//! Each test starts NetworkManager and a private "system" dbus-daemon in fresh mount and
//! network namespaces (`tests/support/nm-netns.sh` under `unshare`), talks to that bus
//! through a socket in a temporary directory, and stops both daemons by pid when it ends,
//! also on failure. The namespace has only a loopback interface: profiles can be created,
//! read back and deleted, and every activation fails because there is no Wi-Fi device —
//! which is asserted, with the daemon's own explanation.
//!
//! **Needs root** (for the namespaces), NetworkManager, dbus-daemon and util-linux's
//! `unshare`; CI runs it as root. Where it cannot run it FAILS, naming what is missing,
//! unless `WIFIPROV_ALLOW_SKIP=1` is set, in which case it prints `SKIPPED: …` and passes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::unbounded_channel;
use wifiprov_testkit::cmd::stop_pids;
use wifiprov_testkit::needs::{Needs, current_test};
use wifiprov_wifi::Secret;
use wifiprov_wifi::nm::{Ipv4Method, KeyMgmt, NmBackend, Profile, WifiMode, manages_wifi_device};
use wifiprov_wifi::{
    ApConfig, Bssid, ConnectError, ConnectProgress, Credentials, ScanParams, WifiBackend,
    WifiError, WifiErrorKind,
};
use zbus::Connection;

/// What NetworkManager 1.42 answers to an activation when no device fits (here: only `lo`).
const NO_DEVICE: &str = "No suitable device found for this connection \
     (device lo not available because device is strictly unmanaged).";

const SEARCH_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(SEARCH_PATH.split(':'))
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// What the test needs to run here: root (for the namespaces), the daemons, and working
/// `unshare --mount --net`.
fn prerequisites() -> Needs {
    let mut needs = Needs::new(&current_test()).root();
    for (program, package) in [
        ("NetworkManager", "network-manager"),
        ("dbus-daemon", "dbus-daemon"),
        ("unshare", "util-linux"),
    ] {
        needs = needs.check(program, || {
            find_program(program)
                .is_none()
                .then(|| format!("{program} is missing (install the {package} package)"))
        });
    }
    needs.check("mount and network namespaces", unshare_problem)
}

/// Why `unshare --mount --net` cannot run here, if it cannot.
fn unshare_problem() -> Option<String> {
    let probe = Command::new("unshare")
        .args(["--mount", "--net", "--propagation", "private", "--", "true"])
        .env("PATH", search_path())
        .stderr(Stdio::piped())
        .output();
    match probe {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "this test needs mount and network namespaces, and `unshare --mount --net` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run unshare: {e}")),
    }
}

fn search_path() -> String {
    format!(
        "{}:{SEARCH_PATH}",
        std::env::var("PATH").unwrap_or_default()
    )
}

/// NetworkManager and its bus in their namespaces; stopped (by pid) on drop.
struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    conn: Connection,
}

impl Daemon {
    /// Starts the daemons, or returns `None` after printing `SKIPPED` when the test cannot
    /// run here and `WIFIPROV_ALLOW_SKIP=1`; panics otherwise.
    async fn start() -> Option<Daemon> {
        if !prerequisites().ok() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/nm-netns.sh");
        let child = Command::new("unshare")
            .args([
                "--mount",
                "--net",
                "--propagation",
                "private",
                "--kill-child=TERM",
                "--",
                "sh",
                script,
            ])
            .arg(dir.path())
            .env("PATH", search_path())
            .stdin(Stdio::null())
            .spawn()
            .expect("start unshare");
        let socket = dir.path().join("bus");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "the private bus did not come up; dbus.log: {}",
                read(&dir.path().join("dbus.log"))
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let address = format!("unix:path={}", socket.display());
        let conn = zbus::connection::Builder::address(address.as_str())
            .build()
            .await
            .unwrap();
        let daemon = Daemon { child, dir, conn };
        // NetworkManager takes a moment to claim its name.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match NmBackend::with_connection(daemon.conn.clone(), None).await {
                Ok(_) => break,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "NetworkManager did not appear on the private bus ({e}); nm.log:\n{}",
                    daemon.log()
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(daemon)
    }

    async fn backend(&self, interface: Option<&str>) -> NmBackend {
        NmBackend::with_connection(self.conn.clone(), interface)
            .await
            .unwrap()
    }

    fn log(&self) -> String {
        read(&self.dir.path().join("nm.log"))
    }

    /// The keyfiles NetworkManager wrote, as (file name, contents).
    fn keyfiles(&self) -> Vec<(String, String)> {
        let mut out: Vec<_> = std::fs::read_dir(self.dir.path().join("system-connections"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    read(&p),
                )
            })
            .collect();
        out.sort();
        out
    }

    fn pid(&self, name: &str) -> Option<u32> {
        read(&self.dir.path().join(name)).trim().parse().ok()
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pids: Vec<u32> = ["nm.pid", "dbus.pid"]
            .iter()
            .filter_map(|f| self.pid(f))
            .collect();
        stop_pids(&pids, Duration::from_secs(10));
        // unshare ends when the script does (both daemons gone); kill it if it has not.
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hotspot_config() -> ApConfig {
    ApConfig {
        ssid: b"PROV_1A2B3C".to_vec(),
        passphrase: Some(Secret::from("setup1234")),
        channel: 6,
        hidden: false,
        max_clients: 4,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_are_created_read_back_and_deleted_through_the_real_daemon() {
    let Some(nm) = Daemon::start().await else {
        return;
    };
    let backend = nm.backend(None).await;
    let version = backend.version().await.unwrap();
    assert!(!version.is_empty());

    let open = Profile::station(&Credentials::new("Café ☕", "").unwrap(), KeyMgmt::Open);
    let wpa2 = {
        let mut c = Credentials::new("HomeNet", "correct horse").unwrap();
        c.bssid = Some("24:0a:c4:12:34:56".parse::<Bssid>().unwrap());
        let mut p = Profile::station(&c, KeyMgmt::WpaPsk);
        p.autoconnect_priority = 10;
        p.hidden = true;
        p
    };
    let wpa3 = Profile::station(
        &Credentials::new("Lab", "zbus-rocks-42").unwrap(),
        KeyMgmt::Sae,
    );
    let hotspot = Profile::hotspot(&hotspot_config(), None);
    assert_eq!(hotspot.mode, WifiMode::AccessPoint);
    assert_eq!(hotspot.ipv4, Ipv4Method::Shared);

    let mut stored = Vec::new();
    for profile in [&open, &wpa2, &wpa3, &hotspot] {
        let path = backend.add_profile(profile).await.unwrap();
        let read = backend.profile(&path).await.unwrap();
        let uuid = read.uuid.clone().expect("NetworkManager assigns a UUID");
        assert_eq!(uuid.len(), 36, "{uuid}");
        let mut expected = profile.clone();
        expected.uuid = Some(uuid);
        expected.psk = None; // GetSettings leaves secrets out
        assert_eq!(read, expected);
        assert_eq!(backend.profile_psk(&path).await.unwrap(), profile.psk);
        stored.push(path);
    }

    // The keys as NetworkManager stores them.
    let raw = backend.profile_settings(&stored[3]).await.unwrap();
    assert_eq!(raw.str("802-11-wireless", "mode"), Some("ap"));
    assert_eq!(raw.str("802-11-wireless", "band"), Some("bg"));
    assert_eq!(raw.u32("802-11-wireless", "channel"), Some(6));
    assert_eq!(raw.str("ipv4", "method"), Some("shared"));
    assert_eq!(raw.str("ipv6", "method"), Some("ignore"));
    assert_eq!(
        raw.strings("802-11-wireless-security", "proto"),
        Some(vec!["rsn".to_owned()])
    );
    assert_eq!(
        raw.str("802-11-wireless-security", "key-mgmt"),
        Some("wpa-psk")
    );
    assert_eq!(raw.str("802-11-wireless-security", "psk"), None);
    assert!(!format!("{raw:?}").contains("setup1234"));
    let raw = backend.profile_settings(&stored[1]).await.unwrap();
    assert_eq!(raw.bool("ipv4", "may-fail"), Some(false));
    assert_eq!(
        raw.bytes("802-11-wireless", "bssid"),
        Some(vec![0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56])
    );

    let raw = backend.profile_settings(&stored[3]).await.unwrap();
    assert_eq!(raw.bool("connection", "autoconnect"), Some(false));

    // The station profiles in its keyfiles; the access point's is kept in memory only.
    let files = nm.keyfiles();
    assert_eq!(files.len(), 3, "{files:?}");
    let file_of = |id: &str| {
        files
            .iter()
            .find(|(_, text)| text.contains(&format!("id={id}\n")))
            .map(|(_, text)| text.clone())
            .unwrap_or_else(|| panic!("no keyfile with id={id}: {files:?}"))
    };
    assert!(
        !files
            .iter()
            .any(|(_, text)| text.contains("id=wifiprov-hotspot\n")),
        "{files:?}"
    );
    assert!(file_of("wifiprov-Lab").contains("key-mgmt=sae"));
    assert!(file_of("wifiprov-HomeNet").contains("autoconnect-priority=10"));
    assert!(!file_of("wifiprov-Café ☕").contains("[wifi-security]"));

    let listed = backend.profiles().await.unwrap();
    let mut ids: Vec<_> = listed.iter().map(|p| p.profile.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "wifiprov-Café ☕",
            "wifiprov-HomeNet",
            "wifiprov-Lab",
            "wifiprov-hotspot"
        ]
    );
    assert!(listed.iter().all(|p| p.profile.is_ours()));

    // NetworkManager's own validation, mapped to Invalid with its message.
    let short = Profile::station(&Credentials::new("Bad", "short").unwrap(), KeyMgmt::WpaPsk);
    match backend.add_profile(&short).await {
        Err(ref e) if e.is(WifiErrorKind::Invalid) => assert!(
            e.message()
                .contains("802-11-wireless-security.psk: property is invalid")
                && e.message()
                    .contains("org.freedesktop.NetworkManager.Settings.Connection.InvalidProperty"),
            "{e}"
        ),
        other => panic!("expected Invalid, got {other:?}"),
    }

    for path in &stored {
        backend.delete_profile(path).await.unwrap();
        assert!(matches!(
            backend.profile(path).await,
            Err(ref we) if we.is(WifiErrorKind::Invalid)
        ));
    }
    assert!(backend.profiles().await.unwrap().is_empty());
    assert!(nm.keyfiles().is_empty());
    assert!(matches!(
        backend.delete_profile(&stored[0]).await,
        Err(ref we) if we.is(WifiErrorKind::Invalid)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_fails_with_the_daemons_reason_when_there_is_no_wifi_device() {
    let Some(nm) = Daemon::start().await else {
        return;
    };
    let backend = nm.backend(None).await;

    // Device lookup.
    assert!(!manages_wifi_device(backend.connection()).await);
    assert_eq!(
        backend.wifi_device().await,
        Err(WifiError::unsupported(
            "NetworkManager manages no Wi-Fi device (its devices: lo (loopback, unmanaged))"
        ))
    );
    assert_eq!(
        nm.backend(Some("wlan0")).await.wifi_device().await,
        Err(WifiError::unsupported(
            "NetworkManager has no device \"wlan0\" (No device found for the requested iface.)"
        ))
    );
    assert_eq!(
        nm.backend(Some("lo")).await.wifi_device().await,
        Err(WifiError::unsupported(
            "lo is a loopback device, not a Wi-Fi device"
        ))
    );

    // Activating a stored profile: NetworkManager's refusal, mapped.
    let wpa2 = Profile::station(
        &Credentials::new("HomeNet", "correct horse").unwrap(),
        KeyMgmt::WpaPsk,
    );
    let path = backend.add_profile(&wpa2).await.unwrap();
    assert_eq!(
        backend.activate(&path).await,
        Err(ConnectError::Backend(WifiError::unsupported(format!(
            "activating profile {}: {NO_DEVICE} (org.freedesktop.NetworkManager.UnknownDevice)",
            path.as_str()
        ))))
    );
    backend.delete_profile(&path).await.unwrap();

    // Joining through the trait: the profile is created, activation is refused for the same
    // reason, and the profile is removed again.
    let (tx, mut rx) = unbounded_channel();
    let err = backend
        .connect(Credentials::new("Office", "s3cret-pass").unwrap(), Some(tx))
        .await
        .unwrap_err();
    match &err {
        ConnectError::Backend(e) if e.is(WifiErrorKind::Unsupported) => assert!(
            e.message().ends_with(&format!(
                "{NO_DEVICE} (org.freedesktop.NetworkManager.UnknownDevice)"
            )),
            "{e}"
        ),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.is_auth_error() && !err.is_network_not_found());
    assert_eq!(rx.recv().await, Some(ConnectProgress::Searching));
    assert_eq!(rx.recv().await, None, "no progress after the refusal");
    assert!(backend.profiles().await.unwrap().is_empty());

    // With the interface configured, nothing reaches NetworkManager's activation.
    let wlan0 = nm.backend(Some("wlan0")).await;
    assert!(matches!(
        wlan0.connect(Credentials::new("Office", "s3cret-pass").unwrap(), None).await,
        Err(ConnectError::Backend(ref we)) if we.is(WifiErrorKind::Unsupported) && we.message().contains("\"wlan0\"")
    ));
    assert!(backend.profiles().await.unwrap().is_empty());

    // Credentials NetworkManager cannot take (its passphrases are text) are refused before
    // anything is stored.
    assert!(matches!(
        backend
            .connect(Credentials::new("Office", vec![0xff; 9]).unwrap(), None)
            .await,
        Err(ConnectError::Unsupported(m)) if m.contains("UTF-8")
    ));

    // The other operations need the device.
    let no_device = |r: Result<(), WifiError>| matches!(r, Err(ref we) if we.is(WifiErrorKind::Unsupported) && we.message().starts_with("NetworkManager manages no Wi-Fi device"));
    assert!(no_device(
        backend.scan(ScanParams::default()).await.map(drop)
    ));
    assert!(no_device(backend.status().await.map(drop)));
    assert!(no_device(backend.disconnect().await));
    assert!(no_device(backend.start_ap(hotspot_config()).await));
    assert_eq!(backend.stop_ap().await, Ok(()));
    assert!(backend.profiles().await.unwrap().is_empty());

    // stop_ap removes a hotspot profile left behind.
    let hotspot = Profile::hotspot(&hotspot_config(), None);
    backend.add_profile(&hotspot).await.unwrap();
    backend.stop_ap().await.unwrap();
    assert!(backend.profiles().await.unwrap().is_empty());
    assert!(nm.keyfiles().is_empty(), "{:?}", nm.keyfiles());
}
