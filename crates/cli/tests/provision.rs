//! `wifiprov provision`, `scan` and `info` end to end: the real client binary against the real
//! `wifiprov device` agent, every security scheme, every exit code, `--json`, and the
//! interactive prompts on a pseudo-terminal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha512};
use support::*;

const RIGHT: [&str; 4] = ["--ssid", "HomeNet", "--passphrase", "correct-horse"];

/// Starts an agent with security `kind` (and a security 2 patch level) that connects at once,
/// with the default session limits.
fn start_agent(kind: u8, patch: Option<&str>, extra: &[&str]) -> Agent {
    let (mut args, _) = sec(kind);
    args.extend(["--connect-delay", "0"]);
    if let Some(p) = patch {
        args.extend(["--sec-patch-ver", p]);
    }
    args.extend(extra);
    Agent::start(&args)
}

/// `wifiprov provision --service_name <agent> <credentials> <extra>`.
fn provision(agent: &Agent, kind: u8, extra: &[&str]) -> Run {
    let mut args = vec!["provision", "--service_name", agent.addr.as_str()];
    args.extend(client_credentials(kind));
    args.extend(extra);
    wifiprov(&args)
}

fn assert_code(run: &Run, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: {run:#?}");
}

/// Every outcome against one agent: wrong credentials, wrong passphrase, refused apply,
/// reset, unknown network, success. Secrets never appear in the output.
fn full_cycle(kind: u8, patch: Option<&str>) {
    let mut agent = start_agent(kind, patch, &[]);
    let secrets = [
        "correct-horse",
        "wrong-horse",
        "abcd1234",
        "s3cret-srp-pw",
        "nope-nope",
    ];
    let mut runs = Vec::new();

    if kind > 0 {
        let wrong: &[&str] = if kind == 1 {
            &["--pop", "nope-nope"]
        } else {
            &["--sec2_username", "wifiprov", "--sec2_pwd", "nope-nope"]
        };
        let mut args = vec!["provision", "--service_name", agent.addr.as_str()];
        args.extend(wrong);
        args.extend(RIGHT);
        let run = wifiprov(&args);
        assert_code(&run, 4, "wrong credentials");
        assert!(run.stderr.contains("authentication failed"), "{run:#?}");
        runs.push(run);
    }

    let run = provision(
        &agent,
        kind,
        &["--ssid", "HomeNet", "--passphrase", "wrong-horse"],
    );
    assert_code(&run, 5, "wrong passphrase");
    assert!(run.stderr.contains("wrong passphrase"), "{run:#?}");
    assert!(
        run.stderr.contains("--reset"),
        "the hint names --reset: {run:#?}"
    );
    runs.push(run);

    let run = provision(&agent, kind, &RIGHT);
    assert_code(&run, 6, "apply refused after a failure");
    assert!(run.stderr.contains("--reset"), "{run:#?}");
    runs.push(run);

    let run = provision(&agent, kind, &["--reset"]);
    assert_code(&run, 0, "reset after a failure");
    assert!(run.stderr.contains("Reset accepted"), "{run:#?}");

    let run = provision(
        &agent,
        kind,
        &[
            "--ssid",
            "NoSuchNetwork",
            "--passphrase",
            "whatever123",
            "--json",
        ],
    );
    assert_code(&run, 5, "network not found");
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["exit_code"], 5);
    assert_eq!(json["reason"], "network_not_found");
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("network not found")
    );
    assert!(run.stderr.contains("network not found"), "{run:#?}");
    runs.push(run);

    assert_code(&provision(&agent, kind, &["--reset"]), 0, "second reset");

    let run = provision(&agent, kind, &[&RIGHT[..], &["--json"]].concat());
    assert_code(&run, 0, "success");
    let json = run.json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["action"], "provision");
    assert_eq!(json["device"], agent.addr.as_str());
    assert_eq!(json["protocol"], "v1.1");
    assert_eq!(json["security"], kind);
    let expected_patch: u32 = match (kind, patch) {
        (2, Some(p)) => p.parse().unwrap(),
        (2, None) => 1,
        _ => 0,
    };
    assert_eq!(json["sec_patch_ver"], expected_patch);
    assert_eq!(json["ssid"], "HomeNet");
    assert_eq!(json["ip"], "192.168.1.42");
    assert_eq!(json["channel"], 6);
    assert_eq!(json["auth"], "WPA2");
    assert!(json["bssid"].as_str().unwrap().len() == 17);
    assert!(json["error"].is_null() && json["reason"].is_null());
    assert!(json["elapsed_ms"].as_u64().unwrap() < 10_000);
    runs.push(run);

    for run in &runs {
        for secret in secrets {
            assert!(!run.all().contains(secret), "{secret:?} leaked: {run:#?}");
        }
    }
    // Auto-stop: the agent ends after the client saw the success.
    assert!(agent.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn security_0_every_outcome() {
    full_cycle(0, None);
}

#[test]
fn security_1_every_outcome() {
    full_cycle(1, None);
}

#[test]
fn security_2_patch_0_every_outcome() {
    full_cycle(2, Some("0"));
}

#[test]
fn security_2_patch_1_every_outcome() {
    full_cycle(2, Some("1"));
}

#[test]
fn success_output_is_human_and_on_stderr() {
    let agent = start_agent(2, None, &[]);
    let run = provision(&agent, 2, &RIGHT);
    assert_code(&run, 0, "success");
    assert!(
        run.stdout.is_empty(),
        "stdout stays free for data: {run:#?}"
    );
    for line in [
        "Connected to device",
        "Session established (security 2)",
        "Waiting for the device to join HomeNet",
        "Provisioned: HomeNet, IP 192.168.1.42",
    ] {
        assert!(run.stderr.contains(line), "{line:?} missing: {run:#?}");
    }
    assert!(
        !run.stderr.contains('\u{1b}'),
        "no escape codes off a terminal"
    );
}

#[test]
fn kebab_case_flags_and_explicit_scheme() {
    let agent = start_agent(2, None, &[]);
    let run = wifiprov(&[
        "provision",
        "--transport",
        "httpd",
        "--service-name",
        &agent.addr,
        "--sec-ver",
        "2",
        "--sec2-username",
        "wifiprov",
        "--sec2-pwd",
        "s3cret-srp-pw",
        "--proto-ver",
        "V1.1",
        "--ssid",
        "HomeNet",
        "--passphrase",
        "correct-horse",
        "--timeout",
        "20",
    ]);
    assert_code(&run, 0, "kebab-case flags");
}

#[test]
fn a_scheme_the_device_does_not_use_is_an_auth_failure() {
    let agent = start_agent(2, None, &[]);
    let run = provision(&agent, 1, &[&["--sec_ver", "1"][..], &RIGHT].concat());
    assert_code(&run, 4, "security 1 against a security 2 device");
}

#[test]
fn protocol_version_mismatch_is_refused() {
    let agent = start_agent(1, None, &[]);
    let run = provision(&agent, 1, &[&["--proto_ver", "v9.9"][..], &RIGHT].concat());
    assert_code(&run, 6, "--proto_ver mismatch");
    assert!(
        run.stderr.contains("v9.9") && run.stderr.contains("v1.1"),
        "{run:#?}"
    );
}

#[test]
fn unreachable_device_exits_3() {
    let addr = dead_addr();
    let run = wifiprov(
        &[
            &["provision", "--service_name", &addr][..],
            &RIGHT,
            &["--json"],
        ]
        .concat(),
    );
    assert_code(&run, 3, "nothing listens");
    let json = run.json();
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["device"], addr.as_str());
    assert!(run.stderr.contains("--service_name"), "hint: {run:#?}");
    let run = wifiprov(&["info", "--service_name", &addr]);
    assert_code(&run, 3, "info, nothing listens");
    let run = wifiprov(&["scan", "--service_name", &addr, "--json"]);
    assert_code(&run, 3, "scan, nothing listens");
    assert!(run.stdout.is_empty());
}

