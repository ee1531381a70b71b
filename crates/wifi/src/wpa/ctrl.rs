//! The wpa_supplicant control-socket client.
//!
//! wpa_supplicant listens on a Unix datagram socket per interface. A client binds its own
//! datagram socket to a path (the daemon answers to that address), connects it to the
//! daemon's socket and exchanges one datagram per request and reply. After `ATTACH`, the
//! daemon also sends unsolicited messages (`<N>CTRL-EVENT-…`) to that client.
//!
//! Two sockets are used, both bound inside a private directory (mode 0700) created under the
//! system temporary directory and removed when the last socket is gone:
//!
//! * the request socket ([`CtrlClient`]): one request at a time, each with a timeout;
//! * the event socket ([`EventListener`]): attached once, read by a small thread that parses
//!   every message into a [`WpaEvent`] and broadcasts it. Reading continuously matters: the
//!   kernel queues only a few datagrams per socket, and wpa_supplicant drops an attached
//!   client whose queue stays full.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixDatagram as StdDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UnixDatagram;
use tokio::sync::broadcast;
use wifiprov_types::Secret;

use super::event::WpaEvent;
use crate::WifiError;

/// Largest datagram accepted (wpa_supplicant's replies are at most a few KiB).
const MAX_REPLY: usize = 65536;
/// How often the event thread checks whether it should stop.
const EVENT_POLL: Duration = Duration::from_millis(200);
/// Events buffered per subscriber.
const EVENT_BACKLOG: usize = 256;

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);
static NEXT_SOCKET: AtomicU64 = AtomicU64::new(0);

