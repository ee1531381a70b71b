//! NetworkManager state reasons → [`ConnectError`].
//!
//! The numbers are NetworkManager's `NMDeviceState`, `NMDeviceStateReason` and
//! `NMActiveConnectionStateReason` (stable D-Bus API).

use crate::{ConnectError, WifiError};

/// `NMDeviceState` values the backend looks at.
pub(crate) mod state {
    pub const UNMANAGED: u32 = 10;
    pub const PREPARE: u32 = 40;
    pub const CONFIG: u32 = 50;
    pub const NEED_AUTH: u32 = 60;
    pub const IP_CONFIG: u32 = 70;
    pub const SECONDARIES: u32 = 90;
    pub const ACTIVATED: u32 = 100;
    pub const FAILED: u32 = 120;
}

/// `NMActiveConnectionState` values.
pub(crate) mod active_state {
    pub const ACTIVATED: u32 = 2;
    pub const DEACTIVATED: u32 = 4;
}

/// The name of an `NMDeviceState`.
pub fn device_state_name(state: u32) -> &'static str {
    match state {
        0 => "UNKNOWN",
        10 => "UNMANAGED",
        20 => "UNAVAILABLE",
        30 => "DISCONNECTED",
        40 => "PREPARE",
        50 => "CONFIG",
        60 => "NEED_AUTH",
        70 => "IP_CONFIG",
        80 => "IP_CHECK",
        90 => "SECONDARIES",
        100 => "ACTIVATED",
        110 => "DEACTIVATING",
        120 => "FAILED",
        _ => "(unknown state)",
    }
}

/// Names of `NMDeviceStateReason` 0–67, in order.
const DEVICE_REASONS: [&str; 68] = [
    "NONE",
    "UNKNOWN",
    "NOW_MANAGED",
    "NOW_UNMANAGED",
    "CONFIG_FAILED",
    "IP_CONFIG_UNAVAILABLE",
    "IP_CONFIG_EXPIRED",
    "NO_SECRETS",
    "SUPPLICANT_DISCONNECT",
    "SUPPLICANT_CONFIG_FAILED",
    "SUPPLICANT_FAILED",
    "SUPPLICANT_TIMEOUT",
    "PPP_START_FAILED",
    "PPP_DISCONNECT",
    "PPP_FAILED",
    "DHCP_START_FAILED",
    "DHCP_ERROR",
    "DHCP_FAILED",
    "SHARED_START_FAILED",
    "SHARED_FAILED",
    "AUTOIP_START_FAILED",
    "AUTOIP_ERROR",
    "AUTOIP_FAILED",
    "MODEM_BUSY",
    "MODEM_NO_DIAL_TONE",
    "MODEM_NO_CARRIER",
    "MODEM_DIAL_TIMEOUT",
    "MODEM_DIAL_FAILED",
    "MODEM_INIT_FAILED",
    "GSM_APN_FAILED",
    "GSM_REGISTRATION_NOT_SEARCHING",
    "GSM_REGISTRATION_DENIED",
    "GSM_REGISTRATION_TIMEOUT",
    "GSM_REGISTRATION_FAILED",
    "GSM_PIN_CHECK_FAILED",
    "FIRMWARE_MISSING",
    "REMOVED",
    "SLEEPING",
    "CONNECTION_REMOVED",
    "USER_REQUESTED",
    "CARRIER",
    "CONNECTION_ASSUMED",
    "SUPPLICANT_AVAILABLE",
    "MODEM_NOT_FOUND",
    "BT_FAILED",
    "GSM_SIM_NOT_INSERTED",
    "GSM_SIM_PIN_REQUIRED",
    "GSM_SIM_PUK_REQUIRED",
    "GSM_SIM_WRONG",
    "INFINIBAND_MODE",
    "DEPENDENCY_FAILED",
    "BR2684_FAILED",
    "MODEM_MANAGER_UNAVAILABLE",
    "SSID_NOT_FOUND",
    "SECONDARY_CONNECTION_FAILED",
    "DCB_FCOE_FAILED",
    "TEAMD_CONTROL_FAILED",
    "MODEM_FAILED",
    "MODEM_AVAILABLE",
    "SIM_PIN_INCORRECT",
    "NEW_ACTIVATION",
    "PARENT_CHANGED",
    "PARENT_MANAGED_CHANGED",
    "OVSDB_FAILED",
    "IP_ADDRESS_DUPLICATE",
    "IP_METHOD_UNSUPPORTED",
    "SRIOV_CONFIGURATION_FAILED",
    "PEER_NOT_FOUND",
];