#[test]
fn outcome_timeout_exits_7() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("slow.toml");
    std::fs::write(
        &env,
        "[[network]]\nssid = \"Slowpoke\"\npassword = \"patience123\"\nlatency_ms = 20000\n",
    )
    .unwrap();
    let agent = start_agent(0, None, &["--sim-env", env.to_str().unwrap()]);
    let started = Instant::now();
    let run = provision(
        &agent,
        0,
        &[
            "--ssid",
            "Slowpoke",
            "--passphrase",
            "patience123",
            "--timeout",
            "1",
            "--json",
        ],
    );
    assert_code(&run, 7, "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let json = run.json();
    assert_eq!(json["exit_code"], 7);
    assert!(json["reason"].is_null());
    assert!(run.stderr.contains("--timeout"), "{run:#?}");
}

#[test]
fn a_device_that_goes_silent_after_taking_the_credentials_is_explained() {
    // A device with one radio takes its access point down to join: its client loses it.
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("slow.toml");
    std::fs::write(
        &env,
        "[[network]]\nssid = \"Slowpoke\"\npassword = \"patience123\"\nlatency_ms = 60000\n",
    )
    .unwrap();
    let mut agent = start_agent(
        0,
        None,
        &["--sim-env", env.to_str().unwrap(), "--events", "json"],
    );
    let addr = agent.addr.clone();
    let client = std::thread::spawn(move || {
        wifiprov(&[
            "provision",
            "--service_name",
            &addr,
            "--ssid",
            "Slowpoke",
            "--passphrase",
            "patience123",
            "--timeout",
            "60",
        ])
    });
    assert!(
        agent.wait_stdout("cred_recv", Duration::from_secs(30)),
        "{}",
        agent.output()
    );
    agent.child.kill().unwrap();
    let run = client.join().unwrap();
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("took the credentials and then stopped answering"),
        "{run:#?}"
    );
}

