//! The three built-in endpoints, `prov-config`, `prov-scan` and `prov-ctrl`, as a pure codec:
//! protobuf bytes into a typed request, a typed response into protobuf bytes. No state, no
//! I/O; the [`Manager`](crate::Manager) answers the requests.
//!
//! Decoding dispatches on `msg` (never on which payload member happens to be present, since
//! esp_prov omits the empty ones). A request that does not decode, carries a response type,
//! or lacks a payload that its command needs is a [`DecodeError`]: it gets no response at
//! all, exactly like the ESP-IDF device. Responses carry `msg + 1`.

use protocomm::HandlerError;
use protocomm::proto::Message;
use protocomm::proto::constants::Status;
use protocomm::proto::wifi_config::{
    RespApplyConfig, RespGetStatus, RespSetConfig, WiFiConfigMsgType, WiFiConfigPayload,
    resp_get_status, wi_fi_config_payload,
};
use protocomm::proto::wifi_constants::{WifiAttemptFailed, WifiConnectedState};
use protocomm::proto::wifi_ctrl::{
    RespCtrlReprov, RespCtrlReset, WiFiCtrlMsgType, WiFiCtrlPayload, wi_fi_ctrl_payload,
};
use protocomm::proto::wifi_scan::{
    RespScanResult, RespScanStart, RespScanStatus, WiFiScanMsgType, WiFiScanPayload,
    WiFiScanResult, wi_fi_scan_payload,
};
use wifiprov_wifi::{AccessPoint, Bssid, Credentials, Passphrase, ScanParams, Ssid};
use zeroize::Zeroize;

use crate::machine::Station;

/// Name of the configuration endpoint.
pub const CONFIG: &str = protocomm::device::EP_CONFIG;
/// Name of the scan endpoint.
pub const SCAN: &str = protocomm::device::EP_SCAN;
/// Name of the control endpoint.
pub const CTRL: &str = protocomm::device::EP_CTRL;

/// Longest SSID accepted by SetConfig.
pub const MAX_SSID_LEN: usize = 32;
/// Longest passphrase accepted by SetConfig (a 64-digit raw PSK is refused, as on ESP-IDF).
pub const MAX_PASSPHRASE_LEN: usize = 63;

/// A request that gets no response at all (the text names the endpoint and the problem).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub &'static str);

impl From<DecodeError> for HandlerError {
    fn from(e: DecodeError) -> Self {
        HandlerError::new(e.0.to_string())
    }
}

/// Why SetConfig's credentials are refused (answered with `InvalidArgument`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidConfig {
    /// The BSSID is neither absent nor 6 bytes.
    #[error("a BSSID of {0} bytes")]
    BssidLength(usize),
    /// No SSID (or one that starts with NUL).
    #[error("an empty SSID")]
    SsidEmpty,
    /// SSID longer than [`MAX_SSID_LEN`].
    #[error("an SSID of {0} bytes")]
    SsidTooLong(usize),
    /// Passphrase longer than [`MAX_PASSPHRASE_LEN`].
    #[error("a passphrase of {0} bytes")]
    PassphraseTooLong(usize),
}

/// A `prov-config` request.
#[derive(Debug, PartialEq, Eq)]
pub enum ConfigRequest {
    /// GetStatus.
    GetStatus,
    /// SetConfig, with the credentials (SSID and passphrase cut at their first NUL, as the
    /// device's C strings are; channel 0 meaning none) or why they are refused.
    SetConfig(Result<Credentials, InvalidConfig>),
    /// ApplyConfig.
    Apply,
}

/// The answer to a [`ConfigRequest`].
#[derive(Debug, PartialEq, Eq)]
pub enum ConfigResponse {
    /// GetStatus: the station state.
    Status(Station),
    /// SetConfig: `Success`, or `InvalidArgument` when not accepted.
    SetConfig {
        /// Whether the credentials were accepted.
        accepted: bool,
    },
    /// ApplyConfig: `Success`, or `InternalError` when not accepted (nothing pending,
    /// credentials already received, or they could not be stored).
    Apply {
        /// Whether the credentials were taken and stored.
        accepted: bool,
    },
}

