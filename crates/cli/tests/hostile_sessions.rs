//! `wifiprov device` against hostile HTTP clients: a session's cookie used from another
//! connection, garbage and replays, a full session table. The real binary, raw HTTP/1.1 over
//! `std::net::TcpStream`, protocomm for the crypto; security 1 and 2.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use protocomm::proto::Message;
use protocomm::proto::wifi_config::{
    CmdSetConfig, WiFiConfigPayload, wi_fi_config_payload::Payload,
};
use protocomm::{ClientHandshake, ClientSecurity, ClientSession, HandshakeStep};
use support::{Agent, os_rng, sec};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A response as read off the wire.
#[derive(Debug)]
struct Response {
    status: u16,
    set_cookie: Option<String>,
    body: Vec<u8>,
}

/// One HTTP/1.1 keep-alive connection, spoken by hand as esp_prov's `http.client` does.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    fn connect(agent: &Agent) -> Raw {
        let stream = TcpStream::connect(&agent.addr).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// POSTs `body` to `/<endpoint>` with `Cookie: <cookie>`; `None` when the device closed
    /// the connection without a response (its way of refusing a protocomm request).
    fn post(&mut self, endpoint: &str, cookie: Option<&str>, body: &[u8]) -> Option<Response> {
        let mut head = format!(
            "POST /{endpoint} HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: text/plain\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(cookie) = cookie {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        if self.stream.write_all(&request).is_err() {
            return None;
        }
        self.read_response()
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("no answer within {TIMEOUT:?}: {e}"),
        }
    }

    fn read_response(&mut self) -> Option<Response> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill() {
                assert!(self.buf.is_empty(), "half a response: {:?}", self.buf);
                return None;
            }
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap();
        let mut length = 0;
        let mut set_cookie = None;
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(": ").unwrap();
            match name {
                "Content-Length" => length = value.parse().unwrap(),
                // Case-sensitive, as esp_prov looks for it.
                "Set-Cookie" => set_cookie = Some(value.to_owned()),
                _ => {}
            }
        }
        while self.buf.len() < head_end + length {
            assert!(self.fill(), "truncated body");
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Some(Response {
            status,
            set_cookie,
            body,
        })
    }

    /// [`Raw::post`] that must succeed with `200`.
    fn ok(&mut self, endpoint: &str, cookie: Option<&str>, body: &[u8]) -> Response {
        let response = self
            .post(endpoint, cookie, body)
            .unwrap_or_else(|| panic!("{endpoint}: closed without a response"));
        assert_eq!(response.status, 200, "{endpoint}: {response:?}");
        response
    }

    /// The device refused: the connection is closed without a response.
    fn refused(&mut self, endpoint: &str, cookie: Option<&str>, body: &[u8]) {
        if let Some(response) = self.post(endpoint, cookie, body) {
            panic!("{endpoint}: expected no response, got {response:?}");
        }
    }
}

/// An esp_prov-like client: `proto-ver` (which sets the cookie), then the handshake, always
/// sending the cookie back.
struct Client {
    raw: Raw,
    cookie: String,
    session: ClientSession,
    /// The last encrypted request, for replaying.
    last: Vec<u8>,
}

impl Client {
    fn establish(agent: &Agent, security: ClientSecurity) -> Client {
        let mut raw = Raw::connect(agent);
        let first = raw.ok("proto-ver", None, b"---");
        let cookie = first
            .set_cookie
            .expect("the first response sets the cookie");
        assert!(cookie.starts_with("session="), "{cookie}");
        let (mut hs, mut request) = ClientHandshake::start(security, &mut os_rng()).unwrap();
        let session = loop {
            let response = raw.ok("prov-session", Some(&cookie), &request);
            assert_eq!(response.set_cookie, None);
            match hs.handle_response(&response.body).unwrap() {
                HandshakeStep::Send(next, req) => (hs, request) = (next, req),
                HandshakeStep::Done(session) => break session,
            }
        };
        Client {
            raw,
            cookie,
            session,
            last: Vec::new(),
        }
    }

    /// One encrypted `prov-config` exchange that must work.
    fn config(&mut self, plaintext: &[u8]) -> WiFiConfigPayload {
        let wire = self.session.encrypt(plaintext).unwrap();
        let response = self.raw.ok("prov-config", Some(&self.cookie), &wire);
        assert_eq!(response.set_cookie, None, "not a new session");
        self.last = wire;
        let plain = self.session.decrypt(&response.body).unwrap();
        WiFiConfigPayload::decode(plain.as_slice()).unwrap()
    }

    /// GetStatus must be answered with a status.
    fn still_works(&mut self, after: &str) {
        let answer = self.config(&[0x52, 0x00]);
        assert!(
            matches!(answer.payload, Some(Payload::RespGetStatus(_))),
            "after {after}: {answer:?}"
        );
    }

    fn set_config(&mut self, ssid: &str) {
        let set = WiFiConfigPayload {
            msg: 2,
            payload: Some(Payload::CmdSetConfig(CmdSetConfig {
                ssid: ssid.into(),
                passphrase: "correct-horse".into(),
                ..Default::default()
            })),
        };
        let answer = self.config(&set.encode_to_vec());
        match answer.payload {
            Some(Payload::RespSetConfig(r)) => assert_eq!(r.status, 0),
            other => panic!("{other:?}"),
        }
    }
}

