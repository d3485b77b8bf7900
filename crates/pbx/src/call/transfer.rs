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

use super::{
    CallKey, MediaSide, Outcome, Party, Phase, Purpose, Side, bridge, midcall, release_side,
};
use crate::queue::view::TransferNote;
use crate::queue_glue as queue;
use crate::{Output, Pbx};
use dialplan::FailReason;
use media::MediaCommand;
use sip::dialog::Dialog;
use sip::endpoint::{Endpoint, Peer, ServerTxId};
use sip::message::{Method, NameAddr, Request, Response, Uri};
use std::time::Instant;

/// A transfer in progress: the transferor's leg, kept until the outcome is known.
#[derive(Debug)]
pub(crate) struct Transferor {
    pub dialog: Dialog,
    pub peer: Peer,
    /// The transferor's media leg (it was the call's B side).
    pub media: MediaSide,
    /// The dialled target.
    pub target: String,
    /// Who transferred (operator account or extension number).
    pub by: String,
    /// Whether the transferor's leg has ended (they hung up after the 202).
    pub gone: bool,
}

/// Why a REFER is refused.
fn refuse(ep: &mut Endpoint, now: Instant, tx: ServerTxId, req: &Request, status: u16, why: &str) {
    tracing::info!(status, reason = why, "REFER refused");
    let mut resp = Response::for_request(req, status);
    resp.reason = format!("{} ({why})", resp.reason);
    ep.respond(now, tx, resp);
}

/// The parts of a Replaces value (RFC 3891): Call-ID, to-tag, from-tag.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
}

