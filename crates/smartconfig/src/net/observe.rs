//! What every receiver source is: the [`ObservationSource`] trait and its [`SourceError`].
//! The sources ([`super::udp_source`], [`super::capture`]) implement it; [`super::source`]
//! opens them.

use std::net::SocketAddr;

use tokio::net::UdpSocket;
use wifiprov_wifi::BoxFuture;

use crate::Observation;

/// Why a source could not be opened or stopped delivering.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A socket could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Reading failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The capture (file or interface) could not be used.
    #[error("{0}")]
    Capture(String),
}

/// A stream of observations.
pub trait ObservationSource: Send {
    /// The next observation; `Ok(None)` when the source has ended (a capture file's end).
    /// Must be cancel-safe: dropping the future before it completes loses no observation.
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Observation>, SourceError>>;

    /// A short description for logs (`udp 127.0.0.1:7001`, `pcap capture.pcapng`, …).
    fn describe(&self) -> String;

    /// The local address of the source's socket, if it has one.
    fn local_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// The receiver locked on a link seen on `channel` (`Some`), or lost its lock (`None`):
    /// a live capture stops or resumes channel hopping. Others ignore it.
    fn lock_channel(&mut self, channel: Option<u8>) {
        let _ = channel;
    }

    /// The channels worth listening on (those a scan found access points on, spec §1.4): a
    /// live capture hops only these from now on. Others ignore it.
    fn plan_channels(&mut self, channels: &[u8]) {
        let _ = channels;
    }

    /// Gives up the source's UDP socket, if it has one, once the source is no longer needed.
    /// The AirKiss acknowledgement waits on it for a datagram from the phone (the phone keeps
    /// sending to the same port), instead of binding the AirKiss port anew.
    fn into_socket(self: Box<Self>) -> Option<UdpSocket> {
        None
    }
}
