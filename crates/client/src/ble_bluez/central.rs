//! [`BluezCentral`]: the connection to one device and its requests.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;
use wifiprov_transport::ble::gatt::{MAX_ATTRIBUTE_LEN, read_chunk_len};
use wifiprov_wifi::BoxFuture;
use zbus::{Connection, Variant};

use super::bus::{Bluez, system_bus};
use super::scan::find;
use super::{
    BleDevice, BluezCentralConfig, CHARACTERISTIC_IFACE, DEVICE_IFACE, Options, POLL_INTERVAL,
};
use crate::transport::{ClientTransport, TransportError};

/// How many times [`BluezCentral`] tries to connect and resolve the services.
pub const CONNECT_ATTEMPTS: u32 = 3;

/// Why one connection attempt failed.
enum Attempt {
    /// Worth another attempt (BlueZ could not connect, or the link dropped), with the reason.
    Retry(String),
    /// Final.
    Fatal(TransportError),
}

/// One endpoint characteristic.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    pub(super) path: String,
    /// The characteristic's `MTU` property, when BlueZ reports it.
    pub(super) mtu: Option<u16>,
}

/// A [`ClientTransport`] to a provisioning device over BLE, through BlueZ; see the module
/// documentation.
pub struct BluezCentral {
    pub(super) bluez: Bluez,
    pub(super) config: BluezCentralConfig,
    pub(super) device: BleDevice,
    endpoints: BTreeMap<String, Endpoint>,
    /// The session was reset: reconnect before the next request.
    stale: bool,
    /// Whether this transport believes the device connected.
    connected: bool,
}

impl BluezCentral {
    /// Finds, connects to and maps the device on the system bus.
    pub async fn connect(config: BluezCentralConfig) -> Result<Self, TransportError> {
        let bus = system_bus().await?;
        Self::connect_on(bus, config).await
    }

    /// Finds, connects to and maps the device through the BlueZ found on `bus`.
    pub async fn connect_on(
        bus: Connection,
        config: BluezCentralConfig,
    ) -> Result<Self, TransportError> {
        let bluez = Bluez {
            bus,
            timeout: config.request_timeout,
        };
        let adapter = bluez.adapter(config.adapter.as_deref()).await?;
        let device = find(&bluez, &adapter, &config).await?;
        tracing::debug!(path = %device.path, name = ?device.name, "BLE device found");
        let mut central = BluezCentral {
            bluez,
            config,
            device,
            endpoints: BTreeMap::new(),
            stale: false,
            connected: false,
        };
        central.open().await?;
        Ok(central)
    }

    /// The device connected to.
    pub fn device(&self) -> &BleDevice {
        &self.device
    }

    /// The endpoint names found, with their characteristic object paths.
    pub fn endpoints(&self) -> BTreeMap<String, String> {
        self.endpoints
            .iter()
            .map(|(name, e)| (name.clone(), e.path.clone()))
            .collect()
    }

    /// Disconnects from the device.
    pub async fn disconnect(mut self) -> Result<(), TransportError> {
        self.connected = false;
        self.bluez
            .call(&self.device.path, DEVICE_IFACE, "Disconnect", &())
            .await
            .map(|_| ())
    }

    /// Connects (when needed), waits for the services and maps the endpoints.
    ///
    /// A connection attempt that fails (BlueZ's `org.bluez.Error.Failed`, e.g.
    /// `le-connection-abort-by-local` when the device stopped advertising for a moment, or
    /// `InProgress`), or a link that drops before the services are resolved, is tried again,
    /// [`CONNECT_ATTEMPTS`] times in all.
    async fn open(&mut self) -> Result<(), TransportError> {
        let mut attempt = 1;
        loop {
            match self.connect_and_resolve().await {
                Ok(()) => break,
                Err(Attempt::Retry(why)) if attempt < CONNECT_ATTEMPTS => {
                    tracing::debug!(attempt, %why, "BLE connection attempt failed; trying again");
                    attempt += 1;
                    tokio::time::sleep(POLL_INTERVAL * attempt).await;
                }
                Err(Attempt::Retry(why)) => {
                    return Err(TransportError::Unreachable {
                        target: self.config.target(),
                        reason: format!(
                            "BlueZ could not connect to {} ({CONNECT_ATTEMPTS} attempts): {why}",
                            self.device.path
                        ),
                    });
                }
                Err(Attempt::Fatal(e)) => return Err(e),
            }
        }
        self.endpoints = self.map_endpoints().await?;
        self.stale = false;
        tracing::debug!(endpoints = ?self.endpoints.keys().collect::<Vec<_>>(), "BLE endpoints");
        Ok(())
    }

