//! A double of `org.bluez` on a private bus: `/org/bluez/hci0` with `Adapter1` (its `Alias`),
//! `GattManager1` and `LEAdvertisingManager1`, recording the registrations and reading the
//! registered objects back as BlueZ does. As BlueZ 5.66 does, registering a path that is
//! already registered fails with `org.bluez.Error.AlreadyExists` and unregistering one that is
//! not fails with `org.bluez.Error.DoesNotExist`, an advertisement's registration answers
//! after [`REGISTRATION_TIME`] (BlueZ waits for the kernel), and an empty `Alias` resets it to
//! the adapter's `Name`. The radio side of BlueZ is not simulated; tests play BlueZ's part for centrals
//! themselves (`WriteValue` / `ReadValue` on the registered characteristics).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zbus::fdo::{ManagedObjects, ObjectManagerProxy, PropertiesProxy};
use zbus::message::Header;
use zbus::names::InterfaceName;
use zbus::{Connection, ObjectPath, OwnedObjectPath, OwnedVariant, interface};

use crate::dbus::PrivateBus;

/// The adapter the double serves.
pub const ADAPTER: &str = "/org/bluez/hci0";
/// How long `RegisterAdvertisement` takes to answer (BlueZ waits for the kernel).
pub const REGISTRATION_TIME: Duration = Duration::from_millis(20);
/// The adapter's `Name` (the host's, as BlueZ derives it), and its `Alias` at the start.
pub const ADAPTER_NAME: &str = "BlueZ 5.66";

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
    /// Every value the adapter's `Alias` was set to, in order.
    pub aliases: Vec<String>,
    /// Applications currently registered.
    pub active_apps: BTreeSet<String>,
    /// Advertisements currently registered.
    pub active_advs: BTreeSet<String>,
}

/// The errors BlueZ's managers answer with.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.bluez.Error")]
pub enum BluezError {
    /// A D-Bus level failure.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The object is already registered.
    AlreadyExists(String),
    /// The object is not registered.
    DoesNotExist(String),
    /// Reading the registered object back failed.
    Failed(String),
}

impl From<zbus::fdo::Error> for BluezError {
    fn from(e: zbus::fdo::Error) -> Self {
        BluezError::Failed(e.to_string())
    }
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
    ) -> Result<(), BluezError> {
        if self
            .0
            .lock()
            .unwrap()
            .active_apps
            .contains(application.as_str())
        {
            return Err(BluezError::AlreadyExists("Already Exists".into()));
        }
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
        record.active_apps.insert(application.to_string());
        record.managed = Some(managed);
        Ok(())
    }

    async fn unregister_application(&self, application: OwnedObjectPath) -> Result<(), BluezError> {
        let mut record = self.0.lock().unwrap();
        if !record.active_apps.remove(application.as_str()) {
            return Err(BluezError::DoesNotExist("Does Not Exist".into()));
        }
        record.unregistered_apps.push(application.to_string());
        Ok(())
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
    ) -> Result<(), BluezError> {
        if self
            .0
            .lock()
            .unwrap()
            .active_advs
            .contains(advertisement.as_str())
        {
            return Err(BluezError::AlreadyExists("Already Exists".into()));
        }
        // BlueZ answers only after the kernel has added the advertising instance.
        tokio::time::sleep(REGISTRATION_TIME).await;
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
        record.active_advs.insert(advertisement.to_string());
        record.advertisement = Some(props);
        Ok(())
    }

    async fn unregister_advertisement(
        &self,
        advertisement: OwnedObjectPath,
    ) -> Result<(), BluezError> {
        let mut record = self.0.lock().unwrap();
        if !record.active_advs.remove(advertisement.as_str()) {
            return Err(BluezError::DoesNotExist("Does Not Exist".into()));
        }
        record.unregistered_advs.push(advertisement.to_string());
        Ok(())
    }
}

struct AdapterDouble {
    record: Shared,
    alias: String,
}

#[interface(name = "org.bluez.Adapter1")]
impl AdapterDouble {
    /// The name the host gives the adapter.
    #[zbus(property)]
    fn name(&self) -> String {
        ADAPTER_NAME.into()
    }

    /// The name the adapter goes by (GAP Device Name, and the local name when advertising).
    #[zbus(property)]
    fn alias(&self) -> String {
        self.alias.clone()
    }

    #[zbus(property)]
    fn set_alias(&mut self, alias: String) {
        self.record.lock().unwrap().aliases.push(alias.clone());
        self.alias = if alias.is_empty() {
            ADAPTER_NAME.into()
        } else {
            alias
        };
    }

    /// Always powered.
    #[zbus(property)]
    fn powered(&self) -> bool {
        true
    }
}

/// Puts the double on `bus` as `org.bluez`; its connection also serves the test as "BlueZ"
/// towards the registered application.
pub async fn double(bus: &PrivateBus, record: Shared) -> Connection {
    let connect = zbus::connection::Builder::address(bus.address())
        .name("org.bluez")
        .serve_at(
            ADAPTER,
            AdapterDouble {
                record: record.clone(),
                alias: ADAPTER_NAME.into(),
            },
        )
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
