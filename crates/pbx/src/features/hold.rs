//! Hold with music: when an operator puts a queued caller on hold (a
//! re-INVITE with `sendonly` or `inactive`, or an old-style `c=0.0.0.0`), we
//! answer the operator ourselves, unbridge the two legs and play the queue's
//! music on hold to the caller; a later `sendrecv` re-INVITE bridges them again.
//! Other calls pass hold re-INVITEs through to the other party unchanged
//! (their phones play their own hold tone).

use super::{Apps, queue_glue};
use crate::CallKey;
use crate::Output;
use crate::control::Core;
use crate::sdp::{self, Direction, LocalDescription};
use media::MediaCommand;
use sip::endpoint::{Endpoint, ServerTxId};
use sip::message::{Method, Request, Response};
use std::time::Instant;

/// Handles a re-INVITE from the operator (the callee) of a queued call locally; returns false
/// when the request is not one (the caller forwards it as usual).
pub(crate) fn on_operator_reinvite(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    key: CallKey,
) -> bool {
    if req.method != Method::Invite || req.body.is_empty() {
        return false;
    }
    let Some(queue) = queue_glue::queue_of(apps, key) else {
        return false;
    };
    if queue_glue::operator_of(apps, key).is_none() {
        return false;
    }
    let Ok(offer) = sdp::parse_audio(&req.body) else {
        return false;
    };
    let moh = core
        .calls
        .get(key)
        .and(apps.ivrs.get(&key))
        .and_then(|i| i.plan.queue(&queue).map(|q| q.music_on_hold.clone()))
        .unwrap_or_else(|| "default".into());
    let public_ip = core.config.public_ip;
    let codecs = sdp::prefer(&offer.codecs, &core.config.codecs);
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return false;
    };
    let Some(codec) = codecs.first().copied() else {
        ep.respond(now, tx, Response::for_request(req, 488));
        return true;
    };
    let holding =
        offer.rtp.is_none() || matches!(offer.direction, Direction::SendOnly | Direction::Inactive);
    let (a, b) = (call.a_media.leg, call.b_media.leg);
    if offer.rtp.is_some() {
        call.b_media.remote = offer.rtp;
        core.outputs
            .push_back(Output::Media(MediaCommand::UpdateRemote {
                leg: b,
                remote: offer.rtp,
            }));
    }
    core.outputs
        .push_back(Output::Media(MediaCommand::UpdateCodec {
            leg: b,
            codec: sdp::media_codec(codec),
            telephone_event_pt: offer.telephone_event,
        }));
    call.b_media.telephone_event = offer.telephone_event;
    if holding {
        tracing::info!(
            call = key.0,
            "operator put the caller on hold: music on hold"
        );
        for cmd in [
            MediaCommand::Unbridge(a),
            MediaCommand::StartMoh { leg: a, class: moh },
        ] {
            core.outputs.push_back(Output::Media(cmd));
        }
    } else {
        tracing::info!(call = key.0, "operator took the caller off hold");
        for cmd in [MediaCommand::StopMoh(a), MediaCommand::Bridge(a, b)] {
            core.outputs.push_back(Output::Media(cmd));
        }
    }
    let direction = match offer.direction {
        Direction::SendOnly => Direction::RecvOnly,
        Direction::Inactive => Direction::Inactive,
        Direction::RecvOnly => Direction::SendOnly,
        Direction::SendRecv if offer.rtp.is_none() => Direction::Inactive,
        Direction::SendRecv => Direction::SendRecv,
    };
    call.b_media.sdp_version += 1;
    let answer = LocalDescription {
        addr: public_ip,
        port: call.b_media.sdp_port(),
        codecs: vec![codec],
        telephone_event: offer.telephone_event,
        direction,
        session_id: key.0,
        version: call.b_media.sdp_version,
        ptime: offer.ptime,
        answering: Some(offer.layout.clone()),
    };
    let transport = call.b.as_ref().map(|b| b.peer.transport);
    let mut ok = Response::for_request(req, 200);
    ok.headers.push("Content-Type", "application/sdp");
    if let Some(t) = transport {
        let contact = core.contact_uri(t, None);
        ok.headers.push("Contact", format!("<{contact}>"));
    }
    ok.body = answer.to_sdp();
    ep.respond(now, tx, ok);
    true
}
