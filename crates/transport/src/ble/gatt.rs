//! The sans-I/O GATT core: database layout, advertisement content, and the per-connection
//! state machine for writes, long writes, reads and long reads.
//!
//! Nothing here touches a radio or a bus. An adapter (BlueZ over D-Bus, or the in-memory link
//! of [`super::memory`]) feeds ATT operations into a [`GattConnection`]; when a write completes
//! the connection hands back a [`GattRequest`], the adapter passes its body to the protocomm
//! [`crate::Service`] and returns the outcome with [`GattConnection::finish_request`], which
//! stores the response as the characteristic's value for the following reads.

use std::sync::Arc;

use protocomm::device::Endpoint;

use super::uuid::{Uuid128, characteristic_uuid};

/// Characteristic property bit: Read.
pub const PROP_READ: u8 = 0x02;
/// Characteristic property bit: Write (Write Request, with response).
pub const PROP_WRITE: u8 = 0x08;
/// Properties of every endpoint characteristic: Read + Write (`0x0A`). Write Without Response
/// is not offered, and Notify (ESP-IDF's optional `0x1A`) is never used by the protocol.
pub const ENDPOINT_PROPERTIES: u8 = PROP_READ | PROP_WRITE;
/// The Characteristic User Description descriptor type, holding the endpoint name.
pub const USER_DESCRIPTION_UUID16: u16 = 0x2901;

/// The default (and minimum) ATT MTU of LE.
pub const DEFAULT_MTU: u16 = 23;
/// The largest ATT MTU (a 512-byte attribute value plus a 5-byte Prepare Write header).
pub const MAX_MTU: u16 = 517;
/// The local MTU offered by ESP-IDF's Bluedroid host.
pub const BLUEDROID_MTU: u16 = 500;
/// The longest attribute value allowed by the Bluetooth specification (and NimBLE).
pub const MAX_ATTRIBUTE_LEN: usize = 512;
/// The long-write reassembly buffer of ESP-IDF's Bluedroid scheme (`CHAR_VAL_LEN_MAX`, with
/// security 2 compiled in); a device emulating Bluedroid limits values to this.
pub const BLUEDROID_MAX_ATTRIBUTE_LEN: usize = 481;

/// The prefix of the default device name (`PROV_` + the last three bytes of the MAC address).
pub const NAME_PREFIX: &str = "PROV_";
/// The longest device name that ESP-IDF advertises.
pub const MAX_NAME_LEN: usize = 29;

/// The 16-bit ids of the built-in endpoints, for clients of old firmware whose characteristics
/// carry no 0x2901 descriptor (those used the 16-bit UUIDs `0000ff51-…` over the Bluetooth base
/// UUID; the same ids appear in the derived 128-bit UUIDs).
pub const LEGACY_ENDPOINT_IDS: [(u16, &str); 5] = [
    (0xff4f, "prov-ctrl"),
    (0xff50, "prov-scan"),
    (0xff51, "prov-session"),
    (0xff52, "prov-config"),
    (0xff53, "proto-ver"),
];

/// The endpoint name that a legacy 16-bit id stands for.
pub fn legacy_endpoint_name(id16: u16) -> Option<&'static str> {
    LEGACY_ENDPOINT_IDS
        .iter()
        .find(|(id, _)| *id == id16)
        .map(|(_, name)| *name)
}

/// An ATT error code returned for a GATT operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttError {
    /// 0x01: the handle does not exist.
    #[error("invalid handle (ATT 0x01)")]
    InvalidHandle,
    /// 0x02: the attribute cannot be read.
    #[error("read not permitted (ATT 0x02)")]
    ReadNotPermitted,
    /// 0x03: the attribute cannot be written (the 0x2901 descriptor).
    #[error("write not permitted (ATT 0x03)")]
    WriteNotPermitted,
    /// 0x04: the request could not be processed. Returned, as NimBLE does, when the protocomm
    /// service rejected a request (no response).
    #[error("invalid PDU / request rejected (ATT 0x04)")]
    InvalidPdu,
    /// 0x07: a read or prepared-write offset past the end of the value.
    #[error("invalid offset (ATT 0x07)")]
    InvalidOffset,
    /// 0x09: prepared writes to a second attribute while the queue holds another's.
    #[error("prepare queue full (ATT 0x09)")]
    PrepareQueueFull,
    /// 0x0A: no such characteristic or descriptor in the service.
    #[error("attribute not found (ATT 0x0A)")]
    AttributeNotFound,
    /// 0x0D: a value longer than the maximum attribute length.
    #[error("invalid attribute value length (ATT 0x0D)")]
    InvalidAttributeValueLength,
    /// 0x0E: an operation out of sequence (a write while a request is in flight, a response
    /// too long to store).
    #[error("unlikely error (ATT 0x0E)")]
    UnlikelyError,
}

