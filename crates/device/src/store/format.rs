//! The file's layout (version 1): encoding, decoding and the rules every saved and loaded
//! set of credentials obeys.

use std::fmt;

use serde::{Deserialize, Serialize};
use wifiprov_wifi::{Bssid, Credentials, Passphrase, Ssid, SsidError};
use zeroize::{Zeroize, Zeroizing};

use super::{ENCODE_CAPACITY, FORMAT, MAX_PASSPHRASE_LEN, MAX_SSID_LEN, VERSION};

/// What is wrong with a credential file or with credentials to save. Its `Display` names
/// fields and positions, never the passphrase or the file's contents.
#[derive(Debug)]
pub(super) enum Corruption {
    /// Not JSON, or JSON of the wrong shape. serde_json's messages may quote values, so only
    /// the category, the name of a missing or unknown field and the position are kept.
    Json {
        what: String,
        line: usize,
        column: usize,
    },
    WrongFormat(String),
    MissingFormat,
    WrongVersion(u64),
    MissingVersion,
    BadHex(&'static str),
    SsidEmpty,
    SsidTooLong(usize),
    SsidTextMismatch,
    PassphraseTooLong(usize),
    BadBssid,
}

impl Corruption {
    fn json(e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let what = match e.classify() {
            Category::Io => "I/O error while parsing".to_owned(),
            Category::Syntax => "not valid JSON".to_owned(),
            Category::Eof => "truncated JSON".to_owned(),
            Category::Data => {
                // "missing field `x`" and "unknown field `x`, expected …" name only a key;
                // other messages ("invalid type: string \"…\"") may quote a value.
                let message = e.to_string();
                let field = ["missing field `", "unknown field `"]
                    .iter()
                    .find(|prefix| message.starts_with(**prefix))
                    .and_then(|prefix| {
                        let rest = message.get(prefix.len()..)?;
                        let name = rest.get(..rest.find('`')?)?;
                        let kind = prefix.get(..prefix.len() - 2)?;
                        Some(format!(
                            "{kind} `{}`",
                            name.chars().take(64).collect::<String>()
                        ))
                    });
                field.unwrap_or_else(|| {
                    "JSON of the wrong shape (a field of the wrong type or range)".to_owned()
                })
            }
        };
        Corruption::Json {
            what,
            line: e.line(),
            column: e.column(),
        }
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::Json { what, line, column } => {
                write!(f, "{what} at line {line} column {column}")
            }
            Corruption::WrongFormat(format) => {
                let shown: String = format.chars().take(64).collect();
                write!(f, "format is {shown:?}, expected {FORMAT:?}")
            }
            Corruption::MissingFormat => write!(f, "no \"format\" field"),
            Corruption::WrongVersion(v) => {
                write!(
                    f,
                    "unsupported version {v} (this build reads version {VERSION})"
                )
            }
            Corruption::MissingVersion => write!(f, "no \"version\" field"),
            Corruption::BadHex(field) => write!(f, "{field} is not valid hex"),
            Corruption::SsidEmpty => write!(f, "the SSID is empty"),
            Corruption::SsidTooLong(n) => {
                write!(f, "the SSID is {n} bytes long (at most {MAX_SSID_LEN})")
            }
            Corruption::SsidTextMismatch => write!(f, "\"ssid\" does not match \"ssid_hex\""),
            Corruption::PassphraseTooLong(n) => write!(
                f,
                "the passphrase is {n} bytes long (at most {MAX_PASSPHRASE_LEN})"
            ),
            Corruption::BadBssid => write!(f, "\"bssid\" is not a MAC address"),
        }
    }
}

/// The rules every saved and loaded set of credentials obeys.
pub(super) fn validate(creds: &Credentials) -> Result<(), Corruption> {
    if creds.ssid.is_empty() {
        return Err(Corruption::SsidEmpty);
    }
    if creds.ssid.len() > MAX_SSID_LEN {
        return Err(Corruption::SsidTooLong(creds.ssid.len()));
    }
    if creds.passphrase.len() > MAX_PASSPHRASE_LEN {
        return Err(Corruption::PassphraseTooLong(creds.passphrase.len()));
    }
    Ok(())
}