/// A `prov-scan` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanRequest {
    /// ScanStart (`group_channels` cut to 8 bits).
    Start {
        /// The scan's parameters.
        params: ScanParams,
        /// Answer only once the scan has finished.
        blocking: bool,
    },
    /// ScanStatus.
    Status,
    /// ScanResult: entries `start .. start + count`.
    Results {
        /// First entry.
        start: u32,
        /// Entries asked for.
        count: u32,
    },
}

/// The answer to a [`ScanRequest`].
#[derive(Debug, PartialEq, Eq)]
pub enum ScanResponse {
    /// ScanStart: `InternalError` when a blocking scan failed.
    Start {
        /// Whether it went well.
        ok: bool,
    },
    /// ScanStatus.
    Status {
        /// No scan runs.
        finished: bool,
        /// Results available.
        count: usize,
    },
    /// ScanResult.
    Results(Vec<AccessPoint>),
}

/// A `prov-ctrl` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtrlRequest {
    /// CtrlReset.
    Reset,
    /// CtrlReprov.
    Reprov,
}

/// The answer to a [`CtrlRequest`]: the command, and whether it succeeded (`InternalError`
/// otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtrlResponse {
    /// The command answered.
    pub request: CtrlRequest,
    /// Whether it succeeded.
    pub ok: bool,
}

/// Cuts a byte string at its first NUL, as the device's C strings do.
fn c_string(bytes: &[u8]) -> &[u8] {
    bytes.split(|b| *b == 0).next().unwrap_or_default()
}

fn status(ok: bool, failure: Status) -> i32 {
    if ok {
        Status::Success as i32
    } else {
        failure as i32
    }
}

/// Decodes a `prov-config` request.
pub fn decode_config(request: &[u8]) -> Result<ConfigRequest, DecodeError> {
    use wi_fi_config_payload::Payload;
    let payload = WiFiConfigPayload::decode(request)
        .map_err(|_| DecodeError("prov-config: malformed request"))?;
    let msg = WiFiConfigMsgType::try_from(payload.msg)
        .map_err(|_| DecodeError("prov-config: unknown message type"))?;
    match msg {
        WiFiConfigMsgType::TypeCmdGetStatus => Ok(ConfigRequest::GetStatus),
        WiFiConfigMsgType::TypeCmdSetConfig => {
            let Some(Payload::CmdSetConfig(mut cmd)) = payload.payload else {
                return Err(DecodeError("prov-config: SetConfig without its payload"));
            };
            let credentials = set_config_credentials(&cmd.ssid, &cmd.passphrase, &cmd.bssid).map(
                |(ssid, passphrase, bssid)| Credentials {
                    ssid,
                    passphrase,
                    bssid,
                    channel: u8::try_from(cmd.channel).ok().filter(|c| *c != 0),
                },
            );
            cmd.passphrase.zeroize();
            Ok(ConfigRequest::SetConfig(credentials))
        }
        WiFiConfigMsgType::TypeCmdApplyConfig => Ok(ConfigRequest::Apply),
        _ => Err(DecodeError("prov-config: not a command")),
    }
}

type Parts = (Ssid, Passphrase, Option<Bssid>);

/// SetConfig's checks, in ESP-IDF's order.
fn set_config_credentials(
    ssid: &[u8],
    passphrase: &[u8],
    bssid: &[u8],
) -> Result<Parts, InvalidConfig> {
    let bssid = match bssid.len() {
        0 => None,
        _ => Some(Bssid(
            <[u8; 6]>::try_from(bssid).map_err(|_| InvalidConfig::BssidLength(bssid.len()))?,
        )),
    };
    let ssid = c_string(ssid);
    let passphrase = c_string(passphrase);
    if ssid.is_empty() {
        return Err(InvalidConfig::SsidEmpty);
    }
    if ssid.len() > MAX_SSID_LEN {
        return Err(InvalidConfig::SsidTooLong(ssid.len()));
    }
    if passphrase.len() > MAX_PASSPHRASE_LEN {
        return Err(InvalidConfig::PassphraseTooLong(passphrase.len()));
    }
    // Both were checked against the protocol's (stricter) limits above.
    let ssid = Ssid::new(ssid).map_err(|_| InvalidConfig::SsidTooLong(ssid.len()))?;
    let passphrase = Passphrase::new(passphrase)
        .map_err(|_| InvalidConfig::PassphraseTooLong(passphrase.len()))?;
    Ok((ssid, passphrase, bssid))
}

