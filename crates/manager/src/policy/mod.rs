//! The connection policy (issue #7, item 2) as a sans-I/O state machine.
//!
//! [`Policy`] performs no I/O, reads no clock and spawns nothing. Like smoltcp's DHCPv4
//! client, it keeps its state as an enum of per-state data, takes the time as a value
//! ([`Instant`], milliseconds since an epoch the caller chooses) with every input, hands out
//! what to do next from [`Policy::poll`] and says when it next needs attention with
//! [`Policy::poll_at`]. The caller performs each [`Action`] and feeds the answer back:
//!
//! ```text
//! let mut policy = Policy::new(config, networks, now());
//! loop {
//!     while let Some(action) = policy.poll(now()) {
//!         match action {
//!             Action::Scan => policy.handle_scan(now(), radio.scan()?),
//!             Action::Connect(c) => policy.handle_connect_result(now(), radio.connect(c)),
//!             Action::CheckLink => policy.handle_link_status(now(), radio.link_up()),
//!             other => perform(other), // AP, console, Disconnect, AddKnownNetwork
//!         }
//!     }
//!     wait until policy.poll_at(), a provisioning result, or a change of networks.json;
//! }
//! ```
//!
//! Radio operations are expected one at a time: answer an action before performing the next
//! radio action. Answers that arrive when nothing is awaited are ignored, and so is a
//! connection result that names another network than the one being joined (a stale answer
//! after a watchdog gave up on it).
//!
//! # States
//!
//! ```text
//!   new ──(Always: StartAp)──► Scanning ◄─────────────────────────────┐
//!                                │ scan results                      │ lost network
//!                                │ (or scan failed / timed out:      │ failed, others
//!                                │  every network tried directly)    │ remain
//!                                ▼                                   │
//!                  ┌──────► Joining{ssid} ──failure: remember reason,│
//!                  │           │    │        next candidate ───┐     │
//!                  │           │    └──────────────────────────┘     │
//!                  │           │ success            │ no candidate   │
//!                  │           ▼                    │ left           │
//!                  │     Connected{ssid,ip} ◄───────┼── provisioned  │
//!                  │       │   CheckLink every      │   credentials  │
//!                  │       │   check_interval       │   worked (from │
//!                  │       │ link down              │   any state)   │
//!                  │       ▼                        ▼                │
//!                  │   Backoff{until} ◄──── recovery round failed    │
//!                  │       │ (Disconnect)    (delay doubles, capped; │
//!                  │       │                  Fallback: StartAp)     │
//!                  │       └──► Joining{lost} ───────────────────────┘
//!                  │            (directly, no scan)
//!                  │
//!                  └── NoNetwork{ap_up} ◄── first round (or a round after a deliberate
//!                      every rescan_interval    change) failed; Fallback: StartAp
//! ```
//!
//! [`Policy::shutdown`] leads to `Stopped` from anywhere.
//!
//! # Rules
//!
//! * **Candidate order.** After a scan, the known networks the scan saw (exact SSID bytes),
//!   in preference order, then the known networks it did not see, in preference order: they
//!   may be hidden, and are tried directly. Each network is tried at most once per round.
//!   See [`candidate_order`]. A failed scan counts as an empty one.
//! * **Failures.** Each failed attempt records its typed [`ConnectError`] and the time
//!   ([`Policy::last_failures`]); a lost link is recorded as [`ConnectError::LinkLost`];
//!   joining a network clears its record.
//! * **Access point.** [`ApPolicy::Always`]: started first, before the first scan, and never
//!   stopped (except by [`Policy::shutdown`]). [`ApPolicy::Fallback`]: started when a whole
//!   round fails (no known network could be joined), stopped as soon as a network is joined
//!   (by a retry or by provisioning). [`ApPolicy::Never`]: never started.
//! * **Retries while the AP is up.** Allowed: the backend is assumed to scan and join with the
//!   access point running (AP+STA), so the fallback AP stays up during retry rounds, every
//!   `rescan_interval`, or following the back-off after a loss.
//! * **Lost link.** When a link check reports the link down (or is not answered before the
//!   next one is due), the policy asks for `Disconnect` and waits `initial_backoff`; each
//!   recovery round tries the lost network directly first, then scans and tries the others.
//!   Every failed recovery round doubles the wait, up to `max_backoff`; joining resets it.
//! * **Provisioning.** [`Policy::handle_provisioned`]: success adds the network at the top
//!   ([`Action::AddKnownNetwork`]), connects, and stops the fallback AP; failure changes
//!   nothing, the AP stays up for the next try.
//! * **Remote console** (`enables_webrepl`). One service, running exactly while the joined
//!   network or the running AP enables it. Every start is matched by one stop; a console that
//!   only the AP wanted stops before `StopAp`, one it wants starts after `StartAp`.
//! * **No roaming.** While connected the policy stays put, even if a more preferred network
//!   appears or is added.
//! * **One-shot mode** ([`PolicyConfig::one_shot`]): one round, then [`Policy::outcome`].
//!
//! [`Instant`]: protocomm::Instant
//! [`ConnectError`]: wifiprov_wifi::ConnectError
//! [`ConnectError::LinkLost`]: wifiprov_wifi::ConnectError::LinkLost

mod config;
mod machine;
mod order;
mod types;

pub use config::{ApPolicy, KnownNetwork, PolicyConfig, RetryConfig};
pub use machine::Policy;
pub use order::candidate_order;
pub use types::{Action, NetworkFailure, Outcome, State, Status};
pub use wifiprov_types::Instant;