impl AttError {
    /// The ATT error code.
    pub fn code(self) -> u8 {
        match self {
            AttError::InvalidHandle => 0x01,
            AttError::ReadNotPermitted => 0x02,
            AttError::WriteNotPermitted => 0x03,
            AttError::InvalidPdu => 0x04,
            AttError::InvalidOffset => 0x07,
            AttError::PrepareQueueFull => 0x09,
            AttError::AttributeNotFound => 0x0A,
            AttError::InvalidAttributeValueLength => 0x0D,
            AttError::UnlikelyError => 0x0E,
        }
    }
}

/// The negotiated ATT MTU: the smaller of both sides' receive MTUs, never below 23 nor above
/// 517.
pub fn exchange_mtu(client_mtu: u16, server_mtu: u16) -> u16 {
    client_mtu.min(server_mtu).clamp(DEFAULT_MTU, MAX_MTU)
}

/// How many value bytes one Read / Read Blob response carries at `mtu` (`MTU − 1`).
pub fn read_chunk_len(mtu: u16) -> usize {
    usize::from(mtu.clamp(DEFAULT_MTU, MAX_MTU)) - 1
}

/// The longest value one Write Request carries at `mtu` (`MTU − 3`).
pub fn write_request_len(mtu: u16) -> usize {
    usize::from(mtu.clamp(DEFAULT_MTU, MAX_MTU)) - 3
}

/// The longest part one Prepare Write Request carries at `mtu` (`MTU − 5`).
pub fn prepare_write_len(mtu: u16) -> usize {
    usize::from(mtu.clamp(DEFAULT_MTU, MAX_MTU)) - 5
}

/// One endpoint characteristic of the provisioning service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Characteristic {
    /// The characteristic UUID derived from the service UUID and [`Characteristic::id16`].
    pub uuid: Uuid128,
    /// The endpoint's 16-bit id.
    pub id16: u16,
    /// The endpoint name.
    pub endpoint: String,
    /// The properties byte of the characteristic declaration ([`ENDPOINT_PROPERTIES`]).
    pub properties: u8,
    /// The value of the 0x2901 descriptor: the endpoint name as bytes, without NUL.
    pub description: Vec<u8>,
}

/// The GATT database of the provisioning service: one primary service, and one characteristic
/// per protocomm endpoint in registration order, each with a 0x2901 descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GattLayout {
    service: Uuid128,
    characteristics: Vec<Characteristic>,
}

impl GattLayout {
    /// The layout for `endpoints` (as [`protocomm::Device::endpoints`] lists them) under
    /// `service`.
    pub fn new(service: Uuid128, endpoints: &[Endpoint]) -> Self {
        let characteristics = endpoints
            .iter()
            .map(|e| Characteristic {
                uuid: characteristic_uuid(service, e.uuid16),
                id16: e.uuid16,
                endpoint: e.name.clone(),
                properties: ENDPOINT_PROPERTIES,
                description: e.name.as_bytes().to_vec(),
            })
            .collect();
        GattLayout {
            service,
            characteristics,
        }
    }

    /// The primary service UUID.
    pub fn service_uuid(&self) -> Uuid128 {
        self.service
    }

    /// The characteristics, in registration order.
    pub fn characteristics(&self) -> &[Characteristic] {
        &self.characteristics
    }

    /// The characteristic with UUID `uuid`.
    pub fn characteristic(&self, uuid: Uuid128) -> Option<&Characteristic> {
        self.characteristics.iter().find(|c| c.uuid == uuid)
    }

    /// The characteristic of endpoint `name`.
    pub fn by_endpoint(&self, name: &str) -> Option<&Characteristic> {
        self.characteristics.iter().find(|c| c.endpoint == name)
    }

