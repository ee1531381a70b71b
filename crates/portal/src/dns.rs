//! Answers DNS queries with the portal's address.
//!
//! Every `A` question for any name is answered with the portal's IPv4 address (short TTL, so
//! phones ask again once the device is provisioned and the responder is gone). Other types
//! of the `IN` class get an empty `NOERROR` answer (the name exists, it has no such record:
//! phones then use the `A` answer rather than failing over). Anything that is not a
//! standard query with exactly one question, or does not parse, is dropped: no answer at all,
//! so the responder can never be used to amplify traffic.

use std::net::Ipv4Addr;

use simple_dns::rdata::{A, RData};
use simple_dns::{CLASS, OPCODE, Packet, PacketFlag, QCLASS, QTYPE, RCODE, ResourceRecord, TYPE};

/// The largest query considered (the classic UDP DNS limit); longer datagrams are dropped.
pub const MAX_QUERY_LEN: usize = 512;

/// The TTL of the answers, in seconds: short, so that nothing caches the portal's address
/// for long after provisioning.
pub const ANSWER_TTL: u32 = 10;

/// The size of a DNS header.
const HEADER_LEN: usize = 12;

/// The answer to `query`, or `None` when it is to be dropped (malformed, too long, not a
/// standard query, a response, or not exactly one question).
pub fn answer(query: &[u8], portal: Ipv4Addr) -> Option<Vec<u8>> {
    if query.len() < HEADER_LEN || query.len() > MAX_QUERY_LEN {
        return None;
    }
    // The section counts are checked before parsing, so that a short datagram cannot make
    // the parser reserve room for thousands of records.
    let count = |at: usize| -> Option<u16> {
        let hi = *query.get(at)?;
        let lo = *query.get(at + 1)?;
        Some(u16::from_be_bytes([hi, lo]))
    };
    let (qd, an, ns, ar) = (count(4)?, count(6)?, count(8)?, count(10)?);
    if qd != 1 || an != 0 || ns != 0 || ar > 1 {
        return None;
    }
    let packet = Packet::parse(query).ok()?;
    if packet.has_flags(PacketFlag::RESPONSE) || packet.opcode() != OPCODE::StandardQuery {
        return None;
    }
    let question = packet.questions.first()?;

    let mut reply = Packet::new_reply(packet.id());
    reply.set_flags(PacketFlag::AUTHORITATIVE_ANSWER | PacketFlag::RECURSION_AVAILABLE);
    if packet.has_flags(PacketFlag::RECURSION_DESIRED) {
        reply.set_flags(PacketFlag::RECURSION_DESIRED);
    }
    reply.questions.push(question.clone());
    let in_class = matches!(question.qclass, QCLASS::CLASS(CLASS::IN) | QCLASS::ANY);
    if !in_class {
        *reply.rcode_mut() = RCODE::NotImplemented;
    } else if matches!(question.qtype, QTYPE::TYPE(TYPE::A) | QTYPE::ANY) {
        reply.answers.push(ResourceRecord::new(
            question.qname.clone(),
            CLASS::IN,
            ANSWER_TTL,
            RData::A(A::from(portal)),
        ));
    }
    reply.build_bytes_vec().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use simple_dns::{Name, Question};

    const PORTAL: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 1);

    fn query(name: &str, qtype: TYPE) -> Vec<u8> {
        let mut p = Packet::new_query(0x1234);
        p.set_flags(PacketFlag::RECURSION_DESIRED);
        p.questions.push(Question::new(
            Name::new(name).unwrap(),
            QTYPE::TYPE(qtype),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        p.build_bytes_vec().unwrap()
    }

    #[test]
    fn every_name_is_the_portal() {
        for name in [
            "connectivitycheck.gstatic.com",
            "captive.apple.com",
            "example.org",
            "x",
        ] {
            let bytes = answer(&query(name, TYPE::A), PORTAL).unwrap();
            let reply = Packet::parse(&bytes).unwrap();
            assert_eq!(reply.id(), 0x1234);
            assert!(reply.has_flags(PacketFlag::RESPONSE));
            assert_eq!(reply.rcode(), RCODE::NoError);
            assert_eq!(reply.questions.len(), 1);
            assert_eq!(reply.answers.len(), 1);
            assert_eq!(reply.answers[0].name.to_string(), name);
            match &reply.answers[0].rdata {
                RData::A(a) => assert_eq!(Ipv4Addr::from(a.address), PORTAL),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn other_types_get_an_empty_answer() {
        for qtype in [TYPE::AAAA, TYPE::MX, TYPE::TXT, TYPE::HTTPS] {
            let reply_bytes = answer(&query("example.org", qtype), PORTAL).unwrap();
            let reply = Packet::parse(&reply_bytes).unwrap();
            assert_eq!(reply.rcode(), RCODE::NoError);
            assert!(reply.answers.is_empty());
        }
    }

    #[test]
    fn malformed_and_odd_packets_are_dropped() {
        let good = query("example.org", TYPE::A);
        assert!(answer(&[], PORTAL).is_none());
        assert!(answer(&good[..11], PORTAL).is_none());
        assert!(answer(&good[..good.len() - 1], PORTAL).is_none());
        // A response.
        let mut response = good.clone();
        response[2] |= 0x80;
        assert!(answer(&response, PORTAL).is_none());
        // Two questions claimed, or a huge count.
        let mut two = good.clone();
        two[5] = 2;
        assert!(answer(&two, PORTAL).is_none());
        let mut many = good.clone();
        many[4] = 0xff;
        many[5] = 0xff;
        assert!(answer(&many, PORTAL).is_none());
        // Too long.
        let mut long = good.clone();
        long.resize(MAX_QUERY_LEN + 1, 0);
        assert!(answer(&long, PORTAL).is_none());
        // Not a standard query (opcode 2, status).
        let mut status = good;
        status[2] |= 0x10;
        assert!(answer(&status, PORTAL).is_none());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            if let Some(reply) = answer(&bytes, PORTAL) {
                proptest::prop_assert!(reply.len() <= 2 * MAX_QUERY_LEN);
            }
        }

        #[test]
        fn any_label_resolves(name in "[a-z0-9]{1,20}(\\.[a-z0-9]{1,20}){0,4}") {
            let bytes = answer(&query(&name, TYPE::A), PORTAL).unwrap();
            let reply = Packet::parse(&bytes).unwrap();
            let reply_answers = reply.answers.len();
            proptest::prop_assert_eq!(reply_answers, 1);
        }
    }
}
