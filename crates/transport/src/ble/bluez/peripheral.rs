//! Starting, watching and stopping the peripheral: exporting the objects, registering the
//! application and the advertisement with the adapter, following disconnections, and
//! tearing everything down.

use std::collections::HashMap;
use std::sync::Arc;

use protocomm::SessionId;
use stream_next::next_message;
use zbus::fdo::ObjectManager;
use zbus::{Connection, MatchRule, ObjectPath, OwnedObjectPath, OwnedVariant};

use super::super::gatt::{Advertisement, GattLayout};
#[cfg(doc)]
use super::DEFAULT_ADAPTER_PATH;
use super::devices::Shared;
use super::extra::{AdvertisedExtras, ExtraCharacteristicObject, ExtraService, ExtraServiceObject};
use super::objects::{AdvertisementObject, CharacteristicObject, DescriptorObject, ServiceObject};
use super::{BLUEZ_SERVICE, BluezConfig, BluezError};
use crate::Service;

mod stream_next {
    //! A minimal `next()` for zbus's message stream without a futures dependency.

    use std::future::poll_fn;
    use std::pin::Pin;

    use zbus::MessageStream;

    /// The next message of `stream`, `None` at its end.
    pub(super) async fn next_message(
        stream: &mut MessageStream,
    ) -> Option<zbus::Result<zbus::Message>> {
        poll_fn(|cx| {
            use zbus::export::futures_core::Stream;
            Pin::new(&mut *stream).poll_next(cx)
        })
        .await
    }
}

/// Starts the BlueZ peripheral; see [`BluezPeripheral::start`].
#[derive(Debug, Clone, Copy)]
pub struct BluezPeripheral;

#[derive(Clone)]
struct Paths {
    root: OwnedObjectPath,
    service: OwnedObjectPath,
    characteristics: Vec<OwnedObjectPath>,
    descriptors: Vec<OwnedObjectPath>,
    advertisement: OwnedObjectPath,
    adapter: OwnedObjectPath,
    extra_service: OwnedObjectPath,
    extra_characteristics: Vec<OwnedObjectPath>,
}

fn path(text: String) -> Result<OwnedObjectPath, BluezError> {
    OwnedObjectPath::try_from(text.clone()).map_err(|_| BluezError::InvalidPath(text))
}

impl BluezPeripheral {
    /// Exports the GATT application and the advertisement on `connection` (normally the system
    /// bus), registers both with the adapter at `adapter_path` ([`DEFAULT_ADAPTER_PATH`]) and
    /// starts tracking disconnections. Requests go to `service`.
    ///
    /// Must be called within a Tokio runtime. On failure, whatever was exported is removed.
    pub async fn start(
        connection: Connection,
        adapter_path: &str,
        config: BluezConfig,
        service: Service,
    ) -> Result<BluezHandle, BluezError> {
        Self::start_with(connection, adapter_path, config, service, None).await
    }

