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
            || self.portal_ui.is_some();
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
        Ok(Some(PortalRoute::new(settings)))
    }
}
