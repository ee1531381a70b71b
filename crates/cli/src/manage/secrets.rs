//! Provisioning secrets the manager makes up when none are given, and the one-time banner
//! that shows them with a QR payload naming the access point and the provisioning address.

use anyhow::Result;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::device::qr;

/// Characters of generated secrets: letters and digits that cannot be mistaken for each
/// other when read off a screen (no 0/O, 1/l/I). 32 of them, so a random byte's low five
/// bits pick one without bias.
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// Length of a generated secret: 12 characters, 60 bits.
const LENGTH: usize = 12;

/// The SRP username used with a generated password.
pub const USERNAME: &str = "wifiprov";

/// A random secret of [`LENGTH`] characters from [`ALPHABET`].
pub fn random_secret() -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; LENGTH]);
    getrandom::fill(bytes.as_mut())
        .map_err(|e| anyhow::anyhow!("cannot draw random bytes for a secret: {e}"))?;
    let text: String = bytes
        .iter()
        .filter_map(|b| ALPHABET.get(usize::from(b & 31)).copied().map(char::from))
        .collect();
    Ok(Zeroizing::new(text))
}

/// Secrets made up at start for the fallback provisioning service.
pub struct Generated {
    /// The security scheme they are for (1 or 2).
    pub security: u8,
    /// The SRP username (security 2).
    pub username: Option<String>,
    /// The PoP (security 1) or SRP password (security 2).
    pub secret: Zeroizing<String>,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated")
            .field("security", &self.security)
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Generated {
    /// The ESP QR payload for the access point `essid`, with the provisioning `address`
    /// added (which `wifiprov provision --qr-payload` uses as the service address).
    pub fn qr_payload(&self, essid: &str, address: &str) -> String {
        qr::payload(&qr::Payload {
            name: essid,
            username: self.username.as_deref(),
            pop: Some(&self.secret),
            transport: "softap",
            security: self.security,
            address: Some(address),
        })
    }

    /// The banner shown once when the access point first serves provisioning: plain text,
    /// or with `json` one `fallback_secrets` object (the event stream stays JSON).
    pub fn banner(&self, essid: &str, address: &str, json: bool) -> Result<Zeroizing<String>> {
        let payload = Zeroizing::new(self.qr_payload(essid, address));
        if json {
            let secret_key = if self.security == 1 {
                "pop"
            } else {
                "password"
            };
            let mut object = serde_json::Map::new();
            object.insert("event".into(), json!("fallback_secrets"));
            object.insert("essid".into(), json!(essid));
            object.insert("address".into(), json!(address));
            object.insert("security".into(), json!(self.security));
            if let Some(user) = &self.username {
                object.insert("username".into(), json!(user));
            }
            object.insert(secret_key.into(), json!(self.secret.as_str()));
            object.insert("qr_payload".into(), json!(payload.as_str()));
            return Ok(Zeroizing::new(Value::Object(object).to_string()));
        }
        let secret = match &self.username {
            Some(user) => format!(
                "security 2, username {user}, password {}",
                self.secret.as_str()
            ),
            None => format!("security 1, proof of possession {}", self.secret.as_str()),
        };
        let flags = match &self.username {
            Some(user) => format!(
                "--sec_ver 2 --sec2_username {user} --sec2_pwd {}",
                self.secret.as_str()
            ),
            None => format!("--sec_ver 1 --pop {}", self.secret.as_str()),
        };
        Ok(Zeroizing::new(format!(
            "\n==== fallback provisioning: generated secrets, shown only now ====\n\
             access point:  {essid:?}\n\
             address:       {address}\n\
             secret:        {secret}\n\
             QR payload:    {payload}\n\
             provision:     wifiprov provision --service_name {address} {flags} --ssid SSID --passphrase PASSPHRASE\n\
             {art}\n\
             ==== keep these: they are not logged and not shown again ====\n",
            payload = payload.as_str(),
            art = qr::render(&payload)?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_from_the_alphabet() {
        let a = random_secret().unwrap();
        let b = random_secret().unwrap();
        assert_eq!(a.len(), LENGTH);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{}", a.as_str());
    }

    #[test]
    fn the_payload_names_the_address_and_the_banner_shows_it_once() {
        let generated = Generated {
            security: 2,
            username: Some(USERNAME.into()),
            secret: Zeroizing::new("k3y".into()),
        };
        let payload: Value =
            serde_json::from_str(&generated.qr_payload("setup", "127.0.0.1:8080")).unwrap();
        assert_eq!(payload["name"], "setup");
        assert_eq!(payload["pop"], "k3y");
        assert_eq!(payload["username"], "wifiprov");
        assert_eq!(payload["address"], "127.0.0.1:8080");
        assert_eq!(payload["security"], 2);
        assert!(!format!("{generated:?}").contains("k3y"));
        let json: Value =
            serde_json::from_str(&generated.banner("setup", "127.0.0.1:8080", true).unwrap())
                .unwrap();
        assert_eq!(json["event"], "fallback_secrets");
        assert_eq!(json["password"], "k3y");
        let text = generated.banner("setup", "127.0.0.1:8080", false).unwrap();
        assert!(text.contains("--sec2_pwd k3y"), "{}", text.as_str());
    }
}
