//! A new call: admission, caller authentication, the caller's SDP offer,
//! media ports, then either the attendant's interpreter decides what
//! happens (when a dialplan is installed) or the dialled extension is
//! rung directly. Also the responses we send on the caller's INVITE and
//! CANCEL handling.

use super::calls::{Alerting, Call, LegA, MediaSide, Phase};
use super::features::{Features, Turn};
use super::{Challenge, Core, bridge, midcall};
use crate::headers::with_tag;
use crate::sdp::{self, AudioOffer, SdpError};
use crate::{CdrEvent, Outcome, Output, Party};
use sip::auth::GuardDecision;
use sip::endpoint::{Endpoint, Peer, ServerTxId};
use sip::message::{Request, Response};
use std::time::Instant;

#[allow(clippy::too_many_arguments)]
pub(crate) fn handle_invite(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: Request,
    from: Peer,
) {
    // Admission control (the call rate is counted after authentication, below, so a
    // challenged INVITE and its authenticated retry count once).
    if core.active_calls() >= core.config.max_concurrent_calls {
        tracing::warn!(source = %from.addr, active = core.active_calls(), "call refused by admission control");
        overloaded(core, now, ep, tx, &req);
        return;
    }
    let Some((caller, auth_user)) = identify_caller(core, now, wall_ms, ep, tx, &req, from) else {
        return;
    };
    if !core.rate.admit(now, core.config.max_calls_per_second) {
        tracing::warn!(source = %from.addr, "call refused: calls-per-second limit reached");
        overloaded(core, now, ep, tx, &req);
        return;
    }
    let Some(offer) = caller_offer(core, now, ep, tx, &req) else {
        return;
    };
    let (Some(a_port), Some(b_port)) = (core.ports.allocate(), core.ports.allocate()) else {
        tracing::error!("no free RTP ports: refusing the call");
        refuse(now, ep, tx, &req, 503, None);
        return;
    };
    let dialled = req.uri.user_unescaped().unwrap_or_default();
    let key = core.calls.next_key();
    let (a_leg, b_leg) = (core.new_leg(), core.new_leg());
    for (leg, port) in [(a_leg, a_port), (b_leg, b_port)] {
        core.outputs.push_back(Output::OpenRtp { leg, port });
    }
    core.outputs.push_back(Output::call(CdrEvent::Started {
        call: key,
        call_id: req.headers.call_id().unwrap_or("").to_string(),
        caller: caller.clone(),
        callee: dialled.clone(),
        at_ms: wall_ms,
        origin: crate::CallOrigin::Caller,
    }));
    tracing::info!(call = key.0, caller = %caller, dialled = %dialled, "new call");
    let call = Call {
        key,
        caller,
        callee: dialled.clone(),
        display: None,
        started_ms: wall_ms,
        phase: Phase::Ringing(Alerting::Quiet),
        a: LegA {
            tx,
            invite: req,
            peer: from,
            tag: ep.new_tag(),
            dialog: None,
        },
        forks: Vec::new(),
        b: None,
        codec: None,
        a_media: MediaSide {
            telephone_event: offer.telephone_event,
            ..MediaSide::new(a_leg, a_port, offer.rtp)
        },
        b_media: MediaSide::new(b_leg, b_port, None),
        offer,
        ringing_until: None,
        attempt: 0,
        pending_ack: None,
        transfer: None,
    };
    core.calls.by_invite.insert(tx, key);
    core.calls.calls.insert(key, call);

    if !f.offered(core, &mut Turn { now, wall_ms, ep }, key, auth_user) {
        let ring = core.config.ring_timeout;
        let started = bridge::start(core, f, now, wall_ms, ep, key, vec![dialled], ring);
        if let Err(reason) = started {
            let (status, outcome) = bridge::fail_status(reason);
            let by = Some(Party::System);
            midcall::finish(core, f, now, wall_ms, ep, key, status, outcome, by, None);
        }
    }
}

/// Answers the INVITE with a final `status` (and reason phrase) and our To tag.
fn refuse(
    now: Instant,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    status: u16,
    reason: Option<&str>,
) {
    let mut resp = Response::for_request(req, status);
    if let Some(r) = reason {
        resp.reason = r.to_string();
    }
    resp.headers.set(
        "To",
        with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()),
    );
    ep.respond(now, tx, resp);
}

