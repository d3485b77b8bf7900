//! Call transfer by REFER (RFC 3515), from the called party's phone (the
//! operator who answered a queued caller, or any extension that was called).
//!
//! - **Blind**: `Refer-To: <sip:201@pbx>`. We answer 202, tell the transferor
//!   `100 Trying` in a NOTIFY (message/sipfrag), move the transferor's leg
//!   aside and ring the target for the caller (who hears ringback). When the
//!   target answers, the caller is bridged to it, the transferor gets the
//!   final NOTIFY `200 OK` and a BYE. When the target is busy or does not
//!   answer, the transferor gets the failure in the final NOTIFY and a BYE,
//!   and the caller hears `transfer_failed` and goes back to the head of the
//!   operator queue (callers who never were in the queue are hung up).
//! - **Attended**: `Refer-To: <sip:201@pbx?Replaces=...>` names the
//!   transferor's second call (to the target). The caller and the target,
//!   who are the far ends of the transferor's two calls, are bridged to each
//!   other in our media engine (no re-INVITE: both already send RTP to our
//!   ports), and both of the transferor's legs end.
//!
//! Malformed, self-referencing or unsupported REFERs get an error response
//! and the call stays as it was.

use super::Apps;
use super::queue_glue as queue;
use super::replaces::{Replaces, parse_replaces};
use crate::control::calls::{MediaSide, Phase, Purpose, Side, Transferor};
use crate::control::release::release_side;
use crate::control::{Core, bridge, midcall};
use crate::queue::view::{TransferKind, TransferNote, TransferResult};
use crate::{CallKey, LegRole, Outcome, Output, Party};
use dialplan::FailReason;
use media::MediaCommand;
use sip::endpoint::{Endpoint, ServerTxId};
use sip::message::{Method, NameAddr, Request, Response, Uri};
use std::time::Instant;

/// Why a REFER is refused.
fn refuse(ep: &mut Endpoint, now: Instant, tx: ServerTxId, req: &Request, status: u16, why: &str) {
    tracing::info!(status, reason = why, "REFER refused");
    let mut resp = Response::for_request(req, status);
    resp.reason = format!("{} ({why})", resp.reason);
    ep.respond(now, tx, resp);
}

/// A REFER inside the dialog of `side` of call `key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn on_refer(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: Request,
    key: CallKey,
    side: Side,
) {
    let refer_to = req.headers.get_all("Refer-To");
    let [refer_to] = refer_to.as_slice() else {
        let why = format!(
            "expected exactly one Refer-To header, found {}",
            refer_to.len()
        );
        return refuse(ep, now, tx, &req, 400, &why);
    };
    let Ok(target) = NameAddr::parse(refer_to)
        .map(|na| na.uri)
        .or_else(|_| Uri::parse(refer_to.trim()))
    else {
        return refuse(ep, now, tx, &req, 400, "Refer-To is not a SIP URI");
    };
    if !matches!(
        target.scheme,
        sip::message::Scheme::Sip | sip::message::Scheme::Sips
    ) {
        return refuse(ep, now, tx, &req, 416, "Refer-To must be a sip: URI");
    }
    let replaces = match target.headers.as_deref().map(parse_replaces).transpose() {
        Ok(r) => r.flatten(),
        Err(why) => return refuse(ep, now, tx, &req, 400, &why),
    };
    let Some(call) = core.calls.calls.get(&key) else {
        return refuse(ep, now, tx, &req, 481, "no such call");
    };
    if call.phase != Phase::Answered || call.b.is_none() {
        return refuse(ep, now, tx, &req, 491, "the call is not connected");
    }
    if call.transfer.is_some() || call.ringing_until.is_some() {
        return refuse(ep, now, tx, &req, 491, "a transfer is already in progress");
    }
    if let Some(replaces) = replaces {
        return attended(apps, core, now, wall_ms, ep, tx, &req, key, side, &replaces);
    }
    if side != Side::B {
        return refuse(
            ep,
            now,
            tx,
            &req,
            403,
            "only the called party can transfer the caller",
        );
    }
    let Some(number) = target.user_unescaped().filter(|n| !n.is_empty()) else {
        return refuse(ep, now, tx, &req, 400, "Refer-To has no number to call");
    };
    let transferor = transferor_name(apps, core, key);
    let own = [
        core.operator_position(),
        call.callee.clone(),
        transferor.clone(),
    ];
    if own.contains(&number) {
        return refuse(
            ep,
            now,
            tx,
            &req,
            400,
            "Refer-To points at the transferring party",
        );
    }
    if number == call.caller {
        return refuse(
            ep,
            now,
            tx,
            &req,
            400,
            "Refer-To points at the caller being transferred",
        );
    }
    blind(
        apps, core, now, wall_ms, ep, tx, &req, key, number, transferor,
    );
}

