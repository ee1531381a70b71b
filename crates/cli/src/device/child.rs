//! Child processes of the agent (custom endpoint commands, the event hook): each runs
//! `/bin/sh -c COMMAND` in a process group of its own, with an environment that holds none of
//! the agent's `WIFIPROV_*` variables (where secrets may be given) unless passed explicitly,
//! and the whole group is killed when the agent stops waiting for it.

use std::ffi::OsString;
use std::process::Stdio;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// Prefix of the variables the agent reads settings and secrets from; none of them reaches a
/// child unless named with `--child-env`.
pub const PRIVATE_PREFIX: &str = "WIFIPROV_";

/// The environment children are started with.
#[derive(Clone, Debug, Default)]
pub struct ChildEnv {
    /// `WIFIPROV_*` variables of the agent passed on anyway (`--child-env NAME`).
    pub pass: Vec<String>,
}

impl ChildEnv {
    /// Whether the agent's variable `name` reaches children.
    pub fn passes(&self, name: &OsString) -> bool {
        let Some(text) = name.to_str() else {
            return true;
        };
        !text.to_ascii_uppercase().starts_with(PRIVATE_PREFIX)
            || self.pass.iter().any(|p| p == text)
    }

    /// `/bin/sh -c command` with the scrubbed environment, in a new process group, killed
    /// when dropped. Standard streams are left to the caller.
    pub fn command(&self, command: &str) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(command)
            .env_clear()
            .envs(std::env::vars_os().filter(|(name, _)| self.passes(name)))
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        cmd
    }
}

/// A started child whose whole process group is killed (SIGKILL) when this is dropped or
/// [`kill`](Self::kill)ed: grandchildren the command left behind go with it.
pub struct Group {
    /// The child (the shell).
    pub child: Child,
    pgid: Option<Pid>,
}

impl Group {
    /// Takes charge of a child started by [`ChildEnv::command`].
    pub fn new(child: Child) -> Self {
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw);
        Group { child, pgid }
    }

    /// Kills the process group and reaps the shell.
    pub async fn kill(mut self) {
        self.kill_group();
        let _ = self.child.kill().await;
    }

    fn kill_group(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // ESRCH (the group is gone already) is what we want anyway.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Runs `command` with `vars` added to the scrubbed environment and waits at most `timeout`
/// for it, killing its process group then; failures are logged as those of `what` (e.g.
/// "the event hook"). Whether the command succeeded.
pub async fn run_bounded(
    env: &ChildEnv,
    command: &str,
    vars: impl IntoIterator<Item = (String, String)>,
    timeout: std::time::Duration,
    what: &str,
) -> bool {
    let mut cmd = env.command(command);
    cmd.envs(vars);
    let mut group = match cmd.spawn() {
        Ok(child) => Group::new(child),
        Err(e) => {
            tracing::warn!("cannot run {what}: {e}");
            return false;
        }
    };
    match tokio::time::timeout(timeout, group.child.wait()).await {
        Ok(Ok(status)) if status.success() => return true,
        Ok(Ok(status)) => tracing::warn!("{what} exited with {status}"),
        Ok(Err(e)) => tracing::warn!("cannot run {what}: {e}"),
        Err(_) => {
            tracing::warn!("{what} timed out after {} s", timeout.as_secs());
            group.kill().await;
        }
    }
    false
}

/// Whether process `pid` has ended (a zombie counts as ended), polling for at most 5 s.
#[cfg(test)]
pub(crate) async fn gone(pid: i32) -> bool {
    for _ in 0..100 {
        let alive = nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "));
        if !alive {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_variables_are_dropped_unless_passed() {
        let env = ChildEnv {
            pass: vec!["WIFIPROV_SITE".into()],
        };
        assert!(!env.passes(&"WIFIPROV_POP".into()));
        assert!(!env.passes(&"wifiprov_password".into()));
        assert!(env.passes(&"WIFIPROV_SITE".into()));
        assert!(env.passes(&"PATH".into()));
    }
}
