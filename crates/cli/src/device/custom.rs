//! `--endpoint NAME=COMMAND`: custom endpoints served by a shell command.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use protocomm::HandlerError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use wifiprov_device::CustomEndpoint;
use wifiprov_transport::service::BoxFuture;
use zeroize::Zeroizing;

/// Largest response a command may produce.
const MAX_OUTPUT: usize = 4096;

/// A custom endpoint answered by running a command: the decrypted request on stdin, the
/// response from stdout. A non-zero exit, a timeout or too much output means "no response".
pub struct CommandEndpoint {
    name: String,
    command: String,
    timeout: Duration,
}

/// Parses `NAME=COMMAND`.
pub fn parse(spec: &str, timeout: Duration) -> Result<Arc<CommandEndpoint>> {
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
    }))
}

impl CommandEndpoint {
    /// The endpoint name.
    pub fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, request: Zeroizing<Vec<u8>>) -> Result<Vec<u8>, HandlerError> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.command)
            .env("WIFIPROV_ENDPOINT", &self.name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| HandlerError::local(format!("cannot start {:?}: {e}", self.command)))?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| HandlerError::local("no stdin"))?;
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| HandlerError::local("no stdout"))?;
        let work = async {
            // A command that ignores its input must not make us fail: a broken pipe is fine.
            let _ = stdin.write_all(&request).await;
            drop(stdin);
            let mut out = Vec::new();
            (&mut stdout)
                .take(MAX_OUTPUT as u64 + 1)
                .read_to_end(&mut out)
                .await
                .map_err(|e| HandlerError::local(e.to_string()))?;
            let status = child
                .wait()
                .await
                .map_err(|e| HandlerError::local(e.to_string()))?;
            if out.len() > MAX_OUTPUT {
                return Err(HandlerError::local(format!(
                    "output longer than {MAX_OUTPUT} bytes"
                )));
            }
            if !status.success() {
                return Err(HandlerError::local(format!("exited with {status}")));
            }
            Ok(out)
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(HandlerError::local(format!(
                "timed out after {:?}",
                self.timeout
            ))),
        }
    }
}

impl CustomEndpoint for CommandEndpoint {
    fn call(
        &self,
        request: Zeroizing<Vec<u8>>,
    ) -> BoxFuture<'static, Result<Vec<u8>, HandlerError>> {
        let me = CommandEndpoint {
            name: self.name.clone(),
            command: self.command.clone(),
            timeout: self.timeout,
        };
        Box::pin(async move {
            let result = me.run(request).await;
            if let Err(e) = &result {
                tracing::warn!(endpoint = %me.name, "custom endpoint failed: {e}");
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_the_command() {
        let ep = parse("custom-data=tr a-z A-Z", Duration::from_secs(5)).unwrap();
        assert_eq!(
            ep.call(Zeroizing::new(b"hello".to_vec())).await.unwrap(),
            b"HELLO"
        );
        let failing = parse("x=exit 3", Duration::from_secs(5)).unwrap();
        assert!(failing.call(Zeroizing::new(vec![])).await.is_err());
        let slow = parse("x=sleep 5", Duration::from_millis(100)).unwrap();
        assert!(slow.call(Zeroizing::new(vec![])).await.is_err());
        assert!(parse("nocommand", Duration::from_secs(1)).is_err());
        assert!(parse("=cmd", Duration::from_secs(1)).is_err());
    }
}
