//! Byte-exact packets for every command, result, state and error, laid out by the
//! specification's tables (checksums computed independently of this crate).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use improv::ble::{self, RpcAssembler};
use improv::rpc::{Rpc, RpcResult};
use improv::serial::{PacketType, SerialDecoder, encode_packet};
use improv::{ErrorCode, State};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// (RPC, serial packet, BLE write) for every command.
fn commands() -> Vec<(Rpc, &'static str, &'static str)> {
    vec![
        (
            Rpc::WifiSettings {
                ssid: b"MyWirelessAP".to_vec(),
                password: b"mysecurepassword".to_vec().into(),
            },
            "494d50524f560103200\
             11e0c4d79576972656c6573734150106d7973656375726570617373776f7264c1",
            "011e0c4d79576972656c6573734150106d7973656375726570617373776f7264c0",
        ),
        (
            Rpc::CurrentStateOrIdentify,
            "494d50524f560103020200e5",
            "020002",
        ),
        (Rpc::DeviceInfo, "494d50524f560103020300e6", "030003"),
        (Rpc::WifiNetworks, "494d50524f560103020400e7", "040004"),
        (Rpc::Hostname(None), "494d50524f560103020500e8", "050005"),
        (
            Rpc::Hostname(Some(b"kitchen-pi".to_vec())),
            "494d50524f5601030c050a6b69746368656e2d7069e8",
            "050a6b69746368656e2d7069fb",
        ),
        (Rpc::DeviceName(None), "494d50524f560103020600e9", "060006"),
        (
            Rpc::DeviceName(Some(b"Kitchen Pi".to_vec())),
            "494d50524f5601030c060a4b69746368656e2050699c",
            "060a4b69746368656e205069af",
        ),
        (Rpc::NetworkState, "494d50524f560103020700ea", "070007"),
    ]
}

#[test]
fn the_specification_example_of_wifi_settings() {
    let rpc = &commands()[0].0;
    let body = rpc.encode().unwrap();
    // "01 1E 0C {MyWirelessAP} 10 {mysecurepassword}"
    let mut expected = vec![0x01, 0x1e, 0x0c];
    expected.extend_from_slice(b"MyWirelessAP");
    expected.push(0x10);
    expected.extend_from_slice(b"mysecurepassword");
    assert_eq!(body.as_slice(), expected.as_slice());
}

#[test]
fn every_command_encodes_and_decodes_byte_exact_in_both_framings() {
    for (rpc, serial, ble_write) in commands() {
        let body = rpc.encode().unwrap();
        let packet = encode_packet(PacketType::RpcCommand, &body).unwrap();
        assert_eq!(hex::encode(&packet), serial, "{rpc:?} serial");
        assert_eq!(
            hex::encode(ble::encode_command(&rpc).unwrap().as_slice()),
            ble_write,
            "{rpc:?} BLE"
        );

        let mut decoder = SerialDecoder::new();
        decoder.push(&h(serial));
        let decoded = decoder.next_packet().unwrap().unwrap();
        assert_eq!(decoded.kind, PacketType::RpcCommand);
        assert_eq!(Rpc::decode(&decoded.data).unwrap(), rpc);
        assert_eq!(ble::decode_command(&h(ble_write)).unwrap(), rpc);
    }
}

#[test]
fn states_and_errors_are_byte_exact() {
    let states = [
        (State::AuthorizationRequired, "494d50524f5601010101e1"),
        (State::Authorized, "494d50524f5601010102e2"),
        (State::Provisioning, "494d50524f5601010103e3"),
        (State::Provisioned, "494d50524f5601010104e4"),
    ];
    for (state, packet) in states {
        assert_eq!(
            hex::encode(encode_packet(PacketType::CurrentState, &[state.byte()]).unwrap()),
            packet
        );
        assert_eq!(State::from_byte(state.byte()), Some(state));
    }
    let errors = [
        (ErrorCode::None, "494d50524f5601020100e1"),
        (ErrorCode::InvalidRpc, "494d50524f5601020101e2"),
        (ErrorCode::UnknownCommand, "494d50524f5601020102e3"),
        (ErrorCode::UnableToConnect, "494d50524f5601020103e4"),
        (ErrorCode::NotAuthorized, "494d50524f5601020104e5"),
        (ErrorCode::BadHostname, "494d50524f5601020105e6"),
        (ErrorCode::Unknown, "494d50524f56010201ffe0"),
    ];
    for (code, packet) in errors {
        assert_eq!(
            hex::encode(encode_packet(PacketType::ErrorState, &[code.byte()]).unwrap()),
            packet
        );
        assert_eq!(ErrorCode::from_byte(code.byte()), code);
    }
    assert_eq!(ErrorCode::from_byte(0x42), ErrorCode::Unknown);
    assert_eq!(State::from_byte(0), None);
}

