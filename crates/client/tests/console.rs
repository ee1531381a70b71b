//! The console transport end to end: our client and our agent on the two sides of a
//! pseudo-terminal pair (the agent on the slave side, like a device's UART), for every
//! security scheme, plus malformed lines and a port that closes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fs::File;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use protocomm::{Sec2Credentials, Secret, Security};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use wifiprov_agent::{AgentBuilder, RunningAgent};
use wifiprov_client::{
    ClientTransport, ConsoleTransport, Credentials, Error, ExitCode, Provisioner, TransportError,
};
use wifiprov_device::ManagerConfig;
use wifiprov_transport::console::{ConsoleConfig, serve_console};
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

fn nonblocking(fd: OwnedFd) -> (pipe::Receiver, pipe::Sender) {
    fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    let file = File::from(fd);
    let writer = pipe::Sender::from_file_unchecked(file.try_clone().unwrap()).unwrap();
    let reader = pipe::Receiver::from_file_unchecked(file).unwrap();
    (reader, writer)
}

/// A pty pair with the slave in raw mode: (master, slave).
fn pty() -> (OwnedFd, OwnedFd) {
    let pair = nix::pty::openpty(None, None).unwrap();
    let mut t = tcgetattr(&pair.slave).unwrap();
    cfmakeraw(&mut t);
    tcsetattr(&pair.slave, SetArg::TCSANOW, &t).unwrap();
    (pair.master, pair.slave)
}

async fn agent(security: Security) -> RunningAgent {
    let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let mut b = AgentBuilder::new(security, wifi);
    b.manager = ManagerConfig {
        connect_delay: Duration::ZERO,
        ..ManagerConfig::default()
    };
    let agent = b.start().await.unwrap();
    assert!(!agent.serves_http());
    agent
}

/// Serves `agent` on the slave side of a new pty; returns the master side and the task.
fn serve_on_pty(
    agent: &RunningAgent,
    config: ConsoleConfig,
) -> (OwnedFd, tokio::task::JoinHandle<std::io::Result<()>>) {
    let (master, slave) = pty();
    let (reader, writer) = nonblocking(slave);
    let task = tokio::spawn(serve_console(
        reader,
        writer,
        agent.service(),
        config,
        std::future::pending(),
    ));
    (master, task)
}

fn sec2() -> Security {
    Security::Sec2 {
        credentials: Sec2Credentials::generate(
            b"wifiprov",
            &Secret::from("abcd1234"),
            &mut protocomm::rand_core::UnwrapErr(getrandom::SysRng),
        )
        .unwrap(),
        patch: 1,
    }
}

#[tokio::test]
async fn every_scheme_provisions_over_a_pty() {
    let cases = [
        (Security::Sec0, Credentials::default()),
        (
            Security::Sec1 {
                pop: Some(Secret::from("abcd1234")),
            },
            Credentials::pop("abcd1234"),
        ),
        // Impossible over ESP-IDF's 256-byte console lines; fits the default limit here.
        (sec2(), Credentials::srp("wifiprov", "abcd1234")),
    ];
    for (security, creds) in cases {
        let version = security.version();
        let agent = agent(security).await;
        let (master, _task) = serve_on_pty(&agent, ConsoleConfig::default());
        let (reader, writer) = nonblocking(master);
        let transport = ConsoleTransport::new(reader, writer, "pty", Duration::from_secs(10));
        let mut c = Provisioner::new(transport);
        let negotiated = c.negotiate(None, &creds).await.unwrap();
        assert_eq!(negotiated.version(), version);
        c.establish(negotiated).await.unwrap();
        let scan = c.scan().await.unwrap();
        assert!(scan.iter().any(|ap| ap.ssid == b"HomeNet"));
        let joined = c.provision(b"HomeNet", b"correct-horse").await.unwrap();
        assert_eq!(joined.ip, "192.168.1.42");
        agent.finished().await;
    }
}

