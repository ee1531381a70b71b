//! `wifi_scan.proto`: the `prov-scan` endpoint.

use alloc::vec::Vec;

/// Message type of a [`WiFiScanPayload`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WiFiScanMsgType {
    /// Start a scan.
    TypeCmdScanStart = 0,
    /// Scan started.
    TypeRespScanStart = 1,
    /// Ask for the scan status.
    TypeCmdScanStatus = 2,
    /// Scan status.
    TypeRespScanStatus = 3,
    /// Ask for a page of results.
    TypeCmdScanResult = 4,
    /// A page of results.
    TypeRespScanResult = 5,
}

/// Scan parameters.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct CmdScanStart {
    /// Reply only once the scan has finished.
    #[prost(bool, tag = "1")]
    pub blocking: bool,
    /// Passive instead of active scanning.
    #[prost(bool, tag = "2")]
    pub passive: bool,
    /// 0: all channels at once; N: one channel per scan, pausing after every N channels.
    #[prost(uint32, tag = "3")]
    pub group_channels: u32,
    /// Dwell time per channel in milliseconds.
    #[prost(uint32, tag = "4")]
    pub period_ms: u32,
}

/// Scan started (empty).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct RespScanStart {}

/// Ask for the scan status (empty).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct CmdScanStatus {}

/// Scan status.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct RespScanStatus {
    /// The scan has finished.
    #[prost(bool, tag = "1")]
    pub scan_finished: bool,
    /// Number of results available so far.
    #[prost(uint32, tag = "2")]
    pub result_count: u32,
}

/// Ask for results `start_index .. start_index + count`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct CmdScanResult {
    /// First result index.
    #[prost(uint32, tag = "1")]
    pub start_index: u32,
    /// Number of results.
    #[prost(uint32, tag = "2")]
    pub count: u32,
}

/// One access point.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WiFiScanResult {
    /// SSID bytes (absent for hidden networks).
    #[prost(bytes = "vec", tag = "1")]
    pub ssid: Vec<u8>,
    /// Primary channel.
    #[prost(uint32, tag = "2")]
    pub channel: u32,
    /// Signal strength in dBm.
    #[prost(int32, tag = "3")]
    pub rssi: i32,
    /// 6-byte BSSID.
    #[prost(bytes = "vec", tag = "4")]
    pub bssid: Vec<u8>,
    /// [`crate::wifi_constants::WifiAuthMode`] or another ESP-IDF auth mode number.
    #[prost(enumeration = "crate::wifi_constants::WifiAuthMode", tag = "5")]
    pub auth: i32,
}

/// A page of results.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RespScanResult {
    /// The entries, strongest first.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<WiFiScanResult>,
}

/// A `prov-scan` message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WiFiScanPayload {
    /// [`WiFiScanMsgType`].
    #[prost(enumeration = "WiFiScanMsgType", tag = "1")]
    pub msg: i32,
    /// [`crate::constants::Status`].
    #[prost(enumeration = "crate::constants::Status", tag = "2")]
    pub status: i32,
    /// The message matching `msg`.
    #[prost(oneof = "wi_fi_scan_payload::Payload", tags = "10, 11, 12, 13, 14, 15")]
    pub payload: Option<wi_fi_scan_payload::Payload>,
}

/// Nested types of [`WiFiScanPayload`].
pub mod wi_fi_scan_payload {
    use super::*;

    /// The `payload` oneof of [`WiFiScanPayload`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Payload {
        /// Scan-start command.
        #[prost(message, tag = "10")]
        CmdScanStart(CmdScanStart),
        /// Scan-start response.
        #[prost(message, tag = "11")]
        RespScanStart(RespScanStart),
        /// Scan-status command.
        #[prost(message, tag = "12")]
        CmdScanStatus(CmdScanStatus),
        /// Scan-status response.
        #[prost(message, tag = "13")]
        RespScanStatus(RespScanStatus),
        /// Scan-result command.
        #[prost(message, tag = "14")]
        CmdScanResult(CmdScanResult),
        /// Scan-result response.
        #[prost(message, tag = "15")]
        RespScanResult(RespScanResult),
    }
}