/// Names of `NMActiveConnectionStateReason` 0–14, in order.
const ACTIVE_REASONS: [&str; 15] = [
    "UNKNOWN",
    "NONE",
    "USER_DISCONNECTED",
    "DEVICE_DISCONNECTED",
    "SERVICE_STOPPED",
    "IP_CONFIG_INVALID",
    "CONNECT_TIMEOUT",
    "SERVICE_START_TIMEOUT",
    "SERVICE_START_FAILED",
    "NO_SECRETS",
    "LOGIN_FAILED",
    "CONNECTION_REMOVED",
    "DEPENDENCY_FAILED",
    "DEVICE_REALIZE_FAILED",
    "DEVICE_REMOVED",
];

fn name_in(table: &'static [&'static str], n: u32) -> &'static str {
    usize::try_from(n)
        .ok()
        .and_then(|i| table.get(i))
        .copied()
        .unwrap_or("(unknown reason)")
}

/// The name of an `NMDeviceStateReason` (`"SSID_NOT_FOUND"` for 53).
pub fn device_reason_name(reason: u32) -> &'static str {
    name_in(&DEVICE_REASONS, reason)
}

/// The name of an `NMActiveConnectionStateReason` (`"NO_SECRETS"` for 9).
pub fn active_reason_name(reason: u32) -> &'static str {
    name_in(&ACTIVE_REASONS, reason)
}

fn described(kind: &str, reason: u32, name: &str) -> String {
    format!("NetworkManager {kind} reason {reason} ({name})")
}

/// The failure a device state reason stands for, when a Wi-Fi device fails an attempt to
/// join `ssid`. `None` for the reasons that say nothing (`NONE`, `UNKNOWN`), so that the
/// active connection's reason can be used instead.
///
/// | reason (number)                                                  | error                  |
/// |------------------------------------------------------------------|------------------------|
/// | NO_SECRETS (7), SUPPLICANT_DISCONNECT (8), SUPPLICANT_FAILED (10) | `AuthFailed`           |
/// | SSID_NOT_FOUND (53)                                              | `NetworkNotFound`      |
/// | IP_CONFIG_UNAVAILABLE (5), IP_CONFIG_EXPIRED (6), DHCP_* (15–17), AUTOIP_* (20–22), IP_ADDRESS_DUPLICATE (64) | `NoAddress` |
/// | SUPPLICANT_TIMEOUT (11)                                          | `Timeout`              |
/// | CARRIER (40)                                                     | `LinkLost`             |
/// | USER_REQUESTED (39), NEW_ACTIVATION (60), CONNECTION_REMOVED (38) | `Backend(Busy)` (superseded or cancelled) |
/// | NOW_UNMANAGED (3), FIRMWARE_MISSING (35), REMOVED (36), SLEEPING (37) | `Backend(Unavailable)` |
/// | IP_METHOD_UNSUPPORTED (65)                                       | `Backend(Unsupported)` |
/// | SHARED_START_FAILED (18), SHARED_FAILED (19)                     | `Backend(Unavailable)` (connection sharing) |
/// | anything else (CONFIG_FAILED (4), SUPPLICANT_CONFIG_FAILED (9), …) | `AssociationRejected` naming the reason |
pub fn device_reason_error(reason: u32, ssid: &str) -> Option<ConnectError> {
    let ssid = ssid.to_owned();
    let text = described("device state", reason, device_reason_name(reason));
    Some(match reason {
        0 | 1 => return None,
        7 | 8 | 10 => ConnectError::AuthFailed { ssid },
        53 => ConnectError::NetworkNotFound { ssid },
        5 | 6 | 15..=17 | 20..=22 | 64 => ConnectError::NoAddress { ssid },
        11 => ConnectError::Timeout { ssid },
        40 => ConnectError::LinkLost { ssid },
        38 | 39 | 60 => ConnectError::Backend(WifiError::busy(format!(
            "the attempt to join {ssid:?} was cancelled: {text}"
        ))),
        3 | 35..=37 => ConnectError::Backend(WifiError::unavailable(format!(
            "the Wi-Fi device stopped being usable while joining {ssid:?}: {text}"
        ))),
        65 => ConnectError::Backend(WifiError::unsupported(text)),
        18 | 19 => ConnectError::Backend(WifiError::unavailable(format!(
            "connection sharing (DHCP server) failed: {text}"
        ))),
        _ => ConnectError::AssociationRejected { ssid, reason: text },
    })
}

