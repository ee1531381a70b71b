//! Choosing a backend: `--wifi auto`.
//!
//! The rule: NetworkManager if it runs and manages a Wi-Fi device; otherwise wpa_supplicant if
//! one of its control sockets exists; otherwise nothing, with a message that names what was
//! looked at and suggests the simulator. The decision ([`decide`]) is separate from the probing
//! ([`probe`]) so that it can be tested without the daemons.

use std::fmt;
use std::path::{Path, PathBuf};

/// The backends a user can name with `--wifi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// The simulator.
    Sim,
    /// wpa_supplicant over its control socket.
    WpaSupplicant,
    /// NetworkManager over D-Bus.
    NetworkManager,
    /// Detect at start.
    Auto,
}

impl BackendKind {
    /// Parses a `--wifi` value (`sim`, `wpa-supplicant`, `networkmanager`, `auto`, and the
    /// common spellings `wpa_supplicant`, `wpa`, `nm`, `network-manager`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "sim" | "simulator" => BackendKind::Sim,
            "wpa-supplicant" | "wpa_supplicant" | "wpa" => BackendKind::WpaSupplicant,
            "networkmanager" | "network-manager" | "nm" => BackendKind::NetworkManager,
            "auto" => BackendKind::Auto,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sim => "sim",
            BackendKind::WpaSupplicant => "wpa-supplicant",
            BackendKind::NetworkManager => "networkmanager",
            BackendKind::Auto => "auto",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What probing the machine found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// NetworkManager's answer: `Ok(true)` when it manages a Wi-Fi device, `Ok(false)` when it
    /// runs but manages none (or not the requested interface), `Err` with why it could not be
    /// asked (not on the bus, no bus).
    pub networkmanager: Option<Result<bool, String>>,
    /// wpa_supplicant control sockets that exist (in preference order).
    pub wpa_sockets: Vec<PathBuf>,
    /// Where wpa_supplicant sockets were looked for.
    pub wpa_searched: Vec<PathBuf>,
}

/// The outcome of `--wifi auto`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Use NetworkManager.
    NetworkManager,
    /// Use wpa_supplicant at this control socket.
    WpaSupplicant(PathBuf),
    /// Nothing usable; the message says what was looked at and what to do.
    Nothing(String),
}

/// Decides from a [`Probe`].
pub fn decide(probe: &Probe) -> Choice {
    if let Some(Ok(true)) = probe.networkmanager {
        return Choice::NetworkManager;
    }
    if let Some(path) = probe.wpa_sockets.first() {
        return Choice::WpaSupplicant(path.clone());
    }
    let nm = match &probe.networkmanager {
        Some(Ok(true)) => "NetworkManager manages a Wi-Fi device".to_owned(),
        Some(Ok(false)) => "NetworkManager runs but manages no Wi-Fi device".to_owned(),
        Some(Err(why)) => format!("NetworkManager is not reachable ({why})"),
        None => "NetworkManager was not asked".to_owned(),
    };
    let searched: Vec<String> = probe
        .wpa_searched
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let wpa = if searched.is_empty() {
        "no wpa_supplicant control socket was found".to_owned()
    } else {
        format!(
            "no wpa_supplicant control socket in {}",
            searched.join(", ")
        )
    };
    Choice::Nothing(format!(
        "no Wi-Fi backend found: {nm}; {wpa}. Name one with --wifi networkmanager [--interface IF] \
         or --wifi wpa-supplicant --wpa-ctrl PATH, or use the simulator with --wifi sim"
    ))
}

/// The directories where wpa_supplicant puts its per-interface control sockets.
pub const WPA_CTRL_DIRS: [&str; 2] = ["/run/wpa_supplicant", "/var/run/wpa_supplicant"];

/// The wpa_supplicant control sockets in `dirs`: `<dir>/<interface>` when an interface is
/// given, else every per-interface socket, wireless-looking names (`wl…`) first.
#[cfg(feature = "wpa-supplicant")]
pub fn wpa_sockets_in(dirs: &[&Path], interface: Option<&str>) -> Vec<PathBuf> {
    let mut found = crate::wpa::discover_ctrl_paths_in(dirs);
    if let Some(name) = interface {
        found.retain(|p| p.file_name().is_some_and(|n| n == name));
    }
    found.sort_by_key(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (!name.starts_with("wl"), name)
    });
    found
}

/// Without wpa_supplicant support there is nothing to find.
#[cfg(not(feature = "wpa-supplicant"))]
pub fn wpa_sockets_in(_dirs: &[&Path], _interface: Option<&str>) -> Vec<PathBuf> {
    Vec::new()
}

/// Whether the machine has any Wi-Fi hardware (an entry in `/sys/class/ieee80211`). Without
/// one, the simulator is the sensible default.
pub fn has_wifi_hardware() -> bool {
    std::fs::read_dir("/sys/class/ieee80211")
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false)
}

