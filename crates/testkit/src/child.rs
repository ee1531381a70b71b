//! Running the current test again as a child process that plays another part (inside a
//! namespace, as another user, without a capability).
//!
//! The parent starts the same test binary with `--exact <test>` and an environment variable;
//! the test, seeing the variable, runs its child part and prints a marker at the end. The
//! parent asserts that the child exited successfully and printed the marker.
//!
//! ```no_run
//! use wifiprov_testkit::child::{ChildTest, child_value};
//!
//! const ENV: &str = "MY_TEST_CHILD";
//! if let Some(arg) = child_value(ENV) {
//!     // ... the child's part, then:
//!     println!("MY-CHILD-OK");
//!     return;
//! }
//! ChildTest::new("my_test", ENV, "eth0")
//!     .prefix(&["setpriv", "--bounding-set=-net_raw", "--"])
//!     .run("MY-CHILD-OK");
//! ```

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The value of `env` when this process is a child started by [`ChildTest`], else `None`.
pub fn child_value(env: &str) -> Option<String> {
    std::env::var(env).ok()
}

/// One run of a test of the current binary as a child process.
#[derive(Debug)]
#[must_use = "call `run` to start the child"]
pub struct ChildTest {
    test: String,
    prefix: Vec<String>,
    envs: Vec<(String, std::ffi::OsString)>,
    world_readable_copy: bool,
}

impl ChildTest {
    /// The test `test` of this binary, to be run with `env=value` in its environment.
    pub fn new(test: &str, env: &str, value: impl AsRef<OsStr>) -> ChildTest {
        ChildTest {
            test: test.to_owned(),
            prefix: Vec::new(),
            envs: vec![(env.to_owned(), value.as_ref().to_owned())],
            world_readable_copy: false,
        }
    }

    /// Runs the binary through `prefix` (e.g. `ip netns exec <ns>`, or `setpriv … --`).
    pub fn prefix(mut self, prefix: &[&str]) -> ChildTest {
        self.prefix = prefix.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Adds `key=value` to the child's environment.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> ChildTest {
        self.envs.push((key.to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Runs a copy of the binary in a temporary directory readable by everyone, for a child
    /// running as another user who may not read the build directory; its `TMPDIR` is `/tmp`.
    pub fn as_other_user(mut self) -> ChildTest {
        self.world_readable_copy = true;
        self
    }

    /// Runs the child to the end, prints its output, and asserts that it exited successfully
    /// and printed `marker`. Returns its output.
    pub fn run(self, marker: &str) -> Output {
        let exe = std::env::current_exe().unwrap();
        let copy_dir = self
            .world_readable_copy
            .then(|| tempfile::tempdir().unwrap());
        let program: PathBuf = match &copy_dir {
            None => exe,
            Some(dir) => {
                let copy = dir.path().join("test-child");
                std::fs::copy(&exe, &copy).unwrap();
                let mode = std::fs::Permissions::from_mode(0o755);
                std::fs::set_permissions(dir.path(), mode.clone()).unwrap();
                std::fs::set_permissions(&copy, mode).unwrap();
                copy
            }
        };
        let mut cmd = match self.prefix.split_first() {
            None => Command::new(&program),
            Some((first, rest)) => {
                let mut cmd = Command::new(first);
                cmd.args(rest).arg(&program);
                cmd
            }
        };
        cmd.args(["--exact", &self.test, "--nocapture", "--test-threads=1"]);
        for (key, value) in &self.envs {
            cmd.env(key, value);
        }
        if copy_dir.is_some() {
            cmd.env("TMPDIR", "/tmp");
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let name = &self.test;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("--- child {name} stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
        assert!(out.status.success(), "child {name} failed ({})", out.status);
        assert!(
            stdout.contains(marker),
            "child {name} did not run to the end (no {marker:?} in its output)"
        );
        out
    }
}
