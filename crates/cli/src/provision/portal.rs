//! `wifiprov provision --transport portal --service_name http://ADDR`: the captive portal's
//! JSON API (as its page uses it), with the same flags, prompts, `--json` object and exit
//! codes as the ESP transports.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wifiprov_wifi::{AccessPoint, AuthMode, Bssid};

use super::args::{Connection, ProvisionArgs, TransportKind};
use super::flow::{self, Scanner};
use super::prompt;
use super::report::{Failure, Outcome};
use super::ui::{Ui, seconds};
use crate::exit::Exit;

/// The largest answer read.
const MAX_ANSWER: usize = 64 * 1024;
/// How long a request other than connect may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The portal's address and form token.
pub(super) struct Link {
    /// `host:port`.
    addr: String,
    token: String,
}

/// Whether `conn` asks for the portal.
pub(super) fn wanted(conn: &Connection) -> bool {
    conn.transport == Some(TransportKind::Portal)
}

/// `host:port` of `--service_name` (`http://HOST[:PORT][/]`, or `HOST[:PORT]`).
fn addr_of(conn: &Connection) -> Result<String, Failure> {
    let Some(name) = conn.service_name.as_deref() else {
        return Err(Failure::usage(
            "--transport portal needs --service_name http://ADDR (the portal's address)",
        ));
    };
    if name.starts_with("https://") {
        return Err(Failure::usage("the portal serves plain http://"));
    }
    let rest = name.strip_prefix("http://").unwrap_or(name);
    let host = rest.split('/').next().unwrap_or(rest);
    if host.is_empty() {
        return Err(Failure::usage(format!("--service_name {name:?}: no host")));
    }
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok() && !host.ends_with(']'));
    Ok(if has_port {
        host.to_owned()
    } else {
        format!("{host}:80")
    })
}

/// One request; the status and the JSON answer.
async fn request(
    addr: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
    timeout: Duration,
) -> Result<(u16, serde_json::Value), Failure> {
    let exchange = async {
        let stream = TcpStream::connect(addr).await.map_err(|e| {
            Failure::new(Exit::Unreachable, format!("cannot connect to {addr}: {e}"))
        })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Failure::new(Exit::Unreachable, format!("{addr}: {e}")))?;
        tokio::spawn(connection);
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", addr)
            .header("Accept", "application/json");
        if let Some(token) = token {
            builder = builder.header("X-CSRF-Token", token);
        }
        let payload = match &body {
            Some(doc) => {
                builder = builder.header("Content-Type", "application/json");
                Bytes::from(doc.to_string())
            }
            None => Bytes::new(),
        };
        let request = builder
            .body(Full::new(payload))
            .map_err(|e| Failure::new(Exit::Failure, e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| Failure::new(Exit::Unreachable, format!("{addr}: {e}")))?;
        let status = response.status().as_u16();
        let bytes = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| Failure::new(Exit::Failure, format!("{addr}: {e}")))?
            .to_bytes();
        let doc = serde_json::from_slice(&bytes).map_err(|_| {
            Failure::new(
                Exit::Failure,
                format!(
                    "{addr}{path} did not answer JSON (HTTP {status}): is it a wifiprov portal?"
                ),
            )
        })?;
        Ok((status, doc))
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| {
        Failure::new(
            Exit::Timeout,
            format!("no answer from {addr} within {timeout:?}"),
        )
    })?
}

fn text<'d>(doc: &'d serde_json::Value, key: &str) -> &'d str {
    doc.get(key).and_then(|v| v.as_str()).unwrap_or_default()
}

/// The failure an error answer stands for.
fn refused(status: u16, doc: &serde_json::Value) -> Failure {
    let message = text(doc, "error").to_owned();
    match status {
        429 => Failure::new(Exit::Throttled, message),
        403 | 409 => Failure::new(Exit::Refused, message),
        400 => Failure::usage(message),
        _ => Failure::new(Exit::Failure, format!("HTTP {status}: {message}")),
    }
}

impl Link {
    /// Reads the portal's status (and its form token).
    async fn open(conn: &Connection) -> Result<(Link, serde_json::Value), Failure> {
        if conn.ble_service_uuid.is_some()
            || conn.ble_adapter.is_some()
            || conn.qr_payload.is_some()
        {
            return Err(Failure::usage(
                "the --ble-* flags and --qr_payload do not apply to --transport portal",
            ));
        }
        let addr = addr_of(conn)?;
        let (status, doc) = request(
            &addr,
            Method::GET,
            "/api/status",
            None,
            None,
            REQUEST_TIMEOUT,
        )
        .await?;
        if status != 200 {
            return Err(refused(status, &doc));
        }
        let token = text(&doc, "csrf").to_owned();
        Ok((Link { addr, token }, doc))
    }
}