    /// One connection attempt: `Connect`, then waiting for `ServicesResolved` while the link
    /// stays up.
    async fn connect_and_resolve(&mut self) -> Result<(), Attempt> {
        let path = self.device.path.clone();
        match self.bluez.call(&path, DEVICE_IFACE, "Connect", &()).await {
            Ok(_) => {}
            Err(e @ TransportError::Timeout(_)) => return Err(Attempt::Fatal(e)),
            Err(TransportError::Rejected) => {
                return Err(Attempt::Retry("org.bluez.Error.Failed".into()));
            }
            Err(TransportError::Status(text)) if text.starts_with("org.bluez.Error.InProgress") => {
                return Err(Attempt::Retry(text));
            }
            Err(other) => {
                return Err(Attempt::Fatal(TransportError::Unreachable {
                    target: self.config.target(),
                    reason: format!("BlueZ could not connect to {path}: {other}"),
                }));
            }
        }
        self.connected = true;
        let deadline = Instant::now() + self.config.request_timeout;
        loop {
            if self
                .bluez
                .get_bool(&path, DEVICE_IFACE, "ServicesResolved")
                .await
                .map_err(Attempt::Fatal)?
            {
                return Ok(());
            }
            if !self
                .bluez
                .get_bool(&path, DEVICE_IFACE, "Connected")
                .await
                .map_err(Attempt::Fatal)?
            {
                self.connected = false;
                return Err(Attempt::Retry(
                    "the link dropped before the services were resolved".into(),
                ));
            }
            if Instant::now() >= deadline {
                return Err(Attempt::Fatal(TransportError::Timeout(
                    self.config.request_timeout,
                )));
            }
            tokio::time::sleep(POLL_INTERVAL / 5).await;
        }
    }

    /// Disconnects and connects again, for a new protocomm session.
    async fn reconnect(&mut self) -> Result<(), TransportError> {
        self.bluez.disconnect_quietly(&self.device.path).await;
        self.connected = false;
        self.open().await
    }

    /// Write, then read the response (the rest at offsets when one full chunk came back).
    async fn exchange(&self, endpoint: &Endpoint, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let options: Options = HashMap::from([("type", Variant::from("request"))]);
        self.bluez
            .call(
                &endpoint.path,
                CHARACTERISTIC_IFACE,
                "WriteValue",
                &(body, options),
            )
            .await?;
        let mut value = self
            .bluez
            .read_value(&endpoint.path, CHARACTERISTIC_IFACE, 0)
            .await?;
        let Some(full) = endpoint.mtu.map(read_chunk_len).filter(|n| *n > 0) else {
            return Ok(value);
        };
        let mut last = value.len();
        while last == full && value.len() < MAX_ATTRIBUTE_LEN {
            match self
                .bluez
                .read_value(&endpoint.path, CHARACTERISTIC_IFACE, value.len())
                .await
            {
                Ok(chunk) => {
                    last = chunk.len();
                    value.extend(chunk);
                }
                // The value ended exactly at the chunk boundary.
                Err(TransportError::Status(text))
                    if text.starts_with("org.bluez.Error.InvalidOffset") =>
                {
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(value)
    }
}

impl ClientTransport for BluezCentral {
    fn request<'a>(
        &'a mut self,
        endpoint: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>> {
        Box::pin(async move {
            if self.stale {
                self.reconnect().await?;
            }
            let found = self.endpoints.get(endpoint).cloned().ok_or_else(|| {
                TransportError::Status(format!("the device has no characteristic for {endpoint}"))
            })?;
            self.exchange(&found, body).await
        })
    }

    fn reset_session(&mut self) {
        // A BLE session ends with its connection: reconnect before the next request.
        self.stale = true;
    }

    fn describe(&self) -> String {
        let name = self
            .device
            .name
            .clone()
            .unwrap_or_else(|| self.device.path.clone());
        match &self.device.address {
            Some(address) => format!("ble://{name} ({address})"),
            None => format!("ble://{name}"),
        }
    }
}

impl Drop for BluezCentral {
    fn drop(&mut self) {
        if !self.connected {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let bluez = self.bluez.clone();
        let path = self.device.path.clone();
        let disconnect = async move {
            let call = bluez.call(&path, DEVICE_IFACE, "Disconnect", &());
            if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), call).await {
                tracing::debug!(error = %e, "Disconnect on drop failed");
            }
        };
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            // Finish before the process may exit, so the device is free for the next client.
            tokio::task::block_in_place(|| handle.block_on(disconnect));
        } else {
            handle.spawn(disconnect);
        }
    }
}
