//! Following an activation to its outcome through NetworkManager's state signals.

use std::future::poll_fn;
use std::pin::Pin;

use tokio::sync::mpsc::UnboundedSender;
use zbus::{Connection, MatchRule, MessageStream, ObjectPath, OwnedObjectPath};

use super::bus::bus_error;
use super::reasons::{active_reason_error, active_state, device_reason_error, state};
use super::{NM_PATH, iface, proxies};
use crate::{ConnectError, ConnectProgress, WifiError};

/// The next message of `stream`, `None` at its end.
pub(crate) async fn next_message(
    stream: &mut MessageStream,
) -> Option<zbus::Result<zbus::Message>> {
    poll_fn(|cx| {
        use zbus::export::futures_core::Stream;
        Pin::new(&mut *stream).poll_next(cx)
    })
    .await
}

/// Subscribes to the `StateChanged` signals of NetworkManager's objects (devices and active
/// connections). Call it before activating, so that no transition is missed.
pub(crate) async fn subscribe_states(conn: &Connection) -> Result<MessageStream, WifiError> {
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .path_namespace(NM_PATH)
        .member("StateChanged")
        .build()
        .map_err(|e| bus_error("subscribing to NetworkManager's state signals", &e))?;
    MessageStream::for_match_rule(rule, conn, None)
        .await
        .map_err(|e| bus_error("subscribing to NetworkManager's state signals", &e))
}

/// Subscribes to the property changes of the Wi-Fi side of the device at `device`.
pub(crate) async fn subscribe_wireless_properties(
    conn: &Connection,
    device: &ObjectPath<'_>,
) -> Result<MessageStream, WifiError> {
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .path(device.to_owned())
        .interface("org.freedesktop.DBus.Properties")
        .member("PropertiesChanged")
        .arg(0, iface::WIRELESS)
        .build()
        .map_err(|e| bus_error("subscribing to the device's properties", &e))?;
    MessageStream::for_match_rule(rule, conn, None)
        .await
        .map_err(|e| bus_error("subscribing to the device's properties", &e))
}

/// Sends progress to the caller, if it listens.
pub(crate) fn report(progress: Option<&UnboundedSender<ConnectProgress>>, step: ConnectProgress) {
    if let Some(tx) = progress {
        // A caller that dropped its receiver is not interested; that is fine.
        let _ = tx.send(step);
    }
}

/// One activation being followed.
pub(crate) struct Activation<'a> {
    pub conn: &'a Connection,
    /// The active connection object.
    pub active: OwnedObjectPath,
    /// The device it runs on, when known before activating.
    pub device: Option<OwnedObjectPath>,
    /// The network, for error messages.
    pub ssid: String,
    /// Whether joining involves a key handshake (reports `Authenticating`).
    pub secured: bool,
    /// Where station progress goes (`None` for the access point).
    pub progress: Option<&'a UnboundedSender<ConnectProgress>>,
}

#[derive(Default)]
struct Reported {
    associating: bool,
    authenticating: bool,
    obtaining: bool,
    /// The device entered an activation state since we started watching (so that a
    /// failure of an earlier activation is not taken for ours).
    started: bool,
}

