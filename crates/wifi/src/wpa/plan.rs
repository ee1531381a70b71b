//! What a network block for given credentials looks like (the table is in the
//! [module documentation](super#network-blocks)). Passphrases and raw PSKs travel only inside
//! [`Secret`]s, and so do the `SET_NETWORK` commands that carry them.

use wifiprov_types::Secret;

use crate::{AuthMode, ConnectError, Credentials};

use super::parse::ssid_value;

/// A `SET_NETWORK` value.
pub(crate) enum Value {
    /// Shown in traces as is.
    Plain(String),
    /// Never shown: the bytes of the value, quotes included.
    Secret(Secret),
}

/// The fields of a network block, in the order they are set.
pub(crate) struct Plan {
    pub(crate) fields: Vec<(&'static str, Value)>,
    /// Whether a key exchange follows association.
    pub(crate) secured: bool,
}

enum Key {
    None,
    Passphrase,
    RawPsk,
}

fn key_kind(credentials: &Credentials) -> Result<Key, ConnectError> {
    let ssid_len = credentials.ssid.len();
    if !(1..=32).contains(&ssid_len) {
        return Err(ConnectError::Invalid(format!(
            "the SSID must be 1 to 32 bytes (got {ssid_len})"
        )));
    }
    let p = credentials.passphrase.expose();
    if p.is_empty() {
        Ok(Key::None)
    } else if p.len() == 64 && p.iter().all(u8::is_ascii_hexdigit) {
        Ok(Key::RawPsk)
    } else if (8..=63).contains(&p.len()) {
        if p.iter().any(|&b| b < 0x20 || b == 0x7f) {
            return Err(ConnectError::Invalid(
                "the passphrase contains control characters, which wpa_supplicant cannot store"
                    .into(),
            ));
        }
        Ok(Key::Passphrase)
    } else {
        Err(ConnectError::Invalid(format!(
            "a WPA passphrase must be 8 to 63 characters or 64 hex digits (got {} bytes)",
            p.len()
        )))
    }
}

/// `"<bytes>"` as a secret.
fn quoted_secret(bytes: &[u8]) -> Secret {
    let mut v = Vec::with_capacity(bytes.len() + 2);
    v.push(b'"');
    v.extend_from_slice(bytes);
    v.push(b'"');
    Secret::new(v)
}

fn psk_value(credentials: &Credentials, key: &Key) -> Value {
    let p = credentials.passphrase.expose();
    match key {
        Key::RawPsk => Value::Secret(Secret::new(p.to_vec())),
        _ => Value::Secret(quoted_secret(p)),
    }
}

/// The network block for `credentials`, given the security seen in the last scan results
/// (`known`) and whether the driver supports SAE (`sae`, `None` when unknown).
pub(crate) fn plan(
    credentials: &Credentials,
    known: Option<AuthMode>,
    sae: Option<bool>,
) -> Result<Plan, ConnectError> {
    let ssid = credentials.ssid_lossy();
    let mut fields = vec![("ssid", Value::Plain(ssid_value(&credentials.ssid)))];
    if known.is_none() {
        fields.push(("scan_ssid", Value::Plain("1".into())));
    }
    if let Some(bssid) = credentials.bssid {
        fields.push(("bssid", Value::Plain(bssid.to_string())));
    }
    let plain = |s: &str| Value::Plain(s.to_owned());

    if known == Some(AuthMode::Wep) {
        let p = credentials.passphrase.expose();
        let value = match p.len() {
            5 | 13 => quoted_secret(p),
            10 | 26 if p.iter().all(u8::is_ascii_hexdigit) => Secret::new(p.to_vec()),
            n => {
                return Err(ConnectError::Invalid(format!(
                    "a WEP key must be 5 or 13 characters or 10 or 26 hex digits (got {n} bytes)"
                )));
            }
        };
        fields.push(("key_mgmt", plain("NONE")));
        fields.push(("wep_key0", Value::Secret(value)));
        fields.push(("wep_tx_keyidx", plain("0")));
        return Ok(Plan {
            fields,
            secured: false,
        });
    }

    let key = key_kind(credentials)?;
    let open = |mut fields: Vec<(&'static str, Value)>| {
        fields.push(("key_mgmt", Value::Plain("NONE".into())));
        Ok(Plan {
            fields,
            secured: false,
        })
    };
    match known {
        Some(AuthMode::Open) => return open(fields),
        Some(AuthMode::Other(9)) => {
            fields.push(("key_mgmt", plain("OWE")));
            fields.push(("ieee80211w", plain("2")));
            return Ok(Plan {
                fields,
                secured: true,
            });
        }
        Some(AuthMode::Wpa2Enterprise) => {
            return Err(ConnectError::AssociationRejected {
                ssid,
                reason: "enterprise (802.1X) networks need an identity and EAP settings, \
                         which this backend does not configure"
                    .into(),
            });
        }
        _ => {}
    }
    if matches!(key, Key::None) {
        return match known {
            // A secured network and no passphrase: wpa_supplicant would not even try.
            Some(auth) if auth.needs_passphrase() => Err(ConnectError::AuthFailed { ssid }),
            _ => open(fields),
        };
    }

    let passphrase = matches!(key, Key::Passphrase);
    let sae_ok = passphrase && sae != Some(false);
    let (key_mgmt, pmf) = match known {
        Some(AuthMode::WpaPsk | AuthMode::Wpa2Psk | AuthMode::WpaWpa2Psk) => ("WPA-PSK", None),
        Some(AuthMode::Wpa3Psk) => {
            if !passphrase {
                return Err(ConnectError::Invalid(format!(
                    "{ssid:?} is a WPA3-SAE network, which needs the passphrase, not a raw PSK"
                )));
            }
            ("SAE", Some("2"))
        }
        _ if sae_ok => ("WPA-PSK SAE", Some("1")),
        _ => ("WPA-PSK", None),
    };
    fields.push(("key_mgmt", plain(key_mgmt)));
    if let Some(pmf) = pmf {
        fields.push(("ieee80211w", plain(pmf)));
    }
    fields.push(("psk", psk_value(credentials, &key)));
    Ok(Plan {
        fields,
        secured: true,
    })
}

/// The `SET_NETWORK` command for one field, as a secret when the value is one; and how
/// it is shown in traces and messages.
pub(crate) fn set_command(id: u32, name: &str, value: &Value) -> (Secret, String) {
    let prefix = format!("SET_NETWORK {id} {name} ");
    match value {
        Value::Plain(v) => {
            let shown = format!("{prefix}{v}");
            (Secret::new(shown.clone().into_bytes()), shown)
        }
        Value::Secret(s) => {
            let mut bytes = Vec::with_capacity(prefix.len() + s.len());
            bytes.extend_from_slice(prefix.as_bytes());
            bytes.extend_from_slice(s.expose());
            (Secret::new(bytes), format!("{prefix}[redacted]"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(plan: &Plan) -> Vec<String> {
        plan.fields
            .iter()
            .map(|(n, v)| set_command(0, n, v).1)
            .collect()
    }

    #[test]
    fn wpa3_only_uses_sae_with_required_pmf() {
        let c = Credentials::new("Home", "correct horse").unwrap();
        let p = plan(&c, Some(AuthMode::Wpa3Psk), Some(true)).unwrap();
        assert_eq!(
            shown(&p),
            [
                "SET_NETWORK 0 ssid \"Home\"",
                "SET_NETWORK 0 key_mgmt SAE",
                "SET_NETWORK 0 ieee80211w 2",
                "SET_NETWORK 0 psk [redacted]",
            ]
        );
        let (cmd, _) = set_command(0, "psk", &p.fields[3].1);
        assert_eq!(cmd.expose(), b"SET_NETWORK 0 psk \"correct horse\"");
    }

    #[test]
    fn unknown_networks_allow_both_and_probe() {
        let c = Credentials::new("Hidden", "correct horse").unwrap();
        let p = plan(&c, None, None).unwrap();
        assert!(shown(&p).contains(&"SET_NETWORK 0 scan_ssid 1".to_owned()));
        assert!(shown(&p).contains(&"SET_NETWORK 0 key_mgmt WPA-PSK SAE".to_owned()));
        let p = plan(&c, None, Some(false)).unwrap();
        assert!(shown(&p).contains(&"SET_NETWORK 0 key_mgmt WPA-PSK".to_owned()));
    }

    #[test]
    fn bad_keys() {
        assert!(plan(&Credentials::new("a", "short").unwrap(), None, None).is_err());
        assert!(plan(&Credentials::new("a", "with\nnewline").unwrap(), None, None).is_err());
        assert!(Credentials::new("", "correct horse").is_err());
        assert!(matches!(
            plan(
                &Credentials::new("a", "").unwrap(),
                Some(AuthMode::Wpa2Psk),
                None
            ),
            Err(ConnectError::AuthFailed { .. })
        ));
    }
}
