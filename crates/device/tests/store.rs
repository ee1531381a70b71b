//! The credential store: round trips, permissions, corrupt files, leftovers, secrecy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use wifiprov_device::store::{CredentialStore, StoreError};
use wifiprov_wifi::{Bssid, Credentials};

const SECRET: &str = "Tr0ub4dor&3-very-secret";

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// SSID with bytes that are not UTF-8, an open network (empty passphrase), BSSID and channel.
fn open_network() -> Credentials {
    let mut c =
        Credentials::new(vec![0xff, b'C', b'a', b'f', 0xe9, 0x00, b'!'], Vec::new()).unwrap();
    c.bssid = Some("78:8a:20:84:19:96".parse().unwrap());
    c.channel = Some(6);
    c
}

fn home() -> Credentials {
    Credentials::new("Home network", SECRET).unwrap()
}

/// Every file in `dir` whose name starts with `credentials.json.corrupt-`.
fn aside_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("credentials.json.corrupt-")
        })
        .collect();
    v.sort();
    v
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_permissions_overwrite_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("var/lib/wifiprov");
    let store = CredentialStore::open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700, "a created state directory is private");
    assert_eq!(store.path(), dir.join("credentials.json"));
    assert_eq!(store.dir(), dir);

    // Nothing saved yet.
    assert_eq!(store.load().unwrap(), None);
    assert!(!store.is_provisioned());

    // Non-UTF-8 SSID, open network, BSSID and channel.
    let a = open_network();
    store.save(&a).unwrap();
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(store.load().unwrap(), Some(a.clone()));
    assert!(store.is_provisioned());
    let json: Value = serde_json::from_slice(&fs::read(store.path()).unwrap()).unwrap();
    assert_eq!(json["format"], "wifiprov-credentials");
    assert_eq!(json["version"], 1);
    assert_eq!(json["ssid_hex"], "ff436166e90021");
    assert_eq!(
        json["ssid"],
        Value::Null,
        "no text form for a non-UTF-8 SSID"
    );
    assert_eq!(json["passphrase_hex"], "");
    assert_eq!(json["bssid"], "78:8a:20:84:19:96");
    assert_eq!(json["channel"], 6);
    assert!(json["saved_at_unix"].as_u64().unwrap() > 1_600_000_000);

    // Overwrite with a WPA network; no temporary files are left behind.
    let b = home();
    store.save(&b).unwrap();
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(store.load().unwrap(), Some(b.clone()));
    let json: Value = serde_json::from_slice(&fs::read(store.path()).unwrap()).unwrap();
    assert_eq!(json["ssid"], "Home network");
    assert_eq!(json["passphrase_hex"], hex::encode(SECRET));
    assert_eq!(json["bssid"], Value::Null);
    assert_eq!(json["channel"], Value::Null);
    assert_eq!(
        file_names(&dir),
        [".credentials.lock", "credentials.json"],
        "only the file and the lock"
    );

    // A second store on the same directory sees the same thing.
    let again = CredentialStore::open(&dir).unwrap();
    assert_eq!(again.load().unwrap(), Some(b));

    // Limits: 32-byte SSID, 64-byte passphrase (a raw PSK in hex).
    let max = Credentials::new([b's'; 32], [b'a'; 64]).unwrap();
    store.save(&max).unwrap();
    assert_eq!(store.load().unwrap(), Some(max));

    store.clear().unwrap();
    assert!(!store.path().exists());
    assert_eq!(store.load().unwrap(), None);
    assert!(!store.is_provisioned());
    store.clear().unwrap(); // clearing nothing is fine
    assert!(aside_files(&dir).is_empty());
}

#[test]
fn existing_directory_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
    let store = CredentialStore::open(&dir).unwrap();
    assert_eq!(
        mode(&dir),
        0o750,
        "an existing directory's mode is not changed"
    );
    store.save(&home()).unwrap();
    assert_eq!(mode(store.path()), 0o600);
}

