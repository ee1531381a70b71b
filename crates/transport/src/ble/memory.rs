//! An in-memory GATT link: the device side of the provisioning service without a radio.
//!
//! [`MemoryGattDevice`] owns the protocomm [`Service`] and the [`GattLayout`];
//! [`MemoryGattDevice::connect`] opens a [`MemoryGattLink`], which plays the part of one BLE
//! connection: its own [`GattConnection`] state, its own protocomm session (opened by the first
//! handshake message, closed when the link is dropped), and a negotiated MTU. The link offers
//! the ATT operations a central uses (discovery, descriptor reads, Write Request, Prepare /
//! Execute Write, Read / Read Blob) and enforces the PDU sizes of the MTU, so that a client
//! exercising it goes through the same long-write and long-read paths as over the air.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use protocomm::{AfterDisconnect, SessionId};

use super::gatt::{
    AttError, DEFAULT_MTU, GattConnection, GattLayout, GattRequest, MAX_ATTRIBUTE_LEN, MAX_MTU,
    USER_DESCRIPTION_UUID16, exchange_mtu, prepare_write_len, write_request_len,
};
use super::uuid::{DEFAULT_SERVICE_UUID, Uuid128};
use crate::Service;
use crate::service::Connection;

/// Settings of a [`MemoryGattDevice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryGattConfig {
    /// The primary service UUID ([`DEFAULT_SERVICE_UUID`] by default).
    pub service_uuid: Uuid128,
    /// The device's receive MTU offered in the MTU exchange (517 by default; Bluedroid offers
    /// 500).
    pub server_mtu: u16,
    /// The longest attribute value accepted or stored ([`MAX_ATTRIBUTE_LEN`] by default;
    /// [`super::gatt::BLUEDROID_MAX_ATTRIBUTE_LEN`] to emulate Bluedroid).
    pub max_value_len: usize,
    /// Whether characteristics carry their 0x2901 descriptor (`false` emulates old firmware,
    /// whose clients fall back to the legacy 16-bit ids).
    pub descriptions: bool,
}

impl Default for MemoryGattConfig {
    fn default() -> Self {
        MemoryGattConfig {
            service_uuid: DEFAULT_SERVICE_UUID,
            server_mtu: MAX_MTU,
            max_value_len: MAX_ATTRIBUTE_LEN,
            descriptions: true,
        }
    }
}

/// A characteristic as service discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredCharacteristic {
    /// Its UUID.
    pub uuid: Uuid128,
    /// The properties byte of its declaration.
    pub properties: u8,
    /// The 16-bit types of its descriptors.
    pub descriptors: Vec<u16>,
}

/// How many ATT operations of each kind the device has served (all links together), so that
/// tests can check which paths a client took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Write Requests.
    pub write_requests: usize,
    /// Prepare Write Requests.
    pub prepare_writes: usize,
    /// Execute Write Requests that committed.
    pub execute_writes: usize,
    /// Read Requests (offset 0) of characteristic values.
    pub reads: usize,
    /// Read Blob Requests (offset above 0) of characteristic values.
    pub read_blobs: usize,
    /// Reads of descriptors.
    pub descriptor_reads: usize,
}

/// The device side of the in-memory GATT link. Cheap to clone.
#[derive(Clone)]
pub struct MemoryGattDevice {
    inner: Arc<DeviceInner>,
}

struct DeviceInner {
    service: Service,
    layout: Arc<GattLayout>,
    config: MemoryGattConfig,
    live: AtomicUsize,
    stats: Mutex<LinkStats>,
}

impl MemoryGattDevice {
    /// A device serving `service` with the GATT layout of its registered endpoints.
    pub fn new(service: Service, config: MemoryGattConfig) -> Self {
        let endpoints = service.with_device(|d| d.endpoints().to_vec());
        let layout = Arc::new(GattLayout::new(config.service_uuid, &endpoints));
        MemoryGattDevice {
            inner: Arc::new(DeviceInner {
                service,
                layout,
                config,
                live: AtomicUsize::new(0),
                stats: Mutex::new(LinkStats::default()),
            }),
        }
    }

    /// The GATT database served.
    pub fn layout(&self) -> &GattLayout {
        &self.inner.layout
    }

    /// The settings.
    pub fn config(&self) -> &MemoryGattConfig {
        &self.inner.config
    }

    /// The protocomm service behind the link.
    pub fn service(&self) -> &Service {
        &self.inner.service
    }

    /// How many links are connected.
    pub fn connection_count(&self) -> usize {
        self.inner.live.load(Ordering::Acquire)
    }

