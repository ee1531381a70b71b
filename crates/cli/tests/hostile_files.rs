//! Hostile files against the real binary: what sits at a state or control path may be a
//! FIFO, a symbolic link or somebody's regular file, and input may never end. Every run is
//! bounded: a hang is a failure reported after a few seconds, not a stuck suite.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Run;

/// How long any run here may take before it counts as a hang.
const BOUND: Duration = Duration::from_secs(20);

/// Runs `wifiprov args`, killing it and failing the test if it has not exited within
/// [`BOUND`].
fn run_bounded(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + BOUND;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "wifiprov {args:?} did not exit within {BOUND:?} (hung): {}",
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).unwrap();
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .file_type()
        .is_fifo()
}

const NETWORKS: &str = r#"{
  "schema": 2,
  "known_networks": [{"ssid": "CoffeeShop", "password": "", "enables_webrepl": false}],
  "access_point": {"config": {"essid": "wifiprov-setup"}, "start_policy": "never"}
}
"#;

fn networks(dir: &Path, text: &[u8]) -> PathBuf {
    let path = dir.join("networks.json");
    std::fs::write(&path, text).unwrap();
    path
}

fn device(state_dir: &Path) -> Run {
    run_bounded(&[
        "device",
        "--listen",
        "127.0.0.1:0",
        "--state-dir",
        state_dir.to_str().unwrap(),
    ])
}

#[test]
fn a_fifo_credential_file_stops_device_start_up_with_exit_9() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials.json");
    mkfifo(&creds);
    let run = device(dir.path());
    assert_eq!(run.code, 9, "{}", run.all());
    assert!(
        run.stderr
            .contains("credentials.json is a FIFO, not a regular file; refusing to use it"),
        "{}",
        run.all()
    );
    assert!(is_fifo(&creds), "the FIFO is left where it was");
}

#[test]
fn a_symlinked_lock_file_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join(".credentials.lock")).unwrap();
    let run = device(dir.path());
    assert_eq!(run.code, 9, "{}", run.all());
    assert!(
        run.stderr.contains(".credentials.lock is a symbolic link"),
        "{}",
        run.all()
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(
        std::fs::symlink_metadata(dir.path().join(".credentials.lock"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn a_fifo_networks_file_stops_manage_with_exit_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    mkfifo(&path);
    let run = run_bounded(&["manage", "--once", "--networks", path.to_str().unwrap()]);
    assert_eq!(run.code, 9, "{}", run.all());
    assert!(
        run.stderr
            .contains("networks.json is a FIFO, not a regular file; refusing to use it"),
        "{}",
        run.all()
    );
    assert!(is_fifo(&path));
}

#[test]
fn manage_refuses_a_control_path_that_is_a_regular_file_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = networks(dir.path(), NETWORKS.as_bytes());
    // The classic slip: the networks file given as the control socket.
    let run = run_bounded(&[
        "manage",
        "--networks",
        path.to_str().unwrap(),
        "--control",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 9, "{}", run.all());
    assert!(
        run.stderr
            .contains("networks.json is a regular file, not a socket; refusing to replace it"),
        "{}",
        run.all()
    );
    assert_eq!(std::fs::read(&path).unwrap(), NETWORKS.as_bytes());
}

#[test]
fn manage_replaces_a_stale_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = networks(dir.path(), NETWORKS.as_bytes());
    let socket = dir.path().join("manager.sock");
    // A socket left behind by a daemon that died: nobody listens on it.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(["manage", "--networks", path.to_str().unwrap(), "--control"])
        .arg(&socket)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + BOUND;
    let mut live = false;
    while Instant::now() < deadline {
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            live = true;
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("manage exited with {status} instead of taking the stale socket");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(live, "the stale socket was not replaced by a live one");
}

#[test]
fn decode_of_an_endless_input_ends_promptly_with_a_clear_error() {
    let run = run_bounded(&["smartconfig", "decode", "--lengths", "/dev/zero"]);
    assert_eq!(run.code, 9, "{}", run.all());
    assert!(
        run.stderr.contains("line 1 is longer than 256 bytes"),
        "{}",
        run.all()
    );
}

#[test]
fn decode_of_too_many_lengths_is_refused_at_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lengths.txt");
    // One more than the limit of 1,000,000 lengths (2 MB).
    std::fs::write(&path, "1\n".repeat(1_000_001)).unwrap();
    let run = run_bounded(&["smartconfig", "decode", "--lengths", path.to_str().unwrap()]);
    assert_eq!(run.code, 9, "{}", run.all());
    assert!(
        run.stderr.contains("input exceeds 1000000 lengths"),
        "{}",
        run.all()
    );
}

#[test]
fn a_byte_order_mark_in_networks_json_is_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend_from_slice(NETWORKS.as_bytes());
    let path = networks(dir.path(), &text);
    let run = run_bounded(&["manage", "--once", "--networks", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains("starts with a UTF-8 byte-order mark"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.contains("connected to \"CoffeeShop\""),
        "{}",
        run.all()
    );
}

#[test]
fn a_repeated_key_in_networks_json_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = NETWORKS.replace(
        r#""password": "","#,
        r#""password": "", "password": "other-one","#,
    );
    let path = networks(dir.path(), text.as_bytes());
    let run = run_bounded(&["manage", "--once", "--networks", path.to_str().unwrap()]);
    assert_eq!(run.code, 9, "{}", run.all());
    assert!(
        run.stderr.contains("(line 3, column") && run.stderr.contains("duplicate key \"password\""),
        "{}",
        run.all()
    );
    assert!(!run.all().contains("other-one"), "{}", run.all());
}
