//! The captive portal of `wifiprov device --portal` on loopback with the simulator: OS probes
//! before and after success, redirects for other hosts, the API's shapes, the form token, the
//! rate limit, wrong then right passwords through the API, the page without JavaScript and
//! our own client, DNS answers over UDP, a user's UI directory, and no secret in the logs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::time::Duration;

use support::*;

/// The device with the portal on free loopback ports (HTTP provisioning beside it).
struct Portal {
    agent: Agent,
    /// `127.0.0.1:port` of the portal.
    addr: String,
    /// Where its DNS responder listens.
    dns: String,
}

impl Portal {
    fn start(extra: &[&str]) -> Portal {
        let mut args = vec![
            "--security",
            "0",
            "--connect-delay",
            "0",
            "--no-auto-stop",
            "--portal",
            "--portal-listen",
            "127.0.0.1:0",
            "--portal-dns",
            "127.0.0.1:0",
        ];
        args.extend(extra);
        let agent = Agent::start(&args);
        let log = agent.output();
        let after = |marker: &str| -> String {
            log.split(marker)
                .nth(1)
                .and_then(|rest| rest.split(['/', ')', ' ']).next())
                .unwrap_or_else(|| panic!("no {marker:?} in {log}"))
                .to_owned()
        };
        let addr = after("the captive portal on http://");
        let dns = after("(DNS on udp ");
        Portal { agent, addr, dns }
    }

    /// One request (`Connection: close`): status, head, body.
    fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            request.push_str(&format!("Host: {}\r\n", self.addr));
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {raw:?}"));
        Reply {
            status,
            head: head.to_ascii_lowercase(),
            body: body.to_owned(),
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.http("GET", path, &[], "")
    }

