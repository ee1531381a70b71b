//! The client side of the in-memory GATT link: a [`ClientTransport`] that speaks to a
//! [`MemoryGattDevice`] the way a BLE central speaks to a provisioning device.
//!
//! On connect it negotiates the MTU and identifies the endpoints by reading each
//! characteristic's 0x2901 user description (falling back to the legacy 16-bit ids when a
//! characteristic has none). Each request is a write (a Write Request, or Prepare Write +
//! Execute Write when the body exceeds `MTU − 3` bytes) followed by a read of the response
//! (Read, then Read Blob until a chunk shorter than `MTU − 1`). Resetting the session
//! reconnects, since a BLE session lives exactly as long as its connection.

use std::collections::BTreeMap;

use wifiprov_transport::ble::gatt::{
    AttError, MAX_ATTRIBUTE_LEN, USER_DESCRIPTION_UUID16, legacy_endpoint_name, prepare_write_len,
    read_chunk_len, write_request_len,
};
use wifiprov_transport::ble::{MemoryGattDevice, MemoryGattLink, Uuid128};
use wifiprov_wifi::BoxFuture;

use crate::transport::{ClientTransport, TransportError};

/// A [`ClientTransport`] over the in-memory GATT link.
pub struct MemoryBleTransport {
    device: MemoryGattDevice,
    link: Option<MemoryGattLink>,
    requested_mtu: u16,
    endpoints: BTreeMap<String, Uuid128>,
}

impl MemoryBleTransport {
    /// Connects to `device`, offering `mtu` in the MTU exchange, and discovers the endpoints.
    pub fn connect(device: &MemoryGattDevice, mtu: u16) -> Result<Self, TransportError> {
        let mut link = device.connect();
        link.exchange_mtu(mtu);
        let endpoints = discover(&link)?;
        Ok(MemoryBleTransport {
            device: device.clone(),
            link: Some(link),
            requested_mtu: mtu,
            endpoints,
        })
    }

    /// The MTU in force (23 while disconnected).
    pub fn mtu(&self) -> u16 {
        self.link.as_ref().map_or(23, MemoryGattLink::mtu)
    }

    /// The protocomm session of the current connection.
    pub fn session(&self) -> Option<protocomm::SessionId> {
        self.link.as_ref().and_then(MemoryGattLink::session)
    }

    /// The endpoints found, by name.
    pub fn endpoints(&self) -> &BTreeMap<String, Uuid128> {
        &self.endpoints
    }

    /// Drops the connection (the device closes its session).
    pub fn disconnect(&mut self) {
        self.link = None;
    }

    fn link(&mut self) -> &mut MemoryGattLink {
        self.link.get_or_insert_with(|| {
            let mut link = self.device.connect();
            link.exchange_mtu(self.requested_mtu);
            link
        })
    }
}

fn att(e: AttError) -> TransportError {
    match e {
        AttError::InvalidPdu => TransportError::Rejected,
        other => TransportError::Status(other.to_string()),
    }
}

/// Reads a whole value through `read(offset)`: chunks of `MTU − 1` until a short one.
fn read_long(
    mtu: u16,
    mut read: impl FnMut(usize) -> Result<Vec<u8>, AttError>,
) -> Result<Vec<u8>, TransportError> {
    let full = read_chunk_len(mtu);
    let mut value = Vec::new();
    loop {
        let chunk = read(value.len()).map_err(att)?;
        let done = chunk.len() < full;
        value.extend(chunk);
        if done {
            return Ok(value);
        }
        if value.len() > MAX_ATTRIBUTE_LEN {
            return Err(TransportError::Other(format!(
                "the device returned a value longer than {MAX_ATTRIBUTE_LEN} bytes"
            )));
        }
    }
}

fn discover(link: &MemoryGattLink) -> Result<BTreeMap<String, Uuid128>, TransportError> {
    let mut endpoints = BTreeMap::new();
    for c in link.characteristics() {
        let name = if c.descriptors.contains(&USER_DESCRIPTION_UUID16) {
            let raw = read_long(link.mtu(), |offset| {
                link.read_descriptor(c.uuid, USER_DESCRIPTION_UUID16, offset)
            })?;
            String::from_utf8(raw).ok()
        } else {
            legacy_endpoint_name(c.uuid.id16()).map(str::to_string)
        };
        match name {
            Some(name) => {
                endpoints.insert(name, c.uuid);
            }
            None => tracing::debug!(uuid = %c.uuid, "characteristic without a known endpoint"),
        }
    }
    Ok(endpoints)
}

async fn exchange(
    link: &mut MemoryGattLink,
    uuid: Uuid128,
    body: &[u8],
) -> Result<Vec<u8>, TransportError> {
    let mtu = link.mtu();
    if body.len() <= write_request_len(mtu) {
        link.write(uuid, body).await.map_err(att)?;
    } else {
        let step = prepare_write_len(mtu);
        for (i, part) in body.chunks(step).enumerate() {
            if let Err(e) = link.prepare_write(uuid, i * step, part) {
                // Best effort: leave no queued data behind for the next write.
                let _ = link.execute_write(false).await;
                return Err(att(e));
            }
        }
        link.execute_write(true).await.map_err(att)?;
    }
    read_long(mtu, |offset| link.read(uuid, offset))
}

impl ClientTransport for MemoryBleTransport {
    fn request<'a>(
        &'a mut self,
        endpoint: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>> {
        Box::pin(async move {
            let uuid = *self.endpoints.get(endpoint).ok_or_else(|| {
                TransportError::Status(format!("the device has no characteristic for {endpoint}"))
            })?;
            exchange(self.link(), uuid, body).await
        })
    }

    fn reset_session(&mut self) {
        // A BLE session ends with its connection: reconnect.
        self.link = None;
        self.link();
    }

    fn describe(&self) -> String {
        format!(
            "ble-memory://{} (MTU {})",
            self.device.layout().service_uuid(),
            self.mtu()
        )
    }
}
