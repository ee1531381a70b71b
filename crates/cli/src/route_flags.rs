//! Route flags shared by `wifiprov device` and `wifiprov manage` (one clap struct, flattened
//! into both), and the SmartConfig value parsers the `smartconfig` subcommands use too.

use std::net::{IpAddr, SocketAddr};

use anyhow::{Result, bail};
use clap::Args;
use smartconfig::api::Settings;
use smartconfig::net::AckConfig;
use smartconfig::{ScType, Secret};
use wifiprov_agent::SmartConfigRoute;

use crate::exit::Exit;

/// The `--smartconfig-*` flags: SmartConfig as one more route.
#[derive(Args, Debug, Default, Clone)]
pub struct SmartConfigArgs {
    /// Also receive credentials by SmartConfig (ESPTouch, AirKiss) sniffed on this monitor-mode
    /// interface (channel hopping until a guide is heard). When it is missing, or on the radio
    /// of the station (--wifi-interface), the agent takes that radio while it sniffs: it
    /// scans, disconnects the station, takes the station interface down, creates IFACE on
    /// the radio, hops the channels access points were found on, and gives the radio back
    /// before joining (a one-radio device, like an ESP32).
    #[arg(long, value_name = "IFACE", help_heading = "SmartConfig")]
    pub smartconfig_interface: Option<String>,
    /// Also receive SmartConfig from the payload lengths of UDP datagrams arriving on this
    /// address (a machine on the phone's network, or tests).
    #[arg(long, value_name = "ADDR:PORT", help_heading = "SmartConfig")]
    pub smartconfig_udp: Option<SocketAddr>,
    /// What SmartConfig listens for: esptouch, airkiss, esptouch-airkiss or esptouch-v2
    /// [default: esptouch-airkiss].
    #[arg(long, value_name = "TYPE", value_parser = parse_type, help_heading = "SmartConfig")]
    pub smartconfig_type: Option<ScType>,
    /// AES key of encrypted ESPTouch v2 / AirKiss messages (text).
    #[arg(
        long,
        value_name = "KEY",
        env = "WIFIPROV_AES_KEY",
        hide_env_values = true,
        help_heading = "SmartConfig"
    )]
    pub smartconfig_aes_key: Option<String>,
    /// The phone's SmartConfig reply port instead of the protocol's (18266, 18266+10000·mark,
    /// 10000).
    #[arg(long, value_name = "PORT", help_heading = "SmartConfig")]
    pub smartconfig_ack_port: Option<u16>,
    /// Broadcast address for the SmartConfig acknowledgement copies [default: 255.255.255.255].
    #[arg(long, value_name = "ADDR", help_heading = "SmartConfig")]
    pub smartconfig_ack_broadcast: Option<IpAddr>,
}

impl SmartConfigArgs {
    /// The route the flags describe, or `None` when none of them was given. `station` is the
    /// station's Wi-Fi interface, whose radio a monitor interface may have to share.
    pub fn route(&self, station: Option<&str>) -> Result<Option<SmartConfigRoute>> {
        let route = match (&self.smartconfig_interface, self.smartconfig_udp) {
            (Some(_), Some(_)) => {
                bail!("--smartconfig-interface and --smartconfig-udp exclude each other")
            }
            (Some(interface), None) => match station {
                Some(station) if station == interface => bail!(
                    "--smartconfig-interface names the station interface {station}; name the \
                     monitor interface to create on its radio instead (e.g. mon0)"
                ),
                Some(station) => SmartConfigRoute::monitor_on_radio(interface.clone(), station),
                None => SmartConfigRoute::monitor(interface.clone()),
            },
            (None, Some(addr)) => SmartConfigRoute::udp(addr),
            (None, None) => {
                if self.smartconfig_type.is_some()
                    || self.smartconfig_aes_key.is_some()
                    || self.smartconfig_ack_port.is_some()
                    || self.smartconfig_ack_broadcast.is_some()
                {
                    bail!(
                        "the --smartconfig-* settings need a source: --smartconfig-interface \
                         or --smartconfig-udp"
                    );
                }
                return Ok(None);
            }
        };
        let mut ack = AckConfig::default();
        if let Some(port) = self.smartconfig_ack_port {
            ack.esptouch_port = port;
            ack.v2_port = Some(port);
            ack.airkiss_port = port;
        }
        if let Some(ip) = self.smartconfig_ack_broadcast {
            ack.broadcast = Some(ip);
        }
        let settings = Settings {
            aes_key: key_bytes(self.smartconfig_aes_key.as_deref())?,
            mac: crate::host::default_mac(),
            ack,
        };
        Ok(Some(
            route
                .sc_type(self.smartconfig_type.unwrap_or_default())
                .settings(settings),
        ))
    }
}

/// A SmartConfig receiver type by name.
pub fn parse_type(text: &str) -> Result<ScType, String> {
    ScType::from_name(text)
        .ok_or_else(|| "expected esptouch, airkiss, esptouch-airkiss or esptouch-v2".into())
}

/// The AES key argument as bytes, checked for the receiver type.
pub fn key_bytes(key: Option<&str>) -> Result<Option<Secret>> {
    let Some(key) = key else {
        return Ok(None);
    };
    if key.len() > 16 {
        return Err(Exit::Usage.error(format!("--aes-key is {} bytes; at most 16 fit", key.len())));
    }
    Ok(Some(Secret::new(key.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_settings() {
        let none = SmartConfigArgs::default();
        assert!(none.route(None).unwrap().is_none());
        let orphan = SmartConfigArgs {
            smartconfig_type: Some(ScType::AirKiss),
            ..SmartConfigArgs::default()
        };
        let err = orphan.route(None).unwrap_err().to_string();
        assert!(err.contains("--smartconfig-interface"), "{err}");
        let both = SmartConfigArgs {
            smartconfig_interface: Some("mon0".into()),
            smartconfig_udp: Some("127.0.0.1:7001".parse().unwrap()),
            ..SmartConfigArgs::default()
        };
        assert!(both.route(None).is_err());
        let long_key = SmartConfigArgs {
            smartconfig_udp: Some("127.0.0.1:7001".parse().unwrap()),
            smartconfig_aes_key: Some("0123456789abcdefg".into()),
            ..SmartConfigArgs::default()
        };
        assert!(long_key.route(None).is_err());
        let udp = SmartConfigArgs {
            smartconfig_udp: Some("127.0.0.1:7001".parse().unwrap()),
            ..SmartConfigArgs::default()
        };
        let route = format!("{:?}", udp.route(Some("wlan0")).unwrap().unwrap());
        assert!(
            route.contains("SmartConfig on udp 127.0.0.1:7001"),
            "{route}"
        );
        let monitor = SmartConfigArgs {
            smartconfig_interface: Some("mon0".into()),
            ..SmartConfigArgs::default()
        };
        let shared = format!("{:?}", monitor.route(Some("wlan0")).unwrap().unwrap());
        assert!(shared.contains("mon0 (radio of wlan0)"), "{shared}");
        let alone = format!("{:?}", monitor.route(None).unwrap().unwrap());
        assert!(!alone.contains("radio of"), "{alone}");
        let station = SmartConfigArgs {
            smartconfig_interface: Some("wlan0".into()),
            ..SmartConfigArgs::default()
        };
        assert!(station.route(Some("wlan0")).is_err());
    }
}
