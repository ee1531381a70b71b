//! Every shell example of README.md and of the `--help` texts, run as written against the
//! simulator on loopback.
//!
//! README conventions (an HTML comment on the line right before a fence; several may stack):
//! * every ` ```sh ` block runs, one command per line (`\` continues a line, `#` comments are
//!   dropped), each within [`COMMAND_TIMEOUT`] and expected to exit 0;
//! * `<!-- not run: REASON -->` skips the block (the reason is listed in the report);
//! * `<!-- background -->` starts the block's commands in the background, as in a second
//!   terminal: the runner waits until a `--listen` address accepts connections (or a
//!   `--control` socket exists), and at the end of the section (the next heading) a command
//!   that exited must have exited with 0, one still running is stopped;
//! * `<!-- file: NAME -->` before a block of any language writes its text to NAME in the
//!   working directory, so that later examples can use it.
//!
//! `--help` texts: every line `  $ wifiprov …` of an "Examples:" section runs; a command that
//! ends with ` &` runs in the background until the end of that help text.
//!
//! Each section runs in a fresh working directory with HOME, XDG_STATE_HOME, XDG_CONFIG_HOME
//! and XDG_RUNTIME_DIR inside it, `wifiprov` on PATH naming the binary under test, stdin
//! closed and no WIFIPROV_* variable. Commands may only name loopback addresses.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest one foreground example may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
/// The longest a background example may take to become reachable.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A fenced block of the README with the markers before it.
#[derive(Debug)]
struct Block {
    section: String,
    lang: String,
    text: String,
    skip: Option<String>,
    background: bool,
    file: Option<String>,
}

/// The blocks of `markdown`, in order.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut section = String::from("(top)");
    let mut markers: Vec<String> = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(fence) = trimmed.strip_prefix("```") {
            let lang = fence.trim().to_string();
            let mut text = String::new();
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                text.push_str(inner);
                text.push('\n');
            }
            let marker = |prefix: &str| {
                markers
                    .iter()
                    .find_map(|m| m.strip_prefix(prefix).map(|r| r.trim().to_string()))
            };
            out.push(Block {
                section: section.clone(),
                lang,
                text,
                skip: marker("not run:"),
                background: markers.iter().any(|m| m == "background"),
                file: marker("file:"),
            });
            markers.clear();
        } else if let Some(comment) = trimmed
            .strip_prefix("<!--")
            .and_then(|c| c.strip_suffix("-->"))
        {
            markers.push(comment.trim().to_string());
        } else if trimmed.starts_with('#') {
            section = trimmed.trim_start_matches('#').trim().to_string();
            markers.clear();
        } else if !trimmed.is_empty() {
            markers.clear();
        }
    }
    out
}

/// The commands of a shell block: continuation lines joined, comments dropped.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if current.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        let line = match line.find("  #") {
            Some(at) => line[..at].trim_end(),
            None => line,
        };
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current).trim().to_string());
            }
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// Refuses examples that would leave loopback or touch a real radio.
fn check_loopback(command: &str) {
    for banned in [
        "0.0.0.0",
        "192.168.",
        "255.255.255.255",
        "--wifi auto",
        "--wifi wpa",
        "--wifi networkmanager",
    ] {
        assert!(
            !command.contains(banned),
            "a run example must stay on loopback and the simulator ({banned}): {command}"
        );
    }
    let words: Vec<&str> = command.split_whitespace().collect();
    let sub = words.get(1).copied().unwrap_or_default();
    if sub == "device" && !words.contains(&"--sim-list") {
        assert!(
            command.contains("--listen 127."),
            "a run `device` example must listen on loopback: {command}"
        );
    }
    let radio = matches!(sub, "device" | "manage")
        || (sub == "smartconfig" && words.get(2).is_some_and(|w| *w == "listen"));
    if radio && !words.contains(&"--sim-list") {
        assert!(
            command.contains("--wifi sim"),
            "a run example with a radio must name the simulator (--wifi sim): {command}"
        );
    }
}

/// One working directory with the environment every example runs in.
struct Workspace {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_wifiprov"), bin.join("wifiprov")).unwrap();
        for sub in ["home", "state", "config", "run"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Workspace { dir, bin }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, shell: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(shell).current_dir(self.path());
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{path}", self.bin.display()))
            .env("HOME", self.path().join("home"))
            .env("USER", "readme")
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_RUNTIME_DIR", self.path().join("run"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("WIFIPROV_") {
                c.env_remove(name);
            }
        }
        c
    }
}

/// A command running in the background, with its output collected.
struct Background {
    command: String,
    child: Child,
    output: Arc<Mutex<String>>,
}

fn collect(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

/// The value after `flag` in `command`, if any.
fn flag_value<'a>(command: &'a str, flag: &str) -> Option<&'a str> {
    let mut words = command.split_whitespace();
    words.find(|w| *w == flag)?;
    words.next()
}

