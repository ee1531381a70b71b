//! The provisioning flow against one device.

use std::net::Ipv4Addr;
use std::time::Duration;

use protocomm::proto::Message;
use protocomm::proto::wifi_config::{
    CmdApplyConfig, CmdGetStatus, CmdSetConfig, WiFiConfigPayload, resp_get_status,
    wi_fi_config_payload,
};
use protocomm::proto::wifi_ctrl::{
    CmdCtrlReprov, CmdCtrlReset, WiFiCtrlPayload, wi_fi_ctrl_payload,
};
use protocomm::proto::wifi_scan::{
    CmdScanResult, CmdScanStart, CmdScanStatus, WiFiScanPayload, wi_fi_scan_payload,
};
use protocomm::{
    ClientHandshake, ClientSecurity, ClientSession, HandshakeStep, PeerVersion, Secret,
};
use tokio::time::Instant;
use wifiprov_wifi::{AccessPoint, AuthMode, Bssid};

use crate::error::Error;
use crate::transport::{ClientTransport, TransportError};

pub use wifiprov_types::FailReason;

/// Where the device joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connected {
    /// Its address.
    pub ip: String,
    /// The network.
    pub ssid: Vec<u8>,
    /// The access point.
    pub bssid: Bssid,
    /// The channel.
    pub channel: i32,
    /// Its security.
    pub auth: AuthMode,
}

/// The station state from GetStatus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WifiStatus {
    /// Still connecting (with the attempts left, if the device counts them).
    Connecting {
        /// Attempts remaining.
        attempts_remaining: Option<u32>,
    },
    /// Joined.
    Connected(Connected),
    /// Gave up.
    Failed(FailReason),
    /// Not connected.
    Disconnected,
}

/// What the client knows to authenticate with.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// Proof of possession (security 1).
    pub pop: Option<Secret>,
    /// SRP username (security 2).
    pub username: Option<String>,
    /// SRP password (security 2).
    pub password: Option<Secret>,
}

impl Credentials {
    /// Just a proof of possession.
    pub fn pop(pop: &str) -> Self {
        Credentials {
            pop: Some(Secret::from(pop)),
            ..Default::default()
        }
    }

    /// SRP username and password.
    pub fn srp(username: &str, password: &str) -> Self {
        Credentials {
            username: Some(username.to_string()),
            password: Some(Secret::from(password)),
            pop: None,
        }
    }
}

/// Knobs of the [`Provisioner`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// How long to wait for the connection outcome after ApplyConfig (default 60 s).
    pub outcome_timeout: Duration,
    /// Interval of the first status polls (default 50 ms).
    pub first_poll: Duration,
    /// Polls stay at `first_poll` for this long, then back off (default 3 s).
    pub fast_polling: Duration,
    /// The longest interval between polls (default 1 s).
    pub max_poll: Duration,
    /// Scan results per request (100 over HTTP; 4 over BLE).
    pub scan_page: u32,
    /// `group_channels` of the scan (5 over HTTP so the SoftAP keeps beaconing; 0 over BLE).
    pub scan_group_channels: u32,
    /// `period_ms` of the scan: dwell time per channel in milliseconds (default 120, as
    /// esp_prov; 0 lets the device choose).
    pub scan_period_ms: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            outcome_timeout: Duration::from_secs(60),
            first_poll: Duration::from_millis(50),
            fast_polling: Duration::from_secs(3),
            max_poll: Duration::from_secs(1),
            scan_page: 100,
            scan_group_channels: 5,
            scan_period_ms: 120,
        }
    }
}

/// Provisions one device over a transport.
pub struct Provisioner<T> {
    transport: T,
    config: ClientConfig,
    version: Option<PeerVersion>,
    session: Option<ClientSession>,
}

impl<T: ClientTransport> Provisioner<T> {
    /// A provisioner with default settings.
    pub fn new(transport: T) -> Self {
        Self::with_config(transport, ClientConfig::default())
    }

