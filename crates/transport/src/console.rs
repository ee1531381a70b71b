//! The console (UART) transport: one protocomm request per text line, as ESP-IDF's
//! `protocomm_console` reads them on UART0 (spec §8.3).
//!
//! # Wire behaviour
//!
//! * **Prompt.** The service prints [`PROMPT`] (`"\n>> "`) when it starts and after every line.
//! * **Echo.** With [`ConsoleConfig::echo`] on (the default, as on ESP-IDF, for people typing
//!   into a terminal) every received byte is written back; a line terminator is echoed as
//!   `"\r\n"`, and backspace (0x08) or DEL (0x7f) erase the last byte (echoed as `"\x08 \x08"`).
//! * **Line end.** A line ends at CR (0x0D), as on ESP-IDF. Unlike ESP-IDF, a lone LF (0x0A)
//!   ends a line too, so that commands can be piped in from files and scripts; an LF right
//!   after a CR belongs to that CR (CRLF is one terminator).
//! * **Line limit.** At most [`ConsoleConfig::max_line`] bytes (default
//!   [`DEFAULT_MAX_LINE`]); ESP-IDF's 256 bytes are too few for security 2, whose first
//!   handshake message alone is over 800 hex digits. Bytes of an overlong line are discarded
//!   up to the next terminator and the line is answered with an error.
//! * **Command.** `<endpoint> <session-id> <payload-hex>`, separated by spaces or tabs.
//!   `session-id` is a decimal `u32`; `payload-hex` is pairs of hex digits in either case, and
//!   an odd trailing digit is ignored, as ESP-IDF does. An empty line just prints the prompt.
//! * **Success.** `"\r\n"`, the response as lowercase hex, `"\r\n"`, then the prompt.
//! * **Failure.** ESP-IDF prints nothing. This service prints one line starting with
//!   [`ERROR_PREFIX`] (`"error: "`) instead, then the prompt, and keeps serving:
//!   * `error: rejected (no response)`: protocomm refused the request (wrong proof of
//!     possession, failed decryption, unknown session, failing handler, …): the case where an
//!     ESP-IDF device prints nothing. The reason is logged at debug level, never sent.
//!   * `error: throttled; retry in <n> s`: the device is throttling authentication attempts
//!     ([`THROTTLED`]); the handshake was not tried.
//!   * `error: unknown endpoint "<name>"`, `error: not hex`, `error: bad session id "<text>"`,
//!     `error: expected <endpoint> <session-id> <payload-hex>`,
//!     `error: line too long (<n> > <limit> bytes)`: the line itself was malformed.
//!
//!   An answer line consists of hex digits only and an error line never does, so a client
//!   tells them apart by the prefix.
//!
//! # Sessions
//!
//! As on ESP-IDF, the console holds one current session. A line whose session id differs from
//! the current one closes the current protocomm session and opens a new one. Console ids are
//! chosen by the client and never reach the device: each one is a new connection to the
//! [`Service`], whose device mints the protocomm session id, so they never collide with
//! sessions of other transports. The session is closed when the console ends.

use std::future::Future;
use std::io;

use protocomm::AfterDisconnect;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::debug;

use crate::service::{Connection, Service};

/// The prompt ESP-IDF prints before every command line.
pub const PROMPT: &str = "\n>> ";

/// How every error line begins.
pub const ERROR_PREFIX: &str = "error: ";

/// The error line printed where an ESP-IDF device would print nothing (protocomm refused).
pub const REJECTED: &str = "error: rejected (no response)";

/// How the error line of a throttled handshake begins; whole seconds and `" s"` follow.
pub const THROTTLED: &str = "error: throttled; retry in ";

/// Default longest command line, in bytes: room for requests of about 2000 bytes, enough for
/// every security 2 handshake message.
pub const DEFAULT_MAX_LINE: usize = 4096;

/// Settings of the console transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Longest accepted command line in bytes, terminator excluded (default
    /// [`DEFAULT_MAX_LINE`]; ESP-IDF's is 256).
    pub max_line: usize,
    /// Write received bytes back, as a terminal expects (default on, as ESP-IDF).
    pub echo: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            max_line: DEFAULT_MAX_LINE,
            echo: true,
        }
    }
}

