//! `wifiprov device` against password guessers and handshake floods over loopback: an
//! attacker at 127.0.0.2 (loopback answers any 127/8 source) guesses PoPs or floods `Cmd0`
//! while a legitimate `wifiprov provision` from 127.0.0.1 gets through, and a throttled client
//! is told so (exit 11) instead of hearing that its PoP is wrong.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use protocomm::{ClientHandshake, ClientSecurity, HandshakeStep, Secret};
use support::{Agent, Run, client_credentials, os_rng, sec, wifiprov};

const TIMEOUT: Duration = Duration::from_secs(10);
const RIGHT: [&str; 4] = ["--ssid", "HomeNet", "--passphrase", "correct-horse"];
/// The wrong PoP the attacker tries; it must never appear in the device's log.
const GUESS: &str = "guess-9f3e71";

/// What the device made of one request.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// `200` and the body.
    Ok(Vec<u8>),
    /// `429 Too Many Requests` and its `Retry-After`.
    Throttled(u64),
    /// Another status.
    Status(u16),
    /// Closed without a response.
    Closed,
}

/// A keep-alive HTTP connection from `from` (any 127/8 address).
struct Raw {
    stream: TcpStream,
}

impl Raw {
    fn connect(addr: &str, from: [u8; 4]) -> Option<Raw> {
        let addr: SocketAddr = addr.parse().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let stream = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().ok()?;
            socket
                .bind(SocketAddr::from((from, 0)))
                .expect("loopback accepts any 127/8 source");
            let stream = tokio::time::timeout(TIMEOUT, socket.connect(addr))
                .await
                .ok()?
                .ok()?;
            stream.into_std().ok()
        })?;
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        Some(Raw { stream })
    }

    fn post(&mut self, endpoint: &str, body: &[u8]) -> Answer {
        let head = format!(
            "POST /{endpoint} HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        if self.stream.write_all(&request).is_err() {
            return Answer::Closed;
        }
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Answer::Closed,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Answer::Closed;
                }
                Err(e) => panic!("no answer within {TIMEOUT:?}: {e}"),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
        let header = |name: &str| {
            head.split("\r\n")
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let length = header("content-length:").unwrap_or(0) as usize;
        while buf.len() < head_end + length {
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => panic!("truncated body"),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        match status {
            200 => Answer::Ok(buf[head_end..head_end + length].to_vec()),
            429 => Answer::Throttled(header("retry-after:").expect("Retry-After")),
            other => Answer::Status(other),
        }
    }
}

/// One handshake from `from` with `security`: the first answer that is not a `200`, or
/// `Ok` once established.
fn handshake(addr: &str, from: [u8; 4], security: ClientSecurity) -> Answer {
    let Some(mut raw) = Raw::connect(addr, from) else {
        return Answer::Closed;
    };
    let (mut hs, mut request) = ClientHandshake::start(security, &mut os_rng()).unwrap();
    loop {
        let body = match raw.post("prov-session", &request) {
            Answer::Ok(body) => body,
            other => return other,
        };
        match hs.handle_response(&body) {
            Ok(HandshakeStep::Send(next, req)) => (hs, request) = (next, req),
            Ok(HandshakeStep::Done(_)) => return Answer::Ok(Vec::new()),
            Err(e) => panic!("device answered nonsense: {e}"),
        }
    }
}

fn wrong(kind: u8) -> ClientSecurity {
    match sec(kind).1 {
        ClientSecurity::Sec2 {
            username, patch, ..
        } => ClientSecurity::Sec2 {
            username,
            password: Secret::from(GUESS),
            patch,
        },
        _ => ClientSecurity::Sec1 {
            pop: Some(Secret::from(GUESS)),
        },
    }
}

fn agent(kind: u8, extra: &[&str]) -> Agent {
    let (mut args, _) = sec(kind);
    args.extend(["--connect-delay", "0"]);
    args.extend(extra);
    Agent::start(&args)
}

/// `wifiprov provision` from 127.0.0.1 with `credentials`, bounded by `--timeout 20`.
fn provision(agent: &Agent, credentials: &[&str]) -> Run {
    let mut args = vec!["provision", "--service_name", agent.addr.as_str()];
    args.extend(credentials);
    args.extend(RIGHT);
    args.extend(["--timeout", "20"]);
    wifiprov(&args)
}

/// Runs `attack` in a loop on a thread until stopped (at most `max` rounds).
fn attacker(
    max: usize,
    attack: impl Fn() -> Answer + Send + 'static,
) -> (
    Arc<AtomicBool>,
    Arc<AtomicUsize>,
    std::thread::JoinHandle<Vec<Answer>>,
) {
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let (s, r) = (stop.clone(), rounds.clone());
    let thread = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..max {
            if s.load(Ordering::Acquire) {
                break;
            }
            let answer = attack();
            if matches!(answer, Answer::Throttled(_)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            seen.push(answer);
            r.fetch_add(1, Ordering::AcqRel);
        }
        seen
    });
    (stop, rounds, thread)
}

