//! The console transport, client side: one command line per request over a serial port, a
//! pseudo-terminal or a spawned command's standard input and output.
//!
//! Each request is written as `<endpoint> <session-id> <payload-hex>\r` (ESP-IDF's console
//! syntax, spec §8.3). The transport then reads output lines (split at LF, a trailing CR and
//! any leading `>> ` prompts removed) until one of them is:
//!
//! * only hex digits: the answer;
//! * `error: rejected…` (see `wifiprov_transport::console::REJECTED`): the device refused the
//!   request, [`TransportError::Rejected`];
//! * any other line starting with `error: `: [`TransportError::Status`] with the rest of it.
//!
//! Anything else (the echo of the command, prompts, blank lines, log output) is skipped. An
//! ESP-IDF device prints nothing on failure, so there the request ends in
//! [`TransportError::Timeout`]. End of input means the port or command went away:
//! [`TransportError::Unreachable`]. An empty answer cannot be told from a blank line, so it
//! also ends in a timeout (no standard endpoint answers with nothing).
//!
//! The session id is a random number in `1..=i32::MAX` (ESP-IDF parses it with `atoi`), drawn
//! anew by [`ClientTransport::reset_session`].

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, Command};
use wifiprov_transport::console::{ERROR_PREFIX, REJECTED, THROTTLED, decode_hex, encode_hex};
use wifiprov_wifi::BoxFuture;

use crate::transport::{ClientTransport, TransportError};

/// Longest output line kept while looking for an answer; longer lines are skipped.
const MAX_OUTPUT_LINE: usize = 1 << 20;

/// A boxed reading half.
type Reader = Box<dyn AsyncRead + Unpin + Send>;
/// A boxed writing half.
type Writer = Box<dyn AsyncWrite + Unpin + Send>;

/// The console transport over any byte stream pair.
pub struct ConsoleTransport {
    reader: Reader,
    writer: Writer,
    name: String,
    timeout: Duration,
    session: u32,
    /// Received bytes not yet split into lines.
    pending: Vec<u8>,
    closed: bool,
    /// The spawned command, killed when the transport is dropped.
    _child: Option<Child>,
}

impl ConsoleTransport {
    /// A transport reading the device's output from `reader` and writing commands to
    /// `writer`. `name` describes the link in messages (`/dev/ttyUSB0`); `timeout` bounds each
    /// request.
    pub fn new(
        reader: impl AsyncRead + Unpin + Send + 'static,
        writer: impl AsyncWrite + Unpin + Send + 'static,
        name: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        ConsoleTransport {
            reader: Box::new(reader),
            writer: Box::new(writer),
            name: name.into(),
            timeout,
            session: new_session_id(),
            pending: Vec::new(),
            closed: false,
            _child: None,
        }
    }

    /// Runs `command` with `sh -c` and talks to its standard input and output (its standard
    /// error stays this process's). The command is killed when the transport is dropped.
    pub fn spawn(command: &str, timeout: Duration) -> Result<Self, TransportError> {
        let unreachable = |reason: String| TransportError::Unreachable {
            target: format!("console command {command:?}"),
            reason,
        };
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| unreachable(format!("cannot start it: {e}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(unreachable("its standard streams are not available".into()));
        };
        let mut transport = ConsoleTransport::new(
            stdout,
            stdin,
            format!("console command {command:?}"),
            timeout,
        );
        transport._child = Some(child);
        Ok(transport)
    }

    /// The session id sent with every request.
    pub fn session_id(&self) -> u32 {
        self.session
    }

    fn unreachable(&self, reason: impl Into<String>) -> TransportError {
        TransportError::Unreachable {
            target: self.name.clone(),
            reason: reason.into(),
        }
    }

    async fn exchange(&mut self, endpoint: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.closed {
            return Err(self.unreachable("the console was closed"));
        }
        // Complete lines left from an earlier request (e.g. one that timed out) are stale.
        if let Some(last) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.pending.drain(..=last);
        }
        let line = format!("{endpoint} {} {}\r", self.session, encode_hex(body));
        tracing::debug!(
            "console: {endpoint} request of {} bytes on session {}",
            body.len(),
            self.session
        );
        let written = async {
            self.writer.write_all(line.as_bytes()).await?;
            self.writer.flush().await
        }
        .await;
        if let Err(e) = written {
            self.closed = true;
            return Err(
                self.unreachable(if e.kind() == std::io::ErrorKind::BrokenPipe {
                    "the console closed (broken pipe)".to_string()
                } else {
                    format!("cannot write: {e}")
                }),
            );
        }
        let mut chunk = vec![0u8; 4096];
        loop {
            while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                if let Some(result) = classify(&line) {
                    return result;
                }
            }
            if self.pending.len() > MAX_OUTPUT_LINE {
                self.pending.clear();
            }
            match self.reader.read(&mut chunk).await {
                Ok(0) => {
                    self.closed = true;
                    return Err(self.unreachable("the console closed (end of file)"));
                }
                Ok(n) => self
                    .pending
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // A pseudo-terminal whose other side closed reports EIO.
                    self.closed = true;
                    return Err(self.unreachable(format!("cannot read: {e}")));
                }
            }
        }
    }
}