    fn token(&self) -> String {
        self.get("/api/status").json()["csrf"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn connect(&self, token: &str, ssid: &str, password: &str) -> Reply {
        let body = serde_json::json!({ "ssid": ssid, "password": password }).to_string();
        self.http(
            "POST",
            "/api/connect",
            &[
                ("X-CSRF-Token", token),
                ("Content-Type", "application/json"),
            ],
            &body,
        )
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    /// The head, lowercased.
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    fn location(&self) -> Option<&str> {
        self.head
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .map(str::trim)
    }
}

const PROBES: [&str; 6] = [
    "/generate_204",
    "/hotspot-detect.html",
    "/connecttest.txt",
    "/ncsi.txt",
    "/canonical.html",
    "/success.txt",
];

#[test]
fn probes_redirects_api_and_outcomes() {
    let portal = Portal::start(&["--portal-local-name", "sensor-7"]);
    let home = format!("http://{}/", portal.addr);

    // Every OS's probe, on its own host name, is sent to the portal.
    for (path, host) in PROBES.iter().zip([
        "connectivitycheck.gstatic.com",
        "captive.apple.com",
        "www.msftconnecttest.com",
        "www.msftncsi.com",
        "detectportal.firefox.com",
        "detectportal.firefox.com",
    ]) {
        let reply = portal.http("GET", path, &[("Host", host)], "");
        assert_eq!(reply.status, 302, "{path}: {reply:?}");
        assert_eq!(reply.location(), Some(home.as_str()), "{path}");
    }
    // Any other host is redirected; the portal's own host is served.
    let foreign = portal.http("GET", "/some/page", &[("Host", "example.org")], "");
    assert_eq!(foreign.status, 302);
    assert_eq!(foreign.location(), Some(home.as_str()));
    let page = portal.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<form id=\"connect\" method=\"post\" action=\"/connect\">")
    );
    assert!(
        page.body.contains("value=\"HomeNet\""),
        "the scan list is in the page"
    );
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
    assert!(
        page.head
            .contains("content-security-policy: default-src 'self'")
    );
    for asset in ["/portal.css", "/portal.js"] {
        assert_eq!(portal.get(asset).status, 200, "{asset}");
    }

    // RFC 8908.
    let captive = portal.get("/api/captive");
    assert!(
        captive
            .head
            .contains("content-type: application/captive+json")
    );
    assert_eq!(captive.json()["captive"], true);
    assert_eq!(captive.json()["user-portal-url"], home.as_str());

    // The API's shapes.
    let status = portal.get("/api/status").json();
    assert_eq!(status["state"], "idle");
    assert_eq!(status["provisioned"], false);
    let token = status["csrf"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    let networks = portal.get("/api/networks").json();
    let list = networks["networks"].as_array().unwrap();
    let home_net = list.iter().find(|n| n["ssid"] == "HomeNet").unwrap();
    assert_eq!(home_net["security"], "WPA2");
    assert!(home_net["rssi"].as_i64().unwrap() < 0);
    assert!(home_net["bars"].as_u64().unwrap() <= 4);
    assert!(list.iter().all(|n| n["ssid"] != ""), "no hidden entries");
    let rescan = portal.http("POST", "/api/rescan", &[("X-CSRF-Token", &token)], "");
    assert_eq!(rescan.status, 200);
    assert!(!rescan.json()["networks"].as_array().unwrap().is_empty());

    // Without the token, or with a wrong one: refused, nothing tried.
    assert_eq!(portal.http("POST", "/api/rescan", &[], "").status, 403);
    let forged = portal.connect(
        "00000000000000000000000000000000",
        "HomeNet",
        "correct-horse",
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    let forged_form = portal.http(
        "POST",
        "/connect",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "ssid=HomeNet&password=correct-horse",
    );
    assert_eq!(forged_form.status, 403);
    assert_eq!(portal.get("/api/status").json()["state"], "idle");

    // Wrong, then right, through the API; the outcome stays for the page.
    let wrong = portal.connect(&token, "HomeNet", "wrong-horse");
    assert_eq!(wrong.status, 200, "{wrong:?}");
    let wrong = wrong.json();
    assert_eq!(wrong["state"], "failed");
    assert_eq!(wrong["reason"], "wrong-password");
    assert_eq!(wrong["message"], "Wrong password for HomeNet — try again.");
    assert!(
        portal
            .get("/")
            .body
            .contains("Wrong password for HomeNet — try again.")
    );
    // The probes still say "captive".
    assert_eq!(portal.get("/generate_204").status, 302);

    let right = portal.connect(&token, "HomeNet", "correct-horse").json();
    assert_eq!(right["state"], "joined", "{right}");
    assert_eq!(right["ip"], "192.168.1.42");
    assert_eq!(right["local_name"], "sensor-7.local");
    assert_eq!(
        right["message"],
        "Joined HomeNet, the device is now at 192.168.1.42 / sensor-7.local."
    );
    assert_eq!(right["provisioned"], true);
    let page = portal.get("/");
    assert!(
        page.body
            .contains("Joined HomeNet, the device is now at 192.168.1.42 / sensor-7.local.")
    );
    assert!(page.body.contains("class=\"outcome ok\""));

    // Online now: each OS gets what it expects.
    let android = portal.http(
        "GET",
        "/generate_204",
        &[("Host", "connectivitycheck.gstatic.com")],
        "",
    );
    assert_eq!(android.status, 204);
    assert!(
        portal
            .get("/hotspot-detect.html")
            .body
            .contains("<BODY>Success</BODY>")
    );
    assert_eq!(
        portal.get("/connecttest.txt").body,
        "Microsoft Connect Test"
    );
    assert_eq!(portal.get("/ncsi.txt").body, "Microsoft NCSI");
    assert!(
        portal
            .get("/canonical.html")
            .body
            .contains("support.mozilla.org")
    );
    assert_eq!(portal.get("/success.txt").body, "success\n");
    assert_eq!(portal.get("/api/captive").json()["captive"], false);

    // Events: the current status first.
    let mut stream = TcpStream::connect(&portal.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET /api/events HTTP/1.1\r\nHost: {}\r\n\r\n",
        portal.addr
    )
    .unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 2048];
    while !got.contains("\n\n") || !got.contains("data:") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "{got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        got.to_ascii_lowercase()
            .contains("content-type: text/event-stream")
    );
    assert!(got.contains("event: status\ndata: {"), "{got}");
    assert!(got.contains("\"state\":\"joined\""), "{got}");
    assert!(!got.contains("csrf"), "{got}");

    // No secret in the logs.
    let log = portal.agent.output();
    for secret in ["correct-horse", "wrong-horse", token.as_str()] {
        assert!(!log.contains(secret), "{secret:?} logged:\n{log}");
    }
}

#[test]
fn form_without_javascript_hidden_network_and_rate_limit() {
    let portal = Portal::start(&[]);
    let token = portal.token();
    let form = |fields: &str| {
        portal.http(
            "POST",
            "/connect",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            fields,
        )
    };
    // A hidden network by name, a wrong password: post, redirect, the page shows it.
    let posted = form(&format!(
        "csrf={token}&ssid=&hidden_ssid=SecretLab&password=wrong-password"
    ));
    assert_eq!(posted.status, 303, "{posted:?}");
    assert_eq!(posted.location(), Some("/"));
    let page = portal.get("/");
    assert!(
        page.body
            .contains("Wrong password for SecretLab — try again."),
        "{}",
        page.body
    );
    assert!(page.body.contains("class=\"outcome bad\""));
    // Rescan without JavaScript.
    let rescan = portal.http(
        "POST",
        "/rescan",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("csrf={token}"),
    );
    assert_eq!(rescan.status, 303);

    // Four more failures fill the burst of five; the sixth is refused with Retry-After.
    for _ in 0..4 {
        let r = portal.connect(&token, "SecretLab", "still-wrong");
        assert_eq!(r.json()["state"], "failed", "{r:?}");
    }
    let limited = portal.connect(&token, "SecretLab", "not-in-scans");
    assert_eq!(limited.status, 429, "{limited:?}");
    assert!(limited.head.contains("retry-after: "));
    assert!(limited.json()["retry_after"].as_u64().unwrap() >= 1);
    let limited_form = form(&format!(
        "csrf={token}&ssid=&hidden_ssid=SecretLab&password=not-in-scans"
    ));
    assert_eq!(limited_form.status, 200);
    assert!(limited_form.body.contains("Too many attempts"));
    assert!(!portal.agent.output().contains("not-in-scans"));
}

#[test]
fn our_client_wrong_then_right() {
    let portal = Portal::start(&[]);
    let url = format!("http://{}", portal.addr);
    let wrong = wifiprov(&[
        "provision",
        "--transport",
        "portal",
        "--service_name",
        &url,
        "--ssid",
        "HomeNet",
        "--passphrase",
        "wrong-horse",
        "--json",
    ]);
    assert_eq!(wrong.code, 5, "{wrong:#?}");
    let report = wrong.json();
    assert_eq!(report["ok"], false);
    assert!(
        report["error"].as_str().unwrap().contains("Wrong password"),
        "{report}"
    );
    let right = wifiprov(&[
        "provision",
        "--transport",
        "portal",
        "--service_name",
        &url,
        "--ssid",
        "HomeNet",
        "--passphrase",
        "correct-horse",
        "--json",
    ]);
    assert_eq!(right.code, 0, "{right:#?}");
    let report = right.json();
    assert_eq!(report["ssid"], "HomeNet");
    assert_eq!(report["ip"], "192.168.1.42");
    assert_eq!(report["protocol"], "portal 1");
    // The scan through the portal.
    let scan = wifiprov(&[
        "scan",
        "--transport",
        "portal",
        "--service_name",
        &url,
        "--json",
    ]);
    assert_eq!(scan.code, 0, "{scan:#?}");
    assert!(scan.stdout.contains("HomeNet"));
    // Nobody there.
    let dead = wifiprov(&[
        "provision",
        "--transport",
        "portal",
        "--service_name",
        &format!("http://{}", dead_addr()),
        "--ssid",
        "HomeNet",
        "--passphrase",
        "correct-horse",
    ]);
    assert_eq!(dead.code, 3, "{dead:#?}");
    assert!(!portal.agent.output().contains("correct-horse"));
}

/// A DNS query for `name` of type `qtype`.
fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(u8::try_from(label.len()).unwrap());
        q.extend(label.as_bytes());
    }
    q.push(0);
    q.extend(qtype.to_be_bytes());
    q.extend([0, 1]);
    q
}

