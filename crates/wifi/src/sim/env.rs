//! The simulated radio environment: which networks are on the air, loaded from TOML, built
//! from a `SSID:PASSPHRASE` spec, or taken from the builtin set.

use std::fmt::{self, Write as _};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{AuthMode, Bssid};

/// How long a connection attempt looks for an unknown network before giving up, unless the
/// environment says otherwise (`search_ms`).
pub const DEFAULT_SEARCH_MS: u64 = 300;

/// How long joining a network takes from start to `Connected`, unless the network says
/// otherwise (`latency_ms`).
pub const DEFAULT_LATENCY_MS: u64 = 500;

/// Signal strength of a network whose configuration gives none, in dBm.
pub const DEFAULT_RSSI: i8 = -40;

/// The longest `search_ms` or `latency_ms` a configuration file may ask for (ten minutes);
/// anything longer is almost certainly a typo.
pub const MAX_DELAY_MS: u64 = 600_000;

/// Everything the simulated radio can see.
#[derive(Clone, Debug, PartialEq)]
pub struct SimEnvironment {
    /// Seed of every random choice the simulator makes (signal jitter, flaky links).
    pub seed: u64,
    /// The access points on the air, in the order scans report them.
    pub networks: Vec<SimNetwork>,
    /// How long, in milliseconds, a connection attempt searches for a network that is not
    /// there before failing with `NetworkNotFound`.
    pub search_ms: u64,
}

/// One simulated access point.
#[derive(Clone, Debug, PartialEq)]
pub struct SimNetwork {
    /// The network name (1–32 bytes of UTF-8).
    pub ssid: String,
    /// The access point's MAC address.
    pub bssid: Bssid,
    /// Primary channel, 1–14.
    pub channel: u8,
    /// Signal strength in dBm, -100–0.
    pub rssi: i8,
    /// Security.
    pub auth: AuthMode,
    /// The passphrase (WPA family: 8–63 bytes; WEP: a 5 or 13 character key, or 10 or 26
    /// hex digits); `None` for open and enterprise networks.
    pub password: Option<String>,
    /// Whether the SSID is left out of beacons (scans show an empty SSID; joining by name
    /// still works).
    pub hidden: bool,
    /// How long a successful join takes, in milliseconds.
    pub connect_latency_ms: u64,
    /// Probability (0.0–1.0) that an attempt to join loses the link halfway.
    pub flakiness: f64,
    /// The address handed out on joining; `None` means `192.168.<channel>.<100 + position>`.
    pub ip: Option<Ipv4Addr>,
}

/// Why an environment or a network spec was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The configuration file could not be read.
    #[error("cannot read simulator environment {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML, or its top level has an unknown key or a value of the wrong type.
    #[error("{}invalid simulator environment: {message}", FileLabel(.file))]
    Syntax {
        /// The file, when loaded with [`SimEnvironment::from_file`].
        file: Option<PathBuf>,
        /// The parser's explanation with line and column, without quoting the text (a line
        /// may hold a passphrase).
        message: String,
    },
    /// A top-level setting is out of range.
    #[error("{}`{key}`: {problem}", FileLabel(.file))]
    Setting {
        /// The file, when loaded with [`SimEnvironment::from_file`].
        file: Option<PathBuf>,
        /// The setting (`search_ms`).
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// One `[[network]]` entry is wrong.
    #[error(
        "{}network #{number}{}{}: {problem}",
        FileLabel(.file),
        SsidLabel(.ssid),
        LineLabel(.line)
    )]
    Network {
        /// The file, when loaded with [`SimEnvironment::from_file`].
        file: Option<PathBuf>,
        /// 1-based position of the entry among the `[[network]]` tables.
        number: usize,
        /// The entry's SSID, when it has a readable one.
        ssid: Option<String>,
        /// 1-based line of the entry in the TOML text, when known.
        line: Option<usize>,
        /// What is wrong with it.
        problem: String,
    },
    /// A `SSID:PASSPHRASE` spec (as given to `--sim-ap`) is malformed. The message never
    /// repeats the passphrase.
    #[error("bad network spec{}: {problem}", SsidLabel(.ssid))]
    Spec {
        /// The SSID part, when there is one.
        ssid: Option<String>,
        /// What is wrong with it.
        problem: String,
    },
}

