//! The local control API of the running manager: JSON lines on a Unix socket.
//!
//! Each request is one JSON object on one line, answered by one JSON object on one line:
//!
//! ```text
//! → {"cmd":"status"}
//! ← {"ok":true,"state":"connected","network":"HomeNet","ip":"192.168.1.42","failures":{…},
//!    "ap_ssid":null,"provisioning_address":null,"last_outcome":{"event":"connected",…}}
//! → {"cmd":"add_network","ssid":"Cabin","password":"pine-needles"}
//! ← {"ok":true}
//! → {"cmd":"reorder_networks","ssids":["Cabin","HomeNet"]}
//! → {"cmd":"bogus"}
//! ← {"ok":false,"error":"malformed request: unknown variant `bogus`, …"}
//! → {"cmd":"events"}
//! ← {"event":"…"}  (one line per event until the client hangs up or the daemon stops)
//! ```
//!
//! Events: `joining`, `connected` and `join_failed` (`ssid`, `ip` or `reason`), `ap_up`
//! (`essid`), `provisioning` (`address`, `routes`), `provisioned` (`ssid`, `ip`),
//! `provisioning_failed` (`reason`), `provisioning_unavailable` (`reason`: the access point is
//! up but its provisioning service could not start), `network_added` (`ssid`), `ap_down`,
//! `stopped`. Fields
//! added later are new keys; clients ignore keys they do not know.
//!
//! Commands: `status`, `list_networks`, `add_network` (`ssid`, `password`, optional
//! `enables_webrepl`), `remove_network` (`ssid`), `reorder_networks` (`ssids`), `rescan`,
//! `events`.
//!
//! Access: the socket file is made mode 0600, and every connecting peer's user id is checked
//! against the daemon's own (root is always allowed). A malformed request gets an error reply
//! and the connection stays usable; a line longer than [`MAX_LINE`] ends the connection.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast;
use wifiprov_device::files::FileKind;
use wifiprov_wifi::BoxFuture;
use zeroize::Zeroizing;

/// Longest request line accepted.
pub const MAX_LINE: usize = 64 * 1024;

/// How long [`ControlServer::serve_until`] waits for open connections after its stop.
pub const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// A control request.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// State, network, address and the last failure per known network.
    Status,
    /// The known networks in preference order (without passwords).
    ListNetworks,
    /// Adds (or promotes) a network to the top of the list.
    AddNetwork {
        /// SSID.
        ssid: String,
        /// Passphrase (empty for an open network).
        #[serde(default)]
        password: String,
        /// Run the remote console while this network is active.
        #[serde(default)]
        enables_webrepl: bool,
    },
    /// Removes a network.
    RemoveNetwork {
        /// SSID.
        ssid: String,
    },
    /// Puts the known networks in this order (a permutation of the current list).
    ReorderNetworks {
        /// SSIDs, most preferred first.
        ssids: Vec<String>,
    },
    /// Scans again and re-evaluates the networks now.
    Rescan,
    /// Streams events as JSON lines until the client disconnects.
    Events,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::AddNetwork {
                ssid,
                enables_webrepl,
                ..
            } => f
                .debug_struct("AddNetwork")
                .field("ssid", ssid)
                .field("password", &"<redacted>")
                .field("enables_webrepl", enables_webrepl)
                .finish(),
            Request::Status => f.write_str("Status"),
            Request::ListNetworks => f.write_str("ListNetworks"),
            Request::RemoveNetwork { ssid } => {
                f.debug_struct("RemoveNetwork").field("ssid", ssid).finish()
            }
            Request::ReorderNetworks { ssids } => f
                .debug_struct("ReorderNetworks")
                .field("ssids", ssids)
                .finish(),
            Request::Rescan => f.write_str("Rescan"),
            Request::Events => f.write_str("Events"),
        }
    }
}

/// What the daemon does with control requests.
pub trait ControlHandler: Send + Sync + 'static {
    /// Answers a request (never [`Request::Events`], which the server handles). `Ok` values
    /// are merged into `{"ok":true,…}`; `Err` becomes `{"ok":false,"error":…}`.
    fn handle(&self, request: Request) -> BoxFuture<'static, Result<Value, String>>;

    /// A new subscription to the daemon's events (already JSON).
    fn events(&self) -> broadcast::Receiver<Value>;
}

/// Why the control API could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The socket could not be created.
    #[error("cannot create the control socket {path}: {source}")]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Something other than a socket is at the socket's path (a regular file, a directory, a
    /// symbolic link, …); it is left alone.
    #[error(
        "{path} is {kind}, not a socket; refusing to replace it with the control socket \
         (remove it or choose another --control path)"
    )]
    NotASocket {
        /// The socket path.
        path: PathBuf,
        /// What is there.
        kind: FileKind,
    },
    /// The daemon is not reachable.
    #[error("cannot reach the manager at {path} (is `wifiprov manage` running?): {source}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The exchange failed.
    #[error("control connection: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon answered something unreadable.
    #[error("unreadable answer from the manager: {0}")]
    Answer(String),
}

