//! The client library against in-process agents: every scheme and patch level, success and
//! every failure path, with the exit code each failure maps to.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::time::Duration;

use protocomm::{Sec2Credentials, Secret, Security};
use wifiprov_agent::{AgentBuilder, HttpRoute, RunningAgent};
use wifiprov_client::{
    ClientConfig, Credentials, Error, ExitCode, FailReason, HttpTransport, Provisioner, WifiStatus,
};
use wifiprov_device::ManagerConfig;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

fn rng() -> protocomm::rand_core::UnwrapErr<getrandom::SysRng> {
    protocomm::rand_core::UnwrapErr(getrandom::SysRng)
}

async fn agent(security: Security, manager: ManagerConfig) -> RunningAgent {
    let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let mut b =
        AgentBuilder::new(security, wifi).route(HttpRoute::new("127.0.0.1:0".parse().unwrap()));
    b.manager = ManagerConfig {
        connect_delay: Duration::ZERO,
        ..manager
    };
    b.start().await.unwrap()
}

fn sec2(patch: u32) -> Security {
    Security::Sec2 {
        credentials: Sec2Credentials::generate(b"wifiprov", &Secret::from("abcd1234"), &mut rng())
            .unwrap(),
        patch,
    }
}

fn client(agent: &RunningAgent) -> Provisioner<HttpTransport> {
    Provisioner::new(HttpTransport::new(
        &agent.addr.to_string(),
        Duration::from_secs(10),
    ))
}

#[tokio::test]
async fn every_scheme_and_patch_level_provisions() {
    let cases = [
        (Security::Sec0, Credentials::default()),
        (
            Security::Sec1 {
                pop: Some(Secret::from("abcd1234")),
            },
            Credentials::pop("abcd1234"),
        ),
        (Security::Sec1 { pop: None }, Credentials::default()),
        (sec2(0), Credentials::srp("wifiprov", "abcd1234")),
        (sec2(1), Credentials::srp("wifiprov", "abcd1234")),
    ];
    for (security, creds) in cases {
        let expected = (security.version(), security.patch_version());
        let agent = agent(security, ManagerConfig::default()).await;
        let mut c = client(&agent);
        // Negotiated from proto-ver alone (security 2 included).
        let negotiated = c.negotiate(None, &creds).await.unwrap();
        assert_eq!(negotiated.version(), expected.0);
        assert_eq!(c.version().await.unwrap().sec_patch_ver, expected.1);
        c.establish(negotiated).await.unwrap();
        let scan = c.scan().await.unwrap();
        assert!(scan.iter().any(|ap| ap.ssid == b"HomeNet"));
        let joined = c.provision(b"HomeNet", b"correct-horse").await.unwrap();
        assert_eq!(joined.ip, "192.168.1.42");
        agent.finished().await;
    }
}

#[tokio::test]
async fn wrong_pop_and_wrong_password_are_auth_errors() {
    let a1 = agent(
        Security::Sec1 {
            pop: Some(Secret::from("abcd1234")),
        },
        ManagerConfig::default(),
    )
    .await;
    let mut c = client(&a1);
    let sec = c.negotiate(None, &Credentials::pop("wrong")).await.unwrap();
    let err = c.establish(sec).await.unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Auth, "{err}");
    // A missing PoP is a usage error before anything is sent.
    let err = client(&a1)
        .negotiate(None, &Credentials::default())
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);

    let a2 = agent(sec2(1), ManagerConfig::default()).await;
    for creds in [
        Credentials::srp("wifiprov", "wrong"),
        Credentials::srp("someone", "abcd1234"),
    ] {
        let mut c = client(&a2);
        let sec = c.negotiate(None, &creds).await.unwrap();
        assert_eq!(
            c.establish(sec).await.unwrap_err().exit_code(),
            ExitCode::Auth
        );
    }
    // Explicitly speaking security 1 to a security 2 device fails as an authentication error.
    let mut c = client(&a2);
    let sec = c
        .negotiate(Some(1), &Credentials::pop("abcd1234"))
        .await
        .unwrap();
    assert_eq!(
        c.establish(sec).await.unwrap_err().exit_code(),
        ExitCode::Auth
    );
}

