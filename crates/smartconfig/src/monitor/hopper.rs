//! Channel hopping on a thread, with lock/unlock.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{ChannelTag, MonitorError};

/// Something that tunes an interface to a channel.
///
/// [`IwRunner`] runs `iw`; tests inject closures (`FnMut(&str, u8) -> Result<(), MonitorError>`
/// implements this trait).
pub trait ChannelSetter: Send + 'static {
    /// Tunes `ifname` to `channel`.
    fn set_channel(&mut self, ifname: &str, channel: u8) -> Result<(), MonitorError>;
}

impl<F> ChannelSetter for F
where
    F: FnMut(&str, u8) -> Result<(), MonitorError> + Send + 'static,
{
    fn set_channel(&mut self, ifname: &str, channel: u8) -> Result<(), MonitorError> {
        self(ifname, channel)
    }
}

/// Runs `iw dev IF set channel N` (needs `CAP_NET_ADMIN`), killing it after a timeout.
#[derive(Clone, Debug)]
pub struct IwRunner {
    program: PathBuf,
    timeout: Duration,
}

impl Default for IwRunner {
    fn default() -> Self {
        IwRunner::new()
    }
}

impl IwRunner {
    /// `iw` from `PATH`, 2 s timeout.
    pub fn new() -> Self {
        IwRunner::with_program("iw")
    }

    /// Another program taking the same arguments.
    pub fn with_program(program: impl Into<PathBuf>) -> Self {
        IwRunner {
            program: program.into(),
            timeout: Duration::from_secs(2),
        }
    }

    /// Changes the time after which the command is killed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl ChannelSetter for IwRunner {
    fn set_channel(&mut self, ifname: &str, channel: u8) -> Result<(), MonitorError> {
        let channel = channel.to_string();
        let args = ["dev", ifname, "set", "channel", channel.as_str()];
        let command = format!("{} {}", self.program.display(), args.join(" "));
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => MonitorError::IwMissing {
                    program: self.program.display().to_string(),
                },
                _ => MonitorError::Command {
                    command: command.clone(),
                    message: e.to_string(),
                },
            })?;
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(MonitorError::Command {
                        command,
                        message: format!("timed out after {:?}", self.timeout),
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(MonitorError::io("waiting for iw", e));
                }
            }
        };
        if status.success() {
            return Ok(());
        }
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        Err(classify_failure(ifname, command, stderr.trim(), status))
    }
}

/// Maps `iw`'s error output (`command failed: <strerror> (-errno)`) to an error.
fn classify_failure(
    ifname: &str,
    command: String,
    stderr: &str,
    status: std::process::ExitStatus,
) -> MonitorError {
    if stderr.contains("Operation not permitted") || stderr.contains("(-1)") {
        MonitorError::NotPermitted {
            action: "set the channel",
        }
    } else if stderr.contains("No such device") || stderr.contains("(-19)") {
        MonitorError::InterfaceMissing(ifname.to_owned())
    } else {
        let message = if stderr.is_empty() {
            status.to_string()
        } else {
            stderr.to_owned()
        };
        MonitorError::Command { command, message }
    }
}

/// Channels and dwell time of a [`Hopper`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HopperConfig {
    /// Channels in visiting order (cycled).
    pub channels: Vec<u8>,
    /// Time on each channel.
    pub dwell: Duration,
}

