//! A new call: admission, caller authentication, the caller's SDP offer,
//! media ports, then either the attendant's interpreter decides what
//! happens (when a dialplan is installed) or the dialled extension is
//! rung directly. Also the responses we send on the caller's INVITE and
//! CANCEL handling.

use super::{
    Call, CallKey, CdrEvent, LegA, MediaSide, Outcome, Party, Phase, bridge, ivr, midcall, with_tag,
};
use crate::sdp::{self, Direction, LocalDescription, SdpError};
use crate::{Output, Pbx};
use sip::auth::GuardDecision;
use sip::endpoint::{Endpoint, Peer, ServerTxId};
use sip::message::{Request, Response};
use std::time::Instant;

pub(crate) fn handle_invite(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: Request,
    from: Peer,
) {
    let reject = |ep: &mut Endpoint, status: u16, reason: Option<&str>| {
        let mut resp = Response::for_request(&req, status);
        if let Some(r) = reason {
            resp.reason = r.to_string();
        }
        resp.headers.set(
            "To",
            with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()),
        );
        ep.respond(now, tx, resp);
    };

    // Admission control (the call rate is counted after authentication, below, so a
    // challenged INVITE and its authenticated retry count once).
    if pbx.calls.len() >= pbx.config.max_concurrent_calls {
        let mut resp = Response::for_request(&req, 503);
        resp.headers
            .push("Retry-After", pbx.config.retry_after_secs.to_string());
        resp.headers.set(
            "To",
            with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()),
        );
        tracing::warn!(source = %from.addr, active = pbx.calls.len(), "call refused by admission control");
        ep.respond(now, tx, resp);
        return;
    }

    // Caller: INVITEs from a registered phone must authenticate; others are guests.
    let ip = from.addr.ip();
    let registered_source = pbx
        .bindings
        .values()
        .flatten()
        .any(|b| b.source.addr == from.addr && b.expires_at_ms > wall_ms);
    let (caller, auth_user) = if registered_source {
        if let GuardDecision::Refuse { .. } = pbx.guard.check(ip, now) {
            reject(ep, 403, None);
            return;
        }
        let Some(header) = req.headers.get("Proxy-Authorization").map(str::to_string) else {
            proxy_challenge(pbx, now, ep, tx, &req, false);
            return;
        };
        let directory = pbx.directory.clone();
        let uri = req.uri.to_string();
        match pbx
            .auth
            .verify(now, "INVITE", &uri, &header, |u| directory.credential(u))
        {
            Ok(proof) => {
                pbx.guard.record_success(ip, now);
                let number = match pbx.directory.identity(proof.username()) {
                    Some(id) => id.number,
                    None => proof.username().to_string(),
                };
                (number, Some(proof.username().to_string()))
            }
            Err(failure) => {
                if failure.counts_against_source() {
                    pbx.auth_failed(ip, now);
                }
                tracing::info!(source = %from.addr, reason = %failure, "INVITE authentication failed");
                proxy_challenge(pbx, now, ep, tx, &req, failure.is_stale());
                return;
            }
        }
    } else {
        let user = req
            .headers
            .from()
            .ok()
            .and_then(|f| f.uri.user_unescaped())
            .unwrap_or_else(|| "anonymous".into());
        (user, None)
    };
    if !pbx.rate.admit(now, pbx.config.max_calls_per_second) {
        let mut resp = Response::for_request(&req, 503);
        resp.headers
            .push("Retry-After", pbx.config.retry_after_secs.to_string());
        resp.headers.set(
            "To",
            with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()),
        );
        tracing::warn!(source = %from.addr, "call refused: calls-per-second limit reached");
        ep.respond(now, tx, resp);
        return;
    }
    let dialled = req.uri.user_unescaped().unwrap_or_default();

    // The caller's offer.
    let offer = match sdp::parse_audio(&req.body) {
        Ok(o) => o,
        Err(SdpError::NoCommonCodec(d)) => {
            tracing::info!(detail = %d, "offer has no codec we support");
            reject(ep, 488, Some("Not Acceptable Here (no common codec)"));
            return;
        }
        Err(SdpError::Malformed(d)) => {
            if req.body.is_empty() {
                reject(
                    ep,
                    488,
                    Some("Not Acceptable Here (an SDP offer is required)"),
                );
            } else {
                reject(ep, 400, Some(&format!("Bad Request ({d})")));
            }
            return;
        }
    };
    if sdp::prefer(&offer.codecs, &pbx.config.codecs).is_empty() {
        reject(ep, 488, Some("Not Acceptable Here (no common codec)"));
        return;
    }
    let (Some(a_port), Some(b_port)) = (pbx.ports.allocate(), pbx.ports.allocate()) else {
        tracing::error!("no free RTP ports: refusing the call");
        reject(ep, 503, None);
        return;
    };

    let key = pbx.calls.next_key();
    let (a_leg, b_leg) = (pbx.new_leg(), pbx.new_leg());
    pbx.outputs.push_back(Output::OpenRtp {
        leg: a_leg,
        port: a_port,
    });
    pbx.outputs.push_back(Output::OpenRtp {
        leg: b_leg,
        port: b_port,
    });
    pbx.outputs.push_back(Output::call(CdrEvent::Started {
        call: key,
        call_id: req.headers.call_id().unwrap_or("").to_string(),
        caller: caller.clone(),
        callee: dialled.clone(),
        at_ms: wall_ms,
        origin: crate::CallOrigin::Caller,
    }));
    let ivr = pbx.attendant.as_ref().map(|a| super::Ivr {
        plan: a.plan.clone(),
        prompts: a.prompts.clone(),
        state: dialplan::CallState::new(pbx.mode_override),
        auth_user: auth_user.clone(),
    });
    let call = Call {
        key,
        caller: caller.clone(),
        callee: dialled.clone(),
        started_ms: wall_ms,
        phase: Phase::Ringing,
        a: LegA {
            tx,
            invite: req,
            peer: from,
            tag: ep.new_tag(),
            dialog: None,
            final_sent: false,
            ringing_sent: false,
        },
        forks: Vec::new(),
        b: None,
        ring_deadline: None,
        codec: None,
        a_media: MediaSide {
            telephone_event: offer.telephone_event,
            ..MediaSide::new(a_leg, a_port, offer.rtp)
        },
        b_media: MediaSide::new(b_leg, b_port, None),
        offer,
        early_media: false,
        ivr,
        forking: false,
        attempt: 0,
        pending_ack: None,
        answered_awaiting_ack: false,
        transfer: None,
    };
    let has_ivr = call.ivr.is_some();
    pbx.calls.by_invite.insert(tx, key);
    pbx.calls.calls.insert(key, call);
    tracing::info!(call = key.0, caller = %caller, dialled = %dialled, attendant = has_ivr, "new call");

    if has_ivr {
        ivr::feed(
            pbx,
            now,
            wall_ms,
            ep,
            key,
            dialplan::Event::Offered {
                from: caller,
                to: dialled,
                authenticated_extension: auth_user,
            },
        );
    } else {
        let ring = pbx.config.ring_timeout;
        if let Err(reason) = bridge::start(pbx, now, wall_ms, ep, key, vec![dialled], ring) {
            let (status, outcome) = bridge::fail_status(reason);
            midcall::finish(
                pbx,
                now,
                wall_ms,
                ep,
                key,
                status,
                outcome,
                Some(Party::System),
                None,
            );
        }
    }
}