    /// As [`BluezPeripheral::start`], with a second service `extra` in the same application
    /// (see [the module](super)).
    pub async fn start_with(
        connection: Connection,
        adapter_path: &str,
        config: BluezConfig,
        service: Service,
        extra: Option<ExtraService>,
    ) -> Result<BluezHandle, BluezError> {
        let endpoints = service.with_device(|d| d.endpoints().to_vec());
        let layout = Arc::new(GattLayout::new(config.service_uuid, &endpoints));
        let base = config.base_path.trim_end_matches('/');
        let service_text = format!("{base}/app/service0");
        let paths = Paths {
            root: path(format!("{base}/app"))?,
            service: path(service_text.clone())?,
            characteristics: (0..layout.characteristics().len())
                .map(|i| path(format!("{service_text}/char{i}")))
                .collect::<Result<_, _>>()?,
            descriptors: (0..layout.characteristics().len())
                .map(|i| path(format!("{service_text}/char{i}/desc0")))
                .collect::<Result<_, _>>()?,
            advertisement: path(format!("{base}/advertisement0"))?,
            adapter: path(adapter_path.to_string())?,
            extra_service: path(format!("{base}/app/service1"))?,
            extra_characteristics: (0..extra.as_ref().map_or(0, |e| e.characteristics.len()))
                .map(|i| path(format!("{base}/app/service1/char{i}")))
                .collect::<Result<_, _>>()?,
        };
        let advertised = Arc::new(AdvertisedExtras {
            uuids: extra.as_ref().map(|e| e.advertised_uuids.clone()),
            service_data: std::sync::Mutex::new(
                extra
                    .as_ref()
                    .map(|e| e.service_data.clone())
                    .unwrap_or_default(),
            ),
        });
        let shared = Arc::new(Shared::new(service, layout.clone(), config.max_value_len));
        let advertisement = Advertisement::new(
            &config.local_name,
            config.service_uuid,
            &config.manufacturer_data,
        );
        let mut handle = BluezHandle {
            connection,
            shared,
            paths,
            app_registered: false,
            adv_registered: false,
            previous_alias: None,
            advertising: Arc::new(tokio::sync::Mutex::new(true)),
            watcher: None,
            stopped: false,
            advertised,
        };
        match handle
            .export_and_register(&layout, advertisement, extra)
            .await
        {
            Ok(()) => Ok(handle),
            Err(e) => {
                handle.shutdown().await;
                Err(e)
            }
        }
    }
}

/// A running BlueZ peripheral. [`BluezHandle::stop`] unregisters everything; dropping the
/// handle does the same in a background task (when a Tokio runtime is still running).
pub struct BluezHandle {
    connection: Connection,
    shared: Arc<Shared>,
    paths: Paths,
    app_registered: bool,
    adv_registered: bool,
    /// The adapter's `Alias` before this peripheral set it to the advertised name.
    previous_alias: Option<String>,
    /// Whether the advertisement may be registered again after a disconnection; held while
    /// that happens, and set to `false` by the clean-up before it unregisters, so that a
    /// re-registration never races with it.
    advertising: Arc<tokio::sync::Mutex<bool>>,
    watcher: Option<tokio::task::JoinHandle<()>>,
    stopped: bool,
    /// The advertisement's fields a second service sets.
    advertised: Arc<AdvertisedExtras>,
}

impl BluezHandle {
    async fn export_and_register(
        &mut self,
        layout: &GattLayout,
        advertisement: Advertisement,
        extra: Option<ExtraService>,
    ) -> Result<(), BluezError> {
        let server = self.connection.object_server();
        let p = &self.paths;
        server
            .at(
                &p.service,
                ServiceObject {
                    uuid: layout.service_uuid().to_string(),
                },
            )
            .await?;
        for ((c, char_path), desc_path) in layout
            .characteristics()
            .iter()
            .zip(&p.characteristics)
            .zip(&p.descriptors)
        {
            server
                .at(
                    char_path,
                    CharacteristicObject {
                        shared: self.shared.clone(),
                        uuid: c.uuid,
                        service_path: p.service.clone(),
                    },
                )
                .await?;
            server
                .at(
                    desc_path,
                    DescriptorObject {
                        characteristic_path: char_path.clone(),
                        description: c.description.clone(),
                    },
                )
                .await?;
        }
        if let Some(extra) = extra {
            server
                .at(
                    &p.extra_service,
                    ExtraServiceObject {
                        uuid: extra.uuid.clone(),
                    },
                )
                .await?;
            for (index, (c, char_path)) in extra
                .characteristics
                .into_iter()
                .zip(&p.extra_characteristics)
                .enumerate()
            {
                server
                    .at(
                        char_path,
                        ExtraCharacteristicObject {
                            index,
                            uuid: c.uuid,
                            flags: c.flags,
                            service_path: p.extra_service.clone(),
                            value: Arc::new(std::sync::Mutex::new(c.value)),
                            writes: extra.writes.clone(),
                            notifying: false,
                        },
                    )
                    .await?;
            }
        }
        // The object manager last, so that its first InterfacesAdded covers the whole tree.
        server.at(&p.root, ObjectManager).await?;
        let local_name = advertisement.name.clone();
        server
            .at(
                &p.advertisement,
                AdvertisementObject {
                    advertisement,
                    extras: self.advertised.clone(),
                },
            )
            .await?;

        self.watcher = Some(self.watch_disconnections().await?);
        self.previous_alias = set_alias(&self.connection, &p.adapter, &local_name).await;

        let no_options: HashMap<String, OwnedVariant> = HashMap::new();
        self.connection
            .call_method(
                Some(BLUEZ_SERVICE),
                &p.adapter,
                Some("org.bluez.GattManager1"),
                "RegisterApplication",
                &(&p.root, &no_options),
            )
            .await?;
        self.app_registered = true;
        self.connection
            .call_method(
                Some(BLUEZ_SERVICE),
                &p.adapter,
                Some("org.bluez.LEAdvertisingManager1"),
                "RegisterAdvertisement",
                &(&p.advertisement, &no_options),
            )
            .await?;
        self.adv_registered = true;
        tracing::info!(adapter = %p.adapter, application = %p.root, "BLE GATT service registered");
        Ok(())
    }

