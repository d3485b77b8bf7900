//! Inside an established call: BYE from either side ends both legs;
//! re-INVITE (hold/unhold), UPDATE and INFO are forwarded to the other leg
//! with SDP rewritten to our media address, and the other leg's final
//! answer is relayed back.

use super::calls::{Call, PendingAck, Phase, Purpose, Side};
use super::features::{Features, Turn};
use super::release::{maybe_remove, release_media};
use super::{Core, answer};
use crate::sdp::{self, LocalDescription};
use crate::{CallKey, CdrEvent, Outcome, Output, Party};
use media::MediaCommand;
use sip::endpoint::{ClientTxId, Endpoint, Peer, ServerTxId};
use sip::message::{Method, Request, Response};
use std::time::Instant;

#[allow(clippy::too_many_arguments)]
pub(crate) fn handle_in_dialog(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: Request,
    _from: Peer,
) {
    let call_id = req.headers.call_id().unwrap_or("").to_string();
    let to_tag = req
        .headers
        .to()
        .ok()
        .and_then(|t| t.tag().map(str::to_string))
        .unwrap_or_default();
    let id = (call_id.clone(), to_tag.clone());
    let Some((key, side)) = core.calls.by_dialog.get(&id).copied() else {
        // A BYE crossing the one we sent in a dialog we ended is simply confirmed.
        let ended = core.calls.ended_dialogs.contains_key(&id);
        let status = if ended && req.method == Method::Bye {
            200
        } else {
            481
        };
        ep.respond(now, tx, Response::for_request(&req, status));
        return;
    };
    if side == Side::B
        && f.stray_request(
            core,
            &mut Turn { now, wall_ms, ep },
            tx,
            &req,
            key,
            &call_id,
            &to_tag,
        )
    {
        return;
    }
    if let Err(status) = accept(core, key, side, &req) {
        ep.respond(now, tx, Response::for_request(&req, status));
        return;
    }
    let call = core.calls.calls.get_mut(&key).expect("accepted");
    match req.method {
        Method::Bye => {
            ep.respond(now, tx, Response::for_request(&req, 200));
            tracing::info!(call = key.0, by = side.party().as_str(), "hung up");
            finish(
                core,
                f,
                now,
                wall_ms,
                ep,
                key,
                487,
                Outcome::Answered,
                Some(side.party()),
                Some(side),
            );
        }
        Method::Ack => {}
        Method::Refer => f.refer(core, &mut Turn { now, wall_ms, ep }, tx, req, key, side),
        Method::Notify => ep.respond(now, tx, Response::for_request(&req, 200)),
        Method::Info if side == Side::A && call.b.is_none() && f.listens(key) => {
            // The attendant is listening: SIP INFO carries the caller's digits (RFC 2976 style).
            let leg = call.a_media.leg;
            if let Some(digit) = info_digit(now, ep, tx, &req) {
                f.digit(core, &mut Turn { now, wall_ms, ep }, leg, digit);
            }
        }
        _ if call.b.is_none() => {
            // Nothing to forward to (the attendant answered): accept refreshes, refuse the rest.
            let status = if req.method == Method::Invite || req.method == Method::Update {
                488
            } else {
                200
            };
            ep.respond(now, tx, Response::for_request(&req, status));
        }
        Method::Invite if side == Side::B => {
            if !f.callee_reinvite(core, &mut Turn { now, wall_ms, ep }, tx, &req, key) {
                forward(core, now, ep, key, side, tx, req);
            }
        }
        _ => forward(core, now, ep, key, side, tx, req),
    }
}

/// Checks a request against the dialog of `side` of call `key` (CSeq order, target
/// refresh): the status to refuse it with, 481 when that leg or the call is over.
fn accept(core: &mut Core, key: CallKey, side: Side, req: &Request) -> Result<(), u16> {
    let call = core.calls.calls.get_mut(&key).ok_or(481u16)?;
    let dialog = match side {
        Side::A => call.a.dialog.as_mut(),
        Side::B => call.b.as_mut().map(|b| &mut b.dialog),
    };
    match dialog {
        Some(d) => d.accept_incoming(req)?,
        // A B-side request with no B leg now: a dialog that ended (a transferor's, or
        // a forked answer we let go) while the call goes on.
        None if side == Side::B => return Err(481),
        None => {}
    }
    if call.phase == Phase::Ended {
        return Err(481);
    }
    Ok(())
}

