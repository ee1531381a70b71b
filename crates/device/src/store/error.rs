//! Why a store operation failed.

use std::io;
use std::path::PathBuf;

/// Why a store operation failed. Never contains the passphrase.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state directory could not be created.
    #[error("cannot create state directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The temporary file for a save could not be created.
    #[error("cannot create a temporary file in {dir}: {source}")]
    CreateTemp {
        /// The state directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file's mode could not be set.
    #[error("cannot set the permissions of {path}: {source}")]
    SetPermissions {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing the temporary file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The temporary file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `fsync` of a file or directory failed.
    #[error("cannot fsync {path}: {source}")]
    Fsync {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Renaming the temporary file over the credential file failed.
    #[error("cannot rename {from} to {to}: {source}")]
    Rename {
        /// The temporary file.
        from: PathBuf,
        /// The credential file.
        to: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A corrupt credential file could not be moved aside.
    #[error("cannot move corrupt credential file {from} aside to {to}: {source}")]
    MoveAside {
        /// The corrupt credential file.
        from: PathBuf,
        /// Where it was to go.
        to: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Something other than a regular file (a FIFO, device, socket, directory or symbolic
    /// link) is at the credential file's path. It is neither read nor moved aside.
    #[error("cannot use {path}: {source}")]
    Unusable {
        /// The credential file.
        path: PathBuf,
        /// The refusal, a [`FileError`](crate::files::FileError) inside.
        #[source]
        source: io::Error,
    },
    /// The credential file could not be removed.
    #[error("cannot remove {path}: {source}")]
    Remove {
        /// The credential file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// [`CredentialStore::save`](super::CredentialStore::save) was given credentials that could not be loaded back.
    #[error("refusing to save invalid credentials: {reason}")]
    Invalid {
        /// What is wrong (never the passphrase).
        reason: String,
    },
    /// The operation was interrupted before it finished (its task panicked or was cancelled).
    #[error("the store operation did not finish: {reason}")]
    Interrupted {
        /// What happened.
        reason: String,
    },
}
