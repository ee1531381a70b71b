//! A double of `org.bluez` on a private bus: `/org/bluez/hci0` with `GattManager1` and
//! `LEAdvertisingManager1`, recording the registrations and reading the registered objects
//! back as BlueZ does. The radio side of BlueZ is not simulated; tests play BlueZ's part for
//! centrals themselves (`WriteValue` / `ReadValue` on the registered characteristics).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zbus::fdo::{ManagedObjects, ObjectManagerProxy, PropertiesProxy};
use zbus::message::Header;
use zbus::names::InterfaceName;
use zbus::{Connection, ObjectPath, OwnedObjectPath, OwnedVariant, interface};

use crate::dbus::PrivateBus;

/// The adapter the double serves.
pub const ADAPTER: &str = "/org/bluez/hci0";

/// What the double saw.
#[derive(Default)]
pub struct Record {
    /// The unique bus name of the application's owner (the sender of RegisterApplication).
    pub agent: Option<String>,
    /// Applications registered, in order.
    pub registered_apps: Vec<String>,
    /// Applications unregistered, in order.
    pub unregistered_apps: Vec<String>,
    /// Advertisements registered, in order.
    pub registered_advs: Vec<String>,
    /// Advertisements unregistered, in order.
    pub unregistered_advs: Vec<String>,
    /// The last registered application's object tree, as read back.
    pub managed: Option<ManagedObjects>,
    /// The last registered advertisement's properties, as read back.
    pub advertisement: Option<HashMap<String, OwnedVariant>>,
}

/// The record, shared between the double and the test.
pub type Shared = Arc<Mutex<Record>>;

struct GattManagerDouble(Shared);

#[interface(name = "org.bluez.GattManager1")]
impl GattManagerDouble {
    async fn register_application(
        &self,
        application: OwnedObjectPath,
        _options: HashMap<String, OwnedVariant>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] connection: &Connection,
    ) -> zbus::fdo::Result<()> {
        let sender = header.sender().unwrap().to_owned();
        // As BlueZ does: read the whole application tree from its object manager.
        let managed = ObjectManagerProxy::builder(connection)
            .destination(sender.clone())
            .path(application.clone())
            .build()
            .await?
            .get_managed_objects()
            .await?;
        let mut record = self.0.lock().unwrap();
        record.agent = Some(sender.to_string());
        record.registered_apps.push(application.to_string());
        record.managed = Some(managed);
        Ok(())
    }

    async fn unregister_application(&self, application: OwnedObjectPath) {
        let mut record = self.0.lock().unwrap();
        record.unregistered_apps.push(application.to_string());
    }
}

struct AdvertisingManagerDouble(Shared);

#[interface(name = "org.bluez.LEAdvertisingManager1")]
impl AdvertisingManagerDouble {
    async fn register_advertisement(
        &self,
        advertisement: OwnedObjectPath,
        _options: HashMap<String, OwnedVariant>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] connection: &Connection,
    ) -> zbus::fdo::Result<()> {
        let sender = header.sender().unwrap().to_owned();
        let props = PropertiesProxy::builder(connection)
            .destination(sender)
            .path(advertisement.clone())
            .build()
            .await?
            .get_all(InterfaceName::from_static_str("org.bluez.LEAdvertisement1").unwrap())
            .await?;
        let mut record = self.0.lock().unwrap();
        record.registered_advs.push(advertisement.to_string());
        record.advertisement = Some(props);
        Ok(())
    }

    async fn unregister_advertisement(&self, advertisement: OwnedObjectPath) {
        let mut record = self.0.lock().unwrap();
        record.unregistered_advs.push(advertisement.to_string());
    }
}

/// Puts the double on `bus` as `org.bluez`; its connection also serves the test as "BlueZ"
/// towards the registered application.
pub async fn double(bus: &PrivateBus, record: Shared) -> Connection {
    let connect = zbus::connection::Builder::address(bus.address())
        .name("org.bluez")
        .serve_at(ADAPTER, GattManagerDouble(record.clone()))
        .serve_at(ADAPTER, AdvertisingManagerDouble(record))
        .build();
    tokio::time::timeout(Duration::from_secs(20), connect)
        .await
        .expect("timed out connecting the org.bluez double")
        .unwrap()
}

/// A string property.
pub fn string(v: &OwnedVariant) -> String {
    <&str>::try_from(v).unwrap().to_string()
}

/// A string-list property.
pub fn strings(v: &OwnedVariant) -> Vec<String> {
    Vec::<String>::try_from(v.try_clone().unwrap()).unwrap()
}

/// An object-path property.
pub fn path_of(v: &OwnedVariant) -> String {
    <&ObjectPath<'_>>::try_from(v).unwrap().to_string()
}
