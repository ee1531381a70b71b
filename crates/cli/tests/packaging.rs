//! What a package installs: shell completions and man pages generated from the command-line
//! definitions, and the `.deb` built by `packaging/build-deb.sh` (cargo-deb) with the binary,
//! the systemd units, the completions and the man pages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::wifiprov;

/// The visible subcommands, each with its own man page.
const SUBCOMMANDS: [&str; 10] = [
    "demo",
    "provision",
    "scan",
    "info",
    "discover",
    "manage",
    "status",
    "networks",
    "device",
    "smartconfig",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn completions_cover_every_subcommand_in_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let run = wifiprov(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.all());
        assert!(run.stdout.len() > 1000, "{shell}: {}", run.stdout);
        for sub in SUBCOMMANDS {
            assert!(run.stdout.contains(sub), "{shell}: no {sub}");
        }
        // Flags too, global ones included.
        for flag in ["service-name", "log-format", "security"] {
            assert!(run.stdout.contains(flag), "{shell}: no --{flag}");
        }
    }
    // The bash script is valid bash.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("wifiprov.bash");
    std::fs::write(&script, wifiprov(&["completions", "bash"]).stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let run = wifiprov(&["completions", "tcsh"]);
    assert_eq!(run.code, 2, "{}", run.all());
}

#[test]
fn man_pages_exist_for_every_subcommand_and_parse_as_roff() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let run = wifiprov(&["man", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.all());
    let pages: Vec<String> = std::iter::once("wifiprov".to_owned())
        .chain(SUBCOMMANDS.iter().map(|s| format!("wifiprov-{s}")))
        .chain(["wifiprov-networks-add".to_owned()])
        .collect();
    for page in &pages {
        let path = out.join(format!("{page}.1"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; listed: {}", path.display(), run.stdout));
        assert!(
            run.stdout.contains(path.to_str().unwrap()),
            "{}",
            run.stdout
        );
        let header = text
            .lines()
            .find(|l| l.starts_with(".TH "))
            .unwrap_or_else(|| panic!("{page}: no .TH header"));
        let fields: Vec<&str> = header.split_whitespace().collect();
        assert_eq!(fields[1], page, "{header}");
        assert_eq!(fields[2], "1", "{header}");
        assert!(header.contains("\"wifiprov "), "{header}");
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION"] {
            assert!(text.contains(section), "{page}: no {section}");
        }
    }
    let device = std::fs::read_to_string(out.join("wifiprov-device.1")).unwrap();
    assert!(device.contains("listen"), "{device}");
    // The exit codes of the subcommand's help are in its page.
    assert!(device.contains("already provisioned"), "{device}");
    // The hidden helpers have none.
    assert!(!out.join("wifiprov-completions.1").exists());
    assert!(!out.join("wifiprov-man.1").exists());
}

/// Runs `dpkg-deb` with `args`; its stdout.
fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .expect("dpkg-deb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Builds the package as a release does (cargo-deb is installed by scripts/test.sh, which
/// also builds it once before the tests so this run only repackages).
fn build_deb() -> PathBuf {
    let out = Command::new("bash")
        .arg(workspace().join("packaging/build-deb.sh"))
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "build-deb.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.ends_with(".deb"))
        .unwrap_or_else(|| panic!("no package path printed: {stdout}"));
    PathBuf::from(path)
}

#[test]
fn the_deb_installs_binary_units_completions_and_man_pages() {
    let deb = build_deb();

    let info = dpkg_deb(&["-I"], &deb);
    assert!(info.contains("Package: wifiprov\n"), "{info}");
    assert!(info.contains("Section: net\n"), "{info}");
    let depends = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("Depends: "))
        .unwrap_or_else(|| panic!("no Depends: {info}"));
    assert!(depends.contains("libc6"), "{depends}");
    // The units are registered, neither enabled nor started, by the maintainer scripts.
    for script in [" postinst ", " postrm "] {
        assert!(info.contains(script), "{info}");
    }

    let listing = dpkg_deb(&["-c"], &deb);
    let entry = |path: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"))
    };
    let binary = entry("/usr/bin/wifiprov");
    assert!(binary.starts_with("-rwxr-xr-x"), "{binary}");
    // The release profile (LTO, size-optimised, stripped) keeps it within 8 MiB.
    let size: u64 = binary.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(size <= 8 << 20, "{size} bytes: {binary}");
    for path in [
        "/usr/lib/systemd/system/wifiprov-device.service",
        "/usr/lib/systemd/system/wifiprov-manage.service",
        "/usr/share/bash-completion/completions/wifiprov",
        "/usr/share/zsh/vendor-completions/_wifiprov",
        "/usr/share/fish/vendor_completions.d/wifiprov.fish",
        "/usr/share/man/man1/wifiprov.1.gz",
        "/usr/share/doc/wifiprov/README.md",
    ] {
        assert!(entry(path).starts_with("-rw-r--r--"), "{path}");
    }
    for sub in SUBCOMMANDS {
        entry(&format!("/usr/share/man/man1/wifiprov-{sub}.1.gz"));
    }

    // What is installed works: the binary runs and the units are the ones in packaging/.
    let root = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(root.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let version = Command::new(root.path().join("usr/bin/wifiprov"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("wifiprov {}", env!("CARGO_PKG_VERSION"))
    );
    let control = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(control.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let postinst = std::fs::read_to_string(control.path().join("postinst")).unwrap();
    assert!(postinst.contains("deb-systemd-helper update-state wifiprov-device.service"));
    assert!(postinst.contains("deb-systemd-helper update-state wifiprov-manage.service"));
    assert!(!postinst.contains("deb-systemd-invoke start"), "{postinst}");
    for unit in ["wifiprov-device.service", "wifiprov-manage.service"] {
        let installed =
            std::fs::read_to_string(root.path().join("usr/lib/systemd/system").join(unit)).unwrap();
        let source =
            std::fs::read_to_string(workspace().join("packaging/systemd").join(unit)).unwrap();
        assert_eq!(installed, source, "{unit}");
    }
    let completion = std::fs::read_to_string(
        root.path()
            .join("usr/share/bash-completion/completions/wifiprov"),
    )
    .unwrap();
    assert_eq!(completion, wifiprov(&["completions", "bash"]).stdout);
}
