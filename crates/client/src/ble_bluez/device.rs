//! Remote devices as BlueZ lists them, and reading the properties of its objects.

use std::collections::HashMap;
use wifiprov_transport::ble::Uuid128;
use wifiprov_transport::ble::gatt::NAME_PREFIX;
use wifiprov_transport::ble::uuid::{DEFAULT_SERVICE_UUID, EXAMPLE_SERVICE_UUID};

use zbus::OwnedVariant;
use zbus::fdo::ManagedObjects;

use super::Props;

/// A remote device as BlueZ knows it (an `org.bluez.Device1` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BleDevice {
    /// Its object path (`/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF`).
    pub path: String,
    /// Its Bluetooth address (`AA:BB:CC:DD:EE:FF`), when BlueZ reports one.
    pub address: Option<String>,
    /// The advertised name.
    pub name: Option<String>,
    /// The signal strength of the last advertisement seen, in dBm.
    pub rssi: Option<i16>,
    /// The advertised service UUIDs (as BlueZ spells them, lower case).
    pub uuids: Vec<String>,
    /// Whether BlueZ has a connection to it.
    pub connected: bool,
    /// Whether it advertises Improv Wi-Fi (its service UUID or its service data 0x4677).
    pub improv: bool,
}

impl BleDevice {
    pub(super) fn from_props(path: &str, props: &Props) -> Self {
        BleDevice {
            path: path.to_string(),
            address: string(props, "Address"),
            name: string(props, "Name"),
            rssi: props.get("RSSI").and_then(|v| i16::try_from(v).ok()),
            uuids: strings(props, "UUIDs"),
            connected: boolean(props, "Connected"),
            improv: strings(props, "UUIDs")
                .iter()
                .any(|u| u.eq_ignore_ascii_case(improv::ble::SERVICE_UUID))
                || props
                    .get("ServiceData")
                    .and_then(|v| v.try_clone().ok())
                    .and_then(|v| HashMap::<String, OwnedVariant>::try_from(v).ok())
                    .is_some_and(|data| {
                        data.keys()
                            .any(|k| k.eq_ignore_ascii_case(improv::ble::SERVICE_DATA_UUID))
                    }),
        }
    }

    /// Whether `uuid` is among the advertised service UUIDs.
    pub fn advertises(&self, uuid: Uuid128) -> bool {
        self.uuids
            .iter()
            .any(|u| Uuid128::parse(u).is_ok_and(|u| u == uuid))
    }

    /// Whether it looks like a provisioning device: it advertises `service_uuid` (or, when
    /// `None`, ESP-IDF's default or example service UUID), or its name has the `PROV_` prefix.
    pub fn is_provisioning(&self, service_uuid: Option<Uuid128>) -> bool {
        let by_uuid = match service_uuid {
            Some(uuid) => self.advertises(uuid),
            None => self.advertises(DEFAULT_SERVICE_UUID) || self.advertises(EXAMPLE_SERVICE_UUID),
        };
        by_uuid
            || self
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with(NAME_PREFIX))
    }
}

pub(super) fn string(props: &Props, key: &str) -> Option<String> {
    props
        .get(key)
        .and_then(|v| <&str>::try_from(v).ok())
        .map(str::to_string)
}

pub(super) fn strings(props: &Props, key: &str) -> Vec<String> {
    props
        .get(key)
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| Vec::<String>::try_from(v).ok())
        .unwrap_or_default()
}

pub(super) fn boolean(props: &Props, key: &str) -> bool {
    props
        .get(key)
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false)
}

pub(super) fn object_path(props: &Props, key: &str) -> Option<String> {
    props
        .get(key)
        .and_then(|v| <&zbus::ObjectPath<'_>>::try_from(v).ok())
        .map(|p| p.to_string())
}

pub(super) fn uuid(props: &Props) -> Option<Uuid128> {
    string(props, "UUID").and_then(|u| Uuid128::parse(&u).ok())
}

/// The properties of interface `iface` of every object that has it, in path order.
pub(super) fn with_iface<'a>(
    objects: &'a ManagedObjects,
    iface: &str,
) -> Vec<(&'a str, &'a Props)> {
    let mut found: Vec<(&str, &Props)> = objects
        .iter()
        .filter_map(|(path, ifaces)| ifaces.get(iface).map(|props| (path.as_str(), props)))
        .collect();
    found.sort_by(|a, b| a.0.cmp(b.0));
    found
}
