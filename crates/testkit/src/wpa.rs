//! A real `wpa_supplicant` in its own network namespace, on one end of a veth pair, with its
//! configuration, control socket, pid file and log in a temporary directory.
//!
//! What the drivers do: `-D wired` with `ap_scan=0` "associates" at once (with the PAE group
//! address) and completes open networks; `-D none` fails every scan. Neither can host an AP.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cmd;
use crate::needs::Needs;
use crate::netns::{self, Netns};

/// The driver `wpa_supplicant` runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// `-D wired`, with `ap_scan=0` in the configuration.
    Wired,
    /// `-D none`.
    None,
}

/// How to start the daemon.
#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    /// The driver.
    pub driver: Driver,
    /// Whether the configuration has `update_config=1` (so `SAVE_CONFIG` works).
    pub update_config: bool,
    /// An IPv4 address (`a.b.c.d/len`) for the namespace's end of the veth.
    pub address: Option<&'a str>,
}

/// Whether the tests that start a daemon can run here: root, `ip netns` and
/// `wpa_supplicant`. Fails, or skips with `WIFIPROV_ALLOW_SKIP=1` (see [`Needs::ok`]).
pub fn can_run(test: &str) -> bool {
    Needs::new(test)
        .root()
        .program("ip", &["netns", "list"])
        .program("wpa_supplicant", &["-v"])
        .ok()
}

/// One running `wpa_supplicant`. Dropping it stops the daemon by pid (SIGTERM, then SIGKILL
/// after 3 s), deletes the namespace, and, when the test is failing, prints the end of the
/// daemon's log.
#[derive(Debug)]
pub struct Supplicant {
    iface: String,
    conf: PathBuf,
    ctrl: PathBuf,
    pidfile: PathBuf,
    log: PathBuf,
    // Dropped after the daemon is stopped, in this order.
    netns: Netns,
    _dir: tempfile::TempDir,
}

impl Supplicant {
    /// Starts the daemon (in the background, `-dd` into its log) and waits up to 5 s for its
    /// control socket. `prefix` (up to 4 characters) starts the namespace and interface
    /// names. Panics when any step fails; check [`can_run`] first.
    pub fn start(prefix: &str, options: Options<'_>) -> Supplicant {
        let name = netns::unique_name(prefix);
        let dir = tempfile::tempdir().unwrap();
        let iface = format!("{name}a");
        let run_dir = dir.path().join("run");
        let mut ns = Netns::create(name.clone());
        ns.veth_from_host(&iface, &format!("{name}b"));
        if let Some(address) = options.address {
            ns.add_address(&iface, address);
        }
        let daemon = Supplicant {
            conf: dir.path().join("wpa.conf"),
            ctrl: run_dir.join(&iface),
            pidfile: dir.path().join("wpa.pid"),
            log: dir.path().join("wpa.log"),
            iface,
            netns: ns,
            _dir: dir,
        };
        let mut conf = format!("ctrl_interface=DIR={}\n", run_dir.display());
        if options.update_config {
            conf.push_str("update_config=1\n");
        }
        if options.driver == Driver::Wired {
            conf.push_str("ap_scan=0\n");
        }
        std::fs::write(&daemon.conf, conf).unwrap();
        let driver = match options.driver {
            Driver::Wired => "wired",
            Driver::None => "none",
        };
        cmd::must(
            Command::new("ip")
                .args(["netns", "exec", daemon.netns.name()])
                .args(["wpa_supplicant", "-B", "-D", driver, "-i", &daemon.iface])
                .arg("-c")
                .arg(&daemon.conf)
                .arg("-P")
                .arg(&daemon.pidfile)
                .arg("-f")
                .arg(&daemon.log)
                .arg("-dd"),
        );
        cmd::wait_for_path(&daemon.ctrl, Duration::from_secs(5), "wpa_supplicant");
        daemon
    }

    /// The control socket.
    pub fn ctrl(&self) -> &Path {
        &self.ctrl
    }

    /// The interface the daemon manages (inside the namespace).
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The namespace the daemon runs in.
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// The configuration file as it is now (after `SAVE_CONFIG`, what the daemon wrote).
    pub fn saved_config(&self) -> String {
        std::fs::read_to_string(&self.conf).unwrap()
    }
}

impl Drop for Supplicant {
    fn drop(&mut self) {
        if let Some(pid) = cmd::read_pid(&self.pidfile) {
            cmd::stop_pids(&[pid], Duration::from_secs(3));
        }
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- wpa_supplicant log (last lines, newest first) ---");
            for line in log.lines().rev().take(60) {
                eprintln!("{line}");
            }
        }
    }
}
