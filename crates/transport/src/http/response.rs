//! The responses the HTTP transport sends, and the signal to send none.

use http_body_util::Full;
use hyper::Response;
use hyper::StatusCode;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use protocomm::SessionId;

/// A complete response.
pub(super) type HttpResponse = Response<Full<Bytes>>;

/// Signals hyper to drop the connection without writing a response.
#[derive(Debug)]
pub(super) struct CloseWithoutResponse;

impl std::fmt::Display for CloseWithoutResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request failed; closing the connection without a response")
    }
}

impl std::error::Error for CloseWithoutResponse {}

/// A `text/plain` answer that does not involve protocomm (routing errors).
pub(super) fn plain(status: StatusCode, text: &'static str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// [`plain`], asking the client to close the connection (its body was not read).
pub(super) fn plain_closing(status: StatusCode, text: &'static str) -> HttpResponse {
    let mut response = plain(status, text);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `405` with `Allow: POST`.
pub(super) fn method_not_allowed() -> HttpResponse {
    let mut response = plain(
        StatusCode::METHOD_NOT_ALLOWED,
        "Only POST is allowed on this URI\n",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// `200 OK` with the protocomm bytes as `text/html` (esp_http_server's default type), and
/// `Set-Cookie: session=<id>` (exactly that, esp_prov looks for it) when `cookie` is set.
pub(super) fn success(
    body: Vec<u8>,
    cookie: Option<SessionId>,
) -> Result<HttpResponse, CloseWithoutResponse> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    if let Some(id) = cookie {
        let value =
            HeaderValue::try_from(format!("session={id}")).map_err(|_| CloseWithoutResponse)?;
        headers.insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `429 Too Many Requests` with `Retry-After` in whole seconds (rounded up, at least 1): the
/// device is throttling authentication attempts. The body says so in plain text.
pub(super) fn too_many_requests(retry_after: std::time::Duration) -> HttpResponse {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = plain(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many authentication attempts; retry later\n",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_is_exactly_session_equals_id() {
        let response = success(b"x".to_vec(), Some(SessionId(4_294_967_295))).unwrap();
        assert_eq!(
            response.headers().get(header::SET_COOKIE).unwrap(),
            "session=4294967295"
        );
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/html"
        );
        let response = success(b"x".to_vec(), None).unwrap();
        assert!(response.headers().get(header::SET_COOKIE).is_none());
    }

    #[test]
    fn throttling_is_429_with_retry_after_in_whole_seconds() {
        let response = too_many_requests(std::time::Duration::from_millis(2_100));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "3");
        let short = too_many_requests(std::time::Duration::ZERO);
        assert_eq!(short.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }
}