#[test]
fn usage_errors_exit_2_before_any_traffic() {
    // Nothing listens here: usage errors must not even try to connect.
    let addr = dead_addr();
    let base = ["provision", "--service_name", addr.as_str()];
    let long_ssid = "x".repeat(33);
    let long_pass = "p".repeat(64);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--transport", "ble", "--serial", "/dev/null"],
            "only apply to --transport console",
        ),
        (
            vec!["--ble-service-uuid", "1775244d-6b43-439b-877c-060f2d9bed07"],
            "only applies to --transport ble",
        ),
        (
            vec!["--transport", "ble", "--ble-service-uuid", "1775244d"],
            "not a UUID",
        ),
        (
            vec!["--transport", "console"],
            "--serial PATH or --console-command",
        ),
        (vec![], "--ssid"),
        (vec!["--ssid", "HomeNet"], "--passphrase"),
        (vec!["--ssid", &long_ssid, "--passphrase", ""], "--ssid"),
        (
            vec!["--ssid", "a", "--passphrase", &long_pass],
            "--passphrase",
        ),
        (vec!["--qr-payload", "PROV_123"], "QR payload"),
        (vec!["--sec_ver", "3"], "3"),
        (vec!["--reset", "--reprov"], "cannot be used with"),
        (vec!["--timeout", "0"], "seconds"),
        (vec!["--no-such-flag"], "unexpected argument"),
    ];
    for (extra, needle) in cases {
        let run = wifiprov(&[&base[..], &extra].concat());
        assert_code(&run, 2, &format!("{extra:?}"));
        assert!(
            run.stderr.contains(needle),
            "{extra:?}: {needle:?} missing: {run:#?}"
        );
    }
    let run = wifiprov(&[&base[..], &["--json"]].concat());
    assert_code(&run, 2, "json usage error");
    assert_eq!(run.json()["exit_code"], 2);
    // BLE needs the device's name (from --service_name or the QR payload).
    let run = wifiprov(&["scan", "--transport", "ble"]);
    assert_code(&run, 2, "scan over ble without a name");
    assert!(run.stderr.contains("--service_name"), "{run:#?}");
    let run = wifiprov(&["info", "--qr_payload", r#"{"transport":"ble"}"#]);
    assert_code(&run, 2, "info over ble without a name");
}

#[test]
fn missing_input_without_a_terminal_is_a_clear_usage_error() {
    let agent = start_agent(1, None, &[]);
    let run = provision(&agent, 1, &[]);
    assert_code(&run, 2, "no --ssid");
    assert!(
        run.stderr
            .contains("pass --ssid and --passphrase (there is no terminal to ask on)"),
        "{run:#?}"
    );
    let run = wifiprov(&[
        "provision",
        "--service_name",
        &agent.addr,
        "--ssid",
        "HomeNet",
        "--passphrase",
        "x",
    ]);
    assert_code(&run, 2, "no --pop");
    assert!(run.stderr.contains("--pop"), "{run:#?}");
    let agent2 = start_agent(2, None, &[]);
    let run = wifiprov(&[
        "provision",
        "--service_name",
        &agent2.addr,
        "--sec2_username",
        "wifiprov",
        "--ssid",
        "HomeNet",
        "--passphrase",
        "x",
    ]);
    assert_code(&run, 2, "no --sec2_pwd");
    assert!(run.stderr.contains("--sec2_pwd"), "{run:#?}");
}

#[test]
fn reprov_and_reset_need_the_right_device_state() {
    // With auto-stop (the default) re-provisioning is refused.
    let agent1 = start_agent(1, None, &[]);
    let run = provision(&agent1, 1, &["--reprov", "--json"]);
    assert_code(&run, 6, "reprov with auto-stop");
    assert_eq!(run.json()["action"], "reprov");
    // A fresh device takes a reset as a no-op.
    assert_code(&provision(&agent1, 1, &["--reset"]), 0, "reset when fresh");

    let agent2 = start_agent(1, None, &["--no-auto-stop"]);
    let run = provision(&agent2, 1, &["--ssid", "CoffeeShop", "--passphrase", ""]);
    assert_code(&run, 0, "open network");
    let run = provision(&agent2, 1, &RIGHT);
    assert_code(&run, 6, "already provisioned");
    assert_code(
        &provision(&agent2, 1, &["--reset"]),
        6,
        "reset after success",
    );
    let run = provision(&agent2, 1, &["--reprov", "--json"]);
    assert_code(&run, 0, "reprov");
    let json = run.json();
    assert_eq!(
        (json["ok"].clone(), json["action"].clone()),
        (true.into(), "reprov".into())
    );
    assert!(json["ssid"].is_null());
    let run = provision(&agent2, 1, &[&RIGHT[..], &["--json"]].concat());
    assert_code(&run, 0, "provision after reprov");
    assert_eq!(run.json()["ssid"], "HomeNet");
}

#[test]
fn qr_payload_fills_transport_and_credentials() {
    let agent1 = start_agent(1, None, &[]);
    let run = wifiprov(
        &[
            &[
                "provision",
                "--service_name",
                agent1.addr.as_str(),
                "--qr-payload",
                r#"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"softap"}"#,
            ][..],
            &RIGHT,
        ]
        .concat(),
    );
    assert_code(&run, 0, "security 1 from the QR payload");

    let agent2 = start_agent(2, None, &[]);
    let run = wifiprov(&[
        &[
            "provision",
            "--service_name",
            agent2.addr.as_str(),
            "-v",
            "--qr_payload",
            r#"{"ver":"v1","name":"PROV_1A2B3C","username":"wifiprov","pop":"s3cret-srp-pw","transport":"softap","security":2}"#,
        ][..],
        &RIGHT,
    ]
    .concat());
    assert_code(&run, 0, "security 2 from the QR payload");
    assert!(!run.all().contains("s3cret-srp-pw"));

    // A flag wins over the payload.
    let agent3 = start_agent(1, None, &[]);
    let run = wifiprov(
        &[
            &[
                "provision",
                "--service_name",
                agent3.addr.as_str(),
                "--pop",
                "nope-nope",
                "--qr-payload",
                r#"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"softap"}"#,
            ][..],
            &RIGHT,
        ]
        .concat(),
    );
    assert_code(&run, 4, "--pop wins over the QR payload");
}

#[test]
fn custom_data_prints_the_reply() {
    let agent1 = start_agent(1, None, &["--endpoint", "custom-data=tr a-z A-Z"]);
    let run = provision(
        &agent1,
        1,
        &[&["--custom_data", "hello device"][..], &RIGHT].concat(),
    );
    assert_code(&run, 0, "custom data then provisioning");
    assert_eq!(run.stdout.trim(), "HELLO DEVICE");

    let agent2 = start_agent(2, None, &["--endpoint", "custom-data=printf 'SUCCESS\\0'"]);
    let run = provision(
        &agent2,
        2,
        &[&["--custom-data", "x", "--json"][..], &RIGHT].concat(),
    );
    assert_code(&run, 0, "custom data with --json");
    assert_eq!(run.json()["custom_data_reply"], "SUCCESS");

    let agent3 = start_agent(1, None, &[]);
    let run = provision(&agent3, 1, &[&["--custom_data", "x"][..], &RIGHT].concat());
    assert_code(&run, 6, "no custom-data endpoint");
    assert!(run.stderr.contains("custom-data"), "{run:#?}");
}

#[test]
fn scan_lists_what_the_device_sees() {
    let agent = start_agent(2, None, &[]);
    let mut args = vec!["scan", "--service_name", agent.addr.as_str()];
    args.extend(client_credentials(2));
    let run = wifiprov(&args);
    assert_code(&run, 0, "scan");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].contains("SSID") && lines[0].contains("SECURITY"),
        "{run:#?}"
    );
    let home = lines
        .iter()
        .find(|l| l.contains("HomeNet"))
        .expect("HomeNet listed");
    assert!(
        home.trim_start().starts_with("1 "),
        "strongest first: {home}"
    );
    assert!(home.contains("WPA2") && home.contains("dBm"));
    assert!(
        run.stdout.contains("(hidden)"),
        "SecretLab is hidden: {run:#?}"
    );

    args.push("--json");
    let run = wifiprov(&args);
    assert_code(&run, 0, "scan --json");
    let list = run.json();
    let list = list.as_array().unwrap();
    assert!(list.len() >= 10);
    let home = list.iter().find(|ap| ap["ssid"] == "HomeNet").unwrap();
    assert_eq!(home["channel"], 6);
    assert_eq!(home["auth"], "WPA2");
    assert_eq!(home["auth_mode"], 3);
    assert!(home["rssi"].as_i64().unwrap() < 0);
}

