//! ESP-IDF's `wifi_prov_mgr` as a sans-I/O state machine: [`ProvMachine`].
//!
//! The machine performs no I/O, reads no clock and spawns nothing. Like smoltcp's DHCP client
//! and quinn-proto's connections (and this workspace's `wifi_manager::policy`), it keeps its
//! state as an enum of per-state data, takes the time ([`Instant`], milliseconds since an
//! epoch the caller chooses) with every input, hands out what to do next from
//! [`ProvMachine::poll`] and says when it next needs attention with [`ProvMachine::poll_at`].
//! The [`Manager`](crate::Manager) is its driver: it decodes requests, feeds inputs, performs
//! the [`Action`]s (radio, store, events) and feeds the answers back:
//!
//! ```text
//! machine.handle_apply(now(), session)?;             // or set_config, scan_start, reset, …
//! while let Some(action) = machine.poll(now()) {
//!     match action {
//!         Action::Persist { creds, op } => machine.handle_persisted(now(), op, store.save(&creds)),
//!         Action::Connect { creds, op } => spawn(radio.connect(creds) → handle_connect_result(op, …)),
//!         Action::Scan(params) => spawn(radio.scan(params) → handle_scan_done(…)),
//!         Action::Answer(answer) => hand it to the request or route waiting for it,
//!         other => perform(other), // Disconnect, ClearStore, Emit, Stop
//!     }
//! }
//! wake up at machine.poll_at() and poll again.
//! ```
//!
//! # States
//!
//! ```text
//!             start
//!   Stopped ─────────► Started ◄───────────────────────────────────────────┐
//!      ▲                 │  ▲                                               │
//!      │    apply/submit │  │ not stored (CredFail)                         │
//!      │                 ▼  │                                               │
//!      │               Saving                                               │
//!      │                 │ stored (CredRecv), connect_delay                 │
//!      │                 ▼                                                  │
//!      │           Connecting{attempt} ◄──┐ failed, retries left            │
//!      │             │    │   └───────────┘ (next attempt at once)          │
//!      │      joined │    │ gave up (CredFail)                              │
//!      │             │    ├─────────────────────────────────────────────────┤
//!      │             │    │                      with reset_on_failure,     │
//!      │             │    ▼                      or submitted by a route    │
//!      │             │  Failed{error} ──────────── CtrlReset ───────────────┘
//!      │             ▼
//!      └─────── Succeeded{creds, link, stop_at}
//!        auto-stop (status seen + cleanup delay, or autostop_timeout), stop, deinit
//!
//!   stop / deinit: any state ──► Stopped (an attempt under way is abandoned)
//!   CtrlReprov (auto-stop off): any running state ──► Started (attempt abandoned, Disconnect)
//! ```
//!
//! # Rules
//!
//! * **Pending credentials per session.** SetConfig stores credentials for its session only;
//!   ApplyConfig takes only its own session's (and discards them whether taken or not). At
//!   most `max_pending` sessions have credentials pending; a new one drops the oldest. A
//!   closed session's entry goes ([`ProvMachine::handle_session_closed`]); stopping forgets
//!   them all.
//! * **ApplyConfig** is taken only in Started; otherwise it is refused (ESP-IDF's
//!   "credentials already received"). Taken credentials are first stored
//!   ([`Action::Persist`]); only once stored are they announced ([`ProvEvent::CredRecv`]),
//!   the apply answered with success and the connection scheduled `connect_delay` later. A
//!   failed save is answered as a failure ([`Answer::Applied`] with [`ProvError::Store`]),
//!   reported with [`ProvEvent::CredFail`], and the machine returns to Started.
//! * **Routes** submitting credentials ([`ProvMachine::handle_submit`]) follow the same path;
//!   one set of credentials at a time: a second submission while one is stored or tried is
//!   refused with [`Refusal::InProgress`]. After a failure, a route's attempt returns the
//!   machine to Started (clearing the store), since a route has no CtrlReset.
//! * **Retries.** `max_attempts` N > 0: every failure retried until N failed, GetStatus
//!   reporting AttemptFailed{remaining}; 0 (legacy): transient failures retried up to
//!   `transient_retries` times, others reported at once. The count starts afresh with every
//!   set of credentials.
//! * **After a failure**: Failed (ApplyConfig refused until CtrlReset), or Started with
//!   `reset_on_failure`.
//! * **CtrlReset** succeeds in Started (no-op) and in Failed (back to Started, stored
//!   credentials cleared); refused otherwise. **CtrlReprov** only with auto-stop disabled,
//!   from any running state. Neither resets the station state GetStatus reports.
//! * **Auto-stop** (default on): after joining, stop once a GetStatus reply (or another
//!   route's acknowledgement, [`ProvMachine::handle_outcome_reported`]) has reported the
//!   success, after `max(cleanup_delay, 100 ms)`, or `autostop_timeout` after joining,
//!   whichever comes first.
//! * **Scans**: one at a time (ScanStart during a scan lets it go on); results strongest
//!   first (stable for equal RSSIs), at most `scan_max_entries`; pages clamped to what
//!   exists and to [`MAX_RESULTS_PER_PAGE`]; the parameters are clamped as a radio would
//!   ([`clamp_scan_params`]: at most [`MAX_DWELL_MS`] per channel, groups of at most
//!   [`MAX_CHANNELS`]), and a scan that has not ended after [`scan_time_limit`] fails, so no
//!   client can hold scanning.
//! * **Stale answers** (a store write or connection attempt given up in the meantime) are
//!   recognised by their [`OpId`] and ignored.
//!
//! [`ProvEvent::CredRecv`]: crate::ProvEvent::CredRecv
//! [`ProvEvent::CredFail`]: crate::ProvEvent::CredFail
//! [`ProvError::Store`]: crate::error::ProvError::Store
//! [`Refusal::InProgress`]: crate::error::Refusal::InProgress

mod attempt;
mod config;
mod pending;
mod prov;
mod scan;
mod types;

pub use attempt::is_transient;
pub use config::{MIN_CLEANUP_DELAY, ManagerConfig};
pub use pending::PendingCredentials;
pub use protocomm::Instant;
pub use prov::ProvMachine;
pub use scan::{
    MAX_CHANNELS, MAX_DWELL_MS, MAX_RESULTS_PER_PAGE, clamp_scan_params, scan_time_limit,
};
pub use types::{Action, Answer, OpId, Origin, ProvState, Station};