#[tokio::test]
async fn wrong_pop_is_an_auth_error_over_the_console() {
    let agent = agent(Security::Sec1 {
        pop: Some(Secret::from("abcd1234")),
    })
    .await;
    let (master, _task) = serve_on_pty(&agent, ConsoleConfig::default());
    let (reader, writer) = nonblocking(master);
    let mut c = Provisioner::new(ConsoleTransport::new(
        reader,
        writer,
        "pty",
        Duration::from_secs(10),
    ));
    let negotiated = c.negotiate(None, &Credentials::pop("wrong")).await.unwrap();
    let err = c.establish(negotiated).await.unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Auth, "{err}");
    agent.shutdown().await;
}

/// Reads from the master until `needle` has appeared after the last prompt.
async fn read_until(reader: &mut pipe::Receiver, seen: &mut String, needle: &str) {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !seen.contains(needle) {
            let n = reader.read(&mut buf).await.unwrap();
            assert!(n > 0, "console ended; output so far: {seen:?}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} in {seen:?}"));
}

#[tokio::test]
async fn malformed_lines_get_error_lines_and_the_console_goes_on() {
    let agent = agent(Security::Sec0).await;
    let config = ConsoleConfig {
        max_line: 256,
        echo: true,
    };
    let (master, task) = serve_on_pty(&agent, config);
    let (mut reader, mut writer) = nonblocking(master);
    let mut seen = String::new();
    read_until(&mut reader, &mut seen, "\n>> ").await;

    let long = format!("proto-ver 1 {}\r", "ab".repeat(200));
    let cases: [(&str, &str); 8] = [
        (
            "hello world\r",
            "hello world\r\nerror: expected <endpoint> <session-id> <payload-hex>\r\n\n>> ",
        ),
        ("proto-ver 1 zz\r", "error: not hex\r\n"),
        ("proto-ver x 00\r", "error: bad session id \"x\"\r\n"),
        ("nope 1 00\r", "error: unknown endpoint \"nope\"\r\n"),
        (&long, "error: line too long (412 > 256 bytes)\r\n"),
        // A bad protobuf: protocomm refuses, where an ESP device would print nothing.
        ("prov-session 1 ffff\r", "error: rejected (no response)\r\n"),
        // An LF-terminated line, odd trailing digit ignored ("---" plus a stray digit).
        ("proto-ver 1 2d2d2d7\n", "\r\n7b"),
        // Still serving: a blank line only prints the prompt.
        ("\r", "\r\n\n>> "),
    ];
    for (line, expected) in cases {
        seen.clear();
        writer.write_all(line.as_bytes()).await.unwrap();
        read_until(&mut reader, &mut seen, expected).await;
        read_until(&mut reader, &mut seen, "\n>> ").await;
    }
    // Echo off: only the answer and the prompt come back.
    drop((reader, writer));
    let _ = task.await;
    let (master, _task) = serve_on_pty(
        &agent,
        ConsoleConfig {
            echo: false,
            ..ConsoleConfig::default()
        },
    );
    let (mut reader, mut writer) = nonblocking(master);
    let mut seen = String::new();
    read_until(&mut reader, &mut seen, "\n>> ").await;
    seen.clear();
    writer.write_all(b"proto-ver 5 2d2d2d\r").await.unwrap();
    read_until(&mut reader, &mut seen, "\n>> ").await;
    assert!(seen.starts_with("\r\n7b"), "{seen:?}");
    assert!(!seen.contains("proto-ver"), "{seen:?}");
    agent.shutdown().await;
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let agent = agent(Security::Sec0).await;
    let (master, task) = serve_on_pty(&agent, ConsoleConfig::default());
    let (reader, writer) = nonblocking(master);
    let mut t = ConsoleTransport::new(reader, writer, "pty", Duration::from_secs(10));
    assert!(t.request("proto-ver", b"---").await.is_ok());
    // The device side goes away.
    task.abort();
    let _ = task.await;
    let err = t.request("proto-ver", b"---").await.unwrap_err();
    assert!(matches!(err, TransportError::Unreachable { .. }), "{err}");
    let err = Error::from(err);
    assert_eq!(err.exit_code(), ExitCode::Unreachable);
    agent.shutdown().await;
}

#[tokio::test]
async fn a_spawned_command_that_exits_is_unreachable() {
    let mut t = ConsoleTransport::spawn("true", Duration::from_secs(10)).unwrap();
    let err = t.request("proto-ver", b"---").await.unwrap_err();
    assert!(matches!(err, TransportError::Unreachable { .. }), "{err}");
}