/// Who transfers: the operator's account when an operator answered, else the called number.
fn transferor_name(apps: &Apps, core: &Core, key: CallKey) -> String {
    queue::operator_of(apps, key)
        .or_else(|| core.calls.calls.get(&key).map(|c| c.callee.clone()))
        .unwrap_or_default()
}

fn accept(ep: &mut Endpoint, now: Instant, tx: ServerTxId, req: &Request) {
    let resp = Response::for_request(req, 202);
    ep.respond(now, tx, resp);
}

#[allow(clippy::too_many_arguments)]
fn blind(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    key: CallKey,
    number: String,
    by: String,
) {
    let Some(port) = core.ports.allocate() else {
        return refuse(ep, now, tx, req, 503, "no free RTP port for the new leg");
    };
    accept(ep, now, tx, req);
    let leg = core.new_leg();
    core.outputs.push_back(Output::OpenRtp { leg, port });
    let call = core.calls.calls.get_mut(&key).expect("checked by on_refer");
    let b = call.b.take().expect("checked by on_refer");
    let old_media = std::mem::replace(&mut call.b_media, MediaSide::new(leg, port, None));
    let a_leg = call.a_media.leg;
    core.outputs
        .push_back(Output::Media(MediaCommand::Unbridge(a_leg)));
    call.transfer = Some(Transferor {
        dialog: b.dialog,
        peer: b.peer,
        media: old_media,
        target: number.clone(),
        by: by.clone(),
        gone: false,
    });
    tracing::info!(call = key.0, by = %by, to = %number, "blind transfer");
    notify(core, now, ep, key, "SIP/2.0 100 Trying", false);
    queue::transfer_started(
        apps,
        core,
        key,
        TransferNote {
            kind: TransferKind::Blind,
            by,
            to: number.clone(),
            at_ms: wall_ms,
            result: None,
        },
    );
    let ring = core.config.ring_timeout;
    if let Err(reason) = bridge::start(core, &*apps, now, wall_ms, ep, key, vec![number], ring) {
        failed(apps, core, now, wall_ms, ep, key, reason);
    }
}

/// Sends a NOTIFY with the sipfrag `status_line` to the transferor (if still there).
fn notify(
    core: &mut Core,
    now: Instant,
    ep: &mut Endpoint,
    key: CallKey,
    status_line: &str,
    last: bool,
) {
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return;
    };
    let Some(t) = call.transfer.as_mut().filter(|t| !t.gone) else {
        return;
    };
    let mut n = t.dialog.new_request(Method::Notify);
    n.headers.push("Event", "refer");
    n.headers.push(
        "Subscription-State",
        if last {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        },
    );
    n.headers
        .push("Content-Type", "message/sipfrag;version=2.0");
    let peer = t.peer;
    n.body = format!("{status_line}\r\n").into_bytes();
    let contact = core.contact_uri(peer.transport, None);
    n.headers.push("Contact", format!("<{contact}>"));
    let ctx = ep.send_request(now, n, peer);
    core.calls.by_client.insert(ctx, (key, Purpose::Fire));
}

/// The transfer target answered: the caller is connected; the transferor is told and let go.
pub(crate) fn answered(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    tracing::info!(call = key.0, "transfer completed");
    notify(core, now, ep, key, "SIP/2.0 200 OK", true);
    queue::transfer_result(apps, core, key, TransferResult::Connected);
    end_transferor(apps, core, now, wall_ms, ep, key, true);
}

