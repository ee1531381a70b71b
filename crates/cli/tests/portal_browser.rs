//! The captive portal in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over W3C WebDriver against `wifiprov device --portal` on
//! loopback with the simulator. At a phone's width: rescan, pick HomeNet, a wrong then the
//! right password, both outcomes read on the page, no horizontal overflow. Without JavaScript
//! at a desktop width: the hidden network by name, wrong then right, through plain form posts.
//! Screenshots go to `target/portal-screenshots/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use wifiprov_testkit::needs::Needs;

/// The W3C name of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP exchange with the driver (`Connection: close`); the JSON answer.
fn call(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "the driver closed: {}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("no Content-Length: {head}"));
    while raw.len() < head_end + length {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the driver closed mid-answer");
        raw.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&raw[head_end..head_end + length]).into_owned();
    let raw = &body;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {raw}"))
}

/// The chromedriver process, stopped on drop.
struct Driver {
    child: Child,
    addr: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Driver {
        let port = dead_addr().rsplit_once(':').unwrap().1.to_owned();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Driver {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(&driver.addr).is_ok()
                && call(&driver.addr, "GET", "/status", None)["value"]["ready"] == true
            {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A browser session at `width`×`height`, with or without JavaScript.
    fn session(&self, width: u32, height: u32, javascript: bool) -> Session {
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking",
                     format!("--window-size={width},{height}")],
        });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let answer = call(&self.addr, "POST", "/session", Some(&caps));
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        Session {
            driver: self.addr.clone(),
            id,
        }
    }
}

struct Session {
    driver: String,
    id: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.id);
        let _ = std::panic::catch_unwind(|| call(&self.driver, "DELETE", &path, None));
    }
}

impl Session {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let answer = call(
            &self.driver,
            method,
            &format!("/session/{}{path}", self.id),
            body.as_ref(),
        );
        if let Some(error) = answer["value"].get("error") {
            panic!("{method} {path}: {error}: {}", answer["value"]["message"]);
        }
        answer["value"].clone()
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let found = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_owned()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.cmd("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The text of `css`, or `None` while the page is changing.
    fn try_text(&self, css: &str) -> Option<String> {
        let base = format!("/session/{}", self.id);
        let found = call(
            &self.driver,
            "POST",
            &format!("{base}/element"),
            Some(&json!({ "using": "css selector", "value": css })),
        );
        let id = found["value"][ELEMENT].as_str()?.to_owned();
        let text = call(
            &self.driver,
            "GET",
            &format!("{base}/element/{id}/text"),
            None,
        );
        text["value"].as_str().map(str::to_owned)
    }

    fn script(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Waits until the outcome line reads `wanted`.
    fn wait_outcome(&self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = self.try_text("#outcome").unwrap_or_default();
            if now.contains(wanted) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "outcome {now:?}, wanted {wanted:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a screenshot under `target/portal-screenshots/NAME.png`.
    fn screenshot(&self, name: &str) {
        let data = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(data.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"));
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Whether the page is wider than the window (horizontal scrolling).
    fn overflows(&self) -> bool {
        self.script("return document.documentElement.scrollWidth > window.innerWidth + 1;") == true
    }
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/portal-screenshots")
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
    {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The device with the portal on a free loopback port; its portal URL.
fn device() -> (Agent, String) {
    let agent = Agent::start(&[
        "--security",
        "0",
        "--connect-delay",
        "0",
        "--no-auto-stop",
        "--portal",
        "--portal-listen",
        "127.0.0.1:0",
        "--portal-dns",
        "off",
        "--portal-local-name",
        "sensor-7",
    ]);
    let log = agent.output();
    let url = log
        .split("the captive portal on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no portal in {log}"))
        .to_owned();
    (agent, url)
}

fn browser_ready() -> bool {
    Needs::new("portal_browser")
        .program("chromedriver", &["--version"])
        .program("chromium", &["--version"])
        .ok()
}

#[test]
fn phone_with_javascript_wrong_then_right() {
    if !browser_ready() {
        return;
    }
    let (agent, url) = device();
    let driver = Driver::start();
    let phone = driver.session(390, 844, true);
    phone.go(&url);
    assert_eq!(
        phone.script("return document.title;"),
        "Connect the device to Wi-Fi"
    );
    // The show toggle is there with JavaScript and flips the field.
    phone.click("#show");
    assert_eq!(
        phone.script("return document.getElementById('password').type;"),
        "text"
    );
    phone.click("#show");
    // Rescan keeps the list.
    phone.click("#rescan");
    let deadline = Instant::now() + Duration::from_secs(20);
    while phone.text("#rescan") != "Scan again" {
        assert!(Instant::now() < deadline, "the rescan did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    phone.screenshot("phone-list");
    assert!(!phone.overflows(), "the page scrolls sideways at 390 px");

    phone.click("input[name=ssid][value=HomeNet]");
    phone.type_into("#password", "wrong-horse");
    phone.click("#submit");
    phone.wait_outcome("Wrong password for HomeNet — try again.");
    phone.screenshot("phone-wrong-password");
    assert!(!phone.overflows());

    phone.type_into("#password", "correct-horse");
    phone.click("#submit");
    phone.wait_outcome("Joined HomeNet, the device is now at 192.168.1.42 / sensor-7.local.");
    phone.screenshot("phone-joined");
    // The page's own script made no request elsewhere (no third-party URL in the page).
    let foreign = phone.script(
        "return performance.getEntriesByType('resource').filter(r => !r.name.startsWith(location.origin)).length;",
    );
    assert_eq!(foreign, 0);
    let log = agent.output();
    assert!(!log.contains("correct-horse") && !log.contains("wrong-horse"));
}

#[test]
fn desktop_without_javascript_hidden_network() {
    if !browser_ready() {
        return;
    }
    let (agent, url) = device();
    let driver = Driver::start();
    let desktop = driver.session(1280, 900, false);
    desktop.go(&url);
    // Without JavaScript the show toggle stays hidden; the form posts.
    assert!(desktop.text("#networks").contains("HomeNet"));
    desktop.click("#other");
    desktop.type_into("#hidden_ssid", "SecretLab");
    desktop.type_into("#password", "wrong-password");
    desktop.click("#submit");
    desktop.wait_outcome("Wrong password for SecretLab — try again.");
    desktop.screenshot("desktop-nojs-wrong-password");
    desktop.click("#other");
    desktop.type_into("#hidden_ssid", "SecretLab");
    desktop.type_into("#password", "not-in-scans");
    desktop.click("#submit");
    desktop.wait_outcome("Joined SecretLab, the device is now at");
    desktop.screenshot("desktop-nojs-joined");
    assert!(!desktop.overflows());
    assert!(!agent.output().contains("not-in-scans"));
}
