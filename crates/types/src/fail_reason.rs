//! Why a station gave up on a set of credentials, as the provisioning protocol says it.

use core::fmt;

/// Why the station gave up (`WifiConnectFailedReason` on the wire). A device only ever sends
/// the first two; a client keeps any other number it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// Wrong passphrase (or another authentication failure).
    AuthError,
    /// No access point with that SSID.
    NetworkNotFound,
    /// A reason number this side does not know.
    Other(i32),
}

impl FailReason {
    /// The wire number.
    pub fn wire(self) -> i32 {
        match self {
            FailReason::AuthError => 0,
            FailReason::NetworkNotFound => 1,
            FailReason::Other(n) => n,
        }
    }

    /// From the wire number.
    pub fn from_wire(n: i32) -> Self {
        match n {
            0 => FailReason::AuthError,
            1 => FailReason::NetworkNotFound,
            n => FailReason::Other(n),
        }
    }

    /// The key used in JSON lines and reports (`auth_error`, `network_not_found`, `other`).
    pub fn key(self) -> &'static str {
        match self {
            FailReason::AuthError => "auth_error",
            FailReason::NetworkNotFound => "network_not_found",
            FailReason::Other(_) => "other",
        }
    }
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::AuthError => f.write_str("wrong passphrase (authentication error)"),
            FailReason::NetworkNotFound => f.write_str("network not found"),
            FailReason::Other(n) => write!(f, "failure reason {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_numbers_round_trip() {
        for n in -2..5 {
            assert_eq!(FailReason::from_wire(n).wire(), n);
        }
        assert_eq!(FailReason::from_wire(0), FailReason::AuthError);
        assert_eq!(FailReason::NetworkNotFound.key(), "network_not_found");
    }
}
