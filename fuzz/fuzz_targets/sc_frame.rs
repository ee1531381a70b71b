//! The radiotap / 802.11 parser never panics, and an accepted frame is a group-addressed data
//! frame whose reported length fits the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartconfig::Direction;
use smartconfig::frame::{self, LinkType};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let link = if selector & 1 == 0 { LinkType::Radiotap } else { LinkType::Ieee80211 };
    if let Ok(obs) = frame::parse(link, bytes, 0) {
        assert!(obs.destination[0] & 1 == 1, "unicast destination accepted");
        assert!(matches!(obs.direction, Direction::ToDs | Direction::FromDs));
        // The reported length counts the FCS even when the capture had none.
        assert!(usize::from(obs.length) <= bytes.len() + 4);
    }
    let _ = frame::parse_radiotap(bytes);
});