#[test]
fn open_fails_when_the_directory_cannot_be_created() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    let err = CredentialStore::open(file.join("state")).unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains("a-file/state"), "{err}");
}

#[test]
fn invalid_credentials_are_refused_without_revealing_the_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(tmp.path()).unwrap();
    let long_pass = format!("{SECRET}{}", "x".repeat(64));
    // Such credentials cannot even be made, so they never reach the store; the refusal names
    // the problem and never the passphrase.
    for (creds, what) in [
        (Credentials::new("", SECRET), "empty"),
        (Credentials::new([b'a'; 33], SECRET), "33 bytes"),
        (
            Credentials::new("Home", long_pass.as_str()),
            "passphrase is 87 bytes",
        ),
    ] {
        let err = creds.unwrap_err();
        let text = format!("{err} {err:?} {store:?}");
        assert!(text.contains(what), "{text}");
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&hex::encode(SECRET)), "{text}");
    }
    assert!(!store.path().exists(), "nothing was written");
    assert_eq!(file_names(tmp.path()), [".credentials.lock"]);
}

/// Collects log events (level and fields) so tests can check what is logged.
mod capture {
    use std::fmt::Write as _;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::{Event, Metadata, Subscriber, span};

    #[derive(Clone, Default)]
    pub struct Capture(pub Arc<Mutex<Vec<String>>>);

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = format!("{} ", event.metadata().level());
            event.record(&mut Visitor(&mut line));
            self.0.lock().unwrap().push(line);
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }

    struct Visitor<'a>(&'a mut String);

    impl Visit for Visitor<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, "{}={:?} ", field.name(), value);
        }
    }
}

/// A valid file's JSON, to be spoiled.
fn valid_json() -> Value {
    json!({
        "format": "wifiprov-credentials",
        "version": 1,
        "ssid_hex": hex::encode("Home"),
        "ssid": "Home",
        "passphrase_hex": hex::encode(SECRET),
        "bssid": "78:8a:20:84:19:96",
        "channel": 11,
        "saved_at_unix": 1_767_225_600u64,
    })
}

fn spoiled(f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut v = valid_json();
    f(v.as_object_mut().unwrap());
    serde_json::to_vec_pretty(&v).unwrap()
}

#[test]
fn hand_written_valid_file_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(tmp.path()).unwrap();
    fs::write(store.path(), serde_json::to_vec(&valid_json()).unwrap()).unwrap();
    let mut want = Credentials::new("Home", SECRET).unwrap();
    want.bssid = Some(Bssid([0x78, 0x8a, 0x20, 0x84, 0x19, 0x96]));
    want.channel = Some(11);
    assert_eq!(store.load().unwrap(), Some(want));
    // The text form is optional.
    fs::write(
        store.path(),
        spoiled(|m| {
            m.remove("ssid");
        }),
    )
    .unwrap();
    assert!(store.load().unwrap().is_some());
    assert!(aside_files(tmp.path()).is_empty());
}

