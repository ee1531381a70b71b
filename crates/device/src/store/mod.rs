//! The persistent credential store: the Wi-Fi network the agent joins at start-up, kept in
//! `credentials.json` inside the agent's state directory (ESP-IDF keeps the same in NVS).
//!
//! All methods do blocking file I/O (including `fsync`); from async code call them through
//! `tokio::task::spawn_blocking`.
//!
//! # File format
//!
//! One JSON object, written pretty-printed with a trailing newline:
//!
//! ```json
//! {
//!   "format": "wifiprov-credentials",
//!   "version": 1,
//!   "ssid_hex": "486f6d65",
//!   "ssid": "Home",
//!   "passphrase_hex": "636f727265637420686f727365",
//!   "bssid": "78:8a:20:84:19:96",
//!   "channel": 6,
//!   "saved_at_unix": 1767225600
//! }
//! ```
//!
//! | field            | meaning                                                                   |
//! |------------------|---------------------------------------------------------------------------|
//! | `format`         | always `"wifiprov-credentials"`                                           |
//! | `version`        | always `1` for this layout                                                |
//! | `ssid_hex`       | the SSID bytes in hex (SSIDs are bytes, not text); 1–32 bytes            |
//! | `ssid`           | the same SSID as text when it is valid UTF-8, otherwise `null`; for humans |
//! | `passphrase_hex` | the passphrase bytes in hex; 0–64 bytes (empty for an open network)      |
//! | `bssid`          | `null`, or the only BSSID to join, as `aa:bb:cc:dd:ee:ff`                 |
//! | `channel`        | `null`, or the channel to look on first (0–255)                           |
//! | `saved_at_unix`  | when the file was written, in seconds since the Unix epoch (informative)  |
//!
//! Readers do not guess: a file whose `format` or `version` is not the one above, that has a
//! missing or unknown field, bad hex, an SSID that is empty or longer than 32 bytes, a
//! passphrase longer than 64 bytes, or an `ssid` text that disagrees with `ssid_hex`, is
//! *corrupt*. A later layout must use a new `version` number.
//!
//! # Guarantees
//!
//! * **Atomic replace.** [`CredentialStore::save`] writes a temporary file
//!   (`.credentials.json.<random>.tmp`) in the same directory, with mode 0600 from its
//!   creation, fsyncs it, renames it over `credentials.json` and fsyncs the directory. A crash
//!   at any point leaves either the old complete file or the new complete file.
//! * **Corrupt files are kept, not trusted.** [`CredentialStore::load`] renames a corrupt or
//!   unreadable file to `credentials.json.corrupt-<unix seconds>` (`…-1`, `…-2`, … if taken;
//!   never overwriting), logs a warning saying what was wrong and where the file went, and
//!   reports "not provisioned" so the agent starts provisioning afresh.
//! * **Leftover temporary files** of crashed writers are never read; [`CredentialStore::open`]
//!   removes those more than a minute old.
//! * **Only regular files.** `credentials.json`, the lock file and the temporary files are
//!   opened with `O_NOFOLLOW | O_NONBLOCK` and checked with `fstat`: a symbolic link, FIFO,
//!   device, socket or directory at one of those paths is refused with
//!   [`StoreError::Unusable`] naming what it is; it is never read, followed, moved aside or
//!   replaced. A regular file larger than 64 KiB is corrupt (moved aside unread).
//! * **Locking.** Every operation holds an exclusive `flock` on `.credentials.lock` in the
//!   directory, so stores in several threads or processes do not interfere (a process that
//!   dies releases its lock). [`CredentialStore::load`] proceeds without the lock when the
//!   lock file cannot be created (a read-only directory), as it then cannot change anything.
//! * **Secrets.** Buffers holding the file's text are zeroized after use; the passphrase, its
//!   hex and the file's contents never appear in errors, `Debug` output or log lines.
//!   (Moved-aside files keep their contents and mode; they may hold a passphrase.)
//! * **Permissions.** A directory the store creates gets mode 0700; `credentials.json` gets
//!   mode 0600. A pre-existing directory or file open to group or others is logged.

mod dir;
mod error;
mod format;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use wifiprov_wifi::Credentials;
use zeroize::Zeroizing;

use crate::atomic::{self, WriteStep};
use crate::files::{self, FileError, Links};

pub use error::StoreError;

use dir::{create_private_dir, unix_now, warn_if_open_to_others};
use format::{decode, encode, validate};