/// Formats `Some(path)` as `"path: "`.
struct FileLabel<'a>(&'a Option<PathBuf>);

impl fmt::Display for FileLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{}: ", path.display()),
            None => Ok(()),
        }
    }
}

/// Formats `Some(ssid)` as `" (\"ssid\")"`.
struct SsidLabel<'a>(&'a Option<String>);

impl fmt::Display for SsidLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ssid) => write!(f, " ({ssid:?})"),
            None => Ok(()),
        }
    }
}

/// Formats `Some(line)` as `" at line N"`.
struct LineLabel<'a>(&'a Option<usize>);

impl fmt::Display for LineLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, " at line {line}"),
            None => Ok(()),
        }
    }
}

/// The TOML document, before checking.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    seed: Option<u64>,
    search_ms: Option<i64>,
    #[serde(default)]
    network: Vec<toml::Spanned<toml::Table>>,
}

/// One `[[network]]` table, before checking. Numbers are wide so that out-of-range values
/// get our message rather than serde's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    ssid: String,
    bssid: Option<String>,
    channel: Option<i64>,
    rssi: Option<i64>,
    auth: Option<String>,
    password: Option<String>,
    #[serde(default)]
    hidden: bool,
    latency_ms: Option<i64>,
    flakiness: Option<f64>,
    ip: Option<String>,
}

/// The `auth` keywords of the TOML format and what they mean.
const AUTH_KEYWORDS: [(&str, AuthMode); 8] = [
    ("open", AuthMode::Open),
    ("wep", AuthMode::Wep),
    ("wpa", AuthMode::WpaPsk),
    ("wpa2", AuthMode::Wpa2Psk),
    ("wpa-wpa2", AuthMode::WpaWpa2Psk),
    ("wpa2-enterprise", AuthMode::Wpa2Enterprise),
    ("wpa3", AuthMode::Wpa3Psk),
    ("wpa2-wpa3", AuthMode::Wpa2Wpa3Psk),
];

impl RawNetwork {
    /// Turns the raw entry into a network, or says what is wrong with it.
    fn into_network(self) -> Result<SimNetwork, String> {
        let auth = match &self.auth {
            None if self.password.is_some() => AuthMode::Wpa2Psk,
            None => AuthMode::Open,
            Some(word) => AUTH_KEYWORDS
                .iter()
                .find(|(keyword, _)| keyword.eq_ignore_ascii_case(word))
                .map(|&(_, mode)| mode)
                .ok_or_else(|| {
                    let known: Vec<&str> = AUTH_KEYWORDS.iter().map(|(k, _)| *k).collect();
                    format!(
                        "unknown auth {word:?}; expected one of {}",
                        known.join(", ")
                    )
                })?,
        };
        let bssid = match &self.bssid {
            Some(text) => text.parse::<Bssid>().map_err(|_| {
                format!("bssid {text:?} is not a MAC address like \"aa:bb:cc:dd:ee:ff\"")
            })?,
            None => SimNetwork::derived_bssid(self.ssid.as_bytes()),
        };
        let channel = match self.channel {
            Some(ch) => u8::try_from(ch)
                .ok()
                .filter(|c| (1..=14).contains(c))
                .ok_or_else(|| format!("channel must be 1..=14 (got {ch})"))?,
            None => SimNetwork::derived_channel(self.ssid.as_bytes()),
        };
        let rssi = match self.rssi {
            Some(r) => i8::try_from(r)
                .ok()
                .filter(|r| (-100..=0).contains(r))
                .ok_or_else(|| format!("rssi must be -100..=0 dBm (got {r})"))?,
            None => DEFAULT_RSSI,
        };
        let connect_latency_ms = match self.latency_ms {
            Some(ms) => u64::try_from(ms)
                .ok()
                .filter(|ms| *ms <= MAX_DELAY_MS)
                .ok_or_else(|| format!("latency_ms must be 0..={MAX_DELAY_MS} (got {ms})"))?,
            None => DEFAULT_LATENCY_MS,
        };
        let ip = match &self.ip {
            Some(text) => Some(
                text.parse::<Ipv4Addr>()
                    .map_err(|_| format!("ip {text:?} is not an IPv4 address"))?,
            ),
            None => None,
        };
        let network = SimNetwork {
            ssid: self.ssid,
            bssid,
            channel,
            rssi,
            auth,
            password: self.password,
            hidden: self.hidden,
            connect_latency_ms,
            flakiness: self.flakiness.unwrap_or(0.0),
            ip,
        };
        match network.problem() {
            Some(problem) => Err(problem),
            None => Ok(network),
        }
    }
}