#[test]
fn corrupt_files_are_moved_aside_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = CredentialStore::open(dir).unwrap();
    store.save(&home()).unwrap();
    let good = fs::read(store.path()).unwrap();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "garbage bytes",
            vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x7b, 0x0a],
            "not valid JSON",
        ),
        ("empty file", Vec::new(), "truncated JSON"),
        (
            "truncated JSON",
            good[..good.len() / 2].to_vec(),
            "truncated JSON",
        ),
        ("not an object", b"[1, 2, 3]\n".to_vec(), "wrong shape"),
        (
            "wrong version",
            spoiled(|m| {
                m.insert("version".into(), json!(2));
            }),
            "unsupported version 2",
        ),
        (
            "version as text",
            spoiled(|m| {
                m.insert("version".into(), json!("1"));
            }),
            "wrong shape",
        ),
        (
            "no version",
            spoiled(|m| {
                m.remove("version");
            }),
            "no \"version\"",
        ),
        (
            "wrong format",
            spoiled(|m| {
                m.insert("format".into(), json!("esp-nvs-dump"));
            }),
            "format is \"esp-nvs-dump\"",
        ),
        (
            "no format",
            spoiled(|m| {
                m.remove("format");
            }),
            "no \"format\"",
        ),
        (
            "bad hex in ssid_hex",
            spoiled(|m| {
                m.insert("ssid_hex".into(), json!("48zz"));
            }),
            "\"ssid_hex\" is not valid hex",
        ),
        (
            "bad hex in passphrase_hex",
            spoiled(|m| {
                let bad = format!("{}zz", hex::encode(SECRET));
                m.insert("passphrase_hex".into(), json!(bad));
            }),
            "\"passphrase_hex\" is not valid hex",
        ),
        (
            "odd-length passphrase_hex",
            spoiled(|m| {
                let bad = format!("{}a", hex::encode(SECRET));
                m.insert("passphrase_hex".into(), json!(bad));
            }),
            "\"passphrase_hex\" is not valid hex",
        ),
        (
            "oversize ssid",
            spoiled(|m| {
                m.insert("ssid_hex".into(), json!(hex::encode([b'a'; 33])));
                m.remove("ssid");
            }),
            "SSID is 33 bytes",
        ),
        (
            "empty ssid",
            spoiled(|m| {
                m.insert("ssid_hex".into(), json!(""));
                m.insert("ssid".into(), json!(""));
            }),
            "SSID is empty",
        ),
        (
            "oversize passphrase",
            spoiled(|m| {
                m.insert("passphrase_hex".into(), json!(hex::encode([b'p'; 65])));
            }),
            "passphrase is 65 bytes",
        ),
        (
            "ssid text disagrees",
            spoiled(|m| {
                m.insert("ssid".into(), json!("Work"));
            }),
            "does not match",
        ),
        (
            "unknown field",
            spoiled(|m| {
                m.insert("passphrase".into(), json!(SECRET));
            }),
            "unknown field `passphrase`",
        ),
        (
            "bad bssid",
            spoiled(|m| {
                m.insert("bssid".into(), json!("78:8a:20"));
            }),
            "not a MAC address",
        ),
        (
            "channel out of range",
            spoiled(|m| {
                m.insert("channel".into(), json!(300));
            }),
            "wrong shape",
        ),
        (
            "missing saved_at_unix",
            spoiled(|m| {
                m.remove("saved_at_unix");
            }),
            "missing field `saved_at_unix`",
        ),
    ];

    let capture = capture::Capture::default();
    let logs = Arc::clone(&capture.0);
    // Every aside file ever made, with the bytes it must still hold.
    let mut asides: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    tracing::subscriber::with_default(capture, || {
        for (case, bytes, why) in &cases {
            logs.lock().unwrap().clear();
            fs::write(store.path(), bytes).unwrap();
            assert_eq!(store.load().unwrap(), None, "{case}");
            assert!(!store.path().exists(), "{case}: credentials.json is gone");

            let new: Vec<PathBuf> = aside_files(dir)
                .into_iter()
                .filter(|p| !asides.contains_key(p))
                .collect();
            assert_eq!(new.len(), 1, "{case}: one new aside file: {new:?}");
            let aside = &new[0];
            let name = aside.file_name().unwrap().to_str().unwrap();
            let suffix = name.strip_prefix("credentials.json.corrupt-").unwrap();
            assert!(
                suffix
                    .split('-')
                    .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())),
                "{case}: aside name {name}"
            );
            asides.insert(aside.clone(), bytes.clone());
            for (path, want) in &asides {
                assert_eq!(&fs::read(path).unwrap(), want, "{case}: {path:?} intact");
            }

            let logs = logs.lock().unwrap();
            let warning = logs
                .iter()
                .find(|l| l.starts_with("WARN") && l.contains("corrupt"))
                .unwrap_or_else(|| panic!("{case}: no warning in {logs:?}"));
            assert!(warning.contains(why), "{case}: {warning}");
            assert!(
                warning.contains(name),
                "{case}: names the aside file: {warning}"
            );
            for line in logs.iter() {
                assert!(!line.contains(SECRET), "{case}: {line}");
                assert!(!line.contains(&hex::encode(SECRET)), "{case}: {line}");
                assert!(!line.contains(&hex::encode(&SECRET[..8])), "{case}: {line}");
            }

            // The store is usable again straight away.
            assert!(!store.is_provisioned(), "{case}");
        }
    });
    // Several landed in the same second and got `-n` names instead of overwriting.
    assert_eq!(asides.len(), cases.len());
    assert_eq!(aside_files(dir).len(), cases.len());

    store.save(&home()).unwrap();
    assert_eq!(store.load().unwrap(), Some(home()));
    assert_eq!(aside_files(dir).len(), cases.len(), "asides are kept");
}

