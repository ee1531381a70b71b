//! Naming a device's endpoint characteristics from its GATT objects.

use std::collections::BTreeMap;

use wifiprov_transport::ble::gatt::{
    LEGACY_ENDPOINT_IDS, USER_DESCRIPTION_UUID16, legacy_endpoint_name,
};
use wifiprov_transport::ble::{Uuid128, characteristic_uuid};

use super::central::Endpoint;
use super::device::{object_path, uuid, with_iface};
use super::{
    BluezCentral, CHARACTERISTIC_IFACE, DESCRIPTOR_IFACE, Props, SERVICE_IFACE, SESSION_ID16,
};
use crate::transport::TransportError;

impl BluezCentral {
    pub(super) async fn map_endpoints(&self) -> Result<BTreeMap<String, Endpoint>, TransportError> {
        let objects = self.bluez.objects().await?;
        let prefix = format!("{}/", self.device.path);
        let services: Vec<(&str, Uuid128)> = with_iface(&objects, SERVICE_IFACE)
            .into_iter()
            .filter(|(path, _)| path.starts_with(&prefix))
            .filter_map(|(path, props)| uuid(props).map(|u| (path, u)))
            .collect();
        let characteristics = with_iface(&objects, CHARACTERISTIC_IFACE);
        let of_service = |service: &str| -> Vec<(&str, &Props)> {
            characteristics
                .iter()
                .filter(|(_, props)| object_path(props, "Service").as_deref() == Some(service))
                .copied()
                .collect()
        };
        let chosen = services
            .iter()
            .find(|(path, service_uuid)| match self.config.service_uuid {
                Some(wanted) => *service_uuid == wanted,
                None => of_service(path).iter().any(|(_, props)| {
                    uuid(props) == Some(characteristic_uuid(*service_uuid, SESSION_ID16))
                }),
            });
        let Some((service_path, service_uuid)) = chosen else {
            let wanted = self.config.service_uuid.map_or_else(
                || "the provisioning service".to_string(),
                |u| format!("service {u}"),
            );
            let listed: Vec<String> = services.iter().map(|(_, u)| u.to_string()).collect();
            return Err(TransportError::Unreachable {
                target: self.config.target(),
                reason: format!(
                    "the device has no {wanted} (its services: {}); check --ble-service-uuid",
                    if listed.is_empty() {
                        "none".to_string()
                    } else {
                        listed.join(", ")
                    }
                ),
            });
        };
        tracing::debug!(service = %service_uuid, path = %service_path, "provisioning service");
        let descriptors = with_iface(&objects, DESCRIPTOR_IFACE);
        let description = Uuid128::from_u16(USER_DESCRIPTION_UUID16);
        let mut endpoints = BTreeMap::new();
        for (path, props) in of_service(service_path) {
            let described = descriptors.iter().find(|(_, d)| {
                object_path(d, "Characteristic").as_deref() == Some(path)
                    && uuid(d) == Some(description)
            });
            let name = match described {
                Some((desc_path, _)) => {
                    let raw = self
                        .bluez
                        .read_value(desc_path, DESCRIPTOR_IFACE, 0)
                        .await?;
                    String::from_utf8(raw).ok()
                }
                None => uuid(props)
                    .and_then(|u| legacy_endpoint_name(u.id16()))
                    .map(str::to_string),
            };
            let Some(name) = name else {
                tracing::debug!(%path, "characteristic without a known endpoint");
                continue;
            };
            let mtu = props.get("MTU").and_then(|v| u16::try_from(v).ok());
            endpoints.entry(name).or_insert(Endpoint {
                path: path.to_string(),
                mtu,
            });
        }
        if endpoints.is_empty() {
            return Err(TransportError::Unreachable {
                target: self.config.target(),
                reason: format!(
                    "service {service_uuid} has no endpoint characteristics (neither 0x2901 \
                     descriptions nor the legacy ids {})",
                    LEGACY_ENDPOINT_IDS
                        .iter()
                        .map(|(id, _)| format!("{id:04x}"))
                        .collect::<Vec<_>>()
                        .join("/")
                ),
            });
        }
        Ok(endpoints)
    }
}
