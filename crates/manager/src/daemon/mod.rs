//! The manager at run time: the [`Policy`] driven against a real [`WifiBackend`], the
//! `networks.json` file, the fallback provisioning service and the control API.
//!
//! ```text
//!  Policy ──Action──► run_action ──► WifiBackend (scan / connect / status / AP)
//!     ▲                         ├──► NetworksFile::add_or_promote + save (atomic)
//!     │                         ├──► provisioning agent and its routes up/down (with the AP)
//!     │                         └──► remote-console command start/stop
//!     └── inputs ◄── task results, provisioning outcomes, control requests, timers
//! ```
//!
//! In fallback the provisioning agent accepts new credentials after every failure (no reset
//! needed); on each success the credentials that joined are taken from its Manager
//! (`Manager::joined`, not from the disk) and handed to the policy, which adds them to
//! `known_networks`. The agent's routes ([`Fallback::routes`]:
//! HTTP, BLE, SmartConfig, …) are the same `wifiprov_agent` routes `wifiprov device` uses,
//! started each time the access point comes up and stopped when it goes down.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use protocomm::{Instant, Security};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use wifiprov_agent::{AgentBuilder, Place, Route, RunningAgent};
use wifiprov_device::{CredentialStore, Manager, ManagerConfig, ProvEvent, ProvState};
use wifiprov_wifi::{ApConfig, ConnectError, Credentials, LinkStatus, StationStatus, WifiBackend};

mod control;
mod report;

use crate::control::{ControlServer, Request};
use crate::networks::{NetworksError, NetworksFile, StartPolicy};
use crate::policy::{Action, ApPolicy, KnownNetwork, Outcome, Policy, PolicyConfig, RetryConfig};
use control::Control;
use report::Report;

/// How long a provisioning service that succeeded may keep serving its client before the
/// access point goes down (ESP-IDF's auto-stop timeout).
const FINISH_GRACE: Duration = Duration::from_secs(30);

/// How long the remote-console service gets to exit after SIGTERM.
const CONSOLE_GRACE: Duration = Duration::from_secs(3);

/// How the manager runs.
pub struct DaemonConfig {
    /// The `networks.json` file.
    pub networks: PathBuf,
    /// Link check interval.
    pub interval: Duration,
    /// Stop after one round (`--once`).
    pub once: bool,
    /// Where the control socket goes (daemon mode).
    pub control: Option<PathBuf>,
    /// The provisioning service raised with the access point.
    pub provisioning: Option<Fallback>,
    /// The remote-console command (`enables_webrepl`).
    pub remote_console: Option<String>,
    /// Where the provisioning agent keeps credentials between receipt and `networks.json`.
    pub state_dir: PathBuf,
    /// Where the daemon publishes its events (those the control socket's `events` command
    /// streams), for a caller that wants them too; `None` makes a private channel.
    pub events: Option<broadcast::Sender<Value>>,
}

/// The provisioning service raised with the fallback access point.
pub struct Fallback {
    /// The security of its protocomm routes.
    pub security: Security,
    /// Its routes, started in order each time the access point comes up and stopped (last
    /// first) when it goes down. A route that cannot start is reported and left out; the
    /// service runs when at least one starts.
    pub routes: Vec<Arc<dyn Route>>,
    /// The address clients are told to reach the HTTP route at (shown by `status` and in
    /// the `provisioning` event); `None` shows the address the route listens on.
    pub address: Option<String>,
}

/// Why the manager stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// `networks.json` is unusable.
    #[error(transparent)]
    Networks(#[from] NetworksError),
    /// The control socket could not be created.
    #[error(transparent)]
    Control(#[from] crate::control::ControlError),
    /// The provisioning service could not start.
    #[error("cannot start the provisioning service: {0}")]
    Provisioning(String),
    /// The access point would come up with nothing serving provisioning on it.
    #[error(
        "refusing to start: networks.json's access point (start_policy \"{policy}\") would \
         serve no provisioning; give provisioning secrets or a SmartConfig source, allow \
         generated secrets, or set start_policy to \"never\""
    )]
    NoProvisioning {
        /// The file's `start_policy`.
        policy: &'static str,
    },
}

enum Input {
    Scan(Result<Vec<wifiprov_wifi::AccessPoint>, wifiprov_wifi::WifiError>),
    Connect(Result<LinkStatus, ConnectError>),
    Link(bool),
    /// The access point could not be started.
    ApFailed,
    Provisioned(Credentials, LinkStatus),
    ProvisioningFailed(ConnectError),
    Control(Request, tokio::sync::oneshot::Sender<Result<Value, String>>),
}

