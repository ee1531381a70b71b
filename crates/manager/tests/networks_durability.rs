//! Crash safety of `NetworksFile::save`: a process rewriting `networks.json` in a loop is
//! SIGKILLed at random moments, hundreds of times; after every kill the file must parse and
//! be exactly one of the two versions the writer alternates between.
//!
//! The writer is this test binary run again with `--exact writer_child` and
//! [`WRITER_FILE_ENV`] naming the file; without the variable, `writer_child` does nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wifi_manager::networks::NetworksFile;
use wifiprov_types::Passphrase;
use wifiprov_types::Ssid;

/// Set, in the writer process only, to the file it rewrites.
const WRITER_FILE_ENV: &str = "WIFI_MANAGER_NETWORKS_WRITER_FILE";
/// The writer's test name, for `--exact`.
const WRITER_TEST: &str = "writer_child";
/// Printed by the writer when it starts rewriting, and after every completed save.
const READY: &str = "networks-writer-ready";
const SAVED: &str = "networks-writer-saved";

/// The network the writer adds and removes in turn: version B has it on top, version A not.
const EXTRA_SSID: &str = "Provisioned just now";
const EXTRA_PASSWORD: &str = "a long passphrase so that the two versions differ in size!!!!";

/// At least `MIN_KILLS` kills; up to `MAX_KILLS` while within the time budget.
const MIN_KILLS: usize = 200;
const MAX_KILLS: usize = 1000;
const TIME_BUDGET: Duration = Duration::from_secs(20);

const EXAMPLE: &str = include_str!("data/networks_example.json");

/// Version A: the example file with 30 more networks (about 4 KiB), as `save` writes it.
fn version_a() -> NetworksFile {
    let mut file = NetworksFile::from_str(EXAMPLE, "networks.json").unwrap();
    for i in (0..30).rev() {
        file.add_or_promote(
            &Ssid::new(format!("network {i:02}")).unwrap(),
            pass(format!("password number {i}").as_str()),
        )
        .unwrap();
    }
    file
}

/// Not a test of its own: the body of the writer process. With [`WRITER_FILE_ENV`] set it
/// loads the file, adds [`EXTRA_SSID`] or removes it if present, saves, and repeats until
/// it is killed. In a normal test run the variable is absent and it returns at once.
#[test]
fn writer_child() {
    let Some(path) = std::env::var_os(WRITER_FILE_ENV) else {
        return;
    };
    println!("{READY}");
    loop {
        let mut file = NetworksFile::load(&path).unwrap();
        if !file.remove(EXTRA_SSID) {
            file.add_or_promote(&Ssid::try_from(EXTRA_SSID).unwrap(), pass(EXTRA_PASSWORD))
                .unwrap();
        }
        file.save().unwrap();
        println!("{SAVED}");
    }
}

/// splitmix64: small and seedable, enough to spread the kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Mostly within the first few saves (0–3 ms), sometimes later (up to 20 ms).
    fn kill_delay(&mut self) -> Duration {
        if self.next().is_multiple_of(8) {
            Duration::from_micros(self.next() % 20_000)
        } else {
            Duration::from_micros(self.next() % 3_000)
        }
    }
}

fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "networks.json")
        .collect()
}

#[test]
fn sigkill_during_rewrites_never_leaves_a_broken_file() {
    if std::env::var_os(WRITER_FILE_ENV).is_some() {
        return;
    }
    // On the target directory's file system rather than a tmpfs, so fsync has work to do.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("networks.json");

    let a = version_a();
    let text_a = a.to_json_string().to_string();
    let mut b = NetworksFile::from_str(&text_a, "networks.json").unwrap();
    b.add_or_promote(&Ssid::try_from(EXTRA_SSID).unwrap(), pass(EXTRA_PASSWORD))
        .unwrap();
    let text_b = b.to_json_string().to_string();
    assert_ne!(text_a.len(), text_b.len());
    fs::write(&path, &text_a).unwrap();
    // As `save` would have left it, so the mode can be checked after every kill (the first
    // kills may land before the writer completed any save).
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();

    let seed = std::env::var("NETWORKS_DURABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("seed {seed} (set NETWORKS_DURABILITY_SEED to repeat)");
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().unwrap();

    let started = Instant::now();
    let (mut kills, mut found_a, mut found_b, mut mid_write, mut saves) = (0usize, 0, 0, 0, 0u64);
    while kills < MAX_KILLS && (kills < MIN_KILLS || started.elapsed() < TIME_BUDGET) {
        let mut child = Command::new(&exe)
            .args(["--exact", WRITER_TEST, "--nocapture", "--test-threads=1"])
            .env(WRITER_FILE_ENV, &path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = mpsc::channel();
        let reader = thread::spawn(move || {
            let mut saved = 0u64;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest prints "test writer_child ... " on the same line first.
                if line.ends_with(READY) {
                    let _ = ready_tx.send(());
                } else if line == SAVED {
                    saved += 1;
                }
            }
            saved
        });
        if ready_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "the writer did not start: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let delay = rng.kill_delay();
        thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "kill {kills}: the writer must die by SIGKILL, not stop by itself: {status}"
        );
        saves += reader.join().unwrap();
        kills += 1;

        let text = fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("kill {kills} (after {delay:?}): cannot read the file: {e}")
        });
        if text == text_a {
            found_a += 1;
        } else if text == text_b {
            found_b += 1;
        } else {
            panic!("kill {kills} (after {delay:?}): neither version:\n{text}");
        }
        let loaded = NetworksFile::load(&path).unwrap();
        assert_eq!(
            loaded.networks(),
            if text == text_a {
                a.networks()
            } else {
                b.networks()
            }
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600,
            "kill {kills}"
        );
        // A temporary file left behind means the kill landed inside a save, between creating
        // the temporary file and renaming it.
        let leftovers = temp_files(dir.path());
        if !leftovers.is_empty() {
            mid_write += 1;
            for name in leftovers {
                assert!(
                    name.starts_with(".networks.json.") && name.ends_with(".tmp"),
                    "{name}"
                );
                let leftover = dir.path().join(&name);
                let mode = fs::metadata(&leftover).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{name}: a temporary file may hold passwords");
                fs::remove_file(leftover).unwrap();
            }
        }
    }
    eprintln!(
        "{kills} kills in {:.1?}: {saves} completed saves; file was version A {found_a} times, \
         version B {found_b} times; {mid_write} kills landed inside a save (temporary file \
         left behind)",
        started.elapsed()
    );
    assert!(kills >= MIN_KILLS);
    assert!(
        found_a > 0 && found_b > 0,
        "kills should land in both states"
    );
    assert!(mid_write > 0, "some kills should land inside a save");
}

fn pass(text: &str) -> Passphrase {
    Passphrase::new(text).expect("a valid passphrase")
}
