//! From a parsed JSON document to [`Networks`], checking every value and locating every
//! problem by its JSON path. The rules are listed in the [module documentation](super).

use serde_json::{Map, Value};
use wifiprov_types::Secret;
use wifiprov_types::{Passphrase, Ssid, SsidError};

use super::{
    AccessPointConfig, KnownNetwork, MAX_SSID_LEN, Networks, Problem, SCHEMA, StartPolicy,
};

/// Keys of `access_point.config` that have a typed field; all others go to `extra`.
pub(super) const AP_CONFIG_KEYS: [&str; 6] =
    ["essid", "ssid", "channel", "hidden", "password", "key"];

/// A problem and where it is; the caller adds the file name.
#[derive(Debug)]
pub(super) struct Located {
    /// JSON path, empty for the document itself.
    pub(super) json_path: String,
    /// What is wrong there.
    pub(super) problem: Problem,
}

type Res<T> = Result<T, Located>;

fn at(json_path: impl Into<String>, problem: Problem) -> Located {
    Located {
        json_path: json_path.into(),
        problem,
    }
}

/// The JSON path of `key` inside the object at `parent`.
fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// How a value's type is named in messages.
pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn wrong_type(json_path: String, expected: &'static str, found: &Value) -> Located {
    at(
        json_path,
        Problem::WrongType {
            expected,
            found: type_name(found),
        },
    )
}

/// Checks the whole document and returns its typed view.
pub(super) fn networks(root: &Map<String, Value>) -> Res<Networks> {
    // The schema first: a file in another layout would otherwise get confusing messages.
    let schema = schema(root)?;
    let known = known_networks(root)?;
    let access_point = access_point(root)?;
    Ok(Networks {
        schema,
        known,
        access_point,
    })
}

fn schema(root: &Map<String, Value>) -> Res<u32> {
    match root.get("schema") {
        None => Err(at("schema", Problem::MissingSchema)),
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(SCHEMA)) => Ok(SCHEMA),
        Some(Value::Number(n)) => Err(at(
            "schema",
            Problem::UnsupportedSchema {
                found: n.to_string(),
            },
        )),
        Some(other) => Err(wrong_type("schema".to_owned(), "an integer", other)),
    }
}

fn known_networks(root: &Map<String, Value>) -> Res<Vec<KnownNetwork>> {
    let entries = match root.get("known_networks") {
        None => return Err(at("known_networks", Problem::Missing)),
        Some(Value::Array(entries)) => entries,
        Some(other) => return Err(wrong_type("known_networks".to_owned(), "an array", other)),
    };
    let mut known: Vec<KnownNetwork> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("known_networks[{index}]");
        let Value::Object(entry) = entry else {
            return Err(wrong_type(path, "an object", entry));
        };
        let (ssid_path, ssid) = known_ssid(entry, &path)?;
        if let Some(first) = known.iter().position(|n| n.ssid == ssid) {
            return Err(at(
                ssid_path,
                Problem::DuplicateSsid {
                    ssid: ssid.to_string(),
                    first,
                },
            ));
        }
        let password = match entry.get("password") {
            None | Some(Value::Null) => "",
            Some(Value::String(password)) => password,
            Some(other) => {
                return Err(wrong_type(
                    child(&path, "password"),
                    "a string or null",
                    other,
                ));
            }
        };
        check_known_password(password).map_err(|problem| at(child(&path, "password"), problem))?;
        let enables_webrepl = optional_bool(entry, &path, "enables_webrepl")?.unwrap_or(false);
        let password = Passphrase::new(password)
            .map_err(|_| at(child(&path, "password"), Problem::PasswordNul))?;
        known.push(KnownNetwork {
            ssid,
            password,
            enables_webrepl,
        });
    }
    Ok(known)
}

/// A known network's name: `"ssid"` (text) or `"ssid_hex"` (its bytes in hex, for names that
/// are not UTF-8), exactly one of the two. Returns the JSON path of the key used.
fn known_ssid(entry: &Map<String, Value>, path: &str) -> Res<(String, Ssid)> {
    let bytes = match (entry.get("ssid"), entry.get("ssid_hex")) {
        (None, None) => return Err(at(child(path, "ssid"), Problem::Missing)),
        (Some(_), Some(_)) => {
            return Err(at(
                child(path, "ssid_hex"),
                Problem::ConflictingAlias {
                    other: child(path, "ssid"),
                },
            ));
        }
        (Some(Value::String(text)), None) => (child(path, "ssid"), text.as_bytes().to_vec()),
        (Some(other), None) => return Err(wrong_type(child(path, "ssid"), "a string", other)),
        (None, Some(Value::String(hex_text))) => {
            let key = child(path, "ssid_hex");
            match hex::decode(hex_text) {
                Ok(bytes) => (key, bytes),
                Err(_) => return Err(at(key, Problem::NotHex)),
            }
        }
        (None, Some(other)) => {
            return Err(wrong_type(child(path, "ssid_hex"), "a string", other));
        }
    };
    let (key, bytes) = bytes;
    match Ssid::new(bytes) {
        Ok(ssid) => Ok((key, ssid)),
        Err(SsidError::Empty) => Err(at(key, Problem::SsidLength { len: 0 })),
        Err(SsidError::TooLong { len }) => Err(at(key, Problem::SsidLength { len })),
    }
}

