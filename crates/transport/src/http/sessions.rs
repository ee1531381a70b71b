//! The only session state of the HTTP transport: which TCP connection a request came on,
//! which session its cookie claims, and which ids have been announced with `Set-Cookie`.
//! Everything else about sessions is the protocomm device's business.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hyper::header::HeaderValue;
use protocomm::{Error, SessionId};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::service::{Connection, Response};

/// How long a request claiming a session whose connection is still open waits for that
/// connection to close before it is refused. A client that drops its connection and at once
/// reconnects with its cookie (esp_prov does, after the device closed the connection) may
/// otherwise overtake the teardown of its own old connection.
pub const HANDOVER_GRACE: Duration = Duration::from_millis(500);

/// Parses a `Cookie` value that must read exactly `session=<id>` with `id` in canonical
/// decimal form (what the device sent in `Set-Cookie`); anything else claims nothing.
pub(super) fn parse_cookie(value: Option<&HeaderValue>) -> Option<SessionId> {
    let text = value.and_then(|v| v.to_str().ok())?;
    let digits = text.strip_prefix("session=")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.parse::<u32>() {
        Ok(id) if id.to_string() == digits => Some(SessionId(id)),
        _ => None,
    }
}

/// Wakes requests waiting for a connection to close (see [`HANDOVER_GRACE`]).
#[derive(Debug, Default)]
pub(super) struct Handover {
    closed: Notify,
}

impl Handover {
    /// A connection has been disconnected from the device.
    pub(super) fn connection_closed(&self) {
        self.closed.notify_waiters();
    }
}

/// One TCP connection as the device knows it, and the session id announced on it.
#[derive(Debug)]
pub(super) struct SessionLink {
    connection: Connection,
    announced: Mutex<Option<SessionId>>,
}

impl SessionLink {
    pub(super) fn new(connection: Connection) -> Self {
        SessionLink {
            connection,
            announced: Mutex::new(None),
        }
    }

    /// Tells the device the TCP connection ended (its session stays, detached) and wakes
    /// requests waiting for that.
    pub(super) fn close(&self, handover: &Handover) {
        self.connection.disconnect();
        handover.connection_closed();
    }

    /// Runs one request claiming `claim`; on success also says whether the answer announces
    /// its session with `Set-Cookie`.
    pub(super) async fn request(
        &self,
        claim: Option<SessionId>,
        endpoint: &str,
        body: &[u8],
        handover: &Handover,
    ) -> Result<(Response, Option<SessionId>), Error> {
        let response = self
            .request_waiting(claim, endpoint, body, handover)
            .await?;
        let session = response.session;
        let announce = self.announce(claim, session);
        Ok((response, announce.then_some(session)))
    }

    /// [`SessionLink::request`], retried while the claimed session's connection is still
    /// open, for at most [`HANDOVER_GRACE`]. A refused claim changed nothing, so retrying is
    /// safe.
    async fn request_waiting(
        &self,
        claim: Option<SessionId>,
        endpoint: &str,
        body: &[u8],
        handover: &Handover,
    ) -> Result<Response, Error> {
        let mut deadline = None;
        loop {
            let closed = handover.closed.notified();
            tokio::pin!(closed);
            // Listen before asking, so that a close in between is not missed.
            closed.as_mut().enable();
            match self.connection.request(claim, endpoint, body).await {
                Err(Error::SessionInUse(id)) => {
                    let until = *deadline.get_or_insert_with(|| Instant::now() + HANDOVER_GRACE);
                    if tokio::time::timeout_at(until, closed).await.is_err() {
                        return Err(Error::SessionInUse(id));
                    }
                }
                other => return other,
            }
        }
    }