    fn index(&self, uuid: Uuid128) -> Result<usize, AttError> {
        self.characteristics
            .iter()
            .position(|c| c.uuid == uuid)
            .ok_or(AttError::AttributeNotFound)
    }
}

/// A complete write that the adapter must hand to the protocomm service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GattRequest {
    /// The characteristic written.
    pub characteristic: Uuid128,
    /// Its endpoint name.
    pub endpoint: String,
    /// The complete (reassembled) value written.
    pub body: Vec<u8>,
}

struct Prepared {
    index: usize,
    buf: Vec<u8>,
}

/// The GATT state of one connection: values (stored responses) per characteristic, the
/// prepared-write queue, and the request in flight.
///
/// Each connection is one protocomm session; the adapter opens it on connect and closes it on
/// disconnect. Responses are stored per characteristic of this connection (ESP-IDF keeps them
/// per characteristic only, which is the same with its single connection).
pub struct GattConnection {
    layout: Arc<GattLayout>,
    max_value_len: usize,
    values: Vec<Vec<u8>>,
    prepared: Option<Prepared>,
    in_flight: Option<usize>,
}

impl GattConnection {
    /// A new connection to the service `layout`, accepting values up to `max_value_len` bytes
    /// ([`MAX_ATTRIBUTE_LEN`] by default; [`BLUEDROID_MAX_ATTRIBUTE_LEN`] to behave as
    /// Bluedroid does).
    pub fn new(layout: Arc<GattLayout>, max_value_len: usize) -> Self {
        let values = vec![Vec::new(); layout.characteristics.len()];
        GattConnection {
            layout,
            max_value_len: max_value_len.min(MAX_ATTRIBUTE_LEN),
            values,
            prepared: None,
            in_flight: None,
        }
    }

    /// The service layout.
    pub fn layout(&self) -> &GattLayout {
        &self.layout
    }

    /// The longest value accepted or stored.
    pub fn max_value_len(&self) -> usize {
        self.max_value_len
    }

    fn request_for(&mut self, index: usize, body: Vec<u8>) -> Result<GattRequest, AttError> {
        let c = self
            .layout
            .characteristics
            .get(index)
            .ok_or(AttError::AttributeNotFound)?;
        self.in_flight = Some(index);
        Ok(GattRequest {
            characteristic: c.uuid,
            endpoint: c.endpoint.clone(),
            body,
        })
    }

    fn check_idle(&self) -> Result<(), AttError> {
        if self.in_flight.is_some() {
            return Err(AttError::UnlikelyError);
        }
        Ok(())
    }

    /// A Write Request (or a BlueZ `WriteValue` without offset) of the whole `value`.
    ///
    /// Returns the request to process. An empty value is processed too, as Bluedroid does.
    pub fn write(
        &mut self,
        characteristic: Uuid128,
        value: &[u8],
    ) -> Result<GattRequest, AttError> {
        let index = self.layout.index(characteristic)?;
        self.check_idle()?;
        if value.len() > self.max_value_len {
            return Err(AttError::InvalidAttributeValueLength);
        }
        self.request_for(index, value.to_vec())
    }

    /// A Prepare Write Request: queues `part` at `offset` of the characteristic's new value.
    ///
    /// Parts must arrive in order (`offset` at most the length queued so far, a repeated
    /// offset overwrites). Fails with [`AttError::InvalidOffset`] for an offset past the queued
    /// data or the maximum length, and [`AttError::InvalidAttributeValueLength`] when the
    /// value would grow beyond the maximum length.
    pub fn prepare_write(
        &mut self,
        characteristic: Uuid128,
        offset: usize,
        part: &[u8],
    ) -> Result<(), AttError> {
        let index = self.layout.index(characteristic)?;
        self.check_idle()?;
        let queued_len = match &self.prepared {
            Some(p) if p.index != index => return Err(AttError::PrepareQueueFull),
            Some(p) => p.buf.len(),
            None => 0,
        };
        if offset > queued_len || offset > self.max_value_len {
            return Err(AttError::InvalidOffset);
        }
        if offset
            .checked_add(part.len())
            .is_none_or(|end| end > self.max_value_len)
        {
            return Err(AttError::InvalidAttributeValueLength);
        }
        let queued = self.prepared.get_or_insert_with(|| Prepared {
            index,
            buf: Vec::new(),
        });
        queued.buf.truncate(offset);
        queued.buf.extend_from_slice(part);
        Ok(())
    }

