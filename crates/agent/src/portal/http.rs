//! The portal's HTTP side: bounded connections, routing, the embedded page and the API.

use std::convert::Infallible;
use std::path::{Component, Path};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use wifiprov_portal::probe::{Probe, Reply};
use wifiprov_portal::{captive, host};

use super::{Outcome, Portal, Refused, escape};
use crate::route::RouteError;

/// The most connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 32;
/// The most event streams open at once.
pub const MAX_EVENT_STREAMS: usize = 8;
/// The largest request body read.
pub const MAX_BODY: usize = 4096;
/// The time allowed for a request head (and for the next one on a kept-alive connection).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The time allowed for a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a connection (an event stream included) stays open.
pub const MAX_CONNECTION_LIFE: Duration = Duration::from_secs(600);
/// The largest file served from a user's UI directory.
pub const MAX_UI_FILE: u64 = 1 << 20;
/// How often an event stream sends a keep-alive comment.
const EVENT_KEEPALIVE: Duration = Duration::from_secs(15);

const INDEX: &str = include_str!("assets/index.html");
const CSS: &str = include_str!("assets/portal.css");
const JS: &str = include_str!("assets/portal.js");

/// The size of the embedded UI in bytes.
pub const UI_BYTES: usize = INDEX.len() + CSS.len() + JS.len();

type Resp = Response<BoxBody<Bytes, Infallible>>;

/// Accepts connections until cancelled.
pub(super) async fn serve(listener: TcpListener, portal: Arc<Portal>) -> Result<(), RouteError> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let streams = Arc::new(Semaphore::new(MAX_EVENT_STREAMS));
    // The connections end with the route: dropping the set aborts them.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!("portal: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!("portal: too many connections, closing one from {peer}");
            continue;
        };
        let portal = portal.clone();
        let streams = streams.clone();
        connections.spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let portal = portal.clone();
                let streams = streams.clone();
                async move { Ok::<_, Infallible>(handle(&portal, &streams, request).await) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .keep_alive(true)
                .max_buf_size(16 * 1024);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(MAX_CONNECTION_LIFE, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!("portal: connection from {peer}: {e}"),
                Err(_) => tracing::debug!("portal: connection from {peer} open too long"),
            }
            drop(slot);
        });
    }
}

fn full(body: impl Into<Bytes>) -> BoxBody<Bytes, Infallible> {
    Full::new(body.into()).boxed()
}

fn response(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Resp {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "X-Content-Type-Options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn json(status: StatusCode, value: &serde_json::Value) -> Resp {
    response(status, "application/json", value.to_string())
}

fn error(status: StatusCode, message: &str) -> Resp {
    json(status, &serde_json::json!({ "error": message }))
}

fn redirect(status: StatusCode, location: &str) -> Resp {
    let mut resp = response(
        status,
        "text/html; charset=utf-8",
        format!("<a href=\"{}\">Continue</a>", escape(location)),
    );
    if let Ok(value) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, value);
    }
    resp
}

fn reply(reply: Reply) -> Resp {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::FOUND);
    let mut resp = response(
        status,
        reply.content_type.unwrap_or("text/plain"),
        reply.body,
    );
    if let Some(location) = reply.location
        && let Ok(value) = HeaderValue::from_str(&location)
    {
        resp.headers_mut().insert(header::LOCATION, value);
    }
    resp
}

