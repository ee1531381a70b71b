//! Security 2 device: only the handshake-message decoder (the SRP arithmetic behind it is too
//! slow to fuzz at volume).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = protocomm::fuzzing::sec2_device_request(data);
});
