//! Security 0: a single plaintext exchange that only checks the scheme number.

use alloc::vec::Vec;
use wifiprov_proto::sec0::{
    S0SessionCmd, S0SessionResp, Sec0MsgType, Sec0Payload, sec0_payload::Payload,
};
use wifiprov_proto::session::session_data::Proto;

use super::{expect_success, open_envelope, seal_envelope, sec0_payload};
use crate::error::{Error, Result};

/// Device role: answers any security 0 session command.
pub(crate) fn device_handle(request: &[u8]) -> Result<Vec<u8>> {
    let payload = sec0_payload(open_envelope(request, 0)?)?;
    if payload.msg != Sec0MsgType::S0SessionCommand as i32 {
        return Err(Error::UnexpectedMessage {
            expected: "S0_Session_Command",
            got: payload.msg,
        });
    }
    Ok(seal_envelope(Proto::Sec0(Sec0Payload {
        msg: Sec0MsgType::S0SessionResponse as i32,
        payload: Some(Payload::Sr(S0SessionResp { status: 0 })),
    })))
}

/// Client role: the session command.
pub(crate) fn client_request() -> Vec<u8> {
    seal_envelope(Proto::Sec0(Sec0Payload {
        msg: Sec0MsgType::S0SessionCommand as i32,
        payload: Some(Payload::Sc(S0SessionCmd {})),
    }))
}

/// Client role: checks the device's answer.
pub(crate) fn client_check(response: &[u8]) -> Result<()> {
    let payload = sec0_payload(open_envelope(response, 0)?)?;
    if payload.msg != Sec0MsgType::S0SessionResponse as i32 {
        return Err(Error::UnexpectedMessage {
            expected: "S0_Session_Response",
            got: payload.msg,
        });
    }
    match payload.payload {
        Some(Payload::Sr(sr)) => expect_success(sr.status),
        _ => Err(Error::MissingPayload { msg: payload.msg }),
    }
}
