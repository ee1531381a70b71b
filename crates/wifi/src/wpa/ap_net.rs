//! The access point's own IPv4 network: its address on the interface and a DHCP server for
//! the stations that join it.
//!
//! wpa_supplicant's AP mode only runs the radio side; a phone that joins still needs an address
//! to reach the provisioning service. While the access point is up the interface gets
//! [`ApNetwork::address`] (ESP-IDF's SoftAP address 192.168.4.1/24 by default) and, with
//! [`ApNetwork::dhcp`], a `dnsmasq` child hands out leases on that interface alone: DHCP only,
//! no DNS (`--port=0`), leases kept in memory (`--leasefile-ro`), at most
//! [`ApNetwork::max_leases`] of them, so a crowd of strangers cannot exhaust anything but the
//! pool. Both go away before the station side joins a network and when the access point stops,
//! so the station's own address (from the system's DHCP client) is never confused with the
//! access point's.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::WifiError;

/// How the access point's network is set up (see the [module documentation](self)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApNetwork {
    /// The access point's address on its interface.
    pub address: Ipv4Addr,
    /// The prefix length of the access point's network (8 to 30).
    pub prefix: u8,
    /// Serve DHCP on the access point with `dnsmasq`.
    pub dhcp: bool,
    /// The `dnsmasq` program (a name looked up in `PATH`, or a path).
    pub dnsmasq: PathBuf,
    /// The most leases handed out at once.
    pub max_leases: u16,
    /// A captive portal's RFC 8908 API URL, announced with DHCP option 114 (RFC 8910).
    pub captive_portal: Option<String>,
    /// Announce the access point's own address as the DNS server (a captive portal's DNS
    /// responder answers there); otherwise no DNS server is announced.
    pub dns: bool,
}

impl Default for ApNetwork {
    fn default() -> Self {
        ApNetwork {
            address: Ipv4Addr::new(192, 168, 4, 1),
            prefix: 24,
            dhcp: true,
            dnsmasq: PathBuf::from("dnsmasq"),
            max_leases: 16,
            captive_portal: None,
            dns: false,
        }
    }
}

impl ApNetwork {
    /// The first and last address handed out: the whole network but its own address, the
    /// network and broadcast addresses.
    pub fn pool(&self) -> Result<(Ipv4Addr, Ipv4Addr), WifiError> {
        if !(8..=30).contains(&self.prefix) {
            return Err(WifiError::invalid(format!(
                "the access point's prefix must be 8 to 30 (got /{})",
                self.prefix
            )));
        }
        let mask = u32::MAX << (32 - u32::from(self.prefix));
        let own = u32::from(self.address);
        let network = own & mask;
        let broadcast = network | !mask;
        if own == network || own == broadcast {
            return Err(WifiError::invalid(format!(
                "{}/{} is not a host address",
                self.address, self.prefix
            )));
        }
        let first = if own == network + 1 {
            network + 2
        } else {
            network + 1
        };
        let last = if own == broadcast - 1 {
            broadcast - 2
        } else {
            broadcast - 1
        };
        Ok((Ipv4Addr::from(first), Ipv4Addr::from(last)))
    }

    fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::MAX << (32 - u32::from(self.prefix)))
    }

    /// The `dnsmasq` arguments serving this network on `iface`.
    pub fn dnsmasq_args(&self, iface: &str) -> Result<Vec<String>, WifiError> {
        let (first, last) = self.pool()?;
        let mut args = vec![
            "--keep-in-foreground".into(),
            "--conf-file=/dev/null".into(),
            "--port=0".into(),
            "--bind-interfaces".into(),
            format!("--interface={iface}"),
            "--except-interface=lo".into(),
            format!("--dhcp-range={first},{last},{},10m", self.netmask()),
            format!("--dhcp-lease-max={}", self.max_leases.max(1)),
            "--leasefile-ro".into(),
            // No default route and no DNS server: the access point leads nowhere else.
            "--dhcp-option=3".into(),
            if self.dns {
                format!("--dhcp-option=6,{}", self.address)
            } else {
                "--dhcp-option=6".into()
            },
            "--log-facility=-".into(),
        ];
        if let Some(url) = &self.captive_portal {
            args.push(format!("--dhcp-option=114,\"{url}\""));
        }
        Ok(args)
    }
}

