//! The state directory: creation with a private mode, permission checks, the wall clock.

use std::fs::{self, File};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::StoreError;

/// Creates `dir` (and missing parents) with mode 0700.
pub(super) fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::CreateDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir).map_err(err)?;
        // The umask may have narrowed the mode further; 0700 is what is wanted.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(err)?;
        // Make the new directory's own entry durable too (best effort).
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = File::open(parent).and_then(|p| p.sync_all());
        }
    }
    #[cfg(not(unix))]
    builder.create(dir).map_err(err)?;
    Ok(())
}

/// Logs if `path` grants group or other users anything beyond `wanted`.
pub(super) fn warn_if_open_to_others(path: &Path, what: &str, wanted: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & !wanted != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "{what} has mode {mode:03o}; it should be {wanted:03o}"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what, wanted);
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
