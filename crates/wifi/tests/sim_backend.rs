//! The simulator backend: timing, progress, failures, concurrency, determinism.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use wifiprov_wifi::sim::{SimBackend, SimEnvironment, SimNetwork};
use wifiprov_wifi::{
    AccessPoint, ApConfig, AuthMode, Bssid, ConnectError, ConnectProgress, Credentials, LinkStatus,
    ScanParams, StationStatus, WifiBackend, WifiErrorKind,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn builtin() -> SimBackend {
    SimBackend::new(SimEnvironment::builtin())
}

fn network<'a>(env: &'a SimEnvironment, ssid: &str) -> &'a SimNetwork {
    env.networks.iter().find(|n| n.ssid == ssid).unwrap()
}

/// Progress steps with the time they were reported, relative to the start.
type Timeline = Vec<(Duration, ConnectProgress)>;

/// Runs one attempt, recording its progress and how long it took.
async fn join(
    backend: &SimBackend,
    credentials: Credentials,
) -> (Result<LinkStatus, ConnectError>, Timeline, Duration) {
    let start = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (result, timeline) = tokio::join!(backend.connect(credentials, Some(tx)), async {
        let mut timeline = Vec::new();
        while let Some(step) = rx.recv().await {
            timeline.push((start.elapsed(), step));
        }
        timeline
    });
    (result, timeline, start.elapsed())
}

fn steps(timeline: &Timeline) -> Vec<ConnectProgress> {
    timeline.iter().map(|(_, s)| s.clone()).collect()
}

