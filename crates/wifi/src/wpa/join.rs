//! Joining a network: network block, `SELECT_NETWORK`, following the messages, waiting
//! for an address, and cleaning up.

use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use super::attempt::{Step, Tracker};
use super::backend::{Cancel, WpaBackend, expect_ok, lock, report};
use super::event::WpaEvent;
use super::parse::{Status, channel_to_frequency};
use super::plan::{Plan, plan, set_command};
use crate::{
    AccessPoint, Bssid, ConnectError, ConnectProgress, Credentials, LinkStatus, WifiError,
};

/// How often `STATUS` is polled for an address.
const ADDRESS_POLL: Duration = Duration::from_millis(200);

/// Undoes an attempt whose future was dropped before it finished cleaning up: marks it
/// ended, removes the network block it added (while `network` is set) and re-enables the
/// networks `SELECT_NETWORK` disabled (`restore`, or the attempt's list if it still is the
/// current attempt). Runs synchronously (a few local datagrams).
struct DropCleanup<'a> {
    backend: &'a WpaBackend,
    generation: u64,
    network: Option<u32>,
    /// Taken from the state once the attempt has ended.
    restore: Option<Vec<u32>>,
    armed: bool,
}

/// The error for a network-block field wpa_supplicant refused: a security setting it cannot
/// do (`key_mgmt`, `ieee80211w`) is unsupported; any other field (SSID, BSSID, key) carries
/// the credentials themselves.
fn refused_field(name: &str, message: String) -> ConnectError {
    match name {
        "key_mgmt" | "ieee80211w" | "scan_ssid" => ConnectError::Unsupported(message),
        _ => ConnectError::InvalidCredentials(message),
    }
}

impl Drop for DropCleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let restore = match self.restore.take() {
            Some(r) => r,
            None => self
                .backend
                .finish_attempt(self.generation)
                .unwrap_or_default(),
        };
        if let Some(id) = self.network {
            let _ = self
                .backend
                .client
                .request_blocking(&format!("REMOVE_NETWORK {id}"));
        }
        for id in restore {
            let _ = self
                .backend
                .client
                .request_blocking(&format!("ENABLE_NETWORK {id}"));
        }
    }
}

impl WpaBackend {
    /// The strongest access point in the cached scan results matching the credentials.
    async fn lookup(&self, credentials: &Credentials) -> Result<Option<AccessPoint>, WifiError> {
        let aps = self.scan_results().await?;
        Ok(aps
            .into_iter()
            .filter(|ap| ap.ssid == credentials.ssid)
            .filter(|ap| credentials.bssid.is_none_or(|b| b == ap.bssid))
            .max_by_key(|ap| ap.rssi))
    }

    /// Whether the driver can do SAE (`GET_CAPABILITY key_mgmt`); `None` when unknown.
    async fn sae_capable(&self) -> Option<bool> {
        match self.cmd("GET_CAPABILITY key_mgmt").await {
            Ok(r) if !r.starts_with("FAIL") && !r.starts_with("UNKNOWN") => {
                Some(r.split_whitespace().any(|k| k == "SAE"))
            }
            _ => None,
        }
    }

    /// Decides the network block for `credentials`.
    async fn plan_for(
        &self,
        credentials: &Credentials,
    ) -> Result<(Plan, Option<AccessPoint>), ConnectError> {
        let known = self.lookup(credentials).await?;
        let sae = self.sae_capable().await;
        let plan = plan(credentials, known.as_ref().map(|ap| ap.auth), sae)?;
        Ok((plan, known))
    }

