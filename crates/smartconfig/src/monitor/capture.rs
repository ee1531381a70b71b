//! The packet-socket capture.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::net::if_::if_nametoindex;
use nix::sys::socket::{
    AddressFamily, LinkAddr, SockFlag, SockProtocol, SockType, recvfrom, setsockopt, socket,
    sockopt,
};
use nix::sys::time::{TimeVal, TimeValLike};
use tokio::sync::mpsc;

use super::{ChannelTag, MonitorError};
use crate::Observation;
use crate::frame::{self, Frame, FrameError, LinkType};

/// `PACKET_OUTGOING`: a frame this host sent, looped back to packet sockets.
const PACKET_OUTGOING: u8 = 4;
/// Large enough for any 802.11 frame plus radiotap.
const BUFFER_LEN: usize = 65_536;
/// Requested socket receive buffer.
const RCVBUF: usize = 1 << 20;

/// How to open a capture.
#[derive(Clone, Debug, Default)]
pub struct CaptureOptions {
    /// Use this link type instead of reading `/sys/class/net/IF/type` (for interfaces that
    /// carry radiotap frames without announcing it, e.g. a veth in tests).
    pub link_type: Option<LinkType>,
    /// Channel to stamp on frames that carry none (see [`ChannelTag`]; use
    /// [`super::Hopper::channel_tag`]).
    pub channel_tag: Option<ChannelTag>,
}

/// Counters of a capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames received on the interface.
    pub frames: u64,
    /// Frames that gave an observation.
    pub accepted: u64,
    /// Frames rejected by the parser (not SmartConfig candidates, malformed, bad FCS…).
    pub rejected: u64,
    /// Frames of other interfaces (or sent by this host) that were skipped.
    pub skipped: u64,
    /// The last rejection reason.
    pub last_rejection: Option<FrameError>,
}

/// One frame as captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    /// Microseconds since the capture was opened.
    pub time_us: u64,
    /// The bytes, starting with the radiotap or 802.11 header.
    pub bytes: Vec<u8>,
}

/// The interface, the link type, the counters and the receive buffer.
#[derive(Debug)]
struct Core {
    ifname: String,
    ifindex: usize,
    link: LinkType,
    start: Instant,
    channel_tag: Option<ChannelTag>,
    stats: CaptureStats,
    buf: Vec<u8>,
}

impl Core {
    fn open(ifname: &str, options: &CaptureOptions) -> Result<(Core, OwnedFd), MonitorError> {
        validate_ifname(ifname)?;
        let ifindex = match if_nametoindex(ifname) {
            Ok(i) => i as usize,
            Err(Errno::ENODEV | Errno::ENXIO) => {
                return Err(MonitorError::InterfaceMissing(ifname.to_owned()));
            }
            Err(e) => return Err(MonitorError::io("looking up the interface index", e)),
        };
        let link = match options.link_type {
            Some(l) => l,
            None => link_type_of(ifname)?,
        };
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::EthAll,
        )
        .map_err(|e| match e {
            Errno::EPERM | Errno::EACCES => MonitorError::NotPermitted {
                action: "open a raw packet socket",
            },
            e => MonitorError::io("opening a raw packet socket", e),
        })?;
        // A larger buffer only reduces loss under bursts; failure is harmless.
        let _ = setsockopt(&fd, sockopt::RcvBuf, &RCVBUF);
        let core = Core {
            ifname: ifname.to_owned(),
            ifindex,
            link,
            start: Instant::now(),
            channel_tag: options.channel_tag.clone(),
            stats: CaptureStats::default(),
            buf: vec![0; BUFFER_LEN],
        };
        Ok((core, fd))
    }

    /// Whether a received datagram came in on our interface.
    fn wanted(&mut self, addr: Option<LinkAddr>) -> bool {
        let ok =
            addr.is_some_and(|a| a.ifindex() == self.ifindex && a.pkttype() != PACKET_OUTGOING);
        if ok {
            self.stats.frames += 1;
        } else {
            self.stats.skipped += 1;
        }
        ok
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn raw(&self, n: usize) -> RawFrame {
        RawFrame {
            time_us: self.now_us(),
            bytes: self.buf.get(..n).unwrap_or_default().to_vec(),
        }
    }

    /// Parses the `n` bytes in the buffer; counts the outcome.
    fn parse(&mut self, n: usize) -> Option<Frame> {
        let time_us = self.now_us();
        let bytes = self.buf.get(..n).unwrap_or_default();
        match frame::parse_frame(self.link, bytes, time_us) {
            Ok(mut f) => {
                self.stats.accepted += 1;
                if f.observation.channel.is_none() {
                    f.observation.channel = self.channel_tag.as_ref().and_then(ChannelTag::get);
                }
                Some(f)
            }
            Err(e) => {
                self.stats.rejected += 1;
                self.stats.last_rejection = Some(e);
                None
            }
        }
    }
}