async fn timed_scan(backend: &SimBackend, params: ScanParams) -> (Vec<AccessPoint>, Duration) {
    let start = Instant::now();
    let aps = backend.scan(params).await.unwrap();
    (aps, start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn scan_durations() {
    let b = builtin();
    let cases = [
        // (passive, group, period) -> ms
        (false, 0, 0, 13 * 120),
        (false, 0, 120, 13 * 120),
        (true, 0, 0, 13 * 120),
        (false, 0, 50, 13 * 50),
        (false, 5, 0, 13 * 120 + 2 * 120),
        (true, 5, 0, 13 * 120 + 2 * 120),
        (false, 5, 30, 13 * 30 + 2 * 120),
        (false, 1, 0, 13 * 120 + 12 * 120),
        (false, 4, 100, 13 * 100 + 3 * 120),
        (false, 13, 0, 13 * 120),
        (false, 255, 0, 13 * 120),
        // Dwell times are clamped to 1500 ms, as a radio would.
        (false, 0, 1500, 13 * 1500),
        (false, 0, u32::MAX, 13 * 1500),
        (true, 1, u32::MAX, 13 * 1500 + 12 * 120),
    ];
    for (passive, group_channels, period_ms, expected) in cases {
        let params = ScanParams {
            passive,
            group_channels,
            period_ms,
        };
        assert_eq!(
            SimBackend::scan_duration(params),
            ms(expected),
            "{params:?}"
        );
        let (_, took) = timed_scan(&b, params).await;
        assert_eq!(took, ms(expected), "{params:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn scan_reports_every_network_in_order_with_jitter() {
    let env = SimEnvironment::builtin();
    let b = SimBackend::new(env.clone());
    let (aps, _) = timed_scan(&b, ScanParams::default()).await;
    assert_eq!(aps.len(), env.networks.len());
    for (ap, net) in aps.iter().zip(&env.networks) {
        assert_eq!(ap.bssid, net.bssid);
        assert_eq!(ap.channel, net.channel);
        assert_eq!(ap.auth, net.auth);
        assert!((ap.rssi - net.rssi).abs() <= 2, "{ap:?} vs {net:?}");
        if net.hidden {
            assert!(ap.ssid.is_empty(), "hidden networks have no SSID in scans");
        } else {
            assert_eq!(ap.ssid, net.ssid.as_bytes());
        }
    }
    // Over a few scans, the jitter actually moves the readings.
    let mut distinct = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let (aps, _) = timed_scan(&b, ScanParams::default()).await;
        distinct.insert(aps[0].rssi);
    }
    assert!(distinct.len() > 1, "{distinct:?}");
    assert!(
        distinct.iter().all(|r| (-44..=-40).contains(r)),
        "{distinct:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn scan_during_scan_is_busy() {
    let b = builtin();
    let (first, second) = tokio::join!(b.scan(ScanParams::default()), async {
        tokio::time::sleep(ms(10)).await;
        b.scan(ScanParams::default()).await
    });
    assert!(first.is_ok());
    assert!(
        matches!(second, Err(ref we) if we.is(WifiErrorKind::Busy)),
        "{second:?}"
    );
    // A scan that was abandoned does not leave the radio busy.
    let abandoned = tokio::time::timeout(ms(100), b.scan(ScanParams::default())).await;
    assert!(abandoned.is_err());
    assert!(b.scan(ScanParams::default()).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn successful_join() {
    let env = SimEnvironment::builtin();
    let home = network(&env, "HomeNet").clone();
    let b = SimBackend::new(env);
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);
    let (result, timeline, took) =
        join(&b, Credentials::new("HomeNet", "correct-horse").unwrap()).await;
    let link = result.unwrap();
    let expected = LinkStatus {
        ssid: b"HomeNet".to_vec(),
        bssid: home.bssid,
        channel: 6,
        auth: AuthMode::Wpa2Psk,
        ip: Ipv4Addr::new(192, 168, 1, 42),
        rssi: home.rssi,
    };
    assert_eq!(link, expected);
    assert_eq!(took, ms(500));
    assert_eq!(
        timeline,
        vec![
            (ms(0), ConnectProgress::Searching),
            (
                ms(125),
                ConnectProgress::Associating {
                    bssid: home.bssid,
                    channel: 6
                }
            ),
            (ms(250), ConnectProgress::Authenticating),
            (ms(375), ConnectProgress::ObtainingAddress),
            (ms(500), ConnectProgress::Connected(expected.clone())),
        ]
    );
    assert_eq!(
        b.status().await.unwrap(),
        StationStatus::Connected(expected)
    );
    assert_eq!(b.connect_attempts(), 1);
    assert_eq!(b.name(), "sim");
}

#[tokio::test(start_paused = true)]
async fn derived_address_and_latency() {
    let env = SimEnvironment::builtin();
    let index = env
        .networks
        .iter()
        .position(|n| n.ssid == "SlowLane")
        .unwrap();
    let b = SimBackend::new(env);
    let (result, _, took) =
        join(&b, Credentials::new("SlowLane", "patience-please").unwrap()).await;
    let link = result.unwrap();
    assert_eq!(took, ms(3000));
    assert_eq!(link.ip, Ipv4Addr::new(192, 168, 12, 100 + index as u8));
}

#[tokio::test(start_paused = true)]
async fn progress_is_optional() {
    let b = builtin();
    let link = b
        .connect(Credentials::new("Fortress", "sae-is-better").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(link.auth, AuthMode::Wpa3Psk);
    // A caller that stopped listening does not disturb the attempt either.
    let (tx, rx) = mpsc::unbounded_channel();
    drop(rx);
    b.connect(Credentials::new("Bridge", "two-for-one").unwrap(), Some(tx))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn wrong_passphrase_costs_the_full_latency() {
    let b = builtin();
    let (result, timeline, took) =
        join(&b, Credentials::new("HomeNet", "wrong-horse").unwrap()).await;
    assert_eq!(
        result,
        Err(ConnectError::AuthFailed {
            ssid: "HomeNet".into()
        })
    );
    assert!(result.unwrap_err().is_auth_error());
    assert_eq!(took, ms(500));
    let steps = steps(&timeline);
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert_eq!(steps[0], ConnectProgress::Searching);
    assert!(matches!(steps[1], ConnectProgress::Associating { .. }));
    assert_eq!(steps[2], ConnectProgress::Authenticating);
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);

    // Near misses fail too: the passphrase must match exactly.
    for guess in ["correct-horse ", "Correct-horse", "correct-hors", ""] {
        let result = b
            .connect(Credentials::new("HomeNet", guess).unwrap(), None)
            .await;
        assert!(
            matches!(result, Err(ConnectError::AuthFailed { .. })),
            "{guess:?}"
        );
    }
    // WEP and WPA3 check their keys as well.
    for (ssid, right) in [("OldRouter", "abcde"), ("Fortress", "sae-is-better")] {
        let wrong = b
            .connect(Credentials::new(ssid, "nope-nope").unwrap(), None)
            .await;
        assert!(
            matches!(wrong, Err(ConnectError::AuthFailed { .. })),
            "{ssid}"
        );
        b.connect(Credentials::new(ssid, right).unwrap(), None)
            .await
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn open_networks_accept_any_passphrase() {
    let b = builtin();
    for passphrase in ["", "whatever-you-like"] {
        let link = b
            .connect(Credentials::new("CoffeeShop", passphrase).unwrap(), None)
            .await
            .unwrap();
        assert_eq!(link.auth, AuthMode::Open);
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_network_is_not_found_after_searching() {
    let b = builtin();
    let (result, timeline, took) = join(&b, Credentials::new("Nowhere", "12345678").unwrap()).await;
    let err = result.unwrap_err();
    assert_eq!(
        err,
        ConnectError::NetworkNotFound {
            ssid: "Nowhere".into()
        }
    );
    assert!(err.is_network_not_found());
    assert_eq!(took, ms(300));
    assert_eq!(steps(&timeline), vec![ConnectProgress::Searching]);

    let mut env = SimEnvironment::builtin();
    env.search_ms = 1234;
    let b = SimBackend::new(env);
    let (result, _, took) = join(&b, Credentials::new("Nowhere", "").unwrap()).await;
    assert!(matches!(result, Err(ConnectError::NetworkNotFound { .. })));
    assert_eq!(took, ms(1234));

    // SSIDs compare byte for byte.
    let result = b
        .connect(Credentials::new("homenet", "correct-horse").unwrap(), None)
        .await;
    assert!(matches!(result, Err(ConnectError::NetworkNotFound { .. })));
}

#[tokio::test(start_paused = true)]
async fn hidden_network_joins_by_name_but_scans_hide_it() {
    let env = SimEnvironment::builtin();
    let lab = network(&env, "SecretLab").clone();
    let b = SimBackend::new(env);
    let (aps, _) = timed_scan(&b, ScanParams::default()).await;
    let seen = aps.iter().find(|ap| ap.bssid == lab.bssid).unwrap();
    assert!(seen.ssid.is_empty());
    assert!(!aps.iter().any(|ap| ap.ssid == b"SecretLab"));
    let link = b
        .connect(Credentials::new("SecretLab", "not-in-scans").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(link.bssid, lab.bssid);
    assert_eq!(link.ssid, b"SecretLab");
}

#[tokio::test(start_paused = true)]
async fn strongest_access_point_or_the_pinned_one() {
    let strong = Bssid([0x02, 0x4d, 0x45, 0x53, 0x48, 0x01]);
    let weak = Bssid([0x02, 0x4d, 0x45, 0x53, 0x48, 0x02]);
    let b = builtin();
    let link = b
        .connect(Credentials::new("MeshNet", "battery-staple").unwrap(), None)
        .await
        .unwrap();
    assert_eq!((link.bssid, link.channel, link.rssi), (strong, 1, -48));

    let mut pinned = Credentials::new("MeshNet", "battery-staple").unwrap();
    pinned.bssid = Some(weak);
    let (result, timeline, _) = join(&b, pinned).await;
    let link = result.unwrap();
    assert_eq!((link.bssid, link.channel, link.rssi), (weak, 11, -67));
    assert_eq!(
        timeline[1].1,
        ConnectProgress::Associating {
            bssid: weak,
            channel: 11
        }
    );

    // A BSSID that belongs to another network (or to none) is not found.
    let env = SimEnvironment::builtin();
    let mut wrong = Credentials::new("MeshNet", "battery-staple").unwrap();
    wrong.bssid = Some(network(&env, "HomeNet").bssid);
    let (result, _, took) = join(&b, wrong).await;
    assert!(matches!(result, Err(ConnectError::NetworkNotFound { .. })));
    assert_eq!(took, ms(300));
}

#[tokio::test(start_paused = true)]
async fn enterprise_is_rejected() {
    let b = builtin();
    let (result, timeline, took) = join(&b, Credentials::new("CorpNet", "hunter22").unwrap()).await;
    assert_eq!(
        result,
        Err(ConnectError::AssociationRejected {
            ssid: "CorpNet".into(),
            reason: "enterprise networks are not supported by the simulator".into()
        })
    );
    assert_eq!(took, ms(125));
    assert_eq!(timeline.len(), 2);
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);
}

#[tokio::test(start_paused = true)]
async fn invalid_credentials() {
    let b = builtin();
    // Such credentials cannot be made at all, so no backend ever sees them.
    assert!(Credentials::new(vec![b'a'; 33], "12345678").is_err());
    assert!(Credentials::new(Vec::new(), "12345678").is_err());
    assert!(Credentials::new("HomeNet", vec![b'p'; 65]).is_err());
    assert!(
        Credentials::new("HomeNet", vec![b'p'; 64]).is_err(),
        "64 bytes only as hex"
    );
    assert_eq!(b.connect_attempts(), 0);
    // 32-byte SSIDs and 64-byte passphrases are fine (they just do not match anything here).
    let result = b
        .connect(
            Credentials::new(vec![b'a'; 32], vec![b'f'; 64]).unwrap(),
            None,
        )
        .await;
    assert!(matches!(result, Err(ConnectError::NetworkNotFound { .. })));
    assert_eq!(b.connect_attempts(), 1);
}

fn flaky_env(seed: u64) -> SimEnvironment {
    let mut env = SimEnvironment::builtin();
    env.seed = seed;
    env
}

async fn flaky_outcomes(seed: u64, attempts: usize) -> Vec<bool> {
    let b = SimBackend::new(flaky_env(seed));
    let mut outcomes = Vec::new();
    for _ in 0..attempts {
        match b
            .connect(Credentials::new("Flaky", "try-again").unwrap(), None)
            .await
        {
            Ok(_) => outcomes.push(true),
            Err(ConnectError::LinkLost { ssid }) => {
                assert_eq!(ssid, "Flaky");
                outcomes.push(false);
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    outcomes
}

#[tokio::test(start_paused = true)]
async fn flaky_network_is_deterministic_per_seed() {
    let a = flaky_outcomes(1, 40).await;
    assert_eq!(a, flaky_outcomes(1, 40).await, "same seed, same outcomes");
    let lost = a.iter().filter(|ok| !**ok).count();
    assert!(
        (4..=24).contains(&lost),
        "about 30% of 40 attempts lose the link: {lost}"
    );
    assert_ne!(
        a,
        flaky_outcomes(2, 40).await,
        "another seed, other outcomes"
    );
    // Other attempts in between do not change the draws: attempt N only depends on N.
    let b = SimBackend::new(flaky_env(1));
    let mut mixed = Vec::new();
    for _ in 0..40 {
        b.scan(ScanParams::default()).await.unwrap();
        mixed.push(
            b.connect(Credentials::new("Flaky", "try-again").unwrap(), None)
                .await
                .is_ok(),
        );
    }
    assert_eq!(mixed, a);
}

#[tokio::test(start_paused = true)]
async fn lost_link_happens_halfway() {
    let mut env = SimEnvironment::builtin();
    env.networks.iter_mut().for_each(|n| {
        if n.ssid == "Flaky" {
            n.flakiness = 1.0;
        }
    });
    let b = SimBackend::new(env);
    let (result, timeline, took) = join(&b, Credentials::new("Flaky", "try-again").unwrap()).await;
    assert_eq!(
        result,
        Err(ConnectError::LinkLost {
            ssid: "Flaky".into()
        })
    );
    assert_eq!(took, ms(250));
    assert_eq!(timeline.len(), 2, "{timeline:?}");
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);
}

#[tokio::test(start_paused = true)]
async fn status_while_connecting_and_after_a_failure() {
    let b = builtin();
    let (result, during) = tokio::join!(
        b.connect(Credentials::new("HomeNet", "correct-horse").unwrap(), None),
        async {
            tokio::time::sleep(ms(200)).await;
            b.status().await.unwrap()
        }
    );
    result.unwrap();
    assert_eq!(
        during,
        StationStatus::Connecting {
            ssid: b"HomeNet".to_vec()
        }
    );
    // A failed attempt leaves the previous network.
    let result = b
        .connect(Credentials::new("HomeNet", "bad-guess").unwrap(), None)
        .await;
    assert!(result.is_err());
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);
}

#[tokio::test(start_paused = true)]
async fn newer_attempt_replaces_the_running_one() {
    let b = builtin();
    let start = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (first, second) = tokio::join!(
        async {
            let r = b
                .connect(
                    Credentials::new("HomeNet", "correct-horse").unwrap(),
                    Some(tx),
                )
                .await;
            (r, start.elapsed())
        },
        async {
            tokio::time::sleep(ms(200)).await;
            b.connect(Credentials::new("Fortress", "sae-is-better").unwrap(), None)
                .await
        }
    );
    let (first, first_took) = first;
    assert!(
        matches!(first, Err(ConnectError::Backend(ref we)) if we.is(WifiErrorKind::Busy)),
        "{first:?}"
    );
    assert_eq!(first_took, ms(200), "the replaced attempt ends at once");
    let mut first_steps = Vec::new();
    while let Ok(step) = rx.try_recv() {
        first_steps.push(step);
    }
    assert_eq!(first_steps.len(), 2, "no progress after being replaced");
    assert_eq!(second.unwrap().ssid, b"Fortress");
    assert_eq!(start.elapsed(), ms(700));
    assert!(matches!(
        b.status().await.unwrap(),
        StationStatus::Connected(LinkStatus { ref ssid, .. }) if ssid == b"Fortress"
    ));
    assert_eq!(b.connect_attempts(), 2);
}

#[tokio::test(start_paused = true)]
async fn abandoned_attempt_leaves_the_station_disconnected() {
    let b = builtin();
    let abandoned = tokio::time::timeout(
        ms(300),
        b.connect(Credentials::new("HomeNet", "correct-horse").unwrap(), None),
    )
    .await;
    assert!(abandoned.is_err());
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);
}

#[tokio::test(start_paused = true)]
async fn disconnect_ends_a_link_or_an_attempt() {
    let b = builtin();
    b.disconnect().await.unwrap(); // nothing to leave: fine
    b.connect(Credentials::new("HomeNet", "correct-horse").unwrap(), None)
        .await
        .unwrap();
    b.disconnect().await.unwrap();
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);

    let start = Instant::now();
    let (result, ()) = tokio::join!(
        b.connect(Credentials::new("HomeNet", "correct-horse").unwrap(), None),
        async {
            tokio::time::sleep(ms(100)).await;
            b.disconnect().await.unwrap();
        }
    );
    assert!(
        matches!(result, Err(ConnectError::Backend(ref we)) if we.is(WifiErrorKind::Busy) && we.message().contains("disconnect")),
        "{result:?}"
    );
    assert_eq!(start.elapsed(), ms(100));
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);
}

#[tokio::test(start_paused = true)]
async fn drop_link_hook() {
    let b = builtin();
    assert!(!b.drop_link());
    b.connect(Credentials::new("HomeNet", "correct-horse").unwrap(), None)
        .await
        .unwrap();
    assert!(b.drop_link());
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);

    let (result, dropped) = tokio::join!(
        b.connect(Credentials::new("HomeNet", "correct-horse").unwrap(), None),
        async {
            tokio::time::sleep(ms(300)).await;
            b.drop_link()
        }
    );
    assert!(dropped);
    assert_eq!(
        result,
        Err(ConnectError::LinkLost {
            ssid: "HomeNet".into()
        })
    );
    assert_eq!(b.status().await.unwrap(), StationStatus::Disconnected);
}

#[tokio::test(start_paused = true)]
async fn networks_leave_and_return_to_the_air() {
    let env = SimEnvironment::builtin();
    let count = env.networks.len();
    let b = SimBackend::new(env);
    assert!(!b.set_network_visible("NoSuchNet", false));

    b.connect(Credentials::new("MeshNet", "battery-staple").unwrap(), None)
        .await
        .unwrap();
    assert!(b.set_network_visible("MeshNet", false));
    assert_eq!(
        b.status().await.unwrap(),
        StationStatus::Disconnected,
        "the link went with the network"
    );
    let (aps, _) = timed_scan(&b, ScanParams::default()).await;
    assert_eq!(aps.len(), count - 2, "both mesh access points are gone");
    let result = b
        .connect(Credentials::new("MeshNet", "battery-staple").unwrap(), None)
        .await;
    assert!(matches!(result, Err(ConnectError::NetworkNotFound { .. })));

    assert!(b.set_network_visible("MeshNet", true));
    let (aps, _) = timed_scan(&b, ScanParams::default()).await;
    assert_eq!(aps.len(), count);
    b.connect(Credentials::new("MeshNet", "battery-staple").unwrap(), None)
        .await
        .unwrap();

    // Taking another network away leaves this link alone.
    b.set_network_visible("HomeNet", false);
    assert!(matches!(
        b.status().await.unwrap(),
        StationStatus::Connected(_)
    ));
    // Taking the target away during an attempt loses the link.
    let (result, _) = tokio::join!(
        b.connect(Credentials::new("Fortress", "sae-is-better").unwrap(), None),
        async {
            tokio::time::sleep(ms(100)).await;
            b.set_network_visible("Fortress", false)
        }
    );
    assert!(
        matches!(result, Err(ConnectError::LinkLost { .. })),
        "{result:?}"
    );
    assert_eq!(b.environment().networks.len(), count);
}

fn ap(ssid: &str, passphrase: Option<&str>, channel: u8) -> ApConfig {
    ApConfig {
        ssid: ssid.as_bytes().to_vec(),
        passphrase: passphrase.map(Into::into),
        channel,
        hidden: false,
        max_clients: 4,
    }
}

#[tokio::test(start_paused = true)]
async fn access_point() {
    let b = builtin();
    assert_eq!(b.access_point(), None);
    let config = ap("PROV_1234", Some("abcd1234"), 6);
    b.start_ap(config.clone()).await.unwrap();
    assert_eq!(b.access_point(), Some(config));
    let open = ap("PROV_open", None, 0);
    b.start_ap(open.clone()).await.unwrap();
    assert_eq!(
        b.access_point(),
        Some(open.clone()),
        "a new AP replaces the old"
    );

    for bad in [
        ap("", None, 1),
        ap(&"s".repeat(33), None, 1),
        ap("PROV", Some("1234567"), 1),
        ap("PROV", Some(&"p".repeat(64)), 1),
        ap("PROV", None, 15),
    ] {
        let result = b.start_ap(bad.clone()).await;
        assert!(
            matches!(result, Err(ref we) if we.is(WifiErrorKind::Invalid)),
            "{bad:?}"
        );
    }
    assert_eq!(
        b.access_point(),
        Some(open),
        "refused configs change nothing"
    );
    b.start_ap(ap(&"s".repeat(32), Some(&"p".repeat(63)), 14))
        .await
        .unwrap();
    b.stop_ap().await.unwrap();
    assert_eq!(b.access_point(), None);
    b.stop_ap().await.unwrap();
}

/// Everything observable from one fixed sequence of calls.
async fn script(seed: u64) -> Vec<String> {
    let mut env = SimEnvironment::builtin();
    env.seed = seed;
    let b = SimBackend::new(env);
    let mut log = Vec::new();
    for round in 0..6 {
        let params = ScanParams {
            passive: round % 2 == 0,
            group_channels: round,
            period_ms: 0,
        };
        log.push(format!("{:?}", b.scan(params).await));
        for (ssid, pass) in [
            ("Flaky", "try-again"),
            ("HomeNet", "correct-horse"),
            ("Nowhere", ""),
            ("FarAway", "wrong"),
        ] {
            let (result, timeline, took) = join(&b, Credentials::new(ssid, pass).unwrap()).await;
            log.push(format!("{result:?} {timeline:?} {took:?}"));
            log.push(format!("{:?}", b.status().await));
        }
    }
    log
}

#[tokio::test(start_paused = true)]
async fn same_seed_same_story() {
    let one = script(42).await;
    assert_eq!(one, script(42).await);
    assert_ne!(
        one,
        script(43).await,
        "the seed matters (jitter, flaky links)"
    );
}

#[tokio::test(start_paused = true)]
async fn usable_as_a_trait_object() {
    let backend: Box<dyn WifiBackend> = Box::new(builtin());
    let aps = backend.scan(ScanParams::default()).await.unwrap();
    assert!(!aps.is_empty());
    let link = backend
        .connect(
            Credentials::new("Café Zürich ☕", "croissant").unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(link.ssid, "Café Zürich ☕".as_bytes());

    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<SimBackend>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_on_the_multi_threaded_runtime() {
    // Real time, so keep the delays short.
    let mut env = SimEnvironment::builtin();
    env.search_ms = 5;
    for n in &mut env.networks {
        n.connect_latency_ms = 20;
        n.flakiness = 0.0;
    }
    let b = std::sync::Arc::new(SimBackend::new(env));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let (ssid, pass) = if i % 2 == 0 {
                ("HomeNet", "correct-horse")
            } else {
                ("Fortress", "sae-is-better")
            };
            let result = b.connect(Credentials::new(ssid, pass).unwrap(), None).await;
            let status = b.status().await.unwrap();
            (result, status)
        }));
    }
    let mut connected = 0;
    for task in tasks {
        let (result, _) = task.await.unwrap();
        match result {
            Ok(_) => connected += 1,
            Err(ConnectError::Backend(e)) if e.is(WifiErrorKind::Busy) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!(connected >= 1, "the last attempt wins");
    assert!(matches!(
        b.status().await.unwrap(),
        StationStatus::Connected(_)
    ));
    assert_eq!(b.connect_attempts(), 16);
}
