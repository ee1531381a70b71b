//! The connectivity checks operating systems make when they join a network, and what the
//! portal answers them.
//!
//! While the device is unprovisioned every check is answered with a redirect to the portal:
//! each OS then sees "not the expected answer" and shows its sign-in sheet on the portal's
//! page. Once provisioning has succeeded the checks get the answer their OS expects, so the
//! phone reports the network as online and stops nagging until the access point goes.

/// The operating system a connectivity check belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    /// Android and ChromeOS (`/generate_204`, `/gen_204`).
    Android,
    /// iOS and macOS (`/hotspot-detect.html`, `/library/test/success.html`).
    Apple,
    /// Windows' NCSI (`/connecttest.txt`, `/ncsi.txt`).
    Windows,
    /// Firefox (`/canonical.html`, `/success.txt`).
    Firefox,
}

/// One connectivity-check URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Android's `/generate_204` (expects an empty 204).
    Generate204,
    /// Apple's `/hotspot-detect.html` (expects the "Success" page).
    AppleSuccess,
    /// Windows 10+ `/connecttest.txt` (expects `Microsoft Connect Test`).
    ConnectTest,
    /// Older Windows `/ncsi.txt` (expects `Microsoft NCSI`).
    Ncsi,
    /// Firefox's `/canonical.html` (expects a meta-refresh to Mozilla's support page).
    FirefoxCanonical,
    /// Firefox's `/success.txt` (expects `success`).
    FirefoxSuccess,
}

/// What to answer an HTTP request with, whatever serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`, when there is a body.
    pub content_type: Option<&'static str>,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// The body.
    pub body: &'static str,
}

impl Reply {
    /// A `302 Found` to `location` (the redirect every OS understands as "captive").
    pub fn redirect(location: impl Into<String>) -> Self {
        Reply {
            status: 302,
            content_type: Some("text/html; charset=utf-8"),
            location: Some(location.into()),
            body: "<!doctype html><title>Sign in</title><a href=\"/\">Sign in to the network</a>",
        }
    }
}

/// The Apple "online" page.
const APPLE_SUCCESS: &str = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>";
/// Firefox's canonical page.
const FIREFOX_CANONICAL: &str = "<meta http-equiv=\"refresh\" content=\"0;url=https://support.mozilla.org/kb/captive-portal\"/>";

impl Probe {
    /// The check `path` (without query) is, if it is one. The host is not looked at: every
    /// name resolves to the portal, and the paths are distinctive enough.
    pub fn classify(path: &str) -> Option<Probe> {
        let path = path.split('?').next().unwrap_or(path);
        Some(match path.to_ascii_lowercase().as_str() {
            "/generate_204" | "/gen_204" => Probe::Generate204,
            "/hotspot-detect.html" | "/library/test/success.html" => Probe::AppleSuccess,
            "/connecttest.txt" => Probe::ConnectTest,
            "/ncsi.txt" => Probe::Ncsi,
            "/canonical.html" => Probe::FirefoxCanonical,
            "/success.txt" => Probe::FirefoxSuccess,
            _ => return None,
        })
    }

    /// The operating system that makes this check.
    pub fn os(self) -> Os {
        match self {
            Probe::Generate204 => Os::Android,
            Probe::AppleSuccess => Os::Apple,
            Probe::ConnectTest | Probe::Ncsi => Os::Windows,
            Probe::FirefoxCanonical | Probe::FirefoxSuccess => Os::Firefox,
        }
    }

    /// The answer: a redirect to `portal_url` while unprovisioned (the OS shows its sign-in
    /// sheet), the expected "online" answer once `provisioned`.
    pub fn reply(self, provisioned: bool, portal_url: &str) -> Reply {
        if !provisioned {
            return Reply::redirect(portal_url);
        }
        let (status, content_type, body) = match self {
            Probe::Generate204 => (204, None, ""),
            Probe::AppleSuccess => (200, Some("text/html"), APPLE_SUCCESS),
            Probe::ConnectTest => (200, Some("text/plain"), "Microsoft Connect Test"),
            Probe::Ncsi => (200, Some("text/plain"), "Microsoft NCSI"),
            Probe::FirefoxCanonical => (200, Some("text/html"), FIREFOX_CANONICAL),
            Probe::FirefoxSuccess => (200, Some("text/plain"), "success\n"),
        };
        Reply {
            status,
            content_type,
            location: None,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ALL: [(&str, Probe, Os); 8] = [
        ("/generate_204", Probe::Generate204, Os::Android),
        ("/gen_204", Probe::Generate204, Os::Android),
        ("/hotspot-detect.html", Probe::AppleSuccess, Os::Apple),
        ("/library/test/success.html", Probe::AppleSuccess, Os::Apple),
        ("/connecttest.txt", Probe::ConnectTest, Os::Windows),
        ("/ncsi.txt", Probe::Ncsi, Os::Windows),
        ("/canonical.html", Probe::FirefoxCanonical, Os::Firefox),
        ("/success.txt?ipv4", Probe::FirefoxSuccess, Os::Firefox),
    ];

    #[test]
    fn every_os_is_sent_to_the_portal_before_success() {
        for (path, probe, os) in ALL {
            let p = Probe::classify(path).unwrap();
            assert_eq!((p, p.os()), (probe, os), "{path}");
            let reply = p.reply(false, "http://192.168.4.1/");
            assert_eq!(reply.status, 302);
            assert_eq!(reply.location.as_deref(), Some("http://192.168.4.1/"));
        }
    }

    #[test]
    fn every_os_reads_online_after_success() {
        let expect = |p: Probe| p.reply(true, "http://x/");
        assert_eq!(expect(Probe::Generate204).status, 204);
        assert_eq!(expect(Probe::Generate204).body, "");
        assert!(
            expect(Probe::AppleSuccess)
                .body
                .contains("<BODY>Success</BODY>")
        );
        assert_eq!(expect(Probe::ConnectTest).body, "Microsoft Connect Test");
        assert_eq!(expect(Probe::Ncsi).body, "Microsoft NCSI");
        assert!(
            expect(Probe::FirefoxCanonical)
                .body
                .contains("support.mozilla.org")
        );
        assert_eq!(expect(Probe::FirefoxSuccess).body, "success\n");
        for (path, ..) in ALL {
            let reply = Probe::classify(path).unwrap().reply(true, "http://x/");
            assert!(reply.location.is_none());
        }
    }

    #[test]
    fn other_paths_are_not_probes() {
        for path in ["/", "/api/status", "/generate_2040", "/success.txt/x", ""] {
            assert_eq!(Probe::classify(path), None, "{path}");
        }
    }
}
