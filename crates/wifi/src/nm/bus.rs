//! D-Bus errors from NetworkManager (or the bus) → [`WifiError`].

use zbus::DBusError;

use crate::WifiError;

/// The D-Bus error name and message of a method error reply, if `e` is one.
pub(crate) fn error_reply(e: &zbus::Error) -> Option<(String, String)> {
    match e {
        zbus::Error::MethodError(name, message, _) => {
            Some((name.to_string(), message.clone().unwrap_or_default()))
        }
        zbus::Error::FDO(fdo) => Some((
            fdo.name().to_string(),
            fdo.description().unwrap_or_default().to_owned(),
        )),
        _ => None,
    }
}

/// Maps a failed call to NetworkManager to a [`WifiError`]; `context` says what was being
/// done ("adding a profile", …) and starts the message.
///
/// | D-Bus error name                                            | result        |
/// |-------------------------------------------------------------|---------------|
/// | `org.freedesktop.DBus.Error.ServiceUnknown`, `NameHasNoOwner` | `Unavailable` (NetworkManager is not running) |
/// | `org.freedesktop.DBus.Error.AccessDenied`, `…NetworkManager.PermissionDenied`, `…Settings.Connection.PermissionDenied` | `Unavailable` (permission) |
/// | `org.freedesktop.NetworkManager.UnknownDevice`              | `Unsupported` (no suitable device) |
/// | `…Settings.Connection.InvalidProperty`, `…InvalidSetting`, `…MissingProperty`, `…Settings.Connection.SettingNotFound` | `Invalid` |
/// | `org.freedesktop.NetworkManager.UnknownConnection`, `org.freedesktop.DBus.Error.UnknownObject`, `UnknownMethod` | `Invalid` (no such profile / object) |
/// | `org.freedesktop.NetworkManager.Device.NotAllowed`, `…AlreadyAsleepOrAwake` | `Busy` |
/// | anything else, and transport failures                      | `Unavailable` |
///
/// NetworkManager's own message is kept in the text.
pub fn bus_error(context: &str, e: &zbus::Error) -> WifiError {
    let Some((name, message)) = error_reply(e) else {
        return WifiError::unavailable(format!("{context}: D-Bus: {e}"));
    };
    let short = name.rsplit('.').next().unwrap_or(name.as_str());
    let text = format!("{context}: {message} ({name})");
    match short {
        "ServiceUnknown" | "NameHasNoOwner" => WifiError::unavailable(format!(
            "{context}: NetworkManager is not running on this D-Bus bus \
             (nothing owns {}): {message}",
            super::NM_SERVICE
        )),
        "AccessDenied" | "PermissionDenied" => WifiError::unavailable(format!(
            "{context}: permission denied by NetworkManager or the bus: {message} ({name})"
        )),
        "UnknownDevice" => WifiError::unsupported(text),
        "InvalidProperty" | "InvalidSetting" | "MissingProperty" | "SettingNotFound"
        | "InvalidConnection" | "UnknownConnection" | "UnknownObject" | "UnknownMethod"
        | "InvalidArgs" => WifiError::invalid(text),
        "NotAllowed" | "AlreadyAsleepOrAwake" => WifiError::busy(text),
        _ => WifiError::unavailable(text),
    }
}

/// Whether `e` is a D-Bus error reply whose name ends with `.suffix`.
pub(crate) fn is_error(e: &zbus::Error, suffix: &str) -> bool {
    error_reply(e).is_some_and(|(name, _)| name.rsplit('.').next() == Some(suffix))
}
