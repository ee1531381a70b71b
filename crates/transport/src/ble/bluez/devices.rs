//! Per-device state: the GATT write/read sequence of each remote device and its connection
//! to the protocomm service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use protocomm::{AfterDisconnect, SessionId};
use zbus::{ObjectPath, OwnedVariant};

use super::super::gatt::{AttError, GattConnection, GattLayout, MAX_MTU};
use super::super::uuid::Uuid128;
use crate::Service;
use crate::service::Connection as Link;

/// The options BlueZ passes to `ReadValue` / `WriteValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Options {
    pub(super) offset: usize,
    pub(super) mtu: u16,
    device: String,
}

impl Options {
    pub(super) fn parse(options: &HashMap<String, OwnedVariant>) -> Self {
        let u16_of = |key: &str| options.get(key).and_then(|v| u16::try_from(v).ok());
        let device = options
            .get("device")
            .and_then(|v| <&ObjectPath<'_>>::try_from(v).ok().map(|p| p.to_string()))
            .unwrap_or_default();
        Options {
            offset: usize::from(u16_of("offset").unwrap_or(0)),
            mtu: u16_of("mtu").unwrap_or(MAX_MTU),
            device,
        }
    }

    /// The central's device object path (empty when BlueZ did not say).
    pub(super) fn device(&self) -> &str {
        &self.device
    }
}

/// GATT state of one remote device.
struct DeviceState {
    conn: GattConnection,
    /// The device's connection to the protocomm service (its session ends with it).
    link: Link,
    /// The characteristic whose written value awaits processing.
    pending: Option<Uuid128>,
}

/// The state shared by every exported object.
pub(super) struct Shared {
    service: Service,
    pub(super) layout: Arc<GattLayout>,
    max_value_len: usize,
    devices: Mutex<HashMap<String, DeviceState>>,
}

impl Shared {
    pub(super) fn new(service: Service, layout: Arc<GattLayout>, max_value_len: usize) -> Self {
        Shared {
            service,
            layout,
            max_value_len,
            devices: Mutex::new(HashMap::new()),
        }
    }

    fn devices(&self) -> MutexGuard<'_, HashMap<String, DeviceState>> {
        self.devices.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn device<'a>(
        &self,
        devices: &'a mut HashMap<String, DeviceState>,
        path: &str,
    ) -> &'a mut DeviceState {
        devices.entry(path.to_string()).or_insert_with(|| {
            let link = self
                .service
                .connect(AfterDisconnect::Close, bluez_source(path));
            tracing::debug!(device = path, session = ?link.session(), "BLE device seen");
            DeviceState {
                conn: GattConnection::new(self.layout.clone(), self.max_value_len),
                link,
                pending: None,
            }
        })
    }

    /// The device paths that currently hold a session, sorted.
    pub(super) fn device_paths(&self) -> Vec<String> {
        let mut out: Vec<String> = self.devices().keys().cloned().collect();
        out.sort();
        out
    }

    /// The protocomm session of the device at `path`.
    pub(super) fn session_of(&self, path: &str) -> Option<SessionId> {
        let devices = self.devices();
        devices.get(path).and_then(|d| d.link.session())
    }

    /// Forgets the device at `path` and closes its session; `false` if it had none.
    pub(super) fn close(&self, path: &str) -> bool {
        let removed = self.devices().remove(path);
        match removed {
            Some(state) => {
                tracing::debug!(device = path, session = ?state.link.session(), "BLE session closed");
                drop(state);
                true
            }
            None => false,
        }
    }

    pub(super) fn write(
        &self,
        characteristic: Uuid128,
        value: &[u8],
        opts: &Options,
    ) -> Result<(), AttError> {
        let mut devices = self.devices();
        let state = self.device(&mut devices, &opts.device);
        if opts.offset == 0 && state.pending.is_some_and(|p| p != characteristic) {
            // A new value for another characteristic replaces an unread one.
            state.conn.execute_write(false)?;
            state.pending = None;
        }
        state
            .conn
            .prepare_write(characteristic, opts.offset, value)?;
        state.pending = Some(characteristic);
        Ok(())
    }

    pub(super) async fn read(
        &self,
        characteristic: Uuid128,
        opts: &Options,
    ) -> Result<Vec<u8>, AttError> {
        let (request, connection) = {
            let mut devices = self.devices();
            let state = self.device(&mut devices, &opts.device);
            if opts.offset != 0 || state.pending != Some(characteristic) {
                return state.conn.read(characteristic, opts.offset, opts.mtu);
            }
            state.pending = None;
            match state.conn.execute_write(true)? {
                Some(request) => (request, state.link.id()),
                None => return state.conn.read(characteristic, opts.offset, opts.mtu),
            }
        };
        let response = match self
            .service
            .request(connection, &request.endpoint, &request.body)
            .await
        {
            Ok(response) => Some(response.body),
            Err(e) => {
                tracing::debug!(device = %opts.device, endpoint = ?request.endpoint, error = %e,
                    "request rejected");
                None
            }
        };
        let mut devices = self.devices();
        // The device may have disconnected while the request ran.
        let state = devices
            .get_mut(&opts.device)
            .filter(|s| s.link.id() == connection)
            .ok_or(AttError::UnlikelyError)?;
        state.conn.finish_request(&request, response)?;
        state.conn.read(characteristic, opts.offset, opts.mtu)
    }
}

/// The throttle's key for a BlueZ device object (`…/dev_AA_BB_CC_DD_EE_FF`): its address.
fn bluez_source(path: &str) -> protocomm::Source {
    let mut address = [0u8; 6];
    let hex = path.rsplit('/').next().and_then(|n| n.strip_prefix("dev_"));
    let parts = hex.map(|h| h.split('_').map(|b| u8::from_str_radix(b, 16)));
    match parts {
        Some(parts) if parts.clone().count() == 6 => {
            for (slot, byte) in address.iter_mut().zip(parts) {
                *slot = byte.unwrap_or(0);
            }
            protocomm::Source::Ble(address)
        }
        _ => protocomm::Source::Local,
    }
}
