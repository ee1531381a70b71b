//! Security 2 client: only the decoders of Resp0 and Resp1 (the SRP arithmetic behind them is
//! too slow to fuzz at volume).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = protocomm::fuzzing::sec2_client_resp0(data);
    let _ = protocomm::fuzzing::sec2_client_resp1(data);
});
