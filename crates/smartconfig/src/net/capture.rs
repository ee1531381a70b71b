//! Sources over captured 802.11 frames: a pcap/pcapng file, and (feature `monitor`) a live
//! monitor-mode interface with a channel hopper.

use std::collections::VecDeque;
use std::path::PathBuf;

use tokio::sync::mpsc;
use wifiprov_wifi::BoxFuture;

use super::observe::{ObservationSource, SourceError};
use crate::Observation;

/// Observations handed from the reading thread at a time.
const BATCH: usize = 256;
/// Batches buffered between the reading thread and the consumer.
const QUEUE: usize = 8;

/// The observations of a pcap or pcapng file, read on a thread (records that are not
/// SmartConfig candidates are skipped). Ends with the file; a corrupt file ends with an error
/// after the observations before the damage.
pub struct PcapSource {
    path: PathBuf,
    rx: mpsc::Receiver<Result<Vec<Observation>, SourceError>>,
    buffer: VecDeque<Observation>,
}

impl PcapSource {
    /// Opens `path` (the header is checked here) and starts reading it.
    pub fn open(path: PathBuf) -> Result<PcapSource, SourceError> {
        let mut reader = crate::pcap::open(&path)
            .map_err(|e| SourceError::Capture(format!("{}: {e}", path.display())))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let name = path.display().to_string();
        std::thread::Builder::new()
            .name("pcap-reader".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(BATCH);
                loop {
                    match reader.next_observation() {
                        Ok(Some(observation)) => {
                            batch.push(observation);
                            if batch.len() < BATCH {
                                continue;
                            }
                            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                            if tx.blocking_send(Ok(full)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => {
                            if !batch.is_empty() {
                                let _ = tx.blocking_send(Ok(batch));
                            }
                            return;
                        }
                        Err(e) => {
                            if !batch.is_empty() && tx.blocking_send(Ok(batch)).is_err() {
                                return;
                            }
                            let _ =
                                tx.blocking_send(Err(SourceError::Capture(format!("{name}: {e}"))));
                            return;
                        }
                    }
                }
            })
            .map_err(|source| SourceError::Io {
                what: "starting the capture reader".into(),
                source,
            })?;
        Ok(PcapSource {
            path,
            rx,
            buffer: VecDeque::new(),
        })
    }
}

impl std::fmt::Debug for PcapSource {
    // The buffered lengths can spell out a password: show only how many there are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapSource")
            .field("path", &self.path)
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

impl ObservationSource for PcapSource {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Observation>, SourceError>> {
        Box::pin(async move {
            loop {
                if let Some(observation) = self.buffer.pop_front() {
                    return Ok(Some(observation));
                }
                match self.rx.recv().await {
                    Some(Ok(batch)) => self.buffer.extend(batch),
                    Some(Err(e)) => return Err(e),
                    None => return Ok(None),
                }
            }
        })
    }

    fn describe(&self) -> String {
        format!("pcap {}", self.path.display())
    }
}

#[cfg(feature = "monitor")]
pub use live::{MonitorOptions, MonitorSource};

#[cfg(feature = "monitor")]
mod live {
    use std::time::Duration;

    use wifiprov_wifi::BoxFuture;

    use super::super::observe::{ObservationSource, SourceError};
    use crate::Observation;
    use crate::frame::LinkType;
    use crate::monitor::{
        AsyncCapture, CaptureOptions, ChannelSetter, Hopper, HopperConfig, IwRunner, RadioClaim,
    };

    /// How to capture on a monitor interface.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct MonitorOptions {
        /// Channels to hop; empty: do not hop (stay on the interface's channel).
        pub channels: Vec<u8>,
        /// Time on each channel.
        pub dwell: Duration,
        /// Read frames as this link type instead of the interface's own (for interfaces that
        /// carry radiotap frames without announcing it, e.g. a veth in tests); `None`: the
        /// interface must be in monitor mode.
        pub link_type: Option<LinkType>,
        /// The station interface on the same radio, if the device has only that radio: it is
        /// taken down while capturing and the monitor interface is created on its radio when
        /// missing ([`RadioClaim`]); both are undone when the source is dropped. `None`: the
        /// monitor interface exists and its radio is free to tune.
        pub station: Option<String>,
    }

    impl Default for MonitorOptions {
        /// Channels 1..=13, 100 ms each.
        fn default() -> Self {
            let config = HopperConfig::default();
            MonitorOptions {
                channels: config.channels,
                dwell: config.dwell,
                link_type: None,
                station: None,
            }
        }
    }