    /// An Execute Write Request: with `commit`, the queued value becomes one request (`None`
    /// when nothing was queued); without, the queue is discarded.
    pub fn execute_write(&mut self, commit: bool) -> Result<Option<GattRequest>, AttError> {
        self.check_idle()?;
        let Some(prepared) = self.prepared.take() else {
            return Ok(None);
        };
        if !commit {
            return Ok(None);
        }
        self.request_for(prepared.index, prepared.buf).map(Some)
    }

    /// Records the service's answer to the request in flight: `Some(response)` becomes the
    /// characteristic's value; `None` (the service sent no response) clears it and fails the
    /// write with [`AttError::InvalidPdu`]. A response longer than the maximum value length is
    /// not stored and fails with [`AttError::UnlikelyError`].
    pub fn finish_request(
        &mut self,
        request: &GattRequest,
        response: Option<Vec<u8>>,
    ) -> Result<(), AttError> {
        let index = self.layout.index(request.characteristic)?;
        if self.in_flight != Some(index) {
            return Err(AttError::UnlikelyError);
        }
        self.in_flight = None;
        let value = self
            .values
            .get_mut(index)
            .ok_or(AttError::AttributeNotFound)?;
        value.clear();
        match response {
            None => Err(AttError::InvalidPdu),
            Some(r) if r.len() > self.max_value_len => Err(AttError::UnlikelyError),
            Some(r) => {
                *value = r;
                Ok(())
            }
        }
    }

    /// A Read Request (`offset` 0) or Read Blob Request: up to `MTU − 1` bytes of the stored
    /// value from `offset`. An offset equal to the length gives an empty chunk (how a reader
    /// learns that a value of an exact multiple of the chunk size has ended); beyond it fails
    /// with [`AttError::InvalidOffset`].
    pub fn read(
        &self,
        characteristic: Uuid128,
        offset: usize,
        mtu: u16,
    ) -> Result<Vec<u8>, AttError> {
        let index = self.layout.index(characteristic)?;
        let value = self.values.get(index).ok_or(AttError::AttributeNotFound)?;
        chunk(value, offset, mtu)
    }

    /// Reads the descriptor `descriptor` (16-bit type) of `characteristic`: only the 0x2901
    /// user description exists.
    pub fn read_descriptor(
        &self,
        characteristic: Uuid128,
        descriptor: u16,
        offset: usize,
        mtu: u16,
    ) -> Result<Vec<u8>, AttError> {
        let c = self
            .layout
            .characteristic(characteristic)
            .ok_or(AttError::AttributeNotFound)?;
        if descriptor != USER_DESCRIPTION_UUID16 {
            return Err(AttError::AttributeNotFound);
        }
        chunk(&c.description, offset, mtu)
    }

    /// Writes to a descriptor: the user description is read-only.
    pub fn write_descriptor(&self, characteristic: Uuid128, descriptor: u16) -> AttError {
        match self.layout.characteristic(characteristic) {
            Some(_) if descriptor == USER_DESCRIPTION_UUID16 => AttError::WriteNotPermitted,
            _ => AttError::AttributeNotFound,
        }
    }
}

fn chunk(value: &[u8], offset: usize, mtu: u16) -> Result<Vec<u8>, AttError> {
    let rest = value.get(offset..).ok_or(AttError::InvalidOffset)?;
    let n = rest.len().min(read_chunk_len(mtu));
    Ok(rest.iter().take(n).copied().collect())
}

/// AD type: Flags.
pub const AD_FLAGS: u8 = 0x01;
/// AD type: Complete List of 128-bit Service Class UUIDs.
pub const AD_COMPLETE_UUID128: u8 = 0x07;
/// AD type: Complete Local Name.
pub const AD_COMPLETE_NAME: u8 = 0x09;
/// AD type: Manufacturer Specific Data.
pub const AD_MANUFACTURER_DATA: u8 = 0xff;
/// The Flags value advertised: LE General Discoverable, BR/EDR not supported.
pub const ADV_FLAGS: u8 = 0x06;
/// The payload limit of legacy advertising data and of a scan response.
pub const MAX_AD_LEN: usize = 31;

