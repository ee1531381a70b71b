//! The wpa_supplicant backend's errors when the control socket is missing, is not a
//! socket, is stale, is silent or is something else; and socket discovery. These tests need
//! no privileges (permission denied is tested as an unprivileged user in
//! `wpa_supplicant.rs`).
#![cfg(feature = "wpa-supplicant")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::Path;
use std::time::{Duration, Instant};

use wifiprov_wifi::WifiErrorKind;
use wifiprov_wifi::wpa::{
    CTRL_DIRS, WpaBackend, WpaOptions, default_ctrl_paths, discover_ctrl_paths_in,
};

fn options() -> WpaOptions {
    WpaOptions {
        request_timeout: Duration::from_millis(300),
        ..WpaOptions::default()
    }
}

async fn error_for(path: &Path) -> String {
    match WpaBackend::connect_with(path, options()).await {
        Err(e) if e.is(WifiErrorKind::Unavailable) => e.message().to_owned(),
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("connected to {}", path.display()),
    }
}

#[tokio::test]
async fn missing_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wlan0");
    let msg = error_for(&path).await;
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[tokio::test]
async fn regular_file_is_not_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wlan0");
    std::fs::write(&path, "").unwrap();
    let msg = error_for(&path).await;
    assert!(msg.contains("is not a socket"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[tokio::test]
async fn stale_socket_nobody_listens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wlan0");
    drop(UnixDatagram::bind(&path).unwrap());
    assert!(path.exists());
    let msg = error_for(&path).await;
    assert!(msg.contains("nobody listens"), "{msg}");
}

#[tokio::test]
async fn stream_socket_is_not_a_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wlan0");
    let _listener = UnixListener::bind(&path).unwrap();
    let msg = error_for(&path).await;
    assert!(msg.contains("stream socket"), "{msg}");
}

#[tokio::test]
async fn silent_socket_gets_a_ping_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wlan0");
    let _silent = UnixDatagram::bind(&path).unwrap();
    let started = Instant::now();
    let msg = error_for(&path).await;
    assert!(msg.contains("did not answer PING within 300 ms"), "{msg}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn other_service_answering_ping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wlan0");
    let server = UnixDatagram::bind(&path).unwrap();
    let answer = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"PING");
        server
            .send_to(b"HELLO\n", from.as_pathname().unwrap())
            .unwrap();
    });
    let msg = error_for(&path).await;
    answer.join().unwrap();
    assert!(msg.contains("answered \"HELLO\" to PING"), "{msg}");
}

#[test]
fn conventional_paths() {
    assert_eq!(
        default_ctrl_paths("wlan0"),
        [
            Path::new("/run/wpa_supplicant/wlan0"),
            Path::new("/var/run/wpa_supplicant/wlan0")
        ]
    );
    assert_eq!(
        CTRL_DIRS,
        ["/run/wpa_supplicant", "/var/run/wpa_supplicant"]
    );
}

#[test]
fn discovery_lists_interface_sockets_once() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let _wlan0 = UnixDatagram::bind(a.path().join("wlan0")).unwrap();
    let _wlan1 = UnixDatagram::bind(a.path().join("wlan1")).unwrap();
    let _p2p = UnixDatagram::bind(a.path().join("p2p-dev-wlan0")).unwrap();
    let _global = UnixDatagram::bind(a.path().join("global")).unwrap();
    std::fs::write(a.path().join("notes"), "").unwrap();
    // The second directory links to the first, like /var/run -> /run.
    let link = b.path().join("run");
    std::os::unix::fs::symlink(a.path(), &link).unwrap();
    let missing = b.path().join("missing");

    let found = discover_ctrl_paths_in(&[a.path(), &link, &missing]);
    assert_eq!(found, [a.path().join("wlan0"), a.path().join("wlan1")]);
}