    /// Adds a network block and sets its fields; removes it again if a field is refused.
    async fn create_network(&self, plan: &Plan, ssid: &str) -> Result<u32, ConnectError> {
        let reply = self.cmd("ADD_NETWORK").await?;
        let id: u32 = reply.trim().parse().map_err(|_| {
            ConnectError::Backend(WifiError::unavailable(format!(
                "wpa_supplicant on {} could not add a network ({})",
                self.iface,
                reply.trim()
            )))
        })?;
        for (name, value) in &plan.fields {
            let (cmd, shown) = set_command(id, name, value);
            let result = self.client.request_secret(&cmd, &shown).await;
            let refused = match result {
                Ok(reply) if reply.trim_end() == "OK" => None,
                Ok(reply) => Some(refused_field(
                    name,
                    format!(
                        "wpa_supplicant refused the {name} of {ssid:?} ({})",
                        reply.trim_end()
                    ),
                )),
                Err(e) => Some(ConnectError::Backend(e)),
            };
            if let Some(error) = refused {
                let _ = self.cmd(&format!("REMOVE_NETWORK {id}")).await;
                return Err(error);
            }
        }
        Ok(id)
    }

    /// Adds a network block for `credentials` (chosen as for joining, see
    /// [`WifiBackend::connect`](crate::WifiBackend::connect)) and enables it without
    /// connecting (`ENABLE_NETWORK id no-connect`). Returns its id. Nothing is saved until
    /// [`WpaBackend::save_config`].
    pub async fn add_network(&self, credentials: &Credentials) -> Result<u32, ConnectError> {
        self.ensure_alive()?;
        let ssid = credentials.ssid_lossy();
        let (plan, _) = self.plan_for(credentials).await?;
        let id = self.create_network(&plan, &ssid).await?;
        if let Err(e) = self
            .cmd_ok(&format!("ENABLE_NETWORK {id} no-connect"))
            .await
        {
            let _ = self.cmd(&format!("REMOVE_NETWORK {id}")).await;
            return Err(e.into());
        }
        Ok(id)
    }

    /// Starts an attempt: a new generation, replacing any running attempt.
    fn begin_attempt(&self, ssid: &[u8]) -> u64 {
        let mut state = lock(&self.state);
        state.generations += 1;
        let generation = state.generations;
        if state.attempt.is_some() {
            self.cancel.send_replace((generation, Cancel::Superseded));
        }
        state.attempt = Some((generation, ssid.to_vec()));
        generation
    }

    /// Whether `generation` is still the running attempt.
    fn is_current(&self, generation: u64) -> bool {
        matches!(lock(&self.state).attempt, Some((g, _)) if g == generation)
    }

    /// Ends the attempt `generation` if it is still the current one, returning the networks
    /// to re-enable.
    fn finish_attempt(&self, generation: u64) -> Option<Vec<u32>> {
        let mut state = lock(&self.state);
        if matches!(state.attempt, Some((g, _)) if g == generation) {
            state.attempt = None;
            state.restore.take()
        } else {
            None
        }
    }