/// Answers one request.
async fn handle(portal: &Portal, streams: &Arc<Semaphore>, request: Request<Incoming>) -> Resp {
    let path = request.uri().path().to_owned();
    if let Some(probe) = Probe::classify(&path) {
        return reply(probe.reply(portal.provisioned(), &portal.portal_url));
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    if !host::is_portal(host.as_deref(), &portal.hosts) {
        return redirect(StatusCode::FOUND, &portal.portal_url);
    }
    let method = request.method().clone();
    match (&method, path.as_str()) {
        (&Method::GET, "/api/status") => {
            let outcome = portal.outcome.borrow().clone();
            let resp = json(StatusCode::OK, &portal.status(true));
            portal.outcome_seen(&outcome);
            resp
        }
        (&Method::GET, "/api/captive") => response(
            StatusCode::OK,
            captive::CONTENT_TYPE,
            captive::document(!portal.provisioned(), &portal.portal_url),
        ),
        (&Method::GET, "/api/networks") => networks(portal, portal.networks().await),
        (&Method::POST, "/api/rescan") => {
            if !portal.token.verify(header_text(&request, "x-csrf-token")) {
                return error(StatusCode::FORBIDDEN, "missing or wrong form token");
            }
            let nets = portal.rescan().await;
            networks(portal, nets)
        }
        (&Method::POST, "/api/connect") => api_connect(portal, request).await,
        (&Method::GET, "/api/events") => events(portal, streams),
        (&Method::POST, "/connect") => form_connect(portal, request).await,
        (&Method::POST, "/rescan") => {
            let form = match read_body(request).await {
                Ok(body) => body,
                Err(resp) => return resp,
            };
            if portal
                .token
                .verify(&form_field(&form, "csrf").unwrap_or_default())
            {
                portal.rescan().await;
            }
            redirect(StatusCode::SEE_OTHER, "/")
        }
        (_, p) if p.starts_with("/api/") || p == "/connect" || p == "/rescan" => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        (&Method::GET | &Method::HEAD, _) => match &portal.ui_dir {
            Some(dir) => static_file(dir, &path).await,
            None => embedded(portal, &path).await,
        },
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    }
}

fn header_text<'r>(request: &'r Request<Incoming>, name: &str) -> &'r str {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn networks(portal: &Portal, nets: Vec<super::Network>) -> Resp {
    let _ = portal;
    json(
        StatusCode::OK,
        &serde_json::json!({
            "networks": nets.iter().map(super::Network::json).collect::<Vec<_>>(),
        }),
    )
}

/// Reads a body of at most [`MAX_BODY`] bytes within [`BODY_TIMEOUT`].
async fn read_body(request: Request<Incoming>) -> Result<Bytes, Resp> {
    let body = Limited::new(request.into_body(), MAX_BODY);
    match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(_)) => Err(error(StatusCode::PAYLOAD_TOO_LARGE, "request too large")),
        Err(_) => Err(error(StatusCode::REQUEST_TIMEOUT, "request too slow")),
    }
}

fn form_field(form: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(form)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn refused(why: Refused) -> Resp {
    match why {
        Refused::Csrf => error(StatusCode::FORBIDDEN, "missing or wrong form token"),
        Refused::Limited(after) => {
            let secs = after.as_secs().max(1);
            let mut resp = json(
                StatusCode::TOO_MANY_REQUESTS,
                &serde_json::json!({
                    "error": format!("too many attempts — try again in {secs} s"),
                    "retry_after": secs,
                }),
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            resp
        }
        Refused::Invalid(why) => error(StatusCode::BAD_REQUEST, &why),
        Refused::Busy => error(
            StatusCode::CONFLICT,
            "the device is busy with another attempt — try again shortly",
        ),
    }
}

async fn api_connect(portal: &Portal, request: Request<Incoming>) -> Resp {
    let token = header_text(&request, "x-csrf-token").to_owned();
    if !portal.token.verify(&token) {
        return refused(Refused::Csrf);
    }
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(resp) => return resp,
    };
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "expected {\"ssid\",\"password\"}");
    };
    let ssid = doc.get("ssid").and_then(|s| s.as_str()).unwrap_or_default();
    let password = doc
        .get("password")
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    match portal.connect(&token, ssid, password).await {
        Ok(outcome) => {
            let resp = json(StatusCode::OK, &portal.status(false));
            portal.outcome_seen(&outcome);
            resp
        }
        Err(why) => refused(why),
    }
}

async fn form_connect(portal: &Portal, request: Request<Incoming>) -> Resp {
    let form = match read_body(request).await {
        Ok(body) => body,
        Err(resp) => return resp,
    };
    let token = form_field(&form, "csrf").unwrap_or_default();
    let mut ssid = form_field(&form, "ssid").unwrap_or_default();
    if ssid.is_empty() {
        ssid = form_field(&form, "hidden_ssid").unwrap_or_default();
    }
    let password = form_field(&form, "password").unwrap_or_default();
    match portal.connect(&token, &ssid, &password).await {
        // The page shows the outcome (post, redirect, get: a reload does not resubmit).
        Ok(_) => redirect(StatusCode::SEE_OTHER, "/"),
        Err(Refused::Csrf) => response(
            StatusCode::FORBIDDEN,
            "text/html; charset=utf-8",
            "<!doctype html><title>Refused</title><p>The form is out of date. <a href=\"/\">Reload the page</a> and try again.",
        ),
        Err(why) => {
            let message = match why {
                Refused::Limited(after) => format!(
                    "Too many attempts — try again in {} s.",
                    after.as_secs().max(1)
                ),
                Refused::Invalid(why) => format!("Not sent: {why}."),
                _ => "The device is busy with another attempt — try again shortly.".into(),
            };
            page(portal, &message, "bad").await
        }
    }
}

