//! The AirKiss decoder (without and with an AES key) never panics on any length stream, and
//! whatever it returns stays within the protocol's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartconfig::{LengthDecoder, MAX_OFFSET, airkiss};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let key = (selector & 1 == 1).then_some(*b"0123456789abcdef");
    let mut decoder = airkiss::Decoder::new(key);
    for pair in rest.chunks_exact(2) {
        let length = u16::from_le_bytes([pair[0], pair[1]]);
        if let Some(msg) = decoder.push(length) {
            assert!(msg.offset <= MAX_OFFSET);
            assert!(msg.password.len() <= airkiss::MAX_PASSWORD_PART_LEN);
            if let Some(ssid) = &msg.ssid {
                assert!(ssid.len() <= airkiss::MAX_SSID_LEN);
            }
        }
    }
});