/// The default device name for a device whose MAC address ends in `mac_tail`: `PROV_` and
/// three bytes in upper-case hexadecimal (`PROV_A1B2C3`), as ESP-IDF's example builds it.
pub fn default_device_name(mac_tail: [u8; 3]) -> String {
    let [a, b, c] = mac_tail;
    format!("{NAME_PREFIX}{a:02X}{b:02X}{c:02X}")
}

/// What the device advertises (NimBLE layout, ESP-IDF's default host): advertising data
/// with Flags and the service UUID, scan response with the name and manufacturer data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// The device name, truncated to [`MAX_NAME_LEN`] bytes (at a character boundary).
    pub name: String,
    /// The primary service UUID.
    pub service_uuid: Uuid128,
    /// Manufacturer data after ESP-IDF's rule: dropped when the name leaves no room
    /// (`name_len + 2 ≥ 29`), otherwise truncated to `29 − (name_len + 2)` bytes; `None` when
    /// empty or dropped. By convention its first two bytes are the company identifier.
    pub manufacturer_data: Option<Vec<u8>>,
}

impl Advertisement {
    /// The advertisement of device `name` offering `service_uuid`, with optional
    /// `manufacturer_data` (empty for none).
    pub fn new(name: &str, service_uuid: Uuid128, manufacturer_data: &[u8]) -> Self {
        let mut end = name.len().min(MAX_NAME_LEN);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let name = name.get(..end).unwrap_or_default().to_string();
        let used = name.len() + 2;
        let manufacturer_data = if used >= MAX_NAME_LEN || manufacturer_data.is_empty() {
            None
        } else {
            let room = MAX_NAME_LEN - used;
            Some(manufacturer_data.iter().take(room).copied().collect())
        };
        Advertisement {
            name,
            service_uuid,
            manufacturer_data,
        }
    }

    /// The advertising data: Flags `0x06` and the complete list of 128-bit service UUIDs.
    pub fn advertising_data(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_AD_LEN);
        push_ad(&mut out, AD_FLAGS, &[ADV_FLAGS]);
        push_ad(
            &mut out,
            AD_COMPLETE_UUID128,
            &self.service_uuid.to_le_bytes(),
        );
        out
    }

    /// The scan response: the complete local name, then the manufacturer data if any.
    pub fn scan_response(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_AD_LEN);
        push_ad(&mut out, AD_COMPLETE_NAME, self.name.as_bytes());
        if let Some(data) = &self.manufacturer_data {
            push_ad(&mut out, AD_MANUFACTURER_DATA, data);
        }
        out
    }
}

fn push_ad(out: &mut Vec<u8>, ad_type: u8, data: &[u8]) {
    // Callers keep `data` under 31 bytes, so the length byte cannot overflow.
    let len = u8::try_from(data.len() + 1).unwrap_or(u8::MAX);
    out.push(len);
    out.push(ad_type);
    out.extend_from_slice(data);
}

/// Malformed advertising data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed advertising data at byte {0}")]
pub struct AdParseError(pub usize);

