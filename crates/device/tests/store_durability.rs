//! Crash safety of `CredentialStore::save`: a writer process is SIGKILLed at random moments,
//! hundreds of times, and the credential file must always be one complete version.
//!
//! The writer is this test binary itself, re-executed to run only
//! [`writer_child_noop_unless_spawned_by_durability_test`] with [`WRITER_DIR_ENV`] set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wifiprov_device::store::CredentialStore;
use wifiprov_wifi::Credentials;

/// Set (to the state directory) only in the spawned writer process.
const WRITER_DIR_ENV: &str = "WIFIPROV_STORE_WRITER_DIR";
/// Printed by the writer once its store is open, just before it starts saving.
const READY: &str = "WIFIPROV_STORE_WRITER_READY";
const WRITER_TEST: &str = "writer_child_noop_unless_spawned_by_durability_test";

/// Kills to perform, unless the time budget runs out first (but at least `MIN_KILLS`).
const KILLS: usize = 1000;
const MIN_KILLS: usize = 200;
const TIME_BUDGET: Duration = Duration::from_secs(20);

fn creds_a() -> Credentials {
    let mut c = Credentials::new("Network A", "passphrase of network A").unwrap();
    c.bssid = Some("02:00:00:00:00:0a".parse().unwrap());
    c.channel = Some(1);
    c
}

/// Different in every field, and of a different length, so a torn mix cannot pass for either.
fn creds_b() -> Credentials {
    let mut c = Credentials::new(
        vec![
            0xff, 0xfe, b'B', b'-', b'n', b'e', b't', b'w', b'o', b'r', b'k', 0x80,
        ],
        "a much longer passphrase belonging to network B, 63 characters!",
    )
    .unwrap();
    c.channel = Some(13);
    c
}

/// Not a test of its own: the body of the writer process that
/// `save_is_atomic_when_the_writer_is_sigkilled` spawns. With `WIFIPROV_STORE_WRITER_DIR` set
/// it opens the store in that directory and saves credentials A and B alternately until it is
/// killed. In a normal test run the variable is absent and it returns at once (and passes).
#[test]
fn writer_child_noop_unless_spawned_by_durability_test() {
    let Some(dir) = std::env::var_os(WRITER_DIR_ENV) else {
        return;
    };
    let store = CredentialStore::open(dir).unwrap();
    let (a, b) = (creds_a(), creds_b());
    println!("{READY}");
    loop {
        store.save(&a).unwrap();
        store.save(&b).unwrap();
    }
}

/// splitmix64: small, seedable, good enough to spread kill times.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 0 one time in eight, otherwise uniform in 0–15 ms (microsecond steps).
    fn kill_delay(&mut self) -> Duration {
        if self.next().is_multiple_of(8) {
            Duration::ZERO
        } else {
            Duration::from_micros(self.next() % 15_001)
        }
    }
}

/// The names in `dir` (none if a writer was killed before creating it).
fn names(dir: &Path) -> BTreeSet<String> {
    let entries = match fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeSet::new(),
        other => other.unwrap(),
    };
    entries
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

#[derive(Debug, Default)]
struct Tally {
    absent: usize,
    a: usize,
    b: usize,
    /// Kills made without waiting for the writer to be ready.
    early: usize,
    /// Kills that left a temporary file behind, i.e. landed inside a save.
    mid_save: usize,
}

#[test]
fn save_is_atomic_when_the_writer_is_sigkilled() {
    if std::env::var_os(WRITER_DIR_ENV).is_some() {
        return; // we are the writer process; only the writer test runs here anyway
    }
    let seed = std::env::var("WIFIPROV_DURABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0de_2026_u64);
    let mut rng = Rng(seed);
    // On the target directory's file system rather than a possible tmpfs, so fsync is real.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = tmp.path().join("state");
    let exe = std::env::current_exe().unwrap();
    let (a, b) = (creds_a(), creds_b());

    let started = Instant::now();
    let mut tally = Tally::default();
    let mut ever_saved = false;
    let mut kills = 0;
    let mut temp_files_seen = BTreeSet::new();
    while kills < KILLS && (kills < MIN_KILLS || started.elapsed() < TIME_BUDGET) {
        let mut child = Command::new(&exe)
            .args(["--exact", WRITER_TEST, "--nocapture", "--test-threads=1"])
            .env(WRITER_DIR_ENV, &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // Usually wait until the writer is about to save, so the delay is spent saving.
        let out = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                // libtest prints "test <name> ... " without a newline before the test runs.
                if line.is_ok_and(|l| l.trim_end().ends_with(READY)) {
                    let _ = ready_tx.send(());
                }
            }
        });
        // Now and then (and at first) kill without waiting: during start-up or the first save.
        let wait_ready = kills >= 3 && !rng.next().is_multiple_of(16);
        if wait_ready && ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            panic!("writer did not become ready: {:?}", child.wait());
        }
        tally.early += usize::from(!wait_ready);
        // The first kill lands at once: before anything can have been saved.
        let delay = if kills == 0 {
            Duration::ZERO
        } else {
            rng.kill_delay()
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "the writer must have been killed, not have stopped by itself: {status}"
        );
        reader.join().unwrap();
        kills += 1;

        // Files in the directory: only the credential file, the lock and temporary files.
        let files = names(&dir);
        for name in &files {
            assert!(
                name == "credentials.json"
                    || name == ".credentials.lock"
                    || (name.starts_with(".credentials.json.") && name.ends_with(".tmp")),
                "kill {kills} (delay {delay:?}): unexpected file {name:?} in {files:?}"
            );
            if name.ends_with(".tmp") && temp_files_seen.insert(name.clone()) {
                tally.mid_save += 1;
            }
        }

        let store = CredentialStore::open(&dir).unwrap();
        match store.load().unwrap() {
            None => {
                assert!(
                    !ever_saved,
                    "kill {kills} (delay {delay:?}): credentials.json vanished"
                );
                assert!(!store.path().exists());
                tally.absent += 1;
            }
            Some(got) => {
                ever_saved = true;
                if got == a {
                    tally.a += 1;
                } else if got == b {
                    tally.b += 1;
                } else {
                    panic!("kill {kills} (delay {delay:?}): a third credential set: {got:?}");
                }
            }
        }
        // Loading moved nothing aside: the file was complete.
        let after = names(&dir);
        assert!(
            after.iter().all(|n| !n.contains("corrupt")),
            "kill {kills} (delay {delay:?}): a file was moved aside: {after:?}"
        );
    }

    let elapsed = started.elapsed();
    println!(
        "durability: seed {seed:#x}, {kills} SIGKILLs in {:.1} s; credentials.json absent {} \
         times, A {} times, B {} times; {} kills landed mid-save (left a temporary file), {} \
         were made without waiting for the writer to start",
        elapsed.as_secs_f64(),
        tally.absent,
        tally.a,
        tally.b,
        tally.mid_save,
        tally.early,
    );
    assert!(kills >= MIN_KILLS);
    assert!(
        tally.a > 0 && tally.b > 0,
        "both versions should have been seen: {tally:?}"
    );
}
