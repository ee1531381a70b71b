//! The system bus and a thin, time-limited caller of BlueZ methods.

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use zbus::export::serde::Serialize;
use zbus::fdo::ManagedObjects;
use zbus::{Connection, DynamicType, Message, MessageStream, OwnedVariant, Variant};

use super::{BLUEZ_SERVICE, DEVICE_IFACE, OBJECT_MANAGER_IFACE, Options, PROPERTIES_IFACE};
use crate::transport::TransportError;

/// Connects to the system bus (honouring `DBUS_SYSTEM_BUS_ADDRESS`).
pub async fn system_bus() -> Result<Connection, TransportError> {
    Connection::system()
        .await
        .map_err(|e| TransportError::Unreachable {
            target: "BlueZ on the system bus".into(),
            reason: format!("no system D-Bus ({e}); BLE needs bluetoothd on a running system bus"),
        })
}

/// A D-Bus error as a transport error.
fn bus_error(e: zbus::Error) -> TransportError {
    match &e {
        zbus::Error::MethodError(name, detail, _) => {
            let detail = detail.as_deref().unwrap_or("");
            match name.as_str() {
                "org.bluez.Error.Failed" => {
                    tracing::debug!(%detail, "BlueZ: operation failed");
                    TransportError::Rejected
                }
                other => TransportError::Status(format!("{other}: {detail}")),
            }
        }
        _ => TransportError::Other(format!("D-Bus: {e}")),
    }
}

/// A thin caller of BlueZ methods with a time limit.
#[derive(Clone)]
pub(super) struct Bluez {
    pub(super) bus: Connection,
    pub(super) timeout: Duration,
}

impl Bluez {
    pub(super) async fn call<B>(
        &self,
        path: &str,
        iface: &str,
        method: &str,
        body: &B,
    ) -> Result<Message, TransportError>
    where
        B: Serialize + DynamicType,
    {
        let call = self
            .bus
            .call_method(Some(BLUEZ_SERVICE), path, Some(iface), method, body);
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(bus_error),
            Err(_) => Err(TransportError::Timeout(self.timeout)),
        }
    }

    pub(super) async fn objects(&self) -> Result<ManagedObjects, TransportError> {
        let reply = self
            .call("/", OBJECT_MANAGER_IFACE, "GetManagedObjects", &())
            .await
            .map_err(|e| match e {
                TransportError::Status(text) | TransportError::Other(text) => {
                    TransportError::Unreachable {
                        target: "BlueZ".into(),
                        reason: format!(
                            "org.bluez does not answer on the system bus ({text}); is bluetoothd \
                             running?"
                        ),
                    }
                }
                other => other,
            })?;
        reply.body().deserialize::<ManagedObjects>().map_err(|e| {
            TransportError::Other(format!(
                "unexpected GetManagedObjects reply from BlueZ: {e}"
            ))
        })
    }

    pub(super) async fn read_value(
        &self,
        path: &str,
        iface: &str,
        offset: usize,
    ) -> Result<Vec<u8>, TransportError> {
        let mut options = Options::new();
        if offset > 0 {
            let offset = u16::try_from(offset).map_err(|_| {
                TransportError::Other(format!("read offset {offset} beyond a GATT value"))
            })?;
            options.insert("offset", Variant::from(offset));
        }
        let reply = self.call(path, iface, "ReadValue", &(options,)).await?;
        reply
            .body()
            .deserialize::<Vec<u8>>()
            .map_err(|e| TransportError::Other(format!("unexpected ReadValue reply: {e}")))
    }

    /// Asks BlueZ to drop the link to the device at `path`, ignoring a failure (the link may
    /// already be down).
    pub(super) async fn disconnect_quietly(&self, path: &str) {
        if let Err(e) = self.call(path, DEVICE_IFACE, "Disconnect", &()).await {
            tracing::debug!(error = %e, "Disconnect failed");
        }
    }

    pub(super) async fn get_bool(
        &self,
        path: &str,
        iface: &str,
        name: &str,
    ) -> Result<bool, TransportError> {
        let reply = self
            .call(path, PROPERTIES_IFACE, "Get", &(iface, name))
            .await?;
        let value = reply
            .body()
            .deserialize::<OwnedVariant>()
            .map_err(|e| TransportError::Other(format!("unexpected {name} property: {e}")))?;
        bool::try_from(&value)
            .map_err(|e| TransportError::Other(format!("unexpected {name} property: {e}")))
    }
}

/// The next message of `stream`, `None` at its end.
pub(super) async fn next_message(stream: &mut MessageStream) -> Option<zbus::Result<Message>> {
    poll_fn(|cx| {
        use zbus::export::futures_core::Stream;
        Pin::new(&mut *stream).poll_next(cx)
    })
    .await
}