/// Splits advertising data or a scan response into `(AD type, data)` structures. A zero length
/// byte ends the data early, as the Core specification allows.
pub fn parse_ad_structures(mut data: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, AdParseError> {
    let total = data.len();
    let mut out = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let at = total - data.len();
        if len == 0 {
            break;
        }
        let (structure, rest) = rest
            .split_at_checked(usize::from(len))
            .ok_or(AdParseError(at))?;
        let (&ad_type, body) = structure.split_first().ok_or(AdParseError(at))?;
        out.push((ad_type, body.to_vec()));
        data = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::uuid::{DEFAULT_SERVICE_UUID, EXAMPLE_SERVICE_UUID};
    use super::*;
    use protocomm::device::EndpointKind;

    fn endpoints() -> Vec<Endpoint> {
        LEGACY_ENDPOINT_IDS
            .iter()
            .map(|(id, name)| Endpoint {
                name: (*name).to_string(),
                kind: EndpointKind::Request,
                uuid16: *id,
            })
            .chain([Endpoint {
                name: "custom-data".into(),
                kind: EndpointKind::Request,
                uuid16: 0xff54,
            }])
            .collect()
    }

    fn conn(max: usize) -> (GattConnection, Uuid128) {
        let layout = Arc::new(GattLayout::new(EXAMPLE_SERVICE_UUID, &endpoints()));
        let config = layout.by_endpoint("prov-config").unwrap().uuid;
        (GattConnection::new(layout, max), config)
    }

    #[test]
    fn layout_follows_registration_order() {
        let layout = GattLayout::new(DEFAULT_SERVICE_UUID, &endpoints());
        let got: Vec<_> = layout
            .characteristics()
            .iter()
            .map(|c| (c.uuid.to_string(), c.properties, c.description.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("1775ff4f", "prov-ctrl"),
                ("1775ff50", "prov-scan"),
                ("1775ff51", "prov-session"),
                ("1775ff52", "prov-config"),
                ("1775ff53", "proto-ver"),
                ("1775ff54", "custom-data"),
            ]
            .map(|(u, n)| (
                format!("{u}-6b43-439b-877c-060f2d9bed07"),
                0x0a,
                n.as_bytes().to_vec()
            ))
        );
        assert_eq!(legacy_endpoint_name(0xff52), Some("prov-config"));
        assert_eq!(legacy_endpoint_name(0xff54), None);
    }

    #[test]
    fn write_then_long_read() {
        let (mut c, uuid) = conn(MAX_ATTRIBUTE_LEN);
        let req = c.write(uuid, b"hello").unwrap();
        assert_eq!(req.endpoint, "prov-config");
        assert_eq!(req.body, b"hello");
        // One request at a time.
        assert_eq!(c.write(uuid, b"again"), Err(AttError::UnlikelyError));
        let response: Vec<u8> = (0..=100u8).collect();
        c.finish_request(&req, Some(response.clone())).unwrap();
        let mut got = Vec::new();
        loop {
            let part = c.read(uuid, got.len(), DEFAULT_MTU).unwrap();
            assert!(part.len() <= 22);
            let done = part.len() < 22;
            got.extend(part);
            if done {
                break;
            }
        }
        assert_eq!(got, response);
        assert_eq!(c.read(uuid, 101, 23).unwrap(), b"");
        assert_eq!(c.read(uuid, 102, 23), Err(AttError::InvalidOffset));
        assert_eq!(AttError::InvalidOffset.code(), 0x07);
    }

    #[test]
    fn prepared_writes_reassemble_within_the_limit() {
        let (mut c, uuid) = conn(BLUEDROID_MAX_ATTRIBUTE_LEN);
        let body = vec![7u8; 481];
        for (i, part) in body.chunks(18).enumerate() {
            c.prepare_write(uuid, i * 18, part).unwrap();
        }
        let req = c.execute_write(true).unwrap().unwrap();
        assert_eq!(req.body, body);
        c.finish_request(&req, None).unwrap_err();
        assert_eq!(c.read(uuid, 0, 23).unwrap(), b"");

        // 482 bytes do not fit Bluedroid's buffer.
        c.prepare_write(uuid, 0, &[0; 400]).unwrap();
        assert_eq!(
            c.prepare_write(uuid, 400, &[0; 82]),
            Err(AttError::InvalidAttributeValueLength)
        );
        assert_eq!(
            c.prepare_write(uuid, 401, &[0]),
            Err(AttError::InvalidOffset)
        );
        let other = c.layout().by_endpoint("prov-scan").unwrap().uuid;
        assert_eq!(
            c.prepare_write(other, 0, &[0]),
            Err(AttError::PrepareQueueFull)
        );
        assert_eq!(c.execute_write(false), Ok(None));
        assert_eq!(c.execute_write(true), Ok(None));
        assert_eq!(
            c.write(uuid, &[0; 482]),
            Err(AttError::InvalidAttributeValueLength)
        );
    }

    #[test]
    fn unknown_attributes_and_descriptors() {
        let (mut c, uuid) = conn(MAX_ATTRIBUTE_LEN);
        let stranger = Uuid128::from_u16(0x1234);
        assert_eq!(c.write(stranger, b"x"), Err(AttError::AttributeNotFound));
        assert_eq!(c.read(stranger, 0, 23), Err(AttError::AttributeNotFound));
        assert_eq!(
            c.read_descriptor(uuid, USER_DESCRIPTION_UUID16, 0, 23)
                .unwrap(),
            b"prov-config"
        );
        assert_eq!(
            c.read_descriptor(uuid, USER_DESCRIPTION_UUID16, 5, 23)
                .unwrap(),
            b"config"
        );
        assert_eq!(
            c.read_descriptor(uuid, 0x2902, 0, 23),
            Err(AttError::AttributeNotFound)
        );
        assert_eq!(
            c.write_descriptor(uuid, USER_DESCRIPTION_UUID16),
            AttError::WriteNotPermitted
        );
        // A response too long to store.
        let req = c.write(uuid, b"").unwrap();
        assert_eq!(
            c.finish_request(&req, Some(vec![0; 513])),
            Err(AttError::UnlikelyError)
        );
        assert_eq!(
            c.finish_request(&req, Some(vec![])),
            Err(AttError::UnlikelyError)
        );
    }

    #[test]
    fn mtu_arithmetic() {
        assert_eq!(exchange_mtu(512, 517), 512);
        assert_eq!(exchange_mtu(517, BLUEDROID_MTU), 500);
        assert_eq!(exchange_mtu(10, 517), 23);
        assert_eq!(exchange_mtu(1000, 1000), 517);
        assert_eq!(read_chunk_len(23), 22);
        assert_eq!(write_request_len(23), 20);
        assert_eq!(prepare_write_len(23), 18);
        assert_eq!(read_chunk_len(512), 511);
    }

    #[test]
    fn advertisement_bytes() {
        let adv = Advertisement::new("PROV_A1B2C3", EXAMPLE_SERVICE_UUID, &[0xe5, 0x02, 1, 2]);
        let mut expected = vec![0x02, 0x01, 0x06, 0x11, 0x07];
        expected.extend(EXAMPLE_SERVICE_UUID.to_le_bytes());
        assert_eq!(adv.advertising_data(), expected);
        assert_eq!(adv.advertising_data().len(), 21);
        let mut sr = vec![12, 0x09];
        sr.extend(b"PROV_A1B2C3");
        sr.extend([5, 0xff, 0xe5, 0x02, 1, 2]);
        assert_eq!(adv.scan_response(), sr);
        assert_eq!(
            parse_ad_structures(&sr).unwrap(),
            vec![
                (0x09, b"PROV_A1B2C3".to_vec()),
                (0xff, vec![0xe5, 0x02, 1, 2])
            ]
        );
        assert_eq!(default_device_name([0xa1, 0xb2, 0xc3]), "PROV_A1B2C3");
    }

    #[test]
    fn name_and_manufacturer_data_rules() {
        let long = "PROV_0123456789abcdefghijklmnopqrstuvwxyz";
        let adv = Advertisement::new(long, DEFAULT_SERVICE_UUID, &[1, 2, 3]);
        assert_eq!(adv.name.len(), 29);
        assert_eq!(adv.manufacturer_data, None);
        // 27 + 2 = 29 ≥ 29: dropped.
        let adv = Advertisement::new(&"n".repeat(27), DEFAULT_SERVICE_UUID, &[1, 2, 3]);
        assert_eq!(adv.manufacturer_data, None);
        // 20 + 2 = 22: room for 7 bytes.
        let adv = Advertisement::new(&"n".repeat(20), DEFAULT_SERVICE_UUID, &[9; 12]);
        assert_eq!(adv.manufacturer_data, Some(vec![9; 7]));
        assert_eq!(adv.scan_response().len(), MAX_AD_LEN);
        // Short data is kept whole; empty data is none.
        let adv = Advertisement::new("PROV_1", DEFAULT_SERVICE_UUID, &[9; 3]);
        assert_eq!(adv.manufacturer_data, Some(vec![9; 3]));
        assert_eq!(
            Advertisement::new("PROV_1", DEFAULT_SERVICE_UUID, &[]).manufacturer_data,
            None
        );
        // Truncation never splits a character.
        let adv = Advertisement::new(&format!("{}é", "x".repeat(28)), DEFAULT_SERVICE_UUID, &[]);
        assert_eq!(adv.name, "x".repeat(28));
        assert!(parse_ad_structures(&[5, 0x09, b'a']).is_err());
        assert_eq!(
            parse_ad_structures(&[2, 1, 6, 0, 0]).unwrap(),
            vec![(1, vec![6])]
        );
    }
}
