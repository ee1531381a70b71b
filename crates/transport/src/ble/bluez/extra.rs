//! A second GATT service in the same application, beside the protocomm one: characteristics
//! whose values the owner sets (and BlueZ notifies to subscribed centrals), whose writes go to
//! the owner through a channel, and advertisement fields the owner may change while running.
//!
//! Improv Wi-Fi uses it: its five characteristics sit next to ESP-IDF's service on the same
//! adapter, and its state is advertised as service data.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;
use zbus::{OwnedObjectPath, OwnedVariant, interface};

use super::GattError;
use super::devices::Options;

/// One characteristic of an [`ExtraService`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraCharacteristic {
    /// Its UUID.
    pub uuid: String,
    /// BlueZ's flags (`read`, `write`, `write-without-response`, `notify`).
    pub flags: Vec<String>,
    /// The value at the start.
    pub value: Vec<u8>,
}

/// A value a central wrote to a characteristic of an [`ExtraService`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraWrite {
    /// The characteristic's index in [`ExtraService::characteristics`].
    pub characteristic: usize,
    /// The bytes written.
    pub value: Vec<u8>,
    /// The offset BlueZ gave (non-zero for the parts of a long write).
    pub offset: usize,
    /// The central's device object path.
    pub device: String,
}

/// A primary service served next to the protocomm one, and what it adds to the
/// advertisement.
#[derive(Debug)]
pub struct ExtraService {
    /// The service UUID.
    pub uuid: String,
    /// Its characteristics, in order.
    pub characteristics: Vec<ExtraCharacteristic>,
    /// Where writes go. A write that finds the channel full fails (`org.bluez.Error.Failed`).
    pub writes: mpsc::Sender<ExtraWrite>,
    /// The advertised service UUIDs, in place of the protocomm service's.
    pub advertised_uuids: Vec<String>,
    /// Service data to advertise, by 128-bit UUID.
    pub service_data: HashMap<String, Vec<u8>>,
}

/// The advertisement fields shared between the advertisement object and the handle.
#[derive(Debug, Default)]
pub(super) struct AdvertisedExtras {
    pub(super) uuids: Option<Vec<String>>,
    pub(super) service_data: Mutex<HashMap<String, Vec<u8>>>,
}

impl AdvertisedExtras {
    pub(super) fn service_data(&self) -> HashMap<String, OwnedVariant> {
        let data = self
            .service_data
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        data.iter()
            .filter_map(|(uuid, bytes)| {
                let value = zbus::Variant::from(bytes.clone());
                OwnedVariant::try_from(value)
                    .ok()
                    .map(|v| (uuid.clone(), v))
            })
            .collect()
    }

    /// Replaces the service data of `uuid`; `true` if it changed.
    pub(super) fn set_service_data(&self, uuid: &str, bytes: &[u8]) -> bool {
        let mut data = self
            .service_data
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if data.get(uuid).map(Vec::as_slice) == Some(bytes) {
            return false;
        }
        data.insert(uuid.to_owned(), bytes.to_vec());
        true
    }
}

pub(super) struct ExtraServiceObject {
    pub(super) uuid: String,
}

#[interface(name = "org.bluez.GattService1")]
impl ExtraServiceObject {
    /// The service UUID.
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        self.uuid.clone()
    }

    /// Always a primary service.
    #[zbus(property)]
    fn primary(&self) -> bool {
        true
    }
}

pub(super) struct ExtraCharacteristicObject {
    pub(super) index: usize,
    pub(super) uuid: String,
    pub(super) flags: Vec<String>,
    pub(super) service_path: OwnedObjectPath,
    pub(super) value: Arc<Mutex<Vec<u8>>>,
    pub(super) writes: mpsc::Sender<ExtraWrite>,
    pub(super) notifying: bool,
}

impl ExtraCharacteristicObject {
    pub(super) fn current(&self) -> Vec<u8> {
        self.value
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[interface(name = "org.bluez.GattCharacteristic1")]
impl ExtraCharacteristicObject {
    /// The characteristic UUID.
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        self.uuid.clone()
    }

    /// The service object this characteristic belongs to.
    #[zbus(property)]
    fn service(&self) -> OwnedObjectPath {
        self.service_path.clone()
    }

    /// The flags given.
    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        self.flags.clone()
    }

    /// The current value; its changes are signalled, which BlueZ sends as notifications.
    #[zbus(property)]
    fn value(&self) -> Vec<u8> {
        self.current()
    }

    /// Whether a central subscribed.
    #[zbus(property)]
    fn notifying(&self) -> bool {
        self.notifying
    }

    /// The value from the `offset` option.
    async fn read_value(
        &self,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<Vec<u8>, GattError> {
        if !self.flags.iter().any(|f| f == "read") {
            return Err(GattError::NotPermitted("not readable".into()));
        }
        let opts = Options::parse(&options);
        let value = self.current();
        value
            .get(opts.offset..)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| GattError::InvalidOffset("offset past the value".into()))
    }

    /// Hands the written bytes to the owner.
    async fn write_value(
        &self,
        value: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<(), GattError> {
        if !self.flags.iter().any(|f| f.starts_with("write")) {
            return Err(GattError::NotPermitted("not writable".into()));
        }
        let opts = Options::parse(&options);
        self.writes
            .try_send(ExtraWrite {
                characteristic: self.index,
                value,
                offset: opts.offset,
                device: opts.device().to_owned(),
            })
            .map_err(|_| GattError::Failed("busy".into()))
    }

    /// A central subscribed.
    async fn start_notify(&mut self) {
        self.notifying = true;
    }

    /// The last subscriber left.
    async fn stop_notify(&mut self) {
        self.notifying = false;
    }
}
