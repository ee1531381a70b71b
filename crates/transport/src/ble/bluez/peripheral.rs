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
        };
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
            watcher: None,
            stopped: false,
        };
        match handle.export_and_register(&layout, advertisement).await {
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
    watcher: Option<tokio::task::JoinHandle<()>>,
    stopped: bool,
}

impl BluezHandle {
    async fn export_and_register(
        &mut self,
        layout: &GattLayout,
        advertisement: Advertisement,
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
        // The object manager last, so that its first InterfacesAdded covers the whole tree.
        server.at(&p.root, ObjectManager).await?;
        server
            .at(&p.advertisement, AdvertisementObject { advertisement })
            .await?;

        self.watcher = Some(self.watch_disconnections().await?);

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
                if disconnected {
                    let Some(shared) = shared.upgrade() else {
                        break;
                    };
                    shared.close(&device);
                }
            }
        }))
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
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        cleanup(
            self.connection.clone(),
            self.shared.clone(),
            self.paths.clone(),
            std::mem::take(&mut self.adv_registered),
            std::mem::take(&mut self.app_registered),
        )
        .await;
    }
}

async fn cleanup(
    connection: Connection,
    shared: Arc<Shared>,
    p: Paths,
    adv_registered: bool,
    app_registered: bool,
) {
    let calls = [
        (
            adv_registered,
            "org.bluez.LEAdvertisingManager1",
            "UnregisterAdvertisement",
            &p.advertisement,
        ),
        (
            app_registered,
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
    for d in shared.device_paths() {
        shared.close(&d);
    }
    tracing::info!(application = %p.root, "BLE GATT service stopped");
}

impl Drop for BluezHandle {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("BLE peripheral dropped outside a Tokio runtime: not unregistered");
            return;
        };
        let p = self.paths.clone();
        runtime.spawn(cleanup(
            self.connection.clone(),
            self.shared.clone(),
            p,
            self.adv_registered,
            self.app_registered,
        ));
    }
}
