//! Improv over BLE (feature `bluez`): its GATT service beside ESP-IDF's in the same BlueZ
//! application, as Home Assistant's Improv integration expects it.
//!
//! The [`BleRoute`](crate::BleRoute) given [`ImprovSettings`] adds the service
//! `00467768-…-8000` with its five characteristics: current state and error state (read,
//! notify), RPC command (write; a command split over several writes is assembled, and a part
//! left waiting longer than [`PARTIAL_COMMAND_TIMEOUT`] is forgotten), RPC result (read,
//! notify) and capabilities (read).
//!
//! # Advertisement
//!
//! A legacy advertisement has 31 bytes, 3 of which BlueZ spends on the flags. Improv's
//! 128-bit service UUID (18 bytes) and its service data 0x4677 (10 bytes) fill the other 28,
//! and the specification wants both in the advertisement itself (not the scan response), so
//! with Improv on the advertisement carries Improv's UUID and service data in place of the
//! ESP service UUID. The name (`PROV_…`) stays: BlueZ sends it in the scan response, which is
//! how ESP-IDF's apps and `wifiprov provision --transport ble` find a device by name; once
//! connected, a central sees both services. The service data follows the state, registering
//! the advertisement again at every change.

use std::time::{Duration, Instant};

use improv::ErrorCode;
use improv::State;
use improv::ble::{
    CAP_DEVICE_INFO, CAP_DEVICE_NAME, CAP_HOSTNAME, CAP_IDENTIFY, CAP_WIFI_SCAN, CAPABILITIES_UUID,
    CURRENT_STATE_UUID, ERROR_STATE_UUID, RPC_COMMAND_UUID, RPC_RESULT_UUID, RpcAssembler,
    SERVICE_DATA_UUID, SERVICE_UUID, encode_result, service_data,
};
use improv::device::Framing;
use tokio::sync::mpsc;
use wifiprov_transport::ble::bluez::{BluezHandle, ExtraCharacteristic, ExtraService, ExtraWrite};

use super::{AUTHORIZER_POLL, Authorizer, Core, ImprovSettings, Join, Out};
use crate::route::RouteContext;

/// How long the first part of a split command waits for the rest.
pub const PARTIAL_COMMAND_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the outcome of a join stays served before the provisioning service is told
/// that the client has it (and may stop): notifications and the read of the result travel
/// after the values are set.
pub const OUTCOME_GRACE: Duration = Duration::from_secs(3);

/// How many writes may wait for the driver.
const WRITE_QUEUE: usize = 16;

// The characteristics' indices, in the order they are registered (capabilities last).
const STATE: usize = 0;
const ERROR: usize = 1;
const COMMAND: usize = 2;
const RESULT: usize = 3;

/// The capabilities byte for these settings.
pub fn capabilities(settings: &ImprovSettings) -> u8 {
    let identify = if settings.identify.is_some() {
        CAP_IDENTIFY
    } else {
        0
    };
    identify | CAP_DEVICE_INFO | CAP_WIFI_SCAN | CAP_HOSTNAME | CAP_DEVICE_NAME
}

/// The Improv service to register, and the channel its writes arrive on.
pub(crate) fn service(
    settings: &ImprovSettings,
    initial: State,
) -> (ExtraService, mpsc::Receiver<ExtraWrite>) {
    let caps = capabilities(settings);
    let characteristic = |uuid: &str, flags: &[&str], value: Vec<u8>| ExtraCharacteristic {
        uuid: uuid.to_owned(),
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        value,
    };
    let (writes, rx) = mpsc::channel(WRITE_QUEUE);
    let service = ExtraService {
        uuid: SERVICE_UUID.to_owned(),
        characteristics: vec![
            characteristic(
                CURRENT_STATE_UUID,
                &["read", "notify"],
                vec![initial.byte()],
            ),
            characteristic(ERROR_STATE_UUID, &["read", "notify"], vec![0]),
            characteristic(RPC_COMMAND_UUID, &["write"], Vec::new()),
            characteristic(RPC_RESULT_UUID, &["read", "notify"], Vec::new()),
            characteristic(CAPABILITIES_UUID, &["read"], vec![caps]),
        ],
        writes,
        advertised_uuids: vec![SERVICE_UUID.to_owned()],
        service_data: [(
            SERVICE_DATA_UUID.to_owned(),
            service_data(initial, caps).to_vec(),
        )]
        .into(),
    };
    (service, rx)
}

