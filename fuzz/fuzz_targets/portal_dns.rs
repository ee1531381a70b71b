//! The captive portal's DNS responder never panics, drops what is not one plain query, and
//! answers a query with a reply that parses, keeps the query's id and stays bounded.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use wifiprov_portal::dns::{MAX_QUERY_LEN, answer};

fuzz_target!(|data: &[u8]| {
    if let Some(reply) = answer(data, Ipv4Addr::new(192, 168, 4, 1)) {
        assert!(data.len() <= MAX_QUERY_LEN);
        assert!(reply.len() <= 2 * MAX_QUERY_LEN);
        assert_eq!(reply.get(..2), data.get(..2), "the reply keeps the query's id");
        assert!(reply.get(2).is_some_and(|flags| flags & 0x80 != 0), "a response");
    }
});