/// The transfer target did not take the call.
pub(crate) fn failed(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    reason: FailReason,
) {
    let line = match reason {
        FailReason::Busy => "SIP/2.0 486 Busy Here",
        FailReason::NoAnswer => "SIP/2.0 408 Request Timeout",
        FailReason::Unavailable => "SIP/2.0 480 Temporarily Unavailable",
        FailReason::NotFound => "SIP/2.0 404 Not Found",
        FailReason::DoNotDisturb => "SIP/2.0 486 Busy Here",
        FailReason::Restricted => "SIP/2.0 403 Forbidden",
        FailReason::Gone => "SIP/2.0 410 Gone",
    };
    tracing::info!(call = key.0, ?reason, "transfer failed");
    notify(core, now, ep, key, line, true);
    queue::transfer_result(apps, core, key, TransferResult::Failed(reason));
    let Some(call) = core.calls.calls.get(&key) else {
        return;
    };
    let leg = call.a_media.leg;
    let back_to = queue::queue_of(apps, key);
    match back_to {
        Some(queue_name) => {
            // Back at the head first, so the operator freed next takes this caller.
            queue::return_to_head(
                apps,
                core,
                now,
                wall_ms,
                ep,
                key,
                &queue_name,
                Some("transfer_failed"),
            );
            end_transferor(apps, core, now, wall_ms, ep, key, true);
        }
        None => {
            // Not a queued caller: nobody to return to.
            end_transferor(apps, core, now, wall_ms, ep, key, true);
            core.outputs
                .push_back(Output::Media(MediaCommand::StopMoh(leg)));
            midcall::finish(
                core,
                apps,
                now,
                wall_ms,
                ep,
                key,
                480,
                Outcome::Answered,
                Some(Party::System),
                None,
            );
        }
    }
}

/// Ends the transferor's leg: BYE (unless they already hung up) and its media.
pub(crate) fn end_transferor(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    send_bye: bool,
) {
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return;
    };
    let Some(mut t) = call.transfer.take() else {
        return;
    };
    // The transferor's dialog is over: a BYE crossing ours gets 200, the rest 481.
    let id = (t.dialog.id.call_id.clone(), t.dialog.id.local_tag.clone());
    core.calls.by_dialog.remove(&id);
    core.calls.ended_dialogs.insert(id, key);
    if send_bye && !t.gone {
        let bye = t.dialog.new_request(Method::Bye);
        let ctx = ep.send_request(now, bye, t.peer);
        core.calls.by_client.insert(ctx, (key, Purpose::Fire));
    }
    tracing::info!(call = key.0, by = %t.by, to = %t.target, "transferor's leg ended");
    release_side(core, key, t.media, LegRole::Transferor);
    queue::operator_released(apps, core, now, wall_ms, ep, key);
}

/// A request from the transferor inside their (set aside) dialog. Returns false if
/// `req` does not belong to a transferor's dialog of `key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn on_transferor_request(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    key: CallKey,
    call_id: &str,
    to_tag: &str,
) -> bool {
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return false;
    };
    let Some(t) = call.transfer.as_mut() else {
        return false;
    };
    if t.dialog.id.call_id != call_id || t.dialog.id.local_tag != to_tag {
        return false;
    }
    if let Err(status) = t.dialog.accept_incoming(req) {
        ep.respond(now, tx, Response::for_request(req, status));
        return true;
    }
    match req.method {
        Method::Bye => {
            ep.respond(now, tx, Response::for_request(req, 200));
            tracing::info!(call = key.0, "transferor hung up; the transfer goes on");
            t.gone = true;
            let leg = t.media.leg;
            let media = std::mem::replace(&mut t.media, MediaSide::moved_away(leg));
            release_side(core, key, media, LegRole::Transferor);
            queue::operator_released(apps, core, now, wall_ms, ep, key);
        }
        Method::Ack => {}
        Method::Invite | Method::Update => {
            ep.respond(now, tx, Response::for_request(req, 488));
        }
        _ => ep.respond(now, tx, Response::for_request(req, 200)),
    }
    true
}

