//! The `--portal*` flags shared by `wifiprov device` and `wifiprov manage`: the captive web
//! portal on the device's access point.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use wifiprov_agent::{PortalRoute, PortalSettings};

/// The `--portal*` flags.
#[derive(Args, Debug, Default, Clone)]
pub struct PortalArgs {
    /// Also serve a captive web portal: any phone or laptop on the device's access point is
    /// shown a page to pick the network and type its password, and sees the outcome.
    #[arg(long, help_heading = "Captive portal")]
    pub portal: bool,
    /// Where the portal's web page and API listen [default: 0.0.0.0:80, where phones send
    /// their captive-portal probes; HTTP provisioning then moves to 8080 unless --listen
    /// gives it port 80, and the portal takes 8080].
    #[arg(long, value_name = "ADDR", help_heading = "Captive portal")]
    pub portal_listen: Option<SocketAddr>,
    /// Where the portal's DNS responder listens (it answers every name with the portal's
    /// address), or "off" when DNS is served elsewhere [default: 0.0.0.0:53].
    #[arg(long, value_name = "ADDR|off", help_heading = "Captive portal")]
    pub portal_dns: Option<String>,
    /// The portal's address on the access point, which every DNS query is answered with
    /// [default: the --portal-listen address, else 192.168.4.1].
    #[arg(long, value_name = "IP", help_heading = "Captive portal")]
    pub portal_address: Option<Ipv4Addr>,
    /// Serve this directory's static files (index.html, …) instead of the built-in page; the
    /// JSON API under /api/ stays.
    #[arg(long, value_name = "DIR", help_heading = "Captive portal")]
    pub portal_ui: Option<PathBuf>,
    /// The device's mDNS name the page shows beside its new address after a join, or "off"
    /// [default: the system's hostname with ".local", as avahi or systemd-resolved announce
    /// it].
    #[arg(long, value_name = "NAME|off", help_heading = "Captive portal")]
    pub portal_local_name: Option<String>,
}

impl PortalArgs {
    /// Where HTTP provisioning listens when `--listen` is not given: port 80, or 8080 when
    /// the portal takes 80 (phones send their captive-portal probes to port 80).
    pub fn http_default(&self) -> SocketAddr {
        let portal_on_80 = self.portal && self.portal_listen.is_none_or(|l| l.port() == 80);
        SocketAddr::from(([0, 0, 0, 0], if portal_on_80 { 8080 } else { 80 }))
    }

    /// Where the portal listens, `http` being where protocomm's HTTP listens.
    pub fn listen(&self, http: Option<SocketAddr>) -> SocketAddr {
        self.portal_listen.unwrap_or_else(|| {
            let port = if http.is_some_and(|h| h.port() == 80) {
                8080
            } else {
                80
            };
            SocketAddr::from(([0, 0, 0, 0], port))
        })
    }

    /// Whether the portal's DNS responder runs.
    pub fn serves_dns(&self) -> bool {
        self.portal && self.portal_dns.as_deref() != Some("off")
    }

    /// The portal route, if asked for; `http` is where protocomm's HTTP listens, if it does.
    pub fn route(&self, http: Option<SocketAddr>) -> Result<Option<PortalRoute>> {
        let settings = self.portal_listen.is_some()
            || self.portal_dns.is_some()
            || self.portal_address.is_some()
            || self.portal_ui.is_some()
            || self.portal_local_name.is_some();
        if !self.portal {
            if settings {
                bail!("the --portal-* settings need --portal");
            }
            return Ok(None);
        }
        let listen = self.listen(http);
        if listen.port() != 0 && http == Some(listen) {
            bail!(
                "--portal-listen {listen} is where HTTP provisioning listens; give it another port"
            );
        }
        let dns = match self.portal_dns.as_deref() {
            None => Some(SocketAddr::from(([0, 0, 0, 0], 53))),
            Some("off") => None,
            Some(addr) => match addr.parse() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    bail!("--portal-dns {addr:?}: expected an address such as 0.0.0.0:53, or off")
                }
            },
        };
        if let Some(dir) = &self.portal_ui
            && !dir.join("index.html").is_file()
        {
            bail!("--portal-ui {}: no index.html there", dir.display());
        }
        let mut settings = PortalSettings::new(listen, dns);
        settings.address = self.portal_address;
        settings.ui_dir = self.portal_ui.clone();
        settings.local_name = match self.portal_local_name.as_deref() {
            Some("off") => None,
            Some(name) => Some(local_name(name)?),
            None => Some(wifiprov_agent::improv::hostname())
                .filter(|h| h != "localhost")
                .and_then(|h| local_name(&h).ok()),
        };
        Ok(Some(PortalRoute::new(settings)))
    }
}

/// `name` as an mDNS name: one DNS label (letters, digits, hyphens, at most 63), with `.local`
/// added when it is not there.
fn local_name(name: &str) -> Result<String> {
    let label = name.strip_suffix(".local").unwrap_or(name);
    let valid = (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    if !valid {
        bail!(
            "--portal-local-name {name:?}: expected a host name of letters, digits and hyphens \
             (at most 63), or off"
        );
    }
    Ok(format!("{label}.local"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn local_names() {
        assert_eq!(local_name("sensor-7").unwrap(), "sensor-7.local");
        assert_eq!(local_name("sensor-7.local").unwrap(), "sensor-7.local");
        for bad in ["", "-x", "x-", "a.b", "has space", &"x".repeat(64), "café"] {
            let err = local_name(bad).unwrap_err().to_string();
            assert!(err.contains("--portal-local-name"), "{bad:?}: {err}");
        }
    }
}
