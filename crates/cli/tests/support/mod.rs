//! Test support: run the `wifiprov` binary and talk to it as esp_prov would.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use protocomm::proto::Message;
use protocomm::proto::wifi_config::{
    CmdSetConfig, RespGetStatus, WiFiConfigPayload, wi_fi_config_payload::Payload,
};
use protocomm::{ClientHandshake, ClientSecurity, ClientSession, HandshakeStep, Secret};
use wifiprov_transport::http_client::{ClientError, HttpClient};

pub struct Agent {
    pub child: Child,
    pub addr: String,
    pub stderr: Arc<Mutex<String>>,
    pub stdout: Arc<Mutex<String>>,
    pub state_dir: tempfile::TempDir,
}

fn collect(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

impl Agent {
    /// Starts `wifiprov device` on a free loopback port with a fresh state directory.
    pub fn start(args: &[&str]) -> Agent {
        Self::start_in(tempfile::tempdir().unwrap(), args)
    }

    pub fn start_in(state_dir: tempfile::TempDir, args: &[&str]) -> Agent {
        Self::start_with(state_dir, &[], args, &[])
    }

    /// As [`start_in`](Self::start_in), with these environment variables set.
    pub fn start_with_env(
        state_dir: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Agent {
        Self::start_with(state_dir, &[], args, env)
    }

    /// Starts `wifiprov device` as [`Agent::start_in`] does, run by the command `wrapper`
    /// (for example `["prlimit", "--nofile=128:128"]`) when it is not empty.
    pub fn start_wrapped(state_dir: tempfile::TempDir, wrapper: &[&str], args: &[&str]) -> Agent {
        Self::start_with(state_dir, wrapper, args, &[])
    }

    /// Starts `wifiprov device` run by `wrapper` (if any) with `args` and `env`.
    pub fn start_with(
        state_dir: tempfile::TempDir,
        wrapper: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Agent {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(env!("CARGO_BIN_EXE_wifiprov"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_wifiprov")),
        };
        let mut child = command
            .args(["device", "--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state_dir.path())
            .args(args)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        collect(child.stderr.take().unwrap(), stderr.clone());
        collect(child.stdout.take().unwrap(), stdout.clone());
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            if let Some(addr) = stderr
                .lock()
                .unwrap()
                .split("on http://")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
            {
                break addr.to_string();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("agent exited with {status}: {}", stderr.lock().unwrap());
            }
            assert!(
                Instant::now() < deadline,
                "agent did not start: {}",
                stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Agent {
            child,
            addr,
            stderr,
            stdout,
            state_dir,
        }
    }

    pub fn client(&self) -> HttpClient {
        HttpClient::new(&self.addr, Duration::from_secs(30))
    }

    /// Waits for the agent to exit by itself.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn output(&self) -> String {
        format!(
            "{}{}",
            self.stderr.lock().unwrap(),
            self.stdout.lock().unwrap()
        )
    }

    /// Waits until stdout contains `needle`.
    pub fn wait_stdout(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.stdout.lock().unwrap().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn os_rng() -> protocomm::rand_core::UnwrapErr<getrandom::SysRng> {
    protocomm::rand_core::UnwrapErr(getrandom::SysRng)
}

/// Runs the handshake on `prov-session`.
pub async fn handshake(
    http: &mut HttpClient,
    security: ClientSecurity,
) -> Result<ClientSession, String> {
    let (mut hs, mut request) =
        ClientHandshake::start(security, &mut os_rng()).map_err(|e| e.to_string())?;
    loop {
        let response = http
            .post("prov-session", &request)
            .await
            .map_err(|e| e.to_string())?;
        match hs.handle_response(&response).map_err(|e| e.to_string())? {
            HandshakeStep::Send(next, req) => (hs, request) = (next, req),
            HandshakeStep::Done(session) => return Ok(session),
        }
    }
}

/// One encrypted exchange.
pub async fn call(
    http: &mut HttpClient,
    session: &mut ClientSession,
    endpoint: &str,
    plain: &[u8],
) -> Result<Vec<u8>, ClientError> {
    let wire = session.encrypt(plain).unwrap();
    let answer = http.post(endpoint, &wire).await?;
    Ok(session.decrypt(&answer).unwrap())
}

pub fn sec(kind: u8) -> (Vec<&'static str>, ClientSecurity) {
    match kind {
        0 => (vec!["--security", "0"], ClientSecurity::Sec0),
        1 => (
            vec!["--security", "1", "--pop", "abcd1234"],
            ClientSecurity::Sec1 {
                pop: Some(Secret::from("abcd1234")),
            },
        ),
        _ => (
            vec![
                "--security",
                "2",
                "--username",
                "wifiprov",
                "--password",
                "s3cret-srp-pw",
            ],
            ClientSecurity::Sec2 {
                username: b"wifiprov".to_vec(),
                password: Secret::from("s3cret-srp-pw"),
                patch: 1,
            },
        ),
    }
}

pub async fn set_and_apply(
    http: &mut HttpClient,
    s: &mut ClientSession,
    ssid: &str,
    pass: &str,
) -> (Vec<u8>, Vec<u8>) {
    let set = WiFiConfigPayload {
        msg: 2,
        payload: Some(Payload::CmdSetConfig(CmdSetConfig {
            ssid: ssid.into(),
            passphrase: pass.into(),
            ..Default::default()
        })),
    };
    let set = call(http, s, "prov-config", &set.encode_to_vec())
        .await
        .unwrap();
    let apply = call(http, s, "prov-config", &[0x08, 0x04]).await.unwrap();
    (set, apply)
}

pub async fn status(http: &mut HttpClient, s: &mut ClientSession) -> RespGetStatus {
    let bytes = call(http, s, "prov-config", &[0x52, 0x00]).await.unwrap();
    match WiFiConfigPayload::decode(bytes.as_slice()).unwrap().payload {
        Some(Payload::RespGetStatus(r)) => r,
        other => panic!("{other:?}"),
    }
}

/// Polls GetStatus until it leaves Connecting.
pub async fn outcome(http: &mut HttpClient, s: &mut ClientSession) -> RespGetStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = status(http, s).await;
        if st.sta_state != 1 {
            return st;
        }
        assert!(Instant::now() < deadline, "still connecting");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What one `wifiprov` run printed, and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as exactly one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {self:?}"))
    }

    /// Stdout and stderr together, for assertions on messages.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs the `wifiprov` binary with `args`, stdin closed (no terminal), no colour and none of
/// the WIFIPROV_* secrets of the environment.
pub fn wifiprov(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("WIFIPROV_POP")
        .env_remove("WIFIPROV_PASSWORD")
        .env_remove("WIFIPROV_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A loopback address where nothing listens.
pub fn dead_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

/// The `wifiprov provision` flags matching the agent flags of [`sec`] (esp_prov spelling).
pub fn client_credentials(kind: u8) -> Vec<&'static str> {
    match kind {
        0 => vec![],
        1 => vec!["--pop", "abcd1234"],
        _ => vec!["--sec2_username", "wifiprov", "--sec2_pwd", "s3cret-srp-pw"],
    }
}
