//! The device role's acknowledgement, sent once the device has joined the network
//! (spec §6.3, ESP-IDF's `smartconfig_ack.c`).
//!
//! | protocol     | payload                          | destination                                   |
//! |--------------|----------------------------------|-----------------------------------------------|
//! | ESPTouch v1  | `T`, STA MAC, STA IPv4 (11 bytes) | phone IP (from the datum) :18266, and broadcast :18266 |
//! | ESPTouch v2  | port mark, STA MAC (7 bytes)     | broadcast :`18266 + 10000·mark`               |
//! | AirKiss      | token, STA MAC (7 bytes)         | the sender of a datagram received on :10001 within 1.5 s, port 10000, and broadcast :10000 |
//!
//! The replies leave from the station's address (the socket is bound to it), hence through
//! the interface that joined, whatever the default route says.
//!
//! Every round (100 ms apart, 30 rounds) sends the payload once to each destination; send
//! errors are counted, not fatal. Where ESP-IDF gives up on AirKiss when nothing arrives on
//! port 10001, this task broadcasts instead (spec §12) unless
//! [`AckConfig::airkiss_broadcast_fallback`] is off. The first wait of ESP-IDF (200 ms before
//! looking at the address) is [`AckConfig::delay`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use super::{AIRKISS_ACK_PORT, AIRKISS_DATA_PORT, BROADCAST, ESPTOUCH_ACK_PORT, any_v4, codecs};
use crate::Protocol;

pub use super::requests::AckRequest;

/// Ports, destinations and timing of the acknowledgement; the defaults are ESP-IDF's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckConfig {
    /// Rounds to send (30).
    pub rounds: u32,
    /// Pause between rounds (100 ms).
    pub interval: Duration,
    /// Pause before anything else (200 ms).
    pub delay: Duration,
    /// The broadcast address the copies go to (255.255.255.255); `None` sends no broadcast
    /// copies (v2 and the AirKiss fallback then have no destination at all).
    pub broadcast: Option<IpAddr>,
    /// ESPTouch v1: the phone's reply port (18266).
    pub esptouch_port: u16,
    /// ESPTouch v2: the reply port; `None` for `18266 + 10000·mark`.
    pub v2_port: Option<u16>,
    /// AirKiss: where to wait for the phone's datagram (0.0.0.0:10001). Ignored when the
    /// caller hands over a socket.
    pub airkiss_listen: SocketAddr,
    /// AirKiss: how long to wait for it (1.5 s).
    pub airkiss_wait: Duration,
    /// AirKiss: the phone's reply port (10000).
    pub airkiss_port: u16,
    /// AirKiss: broadcast the reply when no datagram arrived (on; ESP-IDF sends nothing).
    pub airkiss_broadcast_fallback: bool,
}

impl Default for AckConfig {
    fn default() -> Self {
        AckConfig {
            rounds: 30,
            interval: Duration::from_millis(100),
            delay: Duration::from_millis(200),
            broadcast: Some(IpAddr::V4(BROADCAST)),
            esptouch_port: ESPTOUCH_ACK_PORT,
            v2_port: None,
            airkiss_listen: any_v4(AIRKISS_DATA_PORT),
            airkiss_wait: Duration::from_millis(1500),
            airkiss_port: AIRKISS_ACK_PORT,
            airkiss_broadcast_fallback: true,
        }
    }
}

/// What the acknowledgement did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckReport {
    /// Where each round went (empty: nothing was sent).
    pub targets: Vec<SocketAddr>,
    /// Rounds sent.
    pub rounds: u32,
    /// Datagrams sent successfully.
    pub sent: u32,
    /// Datagrams the system refused (no route, …).
    pub failed: u32,
    /// AirKiss: the phone whose datagram arrived on the AirKiss port, if one did.
    pub airkiss_phone: Option<SocketAddr>,
}

