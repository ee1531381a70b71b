//! How the client reaches a device.

use std::time::Duration;

use wifiprov_transport::http_client::{ClientError, HttpClient};
use wifiprov_wifi::BoxFuture;

/// A failed exchange with a device.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The device could not be reached at all.
    #[error("cannot reach the device at {target}: {reason}")]
    Unreachable {
        /// Where we tried.
        target: String,
        /// Why it failed.
        reason: String,
    },
    /// Connecting to the device failed (the socket's error is the source).
    #[error("cannot reach the device at {target}")]
    Connect {
        /// Where we tried.
        target: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed in another way (malformed answer, socket error).
    #[error("the HTTP exchange with the device failed")]
    Http(#[source] ClientError),
    /// The device dropped the request without answering: it rejected it.
    #[error("the device rejected the request (no response)")]
    Rejected,
    /// The device is throttling authentication attempts (HTTP `429` with `Retry-After`).
    #[error("the device is throttling authentication attempts; retry in {} s", .retry_after.as_secs())]
    Throttled {
        /// How long the device asks to wait.
        retry_after: Duration,
    },
    /// The device answered with a transport-level error (e.g. HTTP 404).
    #[error("the device answered with an error: {0}")]
    Status(String),
    /// No answer in time.
    #[error("no answer from the device within {0:?}")]
    Timeout(Duration),
    /// Anything else on the link.
    #[error("{0}")]
    Other(String),
}

/// A request/response link to one device (HTTP, BLE, console).
pub trait ClientTransport: Send {
    /// Sends `body` to `endpoint` and returns the response.
    fn request<'a>(
        &'a mut self,
        endpoint: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>>;

    /// Drops the transport session so that the next request starts a new one.
    fn reset_session(&mut self);

    /// Where the device is, for messages (`http://192.168.4.1:80`).
    fn describe(&self) -> String;
}

impl<T: ClientTransport + ?Sized> ClientTransport for Box<T> {
    fn request<'a>(
        &'a mut self,
        endpoint: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>> {
        (**self).request(endpoint, body)
    }

    fn reset_session(&mut self) {
        (**self).reset_session();
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// The HTTP (SoftAP) transport, as esp_prov speaks it.
pub struct HttpTransport {
    client: HttpClient,
}

impl HttpTransport {
    /// A transport to `host[:port]` (port 80 by default).
    pub fn new(addr: &str, timeout: Duration) -> Self {
        HttpTransport {
            client: HttpClient::new(addr, timeout),
        }
    }
}

impl ClientTransport for HttpTransport {
    fn request<'a>(
        &'a mut self,
        endpoint: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>> {
        Box::pin(async move {
            self.client.post(endpoint, body).await.map_err(|e| match e {
                ClientError::Connect { addr, source } => TransportError::Connect {
                    target: addr,
                    source,
                },
                ClientError::NoResponse => TransportError::Rejected,
                ClientError::Status { status, endpoint } => {
                    TransportError::Status(format!("HTTP {status} on /{endpoint}"))
                }
                ClientError::Throttled { retry_after } => TransportError::Throttled { retry_after },
                ClientError::Timeout(d) => TransportError::Timeout(d),
                other => TransportError::Http(other),
            })
        })
    }

    fn reset_session(&mut self) {
        self.client.reset_session();
    }

    fn describe(&self) -> String {
        format!("http://{}", self.client.addr())
    }
}