impl Scanner for Link {
    async fn networks(&mut self) -> Result<Vec<AccessPoint>, Failure> {
        let (status, doc) = request(
            &self.addr,
            Method::POST,
            "/api/rescan",
            Some(&self.token),
            None,
            REQUEST_TIMEOUT,
        )
        .await?;
        if status != 200 {
            return Err(refused(status, &doc));
        }
        let list = doc
            .get("networks")
            .and_then(|n| n.as_array())
            .cloned()
            .unwrap_or_default();
        Ok(list
            .iter()
            .map(|n| AccessPoint {
                ssid: text(n, "ssid").as_bytes().to_vec(),
                bssid: Bssid([0; 6]),
                channel: n
                    .get("channel")
                    .and_then(|c| c.as_u64())
                    .and_then(|c| u8::try_from(c).ok())
                    .unwrap_or(0),
                rssi: n
                    .get("rssi")
                    .and_then(|r| r.as_i64())
                    .and_then(|r| i8::try_from(r).ok())
                    .unwrap_or(-100),
                auth: auth_of(n),
            })
            .collect())
    }
}

/// The security a network entry names (its label, as `AuthMode::label` writes it).
fn auth_of(network: &serde_json::Value) -> AuthMode {
    if network.get("open").and_then(|o| o.as_bool()) == Some(true) {
        return AuthMode::Open;
    }
    match text(network, "security") {
        "WEP" => AuthMode::Wep,
        "WPA" => AuthMode::WpaPsk,
        "WPA/WPA2" => AuthMode::WpaWpa2Psk,
        "WPA2-Enterprise" => AuthMode::Wpa2Enterprise,
        "WPA3" => AuthMode::Wpa3Psk,
        "WPA2/WPA3" => AuthMode::Wpa2Wpa3Psk,
        _ => AuthMode::Wpa2Psk,
    }
}

/// `provision` through the portal.
pub(super) async fn execute(
    args: &ProvisionArgs,
    ui: &Ui,
    interactive: bool,
    started: Instant,
    outcome: &mut Outcome,
) -> Result<(), Failure> {
    if args.reset || args.reprov || args.custom_data.is_some() {
        return Err(Failure::usage(
            "--reset, --reprov and --custom_data are ESP-IDF provisioning; the portal takes new \
             credentials without them",
        ));
    }
    let conn = args.connection();
    flow::check_flags(args, interactive)?;
    let (mut link, status) = Link::open(&conn).await?;
    outcome.device = link.addr.clone();
    outcome.protocol = Some("portal 1".into());
    ui.step(&format!(
        "Portal found at http://{} ({})",
        link.addr,
        text(&status, "state")
    ));
    let (ssid, mut passphrase) =
        flow::network_and_passphrase(args, ui, interactive, &mut link, outcome).await?;
    let shown = super::table::display_ssid(&ssid);
    loop {
        let waiting = ui.wait(&format!("Waiting for the device to join {shown}"));
        let body = serde_json::json!({
            "ssid": String::from_utf8_lossy(&ssid),
            "password": passphrase.as_str(),
        });
        let result = request(
            &link.addr,
            Method::POST,
            "/api/connect",
            Some(&link.token),
            Some(body),
            args.timeout.saturating_add(REQUEST_TIMEOUT),
        )
        .await;
        drop(waiting);
        let (status, doc) = result?;
        if status != 200 {
            return Err(refused(status, &doc));
        }
        let failure = match text(&doc, "state") {
            "joined" => {
                outcome.ssid = Some(String::from_utf8_lossy(&ssid).into_owned());
                let ip = text(&doc, "ip").to_owned();
                let at = match text(&doc, "local_name") {
                    "" => ip.clone(),
                    name => format!("{ip} / {name}"),
                };
                ui.step(&format!(
                    "Provisioned: {shown}; the device is at {at} ({})",
                    seconds(started.elapsed().saturating_sub(prompt::time_waiting()))
                ));
                outcome.ip = (!ip.is_empty()).then_some(ip);
                return Ok(());
            }
            "failed" => {
                let failure = Failure::new(Exit::WifiFailed, text(&doc, "message"));
                if text(&doc, "reason") == "wrong-password" {
                    failure.hint("check the passphrase; the portal takes new credentials at once")
                } else {
                    failure
                }
            }
            other => Failure::new(Exit::Failure, format!("unexpected state {other:?}")),
        };
        flow::offer_retry(failure, ui, interactive, &shown, &mut passphrase).await?;
    }
}

/// `scan` through the portal.
pub(super) async fn scan(conn: &Connection, ui: &Ui) -> Result<Vec<AccessPoint>, Failure> {
    let (mut link, _) = Link::open(conn).await?;
    let waiting = ui.wait("Scanning for networks");
    let aps = link.networks().await;
    drop(waiting);
    aps
}