    /// The whole attempt (the `WifiBackend::connect` implementation).
    pub(crate) async fn join(
        &self,
        credentials: Credentials,
        progress: Option<UnboundedSender<ConnectProgress>>,
    ) -> Result<LinkStatus, ConnectError> {
        self.ensure_alive()?;
        let ssid = credentials.ssid_lossy();
        let (plan, known) = self.plan_for(&credentials).await?;

        // Joining ends a running access point (one interface cannot be both), its address
        // first: the station's address must be the one the joined network gives.
        self.end_ap_network().await;
        let (ap, resume) = {
            let mut state = lock(&self.state);
            (state.ap.take(), state.ap_config.take())
        };
        let generation = self.begin_attempt(&credentials.ssid);
        let mut cancel = self.cancel.subscribe();
        let mut cleanup = DropCleanup {
            backend: self,
            generation,
            network: None,
            restore: None,
            armed: true,
        };
        if let Some((ap_id, ap_restore)) = ap {
            let _ = self.cmd(&format!("REMOVE_NETWORK {ap_id}")).await;
            lock(&self.state).restore.get_or_insert(ap_restore);
        }
        let networks = self.list_networks().await?;
        {
            let mut state = lock(&self.state);
            if state.restore.is_none() {
                state.restore = Some(
                    networks
                        .iter()
                        .filter(|n| !n.disabled)
                        .map(|n| n.id)
                        .collect(),
                );
            }
        }

        let result = async {
            let id = self.create_network(&plan, &ssid).await?;
            cleanup.network = Some(id);
            let mut events = self.subscribe();
            let select = match credentials.channel.and_then(channel_to_frequency) {
                Some(freq) => format!("SELECT_NETWORK {id} freq={freq}"),
                None => format!("SELECT_NETWORK {id}"),
            };
            let reply = self.cmd(&select).await?;
            expect_ok(&reply, "SELECT_NETWORK")?;
            report(progress.as_ref(), ConnectProgress::Searching);
            let tracker =
                Tracker::new(id, ssid.clone(), plan.secured, self.options.not_found_scans);
            let (bssid, freq) = self
                .follow(
                    tracker,
                    &mut events,
                    &mut cancel,
                    generation,
                    progress.as_ref(),
                )
                .await?;
            report(progress.as_ref(), ConnectProgress::ObtainingAddress);
            let status = self
                .await_address(&ssid, &mut events, &mut cancel, generation)
                .await?;
            Ok::<_, ConnectError>(
                self.link(&credentials, known.as_ref(), &status, bssid, freq)
                    .await,
            )
        }
        .await;

        // The attempt has ended: from here on, a dropped future still re-enables the
        // networks (and removes the block, while `cleanup.network` is set).
        let ended = self.finish_attempt(generation);
        // Cancelled from outside (by a newer attempt, a disconnect or a new access point):
        // whoever cancelled decides what the radio does next.
        let cancelled = ended.is_none();
        cleanup.restore = Some(ended.unwrap_or_default());
        let outcome = match result {
            Ok(link) => {
                if let Some(id) = cleanup.network.take() {
                    let removed = self.forget_duplicates(&credentials.ssid, id).await;
                    if let Some(restore) = cleanup.restore.as_mut() {
                        restore.retain(|id| !removed.contains(id));
                    }
                }
                self.enable_all(cleanup.restore.as_deref().unwrap_or_default())
                    .await;
                if self.options.save_after_connect
                    && let Err(e) = self.save_config().await
                {
                    tracing::warn!(target: "wifiprov_wifi::wpa", "{e}");
                }
                tracing::info!(
                    target: "wifiprov_wifi::wpa",
                    "joined {ssid:?} via {} with address {}",
                    link.bssid,
                    link.ip
                );
                report(progress.as_ref(), ConnectProgress::Connected(link.clone()));
                Ok(link)
            }
            Err(error) => {
                if let Some(id) = cleanup.network {
                    let _ = self.cmd(&format!("REMOVE_NETWORK {id}")).await;
                    cleanup.network = None;
                }
                self.enable_all(cleanup.restore.as_deref().unwrap_or_default())
                    .await;
                tracing::info!(target: "wifiprov_wifi::wpa", "joining {ssid:?} failed: {error}");
                // Retry without reboot on one radio: the access point this attempt took down
                // comes back, so whoever provisioned through it can try again.
                if let Some(config) = resume.filter(|_| !cancelled) {
                    cleanup.armed = false;
                    match self.run_ap(config).await {
                        Ok(()) => tracing::info!(
                            target: "wifiprov_wifi::wpa",
                            "access point back up on {} after the failed join",
                            self.iface
                        ),
                        Err(e) => tracing::warn!(
                            target: "wifiprov_wifi::wpa",
                            "cannot bring the access point back up on {}: {e}",
                            self.iface
                        ),
                    }
                }
                Err(error)
            }
        };
        cleanup.armed = false;
        outcome
    }

    /// Removes other network blocks with the same SSID (older credentials); returns their
    /// ids.
    async fn forget_duplicates(&self, ssid: &[u8], keep: u32) -> Vec<u32> {
        let Ok(networks) = self.list_networks().await else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        for n in networks.iter().filter(|n| n.ssid == ssid && n.id != keep) {
            if self.remove_network(n.id).await.is_ok() {
                removed.push(n.id);
            }
        }
        removed
    }