fn agent(kind: u8, extra: &[&str]) -> (Agent, ClientSecurity) {
    let (mut args, security) = sec(kind);
    args.extend(["--wifi", "sim"]);
    args.extend(extra);
    (Agent::start(&args), security)
}

/// A cookie used from another connection while the victim's is open: a fresh Cmd0, 40 random
/// bytes, a replay of the victim's ciphertext. Each is refused; the victim goes on.
fn cookie_from_another_live_connection(kind: u8) {
    let (agent, security) = agent(kind, &[]);
    let mut victim = Client::establish(&agent, security.clone());
    victim.still_works("the handshake");
    let cookie = victim.cookie.clone();

    let (_, cmd0) = ClientHandshake::start(security, &mut os_rng()).unwrap();
    let mut garbage = [0u8; 40];
    getrandom::fill(&mut garbage).unwrap();
    let attacks: [(&str, &str, Vec<u8>); 3] = [
        ("a fresh Cmd0", "prov-session", cmd0),
        ("40 random bytes", "prov-config", garbage.to_vec()),
        ("a replay", "prov-config", victim.last.clone()),
    ];
    for (what, endpoint, body) in attacks {
        let mut attacker = Raw::connect(&agent);
        attacker.refused(endpoint, Some(&cookie), &body);
        victim.still_works(what);
    }
    victim.set_config("HomeNet");
    victim.still_works("SetConfig");
}

/// After the victim's connection closed, its cookie continues the session from a new
/// connection (esp_prov reconnects this way), and from then on that connection holds it.
fn cookie_continues_after_the_connection_closed(kind: u8) {
    let (agent, security) = agent(kind, &[]);
    let mut victim = Client::establish(&agent, security);
    victim.set_config("HomeNet");
    let first = std::mem::replace(&mut victim.raw, Raw::connect(&agent));
    drop(first);
    victim.still_works("reconnecting");
    victim.set_config("HomeNet");
    // The session now belongs to the new connection: a third one is refused.
    let mut attacker = Raw::connect(&agent);
    attacker.refused("prov-config", Some(&victim.cookie), &victim.last.clone());
    victim.still_works("the refused claim");
}

/// The table is full of finished sessions; a legitimate handshake is under way; a stranger's
/// five bytes of garbage (and even valid Cmd0s) do not push it out.
fn full_table_keeps_a_handshake_in_progress(kind: u8) {
    let (agent, security) = agent(kind, &["--max-sessions", "3"]);
    for _ in 0..3 {
        let mut done = Client::establish(&agent, security.clone());
        done.still_works("the handshake");
        // esp_prov ends: the connection closes, the finished session stays.
    }
    // Let the device see the connections close.
    std::thread::sleep(Duration::from_millis(200));
    let mut legit = Raw::connect(&agent);
    let cookie = legit
        .ok("proto-ver", None, b"---")
        .set_cookie
        .expect("cookie");
    let (hs, cmd0) = ClientHandshake::start(security.clone(), &mut os_rng()).unwrap();
    let resp0 = legit.ok("prov-session", Some(&cookie), &cmd0);
    let HandshakeStep::Send(hs, cmd1) = hs.handle_response(&resp0.body).unwrap() else {
        panic!("two-step handshake")
    };

    let mut stranger = Raw::connect(&agent);
    stranger.refused("prov-session", None, &[0x08, 0x02, 0x5a, 0x00, 0xff]);
    // Valid Cmd0s push out the remaining finished sessions (their connections stay open, so
    // their handshakes are in progress too), and then are refused.
    let mut others = Vec::new();
    for _ in 0..2 {
        let mut other = Raw::connect(&agent);
        let (_, cmd0) = ClientHandshake::start(security.clone(), &mut os_rng()).unwrap();
        other.ok("prov-session", None, &cmd0);
        others.push(other);
    }
    let mut late = Raw::connect(&agent);
    let (_, cmd0) = ClientHandshake::start(security, &mut os_rng()).unwrap();
    late.refused("prov-session", None, &cmd0);

    let resp1 = legit.ok("prov-session", Some(&cookie), &cmd1);
    let HandshakeStep::Done(session) = hs.handle_response(&resp1.body).unwrap() else {
        panic!("the right credentials must be accepted")
    };
    let mut client = Client {
        raw: legit,
        cookie,
        session,
        last: Vec::new(),
    };
    client.still_works("the stranger's garbage");
    client.set_config("HomeNet");
}

#[test]
fn security1_cookie_from_another_live_connection() {
    cookie_from_another_live_connection(1);
}

#[test]
fn security2_cookie_from_another_live_connection() {
    cookie_from_another_live_connection(2);
}

#[test]
fn security1_cookie_continues_after_the_connection_closed() {
    cookie_continues_after_the_connection_closed(1);
}

#[test]
fn security2_cookie_continues_after_the_connection_closed() {
    cookie_continues_after_the_connection_closed(2);
}

#[test]
fn security1_full_table_keeps_a_handshake_in_progress() {
    full_table_keeps_a_handshake_in_progress(1);
}

#[test]
fn security2_full_table_keeps_a_handshake_in_progress() {
    full_table_keeps_a_handshake_in_progress(2);
}