/// Encodes the answer to a `prov-config` request.
pub fn encode_config(response: &ConfigResponse) -> Vec<u8> {
    use wi_fi_config_payload::Payload;
    let (msg, payload) = match response {
        ConfigResponse::Status(station) => {
            let (sta_state, state) = match station {
                Station::Connecting => (1, None),
                Station::AttemptFailed { remaining } => (
                    1,
                    Some(resp_get_status::State::AttemptFailed(WifiAttemptFailed {
                        attempts_remaining: *remaining,
                    })),
                ),
                Station::Connected(link) => (
                    0,
                    Some(resp_get_status::State::Connected(WifiConnectedState {
                        ip4_addr: link.ip.to_string(),
                        auth_mode: i32::from(link.auth.esp_number()),
                        ssid: link.ssid.clone(),
                        bssid: link.bssid.0.to_vec(),
                        channel: i32::from(link.channel),
                    })),
                ),
                Station::Failed(reason) => {
                    (3, Some(resp_get_status::State::FailReason(reason.wire())))
                }
            };
            (
                WiFiConfigMsgType::TypeRespGetStatus,
                Payload::RespGetStatus(RespGetStatus {
                    status: 0,
                    sta_state,
                    state,
                }),
            )
        }
        ConfigResponse::SetConfig { accepted } => (
            WiFiConfigMsgType::TypeRespSetConfig,
            Payload::RespSetConfig(RespSetConfig {
                status: status(*accepted, Status::InvalidArgument),
            }),
        ),
        ConfigResponse::Apply { accepted } => (
            WiFiConfigMsgType::TypeRespApplyConfig,
            Payload::RespApplyConfig(RespApplyConfig {
                status: status(*accepted, Status::InternalError),
            }),
        ),
    };
    WiFiConfigPayload {
        msg: msg as i32,
        payload: Some(payload),
    }
    .encode_to_vec()
}

/// Decodes a `prov-scan` request.
pub fn decode_scan(request: &[u8]) -> Result<ScanRequest, DecodeError> {
    use wi_fi_scan_payload::Payload;
    let payload = WiFiScanPayload::decode(request)
        .map_err(|_| DecodeError("prov-scan: malformed request"))?;
    let msg = WiFiScanMsgType::try_from(payload.msg)
        .map_err(|_| DecodeError("prov-scan: unknown message type"))?;
    match msg {
        WiFiScanMsgType::TypeCmdScanStart => {
            let Some(Payload::CmdScanStart(cmd)) = payload.payload else {
                return Err(DecodeError("prov-scan: ScanStart without its payload"));
            };
            Ok(ScanRequest::Start {
                params: ScanParams {
                    passive: cmd.passive,
                    group_channels: (cmd.group_channels & 0xff) as u8,
                    period_ms: cmd.period_ms,
                },
                blocking: cmd.blocking,
            })
        }
        WiFiScanMsgType::TypeCmdScanStatus => Ok(ScanRequest::Status),
        WiFiScanMsgType::TypeCmdScanResult => {
            let Some(Payload::CmdScanResult(cmd)) = payload.payload else {
                return Err(DecodeError("prov-scan: ScanResult without its payload"));
            };
            Ok(ScanRequest::Results {
                start: cmd.start_index,
                count: cmd.count,
            })
        }
        _ => Err(DecodeError("prov-scan: not a command")),
    }
}