/// A private directory for the client sockets, removed with everything in it on drop.
#[derive(Debug)]
pub(crate) struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    pub(crate) fn create() -> Result<Arc<Self>, WifiError> {
        let base = std::env::temp_dir();
        let mut last_err = None;
        for attempt in 0..16u32 {
            let name = format!(
                "wifiprov-wpa-{}-{}-{attempt}",
                std::process::id(),
                NEXT_DIR.fetch_add(1, Ordering::Relaxed)
            );
            let path = base.join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    // The umask can only have removed bits; make the mode exact anyway.
                    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700));
                    return Ok(Arc::new(PrivateDir { path }));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => {
                    return Err(WifiError::Unavailable(format!(
                        "cannot create a private directory for the control-socket client in {}: {e}",
                        base.display()
                    )));
                }
            }
        }
        Err(WifiError::Unavailable(format!(
            "cannot create a private directory in {}: {}",
            base.display(),
            last_err.map_or_else(|| "name collisions".to_owned(), |e| e.to_string())
        )))
    }

    fn socket_path(&self, role: &str) -> PathBuf {
        self.path.join(format!(
            "{role}-{}",
            NEXT_SOCKET.fetch_add(1, Ordering::Relaxed)
        ))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Checks that `ctrl` looks like a control socket, with a message naming the path.
pub(crate) fn check_socket_path(ctrl: &Path) -> Result<(), WifiError> {
    match std::fs::metadata(ctrl) {
        Ok(meta) if meta.file_type().is_socket() => Ok(()),
        Ok(_) => Err(WifiError::Unavailable(format!(
            "{} is not a socket, so not a wpa_supplicant control interface",
            ctrl.display()
        ))),
        Err(e) => Err(io_error(ctrl, "open", &e)),
    }
}

/// A `WifiError::Unavailable` for an I/O failure on the control socket at `ctrl`.
pub(crate) fn io_error(ctrl: &Path, what: &str, e: &io::Error) -> WifiError {
    let path = ctrl.display();
    let msg = match e.kind() {
        io::ErrorKind::NotFound => format!(
            "the wpa_supplicant control socket {path} does not exist \
             (is wpa_supplicant running with ctrl_interface pointing there?)"
        ),
        io::ErrorKind::PermissionDenied => format!(
            "permission denied on the wpa_supplicant control socket {path} \
             (run as root or as a member of the ctrl_interface group)"
        ),
        io::ErrorKind::ConnectionRefused => format!(
            "nobody listens on {path} (a stale socket? wpa_supplicant is not running there)"
        ),
        io::ErrorKind::ConnectionReset => {
            format!("wpa_supplicant at {path} went away (it exited or restarted)")
        }
        _ if e.raw_os_error() == Some(91) => {
            format!("{path} is a stream socket, not a wpa_supplicant control socket (datagram)")
        }
        _ => format!("cannot {what} the wpa_supplicant control socket {path}: {e}"),
    };
    WifiError::Unavailable(msg)
}

/// The request side: sends one command, waits for its reply.
#[derive(Debug)]
pub(crate) struct CtrlClient {
    ctrl: PathBuf,
    dir: Arc<PrivateDir>,
    local: PathBuf,
    sock: UnixDatagram,
    lock: tokio::sync::Mutex<()>,
    timeout: Duration,
}

impl CtrlClient {
    /// Binds a request socket in `dir` and connects it to `ctrl`.
    pub(crate) fn open(
        ctrl: &Path,
        dir: &Arc<PrivateDir>,
        timeout: Duration,
    ) -> Result<Self, WifiError> {
        let local = dir.socket_path("req");
        let sock = UnixDatagram::bind(&local).map_err(|e| bind_error(&local, &e))?;
        sock.connect(ctrl)
            .map_err(|e| io_error(ctrl, "connect to", &e))?;
        Ok(CtrlClient {
            ctrl: ctrl.to_owned(),
            dir: Arc::clone(dir),
            local,
            sock,
            lock: tokio::sync::Mutex::new(()),
            timeout,
        })
    }

    /// Sends `cmd` and returns the reply. The command is traced; never pass secrets here.
    pub(crate) async fn request(&self, cmd: &str) -> Result<String, WifiError> {
        tracing::trace!(target: "wifiprov_wifi::wpa", "request: {cmd}");
        let reply = self.exchange(cmd.as_bytes(), cmd).await?;
        tracing::trace!(target: "wifiprov_wifi::wpa", "reply: {}", reply.trim_end());
        Ok(reply)
    }

    /// Sends a command that carries a secret; only `shown` (a redacted form) is traced or
    /// used in error messages.
    pub(crate) async fn request_secret(
        &self,
        cmd: &Secret,
        shown: &str,
    ) -> Result<String, WifiError> {
        tracing::trace!(target: "wifiprov_wifi::wpa", "request: {shown}");
        let reply = self.exchange(cmd.expose(), shown).await?;
        tracing::trace!(target: "wifiprov_wifi::wpa", "reply: {}", reply.trim_end());
        Ok(reply)
    }

    async fn exchange(&self, bytes: &[u8], shown: &str) -> Result<String, WifiError> {
        let _one_at_a_time = self.lock.lock().await;
        let mut buf = vec![0u8; MAX_REPLY];
        // A reply that arrived after an earlier request timed out must not be taken for
        // this request's reply.
        while self.sock.try_recv(&mut buf).is_ok() {}
        self.sock
            .send(bytes)
            .await
            .map_err(|e| io_error(&self.ctrl, "send to", &e))?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let n = tokio::time::timeout_at(deadline, self.sock.recv(&mut buf))
                .await
                .map_err(|_| {
                    WifiError::Unavailable(format!(
                        "no answer from {} to {} within {} ms",
                        self.ctrl.display(),
                        command_name(shown),
                        self.timeout.as_millis()
                    ))
                })?
                .map_err(|e| io_error(&self.ctrl, "read from", &e))?;
            let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
            // Unsolicited messages only go to attached sockets; skip any that show up.
            if !text.starts_with('<') {
                return Ok(text);
            }
        }
    }

    /// Sends `cmd` on a fresh socket and waits (blocking the thread, briefly) for the
    /// reply. Used from `Drop`, where nothing can be awaited.
    pub(crate) fn request_blocking(&self, cmd: &str) -> Result<String, WifiError> {
        tracing::trace!(target: "wifiprov_wifi::wpa", "request (sync): {cmd}");
        let local = self.dir.socket_path("sync");
        let result = (|| {
            let sock = StdDatagram::bind(&local).map_err(|e| bind_error(&local, &e))?;
            sock.connect(&self.ctrl)
                .map_err(|e| io_error(&self.ctrl, "connect to", &e))?;
            let limit = Some(self.timeout.min(Duration::from_millis(500)));
            let _ = sock.set_read_timeout(limit);
            let _ = sock.set_write_timeout(limit);
            sock.send(cmd.as_bytes())
                .map_err(|e| io_error(&self.ctrl, "send to", &e))?;
            let mut buf = vec![0u8; MAX_REPLY];
            let n = sock
                .recv(&mut buf)
                .map_err(|e| io_error(&self.ctrl, "read from", &e))?;
            Ok(String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned())
        })();
        let _ = std::fs::remove_file(&local);
        result
    }
}

impl Drop for CtrlClient {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.local);
    }
}

/// The first word of a command, for messages (values may be long or secret).
fn command_name(cmd: &str) -> &str {
    cmd.split(' ').next().unwrap_or(cmd)
}