/// The failure an active connection's reason stands for, when the attempt to join `ssid`
/// ended in `DEACTIVATED`. `DEVICE_DISCONNECTED` (3), the usual reason of a Wi-Fi
/// failure, only says that the device gave up; use the device's reason
/// ([`device_reason_error`]) first when one is known.
///
/// | reason (number)                                      | error                           |
/// |------------------------------------------------------|---------------------------------|
/// | NO_SECRETS (9), LOGIN_FAILED (10)                    | `AuthFailed`                    |
/// | IP_CONFIG_INVALID (5)                                | `NoAddress`                     |
/// | CONNECT_TIMEOUT (6), SERVICE_START_TIMEOUT (7)       | `Timeout`                       |
/// | DEVICE_DISCONNECTED (3)                              | `LinkLost`                      |
/// | USER_DISCONNECTED (2), CONNECTION_REMOVED (11)       | `Backend(Busy)` (cancelled)     |
/// | DEVICE_REALIZE_FAILED (13), DEVICE_REMOVED (14)      | `Backend(Unavailable)`          |
/// | anything else                                        | `AssociationRejected` naming it |
pub fn active_reason_error(reason: u32, ssid: &str) -> ConnectError {
    let ssid = ssid.to_owned();
    let text = described("active connection", reason, active_reason_name(reason));
    match reason {
        9 | 10 => ConnectError::AuthFailed { ssid },
        5 => ConnectError::NoAddress { ssid },
        6 | 7 => ConnectError::Timeout { ssid },
        3 => ConnectError::LinkLost { ssid },
        2 | 11 => ConnectError::Backend(WifiError::busy(format!(
            "the attempt to join {ssid:?} was cancelled: {text}"
        ))),
        13 | 14 => ConnectError::Backend(WifiError::unavailable(format!(
            "the Wi-Fi device went away while joining {ssid:?}: {text}"
        ))),
        _ => ConnectError::AssociationRejected { ssid, reason: text },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WifiErrorKind;

    #[test]
    fn names_follow_the_numbering() {
        assert_eq!(device_reason_name(0), "NONE");
        assert_eq!(device_reason_name(7), "NO_SECRETS");
        assert_eq!(device_reason_name(53), "SSID_NOT_FOUND");
        assert_eq!(device_reason_name(60), "NEW_ACTIVATION");
        assert_eq!(device_reason_name(67), "PEER_NOT_FOUND");
        assert_eq!(device_reason_name(68), "(unknown reason)");
        assert_eq!(active_reason_name(9), "NO_SECRETS");
        assert_eq!(active_reason_name(14), "DEVICE_REMOVED");
        assert_eq!(active_reason_name(15), "(unknown reason)");
        assert_eq!(device_state_name(120), "FAILED");
    }

    #[test]
    fn device_reasons_map_to_typed_failures() {
        let s = "Home";
        for auth in [7, 8, 10] {
            let e = device_reason_error(auth, s).unwrap();
            assert!(e.is_auth_error(), "{auth}: {e:?}");
        }
        assert!(device_reason_error(53, s).unwrap().is_network_not_found());
        for no_address in [5, 6, 15, 16, 17, 20, 21, 22, 64] {
            assert_eq!(
                device_reason_error(no_address, s),
                Some(ConnectError::NoAddress { ssid: s.into() }),
                "{no_address}"
            );
        }
        assert_eq!(
            device_reason_error(11, s),
            Some(ConnectError::Timeout { ssid: s.into() })
        );
        assert_eq!(
            device_reason_error(40, s),
            Some(ConnectError::LinkLost { ssid: s.into() })
        );
        assert!(matches!(
            device_reason_error(60, s),
            Some(ConnectError::Backend(ref we)) if we.is(WifiErrorKind::Busy) && we.message().contains("NEW_ACTIVATION")
        ));
        assert!(matches!(
            device_reason_error(36, s),
            Some(ConnectError::Backend(ref we)) if we.is(WifiErrorKind::Unavailable) && we.message().contains("REMOVED")
        ));
        assert!(matches!(
            device_reason_error(9, s),
            Some(ConnectError::AssociationRejected { reason, .. })
                if reason == "NetworkManager device state reason 9 (SUPPLICANT_CONFIG_FAILED)"
        ));
        assert_eq!(device_reason_error(0, s), None);
        assert_eq!(device_reason_error(1, s), None);
        assert!(matches!(
            device_reason_error(999, s),
            Some(ConnectError::AssociationRejected { reason, .. }) if reason.contains("999")
        ));
    }

    #[test]
    fn active_reasons_map_to_typed_failures() {
        let s = "Home";
        assert!(active_reason_error(9, s).is_auth_error());
        assert!(active_reason_error(10, s).is_auth_error());
        assert_eq!(
            active_reason_error(5, s),
            ConnectError::NoAddress { ssid: s.into() }
        );
        assert_eq!(
            active_reason_error(6, s),
            ConnectError::Timeout { ssid: s.into() }
        );
        assert_eq!(
            active_reason_error(3, s),
            ConnectError::LinkLost { ssid: s.into() }
        );
        assert!(matches!(
            active_reason_error(2, s),
            ConnectError::Backend(ref we) if we.is(WifiErrorKind::Busy) && we.message().contains("USER_DISCONNECTED")
        ));
        assert!(matches!(
            active_reason_error(14, s),
            ConnectError::Backend(ref we) if we.is(WifiErrorKind::Unavailable)
        ));
        assert!(matches!(
            active_reason_error(12, s),
            ConnectError::AssociationRejected { reason, .. } if reason.contains("DEPENDENCY_FAILED")
        ));
    }
}
