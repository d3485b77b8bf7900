//! Connecting a call to extensions: forking our INVITE to every registered
//! contact of the targets, relaying ringing (or early media) to a caller we
//! have not answered, the first 2xx winning, and turning failures into one
//! reason (busy, no answer, unavailable, not found) for the attendant or
//! for the caller.

use super::calls::{Alerting, Fork, LegB, Phase, Purpose, Side};
use super::features::{Features, Turn};
use super::release::maybe_remove;
use super::{Core, answer, midcall};
use crate::sdp::{self, AudioOffer, Direction, LocalDescription};
use crate::{CallKey, Outcome, Output, Party};
use dialplan::FailReason;
use media::MediaCommand;
use sip::dialog::Dialog;
use sip::endpoint::{ClientTxId, Endpoint};
use sip::message::{Method, Response};
use std::time::{Duration, Instant};

/// The class of looping audio played to an answered caller while a target rings.
pub const RINGBACK_CLASS: &str = "ringback";

/// Rings `numbers` (an extension, a group's members, or the operator position; the
/// phones of operators who are away are left out).
#[allow(clippy::too_many_arguments)]
pub(crate) fn start(
    core: &mut Core,
    f: &dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    numbers: Vec<String>,
    ring: Duration,
) -> Result<(), FailReason> {
    let mut known = false;
    let mut targets = Vec::new();
    let position = core.operator_position();
    for number in &numbers {
        let Some(ext) = core.directory.extension(number) else {
            continue;
        };
        known = true;
        for b in core.bindings(&ext.number, wall_ms) {
            if ext.number == position && f.operator_away(b.user.as_deref().unwrap_or(&b.contact)) {
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
    ring_targets(core, now, ep, key, targets, ring, true)
}

/// Rings the given registrations of the operator position (one operator's phones)
/// for a queued caller, who keeps hearing the queue's music meanwhile.
pub(crate) fn ring_bindings(
    core: &mut Core,
    now: Instant,
    ep: &mut Endpoint,
    key: CallKey,
    bindings: Vec<sip::registrar::Binding>,
    ring_for: Duration,
) -> Result<(), FailReason> {
    let position = core.operator_position();
    let ext = core
        .directory
        .extension(&position)
        .unwrap_or(crate::Identity {
            number: position,
            display: None,
        });
    let targets = bindings.iter().filter_map(|b| target_of(b, &ext)).collect();
    ring_targets(core, now, ep, key, targets, ring_for, false)
}

use crate::ctx::{Caller, RingTarget, invite_to, ring_target as target_of};

/// Sends our INVITE to every target at once (a new bridge attempt of the call).
fn ring_targets(
    core: &mut Core,
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
    let public_ip = core.config.public_ip;
    let codecs = {
        let call = core.calls.calls.get(&key).ok_or(FailReason::Unavailable)?;
        // The caller's codecs first (relayed untouched), then the admin's others (transcoded).
        sdp::callee_offer(&call.offer.codecs, &core.config.codecs)
    };
    let tag = ep.new_tag();
    let call_id = ep.new_call_id();
    let call = core
        .calls
        .calls
        .get_mut(&key)
        .ok_or(FailReason::Unavailable)?;
    call.b_media.sdp_version += 1;
    let offer = LocalDescription {
        addr: public_ip,
        port: call.b_media.sdp_port(),
        codecs,
        telephone_event: call.offer.telephone_event.map(|_| 101),
        direction: Direction::SendRecv,
        session_id: key.0,
        version: call.b_media.sdp_version,
        ptime: call.offer.ptime,
        answering: None,
    }
    .to_sdp();
    let from = Caller {
        user: &call.caller,
        display: call
            .display
            .clone()
            .or_else(|| call.a.invite.headers.from().ok().and_then(|f| f.display)),
        tag: &tag,
    };
    let attempt = call
        .forks
        .iter()
        .map(|f| f.attempt)
        .max()
        .map_or(1, |a| a + 1);
    let new_forks: Vec<_> = targets
        .iter()
        .map(|t| {
            (
                invite_to(&core.config, t, &from, &call_id, offer.clone()),
                t.1,
            )
        })
        .collect();
    let mut sent = Vec::new();
    for (invite, peer) in new_forks {
        let ctx = ep.send_request(now, invite.clone(), peer);
        sent.push((ctx, invite, peer));
    }
    let call = core.calls.calls.get_mut(&key).expect("checked");
    for (ctx, invite, peer) in sent {
        let index = call.forks.len();
        call.forks.push(Fork {
            tx: ctx,
            invite,
            peer,
            final_status: None,
            attempt,
        });
        core.calls
            .by_client
            .insert(ctx, (key, Purpose::Fork(index)));
    }
    call.attempt = attempt;
    call.ringing_until = Some(now + ring);
    if call.final_sent() && ringback {
        // The attendant answered: the caller hears ringback (after any prompt still playing).
        let leg = call.a_media.leg;
        core.outputs
            .push_back(Output::Media(MediaCommand::StartMoh {
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
        // Do-not-disturb answers as busy does (Asterisk and FreePBX send 486 too).
        FailReason::DoNotDisturb => (486, Outcome::Busy),
        // Class of service: the caller may not call this number.
        FailReason::Restricted => (403, Outcome::Rejected),
        // A retired number (RFC 3261 §21.4.7: the resource is no longer available).
        FailReason::Gone => (410, Outcome::NotFound),
    }
}

/// Applies the callee's SDP: add the media legs that are missing and bridge them.
fn start_media(
    core: &mut Core,
    key: CallKey,
    answer: &AudioOffer,
) -> Option<(sdp::Codec, Direction)> {
    let preference = core.config.codecs.clone();
    let call = core.calls.calls.get_mut(&key)?;
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
            core.outputs
                .push_back(Output::Media(MediaCommand::UpdateRemote {
                    leg: side.leg,
                    remote: side.remote,
                }));
        } else {
            core.outputs.push_back(Output::Media(MediaCommand::AddLeg {
                leg: side.leg,
                remote: side.remote,
                codec: sdp::media_codec(codec),
                telephone_event_pt: side.telephone_event,
            }));
            side.added = true;
        }
    }
    let a = call.a_media.leg;
    core.outputs
        .push_back(Output::Media(MediaCommand::StopMoh(a)));
    core.outputs
        .push_back(Output::Media(MediaCommand::StopPlay(a)));
    core.outputs
        .push_back(Output::Media(MediaCommand::Bridge(a, call.b_media.leg)));
    Some((codec_a, answer.direction))
}

/// A provisional answer from a ringing phone of the current attempt: the caller we have
/// not answered hears ringing (180) or the phone's early media (183 with our SDP).
fn on_provisional(core: &mut Core, now: Instant, ep: &mut Endpoint, key: CallKey, resp: &Response) {
    let Some(call) = core.calls.calls.get(&key) else {
        return;
    };
    let early = if resp.body.is_empty() {
        None
    } else {
        sdp::parse_audio(&resp.body).ok()
    };
    match early {
        Some(answer) if call.phase != Phase::Ringing(Alerting::EarlyMedia) => {
            let Some((codec, dir)) = start_media(core, key, &answer) else {
                return;
            };
            let call = core.calls.calls.get_mut(&key).expect("exists");
            call.phase = Phase::Ringing(Alerting::EarlyMedia);
            let call = core.calls.calls.get(&key).expect("exists");
            let mut r = answer::a_response(core, call, 183);
            r.headers.push("Content-Type", "application/sdp");
            r.body = answer::answer_for_a(core, call, codec, dir);
            ep.respond(now, call.a.tx, r);
        }
        _ if call.phase == Phase::Ringing(Alerting::Quiet) => {
            let r = answer::a_response(core, call, 180);
            let a_tx = call.a.tx;
            ep.respond(now, a_tx, r);
            core.calls.calls.get_mut(&key).expect("exists").phase =
                Phase::Ringing(Alerting::Alerted);
        }
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn on_fork_response(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    index: usize,
    tx: ClientTxId,
    resp: Response,
) {
    let Some(call) = core.calls.calls.get(&key) else {
        return;
    };
    let Some(fork) = call.forks.get(index) else {
        return;
    };
    let current = fork.attempt == call.attempt
        && call.ringing_until.is_some()
        && call.phase != Phase::Ended
        && call.b.is_none();
    let status = resp.status;
    if status < 200 {
        if current && status != 100 && !call.final_sent() {
            on_provisional(core, now, ep, key, &resp);
        }
        return;
    }
    if status >= 300 {
        on_fork_failed(core, f, now, wall_ms, ep, key, index, tx, status);
        return;
    }

    // A 2xx: the dialog with this contact exists now; acknowledge it.
    let call = core.calls.calls.get_mut(&key).expect("exists");
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
    core.calls.by_client.remove(&tx);
    if !current {
        // Another contact answered first, or the call moved on: end this one.
        let mut d = dialog;
        let ctx = ep.send_request(now, d.new_request(Method::Bye), fork_peer);
        core.calls.by_client.insert(ctx, (key, Purpose::Fire));
        return;
    }
    let callee = fork_invite
        .headers
        .to()
        .ok()
        .and_then(|to| to.uri.user_unescaped())
        .unwrap_or_default();
    let leg = LegB {
        dialog,
        peer: fork_peer,
    };
    let answer = sdp::parse_audio(&resp.body).ok();
    connect(
        core,
        f,
        &mut Turn { now, wall_ms, ep },
        key,
        leg,
        answer,
        &callee,
    );
}

/// The first 2xx of the current attempt: the answering phone becomes the call's B leg,
/// the other phones are cancelled, and the caller is connected to it (answered now if
/// the attendant had not answered yet).
fn connect(
    core: &mut Core,
    f: &mut dyn Features,
    t: &mut Turn,
    key: CallKey,
    leg: LegB,
    answer: Option<AudioOffer>,
    callee: &str,
) {
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return;
    };
    let b_call_id = leg.dialog.id.call_id.clone();
    let b_tag = leg.dialog.id.local_tag.clone();
    let attempt = call.attempt;
    call.b = Some(leg);
    call.ringing_until = None;
    f.answered(core, t, key);
    let call = core.calls.calls.get_mut(&key).expect("exists");
    let others: Vec<ClientTxId> = call
        .forks
        .iter()
        .filter(|f| f.attempt == attempt && f.final_status.is_none())
        .map(|f| f.tx)
        .collect();
    for other in others {
        t.ep.cancel(t.now, other);
    }
    core.calls
        .by_dialog
        .insert((b_call_id, b_tag), (key, Side::B));
    let media = answer.and_then(|a| start_media(core, key, &a));
    let Some((codec, dir)) = media else {
        tracing::warn!(
            call = key.0,
            "callee answered without a usable SDP answer; hanging up"
        );
        let by = Some(Party::System);
        midcall::finish(
            core,
            f,
            t.now,
            t.wall_ms,
            t.ep,
            key,
            488,
            Outcome::Failed,
            by,
            None,
        );
        return;
    };
    answer::answer_a(core, t.now, t.wall_ms, t.ep, key, codec, dir);
    tracing::info!(call = key.0, "connected");
    f.bridged(core, t, key, callee);
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn on_fork_failed(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    index: usize,
    tx: ClientTxId,
    status: u16,
) {
    core.calls.by_client.remove(&tx);
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return;
    };
    let Some(fork) = call.forks.get_mut(index) else {
        return;
    };
    fork.final_status.get_or_insert(status);
    let current = fork.attempt == call.attempt
        && call.ringing_until.is_some()
        && call.phase != Phase::Ended
        && call.b.is_none();
    if !current {
        maybe_remove(core, key);
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
    let reason = super::calls::fail_reason(&statuses);
    tracing::info!(call = key.0, ?statuses, ?reason, "nobody took the call");
    attempt_failed(core, f, now, wall_ms, ep, key, reason);
}

/// The ring timeout of the current attempt passed.
pub(crate) fn ring_timeout(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    cancel_attempt(core, now, ep, key);
    attempt_failed(core, f, now, wall_ms, ep, key, FailReason::NoAnswer);
}

/// Tells whoever handles the call (the attendant, or the caller) that the attempt failed.
fn attempt_failed(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    reason: FailReason,
) {
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return;
    };
    call.ringing_until = None;
    if call.final_sent() {
        core.outputs
            .push_back(Output::Media(MediaCommand::StopMoh(call.a_media.leg)));
    }
    if !f.bridge_failed(core, &mut Turn { now, wall_ms, ep }, key, reason) {
        let (status, outcome) = fail_status(reason);
        midcall::finish(
            core,
            f,
            now,
            wall_ms,
            ep,
            key,
            status,
            outcome,
            Some(Party::Callee),
            None,
        );
    }
}

/// Stops the current bridge attempt of a call without reporting a failure (the
/// queue gave up on this operator, or the caller left the queue).
pub(crate) fn cancel_attempt(core: &mut Core, now: Instant, ep: &mut Endpoint, key: CallKey) {
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return;
    };
    if call.ringing_until.is_none() {
        return;
    }
    let attempt = call.attempt;
    let pending: Vec<ClientTxId> = call
        .forks
        .iter()
        .filter(|f| f.attempt == attempt && f.final_status.is_none())
        .map(|f| f.tx)
        .collect();
    call.ringing_until = None;
    for tx in pending {
        ep.cancel(now, tx);
    }
}