/// A bound control socket.
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlServer {
    /// Creates the socket at `path` (replacing a stale one), mode 0600.
    pub fn bind(path: &Path) -> Result<Self, ControlError> {
        let err = |source| ControlError::Bind {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::create_dir_all(dir).map_err(err)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
        }
        // A socket left by a daemon that died is removed; a live one is not stolen, and
        // anything that is not a socket is not ours to remove.
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            let kind = FileKind::of(meta.file_type());
            if kind != FileKind::Socket {
                return Err(ControlError::NotASocket {
                    path: path.to_path_buf(),
                    kind,
                });
            }
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another manager is running",
                )));
            }
            std::fs::remove_file(path).map_err(err)?;
        }
        let listener = UnixListener::bind(path).map_err(err)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
        Ok(ControlServer {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves until the task is dropped or aborted.
    pub async fn serve(self, handler: Arc<dyn ControlHandler>) {
        self.serve_until(handler, std::future::pending()).await;
    }

    /// Serves until `stop` resolves, then takes no more connections and gives the open ones
    /// at most [`DRAIN_TIME`] to end: an `events` stream ends once the daemon's events are
    /// closed (after the last ones are written), so its client sees them all.
    pub async fn serve_until(
        self,
        handler: Arc<dyn ControlHandler>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let own_uid = own_uid();
        let mut connections = tokio::task::JoinSet::new();
        tokio::pin!(stop);
        loop {
            let stream = tokio::select! {
                () = &mut stop => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!("control socket: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let allowed = match (stream.peer_cred(), own_uid) {
                (Ok(cred), Some(own)) => cred.uid() == own || cred.uid() == 0,
                _ => false,
            };
            let handler = handler.clone();
            connections.spawn(async move {
                if let Err(e) = connection(stream, handler, allowed).await {
                    tracing::debug!("control connection ended: {e}");
                }
            });
        }
        let drained = async { while connections.join_next().await.is_some() {} };
        // Whatever is still open then (a client idle between requests) is cut.
        let _ = tokio::time::timeout(DRAIN_TIME, drained).await;
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        // Only a socket: whatever replaced it since is not ours.
        let is_socket = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| FileKind::of(m.file_type()) == FileKind::Socket);
        if is_socket {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The user id this process runs as (the owner of `/proc/self`).
fn own_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

async fn reply(stream: &mut (impl AsyncWriteExt + Unpin), value: &Value) -> std::io::Result<()> {
    let mut line = value.to_string();
    line.push('\n');
    stream.write_all(line.as_bytes()).await
}

async fn connection(
    stream: UnixStream,
    handler: Arc<dyn ControlHandler>,
    allowed: bool,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    if !allowed {
        reply(&mut write, &json!({"ok": false, "error": "permission denied: the manager belongs to another user"})).await?;
        return Ok(());
    }
    let mut reader = BufReader::new(read);
    loop {
        let mut line = Zeroizing::new(Vec::new());
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE {
            reply(
                &mut write,
                &json!({"ok": false, "error": format!("request longer than {MAX_LINE} bytes")}),
            )
            .await?;
            return Ok(());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let request = match serde_json::from_slice::<Request>(&line) {
            Ok(r) => r,
            Err(e) => {
                reply(
                    &mut write,
                    &json!({"ok": false, "error": format!("malformed request: {e}")}),
                )
                .await?;
                continue;
            }
        };
        tracing::debug!(request = ?request, "control request");
        if request == Request::Events {
            let mut events = handler.events();
            reply(&mut write, &json!({"ok": true})).await?;
            loop {
                match events.recv().await {
                    Ok(event) => reply(&mut write, &event).await?,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        reply(&mut write, &json!({"event": "lagged", "missed": n})).await?;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                }
            }
        }
        let answer = match handler.handle(request).await {
            Ok(Value::Object(mut map)) => {
                map.insert("ok".into(), Value::Bool(true));
                Value::Object(map)
            }
            Ok(Value::Null) => json!({"ok": true}),
            Ok(other) => json!({"ok": true, "result": other}),
            Err(error) => json!({"ok": false, "error": error}),
        };
        reply(&mut write, &answer).await?;
    }
}

/// Sends one request to the daemon at `path` and returns its answer (`ok: false` answers are
/// returned too; the caller decides).
pub async fn request(path: &Path, request: &Request) -> Result<Value, ControlError> {
    let stream = UnixStream::connect(path)
        .await
        .map_err(|source| ControlError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
    let (read, mut write) = stream.into_split();
    let mut line = Zeroizing::new(
        serde_json::to_string(request).map_err(|e| ControlError::Answer(e.to_string()))?,
    );
    line.push('\n');
    write.write_all(line.as_bytes()).await?;
    let mut answer = String::new();
    BufReader::new(read)
        .take(MAX_LINE as u64)
        .read_line(&mut answer)
        .await?;
    serde_json::from_str(&answer).map_err(|e| ControlError::Answer(format!("{e}: {answer:?}")))
}

/// A subscription to the daemon's events ([`subscribe`]).
pub struct EventStream {
    lines: tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>,
    // Kept open: the daemon streams until this side hangs up.
    _write: tokio::net::unix::OwnedWriteHalf,
}

impl EventStream {
    /// The next event, or `None` once the daemon closed the stream (it stopped).
    pub async fn next(&mut self) -> Result<Option<Value>, ControlError> {
        let Some(line) = self.lines.next_line().await? else {
            return Ok(None);
        };
        serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| ControlError::Answer(format!("{e}: {line:?}")))
    }
}

/// Subscribes to the events of the daemon at `path` (the `events` command).
pub async fn subscribe(path: &Path) -> Result<EventStream, ControlError> {
    let stream = UnixStream::connect(path)
        .await
        .map_err(|source| ControlError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
    let (read, mut write) = stream.into_split();
    write.write_all(b"{\"cmd\":\"events\"}\n").await?;
    let mut lines = BufReader::new(read).lines();
    let first = lines.next_line().await?.unwrap_or_default();
    let answer: Value = serde_json::from_str(&first)
        .map_err(|e| ControlError::Answer(format!("{e}: {first:?}")))?;
    if answer.get("ok") != Some(&Value::Bool(true)) {
        let error = answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("refused");
        return Err(ControlError::Answer(error.to_owned()));
    }
    Ok(EventStream {
        lines,
        _write: write,
    })
}
