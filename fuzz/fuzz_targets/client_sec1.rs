//! Security 1 client: the input is `[len][bytes]` frames: Resp0, Resp1, then application
//! responses to decrypt. The RNG replays the client key of `sec1.json`, so that transcript's
//! device answers (in the seed corpus) are accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocomm::{ClientHandshake, ClientSecurity, HandshakeStep, Secret};
use wifiprov_fuzz::{ReplayRng, SEC1_CLIENT_DRAWS, SEC1_POP, frames};

fuzz_target!(|data: &[u8]| {
    let mut chunks = frames(data);
    let mut rng = ReplayRng::new(&SEC1_CLIENT_DRAWS);
    let security = ClientSecurity::Sec1 {
        pop: Some(Secret::from(SEC1_POP)),
    };
    let (handshake, _cmd0) = ClientHandshake::start(security, &mut rng).expect("sec1 start");

    let Some(resp0) = chunks.next() else { return };
    let handshake = match handshake.handle_response(resp0) {
        Ok(HandshakeStep::Send(next, _cmd1)) => next,
        Ok(HandshakeStep::Done(_)) => panic!("security 1 finished after Resp0"),
        Err(_) => return,
    };

    let Some(resp1) = chunks.next() else { return };
    let mut session = match handshake.handle_response(resp1) {
        Ok(HandshakeStep::Done(session)) => session,
        Ok(HandshakeStep::Send(..)) => panic!("security 1 asked for a third round trip"),
        Err(_) => return,
    };
    assert_eq!(session.security(), 1);

    for chunk in chunks {
        let plain = session.decrypt(chunk).expect("CTR decryption cannot fail");
        assert_eq!(plain.len(), chunk.len());
    }
});
