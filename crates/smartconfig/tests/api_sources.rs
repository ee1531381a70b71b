//! The API over capture files: a pcap of sniffed frames carrying an ESPTouch v1 message among
//! another station's traffic, a capture without a message, a damaged capture.
#![cfg(feature = "net")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use smartconfig::api::{Outcome, Settings, SmartConfig, Status};
use smartconfig::frame::{DataFrameSpec, RadiotapSpec, Security, build_data_frame};
use smartconfig::net::capture::PcapSource;
use smartconfig::net::source::{ObservationSource, open_pcap};
use smartconfig::net::{AckConfig, SendRequest, encode_schedule};
use smartconfig::pcap::{FileFormat, LinkType};
use smartconfig::{Direction, Protocol};
use wifiprov_wifi::WifiBackend;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment, SimNetwork};

const SSID: &str = "Cafe";
const PASSWORD: &str = "espresso-doppio";
const PHONE: [u8; 6] = [0x3c, 0x28, 0x6d, 0x11, 0x22, 0x33];
const OTHER: [u8; 6] = [0x3c, 0x28, 0x6d, 0x44, 0x55, 0x66];

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sc-api-{}-{name}", std::process::id()))
}

/// Writes from-DS CCMP frames for `lengths` (UDP payload lengths) from `PHONE`, with an
/// unrelated station's traffic after every fourth frame.
fn write_capture(path: &PathBuf, lengths: &[u16], bssid: [u8; 6]) {
    let mut writer =
        smartconfig::pcap::create(path, FileFormat::PcapNg, LinkType::Radiotap).unwrap();
    let frame = |source, seq: u16, len| {
        build_data_frame(&DataFrameSpec {
            direction: Direction::FromDs,
            bssid,
            source,
            seq,
            security: Security::Ccmp,
            udp_payload_len: len,
            fcs: true,
            radiotap: Some(RadiotapSpec {
                channel: Some(6),
                signal_dbm: Some(-48),
                ..RadiotapSpec::default()
            }),
            ..DataFrameSpec::default()
        })
    };
    let mut time = 1_000_000u64;
    for (i, len) in lengths.iter().enumerate() {
        time += 8_000;
        let seq = i as u16;
        writer.write(time, &frame(PHONE, seq, *len)).unwrap();
        if i % 4 == 3 {
            writer
                .write(time + 1, &frame(OTHER, seq, 60 + (i % 200) as u16))
                .unwrap();
        }
    }
    writer.finish().unwrap();
}

fn sim(bssid: [u8; 6]) -> Arc<SimBackend> {
    let mut net = SimNetwork::from_spec(&format!("{SSID}:{PASSWORD}")).unwrap();
    net.bssid = wifiprov_wifi::Bssid(bssid);
    net.channel = 6;
    net.connect_latency_ms = 20;
    net.ip = Some(Ipv4Addr::new(172, 16, 0, 9));
    Arc::new(SimBackend::new(SimEnvironment {
        seed: 1,
        networks: vec![net],
        search_ms: 20,
    }))
}

fn settings() -> Settings {
    Settings {
        aes_key: None,
        mac: [0x24, 0x0a, 0xc4, 0, 0, 9],
        ack: AckConfig {
            rounds: 1,
            interval: Duration::from_millis(1),
            delay: Duration::ZERO,
            broadcast: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            esptouch_port: 9,
            ..AckConfig::default()
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sniffed_v1_message_in_a_capture_file() {
    let bssid = [0x02, 0xca, 0xfe, 0, 0, 1];
    let mut request = SendRequest::new(Protocol::EspTouch, SSID, PASSWORD);
    request.bssid = Some(bssid);
    // The phone's address: the device answers there (the discard port on loopback).
    let schedule = encode_schedule(&request, 0, Ipv4Addr::LOCALHOST).unwrap();
    let lengths: Vec<u16> = schedule.iter().map(|t| t.length).collect();
    let path = temp_path("v1.pcapng");
    write_capture(&path, &lengths, bssid);

    let sc = SmartConfig::new(sim(bssid) as Arc<dyn WifiBackend>, open_pcap(path.clone()));
    sc.set_settings(settings());
    sc.start().await.unwrap();
    let status = sc.wait_finished().await;
    std::fs::remove_file(&path).unwrap();
    let Status::Finished(Outcome::Acknowledged { link, ack }) = &status else {
        panic!("{status:?}");
    };
    assert_eq!(link.bssid.0, bssid);
    assert_eq!(
        ack.targets,
        [SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9)]
    );
    let result = sc.result().unwrap();
    assert_eq!(result.link.source, PHONE);
    assert_eq!(result.link.direction, Direction::FromDs);
    assert_eq!(result.channel, Some(6));
    // CCMP from-DS with FCS: 80 bytes more than the UDP payload (spec §1.2).
    assert_eq!(result.decoded.offset, 80);
    let info = sc.info();
    assert_eq!(info.ssid, SSID);
    assert_eq!(info.password.expose(), PASSWORD.as_bytes());
    assert_eq!(info.bssid, bssid);
    assert!(sc.done());
}

#[tokio::test]
async fn a_capture_without_a_message_ends_the_run() {
    let path = temp_path("noise.pcapng");
    let noise: Vec<u16> = (0..300).map(|i| 100 + (i * 37 % 700) as u16).collect();
    write_capture(&path, &noise, [2, 0, 0, 0, 0, 1]);
    let sc = SmartConfig::new(sim([2, 0, 0, 0, 0, 1]), open_pcap(path.clone()));
    sc.start().await.unwrap();
    let status = sc.wait_finished().await;
    std::fs::remove_file(&path).unwrap();
    assert_eq!(status, Status::Finished(Outcome::SourceEnded));
    assert!(!sc.done());
}

#[tokio::test]
async fn a_damaged_capture_yields_what_precedes_the_damage_then_fails() {
    let path = temp_path("cut.pcapng");
    write_capture(&path, &[515, 514, 513, 512, 100, 200], [2, 0, 0, 0, 0, 1]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&path, &bytes).unwrap();
    let mut source = PcapSource::open(path.clone()).unwrap();
    let mut seen = 0;
    let end = loop {
        match source.next().await {
            Ok(Some(_)) => seen += 1,
            other => break other,
        }
    };
    std::fs::remove_file(&path).unwrap();
    assert!(seen >= 4, "{seen}");
    assert!(end.is_err(), "{end:?}");
    assert!(source.describe().contains("cut.pcapng"));

    let err = PcapSource::open(temp_path("missing.pcap")).unwrap_err();
    assert!(err.to_string().contains("missing.pcap"), "{err}");
}
