//! [`NetworksFile`]: the document as read, its typed view, edits and saving.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use wifiprov_types::{Passphrase, Ssid};
use zeroize::{Zeroize, Zeroizing};

use super::parse::{self, AP_CONFIG_KEYS};
use super::storage::{self, Style};
use super::strict;
use super::{
    AccessPointConfig, AddOutcome, KnownNetwork, Networks, NetworksError, Problem, ReorderProblem,
    SCHEMA,
};

/// The JSON document, every string of which is wiped when it is dropped.
#[derive(Clone)]
struct Document(Map<String, Value>);

impl Drop for Document {
    fn drop(&mut self) {
        storage::wipe_map(&mut self.0);
    }
}

/// A `networks.json` file: the document exactly as read (every key, known or not, in its
/// order), its checked, typed view ([`Networks`]), and the edits the manager makes.
///
/// Edits change the document and the typed view together; [`save`](Self::save) writes the
/// document back atomically, so keys this crate does not know survive every rewrite. See the
/// [module documentation](super) for the format and the rules.
#[derive(Clone)]
pub struct NetworksFile {
    path: PathBuf,
    document: Document,
    networks: Networks,
    style: Style,
}

impl NetworksFile {
    /// Reads and checks the file at `path`.
    ///
    /// # Errors
    /// [`NetworksError::Read`] if it cannot be read (use
    /// [`is_not_found`](NetworksError::is_not_found) to tell a missing file), otherwise as
    /// [`from_str`](Self::from_str).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, NetworksError> {
        let path = path.as_ref();
        let bytes = storage::read_file(path).map_err(|source| NetworksError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, path.to_path_buf())
    }

    /// Checks `text` as the contents of a `networks.json`; `path` is where it lives (named in
    /// errors, and where [`save`](Self::save) writes).
    ///
    /// # Errors
    /// [`NetworksError::NotJson`] for a syntax error, [`NetworksError::Invalid`] for a
    /// document that breaks a rule of the [module documentation](super).
    pub fn from_str(text: &str, path: impl Into<PathBuf>) -> Result<Self, NetworksError> {
        Self::from_bytes(text.as_bytes(), path.into())
    }

    fn from_bytes(bytes: &[u8], path: PathBuf) -> Result<Self, NetworksError> {
        let bytes = match bytes.strip_prefix(UTF8_BOM) {
            Some(rest) => {
                tracing::warn!(
                    path = %path.display(),
                    "{} starts with a UTF-8 byte-order mark; reading it without the mark \
                     (the next save writes the file without one)",
                    path.display()
                );
                rest
            }
            None => bytes,
        };
        let value: Value = match strict::from_slice(bytes) {
            Ok(value) => value,
            Err(e) => return Err(not_json(path, &e)),
        };
        let document = match value {
            Value::Object(root) => Document(root),
            mut other => {
                let found = parse::type_name(&other);
                storage::wipe(&mut other);
                return Err(NetworksError::Invalid {
                    path,
                    json_path: String::new(),
                    problem: Problem::WrongType {
                        expected: "an object",
                        found,
                    },
                });
            }
        };
        match parse::networks(&document.0) {
            Ok(networks) => Ok(NetworksFile {
                path,
                document,
                networks,
                style: Style::detect(bytes),
            }),
            Err(located) => Err(NetworksError::Invalid {
                path,
                json_path: located.json_path,
                problem: located.problem,
            }),
        }
    }

    /// A new document for `path` (not written until [`save`](Self::save)): schema 2, no
    /// known networks, and `access_point` as given, its `extra` keys after the typed ones.
    ///
    /// # Errors
    /// [`NetworksError::InvalidArgument`], naming the JSON path, if `access_point` breaks a
    /// rule (an empty `essid`, channel 0, a 5-byte password, …).
    pub fn new(
        path: impl Into<PathBuf>,
        access_point: &AccessPointConfig,
    ) -> Result<Self, NetworksError> {
        let mut config = Map::new();
        config.insert(
            "essid".to_owned(),
            Value::String(access_point.essid.clone()),
        );
        if let Some(channel) = access_point.channel {
            config.insert("channel".to_owned(), Value::from(channel));
        }
        config.insert("hidden".to_owned(), Value::Bool(access_point.hidden));
        if let Some(password) = &access_point.password {
            let text = std::str::from_utf8(password.expose()).map_err(|_| {
                invalid_argument("access_point.config.password", Problem::PasswordNotText)
            })?;
            config.insert("password".to_owned(), Value::String(text.to_owned()));
        }
        for (key, value) in &access_point.extra {
            if !AP_CONFIG_KEYS.contains(&key.as_str()) {
                config.insert(key.clone(), value.clone());
            }
        }
        let mut ap = Map::new();
        ap.insert("config".to_owned(), Value::Object(config));
        ap.insert(
            "enables_webrepl".to_owned(),
            Value::Bool(access_point.enables_webrepl),
        );
        ap.insert(
            "start_policy".to_owned(),
            Value::String(access_point.start_policy.as_str().to_owned()),
        );
        let mut root = Map::new();
        root.insert("schema".to_owned(), Value::from(SCHEMA));
        root.insert("known_networks".to_owned(), Value::Array(Vec::new()));
        root.insert("access_point".to_owned(), Value::Object(ap));
        let document = Document(root);
        let networks = parse::networks(&document.0)
            .map_err(|located| invalid_argument(located.json_path, located.problem))?;
        Ok(NetworksFile {
            path: path.into(),
            document,
            networks,
            style: Style::NEW_FILE,
        })
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The typed view of the document.
    pub fn networks(&self) -> &Networks {
        &self.networks
    }

    /// The known networks, most preferred first.
    pub fn known(&self) -> &[KnownNetwork] {
        &self.networks.known
    }

    /// The access point settings.
    pub fn access_point(&self) -> &AccessPointConfig {
        &self.networks.access_point
    }

    /// Makes `ssid` the most preferred known network with `password` (empty for an open
    /// network): a new entry `{"ssid", "password", "enables_webrepl": false}` at the top, or
    /// the existing entry moved to the top with its `password` replaced and all its other
    /// keys (and their order) kept. This is what a successful provisioning does.
    ///
    /// # Errors
    /// [`NetworksError::InvalidArgument`] (and nothing changed) if `password` is not UTF-8
    /// or has an invalid length. An SSID that is not UTF-8 is written as `"ssid_hex"`.
    pub fn add_or_promote(
        &mut self,
        ssid: &Ssid,
        password: Passphrase,
    ) -> Result<AddOutcome, NetworksError> {
        let text = std::str::from_utf8(password.expose())
            .map_err(|_| invalid_argument("password", Problem::PasswordNotText))?;
        parse::check_known_password(text)
            .map_err(|problem| invalid_argument("password", problem))?;

        let position = self.networks.position(ssid);
        let new_password = Value::String(text.to_owned());
        self.with_known_entries(|entries| match position.filter(|&i| i < entries.len()) {
            Some(index) => {
                let mut entry = entries.remove(index);
                if let Value::Object(fields) = &mut entry
                    && (!text.is_empty() || fields.contains_key("password"))
                    && let Some(mut old) = fields.insert("password".to_owned(), new_password)
                {
                    storage::wipe(&mut old);
                }
                entries.insert(0, entry);
            }
            None => {
                let mut entry = Map::new();
                let (key, name) = parse::ssid_entry(ssid);
                entry.insert(key.to_owned(), name);
                entry.insert("password".to_owned(), new_password);
                entry.insert("enables_webrepl".to_owned(), Value::Bool(false));
                entries.insert(0, Value::Object(entry));
            }
        });

        let known = &mut self.networks.known;
        match position {
            Some(index) => {
                let mut network = known.remove(index);
                network.password = password;
                known.insert(0, network);
                Ok(AddOutcome::Promoted)
            }
            None => {
                known.insert(
                    0,
                    KnownNetwork {
                        ssid: ssid.clone(),
                        password,
                        enables_webrepl: false,
                    },
                );
                Ok(AddOutcome::Added)
            }
        }
    }

    /// Removes the known network `ssid` (its whole entry, unknown keys included); false if
    /// there is none.
    pub fn remove(&mut self, ssid: impl AsRef<[u8]>) -> bool {
        let Some(index) = self.networks.position(ssid) else {
            return false;
        };
        self.with_known_entries(|entries| {
            if index < entries.len() {
                let mut old = entries.remove(index);
                storage::wipe(&mut old);
            }
        });
        self.networks.known.remove(index);
        true
    }

    /// Puts the known networks in the order of `order`, which must name each of them exactly
    /// once. Entries move whole, unknown keys included.
    ///
    /// # Errors
    /// [`NetworksError::Reorder`] (and nothing changed) if `order` names an unknown SSID,
    /// names one twice, or leaves one out.
    pub fn reorder<S: AsRef<[u8]>>(&mut self, order: &[S]) -> Result<(), NetworksError> {
        let mut taken = vec![false; self.networks.known.len()];
        let mut permutation = Vec::with_capacity(order.len());
        for ssid in order {
            let ssid = ssid.as_ref();
            let shown = || wifiprov_types::Escaped(ssid).to_string();
            let index = self
                .networks
                .position(ssid)
                .ok_or_else(|| NetworksError::Reorder(ReorderProblem::Unknown(shown())))?;
            match taken.get_mut(index) {
                Some(seen) if !*seen => *seen = true,
                _ => {
                    return Err(NetworksError::Reorder(ReorderProblem::Repeated(shown())));
                }
            }
            permutation.push(index);
        }
        if let Some((missing, _)) = self
            .networks
            .known
            .iter()
            .zip(&taken)
            .find(|(_, seen)| !**seen)
        {
            return Err(NetworksError::Reorder(ReorderProblem::Missing(
                missing.ssid.to_string(),
            )));
        }
        self.with_known_entries(|entries| {
            *entries = permute(std::mem::take(entries), &permutation);
        });
        self.networks.known = permute(std::mem::take(&mut self.networks.known), &permutation);
        Ok(())
    }

    /// The document as it would be saved: keys in their original order, laid out like the
    /// file that was read (its indentation — tab or spaces — or one line, and its final
    /// newline; two-space indentation for a [new](Self::new) document). The text holds the
    /// passwords; it is wiped when dropped.
    pub fn to_json_string(&self) -> Zeroizing<String> {
        // Writing a `serde_json::Value` to memory cannot fail, and its output is UTF-8.
        let mut bytes = match storage::encode(&self.document.0, self.style) {
            Ok(bytes) => bytes,
            Err(_) => return Zeroizing::new(String::new()),
        };
        match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(text) => Zeroizing::new(text),
            Err(e) => {
                e.into_bytes().zeroize();
                Zeroizing::new(String::new())
            }
        }
    }

    /// Writes the document to [`path`](Self::path), atomically and durably: a temporary file
    /// in the same directory with mode 0600, written, fsynced, renamed over the file, and the
    /// directory fsynced. A crash at any moment leaves the old file or the new one, never a
    /// mix. The file gets mode 0600 whatever its mode was.
    ///
    /// # Errors
    /// [`NetworksError::Save`], naming the step that failed; the file is then unchanged.
    pub fn save(&self) -> Result<(), NetworksError> {
        let bytes =
            storage::encode(&self.document.0, self.style).map_err(|e| NetworksError::Save {
                path: self.path.clone(),
                step: "encode the document",
                source: std::io::Error::other(e),
            })?;
        storage::replace_atomically(&self.path, &bytes)?;
        tracing::debug!(
            path = %self.path.display(),
            known_networks = self.networks.known.len(),
            "saved networks file"
        );
        Ok(())
    }

    /// Runs `edit` on the `known_networks` array of the document (which exists: the document
    /// was checked), leaving the key where it is.
    fn with_known_entries<R>(&mut self, edit: impl FnOnce(&mut Vec<Value>) -> R) -> R {
        let slot = self
            .document
            .0
            .entry("known_networks")
            .or_insert(Value::Null);
        let mut entries = match std::mem::take(slot) {
            Value::Array(entries) => entries,
            mut other => {
                storage::wipe(&mut other);
                Vec::new()
            }
        };
        let result = edit(&mut entries);
        *slot = Value::Array(entries);
        result
    }
}

impl fmt::Debug for NetworksFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworksFile")
            .field("path", &self.path)
            .field("networks", &self.networks)
            .finish_non_exhaustive()
    }
}

/// `items` in the order `permutation` gives by index (a checked permutation).
fn permute<T>(items: Vec<T>, permutation: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    permutation
        .iter()
        .filter_map(|&index| slots.get_mut(index).and_then(Option::take))
        .collect()
}

fn invalid_argument(what: impl Into<String>, problem: Problem) -> NetworksError {
    NetworksError::InvalidArgument {
        what: what.into(),
        problem,
    }
}

/// The UTF-8 byte-order mark some editors put at the start of a file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A syntax error, its position taken out of the parser's message and reported apart.
fn not_json(path: PathBuf, error: &serde_json::Error) -> NetworksError {
    let (line, column) = (error.line(), error.column());
    let message = error.to_string();
    let message = message
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&message)
        .to_owned();
    NetworksError::NotJson {
        path,
        line,
        column,
        message,
    }
}