fn bind_error(local: &Path, e: &io::Error) -> WifiError {
    WifiError::Unavailable(format!(
        "cannot bind the control-socket client at {}: {e} (set TMPDIR to a short, writable directory)",
        local.display()
    ))
}

/// The event side: an attached socket read by a thread that broadcasts parsed messages.
#[derive(Debug)]
pub(crate) struct EventListener {
    tx: broadcast::Sender<WpaEvent>,
    stop: Arc<AtomicBool>,
    alive: Arc<AtomicBool>,
}

impl EventListener {
    /// Binds an event socket in `dir`, connects it to `ctrl`, sends `ATTACH` and starts
    /// the reader thread.
    pub(crate) fn start(
        ctrl: &Path,
        dir: &Arc<PrivateDir>,
        timeout: Duration,
    ) -> Result<Self, WifiError> {
        let local = dir.socket_path("events");
        let sock = StdDatagram::bind(&local).map_err(|e| bind_error(&local, &e))?;
        let cleanup = SocketFile(local);
        sock.connect(ctrl)
            .map_err(|e| io_error(ctrl, "connect to", &e))?;
        let _ = sock.set_read_timeout(Some(timeout));
        let _ = sock.set_write_timeout(Some(timeout));
        sock.send(b"ATTACH")
            .map_err(|e| io_error(ctrl, "send to", &e))?;
        let mut buf = vec![0u8; MAX_REPLY];
        loop {
            let n = sock.recv(&mut buf).map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    WifiError::Unavailable(format!(
                        "no answer from {} to ATTACH within {} ms",
                        ctrl.display(),
                        timeout.as_millis()
                    ))
                }
                _ => io_error(ctrl, "read from", &e),
            })?;
            let reply = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
            if reply.starts_with('<') {
                continue;
            }
            if reply.trim_end() != "OK" {
                return Err(WifiError::Unavailable(format!(
                    "{} refused ATTACH (answered {:?})",
                    ctrl.display(),
                    reply.trim_end()
                )));
            }
            break;
        }
        let _ = sock.set_read_timeout(Some(EVENT_POLL));

        let (tx, _) = broadcast::channel(EVENT_BACKLOG);
        let stop = Arc::new(AtomicBool::new(false));
        let alive = Arc::new(AtomicBool::new(true));
        let reader = Reader {
            sock,
            _file: cleanup,
            _dir: Arc::clone(dir),
            tx: tx.clone(),
            stop: Arc::clone(&stop),
            alive: Arc::clone(&alive),
            ctrl: ctrl.to_owned(),
        };
        std::thread::Builder::new()
            .name("wpa-events".into())
            .spawn(move || reader.run())
            .map_err(|e| WifiError::Unavailable(format!("cannot start the event reader: {e}")))?;
        Ok(EventListener { tx, stop, alive })
    }

    /// A receiver of every message from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<WpaEvent> {
        self.tx.subscribe()
    }

    /// Whether the daemon is still there (no `CTRL-EVENT-TERMINATING`, no reset).
    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Removes a socket file on drop.
#[derive(Debug)]
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// State owned by the event thread. Field order matters: the socket file is removed
/// before the directory reference is dropped.
struct Reader {
    sock: StdDatagram,
    _file: SocketFile,
    _dir: Arc<PrivateDir>,
    tx: broadcast::Sender<WpaEvent>,
    stop: Arc<AtomicBool>,
    alive: Arc<AtomicBool>,
    ctrl: PathBuf,
}

impl Reader {
    fn run(self) {
        let mut buf = vec![0u8; MAX_REPLY];
        while !self.stop.load(Ordering::Relaxed) {
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
                    if !text.starts_with('<') {
                        continue;
                    }
                    tracing::trace!(target: "wifiprov_wifi::wpa", "event: {}", text.trim_end());
                    let event = WpaEvent::parse(&text);
                    if event == WpaEvent::Terminating {
                        self.alive.store(false, Ordering::Relaxed);
                    }
                    // No subscriber at the moment is fine.
                    let _ = self.tx.send(event);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    tracing::debug!(
                        target: "wifiprov_wifi::wpa",
                        "event socket for {} failed: {e}",
                        self.ctrl.display()
                    );
                    self.alive.store(false, Ordering::Relaxed);
                    let _ = self.tx.send(WpaEvent::Terminating);
                    return;
                }
            }
        }
        // Tell the daemon to stop sending; it would drop us after failed sends anyway.
        let _ = self.sock.send(b"DETACH");
    }
}
