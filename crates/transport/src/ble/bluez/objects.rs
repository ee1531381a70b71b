//! The exported D-Bus objects: the GATT service, its characteristics and descriptors, and
//! the advertisement.

use std::collections::HashMap;
use std::sync::Arc;

use zbus::{OwnedObjectPath, OwnedVariant, interface};

use super::super::gatt::{Advertisement, AttError, read_chunk_len};
use super::super::uuid::Uuid128;
use super::devices::{Options, Shared};
use super::extra::AdvertisedExtras;
use super::{GattError, USER_DESCRIPTION_UUID};

fn chunk(value: &[u8], offset: usize, mtu: u16) -> Result<Vec<u8>, AttError> {
    let rest = value.get(offset..).ok_or(AttError::InvalidOffset)?;
    Ok(rest.iter().take(read_chunk_len(mtu)).copied().collect())
}

pub(super) struct ServiceObject {
    pub(super) uuid: String,
}

#[interface(name = "org.bluez.GattService1")]
impl ServiceObject {
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

pub(super) struct CharacteristicObject {
    pub(super) shared: Arc<Shared>,
    pub(super) uuid: Uuid128,
    pub(super) service_path: OwnedObjectPath,
}

#[interface(name = "org.bluez.GattCharacteristic1")]
impl CharacteristicObject {
    /// The characteristic UUID.
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        self.uuid.to_string()
    }

    /// The service object this characteristic belongs to.
    #[zbus(property)]
    fn service(&self) -> OwnedObjectPath {
        self.service_path.clone()
    }

    /// Read and Write (with response).
    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        vec!["read".into(), "write".into()]
    }

    /// Reads the stored response (processing a newly written value first).
    async fn read_value(
        &self,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<Vec<u8>, GattError> {
        let opts = Options::parse(&options);
        Ok(self.shared.read(self.uuid, &opts).await?)
    }

    /// Writes (part of) a request.
    async fn write_value(
        &self,
        value: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<(), GattError> {
        let opts = Options::parse(&options);
        Ok(self.shared.write(self.uuid, &value, &opts)?)
    }
}

pub(super) struct DescriptorObject {
    pub(super) characteristic_path: OwnedObjectPath,
    pub(super) description: Vec<u8>,
}

#[interface(name = "org.bluez.GattDescriptor1")]
impl DescriptorObject {
    /// The Characteristic User Description type.
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        USER_DESCRIPTION_UUID.into()
    }

    /// The characteristic this descriptor belongs to.
    #[zbus(property)]
    fn characteristic(&self) -> OwnedObjectPath {
        self.characteristic_path.clone()
    }

    /// Read only.
    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        vec!["read".into()]
    }

    /// The endpoint name from `offset`.
    async fn read_value(
        &self,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<Vec<u8>, GattError> {
        let opts = Options::parse(&options);
        Ok(chunk(&self.description, opts.offset, opts.mtu)?)
    }

    /// The description is read-only.
    async fn write_value(
        &self,
        _value: Vec<u8>,
        _options: HashMap<String, OwnedVariant>,
    ) -> Result<(), GattError> {
        Err(AttError::WriteNotPermitted.into())
    }
}

pub(super) struct AdvertisementObject {
    pub(super) advertisement: Advertisement,
    pub(super) extras: Arc<AdvertisedExtras>,
}

#[interface(name = "org.bluez.LEAdvertisement1")]
impl AdvertisementObject {
    /// Connectable undirected advertising.
    #[zbus(property, name = "Type")]
    fn kind(&self) -> String {
        "peripheral".into()
    }

    /// The provisioning service.
    #[zbus(property, name = "ServiceUUIDs")]
    fn service_uuids(&self) -> Vec<String> {
        match &self.extras.uuids {
            Some(uuids) => uuids.clone(),
            None => vec![self.advertisement.service_uuid.to_string()],
        }
    }

    /// Service data by UUID (empty unless a second service adds some).
    #[zbus(property)]
    fn service_data(&self) -> HashMap<String, OwnedVariant> {
        self.extras.service_data()
    }

    /// The device name.
    #[zbus(property)]
    fn local_name(&self) -> String {
        self.advertisement.name.clone()
    }

    /// Manufacturer data keyed by company identifier (empty when none is configured).
    #[zbus(property)]
    fn manufacturer_data(&self) -> HashMap<u16, Vec<u8>> {
        let mut out = HashMap::new();
        if let Some(data) = &self.advertisement.manufacturer_data
            && let [lo, hi, rest @ ..] = data.as_slice()
        {
            out.insert(u16::from_le_bytes([*lo, *hi]), rest.to_vec());
        }
        out
    }

    /// Called by BlueZ when it drops the advertisement.
    fn release(&self) {
        tracing::debug!("BlueZ released the advertisement");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_chunks() {
        assert_eq!(chunk(b"prov-session", 5, 23).unwrap(), b"session");
        assert_eq!(chunk(b"abc", 3, 23).unwrap(), b"");
        assert_eq!(chunk(b"abc", 4, 23), Err(AttError::InvalidOffset));
        assert_eq!(chunk(&[0; 40], 0, 23).unwrap().len(), 22);
    }
}