fn policy_networks(file: &NetworksFile) -> Vec<KnownNetwork> {
    file.known().to_vec()
}

fn policy_config(
    file: &NetworksFile,
    interval: Duration,
    once: bool,
    ap_shares_radio: bool,
) -> PolicyConfig {
    let ap = file.access_point();
    PolicyConfig {
        ap_policy: match ap.start_policy {
            StartPolicy::Always => ApPolicy::Always,
            StartPolicy::Fallback => ApPolicy::Fallback,
            StartPolicy::Never => ApPolicy::Never,
        },
        ap_enables_webrepl: ap.enables_webrepl,
        retry: RetryConfig {
            check_interval: interval,
            ..RetryConfig::default()
        },
        one_shot: once,
        ap_shares_radio,
    }
}

struct Runner {
    wifi: Arc<dyn WifiBackend>,
    file: NetworksFile,
    config: DaemonConfig,
    inputs: mpsc::UnboundedSender<Input>,
    events: broadcast::Sender<Value>,
    agent: Option<RunningAgent>,
    /// The access point going down in the background, with its provisioning service.
    closing: Option<Closing>,
    console: Option<tokio::process::Child>,
    epoch: tokio::time::Instant,
    /// What `status` reports about the access point and the last attempt.
    report: Report,
}

impl Runner {
    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn emit(&self, event: Value) {
        let _ = self.events.send(event);
    }

    async fn run_action(&mut self, action: Action) {
        let tx = self.inputs.clone();
        let wifi = self.wifi.clone();
        match action {
            Action::Scan => {
                tokio::spawn(async move {
                    let _ = tx.send(Input::Scan(wifi.scan(Default::default()).await));
                });
            }
            Action::Connect(credentials) => {
                self.report.joining = Some(credentials.ssid_lossy());
                self.emit(json!({"event": "joining", "ssid": credentials.ssid_lossy()}));
                tokio::spawn(async move {
                    let _ = tx.send(Input::Connect(wifi.connect(credentials, None).await));
                });
            }
            Action::Disconnect => {
                let _ = wifi.disconnect().await;
            }
            Action::CheckLink => {
                tokio::spawn(async move {
                    let up = matches!(wifi.status().await, Ok(StationStatus::Connected(_)));
                    let _ = tx.send(Input::Link(up));
                });
            }
            Action::StartAp => self.start_ap().await,
            Action::StopAp => self.stop_ap().await,
            Action::AddKnownNetwork { ssid, password } => {
                let ssid = match wifiprov_types::Ssid::new(ssid) {
                    Ok(ssid) => ssid,
                    Err(e) => {
                        tracing::error!("cannot record a network in the networks file: {e}");
                        return;
                    }
                };
                match self
                    .file
                    .add_or_promote(&ssid, password)
                    .and_then(|_| self.file.save())
                {
                    Ok(()) => {
                        tracing::info!(
                            "added \"{ssid}\" to the top of {}",
                            self.file.path().display()
                        );
                        let mut event = serde_json::Map::new();
                        event.insert("event".into(), json!("network_added"));
                        let (key, name) = crate::networks::ssid_field(&ssid);
                        event.insert(key.into(), name);
                        self.emit(Value::Object(event));
                    }
                    Err(e) => {
                        tracing::error!("cannot record \"{ssid}\" in the networks file: {e}")
                    }
                }
            }
            Action::StartRemoteConsole => {
                if let (None, Some(command)) = (&self.console, &self.config.remote_console) {
                    match tokio::process::Command::new("/bin/sh")
                        .arg("-c")
                        .arg(command)
                        .kill_on_drop(true)
                        .spawn()
                    {
                        Ok(child) => self.console = Some(child),
                        Err(e) => tracing::warn!("cannot start the remote console: {e}"),
                    }
                }
            }
            Action::StopRemoteConsole => {
                if let Some(child) = self.console.take() {
                    stop_gracefully(child).await;
                }
            }
        }
    }

