//! The device's HTTP connection path (hyper, routing, limits, per-phase deadlines, sessions
//! and protocomm behind them) fed arbitrary bytes over an in-memory stream, on a Tokio clock
//! that advances by itself when everything waits.
//!
//! Input: the bytes a client sends, split into writes at every `0xFF` byte (dropped), so
//! that pipelining and slow senders are reachable; the client then half-closes.
//! Invariants: no panic; the connection ends (answered or closed) without real waiting; what
//! the device sent is a sequence of complete `HTTP/1.1` responses (`HTTP/1.0` for an HTTP/1.0
//! request), each with a `Content-Length` and exactly that many body bytes.
#![no_main]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use protocomm::{Device, DeviceConfig, HandlerError, Security, SessionId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wifiprov_transport::http::HttpConfig;
use wifiprov_transport::http::fuzzing::serve_io;
use wifiprov_transport::service::BoxFuture;
use wifiprov_transport::{AppHandler, Service};
use zeroize::Zeroizing;

struct Echo;

impl AppHandler for Echo {
    fn handle(
        &self,
        _session: SessionId,
        endpoint: String,
        request: Zeroizing<Vec<u8>>,
    ) -> BoxFuture<'static, Result<Vec<u8>, HandlerError>> {
        Box::pin(async move { Ok([endpoint.as_bytes(), b": ", request.as_slice()].concat()) })
    }
}

fn service() -> Service {
    let mut device = Device::new(DeviceConfig::new(Security::Sec0)).expect("sec0 device");
    device
        .register_endpoint(wifiprov_fuzz::CUSTOM_ENDPOINT)
        .expect("custom endpoint");
    Service::new(device, Arc::new(Echo))
}

/// Checks that `out` is a run of complete responses; panics otherwise.
fn check_responses(mut out: &[u8]) {
    while !out.is_empty() {
        // hyper answers an HTTP/1.0 request in HTTP/1.0.
        assert!(
            out.starts_with(b"HTTP/1.1 ") || out.starts_with(b"HTTP/1.0 "),
            "not a response: {out:?}"
        );
        let end = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("incomplete response head");
        let head = std::str::from_utf8(&out[..end]).expect("response head is not UTF-8");
        let status = &head[9..12];
        assert!(status.bytes().all(|b| b.is_ascii_digit()), "status {status:?}");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .expect("response without Content-Length")
            .parse()
            .expect("bad Content-Length");
        let rest = &out[end + 4..];
        assert!(rest.len() >= length, "truncated response body");
        out = &rest[length..];
    }
}

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut config = HttpConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.max_body = 512;
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let peer = SocketAddr::from(([192, 168, 4, 2], 50000));
        let task = tokio::spawn(serve_io(service(), config, server, peer));
        for chunk in data.split(|&b| b == 0xFF) {
            if client.write_all(chunk).await.is_err() {
                break;
            }
            // Let the device see this write on its own (a slow sender's pause).
            tokio::task::yield_now().await;
        }
        let _ = client.shutdown().await;
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(600), client.read_to_end(&mut out));
        let read = read.await.expect("the connection neither ended nor answered");
        // A reset (the device dropping the stream) is an ending too.
        let _ = read;
        tokio::time::timeout(Duration::from_secs(600), task)
            .await
            .expect("the connection task did not end")
            .expect("the connection task panicked");
        check_responses(&out);
    });
});
