//! [`ImprovSerialRoute`]: Improv over a serial port or pseudo-terminal, as ESP Web Tools
//! speaks it through Web Serial.

use std::time::Duration;

use improv::ErrorCode;
use improv::device::Framing;
use improv::rpc::Rpc;
use improv::serial::{PacketType, SerialDecoder, encode_packet};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wifiprov_wifi::BoxFuture;

use super::{Core, ImprovSettings, Join, Out};
use crate::console::{ConsoleIo, OpenConsole};
use crate::route::{Place, Route, RouteContext, RouteError, RunningRoute};

/// How long one packet may take to write before the peer counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Improv over a byte stream (a serial device, a pseudo-terminal).
#[derive(Clone)]
pub struct ImprovSerialRoute {
    place: String,
    open: OpenConsole,
    settings: ImprovSettings,
}

impl ImprovSerialRoute {
    /// On the channel `open` returns (called at every start), described as `place`
    /// (`Improv on /dev/ttyGS0`).
    pub fn new(place: impl Into<String>, open: OpenConsole, settings: ImprovSettings) -> Self {
        ImprovSerialRoute {
            place: place.into(),
            open,
            settings,
        }
    }
}

impl std::fmt::Debug for ImprovSerialRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImprovSerialRoute")
            .field("place", &self.place)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Route for ImprovSerialRoute {
    fn name(&self) -> &str {
        "Improv serial"
    }

    fn start(&self, ctx: RouteContext) -> BoxFuture<'static, Result<RunningRoute, RouteError>> {
        let opened = (self.open)();
        let place = Place::Other(self.place.clone());
        let settings = self.settings.clone();
        Box::pin(async move {
            let io: ConsoleIo = opened?;
            let stop = ctx.shutdown().signalled();
            let core = Core::new(settings, ctx, Framing::Serial);
            let serve = async move {
                serve(io, core, stop)
                    .await
                    .map_err(|e| RouteError::io("Improv serial", e))
            };
            Ok(RunningRoute::new(Some(place), serve))
        })
    }
}

async fn send(writer: &mut (dyn AsyncWrite + Send + Unpin), out: Vec<Out>) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    for item in out {
        let packet = match item {
            Out::State(state) => encode_packet(PacketType::CurrentState, &[state.byte()]),
            Out::Error(code) => encode_packet(PacketType::ErrorState, &[code.byte()]),
            Out::Result(result) => match result.encode() {
                Ok(body) => encode_packet(PacketType::RpcResult, &body),
                Err(e) => {
                    tracing::warn!("Improv result not sent: {e}");
                    None
                }
            },
        };
        if let Some(packet) = packet {
            bytes.extend(packet);
            // A newline after each packet, for line-oriented readers sharing the port.
            bytes.push(b'\n');
        }
    }
    if bytes.is_empty() {
        return Ok(());
    }
    match tokio::time::timeout(WRITE_TIMEOUT, async {
        writer.write_all(&bytes).await?;
        writer.flush().await
    })
    .await
    {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "nobody reads the port",
        )),
    }
}

/// Pending join, polled in the loop below.
async fn joined(
    join: &mut Option<Join>,
) -> Result<wifiprov_wifi::LinkStatus, wifiprov_device::ProvError> {
    match join {
        Some(fut) => fut.await,
        None => std::future::pending().await,
    }
}

async fn serve(
    (mut reader, mut writer): ConsoleIo,
    mut core: Core,
    stop: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut decoder = SerialDecoder::new();
    let mut buf = [0u8; 256];
    let mut join: Option<Join> = None;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return Ok(()),
            outcome = joined(&mut join) => {
                join = None;
                let out = core.join_done(outcome);
                send(&mut *writer, out).await?;
                core.outcome_sent();
            }
            n = reader.read(&mut buf) => {
                let n = n?;
                let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                    tracing::info!("Improv serial: the port closed");
                    return Ok(());
                };
                decoder.push(chunk);
                while let Some(item) = decoder.next_packet() {
                    let rpc = match item {
                        Ok(packet) if packet.kind == PacketType::RpcCommand => {
                            Rpc::decode(&packet.data).map_err(|e| e.to_string())
                        }
                        // Packets only a device sends (an echo, another device): not ours.
                        Ok(_) => continue,
                        Err(e) => Err(e.to_string()),
                    };
                    let out = match rpc {
                        Ok(rpc) => {
                            // While a join runs the machine refuses other credentials.
                            let (mut out, pending) = core.command(rpc).await;
                            if pending.is_some() {
                                join = pending;
                            }
                            let mut all = core.changes();
                            all.append(&mut out);
                            all
                        }
                        Err(why) => {
                            tracing::debug!("Improv serial: {why}");
                            core.reject(ErrorCode::InvalidRpc);
                            core.changes()
                        }
                    };
                    send(&mut *writer, out).await?;
                }
            }
        }
    }
}