/// Encodes the answer to a `prov-scan` request.
pub fn encode_scan(response: &ScanResponse) -> Vec<u8> {
    use wi_fi_scan_payload::Payload;
    let (msg, status, payload) = match response {
        ScanResponse::Start { ok } => (
            WiFiScanMsgType::TypeRespScanStart,
            status(*ok, Status::InternalError),
            Payload::RespScanStart(RespScanStart {}),
        ),
        ScanResponse::Status { finished, count } => (
            WiFiScanMsgType::TypeRespScanStatus,
            Status::Success as i32,
            Payload::RespScanStatus(RespScanStatus {
                scan_finished: *finished,
                result_count: u32::try_from(*count).unwrap_or(u32::MAX),
            }),
        ),
        ScanResponse::Results(entries) => (
            WiFiScanMsgType::TypeRespScanResult,
            Status::Success as i32,
            Payload::RespScanResult(RespScanResult {
                entries: entries
                    .iter()
                    .map(|ap| WiFiScanResult {
                        ssid: ap.ssid.clone(),
                        channel: u32::from(ap.channel),
                        rssi: i32::from(ap.rssi),
                        bssid: ap.bssid.0.to_vec(),
                        auth: i32::from(ap.auth.esp_number()),
                    })
                    .collect(),
            }),
        ),
    };
    WiFiScanPayload {
        msg: msg as i32,
        status,
        payload: Some(payload),
    }
    .encode_to_vec()
}

/// Decodes a `prov-ctrl` request.
pub fn decode_ctrl(request: &[u8]) -> Result<CtrlRequest, DecodeError> {
    let payload = WiFiCtrlPayload::decode(request)
        .map_err(|_| DecodeError("prov-ctrl: malformed request"))?;
    let msg = WiFiCtrlMsgType::try_from(payload.msg)
        .map_err(|_| DecodeError("prov-ctrl: unknown message type"))?;
    match msg {
        WiFiCtrlMsgType::TypeCmdCtrlReset => Ok(CtrlRequest::Reset),
        WiFiCtrlMsgType::TypeCmdCtrlReprov => Ok(CtrlRequest::Reprov),
        _ => Err(DecodeError("prov-ctrl: not a command")),
    }
}

/// Encodes the answer to a `prov-ctrl` request.
pub fn encode_ctrl(response: CtrlResponse) -> Vec<u8> {
    use wi_fi_ctrl_payload::Payload;
    let (msg, payload) = match response.request {
        CtrlRequest::Reset => (
            WiFiCtrlMsgType::TypeRespCtrlReset,
            Payload::RespCtrlReset(RespCtrlReset {}),
        ),
        CtrlRequest::Reprov => (
            WiFiCtrlMsgType::TypeRespCtrlReprov,
            Payload::RespCtrlReprov(RespCtrlReprov {}),
        ),
    };
    WiFiCtrlPayload {
        msg: msg as i32,
        status: status(response.ok, Status::InternalError),
        payload: Some(payload),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_config_rules_in_order() {
        let ok = set_config_credentials(b"Home\0junk", b"pass\0junk", b"").unwrap();
        assert_eq!(ok.0, b"Home");
        assert_eq!(ok.1.expose(), b"pass");
        assert_eq!(
            set_config_credentials(&[b'a'; 40], b"", &[1, 2, 3]).unwrap_err(),
            InvalidConfig::BssidLength(3)
        );
        assert_eq!(
            set_config_credentials(b"\0a", b"", b"").unwrap_err(),
            InvalidConfig::SsidEmpty
        );
        assert_eq!(
            set_config_credentials(&[b'a'; 33], b"", b"").unwrap_err(),
            InvalidConfig::SsidTooLong(33)
        );
        assert_eq!(
            set_config_credentials(b"a", &[b'p'; 64], b"").unwrap_err(),
            InvalidConfig::PassphraseTooLong(64)
        );
    }

    #[test]
    fn responses_byte_for_byte() {
        assert_eq!(
            encode_config(&ConfigResponse::Status(Station::Connecting)),
            [0x08, 0x01, 0x5a, 0x02, 0x10, 0x01]
        );
        assert_eq!(
            encode_config(&ConfigResponse::Apply { accepted: false }),
            [0x08, 0x05, 0x7a, 0x02, 0x08, 0x05]
        );
        assert_eq!(
            encode_ctrl(CtrlResponse {
                request: CtrlRequest::Reprov,
                ok: false
            }),
            [0x08, 0x04, 0x10, 0x05, 0x72, 0x00]
        );
        assert_eq!(decode_config(&[0x08, 0x04]), Ok(ConfigRequest::Apply));
        assert!(decode_config(&[0x08, 0x01]).is_err(), "a response type");
    }
}
