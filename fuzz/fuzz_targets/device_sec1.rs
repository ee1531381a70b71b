//! Security 1 device: a sequence of `[selector][len][bytes]` records sent on one session, so
//! inputs can get through `Cmd0`/`Cmd1` and on to encrypted application requests. The RNG
//! replays the device draws of `sec1.json`, so that transcript (in the seed corpus) completes.
//! `selector % 7` picks the endpoint; `selector >> 3` moves the clock forward by that many
//! 4-second steps (reaching session expiry and the handshake throttle).
#![no_main]

use core::time::Duration;
use libfuzzer_sys::fuzz_target;
use protocomm::{Device, DeviceConfig, HandlerError, Instant, Secret, Security, SessionId};
use wifiprov_fuzz::{CUSTOM_ENDPOINT, ReplayRng, SEC1_DEVICE_DRAWS, SEC1_POP, endpoint, records};

fuzz_target!(|data: &[u8]| {
    let security = Security::Sec1 {
        pop: Some(Secret::from(SEC1_POP)),
    };
    let mut device = Device::new(DeviceConfig::new(security)).expect("sec1 device");
    device
        .register_endpoint(CUSTOM_ENDPOINT)
        .expect("custom endpoint");
    // The connection's session id comes from another generator: the recorded draws are the
    // handshake's.
    let connection = device.connect(&mut ReplayRng::new(&[]));
    let mut rng = ReplayRng::new(&SEC1_DEVICE_DRAWS);
    // Echoes, but refuses empty requests so the handler-error path is reachable too.
    let mut echo = |_: SessionId, _: &str, req: &[u8]| -> Result<Vec<u8>, HandlerError> {
        match req {
            [] => Err(HandlerError::new("empty request")),
            _ => Ok(req.to_vec()),
        }
    };
    let mut now = Instant::ZERO;
    for (selector, request) in records(data) {
        now = now + Duration::from_secs(4 * u64::from(selector >> 3));
        let name = endpoint(selector);
        let result = device.handle_request(now, connection, name, request, &mut rng, &mut echo);
        if name == "no-such-endpoint" {
            assert!(result.is_err());
        }
        // CTR keeps lengths, and the handler echoes.
        if let Ok(response) = &result
            && matches!(
                name,
                "prov-config" | "prov-scan" | "prov-ctrl" | "custom-data"
            )
        {
            assert_eq!(response.len(), request.len());
        }
    }
});
