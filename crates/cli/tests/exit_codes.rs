//! One exit-code table for the whole binary: every subcommand documents it in `--help`, the
//! README carries the same codes, a closed standard output ends a run quietly with 141, and
//! the manager's control commands say whether the daemon was unreachable or refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::wifiprov;

/// Exit code of a run whose standard output was closed by its reader.
const OUTPUT_CLOSED: i32 = 141;

/// The codes of the table: `(code, first words of the meaning)`.
const CODES: &[(u8, &str)] = &[
    (0, "success"),
    (1, "another error"),
    (2, "usage"),
    (3, "unreachable"),
    (4, "authentication failed"),
    (5, "a Wi-Fi network could not be joined"),
    (6, "refused in the current state"),
    (7, "timed out"),
    (8, "nothing received"),
    (9, "a file cannot be used"),
    (10, "the local system failed"),
    (11, "the device is throttling"),
    (130, "interrupted"),
    (141, "standard output was closed"),
];

#[test]
fn the_whole_table_is_in_the_top_level_help() {
    let run = wifiprov(&["--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    for (code, meaning) in CODES {
        let row = format!("{code:>5}  {meaning}");
        assert!(
            run.stdout.contains(&row),
            "{row:?} missing:\n{}",
            run.stdout
        );
    }
}

#[test]
fn every_subcommand_documents_its_codes_from_the_table() {
    let cases: &[(&[&str], &[i32])] = &[
        (&["provision"], &[3, 4, 5, 6, 7, 9, 11, 141]),
        (&["scan"], &[3, 4, 6, 7, 11, 141]),
        (&["info"], &[3, 7, 141]),
        (&["discover"], &[10, 141]),
        (&["device"], &[5, 9, 10, 141]),
        (&["manage"], &[5, 9, 10, 141]),
        (&["status"], &[3, 6, 141]),
        (&["networks"], &[3, 6, 141]),
        (&["smartconfig"], &[5, 7, 8, 9, 10, 130, 141]),
        (&["smartconfig", "listen"], &[5, 7, 8, 9, 10, 130, 141]),
        (&["demo"], &[10, 141]),
    ];
    for (sub, specific) in cases {
        let mut args = sub.to_vec();
        args.push("--help");
        let run = wifiprov(&args);
        assert_eq!(run.code, 0, "{sub:?}: {run:?}");
        assert!(
            run.stdout.contains("Exit codes:"),
            "{sub:?}:\n{}",
            run.stdout
        );
        for (code, meaning) in CODES {
            let row = format!("{code:>5}  {meaning}");
            let expected = *code <= 2 || specific.contains(&i32::from(*code));
            assert_eq!(
                run.stdout.contains(&row),
                expected,
                "{sub:?}: {row:?}\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn the_readme_lists_the_same_codes() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    for (code, _) in CODES {
        let row = format!("| {code} |");
        assert!(readme.contains(&row), "README lacks the row for {code}");
    }
}

/// Runs `wifiprov args…` with its standard output a pipe whose reading end is already
/// closed, so its first write fails with EPIPE; returns the exit code and stderr.
fn with_closed_stdout(args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("WIFIPROV_POP")
        .env_remove("WIFIPROV_PASSWORD")
        .env_remove("WIFIPROV_PASSPHRASE")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wifiprov {args:?} did not end with its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut text = String::new();
    stderr.read_to_string(&mut text).unwrap();
    (status.code().unwrap_or(-1), text)
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    for args in [
        &[
            "smartconfig",
            "encode",
            "--protocol",
            "esptouch",
            "--ssid",
            "HomeNet",
        ][..],
        &[
            "smartconfig",
            "encode",
            "--protocol",
            "airkiss",
            "--ssid",
            "HomeNet",
            "--json",
        ],
        &["device", "--sim-list"],
        &[
            "provision",
            "--sec2_gen_cred",
            "--sec2_username",
            "wifiprov",
            "--sec2_pwd",
            "abcd1234",
        ],
    ] {
        let (code, stderr) = with_closed_stdout(args);
        assert_eq!(code, OUTPUT_CLOSED, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
}

#[test]
fn an_open_stdout_still_gets_everything() {
    let run = wifiprov(&[
        "smartconfig",
        "encode",
        "--protocol",
        "esptouch",
        "--ssid",
        "HomeNet",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.lines().count() > 10, "{run:?}");
    assert!(
        run.stdout.lines().all(|l| l.parse::<u16>().is_ok()),
        "{run:?}"
    );
}

#[test]
fn control_commands_tell_an_absent_manager_apart() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("manager.sock");
    for args in [
        &["status"][..],
        &["networks", "list"],
        &["networks", "remove", "HomeNet"],
    ] {
        let mut all = vec![args[0], "--control", socket.to_str().unwrap()];
        all.extend(&args[1..]);
        let run = wifiprov(&all);
        // 3: nothing answers at the control socket (it used to be 1).
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
        assert!(run.stderr.contains("wifiprov manage"), "{run:?}");
    }
}