/// The digit of a SIP INFO (`application/dtmf-relay` or `application/dtmf`), answered
/// 200; any other body is answered 415 and gives no digit.
fn info_digit(now: Instant, ep: &mut Endpoint, tx: ServerTxId, req: &Request) -> Option<char> {
    let content_type = req.headers.get("Content-Type").unwrap_or("");
    let body = String::from_utf8_lossy(&req.body);
    match media::dtmf::parse_sip_info(content_type, &body) {
        Ok(dtmf) => {
            ep.respond(now, tx, Response::for_request(req, 200));
            Some(dtmf.digit)
        }
        Err(e) => {
            let mut resp = Response::for_request(req, 415);
            resp.reason = format!("Unsupported Media Type ({e})");
            resp.headers
                .push("Accept", "application/dtmf-relay, application/dtmf");
            ep.respond(now, tx, resp);
            None
        }
    }
}

/// Sends `req` (from `side`) on to the other leg.
fn forward(
    core: &mut Core,
    now: Instant,
    ep: &mut Endpoint,
    key: CallKey,
    side: Side,
    tx: ServerTxId,
    req: Request,
) {
    let public_ip = core.config.public_ip;
    let call = core.calls.calls.get_mut(&key).expect("caller checked");
    let other_dialog = match side {
        Side::A => call.b.as_mut().map(|b| (&mut b.dialog, b.peer)),
        Side::B => call.a.dialog.as_mut().map(|d| (d, call.a.peer)),
    };
    let Some((dialog, peer)) = other_dialog else {
        ep.respond(now, tx, Response::for_request(&req, 491));
        return;
    };
    let mut out = dialog.new_request(req.method.clone());
    for name in [
        "Content-Type",
        "Event",
        "Subscription-State",
        "Refer-To",
        "Referred-By",
        "Supported",
        "Require",
    ] {
        if let Some(v) = req.headers.get(name) {
            out.headers.push(name, v.to_string());
        }
    }
    out.body = req.body.clone();
    let is_sdp = req
        .headers
        .get("Content-Type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/sdp"));
    if is_sdp && let Ok(offer) = sdp::parse_audio(&req.body) {
        out.body = relay_description(&mut core.outputs, public_ip, call, key, side, &offer, None);
    }
    if out.method == Method::Invite || out.method == Method::Update {
        let contact = core.contact_uri(peer.transport, None);
        out.headers.set("Contact", format!("<{contact}>"));
    }
    let ctx = ep.send_request(now, out, peer);
    core.calls.by_client.insert(
        ctx,
        (
            key,
            Purpose::Forward {
                origin: tx,
                origin_side: side,
                origin_req: Box::new(req),
            },
        ),
    );
}