impl Activation<'_> {
    /// Waits until the activation is `ACTIVATED` (Ok) or ends (the mapped reason), reporting
    /// progress on the way. `stream` must come from [`subscribe_states`], created before
    /// the activation was requested.
    pub(crate) async fn follow(&mut self, stream: &mut MessageStream) -> Result<(), ConnectError> {
        let active = proxies::active(self.conn, &self.active)
            .await
            .map_err(|e| ConnectError::Backend(bus_error("following the activation", &e)))?;
        if self.device.is_none() {
            self.device = active
                .devices()
                .await
                .ok()
                .and_then(|d| d.into_iter().next());
        }
        let mut seen = Reported::default();
        while let Some(message) = next_message(stream).await {
            let Ok(message) = message else { continue };
            let header = message.header();
            let (Some(path), Some(interface)) = (header.path(), header.interface()) else {
                continue;
            };
            let is_device = interface.as_str() == iface::DEVICE
                && self
                    .device
                    .as_ref()
                    .is_some_and(|d| d.as_str() == path.as_str());
            let is_active =
                interface.as_str() == iface::ACTIVE && path.as_str() == self.active.as_str();
            if is_device {
                let Ok((new, _old, reason)) = message.body().deserialize::<(u32, u32, u32)>()
                else {
                    continue;
                };
                self.on_device_state(new, reason, &mut seen).await?;
            } else if is_active {
                let Ok((new, reason)) = message.body().deserialize::<(u32, u32)>() else {
                    continue;
                };
                tracing::debug!(state = new, reason, "active connection state");
                match new {
                    active_state::ACTIVATED => return Ok(()),
                    active_state::DEACTIVATED => {
                        return Err(self.after_keys(active_reason_error(reason, &self.ssid), &seen));
                    }
                    _ => {}
                }
            }
        }
        Err(ConnectError::Backend(WifiError::unavailable(
            "the D-Bus connection to NetworkManager closed".to_owned(),
        )))
    }

    async fn on_device_state(
        &self,
        new: u32,
        reason: u32,
        seen: &mut Reported,
    ) -> Result<(), ConnectError> {
        tracing::debug!(
            state = super::reasons::device_state_name(new),
            reason = super::reasons::device_reason_name(reason),
            "device state"
        );
        if (state::PREPARE..=state::SECONDARIES).contains(&new) {
            seen.started = true;
        }
        match new {
            state::CONFIG if !seen.associating => {
                seen.associating = true;
                if self.progress.is_some() {
                    let (bssid, channel) = self.target().await;
                    report(
                        self.progress,
                        ConnectProgress::Associating { bssid, channel },
                    );
                }
                if self.secured {
                    seen.authenticating = true;
                    report(self.progress, ConnectProgress::Authenticating);
                }
            }
            state::NEED_AUTH if !seen.authenticating => {
                seen.authenticating = true;
                report(self.progress, ConnectProgress::Authenticating);
            }
            state::IP_CONFIG if !seen.obtaining => {
                seen.obtaining = true;
                report(self.progress, ConnectProgress::ObtainingAddress);
            }
            state::FAILED if seen.started => {
                if let Some(e) = device_reason_error(reason, &self.ssid) {
                    return Err(self.after_keys(e, seen));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// An authentication failure once the device has reached `IP_CONFIG` — the key handshake
    /// completed, so the passphrase was right — is a link that dropped: NetworkManager reports
    /// any disconnection before the activation completes as `SUPPLICANT_DISCONNECT` and, with
    /// no secret agent to ask for a new key, fails with `NO_SECRETS` (the radio lab saw this
    /// when the access point dropped a station whose handshake had just completed).
    fn after_keys(&self, error: ConnectError, seen: &Reported) -> ConnectError {
        if seen.obtaining && error.is_auth_error() {
            tracing::debug!("disconnected after the key handshake completed: the link dropped");
            ConnectError::LinkLost {
                ssid: self.ssid.clone(),
            }
        } else {
            error
        }
    }

    /// The access point being joined (BSSID, channel), as far as NetworkManager tells.
    async fn target(&self) -> (crate::Bssid, u8) {
        let Some(device) = &self.device else {
            return (crate::Bssid::default(), 0);
        };
        let Ok(wireless) = proxies::wireless(self.conn, device).await else {
            return (crate::Bssid::default(), 0);
        };
        let Ok(ap) = wireless.active_access_point().await else {
            return (crate::Bssid::default(), 0);
        };
        if ap.as_str() == "/" {
            return (crate::Bssid::default(), 0);
        }
        match proxies::get_all(self.conn, &ap, iface::ACCESS_POINT)
            .await
            .ok()
            .and_then(|props| super::parse_access_point(&props).ok())
        {
            Some(ap) => (ap.bssid, ap.channel),
            None => (crate::Bssid::default(), 0),
        }
    }
}
