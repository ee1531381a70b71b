//! The control API over a real Unix socket: requests, malformed input, events, permissions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::broadcast;
use wifi_manager::control::{ControlHandler, ControlServer, Request, request};
use wifiprov_wifi::BoxFuture;

/// Records requests and answers like a tiny daemon.
struct Fake {
    networks: Mutex<Vec<String>>,
    events: broadcast::Sender<Value>,
}

impl ControlHandler for Fake {
    fn handle(&self, request: Request) -> BoxFuture<'static, Result<Value, String>> {
        let mut nets = self.networks.lock().unwrap();
        let answer = match request {
            Request::Status => Ok(json!({"state": "connected", "network": nets.first()})),
            Request::ListNetworks => Ok(json!({"networks": *nets})),
            Request::AddNetwork { ssid, password, .. } => {
                assert_eq!(password, "pine-needles");
                nets.retain(|n| *n != ssid);
                nets.insert(0, ssid);
                Ok(Value::Null)
            }
            Request::RemoveNetwork { ssid } => {
                let before = nets.len();
                nets.retain(|n| *n != ssid);
                if nets.len() == before {
                    Err(format!("no known network {ssid:?}"))
                } else {
                    Ok(Value::Null)
                }
            }
            Request::ReorderNetworks { ssids } => {
                *nets = ssids;
                Ok(Value::Null)
            }
            Request::Rescan => {
                let _ = self.events.send(json!({"event": "scan"}));
                Ok(Value::Null)
            }
            Request::Events => Err("handled by the server".into()),
        };
        Box::pin(async move { answer })
    }

    fn events(&self) -> broadcast::Receiver<Value> {
        self.events.subscribe()
    }
}

fn start() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run/wifiprov.sock");
    let server = ControlServer::bind(&path).unwrap();
    let (events, _) = broadcast::channel(16);
    let fake = Arc::new(Fake {
        networks: Mutex::new(vec!["HomeNet".into()]),
        events,
    });
    tokio::spawn(server.serve(fake));
    (dir, path)
}

