//! The one place the network layer meets the codecs: encoding a [`SendRequest`], and the
//! acknowledgement payloads of both roles.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::ack::AckRequest;
use super::sender::{Device, SendRequest};
use crate::{Decoded, EncodeError, Observation, Protocol, ScType, Secret, Transmit};

/// A receiver for one run of the API: observations in, a validated message out.
pub(crate) struct Decoding {
    sc_type: ScType,
}

impl Decoding {
    /// A receiver for `sc_type`, decrypting with `key` where the protocol allows it.
    pub(crate) fn new(sc_type: ScType, key: Option<&Secret>) -> Self {
        let _ = key;
        Decoding { sc_type }
    }

    /// Feeds one observation; returns the message once one is complete.
    pub(crate) fn push(&mut self, observation: &Observation) -> Option<Decoded> {
        let _ = (observation, self.sc_type);
        None
    }
}

/// Runs a receiver of each type in `types` over `observations`; returns the first complete
/// message, or why there is none.
pub fn decode_observations(
    observations: &[Observation],
    types: &[ScType],
    key: Option<&Secret>,
) -> Result<Decoded, String> {
    let mut receivers: Vec<Decoding> = types.iter().map(|t| Decoding::new(*t, key)).collect();
    for observation in observations {
        for receiver in &mut receivers {
            if let Some(decoded) = receiver.push(observation) {
                return Ok(decoded);
            }
        }
    }
    Err(format!(
        "no complete message in {} lengths",
        observations.len()
    ))
}

/// An encoded request: one pass of the schedule and the reply it asks for.
#[derive(Debug)]
pub(crate) struct Plan {
    pub schedule: Vec<Transmit>,
    pub expect: Expect,
}

/// The reply a sender waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// ESPTouch v1: 11 bytes starting with `(s + p + 9) mod 256`.
    EspTouch { first: u8 },
    /// ESPTouch v2: at least 7 bytes.
    EspTouchV2,
    /// AirKiss: 1 or 7 bytes starting with the token.
    AirKiss { token: u8 },
}

/// Encodes `request`; `mark` is the ESPTouch v2 port mark, `phone_ip` the v1 phone address.
pub(crate) fn plan(
    request: &SendRequest,
    mark: u8,
    phone_ip: Ipv4Addr,
) -> Result<Plan, EncodeError> {
    let _ = (request, mark, phone_ip);
    Err(EncodeError::Invalid("codec not available yet"))
}

/// The device's reply payload (spec §6.3).
pub(crate) fn ack_payload(request: &AckRequest) -> Vec<u8> {
    let mut payload = Vec::with_capacity(11);
    payload.push(request.token);
    payload.extend_from_slice(&request.mac);
    if request.protocol == Protocol::EspTouch {
        payload.extend_from_slice(&request.ip.octets());
    }
    payload
}

/// Reads a reply datagram; `None` when it is not the expected reply.
pub(crate) fn parse_reply(expect: &Expect, bytes: &[u8], from: SocketAddr) -> Option<Device> {
    let mac = |b: &[u8]| -> Option<[u8; 6]> { b.get(1..7)?.try_into().ok() };
    match *expect {
        Expect::EspTouch { first } => {
            if bytes.len() != 11 || bytes.first() != Some(&first) {
                return None;
            }
            let ip: [u8; 4] = bytes.get(7..11)?.try_into().ok()?;
            Some(Device {
                ip: IpAddr::V4(Ipv4Addr::from(ip)),
                mac: Some(mac(bytes)?),
                from,
            })
        }
        Expect::EspTouchV2 => Some(Device {
            ip: from.ip(),
            mac: Some(mac(bytes)?),
            from,
        }),
        Expect::AirKiss { token } => {
            if bytes.first() != Some(&token) {
                return None;
            }
            let mac = match bytes.len() {
                1 => None,
                7 => Some(mac(bytes)?),
                _ => return None,
            };
            Some(Device {
                ip: from.ip(),
                mac,
                from,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x24, 0x0a, 0xc4, 1, 2, 3];

    fn request(protocol: Protocol, token: u8) -> AckRequest {
        AckRequest {
            protocol,
            token,
            phone_ip: None,
            mac: MAC,
            ip: Ipv4Addr::new(192, 168, 4, 2),
        }
    }

    #[test]
    fn payloads_parse_back() {
        let from: SocketAddr = "192.168.4.2:5000".parse().unwrap();
        let v1 = ack_payload(&request(Protocol::EspTouch, 23));
        assert_eq!(v1.len(), 11);
        let d = parse_reply(&Expect::EspTouch { first: 23 }, &v1, from).unwrap();
        assert_eq!((d.ip, d.mac), (from.ip(), Some(MAC)));
        assert!(parse_reply(&Expect::EspTouch { first: 24 }, &v1, from).is_none());
        assert!(parse_reply(&Expect::EspTouch { first: 23 }, &v1[..10], from).is_none());

        let v2 = ack_payload(&request(Protocol::EspTouchV2, 2));
        assert_eq!(v2, [2, 0x24, 0x0a, 0xc4, 1, 2, 3]);
        let d = parse_reply(&Expect::EspTouchV2, &v2, from).unwrap();
        assert_eq!(d.mac, Some(MAC));
        assert!(parse_reply(&Expect::EspTouchV2, &v2[..6], from).is_none());

        let ak = ack_payload(&request(Protocol::AirKiss, 0x5a));
        assert_eq!(ak.len(), 7);
        let expect = Expect::AirKiss { token: 0x5a };
        assert_eq!(parse_reply(&expect, &ak, from).unwrap().mac, Some(MAC));
        let short = parse_reply(&expect, &[0x5a], from).unwrap();
        assert_eq!((short.ip, short.mac), (from.ip(), None));
        assert!(parse_reply(&expect, &[0x5b], from).is_none());
        assert!(parse_reply(&expect, &[0x5a, 0], from).is_none());
    }
}