    /// A provisioner with `config`.
    pub fn with_config(transport: T, config: ClientConfig) -> Self {
        Provisioner {
            transport,
            config,
            version: None,
            session: None,
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Reads (once) and returns the device's version document.
    pub async fn version(&mut self) -> Result<&PeerVersion, Error> {
        if self.version.is_none() {
            let reply = self.transport.request("proto-ver", b"---").await?;
            self.version = Some(PeerVersion::parse(&reply));
        }
        self.version
            .as_ref()
            .ok_or_else(|| Error::Protocol("no version".into()))
    }

    /// Picks the security scheme: `explicit` if given, otherwise what `proto-ver` says
    /// (security 2 included, unlike esp_prov); the patch level always comes from `proto-ver`.
    pub async fn negotiate(
        &mut self,
        explicit: Option<u8>,
        credentials: &Credentials,
    ) -> Result<ClientSecurity, Error> {
        let version = self.version().await?.clone();
        let scheme = explicit.unwrap_or_else(|| version.security());
        Ok(match scheme {
            0 => ClientSecurity::Sec0,
            1 => {
                let pop = if version.needs_pop() {
                    credentials.pop.clone()
                } else {
                    None
                };
                if version.needs_pop() && pop.is_none() {
                    return Err(Error::Usage(
                        "the device needs a proof of possession (--pop)".into(),
                    ));
                }
                ClientSecurity::Sec1 { pop }
            }
            2 => {
                let (Some(username), Some(password)) =
                    (&credentials.username, &credentials.password)
                else {
                    return Err(Error::Usage(
                        "security 2 needs a username and a password (--sec2_username, --sec2_pwd)"
                            .into(),
                    ));
                };
                ClientSecurity::Sec2 {
                    username: username.as_bytes().to_vec(),
                    password: password.clone(),
                    patch: version.sec_patch_ver,
                }
            }
            n => return Err(Error::Usage(format!("security scheme {n} is not known"))),
        })
    }

    /// Runs the handshake. A rejection means the credentials (or the scheme) are wrong.
    pub async fn establish(&mut self, security: ClientSecurity) -> Result<(), Error> {
        let scheme = security.version();
        let (mut handshake, mut request) = ClientHandshake::start(
            security,
            &mut protocomm::rand_core::UnwrapErr(getrandom::SysRng),
        )?;
        loop {
            let response = match self.transport.request("prov-session", &request).await {
                Ok(r) => r,
                Err(TransportError::Rejected) => {
                    return Err(Error::Auth(match scheme {
                        0 => "the device refused a security 0 session (does it use another scheme?)".into(),
                        1 => "the device rejected the proof of possession (wrong --pop, or another scheme)".into(),
                        _ => "the device rejected the SRP proof (wrong username or password, or another scheme)".into(),
                    }));
                }
                Err(TransportError::Throttled { retry_after }) => {
                    return Err(Error::Throttled { retry_after });
                }
                Err(e) => return Err(e.into()),
            };
            match handshake.handle_response(&response)? {
                HandshakeStep::Send(next, req) => (handshake, request) = (next, req),
                HandshakeStep::Done(session) => {
                    self.session = Some(session);
                    return Ok(());
                }
            }
        }
    }

    /// One encrypted request/response on `endpoint`.
    pub async fn call(&mut self, endpoint: &str, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| Error::Usage("no session: call establish() first".into()))?;
        let request = session.encrypt(plaintext)?;
        let response = match self.transport.request(endpoint, &request).await {
            Ok(r) => r,
            Err(e) => {
                // The session is out of step now; the next exchange needs a new handshake.
                self.session = None;
                self.transport.reset_session();
                return Err(e.into());
            }
        };
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| Error::Protocol("session lost".into()))?;
        Ok(session.decrypt(&response)?)
    }

