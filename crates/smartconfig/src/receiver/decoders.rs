//! The crate's own decoders, one per protocol.
//!
//! PLACEHOLDER until the protocol decoders are merged: every protocol gets a decoder that never
//! locks. `Receiver::with_decoders` works regardless.

use alloc::boxed::Box;

use crate::{Decoded, LengthDecoder, Protocol};

/// The decoder for `protocol`.
pub(super) fn make(protocol: Protocol, _key: Option<[u8; 16]>) -> Box<dyn LengthDecoder + Send> {
    Box::new(Inert(protocol))
}

#[derive(Debug)]
struct Inert(Protocol);

impl LengthDecoder for Inert {
    fn protocol(&self) -> Protocol {
        self.0
    }
    fn push(&mut self, _length: u16) -> Option<Decoded> {
        None
    }
    fn offset(&self) -> Option<u16> {
        None
    }
    fn reset(&mut self) {}
}