/// Probes this machine: asks NetworkManager on the system bus (when built with it) and looks
/// for wpa_supplicant control sockets.
pub async fn probe(interface: Option<&str>) -> Probe {
    let dirs: Vec<&Path> = WPA_CTRL_DIRS.iter().map(Path::new).collect();
    Probe {
        networkmanager: Some(ask_networkmanager(interface).await),
        wpa_sockets: wpa_sockets_in(&dirs, interface),
        wpa_searched: dirs.iter().map(|d| d.to_path_buf()).collect(),
    }
}

#[cfg(feature = "networkmanager")]
async fn ask_networkmanager(interface: Option<&str>) -> Result<bool, String> {
    use std::time::Duration;
    let timeout = Duration::from_secs(3);
    let conn = match tokio::time::timeout(timeout, zbus::Connection::system()).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(format!("no system D-Bus: {e}")),
        Err(_) => return Err("the system D-Bus did not answer".to_owned()),
    };
    let owned = async {
        let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
        let name = zbus::names::BusName::try_from(crate::nm::NM_SERVICE)?;
        Ok::<bool, zbus::Error>(dbus.name_has_owner(name).await?)
    };
    match tokio::time::timeout(timeout, owned).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            return Err(format!(
                "{} is not on the system bus",
                crate::nm::NM_SERVICE
            ));
        }
        Ok(Err(e)) => return Err(format!("cannot ask the system D-Bus: {e}")),
        Err(_) => return Err("the system D-Bus did not answer".to_owned()),
    }
    let answer = async {
        match interface {
            None => Ok(crate::nm::manages_wifi_device(&conn).await),
            Some(name) => {
                let backend =
                    crate::nm::NmBackend::with_connection(conn.clone(), Some(name)).await?;
                Ok(backend.wifi_device().await.is_ok_and(|d| d.is_managed()))
            }
        }
    };
    match tokio::time::timeout(timeout, answer).await {
        Ok(result) => result.map_err(|e: crate::WifiError| e.to_string()),
        Err(_) => Err("NetworkManager did not answer".to_owned()),
    }
}

#[cfg(not(feature = "networkmanager"))]
async fn ask_networkmanager(_interface: Option<&str>) -> Result<bool, String> {
    Err("this build has no NetworkManager support".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for kind in [
            BackendKind::Sim,
            BackendKind::WpaSupplicant,
            BackendKind::NetworkManager,
            BackendKind::Auto,
        ] {
            assert_eq!(BackendKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(
            BackendKind::parse("wpa_supplicant"),
            Some(BackendKind::WpaSupplicant)
        );
        assert_eq!(BackendKind::parse("NM"), Some(BackendKind::NetworkManager));
        assert_eq!(BackendKind::parse("iwd"), None);
    }

    #[test]
    fn networkmanager_wins_when_it_manages_wifi() {
        let probe = Probe {
            networkmanager: Some(Ok(true)),
            wpa_sockets: vec![PathBuf::from("/run/wpa_supplicant/wlan0")],
            wpa_searched: vec![],
        };
        assert_eq!(decide(&probe), Choice::NetworkManager);
    }

    #[test]
    fn wpa_supplicant_when_networkmanager_has_no_wifi() {
        for nm in [Some(Ok(false)), Some(Err("no bus".to_owned())), None] {
            let probe = Probe {
                networkmanager: nm,
                wpa_sockets: vec![PathBuf::from("/run/wpa_supplicant/wlan0")],
                wpa_searched: vec![],
            };
            assert_eq!(
                decide(&probe),
                Choice::WpaSupplicant(PathBuf::from("/run/wpa_supplicant/wlan0"))
            );
        }
    }

    #[test]
    fn nothing_explains_and_suggests_the_simulator() {
        let probe = Probe {
            networkmanager: Some(Err(
                "org.freedesktop.NetworkManager is not on the bus".into()
            )),
            wpa_sockets: vec![],
            wpa_searched: vec![PathBuf::from("/run/wpa_supplicant")],
        };
        let Choice::Nothing(message) = decide(&probe) else {
            panic!("expected nothing");
        };
        assert!(message.contains("not on the bus"), "{message}");
        assert!(message.contains("/run/wpa_supplicant"), "{message}");
        assert!(message.contains("--wifi sim"), "{message}");
    }

    #[cfg(feature = "wpa-supplicant")]
    #[test]
    fn finds_sockets_and_skips_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let _wlan = std::os::unix::net::UnixDatagram::bind(dir.path().join("wlan0")).unwrap();
        let _p2p =
            std::os::unix::net::UnixDatagram::bind(dir.path().join("p2p-dev-wlan0")).unwrap();
        let _eth = std::os::unix::net::UnixDatagram::bind(dir.path().join("eth0")).unwrap();
        std::fs::write(dir.path().join("notes"), b"x").unwrap();
        let found = wpa_sockets_in(&[dir.path()], None);
        let names: Vec<String> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["wlan0", "eth0"]);
        assert_eq!(
            wpa_sockets_in(&[dir.path()], Some("eth0")),
            vec![dir.path().join("eth0")]
        );
        assert!(wpa_sockets_in(&[dir.path()], Some("notes")).is_empty());
        assert!(wpa_sockets_in(&[Path::new("/nonexistent-dir")], None).is_empty());
    }
}
