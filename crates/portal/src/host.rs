//! Whether a request was meant for the portal.

/// The host part of a `Host` header (without the port; IPv6 brackets kept), lowercased.
pub fn host_of(header: &str) -> String {
    let header = header.trim();
    let host = if header.starts_with('[') {
        header.split_inclusive(']').next().unwrap_or(header)
    } else {
        header.rsplit_once(':').map_or(header, |(host, _)| host)
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `header` (a `Host` header, `None` when absent) names one of `portal_hosts` (names
/// or addresses, without ports). Requests for any other host are redirected to the portal.
pub fn is_portal(header: Option<&str>, portal_hosts: &[String]) -> bool {
    match header {
        None => true,
        Some(header) => {
            let host = host_of(header);
            portal_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let portal = vec!["192.168.4.1".to_owned(), "wifiprov.local".to_owned()];
        assert!(is_portal(Some("192.168.4.1"), &portal));
        assert!(is_portal(Some("192.168.4.1:8080"), &portal));
        assert!(is_portal(Some("WifiProv.Local."), &portal));
        assert!(is_portal(None, &portal));
        assert!(!is_portal(Some("example.org"), &portal));
        assert!(!is_portal(Some("192.168.4.10"), &portal));
        assert_eq!(host_of("[::1]:80"), "[::1]");
    }
}
