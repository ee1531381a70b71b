//! Channel hopper with an injected channel setter, and the `iw` runner against stand-in
//! programs. No privileges needed.
#![cfg(feature = "monitor")]
// Test helpers outside `#[test]` functions fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use smartconfig::monitor::{ChannelSetter, Hopper, HopperConfig, IwRunner, MonitorError};

const WAIT: Duration = Duration::from_secs(5);

/// A setter that reports every call, and fails for the channels in `failing`.
fn recording(failing: &'static [u8]) -> (impl ChannelSetter, Receiver<(String, u8, Instant)>) {
    let (tx, rx) = mpsc::channel();
    let setter = move |ifname: &str, channel: u8| {
        let _ = tx.send((ifname.to_owned(), channel, Instant::now()));
        if failing.contains(&channel) {
            return Err(MonitorError::Command {
                command: format!("set {channel}"),
                message: "refused".into(),
            });
        }
        Ok(())
    };
    (setter, rx)
}

fn next_channels(rx: &Receiver<(String, u8, Instant)>, n: usize) -> Vec<(u8, Instant)> {
    (0..n)
        .map(|_| {
            let (ifname, ch, at) = rx.recv_timeout(WAIT).expect("hopper made no call");
            assert_eq!(ifname, "mon0");
            (ch, at)
        })
        .collect()
}

#[test]
fn default_config() {
    let c = HopperConfig::default();
    assert_eq!(c.channels, (1..=13).collect::<Vec<u8>>());
    assert_eq!(c.dwell, Duration::from_millis(100));
}

#[test]
fn hops_in_order_with_dwell() {
    let (setter, rx) = recording(&[]);
    let dwell = Duration::from_millis(15);
    let config = HopperConfig {
        channels: vec![1, 6, 11],
        dwell,
    };
    let hopper = Hopper::start("mon0", config, setter).unwrap();
    let calls = next_channels(&rx, 7);
    let order: Vec<u8> = calls.iter().map(|c| c.0).collect();
    assert_eq!(order, [1, 6, 11, 1, 6, 11, 1]);
    for pair in calls.windows(2) {
        assert!(
            pair[1].1 - pair[0].1 >= dwell,
            "left a channel before its dwell time"
        );
    }
    assert!(matches!(hopper.current_channel(), Some(1 | 6 | 11)));
    assert_eq!(hopper.locked(), None);
    hopper.stop();
    // The thread is gone with its setter: the channel disconnects instead of timing out.
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(_) => continue, // a call that raced with stop()
            Err(e) => {
                assert_eq!(e, RecvTimeoutError::Disconnected);
                break;
            }
        }
    }
}

#[test]
fn lock_and_unlock() {
    let (setter, rx) = recording(&[]);
    let dwell = Duration::from_millis(10);
    let config = HopperConfig {
        channels: vec![1, 6, 11, 3],
        dwell,
    };
    let hopper = Hopper::start("mon0", config, setter).unwrap();
    next_channels(&rx, 3);
    hopper.lock(6);
    assert_eq!(hopper.locked(), Some(6));
    // Calls already in flight may still arrive; the lock shows up as a call for 6 and then
    // silence.
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, ch, _) = rx.recv_timeout(WAIT).unwrap();
        if ch == 6 {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    match rx.recv_timeout(dwell * 20) {
        Err(RecvTimeoutError::Timeout) => {}
        other => panic!("hopping went on while locked: {other:?}"),
    }
    assert_eq!(hopper.current_channel(), Some(6));
    assert_eq!(hopper.channel_tag().get(), Some(6));
    // Locking to the same channel again changes nothing.
    hopper.lock(6);
    assert_eq!(rx.recv_timeout(dwell * 10), Err(RecvTimeoutError::Timeout));

    hopper.unlock();
    assert_eq!(hopper.locked(), None);
    let order: Vec<u8> = next_channels(&rx, 4).into_iter().map(|c| c.0).collect();
    assert_eq!(order, [11, 3, 1, 6], "resumes after the locked channel");

    // A channel outside the list: locked, then hopping resumes where it left off.
    hopper.lock(13);
    loop {
        if rx.recv_timeout(WAIT).unwrap().1 == 13 {
            break;
        }
    }
    hopper.unlock();
    let after: Vec<u8> = next_channels(&rx, 2).into_iter().map(|c| c.0).collect();
    assert!(after.iter().all(|c| [1, 6, 11, 3].contains(c)), "{after:?}");
}

#[test]
fn start_errors() {
    let missing = |_: &str, _: u8| -> Result<(), MonitorError> {
        Err(MonitorError::IwMissing {
            program: "iw".into(),
        })
    };
    let err = Hopper::start("mon0", HopperConfig::default(), missing).unwrap_err();
    assert!(matches!(err, MonitorError::IwMissing { .. }), "{err}");
    assert!(err.to_string().contains("install the `iw` package"));

    let (setter, _rx) = recording(&[]);
    let empty = HopperConfig {
        channels: vec![],
        dwell: Duration::from_millis(10),
    };
    assert!(matches!(
        Hopper::start("mon0", empty, setter),
        Err(MonitorError::InvalidConfig(_))
    ));
    let (setter, _rx) = recording(&[]);
    let zero = HopperConfig {
        channels: vec![1],
        dwell: Duration::ZERO,
    };
    assert!(matches!(
        Hopper::start("mon0", zero, setter),
        Err(MonitorError::InvalidConfig(_))
    ));
}