    async fn watch_disconnections(&self) -> Result<tokio::task::JoinHandle<()>, BluezError> {
        let rule = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(BLUEZ_SERVICE)
            .interface("org.freedesktop.DBus.Properties")
            .member("PropertiesChanged")
            .arg(0, "org.bluez.Device1")
            .build()?;
        let mut stream = zbus::MessageStream::for_match_rule(rule, &self.connection, None).await?;
        let shared = Arc::downgrade(&self.shared);
        let connection = self.connection.clone();
        let adapter = self.paths.adapter.clone();
        let advertisement = self.paths.advertisement.clone();
        let advertising = self.advertising.clone();
        Ok(tokio::spawn(async move {
            while let Some(message) = next_message(&mut stream).await {
                let Ok(message) = message else { continue };
                let header = message.header();
                let Some(device) = header.path().map(|p| p.to_string()) else {
                    continue;
                };
                let Ok((_iface, changed, _invalidated)) =
                    message
                        .body()
                        .deserialize::<(String, HashMap<String, OwnedVariant>, Vec<String>)>()
                else {
                    continue;
                };
                let disconnected = changed
                    .get("Connected")
                    .and_then(|v| bool::try_from(v).ok())
                    == Some(false);
                // Only this adapter's centrals: the same BlueZ may serve other adapters.
                let ours = device
                    .strip_prefix(adapter.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
                if disconnected && ours {
                    let Some(shared) = shared.upgrade() else {
                        break;
                    };
                    shared.close(&device);
                    drop(shared);
                    let allowed = advertising.lock().await;
                    if *allowed {
                        readvertise(&connection, &adapter, &advertisement).await;
                    }
                    drop(allowed);
                }
            }
        }))
    }

    /// Sets the value of characteristic `index` of the second service and signals the change
    /// (BlueZ notifies subscribed centrals). Errors (no such characteristic) are logged.
    pub async fn set_extra_value(&self, index: usize, value: &[u8]) {
        let Some(path) = self.paths.extra_characteristics.get(index) else {
            tracing::warn!(index, "no such characteristic in the second service");
            return;
        };
        let server = self.connection.object_server();
        let iface = match server.interface::<_, ExtraCharacteristicObject>(path).await {
            Ok(iface) => iface,
            Err(e) => {
                tracing::warn!(%path, error = %e, "characteristic not exported");
                return;
            }
        };
        {
            let object = iface.get().await;
            *object
                .value
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = value.to_vec();
            if let Err(e) = object.value_changed(iface.signal_emitter()).await {
                tracing::debug!(%path, error = %e, "value change not signalled");
            }
        }
    }

    /// Sets the advertised service data of `uuid` and, when it changed, registers the
    /// advertisement again (in a background task) so that BlueZ advertises the new data.
    pub async fn set_service_data(&self, uuid: &str, data: &[u8]) {
        if !self.advertised.set_service_data(uuid, data) || !self.adv_registered {
            return;
        }
        // In the background: BlueZ may take its time, and the caller serves a central
        // meanwhile.
        let (connection, advertising) = (self.connection.clone(), self.advertising.clone());
        let (adapter, advertisement) =
            (self.paths.adapter.clone(), self.paths.advertisement.clone());
        tokio::spawn(async move {
            let allowed = advertising.lock().await;
            if *allowed {
                let again = readvertise(&connection, &adapter, &advertisement);
                if tokio::time::timeout(std::time::Duration::from_secs(10), again)
                    .await
                    .is_err()
                {
                    tracing::warn!(%adapter, "BlueZ did not take the new advertisement in 10 s");
                }
            }
            drop(allowed);
        });
    }

    /// The object paths of the second service's characteristics, in order.
    pub fn extra_characteristic_paths(&self) -> Vec<ObjectPath<'static>> {
        self.paths
            .extra_characteristics
            .iter()
            .map(|p| p.clone().into_inner())
            .collect()
    }

