//! Opening and reading files that hold state or user input without trusting what is at the
//! path: a FIFO would block `open` or `read` forever, a device or `/dev/zero` would be read
//! without end, and a symbolic link planted in a state directory would redirect a write.
//!
//! * [`open_regular`] opens with `O_NONBLOCK` (so opening a FIFO never waits for a writer)
//!   and, unless told to follow links, `O_NOFOLLOW`; then `fstat`s the open file and refuses
//!   anything but a regular file with [`FileError::NotRegular`] naming its kind.
//! * [`read_bounded`] reads at most a given number of bytes and refuses a larger file with
//!   [`FileError::TooLarge`]; [`read_to_string_bounded`] does the same for text.
//! * [`read_stream_bounded`] does the same for any reader (standard input, a pipe), and
//!   [`read_input_bounded`] for a file the user names (a FIFO or pipe is fine input there).
//!
//! Errors convert into [`io::Error`] (kind `InvalidInput`), keeping the typed error as its
//! inner error, so callers whose errors carry an `io::Error` can pass them on unchanged.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// What kind of file is at a path, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A Unix-domain socket.
    Socket,
    /// A character device (as `/dev/zero`).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A symbolic link.
    Symlink,
    /// Anything else.
    Other,
}

impl FileKind {
    /// The kind of `file_type`.
    pub fn of(file_type: std::fs::FileType) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_fifo() {
                return FileKind::Fifo;
            }
            if file_type.is_socket() {
                return FileKind::Socket;
            }
            if file_type.is_char_device() {
                return FileKind::CharDevice;
            }
            if file_type.is_block_device() {
                return FileKind::BlockDevice;
            }
        }
        if file_type.is_symlink() {
            FileKind::Symlink
        } else if file_type.is_dir() {
            FileKind::Directory
        } else if file_type.is_file() {
            FileKind::Regular
        } else {
            FileKind::Other
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Regular => "a regular file",
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a FIFO",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Symlink => "a symbolic link",
            FileKind::Other => "not a regular file",
        })
    }
}

/// A file refused by [`open_regular`] or the bounded readers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Something other than a regular file is at the path.
    #[error("{path} is {kind}, not a regular file; refusing to use it")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What is there.
        kind: FileKind,
    },
    /// The file (or stream) holds more than the reader accepts.
    #[error("{path} is larger than {limit} bytes; refusing to read it")]
    TooLarge {
        /// The path (`-` for standard input).
        path: PathBuf,
        /// The most accepted.
        limit: u64,
    },
    /// A text file is not UTF-8.
    #[error("{path} is not UTF-8 text")]
    NotUtf8 {
        /// The path.
        path: PathBuf,
    },
}

impl From<FileError> for io::Error {
    fn from(e: FileError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// Whether [`open_regular`] follows a symbolic link at the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// Refuse a link (`O_NOFOLLOW`): for files in a state directory, which nobody links.
    Refuse,
    /// Follow a link, then check what it leads to: for a file the user names.
    Follow,
}

/// Opens `path` with `options` plus `O_NONBLOCK` (and `O_NOFOLLOW` for [`Links::Refuse`]),
/// then refuses anything but a regular file. The returned file is back in blocking mode.
///
/// # Errors
/// The `open` error (`NotFound` for a missing file), or [`FileError::NotRegular`] (inside an
/// [`io::Error`]) for a FIFO, device, socket, directory or — with [`Links::Refuse`] — a link.
pub fn open_regular(path: &Path, options: &OpenOptions, links: Links) -> io::Result<File> {
    let mut options = options.clone();
    #[cfg(unix)]
    {
        use nix::fcntl::OFlag;
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        if links == Links::Refuse {
            flags |= OFlag::O_NOFOLLOW;
        }
        options.custom_flags(flags.bits());
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if links == Links::Refuse && is_symlink_refusal(&e, path) => {
            return Err(FileError::NotRegular {
                path: path.to_path_buf(),
                kind: FileKind::Symlink,
            }
            .into());
        }
        // Opening a FIFO for writing with O_NONBLOCK and no reader fails with ENXIO.
        Err(e) if e.raw_os_error() == Some(nix::libc::ENXIO) => {
            let kind = std::fs::symlink_metadata(path)
                .map(|m| FileKind::of(m.file_type()))
                .unwrap_or(FileKind::Other);
            return Err(FileError::NotRegular {
                path: path.to_path_buf(),
                kind,
            }
            .into());
        }
        Err(e) => return Err(e),
    };
    let kind = FileKind::of(file.metadata()?.file_type());
    if kind != FileKind::Regular {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind,
        }
        .into());
    }
    #[cfg(unix)]
    {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        let flags = OFlag::from_bits_truncate(fcntl(&file, FcntlArg::F_GETFL)?);
        fcntl(&file, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
    }
    Ok(file)
}