    /// Follows the messages until the network is associated (or the attempt fails).
    async fn follow(
        &self,
        mut tracker: Tracker,
        events: &mut broadcast::Receiver<WpaEvent>,
        cancel: &mut watch::Receiver<(u64, Cancel)>,
        generation: u64,
        progress: Option<&UnboundedSender<ConnectProgress>>,
    ) -> Result<(Option<Bssid>, Option<u32>), ConnectError> {
        let deadline = tokio::time::Instant::now() + self.options.join_timeout;
        loop {
            tokio::select! {
                biased;
                _ = cancel.changed() => {
                    if !self.is_current(generation) {
                        let why = cancel.borrow().1;
                        return Err(why.into_error(tracker.ssid()));
                    }
                }
                event = events.recv() => match event {
                    Ok(event) => {
                        for step in tracker.on_event(&event) {
                            match step {
                                Step::Progress(p) => report(progress, p),
                                Step::Associated { bssid } => return Ok((bssid, tracker.freq())),
                                Step::Fail(e) => return Err(e),
                            }
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(target: "wifiprov_wifi::wpa", "missed {n} wpa_supplicant messages");
                    }
                    Err(RecvError::Closed) => {
                        return Err(WifiError::unavailable("the event reader stopped").into());
                    }
                },
                () = tokio::time::sleep_until(deadline) => return Err(tracker.timeout()),
            }
        }
    }

    /// Polls `STATUS` until the interface has an address.
    async fn await_address(
        &self,
        ssid: &str,
        events: &mut broadcast::Receiver<WpaEvent>,
        cancel: &mut watch::Receiver<(u64, Cancel)>,
        generation: u64,
    ) -> Result<Status, ConnectError> {
        let deadline = tokio::time::Instant::now() + self.options.address_timeout;
        loop {
            let status = self.raw_status().await?;
            if status.wpa_state == "COMPLETED" && status.ip_address.is_some() {
                return Ok(status);
            }
            let poll = tokio::time::sleep(ADDRESS_POLL);
            tokio::pin!(poll);
            loop {
                tokio::select! {
                    biased;
                    _ = cancel.changed() => {
                        if !self.is_current(generation) {
                            return Err(cancel.borrow().1.into_error(ssid));
                        }
                    }
                    event = events.recv() => match event {
                        Ok(WpaEvent::Disconnected { .. }) => {
                            return Err(ConnectError::LinkLost { ssid: ssid.to_owned() });
                        }
                        Ok(WpaEvent::Terminating) | Err(RecvError::Closed) => {
                            return Err(WifiError::unavailable(
                                "wpa_supplicant exited during the connection attempt",
                            ).into());
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                    },
                    () = tokio::time::sleep_until(deadline) => {
                        return Err(ConnectError::NoAddress { ssid: ssid.to_owned() });
                    }
                    () = &mut poll => break,
                }
            }
        }
    }

    /// The established link.
    async fn link(
        &self,
        credentials: &Credentials,
        known: Option<&AccessPoint>,
        status: &Status,
        bssid: Option<Bssid>,
        freq: Option<u32>,
    ) -> LinkStatus {
        let ip = status.ip_address.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        let mut link = self.link_from_status(status, ip).await;
        if link.ssid.is_empty() {
            link.ssid = credentials.ssid.to_vec();
        }
        if status.bssid.is_none() {
            link.bssid = bssid.unwrap_or_default();
        }
        if link.channel == 0 {
            link.channel = freq
                .map(super::parse::frequency_to_channel)
                .or(known.map(|ap| ap.channel))
                .unwrap_or(0);
        }
        if let Some(ap) = known
            && ap.bssid == link.bssid
        {
            link.auth = ap.auth;
        }
        link
    }
}
