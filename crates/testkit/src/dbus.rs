//! A private `dbus-daemon` for a test, with a permissive policy, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Where `dbus-daemon` is looked for first (then `PATH`).
pub const DBUS_DAEMON: &str = "/usr/bin/dbus-daemon";

/// The bus configuration: a session-type bus on a Unix socket at `{socket}`, EXTERNAL
/// authentication, and a policy that lets anyone own any name, send to and receive from
/// anyone, and eavesdrop.
const CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#;

/// A private message bus: its own `dbus-daemon` with its configuration and socket in a
/// temporary directory. Dropping it kills the daemon.
#[derive(Debug)]
pub struct PrivateBus {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl PrivateBus {
    /// Starts the daemon and waits for the address it prints. Panics (naming the package to
    /// install) when there is no `dbus-daemon`.
    pub fn start() -> PrivateBus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bus.conf");
        let socket = dir.path().join("bus");
        std::fs::write(
            &config,
            CONFIG.replace("{socket}", &socket.display().to_string()),
        )
        .unwrap();
        let program = if Path::new(DBUS_DAEMON).exists() {
            DBUS_DAEMON
        } else {
            "dbus-daemon"
        };
        let mut child = Command::new(program)
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "this test needs dbus-daemon ({DBUS_DAEMON} or on PATH) for a private bus; \
                     install the `dbus-daemon` / `dbus` package: {e}"
                )
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_owned();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        PrivateBus {
            child,
            address,
            _dir: dir,
        }
    }

    /// The bus address (`unix:path=…,guid=…`), for a client or `DBUS_SYSTEM_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