/// The device machine for a BLE route.
pub(crate) fn core(settings: ImprovSettings, ctx: RouteContext) -> Core {
    Core::new(settings, ctx, Framing::Ble)
}

async fn send(handle: &BluezHandle, caps: u8, out: Vec<Out>) {
    for item in out {
        match item {
            Out::State(state) => {
                handle.set_extra_value(STATE, &[state.byte()]).await;
                handle
                    .set_service_data(SERVICE_DATA_UUID, &service_data(state, caps))
                    .await;
            }
            Out::Error(code) => handle.set_extra_value(ERROR, &[code.byte()]).await,
            Out::Result(result) => match encode_result(&result) {
                Ok(bytes) => handle.set_extra_value(RESULT, &bytes).await,
                Err(e) => tracing::warn!("Improv result not sent: {e}"),
            },
        }
    }
}

async fn joined(
    join: &mut Option<Join>,
) -> Result<wifiprov_wifi::LinkStatus, wifiprov_device::ProvError> {
    match join {
        Some(fut) => fut.await,
        None => std::future::pending().await,
    }
}

/// Serves Improv on `handle` until the writes channel closes.
pub(crate) async fn serve(
    handle: &BluezHandle,
    mut core: Core,
    mut writes: mpsc::Receiver<ExtraWrite>,
) {
    let caps = capabilities(core.settings());
    let authorizer = core.settings().authorizer.clone();
    let mut assembler = RpcAssembler::new();
    let mut last_part = Instant::now();
    let mut join: Option<Join> = None;
    let mut outcome_at: Option<Instant> = None;
    let mut ticker = tokio::time::interval(AUTHORIZER_POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // What the characteristics were registered with.
    let _ = core.changes();
    loop {
        tokio::select! {
            outcome = joined(&mut join) => {
                join = None;
                let out = core.join_done(outcome);
                send(handle, caps, out).await;
                outcome_at = Some(Instant::now());
            }
            write = writes.recv() => {
                let Some(write) = write else { return };
                if write.characteristic != COMMAND {
                    continue;
                }
                if assembler.is_pending() && last_part.elapsed() > PARTIAL_COMMAND_TIMEOUT {
                    tracing::debug!("Improv BLE: a partial command expired");
                    assembler.reset();
                }
                last_part = Instant::now();
                let Some(rpc) = assembler.push(&write.value) else { continue };
                let out = match rpc {
                    Ok(rpc) => {
                        let (mut out, pending) = core.command(rpc).await;
                        if pending.is_some() {
                            join = pending;
                        }
                        let mut all = core.changes();
                        all.append(&mut out);
                        all
                    }
                    Err(e) => {
                        tracing::debug!(device = %write.device, "Improv BLE: {e}");
                        core.reject(ErrorCode::InvalidRpc);
                        core.changes()
                    }
                };
                send(handle, caps, out).await;
            }
            _ = ticker.tick() => {
                if assembler.is_pending() && last_part.elapsed() > PARTIAL_COMMAND_TIMEOUT {
                    tracing::debug!("Improv BLE: a partial command expired");
                    assembler.reset();
                }
                if outcome_at.is_some_and(|at| at.elapsed() >= OUTCOME_GRACE) {
                    outcome_at = None;
                    core.outcome_sent();
                }
                core.tick();
                if core.wants_authorization()
                    && let Authorizer::Poll(poll) = &authorizer
                    && poll().await
                {
                    tracing::info!("Improv BLE: authorized");
                    core.authorize();
                }
                let out = core.changes();
                send(handle, caps, out).await;
            }
        }
    }
}