/// Why no acknowledgement could be attempted.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// A socket could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Runs the acknowledgement to its end. For AirKiss, `handshake` is a socket already bound
/// where the phone sends (the receiver's UDP socket); without it [`AckConfig::airkiss_listen`]
/// is bound.
pub async fn send_ack(
    request: &AckRequest,
    config: &AckConfig,
    handshake: Option<UdpSocket>,
) -> Result<AckReport, AckError> {
    tokio::time::sleep(config.delay).await;
    let payload = codecs::ack_payload(request);
    let mut report = AckReport::default();
    let broadcast = |port: u16| config.broadcast.map(|ip| SocketAddr::new(ip, port));

    let mut targets = Vec::new();
    match request.protocol {
        Protocol::EspTouch => {
            if let Some(phone) = request.phone_ip {
                targets.push(SocketAddr::new(phone, config.esptouch_port));
            }
            targets.extend(broadcast(config.esptouch_port));
        }
        Protocol::EspTouchV2 => {
            let port = config
                .v2_port
                .unwrap_or_else(|| super::v2_ack_port(request.token));
            targets.extend(broadcast(port));
        }
        Protocol::AirKiss => {
            let socket = match handshake {
                Some(socket) => socket,
                None => UdpSocket::bind(config.airkiss_listen)
                    .await
                    .map_err(|source| AckError::Bind {
                        addr: config.airkiss_listen,
                        source,
                    })?,
            };
            report.airkiss_phone = wait_for_phone(&socket, config.airkiss_wait).await;
            drop(socket);
            match report.airkiss_phone {
                Some(phone) => {
                    targets.push(SocketAddr::new(phone.ip(), config.airkiss_port));
                    targets.extend(broadcast(config.airkiss_port));
                }
                None if config.airkiss_broadcast_fallback => {
                    tracing::info!(
                        "no datagram from the phone on the AirKiss port; broadcasting the reply"
                    );
                    targets.extend(broadcast(config.airkiss_port));
                }
                None => {
                    tracing::info!("no datagram from the phone on the AirKiss port; no reply");
                }
            }
        }
    }
    targets.dedup();
    if targets.is_empty() {
        return Ok(report);
    }

    let socket = reply_socket(request, &targets).await?;
    let _ = socket.set_broadcast(true);
    tracing::debug!("acknowledging to {targets:?}");
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..config.rounds {
        ticker.tick().await;
        for target in &targets {
            match socket.send_to(&payload, target).await {
                Ok(_) => report.sent += 1,
                Err(e) => {
                    report.failed += 1;
                    tracing::debug!("acknowledgement to {target} not sent: {e}");
                }
            }
        }
        report.rounds += 1;
    }
    report.targets = targets;
    Ok(report)
}

/// The socket the replies leave from: bound to the station's address, so that they leave
/// through the station's interface (a datagram to 255.255.255.255 from an unbound socket
/// follows the default route, which on a device with another interface, or none, is not the
/// network just joined; Linux sends limited broadcasts from a bound address out of the
/// interface that owns it). When the address is not one of this host's (a simulated link),
/// or the destinations are IPv6, the socket is bound to the unspecified address.
async fn reply_socket(request: &AckRequest, targets: &[SocketAddr]) -> Result<UdpSocket, AckError> {
    if matches!(targets.first(), Some(SocketAddr::V6(_))) {
        let any = SocketAddr::from(([0u16; 8], 0));
        return UdpSocket::bind(any)
            .await
            .map_err(|source| AckError::Bind { addr: any, source });
    }
    if !request.ip.is_unspecified() {
        let station = SocketAddr::new(IpAddr::V4(request.ip), 0);
        match UdpSocket::bind(station).await {
            Ok(socket) => return Ok(socket),
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                tracing::debug!(
                    "the station address {} is not this host's; replying from any address",
                    request.ip
                );
            }
            Err(source) => {
                return Err(AckError::Bind {
                    addr: station,
                    source,
                });
            }
        }
    }
    let any = any_v4(0);
    UdpSocket::bind(any)
        .await
        .map_err(|source| AckError::Bind { addr: any, source })
}

/// Waits up to `wait` for any datagram and returns its sender.
async fn wait_for_phone(socket: &UdpSocket, wait: Duration) -> Option<SocketAddr> {
    let mut buffer = vec![0u8; 2048];
    let received = tokio::time::timeout(wait, socket.recv_from(&mut buffer)).await;
    match received {
        Ok(Ok((_, from))) => Some(from),
        Ok(Err(e)) => {
            tracing::debug!("waiting on the AirKiss port failed: {e}");
            None
        }
        Err(_) => None,
    }
}
