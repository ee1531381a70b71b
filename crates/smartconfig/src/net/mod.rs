//! UDP transports of both roles.
//!
//! * [`sender`]: the phone role. It binds the reply socket first, encodes the credentials with
//!   the protocol's codec, loops the codec's schedule to the protocol's destination and returns
//!   the devices that acknowledged.
//! * [`udp_source`]: a receiver source that reads datagrams from a UDP socket and turns each
//!   payload length into an [`Observation`](crate::Observation) (offset 0). It stands in for
//!   a sniffer in tests and on machines that are on the phone's network.
//! * [`ack`]: the device role's acknowledgement task, as ESP-IDF runs it after the device has
//!   joined the network (spec §6.3), with a broadcast fallback for AirKiss.
//! * [`capture`]: sources over captured 802.11 frames: a pcap/pcapng file and (feature
//!   `monitor`) a monitor-mode interface with channel hopping.
//! * [`observe`]: the [`ObservationSource`] trait the MicroPython-style API reads from;
//!   [`source`]: the openers of its implementations.
//! * [`requests`]: the data the roles exchange ([`SendRequest`], [`Device`], [`AckRequest`]).
//!
//! Dependencies run one way: `requests` ← `codecs` ← `sender`, `ack`; `observe` ←
//! `udp_source`, `capture` ← `source`.
//!
//! Ports and addresses default to the protocols' own and can all be overridden, so that both
//! ends can run on loopback with ports chosen by the system.

pub mod ack;
pub mod capture;
pub(crate) mod codecs;
pub mod observe;
pub mod requests;
mod route;
pub mod sender;
pub mod source;
pub mod udp_source;

pub use ack::{AckConfig, AckError, AckReport, AckRequest, send_ack};
pub use codecs::decode_observations;
pub use sender::{
    Device, SendError, SendProgress, SendRequest, Sender, SenderConfig, encode_schedule, send,
};
pub use source::{ObservationSource, OpenSource, SourceError};
pub use udp_source::UdpSource;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

/// ESPTouch (v1 and v2): the UDP port the phone sends the length code to.
pub const ESPTOUCH_DATA_PORT: u16 = 7001;
/// ESPTouch v1: the port the phone listens on for the device's reply.
pub const ESPTOUCH_ACK_PORT: u16 = 18266;
/// ESPTouch v2: the reply ports the phone tries in order; the index is the port mark.
pub const ESPTOUCH_V2_ACK_PORTS: [u16; 4] = [18266, 28266, 38266, 48266];
/// AirKiss: the port the phone sends to (and the device waits on for the phone's address).
pub const AIRKISS_DATA_PORT: u16 = 10001;
/// AirKiss: the port the phone listens on for the device's reply.
pub const AIRKISS_ACK_PORT: u16 = 10000;

/// The limited broadcast address.
pub const BROADCAST: Ipv4Addr = Ipv4Addr::BROADCAST;

/// ESPTouch v2: the reply port for a port mark (`18266 + 10000·mark`; marks above 3 count as
/// 0, as ESP-IDF treats them).
pub fn v2_ack_port(mark: u8) -> u16 {
    let mark = if mark > 3 { 0 } else { u16::from(mark) };
    ESPTOUCH_ACK_PORT + 10_000 * mark
}

/// `addr:port` on all IPv4 interfaces.
fn any_v4(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_ports_follow_the_mark() {
        for (mark, port) in ESPTOUCH_V2_ACK_PORTS.iter().enumerate() {
            assert_eq!(v2_ack_port(mark as u8), *port);
        }
        assert_eq!(v2_ack_port(4), 18266);
        assert_eq!(v2_ack_port(255), 18266);
    }
}