/// The embedded page, CSS and script.
async fn embedded(portal: &Portal, path: &str) -> Resp {
    match path {
        "/" | "/index.html" => {
            let outcome = portal.outcome.borrow().clone();
            let class = match &outcome {
                Outcome::Joined(..) => "ok",
                Outcome::Failed(..) => "bad",
                Outcome::Joining(_) => "busy",
                Outcome::Idle => "",
            };
            let resp = page(portal, &outcome.message(), class).await;
            portal.outcome_seen(&outcome);
            resp
        }
        "/portal.css" => response(StatusCode::OK, "text/css; charset=utf-8", CSS),
        "/portal.js" => response(StatusCode::OK, "text/javascript; charset=utf-8", JS),
        // Any other page on the portal's own host is the portal too.
        _ => redirect(StatusCode::FOUND, &portal.portal_url),
    }
}

/// The page with `message` in its outcome line.
async fn page(portal: &Portal, message: &str, class: &str) -> Resp {
    let mut list = String::new();
    for net in portal.networks().await {
        let security = if net.open { "open" } else { net.security };
        list.push_str(&format!(
            "<label class=\"net\"><input type=\"radio\" name=\"ssid\" value=\"{ssid}\"> <span>{ssid}</span><small>{bars} {rssi} dBm · {security}</small></label>",
            ssid = escape(&net.ssid),
            bars = "▂▄▆█".chars().take(usize::from(net.bars())).collect::<String>(),
            rssi = net.rssi,
        ));
    }
    let mut resp = response(
        StatusCode::OK,
        "text/html; charset=utf-8",
        INDEX
            .replace("{{CSRF}}", portal.token.as_str())
            .replace("{{OUTCOME_CLASS}}", class)
            .replace("{{OUTCOME}}", &escape(message))
            .replace("{{NETWORKS}}", &list),
    );
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    resp.headers_mut()
        .insert("Referrer-Policy", HeaderValue::from_static("no-referrer"));
    resp
}

/// A file of the user's UI directory (`/` is `index.html`); only plain relative paths.
async fn static_file(dir: &Path, path: &str) -> Resp {
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_owned()
    };
    let rel = Path::new(&relative);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return error(StatusCode::NOT_FOUND, "not found");
    }
    let file = dir.join(rel);
    match tokio::fs::metadata(&file).await {
        Ok(meta) if meta.is_file() && meta.len() <= MAX_UI_FILE => {}
        _ => return error(StatusCode::NOT_FOUND, "not found"),
    }
    let Ok(bytes) = tokio::fs::read(&file).await else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let content_type = match rel.extension().and_then(|e| e.to_str()) {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    response(StatusCode::OK, content_type, bytes)
}

/// Server-sent events: the status now and at every change.
fn events(portal: &Portal, streams: &Arc<Semaphore>) -> Resp {
    let Ok(permit) = streams.clone().try_acquire_owned() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "too many event streams");
    };
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let mut changes = portal.outcome.subscribe();
    let provisioner = portal.ctx.provisioner().clone();
    let stop = portal.ctx.shutdown().signalled();
    tokio::spawn(async move {
        let _permit = permit;
        tokio::pin!(stop);
        loop {
            let outcome = changes.borrow_and_update().clone();
            let data = outcome.json(provisioner.is_provisioned()).to_string();
            if tx
                .send(Bytes::from(format!("event: status\ndata: {data}\n\n")))
                .await
                .is_err()
            {
                return;
            }
            if matches!(outcome, Outcome::Joined(..)) {
                provisioner.outcome_reported();
            }
            loop {
                tokio::select! {
                    changed = changes.changed() => {
                        if changed.is_err() { return; }
                        break;
                    }
                    () = tokio::time::sleep(EVENT_KEEPALIVE) => {
                        if tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                            return;
                        }
                    }
                    () = &mut stop => return,
                }
            }
        }
    });
    let mut resp = Response::new(BoxBody::new(Channel(rx)));
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A body fed by a channel.
struct Channel(mpsc::Receiver<Bytes>);

impl Body for Channel {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}