    /// Whether a successful answer for `session` carries `Set-Cookie`: when the client did not
    /// name that session and it has not been announced on this connection yet.
    fn announce(&self, claim: Option<SessionId>, session: SessionId) -> bool {
        let mut announced = self
            .announced
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let known = claim == Some(session) || *announced == Some(session);
        *announced = Some(session);
        !known
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use protocomm::{AfterDisconnect, Device, DeviceConfig, HandlerError, Security};
    use zeroize::Zeroizing;

    use super::*;
    use crate::service::{AppHandler, BoxFuture, Service};

    fn cookie(text: &str) -> Option<SessionId> {
        parse_cookie(Some(
            &HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("")),
        ))
    }

    #[test]
    fn cookie_must_match_exactly() {
        assert_eq!(cookie("session=0"), Some(SessionId(0)));
        assert_eq!(cookie("session=4294967295"), Some(SessionId(u32::MAX)));
        assert_eq!(cookie("session=4294967296"), None);
        assert_eq!(cookie("session=007"), None);
        assert_eq!(cookie("session=+7"), None);
        assert_eq!(cookie("session= 7"), None);
        assert_eq!(cookie("session=7; Path=/"), None);
        assert_eq!(cookie("Session=7"), None);
        assert_eq!(cookie("session="), None);
        assert_eq!(cookie("foo=1"), None);
        assert_eq!(parse_cookie(None), None);
    }

    struct Nothing;

    impl AppHandler for Nothing {
        fn handle(
            &self,
            _: SessionId,
            _: String,
            _: Zeroizing<Vec<u8>>,
        ) -> BoxFuture<'static, Result<Vec<u8>, HandlerError>> {
            Box::pin(async { Err(HandlerError::local("unused")) })
        }
    }

    fn link(service: &Service) -> SessionLink {
        SessionLink::new(service.connect(AfterDisconnect::Keep, protocomm::Source::Local))
    }

    #[test]
    fn only_a_session_the_client_does_not_know_is_announced() {
        let service = Service::new(
            Device::new(DeviceConfig::new(Security::Sec0)).unwrap(),
            Arc::new(Nothing),
        );
        let a = link(&service);
        let own = a.connection.session().unwrap();
        // First answer without a cookie: announced once.
        assert!(a.announce(None, own));
        assert!(!a.announce(None, own));
        // A client that names its session already knows it.
        let b = link(&service);
        let theirs = b.connection.session().unwrap();
        assert!(!b.announce(Some(theirs), theirs));
        assert!(!b.announce(None, theirs));
        // A stale cookie answered with the connection's own session: announced.
        let c = link(&service);
        let own = c.connection.session().unwrap();
        assert!(c.announce(Some(SessionId(own.0 ^ 1)), own));
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_waits_for_the_owner_to_close_then_gives_up() {
        let service = Service::new(
            Device::new(DeviceConfig::new(Security::Sec1 { pop: None })).unwrap(),
            Arc::new(Nothing),
        );
        let handover = Handover::default();
        let owner = link(&service);
        let victim = owner.connection.session().unwrap();
        // Give the owner's session a slot with a well-formed Cmd0.
        let cmd0 = protocomm::ClientHandshake::start(
            protocomm::ClientSecurity::Sec1 { pop: None },
            &mut protocomm::rand_core::UnwrapErr(getrandom::SysRng),
        )
        .unwrap()
        .1;
        owner
            .request(None, "prov-session", &cmd0, &handover)
            .await
            .unwrap();
        let other = link(&service);
        let started = Instant::now();
        let refused = other
            .request(Some(victim), "proto-ver", b"-", &handover)
            .await
            .unwrap_err();
        assert!(matches!(refused, Error::SessionInUse(id) if id == victim));
        assert_eq!(started.elapsed(), HANDOVER_GRACE);
        // Once the owner's connection closes, the waiting claim goes through.
        let (answer, closer) = tokio::join!(
            other.request(Some(victim), "proto-ver", b"-", &handover),
            async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                owner.close(&handover);
            }
        );
        let (response, cookie) = answer.unwrap();
        assert_eq!((response.session, cookie), (victim, None));
        let () = closer;
    }
}