#[test]
fn a_directory_at_the_path_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(tmp.path()).unwrap();
    // A directory where the file should be is not ours to move: refused, kept as it is.
    fs::create_dir(store.path()).unwrap();
    fs::write(store.path().join("inside"), b"kept").unwrap();
    let e = store.load().unwrap_err();
    assert!(matches!(e, StoreError::Unusable { .. }), "{e:?}");
    assert!(e.to_string().contains("is a directory"), "{e}");
    assert!(store.save(&home()).is_err());
    assert_eq!(fs::read(store.path().join("inside")).unwrap(), b"kept");
    assert!(aside_files(tmp.path()).is_empty());
}

#[test]
fn leftover_temporary_files_are_ignored_and_stale_ones_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = CredentialStore::open(dir).unwrap();
    store.save(&home()).unwrap();

    // What a writer killed mid-save leaves: a partial temporary file.
    let fresh = dir.join(".credentials.json.AbC123.tmp");
    let stale = dir.join(".credentials.json.XyZ789.tmp");
    let foreign = dir.join(".tmpQwErTy");
    for p in [&fresh, &stale, &foreign] {
        fs::write(p, b"{\n  \"format\": \"wifiprov-cre").unwrap();
    }
    let old = SystemTime::now() - Duration::from_secs(600);
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    fs::File::options()
        .write(true)
        .open(&foreign)
        .unwrap()
        .set_modified(old)
        .unwrap();

    assert_eq!(store.load().unwrap(), Some(home()));
    let store = CredentialStore::open(dir).unwrap();
    assert!(
        fresh.exists(),
        "a recent one may belong to a writer still at work"
    );
    assert!(!stale.exists(), "an old one is a crashed writer's");
    assert!(foreign.exists(), "other programs' files are not touched");
    assert_eq!(store.load().unwrap(), Some(home()));
    assert!(aside_files(dir).is_empty());
}

#[test]
fn concurrent_stores_never_see_a_broken_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let a = home();
    let b = open_network();
    CredentialStore::open(&dir).unwrap().save(&a).unwrap();
    let seen = Arc::new(Mutex::new([0usize; 2]));
    std::thread::scope(|s| {
        for t in 0..2 {
            let (dir, a, b) = (dir.clone(), a.clone(), b.clone());
            s.spawn(move || {
                let store = CredentialStore::open(&dir).unwrap();
                for i in 0..100 {
                    store.save(if (i + t) % 2 == 0 { &a } else { &b }).unwrap();
                }
            });
        }
        for _ in 0..2 {
            let (dir, a, b, seen) = (dir.clone(), a.clone(), b.clone(), Arc::clone(&seen));
            s.spawn(move || {
                let store = CredentialStore::open(&dir).unwrap();
                for _ in 0..200 {
                    let got = store.load().unwrap().expect("always provisioned");
                    let i = usize::from(got != a);
                    assert!(got == a || got == b);
                    seen.lock().unwrap()[i] += 1;
                }
            });
        }
    });
    assert!(aside_files(&dir).is_empty());
    assert_eq!(file_names(&dir), [".credentials.lock", "credentials.json"]);
}