#[test]
fn results_are_byte_exact() {
    let url = RpcResult::new(0x01, ["http://192.168.1.42:8080"]);
    assert_eq!(
        hex::encode(encode_packet(PacketType::RpcResult, &url.encode().unwrap()).unwrap()),
        "494d50524f5601041b011918687474703a2f2f3139322e3136382e312e34323a38303830ed"
    );
    assert_eq!(
        hex::encode(ble::encode_result(&url).unwrap()),
        "011918687474703a2f2f3139322e3136382e312e34323a38303830f0"
    );
    let scan = RpcResult::new(0x04, ["MyWirelessNetwork", "-60", "YES"]);
    assert_eq!(
        hex::encode(encode_packet(PacketType::RpcResult, &scan.encode().unwrap()).unwrap()),
        "494d50524f5601041c041a114d79576972656c6573734e6574776f726b032d363003594553b5"
    );
    let end = RpcResult::new::<&str>(0x04, []);
    assert_eq!(
        hex::encode(encode_packet(PacketType::RpcResult, &end.encode().unwrap()).unwrap()),
        "494d50524f560104020400e8"
    );
    let info = RpcResult::new(
        0x03,
        [
            "wifiprov",
            "0.1.0",
            "x86_64",
            "Kitchen Pi",
            "Debian GNU/Linux",
            "12",
        ],
    );
    let packet = h(
        "494d50524f560104370335087769666970726f7605302e312e30067838365f36340a4b6974\
                    6368656e2050691044656269616e20474e552f4c696e757802313220",
    );
    assert_eq!(
        encode_packet(PacketType::RpcResult, &info.encode().unwrap()).unwrap(),
        packet
    );
    assert_eq!(
        RpcResult::decode(packet.get(9..packet.len() - 1).unwrap()).unwrap(),
        info
    );
    assert_eq!(info.text(3).as_deref(), Some("Kitchen Pi"));
}

#[test]
fn service_data_and_capabilities() {
    let caps = ble::CAP_IDENTIFY
        | ble::CAP_DEVICE_INFO
        | ble::CAP_WIFI_SCAN
        | ble::CAP_HOSTNAME
        | ble::CAP_DEVICE_NAME;
    assert_eq!(caps, 0x1f);
    assert_eq!(
        ble::service_data(State::Authorized, caps),
        [2, 0x1f, 0, 0, 0, 0]
    );
    assert_eq!(
        ble::parse_service_data(&[1, 3, 0, 0, 0, 0]),
        Some((Some(State::AuthorizationRequired), 3))
    );
    assert_eq!(ble::parse_service_data(&[1]), None);
}

#[test]
fn a_command_split_over_twenty_byte_writes_is_assembled() {
    let write = h("011e0c4d79576972656c6573734150106d7973656375726570617373776f7264c0");
    let mut asm = RpcAssembler::new();
    let mut out = None;
    for chunk in write.chunks(20) {
        assert!(out.is_none());
        out = asm.push(chunk);
    }
    assert_eq!(out.unwrap().unwrap(), commands()[0].0);
    assert!(!asm.is_pending());
}

#[test]
fn malformed_input_gets_the_right_error() {
    use improv::RpcError;
    // Bad checksum on BLE.
    assert!(matches!(
        ble::decode_command(&h("020003")),
        Err(RpcError::Checksum {
            found: 3,
            expected: 2
        })
    ));
    // Declared length longer than the data.
    assert!(matches!(
        Rpc::decode(&h("0105")),
        Err(RpcError::Truncated(_))
    ));
    // Wi-Fi settings with one string only.
    assert!(matches!(
        Rpc::decode(&h("0103024141")),
        Err(RpcError::Malformed(_))
    ));
    // An unknown command is kept for the "unknown command" answer.
    assert_eq!(
        Rpc::decode(&h("4201ff")).unwrap(),
        Rpc::Unknown {
            command: 0x42,
            data: vec![0xff]
        }
    );
    // Too long to encode.
    let long = Rpc::WifiSettings {
        ssid: vec![b'a'; 200],
        password: vec![b'b'; 100].into(),
    };
    assert!(matches!(long.encode(), Err(RpcError::TooLong(_))));
    // BLE: more bytes than the length says.
    let mut asm = RpcAssembler::new();
    assert!(matches!(
        asm.push(&h("02000200")),
        Some(Err(RpcError::TrailingBytes(1)))
    ));
}

#[test]
fn the_serial_decoder_skips_console_text_and_reports_bad_packets() {
    let mut stream = b"I (312) boot: console says IMPRO hello\n".to_vec();
    stream.extend(h("494d50524f560103020300e7")); // bad checksum
    stream.extend(h("494d50524f560203020300e6")); // version 2
    stream.extend(h("494d50524f560109020300e6")); // type 9
    stream.extend(h("494d50524f560103020300e6")); // good
    let mut decoder = SerialDecoder::new();
    decoder.push(&stream);
    let mut seen = Vec::new();
    while let Some(item) = decoder.next_packet() {
        seen.push(item);
    }
    use improv::serial::FrameError;
    assert!(matches!(
        seen[0],
        Err(FrameError::Checksum {
            found: 0xe7,
            expected: 0xe6
        })
    ));
    assert_eq!(seen[1], Err(FrameError::Version(2)));
    assert_eq!(seen[2], Err(FrameError::UnknownType(9)));
    assert_eq!(
        Rpc::decode(&seen[3].as_ref().unwrap().data).unwrap(),
        Rpc::DeviceInfo
    );
    assert_eq!(seen.len(), 4);
    assert!(decoder.skipped() >= 39);
}

#[test]
fn passphrases_stay_out_of_debug() {
    let rpc = &commands()[0].0;
    let text = format!("{rpc:?}");
    assert!(text.contains("MyWirelessAP"));
    assert!(!text.contains("mysecurepassword"));
}
