//! Driving the machine: feeding inputs with the time, performing the actions in order,
//! delivering answers to the callers waiting for them, and waking the machine at its
//! deadlines.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, Weak};

use protocomm::Instant;
use tokio::sync::Notify;
use wifiprov_wifi::Credentials;

use super::{Core, Inner, Manager, lock};
use crate::error::StoreFailure;
use crate::machine::{Action, Answer, OpId};
use crate::store::StoreError;

/// Actions that must be awaited.
enum Deferred {
    Disconnect,
    Persist { creds: Credentials, op: OpId },
    ClearStore,
}

impl Manager {
    pub(super) fn core(&self) -> MutexGuard<'_, Core> {
        lock(&self.inner.core)
    }

    /// The machine's clock: milliseconds since the Manager was created, rounded up (so a
    /// delay never ends early).
    pub(super) fn now(&self) -> Instant {
        let nanos = self.inner.epoch.elapsed().as_nanos();
        let ms = nanos.div_ceil(1_000_000);
        Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// Feeds an input (with the time) under the machine's lock.
    pub(super) fn input<T>(&self, f: impl FnOnce(&mut Core, Instant) -> T) -> T {
        let now = self.now();
        f(&mut self.core(), now)
    }

    /// Performs every action the machine has, in order, then lets the timer task look at the
    /// next deadline.
    pub(super) async fn drive(&self) {
        self.drain().await;
        self.inner.timer.notify_one();
    }

    async fn drain(&self) {
        let _turn = self.inner.driving.lock().await;
        while let Some(action) = self.next_action() {
            if let Some(deferred) = self.perform(action) {
                self.perform_deferred(deferred).await;
            }
        }
    }

    /// Like [`drive`](Self::drive), for callers that cannot wait: performs what needs no
    /// waiting at once and hands the rest to tasks. When another caller is driving, it will
    /// see the new actions (or a task drives them afterwards).
    pub(super) fn drive_now(&self) {
        match self.inner.driving.try_lock() {
            Ok(_turn) => {
                while let Some(action) = self.next_action() {
                    if let Some(deferred) = self.perform(action) {
                        let me = self.clone();
                        spawn(async move {
                            me.perform_deferred(deferred).await;
                            me.drive().await;
                        });
                    }
                }
            }
            Err(_) => {
                let me = self.clone();
                spawn(async move { me.drive().await });
            }
        }
        self.inner.timer.notify_one();
    }

    fn next_action(&self) -> Option<Action> {
        let now = self.now();
        self.core().machine.poll(now)
    }

    /// Performs `action` if it needs no waiting (spawning the long radio operations);
    /// returns it otherwise.
    fn perform(&self, action: Action) -> Option<Deferred> {
        match action {
            Action::Emit(event) => {
                tracing::debug!(event = event.name(), "provisioning event");
                // No subscriber is fine.
                let _ = self.inner.events.send(event);
            }
            Action::Answer(answer) => self.deliver(answer),
            Action::Stop => {
                self.inner.stopped.send_replace(true);
            }
            Action::Connect { creds, op } => self.spawn_connect(creds, op),
            Action::Scan(params) => {
                let me = self.clone();
                spawn(async move {
                    let outcome = me.inner.wifi.scan(params).await;
                    me.input(|core, now| core.machine.handle_scan_done(now, outcome));
                    me.drive().await;
                });
            }
            Action::Disconnect => {
                if let Some(attempt) = lock(&self.inner.connecting).take() {
                    attempt.abort();
                }
                return Some(Deferred::Disconnect);
            }
            Action::Persist { creds, op } => return Some(Deferred::Persist { creds, op }),
            Action::ClearStore => return Some(Deferred::ClearStore),
        }
        None
    }

    async fn perform_deferred(&self, deferred: Deferred) {
        match deferred {
            Deferred::Disconnect => {
                if let Err(e) = self.inner.wifi.disconnect().await {
                    tracing::warn!("could not disconnect the station: {e}");
                }
            }
            Deferred::Persist { creds, op } => {
                let result = match self.inner.store.clone() {
                    None => Ok(()),
                    Some(store) => {
                        match tokio::task::spawn_blocking(move || store.save(&creds)).await {
                            Ok(saved) => saved.map_err(StoreFailure::new),
                            Err(e) => Err(StoreFailure::new(StoreError::Interrupted {
                                reason: e.to_string(),
                            })),
                        }
                    }
                };
                self.input(|core, now| core.machine.handle_persisted(now, op, result));
            }
            Deferred::ClearStore => {
                if let Some(store) = self.inner.store.clone() {
                    match tokio::task::spawn_blocking(move || store.clear()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::error!("could not clear the stored credentials: {e}")
                        }
                        Err(e) => tracing::error!("clearing the stored credentials failed: {e}"),
                    }
                }
            }
        }
    }

    /// Runs a connection attempt in a task of its own (so that [`Action::Disconnect`] can
    /// abort it); another task feeds its result back.
    fn spawn_connect(&self, creds: Credentials, op: OpId) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("no async runtime to connect in");
            return;
        };
        let wifi = self.inner.wifi.clone();
        let attempt = runtime.spawn(async move { wifi.connect(creds, None).await });
        if let Some(old) = lock(&self.inner.connecting).replace(attempt.abort_handle()) {
            old.abort();
        }
        let me = self.clone();
        runtime.spawn(async move {
            // An aborted attempt was given up by the machine: nothing to report.
            if let Ok(result) = attempt.await {
                me.input(|core, now| core.machine.handle_connect_result(now, op, result));
                me.drive().await;
            }
        });
    }

    fn deliver(&self, answer: Answer) {
        let mut core = self.core();
        let waiters = &mut core.waiters;
        match answer {
            Answer::Applied { origin, result } => {
                if let Some(tx) = waiters.applied.remove(&origin) {
                    let _ = tx.send(result);
                }
            }
            Answer::Finished { origin, result } => {
                if let Some(tx) = waiters.finished.remove(&origin) {
                    let _ = tx.send(result);
                }
            }
            Answer::Scanned { ok } => {
                for tx in waiters.scans.drain(..) {
                    let _ = tx.send(ok);
                }
            }
        }
    }

    /// Starts the task that wakes the machine at its deadlines (once).
    pub(super) fn spawn_timer(&self) {
        if self.inner.timer_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let wake = self.inner.timer.clone();
        spawn(run_timer(weak, wake));
    }
}

/// Spawns `task` on the current runtime; without one (a Manager torn down after its runtime
/// ended) the task is dropped, with a log line.
fn spawn(task: impl Future<Output = ()> + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(task);
        }
        Err(_) => tracing::debug!("no async runtime; a provisioning action was dropped"),
    }
}

/// Sleeps until the machine's next deadline (or a change of it), then drives the machine.
/// Holds the Manager only while driving; ends once the Manager is gone.
async fn run_timer(weak: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let deadline = {
            let Some(inner) = weak.upgrade() else { return };
            let at = lock(&inner.core).machine.poll_at();
            at.map(|at| inner.epoch + std::time::Duration::from_millis(at.as_millis()))
        };
        match deadline {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
        let Some(inner) = weak.upgrade() else { return };
        Manager { inner }.drain().await;
    }
}
