//! `wifiprov smartconfig`: encode/decode with JSON output, send ⇄ listen over loopback UDP for
//! each protocol (acknowledgement and stored credentials included), a capture file, timeouts
//! and exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::Write;
use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const MAC: &str = "24:0a:c4:5e:00:01";

fn wifiprov(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wifiprov"));
    cmd.arg("smartconfig").args(args).env("NO_COLOR", "1");
    cmd
}

fn run(args: &[&str]) -> Output {
    wifiprov(args).output().unwrap()
}

fn run_with_input(args: &[&str], input: &str) -> Output {
    let mut child = wifiprov(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn encode_prints_one_cycle() {
    for (protocol, first) in [("esptouch", 515), ("esptouch-v2", 1048), ("airkiss", 1)] {
        let out = run(&[
            "encode",
            "--protocol",
            protocol,
            "--ssid",
            "HomeNet",
            "--password",
            "secret123",
            "--json",
        ]);
        assert!(out.status.success(), "{}", text(&out));
        let v = json(&out);
        assert_eq!(v["protocol"], protocol);
        let lengths = v["lengths"].as_array().unwrap();
        let gaps = v["gaps_us"].as_array().unwrap();
        assert_eq!(v["datagrams"].as_u64().unwrap() as usize, lengths.len());
        assert_eq!(gaps.len(), lengths.len());
        assert_eq!(lengths[0], first);
        let total: u64 = gaps.iter().map(|g| g.as_u64().unwrap()).sum();
        assert_eq!(v["duration_us"], total);
        assert!(!text(&out).contains("secret123"));
    }
    // ESPTouch v2 with 7-bit groups: 12 + 11·(⌈9/6⌉ + ⌈7/6⌉) datagrams (spec §10).
    let out = run(&[
        "encode",
        "--protocol",
        "esptouch-v2",
        "--ssid",
        "HomeNet",
        "--password",
        "secret123",
        "--json",
    ]);
    assert_eq!(json(&out)["datagrams"], 12 + 11 * (2 + 2));
}

#[test]
fn encode_then_decode_round_trips() {
    for (protocol, extra) in [
        ("esptouch", vec!["--bssid", "78:8a:20:84:19:96"]),
        ("esptouch-v2", vec!["--reserved-data", "c0ffee"]),
        ("airkiss", vec![]),
    ] {
        let mut args = vec![
            "encode",
            "--protocol",
            protocol,
            "--ssid",
            "Home Net",
            "--password",
            "secret123",
        ];
        args.extend(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", text(&out));
        let lengths = String::from_utf8(out.stdout).unwrap();
        assert!(lengths.lines().all(|l| l.parse::<u16>().is_ok()));

        let out = run_with_input(&["decode", "--lengths", "-", "--json"], &lengths);
        assert!(out.status.success(), "{}", text(&out));
        let v = json(&out);
        assert_eq!(v["decoded"], true);
        assert_eq!(v["protocol"], protocol);
        assert_eq!(v["ssid"], "Home Net");
        assert_eq!(v["password"], "(redacted)");
        assert_eq!(v["password_len"], 9);
        assert_eq!(v["offset"], 0);
        assert!(!text(&out).contains("secret123"), "{}", text(&out));
        if protocol == "esptouch" {
            assert_eq!(v["bssid"], "78:8a:20:84:19:96");
        }
        if protocol == "esptouch-v2" {
            assert_eq!(v["reserved_hex"], "c0ffee");
        }

        let out = run_with_input(
            &["decode", "--lengths", "-", "--json", "--show-password"],
            &lengths,
        );
        assert_eq!(json(&out)["password"], "secret123");
    }
}

#[test]
fn decode_reads_source_and_destination_columns_with_an_offset() {
    let out = run(&[
        "encode",
        "--protocol",
        "esptouch-v2",
        "--ssid",
        "HomeNet",
        "--password",
        "secret123",
        "--aes-key",
        "0123456789abcdef",
    ]);
    let lengths = String::from_utf8(out.stdout).unwrap();
    // As a sniffer would see them: CCMP from-DS frames, 80 bytes longer, interleaved with
    // another station's traffic.
    let mut file = String::from("# source destination length\n");
    for (i, l) in lengths.lines().enumerate() {
        let l: u16 = l.parse().unwrap();
        file.push_str(&format!("3c:28:6d:11:22:33 ff:ff:ff:ff:ff:ff {}\n", l + 80));
        if i % 3 == 0 {
            file.push_str(&format!("other-phone ff:ff:ff:ff:ff:ff {}\n", 100 + i));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lengths.txt");
    std::fs::write(&path, &file).unwrap();
    let path = path.to_str().unwrap();

    // Encrypted: without the key nothing comes out, and the reason says how far it got.
    let out = run(&[
        "decode",
        "--lengths",
        path,
        "--type",
        "esptouch-v2",
        "--json",
    ]);
    // 8: the input held no complete message.
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["decoded"], false);
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("locked on esptouch-v2 at offset 80")
    );

    let out = run(&[
        "decode",
        "--lengths",
        path,
        "--aes-key",
        "0123456789abcdef",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["ssid"], "HomeNet");
    assert_eq!(v["offset"], 80);
    assert_eq!(v["protocol"], "esptouch-v2");
}

#[test]
fn decode_explains_failures_and_rejects_bad_input() {
    let out = run_with_input(&["decode", "--lengths", "-", "--json"], "100\n200\n300\n");
    assert_eq!(out.status.code(), Some(8));
    let v = json(&out);
    assert_eq!(v["decoded"], false);
    assert_eq!(v["lengths_read"], 3);
    assert!(
        v["reason"].as_str().unwrap().contains("no guide pattern"),
        "{v}"
    );

    // An input that is not a list of lengths, or that cannot be read, is a file problem: 9.
    let out = run_with_input(&["decode", "--lengths", "-"], "515\nfive hundred\n");
    assert_eq!(out.status.code(), Some(9));
    assert!(text(&out).contains("line 2"), "{}", text(&out));

    let out = run(&["decode", "--lengths", "/nonexistent/lengths"]);
    assert_eq!(out.status.code(), Some(9));
    // Usage errors are clap's 2.
    let out = run(&["encode", "--protocol", "smoke-signals", "--ssid", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["listen", "--no-store"]);
    assert_eq!(out.status.code(), Some(2), "a source is required");
}

#[test]
fn help_documents_the_exit_codes() {
    for sub in [
        vec!["--help"],
        vec!["send", "--help"],
        vec!["listen", "--help"],
    ] {
        let out = run(&sub);
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Exit codes"), "{help}");
        assert!(help.contains("    7  timed out"), "{help}");
        assert!(help.contains("    8  nothing received"), "{help}");
        assert!(help.contains("  130  interrupted"), "{help}");
    }
}

/// `listen --udp` in the background and `send` to it; returns both outputs.
fn send_and_listen(protocol: &str, listen_type: &str, state: &std::path::Path) -> (Output, Output) {
    let data = free_port();
    let reply = free_port();
    let data_addr = format!("127.0.0.1:{data}");
    let reply_addr = format!("127.0.0.1:{reply}");
    let reply_port = reply.to_string();
    let listener = wifiprov(&[
        "listen",
        "--wifi",
        "sim",
        "--type",
        listen_type,
        "--udp",
        &data_addr,
        "--sim-ap",
        "HomeNet:secret123",
        "--state-dir",
        state.to_str().unwrap(),
        "--ack-port",
        &reply_port,
        "--ack-broadcast",
        "127.0.0.1",
        "--mac",
        MAC,
        "--timeout",
        "60",
        "--json",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let sent = run(&[
        "send",
        "--protocol",
        protocol,
        "--ssid",
        "HomeNet",
        "--password",
        "secret123",
        "--target",
        &data_addr,
        "--ack-listen",
        &reply_addr,
        "--gap-us",
        "300",
        "--timeout",
        "60",
        "--json",
    ]);
    let listened = listener.wait_with_output().unwrap();
    (sent, listened)
}

fn check_end_to_end(protocol: &str, listen_type: &str) {
    let state = tempfile::tempdir().unwrap();
    let (sent, listened) = send_and_listen(protocol, listen_type, state.path());
    assert!(sent.status.success(), "send: {}", text(&sent));
    assert!(listened.status.success(), "listen: {}", text(&listened));

    let s = json(&sent);
    assert_eq!(s["ok"], true);
    assert_eq!(s["protocol"], protocol);
    let devices = s["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["mac"], MAC);
    let device_ip = devices[0]["ip"].as_str().unwrap();

    let l = json(&listened);
    assert_eq!(l["ok"], true, "{l}");
    assert_eq!(l["connected"], true);
    assert_eq!(l["type"], protocol, "type() reports the protocol received");
    assert_eq!(l["message"]["ssid"], "HomeNet");
    assert_eq!(l["message"]["password"], "(redacted)");
    assert_eq!(l["ack"]["rounds"], 30);
    if protocol == "esptouch" {
        // The ESPTouch v1 reply carries the address the device obtained.
        assert_eq!(device_ip, l["ip"]);
    } else {
        assert_eq!(device_ip, "127.0.0.1");
    }
    if protocol == "airkiss" {
        assert!(l["ack"]["airkiss_phone"].is_string(), "{l}");
    }
    for out in [&sent, &listened] {
        assert!(!text(out).contains("secret123"), "{}", text(out));
    }

    // Stored like the other provisioning routes.
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(state.path().join("credentials.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["ssid"], "HomeNet");
    assert_eq!(stored["passphrase_hex"], hex::encode("secret123"));
    assert_eq!(
        l["stored"],
        state.path().join("credentials.json").to_str().unwrap()
    );
}

#[test]
fn send_and_listen_esptouch_v1() {
    check_end_to_end("esptouch", "esptouch-airkiss");
}

#[test]
fn send_and_listen_esptouch_v2() {
    check_end_to_end("esptouch-v2", "esptouch-v2");
}

#[test]
fn send_and_listen_airkiss() {
    check_end_to_end("airkiss", "esptouch-airkiss");
}

#[test]
fn a_wrong_password_exits_4_and_stores_nothing() {
    let state = tempfile::tempdir().unwrap();
    let data = free_port();
    let data_addr = format!("127.0.0.1:{data}");
    let listener = wifiprov(&[
        "listen",
        "--wifi",
        "sim",
        "--udp",
        &data_addr,
        "--sim-ap",
        "HomeNet:secret123",
        "--state-dir",
        state.path().to_str().unwrap(),
        "--timeout",
        "60",
        "--json",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // No reply will come: the device cannot join. The sender times out meanwhile.
    let sent = run(&[
        "send",
        "--protocol",
        "esptouch",
        "--ssid",
        "HomeNet",
        "--password",
        "wrong-guess",
        "--target",
        &data_addr,
        "--ack-listen",
        "127.0.0.1:0",
        "--gap-us",
        "300",
        "--timeout",
        "4",
        "--json",
    ]);
    let listened = listener.wait_with_output().unwrap();
    // 5: credentials arrived, joining failed.
    assert_eq!(listened.status.code(), Some(5), "{}", text(&listened));
    let l = json(&listened);
    assert_eq!(l["ok"], false);
    assert_eq!(l["connected"], false);
    assert!(
        l["summary"].as_str().unwrap().contains("joining failed"),
        "{l}"
    );
    assert!(!state.path().join("credentials.json").exists());

    // 7: no device replied before --timeout.
    assert_eq!(sent.status.code(), Some(7), "{}", text(&sent));
    let s = json(&sent);
    assert_eq!(s["ok"], false);
    assert!(s["error"].as_str().unwrap().contains("no device replied"));
}

#[test]
fn listen_times_out_with_exit_7() {
    let out = run(&[
        "listen",
        "--wifi",
        "sim",
        "--udp",
        "127.0.0.1:0",
        "--no-store",
        "--timeout",
        "0.3",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["message"], Value::Null);
}

#[test]
fn listen_reads_a_capture_file() {
    use smartconfig::frame::{DataFrameSpec, RadiotapSpec, Security, build_data_frame};
    use smartconfig::net::{SendRequest, encode_schedule};
    use smartconfig::pcap::{FileFormat, LinkType};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("airkiss.pcap");
    let request = SendRequest::new(smartconfig::Protocol::AirKiss, "HomeNet", "secret123");
    let schedule = encode_schedule(&request, 0, Ipv4Addr::LOCALHOST).unwrap();
    // The phone is on the simulated "HomeNet" access point; the device joins the BSSID it
    // heard the phone on.
    let bssid = wifiprov_wifi::sim::SimNetwork::derived_bssid(b"HomeNet").0;
    let spec = DataFrameSpec {
        direction: smartconfig::Direction::ToDs,
        bssid,
        source: [0x3c, 0x28, 0x6d, 1, 2, 3],
        qos: true,
        security: Security::Ccmp,
        radiotap: Some(RadiotapSpec {
            channel: Some(11),
            ..RadiotapSpec::default()
        }),
        ..DataFrameSpec::default()
    };
    let mut writer =
        smartconfig::pcap::create(&path, FileFormat::Pcap, LinkType::Radiotap).unwrap();
    for (i, t) in schedule.iter().enumerate() {
        let frame = build_data_frame(&DataFrameSpec {
            seq: i as u16,
            udp_payload_len: t.length,
            ..spec
        });
        writer.write(i as u64 * 4000, &frame).unwrap();
    }
    writer.finish().unwrap();

    let out = run(&[
        "listen",
        "--wifi",
        "sim",
        "--pcap",
        path.to_str().unwrap(),
        "--sim-ap",
        "HomeNet:secret123",
        "--no-store",
        "--ack-port",
        "9",
        "--ack-broadcast",
        "127.0.0.1",
        "--airkiss-listen",
        "127.0.0.1:0",
        "--json",
        "--show-password",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["type"], "airkiss");
    assert_eq!(v["message"]["ssid"], "HomeNet");
    assert_eq!(v["message"]["password"], "secret123");
    assert_eq!(v["message"]["offset"], spec.offset());
    assert_eq!(v["bssid"], wifiprov_wifi::Bssid(bssid).to_string());
    assert_eq!(v["stored"], Value::Null);

    // A capture without a message: exit 3.
    let empty = dir.path().join("empty.pcap");
    smartconfig::pcap::create(&empty, FileFormat::Pcap, LinkType::Radiotap)
        .unwrap()
        .finish()
        .unwrap();
    let out = run(&[
        "listen",
        "--wifi",
        "sim",
        "--pcap",
        empty.to_str().unwrap(),
        "--no-store",
    ]);
    // 8: the capture ended before a complete message.
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
}
