//! Connecting a call to extensions: forking our INVITE to every registered
//! contact of the targets, relaying ringing (or early media) to a caller we
//! have not answered, the first 2xx winning, and turning failures into one
//! reason (busy, no answer, unavailable, not found) for the attendant or
//! for the caller.

use super::{
    CallKey, Fork, LegB, Outcome, Phase, Purpose, Side, ivr, maybe_remove, midcall, setup,
};
use crate::sdp::{self, AudioOffer, Direction, LocalDescription};
use crate::{Output, Pbx};
use dialplan::FailReason;
use media::MediaCommand;
use sip::dialog::Dialog;
use sip::endpoint::{ClientTxId, Endpoint, Transport};
use sip::message::{Method, NameAddr, Request, Response, Uri};
use std::time::{Duration, Instant};

/// The class of looping audio played to an answered caller while a target rings.
pub const RINGBACK_CLASS: &str = "ringback";

/// Rings `numbers` (an extension, a group's members, or the operator position).
pub(crate) fn start(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    numbers: Vec<String>,
    ring: Duration,
) -> Result<(), FailReason> {
    let mut known = false;
    let mut targets = Vec::new();
    let position = pbx.operator_position();
    for number in &numbers {
        let Some(ext) = pbx.directory.extension(number) else {
            continue;
        };
        known = true;
        for b in pbx.bindings(&ext.number, wall_ms) {
            if ext.number == position
                && crate::queue_glue::is_paused(pbx, b.user.as_deref().unwrap_or(&b.contact))
            {
                continue;
            }
            if let Some(t) = target_of(b, &ext) {
                targets.push(t);
            }
        }
    }
    if !known {
        return Err(FailReason::NotFound);
    }
    ring_targets(pbx, now, ep, key, targets, ring, true)
}

/// Rings the given registrations of the operator position (one operator's phones)
/// for a queued caller, who keeps hearing the queue's music meanwhile.
pub(crate) fn ring_bindings(
    pbx: &mut Pbx,
    now: Instant,
    ep: &mut Endpoint,
    key: CallKey,
    bindings: Vec<sip::registrar::Binding>,
    ring_for: Duration,
) -> Result<(), FailReason> {
    let position = pbx.operator_position();
    let ext = pbx
        .directory
        .extension(&position)
        .unwrap_or(crate::Identity {
            number: position,
            display: None,
        });
    let targets = bindings.iter().filter_map(|b| target_of(b, &ext)).collect();
    ring_targets(pbx, now, ep, key, targets, ring_for, false)
}

use crate::ctx::{RingTarget, ring_target as target_of};