#[test]
fn failures_while_hopping_are_kept_and_hopping_goes_on() {
    let (setter, rx) = recording(&[13]);
    let config = HopperConfig {
        channels: vec![1, 13, 6],
        dwell: Duration::from_millis(10),
    };
    let hopper = Hopper::start("mon0", config, setter).unwrap();
    let order: Vec<u8> = next_channels(&rx, 4).into_iter().map(|c| c.0).collect();
    assert_eq!(order, [1, 13, 6, 1]);
    let errors = hopper.take_errors();
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| e.to_string().contains("set 13")),
        "{errors:?}"
    );
    // The tag never shows the channel that could not be set.
    for _ in 0..20 {
        assert_ne!(hopper.current_channel(), Some(13));
        std::thread::sleep(Duration::from_millis(3));
    }
}

#[test]
fn set_dwell_changes_pace() {
    let (setter, rx) = recording(&[]);
    let config = HopperConfig {
        channels: vec![1, 2],
        dwell: Duration::from_millis(5),
    };
    let hopper = Hopper::start("mon0", config, setter).unwrap();
    next_channels(&rx, 2);
    hopper.set_dwell(Duration::from_millis(60));
    // Drain a call that may have been scheduled with the old dwell, then measure.
    let calls = next_channels(&rx, 4);
    for pair in calls[1..].windows(2) {
        assert!(pair[1].1 - pair[0].1 >= Duration::from_millis(60));
    }
}

/// A stand-in for `iw`: a shell script in a private temporary directory.
struct FakeIw {
    dir: std::path::PathBuf,
}

impl FakeIw {
    fn new(name: &str, script: &str) -> (FakeIw, std::path::PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("sc-fake-iw-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("iw");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        (FakeIw { dir }, path)
    }
}

impl Drop for FakeIw {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn iw_runner_arguments_and_errors() {
    let (fake, path) = FakeIw::new("ok", "echo \"$@\" > \"$(dirname \"$0\")/args\"");
    IwRunner::with_program(&path)
        .set_channel("wlan0mon", 11)
        .unwrap();
    let args = std::fs::read_to_string(fake.dir.join("args")).unwrap();
    assert_eq!(args.trim(), "dev wlan0mon set channel 11");

    let (_f, path) = FakeIw::new(
        "nodev",
        "echo 'command failed: No such device (-19)' >&2; exit 237",
    );
    let err = IwRunner::with_program(&path)
        .set_channel("wlan9", 1)
        .unwrap_err();
    assert!(
        matches!(&err, MonitorError::InterfaceMissing(i) if i == "wlan9"),
        "{err}"
    );

    let (_f, path) = FakeIw::new(
        "eperm",
        "echo 'command failed: Operation not permitted (-1)' >&2; exit 255",
    );
    let err = IwRunner::with_program(&path)
        .set_channel("wlan0", 1)
        .unwrap_err();
    assert!(matches!(err, MonitorError::NotPermitted { .. }), "{err}");
    assert!(err.to_string().contains("CAP_NET_ADMIN"));

    let (_f, path) = FakeIw::new(
        "busy",
        "echo 'command failed: Device or resource busy (-16)' >&2; exit 240",
    );
    let err = IwRunner::with_program(&path)
        .set_channel("wlan0", 14)
        .unwrap_err();
    match err {
        MonitorError::Command { command, message } => {
            assert!(command.ends_with("dev wlan0 set channel 14"), "{command}");
            assert!(message.contains("busy"), "{message}");
        }
        other => panic!("unexpected {other}"),
    }

    let (_f, path) = FakeIw::new("hang", "exec sleep 30");
    let started = Instant::now();
    let err = IwRunner::with_program(&path)
        .timeout(Duration::from_millis(200))
        .set_channel("wlan0", 1)
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the hung command was not killed"
    );

    let err = IwRunner::with_program("/nonexistent/iw")
        .set_channel("wlan0", 1)
        .unwrap_err();
    assert!(matches!(err, MonitorError::IwMissing { .. }), "{err}");
}

#[test]
fn a_new_channel_list_starts_at_once_and_one_channel_is_tuned_once() {
    let (setter, rx) = recording(&[]);
    let config = HopperConfig {
        channels: vec![1, 2, 3],
        dwell: Duration::from_secs(30),
    };
    let hopper = Hopper::start("mon0", config, setter).unwrap();
    assert_eq!(next_channels(&rx, 1)[0].0, 1);
    // The dwell time is long: only the new list can cause the next call this soon.
    hopper.set_channels(vec![6]);
    assert_eq!(next_channels(&rx, 1)[0].0, 6);
    // The setter reports the call before it returns; the hopper records the channel after.
    let deadline = Instant::now() + Duration::from_secs(2);
    while hopper.current_channel() != Some(6) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(hopper.current_channel(), Some(6));
    hopper.set_dwell(Duration::from_millis(5));
    // With one channel, already tuned, there is nothing more to set.
    match rx.recv_timeout(Duration::from_millis(300)) {
        Err(RecvTimeoutError::Timeout) => {}
        other => panic!("the hopper tuned again: {other:?}"),
    }
    hopper.set_channels(Vec::new());
    assert_eq!(hopper.current_channel(), Some(6));
    hopper.stop();
}