/// The file as written.
#[derive(Serialize)]
struct FileOut<'a> {
    format: &'a str,
    version: u64,
    ssid_hex: &'a str,
    ssid: Option<&'a str>,
    passphrase_hex: &'a str,
    bssid: Option<String>,
    channel: Option<u8>,
    saved_at_unix: u64,
}

/// Just enough to tell whether the rest can be read.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u64>,
}

/// The file as read (version 1).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u64,
    ssid_hex: String,
    ssid: Option<String>,
    passphrase_hex: SecretString,
    bssid: Option<String>,
    channel: Option<u8>,
    #[allow(dead_code)]
    saved_at_unix: u64,
}

/// A string wiped when dropped (for `passphrase_hex`).
#[derive(Deserialize)]
#[serde(transparent)]
struct SecretString(String);

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The file's text for `creds` (already validated), in a buffer zeroized on drop.
pub(super) fn encode(creds: &Credentials, saved_at_unix: u64) -> Zeroizing<Vec<u8>> {
    let ssid_hex = hex::encode(&creds.ssid);
    let pass = creds.passphrase.expose();
    let mut pass_hex = Zeroizing::new(vec![0u8; pass.len().saturating_mul(2)]);
    // Cannot fail: the output is exactly twice the input; on failure the field stays zeros.
    let _ = hex::encode_to_slice(pass, &mut pass_hex);
    let out = FileOut {
        format: FORMAT,
        version: VERSION,
        ssid_hex: &ssid_hex,
        ssid: std::str::from_utf8(&creds.ssid).ok(),
        passphrase_hex: std::str::from_utf8(&pass_hex).unwrap_or_default(),
        bssid: creds.bssid.map(|b| b.to_string()),
        channel: creds.channel,
        saved_at_unix,
    };
    let mut text = Zeroizing::new(Vec::with_capacity(ENCODE_CAPACITY));
    // Writing to a Vec cannot fail, and `out` has only plain fields.
    let _ = serde_json::to_writer_pretty(&mut *text, &out);
    text.push(b'\n');
    text
}

/// Credentials from the file's bytes.
pub(super) fn decode(bytes: &[u8]) -> Result<Credentials, Corruption> {
    let header: Header = serde_json::from_slice(bytes).map_err(|e| Corruption::json(&e))?;
    match header.format.as_deref() {
        None => return Err(Corruption::MissingFormat),
        Some(FORMAT) => {}
        Some(other) => return Err(Corruption::WrongFormat(other.to_owned())),
    }
    match header.version {
        None => return Err(Corruption::MissingVersion),
        Some(VERSION) => {}
        Some(v) => return Err(Corruption::WrongVersion(v)),
    }
    let file: FileIn = serde_json::from_slice(bytes).map_err(|e| Corruption::json(&e))?;

    let ssid = hex::decode(&file.ssid_hex).map_err(|_| Corruption::BadHex("\"ssid_hex\""))?;
    if let Some(text) = &file.ssid
        && text.as_bytes() != ssid.as_slice()
    {
        return Err(Corruption::SsidTextMismatch);
    }

    let hex_len = file.passphrase_hex.0.len();
    if !hex_len.is_multiple_of(2) {
        return Err(Corruption::BadHex("\"passphrase_hex\""));
    }
    if hex_len / 2 > MAX_PASSPHRASE_LEN {
        return Err(Corruption::PassphraseTooLong(hex_len / 2));
    }
    let mut pass = Zeroizing::new(vec![0u8; hex_len / 2]);
    hex::decode_to_slice(&file.passphrase_hex.0, &mut pass)
        .map_err(|_| Corruption::BadHex("\"passphrase_hex\""))?;

    let bssid = match &file.bssid {
        None => None,
        Some(text) => Some(text.parse::<Bssid>().map_err(|_| Corruption::BadBssid)?),
    };
    let creds = Credentials {
        ssid: Ssid::new(ssid).map_err(|e| match e {
            SsidError::Empty => Corruption::SsidEmpty,
            SsidError::TooLong { len } => Corruption::SsidTooLong(len),
        })?,
        passphrase: Passphrase::new(std::mem::take(&mut *pass))
            .map_err(|_| Corruption::PassphraseTooLong(hex_len / 2))?,
        bssid,
        channel: file.channel,
    };
    validate(&creds)?;
    Ok(creds)
}