    /// Scans and returns every result, strongest first, reading pages within `result_count`.
    pub async fn scan(&mut self) -> Result<Vec<AccessPoint>, Error> {
        if !self
            .version()
            .await?
            .has_capability(protocomm::proto_ver::CAP_WIFI_SCAN)
        {
            return Err(Error::Unsupported("Wi-Fi scanning"));
        }
        use wi_fi_scan_payload::Payload;
        let start = CmdScanStart {
            blocking: true,
            passive: false,
            group_channels: self.config.scan_group_channels,
            period_ms: self.config.scan_period_ms,
        };
        let reply = self.scan_call(0, Payload::CmdScanStart(start)).await?;
        check_status("scan start", reply.status)?;
        let reply = self
            .scan_call(2, Payload::CmdScanStatus(CmdScanStatus {}))
            .await?;
        check_status("scan status", reply.status)?;
        let count = match reply.payload {
            Some(Payload::RespScanStatus(s)) => s.result_count,
            _ => return Err(Error::Protocol("scan status without its payload".into())),
        };
        let mut found = Vec::new();
        let mut index = 0;
        while index < count {
            let page = self.config.scan_page.max(1).min(count - index);
            let reply = self
                .scan_call(
                    4,
                    Payload::CmdScanResult(CmdScanResult {
                        start_index: index,
                        count: page,
                    }),
                )
                .await?;
            check_status("scan results", reply.status)?;
            let Some(Payload::RespScanResult(result)) = reply.payload else {
                return Err(Error::Protocol("scan results without their payload".into()));
            };
            if result.entries.is_empty() {
                break;
            }
            index += u32::try_from(result.entries.len()).unwrap_or(page);
            found.extend(result.entries.into_iter().map(|e| {
                AccessPoint {
                    ssid: e
                        .ssid
                        .split(|b| *b == 0)
                        .next()
                        .unwrap_or_default()
                        .to_vec(),
                    bssid: Bssid(<[u8; 6]>::try_from(e.bssid.as_slice()).unwrap_or_default()),
                    channel: u8::try_from(e.channel).unwrap_or(0),
                    rssi: i8::try_from(e.rssi).unwrap_or(i8::MIN),
                    auth: AuthMode::from_esp_number(u8::try_from(e.auth).unwrap_or(u8::MAX)),
                }
            }));
        }
        found.sort_by_key(|ap| std::cmp::Reverse(ap.rssi));
        Ok(found)
    }

    async fn scan_call(
        &mut self,
        msg: i32,
        payload: wi_fi_scan_payload::Payload,
    ) -> Result<WiFiScanPayload, Error> {
        let request = WiFiScanPayload {
            msg,
            status: 0,
            payload: Some(payload),
        }
        .encode_to_vec();
        let reply = self.call(protocomm::device::EP_SCAN, &request).await?;
        WiFiScanPayload::decode(reply.as_slice()).map_err(Error::decode("scan"))
    }

    async fn config_call(
        &mut self,
        msg: i32,
        payload: wi_fi_config_payload::Payload,
    ) -> Result<wi_fi_config_payload::Payload, Error> {
        let request = WiFiConfigPayload {
            msg,
            payload: Some(payload),
        }
        .encode_to_vec();
        let reply = self.call(protocomm::device::EP_CONFIG, &request).await?;
        WiFiConfigPayload::decode(reply.as_slice())
            .map_err(Error::decode("config"))?
            .payload
            .ok_or_else(|| Error::Protocol("config reply without payload".into()))
    }

    /// Sends the credentials (SetConfig).
    pub async fn set_config(&mut self, ssid: &[u8], passphrase: &[u8]) -> Result<(), Error> {
        use wi_fi_config_payload::Payload;
        let cmd = CmdSetConfig {
            ssid: ssid.to_vec(),
            passphrase: passphrase.to_vec(),
            ..Default::default()
        };
        match self.config_call(2, Payload::CmdSetConfig(cmd)).await? {
            Payload::RespSetConfig(r) => check_status("the credentials", r.status),
            _ => Err(Error::Protocol(
                "SetConfig answered with another message".into(),
            )),
        }
    }

    /// Asks the device to apply them (ApplyConfig).
    pub async fn apply_config(&mut self) -> Result<(), Error> {
        use wi_fi_config_payload::Payload;
        match self
            .config_call(4, Payload::CmdApplyConfig(CmdApplyConfig {}))
            .await?
        {
            Payload::RespApplyConfig(r) => check_status("to apply the credentials", r.status),
            _ => Err(Error::Protocol(
                "ApplyConfig answered with another message".into(),
            )),
        }
    }

