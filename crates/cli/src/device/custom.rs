//! `--endpoint NAME=COMMAND`: custom endpoints served by a shell command.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use protocomm::HandlerError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use wifiprov_device::CustomEndpoint;
use wifiprov_transport::service::BoxFuture;
use zeroize::Zeroizing;

use super::child::{ChildEnv, Group};

/// Largest response a command may produce: what a request may hold (ESP-IDF's HTTP
/// transport takes 4096 bytes), so a response fits wherever the request did.
pub const MAX_OUTPUT: usize = 4096;

/// A custom endpoint answered by running a command: the decrypted request on stdin, the
/// response from stdout. A non-zero exit, a timeout or too much output means "no response";
/// in each case the command's whole process group is killed.
#[derive(Clone)]
pub struct CommandEndpoint {
    name: String,
    command: String,
    timeout: Duration,
    env: ChildEnv,
}

/// Parses `NAME=COMMAND`.
pub fn parse(spec: &str, timeout: Duration, env: ChildEnv) -> Result<Arc<CommandEndpoint>> {
    let Some((name, command)) = spec.split_once('=') else {
        bail!("--endpoint takes NAME=COMMAND, got {spec:?}");
    };
    if name.is_empty() || command.trim().is_empty() {
        bail!("--endpoint takes NAME=COMMAND with both parts non-empty, got {spec:?}");
    }
    Ok(Arc::new(CommandEndpoint {
        name: name.to_string(),
        command: command.to_string(),
        timeout,
        env,
    }))
}

impl CommandEndpoint {
    /// The endpoint name.
    pub fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, request: Zeroizing<Vec<u8>>) -> Result<Vec<u8>, HandlerError> {
        let mut child = self
            .env
            .command(&self.command)
            .env("WIFIPROV_ENDPOINT", &self.name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| HandlerError::local(format!("cannot start {:?}: {e}", self.command)))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let mut group = Group::new(child);
        let (Some(mut stdin), Some(stdout)) = (stdin, stdout) else {
            group.kill().await;
            return Err(HandlerError::local("no pipes to the command"));
        };
        let feed = async {
            // A command that ignores its input must not make us fail: a broken pipe is fine.
            let _ = stdin.write_all(&request).await;
            drop(stdin);
        };
        // Input and output at the same time: a command may answer before it has read all.
        let work = async {
            let ((), out) = tokio::join!(feed, read_capped(stdout));
            let out = out?;
            let status = group
                .child
                .wait()
                .await
                .map_err(|e| HandlerError::local(e.to_string()))?;
            Ok::<_, HandlerError>((out, status))
        };
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok((_, status))) if !status.success() => {
                Err(HandlerError::local(format!("exited with {status}")))
            }
            Ok(Ok((out, _))) => Ok(out),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(HandlerError::local(format!(
                "timed out after {:?}",
                self.timeout
            ))),
        };
        // Whatever the command left behind in its group goes now.
        group.kill().await;
        result
    }
}

/// Reads the command's output, failing as soon as it is longer than [`MAX_OUTPUT`].
async fn read_capped(mut stdout: impl AsyncRead + Unpin) -> Result<Vec<u8>, HandlerError> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = stdout
            .read(&mut chunk)
            .await
            .map_err(|e| HandlerError::local(e.to_string()))?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > MAX_OUTPUT {
            return Err(HandlerError::local(format!(
                "response too long (more than {MAX_OUTPUT} bytes)"
            )));
        }
        out.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

impl CustomEndpoint for CommandEndpoint {
    fn call(
        &self,
        request: Zeroizing<Vec<u8>>,
    ) -> BoxFuture<'static, Result<Vec<u8>, HandlerError>> {
        let me = self.clone();
        Box::pin(async move {
            let result = me.run(request).await;
            if let Err(e) = &result {
                tracing::warn!(endpoint = ?me.name, "custom endpoint failed: {e}");
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::child::gone;
    use super::*;

    fn endpoint(spec: &str, timeout: Duration) -> Arc<CommandEndpoint> {
        parse(spec, timeout, ChildEnv::default()).unwrap()
    }

    #[tokio::test]
    async fn runs_the_command() {
        let ep = endpoint("custom-data=tr a-z A-Z", Duration::from_secs(5));
        assert_eq!(
            ep.call(Zeroizing::new(b"hello".to_vec())).await.unwrap(),
            b"HELLO"
        );
        let failing = endpoint("x=exit 3", Duration::from_secs(5));
        assert!(failing.call(Zeroizing::new(vec![])).await.is_err());
        let slow = endpoint("x=sleep 5", Duration::from_millis(100));
        let err = slow.call(Zeroizing::new(vec![])).await.unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(parse("nocommand", Duration::from_secs(1), ChildEnv::default()).is_err());
        assert!(parse("=cmd", Duration::from_secs(1), ChildEnv::default()).is_err());
    }

    #[tokio::test]
    async fn exactly_the_limit_is_a_response() {
        let ep = endpoint(
            &format!("x=head -c {MAX_OUTPUT} /dev/zero"),
            Duration::from_secs(20),
        );
        let out = ep.call(Zeroizing::new(vec![])).await.unwrap();
        assert_eq!(out.len(), MAX_OUTPUT);
    }

    #[tokio::test]
    async fn too_much_output_is_an_error_not_a_timeout() {
        // 100 KB, far more than a pipe buffers; the timeout is long so that only the cap can
        // end the call with this message.
        let ep = endpoint("x=head -c 102400 /dev/zero", Duration::from_secs(60));
        let err = ep.call(Zeroizing::new(vec![])).await.unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("response too long (more than {MAX_OUTPUT} bytes)")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_the_grandchildren() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let ep = endpoint(
            &format!("x=sleep 300 & echo $! > {}; wait", pidfile.display()),
            Duration::from_millis(500),
        );
        let err = ep.call(Zeroizing::new(vec![])).await.unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid).await, "the grandchild {pid} still runs");
    }
}
