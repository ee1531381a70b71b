//! A receiver source over a UDP socket.
//!
//! Every datagram becomes an [`Observation::direct`] whose length is the UDP payload length
//! (so the decoders learn offset 0) and whose source is six bytes derived from the peer's
//! address and port ([`peer_key`]), so that several senders are kept apart like several
//! phones on the air.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use tokio::net::UdpSocket;
use wifiprov_wifi::BoxFuture;

use super::observe::{ObservationSource, SourceError};
use crate::Observation;

/// Large enough for any UDP payload, so the length read is never truncated.
const RECV_BUFFER: usize = 65_536;

/// A bound UDP socket turning datagrams into observations.
pub struct UdpSource {
    socket: UdpSocket,
    started: Instant,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for UdpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSource")
            .field("local_addr", &self.socket.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl UdpSource {
    /// Binds `addr` (port 0: any free port; see [`UdpSource::local_addr`]).
    pub async fn bind(addr: SocketAddr) -> Result<UdpSource, SourceError> {
        let socket = UdpSocket::bind(addr)
            .await
            .map_err(|source| SourceError::Bind { addr, source })?;
        // Broadcasts to this port should arrive too; failing to allow them is not fatal.
        let _ = socket.set_broadcast(true);
        Ok(UdpSource::from_socket(socket))
    }

    /// Wraps an already bound socket.
    pub fn from_socket(socket: UdpSocket) -> UdpSource {
        UdpSource {
            socket,
            started: Instant::now(),
            buffer: vec![0; RECV_BUFFER],
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Waits for the next datagram and returns it as an observation, with the peer's address.
    pub async fn recv(&mut self) -> Result<(Observation, SocketAddr), SourceError> {
        let (len, peer) = self
            .socket
            .recv_from(&mut self.buffer)
            .await
            .map_err(|source| SourceError::Io {
                what: "receiving a datagram".into(),
                source,
            })?;
        let time_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let length = u16::try_from(len).unwrap_or(u16::MAX);
        Ok((Observation::direct(time_us, peer_key(peer), length), peer))
    }

    /// The socket, for the AirKiss acknowledgement.
    pub fn into_inner(self) -> UdpSocket {
        self.socket
    }
}

impl ObservationSource for UdpSource {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Observation>, SourceError>> {
        Box::pin(async move { self.recv().await.map(|(obs, _)| Some(obs)) })
    }

    fn describe(&self) -> String {
        match self.socket.local_addr() {
            Ok(addr) => format!("udp {addr}"),
            Err(_) => "udp".into(),
        }
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    fn into_socket(self: Box<Self>) -> Option<UdpSocket> {
        Some(self.socket)
    }
}

/// Six bytes standing for a UDP peer in [`Observation::source`]: the IPv4 address followed by
/// the port (big-endian). For IPv6 peers the last four address bytes are used (IPv4-mapped
/// addresses give the same key as the IPv4 address).
pub fn peer_key(peer: SocketAddr) -> [u8; 6] {
    let ip4 = match peer.ip() {
        IpAddr::V4(ip) => ip.octets(),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.octets(),
            None => {
                let o = ip.octets();
                [o[12], o[13], o[14], o[15]]
            }
        },
    };
    let [p0, p1] = peer.port().to_be_bytes();
    [ip4[0], ip4[1], ip4[2], ip4[3], p0, p1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Direction;

    #[test]
    fn peer_keys() {
        let v4: SocketAddr = "192.168.1.7:5000".parse().unwrap();
        assert_eq!(peer_key(v4), [192, 168, 1, 7, 0x13, 0x88]);
        let mapped: SocketAddr = "[::ffff:192.168.1.7]:5000".parse().unwrap();
        assert_eq!(peer_key(mapped), peer_key(v4));
        let v6: SocketAddr = "[fe80::1:2:3:4]:1".parse().unwrap();
        assert_eq!(peer_key(v6), [0, 3, 0, 4, 0, 1]);
    }

    #[tokio::test]
    async fn datagrams_become_direct_observations() {
        let mut source = UdpSource::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = source.local_addr().unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let from = tx.local_addr().unwrap();
        for len in [515usize, 0, 1112, 9000] {
            tx.send_to(&vec![b'1'; len], addr).await.unwrap();
            let (obs, peer) = source.recv().await.unwrap();
            assert_eq!(peer, from);
            assert_eq!(usize::from(obs.length), len);
            assert_eq!(obs.direction, Direction::Direct);
            assert_eq!(obs.source, peer_key(from));
        }
        let boxed: Box<dyn ObservationSource> = Box::new(source);
        assert_eq!(boxed.local_addr(), Some(addr));
        assert!(boxed.describe().contains(&addr.to_string()));
        let socket = boxed.into_socket().unwrap();
        assert_eq!(socket.local_addr().unwrap(), addr);
    }
}
