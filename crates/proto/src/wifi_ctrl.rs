//! `wifi_ctrl.proto`: the `prov-ctrl` endpoint (reset and re-provision).

/// Message type of a [`WiFiCtrlPayload`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WiFiCtrlMsgType {
    /// Reserved (zero value).
    TypeCtrlReserved = 0,
    /// Reset after a failure.
    TypeCmdCtrlReset = 1,
    /// Reset response.
    TypeRespCtrlReset = 2,
    /// Re-provision.
    TypeCmdCtrlReprov = 3,
    /// Re-provision response.
    TypeRespCtrlReprov = 4,
}

/// Reset command (empty).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct CmdCtrlReset {}

/// Reset response (empty).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct RespCtrlReset {}

/// Re-provision command (empty).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct CmdCtrlReprov {}

/// Re-provision response (empty).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct RespCtrlReprov {}

/// A `prov-ctrl` message (oneof numbering starts at 11).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct WiFiCtrlPayload {
    /// [`WiFiCtrlMsgType`].
    #[prost(enumeration = "WiFiCtrlMsgType", tag = "1")]
    pub msg: i32,
    /// [`crate::constants::Status`].
    #[prost(enumeration = "crate::constants::Status", tag = "2")]
    pub status: i32,
    /// The message matching `msg`.
    #[prost(oneof = "wi_fi_ctrl_payload::Payload", tags = "11, 12, 13, 14")]
    pub payload: Option<wi_fi_ctrl_payload::Payload>,
}

/// Nested types of [`WiFiCtrlPayload`].
pub mod wi_fi_ctrl_payload {
    use super::*;

    /// The `payload` oneof of [`WiFiCtrlPayload`].
    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum Payload {
        /// Reset command.
        #[prost(message, tag = "11")]
        CmdCtrlReset(CmdCtrlReset),
        /// Reset response.
        #[prost(message, tag = "12")]
        RespCtrlReset(RespCtrlReset),
        /// Re-provision command.
        #[prost(message, tag = "13")]
        CmdCtrlReprov(CmdCtrlReprov),
        /// Re-provision response.
        #[prost(message, tag = "14")]
        RespCtrlReprov(RespCtrlReprov),
    }
}