/// A complete input line, as produced by [`LineReader::push`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineEvent {
    /// A line within the limit, terminator removed.
    Line(Vec<u8>),
    /// A line that exceeded the limit; it had this many bytes and was discarded.
    TooLong(usize),
}

/// Splits console input into lines, byte by byte, and computes the echo (sans I/O).
#[derive(Debug)]
pub struct LineReader {
    buf: Vec<u8>,
    max_line: usize,
    /// Length of the line being discarded, once it went over the limit.
    overflow: Option<usize>,
    after_cr: bool,
}

impl LineReader {
    /// A reader accepting lines of at most `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        LineReader {
            buf: Vec::new(),
            max_line,
            overflow: None,
            after_cr: false,
        }
    }

    /// Takes one received byte, appends its echo to `echo`, and returns a line when `byte`
    /// ended one.
    pub fn push(&mut self, byte: u8, echo: &mut Vec<u8>) -> Option<LineEvent> {
        let after_cr = std::mem::replace(&mut self.after_cr, false);
        match byte {
            b'\n' if after_cr => None,
            b'\r' | b'\n' => {
                self.after_cr = byte == b'\r';
                echo.extend_from_slice(b"\r\n");
                Some(match self.overflow.take() {
                    Some(len) => {
                        self.buf.clear();
                        LineEvent::TooLong(len)
                    }
                    None => LineEvent::Line(std::mem::take(&mut self.buf)),
                })
            }
            0x08 | 0x7f => {
                if self.overflow.is_none() && self.buf.pop().is_some() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
                None
            }
            _ => {
                echo.push(byte);
                match &mut self.overflow {
                    Some(len) => *len = len.saturating_add(1),
                    None if self.buf.len() >= self.max_line => {
                        self.overflow = Some(self.buf.len().saturating_add(1));
                        self.buf = Vec::new();
                    }
                    None => self.buf.push(byte),
                }
                None
            }
        }
    }
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The endpoint name.
    pub endpoint: String,
    /// The session id chosen by the client.
    pub session: u32,
    /// The decoded payload.
    pub payload: Vec<u8>,
}

/// Why a command line was refused (its `Display` is the text after [`ERROR_PREFIX`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Not three fields.
    #[error("expected <endpoint> <session-id> <payload-hex>")]
    Syntax,
    /// The session id is not a decimal `u32`.
    #[error("bad session id {0:?}")]
    SessionId(String),
    /// The payload has a character that is not a hex digit.
    #[error("not hex")]
    NotHex,
    /// The line was longer than the limit.
    #[error("line too long ({len} > {limit} bytes)")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// No such endpoint is registered.
    #[error("unknown endpoint {0:?}")]
    UnknownEndpoint(String),
}

/// Parses `<endpoint> <session-id> <payload-hex>`. `Ok(None)` for a blank line.
pub fn parse_command(line: &[u8]) -> Result<Option<Command>, LineError> {
    let text = String::from_utf8_lossy(line);
    let fields: Vec<&str> = text.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
    let [endpoint, session, hex] = fields.as_slice() else {
        return if fields.is_empty() {
            Ok(None)
        } else {
            Err(LineError::Syntax)
        };
    };
    let session = if session.bytes().all(|b| b.is_ascii_digit()) {
        session.parse::<u32>().ok()
    } else {
        None
    }
    .ok_or_else(|| LineError::SessionId(truncate(session)))?;
    Ok(Some(Command {
        endpoint: (*endpoint).to_string(),
        session,
        payload: decode_hex(hex.as_bytes()).ok_or(LineError::NotHex)?,
    }))
}

/// Decodes hex digits of either case, ignoring an odd trailing digit; `None` if a character
/// is not a hex digit.
pub fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    let digits = text
        .iter()
        .map(|&c| char::from(c).to_digit(16))
        .collect::<Option<Vec<u32>>>()?;
    Some(
        digits
            .chunks_exact(2)
            .map(|pair| match pair {
                [hi, lo] => u8::try_from(hi * 16 + lo).unwrap_or(0),
                _ => 0,
            })
            .collect(),
    )
}