/// The access point's network while it is up: the address on the interface and the DHCP
/// server. [`ApNetUp::down`] undoes both; dropping it kills the server.
#[derive(Debug)]
pub(crate) struct ApNetUp {
    iface: String,
    cidr: String,
    dhcp: Option<Child>,
}

/// Runs `ip` with `args`, turning a failure into a [`WifiError`].
async fn ip(args: &[&str]) -> Result<(), WifiError> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| WifiError::unavailable(format!("cannot run ip {}: {e}", args.join(" "))))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(WifiError::unavailable(format!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

impl ApNetUp {
    /// Puts the address on `iface` and starts the DHCP server.
    pub(crate) async fn up(iface: &str, net: &ApNetwork) -> Result<ApNetUp, WifiError> {
        let args = if net.dhcp {
            Some(net.dnsmasq_args(iface)?)
        } else {
            net.pool().map(|_| None)?
        };
        let cidr = format!("{}/{}", net.address, net.prefix);
        ip(&["addr", "replace", &cidr, "dev", iface]).await?;
        let mut up = ApNetUp {
            iface: iface.to_owned(),
            cidr,
            dhcp: None,
        };
        if let Some(args) = args {
            let child = Command::new(&net.dnsmasq)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn();
            match child {
                Ok(child) => up.dhcp = Some(child),
                Err(e) => {
                    up.down().await;
                    return Err(WifiError::unavailable(format!(
                        "cannot start the access point's DHCP server ({}): {e}",
                        net.dnsmasq.display()
                    )));
                }
            }
        }
        tracing::info!(
            target: "wifiprov_wifi::wpa",
            "access point network {} on {iface}{}",
            up.cidr,
            if up.dhcp.is_some() { " with DHCP" } else { "" }
        );
        Ok(up)
    }

    /// Stops the DHCP server and removes the address (best effort).
    pub(crate) async fn down(mut self) {
        if let Some(mut child) = self.dhcp.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        if let Err(e) = ip(&["addr", "del", &self.cidr, "dev", &self.iface]).await {
            tracing::debug!(target: "wifiprov_wifi::wpa", "{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_leaves_out_the_own_network_and_broadcast_addresses() {
        let net = ApNetwork::default();
        assert_eq!(
            net.pool().unwrap(),
            (
                Ipv4Addr::new(192, 168, 4, 2),
                Ipv4Addr::new(192, 168, 4, 254)
            )
        );
        let high = ApNetwork {
            address: Ipv4Addr::new(10, 0, 0, 254),
            ..ApNetwork::default()
        };
        assert_eq!(
            high.pool().unwrap(),
            (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 253))
        );
    }

    #[test]
    fn bad_networks_are_refused() {
        for (address, prefix) in [
            ([192, 168, 4, 0], 24),
            ([192, 168, 4, 255], 24),
            ([10, 0, 0, 1], 31),
        ] {
            let net = ApNetwork {
                address: Ipv4Addr::from(address),
                prefix,
                ..ApNetwork::default()
            };
            assert!(net.pool().is_err(), "{address:?}/{prefix}");
        }
    }

    #[test]
    fn dnsmasq_announces_a_captive_portal() {
        let net = ApNetwork {
            captive_portal: Some("http://192.168.4.1/api/captive".into()),
            dns: true,
            ..ApNetwork::default()
        };
        let args = net.dnsmasq_args("wlan1").unwrap();
        assert!(args.iter().any(|a| a == "--dhcp-option=6,192.168.4.1"));
        assert!(
            args.iter()
                .any(|a| a == "--dhcp-option=114,\"http://192.168.4.1/api/captive\"")
        );
        let plain = ApNetwork::default().dnsmasq_args("wlan1").unwrap();
        assert!(plain.iter().any(|a| a == "--dhcp-option=6"));
        assert!(!plain.iter().any(|a| a.starts_with("--dhcp-option=114")));
    }

    #[test]
    fn dnsmasq_serves_only_dhcp_on_the_interface() {
        let args = ApNetwork::default().dnsmasq_args("wlan1").unwrap();
        for want in [
            "--interface=wlan1",
            "--port=0",
            "--bind-interfaces",
            "--leasefile-ro",
            "--dhcp-lease-max=16",
            "--dhcp-range=192.168.4.2,192.168.4.254,255.255.255.0,10m",
        ] {
            assert!(
                args.iter().any(|a| a == want),
                "{want} missing from {args:?}"
            );
        }
    }
}
