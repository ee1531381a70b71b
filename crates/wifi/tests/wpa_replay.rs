//! The wpa_supplicant backend against a scripted stand-in that replays messages which need
//! a radio (wrong key, network not found, rejections, WPA3, scans, access point).
//!
//! The stand-in is a Unix datagram socket answering commands from a script and sending
//! messages to attached clients, like wpa_supplicant's control interface. The replies and
//! messages are COMPOSED in wpa_supplicant 2.10's documented formats (see
//! `tests/fixtures/wpa/documented-*.txt`); what the real daemon does without a radio is
//! covered in `wpa_supplicant.rs`.
#![cfg(feature = "wpa-supplicant")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc;
use wifiprov_wifi::wpa::{WpaBackend, WpaOptions};
use wifiprov_wifi::{
    ApConfig, AuthMode, Bssid, ConnectError, ConnectProgress, Credentials, LinkStatus, ScanParams,
    StationStatus, WifiBackend, WifiErrorKind,
};

// ---- log capture -------------------------------------------------------------------------

/// Everything traced by any test of this binary, at every level.
fn logs() -> &'static Mutex<String> {
    static LOGS: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let sink = Arc::new(Mutex::new(String::new()));
        let _ = tracing::subscriber::set_global_default(Capture(Arc::clone(&sink)));
        sink
    })
}

struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = String::new();
        event.record(&mut Fields(&mut line));
        let mut logs = self.0.lock().unwrap();
        logs.push_str(&line);
        logs.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

// ---- the stand-in ------------------------------------------------------------------------

/// What the script answers to one command: the reply and the messages sent afterwards.
struct Answer {
    reply: String,
    events: Vec<String>,
}

fn reply(text: &str) -> Answer {
    Answer {
        reply: text.to_owned(),
        events: Vec::new(),
    }
}

