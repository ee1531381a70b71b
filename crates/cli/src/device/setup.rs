//! Turning `wifiprov device`'s flags into an agent: security, settings of the protocol and
//! the Manager, custom endpoints; and what is done around it (joining stored credentials,
//! start errors, the QR code).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use protocomm::{AppInfo, Sec2Credentials, Secret, Security};
use wifiprov_agent::{AgentBuilder, AgentError, RouteError};
use wifiprov_device::{CredentialStore, CustomEndpoint, ManagerConfig};
use wifiprov_wifi::WifiBackend;

use super::child::ChildEnv;
use super::{DeviceArgs, custom, qr};
use crate::exit::Exit;
use crate::output::outln;

/// The agent the flags describe, without its routes.
pub(super) fn builder(
    args: &DeviceArgs,
    security: Security,
    wifi: Arc<dyn WifiBackend>,
    store: CredentialStore,
) -> Result<AgentBuilder> {
    let timeout = Duration::from_secs(args.endpoint_timeout.unwrap_or(10));
    let env = ChildEnv {
        pass: args.child_env.clone(),
    };
    let endpoints = args
        .endpoint
        .iter()
        .map(|spec| custom::parse(spec, timeout, env.clone()))
        .collect::<Result<Vec<_>>>()?;
    let connect_delay = args
        .connect_delay
        .unwrap_or(if wifi.name() == "sim" { 0 } else { 1000 });
    let mut builder = AgentBuilder::new(security, wifi);
    builder.device.limits.max_sessions = args.max_sessions.unwrap_or(4).max(1);
    builder.device.limits.idle_timeout =
        Duration::from_secs(args.session_timeout.unwrap_or(60).max(1));
    if let Some(free) = args.auth_free_failures {
        builder.device.throttle.free_failures = free;
    }
    if let Some(backoff) = args.auth_backoff {
        let backoff = Duration::from_secs(backoff.max(1));
        builder.device.throttle.base_delay = backoff;
        builder.device.throttle.max_delay = builder.device.throttle.max_delay.max(backoff);
    }
    builder.device.app_info = app_info(args.app_info.as_deref())?;
    builder.manager = ManagerConfig {
        auto_stop: !args.no_auto_stop,
        max_attempts: args.reset_on_failure.unwrap_or(0),
        reset_on_failure: args.reset_on_failure.is_some(),
        connect_delay: Duration::from_millis(connect_delay),
        ..ManagerConfig::default()
    };
    builder.store = Some(store);
    builder.endpoints = endpoints
        .into_iter()
        .map(|ep| (ep.name().to_string(), ep as Arc<dyn CustomEndpoint>))
        .collect();
    Ok(builder)
}

/// The security scheme of the flags.
pub(super) fn security(args: &DeviceArgs) -> Result<Security> {
    security_from(
        args.security,
        args.pop.as_deref(),
        args.username.as_deref(),
        args.password.as_deref(),
        args.salt.as_deref(),
        args.verifier.as_deref(),
        args.sec_patch_ver,
    )
}

/// The device-side security scheme from the `--security`, `--pop`, `--sec2-username`,
/// `--sec2-password`, `--salt`, `--verifier` and `--sec-patch-ver` flags (or the same keys of a
/// file). Secrets of another scheme are refused, never ignored: a device meant to need a
/// password must not come up without one.
pub(crate) fn security_from(
    security: Option<u8>,
    pop: Option<&str>,
    username: Option<&str>,
    password: Option<&str>,
    salt: Option<&str>,
    verifier: Option<&str>,
    sec_patch_ver: Option<u32>,
) -> Result<Security> {
    check_secrets(
        security,
        pop,
        username,
        password,
        salt,
        verifier,
        sec_patch_ver,
    )?;
    let scheme = security.unwrap_or(2);
    Ok(match scheme {
        0 => Security::Sec0,
        1 => Security::Sec1 {
            pop: pop.map(Secret::from),
        },
        _ => {
            let patch = sec_patch_ver.unwrap_or(1);
            let credentials = match (username, password, salt, verifier) {
                (_, _, Some(salt), Some(verifier)) => Sec2Credentials::new(
                    hex::decode(salt).context("--salt is not hex")?,
                    hex::decode(verifier).context("--verifier is not hex")?,
                )?,
                (Some(user), Some(password), None, None) => Sec2Credentials::generate(
                    user.as_bytes(),
                    &Secret::from(password),
                    &mut protocomm::rand_core::UnwrapErr(getrandom::SysRng),
                )?,
                _ => {
                    return Err(Exit::Usage.error(
                        "security 2 needs --sec2-username and --sec2-password, or --salt and \
                         --verifier (or choose --security 1 --pop …)",
                    ));
                }
            };
            Security::Sec2 { credentials, patch }
        }
    })
}