/// 64-bit FNV-1a: a small hash that is stable across Rust versions and platforms, so that
/// derived BSSIDs and channels never change.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> Option<usize> {
    text.get(..offset)
        .map(|before| before.matches('\n').count().saturating_add(1))
}

impl SimNetwork {
    /// A BSSID derived from the SSID alone: `02:` (a locally administered address) followed
    /// by five bytes of a stable hash. The same SSID always gives the same BSSID.
    pub fn derived_bssid(ssid: &[u8]) -> Bssid {
        let [_, _, _, a, b, c, d, e] = fnv1a(ssid).to_be_bytes();
        Bssid([0x02, a, b, c, d, e])
    }

    /// A channel (1–13) derived from the SSID alone. The same SSID always gives the same
    /// channel.
    pub fn derived_channel(ssid: &[u8]) -> u8 {
        let offset = u8::try_from(fnv1a(ssid).rotate_right(17) % 13).unwrap_or(0);
        offset.saturating_add(1)
    }

    /// A network from a `SSID:PASSPHRASE` spec, as given to `wifiprov device --sim-ap`.
    ///
    /// The spec is split at its *first* `:`, so the passphrase may itself contain colons
    /// (and the SSID may not). An empty passphrase (`"Guest:"`) makes an open network;
    /// anything else a WPA2 network, which needs 8–63 bytes. The channel and BSSID are
    /// derived from the SSID ([`derived_channel`](Self::derived_channel),
    /// [`derived_bssid`](Self::derived_bssid)); the signal is a strong -40 dBm and joining
    /// takes the default 500 ms.
    pub fn from_spec(spec: &str) -> Result<SimNetwork, SimError> {
        let Some((ssid, passphrase)) = spec.split_once(':') else {
            return Err(SimError::Spec {
                ssid: None,
                problem: "expected SSID:PASSPHRASE (use \"SSID:\" for an open network)".into(),
            });
        };
        let (auth, password) = if passphrase.is_empty() {
            (AuthMode::Open, None)
        } else {
            (AuthMode::Wpa2Psk, Some(passphrase.to_owned()))
        };
        let network = SimNetwork {
            ssid: ssid.to_owned(),
            bssid: SimNetwork::derived_bssid(ssid.as_bytes()),
            channel: SimNetwork::derived_channel(ssid.as_bytes()),
            rssi: DEFAULT_RSSI,
            auth,
            password,
            hidden: false,
            connect_latency_ms: DEFAULT_LATENCY_MS,
            flakiness: 0.0,
            ip: None,
        };
        match network.problem() {
            Some(problem) => Err(SimError::Spec {
                ssid: (!ssid.is_empty()).then(|| ssid.to_owned()),
                problem,
            }),
            None => Ok(network),
        }
    }