pub(crate) fn on_forward_response(
    core: &mut Core,
    now: Instant,
    _wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    tx: ClientTxId,
    resp: Response,
) {
    if resp.status < 200 {
        return;
    }
    let Some((
        _,
        Purpose::Forward {
            origin,
            origin_side,
            origin_req,
        },
    )) = core.calls.by_client.remove(&tx)
    else {
        return;
    };
    let public_ip = core.config.public_ip;
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return;
    };
    // We are the UAC towards the other leg and acknowledge its 2xx to a re-INVITE. A
    // re-INVITE without SDP (delayed offer) gets the offer in this 2xx; the answer comes
    // in the originator's ACK, so our ACK waits for it (RFC 3264 §5, RFC 3261 §13.2.2.4).
    if resp.is_success() && origin_req.method == Method::Invite {
        let other_side = match origin_side {
            Side::A => Side::B,
            Side::B => Side::A,
        };
        if let Ok(cseq) = resp.headers.cseq() {
            if origin_req.body.is_empty() && !resp.body.is_empty() {
                call.pending_ack = Some(PendingAck {
                    side: other_side,
                    cseq: cseq.seq,
                    offer: sdp::parse_audio(&resp.body).ok().map(|o| o.layout),
                });
            } else {
                let other = match origin_side {
                    Side::A => call.b.as_ref().map(|b| (&b.dialog, b.peer)),
                    Side::B => call.a.dialog.as_ref().map(|d| (d, call.a.peer)),
                };
                if let Some((d, peer)) = other {
                    ep.send_ack(d.ack_for(cseq.seq), peer);
                }
            }
        }
    }
    let mut back = Response::for_request(&origin_req, resp.status);
    back.reason = resp.reason.clone();
    let is_sdp = resp
        .headers
        .get("Content-Type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/sdp"));
    if is_sdp && let Ok(answer) = sdp::parse_audio(&resp.body) {
        let responder = match origin_side {
            Side::A => Side::B,
            Side::B => Side::A,
        };
        back.headers.push("Content-Type", "application/sdp");
        // An answer to the originator's offer keeps that offer's m= lines.
        let offered = sdp::parse_audio(&origin_req.body).ok().map(|o| o.layout);
        back.body = relay_description(
            &mut core.outputs,
            public_ip,
            call,
            key,
            responder,
            &answer,
            offered,
        );
    } else if !resp.body.is_empty() {
        if let Some(ct) = resp.headers.get("Content-Type") {
            back.headers.push("Content-Type", ct.to_string());
        }
        back.body = resp.body.clone();
    }
    if resp.is_success()
        && (origin_req.method == Method::Invite || origin_req.method == Method::Update)
    {
        let transport = match origin_side {
            Side::A => call.a.peer.transport,
            Side::B => call
                .b
                .as_ref()
                .map(|b| b.peer.transport)
                .unwrap_or(call.a.peer.transport),
        };
        let contact = core.contact_uri(transport, None);
        back.headers.push("Contact", format!("<{contact}>"));
    }
    ep.respond(now, origin, back);
}

pub(crate) fn on_forward_timeout(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    tx: ClientTxId,
) {
    let Some((
        _,
        Purpose::Forward {
            origin, origin_req, ..
        },
    )) = core.calls.by_client.remove(&tx)
    else {
        return;
    };
    ep.respond(now, origin, Response::for_request(&origin_req, 408));
    if origin_req.method == Method::Invite {
        tracing::warn!(
            call = key.0,
            "re-INVITE got no answer from the other side: hanging up"
        );
        hangup(core, f, now, wall_ms, ep, key, Party::System);
    }
}

/// Ends a call in whatever state it is: cancels what still rings, answers an
/// unanswered caller with `status`, sends BYE to every answered leg except
/// `skip` (which hung up itself), frees media and writes the record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    status: u16,
    outcome: Outcome,
    by: Option<Party>,
    skip: Option<Side>,
) {
    let Some(call) = core.calls.calls.get(&key) else {
        return;
    };
    if call.phase == Phase::Ended {
        return;
    }
    let pending: Vec<ClientTxId> = call
        .forks
        .iter()
        .filter(|f| f.final_status.is_none())
        .map(|f| f.tx)
        .collect();
    for tx in pending {
        ep.cancel(now, tx);
    }
    if !call.final_sent() {
        let resp = answer::a_response(core, call, status);
        ep.respond(now, call.a.tx, resp);
    }
    let call = core.calls.calls.get_mut(&key).expect("exists");
    let mut byes = Vec::new();
    if call.final_sent()
        && skip != Some(Side::A)
        && let Some(d) = call.a.dialog.as_mut()
    {
        byes.push((d.new_request(Method::Bye), call.a.peer));
    }
    if skip != Some(Side::B)
        && let Some(b) = call.b.as_mut()
    {
        byes.push((b.dialog.new_request(Method::Bye), b.peer));
    }
    call.phase = Phase::Ended;
    call.ringing_until = None;
    for (bye, peer) in byes {
        let ctx = ep.send_request(now, bye, peer);
        core.calls.by_client.insert(ctx, (key, Purpose::Fire));
    }
    core.outputs.push_back(Output::call(CdrEvent::Ended {
        call: key,
        at_ms: wall_ms,
        outcome,
        hangup_by: by,
    }));
    f.ending(core, &mut Turn { now, wall_ms, ep }, key);
    release_media(core, key);
    f.ended(core, &mut Turn { now, wall_ms, ep }, key);
    maybe_remove(core, key);
}

