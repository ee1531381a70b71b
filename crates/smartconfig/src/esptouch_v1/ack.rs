//! The device's reply (spec §2.6, §6.3): `[T, station MAC (6), station IPv4 (4)]`.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::{ACK_PORT, BROADCAST};

/// Size of the reply in bytes.
pub const ACK_LEN: usize = 11;

/// Builds the reply: `token` (the decoded `T`, [`crate::Decoded::token`]), the device's station
/// MAC and its IPv4 address.
pub fn ack_payload(token: u8, mac: [u8; 6], ip: [u8; 4]) -> [u8; ACK_LEN] {
    let mut out = [0u8; ACK_LEN];
    let fields = core::iter::once(token).chain(mac).chain(ip);
    for (slot, byte) in out.iter_mut().zip(fields) {
        *slot = byte;
    }
    out
}

/// Reads a reply as the reference apps do: exactly [`ACK_LEN`] bytes whose first byte is
/// `expected_token` (`(s + p + 9) mod 256`, [`super::Encoded::token`]). Returns the device's MAC
/// and IPv4 address.
pub fn parse_ack(bytes: &[u8], expected_token: u8) -> Option<([u8; 6], Ipv4Addr)> {
    let bytes: &[u8; ACK_LEN] = bytes.try_into().ok()?;
    let (&token, rest) = bytes.split_first()?;
    if token != expected_token {
        return None;
    }
    let (mac, ip) = rest.split_at_checked(6)?;
    let mac: [u8; 6] = mac.try_into().ok()?;
    let ip: [u8; 4] = ip.try_into().ok()?;
    Some((mac, Ipv4Addr::from(ip)))
}

/// Where an ESP-IDF device sends the reply: the phone's address from the datum and the limited
/// broadcast address, both on [`ACK_PORT`] (every 100 ms, 30 rounds).
pub fn ack_targets(phone_ip: Ipv4Addr) -> [SocketAddrV4; 2] {
    [
        SocketAddrV4::new(phone_ip, ACK_PORT),
        SocketAddrV4::new(BROADCAST, ACK_PORT),
    ]
}
