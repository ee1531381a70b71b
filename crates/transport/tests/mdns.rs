//! The mDNS announcement, discovered by an mdns-sd browser in the same process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use mdns_sd::{ServiceDaemon, ServiceEvent};
use wifiprov_transport::mdns::{Advertisement, SERVICE_TYPE};

/// A private mDNS port, so the test neither disturbs nor hears the real network.
const TEST_MDNS_PORT: u16 = 15353;

/// Browses until `fullname` resolves, or the deadline passes.
fn resolve(browser: &ServiceDaemon, fullname: &str) -> Box<mdns_sd::ResolvedService> {
    let events = browser.browse(SERVICE_TYPE).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| panic!("{fullname} was not discovered within 15 s"));
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceResolved(service)) if service.get_fullname() == fullname => {
                return service;
            }
            Ok(_) => {}
            Err(e) => panic!("{fullname} was not discovered: {e}"),
        }
    }
}

#[test]
fn the_announcement_is_discovered_with_its_txt_records() {
    let mut ad = Advertisement::new("PROV_TEST01", 8080);
    ad.txt = vec![("sec_ver".to_owned(), "2".to_owned())];
    ad.addrs = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    ad.mdns_port = TEST_MDNS_PORT;
    let handle = ad.start().unwrap();
    assert_eq!(handle.fullname(), "PROV_TEST01._esp_wifi_prov._tcp.local.");

    let browser = ServiceDaemon::new_with_port(TEST_MDNS_PORT).unwrap();
    let service = resolve(&browser, handle.fullname());
    assert_eq!(service.get_port(), 8080);
    assert!(
        service.get_addresses_v4().contains(&Ipv4Addr::LOCALHOST),
        "{:?}",
        service.get_addresses()
    );
    let txt = &service.txt_properties;
    assert_eq!(
        txt.get_property_val_str("version_endpoint"),
        Some("/proto-ver")
    );
    assert_eq!(
        txt.get_property_val_str("session_endpoint"),
        Some("/prov-session")
    );
    assert_eq!(
        txt.get_property_val_str("config_endpoint"),
        Some("/prov-config")
    );
    assert_eq!(txt.get_property_val_str("sec_ver"), Some("2"));

    handle.shutdown().unwrap();
    let _ = browser.shutdown();
}

#[test]
fn invalid_txt_keys_are_refused() {
    let mut ad = Advertisement::new("PROV_TEST02", 80);
    ad.txt = vec![("bad=key".to_owned(), "x".to_owned())];
    ad.mdns_port = TEST_MDNS_PORT;
    let err = ad.start().unwrap_err();
    assert!(err.to_string().contains("bad=key"), "{err}");
}