fn proxy_challenge(
    pbx: &mut Pbx,
    now: Instant,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    stale: bool,
) {
    let mut resp = Response::for_request(req, 407);
    for value in pbx.auth.challenge(now, stale) {
        resp.headers.push("Proxy-Authenticate", value);
    }
    resp.headers.set(
        "To",
        with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()),
    );
    ep.respond(now, tx, resp);
}

/// A response to the caller's INVITE carrying our To tag (and Contact for 1xx/2xx).
pub(crate) fn a_response(pbx: &Pbx, call: &Call, status: u16) -> Response {
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
                pbx.contact_uri(call.a.peer.transport, Some(&call.callee))
            ),
        );
        resp.headers.push("Allow", crate::ALLOW);
    }
    resp
}

/// Our SDP for the caller: one codec, our address and the caller-side port.
pub(crate) fn answer_for_a(
    pbx: &Pbx,
    call: &Call,
    codec: sdp::Codec,
    direction: Direction,
) -> Vec<u8> {
    LocalDescription {
        addr: pbx.config.public_ip,
        port: call.a_media.port,
        codecs: vec![codec],
        telephone_event: call.offer.telephone_event,
        direction,
        session_id: call.key.0,
        version: call.a_media.sdp_version,
        ptime: call.offer.ptime,
    }
    .to_sdp()
}

/// Sends the final 200 to the caller and records the dialog; returns false if already answered.
pub(crate) fn answer_a(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    codec: sdp::Codec,
    direction: Direction,
) -> bool {
    let Some(call) = pbx.calls.calls.get(&key) else {
        return false;
    };
    if call.a.final_sent {
        return false;
    }
    let mut ok = a_response(pbx, call, 200);
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = answer_for_a(pbx, call, codec, direction);
    let a_dialog = sip::dialog::Dialog::new_uas(&call.a.invite, &ok).ok();
    let a_tx = call.a.tx;
    let a_call_id = call.a.invite.headers.call_id().unwrap_or("").to_string();
    let a_tag = call.a.tag.clone();
    ep.respond(now, a_tx, ok);
    let call = pbx.calls.calls.get_mut(&key).expect("exists");
    call.a.dialog = a_dialog;
    call.a.final_sent = true;
    call.phase = Phase::Answered;
    pbx.calls
        .by_dialog
        .insert((a_call_id, a_tag), (key, super::Side::A));
    pbx.outputs.push_back(Output::call(CdrEvent::Answered {
        call: key,
        at_ms: wall_ms,
    }));
    true
}

pub(crate) fn on_cancel(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    invite: ServerTxId,
) {
    let Some(key) = pbx.calls.by_invite.get(&invite).copied() else {
        return;
    };
    let Some(call) = pbx.calls.calls.get(&key) else {
        return;
    };
    if call.phase != Phase::Ringing {
        return;
    }
    tracing::info!(call = key.0, "caller cancelled");
    midcall::finish(
        pbx,
        now,
        wall_ms,
        ep,
        key,
        487,
        Outcome::Cancelled,
        Some(Party::Caller),
        None,
    );
}