/// Sends our INVITE to every target at once (a new bridge attempt of the call).
fn ring_targets(
    pbx: &mut Pbx,
    now: Instant,
    ep: &mut Endpoint,
    key: CallKey,
    targets: Vec<RingTarget>,
    ring: Duration,
    ringback: bool,
) -> Result<(), FailReason> {
    if targets.is_empty() {
        return Err(FailReason::Unavailable);
    }
    let public_ip = pbx.config.public_ip;
    let codecs = {
        let call = pbx.calls.calls.get(&key).ok_or(FailReason::Unavailable)?;
        // The caller's codecs first (relayed untouched), then the admin's others (transcoded).
        sdp::callee_offer(&call.offer.codecs, &pbx.config.codecs)
    };
    let contact_for = |pbx: &Pbx, t: Transport, user: &str| pbx.contact_uri(t, Some(user));
    let tag = ep.new_tag();
    let call_id = ep.new_call_id();
    let contacts: Vec<String> = targets
        .iter()
        .map(|(_, peer, _)| {
            let call = pbx.calls.calls.get(&key).expect("checked");
            format!("<{}>", contact_for(pbx, peer.transport, &call.caller))
        })
        .collect();
    let call = pbx
        .calls
        .calls
        .get_mut(&key)
        .ok_or(FailReason::Unavailable)?;
    call.b_media.sdp_version += 1;
    let offer = LocalDescription {
        addr: public_ip,
        port: call.b_media.port,
        codecs,
        telephone_event: call.offer.telephone_event.map(|_| 101),
        direction: Direction::SendRecv,
        session_id: key.0,
        version: call.b_media.sdp_version,
        ptime: call.offer.ptime,
    };
    let caller_display = call.a.invite.headers.from().ok().and_then(|f| f.display);
    let attempt = call
        .forks
        .iter()
        .map(|f| f.attempt)
        .max()
        .map_or(1, |a| a + 1);
    let mut new_forks = Vec::new();
    for ((uri, peer, ext), contact) in targets.into_iter().zip(contacts) {
        let mut invite = Request::new(Method::Invite, uri);
        let mut from = NameAddr::new(Uri::sip(Some(&call.caller), public_ip.into(), None));
        from.display = caller_display.clone();
        from.params.set("tag", Some(&tag));
        invite.headers.push("From", from.to_string());
        let to = NameAddr {
            display: ext.display.clone(),
            uri: Uri::sip(Some(&ext.number), public_ip.into(), None),
            params: Default::default(),
        };
        invite.headers.push("To", to.to_string());
        invite.headers.push("Call-ID", call_id.clone());
        invite.headers.push("CSeq", "1 INVITE");
        invite.headers.push("Max-Forwards", "70");
        invite.headers.push("Contact", contact);
        invite.headers.push("Allow", crate::ALLOW);
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = offer.to_sdp();
        new_forks.push((invite, peer));
    }
    let mut sent = Vec::new();
    for (invite, peer) in new_forks {
        let ctx = ep.send_request(now, invite.clone(), peer);
        sent.push((ctx, invite, peer));
    }
    let call = pbx.calls.calls.get_mut(&key).expect("checked");
    for (ctx, invite, peer) in sent {
        let index = call.forks.len();
        call.forks.push(Fork {
            tx: ctx,
            invite,
            peer,
            final_status: None,
            attempt,
        });
        pbx.calls.by_client.insert(ctx, (key, Purpose::Fork(index)));
    }
    call.attempt = attempt;
    call.forking = true;
    call.ring_deadline = Some(now + ring);
    if call.a.final_sent && ringback {
        // The attendant answered: the caller hears ringback (after any prompt still playing).
        let leg = call.a_media.leg;
        pbx.outputs.push_back(Output::Media(MediaCommand::StartMoh {
            leg,
            class: RINGBACK_CLASS.into(),
        }));
    }
    tracing::info!(
        call = key.0,
        forks = call.forks.iter().filter(|f| f.attempt == attempt).count(),
        "ringing"
    );
    Ok(())
}

/// The SIP answer and record outcome for a failed bridge when no attendant handles it.
pub(crate) fn fail_status(reason: FailReason) -> (u16, Outcome) {
    match reason {
        FailReason::Busy => (486, Outcome::Busy),
        FailReason::NoAnswer => (480, Outcome::NoAnswer),
        FailReason::Unavailable => (480, Outcome::Unavailable),
        FailReason::NotFound => (404, Outcome::NotFound),
    }
}

