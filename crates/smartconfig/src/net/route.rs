//! Which local address reaches a destination, and the subnet broadcast address of it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

/// The local IPv4 address the system would send from to reach `dest` (no datagram is sent).
pub(crate) fn local_ipv4_towards(dest: SocketAddr) -> Option<Ipv4Addr> {
    let socket = UdpSocket::bind(super::any_v4(0)).ok()?;
    // Connecting to a broadcast address needs the broadcast permission.
    socket.set_broadcast(true).ok()?;
    socket.connect(dest).ok()?;
    match socket.local_addr().ok()?.ip() {
        IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

/// The directed broadcast address of the subnet `ip` is on: from the system's on-link
/// routes (`/proc/net/route`) when they name it, else the /24 guess iOS makes (`a.b.c.255`).
pub(crate) fn subnet_broadcast(ip: Ipv4Addr) -> Ipv4Addr {
    let mask = std::fs::read_to_string("/proc/net/route")
        .ok()
        .and_then(|table| on_link_mask(&table, ip))
        .unwrap_or(Ipv4Addr::new(255, 255, 255, 0));
    let ip = u32::from(ip);
    let mask = u32::from(mask);
    Ipv4Addr::from((ip & mask) | !mask)
}

/// The longest non-zero netmask of an on-link route (no gateway) containing `ip`, from the
/// text of `/proc/net/route` (addresses in the host's byte order, as hex).
fn on_link_mask(table: &str, ip: Ipv4Addr) -> Option<Ipv4Addr> {
    let ip = u32::from(ip);
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let dest = parse_hex_addr(cols.get(1)?)?;
            let gateway = parse_hex_addr(cols.get(2)?)?;
            let mask = parse_hex_addr(cols.get(7)?)?;
            let (dest, mask) = (u32::from(dest), u32::from(mask));
            (gateway.is_unspecified() && mask != 0 && ip & mask == dest).then_some(mask)
        })
        .max_by_key(|mask| mask.count_ones())
        .map(Ipv4Addr::from)
}

/// An address as `/proc/net/route` writes it: 8 hex digits of the in-memory (network order)
/// bytes read as a host-order integer.
fn parse_hex_addr(text: &str) -> Option<Ipv4Addr> {
    let value = u32::from_str_radix(text, 16).ok()?;
    Some(Ipv4Addr::from(value.to_ne_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(ip: [u8; 4]) -> String {
        format!("{:08X}", u32::from_ne_bytes(ip))
    }

    #[test]
    fn on_link_routes_give_the_mask() {
        let table = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             wlan0\t{}\t{}\t0003\t0\t0\t600\t{}\t0\t0\t0\n\
             wlan0\t{}\t{}\t0001\t0\t0\t600\t{}\t0\t0\t0\n\
             eth0\t{}\t{}\t0001\t0\t0\t100\t{}\t0\t0\t0\n",
            hex([0, 0, 0, 0]),
            hex([10, 1, 0, 1]),
            hex([0, 0, 0, 0]),
            hex([10, 1, 0, 0]),
            hex([0, 0, 0, 0]),
            hex([255, 255, 252, 0]),
            hex([172, 16, 0, 0]),
            hex([0, 0, 0, 0]),
            hex([255, 255, 0, 0]),
        );
        assert_eq!(
            on_link_mask(&table, Ipv4Addr::new(10, 1, 2, 3)),
            Some(Ipv4Addr::new(255, 255, 252, 0))
        );
        assert_eq!(
            on_link_mask(&table, Ipv4Addr::new(172, 16, 9, 9)),
            Some(Ipv4Addr::new(255, 255, 0, 0))
        );
        assert_eq!(on_link_mask(&table, Ipv4Addr::new(192, 168, 0, 2)), None);
    }

    #[test]
    fn loopback_is_reached_from_loopback() {
        let dest: SocketAddr = "127.0.0.1:7001".parse().unwrap();
        assert_eq!(local_ipv4_towards(dest), Some(Ipv4Addr::LOCALHOST));
        // 127.0.0.0/8 is on-link on Linux (table "local", not in /proc/net/route): /24 guess.
        let b = subnet_broadcast(Ipv4Addr::new(192, 0, 2, 77));
        assert_eq!(b.octets()[3], 255);
    }
}
