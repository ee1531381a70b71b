//! The three built-in request endpoints: `prov-config`, `prov-scan`, `prov-ctrl`.
//!
//! Each decodes its protobuf, dispatches on `msg` (never on which payload member happens to
//! be present, since esp_prov omits the empty ones), asks the [`Manager`], and answers with
//! `msg + 1`. A request that does not decode, carries a response type, or lacks a payload that
//! its command needs gets no response (an error), exactly like the ESP-IDF device.

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
use wifiprov_wifi::{Bssid, Credentials, ScanParams};

use crate::manager::{Manager, Station};

/// Name of the configuration endpoint.
pub const CONFIG: &str = "prov-config";
/// Name of the scan endpoint.
pub const SCAN: &str = "prov-scan";
/// Name of the control endpoint.
pub const CTRL: &str = "prov-ctrl";

/// Longest SSID accepted by SetConfig.
pub const MAX_SSID_LEN: usize = 32;
/// Longest passphrase accepted by SetConfig (a 64-digit raw PSK is refused, as on ESP-IDF).
pub const MAX_PASSPHRASE_LEN: usize = 63;

fn bad(what: &str) -> HandlerError {
    HandlerError::new(what.to_string())
}

/// Cuts a byte string at its first NUL, as the device's C strings do.
fn c_string(bytes: &[u8]) -> &[u8] {
    bytes.split(|b| *b == 0).next().unwrap_or_default()
}

