//! The Improv codec and device machine never panic on any input, and the stream decoders stay
//! bounded.
//!
//! Input: one selector byte, then the bytes. Selector bit 0 picks the framing (serial stream
//! or BLE writes); the rest of the selector is the write size for splitting the input.
#![no_main]

use std::time::Duration;

use improv::ble::RpcAssembler;
use improv::device::{Action, Config, Device, Framing};
use improv::rpc::{Rpc, RpcResult};
use improv::serial::{MAX_PACKET, PacketType, SerialDecoder};
use libfuzzer_sys::fuzz_target;

fn drive(device: &mut Device, rpc: Rpc, step: &mut u64) {
    *step += 1;
    let now = Duration::from_millis(*step * 700);
    if *step % 3 == 0 {
        device.authorize(now);
    }
    if let Action::Join(creds) = device.handle(rpc, now) {
        assert!(!creds.ssid.is_empty() && creds.ssid.len() <= 32);
        if *step % 2 == 0 {
            device.joined();
        } else {
            device.join_failed(improv::ErrorCode::UnableToConnect, now);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(selector >> 1).max(1);
    let _ = RpcResult::decode(rest);
    let _ = improv::ble::decode_result(rest);
    let mut step = 0;
    if selector & 1 == 0 {
        let mut device = Device::new(Config::default());
        let mut decoder = SerialDecoder::new();
        for chunk in rest.chunks(split) {
            decoder.push(chunk);
            while let Some(item) = decoder.next_packet() {
                if let Ok(packet) = item {
                    assert!(packet.data.len() < MAX_PACKET);
                    if packet.kind == PacketType::RpcCommand {
                        if let Ok(rpc) = Rpc::decode(&packet.data) {
                            let again = Rpc::decode(&rpc.encode().unwrap()).unwrap();
                            assert_eq!(again, rpc);
                            drive(&mut device, rpc, &mut step);
                        }
                    }
                }
            }
        }
    } else {
        let mut device = Device::new(Config {
            framing: Framing::Ble,
            requires_authorization: true,
            authorization_timeout: Duration::from_secs(2),
        });
        let mut asm = RpcAssembler::new();
        for chunk in rest.chunks(split) {
            if let Some(Ok(rpc)) = asm.push(chunk) {
                drive(&mut device, rpc, &mut step);
            }
        }
    }
});