/// Applies the callee's SDP: add the media legs that are missing and bridge them.
fn start_media(
    pbx: &mut Pbx,
    key: CallKey,
    answer: &AudioOffer,
) -> Option<(sdp::Codec, Direction)> {
    let preference = pbx.config.codecs.clone();
    let call = pbx.calls.calls.get_mut(&key)?;
    let codec_b = *answer.codecs.first()?;
    let codec_a = match call.codec {
        Some(c) => c,
        None => *call
            .codec
            .insert(sdp::caller_codec(&call.offer.codecs, &preference, codec_b)?),
    };
    call.b_media.remote = answer.rtp;
    call.b_media.telephone_event = answer.telephone_event;
    for (side, codec) in [(&mut call.a_media, codec_a), (&mut call.b_media, codec_b)] {
        if side.added {
            pbx.outputs
                .push_back(Output::Media(MediaCommand::UpdateRemote {
                    leg: side.leg,
                    remote: side.remote,
                }));
        } else {
            pbx.outputs.push_back(Output::Media(MediaCommand::AddLeg {
                leg: side.leg,
                remote: side.remote,
                codec: sdp::media_codec(codec),
                telephone_event_pt: side.telephone_event,
            }));
            side.added = true;
        }
    }
    let a = call.a_media.leg;
    pbx.outputs
        .push_back(Output::Media(MediaCommand::StopMoh(a)));
    pbx.outputs
        .push_back(Output::Media(MediaCommand::StopPlay(a)));
    pbx.outputs
        .push_back(Output::Media(MediaCommand::Bridge(a, call.b_media.leg)));
    Some((codec_a, answer.direction))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn on_fork_response(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    index: usize,
    tx: ClientTxId,
    resp: Response,
) {
    let Some(call) = pbx.calls.calls.get(&key) else {
        return;
    };
    let Some(fork) = call.forks.get(index) else {
        return;
    };
    let current = fork.attempt == call.attempt
        && call.forking
        && call.phase != Phase::Ended
        && call.b.is_none();
    let status = resp.status;
    if status < 200 {
        if !current || status == 100 || call.a.final_sent {
            return;
        }
        let early = if resp.body.is_empty() {
            None
        } else {
            sdp::parse_audio(&resp.body).ok()
        };
        match early {
            Some(answer) if !call.early_media => {
                let Some((codec, dir)) = start_media(pbx, key, &answer) else {
                    return;
                };
                let call = pbx.calls.calls.get_mut(&key).expect("exists");
                call.early_media = true;
                let call = pbx.calls.calls.get(&key).expect("exists");
                let mut r = setup::a_response(pbx, call, 183);
                r.headers.push("Content-Type", "application/sdp");
                r.body = setup::answer_for_a(pbx, call, codec, dir);
                ep.respond(now, call.a.tx, r);
            }
            _ if !call.a.ringing_sent && !call.early_media => {
                let r = setup::a_response(pbx, call, 180);
                let a_tx = call.a.tx;
                ep.respond(now, a_tx, r);
                pbx.calls
                    .calls
                    .get_mut(&key)
                    .expect("exists")
                    .a
                    .ringing_sent = true;
            }
            _ => {}
        }
        return;
    }
    if status >= 300 {
        on_fork_failed(pbx, now, wall_ms, ep, key, index, tx, status);
        return;
    }

    // A 2xx: the dialog with this contact exists now; acknowledge it.
    let call = pbx.calls.calls.get_mut(&key).expect("exists");
    let fork = &mut call.forks[index];
    let first = fork.final_status.is_none();
    fork.final_status = Some(status);
    let (fork_invite, fork_peer) = (fork.invite.clone(), fork.peer);
    let Ok(dialog) = Dialog::new_uac(&fork_invite, &resp) else {
        tracing::warn!(
            call = key.0,
            "2xx from the callee could not form a dialog; ignoring it"
        );
        return;
    };
    if !first {
        ep.send_ack(dialog.ack_for(1), fork_peer);
        return;
    }
    ep.send_ack(dialog.ack_for(1), fork_peer);
    pbx.calls.by_client.remove(&tx);
    if !current {
        // Another contact answered first, or the call moved on: end this one.
        let mut d = dialog;
        let ctx = ep.send_request(now, d.new_request(Method::Bye), fork_peer);
        pbx.calls.by_client.insert(ctx, (key, Purpose::Fire));
        return;
    }
    let answer = sdp::parse_audio(&resp.body);
    let b_call_id = dialog.id.call_id.clone();
    let b_tag = dialog.id.local_tag.clone();
    let attempt = call.attempt;
    call.b = Some(LegB {
        dialog,
        peer: fork_peer,
    });
    call.forking = false;
    call.ring_deadline = None;
    if crate::queue_glue::is_waiting(pbx, key) {
        crate::queue_glue::answered(pbx, now, wall_ms, key);
    }
    let call = pbx.calls.calls.get_mut(&key).expect("exists");
    let others: Vec<ClientTxId> = call
        .forks
        .iter()
        .filter(|f| f.attempt == attempt && f.final_status.is_none())
        .map(|f| f.tx)
        .collect();
    for other in others {
        ep.cancel(now, other);
    }
    pbx.calls
        .by_dialog
        .insert((b_call_id, b_tag), (key, Side::B));

    let media = answer.ok().and_then(|a| start_media(pbx, key, &a));
    let Some((codec, dir)) = media else {
        tracing::warn!(
            call = key.0,
            "callee answered without a usable SDP answer; hanging up"
        );
        midcall::finish(
            pbx,
            now,
            wall_ms,
            ep,
            key,
            488,
            Outcome::Failed,
            Some(super::Party::System),
            None,
        );
        return;
    };
    setup::answer_a(pbx, now, wall_ms, ep, key, codec, dir);
    tracing::info!(call = key.0, "connected");
    let callee = fork_invite
        .headers
        .to()
        .ok()
        .and_then(|to| to.uri.user_unescaped())
        .unwrap_or_default();
    super::recording::on_bridged(pbx, key, wall_ms, &callee);
    if pbx
        .calls
        .calls
        .get(&key)
        .is_some_and(|c| c.transfer.is_some())
    {
        super::transfer::answered(pbx, now, wall_ms, ep, key);
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn on_fork_failed(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    index: usize,
    tx: ClientTxId,
    status: u16,
) {
    pbx.calls.by_client.remove(&tx);
    let Some(call) = pbx.calls.calls.get_mut(&key) else {
        return;
    };
    let Some(fork) = call.forks.get_mut(index) else {
        return;
    };
    fork.final_status.get_or_insert(status);
    let current = fork.attempt == call.attempt
        && call.forking
        && call.phase != Phase::Ended
        && call.b.is_none();
    if !current {
        maybe_remove(pbx, key);
        return;
    }
    let attempt = call.attempt;
    if call
        .forks
        .iter()
        .any(|f| f.attempt == attempt && f.final_status.is_none())
    {
        return;
    }
    let statuses: Vec<u16> = call
        .forks
        .iter()
        .filter(|f| f.attempt == attempt)
        .filter_map(|f| f.final_status)
        .collect();
    let reason = super::fail_reason(&statuses);
    tracing::info!(call = key.0, ?statuses, ?reason, "nobody took the call");
    attempt_failed(pbx, now, wall_ms, ep, key, reason);
}

/// The ring timeout of the current attempt passed.
pub(crate) fn ring_timeout(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    cancel_attempt(pbx, now, ep, key);
    attempt_failed(pbx, now, wall_ms, ep, key, FailReason::NoAnswer);
}

/// Tells whoever handles the call (the attendant, or the caller) that the attempt failed.
fn attempt_failed(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    reason: FailReason,
) {
    let Some(call) = pbx.calls.calls.get_mut(&key) else {
        return;
    };
    call.forking = false;
    call.ring_deadline = None;
    if call.a.final_sent {
        pbx.outputs
            .push_back(Output::Media(MediaCommand::StopMoh(call.a_media.leg)));
    }
    if call.transfer.is_some() {
        super::transfer::failed(pbx, now, wall_ms, ep, key, reason);
        return;
    }
    let has_ivr = call.ivr.is_some();
    let queue = has_ivr.then(|| crate::queue_glue::is_waiting(pbx, key));
    match queue {
        Some(true) => crate::queue_glue::ring_failed(pbx, now, wall_ms, ep, key),
        Some(false) => ivr::feed(
            pbx,
            now,
            wall_ms,
            ep,
            key,
            dialplan::Event::BridgeFailed { reason },
        ),
        None => {
            let (status, outcome) = fail_status(reason);
            midcall::finish(
                pbx,
                now,
                wall_ms,
                ep,
                key,
                status,
                outcome,
                Some(super::Party::Callee),
                None,
            );
        }
    }
}

/// Stops the current bridge attempt of a call without reporting a failure (the
/// queue gave up on this operator, or the caller left the queue).
pub(crate) fn cancel_attempt(pbx: &mut Pbx, now: Instant, ep: &mut Endpoint, key: CallKey) {
    let Some(call) = pbx.calls.calls.get_mut(&key) else {
        return;
    };
    if !call.forking {
        return;
    }
    let attempt = call.attempt;
    let pending: Vec<ClientTxId> = call
        .forks
        .iter()
        .filter(|f| f.attempt == attempt && f.final_status.is_none())
        .map(|f| f.tx)
        .collect();
    call.forking = false;
    call.ring_deadline = None;
    for tx in pending {
        ep.cancel(now, tx);
    }
}
