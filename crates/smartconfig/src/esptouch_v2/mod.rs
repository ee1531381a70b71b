//! ESPTouch v2 (spec §3): encoder, streaming decoder and the acknowledgement.
//!
//! One cycle is `1048, C, 1048, C` (`C = 1071 + N`) and the 8 plane datagrams of the 6-byte
//! header, then for every body group q three markers `128 + q` and its 8 planes (plane i has
//! length `128·i + 64 + d`, d = bit i of the group's six bytes). Body segments carry, in order,
//! the AES ciphertext (and the 20-byte IV field for security 2) or the plain password and
//! reserved data, then the SSID; 8-bit groups hold 5 bytes + CRC-8, 7-bit groups 6 bytes and a
//! 6-bit CRC.
//!
//! * Sender: [`Params`] → [`encode`] → [`Encoded::lengths`] (one cycle, byte-identical to the
//!   reference app given the same random bytes) and [`Encoded::schedule`] /
//!   [`Encoded::slow_schedule`] (the reference pacing: 15 ms per datagram, an extra 15 ms after
//!   each cycle; 100 ms from 45 s on, decided per cycle by [`interval_at`]; stop after 90 s).
//!   Send to the subnet broadcast on [`DEVICE_PORT`] from the socket bound to
//!   `APP_PORTS[port_mark]`, which is also where the device's acknowledgement arrives.
//! * Receiver: [`Decoder`], a [`crate::LengthDecoder`] for one link.
//! * Acknowledgement: [`ack_payload`], [`ack_port`], [`parse_ack`].

mod assemble;
mod crypto;
mod decode;
mod encode;
mod votes;
mod wire;

pub use crypto::AesKey;
pub use decode::{Decoder, Progress};
pub use encode::{
    Encoded, INTERVAL_US, Params, REPLY_TIMEOUT_US, SEND_DURATION_US, SLOW_AFTER_US,
    SLOW_INTERVAL_US, START_DELAY_US, SYNC_INTERVAL_US, Security, encode, interval_at,
    sync_transmit,
};
pub use wire::{
    COUNT_BASE, MARKER_BASE, MAX_GROUPS, MAX_PASSWORD, MAX_RESERVED, MAX_SSID, SYNC_LENGTH,
};

/// UDP port the device listens on (the datagrams' destination port).
pub const DEVICE_PORT: u16 = 7001;
/// The sender's reply ports; the index of the one it bound is the port mark.
pub const APP_PORTS: [u16; 4] = [18266, 28266, 38266, 48266];
/// UDP port on the device to which the apps send two one-byte [`CONFIRM_PAYLOAD`] datagrams
/// after an acknowledgement (ESP-IDF does not listen there).
pub const CONFIRM_PORT: u16 = 7002;
/// Payload of the apps' confirmation datagram.
pub const CONFIRM_PAYLOAD: [u8; 1] = [0x01];
/// Length of the device's acknowledgement.
pub const ACK_LEN: usize = 7;
/// The device broadcasts its acknowledgement every 100 ms…
pub const ACK_INTERVAL_US: u32 = 100_000;
/// …this many times (ESP-IDF), once it has an IP address.
pub const ACK_ROUNDS: u32 = 30;

/// UDP port the device sends its acknowledgement to: `18266 + 10000·mark` (a mark above 3 is
/// treated as 0, as ESP-IDF does).
pub fn ack_port(port_mark: u8) -> u16 {
    APP_PORTS
        .get(usize::from(port_mark))
        .copied()
        .unwrap_or(APP_PORTS[0])
}

/// The device's acknowledgement: `[port mark, station MAC]`, broadcast to 255.255.255.255
/// (or `ff02::1` for an IPv6 phone) on [`ack_port`].
pub fn ack_payload(port_mark: u8, mac: [u8; 6]) -> [u8; ACK_LEN] {
    let [a, b, c, d, e, f] = mac;
    [port_mark, a, b, c, d, e, f]
}

/// Reads an acknowledgement as the apps do: any datagram of at least 7 bytes; returns
/// (byte 0 = token/port mark, bytes 1..=6 = the device's MAC). The device's IP is the
/// datagram's source address.
pub fn parse_ack(bytes: &[u8]) -> Option<(u8, [u8; 6])> {
    match bytes {
        [token, a, b, c, d, e, f, ..] => Some((*token, [*a, *b, *c, *d, *e, *f])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_round_trip() {
        let mac = [0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56];
        let payload = ack_payload(2, mac);
        assert_eq!(payload, [2, 0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56]);
        assert_eq!(parse_ack(&payload), Some((2, mac)));
        assert_eq!(ack_port(0), 18266);
        assert_eq!(ack_port(3), 48266);
        assert_eq!(ack_port(9), 18266);
    }
}