impl Background {
    fn start(ws: &Workspace, command: &str) -> Background {
        let mut child = ws
            .command(&format!("exec {command}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), output.clone());
        collect(child.stderr.take().unwrap(), output.clone());
        let background = Background {
            command: command.to_string(),
            child,
            output,
        };
        background.wait_ready(ws);
        background
    }

    /// Waits until the `--listen` address accepts connections, or the manager's control
    /// socket exists; other commands need no wait (a SmartConfig sender repeats itself).
    fn wait_ready(&self, ws: &Workspace) {
        let listen = flag_value(&self.command, "--listen")
            .and_then(|a| a.trim_matches(['\'', '"']).parse::<SocketAddr>().ok());
        let manage = self.command.split_whitespace().nth(1) == Some("manage");
        // The manager's access point (and its --listen) is only up when needed; its control
        // socket says it runs.
        let control = flag_value(&self.command, "--control")
            .map(|p| ws.path().join(p))
            .or_else(|| manage.then(|| ws.path().join("run/wifiprov/manager.sock")));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let ready = match (&listen, &control) {
                (_, Some(path)) => path.exists(),
                (Some(addr), None) => {
                    TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok()
                }
                (None, None) => true,
            };
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "background example never became reachable: {}\n{}",
                self.command,
                self.output.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// At the end of its section: an example that exited must have succeeded.
    fn finish(mut self) {
        match self.child.try_wait().unwrap() {
            Some(status) => assert!(
                status.success(),
                "background example failed ({status}): {}\n{}",
                self.command,
                self.output.lock().unwrap()
            ),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// Runs one foreground example; panics with its output unless it exits 0 in time.
fn run_foreground(ws: &Workspace, command: &str) {
    let mut child = ws
        .command(command)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    collect(child.stdout.take().unwrap(), output.clone());
    collect(child.stderr.take().unwrap(), output.clone());
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "example still running after {COMMAND_TIMEOUT:?}: {command}\n{}",
                output.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Let the readers take the last lines.
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        status.success(),
        "example failed ({status}): {command}\n{}",
        output.lock().unwrap()
    );
}

/// The README's examples, section by section; returns what ran and what was skipped.
fn run_readme(markdown: &str) -> (Vec<String>, Vec<String>) {
    let mut ran = Vec::new();
    let mut skipped = Vec::new();
    let mut section = String::new();
    let mut ws = Workspace::new();
    let mut background: Vec<Background> = Vec::new();
    for block in blocks(markdown) {
        if block.section != section {
            background.drain(..).for_each(Background::finish);
            ws = Workspace::new();
            section = block.section.clone();
        }
        if let Some(name) = &block.file {
            std::fs::write(ws.path().join(name), &block.text).unwrap();
        }
        if block.lang != "sh" {
            continue;
        }
        if let Some(reason) = &block.skip {
            for command in commands(&block.text) {
                skipped.push(format!(
                    "[{}] {command}  (not run: {reason})",
                    block.section
                ));
            }
            continue;
        }
        for command in commands(&block.text) {
            check_loopback(&command);
            if block.background {
                background.push(Background::start(&ws, &command));
                ran.push(format!("[{}] {command} &", block.section));
            } else {
                run_foreground(&ws, &command);
                ran.push(format!("[{}] {command}", block.section));
            }
        }
    }
    background.drain(..).for_each(Background::finish);
    (ran, skipped)
}

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_readme_shell_example_runs_as_written() {
    let (ran, skipped) = run_readme(&readme());
    eprintln!("README examples run ({}):", ran.len());
    ran.iter().for_each(|c| eprintln!("  {c}"));
    eprintln!("README examples not run ({}):", skipped.len());
    skipped.iter().for_each(|c| eprintln!("  {c}"));
    // The walkthrough, the SmartConfig recipes and the networks.json example are among them.
    for needle in [
        "device --wifi sim --listen 127.0.0.1:8080",
        "provision --service-name 127.0.0.1:8080",
        "--protocol esptouch ",
        "--protocol esptouch-v2",
        "--protocol airkiss",
        "manage --networks networks.json",
    ] {
        assert!(
            ran.iter().any(|c| c.contains(needle)),
            "no example with {needle:?} ran: {ran:#?}"
        );
    }
}

/// The `$ wifiprov …` lines of a help text's "Examples:" section.
fn help_examples(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Examples:")
        .filter_map(|l| l.trim().strip_prefix("$ "))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_help_example_runs_as_written() {
    let mut ran = Vec::new();
    for sub in [
        vec!["device"],
        vec!["provision"],
        // The same examples close `smartconfig send --help` and `listen --help`.
        vec!["smartconfig"],
    ] {
        let ws = Workspace::new();
        let help = Command::new(env!("CARGO_BIN_EXE_wifiprov"))
            .args(&sub)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        let examples = help_examples(&help);
        let mut background = Vec::new();
        for example in &examples {
            check_loopback(example);
            match example.strip_suffix(" &") {
                Some(command) => background.push(Background::start(&ws, command)),
                None => run_foreground(&ws, example),
            }
            ran.push(format!("[{}] {example}", sub.join(" ")));
        }
        background.into_iter().for_each(Background::finish);
    }
    eprintln!("--help examples run ({}):", ran.len());
    ran.iter().for_each(|c| eprintln!("  {c}"));
    for sub in ["[device]", "[provision]", "[smartconfig]"] {
        assert!(
            ran.iter().any(|c| c.starts_with(sub)),
            "{sub} --help shows no example: {ran:#?}"
        );
    }
}

#[test]
fn the_conventions_are_read_as_documented() {
    let text = "# A\n\n<!-- not run: needs a radio -->\n```sh\nwifiprov x \\\n    --y  # z\n```\n\
                <!-- background -->\n```sh\n# comment\nwifiprov a\n```\nprose\n\
                <!-- file: n.json -->\n```json\n{}\n```\n## B\n```sh\nwifiprov b\n```\n";
    let found = blocks(text);
    assert_eq!(found.len(), 4);
    assert_eq!(found[0].skip.as_deref(), Some("needs a radio"));
    assert_eq!(commands(&found[0].text), ["wifiprov x --y"]);
    assert!(found[1].background && found[1].skip.is_none());
    assert_eq!(commands(&found[1].text), ["wifiprov a"]);
    assert_eq!(found[2].file.as_deref(), Some("n.json"));
    assert_eq!(found[3].section, "B");
    assert!(!found[3].background);
    assert_eq!(
        help_examples("Usage\n\nExamples:\n  $ wifiprov a &\n  $ wifiprov b\n"),
        ["wifiprov a &", "wifiprov b"]
    );
}
