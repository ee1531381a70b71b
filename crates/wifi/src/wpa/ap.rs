//! Access point mode: a `mode=2` network block, where the driver supports it.

use tokio::sync::broadcast::error::RecvError;
use wifiprov_types::Secret;

use super::backend::{Cancel, WpaBackend, expect_ok, lock};
use super::event::WpaEvent;
use super::parse::{channel_to_frequency, ssid_value};
use super::plan::{Value, set_command};
use crate::{ApConfig, WifiError};

/// Channel used when the configuration leaves the choice to the backend.
const DEFAULT_CHANNEL: u8 = 6;

fn check(config: &ApConfig) -> Result<u32, WifiError> {
    if !(1..=32).contains(&config.ssid.len()) {
        return Err(WifiError::invalid(format!(
            "the access point SSID must be 1 to 32 bytes (got {})",
            config.ssid.len()
        )));
    }
    if let Some(p) = &config.passphrase {
        let p = p.expose();
        if !(8..=63).contains(&p.len()) || p.iter().any(|&b| b < 0x20 || b == 0x7f) {
            return Err(WifiError::invalid(format!(
                "the access point passphrase must be 8 to 63 characters without control \
                 characters (got {} bytes)",
                p.len()
            )));
        }
    }
    let channel = if config.channel == 0 {
        DEFAULT_CHANNEL
    } else {
        config.channel
    };
    channel_to_frequency(channel)
        .ok_or_else(|| WifiError::invalid(format!("no access point on channel {}", config.channel)))
}

impl WpaBackend {
    /// Whether the driver can run an access point (`GET_CAPABILITY modes strict` lists
    /// `AP`).
    pub async fn supports_ap(&self) -> Result<bool, WifiError> {
        let modes = self.cmd("GET_CAPABILITY modes strict").await?;
        Ok(modes.split_whitespace().any(|m| m == "AP"))
    }