    /// The object path of the application root (the object manager).
    pub fn application_path(&self) -> &ObjectPath<'static> {
        &self.paths.root
    }

    /// The object path of the advertisement.
    pub fn advertisement_path(&self) -> &ObjectPath<'static> {
        &self.paths.advertisement
    }

    /// The object paths of the characteristics, in endpoint registration order.
    pub fn characteristic_paths(&self) -> Vec<ObjectPath<'static>> {
        self.paths
            .characteristics
            .iter()
            .map(|p| p.clone().into_inner())
            .collect()
    }

    /// The GATT database served.
    pub fn layout(&self) -> &GattLayout {
        &self.shared.layout
    }

    /// The device paths that currently hold a session.
    pub fn connected_devices(&self) -> Vec<String> {
        self.shared.device_paths()
    }

    /// The protocomm session of the device at `device_path`, if it has one.
    pub fn session_of(&self, device_path: &str) -> Option<SessionId> {
        self.shared.session_of(device_path)
    }

    /// Closes the session of `device_path` (as a disconnection does); `false` if it had none.
    pub fn disconnect(&self, device_path: &str) -> bool {
        self.shared.close(device_path)
    }

    /// Unregisters the advertisement and the application, removes the exported objects and
    /// closes every session. Unregistration failures (BlueZ gone) are logged, not returned.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        cleanup(
            self.connection.clone(),
            self.shared.clone(),
            self.paths.clone(),
            Registered {
                adv: std::mem::take(&mut self.adv_registered),
                app: std::mem::take(&mut self.app_registered),
                previous_alias: self.previous_alias.take(),
                advertising: self.advertising.clone(),
                watcher: self.watcher.take(),
            },
        )
        .await;
    }
}

/// What the clean-up undoes.
struct Registered {
    adv: bool,
    app: bool,
    previous_alias: Option<String>,
    advertising: Arc<tokio::sync::Mutex<bool>>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

async fn cleanup(connection: Connection, shared: Arc<Shared>, p: Paths, r: Registered) {
    // A re-registration under way (after a disconnection) finishes first; none starts after.
    *r.advertising.lock().await = false;
    if let Some(w) = r.watcher {
        w.abort();
    }
    let calls = [
        (
            r.adv,
            "org.bluez.LEAdvertisingManager1",
            "UnregisterAdvertisement",
            &p.advertisement,
        ),
        (
            r.app,
            "org.bluez.GattManager1",
            "UnregisterApplication",
            &p.root,
        ),
    ];
    for (registered, iface, method, arg) in calls {
        if !registered {
            continue;
        }
        if let Err(e) = connection
            .call_method(
                Some(BLUEZ_SERVICE),
                &p.adapter,
                Some(iface),
                method,
                &(arg,),
            )
            .await
        {
            tracing::warn!(error = %e, "{method} failed");
        }
    }
    let server = connection.object_server();
    // Removal errors only mean the object was never exported.
    let _ = server
        .remove::<AdvertisementObject, _>(&p.advertisement)
        .await;
    let _ = server.remove::<ObjectManager, _>(&p.root).await;
    for d in &p.descriptors {
        let _ = server.remove::<DescriptorObject, _>(d).await;
    }
    for c in &p.characteristics {
        let _ = server.remove::<CharacteristicObject, _>(c).await;
    }
    let _ = server.remove::<ServiceObject, _>(&p.service).await;
    for c in &p.extra_characteristics {
        let _ = server.remove::<ExtraCharacteristicObject, _>(c).await;
    }
    let _ = server
        .remove::<ExtraServiceObject, _>(&p.extra_service)
        .await;
    for d in shared.device_paths() {
        shared.close(&d);
    }
    if let Some(alias) = r.previous_alias {
        let _ = set_alias(&connection, &p.adapter, &alias).await;
    }
    tracing::info!(application = %p.root, "BLE GATT service stopped");
}

impl Drop for BluezHandle {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            if let Some(w) = self.watcher.take() {
                w.abort();
            }
            tracing::warn!("BLE peripheral dropped outside a Tokio runtime: not unregistered");
            return;
        };
        let p = self.paths.clone();
        runtime.spawn(cleanup(
            self.connection.clone(),
            self.shared.clone(),
            p,
            Registered {
                adv: self.adv_registered,
                app: self.app_registered,
                previous_alias: self.previous_alias.take(),
                advertising: self.advertising.clone(),
                watcher: self.watcher.take(),
            },
        ));
    }
}

