//! An in-memory client ⇄ device pair.

use protocomm::*;

use super::os_rng;

/// Echo handler: answers every request endpoint with `endpoint ":" request`.
pub fn echo(_: SessionId, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, HandlerError> {
    Ok([endpoint.as_bytes(), b":", request].concat())
}

/// A new connection to `device`.
pub fn connect(device: &mut Device) -> ConnectionId {
    device.connect(&mut os_rng())
}

/// Whether the session of connection `id` has completed its handshake.
pub fn established(device: &Device, id: ConnectionId) -> bool {
    device
        .session_of(id)
        .is_some_and(|s| device.is_established(s))
}

/// Runs a full handshake on connection `id`; returns the client session or the first error.
pub fn handshake(
    device: &mut Device,
    now: Instant,
    id: ConnectionId,
    security: ClientSecurity,
) -> Result<ClientSession> {
    let mut rng = os_rng();
    let (mut hs, mut request) = ClientHandshake::start(security, &mut rng)?;
    loop {
        let response =
            device.handle_request(now, id, "prov-session", &request, &mut rng, &mut echo)?;
        match hs.handle_response(&response)? {
            HandshakeStep::Send(next, req) => (hs, request) = (next, req),
            HandshakeStep::Done(session) => return Ok(session),
        }
    }
}

/// One encrypted round trip on `endpoint`; returns what the client decrypted.
pub fn exchange(
    device: &mut Device,
    now: Instant,
    id: ConnectionId,
    client: &mut ClientSession,
    endpoint: &str,
    msg: &[u8],
) -> Result<Vec<u8>> {
    let wire = client.encrypt(msg)?;
    let answer = device.handle_request(now, id, endpoint, &wire, &mut os_rng(), &mut echo)?;
    client.decrypt(&answer)
}

/// One encrypted round trip on `endpoint`; checks the echo.
pub fn roundtrip(
    device: &mut Device,
    now: Instant,
    id: ConnectionId,
    client: &mut ClientSession,
    endpoint: &str,
    msg: &[u8],
) -> Result<()> {
    let plain = exchange(device, now, id, client, endpoint, msg)?;
    assert_eq!(plain, [endpoint.as_bytes(), b":", msg].concat());
    Ok(())
}

pub fn sec1(pop: Option<&str>) -> (Security, ClientSecurity) {
    (
        Security::Sec1 {
            pop: pop.map(Secret::from),
        },
        ClientSecurity::Sec1 {
            pop: pop.map(Secret::from),
        },
    )
}

pub fn sec2(user: &str, password: &str, patch: u32) -> (Security, ClientSecurity) {
    let password = Secret::from(password);
    let credentials = Sec2Credentials::generate_with(
        user.as_bytes(),
        &password,
        VerifierOptions {
            allow_esp_prov_incompatible: true,
            ..VerifierOptions::default()
        },
        &mut os_rng(),
    )
    .expect("credentials");
    (
        Security::Sec2 { credentials, patch },
        ClientSecurity::Sec2 {
            username: user.as_bytes().to_vec(),
            password,
            patch,
        },
    )
}

pub fn device(security: Security) -> Device {
    let mut config = DeviceConfig::new(security);
    config.limits.max_sessions = 16;
    // Tests start many handshakes at one instant from one source; the per-source Cmd0
    // rate has its own tests.
    config.throttle.cmd0_burst = u32::MAX;
    let mut d = Device::new(config).expect("device");
    d.register_endpoint("custom-data").expect("custom endpoint");
    d
}