pub(crate) fn config(manager: &Manager, request: &[u8]) -> Result<Vec<u8>, HandlerError> {
    use wi_fi_config_payload::Payload;
    let payload =
        WiFiConfigPayload::decode(request).map_err(|_| bad("prov-config: malformed request"))?;
    let msg = WiFiConfigMsgType::try_from(payload.msg)
        .map_err(|_| bad("prov-config: unknown message type"))?;
    let response = match msg {
        WiFiConfigMsgType::TypeCmdGetStatus => {
            let station = manager.station();
            let (sta_state, state) = match &station {
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
            let reply = WiFiConfigPayload {
                msg: WiFiConfigMsgType::TypeRespGetStatus as i32,
                payload: Some(Payload::RespGetStatus(RespGetStatus {
                    status: 0,
                    sta_state,
                    state,
                })),
            };
            let bytes = reply.encode_to_vec();
            manager.status_seen();
            return Ok(bytes);
        }
        WiFiConfigMsgType::TypeCmdSetConfig => {
            let Some(Payload::CmdSetConfig(cmd)) = payload.payload else {
                return Err(bad("prov-config: SetConfig without its payload"));
            };
            let ssid = c_string(&cmd.ssid);
            let passphrase = c_string(&cmd.passphrase);
            // ESP-IDF refuses 64 passphrase bytes on the wire, even a raw 64-hex-digit key.
            let credentials = (passphrase.len() <= MAX_PASSPHRASE_LEN)
                .then(|| Credentials::new(ssid, passphrase).ok())
                .flatten();
            let status = match credentials {
                Some(mut credentials) if cmd.bssid.is_empty() || cmd.bssid.len() == 6 => {
                    credentials.bssid = Bssid::try_from(cmd.bssid.as_slice()).ok();
                    credentials.channel = u8::try_from(cmd.channel).ok().filter(|c| *c != 0);
                    manager.set_pending(credentials);
                    Status::Success
                }
                _ => Status::InvalidArgument,
            };
            WiFiConfigPayload {
                msg: WiFiConfigMsgType::TypeRespSetConfig as i32,
                payload: Some(Payload::RespSetConfig(RespSetConfig {
                    status: status as i32,
                })),
            }
        }
        WiFiConfigMsgType::TypeCmdApplyConfig => {
            let status = if manager.apply() {
                Status::Success
            } else {
                Status::InternalError
            };
            WiFiConfigPayload {
                msg: WiFiConfigMsgType::TypeRespApplyConfig as i32,
                payload: Some(Payload::RespApplyConfig(RespApplyConfig {
                    status: status as i32,
                })),
            }
        }
        _ => return Err(bad("prov-config: not a command")),
    };
    Ok(response.encode_to_vec())
}

/// Results per ScanResult reply at most, whatever the client asks (bounds the reply size).
const MAX_RESULTS_PER_PAGE: usize = 255;

pub(crate) async fn scan(manager: &Manager, request: &[u8]) -> Result<Vec<u8>, HandlerError> {
    use wi_fi_scan_payload::Payload;
    let payload =
        WiFiScanPayload::decode(request).map_err(|_| bad("prov-scan: malformed request"))?;
    let msg = WiFiScanMsgType::try_from(payload.msg)
        .map_err(|_| bad("prov-scan: unknown message type"))?;
    let (msg, status, payload) = match msg {
        WiFiScanMsgType::TypeCmdScanStart => {
            let Some(Payload::CmdScanStart(cmd)) = payload.payload else {
                return Err(bad("prov-scan: ScanStart without its payload"));
            };
            let params = ScanParams {
                passive: cmd.passive,
                group_channels: (cmd.group_channels & 0xff) as u8,
                period_ms: cmd.period_ms,
            };
            let ok = manager.scan_start(params, cmd.blocking).await;
            let status = if ok {
                Status::Success
            } else {
                Status::InternalError
            };
            (
                WiFiScanMsgType::TypeRespScanStart,
                status,
                Payload::RespScanStart(RespScanStart {}),
            )
        }
        WiFiScanMsgType::TypeCmdScanStatus => {
            let (finished, count) = manager.scan_status();
            (
                WiFiScanMsgType::TypeRespScanStatus,
                Status::Success,
                Payload::RespScanStatus(RespScanStatus {
                    scan_finished: finished,
                    result_count: u32::try_from(count).unwrap_or(u32::MAX),
                }),
            )
        }
        WiFiScanMsgType::TypeCmdScanResult => {
            let Some(Payload::CmdScanResult(cmd)) = payload.payload else {
                return Err(bad("prov-scan: ScanResult without its payload"));
            };
            let count = (cmd.count as usize).min(MAX_RESULTS_PER_PAGE);
            let entries = manager
                .scan_results(cmd.start_index as usize, count)
                .into_iter()
                .map(|ap| WiFiScanResult {
                    ssid: ap.ssid,
                    channel: u32::from(ap.channel),
                    rssi: i32::from(ap.rssi),
                    bssid: ap.bssid.0.to_vec(),
                    auth: i32::from(ap.auth.esp_number()),
                })
                .collect();
            (
                WiFiScanMsgType::TypeRespScanResult,
                Status::Success,
                Payload::RespScanResult(RespScanResult { entries }),
            )
        }
        _ => return Err(bad("prov-scan: not a command")),
    };
    Ok(WiFiScanPayload {
        msg: msg as i32,
        status: status as i32,
        payload: Some(payload),
    }
    .encode_to_vec())
}

pub(crate) async fn ctrl(manager: &Manager, request: &[u8]) -> Result<Vec<u8>, HandlerError> {
    use wi_fi_ctrl_payload::Payload;
    let payload =
        WiFiCtrlPayload::decode(request).map_err(|_| bad("prov-ctrl: malformed request"))?;
    let msg = WiFiCtrlMsgType::try_from(payload.msg)
        .map_err(|_| bad("prov-ctrl: unknown message type"))?;
    let (msg, ok, payload) = match msg {
        WiFiCtrlMsgType::TypeCmdCtrlReset => (
            WiFiCtrlMsgType::TypeRespCtrlReset,
            manager.ctrl_reset(),
            Payload::RespCtrlReset(RespCtrlReset {}),
        ),
        WiFiCtrlMsgType::TypeCmdCtrlReprov => (
            WiFiCtrlMsgType::TypeRespCtrlReprov,
            manager.ctrl_reprov().await,
            Payload::RespCtrlReprov(RespCtrlReprov {}),
        ),
        _ => return Err(bad("prov-ctrl: not a command")),
    };
    let status = if ok {
        Status::Success
    } else {
        Status::InternalError
    };
    Ok(WiFiCtrlPayload {
        msg: msg as i32,
        status: status as i32,
        payload: Some(payload),
    }
    .encode_to_vec())
}
