//! Finding devices: LE discovery on an adapter, [`scan_devices`] and the search for one device.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use wifiprov_transport::ble::Uuid128;
use zbus::{Connection, MatchRule, MessageStream, Variant};

use super::bus::{Bluez, next_message};
use super::device::{boolean, with_iface};
use super::{
    ADAPTER_IFACE, BLUEZ_SERVICE, BleDevice, BluezCentralConfig, DEFAULT_REQUEST_TIMEOUT,
    DEVICE_IFACE, OBJECT_MANAGER_IFACE, Options, POLL_INTERVAL,
};
use crate::transport::TransportError;

impl Bluez {
    /// The adapter to use: the configured one, or the first in path order.
    pub(super) async fn adapter(&self, wanted: Option<&str>) -> Result<String, TransportError> {
        let objects = self.objects().await?;
        let adapters = with_iface(&objects, ADAPTER_IFACE);
        let chosen = match wanted {
            Some(w) => adapters
                .iter()
                .find(|(path, _)| *path == w || path.rsplit('/').next() == Some(w)),
            None => adapters.first(),
        };
        match chosen {
            Some((path, props)) => {
                if props.contains_key("Powered") && !boolean(props, "Powered") {
                    tracing::warn!(adapter = %path, "the Bluetooth adapter is powered off");
                }
                Ok((*path).to_string())
            }
            None => Err(TransportError::Unreachable {
                target: "BlueZ".into(),
                reason: match wanted {
                    Some(w) => format!("no Bluetooth adapter {w}"),
                    None => "no Bluetooth adapter (is a controller attached and bluetoothd \
                             running?)"
                        .into(),
                },
            }),
        }
    }

    /// Starts LE discovery on `adapter`; whether this call started it (and must stop it).
    async fn start_discovery(&self, adapter: &str) -> Result<bool, TransportError> {
        let filter: Options = HashMap::from([("Transport", Variant::from("le"))]);
        if let Err(e) = self
            .call(adapter, ADAPTER_IFACE, "SetDiscoveryFilter", &(filter,))
            .await
        {
            tracing::debug!(error = %e, "BlueZ refused the LE discovery filter; scanning without");
        }
        match self
            .call(adapter, ADAPTER_IFACE, "StartDiscovery", &())
            .await
        {
            Ok(_) => Ok(true),
            Err(TransportError::Status(text)) if text.starts_with("org.bluez.Error.InProgress") => {
                Ok(false)
            }
            Err(TransportError::Status(text)) if text.starts_with("org.bluez.Error.NotReady") => {
                Err(TransportError::Unreachable {
                    target: adapter.to_string(),
                    reason: "the Bluetooth adapter is not ready; power it on (bluetoothctl power \
                             on)"
                    .into(),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn stop_discovery(&self, adapter: &str) {
        if let Err(e) = self
            .call(adapter, ADAPTER_IFACE, "StopDiscovery", &())
            .await
        {
            tracing::debug!(error = %e, "StopDiscovery failed");
        }
    }

    /// Scans on `adapter` for `duration`, calling `done` on the devices known after every
    /// change; stops early when it returns `true`.
    pub(super) async fn scan(
        &self,
        adapter: &str,
        duration: Duration,
        mut done: impl FnMut(&[BleDevice]) -> bool,
    ) -> Result<Vec<BleDevice>, TransportError> {
        let devices = self.devices(adapter).await?;
        if done(&devices) {
            return Ok(devices);
        }
        let mut added = self.interfaces_added().await;
        let started = self.start_discovery(adapter).await?;
        let deadline = Instant::now() + duration;
        let result = loop {
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(POLL_INTERVAL);
            match added.as_mut() {
                Some(stream) => {
                    let _ = tokio::time::timeout(wait, next_message(stream)).await;
                }
                None => tokio::time::sleep(wait).await,
            }
            let devices = match self.devices(adapter).await {
                Ok(devices) => devices,
                Err(e) => break Err(e),
            };
            if done(&devices) || Instant::now() >= deadline {
                break Ok(devices);
            }
        };
        if started {
            self.stop_discovery(adapter).await;
        }
        result
    }

    /// The devices under `adapter`.
    async fn devices(&self, adapter: &str) -> Result<Vec<BleDevice>, TransportError> {
        let objects = self.objects().await?;
        let prefix = format!("{adapter}/");
        Ok(with_iface(&objects, DEVICE_IFACE)
            .into_iter()
            .filter(|(path, _)| path.starts_with(&prefix))
            .map(|(path, props)| BleDevice::from_props(path, props))
            .collect())
    }

    /// A stream of BlueZ's `InterfacesAdded` signals, if the bus lets us subscribe.
    async fn interfaces_added(&self) -> Option<MessageStream> {
        let rule = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(BLUEZ_SERVICE)
            .interface(OBJECT_MANAGER_IFACE)
            .member("InterfacesAdded")
            .build()
            .ok()?;
        MessageStream::for_match_rule(rule, &self.bus, None)
            .await
            .map_err(|e| tracing::debug!(error = %e, "no InterfacesAdded subscription"))
            .ok()
    }
}

/// Lists the BLE devices that look like provisioning devices (see
/// [`BleDevice::is_provisioning`], and, without `service_uuid`, Improv devices) after scanning for `duration` on the first adapter (or
/// `adapter`), strongest signal first.
pub async fn scan_devices(
    bus: &Connection,
    adapter: Option<&str>,
    service_uuid: Option<Uuid128>,
    duration: Duration,
) -> Result<Vec<BleDevice>, TransportError> {
    let bluez = Bluez {
        bus: bus.clone(),
        timeout: DEFAULT_REQUEST_TIMEOUT.min(duration + Duration::from_secs(5)),
    };
    let adapter = bluez.adapter(adapter).await?;
    let devices = bluez.scan(&adapter, duration, |_| false).await?;
    let mut found: Vec<BleDevice> = devices
        .into_iter()
        .filter(|d| d.is_provisioning(service_uuid) || (service_uuid.is_none() && d.improv))
        .collect();
    found.sort_by(|a, b| {
        b.rssi
            .unwrap_or(i16::MIN)
            .cmp(&a.rssi.unwrap_or(i16::MIN))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.path.cmp(&b.path))
    });
    Ok(found)
}

/// Scans until the device of `config` shows up.
pub(super) async fn find(
    bluez: &Bluez,
    adapter: &str,
    config: &BluezCentralConfig,
) -> Result<BleDevice, TransportError> {
    let devices = bluez
        .scan(adapter, config.scan_timeout, |devices| {
            devices.iter().any(|d| config.matches(d))
        })
        .await?;
    let mut matching: Vec<BleDevice> = devices.into_iter().filter(|d| config.matches(d)).collect();
    if matching.len() > 1 {
        let names: Vec<String> = matching
            .iter()
            .map(|d| {
                d.name
                    .clone()
                    .or_else(|| d.address.clone())
                    .unwrap_or_else(|| d.path.clone())
            })
            .collect();
        return Err(TransportError::Unreachable {
            target: config.target(),
            reason: format!(
                "several devices match ({}); choose one with --service_name",
                names.join(", ")
            ),
        });
    }
    matching.pop().ok_or_else(|| TransportError::Unreachable {
        target: config.target(),
        reason: format!(
            "no such device seen by {adapter} within {:.0} s; check that it is powered, in \
             range and still provisioning (advertising), and the name (`wifiprov discover` \
             lists BLE devices)",
            config.scan_timeout.as_secs_f64()
        ),
    })
}