#[test]
fn info_shows_the_version_document() {
    let agent = start_agent(
        2,
        Some("0"),
        &["--app-info", r#"{"my_app":{"ver":"1.2.3","cap":["ota"]}}"#],
    );
    let run = wifiprov(&["info", "--service_name", &agent.addr]);
    assert_code(&run, 0, "info");
    assert!(run.stdout.contains("v1.1"), "{run:#?}");
    assert!(
        run.stdout.contains("Security:      2, patch level 0"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("wifi_scan"));
    assert!(run.stdout.contains("my_app") && run.stdout.contains("1.2.3"));

    let run = wifiprov(&["info", "--service-name", &agent.addr, "--json"]);
    assert_code(&run, 0, "info --json");
    let json = run.json();
    assert_eq!(json["prov"]["ver"], "v1.1");
    assert_eq!(json["prov"]["sec_ver"], 2);
    assert_eq!(json["prov"]["sec_patch_ver"], 0);
    assert_eq!(json["prov"]["cap"][0], "wifi_scan");
    assert_eq!(json["apps"]["my_app"]["ver"], "1.2.3");
    assert_eq!(json["apps"]["my_app"]["cap"][0], "ota");
    assert_eq!(json["json"], true);
}

/// The hex after `flag` in the `wifiprov device` line of --sec2_gen_cred output.
fn hex_after<'a>(text: &'a str, flag: &str) -> &'a str {
    text.split(flag)
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
}

