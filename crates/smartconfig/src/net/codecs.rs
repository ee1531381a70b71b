//! The one place the network layer meets the codecs and the receiver: encoding a
//! [`SendRequest`], the acknowledgement payloads of both roles, and running a
//! [`Receiver`] over observations.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::requests::{AckRequest, Device, SendRequest};
use crate::receiver::{Event, Received, Receiver, ReceiverConfig, ScanEntry, State};
use crate::{
    EncodeError, Observation, Protocol, ScType, Secret, Transmit, airkiss, esptouch_v1, esptouch_v2,
};

/// An encoded request: one pass of the schedule and the reply it asks for. (No `Debug`: the
/// schedule spells out the password.)
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

/// Fills `buf` from the system's random source (a fixed pattern only if that fails, which
/// costs nothing but unpredictability of padding and token).
fn random_fill(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 4) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
        }
    }
}

/// Encodes `request`; `mark` is the ESPTouch v2 port mark, `phone_ip` the v1 phone address.
pub(crate) fn plan(
    request: &SendRequest,
    mark: u8,
    phone_ip: Ipv4Addr,
) -> Result<Plan, EncodeError> {
    let bssid = request.bssid.unwrap_or([0; 6]);
    let password = request.password.expose();
    match request.protocol {
        Protocol::EspTouch => {
            if !request.reserved.is_empty() || request.aes_key.is_some() {
                return Err(EncodeError::Invalid(
                    "ESPTouch v1 carries neither reserved data nor an AES key",
                ));
            }
            let params =
                esptouch_v1::Params::new(request.ssid.clone(), password, bssid, phone_ip.octets());
            let encoded = esptouch_v1::encode(&params)?;
            Ok(Plan {
                schedule: encoded.schedule(),
                expect: Expect::EspTouch {
                    first: encoded.token,
                },
            })
        }
        Protocol::EspTouchV2 => {
            let mut params = esptouch_v2::Params::new(request.ssid.clone(), password, bssid);
            params.reserved = request.reserved.clone();
            params.port_mark = mark;
            if let Some(key) = &request.aes_key {
                let key = esptouch_v2::AesKey::from_slice(key.expose()).ok_or(
                    EncodeError::Invalid("the ESPTouch v2 AES key must be exactly 16 bytes"),
                )?;
                params.security = if request.v2_random_iv {
                    esptouch_v2::Security::AesRandomIv(key)
                } else {
                    esptouch_v2::Security::AesZeroIv(key)
                };
            }
            let encoded = esptouch_v2::encode(&params, &mut random_fill)?;
            Ok(Plan {
                schedule: encoded.schedule(),
                expect: Expect::EspTouchV2,
            })
        }
        Protocol::AirKiss => {
            if !request.reserved.is_empty() {
                return Err(EncodeError::Invalid("AirKiss carries no reserved data"));
            }
            let mut token = [0u8; 1];
            random_fill(&mut token);
            let mut params = airkiss::Params::new(request.ssid.clone(), password, token[0]);
            if let Some(key) = &request.aes_key {
                params = params.with_aes_key(airkiss::key_from_bytes(key.expose())?);
            }
            let encoded = airkiss::encode(&params)?;
            Ok(Plan {
                schedule: encoded.schedule(),
                expect: Expect::AirKiss {
                    token: encoded.token(),
                },
            })
        }
    }
}

/// The device's reply payload (spec §6.3).
pub(crate) fn ack_payload(request: &AckRequest) -> Vec<u8> {
    match request.protocol {
        Protocol::EspTouch => {
            esptouch_v1::ack_payload(request.token, request.mac, request.ip.octets()).to_vec()
        }
        Protocol::EspTouchV2 => esptouch_v2::ack_payload(request.token, request.mac).to_vec(),
        Protocol::AirKiss => airkiss::ack_payload(request.token, request.mac).to_vec(),
    }
}

/// Reads a reply datagram; `None` when it is not the expected reply.
pub(crate) fn parse_reply(expect: &Expect, bytes: &[u8], from: SocketAddr) -> Option<Device> {
    match *expect {
        Expect::EspTouch { first } => {
            let (mac, ip) = esptouch_v1::parse_ack(bytes, first)?;
            Some(Device {
                ip: IpAddr::V4(ip),
                mac: Some(mac),
                from,
            })
        }
        Expect::EspTouchV2 => {
            let (_, mac) = esptouch_v2::parse_ack(bytes)?;
            Some(Device {
                ip: from.ip(),
                mac: Some(mac),
                from,
            })
        }
        Expect::AirKiss { token } => Some(Device {
            ip: from.ip(),
            mac: airkiss::parse_ack(bytes, token)?,
            from,
        }),
    }
}

/// What one observation changed.
pub(crate) enum Step {
    /// Locked on a link, seen on this channel if known.
    Locked(Option<u8>),
    /// The lock ended; searching again.
    Unlocked,
    /// A complete message.
    Done(Box<Received>),
}

/// A receiver for one run: observations in, a validated message out, the events logged and
/// the last one kept to explain a run without a result.
pub(crate) struct Decoding {
    receiver: Receiver,
    last: Option<Event>,
    pushed: u64,
}

impl Decoding {
    /// A receiver for `sc_type`, decrypting with `key` (zero-padded to 16 bytes) where the
    /// protocol allows it.
    pub(crate) fn new(sc_type: ScType, key: Option<&Secret>) -> Self {
        let mut config = ReceiverConfig::new(sc_type);
        if let Some(key) = key.and_then(|k| airkiss::key_from_bytes(k.expose()).ok()) {
            config = config.with_aes_key(key);
        }
        Decoding {
            receiver: Receiver::new(config),
            last: None,
            pushed: 0,
        }
    }