fn validate_ifname(ifname: &str) -> Result<(), MonitorError> {
    let bad = ifname.is_empty()
        || ifname.len() > 15
        || ifname == "."
        || ifname == ".."
        || ifname
            .bytes()
            .any(|b| b == b'/' || b == 0 || b.is_ascii_whitespace());
    if bad {
        return Err(MonitorError::InvalidInterfaceName(ifname.to_owned()));
    }
    Ok(())
}

/// The link type of `ifname` from `/sys/class/net/IF/type`.
pub(crate) fn link_type_of(ifname: &str) -> Result<LinkType, MonitorError> {
    validate_ifname(ifname)?;
    let path = format!("/sys/class/net/{ifname}/type");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(MonitorError::InterfaceMissing(ifname.to_owned()));
        }
        Err(e) => return Err(MonitorError::io("reading the interface type from sysfs", e)),
    };
    let arphrd: u16 = text.trim().parse().map_err(|_| {
        MonitorError::io(
            "reading the interface type from sysfs",
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("unexpected {text:?}"),
            ),
        )
    })?;
    LinkType::from_arphrd(arphrd).ok_or_else(|| MonitorError::NotMonitor {
        ifname: ifname.to_owned(),
        arphrd,
    })
}

fn recv_error(e: Errno) -> MonitorError {
    match e {
        Errno::ENETDOWN => MonitorError::io("receiving: the interface went down", e),
        e => MonitorError::io("receiving from the packet socket", e),
    }
}

/// A blocking capture on one monitor-mode interface.
#[derive(Debug)]
pub struct Capture {
    core: Core,
    fd: OwnedFd,
    timeout: Option<Duration>,
}

impl Capture {
    /// Opens a capture on `ifname`, which must be in monitor mode.
    ///
    /// Errors: [`MonitorError::InterfaceMissing`], [`MonitorError::NotMonitor`],
    /// [`MonitorError::NotPermitted`] (no `CAP_NET_RAW`).
    pub fn open(ifname: &str) -> Result<Capture, MonitorError> {
        Capture::open_with(ifname, &CaptureOptions::default())
    }

    /// Opens a capture with options.
    pub fn open_with(ifname: &str, options: &CaptureOptions) -> Result<Capture, MonitorError> {
        let (core, fd) = Core::open(ifname, options)?;
        Ok(Capture {
            core,
            fd,
            timeout: None,
        })
    }

    /// The interface name.
    pub fn ifname(&self) -> &str {
        &self.core.ifname
    }

    /// The interface index.
    pub fn ifindex(&self) -> usize {
        self.core.ifindex
    }

    /// The link type frames are parsed with.
    pub fn link_type(&self) -> LinkType {
        self.core.link
    }

    /// Counters so far.
    pub fn stats(&self) -> &CaptureStats {
        &self.core.stats
    }

    /// Waits for the next frame of the interface, at most `timeout` (`None`: forever);
    /// `Ok(None)` on timeout.
    pub fn next_raw(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<RawFrame>, MonitorError> {
        Ok(self.recv(timeout)?.map(|n| self.core.raw(n)))
    }

    /// Waits for the next frame that parses (rejected frames are counted and skipped), at
    /// most `timeout` in total; `Ok(None)` on timeout.
    pub fn next_frame(&mut self, timeout: Option<Duration>) -> Result<Option<Frame>, MonitorError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let Some(n) = self.recv(remaining)? else {
                return Ok(None);
            };
            if let Some(f) = self.core.parse(n) {
                return Ok(Some(f));
            }
        }
    }

    /// [`Capture::next_frame`], reduced to the observation.
    pub fn next_observation(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<Observation>, MonitorError> {
        Ok(self.next_frame(timeout)?.map(|f| f.observation))
    }

    /// Receives one datagram of our interface into the buffer; its length, or `None` when
    /// `timeout` passed.
    fn recv(&mut self, timeout: Option<Duration>) -> Result<Option<usize>, MonitorError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let remaining = match deadline {
                None => None,
                Some(d) => {
                    let r = d.saturating_duration_since(Instant::now());
                    if r.is_zero() {
                        return Ok(None);
                    }
                    Some(r)
                }
            };
            self.set_timeout(remaining)?;
            match recvfrom::<LinkAddr>(self.fd.as_raw_fd(), &mut self.core.buf) {
                Ok((n, addr)) => {
                    if self.core.wanted(addr) {
                        return Ok(Some(n));
                    }
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => return Err(recv_error(e)),
            }
        }
    }

    fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<(), MonitorError> {
        if timeout == self.timeout && timeout.is_none() {
            return Ok(());
        }
        // SO_RCVTIMEO: 0 blocks forever, so a real timeout is at least 1 µs.
        let tv = match timeout {
            None => TimeVal::zero(),
            Some(t) => {
                TimeVal::microseconds(i64::try_from(t.as_micros()).unwrap_or(i64::MAX).max(1))
            }
        };
        setsockopt(&self.fd, sockopt::ReceiveTimeout, &tv)
            .map_err(|e| MonitorError::io("setting the receive timeout", e))?;
        self.timeout = timeout;
        Ok(())
    }
}