/// `value` unless it is the value of the environment variable `name` (then it came from
/// there, not from a flag or a file).
fn given<'a>(value: Option<&'a str>, name: &str) -> Option<&'a str> {
    value.filter(|v| std::env::var(name).map_or(true, |env| env != *v))
}

/// Refuses secrets that contradict the scheme or each other (missing ones are left to
/// [`security_from`], since an already provisioned device needs none to rejoin).
pub(super) fn check_args(args: &DeviceArgs) -> Result<()> {
    check_secrets(
        args.security,
        args.pop.as_deref(),
        args.username.as_deref(),
        args.password.as_deref(),
        args.salt.as_deref(),
        args.verifier.as_deref(),
        args.sec_patch_ver,
    )
}

fn check_secrets(
    security: Option<u8>,
    pop: Option<&str>,
    username: Option<&str>,
    password: Option<&str>,
    salt: Option<&str>,
    verifier: Option<&str>,
    sec_patch_ver: Option<u32>,
) -> Result<()> {
    // Secrets that come from the environment (one file of variables may serve several
    // services) are used where they fit and never refused; given ones must agree.
    let pop = given(pop, "WIFIPROV_POP");
    let password = given(password, "WIFIPROV_PASSWORD");
    let salt = given(salt, "WIFIPROV_SALT");
    let verifier = given(verifier, "WIFIPROV_VERIFIER");
    let scheme = security.unwrap_or(2);
    let flag = |present: bool, name: &'static str| present.then_some(name);
    let sec2: Vec<&str> = [
        flag(username.is_some(), "--sec2-username"),
        flag(password.is_some(), "--sec2-password"),
        flag(salt.is_some(), "--salt"),
        flag(verifier.is_some(), "--verifier"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let refuse = |flags: &[&str], why: &str| -> anyhow::Error {
        Exit::Usage.error(format!(
            "{} cannot be used with security {scheme}: {why}",
            flags.join(" and ")
        ))
    };
    match scheme {
        0 => {
            let mut flags = sec2.clone();
            if pop.is_some() {
                flags.insert(0, "--pop");
            }
            if !flags.is_empty() {
                return Err(refuse(
                    &flags,
                    "security 0 has no secret (choose --security 1 with --pop, or --security 2)",
                ));
            }
        }
        1 if !sec2.is_empty() => {
            return Err(refuse(
                &sec2,
                "they are security 2's secrets (security 1 takes --pop; or choose --security 2)",
            ));
        }
        2 if pop.is_some() => {
            return Err(refuse(
                &["--pop"],
                "the proof of possession is security 1's (security 2 takes --sec2-username and \
                 --sec2-password; or choose --security 1)",
            ));
        }
        _ => {}
    }
    if scheme != 2 && sec_patch_ver.is_some() {
        return Err(refuse(&["--sec-patch-ver"], "it is a security 2 setting"));
    }
    if scheme == 2 {
        match (password, salt, verifier) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(Exit::Usage.error(
                    "--sec2-password and --salt/--verifier exclude each other: give the \
                     password (the verifier is derived from it) or a precomputed salt and \
                     verifier",
                ));
            }
            (None, Some(_), None) | (None, None, Some(_)) => {
                return Err(Exit::Usage.error(
                    "--salt and --verifier go together (both from `wifiprov provision \
                     --sec2-gen-cred` or esp_prov --sec2_gen_cred)",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn app_info(json: Option<&str>) -> Result<Vec<AppInfo>> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let value: serde_json::Value = serde_json::from_str(json).context("--app-info is not JSON")?;
    if !value.is_object() || value.get("prov").is_some() {
        bail!(
            "--app-info must be an object of entries like {{\"my_app\":{{\"ver\":\"1.0\",\"cap\":[\"x\"]}}}} (\"prov\" is reserved)"
        );
    }
    // The same reading a client applies to a device's proto-ver document.
    Ok(protocomm::PeerVersion::parse(json.as_bytes()).app_info)
}

pub(super) async fn join_stored(
    wifi: &dyn WifiBackend,
    stored: wifiprov_wifi::Credentials,
) -> Result<Exit> {
    tracing::info!(
        "already provisioned for {:?}; joining it (use --force to serve provisioning anyway)",
        stored.ssid_lossy()
    );
    match wifi.connect(stored, None).await {
        Ok(link) => {
            tracing::info!(
                "connected to {:?}, address {}",
                String::from_utf8_lossy(&link.ssid),
                link.ip
            );
            Ok(Exit::Ok)
        }
        Err(e) => {
            tracing::error!(
                "cannot join the stored network: {e}; run with --force to provision again"
            );
            Ok(Exit::WifiFailed)
        }
    }
}

/// Explains why the agent did not start; a listener that cannot be bound gets a hint. An
/// unusable protocol configuration is a usage error, a route that cannot start the system's.
pub(super) fn start_error(e: AgentError, listen: SocketAddr) -> anyhow::Error {
    match e {
        AgentError::Route {
            error: RouteError::Bind(b),
            ..
        } => bind_error(listen, b.kind(), &b),
        AgentError::Protocol(_) => Exit::Usage.wrap(e),
        other => Exit::System.wrap(other),
    }
}

/// Warns about schemes that let anyone in range provision the device.
pub(super) fn warn_about(security: &Security) {
    match security {
        Security::Sec0 => tracing::warn!("security 0: credentials travel unencrypted"),
        Security::Sec1 { pop: None } => {
            tracing::warn!(
                "security 1 without a proof of possession: anyone in range can provision this device"
            )
        }
        _ => {}
    }
}

fn bind_error(
    addr: SocketAddr,
    kind: std::io::ErrorKind,
    e: &dyn std::fmt::Display,
) -> anyhow::Error {
    let hint = match kind {
        std::io::ErrorKind::PermissionDenied => format!(
            "ports below 1024 need root or CAP_NET_BIND_SERVICE; try --listen {}:8080",
            addr.ip()
        ),
        std::io::ErrorKind::AddrInUse => {
            "another program uses this port; pick another with --listen".to_string()
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "this machine has no such address; try --listen 0.0.0.0:8080".to_string()
        }
        _ => "check --listen".to_string(),
    };
    Exit::System.error(format!("cannot listen on {addr}: {e} ({hint})"))
}

/// Prints the QR payload and code. With `--events json` stdout carries only events (which
/// never hold secrets), so the payload and the code go to stderr.
pub(super) fn print_qr(
    args: &DeviceArgs,
    name: &str,
    security: &Security,
    transport: &str,
    http: Option<std::net::SocketAddr>,
) -> Result<()> {
    let (username, pop) = match security {
        Security::Sec0 => (None, None),
        Security::Sec1 { pop } => (None, pop.as_ref().and(args.pop.as_deref())),
        Security::Sec2 { .. } => (args.username.as_deref(), args.password.as_deref()),
    };
    let address = http.and_then(qr::address);
    let payload = qr::payload(&qr::Payload {
        name,
        username,
        pop,
        transport,
        security: security.version(),
        address: address.as_deref(),
    });
    let app = if transport == "ble" { "BLE" } else { "SoftAP" };
    let intro = format!(
        "Scan this with the ESP {app} Prov app, or pass it to `wifiprov provision --qr-payload`:"
    );
    let art = qr::render(&payload)?;
    if args.events.is_some() {
        eprintln!("{intro}\n{payload}\n{art}");
        return Ok(());
    }
    outln!("{intro}")?;
    outln!("{payload}")?;
    outln!("{art}")
}
