//! Replacing a private file atomically: a temporary file in the same directory, mode 0600 from
//! its creation, written, fsynced, renamed over the target, then the directory fsynced. A crash
//! at any point leaves either the old complete file or the new complete file.
//!
//! Used by the credential store and by the Wi-Fi manager's `networks.json`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::files::{FileError, FileKind};

/// Temporary files older than this are taken to be left by a crashed writer.
pub const STALE_TMP_AGE: Duration = Duration::from_secs(60);

/// The step of [`replace_private`] that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteStep {
    /// Checking that the target, if present, is a regular file.
    CheckTarget,
    /// Creating the temporary file.
    CreateTemp,
    /// Setting its mode to 0600.
    SetPermissions,
    /// Writing it.
    Write,
    /// Fsyncing it.
    Fsync,
    /// Renaming it over the target.
    Rename,
    /// Fsyncing the directory.
    SyncDir,
}

impl WriteStep {
    /// The step in words ("write the temporary file").
    pub fn describe(self) -> &'static str {
        match self {
            WriteStep::CheckTarget => "check what is there",
            WriteStep::CreateTemp => "create a temporary file",
            WriteStep::SetPermissions => "set the temporary file's mode to 0600",
            WriteStep::Write => "write the temporary file",
            WriteStep::Fsync => "fsync the temporary file",
            WriteStep::Rename => "rename the temporary file over it",
            WriteStep::SyncDir => "fsync its directory",
        }
    }
}

/// A failed [`replace_private`].
#[derive(Debug)]
pub struct WriteError {
    /// What failed.
    pub step: WriteStep,
    /// The temporary file, once it exists.
    pub temp: Option<PathBuf>,
    /// The cause.
    pub source: io::Error,
}

/// Replaces `target` (in `dir`) with `bytes`, through a temporary file named
/// `<tmp_prefix><random>.tmp`. Something other than a regular file at `target` (a symbolic
/// link, FIFO, device, socket or directory) is refused at step
/// [`CheckTarget`](WriteStep::CheckTarget), never replaced.
pub fn replace_private(
    dir: &Path,
    target: &Path,
    tmp_prefix: &str,
    bytes: &[u8],
) -> Result<(), WriteError> {
    match fs::symlink_metadata(target) {
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(WriteError {
                step: WriteStep::CheckTarget,
                temp: None,
                source: FileError::NotRegular {
                    path: target.to_path_buf(),
                    kind: FileKind::of(meta.file_type()),
                }
                .into(),
            });
        }
        _ => {}
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(tmp_prefix).suffix(TMP_SUFFIX);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut tmp = builder.tempfile_in(dir).map_err(|source| WriteError {
        step: WriteStep::CreateTemp,
        temp: None,
        source,
    })?;
    let temp = tmp.path().to_path_buf();
    let fail = |step: WriteStep| {
        let temp = temp.clone();
        move |source| WriteError {
            step,
            temp: Some(temp),
            source,
        }
    };
    // Created 0600 (the umask can only narrow that); make sure before writing secrets.
    make_private(tmp.as_file()).map_err(fail(WriteStep::SetPermissions))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.flush())
        .map_err(fail(WriteStep::Write))?;
    tmp.as_file().sync_all().map_err(fail(WriteStep::Fsync))?;
    tmp.persist(target)
        .map_err(|e| fail(WriteStep::Rename)(e.error))?;
    sync_dir(dir).map_err(fail(WriteStep::SyncDir))
}

/// The suffix of every temporary file.
pub const TMP_SUFFIX: &str = ".tmp";

/// Gives `file` mode 0600 (owner read and write only).
pub fn make_private(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

/// Makes renames and removals in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Best effort: removes `dir`'s temporary files named `<tmp_prefix>…​.tmp` that are older than
/// [`STALE_TMP_AGE`] (left by a writer that crashed between creating and renaming one).
/// Younger ones may belong to a writer still at work and are left alone. `what` names the file
/// in log lines.
pub fn remove_stale_temp_files(dir: &Path, tmp_prefix: &str, what: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(tmp_prefix) && name.ends_with(TMP_SUFFIX)) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let stale = meta.is_file()
            && meta
                .modified()
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age > STALE_TMP_AGE);
        if !stale {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "removed a temporary {what} file left by an interrupted save")
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot remove a stale temporary {what} file: {e}")
            }
        }
    }
}