    async fn start_ap(&mut self) {
        // An access point still going down is taken down now: its stop must not hit the new
        // one, and its routes must let go of their ports before the same routes start again.
        if let Some(closing) = self.closing.take() {
            closing.now().await;
        }
        let ap = self.file.access_point().clone();
        let config = ApConfig {
            ssid: ap.essid.as_bytes().to_vec(),
            passphrase: ap.password.clone(),
            channel: ap.channel.unwrap_or(0),
            hidden: ap.hidden,
            max_clients: 4,
        };
        if let Err(e) = self.wifi.start_ap(config).await {
            tracing::error!("cannot start the access point: {e}");
            self.emit(json!({"event": "ap_failed", "essid": ap.essid, "reason": e.to_string()}));
            let _ = self.inputs.send(Input::ApFailed);
            return;
        }
        self.report.ap_ssid = Some(ap.essid.clone());
        self.emit(json!({"event": "ap_up", "essid": ap.essid}));
        let Some(fallback) = &self.config.provisioning else {
            return;
        };
        if self.agent.is_some() {
            return;
        }
        let store = match CredentialStore::open(&self.config.state_dir) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("provisioning disabled: {e}");
                self.unavailable(e.to_string());
                return;
            }
        };
        let _ = store.clear();
        let mut builder = AgentBuilder::new(fallback.security.clone(), self.wifi.clone());
        for route in &fallback.routes {
            builder = builder.optional_route(route.clone());
        }
        builder.store = Some(store.clone());
        // Retry without reboot: every failure makes room for new credentials at once. After a
        // success the service stops once the client has seen it (auto-stop).
        builder.manager = ManagerConfig {
            auto_stop: true,
            reset_on_failure: true,
            max_attempts: 1,
            connect_delay: Duration::ZERO,
            ..ManagerConfig::default()
        };
        let mut events = None;
        match builder
            .start_observed(|m| events = Some(m.subscribe()))
            .await
        {
            Ok(agent) => {
                let places: Vec<String> = agent.places().iter().map(Place::to_string).collect();
                tracing::info!("provisioning service on {}", places.join(" and "));
                let address = agent
                    .serves_http()
                    .then(|| fallback.address.clone().unwrap_or(agent.addr.to_string()));
                self.report.address.clone_from(&address);
                self.report.unavailable = None;
                self.emit(json!({"event": "provisioning", "address": address, "routes": places}));
                if let Some(events) = events {
                    tokio::spawn(forward_provisioning(
                        events,
                        agent.manager.clone(),
                        store,
                        self.inputs.clone(),
                    ));
                }
                self.agent = Some(agent);
            }
            Err(e) => {
                tracing::error!("cannot start the provisioning service: {e}");
                self.unavailable(e.to_string());
            }
        }
    }

    /// Takes the access point down. A provisioning service that just succeeded first finishes
    /// (its client sees the success), so this happens in the background.
    async fn stop_ap(&mut self) {
        self.report.ap_ssid = None;
        self.report.address = None;
        self.report.unavailable = None;
        let agent = self.agent.take();
        let manager = agent.as_ref().map(|a| a.manager.clone());
        let wifi = self.wifi.clone();
        let events = self.events.clone();
        let task = tokio::spawn(async move {
            if let Some(agent) = agent {
                // A service that provisioned the device waits (a while) for its client to see
                // the success; one that did not has nothing more to say.
                let manager = agent.manager.clone();
                let grace = if manager.prov_state() == ProvState::Success {
                    FINISH_GRACE
                } else {
                    Duration::ZERO
                };
                if tokio::time::timeout(grace, manager.wait_stopped())
                    .await
                    .is_err()
                {
                    manager.stop();
                }
                agent.finished().await;
            }
            if let Err(e) = wifi.stop_ap().await {
                tracing::warn!("cannot stop the access point: {e}");
            }
            let _ = events.send(json!({"event": "ap_down"}));
        });
        self.closing = Some(Closing { manager, task });
    }
}

/// An access point going down in the background ([`Runner::stop_ap`]).
struct Closing {
    manager: Option<wifiprov_device::Manager>,
    task: tokio::task::JoinHandle<()>,
}

impl Closing {
    /// Ends the provisioning service at once instead of after its grace period, and waits
    /// until the access point is down.
    async fn now(self) {
        if let Some(manager) = &self.manager {
            manager.stop();
        }
        let _ = self.task.await;
    }
}

/// Asks a service to stop with SIGTERM, and kills it if it is still running after
/// [`CONSOLE_GRACE`].
async fn stop_gracefully(mut child: tokio::process::Child) {
    if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        if tokio::time::timeout(CONSOLE_GRACE, child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

/// Turns the provisioning agent's outcomes into policy inputs: a success with the credentials
/// that joined as the Manager holds them ([`Manager::joined`]), a failure with its reason.
/// Ends with the Manager (`Deinit`).
async fn forward_provisioning(
    mut events: broadcast::Receiver<ProvEvent>,
    manager: Manager,
    store: CredentialStore,
    tx: mpsc::UnboundedSender<Input>,
) {
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let input = match event {
            ProvEvent::CredSuccess { link } => {
                let Some((credentials, _)) = manager.joined() else {
                    continue;
                };
                // The network goes to networks.json; the service's own copy is not kept.
                let store = store.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.clear()).await {
                    tracing::warn!("cannot clear the provisioning service's credentials: {e}");
                }
                Input::Provisioned(credentials, link)
            }
            ProvEvent::CredFail { error } => Input::ProvisioningFailed(error.into_connect_error()),
            ProvEvent::Deinit => return,
            _ => continue,
        };
        if tx.send(input).is_err() {
            return;
        }
    }
}

