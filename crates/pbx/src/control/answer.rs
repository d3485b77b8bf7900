//! Answering the caller: the responses we send on the caller's INVITE (with
//! our To tag, and Contact on 1xx/2xx), our SDP for the caller's leg, and the
//! final 200 that creates the caller's dialog.

use super::Core;
use super::calls::{Call, Phase, Side};
use crate::headers::with_tag;
use crate::sdp::{self, Direction, LocalDescription};
use crate::{CallKey, CdrEvent, Output};
use sip::endpoint::Endpoint;
use sip::message::Response;
use std::time::Instant;

/// A response to the caller's INVITE carrying our To tag (and Contact for 1xx/2xx).
pub(crate) fn a_response(core: &Core, call: &Call, status: u16) -> Response {
    let mut resp = Response::for_request(&call.a.invite, status);
    resp.headers.set(
        "To",
        with_tag(call.a.invite.headers.get("To").unwrap_or(""), &call.a.tag),
    );
    if status < 300 {
        resp.headers.push(
            "Contact",
            format!(
                "<{}>",
                core.contact_uri(call.a.peer.transport, Some(&call.callee))
            ),
        );
        resp.headers.push("Allow", crate::ALLOW);
    }
    resp
}

/// Our SDP for the caller: one codec, our address and the caller-side port, in
/// the slot of the caller's offer's audio stream among its other m= lines.
pub(crate) fn answer_for_a(
    core: &Core,
    call: &Call,
    codec: sdp::Codec,
    direction: Direction,
) -> Vec<u8> {
    LocalDescription {
        addr: core.config.public_ip,
        port: call.a_media.sdp_port(),
        codecs: vec![codec],
        telephone_event: call.offer.telephone_event,
        direction,
        session_id: call.key.0,
        version: call.a_media.sdp_version,
        ptime: call.offer.ptime,
        answering: Some(call.offer.layout.clone()),
    }
    .to_sdp()
}

/// Sends the final 200 to the caller and records the dialog; returns false if already answered.
pub(crate) fn answer_a(
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    codec: sdp::Codec,
    direction: Direction,
) -> bool {
    let Some(call) = core.calls.calls.get(&key) else {
        return false;
    };
    if call.final_sent() {
        return false;
    }
    let mut ok = a_response(core, call, 200);
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = answer_for_a(core, call, codec, direction);
    let a_dialog = sip::dialog::Dialog::new_uas(&call.a.invite, &ok).ok();
    let a_tx = call.a.tx;
    let a_call_id = call.a.invite.headers.call_id().unwrap_or("").to_string();
    let a_tag = call.a.tag.clone();
    ep.respond(now, a_tx, ok);
    let call = core.calls.calls.get_mut(&key).expect("exists");
    call.a.dialog = a_dialog;
    call.phase = Phase::Answered;
    core.calls
        .by_dialog
        .insert((a_call_id, a_tag), (key, Side::A));
    core.outputs.push_back(Output::call(CdrEvent::Answered {
        call: key,
        at_ms: wall_ms,
    }));
    true
}
