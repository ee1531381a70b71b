//! What can go wrong reading, editing or saving `networks.json`.

use std::io;
use std::path::PathBuf;

/// Why reading, editing or saving a `networks.json` failed.
///
/// Messages name the file, and for a bad document the JSON path of the offending value
/// (`known_networks[2].ssid`); the [module documentation](super) lists them all. Passwords
/// never appear in errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworksError {
    /// The file could not be read (missing, unreadable, a directory, too large).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file is not JSON.
    #[error("{path}: not valid JSON (line {line}, column {column}): {message}")]
    NotJson {
        /// The file.
        path: PathBuf,
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
        /// What the JSON parser expected, without the position.
        message: String,
    },
    /// The file is JSON, but not a valid schema 2 document.
    #[error("{path}: {}: {problem}", json_path_label(.json_path))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where in the document, as `access_point.config.channel` or `known_networks[2].ssid`;
        /// empty for the document itself (shown as "top level").
        json_path: String,
        /// What is wrong there.
        problem: Problem,
    },
    /// An argument of an edit (or of [`NetworksFile::new`](super::NetworksFile::new)) was
    /// refused; the document is unchanged.
    #[error("invalid {what}: {problem}")]
    InvalidArgument {
        /// Which argument: `SSID`, `password`, or a JSON path such as
        /// `access_point.config.channel`.
        what: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// [`NetworksFile::reorder`](super::NetworksFile::reorder) was not given a permutation of
    /// the known networks; the document is unchanged.
    #[error("cannot reorder known networks: {0}")]
    Reorder(ReorderProblem),
    /// Saving failed; the file on disk is the previous version.
    #[error("cannot save {path}: {step}: {source}")]
    Save {
        /// The file.
        path: PathBuf,
        /// The step that failed, as "fsync the temporary file".
        step: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl NetworksError {
    /// True if this is a [`Read`](Self::Read) error because the file does not exist, so a
    /// caller can start from [`NetworksFile::new`](super::NetworksFile::new) instead.
    pub fn is_not_found(&self) -> bool {
        matches!(self, NetworksError::Read { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The JSON path of an [`Invalid`](Self::Invalid) document error.
    pub fn json_path(&self) -> Option<&str> {
        match self {
            NetworksError::Invalid { json_path, .. } => Some(json_path),
            _ => None,
        }
    }

    /// The problem of an [`Invalid`](Self::Invalid) or
    /// [`InvalidArgument`](Self::InvalidArgument) error.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            NetworksError::Invalid { problem, .. }
            | NetworksError::InvalidArgument { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

/// How an empty JSON path (the document itself) is named in messages.
fn json_path_label(json_path: &str) -> &str {
    if json_path.is_empty() {
        "top level"
    } else {
        json_path
    }
}

/// What is wrong with one value of the document (or with an edit's argument).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A required key is absent.
    #[error("required key is missing")]
    Missing,
    /// The value has the wrong JSON type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// The type wanted, as "a string".
        expected: &'static str,
        /// The type found, as "a number".
        found: &'static str,
    },
    /// The document has no `schema` key.
    #[error(
        "missing; this version reads schema 2 (a file without \"schema\" is in the older \
         schema 1 layout)"
    )]
    MissingSchema,
    /// The document's `schema` is a number other than 2.
    #[error("schema {found} is not supported; this version reads schema 2")]
    UnsupportedSchema {
        /// The schema number, as written in the file.
        found: String,
    },
    /// An SSID (or the access point's `essid`) is empty or longer than 32 bytes.
    #[error("SSID must be 1 to 32 bytes long, found {len} bytes")]
    SsidLength {
        /// Its length in bytes (UTF-8).
        len: usize,
    },
    /// A known network's password has a length no Wi-Fi security mode accepts (or is 64
    /// characters that are not all hex digits).
    #[error(
        "password of {len} bytes is not valid: use an empty password (open network), 5 or 13 \
         characters (WEP), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)"
    )]
    PasswordLength {
        /// Its length in bytes (UTF-8).
        len: usize,
    },
    /// The access point's password is neither absent/empty nor a valid WPA passphrase or key.
    #[error(
        "password of {len} bytes is not valid: use none (open access point), 8 to 63 \
         characters (WPA passphrase) or 64 hex digits (WPA key)"
    )]
    ApPasswordLength {
        /// Its length in bytes (UTF-8).
        len: usize,
    },
    /// A password contains a NUL character (`\u0000`), which no network accepts.
    #[error("contains a NUL character")]
    PasswordNul,
    /// A password given to an edit is not UTF-8 (the file stores passwords as JSON text).
    #[error("not valid UTF-8 (networks.json stores passwords as text)")]
    PasswordNotText,
    /// `channel` is not an integer from 1 to 14.
    #[error("channel must be an integer from 1 to 14, found {found}")]
    Channel {
        /// The value, as written in the file.
        found: String,
    },
    /// `start_policy` is not one of the three policies.
    #[error("unknown start policy {found:?}; expected \"always\", \"fallback\" or \"never\"")]
    UnknownStartPolicy {
        /// The value found.
        found: String,
    },
    /// The same SSID appears twice in `known_networks`.
    #[error("\"{ssid}\" is already listed at known_networks[{first}]")]
    DuplicateSsid {
        /// The SSID, escaped (see [`wifiprov_types::Escaped`]).
        ssid: String,
        /// Index of its first entry.
        first: usize,
    },
    /// `ssid_hex` is not an even number of hex digits.
    #[error("expected the SSID's bytes as hex digits, two per byte")]
    NotHex,
    /// Two spellings of one value were both given: a MicroPython alias (`ssid` for `essid`,
    /// `key` for `password`) that disagrees with the key it stands for, or a known network with
    /// both `ssid` and `ssid_hex`.
    #[error("conflicts with {other}; give only one of the two")]
    ConflictingAlias {
        /// JSON path of the other key, as `access_point.config.essid`.
        other: String,
    },
}

/// Why a new order is not a permutation of the known networks. The SSIDs are escaped (see
/// [`wifiprov_types::Escaped`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReorderProblem {
    /// The order names an SSID that is not a known network.
    #[error("\"{0}\" is not a known network")]
    Unknown(String),
    /// The order names an SSID twice.
    #[error("\"{0}\" is listed more than once")]
    Repeated(String),
    /// The order leaves out a known network.
    #[error("\"{0}\" is missing; list every known network exactly once")]
    Missing(String),
}