/// Runs the manager. In one-shot mode returns the outcome after one round; in daemon mode
/// runs until `shutdown` resolves, then returns the last outcome, if any.
pub async fn run(
    config: DaemonConfig,
    wifi: Arc<dyn WifiBackend>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Option<Outcome>, DaemonError> {
    let file = NetworksFile::load(&config.networks)?;
    let policy = file.access_point().start_policy;
    if config.provisioning.is_none() && !config.once && policy != StartPolicy::Never {
        return Err(DaemonError::NoProvisioning {
            policy: policy.as_str(),
        });
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let events = config
        .events
        .clone()
        .unwrap_or_else(|| broadcast::channel(64).0);
    let control = match (&config.control, config.once) {
        (Some(path), false) => Some(ControlServer::bind(path)?),
        _ => None,
    };
    let mut runner = Runner {
        wifi,
        file,
        inputs: tx.clone(),
        events: events.clone(),
        agent: None,
        closing: None,
        console: None,
        epoch: tokio::time::Instant::now(),
        config,
        report: Report::default(),
    };
    let mut policy = Policy::new(
        policy_config(
            &runner.file,
            runner.config.interval,
            runner.config.once,
            runner.wifi.ap_shares_radio(),
        ),
        policy_networks(&runner.file),
        runner.now(),
    );
    let control = control.map(|server| {
        let handler = Arc::new(Control {
            tx: tx.clone(),
            events: std::sync::Mutex::new(Some(events.clone())),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve_until(handler.clone(), async move {
            let _ = stopped.await;
        }));
        (task, stop, handler)
    });
    drop(events);
    tokio::pin!(shutdown);
    let outcome = loop {
        let now = runner.now();
        while let Some(action) = policy.poll(now) {
            tracing::debug!(?action, "policy action");
            runner.run_action(action).await;
        }
        if runner.config.once
            && let Some(outcome) = policy.outcome()
        {
            break Some(outcome.clone());
        }
        let deadline = policy.poll_at().map(|at| {
            let wait = at.saturating_duration_since(runner.now());
            tokio::time::Instant::now() + wait
        });
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut shutdown => break policy.outcome().cloned(),
            () = sleep => policy.handle_timeout(runner.now()),
            input = rx.recv() => {
                let now = runner.now();
                match input {
                    Some(Input::Scan(Ok(found))) => policy.handle_scan(now, found),
                    Some(Input::Scan(Err(e))) => policy.handle_scan_failed(now, e),
                    Some(Input::Connect(result)) => {
                        runner.joined(&result);
                        policy.handle_connect_result(now, result);
                    }
                    Some(Input::Link(up)) => policy.handle_link_status(now, up),
                    Some(Input::ApFailed) => policy.handle_ap_failed(now),
                    Some(Input::Provisioned(credentials, link)) => {
                        runner.outcome(json!({"event": "provisioned", "ssid": String::from_utf8_lossy(&link.ssid), "ip": link.ip.to_string()}));
                        policy.handle_provisioned(now, credentials, Ok(link));
                    }
                    Some(Input::ProvisioningFailed(reason)) => {
                        runner.outcome(json!({"event": "provisioning_failed", "reason": reason.to_string()}));
                        policy.handle_provisioning_failed(now, &reason);
                    }
                    Some(Input::Control(request, reply)) => {
                        let answer = runner.control(request, &mut policy, now);
                        let _ = reply.send(answer);
                    }
                    None => break policy.outcome().cloned(),
                }
            }
        }
    };
    policy.shutdown(runner.now());
    while let Some(action) = policy.poll(runner.now()) {
        runner.run_action(action).await;
    }
    if let Some(agent) = runner.agent.take() {
        agent.shutdown().await;
    }
    if let Some(closing) = runner.closing.take() {
        closing.now().await;
    }
    runner.emit(json!({"event": "stopped"}));
    // Every sender gone: the `events` streams end after their last event, and their clients
    // see the socket close.
    drop(runner);
    if let Some((task, stop, handler)) = control {
        handler
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let _ = stop.send(());
        let _ = task.await;
    }
    Ok(outcome)
}
