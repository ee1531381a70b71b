//! [`BleRoute`] (feature `bluez`): ESP-IDF's GATT provisioning service, registered with BlueZ
//! on the D-Bus system bus, advertising the service name.
//!
//! The system bus is reached through `DBUS_SYSTEM_BUS_ADDRESS` when it is set (as every D-Bus
//! client does), else through its standard socket.

use wifiprov_transport::ble::bluez::{BLUEZ_SERVICE, BluezConfig, BluezError, BluezPeripheral};
use wifiprov_wifi::BoxFuture;

use crate::improv::ImprovSettings;
use crate::route::{Place, Route, RouteContext, RouteError, RunningRoute};

/// What the user is told when the system bus or BlueZ cannot be reached.
pub const NO_BLUEZ_HINT: &str =
    "BlueZ (bluetoothd) is not running or this machine has no Bluetooth adapter";

/// Why the BLE route could not start, in the user's terms.
#[derive(Debug, thiserror::Error)]
pub enum BleError {
    /// No system bus.
    #[error("cannot connect to the D-Bus system bus ({address}): {source} ({NO_BLUEZ_HINT})")]
    Bus {
        /// The bus address tried.
        address: String,
        /// What D-Bus said.
        #[source]
        source: zbus::Error,
    },
    /// BlueZ is not on the bus.
    #[error("{BLUEZ_SERVICE} is not on the system bus: {detail} ({NO_BLUEZ_HINT})")]
    NoBluez {
        /// The bus's explanation.
        detail: String,
    },
    /// The adapter does not exist or does not manage GATT services.
    #[error(
        "no usable Bluetooth adapter at {adapter}: {detail} (list the adapters with \
         `bluetoothctl list` and choose another adapter)"
    )]
    NoAdapter {
        /// The adapter's object path.
        adapter: String,
        /// BlueZ's explanation.
        detail: String,
    },
    /// The bus policy refused the registration.
    #[error(
        "the system bus refused the BlueZ registration: {detail} (run as root, or allow this \
         user to talk to {BLUEZ_SERVICE} in the D-Bus policy)"
    )]
    AccessDenied {
        /// The bus's explanation.
        detail: String,
    },
    /// The adapter is not ready (powered off).
    #[error(
        "BlueZ refused the registration on {adapter}: {detail} (is the adapter powered? try \
         `bluetoothctl power on`)"
    )]
    NotReady {
        /// The adapter's object path.
        adapter: String,
        /// BlueZ's explanation.
        detail: String,
    },
    /// Any other refusal.
    #[error("BlueZ refused the registration on {adapter}: {name}: {detail}")]
    Refused {
        /// The adapter's object path.
        adapter: String,
        /// The D-Bus error name.
        name: String,
        /// Its text.
        detail: String,
    },
    /// Anything else.
    #[error("cannot start the BLE transport: {0}")]
    Other(#[source] BluezError),
}

/// Serves the agent's protocomm service as a BLE peripheral through BlueZ, with Improv's
/// service beside it when [`BleRoute::with_improv`] asks for it.
#[derive(Clone, Debug)]
pub struct BleRoute {
    adapter_path: String,
    config: BluezConfig,
    improv: Option<ImprovSettings>,
}

impl BleRoute {
    /// On the adapter at `adapter_path` (`/org/bluez/hci0`) with `config` (service UUID,
    /// advertised name, manufacturer data).
    pub fn new(adapter_path: impl Into<String>, config: BluezConfig) -> Self {
        BleRoute {
            adapter_path: adapter_path.into(),
            config,
            improv: None,
        }
    }

    /// Also serves Improv Wi-Fi's GATT service in the same application (see
    /// [`crate::improv`]): credentials it receives go through the same provisioning machine.
    pub fn with_improv(mut self, settings: ImprovSettings) -> Self {
        self.improv = Some(settings);
        self
    }

    /// The adapter's object path.
    pub fn adapter_path(&self) -> &str {
        &self.adapter_path
    }

    /// The peripheral's settings.
    pub fn config(&self) -> &BluezConfig {
        &self.config
    }
}

/// Connects to the system bus.
async fn system_bus() -> Result<zbus::Connection, BleError> {
    zbus::Connection::system()
        .await
        .map_err(|source| BleError::Bus {
            address: std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
                .unwrap_or_else(|_| "the default system bus socket".to_string()),
            source,
        })
}

/// Explains a failed registration.
fn start_error(adapter: &str, e: BluezError) -> BleError {
    let (name, detail) = match &e {
        BluezError::Bus(zbus::Error::MethodError(name, detail, _)) => {
            (name.to_string(), detail.clone().unwrap_or_default())
        }
        BluezError::Bus(zbus::Error::FDO(fdo)) => (
            zbus::DBusError::name(fdo.as_ref()).to_string(),
            zbus::DBusError::description(fdo.as_ref())
                .unwrap_or_default()
                .to_string(),
        ),
        _ => return BleError::Other(e),
    };
    let detail = if detail.is_empty() {
        name.clone()
    } else {
        detail
    };
    let adapter = adapter.to_string();
    match name.as_str() {
        "org.freedesktop.DBus.Error.ServiceUnknown"
        | "org.freedesktop.DBus.Error.NameHasNoOwner" => BleError::NoBluez { detail },
        "org.freedesktop.DBus.Error.UnknownObject"
        | "org.freedesktop.DBus.Error.UnknownInterface"
        | "org.freedesktop.DBus.Error.UnknownMethod" => BleError::NoAdapter { adapter, detail },
        "org.freedesktop.DBus.Error.AccessDenied" => BleError::AccessDenied { detail },
        "org.bluez.Error.NotReady" | "org.bluez.Error.Failed" => {
            BleError::NotReady { adapter, detail }
        }
        _ => BleError::Refused {
            adapter,
            name,
            detail,
        },
    }
}

impl Route for BleRoute {
    fn name(&self) -> &str {
        "BLE"
    }

    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
        let route = self.clone();
        Box::pin(async move {
            let bus = system_bus().await?;
            let place = Place::Other(format!(
                "BLE on {} (service {})",
                route.adapter_path, route.config.service_uuid
            ));
            let improv = route.improv.map(|settings| {
                let core = crate::improv::ble::core(settings.clone(), ctx.clone());
                let (service, writes) = crate::improv::ble::service(&settings, core.state());
                (core, service, writes)
            });
            let (improv, extra) = match improv {
                Some((core, service, writes)) => (Some((core, writes)), Some(service)),
                None => (None, None),
            };
            let handle = BluezPeripheral::start_with(
                bus,
                &route.adapter_path,
                route.config,
                ctx.service().clone(),
                extra,
            )
            .await
            .map_err(|e| start_error(&route.adapter_path, e))?;
            let stop = ctx.shutdown().signalled();
            Ok(RunningRoute::new(Some(place), async move {
                match improv {
                    Some((core, writes)) => {
                        tokio::select! {
                            () = stop => {}
                            () = crate::improv::ble::serve(&handle, core, writes) => {}
                        }
                    }
                    None => stop.await,
                }
                handle.stop().await;
                Ok(())
            }))
        })
    }
}
