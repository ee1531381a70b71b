//! The crate's own decoders, one per protocol.

use alloc::boxed::Box;

use crate::{LengthDecoder, Protocol, airkiss, esptouch_v1, esptouch_v2};

/// The decoder for `protocol`; `key` is the AES key of ESPTouch v2 and AirKiss.
pub(super) fn make(protocol: Protocol, key: Option<[u8; 16]>) -> Box<dyn LengthDecoder + Send> {
    match protocol {
        Protocol::EspTouch => Box::new(esptouch_v1::Decoder::new()),
        Protocol::AirKiss => Box::new(airkiss::Decoder::new(key)),
        Protocol::EspTouchV2 => Box::new(esptouch_v2::Decoder::new(key)),
    }
}