#[tokio::test]
async fn wifi_failures_refusals_reset_and_reprov() {
    let agent = agent(
        Security::Sec1 { pop: None },
        ManagerConfig {
            auto_stop: false,
            ..Default::default()
        },
    )
    .await;
    let mut c = client(&agent);
    let sec = c.negotiate(None, &Credentials::default()).await.unwrap();
    c.establish(sec).await.unwrap();
    let err = c.provision(b"HomeNet", b"wrong-horse").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::WifiFailed {
                reason: FailReason::AuthError,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.exit_code(), ExitCode::WifiFailed);
    // The device refuses new credentials until reset.
    let err = c.provision(b"HomeNet", b"correct-horse").await.unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Refused, "{err}");
    c.reset().await.unwrap();
    let err = c.provision(b"NoSuchNet", b"whatever1").await.unwrap_err();
    assert!(matches!(
        err,
        Error::WifiFailed {
            reason: FailReason::NetworkNotFound,
            ..
        }
    ));
    c.reset().await.unwrap();
    c.provision(b"HomeNet", b"correct-horse").await.unwrap();
    // Reset is refused after success; reprov is accepted (auto-stop is off).
    assert_eq!(c.reset().await.unwrap_err().exit_code(), ExitCode::Refused);
    c.reprovision().await.unwrap();
    c.provision(b"CoffeeShop", b"").await.unwrap();
    assert!(
        matches!(c.status().await.unwrap(), WifiStatus::Connected(ref j) if j.ssid == b"CoffeeShop")
    );
    // SetConfig validation is reported as a refusal.
    c.reprovision().await.unwrap();
    assert_eq!(
        c.set_config(&[b'x'; 40], b"")
            .await
            .unwrap_err()
            .exit_code(),
        ExitCode::Refused
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn reprov_refused_with_auto_stop() {
    let agent = agent(Security::Sec0, ManagerConfig::default()).await;
    let mut c = client(&agent);
    c.establish(protocomm::ClientSecurity::Sec0).await.unwrap();
    assert_eq!(
        c.reprovision().await.unwrap_err().exit_code(),
        ExitCode::Refused
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn slow_networks_time_out_and_unreachable_devices_are_reported() {
    let agent = agent(Security::Sec0, ManagerConfig::default()).await;
    let config = ClientConfig {
        outcome_timeout: Duration::from_millis(400),
        ..Default::default()
    };
    let mut c = Provisioner::with_config(
        HttpTransport::new(&agent.addr.to_string(), Duration::from_secs(5)),
        config,
    );
    c.establish(protocomm::ClientSecurity::Sec0).await.unwrap();
    let err = c
        .provision(b"SlowLane", b"patience-please")
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Timeout, "{err}");
    agent.shutdown().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = Provisioner::new(HttpTransport::new(
        &format!("127.0.0.1:{port}"),
        Duration::from_secs(2),
    ));
    let err = c.version().await.unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Unreachable, "{err}");
}

#[tokio::test]
async fn custom_endpoint_round_trip() {
    struct Upper;
    impl wifiprov_device::CustomEndpoint for Upper {
        fn call(
            &self,
            request: zeroize::Zeroizing<Vec<u8>>,
        ) -> wifiprov_transport::service::BoxFuture<'static, Result<Vec<u8>, protocomm::HandlerError>>
        {
            let out = request.to_ascii_uppercase();
            Box::pin(async move { Ok(out) })
        }
    }
    let wifi = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let mut b =
        AgentBuilder::new(sec2(1), wifi).route(HttpRoute::new("127.0.0.1:0".parse().unwrap()));
    b.endpoints.push(("custom-data".into(), Arc::new(Upper)));
    let agent = b.start().await.unwrap();
    let mut c = client(&agent);
    let sec = c
        .negotiate(None, &Credentials::srp("wifiprov", "abcd1234"))
        .await
        .unwrap();
    c.establish(sec).await.unwrap();
    assert_eq!(c.custom("custom-data", b"hello").await.unwrap(), b"HELLO");
    agent.shutdown().await;
}