    /// Frames captured on a monitor-mode interface while a [`Hopper`] tunes it; the hopper
    /// stays on a channel while the receiver is locked ([`ObservationSource::lock_channel`]).
    #[derive(Debug)]
    pub struct MonitorSource {
        capture: AsyncCapture,
        hopper: Option<Hopper>,
        /// Declared last: dropped after the hopper and the capture have stopped.
        radio: Option<RadioClaim>,
    }

    impl MonitorSource {
        /// Takes the station's radio ([`MonitorOptions::station`]), then starts hopping
        /// (unless `options.channels` is empty) and capturing on `interface`. Needs
        /// `CAP_NET_RAW` (and `CAP_NET_ADMIN` plus the `iw` program for hopping, and `ip`
        /// for taking the radio).
        pub fn open(
            interface: &str,
            options: &MonitorOptions,
        ) -> Result<MonitorSource, SourceError> {
            MonitorSource::open_with_setter(interface, options, IwRunner::new())
        }

        /// Like [`MonitorSource::open`], tuning channels with `setter` instead of `iw`.
        pub fn open_with_setter(
            interface: &str,
            options: &MonitorOptions,
            setter: impl ChannelSetter,
        ) -> Result<MonitorSource, SourceError> {
            let fail =
                |e: crate::monitor::MonitorError| SourceError::Capture(format!("{interface}: {e}"));
            // Dropped (the radio given back) on any error below.
            let radio = match &options.station {
                Some(station) => RadioClaim::take(station, interface).map_err(fail)?,
                None => None,
            };
            let check = CaptureOptions {
                link_type: options.link_type,
                channel_tag: None,
            };
            // Check the interface (exists, monitor mode, permission) before tuning it.
            drop(crate::monitor::Capture::open_with(interface, &check).map_err(fail)?);
            let hopper = if options.channels.is_empty() {
                None
            } else {
                let config = HopperConfig {
                    channels: options.channels.clone(),
                    dwell: options.dwell,
                };
                Some(Hopper::start(interface, config, setter).map_err(fail)?)
            };
            if let (Some(radio), Some(_)) = (&radio, &hopper) {
                // The first channel is set: make sure the radio followed.
                radio.check_tuned().map_err(fail)?;
            }
            let capture_options = CaptureOptions {
                link_type: options.link_type,
                channel_tag: hopper.as_ref().map(Hopper::channel_tag),
            };
            let capture = AsyncCapture::open_with(interface, &capture_options).map_err(fail)?;
            Ok(MonitorSource {
                capture,
                hopper,
                radio,
            })
        }
    }

    impl Drop for MonitorSource {
        fn drop(&mut self) {
            let stats = self.capture.stats();
            tracing::debug!(
                "capture on {} ends: {} frames, {} SmartConfig candidates, {} rejected (last: {:?}), {} of other interfaces",
                self.capture.ifname(),
                stats.frames,
                stats.accepted,
                stats.rejected,
                stats.last_rejection,
                stats.skipped
            );
        }
    }

    impl ObservationSource for MonitorSource {
        fn next(&mut self) -> BoxFuture<'_, Result<Option<Observation>, SourceError>> {
            Box::pin(async move {
                if let Some(hopper) = &self.hopper {
                    for e in hopper.take_errors() {
                        tracing::warn!("channel hopping on {}: {e}", self.capture.ifname());
                    }
                }
                self.capture
                    .next_observation()
                    .await
                    .map(Some)
                    .map_err(|e| SourceError::Capture(format!("{}: {e}", self.capture.ifname())))
            })
        }

        fn describe(&self) -> String {
            match &self.radio {
                Some(radio) => format!(
                    "monitor interface {} (on the radio of {})",
                    self.capture.ifname(),
                    radio.station()
                ),
                None => format!("monitor interface {}", self.capture.ifname()),
            }
        }

        fn plan_channels(&mut self, channels: &[u8]) {
            if let Some(hopper) = &self.hopper {
                tracing::debug!("hopping channels {channels:?}");
                hopper.set_channels(channels.to_vec());
            }
        }

        fn lock_channel(&mut self, channel: Option<u8>) {
            let Some(hopper) = &self.hopper else {
                return;
            };
            match channel {
                Some(channel) => {
                    tracing::debug!("staying on channel {channel}");
                    hopper.lock(channel);
                }
                None => hopper.unlock(),
            }
        }
    }
}
