//! Prerequisite checks for tests that need root or system programs.
//!
//! A test that cannot run never passes silently: [`Needs::ok`] panics with what is missing,
//! unless `WIFIPROV_ALLOW_SKIP=1` is set, in which case it prints `SKIPPED <test>: <why>` and
//! returns `false` so the test can return early.
//!
//! ```no_run
//! use wifiprov_testkit::needs::Needs;
//!
//! if !Needs::new("my_test").root().program("ip", &["netns", "list"]).ok() {
//!     return;
//! }
//! ```

use std::process::Command;

use crate::cmd;

/// The environment variable that turns a failed prerequisite into an explicit skip.
pub const ALLOW_SKIP_ENV: &str = "WIFIPROV_ALLOW_SKIP";

/// Whether the process runs with effective user id 0.
pub fn is_root() -> bool {
    effective_uid().as_deref() == Some("0")
}

/// The effective user id from `/proc/self/status`, as text.
fn effective_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned))
}

/// Whether `WIFIPROV_ALLOW_SKIP=1` is set.
pub fn skip_allowed() -> bool {
    std::env::var(ALLOW_SKIP_ENV).as_deref() == Ok("1")
}

/// The name of the running test, as the test harness names its thread (`"this test"` when
/// the thread has no name).
pub fn current_test() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("this test")
        .to_owned()
}

/// The prerequisites of one test, checked in the order they are added; the first one that
/// is missing is the one reported.
#[derive(Debug)]
#[must_use = "call `ok()` to fail or skip when a prerequisite is missing"]
pub struct Needs {
    test: String,
    wanted: Vec<String>,
    problem: Option<String>,
}

impl Needs {
    /// Starts the list for the test `test` (its name appears in the failure or skip line).
    pub fn new(test: &str) -> Needs {
        Needs {
            test: test.to_owned(),
            wanted: Vec::new(),
            problem: None,
        }
    }

    /// Requires effective user id 0.
    pub fn root(self) -> Needs {
        self.check("root", || {
            (!is_root()).then(|| {
                format!(
                    "not running as root (effective uid {})",
                    effective_uid().unwrap_or_else(|| "unknown".into())
                )
            })
        })
    }

    /// Requires `program args…` to run and exit successfully (e.g. `ip netns list`,
    /// `wpa_supplicant -v`).
    pub fn program(self, program: &str, args: &[&str]) -> Needs {
        let what = format!("`{program}`");
        self.check(&what, || {
            cmd::run(Command::new(program).args(args))
                .err()
                .map(|e| format!("`{program}` is unavailable: {e}"))
        })
    }

    /// Requires whatever `probe` checks: it returns why the test cannot run, or `None`.
    /// `what` names the requirement in the failure message. Not called once an earlier
    /// requirement is missing.
    pub fn check(mut self, what: &str, probe: impl FnOnce() -> Option<String>) -> Needs {
        self.wanted.push(what.to_owned());
        if self.problem.is_none() {
            self.problem = probe();
        }
        self
    }

    /// The first missing prerequisite, if any (without failing or skipping).
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// `true` when everything is there. Otherwise prints `SKIPPED <test>: <why>` and returns
    /// `false` if `WIFIPROV_ALLOW_SKIP=1`, and panics with the reason if not.
    pub fn ok(self) -> bool {
        let Some(why) = self.problem else {
            return true;
        };
        let test = self.test;
        if skip_allowed() {
            eprintln!("SKIPPED {test}: {why}");
            return false;
        }
        panic!(
            "{test} needs {}: {why}. CI runs these tests as root; set {ALLOW_SKIP_ENV}=1 to \
             skip them explicitly",
            self.wanted.join(", ")
        );
    }
}
