//! Where a receiver's observations come from.
//!
//! An [`ObservationSource`] yields [`Observation`]s one at a time until it ends (the end of a
//! capture file) or fails. The MicroPython-style API ([`crate::api`]) opens a fresh source for
//! every `start()` through an [`OpenSource`] function, so that `start()` can be called again
//! after a run ended.

use std::net::SocketAddr;
use std::sync::Arc;

use wifiprov_wifi::BoxFuture;

use crate::Observation;

pub use super::observe::{ObservationSource, SourceError};

/// Opens a fresh source (called by every [`crate::api::SmartConfig::start`]).
pub type OpenSource = Arc<
    dyn Fn() -> BoxFuture<'static, Result<Box<dyn ObservationSource>, SourceError>> + Send + Sync,
>;

/// An opener binding a [`crate::net::UdpSource`] on `addr` each time.
pub fn open_udp(addr: SocketAddr) -> OpenSource {
    Arc::new(move || {
        Box::pin(async move {
            let source = crate::net::UdpSource::bind(addr).await?;
            Ok(Box::new(source) as Box<dyn ObservationSource>)
        })
    })
}

/// A source over observations already in memory (decoded from a capture, or built by a
/// test); it ends after the last one.
#[derive(Clone)]
pub struct ReplaySource {
    observations: std::vec::IntoIter<Observation>,
    name: String,
}

impl ReplaySource {
    /// A source yielding `observations` in order, described as `name`.
    pub fn new(name: impl Into<String>, observations: Vec<Observation>) -> Self {
        ReplaySource {
            observations: observations.into_iter(),
            name: name.into(),
        }
    }
}

impl std::fmt::Debug for ReplaySource {
    // The lengths can spell out a password: show only how many are left.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplaySource")
            .field("name", &self.name)
            .field("remaining", &self.observations.len())
            .finish()
    }
}

impl ObservationSource for ReplaySource {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Observation>, SourceError>> {
        Box::pin(async move {
            // Let other tasks (stop(), timers) run between observations of a long replay;
            // taking the observation only afterwards keeps this cancel-safe.
            tokio::task::yield_now().await;
            Ok(self.observations.next())
        })
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// An opener that replays the same observations on every start.
pub fn open_replay(name: impl Into<String>, observations: Vec<Observation>) -> OpenSource {
    let name = name.into();
    Arc::new(move || {
        let source = ReplaySource::new(name.clone(), observations.clone());
        Box::pin(async move { Ok(Box::new(source) as Box<dyn ObservationSource>) })
    })
}

/// An opener reading the frames of a pcap or pcapng capture at `path` each time
/// ([`super::capture::PcapSource`]); the source ends with the file.
pub fn open_pcap(path: std::path::PathBuf) -> OpenSource {
    Arc::new(move || {
        let path = path.clone();
        Box::pin(async move {
            let source = super::capture::PcapSource::open(path)?;
            Ok(Box::new(source) as Box<dyn ObservationSource>)
        })
    })
}

/// An opener capturing on the monitor-mode interface `interface` each time
/// ([`super::capture::MonitorSource`]).
#[cfg(feature = "monitor")]
pub fn open_monitor(interface: String, options: super::capture::MonitorOptions) -> OpenSource {
    Arc::new(move || {
        let interface = interface.clone();
        let options = options.clone();
        Box::pin(async move {
            let source = super::capture::MonitorSource::open(&interface, &options)?;
            Ok(Box::new(source) as Box<dyn ObservationSource>)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replays_end_and_hide_their_lengths() {
        let obs = vec![
            Observation::direct(0, [1; 6], 4242),
            Observation::direct(1, [1; 6], 4343),
        ];
        let mut source = ReplaySource::new("two", obs.clone());
        assert!(!format!("{source:?}").contains("4242"));
        assert_eq!(source.next().await.unwrap(), obs.first().copied());
        assert_eq!(source.next().await.unwrap(), obs.get(1).copied());
        assert_eq!(source.next().await.unwrap(), None);
        assert_eq!(source.describe(), "two");
        let mut boxed: Box<dyn ObservationSource> = Box::new(source);
        boxed.lock_channel(Some(6));
        assert!(boxed.local_addr().is_none());
        assert!(boxed.into_socket().is_none());
    }
}