#[test]
fn dns_answers_every_name_with_the_portal() {
    let portal = Portal::start(&["--portal-address", "10.42.0.1"]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let ask = |query: &[u8]| -> Option<Vec<u8>> {
        socket.send_to(query, &portal.dns).unwrap();
        let mut buf = [0u8; 1024];
        socket.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
    };
    for (i, name) in [
        "connectivitycheck.gstatic.com",
        "captive.apple.com",
        "example.org",
    ]
    .iter()
    .enumerate()
    {
        let id = 0x4000 + u16::try_from(i).unwrap();
        let reply = ask(&dns_query(id, name, 1)).unwrap();
        assert_eq!(&reply[..2], &id.to_be_bytes());
        assert_eq!(reply[2] & 0x80, 0x80, "a response");
        assert_eq!(reply[3] & 0x0f, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), 1, "one answer");
        let ip = &reply[reply.len() - 4..];
        assert_eq!(
            Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
            Ipv4Addr::new(10, 42, 0, 1)
        );
    }
    // AAAA: no error, no answer.
    let reply = ask(&dns_query(7, "example.org", 28)).unwrap();
    assert_eq!(reply[3] & 0x0f, 0);
    assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), 0);
    // Garbage gets nothing, and the responder keeps answering.
    assert!(ask(b"\x00\x01garbage").is_none());
    assert!(ask(&dns_query(8, "example.org", 1)).is_some());
}

