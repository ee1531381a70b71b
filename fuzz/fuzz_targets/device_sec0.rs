//! Security 0 device: one request on an endpoint chosen by the first byte. Errors are fine,
//! panics are not. With no encryption, application endpoints must hand back exactly what the
//! echo handler returned (or its error), and `proto-ver` must answer the published document. The request
//! limit is lowered to 512 bytes so that inputs cross it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocomm::{Device, DeviceConfig, Error, HandlerError, Instant, Security, SessionId};
use wifiprov_fuzz::{CUSTOM_ENDPOINT, ReplayRng, endpoint};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, request)) = data.split_first() else {
        return;
    };
    let mut config = DeviceConfig::new(Security::Sec0);
    config.max_request_len = 512;
    let mut device = Device::new(config).expect("sec0 device");
    device
        .register_endpoint(CUSTOM_ENDPOINT)
        .expect("custom endpoint");
    let mut rng = ReplayRng::new(&[]);
    let connection = device.connect(&mut rng);
    // Echoes, but refuses empty requests so the handler-error path is reachable too.
    let mut echo = |_: SessionId, _: &str, req: &[u8]| -> Result<Vec<u8>, HandlerError> {
        match req {
            [] => Err(HandlerError::new("empty request")),
            _ => Ok(req.to_vec()),
        }
    };
    let name = endpoint(selector);
    let result = device.handle_request(
        Instant::ZERO,
        connection,
        name,
        request,
        &mut rng,
        &mut echo,
    );
    if request.len() > 512 {
        assert!(matches!(result, Err(Error::RequestTooLarge { .. })));
        return;
    }
    match name {
        "proto-ver" => assert_eq!(result.ok().as_deref(), Some(device.version_json())),
        "prov-config" | "prov-scan" | "prov-ctrl" | "custom-data" if request.is_empty() => {
            assert!(matches!(result, Err(Error::Handler { .. })))
        }
        "prov-config" | "prov-scan" | "prov-ctrl" | "custom-data" => {
            assert_eq!(result.ok().as_deref(), Some(request))
        }
        "no-such-endpoint" => assert!(result.is_err()),
        _ => {}
    }
});