    /// What is wrong with this network on its own, if anything. Messages never contain the
    /// password.
    fn problem(&self) -> Option<String> {
        let ssid_len = self.ssid.len();
        if !(1..=32).contains(&ssid_len) {
            return Some(format!("ssid must be 1..=32 bytes (got {ssid_len})"));
        }
        if !(1..=14).contains(&self.channel) {
            return Some(format!("channel must be 1..=14 (got {})", self.channel));
        }
        if !(-100..=0).contains(&self.rssi) {
            return Some(format!("rssi must be -100..=0 dBm (got {})", self.rssi));
        }
        if !(0.0..=1.0).contains(&self.flakiness) {
            return Some(format!(
                "flakiness must be 0.0..=1.0 (got {})",
                self.flakiness
            ));
        }
        if self.connect_latency_ms > MAX_DELAY_MS {
            return Some(format!(
                "latency_ms must be 0..={MAX_DELAY_MS} (got {})",
                self.connect_latency_ms
            ));
        }
        let password_len = self.password.as_ref().map(String::len);
        match (self.auth, password_len) {
            (AuthMode::Wpa2Enterprise, Some(_)) => Some(
                "enterprise networks authenticate with EAP, not a passphrase; remove `password`"
                    .into(),
            ),
            (AuthMode::Wpa2Enterprise, None) => None,
            (mode, Some(_)) if !mode.needs_passphrase() => Some(format!(
                "{} networks take no password; remove `password` or set `auth`",
                mode.label()
            )),
            (mode, None) if mode.needs_passphrase() => {
                Some(format!("{} networks need a `password`", mode.label()))
            }
            (AuthMode::Wep, Some(len)) if ![5, 10, 13, 26].contains(&len) => Some(format!(
                "WEP keys are 5 or 13 characters, or 10 or 26 hex digits (got {len} bytes)"
            )),
            (AuthMode::Wep, _) => None,
            (mode, Some(len)) if !(8..=63).contains(&len) => Some(format!(
                "{} passwords must be 8..=63 bytes (got {len})",
                mode.label()
            )),
            _ => None,
        }
    }

    /// Notes for the table: what makes this network special.
    fn notes(&self, env: &SimEnvironment) -> String {
        let mut notes = Vec::new();
        let siblings = env.networks.iter().filter(|n| n.ssid == self.ssid).count();
        if siblings > 1 {
            notes.push(format!(
                "mesh: {siblings} access points, this one {}",
                self.bssid
            ));
        }
        if self.hidden {
            notes.push("hidden: scans show an empty SSID, join by name".to_owned());
        }
        if !self.ssid.is_ascii() {
            notes.push("non-ASCII SSID (UTF-8)".to_owned());
        }
        match self.auth {
            AuthMode::Wpa2Enterprise => notes.push("cannot be joined: enterprise".to_owned()),
            AuthMode::Wpa3Psk => notes.push("WPA3 only (SAE)".to_owned()),
            AuthMode::Wpa2Wpa3Psk => notes.push("WPA2/WPA3 transition mode".to_owned()),
            AuthMode::WpaWpa2Psk => notes.push("WPA/WPA2 mixed mode".to_owned()),
            AuthMode::Wep => notes.push("legacy WEP key".to_owned()),
            mode if !mode.needs_passphrase() => notes.push("any passphrase is accepted".to_owned()),
            _ => {}
        }
        if self.rssi <= -80 {
            notes.push("weak signal".to_owned());
        }
        if self.flakiness > 0.0 {
            notes.push(format!(
                "flaky: {:.0}% of attempts lose the link",
                self.flakiness * 100.0
            ));
        }
        if self.connect_latency_ms != DEFAULT_LATENCY_MS {
            notes.push(format!("joining takes {} ms", self.connect_latency_ms));
        }
        if let Some(ip) = self.ip {
            notes.push(format!("address {ip}"));
        }
        notes.join("; ")
    }
}

impl Default for SimEnvironment {
    /// The builtin environment ([`SimEnvironment::builtin`]).
    fn default() -> Self {
        SimEnvironment::builtin()
    }
}

/// The largest environment file read, in bytes.
pub const MAX_FILE_LEN: u64 = 1024 * 1024;

impl SimEnvironment {
    /// Reads an environment from TOML text. See the [module documentation](super) for the
    /// format. Unknown keys are errors, so that typos do not go unnoticed.
    pub fn from_toml_str(text: &str) -> Result<SimEnvironment, SimError> {
        SimEnvironment::parse(text, None)
    }

