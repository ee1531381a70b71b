//! What the credential store does with things that are not regular files at its paths: a
//! FIFO, a directory or a planted symbolic link is refused with a message naming it, never
//! read (no hang), followed, moved aside or replaced.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fs;
use std::path::Path;

use wifiprov_device::store::{CredentialStore, StoreError};
use wifiprov_wifi::Credentials;

fn creds() -> Credentials {
    Credentials::new(b"Home".to_vec(), b"correct horse".to_vec()).unwrap()
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).unwrap();
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    fs::symlink_metadata(path).unwrap().file_type().is_fifo()
}

#[test]
fn a_fifo_credential_file_is_refused_not_read_nor_moved() {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    mkfifo(store.path());
    let e = store.load().unwrap_err();
    assert!(matches!(e, StoreError::Unusable { .. }), "{e:?}");
    assert!(
        e.to_string().contains("is a FIFO, not a regular file"),
        "{e}"
    );
    let e = store.save(&creds()).unwrap_err();
    assert!(matches!(e, StoreError::Unusable { .. }), "{e:?}");
    assert!(is_fifo(store.path()));
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "only the FIFO and the lock"
    );
}

#[test]
fn a_directory_credential_file_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    fs::create_dir(store.path()).unwrap();
    let e = store.load().unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    assert!(store.path().is_dir());
}

#[test]
fn a_symlinked_credential_file_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("victim");
    fs::write(&target, b"precious").unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    std::os::unix::fs::symlink(&target, store.path()).unwrap();
    let e = store.load().unwrap_err();
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
    let e = store.save(&creds()).unwrap_err();
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
    let e = store.clear().unwrap_err();
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
    assert!(fs::symlink_metadata(store.path()).unwrap().is_symlink());
    assert_eq!(fs::read(&target).unwrap(), b"precious");
}

#[test]
fn a_symlinked_lock_file_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("victim");
    fs::write(&target, b"precious").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join(".credentials.lock")).unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    let e = store.load().unwrap_err();
    assert!(matches!(e, StoreError::Unusable { .. }), "{e:?}");
    assert!(e.to_string().contains(".credentials.lock"), "{e}");
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
    let e = store.save(&creds()).unwrap_err();
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
    assert_eq!(fs::read(&target).unwrap(), b"precious");
    assert!(!store.path().exists());
}

#[test]
fn a_dangling_symlinked_lock_file_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("created-through-the-link");
    std::os::unix::fs::symlink(&target, dir.path().join(".credentials.lock")).unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    assert!(store.save(&creds()).is_err());
    assert!(!target.exists());
}

#[test]
fn a_corrupt_regular_file_is_still_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    fs::write(store.path(), b"not json").unwrap();
    assert!(store.load().unwrap().is_none());
    assert!(!store.path().exists());
    let aside = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains(".corrupt-"));
    assert!(aside);
}