/// How often the capture thread of an [`AsyncCapture`] checks whether it should stop.
const POLL: Duration = Duration::from_millis(100);
/// Frames buffered between the capture thread and the async consumer.
const QUEUE: usize = 1024;

/// A tokio-friendly capture: a [`Capture`] running on its own thread, handing parsed frames
/// to the async side through a bounded queue.
///
/// Dropping it stops the thread within about 100 ms (the thread closes the socket).
#[derive(Debug)]
pub struct AsyncCapture {
    rx: mpsc::Receiver<Result<Frame, MonitorError>>,
    stats: Arc<Mutex<CaptureStats>>,
    stop: Arc<AtomicBool>,
    ifname: String,
    link: LinkType,
}

impl AsyncCapture {
    /// Opens a capture on `ifname` (see [`Capture::open`]).
    pub fn open(ifname: &str) -> Result<AsyncCapture, MonitorError> {
        AsyncCapture::open_with(ifname, &CaptureOptions::default())
    }

    /// Opens a capture with options. Opening errors are returned here; later receive errors
    /// come out of [`AsyncCapture::next_frame`].
    pub fn open_with(ifname: &str, options: &CaptureOptions) -> Result<AsyncCapture, MonitorError> {
        let capture = Capture::open_with(ifname, options)?;
        AsyncCapture::spawn(capture)
    }

    /// Moves an open blocking capture onto a thread.
    pub fn spawn(mut capture: Capture) -> Result<AsyncCapture, MonitorError> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(Mutex::new(*capture.stats()));
        let stop = Arc::new(AtomicBool::new(false));
        let ifname = capture.ifname().to_owned();
        let link = capture.link_type();
        let (thread_stats, thread_stop) = (Arc::clone(&stats), Arc::clone(&stop));
        std::thread::Builder::new()
            .name(format!("capture-{ifname}"))
            .spawn(move || {
                while !thread_stop.load(Ordering::Relaxed) && !tx.is_closed() {
                    let item = capture.next_frame(Some(POLL)).transpose();
                    if let Ok(mut s) = thread_stats.lock() {
                        *s = *capture.stats();
                    }
                    let keep_going = match item {
                        None => true,
                        Some(Ok(f)) => tx.blocking_send(Ok(f)).is_ok(),
                        Some(Err(e)) => {
                            let _ = tx.blocking_send(Err(e));
                            false
                        }
                    };
                    if !keep_going {
                        break;
                    }
                }
            })
            .map_err(|e| MonitorError::io("starting the capture thread", e))?;
        Ok(AsyncCapture {
            rx,
            stats,
            stop,
            ifname,
            link,
        })
    }

    /// The interface name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The link type frames are parsed with.
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// Counters so far (updated by the capture thread).
    pub fn stats(&self) -> CaptureStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// The next frame that parses (rejected frames are counted and skipped). After an error
    /// the capture is over: later calls return [`MonitorError::Stopped`].
    pub async fn next_frame(&mut self) -> Result<Frame, MonitorError> {
        self.rx.recv().await.unwrap_or(Err(MonitorError::Stopped))
    }

    /// [`AsyncCapture::next_frame`], reduced to the observation.
    pub async fn next_observation(&mut self) -> Result<Observation, MonitorError> {
        Ok(self.next_frame().await?.observation)
    }
}

impl Drop for AsyncCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
