//! Client side of the HTTP transport, speaking to a device as esp_prov does.
//!
//! One persistent HTTP/1.1 connection; `POST /<endpoint>` with the raw protocomm bytes as the
//! body; the `Set-Cookie` value of the first response echoed as `Cookie` on every later request
//! (also across reconnects). A device that rejects a request closes the connection without an
//! answer: that is [`ClientError::NoResponse`], distinct from an HTTP error status.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

/// Largest response body accepted.
const MAX_RESPONSE: usize = 64 * 1024;
/// Longest header section accepted.
const MAX_HEADERS: usize = 16 * 1024;

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The device could not be reached.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The device closed the connection without answering: it rejected the request (wrong
    /// PoP or password, undecryptable or malformed message, or a refused command).
    #[error("the device closed the connection without a response (it rejected the request)")]
    NoResponse,
    /// The device answered with an HTTP error.
    #[error("the device answered HTTP {status} on /{endpoint}")]
    Status {
        /// The status code.
        status: u16,
        /// The endpoint.
        endpoint: String,
    },
    /// The device answered `429 Too Many Requests`: it is throttling authentication
    /// attempts, for `retry_after` (its `Retry-After`, in seconds; 1 s if absent).
    #[error("the device is throttling authentication attempts; retry in {} s", .retry_after.as_secs())]
    Throttled {
        /// How long the device asks to wait.
        retry_after: Duration,
    },
    /// No answer within the timeout.
    #[error("no answer from the device within {0:?}")]
    Timeout(Duration),
    /// The answer was not valid HTTP.
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
    /// Another socket error.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// An HTTP connection to one device.
pub struct HttpClient {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
    cookie: Option<String>,
    timeout: Duration,
    local: Option<IpAddr>,
}

impl HttpClient {
    /// A client for `addr` (`host:port`; port 80 when absent). Connects lazily.
    pub fn new(addr: &str, timeout: Duration) -> Self {
        let addr = if addr.parse::<SocketAddr>().is_ok()
            || addr
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            addr.to_string()
        } else {
            format!("{addr}:80")
        };
        HttpClient {
            addr,
            stream: None,
            cookie: None,
            timeout,
            local: None,
        }
    }

    /// Connects from the local address `ip` (any port) instead of the one the system picks:
    /// a test or a benchmark can then act as many clients on loopback (`127.0.0.0/8`).
    pub fn bind_to(mut self, ip: IpAddr) -> Self {
        self.local = Some(ip);
        self
    }

    /// The device address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The session cookie, once the device has set one.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// Forgets the cookie and the connection, so the next request starts a new session.
    pub fn reset_session(&mut self) {
        self.cookie = None;
        self.stream = None;
    }

    async fn connect(&mut self) -> Result<&mut BufReader<TcpStream>, ClientError> {
        if self.stream.is_none() {
            let stream = tokio::time::timeout(self.timeout, open(&self.addr, self.local))
                .await
                .map_err(|_| ClientError::Timeout(self.timeout))?
                .map_err(|source| ClientError::Connect {
                    addr: self.addr.clone(),
                    source,
                })?;
            let _ = stream.set_nodelay(true);
            self.stream = Some(BufReader::new(stream));
        }
        self.stream.as_mut().ok_or(ClientError::NoResponse)
    }

    /// Sends `body` to `/endpoint` and returns the response body.
    pub async fn post(&mut self, endpoint: &str, body: &[u8]) -> Result<Vec<u8>, ClientError> {
        let timeout = self.timeout;
        let result = tokio::time::timeout(timeout, self.exchange(endpoint, body)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout(timeout)),
        };
        if result.is_err() {
            // Never reuse a connection after an error: it may hold half a response.
            self.stream = None;
        }
        result
    }

    async fn exchange(&mut self, endpoint: &str, body: &[u8]) -> Result<Vec<u8>, ClientError> {
        let mut head = format!(
            "POST /{endpoint} HTTP/1.1\r\nHost: {}\r\nContent-type: application/x-www-form-urlencoded\r\nAccept: text/plain\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(cookie) = &self.cookie {
            head.push_str("Cookie: ");
            head.push_str(cookie);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let reused = self.stream.is_some();
        let stream = self.connect().await?;
        let sent = async {
            stream.get_mut().write_all(head.as_bytes()).await?;
            stream.get_mut().write_all(body).await?;
            stream.get_mut().flush().await
        }
        .await;
        if let Err(e) = sent {
            // A kept-alive connection the device closed meanwhile: retry once on a new one.
            if reused {
                self.stream = None;
                return Box::pin(self.exchange(endpoint, body)).await;
            }
            return Err(e.into());
        }
        let stream = self.stream.as_mut().ok_or(ClientError::NoResponse)?;
        let mut status_line = String::new();
        let n = stream.read_line(&mut status_line).await?;
        if n == 0 {
            return Err(ClientError::NoResponse);
        }
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ClientError::Malformed(format!("status line {status_line:?}")))?;
        let mut length = None;
        let mut close = false;
        let mut set_cookie = None;
        let mut retry_after = None;
        let mut total = status_line.len();
        loop {
            let mut line = String::new();
            let n = stream.read_line(&mut line).await?;
            total += n;
            if n == 0 {
                return Err(ClientError::Malformed(
                    "connection closed inside the headers".into(),
                ));
            }
            if total > MAX_HEADERS {
                return Err(ClientError::Malformed("headers too long".into()));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            // esp_prov matches `Set-Cookie` exactly; we accept any case.
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "set-cookie" => set_cookie = Some(value.to_string()),
                "retry-after" => retry_after = value.parse::<u64>().ok(),
                _ => {}
            }
        }
        let length = length.ok_or_else(|| ClientError::Malformed("no Content-Length".into()))?;
        if length > MAX_RESPONSE {
            return Err(ClientError::Malformed(format!(
                "response of {length} bytes is too large"
            )));
        }
        let mut response = vec![0u8; length];
        stream.read_exact(&mut response).await?;
        if close {
            self.stream = None;
        }
        if let Some(cookie) = set_cookie {
            self.cookie = Some(cookie);
        }
        if status == 429 {
            return Err(ClientError::Throttled {
                retry_after: Duration::from_secs(retry_after.unwrap_or(1).max(1)),
            });
        }
        if status != 200 {
            return Err(ClientError::Status {
                status,
                endpoint: endpoint.to_string(),
            });
        }
        Ok(response)
    }
}

/// Connects to `addr`, from `local` when given.
async fn open(addr: &str, local: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let Some(local) = local else {
        return TcpStream::connect(addr).await;
    };
    let mut last = None;
    for target in tokio::net::lookup_host(addr).await? {
        if target.is_ipv4() != local.is_ipv4() {
            continue;
        }
        let socket = if local.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(local, 0))?;
        match socket.connect(target).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            "no address of the device's family",
        )
    }))
}
