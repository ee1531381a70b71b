//! Security 0 client: the input is the device's answer to the session command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocomm::{ClientHandshake, ClientSecurity, HandshakeStep};
use wifiprov_fuzz::ReplayRng;

fuzz_target!(|data: &[u8]| {
    let mut rng = ReplayRng::new(&[]);
    let (handshake, _request) =
        ClientHandshake::start(ClientSecurity::Sec0, &mut rng).expect("sec0 start");
    match handshake.handle_response(data) {
        Ok(HandshakeStep::Done(mut session)) => {
            assert_eq!(session.security(), 0);
            // Security 0 is the identity cipher.
            assert_eq!(session.decrypt(data).ok().as_deref(), Some(data));
        }
        Ok(HandshakeStep::Send(..)) => panic!("security 0 asked for a second round trip"),
        Err(_) => {}
    }
});