/// What an output line means: an answer, an error, or `None` (skip it).
fn classify(line: &[u8]) -> Option<Result<Vec<u8>, TransportError>> {
    let mut text = String::from_utf8_lossy(line).trim().to_string();
    while let Some(rest) = text.strip_prefix(">>") {
        text = rest.trim_start().to_string();
    }
    if text.is_empty() {
        return None;
    }
    if text.starts_with(REJECTED) {
        return Some(Err(TransportError::Rejected));
    }
    if let Some(rest) = text.strip_prefix(THROTTLED) {
        let seconds = rest
            .trim_end_matches(" s")
            .trim()
            .parse::<u64>()
            .unwrap_or(1);
        return Some(Err(TransportError::Throttled {
            retry_after: Duration::from_secs(seconds.max(1)),
        }));
    }
    if let Some(message) = text.strip_prefix(ERROR_PREFIX) {
        return Some(Err(TransportError::Status(message.to_string())));
    }
    if text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return decode_hex(text.as_bytes()).map(Ok);
    }
    tracing::trace!("console: skipped an output line of {} bytes", text.len());
    None
}

fn new_session_id() -> u32 {
    let mut bytes = [0u8; 4];
    let drawn = if getrandom::fill(&mut bytes).is_ok() {
        u32::from_le_bytes(bytes)
    } else {
        std::process::id()
    };
    (drawn & 0x7fff_ffff).max(1)
}

impl ClientTransport for ConsoleTransport {
    fn request<'a>(
        &'a mut self,
        endpoint: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>> {
        Box::pin(async move {
            let timeout = self.timeout;
            match tokio::time::timeout(timeout, self.exchange(endpoint, body)).await {
                Ok(result) => result,
                Err(_) => Err(TransportError::Timeout(timeout)),
            }
        })
    }

    fn reset_session(&mut self) {
        self.session = new_session_id();
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_classified() {
        assert!(classify(b"\r\n").is_none());
        assert!(classify(b">> prov-session 5 0a0b\r\n").is_none());
        assert!(classify(b">> \r\n").is_none());
        assert_eq!(classify(b"0aff\r\n").unwrap().unwrap(), vec![0x0a, 0xff]);
        assert_eq!(classify(b">> 0AFF\n").unwrap().unwrap(), vec![0x0a, 0xff]);
        assert!(matches!(
            classify(b"error: rejected (no response)\r\n"),
            Some(Err(TransportError::Rejected))
        ));
        assert!(matches!(
            classify(b"error: throttled; retry in 12 s\r\n"),
            Some(Err(TransportError::Throttled { retry_after })) if retry_after.as_secs() == 12
        ));
        assert!(matches!(
            classify(b"error: unknown endpoint \"x\"\r\n"),
            Some(Err(TransportError::Status(m))) if m == "unknown endpoint \"x\""
        ));
        // An odd number of digits is not an answer (it could be log noise).
        assert!(classify(b"abc\r\n").is_none());
        assert!(classify(b"I (123) wifi: started\r\n").is_none());
    }

    #[test]
    fn session_ids_fit_atoi() {
        for _ in 0..100 {
            let id = new_session_id();
            assert!((1..=0x7fff_ffff).contains(&id));
        }
    }

    #[tokio::test]
    async fn echo_and_prompts_are_skipped() {
        let (client_side, device_side) = tokio::io::duplex(4096);
        let (reader, writer) = tokio::io::split(client_side);
        let mut t = ConsoleTransport::new(reader, writer, "test", Duration::from_secs(5));
        let fake = tokio::spawn(async move {
            let (mut r, mut w) = tokio::io::split(device_side);
            w.write_all(b"\n>> ").await.unwrap();
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while byte != [b'\r'] {
                r.read_exact(&mut byte).await.unwrap();
                line.push(byte[0]);
            }
            let text = String::from_utf8(line.clone()).unwrap();
            assert!(text.starts_with("proto-ver "), "{text}");
            assert!(text.ends_with(" 2d2d2d\r"), "{text}");
            w.write_all(&line[..line.len() - 1]).await.unwrap();
            w.write_all(b"\r\n\r\n7b7d\r\n\n>> ").await.unwrap();
            // Then the port closes.
        });
        assert_eq!(t.request("proto-ver", b"---").await.unwrap(), b"{}");
        fake.await.unwrap();
        let err = t.request("proto-ver", b"---").await.unwrap_err();
        assert!(
            matches!(&err, TransportError::Unreachable { reason, .. } if reason.contains("closed")),
            "{err}"
        );
    }
}