#[test]
fn sec2_gen_cred_output_works_on_a_device() {
    let run = wifiprov(&[
        "provision",
        "--sec2_gen_cred",
        "--sec2_username",
        "wifiprov",
        "--sec2_pwd",
        "gen-cred-pw",
        "--sec2_salt_len",
        "20",
    ]);
    assert_code(&run, 0, "gen cred");
    assert!(
        run.stdout.contains("static const char sec2_salt[] = {"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("static const char sec2_verifier[] = {"));
    assert!(!run.all().contains("gen-cred-pw"));
    let salt = hex_after(&run.stdout, "--salt ");
    let verifier = hex_after(&run.stdout, "--verifier ");
    assert_eq!(salt.len(), 40);
    // The C array holds the same bytes as the hex.
    let first = format!("{:#04x}", u8::from_str_radix(&salt[..2], 16).unwrap());
    assert!(
        run.stdout
            .contains(&format!("sec2_salt[] = {{\n    {first},"))
    );

    let agent = Agent::start(&[
        "--security",
        "2",
        "--username",
        "wifiprov",
        "--salt",
        salt,
        "--verifier",
        verifier,
        "--connect-delay",
        "0",
    ]);
    let run = wifiprov(
        &[
            &[
                "provision",
                "--service_name",
                agent.addr.as_str(),
                "--sec2_username",
                "wifiprov",
                "--sec2_pwd",
                "gen-cred-pw",
            ][..],
            &RIGHT,
        ]
        .concat(),
    );
    assert_code(&run, 0, "the generated verifier authenticates");

    let run = wifiprov(&[
        "provision",
        "--sec2-gen-cred",
        "--sec2-username",
        "u",
        "--sec2-pwd",
        "p",
        "--json",
    ]);
    assert_code(&run, 0, "gen cred --json");
    let json = run.json();
    assert_eq!(json["username"], "u");
    assert_eq!(json["salt"].as_str().unwrap().len(), 32);

    let run = wifiprov(&["provision", "--sec2_gen_cred", "--sec2_username", "u"]);
    assert_code(&run, 2, "gen cred without a password");
    assert!(run.stderr.contains("--sec2_pwd"));
}

#[test]
fn sec2_gen_cred_refuses_esp_prov_incompatible_credentials() {
    // About 1 password in 256 gives SHA-512("user:password") a leading zero byte.
    let password = (0u32..)
        .map(|n| format!("pw{n}"))
        .find(|pw| Sha512::digest(format!("wifiprov:{pw}").as_bytes())[0] == 0)
        .unwrap();
    let run = wifiprov(&[
        "provision",
        "--sec2_gen_cred",
        "--sec2_username",
        "wifiprov",
        "--sec2_pwd",
        &password,
    ]);
    assert_code(&run, 2, "incompatible credentials");
    assert!(run.stderr.contains("esp_prov"), "{run:#?}");
    assert!(run.stderr.contains("choose another password"), "{run:#?}");
    assert!(run.stdout.is_empty());
}

#[test]
fn help_documents_the_exit_codes() {
    let run = wifiprov(&["provision", "--help"]);
    assert_code(&run, 0, "help");
    for needle in [
        "Exit codes:",
        "7  timed out",
        "--service_name",
        "--sec2_gen_cred",
        "\"elapsed_ms\"",
    ] {
        assert!(run.stdout.contains(needle), "{needle:?} missing");
    }
}

// ---- pseudo-terminal ------------------------------------------------------------------------

/// Starts `wifiprov args…` on a pseudo-terminal with echo on, as a user's terminal has it
/// (rexpect switches echo off by default, which would hide a leak).
fn pty(args: &[&str]) -> rexpect::session::PtySession {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty echo; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_wifiprov"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("WIFIPROV_POP")
        .env_remove("WIFIPROV_PASSWORD")
        .env_remove("WIFIPROV_PASSPHRASE");
    rexpect::session::spawn_command(cmd, Some(30_000)).unwrap()
}

/// Types `text` the way a person does: after the prompt is up, not in the same instant.
fn type_line(p: &mut rexpect::session::PtySession, text: &str) {
    std::thread::sleep(Duration::from_millis(150));
    p.send_line(text).unwrap();
}

fn exit_code(p: &rexpect::session::PtySession) -> i32 {
    match p.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn interactive_choice_from_the_scan_with_a_hidden_passphrase() {
    let agent = start_agent(1, None, &[]);
    let mut p = pty(&[
        "provision",
        "--service_name",
        &agent.addr,
        "--pop",
        "abcd1234",
    ]);
    let mut screen = String::new();
    let before = p
        .exp_string("Select network by number (0 to rescan): ")
        .unwrap();
    screen.push_str(&before);
    assert!(
        before.contains("SSID") && before.contains("SECURITY"),
        "{before}"
    );
    let number = before
        .lines()
        .find(|l| l.contains("HomeNet"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();

    type_line(&mut p, "abc");
    screen.push_str(&p.exp_string("Invalid input, try again").unwrap());
    type_line(&mut p, "999");
    screen.push_str(&p.exp_string("Invalid input, try again").unwrap());
    type_line(&mut p, "0");
    screen.push_str(
        &p.exp_string("Select network by number (0 to rescan): ")
            .unwrap(),
    );
    screen.push_str(
        &p.exp_string("Select network by number (0 to rescan): ")
            .unwrap(),
    );
    type_line(&mut p, &number);
    screen.push_str(&p.exp_string("Passphrase for HomeNet: ").unwrap());
    type_line(&mut p, "correct-horse");
    let rest = p.exp_eof().unwrap();
    screen.push_str(&rest);
    assert_eq!(exit_code(&p), 0, "{screen}");

    assert!(
        rest.contains("Provisioned: HomeNet, IP 192.168.1.42"),
        "{screen}"
    );
    // Visible answers are echoed (so echo is on) but the passphrase is not.
    assert!(screen.contains("abc"), "{screen}");
    assert!(
        !screen.contains("correct-horse"),
        "passphrase echoed: {screen}"
    );
    assert!(!screen.contains("abcd1234"), "PoP shown: {screen}");
}

#[test]
fn interactive_prompts_for_pop_and_srp_credentials() {
    let agent1 = start_agent(1, None, &[]);
    let mut p = pty(&[
        "provision",
        "--service_name",
        &agent1.addr,
        "--ssid",
        "HomeNet",
    ]);
    let mut screen = p.exp_string("Proof of possession: ").unwrap();
    type_line(&mut p, "abcd1234");
    screen.push_str(
        &p.exp_string("Passphrase for HomeNet (empty for an open network): ")
            .unwrap(),
    );
    type_line(&mut p, "correct-horse");
    screen.push_str(&p.exp_eof().unwrap());
    assert_eq!(exit_code(&p), 0, "{screen}");
    assert!(
        !screen.contains("abcd1234") && !screen.contains("correct-horse"),
        "{screen}"
    );

    let agent2 = start_agent(2, None, &[]);
    let mut p = pty(&[
        "provision",
        "--service_name",
        &agent2.addr,
        "--ssid",
        "CoffeeShop",
        "--passphrase",
        "",
    ]);
    let mut screen = p.exp_string("SRP username: ").unwrap();
    type_line(&mut p, "wifiprov");
    screen.push_str(&p.exp_string("SRP password for wifiprov: ").unwrap());
    type_line(&mut p, "s3cret-srp-pw");
    screen.push_str(&p.exp_eof().unwrap());
    assert_eq!(exit_code(&p), 0, "{screen}");
    assert!(screen.contains("Provisioned: CoffeeShop"), "{screen}");
    assert!(
        !screen.contains("s3cret-srp-pw"),
        "SRP password echoed: {screen}"
    );
}

/// Many short client runs in a row against one agent with the default four session slots:
/// sessions whose connection has closed give way to newcomers, so no run is refused.
#[test]
fn back_to_back_runs_never_exhaust_the_session_table() {
    let agent = start_agent(1, None, &["--no-auto-stop"]);
    for i in 0..10 {
        let run = provision(&agent, 1, &["--reset"]);
        assert_eq!(run.code, 0, "run {i}: {}", run.all());
    }
}
