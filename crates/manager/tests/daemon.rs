//! The daemon against the simulator: joining, losing the link and rejoining with backoff, and
//! the remote-console command following the network's `enables_webrepl`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use wifi_manager::control::{Request, request};
use wifi_manager::daemon::{DaemonConfig, run};
use wifiprov_wifi::sim::{SimBackend, SimEnvironment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loses_the_link_rejoins_and_runs_the_remote_console() {
    let dir = tempfile::tempdir().unwrap();
    let networks = dir.path().join("networks.json");
    std::fs::write(
        &networks,
        serde_json::to_string_pretty(&json!({
            "schema": 2,
            "known_networks": [{"ssid": "HomeNet", "password": "correct-horse", "enables_webrepl": true}],
            "access_point": {"config": {"essid": "setup"}, "enables_webrepl": false, "start_policy": "never"}
        }))
        .unwrap(),
    )
    .unwrap();
    let marker = dir.path().join("console-running");
    let control = dir.path().join("manager.sock");
    let sim = Arc::new(SimBackend::new(SimEnvironment::builtin()));
    let config = DaemonConfig {
        networks,
        interval: Duration::from_secs(1),
        once: false,
        control: Some(control.clone()),
        provisioning: None,
        remote_console: Some(format!(
            "trap 'rm -f {m}; exit 0' TERM; touch {m}; while :; do sleep 0.05; done",
            m = marker.display()
        )),
        state_dir: dir.path().join("state"),
        events: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(config, sim.clone(), async move {
        let _ = stopped.await;
    }));

    // Follow the daemon's events.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !control.exists() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stream = UnixStream::connect(&control).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut events = BufReader::new(read).lines();
    write.write_all(b"{\"cmd\":\"events\"}\n").await.unwrap();
    assert_eq!(events.next_line().await.unwrap().unwrap(), r#"{"ok":true}"#);
    let mut next_connected = async || loop {
        let line = tokio::time::timeout(Duration::from_secs(20), events.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["event"] == "connected" {
            return event;
        }
    };

    let first = next_connected().await;
    assert_eq!(first["ssid"], "HomeNet");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the remote console did not start with HomeNet"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The link drops: within the check interval the daemon notices, waits its backoff and
    // rejoins.
    let lost_at = Instant::now();
    assert!(sim.drop_link());
    let again = next_connected().await;
    assert_eq!(again["ssid"], "HomeNet");
    let took = lost_at.elapsed();
    assert!(
        took >= Duration::from_millis(1400),
        "rejoined after {took:?}: the 1 s backoff and 0.5 s join were skipped"
    );
    assert!(
        took < Duration::from_secs(6),
        "rejoined only after {took:?}"
    );
    let status = request(&control, &Request::Status).await.unwrap();
    assert_eq!(
        (status["state"].clone(), status["ip"].clone()),
        (json!("connected"), json!("192.168.1.42"))
    );

    // The console stopped with the lost link and came back with the network.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the remote console did not restart after rejoining"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Shutting down stops the remote console (SIGTERM: it cleans up after itself).
    stop.send(()).unwrap();
    daemon.await.unwrap().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the remote console outlived the daemon"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_access_point_without_provisioning_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let networks = dir.path().join("networks.json");
    for policy in ["fallback", "always"] {
        std::fs::write(
            &networks,
            json!({
                "schema": 2,
                "known_networks": [],
                "access_point": {"config": {"essid": "setup"}, "start_policy": policy}
            })
            .to_string(),
        )
        .unwrap();
        let config = DaemonConfig {
            networks: networks.clone(),
            interval: Duration::from_secs(1),
            once: false,
            control: None,
            provisioning: None,
            remote_console: None,
            state_dir: dir.path().join("state"),
            events: None,
        };
        let sim = Arc::new(SimBackend::new(SimEnvironment::builtin()));
        let err = run(config, sim, std::future::pending()).await.unwrap_err();
        assert!(
            matches!(err, wifi_manager::daemon::DaemonError::NoProvisioning { policy: p } if p == policy),
            "{err}"
        );
        assert!(err.to_string().contains("refusing to start"), "{err}");
    }
}
