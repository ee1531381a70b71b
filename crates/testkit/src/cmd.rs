//! Running helper programs (`ip`, `kill`, …) and stopping daemons by pid.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `cmd` to completion; its stdout on success, otherwise an error naming the command
/// with its stderr (or why it could not start).
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `cmd` and panics (with its stderr) unless it succeeds; returns its stdout.
pub fn must(cmd: &mut Command) -> String {
    run(cmd).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `ip args…` and panics unless it succeeds.
pub fn ip(args: &[&str]) {
    must(Command::new("ip").args(args));
}

/// Whether process `pid` is gone (or only a zombie waiting to be reaped).
pub fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
}

/// Sends SIGTERM to every pid, waits up to `grace` for all of them to end, then sends
/// SIGKILL to those still there. Never panics (it runs in `Drop`).
pub fn stop_pids(pids: &[u32], grace: Duration) {
    for &pid in pids {
        signal(pid, "-TERM");
    }
    let deadline = Instant::now() + grace;
    while !pids.iter().all(|&p| is_gone(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &pid in pids {
        if !is_gone(pid) {
            signal(pid, "-KILL");
        }
    }
}

/// The pid written in `pidfile`, if it holds one.
pub fn read_pid(pidfile: &Path) -> Option<u32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}

/// Waits up to `limit` for `path` to exist; panics naming `what` if it does not.
pub fn wait_for_path(path: &Path, limit: Duration, what: &str) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < limit,
            "{what} did not create {} within {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
