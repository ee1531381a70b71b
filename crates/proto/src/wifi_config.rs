//! `wifi_config.proto`: the `prov-config` endpoint (status, set and apply credentials).

use alloc::vec::Vec;
use core::fmt;

use crate::wifi_constants::{WifiAttemptFailed, WifiConnectFailedReason, WifiConnectedState};

/// Message type of a [`WiFiConfigPayload`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WiFiConfigMsgType {
    /// Request the station status.
    TypeCmdGetStatus = 0,
    /// Station status.
    TypeRespGetStatus = 1,
    /// Store pending credentials.
    TypeCmdSetConfig = 2,
    /// Result of storing credentials.
    TypeRespSetConfig = 3,
    /// Apply the pending credentials.
    TypeCmdApplyConfig = 4,
    /// Result of applying.
    TypeRespApplyConfig = 5,
}

/// Request the station status (empty).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct CmdGetStatus {}

/// The station status.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RespGetStatus {
    /// [`crate::constants::Status`].
    #[prost(enumeration = "crate::constants::Status", tag = "1")]
    pub status: i32,
    /// [`crate::wifi_constants::WifiStationState`].
    #[prost(enumeration = "crate::wifi_constants::WifiStationState", tag = "2")]
    pub sta_state: i32,
    /// Details matching `sta_state` (absent while plainly connecting).
    #[prost(oneof = "resp_get_status::State", tags = "10, 11, 12")]
    pub state: Option<resp_get_status::State>,
}

/// Nested types of [`RespGetStatus`].
pub mod resp_get_status {
    use super::*;

    /// The `state` oneof of [`RespGetStatus`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum State {
        /// [`WifiConnectFailedReason`]; emitted even when 0 (`AuthError`).
        #[prost(enumeration = "WifiConnectFailedReason", tag = "10")]
        FailReason(i32),
        /// Connection details.
        #[prost(message, tag = "11")]
        Connected(WifiConnectedState),
        /// Retry information.
        #[prost(message, tag = "12")]
        AttemptFailed(WifiAttemptFailed),
    }
}

/// Credentials to store (the passphrase is redacted in `Debug`).
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct CmdSetConfig {
    /// SSID bytes (≤ 32).
    #[prost(bytes = "vec", tag = "1")]
    pub ssid: Vec<u8>,
    /// Passphrase bytes (≤ 63; empty for an open network).
    #[prost(bytes = "vec", tag = "2")]
    pub passphrase: Vec<u8>,
    /// Optional BSSID (0 or 6 bytes; ignored by the reference device).
    #[prost(bytes = "vec", tag = "3")]
    pub bssid: Vec<u8>,
    /// Optional channel (ignored by the reference device).
    #[prost(int32, tag = "4")]
    pub channel: i32,
}

impl fmt::Debug for CmdSetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmdSetConfig")
            .field("ssid", &alloc::string::String::from_utf8_lossy(&self.ssid))
            .field("passphrase", &crate::Redacted(self.passphrase.len()))
            .field("bssid", &self.bssid)
            .field("channel", &self.channel)
            .finish()
    }
}

/// Result of storing credentials.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct RespSetConfig {
    /// [`crate::constants::Status`].
    #[prost(enumeration = "crate::constants::Status", tag = "1")]
    pub status: i32,
}

/// Apply the pending credentials (empty).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct CmdApplyConfig {}

/// Result of applying.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct RespApplyConfig {
    /// [`crate::constants::Status`].
    #[prost(enumeration = "crate::constants::Status", tag = "1")]
    pub status: i32,
}

/// A `prov-config` message. Unlike scan and ctrl it has no top-level status.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WiFiConfigPayload {
    /// [`WiFiConfigMsgType`].
    #[prost(enumeration = "WiFiConfigMsgType", tag = "1")]
    pub msg: i32,
    /// The message matching `msg`.
    #[prost(
        oneof = "wi_fi_config_payload::Payload",
        tags = "10, 11, 12, 13, 14, 15"
    )]
    pub payload: Option<wi_fi_config_payload::Payload>,
}

/// Nested types of [`WiFiConfigPayload`].
pub mod wi_fi_config_payload {
    use super::*;

    /// The `payload` oneof of [`WiFiConfigPayload`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Payload {
        /// Get-status command.
        #[prost(message, tag = "10")]
        CmdGetStatus(CmdGetStatus),
        /// Get-status response.
        #[prost(message, tag = "11")]
        RespGetStatus(RespGetStatus),
        /// Set-config command.
        #[prost(message, tag = "12")]
        CmdSetConfig(CmdSetConfig),
        /// Set-config response.
        #[prost(message, tag = "13")]
        RespSetConfig(RespSetConfig),
        /// Apply-config command.
        #[prost(message, tag = "14")]
        CmdApplyConfig(CmdApplyConfig),
        /// Apply-config response.
        #[prost(message, tag = "15")]
        RespApplyConfig(RespApplyConfig),
    }
}
