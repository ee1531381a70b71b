//! prost decoding of the protocomm envelope and the three wifi_provisioning payloads: whatever
//! decodes must survive encode → decode unchanged, and encode to the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wifiprov_proto::Message;
use wifiprov_proto::session::SessionData;
use wifiprov_proto::wifi_config::WiFiConfigPayload;
use wifiprov_proto::wifi_ctrl::WiFiCtrlPayload;
use wifiprov_proto::wifi_scan::WiFiScanPayload;

fn round_trip<M: Message + Default + PartialEq + core::fmt::Debug>(data: &[u8]) {
    let Ok(first) = M::decode(data) else { return };
    let bytes = first.encode_to_vec();
    let second = M::decode(bytes.as_slice()).expect("re-encoded message must decode");
    assert_eq!(first, second);
    assert_eq!(second.encode_to_vec(), bytes, "encoding is not stable");
}

fuzz_target!(|data: &[u8]| {
    round_trip::<SessionData>(data);
    round_trip::<WiFiConfigPayload>(data);
    round_trip::<WiFiScanPayload>(data);
    round_trip::<WiFiCtrlPayload>(data);
});