fn wait_for(rounds: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + TIMEOUT;
    while rounds.load(Ordering::Acquire) < n {
        assert!(Instant::now() < deadline, "the attacker stalled");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_guesser_at_another_address_does_not_lock_out_the_owner() {
    for kind in [1u8, 2] {
        let agent = agent(kind, &["--auth-free-failures", "2", "--auth-backoff", "2"]);
        let target = agent.addr.clone();
        let (stop, rounds, thread) =
            attacker(400, move || handshake(&target, [127, 0, 0, 2], wrong(kind)));
        // The guesser is paused by now.
        wait_for(&rounds, 4);
        let run = provision(&agent, &client_credentials(kind));
        stop.store(true, Ordering::Release);
        let seen = thread.join().unwrap();
        assert_eq!(run.code, 0, "security {kind}: {run:#?}");
        assert!(
            seen.iter().any(|a| matches!(a, Answer::Throttled(_))),
            "security {kind}: the guesser was never throttled: {seen:?}"
        );
        assert!(
            !seen.iter().any(|a| matches!(a, Answer::Ok(_))),
            "security {kind}: a wrong guess got through"
        );
        let log = agent.output();
        assert!(
            log.lines().any(|l| l.contains("WARN")
                && l.contains("authentication failed")
                && l.contains("127.0.0.2")),
            "security {kind}: no WARN line for the failures: {log}"
        );
        assert!(
            log.lines()
                .any(|l| l.contains("WARN") && l.contains("throttled") && l.contains("127.0.0.2")),
            "security {kind}: no WARN line for the throttling: {log}"
        );
        assert!(!log.contains(GUESS), "the guess was logged: {log}");
        assert!(!log.contains("abcd1234") && !log.contains("s3cret-srp-pw"));
    }
}

#[test]
fn a_throttled_client_is_told_to_retry_not_that_its_pop_is_wrong() {
    for kind in [1u8, 2] {
        let agent = agent(kind, &["--auth-free-failures", "1", "--auth-backoff", "60"]);
        let bad: Vec<&str> = match kind {
            1 => vec!["--pop", GUESS],
            _ => vec!["--sec2_username", "wifiprov", "--sec2_pwd", GUESS],
        };
        let run = provision(&agent, &bad);
        assert_eq!(run.code, 4, "security {kind}: wrong secret: {run:#?}");
        let run = provision(&agent, &client_credentials(kind));
        assert_eq!(run.code, 11, "security {kind}: throttled: {run:#?}");
        assert!(
            run.stderr
                .contains("the device is throttling authentication attempts; retry in "),
            "{run:#?}"
        );
        assert!(!run.stderr.contains("proof of possession"), "{run:#?}");
        // Another address is not held up.
        let (_, right) = sec(kind);
        assert_eq!(
            handshake(&agent.addr, [127, 0, 0, 3], right),
            Answer::Ok(Vec::new())
        );
    }
}

#[test]
fn cmd0_floods_leave_proto_ver_and_the_owner_alone() {
    for kind in [1u8, 2] {
        let agent = agent(kind, &[]);
        let mut threads = Vec::new();
        for n in 2..6u8 {
            let target = agent.addr.clone();
            let (_, cmd0) = ClientHandshake::start(wrong(kind), &mut os_rng()).unwrap();
            threads.push(attacker(300, move || {
                let Some(mut raw) = Raw::connect(&target, [127, 0, 0, n]) else {
                    return Answer::Closed;
                };
                // Several Cmd0s per connection, then a new connection.
                let mut last = Answer::Closed;
                for _ in 0..4 {
                    last = raw.post("prov-session", &cmd0);
                    if last == Answer::Closed {
                        break;
                    }
                }
                last
            }));
        }
        for (_, rounds, _) in &threads {
            wait_for(rounds, 2);
        }
        // proto-ver keeps answering from a fresh address.
        let mut raw = Raw::connect(&agent.addr, [127, 0, 0, 9]).unwrap();
        for _ in 0..20 {
            match raw.post("proto-ver", b"---") {
                Answer::Ok(body) => assert!(body.starts_with(b"{"), "{body:?}"),
                other => panic!("security {kind}: proto-ver answered {other:?}"),
            }
        }
        let run = provision(&agent, &client_credentials(kind));
        let mut throttled = 0;
        for (stop, _, thread) in threads {
            stop.store(true, Ordering::Release);
            let seen = thread.join().unwrap();
            throttled += seen
                .iter()
                .filter(|a| matches!(a, Answer::Throttled(_)))
                .count();
        }
        assert_eq!(run.code, 0, "security {kind}: {run:#?}");
        assert!(
            throttled > 0,
            "security {kind}: the flood was never throttled"
        );
    }
}