    /// Uses `scan` to complete messages whose SSID the sender left out.
    pub(crate) fn set_scan(&mut self, scan: Vec<ScanEntry>) {
        self.receiver.set_scan_table(scan);
    }

    /// Feeds one observation; returns the message once one is complete.
    pub(crate) fn push(&mut self, observation: &Observation) -> Option<Received> {
        match self.step(observation)? {
            Step::Done(received) => Some(*received),
            Step::Locked(_) | Step::Unlocked => None,
        }
    }

    /// Feeds one observation; returns what changed.
    pub(crate) fn step(&mut self, observation: &Observation) -> Option<Step> {
        self.pushed += 1;
        let event = self.receiver.push(observation)?;
        let step = match &event {
            Event::Locked(link) => {
                tracing::info!(
                    "smartconfig: locked on {} (offset {}, channel {:?})",
                    link.protocol.name(),
                    link.offset,
                    link.channel
                );
                Step::Locked(link.channel)
            }
            Event::Done(received) => return Some(Step::Done(received.clone())),
            Event::Rejected { protocol, reason } => {
                tracing::info!(
                    "smartconfig: a {} message was rejected: {reason:?}",
                    protocol.name()
                );
                Step::Unlocked
            }
            Event::Reset { reason } => {
                tracing::info!("smartconfig: lock lost ({reason:?}); searching again");
                Step::Unlocked
            }
        };
        self.last = Some(event);
        Some(step)
    }

    /// Why no message came out so far.
    pub(crate) fn why_not(&self) -> String {
        let n = self.pushed;
        match (&self.last, self.receiver.state()) {
            (_, State::Locked(link)) => format!(
                "locked on {} at offset {}, but the message is incomplete after {n} lengths",
                link.protocol.name(),
                link.offset
            ),
            (Some(Event::Rejected { protocol, reason }), _) => {
                format!(
                    "a {} message was decoded but rejected: {reason:?}",
                    protocol.name()
                )
            }
            (Some(Event::Reset { reason }), _) => {
                format!("a lock was found but lost ({reason:?}); no message in {n} lengths")
            }
            _ => format!("no guide pattern found in {n} lengths"),
        }
    }
}

/// Runs a receiver of each type in `types` over `observations`; returns the first complete
/// message, or why there is none.
pub fn decode_observations(
    observations: &[Observation],
    types: &[ScType],
    key: Option<&Secret>,
) -> Result<Received, String> {
    let mut receivers: Vec<Decoding> = types.iter().map(|t| Decoding::new(*t, key)).collect();
    for observation in observations {
        for receiver in &mut receivers {
            if let Some(received) = receiver.push(observation) {
                return Ok(received);
            }
        }
    }
    let reasons: Vec<String> = types
        .iter()
        .zip(&receivers)
        .map(|(t, r)| format!("{}: {}", t.name(), r.why_not()))
        .collect();
    if reasons.is_empty() {
        Err("no protocol selected".into())
    } else {
        Err(reasons.join("; "))
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
        let from: SocketAddr = "192.168.4.9:5000".parse().unwrap();
        let v1 = ack_payload(&request(Protocol::EspTouch, 23));
        assert_eq!(v1.len(), 11);
        let d = parse_reply(&Expect::EspTouch { first: 23 }, &v1, from).unwrap();
        assert_eq!(
            (d.ip, d.mac),
            (IpAddr::V4(Ipv4Addr::new(192, 168, 4, 2)), Some(MAC))
        );
        assert!(parse_reply(&Expect::EspTouch { first: 24 }, &v1, from).is_none());
        assert!(parse_reply(&Expect::EspTouch { first: 23 }, &v1[..10], from).is_none());

        let v2 = ack_payload(&request(Protocol::EspTouchV2, 2));
        assert_eq!(v2, [2, 0x24, 0x0a, 0xc4, 1, 2, 3]);
        let d = parse_reply(&Expect::EspTouchV2, &v2, from).unwrap();
        assert_eq!((d.ip, d.mac), (from.ip(), Some(MAC)));
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

    #[test]
    fn plans_expect_the_right_reply() {
        let ip = Ipv4Addr::new(192, 168, 1, 2);
        let v1 = plan(
            &SendRequest::new(Protocol::EspTouch, "abc", "12345678"),
            0,
            ip,
        )
        .unwrap();
        assert_eq!(v1.expect, Expect::EspTouch { first: 9 + 3 + 8 });
        assert!(v1.schedule.iter().any(|t| t.length == 515));
        let v2 = plan(&SendRequest::new(Protocol::EspTouchV2, "abc", "pw"), 2, ip).unwrap();
        assert_eq!(v2.expect, Expect::EspTouchV2);
        assert!(v2.schedule.iter().any(|t| t.length == 1048));
        let ak = plan(&SendRequest::new(Protocol::AirKiss, "abc", "pw"), 0, ip).unwrap();
        assert!(matches!(ak.expect, Expect::AirKiss { .. }));
        assert_eq!(ak.schedule.first().map(|t| t.length), Some(1));

        let mut keyed = SendRequest::new(Protocol::EspTouchV2, "abc", "pw");
        keyed.aes_key = Some(Secret::new(b"short".to_vec()));
        assert!(plan(&keyed, 0, ip).is_err());
        let mut reserved = SendRequest::new(Protocol::AirKiss, "abc", "pw");
        reserved.reserved = vec![1];
        assert!(plan(&reserved, 0, ip).is_err());
    }
}