    /// Reads an environment from a TOML file of at most [`MAX_FILE_LEN`] bytes; errors name
    /// the file.
    pub fn from_file(path: &Path) -> Result<SimEnvironment, SimError> {
        let read_err = |source| SimError::Read {
            path: path.to_owned(),
            source,
        };
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(
                std::fs::File::open(path).map_err(read_err)?,
                MAX_FILE_LEN + 1,
            ),
            &mut text,
        )
        .map_err(read_err)?;
        if text.len() as u64 > MAX_FILE_LEN {
            return Err(read_err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} is larger than {MAX_FILE_LEN} bytes; refusing to read it",
                    path.display()
                ),
            )));
        }
        SimEnvironment::parse(&text, Some(path))
    }

    fn parse(text: &str, file: Option<&Path>) -> Result<SimEnvironment, SimError> {
        let file = file.map(Path::to_path_buf);
        let raw: RawEnvironment = toml::from_str(text).map_err(|e| SimError::Syntax {
            file: file.clone(),
            message: without_snippet(&e, text),
        })?;
        let search_ms = match raw.search_ms {
            Some(ms) => u64::try_from(ms)
                .ok()
                .filter(|ms| *ms <= MAX_DELAY_MS)
                .ok_or_else(|| SimError::Setting {
                    file: file.clone(),
                    key: "search_ms",
                    problem: format!("must be 0..={MAX_DELAY_MS} (got {ms})"),
                })?,
            None => DEFAULT_SEARCH_MS,
        };
        let mut networks = Vec::with_capacity(raw.network.len());
        let mut lines = Vec::with_capacity(raw.network.len());
        for (position, entry) in raw.network.into_iter().enumerate() {
            let line = line_of(text, entry.span().start);
            let table = entry.into_inner();
            let ssid = table
                .get("ssid")
                .and_then(toml::Value::as_str)
                .map(str::to_owned);
            let error = |problem: String| SimError::Network {
                file: file.clone(),
                number: position.saturating_add(1),
                ssid: ssid.clone(),
                line,
                problem,
            };
            let raw_network: RawNetwork = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| error(e.message().trim_end().to_owned()))?;
            networks.push(raw_network.into_network().map_err(error)?);
            lines.push(line);
        }
        let env = SimEnvironment {
            seed: raw.seed.unwrap_or(0),
            networks,
            search_ms,
        };
        env.check(file.as_deref(), &lines)?;
        Ok(env)
    }

    /// Checks every network and that no two share a BSSID.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.search_ms > MAX_DELAY_MS {
            return Err(SimError::Setting {
                file: None,
                key: "search_ms",
                problem: format!("must be 0..={MAX_DELAY_MS} (got {})", self.search_ms),
            });
        }
        self.check(None, &[])
    }

    fn check(&self, file: Option<&Path>, lines: &[Option<usize>]) -> Result<(), SimError> {
        for (position, network) in self.networks.iter().enumerate() {
            let error = |problem: String| SimError::Network {
                file: file.map(Path::to_path_buf),
                number: position.saturating_add(1),
                ssid: Some(network.ssid.clone()),
                line: lines.get(position).copied().flatten(),
                problem,
            };
            if let Some(problem) = network.problem() {
                return Err(error(problem));
            }
            let earlier = self.networks.iter().take(position);
            if let Some((other, first)) =
                earlier.enumerate().find(|(_, n)| n.bssid == network.bssid)
            {
                return Err(error(format!(
                    "bssid {} is already used by network #{} ({:?}); give each access point \
                     of a mesh its own `bssid`",
                    network.bssid,
                    other.saturating_add(1),
                    first.ssid
                )));
            }
        }
        Ok(())
    }

    /// Adds `network`, replacing every network that has the same SSID (all access points of
    /// a mesh). The new network takes the place of the first one it replaces, or goes last.
    pub fn add_or_replace(&mut self, network: SimNetwork) {
        let position = self.networks.iter().position(|n| n.ssid == network.ssid);
        self.networks.retain(|n| n.ssid != network.ssid);
        match position {
            Some(at) if at <= self.networks.len() => self.networks.insert(at, network),
            _ => self.networks.push(network),
        }
    }

    /// The environment the simulator uses when it is given none: 14 access points covering
    /// the cases a provisioning client meets (open, hidden, WPA3, transition mode, mesh,
    /// weak, flaky, enterprise, non-ASCII SSID, WEP, slow). See
    /// [`builtin_table`](Self::builtin_table) for the list.
    pub fn builtin() -> SimEnvironment {
        let net = |ssid: &str, auth: AuthMode, password: Option<&str>, channel: u8, rssi: i8| {
            SimNetwork {
                ssid: ssid.to_owned(),
                bssid: SimNetwork::derived_bssid(ssid.as_bytes()),
                channel,
                rssi,
                auth,
                password: password.map(str::to_owned),
                hidden: false,
                connect_latency_ms: DEFAULT_LATENCY_MS,
                flakiness: 0.0,
                ip: None,
            }
        };
        use AuthMode::*;
        let networks = vec![
            SimNetwork {
                ip: Some(Ipv4Addr::new(192, 168, 1, 42)),
                ..net("HomeNet", Wpa2Psk, Some("correct-horse"), 6, -42)
            },
            net("CoffeeShop", Open, None, 1, -60),
            SimNetwork {
                bssid: Bssid([0x02, 0x4d, 0x45, 0x53, 0x48, 0x01]),
                ..net("MeshNet", Wpa2Psk, Some("battery-staple"), 1, -48)
            },
            SimNetwork {
                bssid: Bssid([0x02, 0x4d, 0x45, 0x53, 0x48, 0x02]),
                ..net("MeshNet", Wpa2Psk, Some("battery-staple"), 11, -67)
            },
            SimNetwork {
                hidden: true,
                ..net("SecretLab", Wpa2Psk, Some("not-in-scans"), 11, -55)
            },
            net("Fortress", Wpa3Psk, Some("sae-is-better"), 13, -50),
            net("Bridge", Wpa2Wpa3Psk, Some("two-for-one"), 9, -58),
            net("FarAway", Wpa2Psk, Some("long-distance"), 3, -85),
            SimNetwork {
                flakiness: 0.3,
                ..net("Flaky", Wpa2Psk, Some("try-again"), 4, -70)
            },
            net("CorpNet", Wpa2Enterprise, None, 5, -52),
            net("Café Zürich ☕", Wpa2Psk, Some("croissant"), 8, -63),
            net("Legacy", WpaWpa2Psk, Some("mixed-mode"), 7, -66),
            net("OldRouter", Wep, Some("abcde"), 10, -72),
            SimNetwork {
                connect_latency_ms: 3000,
                ..net("SlowLane", Wpa2Psk, Some("patience-please"), 12, -61)
            },
            net("Neighbour", Wpa3Psk, Some("not-yours-sorry"), 2, -78),
        ];
        SimEnvironment {
            seed: 1,
            networks,
            search_ms: DEFAULT_SEARCH_MS,
        }
    }

    /// [`builtin`](Self::builtin) as a Markdown table (see
    /// [`markdown_table`](Self::markdown_table)).
    pub fn builtin_table() -> String {
        SimEnvironment::builtin().markdown_table()
    }

    /// The environment as a Markdown table with the columns
    /// `ssid | security | channel | rssi | password | notes`, one row per access point.
    pub fn markdown_table(&self) -> String {
        let mut out = String::from(
            "| ssid | security | channel | rssi | password | notes |\n\
             |------|----------|--------:|-----:|----------|-------|\n",
        );
        for network in &self.networks {
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&network.ssid),
                network.auth.label(),
                network.channel,
                network.rssi,
                network
                    .password
                    .as_deref()
                    .map_or_else(|| "(none)".to_owned(), cell),
                cell(&network.notes(self)),
            );
        }
        out
    }
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A TOML error as its message and place, without the snippet of the text it normally quotes.
fn without_snippet(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let before = text.as_bytes().get(..span.start).unwrap_or(text.as_bytes());
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            format!("{message} (line {line}, column {column})")
        }
        None => message.to_owned(),
    }
}
