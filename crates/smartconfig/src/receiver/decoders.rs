//! The crate's own decoders, one per protocol.

use alloc::boxed::Box;

use crate::{LengthDecoder, Protocol, esptouch_v1, esptouch_v2};

/// The decoder for `protocol`; `key` is the AES key of ESPTouch v2 and AirKiss.
pub(super) fn make(protocol: Protocol, key: Option<[u8; 16]>) -> Box<dyn LengthDecoder + Send> {
    match protocol {
        Protocol::EspTouch => Box::new(esptouch_v1::Decoder::new()),
        Protocol::EspTouchV2 => Box::new(esptouch_v2::Decoder::new(key)),
        // PENDING: the AirKiss decoder (`airkiss::Decoder::new(key)`) once it is merged.
        Protocol::AirKiss => Box::new(Inert),
    }
}

/// Stand-in until the AirKiss decoder is merged: never locks.
#[derive(Debug)]
struct Inert;

impl LengthDecoder for Inert {
    fn protocol(&self) -> Protocol {
        Protocol::AirKiss
    }
    fn push(&mut self, _length: u16) -> Option<crate::Decoded> {
        None
    }
    fn offset(&self) -> Option<u16> {
        None
    }
    fn reset(&mut self) {}
}