/// Parses the `Replaces=` header of a Refer-To URI (percent-encoded).
pub(crate) fn parse_replaces(uri_headers: &str) -> Result<Option<Replaces>, String> {
    for part in uri_headers.split('&') {
        let Some((name, value)) = part.split_once('=') else {
            continue;
        };
        if !name.eq_ignore_ascii_case("replaces") {
            continue;
        }
        let value = sip::message::percent_decode(value);
        let mut fields = value.split(';');
        let call_id = fields.next().unwrap_or("").trim().to_string();
        let (mut to_tag, mut from_tag) = (None, None);
        for f in fields {
            if let Some((k, v)) = f.split_once('=') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "to-tag" => to_tag = Some(v.trim().to_string()),
                    "from-tag" => from_tag = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        return match (call_id.is_empty(), to_tag, from_tag) {
            (false, Some(to_tag), Some(from_tag)) => Ok(Some(Replaces {
                call_id,
                to_tag,
                from_tag,
            })),
            _ => Err(format!(
                "expected Replaces=call-id;to-tag=…;from-tag=…, found `{value}`"
            )),
        };
    }
    Ok(None)
}

/// A REFER inside the dialog of `side` of call `key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn on_refer(
    pbx: &mut Pbx,
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
    let Some(call) = pbx.calls.calls.get(&key) else {
        return refuse(ep, now, tx, &req, 481, "no such call");
    };
    if call.phase != Phase::Answered || call.b.is_none() {
        return refuse(ep, now, tx, &req, 491, "the call is not connected");
    }
    if call.transfer.is_some() || call.forking {
        return refuse(ep, now, tx, &req, 491, "a transfer is already in progress");
    }
    if let Some(replaces) = replaces {
        return attended(pbx, now, wall_ms, ep, tx, &req, key, side, &replaces);
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
    let transferor = transferor_name(pbx, key);
    let own = [
        pbx.operator_position(),
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
    blind(pbx, now, wall_ms, ep, tx, &req, key, number, transferor);
}

/// Who transfers: the operator's account when an operator answered, else the called number.
fn transferor_name(pbx: &Pbx, key: CallKey) -> String {
    queue::operator_of(pbx, key)
        .or_else(|| pbx.calls.calls.get(&key).map(|c| c.callee.clone()))
        .unwrap_or_default()
}

fn accept(ep: &mut Endpoint, now: Instant, tx: ServerTxId, req: &Request) {
    let resp = Response::for_request(req, 202);
    ep.respond(now, tx, resp);
}

#[allow(clippy::too_many_arguments)]
fn blind(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    key: CallKey,
    number: String,
    by: String,
) {
    let Some(port) = pbx.ports.allocate() else {
        return refuse(ep, now, tx, req, 503, "no free RTP port for the new leg");
    };
    accept(ep, now, tx, req);
    let leg = pbx.new_leg();
    pbx.outputs.push_back(Output::OpenRtp { leg, port });
    let call = pbx.calls.calls.get_mut(&key).expect("checked by on_refer");
    let b = call.b.take().expect("checked by on_refer");
    let old_media = std::mem::replace(&mut call.b_media, MediaSide::new(leg, port, None));
    let a_leg = call.a_media.leg;
    pbx.outputs
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
    notify(pbx, now, ep, key, "SIP/2.0 100 Trying", false);
    queue::transfer_started(
        pbx,
        key,
        TransferNote {
            kind: "blind",
            by,
            to: number.clone(),
            at_ms: wall_ms,
            result: None,
        },
    );
    let ring = pbx.config.ring_timeout;
    if let Err(reason) = bridge::start(pbx, now, wall_ms, ep, key, vec![number], ring) {
        failed(pbx, now, wall_ms, ep, key, reason);
    }
}

/// Sends a NOTIFY with the sipfrag `status_line` to the transferor (if still there).
fn notify(
    pbx: &mut Pbx,
    now: Instant,
    ep: &mut Endpoint,
    key: CallKey,
    status_line: &str,
    last: bool,
) {
    let Some(call) = pbx.calls.calls.get_mut(&key) else {
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
    let contact = pbx.contact_uri(peer.transport, None);
    n.headers.push("Contact", format!("<{contact}>"));
    let ctx = ep.send_request(now, n, peer);
    pbx.calls.by_client.insert(ctx, (key, Purpose::Fire));
}

/// The transfer target answered: the caller is connected; the transferor is told and let go.
pub(crate) fn answered(pbx: &mut Pbx, now: Instant, wall_ms: i64, ep: &mut Endpoint, key: CallKey) {
    tracing::info!(call = key.0, "transfer completed");
    notify(pbx, now, ep, key, "SIP/2.0 200 OK", true);
    queue::transfer_result(pbx, key, "connected");
    end_transferor(pbx, now, wall_ms, ep, key, true);
}

/// The transfer target did not take the call.
pub(crate) fn failed(
    pbx: &mut Pbx,
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
    };
    tracing::info!(call = key.0, ?reason, "transfer failed");
    notify(pbx, now, ep, key, line, true);
    queue::transfer_result(pbx, key, reason.name());
    let Some(call) = pbx.calls.calls.get(&key) else {
        return;
    };
    let leg = call.a_media.leg;
    let back_to = queue::queue_of(pbx, key);
    match back_to {
        Some(queue_name) => {
            // Back at the head first, so the operator freed next takes this caller.
            queue::return_to_head(
                pbx,
                now,
                wall_ms,
                ep,
                key,
                &queue_name,
                Some("transfer_failed"),
            );
            end_transferor(pbx, now, wall_ms, ep, key, true);
        }
        None => {
            // Not a queued caller: nobody to return to.
            end_transferor(pbx, now, wall_ms, ep, key, true);
            pbx.outputs
                .push_back(Output::Media(MediaCommand::StopMoh(leg)));
            midcall::finish(
                pbx,
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
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    send_bye: bool,
) {
    let Some(call) = pbx.calls.calls.get_mut(&key) else {
        return;
    };
    let Some(mut t) = call.transfer.take() else {
        return;
    };
    // The transferor's dialog is over: a BYE crossing ours gets 200, the rest 481.
    let id = (t.dialog.id.call_id.clone(), t.dialog.id.local_tag.clone());
    pbx.calls.by_dialog.remove(&id);
    pbx.calls.ended_dialogs.insert(id, key);
    if send_bye && !t.gone {
        let bye = t.dialog.new_request(Method::Bye);
        let ctx = ep.send_request(now, bye, t.peer);
        pbx.calls.by_client.insert(ctx, (key, Purpose::Fire));
    }
    tracing::info!(call = key.0, by = %t.by, to = %t.target, "transferor's leg ended");
    release_side(pbx, key, t.media, super::LegRole::Transferor);
    queue::operator_released(pbx, now, wall_ms, ep, key);
}

/// A request from the transferor inside their (set aside) dialog. Returns false if
/// `req` does not belong to a transferor's dialog of `key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn on_transferor_request(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    key: CallKey,
    call_id: &str,
    to_tag: &str,
) -> bool {
    let Some(call) = pbx.calls.calls.get_mut(&key) else {
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
            let media = std::mem::replace(&mut t.media, MediaSide::moved_away());
            release_side(pbx, key, media, super::LegRole::Transferor);
            queue::operator_released(pbx, now, wall_ms, ep, key);
        }
        Method::Ack => {}
        Method::Invite | Method::Update => {
            ep.respond(now, tx, Response::for_request(req, 488));
        }
        _ => ep.respond(now, tx, Response::for_request(req, 200)),
    }
    true
}

/// REFER with Replaces: connect the far ends of the transferor's two calls.
#[allow(clippy::too_many_arguments)]
fn attended(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    key: CallKey,
    side: Side,
    replaces: &Replaces,
) {
    // The replaced dialog is ours towards the transferor: its local tag is one of the two.
    let found = [&replaces.to_tag, &replaces.from_tag]
        .into_iter()
        .find_map(|tag| {
            pbx.calls
                .by_dialog
                .get(&(replaces.call_id.clone(), tag.clone()))
                .copied()
        });
    let Some((other, other_side)) = found else {
        return refuse(
            ep,
            now,
            tx,
            req,
            481,
            "the call named in Replaces does not exist",
        );
    };
    if other == key {
        return refuse(
            ep,
            now,
            tx,
            req,
            400,
            "Replaces names the call the REFER came in",
        );
    }
    // Keep the call where the transferor is the called party (B) and take the far end
    // (B) of the call the transferor placed (A).
    let (keep, donor) = match (side, other_side) {
        (Side::B, Side::A) => (key, other),
        (Side::A, Side::B) => (other, key),
        _ => {
            return refuse(
                ep,
                now,
                tx,
                req,
                501,
                "attended transfer needs one call answered by and one call placed by the transferor",
            );
        }
    };
    let ready = |k: CallKey| {
        pbx.calls
            .calls
            .get(&k)
            .is_some_and(|c| c.phase == Phase::Answered && c.b.is_some() && c.transfer.is_none())
    };
    if !ready(keep) || !ready(donor) {
        return refuse(ep, now, tx, req, 491, "both calls must be connected");
    }
    accept(ep, now, tx, req);
    let by = transferor_name(pbx, keep);
    let donor_call = pbx.calls.calls.get_mut(&donor).expect("checked");
    let target = donor_call.callee.clone();
    let new_b = donor_call.b.take().expect("checked");
    let new_b_media = std::mem::replace(&mut donor_call.b_media, MediaSide::moved_away());
    let donor_a_leg = donor_call.a_media.leg;
    let new_b_id = (
        new_b.dialog.id.call_id.clone(),
        new_b.dialog.id.local_tag.clone(),
    );
    // The kept call's transferor leg is set aside (for the final NOTIFY), its B becomes the target.
    let keep_call = pbx.calls.calls.get_mut(&keep).expect("checked");
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
    pbx.calls.by_dialog.insert(new_b_id, (keep, Side::B));
    for cmd in [
        MediaCommand::StopMoh(a_leg),
        MediaCommand::StopPlay(a_leg),
        MediaCommand::Unbridge(donor_a_leg),
        MediaCommand::Bridge(a_leg, b_leg),
    ] {
        pbx.outputs.push_back(Output::Media(cmd));
    }
    tracing::info!(call = keep.0, replaced = donor.0, by = %by, to = %target, "attended transfer");
    queue::transfer_started(
        pbx,
        keep,
        TransferNote {
            kind: "attended",
            by,
            to: target,
            at_ms: wall_ms,
            result: None,
        },
    );
    let donor_a_dialog = pbx
        .calls
        .calls
        .get(&donor)
        .and_then(|c| c.a.dialog.as_ref())
        .map(|d| (d.id.call_id.clone(), d.id.local_tag.clone()));
    // The transferor's call to the target is over for them (its far end now belongs to the
    // kept call): BYE their leg and record it, as any call that ends.
    midcall::finish(
        pbx,
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
        pbx.calls.by_dialog.remove(&id);
        pbx.calls.ended_dialogs.insert(id, keep);
    }
    answered(pbx, now, wall_ms, ep, keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_is_decoded_from_the_refer_to_uri() {
        let r = parse_replaces("Replaces=abc%40host%3Bto-tag%3D12%3Bfrom-tag%3D34")
            .unwrap()
            .unwrap();
        assert_eq!(
            r,
            Replaces {
                call_id: "abc@host".into(),
                to_tag: "12".into(),
                from_tag: "34".into()
            }
        );
    }

    #[test]
    fn replaces_tags_may_come_in_any_order_and_other_headers_are_skipped() {
        let r = parse_replaces("Require=replaces&Replaces=x%3Bfrom-tag%3Df%3Bto-tag%3Dt")
            .unwrap()
            .unwrap();
        assert_eq!((r.to_tag.as_str(), r.from_tag.as_str()), ("t", "f"));
    }

    #[test]
    fn replaces_without_tags_is_an_error_naming_what_was_found() {
        let e = parse_replaces("Replaces=only-call-id").unwrap_err();
        assert!(e.contains("only-call-id"), "{e}");
        assert_eq!(parse_replaces("Priority=urgent").unwrap(), None);
    }
}
