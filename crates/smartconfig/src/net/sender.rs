//! The phone role: send credentials as a length code and wait for the devices' replies.
//!
//! [`Sender::bind`] binds the reply socket first (ESPTouch v2 writes the port it got into the
//! message), encodes the request with the protocol's codec and opens the sending socket;
//! [`Sender::run`] then loops the codec's schedule to the destination, paced by the schedule's
//! gaps, until enough devices replied or the time is up.
//!
//! | protocol    | destination              | reply port                      | sends for / waits |
//! |-------------|--------------------------|---------------------------------|-------------------|
//! | ESPTouch v1 | 255.255.255.255:7001     | 18266                           | 45 s / 60 s       |
//! | ESPTouch v2 | subnet broadcast:7001    | first free of 18266, 28266, 38266, 48266 (the port mark); also the sending socket | 90 s / 92 s, 100 ms pacing after 45 s |
//! | AirKiss     | 255.255.255.255:10001    | 10000                           | until a reply / 60 s |
//!
//! AirKiss keeps sending while it waits: an ESP-IDF device only replies after it received a
//! datagram on port 10001 from the phone, once it has joined the network (spec §6.3).
//!
//! Replies accepted (spec §12): v1 exactly 11 bytes starting with `(s + p + 9) mod 256` (MAC
//! and IPv4 follow); v2 at least 7 bytes (the MAC follows the first byte; the device's address
//! is the datagram's source), answered with two `0x01` datagrams to the device's port 7002;
//! AirKiss 1 or 7 bytes starting with the token (7: the MAC follows).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use super::codecs::{self, Expect};
use super::route;
use super::{
    AIRKISS_ACK_PORT, AIRKISS_DATA_PORT, BROADCAST, ESPTOUCH_ACK_PORT, ESPTOUCH_DATA_PORT,
    ESPTOUCH_V2_ACK_PORTS, any_v4,
};
use crate::{EncodeError, Protocol, Transmit};

pub use super::requests::{Device, SendRequest};

/// How to send; every field has a default (the protocol's own ports and timing).
#[derive(Clone, Debug, Default)]
pub struct SenderConfig {
    /// Where the length code goes [default: see the module table].
    pub target: Option<SocketAddr>,
    /// Where to listen for replies [default: 0.0.0.0 on the protocol's reply port(s)]; port 0
    /// takes any free port (see [`Sender::ack_addr`]).
    pub ack_listen: Option<SocketAddr>,
    /// ESPTouch v2 port mark to announce when `ack_listen` is given [default: the index of its
    /// port among 18266, 28266, 38266, 48266, else 0].
    pub port_mark: Option<u8>,
    /// ESPTouch v1: the phone address to announce [default: the local address that reaches
    /// the target].
    pub phone_ip: Option<Ipv4Addr>,
    /// Give up after this long [default: v1 60 s, v2 92 s, AirKiss 60 s].
    pub timeout: Option<Duration>,
    /// Stop sending after this long and only listen [default: v1 45 s, v2 90 s, AirKiss until
    /// the timeout]; never later than the timeout.
    pub send_for: Option<Duration>,
    /// Pause between datagrams instead of the schedule's own.
    pub gap: Option<Duration>,
    /// Stop after this many devices replied [default and minimum: 1]. Replies are counted
    /// per device MAC (per address for 1-byte AirKiss replies).
    pub devices: usize,
    /// Progress reports, if wanted.
    pub progress: Option<UnboundedSender<SendProgress>>,
}

