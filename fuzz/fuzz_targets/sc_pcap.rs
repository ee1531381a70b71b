//! The pcap/pcapng reader never panics or loops on any file, and every observation it yields
//! comes from a record it accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartconfig::pcap::PcapReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = PcapReader::new(data) else {
        return;
    };
    // Every record consumes at least its header, so the loop is bounded by the input size.
    for _ in 0..=data.len() {
        match reader.next_record() {
            Ok(Some(record)) => {
                assert!(record.data.len() <= smartconfig::pcap::MAX_RECORD);
                let _ = record.observation();
            }
            Ok(None) | Err(_) => return,
        }
    }
    panic!("the reader returned more records than the input has bytes");
});
