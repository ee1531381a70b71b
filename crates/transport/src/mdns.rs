//! Optional mDNS/DNS-SD advertisement of the HTTP transport.
//!
//! Older ESP-IDF releases announced their SoftAP provisioning server as a
//! `_esp_wifi_prov._tcp` service whose TXT records name the three endpoints a client needs.
//! Current ESP-IDF announces nothing and clients must not depend on it, but announcing makes a
//! device on an existing network easy to find (`avahi-browse _esp_wifi_prov._tcp`).
//!
//! The announcement lives as long as the returned [`MdnsHandle`]: dropping it (or calling
//! [`MdnsHandle::shutdown`]) sends the goodbye packets and stops the responder thread.

use std::net::IpAddr;
use std::time::Duration;

use mdns_sd::{ServiceDaemon, ServiceInfo, UnregisterStatus};
use tracing::{debug, info};

/// The DNS-SD service type, with its domain.
pub const SERVICE_TYPE: &str = "_esp_wifi_prov._tcp.local.";

/// The standard mDNS UDP port.
pub const MDNS_PORT: u16 = 5353;

/// The TXT records every announcement carries (callers may override their values).
pub const DEFAULT_TXT: [(&str, &str); 3] = [
    ("version_endpoint", "/proto-ver"),
    ("session_endpoint", "/prov-session"),
    ("config_endpoint", "/prov-config"),
];

/// How long [`MdnsHandle::shutdown`] waits for the responder to confirm the goodbye.
const UNREGISTER_WAIT: Duration = Duration::from_secs(2);

/// The announcement could not be made.
#[derive(Debug, thiserror::Error)]
#[error("mDNS: {what}: {reason}")]
pub struct MdnsError {
    /// What was being done.
    pub what: &'static str,
    /// The mDNS library's explanation.
    pub reason: String,
}

impl MdnsError {
    fn new(what: &'static str) -> impl FnOnce(mdns_sd::Error) -> MdnsError {
        move |e| MdnsError {
            what,
            reason: e.to_string(),
        }
    }
}

/// What to announce. [`advertise`] covers the usual case; this adds the host name and the
/// mDNS port (tests use a private port to stay off the network's real mDNS traffic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advertisement {
    /// The DNS-SD instance name, normally the provisioning service name (`PROV_261FCC`).
    pub service_name: String,
    /// TCP port of the HTTP transport.
    pub port: u16,
    /// TXT records added to (or overriding) [`DEFAULT_TXT`].
    pub txt: Vec<(String, String)>,
    /// Addresses to announce; empty means every address of every interface, kept up to date.
    pub addrs: Vec<IpAddr>,
    /// The mDNS host name (ending in `.local.`); `None` derives one from the service name.
    pub host_name: Option<String>,
    /// UDP port of the mDNS responder (default [`MDNS_PORT`]).
    pub mdns_port: u16,
}

impl Advertisement {
    /// An announcement of `service_name` on TCP `port`, with the default TXT records, all
    /// addresses and the standard mDNS port.
    pub fn new(service_name: impl Into<String>, port: u16) -> Self {
        Advertisement {
            service_name: service_name.into(),
            port,
            txt: Vec::new(),
            addrs: Vec::new(),
            host_name: None,
            mdns_port: MDNS_PORT,
        }
    }

    /// The TXT records sent: the defaults not overridden by [`Advertisement::txt`], then those.
    pub fn txt_records(&self) -> Vec<(String, String)> {
        let overridden = |key: &str| self.txt.iter().any(|(k, _)| k.eq_ignore_ascii_case(key));
        DEFAULT_TXT
            .iter()
            .filter(|(key, _)| !overridden(key))
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .chain(self.txt.iter().cloned())
            .collect()
    }

    /// The host name used in the address records.
    pub fn host_name(&self) -> String {
        match &self.host_name {
            Some(name) => name.clone(),
            None => derive_host_name(&self.service_name),
        }
    }