fn with_events(text: &str, events: &[&str]) -> Answer {
    Answer {
        reply: text.to_owned(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
    }
}

struct Fake {
    path: PathBuf,
    _dir: tempfile::TempDir,
    commands: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Fake {
    /// Serves `script`; PING, IFNAME, ATTACH and DETACH are answered by the stand-in itself.
    fn start(mut script: impl FnMut(&str) -> Answer + Send + 'static) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wlan0");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let commands = Arc::clone(&commands);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut monitors: Vec<PathBuf> = Vec::new();
                let mut buf = vec![0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = sock.recv_from(&mut buf) else {
                        continue;
                    };
                    let Some(from) = from.as_pathname().map(PathBuf::from) else {
                        continue;
                    };
                    let cmd = String::from_utf8_lossy(&buf[..n]).into_owned();
                    commands.lock().unwrap().push(cmd.clone());
                    let answer = match cmd.as_str() {
                        "PING" => reply("PONG\n"),
                        "IFNAME" => reply("wlan0"),
                        "ATTACH" => {
                            monitors.push(from.clone());
                            reply("OK\n")
                        }
                        "DETACH" => {
                            monitors.retain(|m| *m != from);
                            reply("OK\n")
                        }
                        _ => script(&cmd),
                    };
                    let _ = sock.send_to(answer.reply.as_bytes(), &from);
                    for event in &answer.events {
                        std::thread::sleep(Duration::from_millis(5));
                        for m in &monitors {
                            let _ = sock.send_to(event.as_bytes(), m);
                        }
                    }
                }
            })
        };
        Fake {
            path,
            _dir: dir,
            commands,
            stop,
            thread: Some(thread),
        }
    }

    fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }

    fn received(&self, cmd: &str) -> bool {
        self.commands().iter().any(|c| c == cmd)
    }

    async fn backend(&self) -> WpaBackend {
        logs();
        let options = WpaOptions {
            request_timeout: Duration::from_secs(1),
            scan_timeout: Duration::from_secs(2),
            join_timeout: Duration::from_secs(3),
            address_timeout: Duration::from_secs(2),
            ap_timeout: Duration::from_secs(1),
            not_found_scans: 3,
            save_after_connect: false,
            ap_network: None,
        };
        WpaBackend::connect_with(&self.path, options).await.unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/wpa/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Answers shared by the join scripts: cached scan results, capabilities, one stored
/// network (id 0), the added network (id 1).
fn common(cmd: &str) -> Option<Answer> {
    Some(match cmd {
        "SCAN_RESULTS" => reply(&fixture("documented-scan-results.txt")),
        "GET_CAPABILITY key_mgmt" => reply("NONE IEEE8021X WPA-EAP WPA-PSK SAE"),
        "LIST_NETWORKS" => reply("network id / ssid / bssid / flags\n0\tStored\tany\t\n"),
        "ADD_NETWORK" => reply("1\n"),
        "SIGNAL_POLL" => reply("RSSI=-50\nLINKSPEED=300\nNOISE=9999\nFREQUENCY=5180\n"),
        c if c.starts_with("SET_NETWORK ")
            || c.starts_with("REMOVE_NETWORK ")
            || c.starts_with("ENABLE_NETWORK ") =>
        {
            reply("OK\n")
        }
        _ => return None,
    })
}

async fn join(
    backend: &WpaBackend,
    credentials: Credentials,
) -> (Result<LinkStatus, ConnectError>, Vec<ConnectProgress>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (result, steps) = tokio::join!(backend.connect(credentials, Some(tx)), async {
        let mut steps = Vec::new();
        while let Some(step) = rx.recv().await {
            steps.push(step);
        }
        steps
    });
    (result, steps)
}

fn bssid(s: &str) -> Bssid {
    s.parse().unwrap()
}

fn assert_not_logged(secret: &str) {
    let logs = logs().lock().unwrap();
    assert!(!logs.contains(secret), "{secret:?} was logged");
}

// ---- tests -------------------------------------------------------------------------------

#[tokio::test]
async fn wpa3_network_joins_with_sae_and_required_pmf() {
    let mut polls = 0;
    let fake = Fake::start(move |cmd| {
        if let Some(a) = common(cmd) {
            return a;
        }
        match cmd {
            "SELECT_NETWORK 1" => with_events(
                "OK\n",
                &[
                    "<3>CTRL-EVENT-DISCONNECTED bssid=24:0a:c4:00:00:09 reason=3 locally_generated=1",
                    "<3>SME: Trying to authenticate with 24:0a:c4:00:00:03 (SSID='Wpa3Only' freq=5180 MHz)",
                    "<3>Trying to associate with 24:0a:c4:00:00:03 (SSID='Wpa3Only' freq=5180 MHz)",
                    "<3>Associated with 24:0a:c4:00:00:03",
                    "<3>WPA: Key negotiation completed with 24:0a:c4:00:00:03 [PTK=CCMP GTK=CCMP]",
                    "<3>CTRL-EVENT-CONNECTED - Connection to 24:0a:c4:00:00:03 completed [id=1 id_str=]",
                ],
            ),
            "STATUS" => {
                polls += 1;
                let ip = if polls > 2 {
                    "ip_address=192.168.4.23\n"
                } else {
                    ""
                };
                reply(&format!(
                    "bssid=24:0a:c4:00:00:03\nfreq=5180\nssid=Wpa3Only\nid=1\nmode=station\n\
                     pairwise_cipher=CCMP\ngroup_cipher=CCMP\nkey_mgmt=SAE\nwpa_state=COMPLETED\n{ip}\
                     address=02:00:00:00:01:00\n"
                ))
            }
            _ => reply("UNKNOWN COMMAND\n"),
        }
    });
    let backend = fake.backend().await;
    let (result, steps) = join(
        &backend,
        Credentials::new("Wpa3Only", "sae-secret-1").unwrap(),
    )
    .await;
    let link = result.unwrap();
    let ap = bssid("24:0a:c4:00:00:03");
    assert_eq!(
        link,
        LinkStatus {
            ssid: b"Wpa3Only".to_vec(),
            bssid: ap,
            channel: 36,
            auth: AuthMode::Wpa3Psk,
            ip: Ipv4Addr::new(192, 168, 4, 23),
            rssi: -50,
        }
    );
    assert_eq!(
        steps,
        [
            ConnectProgress::Searching,
            ConnectProgress::Associating {
                bssid: ap,
                channel: 36
            },
            ConnectProgress::Authenticating,
            ConnectProgress::ObtainingAddress,
            ConnectProgress::Connected(link.clone()),
        ]
    );
    for cmd in [
        "SET_NETWORK 1 ssid \"Wpa3Only\"",
        "SET_NETWORK 1 key_mgmt SAE",
        "SET_NETWORK 1 ieee80211w 2",
        "SET_NETWORK 1 psk \"sae-secret-1\"",
        "SELECT_NETWORK 1",
        // The stored network SELECT_NETWORK disabled is enabled again.
        "ENABLE_NETWORK 0",
    ] {
        assert!(fake.received(cmd), "{cmd:?} not in {:?}", fake.commands());
    }
    // Seen in the scan results: no probing for a hidden network; the block is kept.
    assert!(!fake.commands().iter().any(|c| c.contains("scan_ssid")));
    assert!(!fake.received("REMOVE_NETWORK 1"));
    assert!(!fake.received("SAVE_CONFIG"));
    assert_not_logged("sae-secret-1");
    assert!(
        logs()
            .lock()
            .unwrap()
            .contains("SET_NETWORK 1 psk [redacted]")
    );
}

#[tokio::test]
async fn wrong_key_is_an_auth_error() {
    let fake = Fake::start(|cmd| {
        if let Some(a) = common(cmd) {
            return a;
        }
        match cmd {
            "SELECT_NETWORK 1" => with_events(
                "OK\n",
                &[
                    "<3>Trying to associate with 24:0a:c4:00:00:01 (SSID='HomeNet' freq=2437 MHz)",
                    "<3>Associated with 24:0a:c4:00:00:01",
                    "<3>WPA: 4-Way Handshake failed - pre-shared key may be incorrect",
                    "<3>CTRL-EVENT-SSID-TEMP-DISABLED id=1 ssid=\"HomeNet\" auth_failures=1 duration=10 reason=WRONG_KEY",
                    "<3>CTRL-EVENT-DISCONNECTED bssid=24:0a:c4:00:00:01 reason=15",
                ],
            ),
            "STATUS" => reply("wpa_state=DISCONNECTED\n"),
            _ => reply("UNKNOWN COMMAND\n"),
        }
    });
    let backend = fake.backend().await;
    let (result, steps) = join(
        &backend,
        Credentials::new("HomeNet", "wrong-guess-9").unwrap(),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(
        err,
        ConnectError::AuthFailed {
            ssid: "HomeNet".into()
        }
    );
    assert!(err.is_auth_error());
    assert_eq!(
        steps,
        [
            ConnectProgress::Searching,
            ConnectProgress::Associating {
                bssid: bssid("24:0a:c4:00:00:01"),
                channel: 6
            },
            ConnectProgress::Authenticating,
        ]
    );
    // A WPA2 network seen in the scan: WPA-PSK only; the failed block is removed.
    assert!(fake.received("SET_NETWORK 1 key_mgmt WPA-PSK"));
    assert!(fake.received("REMOVE_NETWORK 1"));
    assert!(fake.received("ENABLE_NETWORK 0"));
    assert_not_logged("wrong-guess-9");
}

#[tokio::test]
async fn handshake_failure_then_disconnect_is_an_auth_error_too() {
    let fake = Fake::start(|cmd| {
        if let Some(a) = common(cmd) {
            return a;
        }
        match cmd {
            "SELECT_NETWORK 1" => with_events(
                "OK\n",
                &[
                    "<3>Associated with 24:0a:c4:00:00:04",
                    "<3>WPA: 4-Way Handshake failed - pre-shared key may be incorrect",
                    "<3>CTRL-EVENT-DISCONNECTED bssid=24:0a:c4:00:00:04 reason=15",
                ],
            ),
            _ => reply("UNKNOWN COMMAND\n"),
        }
    });
    let backend = fake.backend().await;
    let (result, _) = join(
        &backend,
        Credentials::new("Transition", "wrong-guess-8").unwrap(),
    )
    .await;
    assert_eq!(
        result.unwrap_err(),
        ConnectError::AuthFailed {
            ssid: "Transition".into()
        }
    );
    // Transition network: both key managements, PMF optional.
    assert!(fake.received("SET_NETWORK 1 key_mgmt WPA-PSK SAE"));
    assert!(fake.received("SET_NETWORK 1 ieee80211w 1"));
}

#[tokio::test]
async fn unseen_network_is_probed_and_not_found_after_three_scans() {
    let fake = Fake::start(|cmd| {
        if let Some(a) = common(cmd) {
            return a;
        }
        match cmd {
            "SELECT_NETWORK 1 freq=2462" => with_events(
                "OK\n",
                &[
                    "<3>CTRL-EVENT-SCAN-STARTED ",
                    "<3>CTRL-EVENT-SCAN-RESULTS ",
                    "<3>CTRL-EVENT-NETWORK-NOT-FOUND ",
                    "<3>CTRL-EVENT-SCAN-STARTED ",
                    "<3>CTRL-EVENT-SCAN-RESULTS ",
                    "<3>CTRL-EVENT-NETWORK-NOT-FOUND ",
                    "<3>CTRL-EVENT-SCAN-STARTED ",
                    "<3>CTRL-EVENT-SCAN-RESULTS ",
                    "<3>CTRL-EVENT-NETWORK-NOT-FOUND ",
                ],
            ),
            _ => reply("UNKNOWN COMMAND\n"),
        }
    });
    let backend = fake.backend().await;
    let mut credentials = Credentials::new("Nowhere", "correct horse").unwrap();
    credentials.channel = Some(11);
    let (result, steps) = join(&backend, credentials).await;
    let err = result.unwrap_err();
    assert!(err.is_network_not_found(), "{err:?}");
    assert_eq!(steps, [ConnectProgress::Searching]);
    for cmd in [
        "SET_NETWORK 1 scan_ssid 1",
        "SET_NETWORK 1 key_mgmt WPA-PSK SAE",
        "SET_NETWORK 1 ieee80211w 1",
        "REMOVE_NETWORK 1",
    ] {
        assert!(fake.received(cmd), "{cmd:?} not in {:?}", fake.commands());
    }
}

#[tokio::test]
async fn rejections_and_conn_failed() {
    // Two rejections, then wpa_supplicant gives up on the network: the rejection is the
    // reason.
    let fake = Fake::start(|cmd| {
        if let Some(a) = common(cmd) {
            return a;
        }
        match cmd {
            "SELECT_NETWORK 1" => with_events(
                "OK\n",
                &[
                    "<3>Trying to associate with 24:0a:c4:00:00:01 (SSID='HomeNet' freq=2437 MHz)",
                    "<3>CTRL-EVENT-ASSOC-REJECT bssid=24:0a:c4:00:00:01 status_code=17",
                    "<3>Trying to associate with 24:0a:c4:00:00:01 (SSID='HomeNet' freq=2437 MHz)",
                    "<3>CTRL-EVENT-ASSOC-REJECT bssid=24:0a:c4:00:00:01 status_code=17",
                    "<3>CTRL-EVENT-SSID-TEMP-DISABLED id=1 ssid=\"HomeNet\" auth_failures=2 duration=20 reason=CONN_FAILED",
                ],
            ),
            _ => reply("UNKNOWN COMMAND\n"),
        }
    });
    let backend = fake.backend().await;
    let (result, _) = join(
        &backend,
        Credentials::new("HomeNet", "correct horse").unwrap(),
    )
    .await;
    match result.unwrap_err() {
        ConnectError::AssociationRejected { ssid, reason } => {
            assert_eq!(ssid, "HomeNet");
            assert!(reason.contains("status code 17"), "{reason}");
            assert!(reason.contains("access point full"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    drop(backend);
    drop(fake);

    // CONN_FAILED without any rejection: nobody answered, the network is not there.
    let fake = Fake::start(|cmd| {
        if let Some(a) = common(cmd) {
            return a;
        }
        match cmd {
            "SELECT_NETWORK 1" => with_events(
                "OK\n",
                &[
                    "<3>CTRL-EVENT-SSID-TEMP-DISABLED id=1 ssid=\"HomeNet\" auth_failures=3 duration=60 reason=CONN_FAILED",
                ],
            ),
            _ => reply("UNKNOWN COMMAND\n"),
        }
    });
    let backend = fake.backend().await;
    let (result, _) = join(
        &backend,
        Credentials::new("HomeNet", "correct horse").unwrap(),
    )
    .await;
    assert!(result.unwrap_err().is_network_not_found());
}

#[tokio::test]
async fn repeated_disconnections_carry_the_reason_code() {
    let fake = Fake::start(|cmd| {
        if let Some(a) = common(cmd) {
            return a;
        }
        match cmd {
            "SELECT_NETWORK 1" => with_events(
                "OK\n",
                &[
                    "<3>Associated with 24:0a:c4:00:00:07",
                    "<3>CTRL-EVENT-DISCONNECTED bssid=24:0a:c4:00:00:07 reason=4",
                    "<3>Associated with 24:0a:c4:00:00:07",
                    "<3>CTRL-EVENT-DISCONNECTED bssid=24:0a:c4:00:00:07 reason=4",
                    "<3>Associated with 24:0a:c4:00:00:07",
                    "<3>CTRL-EVENT-DISCONNECTED bssid=24:0a:c4:00:00:07 reason=4",
                ],
            ),
            _ => reply("UNKNOWN COMMAND\n"),
        }
    });
    let backend = fake.backend().await;
    // Open in the scan results: a passphrase is not needed and not sent.
    let (result, steps) = join(
        &backend,
        Credentials::new("Café ☕", "ignored-pass").unwrap(),
    )
    .await;
    match result.unwrap_err() {
        ConnectError::AssociationRejected { reason, .. } => {
            assert!(reason.contains("reason code 4 (inactivity)"), "{reason}");
            assert!(reason.contains("3 times"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s, ConnectProgress::Associating { .. }))
            .count(),
        3
    );
    assert!(!steps.contains(&ConnectProgress::Authenticating));
    assert!(fake.received("SET_NETWORK 1 ssid 436166c3a920e29895"));
    assert!(fake.received("SET_NETWORK 1 key_mgmt NONE"));
    assert!(!fake.commands().iter().any(|c| c.contains("psk")));
}

#[tokio::test]
async fn enterprise_and_missing_passphrase_fail_before_touching_the_daemon() {
    let fake = Fake::start(|cmd| common(cmd).unwrap_or_else(|| reply("UNKNOWN COMMAND\n")));
    let backend = fake.backend().await;
    let (result, steps) = join(&backend, Credentials::new("Corp", "correct horse").unwrap()).await;
    assert!(
        matches!(result, Err(ConnectError::Unsupported(ref reason)) if reason.contains("enterprise")),
        "{result:?}"
    );
    assert!(steps.is_empty());
    let (result, _) = join(&backend, Credentials::new("HomeNet", "").unwrap()).await;
    assert!(result.unwrap_err().is_auth_error());
    let (result, _) = join(
        &backend,
        Credentials::new("Wpa3Only", &[b'a'; 64][..]).unwrap(),
    )
    .await;
    assert!(
        matches!(result, Err(ConnectError::InvalidCredentials(_))),
        "{result:?}"
    );
    assert!(!fake.received("ADD_NETWORK"));
}

#[tokio::test]
async fn terminating_daemon_ends_the_attempt_and_the_backend() {
    let fake = Fake::start(|cmd| {
        if let Some(a) = common(cmd) {
            return a;
        }
        match cmd {
            "SELECT_NETWORK 1" => with_events("OK\n", &["<3>CTRL-EVENT-TERMINATING "]),
            _ => reply("UNKNOWN COMMAND\n"),
        }
    });
    let backend = fake.backend().await;
    let (result, _) = join(
        &backend,
        Credentials::new("HomeNet", "correct horse").unwrap(),
    )
    .await;
    assert!(
        matches!(&result, Err(ConnectError::Backend(we)) if we.is(WifiErrorKind::Unavailable) && we.message().contains("exited")),
        "{result:?}"
    );
    let err = backend.status().await.unwrap_err();
    assert!(
        err.is(WifiErrorKind::Unavailable) && err.message().contains("exited or restarted"),
        "{err:?}"
    );
}

#[tokio::test]
async fn dropping_an_attempt_undoes_it() {
    let fake = Fake::start(|cmd| {
        common(cmd).unwrap_or_else(|| match cmd {
            "SELECT_NETWORK 1" => reply("OK\n"),
            _ => reply("UNKNOWN COMMAND\n"),
        })
    });
    let backend = fake.backend().await;
    let attempt = backend.connect(Credentials::new("HomeNet", "correct horse").unwrap(), None);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), attempt)
            .await
            .is_err()
    );
    assert!(fake.received("REMOVE_NETWORK 1"), "{:?}", fake.commands());
    assert!(fake.received("ENABLE_NETWORK 0"), "{:?}", fake.commands());
}

#[tokio::test]
async fn scan_reads_the_results_after_the_event() {
    let fake = Fake::start(|cmd| match cmd {
        "GET ap_scan" => reply("1"),
        "SCAN" | "SCAN passive=1" => with_events(
            "OK\n",
            &["<3>CTRL-EVENT-SCAN-STARTED ", "<3>CTRL-EVENT-SCAN-RESULTS "],
        ),
        "SCAN_RESULTS" => reply(&fixture("documented-scan-results.txt")),
        _ => reply("UNKNOWN COMMAND\n"),
    });
    let backend = fake.backend().await;
    let aps = backend.scan(ScanParams::default()).await.unwrap();
    assert_eq!(aps.len(), 14);
    assert_eq!(aps[2].ssid, b"Wpa3Only");
    assert_eq!(aps[2].auth, AuthMode::Wpa3Psk);
    assert_eq!(aps[2].channel, 36);
    let passive = backend
        .scan(ScanParams {
            passive: true,
            group_channels: 4,
            period_ms: 300,
        })
        .await
        .unwrap();
    assert_eq!(passive, aps);
    assert!(fake.received("SCAN passive=1"));
}

#[tokio::test]
async fn scan_busy_and_failed() {
    let fake = Fake::start(|cmd| match cmd {
        "GET ap_scan" => reply("1"),
        "SCAN" => reply("FAIL-BUSY\n"),
        "SCAN passive=1" => with_events("OK\n", &["<3>CTRL-EVENT-SCAN-FAILED ret=-16"]),
        _ => reply("UNKNOWN COMMAND\n"),
    });
    let backend = fake.backend().await;
    let err = backend.scan(ScanParams::default()).await.unwrap_err();
    assert!(err.is(WifiErrorKind::Busy), "{err:?}");
    let err = backend
        .scan(ScanParams {
            passive: true,
            ..ScanParams::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.is(WifiErrorKind::Busy) && err.message().contains("-16"),
        "{err:?}"
    );
}

#[tokio::test]
async fn access_point_where_the_driver_supports_it() {
    let fake = Fake::start(|cmd| match cmd {
        "GET_CAPABILITY modes strict" => reply("IBSS AP"),
        "LIST_NETWORKS" => reply("network id / ssid / bssid / flags\n0\tStored\tany\t\n"),
        "ADD_NETWORK" => reply("2\n"),
        "SELECT_NETWORK 2" => with_events(
            "OK\n",
            &[
                "<3>CTRL-EVENT-DISCONNECTED bssid=24:0a:c4:00:00:01 reason=3 locally_generated=1",
                "<3>AP-ENABLED ",
                "<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=2 id_str=]",
            ],
        ),
        "STATUS" => reply(
            "bssid=02:00:00:00:01:00\nfreq=2437\nssid=Setup-1234\nid=2\nmode=AP\nwpa_state=COMPLETED\n",
        ),
        c if c.starts_with("SET_NETWORK ")
            || c.starts_with("SET max_num_sta")
            || c.starts_with("REMOVE_NETWORK ")
            || c.starts_with("ENABLE_NETWORK ") =>
        {
            reply("OK\n")
        }
        _ => reply("UNKNOWN COMMAND\n"),
    });
    let backend = fake.backend().await;
    assert!(backend.supports_ap().await.unwrap());
    backend
        .start_ap(ApConfig {
            ssid: b"Setup-1234".to_vec(),
            passphrase: Some("ap-secret-77".into()),
            channel: 0,
            hidden: true,
            max_clients: 4,
        })
        .await
        .unwrap();
    for cmd in [
        "SET max_num_sta 4",
        "SET_NETWORK 2 ssid \"Setup-1234\"",
        "SET_NETWORK 2 mode 2",
        "SET_NETWORK 2 frequency 2437",
        "SET_NETWORK 2 key_mgmt WPA-PSK",
        "SET_NETWORK 2 proto RSN",
        "SET_NETWORK 2 pairwise CCMP",
        "SET_NETWORK 2 group CCMP",
        "SET_NETWORK 2 psk \"ap-secret-77\"",
        "SET_NETWORK 2 ignore_broadcast_ssid 1",
        "SELECT_NETWORK 2",
    ] {
        assert!(fake.received(cmd), "{cmd:?} not in {:?}", fake.commands());
    }
    // The station is not connected while the interface is an access point.
    assert_eq!(backend.status().await.unwrap(), StationStatus::Disconnected);
    backend.stop_ap().await.unwrap();
    assert!(fake.received("REMOVE_NETWORK 2"));
    assert!(fake.received("ENABLE_NETWORK 0"));
    assert_not_logged("ap-secret-77");

    let err = backend
        .start_ap(ApConfig {
            ssid: b"Setup".to_vec(),
            passphrase: Some("short".into()),
            channel: 6,
            hidden: false,
            max_clients: 0,
        })
        .await
        .unwrap_err();
    assert!(err.is(WifiErrorKind::Invalid), "{err:?}");
}

#[tokio::test]
async fn access_point_survives_a_disconnect_and_returns_after_a_failed_join() {
    // Network ids: 0 stored, 1 the access point, then 2 the joined network, 3 the access
    // point again.
    let added = std::sync::atomic::AtomicU32::new(1);
    let fake = Fake::start(move |cmd| match cmd {
        "GET_CAPABILITY modes strict" => reply("IBSS AP"),
        "GET_CAPABILITY key_mgmt" => reply("NONE WPA-PSK SAE"),
        "SCAN_RESULTS" => reply("bssid / frequency / signal level / flags / ssid\n"),
        "LIST_NETWORKS" => reply("network id / ssid / bssid / flags\n0\tStored\tany\t\n"),
        "ADD_NETWORK" => reply(&format!(
            "{}\n",
            added.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        )),
        "SELECT_NETWORK 1" | "SELECT_NETWORK 3" => with_events("OK\n", &["<3>AP-ENABLED "]),
        "SELECT_NETWORK 2" => with_events(
            "OK\n",
            &[
                "<3>CTRL-EVENT-NETWORK-NOT-FOUND ",
                "<3>CTRL-EVENT-NETWORK-NOT-FOUND ",
                "<3>CTRL-EVENT-NETWORK-NOT-FOUND ",
            ],
        ),
        c if c.starts_with("SET_NETWORK ")
            || c.starts_with("REMOVE_NETWORK ")
            || c.starts_with("ENABLE_NETWORK ") =>
        {
            reply("OK\n")
        }
        _ => reply("UNKNOWN COMMAND\n"),
    });
    let backend = fake.backend().await;
    assert!(backend.ap_shares_radio());
    let config = ApConfig {
        ssid: b"Setup-1234".to_vec(),
        passphrase: Some("ap-secret-77".into()),
        channel: 6,
        hidden: false,
        max_clients: 4,
    };
    backend.start_ap(config).await.unwrap();
    // A provisioning service starting on the access point "disconnects the station": there
    // is none, and a DISCONNECT would end the access point.
    backend.disconnect().await.unwrap();
    assert!(!fake.received("DISCONNECT"), "{:?}", fake.commands());

    // A join on the same interface ends the access point; when it fails the access point
    // comes back, so that whoever provisioned through it can try again.
    let (result, _) = join(
        &backend,
        Credentials::new("Nowhere", "correct horse").unwrap(),
    )
    .await;
    assert!(result.unwrap_err().is_network_not_found());
    let commands = fake.commands();
    let removed_ap = commands.iter().position(|c| c == "REMOVE_NETWORK 1");
    let joined = commands.iter().position(|c| c == "SELECT_NETWORK 2");
    let back = commands.iter().position(|c| c == "SELECT_NETWORK 3");
    assert!(
        removed_ap < joined && joined < back && removed_ap.is_some(),
        "{commands:?}"
    );
    assert!(fake.received("SET_NETWORK 3 ssid \"Setup-1234\""));
    // And it is the running access point again: stop_ap removes it.
    backend.stop_ap().await.unwrap();
    assert!(fake.received("REMOVE_NETWORK 3"));
    assert_not_logged("ap-secret-77");
}
