//! The multi-link receiver never panics on any observation stream, keeps its link bound, and
//! delivers only complete messages within the protocols' limits.
//!
//! Input: one selector byte (listening type, AES key or not), then 8-byte records:
//! time delta (1), source (1, expanded to a MAC), BSSID (1), flags (1: direction, group
//! destination, sequence present), sequence (2), length (2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartconfig::receiver::{Event, Receiver, ReceiverConfig};
use smartconfig::{Direction, Observation, ScType};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut config = ReceiverConfig::new(ScType::from_number(i64::from(selector & 3)));
    if selector & 4 != 0 {
        config = config.with_aes_key(*b"0123456789abcdef");
    }
    let max_links = config.max_links;
    let mut receiver = Receiver::new(config);
    let mut time = 0u64;
    for r in rest.chunks_exact(8) {
        time += u64::from(r[0]) * 1000;
        let flags = r[3];
        let direction = match flags & 3 {
            0 => Direction::ToDs,
            1 => Direction::FromDs,
            _ => Direction::Direct,
        };
        let obs = Observation {
            time_us: time,
            source: [2, 0, 0, 0, 0, r[1]],
            destination: if flags & 4 != 0 { [0xff; 6] } else { [0, 1, 2, 3, 4, 5] },
            bssid: [2, 0, 0, 0, 1, r[2]],
            direction,
            length: u16::from_le_bytes([r[6], r[7]]),
            seq: (flags & 8 != 0).then(|| u16::from_le_bytes([r[4], r[5]]) & 0x0fff),
            channel: Some(6),
        };
        if let Some(Event::Done(received)) = receiver.push(&obs) {
            assert!(received.decoded.password.len() <= 80);
            assert!(received.ssid().len() <= 32);
        }
        assert!(receiver.links() <= max_links);
        let _ = receiver.poll(time);
    }
});
