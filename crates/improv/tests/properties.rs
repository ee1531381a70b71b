//! Property tests: round trips in both framings, any split of the stream, and no panic or
//! unbounded buffer on arbitrary input.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Duration;

use improv::State;
use improv::ble::{self, RpcAssembler};
use improv::device::{Action, Config, Device, Framing};
use improv::rpc::{Rpc, RpcResult};
use improv::serial::{MAX_PACKET, PacketType, SerialDecoder, encode_packet};
use proptest::prelude::*;

fn rpc() -> impl Strategy<Value = Rpc> {
    prop_oneof![
        (
            prop::collection::vec(any::<u8>(), 0..=32),
            prop::collection::vec(any::<u8>(), 0..=64)
        )
            .prop_map(|(ssid, password)| Rpc::WifiSettings {
                ssid,
                password: password.into()
            }),
        Just(Rpc::CurrentStateOrIdentify),
        Just(Rpc::DeviceInfo),
        Just(Rpc::WifiNetworks),
        Just(Rpc::NetworkState),
        prop::option::of(prop::collection::vec(any::<u8>(), 1..=253)).prop_map(Rpc::Hostname),
        prop::option::of(prop::collection::vec(any::<u8>(), 1..=253)).prop_map(Rpc::DeviceName),
        (8u8.., prop::collection::vec(any::<u8>(), 0..=253))
            .prop_map(|(command, data)| Rpc::Unknown { command, data }),
    ]
}

proptest! {
    #[test]
    fn rpc_round_trips_in_both_framings(rpc in rpc()) {
        let body = rpc.encode().unwrap();
        prop_assert_eq!(Rpc::decode(&body).unwrap(), rpc.clone());
        let write = ble::encode_command(&rpc).unwrap();
        prop_assert_eq!(ble::decode_command(&write).unwrap(), rpc);
    }

    #[test]
    fn results_round_trip(command in any::<u8>(),
                          strings in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..6)) {
        let result = RpcResult { command, strings };
        prop_assert_eq!(RpcResult::decode(&result.encode().unwrap()).unwrap(), result.clone());
        prop_assert_eq!(ble::decode_result(&ble::encode_result(&result).unwrap()).unwrap(), result);
    }

    #[test]
    fn serial_packets_survive_noise_and_any_split(
        rpcs in prop::collection::vec(rpc(), 1..5),
        noise in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("no header start", |b| *b != b'I'), 0..30), 5),
        split in 1usize..64,
    ) {
        let mut stream = Vec::new();
        for (i, rpc) in rpcs.iter().enumerate() {
            stream.extend_from_slice(&noise[i % noise.len()]);
            stream.extend(encode_packet(PacketType::RpcCommand, &rpc.encode().unwrap()).unwrap());
        }
        let mut decoder = SerialDecoder::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(split) {
            decoder.push(chunk);
            while let Some(item) = decoder.next_packet() {
                got.push(Rpc::decode(&item.unwrap().data).unwrap());
            }
        }
        prop_assert_eq!(got, rpcs);
    }

    #[test]
    fn the_serial_decoder_never_panics_nor_grows(bytes in prop::collection::vec(any::<u8>(), 0..2000), split in 1usize..300) {
        let mut decoder = SerialDecoder::new();
        for chunk in bytes.chunks(split) {
            decoder.push(chunk);
            while decoder.next_packet().is_some() {}
        }
        // Whatever is kept is less than one packet.
        decoder.push(&[]);
        let kept = format!("{:?}", decoder).len();
        prop_assert!(kept < 8 * MAX_PACKET);
    }

    #[test]
    fn ble_writes_assemble_under_any_split(rpc in rpc(), split in 1usize..30) {
        let write = ble::encode_command(&rpc).unwrap();
        let mut asm = RpcAssembler::new();
        let mut out = None;
        for chunk in write.chunks(split) {
            prop_assert!(out.is_none());
            out = asm.push(chunk);
        }
        prop_assert_eq!(out.unwrap().unwrap(), rpc);
    }

    #[test]
    fn the_assembler_takes_any_bytes(writes in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..10)) {
        let mut asm = RpcAssembler::new();
        for w in &writes {
            let _ = asm.push(w);
        }
    }

    #[test]
    fn the_device_machine_keeps_its_invariants(
        steps in prop::collection::vec((rpc(), 0u64..5000, any::<bool>(), 0u8..4), 0..40),
        ble in any::<bool>(),
    ) {
        let framing = if ble { Framing::Ble } else { Framing::Serial };
        let mut device = Device::new(Config {
            framing,
            requires_authorization: true,
            authorization_timeout: Duration::from_secs(2),
        });
        let mut now = Duration::ZERO;
        for (rpc, dt, press, outcome) in steps {
            now += Duration::from_millis(dt);
            if press { device.authorize(now); }
            let before = device.state();
            let action = device.handle(rpc, now);
            if let Action::Join(creds) = &action {
                prop_assert!(!creds.ssid.is_empty() && creds.ssid.len() <= 32);
                prop_assert_ne!(before, State::AuthorizationRequired);
                prop_assert_eq!(device.state(), State::Provisioning);
                match outcome {
                    0 => device.joined(),
                    _ => device.join_failed(improv::ErrorCode::UnableToConnect, now),
                }
            }
            if !ble {
                prop_assert_ne!(device.state(), State::AuthorizationRequired);
            }
        }
    }
}