impl Default for HopperConfig {
    /// Channels 1..=13, 100 ms each.
    fn default() -> Self {
        HopperConfig {
            channels: (1..=13).collect(),
            dwell: Duration::from_millis(100),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    lock: Option<u8>,
    stop: bool,
    dwell: Duration,
    /// Bumped on every command, so a dwell wait ends early.
    commands: u64,
    /// Channel-setting failures while hopping, oldest first (bounded).
    errors: Vec<MonitorError>,
    /// A new channel list, not yet taken up by the hopper thread.
    channels: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn command(&self, f: impl FnOnce(&mut State)) {
        let mut s = self.state();
        f(&mut s);
        s.commands = s.commands.wrapping_add(1);
        drop(s);
        self.wake.notify_all();
    }
}

/// The most hopping errors kept for [`Hopper::take_errors`].
const MAX_ERRORS: usize = 16;

/// Hops an interface through channels on a thread until stopped or dropped.
#[derive(Debug)]
pub struct Hopper {
    shared: Arc<Shared>,
    tag: ChannelTag,
    thread: Option<JoinHandle<()>>,
}

impl Hopper {
    /// Tunes `ifname` to the first channel (errors such as [`MonitorError::IwMissing`] or
    /// [`MonitorError::NotPermitted`] are returned here), then hops on a thread: each channel
    /// for `dwell`, in order, cyclically.
    pub fn start(
        ifname: &str,
        config: HopperConfig,
        mut setter: impl ChannelSetter,
    ) -> Result<Hopper, MonitorError> {
        let Some(&first) = config.channels.first() else {
            return Err(MonitorError::InvalidConfig("no channels to hop"));
        };
        if config.dwell.is_zero() {
            return Err(MonitorError::InvalidConfig("dwell time is zero"));
        }
        setter.set_channel(ifname, first)?;
        let tag = ChannelTag::new();
        tag.set(Some(first));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                dwell: config.dwell,
                ..State::default()
            }),
            wake: Condvar::new(),
        });
        let worker = Worker {
            ifname: ifname.to_owned(),
            channels: config.channels,
            next: 1,
            setter,
            shared: Arc::clone(&shared),
            tag: tag.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("hop-{ifname}"))
            .spawn(move || worker.run())
            .map_err(|e| MonitorError::io("starting the hopper thread", e))?;
        Ok(Hopper {
            shared,
            tag,
            thread: Some(thread),
        })
    }

    /// Stops hopping and stays on `channel` (tuned by the hopper thread right away).
    pub fn lock(&self, channel: u8) {
        self.shared.command(|s| s.lock = Some(channel));
    }

    /// Resumes hopping, switching right away to the channel after the locked one in the list
    /// (or, if it is not in the list, where hopping left off).
    pub fn unlock(&self) {
        self.shared.command(|s| s.lock = None);
    }

    /// Hops `channels` from now on, starting with the first of them right away (an empty
    /// list is ignored). A lock stays in force.
    pub fn set_channels(&self, channels: Vec<u8>) {
        if !channels.is_empty() {
            self.shared.command(|s| s.channels = Some(channels));
        }
    }

    /// The channel hopping is locked to.
    pub fn locked(&self) -> Option<u8> {
        self.shared.state().lock
    }

    /// The channel the interface was last tuned to successfully.
    pub fn current_channel(&self) -> Option<u8> {
        self.tag.get()
    }

    /// A handle on the current channel, for [`super::CaptureOptions::channel_tag`].
    pub fn channel_tag(&self) -> ChannelTag {
        self.tag.clone()
    }

    /// Changes the dwell time (from the next channel on); zero is ignored.
    pub fn set_dwell(&self, dwell: Duration) {
        if !dwell.is_zero() {
            self.shared.command(|s| s.dwell = dwell);
        }
    }

    /// Channel-setting failures since the last call (hopping goes on after a failure; the
    /// failed channel is skipped until its next turn).
    pub fn take_errors(&self) -> Vec<MonitorError> {
        std::mem::take(&mut self.shared.state().errors)
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.command(|s| s.stop = true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Hopper {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker<S> {
    ifname: String,
    channels: Vec<u8>,
    /// Index of the next channel to visit.
    next: usize,
    setter: S,
    shared: Arc<Shared>,
    tag: ChannelTag,
}

impl<S: ChannelSetter> Worker<S> {
    fn run(mut self) {
        let mut applied_lock: Option<u8> = None;
        let mut state = self.shared.state();
        // Tune the next channel without waiting out the dwell time first.
        let mut immediate = false;
        loop {
            if state.stop {
                return;
            }
            if let Some(channels) = state.channels.take() {
                self.channels = channels;
                self.next = 0;
                immediate = true;
            }
            if let Some(channel) = state.lock {
                if applied_lock != Some(channel) {
                    drop(state);
                    self.tune(channel);
                    applied_lock = Some(channel);
                    state = self.shared.state();
                } else {
                    state = self
                        .shared
                        .wake
                        .wait(state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                continue;
            }
            if let Some(was) = applied_lock.take() {
                // Unlocked: continue after the locked channel, immediately.
                if let Some(i) = self.channels.iter().position(|&c| c == was) {
                    self.next = i + 1;
                }
            } else if std::mem::take(&mut immediate) {
                // A new channel list: start on its first channel now.
            } else {
                let (commands, dwell) = (state.commands, state.dwell);
                let (s, timeout) = self
                    .shared
                    .wake
                    .wait_timeout_while(state, dwell, |s| s.commands == commands)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                state = s;
                if !timeout.timed_out() {
                    continue; // a command arrived: re-evaluate
                }
            }
            let Some(&channel) = self.channels.get(self.next % self.channels.len().max(1)) else {
                return;
            };
            self.next = (self.next % self.channels.len()) + 1;
            if self.channels.len() == 1 && self.tag.get() == Some(channel) {
                // One channel, already tuned: nothing to hop.
                continue;
            }
            drop(state);
            self.tune(channel);
            state = self.shared.state();
        }
    }

    fn tune(&mut self, channel: u8) {
        match self.setter.set_channel(&self.ifname, channel) {
            Ok(()) => self.tag.set(Some(channel)),
            Err(e) => {
                #[cfg(feature = "net")]
                tracing::warn!(ifname = %self.ifname, channel, error = %e, "cannot set channel");
                let mut s = self.shared.state();
                if s.errors.len() < MAX_ERRORS {
                    s.errors.push(e);
                }
            }
        }
    }
}