/// How a known network's name is written: `"ssid"` as text when it is UTF-8, otherwise
/// `"ssid_hex"`.
pub(super) fn ssid_entry(ssid: &Ssid) -> (&'static str, Value) {
    match ssid.as_str() {
        Some(text) => ("ssid", Value::String(text.to_owned())),
        None => ("ssid_hex", Value::String(hex::encode(ssid.as_bytes()))),
    }
}

fn access_point(root: &Map<String, Value>) -> Res<AccessPointConfig> {
    let ap = match root.get("access_point") {
        None => return Err(at("access_point", Problem::Missing)),
        Some(Value::Object(ap)) => ap,
        Some(other) => return Err(wrong_type("access_point".to_owned(), "an object", other)),
    };
    let config_path = "access_point.config";
    let config = match ap.get("config") {
        None => return Err(at(config_path, Problem::Missing)),
        Some(Value::Object(config)) => config,
        Some(other) => return Err(wrong_type(config_path.to_owned(), "an object", other)),
    };

    let essid = match aliased(config, config_path, "essid", "ssid")? {
        None => return Err(at(child(config_path, "essid"), Problem::Missing)),
        Some((path, Value::String(essid))) => {
            check_ssid(essid).map_err(|problem| at(path, problem))?;
            essid.clone()
        }
        Some((path, other)) => return Err(wrong_type(path, "a string", other)),
    };

    let channel = match config.get("channel") {
        None => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .and_then(|c| u8::try_from(c).ok())
                .filter(|c| super::CHANNELS.contains(c))
                .ok_or_else(|| {
                    at(
                        child(config_path, "channel"),
                        Problem::Channel {
                            found: n.to_string(),
                        },
                    )
                })?,
        ),
        Some(other) => {
            return Err(wrong_type(
                child(config_path, "channel"),
                "an integer",
                other,
            ));
        }
    };

    let hidden = optional_bool(config, config_path, "hidden")?.unwrap_or(false);

    let password = match aliased(config, config_path, "password", "key")? {
        None | Some((_, Value::Null)) => None,
        Some((_, Value::String(p))) if p.is_empty() => None,
        Some((path, Value::String(p))) => {
            check_ap_password(p).map_err(|problem| at(path, problem))?;
            Some(Secret::from(p.as_str()))
        }
        Some((path, other)) => return Err(wrong_type(path, "a string or null", other)),
    };

    let extra = config
        .iter()
        .filter(|(key, _)| !AP_CONFIG_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();

    let enables_webrepl = optional_bool(ap, "access_point", "enables_webrepl")?.unwrap_or(false);

    let start_policy = match ap.get("start_policy") {
        None => StartPolicy::Never,
        Some(Value::String(s)) => s
            .parse()
            .map_err(|problem| at("access_point.start_policy", problem))?,
        Some(other) => {
            return Err(wrong_type(
                "access_point.start_policy".to_owned(),
                "a string",
                other,
            ));
        }
    };

    Ok(AccessPointConfig {
        essid,
        channel,
        hidden,
        password,
        enables_webrepl,
        start_policy,
        extra,
    })
}

/// The value of `key` in `obj`, or of its MicroPython alias when `key` is absent, with the
/// JSON path of the one used. Both present with different values is an error.
fn aliased<'a>(
    obj: &'a Map<String, Value>,
    parent: &str,
    key: &str,
    alias: &str,
) -> Res<Option<(String, &'a Value)>> {
    match (obj.get(key), obj.get(alias)) {
        (Some(main), Some(other)) if main != other => Err(at(
            child(parent, alias),
            Problem::ConflictingAlias {
                other: child(parent, key),
            },
        )),
        (Some(main), _) => Ok(Some((child(parent, key), main))),
        (None, Some(other)) => Ok(Some((child(parent, alias), other))),
        (None, None) => Ok(None),
    }
}

fn optional_bool(obj: &Map<String, Value>, parent: &str, key: &str) -> Res<Option<bool>> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(child(parent, key), "a boolean", other)),
    }
}

/// An SSID is 1 to 32 bytes.
pub(super) fn check_ssid(ssid: &str) -> Result<(), Problem> {
    let len = ssid.len();
    if (1..=MAX_SSID_LEN).contains(&len) {
        Ok(())
    } else {
        Err(Problem::SsidLength { len })
    }
}

/// A WPA passphrase (8 to 63 bytes) or raw key (64 hex digits).
fn is_wpa_secret(password: &str) -> bool {
    let len = password.len();
    (8..=63).contains(&len) || (len == 64 && password.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A known network's password: empty (open), WEP (5 or 13 characters; the 10 and 26 hex-digit
/// forms fall in the WPA range), or WPA.
pub(super) fn check_known_password(password: &str) -> Result<(), Problem> {
    let len = password.len();
    if len == 0 || len == 5 || len == 13 || is_wpa_secret(password) {
        Ok(())
    } else {
        Err(Problem::PasswordLength { len })
    }
}

/// A non-empty access-point password: WPA only (an access point offers no WEP).
pub(super) fn check_ap_password(password: &str) -> Result<(), Problem> {
    if is_wpa_secret(password) {
        Ok(())
    } else {
        Err(Problem::ApPasswordLength {
            len: password.len(),
        })
    }
}
