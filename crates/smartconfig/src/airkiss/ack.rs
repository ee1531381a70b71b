//! The device's reply after it joined the network (spec §4.6, §6.3).

/// The ESP-IDF reply: the token followed by the station MAC (7 bytes), sent to the phone and to
/// `255.255.255.255`, port [`REPLY_PORT`](super::REPLY_PORT).
pub fn ack_payload(token: u8, mac: [u8; 6]) -> [u8; 7] {
    let [a, b, c, d, e, f] = mac;
    [token, a, b, c, d, e, f]
}

/// The reply of Tencent's specification: a single byte holding the token, broadcast at least 20
/// times to port [`REPLY_PORT`](super::REPLY_PORT).
pub fn ack_payload_short(token: u8) -> [u8; 1] {
    [token]
}

/// Reads a reply datagram, as a sender does.
///
/// Accepts both shapes: one byte equal to `token` (Tencent; gives `Some(None)`, no MAC) and
/// seven bytes starting with `token` (ESP-IDF; gives `Some(Some(mac))`). Anything else, including
/// a wrong token, gives `None`.
pub fn parse_ack(bytes: &[u8], token: u8) -> Option<Option<[u8; 6]>> {
    match *bytes {
        [t] if t == token => Some(None),
        [t, a, b, c, d, e, f] if t == token => Some(Some([a, b, c, d, e, f])),
        _ => None,
    }
}