/// Name of the credential file inside the state directory.
pub const FILE_NAME: &str = "credentials.json";
/// The `format` field of the file.
pub const FORMAT: &str = "wifiprov-credentials";
/// The `version` field of the file this code writes and reads.
pub const VERSION: u64 = 1;
/// Longest SSID, in bytes.
pub const MAX_SSID_LEN: usize = 32;
/// Longest passphrase, in bytes (63 characters, or 64 hex digits of a raw PSK).
pub const MAX_PASSPHRASE_LEN: usize = 64;

/// Lock file serialising the store's operations across threads and processes.
const LOCK_NAME: &str = ".credentials.lock";
/// Temporary files are `<TMP_PREFIX><random>.tmp`.
const TMP_PREFIX: &str = ".credentials.json.";
/// Moved-aside files are `<FILE_NAME><ASIDE_INFIX><unix seconds>[-n]`.
const ASIDE_INFIX: &str = ".corrupt-";
/// A valid file is well under 1 KiB; anything larger than this is corrupt (and not read).
const MAX_FILE_LEN: u64 = 64 * 1024;
/// Room for the largest valid file, so encoding never reallocates (leaving stray copies).
const ENCODE_CAPACITY: usize = 2048;

/// The credential file in a state directory. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct CredentialStore {
    dir: PathBuf,
    path: PathBuf,
}

