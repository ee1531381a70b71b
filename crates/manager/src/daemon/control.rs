//! The daemon's side of the control socket: requests become inputs of the main loop, events
//! come from its broadcast channel.

use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::report::status_json;
use super::{Input, Runner, policy_networks};
use crate::control::{ControlHandler, Request};
use crate::policy::Policy;
use protocomm::Instant;

pub(super) struct Control {
    pub(super) tx: mpsc::UnboundedSender<Input>,
    /// Taken when the daemon stops, so event streams end with it.
    pub(super) events: std::sync::Mutex<Option<broadcast::Sender<Value>>>,
}

impl ControlHandler for Control {
    fn handle(&self, request: Request) -> wifiprov_wifi::BoxFuture<'static, Result<Value, String>> {
        let tx = self.tx.clone();
        Box::pin(async move {
            let (reply, answer) = tokio::sync::oneshot::channel();
            tx.send(Input::Control(request, reply))
                .map_err(|_| "the manager is stopping".to_string())?;
            answer
                .await
                .map_err(|_| "the manager is stopping".to_string())?
        })
    }

    fn events(&self) -> broadcast::Receiver<Value> {
        match &*self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(events) => events.subscribe(),
            // A receiver of a dropped sender: the stream ends at once.
            None => broadcast::channel(1).1,
        }
    }
}

impl Runner {
    pub(super) fn control(
        &mut self,
        request: Request,
        policy: &mut Policy,
        now: Instant,
    ) -> Result<Value, String> {
        let edited = match request {
            Request::Status => return Ok(status_json(policy, &self.report)),
            Request::ListNetworks => {
                let list: Vec<Value> = self
                    .file
                    .known()
                    .iter()
                    .map(|n| {
                        let (key, name) = crate::networks::ssid_field(&n.ssid);
                        json!({key: name, "open": n.is_open(), "enables_webrepl": n.enables_webrepl})
                    })
                    .collect();
                return Ok(json!({ "networks": list }));
            }
            Request::Rescan => {
                policy.request_rescan(now);
                return Ok(Value::Null);
            }
            Request::Events => return Err("events are streamed by the server".into()),
            Request::AddNetwork { ssid, password, .. } => {
                let ssid = wifiprov_types::Ssid::new(ssid).map_err(|e| e.to_string())?;
                let password = wifiprov_types::Passphrase::new(password.as_bytes())
                    .map_err(|e| e.to_string())?;
                self.file.add_or_promote(&ssid, password).map(|_| ())
            }
            Request::RemoveNetwork { ssid } => {
                if self.file.remove(&ssid) {
                    Ok(())
                } else {
                    return Err(format!("no known network {ssid:?}"));
                }
            }
            Request::ReorderNetworks { ssids } => self.file.reorder(&ssids),
        };
        edited
            .and_then(|()| self.file.save())
            .map_err(|e| e.to_string())?;
        policy.update_networks(now, policy_networks(&self.file));
        Ok(Value::Null)
    }
}