    /// The operations served so far.
    pub fn stats(&self) -> LinkStats {
        *self
            .inner
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, f: impl FnOnce(&mut LinkStats)) {
        f(&mut self
            .inner
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner));
    }

    /// A new connection, with its own connection to the [`Service`] (whose device gives it a
    /// session id of its own, so that other transports can share the service) and the default
    /// MTU of 23 until [`MemoryGattLink::exchange_mtu`].
    pub fn connect(&self) -> MemoryGattLink {
        let link = self
            .inner
            .service
            .connect(AfterDisconnect::Close, protocomm::Source::Local);
        self.inner.live.fetch_add(1, Ordering::AcqRel);
        tracing::debug!(session = ?link.session(), "in-memory GATT link connected");
        MemoryGattLink {
            device: self.clone(),
            conn: GattConnection::new(self.inner.layout.clone(), self.inner.config.max_value_len),
            link,
            mtu: DEFAULT_MTU,
        }
    }
}

/// One connection over the in-memory link. Dropping it disconnects and closes its session.
pub struct MemoryGattLink {
    device: MemoryGattDevice,
    conn: GattConnection,
    link: Connection,
    mtu: u16,
}

impl MemoryGattLink {
    /// The protocomm session of this connection.
    pub fn session(&self) -> Option<SessionId> {
        self.link.session()
    }

    /// The current ATT MTU.
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// The Exchange MTU procedure: the client offers `client_mtu`; returns the MTU now in force.
    pub fn exchange_mtu(&mut self, client_mtu: u16) -> u16 {
        self.mtu = exchange_mtu(client_mtu, self.device.inner.config.server_mtu);
        self.mtu
    }

    /// Primary service discovery.
    pub fn services(&self) -> Vec<Uuid128> {
        vec![self.conn.layout().service_uuid()]
    }

    /// Characteristic (and descriptor) discovery, in handle order.
    pub fn characteristics(&self) -> Vec<DiscoveredCharacteristic> {
        let descriptors = if self.device.inner.config.descriptions {
            vec![USER_DESCRIPTION_UUID16]
        } else {
            Vec::new()
        };
        self.conn
            .layout()
            .characteristics()
            .iter()
            .map(|c| DiscoveredCharacteristic {
                uuid: c.uuid,
                properties: c.properties,
                descriptors: descriptors.clone(),
            })
            .collect()
    }

    /// Read / Read Blob of a descriptor of `characteristic`.
    pub fn read_descriptor(
        &self,
        characteristic: Uuid128,
        descriptor: u16,
        offset: usize,
    ) -> Result<Vec<u8>, AttError> {
        if !self.device.inner.config.descriptions {
            return Err(AttError::AttributeNotFound);
        }
        self.device.count(|s| s.descriptor_reads += 1);
        self.conn
            .read_descriptor(characteristic, descriptor, offset, self.mtu)
    }

    /// Write Request of `value` (at most `MTU − 3` bytes, or the PDU could not be sent:
    /// [`AttError::InvalidPdu`]); the device processes it before answering.
    pub async fn write(&mut self, characteristic: Uuid128, value: &[u8]) -> Result<(), AttError> {
        if value.len() > write_request_len(self.mtu) {
            return Err(AttError::InvalidPdu);
        }
        self.device.count(|s| s.write_requests += 1);
        let request = self.conn.write(characteristic, value)?;
        self.process(request).await
    }

    /// Prepare Write Request of `part` (at most `MTU − 5` bytes) at `offset`.
    pub fn prepare_write(
        &mut self,
        characteristic: Uuid128,
        offset: usize,
        part: &[u8],
    ) -> Result<(), AttError> {
        if part.len() > prepare_write_len(self.mtu) {
            return Err(AttError::InvalidPdu);
        }
        self.device.count(|s| s.prepare_writes += 1);
        self.conn.prepare_write(characteristic, offset, part)
    }

    /// Execute Write Request: with `commit`, the device processes the reassembled value.
    pub async fn execute_write(&mut self, commit: bool) -> Result<(), AttError> {
        if commit {
            self.device.count(|s| s.execute_writes += 1);
        }
        match self.conn.execute_write(commit)? {
            Some(request) => self.process(request).await,
            None => Ok(()),
        }
    }

    /// Read Request (`offset` 0) or Read Blob Request: up to `MTU − 1` bytes.
    pub fn read(&self, characteristic: Uuid128, offset: usize) -> Result<Vec<u8>, AttError> {
        self.device.count(|s| {
            if offset == 0 {
                s.reads += 1;
            } else {
                s.read_blobs += 1;
            }
        });
        self.conn.read(characteristic, offset, self.mtu)
    }

    /// Disconnects (the same as dropping the link).
    pub fn disconnect(self) {}

    async fn process(&mut self, request: GattRequest) -> Result<(), AttError> {
        let response = match self
            .link
            .request(None, &request.endpoint, &request.body)
            .await
        {
            Ok(response) => Some(response.body),
            Err(e) => {
                tracing::debug!(session = ?self.link.session(), endpoint = ?request.endpoint,
                    error = %e, "request rejected");
                None
            }
        };
        self.conn.finish_request(&request, response)
    }
}

impl Drop for MemoryGattLink {
    fn drop(&mut self) {
        tracing::debug!(session = ?self.link.session(), "in-memory GATT link disconnected");
        // Closes the session.
        self.link.disconnect();
        self.device.inner.live.fetch_sub(1, Ordering::AcqRel);
    }
}