impl CredentialStore {
    /// The store in `dir`, which is created (mode 0700) if missing. Removes temporary files
    /// that crashed writers left behind more than a minute ago.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            create_private_dir(&dir)?;
        } else {
            warn_if_open_to_others(&dir, "state directory", 0o700);
        }
        let store = CredentialStore {
            path: dir.join(FILE_NAME),
            dir,
        };
        // Best effort: without the lock (read-only directory) nothing can be removed anyway.
        if let Ok(_lock) = store.lock() {
            store.remove_stale_temp_files();
        }
        Ok(store)
    }

    /// The credential file (`<dir>/credentials.json`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The saved credentials, or `None` if there are none.
    ///
    /// A corrupt or unreadable file is moved aside (see the [module documentation](self)) and
    /// `None` returned; the error is only for failing to move it aside.
    pub fn load(&self) -> Result<Option<Credentials>, StoreError> {
        // Without the lock file (read-only directory) reading is still possible; a lock path
        // that is not a regular file (a planted link, a FIFO) is refused outright.
        let _lock = match self.lock() {
            Ok(lock) => Some(lock),
            Err(StoreError::Lock { path, source }) if is_not_regular(&source) => {
                return Err(StoreError::Unusable { path, source });
            }
            Err(_) => None,
        };
        let problem = match self.read_file() {
            Ok(None) => return Ok(None),
            Ok(Some(bytes)) => match decode(&bytes) {
                Ok(creds) => return Ok(Some(creds)),
                Err(corruption) => corruption.to_string(),
            },
            Err(Ok(e)) => format!("unreadable: {e}"),
            Err(Err(source)) => {
                return Err(StoreError::Unusable {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let aside = self.move_aside()?;
        tracing::warn!(
            path = %self.path.display(),
            moved_to = %aside.display(),
            "credential file is corrupt ({problem}); moved it aside to {}, starting unprovisioned",
            aside.display(),
        );
        Ok(None)
    }

    /// Replaces the saved credentials atomically and durably.
    pub fn save(&self, creds: &Credentials) -> Result<(), StoreError> {
        validate(creds).map_err(|c| StoreError::Invalid {
            reason: c.to_string(),
        })?;
        let _lock = self.lock()?;
        let text = encode(creds, unix_now());

        let written = atomic::replace_private(&self.dir, &self.path, TMP_PREFIX, &text);
        drop(text);
        written.map_err(|e| {
            let temp = e.temp.clone().unwrap_or_else(|| self.dir.clone());
            match e.step {
                WriteStep::CheckTarget => StoreError::Unusable {
                    path: self.path.clone(),
                    source: e.source,
                },
                WriteStep::CreateTemp => StoreError::CreateTemp {
                    dir: self.dir.clone(),
                    source: e.source,
                },
                WriteStep::SetPermissions => StoreError::SetPermissions {
                    path: temp,
                    source: e.source,
                },
                WriteStep::Write => StoreError::Write {
                    path: temp,
                    source: e.source,
                },
                WriteStep::Fsync => StoreError::Fsync {
                    path: temp,
                    source: e.source,
                },
                WriteStep::Rename => StoreError::Rename {
                    from: temp,
                    to: self.path.clone(),
                    source: e.source,
                },
                WriteStep::SyncDir => StoreError::Fsync {
                    path: self.dir.clone(),
                    source: e.source,
                },
            }
        })?;
        tracing::debug!(path = %self.path.display(), ssid = ?creds.ssid_lossy(), "saved credentials");
        Ok(())
    }

    /// Removes the saved credentials (succeeds if there are none). Something other than a
    /// regular file at the path is refused ([`StoreError::Unusable`]) and left alone.
    pub fn clear(&self) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        if let Ok(meta) = fs::symlink_metadata(&self.path)
            && !meta.file_type().is_file()
        {
            return Err(StoreError::Unusable {
                path: self.path.clone(),
                source: FileError::NotRegular {
                    path: self.path.clone(),
                    kind: files::FileKind::of(meta.file_type()),
                }
                .into(),
            });
        }
        match fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(StoreError::Remove {
                    path: self.path.clone(),
                    source,
                });
            }
        }
        self.sync_dir()?;
        tracing::debug!(path = %self.path.display(), "cleared credentials");
        Ok(())
    }

    /// Whether credentials with a non-empty SSID are saved (ESP-IDF's definition of
    /// "provisioned"). Like [`load`](Self::load), moves a corrupt file aside.
    pub fn is_provisioned(&self) -> bool {
        matches!(self.load(), Ok(Some(creds)) if !creds.ssid.is_empty())
    }

    /// Takes the store's exclusive lock (released when the returned file is dropped).
    fn lock(&self) -> Result<File, StoreError> {
        let path = self.dir.join(LOCK_NAME);
        let lock_err = |source| StoreError::Lock {
            path: path.clone(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = files::open_regular(&path, &options, Links::Refuse).map_err(lock_err)?;
        file.lock().map_err(lock_err)?;
        Ok(file)
    }

    /// The credential file's bytes, `None` if it does not exist. The buffer is zeroized on
    /// drop and allocated once (so no partial copies are left in freed memory). A FIFO,
    /// device, socket, directory or symbolic link is refused (`Err(Err(_))`), not read.
    fn read_file(&self) -> Result<Option<Zeroizing<Vec<u8>>>, Result<io::Error, io::Error>> {
        match files::read_bounded(&self.path, MAX_FILE_LEN, Links::Refuse) {
            Ok(bytes) => {
                warn_if_open_to_others(&self.path, "credential file", 0o600);
                Ok(Some(bytes))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if is_not_regular(&e) => Err(Err(e)),
            Err(e) => Err(Ok(e)),
        }
    }

    /// Renames the credential file to a free `credentials.json.corrupt-<secs>[-n]` name.
    /// Called with the lock held, so the name stays free until the rename.
    fn move_aside(&self) -> Result<PathBuf, StoreError> {
        let secs = unix_now();
        let mut last = None;
        for n in 0..1000u32 {
            let name = if n == 0 {
                format!("{FILE_NAME}{ASIDE_INFIX}{secs}")
            } else {
                format!("{FILE_NAME}{ASIDE_INFIX}{secs}-{n}")
            };
            let aside = self.dir.join(name);
            match fs::symlink_metadata(&aside) {
                Ok(_) => {
                    last = Some(aside);
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(StoreError::MoveAside {
                        from: self.path.clone(),
                        to: aside,
                        source,
                    });
                }
            }
            fs::rename(&self.path, &aside).map_err(|source| StoreError::MoveAside {
                from: self.path.clone(),
                to: aside.clone(),
                source,
            })?;
            if let Err(e) = self.sync_dir() {
                tracing::warn!("{e}");
            }
            return Ok(aside);
        }
        Err(StoreError::MoveAside {
            from: self.path.clone(),
            to: last.unwrap_or_else(|| self.dir.clone()),
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "too many moved-aside files with this timestamp",
            ),
        })
    }

    /// Removes this store's temporary files older than [`STALE_TMP_AGE`]. Called with the lock
    /// held, so no writer of this store is between creating and renaming its temporary file;
    /// the age check additionally spares any writer that does not take the lock.
    fn remove_stale_temp_files(&self) {
        atomic::remove_stale_temp_files(&self.dir, TMP_PREFIX, "credential");
    }

    /// Makes renames and removals in the directory durable.
    fn sync_dir(&self) -> Result<(), StoreError> {
        #[cfg(unix)]
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|source| StoreError::Fsync {
                path: self.dir.clone(),
                source,
            })?;
        Ok(())
    }
}

/// Whether `e` is a refusal of something that is not a regular file.
fn is_not_regular(e: &io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<FileError>())
        .is_some_and(|f| matches!(f, FileError::NotRegular { .. }))
}