/// `O_NOFOLLOW` on a link fails with `ELOOP`.
fn is_symlink_refusal(e: &io::Error, path: &Path) -> bool {
    e.raw_os_error() == Some(nix::libc::ELOOP)
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Opens `path` for reading with [`open_regular`].
pub fn open_regular_read(path: &Path, links: Links) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    open_regular(path, &options, links)
}

/// The bytes of the regular file at `path`, at most `limit` of them, in a buffer wiped on
/// drop and allocated once (so no partial copies of secrets are left in freed memory).
///
/// # Errors
/// As [`open_regular`], or [`FileError::TooLarge`] (inside an [`io::Error`]).
pub fn read_bounded(path: &Path, limit: u64, links: Links) -> io::Result<Zeroizing<Vec<u8>>> {
    let file = open_regular_read(path, links)?;
    let len = file.metadata()?.len();
    let too_large = || FileError::TooLarge {
        path: path.to_path_buf(),
        limit,
    };
    if len > limit {
        return Err(too_large().into());
    }
    let capacity = usize::try_from(len).unwrap_or(0).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > limit) {
        return Err(too_large().into());
    }
    Ok(bytes)
}

/// The text of the regular file at `path` (following links), at most `limit` bytes.
///
/// # Errors
/// As [`read_bounded`], or [`FileError::NotUtf8`].
pub fn read_to_string_bounded(path: &Path, limit: u64) -> io::Result<String> {
    let bytes = read_bounded(path, limit, Links::Follow)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        FileError::NotUtf8 {
            path: path.to_path_buf(),
        }
        .into()
    })
}

/// At most `limit` bytes of `reader` (standard input, a pipe); `name` names it in errors.
///
/// # Errors
/// A read error, or [`FileError::TooLarge`] (inside an [`io::Error`]) as soon as the
/// `limit + 1`th byte arrives — the rest is never read.
pub fn read_stream_bounded(reader: impl Read, limit: u64, name: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > limit) {
        return Err(FileError::TooLarge {
            path: name.to_path_buf(),
            limit,
        }
        .into());
    }
    Ok(bytes)
}

/// At most `limit` bytes of the file the user named at `path`, whatever it is: a pipe or
/// FIFO (`<(…)`) is read like a file, and an endless device (`/dev/zero`) is cut off after
/// `limit + 1` bytes with [`FileError::TooLarge`].
///
/// # Errors
/// The `open` or read error, or [`FileError::TooLarge`] (inside an [`io::Error`]).
pub fn read_input_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    read_stream_bounded(File::open(path)?, limit, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(e: &io::Error) -> &FileError {
        e.get_ref()
            .and_then(|e| e.downcast_ref::<FileError>())
            .expect("a FileError")
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = read_bounded(&path, 10, Links::Refuse).unwrap_err();
        assert!(matches!(
            inner(&e),
            FileError::NotRegular {
                kind: FileKind::Fifo,
                ..
            }
        ));
        assert!(
            e.to_string().contains("is a FIFO, not a regular file"),
            "{e}"
        );
        let mut write = OpenOptions::new();
        write.write(true);
        let e = open_regular(&path, &write, Links::Refuse).unwrap_err();
        assert!(e.to_string().contains("is a FIFO"), "{e}");
        assert!(path.exists());
    }

    #[test]
    fn a_symlink_is_refused_or_followed_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"hello").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = read_bounded(&link, 10, Links::Refuse).unwrap_err();
        assert!(matches!(
            inner(&e),
            FileError::NotRegular {
                kind: FileKind::Symlink,
                ..
            }
        ));
        assert_eq!(&**read_bounded(&link, 10, Links::Follow).unwrap(), b"hello");
    }

    #[test]
    fn devices_and_directories_are_refused() {
        let e = read_bounded(Path::new("/dev/zero"), 10, Links::Follow).unwrap_err();
        assert!(e.to_string().contains("is a character device"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = read_bounded(dir.path(), 10, Links::Follow).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
    }

    #[test]
    fn sizes_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_bounded(&path, 10, Links::Refuse).unwrap().len(), 10);
        let e = read_bounded(&path, 9, Links::Refuse).unwrap_err();
        assert!(e.to_string().contains("larger than 9 bytes"), "{e}");
        let e = read_stream_bounded(io::repeat(0), 1000, Path::new("-")).unwrap_err();
        assert!(matches!(inner(&e), FileError::TooLarge { limit: 1000, .. }));
        let e = read_input_bounded(Path::new("/dev/zero"), 4096).unwrap_err();
        assert!(e.to_string().contains("larger than 4096 bytes"), "{e}");
        assert_eq!(read_input_bounded(&path, 10).unwrap(), b"0123456789");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        let e = read_to_string_bounded(&path, 10).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }
}
