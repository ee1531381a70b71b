//! What a station needs to join a network.

use alloc::string::String;
use alloc::vec::Vec;

use crate::bssid::Bssid;
use crate::passphrase::{Passphrase, PassphraseError};
use crate::ssid::{Ssid, SsidError};

/// Why [`Credentials::new`] refused its input. Never contains the passphrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// The SSID breaks its rule.
    #[error(transparent)]
    Ssid(#[from] SsidError),
    /// The passphrase breaks its rule.
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    /// A channel outside 1–14 (2.4 GHz) and 32–196 (5 GHz).
    #[error("channel {0} does not exist")]
    Channel(u8),
}

/// What to join: a checked [`Ssid`] and [`Passphrase`], and optionally the one access point
/// ([`Bssid`]) and the channel to look on first. `Debug` never shows the passphrase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The network.
    pub ssid: Ssid,
    /// Its passphrase (empty for an open network).
    pub passphrase: Passphrase,
    /// Join only this access point.
    pub bssid: Option<Bssid>,
    /// Look on this channel first.
    pub channel: Option<u8>,
}

impl Credentials {
    /// Credentials for `ssid` with `passphrase`, both checked.
    pub fn new(
        ssid: impl Into<Vec<u8>>,
        passphrase: impl Into<Vec<u8>>,
    ) -> Result<Self, CredentialsError> {
        Ok(Credentials {
            ssid: Ssid::new(ssid)?,
            passphrase: Passphrase::new(passphrase)?,
            bssid: None,
            channel: None,
        })
    }

    /// Joins only `bssid`.
    pub fn with_bssid(mut self, bssid: Bssid) -> Self {
        self.bssid = Some(bssid);
        self
    }

    /// Looks on `channel` first (1–14 or 32–196).
    pub fn with_channel(mut self, channel: u8) -> Result<Self, CredentialsError> {
        if !matches!(channel, 1..=14 | 32..=196) {
            return Err(CredentialsError::Channel(channel));
        }
        self.channel = Some(channel);
        Ok(self)
    }

    /// The SSID as text, lossy (for messages that must be plain text; logs use the escaped
    /// `Display` of [`Ssid`]).
    pub fn ssid_lossy(&self) -> String {
        self.ssid.to_string_lossy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn checked() {
        let c = Credentials::new(&b"Home"[..], &b"correct horse"[..]).unwrap();
        assert_eq!(c.ssid.as_bytes(), b"Home");
        assert!(!format!("{c:?}").contains("horse"));
        assert_eq!(
            Credentials::new(Vec::new(), Vec::new()),
            Err(CredentialsError::Ssid(SsidError::Empty))
        );
        assert!(matches!(
            Credentials::new(&b"x"[..], [b'1'; 65]),
            Err(CredentialsError::Passphrase(PassphraseError::TooLong {
                len: 65
            }))
        ));
        assert_eq!(c.clone().with_channel(0), Err(CredentialsError::Channel(0)));
        assert_eq!(c.clone().with_channel(6).unwrap().channel, Some(6));
        assert_eq!(c.with_bssid(Bssid([1; 6])).bssid, Some(Bssid([1; 6])));
    }
}