    /// Asks for the station state (GetStatus).
    pub async fn status(&mut self) -> Result<WifiStatus, Error> {
        use wi_fi_config_payload::Payload;
        let Payload::RespGetStatus(r) = self
            .config_call(0, Payload::CmdGetStatus(CmdGetStatus {}))
            .await?
        else {
            return Err(Error::Protocol(
                "GetStatus answered with another message".into(),
            ));
        };
        check_status("the status request", r.status)?;
        Ok(match (r.sta_state, r.state) {
            (0, Some(resp_get_status::State::Connected(c))) => WifiStatus::Connected(Connected {
                ip: c
                    .ip4_addr
                    .parse::<Ipv4Addr>()
                    .map(|ip| ip.to_string())
                    .unwrap_or(c.ip4_addr),
                ssid: c.ssid,
                bssid: Bssid(<[u8; 6]>::try_from(c.bssid.as_slice()).unwrap_or_default()),
                channel: c.channel,
                auth: AuthMode::from_esp_number(u8::try_from(c.auth_mode).unwrap_or(u8::MAX)),
            }),
            // An empty answer also decodes as "Connected"; only a detailed one counts.
            (0, _) => WifiStatus::Connecting {
                attempts_remaining: None,
            },
            (1, Some(resp_get_status::State::AttemptFailed(a))) => WifiStatus::Connecting {
                attempts_remaining: Some(a.attempts_remaining),
            },
            (1, _) => WifiStatus::Connecting {
                attempts_remaining: None,
            },
            (2, _) => WifiStatus::Disconnected,
            (3, Some(resp_get_status::State::FailReason(r))) => {
                WifiStatus::Failed(FailReason::from_wire(r))
            }
            (3, _) => WifiStatus::Failed(FailReason::AuthError),
            (n, _) => return Err(Error::Protocol(format!("unknown station state {n}"))),
        })
    }

    /// Polls GetStatus until the device is connected or has given up: every `first_poll`
    /// for the first `fast_polling`, then backing off to `max_poll`. `on_status` sees every
    /// answer (for progress output).
    pub async fn wait_for_outcome(
        &mut self,
        ssid: &[u8],
        mut on_status: impl FnMut(&WifiStatus),
    ) -> Result<Connected, Error> {
        let started = Instant::now();
        let mut interval = self.config.first_poll;
        loop {
            tokio::time::sleep(interval).await;
            let status = self.status().await?;
            on_status(&status);
            match status {
                WifiStatus::Connected(c) => return Ok(c),
                WifiStatus::Failed(reason) => {
                    return Err(Error::WifiFailed {
                        ssid: String::from_utf8_lossy(ssid).into_owned(),
                        reason,
                    });
                }
                WifiStatus::Connecting { .. } | WifiStatus::Disconnected => {}
            }
            if started.elapsed() >= self.config.outcome_timeout {
                return Err(Error::Timeout(self.config.outcome_timeout));
            }
            if started.elapsed() >= self.config.fast_polling {
                interval = (interval * 3 / 2).min(self.config.max_poll);
            }
        }
    }

    /// SetConfig, ApplyConfig, then the outcome.
    pub async fn provision(&mut self, ssid: &[u8], passphrase: &[u8]) -> Result<Connected, Error> {
        self.set_config(ssid, passphrase).await?;
        self.apply_config().await?;
        self.wait_for_outcome(ssid, |_| {}).await
    }

    async fn ctrl(
        &mut self,
        msg: i32,
        payload: wi_fi_ctrl_payload::Payload,
        what: &'static str,
    ) -> Result<(), Error> {
        let request = WiFiCtrlPayload {
            msg,
            status: 0,
            payload: Some(payload),
        }
        .encode_to_vec();
        let reply = self.call(protocomm::device::EP_CTRL, &request).await?;
        let reply = WiFiCtrlPayload::decode(reply.as_slice()).map_err(Error::decode("ctrl"))?;
        check_status(what, reply.status)
    }

    /// CtrlReset: after a failure, let the device accept new credentials.
    pub async fn reset(&mut self) -> Result<(), Error> {
        self.ctrl(
            1,
            wi_fi_ctrl_payload::Payload::CmdCtrlReset(CmdCtrlReset {}),
            "the reset (it is only accepted after a failed attempt)",
        )
        .await
    }

    /// CtrlReprov: start provisioning again (devices with auto-stop disabled).
    pub async fn reprovision(&mut self) -> Result<(), Error> {
        self.ctrl(
            3,
            wi_fi_ctrl_payload::Payload::CmdCtrlReprov(CmdCtrlReprov {}),
            "re-provisioning (the device must keep serving after success)",
        )
        .await
    }

    /// Sends raw bytes to a custom endpoint.
    pub async fn custom(&mut self, endpoint: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
        match self.call(endpoint, data).await {
            Err(Error::Transport(TransportError::Rejected)) => Err(Error::Refused {
                what: "the custom data",
                status: -1,
            }),
            other => other,
        }
    }
}

fn check_status(what: &'static str, status: i32) -> Result<(), Error> {
    if status == 0 {
        Ok(())
    } else {
        Err(Error::Refused { what, status })
    }
}