/// Hangs a call up from the PBX side, whatever its state.
pub(crate) fn hangup(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    by: Party,
) {
    let Some(call) = core.calls.calls.get(&key) else {
        return;
    };
    let outcome = if call.final_sent() {
        Outcome::Answered
    } else {
        Outcome::Failed
    };
    finish(core, f, now, wall_ms, ep, key, 503, outcome, Some(by), None);
}

/// Hangs up every call (shutdown).
pub(crate) fn hangup_all(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
) {
    let keys: Vec<CallKey> = core.calls.calls.keys().copied().collect();
    for key in keys {
        hangup(core, f, now, wall_ms, ep, key, Party::System);
    }
}

/// An ACK for a 2xx arrived (no transaction): if it completes a delayed-offer
/// re-INVITE, its SDP answer is rewritten and carried on in our ACK.
pub(crate) fn on_ack(
    core: &mut Core,
    key: CallKey,
    from_side: Side,
    ack: &Request,
    ep: &mut Endpoint,
) {
    let public_ip = core.config.public_ip;
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return;
    };
    if call
        .pending_ack
        .as_ref()
        .is_none_or(|pending| pending.side == from_side)
    {
        return;
    }
    let Some(pending) = call.pending_ack.take() else {
        return;
    };
    let answer = sdp::parse_audio(&ack.body).ok();
    let body = answer.map(|answer| {
        relay_description(
            &mut core.outputs,
            public_ip,
            call,
            key,
            from_side,
            &answer,
            pending.offer,
        )
    });
    let target = match pending.side {
        Side::A => call.a.dialog.as_ref().map(|d| (d, call.a.peer)),
        Side::B => call.b.as_ref().map(|b| (&b.dialog, b.peer)),
    };
    if let Some((d, peer)) = target {
        let mut our_ack = d.ack_for(pending.cseq);
        if let Some(body) = body {
            our_ack.headers.push("Content-Type", "application/sdp");
            our_ack.body = body;
        }
        ep.send_ack(our_ack, peer);
    }
}

/// The peer on side `from` described its media (`desc`, an offer or an
/// answer): point that leg's RTP at it and write our description of the other
/// leg for the other peer (its port, the call's codec, the peer's direction).
/// `answering` is the m= layout of the offer that description answers, if it
/// is an answer (RFC 3264 §6), `None` for an offer.
fn relay_description(
    outputs: &mut std::collections::VecDeque<Output>,
    public_ip: std::net::IpAddr,
    call: &mut Call,
    key: CallKey,
    from: Side,
    desc: &sdp::AudioOffer,
    answering: Option<sdp::Layout>,
) -> Vec<u8> {
    let codec = call
        .codec
        .or(desc.codecs.first().copied())
        .unwrap_or(sdp::Codec::Pcmu);
    let (from_media, to_media) = match from {
        Side::A => (&mut call.a_media, &mut call.b_media),
        Side::B => (&mut call.b_media, &mut call.a_media),
    };
    from_media.remote = desc.rtp;
    outputs.push_back(Output::Media(MediaCommand::UpdateRemote {
        leg: from_media.leg,
        remote: desc.rtp,
    }));
    to_media.sdp_version += 1;
    LocalDescription {
        addr: public_ip,
        port: to_media.sdp_port(),
        codecs: vec![codec],
        telephone_event: to_media.telephone_event,
        direction: desc.direction,
        session_id: key.0,
        version: to_media.sdp_version,
        ptime: desc.ptime,
        answering,
    }
    .to_sdp()
}