/// Progress of a [`Sender::run`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendProgress {
    /// Datagrams sent so far (reported after every cycle and every 250 datagrams).
    Sending {
        /// Datagrams sent.
        datagrams: u64,
        /// Complete passes over the schedule.
        cycles: u64,
        /// Time since the start.
        elapsed: Duration,
    },
    /// Sending has stopped; still listening for replies.
    Listening {
        /// Datagrams sent in all.
        datagrams: u64,
    },
    /// A device replied.
    Device(Device),
}

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The request cannot be encoded.
    #[error("cannot encode the request: {0}")]
    Encode(#[from] EncodeError),
    /// No reply port could be bound.
    #[error("cannot listen for replies on {addr}: {source}")]
    Bind {
        /// The (last) address tried.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The first datagram could not be sent.
    #[error("cannot send to {target}: {source}")]
    Send {
        /// The destination.
        target: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Reading a reply failed.
    #[error("receiving replies failed: {0}")]
    Receive(#[source] std::io::Error),
    /// No device replied in time.
    #[error(
        "no device replied within {}s ({datagrams} datagrams in {cycles} complete passes sent to {target})",
        .after.as_secs_f32()
    )]
    Timeout {
        /// How long it waited.
        after: Duration,
        /// Datagrams sent.
        datagrams: u64,
        /// Complete passes over the schedule.
        cycles: u64,
        /// Where they went.
        target: SocketAddr,
    },
}

/// A sender with its sockets bound and its message encoded.
pub struct Sender {
    protocol: Protocol,
    ack: UdpSocket,
    /// `None`: send from the reply socket (ESPTouch v2).
    data: Option<UdpSocket>,
    target: SocketAddr,
    schedule: Vec<Transmit>,
    expect: Expect,
    port_mark: u8,
    config: SenderConfig,
}

impl std::fmt::Debug for Sender {
    // The schedule spells out the password: show only its size.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("protocol", &self.protocol)
            .field("target", &self.target)
            .field("ack", &self.ack.local_addr().ok())
            .field("datagrams_per_pass", &self.schedule.len())
            .field("port_mark", &self.port_mark)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// Binds the reply socket, encodes `request` and opens the sending socket.
    pub async fn bind(request: &SendRequest, config: SenderConfig) -> Result<Sender, SendError> {
        let protocol = request.protocol;
        let (ack, port_mark) = bind_reply_socket(protocol, &config).await?;
        let target = match config.target {
            Some(target) => target,
            None => default_target(protocol),
        };
        let phone_ip = config
            .phone_ip
            .or_else(|| route::local_ipv4_towards(target))
            .unwrap_or(BROADCAST);
        let plan = codecs::plan(request, port_mark, phone_ip)?;
        let data = if protocol == Protocol::EspTouchV2 {
            let _ = ack.set_broadcast(true);
            None
        } else {
            let bind = match target {
                SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
                SocketAddr::V4(_) => any_v4(0),
            };
            let socket = UdpSocket::bind(bind)
                .await
                .map_err(|source| SendError::Bind { addr: bind, source })?;
            let _ = socket.set_broadcast(true);
            Some(socket)
        };
        tracing::debug!(
            "{} sender: {} datagrams per pass to {target}, replies on {:?}",
            protocol.name(),
            plan.schedule.len(),
            ack.local_addr().ok()
        );
        Ok(Sender {
            protocol,
            ack,
            data,
            target,
            schedule: plan.schedule,
            expect: plan.expect,
            port_mark,
            config,
        })
    }

    /// Where replies are expected.
    pub fn ack_addr(&self) -> std::io::Result<SocketAddr> {
        self.ack.local_addr()
    }

    /// Where the length code goes.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// One pass of the schedule.
    pub fn schedule(&self) -> &[Transmit] {
        &self.schedule
    }

    /// ESPTouch v2: the port mark announced (0 for the other protocols).
    pub fn port_mark(&self) -> u8 {
        self.port_mark
    }

    /// Sends until enough devices replied (see [`SenderConfig::devices`]) or the time is up.
    /// Returns the devices in the order they replied; a timeout with at least one device is a
    /// success.
    pub async fn run(self) -> Result<Vec<Device>, SendError> {
        let (timeout, send_for) = durations(self.protocol, &self.config);
        let wanted = self.config.devices.max(1);
        let progress = self.config.progress.clone();
        let report = |event: SendProgress| {
            if let Some(tx) = &progress {
                let _ = tx.send(event);
            }
        };
        let data_socket = self.data.as_ref().unwrap_or(&self.ack);
        let filler = match self.protocol {
            Protocol::EspTouch => b'1',
            Protocol::EspTouchV2 | Protocol::AirKiss => 0,
        };
        let longest = self.schedule.iter().map(|t| t.length).max().unwrap_or(0);
        let payload = vec![filler; usize::from(longest)];
        let mut reply = vec![0u8; 2048];

        let start = Instant::now();
        let deadline = start + timeout;
        let stop_sending = start + send_for;
        let slow_after = start + Duration::from_secs(45);
        let mut next = start
            + if self.protocol == Protocol::EspTouchV2 {
                Duration::from_millis(300)
            } else {
                Duration::ZERO
            };
        let mut sending = !self.schedule.is_empty();
        let (mut index, mut datagrams, mut cycles, mut failures) = (0usize, 0u64, 0u64, 0u64);
        let mut devices: Vec<Device> = Vec::new();

        loop {
            tokio::select! {
                biased;
                received = self.ack.recv_from(&mut reply) => {
                    let (len, from) = received.map_err(SendError::Receive)?;
                    let Some(device) = reply
                        .get(..len)
                        .and_then(|bytes| codecs::parse_reply(&self.expect, bytes, from))
                    else {
                        tracing::debug!("ignored a {len}-byte datagram from {from}");
                        continue;
                    };
                    if devices.iter().any(|d| same_device(d, &device)) {
                        continue;
                    }
                    tracing::info!("device {} replied from {from}", describe(&device));
                    if self.protocol == Protocol::EspTouchV2 {
                        confirm_v2(&self.ack, device.from).await;
                    }
                    report(SendProgress::Device(device));
                    devices.push(device);
                    if devices.len() >= wanted {
                        return Ok(devices);
                    }
                }
                () = tokio::time::sleep_until(deadline) => break,
                () = tokio::time::sleep_until(next), if sending => {
                    let now = Instant::now();
                    if now >= stop_sending {
                        sending = false;
                        report(SendProgress::Listening { datagrams });
                        continue;
                    }
                    let Some(transmit) = self.schedule.get(index) else {
                        index = 0;
                        continue;
                    };
                    let bytes = payload.get(..usize::from(transmit.length)).unwrap_or(&payload);
                    match data_socket.send_to(bytes, self.target).await {
                        Ok(_) => datagrams += 1,
                        Err(source) if datagrams == 0 => {
                            return Err(SendError::Send { target: self.target, source });
                        }
                        Err(e) => {
                            failures += 1;
                            if failures == 1 {
                                tracing::warn!("sending to {} failed: {e}", self.target);
                            }
                        }
                    }
                    let mut gap = self
                        .config
                        .gap
                        .unwrap_or(Duration::from_micros(u64::from(transmit.gap_us)));
                    if self.protocol == Protocol::EspTouchV2 && now >= slow_after {
                        gap = gap.max(Duration::from_millis(100));
                    }
                    // Keep the average rate even when a timer fires late.
                    next = (next + gap).max(now.checked_sub(Duration::from_millis(50)).unwrap_or(now));
                    index += 1;
                    if index >= self.schedule.len() {
                        index = 0;
                        cycles += 1;
                    }
                    if index == 0 || datagrams % 250 == 0 {
                        report(SendProgress::Sending { datagrams, cycles, elapsed: now - start });
                    }
                }
            }
        }
        if devices.is_empty() {
            Err(SendError::Timeout {
                after: timeout,
                datagrams,
                cycles,
                target: self.target,
            })
        } else {
            Ok(devices)
        }
    }
}

/// One pass of the schedule a [`Sender`] would loop for `request`, with ESPTouch v2 port mark
/// `port_mark` and ESPTouch v1 phone address `phone_ip` (random material is drawn afresh).
pub fn encode_schedule(
    request: &SendRequest,
    port_mark: u8,
    phone_ip: Ipv4Addr,
) -> Result<Vec<Transmit>, EncodeError> {
    Ok(codecs::plan(request, port_mark, phone_ip)?.schedule)
}

/// Binds and runs a sender: see [`Sender::bind`] and [`Sender::run`].
pub async fn send(request: &SendRequest, config: SenderConfig) -> Result<Vec<Device>, SendError> {
    Sender::bind(request, config).await?.run().await
}

/// The protocol's destination.
fn default_target(protocol: Protocol) -> SocketAddr {
    match protocol {
        Protocol::EspTouch => SocketAddr::from((BROADCAST, ESPTOUCH_DATA_PORT)),
        Protocol::EspTouchV2 => {
            let probe = SocketAddr::from((BROADCAST, ESPTOUCH_DATA_PORT));
            let ip = route::local_ipv4_towards(probe)
                .filter(|ip| !ip.is_loopback())
                .map_or(BROADCAST, route::subnet_broadcast);
            SocketAddr::from((ip, ESPTOUCH_DATA_PORT))
        }
        Protocol::AirKiss => SocketAddr::from((BROADCAST, AIRKISS_DATA_PORT)),
    }
}

/// Binds the reply socket; returns it with the port mark to announce.
async fn bind_reply_socket(
    protocol: Protocol,
    config: &SenderConfig,
) -> Result<(UdpSocket, u8), SendError> {
    let bind = |addr: SocketAddr| async move {
        UdpSocket::bind(addr)
            .await
            .map_err(|source| SendError::Bind { addr, source })
    };
    if let Some(addr) = config.ack_listen {
        let socket = bind(addr).await?;
        let port = socket.local_addr().map_or(addr.port(), |a| a.port());
        let mark = config.port_mark.unwrap_or_else(|| {
            ESPTOUCH_V2_ACK_PORTS
                .iter()
                .position(|p| *p == port)
                .and_then(|i| u8::try_from(i).ok())
                .unwrap_or(0)
        });
        let mark = if protocol == Protocol::EspTouchV2 {
            mark
        } else {
            0
        };
        return Ok((socket, mark));
    }
    match protocol {
        Protocol::EspTouch => Ok((bind(any_v4(ESPTOUCH_ACK_PORT)).await?, 0)),
        Protocol::AirKiss => Ok((bind(any_v4(AIRKISS_ACK_PORT)).await?, 0)),
        Protocol::EspTouchV2 => {
            let mut last = None;
            for (mark, port) in (0u8..).zip(ESPTOUCH_V2_ACK_PORTS) {
                match bind(any_v4(port)).await {
                    Ok(socket) => return Ok((socket, mark)),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or(SendError::Bind {
                addr: any_v4(ESPTOUCH_ACK_PORT),
                source: std::io::ErrorKind::AddrInUse.into(),
            }))
        }
    }
}

/// (timeout, sending time) after the defaults and the user's settings.
fn durations(protocol: Protocol, config: &SenderConfig) -> (Duration, Duration) {
    let (send_default, timeout_default) = match protocol {
        Protocol::EspTouch => (Some(45), 60),
        Protocol::EspTouchV2 => (Some(90), 92),
        Protocol::AirKiss => (None, 60),
    };
    let timeout = config
        .timeout
        .unwrap_or(Duration::from_secs(timeout_default));
    let send_for = config
        .send_for
        .or(send_default.map(Duration::from_secs))
        .unwrap_or(timeout)
        .min(timeout);
    (timeout, send_for)
}

fn same_device(a: &Device, b: &Device) -> bool {
    match (a.mac, b.mac) {
        (Some(x), Some(y)) => x == y,
        _ => a.ip == b.ip,
    }
}

fn describe(device: &Device) -> String {
    match device.mac {
        Some(m) => format!(
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} at {}",
            m[0], m[1], m[2], m[3], m[4], m[5], device.ip
        ),
        None => format!("at {}", device.ip),
    }
}

/// ESPTouch v2 phones answer a reply with two `0x01` datagrams to the device's port 7002.
async fn confirm_v2(socket: &UdpSocket, device: SocketAddr) {
    let to = SocketAddr::new(device.ip(), 7002);
    for _ in 0..2 {
        if let Err(e) = socket.send_to(&[0x01], to).await {
            tracing::debug!("confirmation to {to} not sent: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_durations() {
        let config = SenderConfig::default();
        assert_eq!(
            durations(Protocol::EspTouch, &config),
            (Duration::from_secs(60), Duration::from_secs(45))
        );
        assert_eq!(
            durations(Protocol::EspTouchV2, &config),
            (Duration::from_secs(92), Duration::from_secs(90))
        );
        assert_eq!(
            durations(Protocol::AirKiss, &config),
            (Duration::from_secs(60), Duration::from_secs(60))
        );
        let short = SenderConfig {
            timeout: Some(Duration::from_secs(5)),
            ..SenderConfig::default()
        };
        assert_eq!(
            durations(Protocol::EspTouch, &short),
            (Duration::from_secs(5), Duration::from_secs(5))
        );
    }

    #[test]
    fn default_targets() {
        assert_eq!(
            default_target(Protocol::EspTouch),
            "255.255.255.255:7001".parse().unwrap()
        );
        assert_eq!(
            default_target(Protocol::AirKiss),
            "255.255.255.255:10001".parse().unwrap()
        );
        assert_eq!(default_target(Protocol::EspTouchV2).port(), 7001);
    }

    #[test]
    fn devices_are_told_apart_by_mac_then_address() {
        let from: SocketAddr = "10.0.0.9:1".parse().unwrap();
        let a = Device {
            ip: from.ip(),
            mac: Some([1; 6]),
            from,
        };
        let b = Device {
            mac: Some([2; 6]),
            ..a
        };
        let c = Device { mac: None, ..a };
        assert!(same_device(&a, &a));
        assert!(!same_device(&a, &b));
        assert!(same_device(&a, &c));
    }
}