    /// Starts a responder and registers the service.
    pub fn start(&self) -> Result<MdnsHandle, MdnsError> {
        let txt = self.txt_records();
        let info = ServiceInfo::new(
            SERVICE_TYPE,
            &self.service_name,
            &self.host_name(),
            self.addrs.as_slice(),
            self.port,
            txt.as_slice(),
        )
        .map_err(MdnsError::new("invalid service description"))?;
        let info = if self.addrs.is_empty() {
            info.enable_addr_auto()
        } else {
            info
        };
        let fullname = info.get_fullname().to_owned();
        let daemon = ServiceDaemon::new_with_port(self.mdns_port)
            .map_err(MdnsError::new("cannot start the responder"))?;
        if let Err(e) = daemon.register(info) {
            let _ = daemon.shutdown();
            return Err(MdnsError::new("cannot register the service")(e));
        }
        info!(service = %fullname, port = self.port, "announcing over mDNS");
        Ok(MdnsHandle {
            daemon: Some(daemon),
            fullname,
        })
    }
}

/// A host name made of the service name's letters, digits and dashes (lower case).
fn derive_host_name(service_name: &str) -> String {
    let label: String = service_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let label = label.trim_matches('-');
    if label.is_empty() {
        "wifiprov.local.".to_owned()
    } else {
        format!("{label}.local.")
    }
}

/// Announces the provisioning service `service_name` on TCP `port` with the default TXT
/// records plus `txt`, for `addrs` (empty: all interface addresses).
pub fn advertise(
    service_name: &str,
    port: u16,
    txt: &[(String, String)],
    addrs: &[IpAddr],
) -> Result<MdnsHandle, MdnsError> {
    Advertisement {
        txt: txt.to_vec(),
        addrs: addrs.to_vec(),
        ..Advertisement::new(service_name, port)
    }
    .start()
}

/// A running announcement; unregisters on drop.
pub struct MdnsHandle {
    daemon: Option<ServiceDaemon>,
    fullname: String,
}

impl std::fmt::Debug for MdnsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdnsHandle")
            .field("fullname", &self.fullname)
            .field("running", &self.daemon.is_some())
            .finish()
    }
}

impl MdnsHandle {
    /// The announced instance's full DNS-SD name (`<instance>._esp_wifi_prov._tcp.local.`).
    pub fn fullname(&self) -> &str {
        &self.fullname
    }

    /// Withdraws the announcement, waits (briefly) for the responder to confirm, and stops it.
    ///
    /// Blocks the calling thread for up to two seconds; call it from a blocking context.
    pub fn shutdown(mut self) -> Result<(), MdnsError> {
        let Some(daemon) = self.daemon.take() else {
            return Ok(());
        };
        let result = match daemon.unregister(&self.fullname) {
            Ok(status) => match status.recv_timeout(UNREGISTER_WAIT) {
                Ok(UnregisterStatus::OK) => Ok(()),
                Ok(UnregisterStatus::NotFound) => Err(MdnsError {
                    what: "cannot unregister the service",
                    reason: "the responder did not know it".to_owned(),
                }),
                Err(e) => Err(MdnsError {
                    what: "cannot unregister the service",
                    reason: e.to_string(),
                }),
            },
            Err(e) => Err(MdnsError::new("cannot unregister the service")(e)),
        };
        let _ = daemon.shutdown();
        debug!(service = %self.fullname, "mDNS announcement withdrawn");
        result
    }
}

impl Drop for MdnsHandle {
    fn drop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            let _ = daemon.unregister(&self.fullname);
            let _ = daemon.shutdown();
            debug!(service = %self.fullname, "mDNS announcement withdrawn");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_dns_labels() {
        assert_eq!(derive_host_name("PROV_261FCC"), "prov-261fcc.local.");
        assert_eq!(derive_host_name("__"), "wifiprov.local.");
        assert_eq!(
            derive_host_name("Wi-Fi Provisioning"),
            "wi-fi-provisioning.local."
        );
    }

    #[test]
    fn extra_txt_records_override_defaults() {
        let mut ad = Advertisement::new("PROV_1", 80);
        ad.txt = vec![
            ("config_endpoint".into(), "/cfg".into()),
            ("extra".into(), "1".into()),
        ];
        let records = ad.txt_records();
        assert_eq!(
            records,
            vec![
                ("version_endpoint".to_owned(), "/proto-ver".to_owned()),
                ("session_endpoint".to_owned(), "/prov-session".to_owned()),
                ("config_endpoint".to_owned(), "/cfg".to_owned()),
                ("extra".to_owned(), "1".to_owned()),
            ]
        );
    }
}
