//! Bytes in and out: reading the file, laying the document out the way the file was laid
//! out, the atomic and durable replace, and wiping secrets from memory.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::ser::{PrettyFormatter, Serializer};
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use super::NetworksError;
use wifiprov_device::atomic;
use wifiprov_device::files::{self, FileError, Links};

/// Files larger than this are refused unread (a real one is a few KiB).
pub(super) const MAX_FILE_LEN: u64 = 1024 * 1024;

/// One level of indentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Indent {
    /// A tab (as in micropython-wifimanager's README).
    Tab,
    /// This many spaces (1 to 8).
    Spaces(usize),
}

impl Indent {
    fn bytes(self) -> &'static [u8] {
        const SPACES: &[u8] = b"        ";
        match self {
            Indent::Tab => b"\t",
            Indent::Spaces(n) => SPACES.get(..n).unwrap_or(SPACES),
        }
    }
}

/// How the file is laid out, so that a rewrite looks like the file it replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Style {
    /// `None`: everything on one line.
    indent: Option<Indent>,
    /// Whether the file ends with a newline.
    trailing_newline: bool,
}

impl Style {
    /// For a file written from scratch: two-space indentation (as the schema 2 example files
    /// of micropython-wifimanager) and a final newline.
    pub(super) const NEW_FILE: Style = Style {
        indent: Some(Indent::Spaces(2)),
        trailing_newline: true,
    };

    /// The layout of `text`: the indentation of its first indented line (a tab, or 1 to 8
    /// spaces), one line if it has just one, and whether it ends with a newline.
    pub(super) fn detect(text: &[u8]) -> Style {
        let trailing_newline = text.last() == Some(&b'\n');
        let mut multi_line = false;
        for line in text.split(|&b| b == b'\n').skip(1) {
            let Some(start) = line.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r')) else {
                continue;
            };
            multi_line = true;
            match line.first() {
                Some(b'\t') => {
                    return Style {
                        indent: Some(Indent::Tab),
                        trailing_newline,
                    };
                }
                Some(b' ') => {
                    let spaces = line.iter().take(start).take_while(|&&b| b == b' ').count();
                    return Style {
                        indent: Some(Indent::Spaces(spaces.clamp(1, 8))),
                        trailing_newline,
                    };
                }
                _ => {}
            }
        }
        Style {
            indent: if multi_line {
                Style::NEW_FILE.indent
            } else {
                None
            },
            trailing_newline,
        }
    }
}

/// Counts the bytes written to it.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_json<W: Write>(out: W, root: &Map<String, Value>, style: Style) -> serde_json::Result<()> {
    match style.indent {
        None => serde_json::to_writer(out, root),
        Some(indent) => {
            let mut serializer =
                Serializer::with_formatter(out, PrettyFormatter::with_indent(indent.bytes()));
            root.serialize(&mut serializer)
        }
    }
}

/// The document as the file's bytes, in a buffer that is wiped when dropped. The buffer is
/// sized exactly beforehand, so no reallocation leaves copies of the passwords behind.
pub(super) fn encode(
    root: &Map<String, Value>,
    style: Style,
) -> serde_json::Result<Zeroizing<Vec<u8>>> {
    let mut counter = Counter(0);
    write_json(&mut counter, root, style)?;
    let mut out = Zeroizing::new(Vec::with_capacity(counter.0.saturating_add(1)));
    write_json(&mut *out, root, style)?;
    if style.trailing_newline {
        out.push(b'\n');
    }
    Ok(out)
}

/// Wipes every string in `value` (passwords live in strings).
pub(super) fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => wipe_map(map),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Wipes every string value in `map`.
pub(super) fn wipe_map(map: &mut Map<String, Value>) {
    map.values_mut().for_each(wipe);
}

/// The file's bytes, in a buffer wiped on drop and allocated once. A symbolic link is
/// followed (the user may keep the file elsewhere); what it leads to must be a regular file:
/// a FIFO, device, socket or directory is refused without blocking or reading it.
pub(super) fn read_file(path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    let file = files::open_regular_read(path, Links::Follow)?;
    let meta = file.metadata()?;
    warn_if_readable_by_others(&meta, path);
    let too_large = || -> io::Error {
        FileError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_FILE_LEN,
        }
        .into()
    };
    if meta.len() > MAX_FILE_LEN {
        return Err(too_large());
    }
    let capacity = usize::try_from(meta.len()).unwrap_or(0).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(MAX_FILE_LEN.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).map_or(true, |len| len > MAX_FILE_LEN) {
        return Err(too_large());
    }
    Ok(bytes)
}

fn warn_if_readable_by_others(meta: &fs::Metadata, path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "networks file has mode {mode:03o}: other users can read its passwords \
                 (the next save makes it 0600)"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (meta, path);
}

/// Replaces the file at `path` with `bytes`: a temporary file in the same directory, mode
/// 0600 from its creation, written, fsynced, renamed over the file, then the directory
/// fsynced. When `path` is a symbolic link, the file it points to is replaced.
pub(super) fn replace_atomically(path: &Path, bytes: &[u8]) -> Result<(), NetworksError> {
    let fail = |step: &'static str, source: io::Error| NetworksError::Save {
        path: path.to_path_buf(),
        step,
        source,
    };
    let target = resolve_symlink(path);
    let Some(name) = target.file_name() else {
        return Err(fail(
            "find its file name",
            io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"),
        ));
    };
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = name.to_str() else {
        return Err(fail(
            "find its file name",
            io::Error::new(io::ErrorKind::InvalidInput, "the file name is not UTF-8"),
        ));
    };
    let prefix = format!(".{name}.");
    atomic::remove_stale_temp_files(dir, &prefix, "networks");
    atomic::replace_private(dir, &target, &prefix, bytes)
        .map_err(|e| fail(e.step.describe(), e.source))
}

/// The file a symbolic link at `path` points to (so that saving keeps the link), or `path`.
fn resolve_symlink(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}