    /// The `start_ap` implementation.
    pub(crate) async fn run_ap(&self, config: ApConfig) -> Result<(), WifiError> {
        self.ensure_alive()?;
        let freq = check(&config)?;
        let saved = config.clone();
        if !self.supports_ap().await? {
            return Err(WifiError::unsupported(format!(
                "the wpa_supplicant driver of {} cannot run an access point \
                 (GET_CAPABILITY modes strict does not list AP); use hostapd or a Wi-Fi driver \
                 with AP support",
                self.iface
            )));
        }
        self.end_ap().await?;
        self.cancel_attempt(Cancel::AccessPoint);
        let taken = lock(&self.state).restore.take();
        let restore: Vec<u32> = match taken {
            Some(r) => r,
            None => self
                .list_networks()
                .await?
                .iter()
                .filter(|n| !n.disabled)
                .map(|n| n.id)
                .collect(),
        };

        if config.max_clients > 0
            && let Err(e) = self
                .cmd_ok(&format!("SET max_num_sta {}", config.max_clients))
                .await
        {
            tracing::debug!(target: "wifiprov_wifi::wpa", "max_num_sta: {e}");
        }
        let reply = self.cmd("ADD_NETWORK").await?;
        let id: u32 = reply.trim().parse().map_err(|_| {
            WifiError::unavailable(format!(
                "wpa_supplicant on {} could not add a network ({})",
                self.iface,
                reply.trim()
            ))
        })?;
        let plain = |s: String| Value::Plain(s);
        let mut fields = vec![
            ("ssid", plain(ssid_value(&config.ssid))),
            ("mode", plain("2".into())),
            ("frequency", plain(freq.to_string())),
        ];
        match &config.passphrase {
            Some(p) => {
                let mut quoted = Vec::with_capacity(p.len() + 2);
                quoted.push(b'"');
                quoted.extend_from_slice(p.expose());
                quoted.push(b'"');
                fields.push(("key_mgmt", plain("WPA-PSK".into())));
                fields.push(("proto", plain("RSN".into())));
                fields.push(("pairwise", plain("CCMP".into())));
                fields.push(("group", plain("CCMP".into())));
                fields.push(("psk", Value::Secret(Secret::new(quoted))));
            }
            None => fields.push(("key_mgmt", plain("NONE".into()))),
        }
        if config.hidden {
            fields.push(("ignore_broadcast_ssid", plain("1".into())));
        }

        let mut events = self.subscribe();
        let started = async {
            for (name, value) in &fields {
                let (cmd, shown) = set_command(id, name, value);
                let reply = self.client.request_secret(&cmd, &shown).await?;
                expect_ok(&reply, &format!("the access point's {name}"))?;
            }
            expect_ok(
                &self.cmd(&format!("SELECT_NETWORK {id}")).await?,
                "SELECT_NETWORK",
            )?;
            self.await_ap(id, &mut events).await
        }
        .await;
        let started = match (started, &self.options.ap_network) {
            (Ok(()), Some(net)) => match super::ap_net::ApNetUp::up(&self.iface, net).await {
                Ok(up) => {
                    lock(&self.state).ap_net = Some(up);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            (other, _) => other,
        };
        match started {
            Ok(()) => {
                {
                    let mut state = lock(&self.state);
                    state.ap = Some((id, restore));
                    state.ap_config = Some(saved);
                }
                tracing::info!(
                    target: "wifiprov_wifi::wpa",
                    "access point {:?} up on {}",
                    String::from_utf8_lossy(&config.ssid),
                    self.iface
                );
                Ok(())
            }
            Err(e) => {
                let _ = self.cmd(&format!("REMOVE_NETWORK {id}")).await;
                self.enable_all(&restore).await;
                Err(e)
            }
        }
    }

    /// Waits for `AP-ENABLED` (or the access point's `CTRL-EVENT-CONNECTED`).
    async fn await_ap(
        &self,
        id: u32,
        events: &mut tokio::sync::broadcast::Receiver<WpaEvent>,
    ) -> Result<(), WifiError> {
        let deadline = tokio::time::Instant::now() + self.options.ap_timeout;
        loop {
            let event = tokio::time::timeout_at(deadline, events.recv()).await;
            match event {
                Err(_) => {
                    // Some versions only change state; look before giving up.
                    let status = self.raw_status().await?;
                    if status.mode.as_deref() == Some("AP") && status.wpa_state == "COMPLETED" {
                        return Ok(());
                    }
                    return Err(WifiError::unavailable(format!(
                        "the access point on {} did not come up within {} ms (wpa_state={})",
                        self.iface,
                        self.options.ap_timeout.as_millis(),
                        status.wpa_state
                    )));
                }
                Ok(Ok(WpaEvent::ApEnabled)) => return Ok(()),
                Ok(Ok(WpaEvent::Connected { id: Some(n), .. })) if n == id => return Ok(()),
                Ok(Ok(WpaEvent::ApDisabled)) => {
                    return Err(WifiError::unavailable(format!(
                        "the access point on {} was disabled while starting",
                        self.iface
                    )));
                }
                Ok(Ok(WpaEvent::Terminating) | Err(RecvError::Closed)) => {
                    return Err(WifiError::unavailable(
                        "wpa_supplicant exited while starting the access point",
                    ));
                }
                Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            }
        }
    }

    /// The `stop_ap` implementation.
    pub(crate) async fn end_ap(&self) -> Result<(), WifiError> {
        self.end_ap_network().await;
        lock(&self.state).ap_config = None;
        let Some((id, restore)) = lock(&self.state).ap.take() else {
            return Ok(());
        };
        let result = self.remove_network(id).await;
        self.enable_all(&restore).await;
        result
    }

    /// Takes the access point's address and DHCP server down, if they are up.
    pub(crate) async fn end_ap_network(&self) {
        let net = lock(&self.state).ap_net.take();
        if let Some(net) = net {
            net.down().await;
        }
    }
}