/// The two calls of an attended transfer: the one to keep (the transferor is its called
/// party) and the donor (the call the transferor placed, whose far end moves over), or
/// the status and reason to refuse the REFER with.
fn pair_calls(
    core: &Core,
    key: CallKey,
    side: Side,
    replaces: &Replaces,
) -> Result<(CallKey, CallKey), (u16, &'static str)> {
    // The replaced dialog is ours towards the transferor: its local tag is one of the two.
    let found = [&replaces.to_tag, &replaces.from_tag]
        .into_iter()
        .find_map(|tag| {
            core.calls
                .by_dialog
                .get(&(replaces.call_id.clone(), tag.clone()))
                .copied()
        });
    let Some((other, other_side)) = found else {
        return Err((481, "the call named in Replaces does not exist"));
    };
    if other == key {
        return Err((400, "Replaces names the call the REFER came in"));
    }
    // Keep the call where the transferor is the called party (B) and take the far end
    // (B) of the call the transferor placed (A).
    let (keep, donor) = match (side, other_side) {
        (Side::B, Side::A) => (key, other),
        (Side::A, Side::B) => (other, key),
        _ => {
            return Err((
                501,
                "attended transfer needs one call answered by and one call placed by the transferor",
            ));
        }
    };
    let ready = |k: CallKey| {
        core.calls
            .calls
            .get(&k)
            .is_some_and(|c| c.phase == Phase::Answered && c.b.is_some() && c.transfer.is_none())
    };
    if !ready(keep) || !ready(donor) {
        return Err((491, "both calls must be connected"));
    }
    Ok((keep, donor))
}

/// REFER with Replaces: connect the far ends of the transferor's two calls.
#[allow(clippy::too_many_arguments)]
fn attended(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    key: CallKey,
    side: Side,
    replaces: &Replaces,
) {
    let (keep, donor) = match pair_calls(core, key, side, replaces) {
        Ok(pair) => pair,
        Err((status, why)) => return refuse(ep, now, tx, req, status, why),
    };
    accept(ep, now, tx, req);
    let by = transferor_name(apps, core, keep);
    let donor_call = core.calls.calls.get_mut(&donor).expect("checked");
    let target = donor_call.callee.clone();
    let new_b = donor_call.b.take().expect("checked");
    let donor_b_leg = donor_call.b_media.leg;
    let new_b_media =
        std::mem::replace(&mut donor_call.b_media, MediaSide::moved_away(donor_b_leg));
    let donor_a_leg = donor_call.a_media.leg;
    let new_b_id = (
        new_b.dialog.id.call_id.clone(),
        new_b.dialog.id.local_tag.clone(),
    );
    // The kept call's transferor leg is set aside (for the final NOTIFY), its B becomes the target.
    let keep_call = core.calls.calls.get_mut(&keep).expect("checked");
    let old_b = keep_call.b.replace(new_b).expect("checked");
    let old_media = std::mem::replace(&mut keep_call.b_media, new_b_media);
    let a_leg = keep_call.a_media.leg;
    let b_leg = keep_call.b_media.leg;
    keep_call.transfer = Some(Transferor {
        dialog: old_b.dialog,
        peer: old_b.peer,
        media: old_media,
        target: target.clone(),
        by: by.clone(),
        gone: false,
    });
    core.calls.by_dialog.insert(new_b_id, (keep, Side::B));
    for cmd in [
        MediaCommand::StopMoh(a_leg),
        MediaCommand::StopPlay(a_leg),
        MediaCommand::Unbridge(donor_a_leg),
        MediaCommand::Bridge(a_leg, b_leg),
    ] {
        core.outputs.push_back(Output::Media(cmd));
    }
    tracing::info!(call = keep.0, replaced = donor.0, by = %by, to = %target, "attended transfer");
    queue::transfer_started(
        apps,
        core,
        keep,
        TransferNote {
            kind: TransferKind::Attended,
            by,
            to: target,
            at_ms: wall_ms,
            result: None,
        },
    );
    let donor_a_dialog = core
        .calls
        .calls
        .get(&donor)
        .and_then(|c| c.a.dialog.as_ref())
        .map(|d| (d.id.call_id.clone(), d.id.local_tag.clone()));
    // The transferor's call to the target is over for them (its far end now belongs to the
    // kept call): BYE their leg and record it, as any call that ends.
    midcall::finish(
        core,
        apps,
        now,
        wall_ms,
        ep,
        donor,
        487,
        Outcome::Answered,
        Some(Party::Caller),
        Some(Side::B),
    );
    if let Some(id) = donor_a_dialog {
        core.calls.by_dialog.remove(&id);
        core.calls.ended_dialogs.insert(id, keep);
    }
    answered(apps, core, now, wall_ms, ep, keep);
}