const ADAPTER_IFACE: &str = "org.bluez.Adapter1";
const PROPERTIES_IFACE: &str = "org.freedesktop.DBus.Properties";

/// Sets the adapter's `Alias` to `name` and returns the alias it had. BlueZ serves the alias
/// as the GAP Device Name (0x2A00), which a central's BlueZ reads after connecting and then
/// reports as the device's `Name` instead of the advertised one; without this, a device
/// advertising `PROV_…` would be named after the host (`BlueZ 5.66`) once connected to.
/// Best effort: a failure is logged and `None` returned.
async fn set_alias(
    connection: &Connection,
    adapter: &ObjectPath<'_>,
    name: &str,
) -> Option<String> {
    let previous = match connection
        .call_method(
            Some(BLUEZ_SERVICE),
            adapter,
            Some(PROPERTIES_IFACE),
            "Get",
            &(ADAPTER_IFACE, "Alias"),
        )
        .await
    {
        Ok(reply) => reply
            .body()
            .deserialize::<OwnedVariant>()
            .ok()
            .and_then(|v| String::try_from(v).ok()),
        Err(e) => {
            tracing::warn!(%adapter, error = %e, "cannot read the adapter's alias");
            None
        }
    };
    if previous.as_deref() == Some(name) {
        return None;
    }
    match connection
        .call_method(
            Some(BLUEZ_SERVICE),
            adapter,
            Some(PROPERTIES_IFACE),
            "Set",
            &(ADAPTER_IFACE, "Alias", zbus::Variant::from(name)),
        )
        .await
    {
        Ok(_) => {
            tracing::debug!(%adapter, alias = name, ?previous, "adapter alias set");
            previous
        }
        Err(e) => {
            tracing::warn!(%adapter, error = %e,
                "cannot set the adapter's alias: connected centrals may see the host's name");
            None
        }
    }
}

/// Registers the advertisement again after a disconnection. A controller stops advertising
/// when a central connects; some (BlueZ's emulator among them) do not resume afterwards, and
/// then the next client would never find the device.
async fn readvertise(
    connection: &Connection,
    adapter: &ObjectPath<'_>,
    advertisement: &ObjectPath<'_>,
) {
    let no_options: HashMap<String, OwnedVariant> = HashMap::new();
    if let Err(e) = connection
        .call_method(
            Some(BLUEZ_SERVICE),
            adapter,
            Some("org.bluez.LEAdvertisingManager1"),
            "UnregisterAdvertisement",
            &(advertisement,),
        )
        .await
    {
        tracing::debug!(error = %e, "UnregisterAdvertisement before re-advertising failed");
    }
    match connection
        .call_method(
            Some(BLUEZ_SERVICE),
            adapter,
            Some("org.bluez.LEAdvertisingManager1"),
            "RegisterAdvertisement",
            &(advertisement, &no_options),
        )
        .await
    {
        Ok(_) => tracing::debug!(%adapter, "advertising again after a disconnection"),
        Err(e) => {
            tracing::warn!(%adapter, error = %e, "cannot advertise again after a disconnection")
        }
    }
}