#[test]
fn a_user_ui_directory_and_usage_errors() {
    let ui = tempfile::tempdir().unwrap();
    std::fs::write(ui.path().join("index.html"), "<h1>My own portal</h1>").unwrap();
    std::fs::write(ui.path().join("app.js"), "// mine").unwrap();
    let portal = Portal::start(&["--portal-ui", ui.path().to_str().unwrap()]);
    let page = portal.get("/");
    assert_eq!(page.status, 200);
    assert_eq!(page.body, "<h1>My own portal</h1>");
    assert!(portal.get("/app.js").head.contains("text/javascript"));
    assert_eq!(portal.get("/../../etc/passwd").status, 404);
    assert_eq!(portal.get("/%2e%2e/etc/passwd").status, 404);
    assert_eq!(portal.get("/missing.css").status, 404);
    // The API stays.
    assert_eq!(portal.get("/api/status").json()["state"], "idle");

    // Settings without --portal, a bad DNS address, a directory without index.html.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    for (args, needle) in [
        (vec!["--portal-dns", "off"], "need --portal"),
        (vec!["--portal", "--portal-dns", "nowhere"], "--portal-dns"),
        (vec!["--portal", "--portal-ui", state], "no index.html"),
        (
            vec!["--portal", "--portal-local-name", "not a name"],
            "--portal-local-name",
        ),
    ] {
        let mut all = vec!["device", "--listen", "127.0.0.1:0", "--security", "0"];
        all.extend(["--state-dir", state]);
        all.extend(args);
        let run = wifiprov(&all);
        assert_eq!(run.code, 2, "{run:#?}");
        assert!(run.stderr.contains(needle), "{needle:?}: {run:#?}");
    }
}