/// Encodes bytes as lowercase hex.
pub fn encode_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn truncate(text: &str) -> String {
    text.chars().take(24).collect()
}

/// The console's current session: the client's id and the device connection it maps to
/// (dropping it closes the protocomm session).
struct CurrentSession {
    client_id: u32,
    connection: Connection,
}

/// Serves `service` on a console until `reader` ends, or `shutdown` completes.
///
/// Returns `Ok` at end of input or on shutdown, and the I/O error that ended the console
/// otherwise. Malformed lines and refused requests never end it.
pub async fn serve_console<R, W>(
    mut reader: R,
    mut writer: W,
    service: Service,
    config: ConsoleConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut current: Option<CurrentSession> = None;
    let result = serve_lines(
        &mut reader,
        &mut writer,
        &service,
        &config,
        &mut current,
        shutdown,
    )
    .await;
    drop(current);
    match result {
        // The other side went away: the same as the end of input.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

async fn serve_lines<R, W>(
    reader: &mut R,
    writer: &mut W,
    service: &Service,
    config: &ConsoleConfig,
    current: &mut Option<CurrentSession>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = LineReader::new(config.max_line);
    let mut input = vec![0u8; 1024];
    tokio::pin!(shutdown);
    writer.write_all(PROMPT.as_bytes()).await?;
    writer.flush().await?;
    loop {
        let n = tokio::select! {
            () = &mut shutdown => return Ok(()),
            read = reader.read(&mut input) => match read {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            },
        };
        let mut out = Vec::new();
        for &byte in input.get(..n).unwrap_or_default() {
            let mut echo = Vec::new();
            let event = lines.push(byte, &mut echo);
            if config.echo {
                out.extend_from_slice(&echo);
            }
            let Some(event) = event else { continue };
            let answer = answer(service, current, event, config.max_line).await;
            match answer {
                Some(Ok(hex)) => {
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(hex.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                Some(Err(message)) => {
                    out.extend_from_slice(message.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                None => {}
            }
            out.extend_from_slice(PROMPT.as_bytes());
            // Answer each line before handling the next one.
            writer.write_all(&out).await?;
            writer.flush().await?;
            out.clear();
        }
        if !out.is_empty() {
            writer.write_all(&out).await?;
            writer.flush().await?;
        }
    }
}

/// The hex answer or the error line for one input line; `None` for a blank line.
async fn answer(
    service: &Service,
    current: &mut Option<CurrentSession>,
    event: LineEvent,
    limit: usize,
) -> Option<Result<String, String>> {
    let command = match event {
        LineEvent::TooLong(len) => Err(LineError::TooLong { len, limit }),
        LineEvent::Line(line) => parse_command(&line),
    }
    .and_then(|command| match command {
        Some(c) if service.with_device(|d| d.endpoint(&c.endpoint).is_none()) => {
            Err(LineError::UnknownEndpoint(truncate(&c.endpoint)))
        }
        other => Ok(other),
    });
    let command = match command {
        Ok(Some(command)) => command,
        Ok(None) => return None,
        Err(e) => {
            debug!("console: refused a line: {e}");
            return Some(Err(format!("{ERROR_PREFIX}{e}")));
        }
    };
    let connection = match current {
        Some(c) if c.client_id == command.session => &c.connection,
        _ => {
            // Dropping the previous connection closes its session.
            *current = None;
            let connection = service.connect(AfterDisconnect::Close, protocomm::Source::Local);
            debug!(
                "console: session {} opened (protocomm session {:?})",
                command.session,
                connection.session()
            );
            &current
                .insert(CurrentSession {
                    client_id: command.session,
                    connection,
                })
                .connection
        }
    };
    match connection
        .request(None, &command.endpoint, &command.payload)
        .await
    {
        Ok(response) => Some(Ok(encode_hex(&response.body))),
        Err(protocomm::Error::Throttled { retry_after }) => {
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            Some(Err(format!("{THROTTLED}{} s", seconds.max(1))))
        }
        Err(e) => {
            debug!(
                "console: {:?} on session {} refused: {e}",
                command.endpoint, command.session
            );
            Some(Err(REJECTED.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(reader: &mut LineReader, input: &[u8]) -> (Vec<LineEvent>, Vec<u8>) {
        let mut echo = Vec::new();
        let events = input
            .iter()
            .filter_map(|&b| reader.push(b, &mut echo))
            .collect();
        (events, echo)
    }

    fn line(text: &str) -> LineEvent {
        LineEvent::Line(text.as_bytes().to_vec())
    }

    #[test]
    fn cr_ends_a_line_and_is_echoed_as_crlf() {
        let mut r = LineReader::new(64);
        let (events, echo) = feed(&mut r, b"ab\rcd");
        assert_eq!(events, vec![line("ab")]);
        assert_eq!(echo, b"ab\r\ncd");
        let (events, _) = feed(&mut r, b"\r");
        assert_eq!(events, vec![line("cd")]);
    }

    #[test]
    fn lf_ends_a_line_but_crlf_is_one_terminator() {
        let mut r = LineReader::new(64);
        let (events, echo) = feed(&mut r, b"a\nb\r\nc\r\r\n");
        assert_eq!(events, vec![line("a"), line("b"), line("c"), line("")]);
        assert_eq!(echo, b"a\r\nb\r\nc\r\n\r\n");
    }

    #[test]
    fn backspace_erases() {
        let mut r = LineReader::new(64);
        let (events, echo) = feed(&mut r, b"\x7fabx\x08c\r");
        assert_eq!(events, vec![line("abc")]);
        assert_eq!(echo, b"abx\x08 \x08c\r\n");
    }

    #[test]
    fn overlong_lines_are_dropped_to_the_terminator() {
        let mut r = LineReader::new(4);
        let (events, _) = feed(&mut r, b"abcd\rabcdefg\rok\r");
        assert_eq!(
            events,
            vec![line("abcd"), LineEvent::TooLong(7), line("ok")]
        );
    }

    #[test]
    fn commands_parse_like_esp_idf() {
        let c = parse_command(b"prov-session 7 0aFf1").unwrap().unwrap();
        assert_eq!(c.endpoint, "prov-session");
        assert_eq!(c.session, 7);
        assert_eq!(c.payload, vec![0x0a, 0xff]);
        let c = parse_command(b"  proto-ver\t0  ab  ").unwrap().unwrap();
        assert_eq!(c.payload, vec![0xab]);
        assert_eq!(parse_command(b"   ").unwrap(), None);
        assert_eq!(parse_command(b"").unwrap(), None);
        assert_eq!(parse_command(b"hello"), Err(LineError::Syntax));
        assert_eq!(parse_command(b"a 1 00 extra"), Err(LineError::Syntax));
        assert_eq!(parse_command(b"a 1 0g"), Err(LineError::NotHex));
        assert_eq!(
            parse_command(b"a -1 00"),
            Err(LineError::SessionId("-1".into()))
        );
        assert_eq!(
            parse_command(b"a 99999999999 00"),
            Err(LineError::SessionId("99999999999".into()))
        );
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(encode_hex(&[0x00, 0xab, 0x7f]), "00ab7f");
        assert_eq!(decode_hex(b"00AB7f"), Some(vec![0x00, 0xab, 0x7f]));
        assert_eq!(decode_hex(b"a"), Some(vec![]));
        assert_eq!(decode_hex(b""), Some(vec![]));
        assert_eq!(decode_hex(b"zz"), None);
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            format!(
                "{ERROR_PREFIX}{}",
                LineError::TooLong {
                    len: 300,
                    limit: 256
                }
            ),
            "error: line too long (300 > 256 bytes)"
        );
        assert_eq!(
            LineError::UnknownEndpoint("x".into()).to_string(),
            "unknown endpoint \"x\""
        );
    }
}
