//! One HTTP request: routing, limits, the body, and the protocomm call.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, StatusCode};
use tracing::debug;

use super::conn::{Connection, RequestGuard, Shared};
use super::response::{
    CloseWithoutResponse, HttpResponse, method_not_allowed, plain, plain_closing, success,
    too_many_requests,
};
use super::sessions::parse_cookie;

impl Shared {
    /// Answers one request; an error makes hyper drop the connection without a response.
    pub(super) async fn handle(
        &self,
        connection: &Connection,
        request: Request<Incoming>,
    ) -> Result<HttpResponse, CloseWithoutResponse> {
        let request_phase = RequestGuard::new(connection);

        let uri = request.uri();
        let endpoint = match (uri.path().strip_prefix('/'), uri.query()) {
            (Some(name), None) if !name.is_empty() => name.to_owned(),
            _ => {
                return Ok(plain(
                    StatusCode::NOT_FOUND,
                    "Nothing matches the given URI\n",
                ));
            }
        };
        let registered = self
            .service
            .with_device(|device| device.endpoint(&endpoint).is_some());
        if !registered {
            return Ok(plain(
                StatusCode::NOT_FOUND,
                "Nothing matches the given URI\n",
            ));
        }
        if request.method() != Method::POST {
            return Ok(method_not_allowed());
        }
        let headers = request.headers();
        if headers.contains_key(header::TRANSFER_ENCODING) {
            return Ok(plain_closing(
                StatusCode::LENGTH_REQUIRED,
                "Send the body with a Content-Length\n",
            ));
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if declared == 0 {
            return Ok(plain(
                StatusCode::BAD_REQUEST,
                "The request body is empty\n",
            ));
        }
        let limit = self.config.max_body;
        if usize::try_from(declared).map_or(true, |len| len > limit) {
            return Ok(plain_closing(
                StatusCode::BAD_REQUEST,
                "The request body is too large\n",
            ));
        }
        let claim = parse_cookie(headers.get(header::COOKIE));

        let body = Limited::new(request.into_body(), limit).collect();
        // The connection's watchdog also ends a body that outlasts `body_timeout`; this
        // deadline answers the same question inside the handler.
        let body = match tokio::time::timeout(self.config.body_timeout, body).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) => {
                debug!(connection = connection.id, error = %e, "reading the request body failed");
                return Err(CloseWithoutResponse);
            }
            Err(_) => {
                debug!(connection = connection.id, "the request body stalled");
                return Err(CloseWithoutResponse);
            }
        };
        request_phase.answering();

        match connection
            .session
            .request(claim, &endpoint, &body, &self.handover)
            .await
        {
            Ok((response, cookie)) => success(response.body, cookie),
            Err(protocomm::Error::Throttled { retry_after }) => Ok(too_many_requests(retry_after)),
            Err(e) => {
                debug!(
                    connection = connection.id,
                    claim = ?claim.map(|c| c.0),
                    endpoint = ?endpoint,
                    error = %e,
                    "protocomm request failed; closing the connection without a response"
                );
                Err(CloseWithoutResponse)
            }
        }
    }
}