#[tokio::test]
async fn requests_and_answers() {
    let (_dir, path) = start();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    let add = Request::AddNetwork {
        ssid: "Cabin".into(),
        password: "pine-needles".into(),
        enables_webrepl: false,
    };
    assert!(!format!("{add:?}").contains("pine"));
    assert_eq!(request(&path, &add).await.unwrap(), json!({"ok": true}));
    assert_eq!(
        request(&path, &Request::ListNetworks).await.unwrap(),
        json!({"networks": ["Cabin", "HomeNet"], "ok": true})
    );
    let status = request(&path, &Request::Status).await.unwrap();
    assert_eq!(
        (status["ok"].clone(), status["network"].clone()),
        (json!(true), json!("Cabin"))
    );
    let missing = request(
        &path,
        &Request::RemoveNetwork {
            ssid: "Nope".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        missing,
        json!({"ok": false, "error": "no known network \"Nope\""})
    );
}

#[tokio::test]
async fn malformed_requests_get_errors_and_the_connection_survives() {
    let (_dir, path) = start();
    let stream = UnixStream::connect(&path).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    for bad in [
        "not json",
        r#"{"cmd":"bogus"}"#,
        r#"{"cmd":"remove_network"}"#,
        "[1,2]",
    ] {
        write
            .write_all(format!("{bad}\n").as_bytes())
            .await
            .unwrap();
        let answer: Value =
            serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
        assert_eq!(answer["ok"], json!(false), "{bad}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .starts_with("malformed request"),
            "{answer}"
        );
    }
    write.write_all(b"{\"cmd\":\"status\"}\n").await.unwrap();
    let answer: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(answer["ok"], json!(true));
    // An endless line ends the connection after an error.
    let huge = vec![b'x'; 70 * 1024];
    write.write_all(&huge).await.unwrap();
    let answer: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert!(answer["error"].as_str().unwrap().contains("longer than"));
    assert!(lines.next_line().await.unwrap().is_none());
}

#[tokio::test]
async fn events_stream_as_json_lines() {
    let (_dir, path) = start();
    let stream = UnixStream::connect(&path).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"{\"cmd\":\"events\"}\n").await.unwrap();
    assert_eq!(lines.next_line().await.unwrap().unwrap(), r#"{"ok":true}"#);
    request(&path, &Request::Rescan).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(event, r#"{"event":"scan"}"#);
}

#[tokio::test]
async fn a_second_manager_cannot_steal_the_socket_but_a_stale_one_is_replaced() {
    let (_dir, path) = start();
    assert!(
        ControlServer::bind(&path).is_err(),
        "a live socket is not replaced"
    );
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    ControlServer::bind(&stale).unwrap();
}

/// Not a test by itself: the client half of [`other_users_are_refused`], run as another user
/// by re-executing this test binary. Without its environment variable it does nothing.
#[test]
fn control_client_child() {
    let Some(path) = std::env::var_os("WIFIPROV_CONTROL_CHILD_SOCKET") else {
        return;
    };
    use std::io::{BufRead, Write};
    match std::os::unix::net::UnixStream::connect(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => println!("CHILD: EACCES"),
        Err(e) => println!("CHILD: error {e}"),
        Ok(mut stream) => {
            // A refused peer may find the connection already closed: the answer was sent first.
            let _ = stream.write_all(b"{\"cmd\":\"status\"}\n");
            let mut line = String::new();
            std::io::BufReader::new(stream)
                .read_line(&mut line)
                .unwrap();
            println!("CHILD: {}", line.trim());
        }
    }
}

/// Runs [`control_client_child`] as user `nobody` against `path`.
fn as_nobody(path: std::path::PathBuf) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args([
            "--exact",
            "control_client_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WIFIPROV_CONTROL_CHILD_SOCKET", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.split_once("CHILD: ").map(|(_, rest)| rest.to_string()))
        .unwrap_or_else(|| {
            panic!(
                "no answer from the child: {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// Another user is refused twice over: by the socket's mode, and (if the file were opened
/// up) by the peer-credential check.
#[tokio::test]
async fn other_users_are_refused() {
    let (dir, path) = start();
    // The test binary must be reachable for the other user.
    for ancestor in std::env::current_exe().unwrap().ancestors().skip(1) {
        let mode = std::fs::metadata(ancestor).unwrap().permissions().mode();
        assert!(
            mode & 0o005 == 0o005,
            "{} is not traversable by others",
            ancestor.display()
        );
    }
    // The directory is 0700 and the socket 0600: no way in.
    let p = path.clone();
    let answer = tokio::task::spawn_blocking(move || as_nobody(p))
        .await
        .unwrap();
    assert_eq!(answer, "EACCES");
    // Open the file system permissions up: the peer check still refuses.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        path.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let answer = tokio::task::spawn_blocking(move || as_nobody(path))
        .await
        .unwrap();
    let answer: Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"));
    assert_eq!(answer["ok"], json!(false));
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("permission denied")
    );
}

#[tokio::test]
async fn only_a_socket_is_ever_replaced_at_the_control_path() {
    use wifi_manager::control::ControlError;
    let dir = tempfile::tempdir().unwrap();
    // A regular file (say, the user's networks.json) is refused and kept.
    let file = dir.path().join("networks.json");
    std::fs::write(&file, b"{\"schema\": 2}").unwrap();
    let e = ControlServer::bind(&file).err().expect("refused");
    assert!(matches!(e, ControlError::NotASocket { .. }), "{e:?}");
    assert!(
        e.to_string().contains("is a regular file, not a socket"),
        "{e}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"{\"schema\": 2}");
    // A directory and a symbolic link (even to a socket) likewise.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let e = ControlServer::bind(&sub).err().expect("refused");
    assert!(e.to_string().contains("is a directory"), "{e}");
    assert!(sub.is_dir());
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let e = ControlServer::bind(&link).err().expect("refused");
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    // A stale socket (nobody listening) is still replaced.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let server = ControlServer::bind(&stale).unwrap();
    assert_eq!(server.path(), stale.as_path());
}