/// 503 with Retry-After: the call or rate limit is reached.
fn overloaded(core: &Core, now: Instant, ep: &mut Endpoint, tx: ServerTxId, req: &Request) {
    let mut resp = Response::for_request(req, 503);
    resp.headers
        .push("Retry-After", core.config.retry_after_secs.to_string());
    resp.headers.set(
        "To",
        with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()),
    );
    ep.respond(now, tx, resp);
}

/// Who calls: INVITEs from a registered phone must authenticate (the number and the
/// digest user), others are guests named by their From user. `None` when the INVITE
/// was answered (challenged, refused).
#[allow(clippy::too_many_arguments)]
fn identify_caller(
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    from: Peer,
) -> Option<(String, Option<String>)> {
    let ip = from.addr.ip();
    let registered_source = core
        .bindings
        .values()
        .flatten()
        .any(|b| b.source.addr == from.addr && b.expires_at_ms > wall_ms);
    if !registered_source {
        let user = req
            .headers
            .from()
            .ok()
            .and_then(|f| f.uri.user_unescaped())
            .unwrap_or_else(|| "anonymous".into());
        return Some((user, None));
    }
    if let GuardDecision::Refuse { .. } = core.guard.check(ip, now) {
        refuse(now, ep, tx, req, 403, None);
        return None;
    }
    let Some(header) = req.headers.get("Proxy-Authorization").map(str::to_string) else {
        core.challenge(now, ep, tx, req, Challenge::Proxy, false);
        return None;
    };
    let directory = core.directory.clone();
    let uri = req.uri.to_string();
    match core.auth.verify(now, "INVITE", &uri, &header, |u| {
        directory.credential(u, wall_ms)
    }) {
        Ok(proof) => {
            core.guard.record_success(ip, now);
            let number = match core.directory.identity(proof.username()) {
                Some(id) => id.number,
                None => proof.username().to_string(),
            };
            Some((number, Some(proof.username().to_string())))
        }
        Err(failure) => {
            if failure.counts_against_source() {
                core.auth_failed(ip, now);
            }
            tracing::info!(source = %from.addr, reason = %failure, "INVITE authentication failed");
            core.challenge(now, ep, tx, req, Challenge::Proxy, failure.is_stale());
            None
        }
    }
}

/// The caller's SDP offer, if it has a codec we can use; otherwise the INVITE is
/// answered 488 (or 400 for an unreadable body) and `None` returned.
fn caller_offer(
    core: &Core,
    now: Instant,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
) -> Option<AudioOffer> {
    let offer = match sdp::parse_audio(&req.body) {
        Ok(o) => o,
        Err(SdpError::NoCommonCodec(d)) => {
            tracing::info!(detail = %d, "offer has no codec we support");
            refuse(
                now,
                ep,
                tx,
                req,
                488,
                Some("Not Acceptable Here (no common codec)"),
            );
            return None;
        }
        Err(SdpError::SecureOnly(d)) => {
            tracing::info!(detail = %d, "offer has only SRTP audio");
            let why = "Not Acceptable Here (SRTP audio is not supported, offer RTP/AVP)";
            refuse(now, ep, tx, req, 488, Some(why));
            return None;
        }
        Err(SdpError::Malformed(_)) if req.body.is_empty() => {
            let why = "Not Acceptable Here (an SDP offer is required)";
            refuse(now, ep, tx, req, 488, Some(why));
            return None;
        }
        Err(SdpError::Malformed(d)) => {
            refuse(now, ep, tx, req, 400, Some(&format!("Bad Request ({d})")));
            return None;
        }
    };
    if sdp::prefer(&offer.codecs, &core.config.codecs).is_empty() {
        refuse(
            now,
            ep,
            tx,
            req,
            488,
            Some("Not Acceptable Here (no common codec)"),
        );
        return None;
    }
    Some(offer)
}

pub(crate) fn on_cancel(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    invite: ServerTxId,
) {
    let Some(key) = core.calls.by_invite.get(&invite).copied() else {
        return;
    };
    let Some(call) = core.calls.calls.get(&key) else {
        return;
    };
    if call.final_sent() {
        return;
    }
    tracing::info!(call = key.0, "caller cancelled");
    midcall::finish(
        core,
        f,
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
