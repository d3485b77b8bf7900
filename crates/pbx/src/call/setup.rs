//! Setting a call up: admission, caller authentication, routing to the
//! callee's contacts, forking, relaying provisional responses, the first
//! 2xx winning, failures mapped to one final answer, CANCEL and the ring
//! timeout.

use super::{
    Call, CallKey, CdrEvent, DEFAULT_RING, Fork, LegA, LegB, MediaSide, Outcome, Party, Phase, Purpose, Side,
    maybe_remove, release_media, with_tag,
};
use crate::sdp::{self, AudioOffer, Direction, LocalDescription, SdpError};
use crate::{Output, Pbx};
use media::MediaCommand;
use sip::auth::GuardDecision;
use sip::dialog::Dialog;
use sip::endpoint::{ClientTxId, Endpoint, Peer, ServerTxId, Transport};
use sip::message::{Method, NameAddr, Request, Response, Uri};
use sip::registrar::BindingTransport;
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
        resp.headers.set("To", with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()));
        ep.respond(now, tx, resp);
    };

    // Admission control.
    if pbx.calls.len() >= pbx.config.max_concurrent_calls || !pbx.rate.admit(now, pbx.config.max_calls_per_second) {
        let mut resp = Response::for_request(&req, 503);
        resp.headers.push("Retry-After", pbx.config.retry_after_secs.to_string());
        resp.headers.set("To", with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()));
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
    let caller = if registered_source {
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
        match pbx.auth.verify(now, "INVITE", &uri, &header, |u| directory.credential(u)) {
            Ok(proof) => {
                pbx.guard.record_success(ip, now);
                match pbx.directory.identity(proof.username()) {
                    Some(id) => id.number,
                    None => proof.username().to_string(),
                }
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
        req.headers
            .from()
            .ok()
            .and_then(|f| f.uri.user_unescaped())
            .unwrap_or_else(|| "anonymous".into())
    };

    // Callee.
    let Some(number) = req.uri.user_unescaped() else {
        reject(ep, 404, None);
        return;
    };
    let Some(callee) = pbx.directory.extension(&number) else {
        tracing::info!(caller = %caller, number = %number, "call to an unknown number");
        reject(ep, 404, None);
        return;
    };
    let targets: Vec<(Uri, Peer)> = pbx
        .bindings(&callee.number, wall_ms)
        .into_iter()
        .filter_map(|b| {
            let uri = Uri::parse(&b.contact).ok()?;
            let transport = match b.source.transport {
                BindingTransport::Tcp => Transport::Tcp,
                _ => Transport::Udp,
            };
            Some((
                uri,
                Peer {
                    transport,
                    addr: b.source.addr,
                    conn: b.source.connection.map(sip::endpoint::ConnId),
                },
            ))
        })
        .collect();
    if targets.is_empty() {
        tracing::info!(caller = %caller, callee = %callee.number, "callee has no registered phone");
        reject(ep, 480, None);
        return;
    }

    // The caller's offer.
    let offer = match sdp::parse_audio(&req.body) {
        Ok(o) => o,
        Err(SdpError::NoCommonCodec(d)) => {
            reject(ep, 488, Some("Not Acceptable Here (no common codec)"));
            tracing::info!(detail = %d, "offer has no codec we support");
            return;
        }
        Err(SdpError::Malformed(d)) => {
            let why = if req.body.is_empty() {
                "Not Acceptable Here (an SDP offer is required)".to_string()
            } else {
                format!("Bad Request ({d})")
            };
            reject(ep, if req.body.is_empty() { 488 } else { 400 }, Some(&why));
            return;
        }
    };
    let codecs = sdp::prefer(&offer.codecs, &pbx.config.codecs);
    if codecs.is_empty() {
        reject(ep, 488, Some("Not Acceptable Here (no common codec)"));
        return;
    }
    let (Some(a_port), Some(b_port)) = (pbx.ports.allocate(), pbx.ports.allocate()) else {
        tracing::error!("no free RTP ports: refusing the call");
        reject(ep, 503, None);
        return;
    };

    ep.respond(now, tx, Response::for_request(&req, 100));
    let key = pbx.calls.next_key();
    let (a_leg, b_leg) = (pbx.new_leg(), pbx.new_leg());
    pbx.outputs.push_back(Output::OpenRtp { leg: a_leg, port: a_port });
    pbx.outputs.push_back(Output::OpenRtp { leg: b_leg, port: b_port });
    let call_id = req.headers.call_id().unwrap_or("").to_string();
    pbx.outputs.push_back(Output::Cdr(CdrEvent::Started {
        call: key,
        call_id,
        caller: caller.clone(),
        callee: callee.number.clone(),
        at_ms: wall_ms,
    }));

    // Our offer to the callee: their codecs in our order, our address and port.
    let b_offer = LocalDescription {
        addr: pbx.config.public_ip,
        port: b_port,
        codecs,
        telephone_event: offer.telephone_event.map(|_| 101),
        direction: offer.direction,
        session_id: key.0,
        version: 1,
        ptime: offer.ptime,
    };
    let caller_display = req.headers.from().ok().and_then(|f| f.display);
    let tag = ep.new_tag();
    let b_call_id = ep.new_call_id();
    let mut forks = Vec::new();
    for (i, (uri, peer)) in targets.into_iter().enumerate() {
        let mut invite = Request::new(Method::Invite, uri);
        let mut from_na = NameAddr::new(Uri::sip(Some(&caller), pbx.config.public_ip.into(), None));
        from_na.display = caller_display.clone();
        from_na.params.set("tag", Some(&tag));
        invite.headers.push("From", from_na.to_string());
        let to_na = NameAddr {
            display: callee.display.clone(),
            uri: Uri::sip(Some(&callee.number), pbx.config.public_ip.into(), None),
            params: Default::default(),
        };
        invite.headers.push("To", to_na.to_string());
        invite.headers.push("Call-ID", b_call_id.clone());
        invite.headers.push("CSeq", "1 INVITE");
        invite.headers.push("Max-Forwards", "70");
        invite
            .headers
            .push("Contact", format!("<{}>", pbx.contact_uri(peer.transport, Some(&caller))));
        invite.headers.push("Allow", crate::ALLOW);
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = b_offer.to_sdp();
        let ctx = ep.send_request(now, invite.clone(), peer);
        pbx.calls.by_client.insert(ctx, (key, Purpose::Fork(i)));
        forks.push(Fork {
            tx: ctx,
            invite,
            peer,
            final_status: None,
        });
    }
    let a_tag = ep.new_tag();
    let ring = if pbx.config.ring_timeout.is_zero() {
        DEFAULT_RING
    } else {
        pbx.config.ring_timeout
    };
    tracing::info!(call = key.0, caller = %caller, callee = %callee.number, forks = forks.len(), "calling");
    let call = Call {
        key,
        caller,
        callee: callee.number,
        started_ms: wall_ms,
        phase: Phase::Ringing,
        a: LegA {
            tx,
            invite: req,
            peer: from,
            tag: a_tag,
            dialog: None,
            final_sent: false,
            ringing_sent: false,
        },
        forks,
        b: None,
        ring_deadline: Some(now + ring),
        codec: None,
        a_media: MediaSide {
            leg: a_leg,
            port: a_port,
            remote: offer.rtp,
            telephone_event: offer.telephone_event,
            added: false,
            sdp_version: 1,
        },
        b_media: MediaSide {
            leg: b_leg,
            port: b_port,
            remote: None,
            telephone_event: None,
            added: false,
            sdp_version: 1,
        },
        offer,
        early_media: false,
    };
    pbx.calls.by_invite.insert(tx, key);
    pbx.calls.calls.insert(key, call);
}

fn proxy_challenge(pbx: &mut Pbx, now: Instant, ep: &mut Endpoint, tx: ServerTxId, req: &Request, stale: bool) {
    let mut resp = Response::for_request(req, 407);
    for value in pbx.auth.challenge(now, stale) {
        resp.headers.push("Proxy-Authenticate", value);
    }
    resp.headers.set("To", with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()));
    ep.respond(now, tx, resp);
}

/// A response to the caller's INVITE carrying our To tag (and Contact for 1xx/2xx).
fn a_response(pbx: &Pbx, call: &Call, status: u16) -> Response {
    let mut resp = Response::for_request(&call.a.invite, status);
    resp.headers
        .set("To", with_tag(call.a.invite.headers.get("To").unwrap_or(""), &call.a.tag));
    if status < 300 {
        resp.headers.push(
            "Contact",
            format!("<{}>", pbx.contact_uri(call.a.peer.transport, Some(&call.callee))),
        );
        resp.headers.push("Allow", crate::ALLOW);
    }
    resp
}

/// Our answer to the caller: the codec the callee chose, our address and the A port.
fn answer_for_a(pbx: &Pbx, call: &Call, codec: sdp::Codec, direction: Direction) -> Vec<u8> {
    LocalDescription {
        addr: pbx.config.public_ip,
        port: call.a_media.port,
        codecs: vec![codec],
        telephone_event: match (call.offer.telephone_event, call.b_media.telephone_event) {
            (Some(a), Some(_)) => Some(a),
            _ => None,
        },
        direction,
        session_id: call.key.0,
        version: call.a_media.sdp_version,
        ptime: call.offer.ptime,
    }
    .to_sdp()
}

/// Applies the callee's SDP answer: remember their address, add both media legs and bridge them.
fn start_media(pbx: &mut Pbx, key: CallKey, answer: &AudioOffer) -> Option<(sdp::Codec, Direction)> {
    let call = pbx.calls.calls.get_mut(&key)?;
    let codec = *answer.codecs.first()?;
    call.codec = Some(codec);
    call.b_media.remote = answer.rtp;
    call.b_media.telephone_event = answer.telephone_event;
    for side in [&mut call.a_media, &mut call.b_media] {
        if side.added {
            pbx.outputs.push_back(Output::Media(MediaCommand::UpdateRemote {
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
    pbx.outputs
        .push_back(Output::Media(MediaCommand::Bridge(call.a_media.leg, call.b_media.leg)));
    let direction = answer.direction;
    Some((codec, direction))
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
    let status = resp.status;
    if status < 200 {
        if call.phase != Phase::Ringing || status == 100 {
            return;
        }
        let has_sdp = !resp.body.is_empty();
        let early = if has_sdp { sdp::parse_audio(&resp.body).ok() } else { None };
        match early {
            Some(answer) if !call.early_media => {
                let Some((codec, dir)) = start_media(pbx, key, &answer) else {
                    return;
                };
                let call = pbx.calls.calls.get_mut(&key).expect("exists");
                call.early_media = true;
                let call = pbx.calls.calls.get(&key).expect("exists");
                let mut r = a_response(pbx, call, 183);
                r.headers.push("Content-Type", "application/sdp");
                r.body = answer_for_a(pbx, call, codec, dir);
                ep.respond(now, call.a.tx, r);
            }
            _ if !call.a.ringing_sent && !call.early_media => {
                let r = a_response(pbx, call, 180);
                let a_tx = call.a.tx;
                ep.respond(now, a_tx, r);
                pbx.calls.calls.get_mut(&key).expect("exists").a.ringing_sent = true;
            }
            _ => {}
        }
        return;
    }
    if !(200..300).contains(&status) {
        on_fork_failed(pbx, now, wall_ms, ep, key, index, tx, status);
        return;
    }

    // A 2xx: the dialog with this contact exists now.
    let call = pbx.calls.calls.get_mut(&key).expect("exists");
    let fork_invite = call.forks[index].invite.clone();
    let fork_peer = call.forks[index].peer;
    let first = call.forks[index].final_status.is_none();
    call.forks[index].final_status = Some(status);
    let Ok(dialog) = Dialog::new_uac(&fork_invite, &resp) else {
        tracing::warn!(call = key.0, "2xx from the callee could not form a dialog; ignoring it");
        return;
    };
    if !first {
        // A retransmitted 2xx: acknowledge again.
        if let Some(b) = &call.b {
            ep.send_ack(b.dialog.ack_for(1), b.peer);
        }
        return;
    }
    let ack = dialog.ack_for(1);
    ep.send_ack(ack, fork_peer);
    if call.phase != Phase::Ringing || call.b.is_some() {
        // Another fork answered first, or the caller gave up: end this one.
        let mut d = dialog;
        let bye = d.new_request(Method::Bye);
        let ctx = ep.send_request(now, bye, fork_peer);
        pbx.calls.by_client.insert(ctx, (key, Purpose::Fire));
        pbx.calls.by_client.remove(&tx);
        return;
    }
    let answer = sdp::parse_audio(&resp.body);
    pbx.calls.by_client.remove(&tx);
    let local_tag = dialog.id.local_tag.clone();
    let b_call_id = dialog.id.call_id.clone();
    call.b = Some(LegB {
        dialog,
        peer: fork_peer,
    });
    // Cancel the other forks.
    let others: Vec<ClientTxId> = call
        .forks
        .iter()
        .filter(|f| f.final_status.is_none())
        .map(|f| f.tx)
        .collect();
    for other in others {
        ep.cancel(now, other);
    }
    pbx.calls.by_dialog.insert((b_call_id, local_tag), (key, Side::B));

    let media = match answer {
        Ok(a) => start_media(pbx, key, &a),
        Err(_) => None,
    };
    let Some((codec, dir)) = media else {
        tracing::warn!(call = key.0, "callee answered without a usable SDP answer; hanging up");
        let call = pbx.calls.calls.get_mut(&key).expect("exists");
        if let Some(b) = call.b.as_mut() {
            let bye = b.dialog.new_request(Method::Bye);
            let ctx = ep.send_request(now, bye, b.peer);
            pbx.calls.by_client.insert(ctx, (key, Purpose::Fire));
        }
        fail_call(pbx, now, wall_ms, ep, key, 488, Outcome::Failed, Some(Party::System));
        return;
    };
    let call = pbx.calls.calls.get(&key).expect("exists");
    let mut ok = a_response(pbx, call, 200);
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = answer_for_a(pbx, call, codec, dir);
    let a_dialog = Dialog::new_uas(&call.a.invite, &ok).ok();
    let a_tx = call.a.tx;
    let a_call_id = call.a.invite.headers.call_id().unwrap_or("").to_string();
    let a_tag = call.a.tag.clone();
    ep.respond(now, a_tx, ok);
    let call = pbx.calls.calls.get_mut(&key).expect("exists");
    call.a.dialog = a_dialog;
    call.a.final_sent = true;
    call.phase = Phase::Answered;
    call.ring_deadline = None;
    pbx.calls.by_dialog.insert((a_call_id, a_tag), (key, Side::A));
    tracing::info!(call = key.0, "answered");
    pbx.outputs
        .push_back(Output::Cdr(CdrEvent::Answered { call: key, at_ms: wall_ms }));
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
    if let Some(f) = call.forks.get_mut(index) {
        f.final_status.get_or_insert(status);
    }
    if call.phase != Phase::Ringing || call.b.is_some() {
        maybe_remove(pbx, key);
        return;
    }
    if call.forks.iter().any(|f| f.final_status.is_none()) {
        return;
    }
    // Every contact refused: pick the most telling answer (RFC 3261 §16.7 spirit).
    let statuses: Vec<u16> = call.forks.iter().filter_map(|f| f.final_status).collect();
    let (code, outcome) = if statuses.iter().any(|s| *s == 486 || *s == 600) {
        (486, Outcome::Busy)
    } else if statuses.contains(&603) {
        (603, Outcome::Busy)
    } else if statuses.contains(&488) || statuses.contains(&606) {
        (488, Outcome::Failed)
    } else {
        (480, Outcome::Unavailable)
    };
    tracing::info!(call = key.0, ?statuses, answer = code, "callee did not answer");
    fail_call(pbx, now, wall_ms, ep, key, code, outcome, Some(Party::Callee));
}

/// Ends a call that was never answered: cancel what still rings, answer the caller with `status`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fail_call(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    status: u16,
    outcome: Outcome,
    hangup_by: Option<Party>,
) {
    let Some(call) = pbx.calls.calls.get(&key) else {
        return;
    };
    if call.phase == Phase::Ended {
        return;
    }
    let pending: Vec<ClientTxId> = call.forks.iter().filter(|f| f.final_status.is_none()).map(|f| f.tx).collect();
    for tx in pending {
        ep.cancel(now, tx);
    }
    if !call.a.final_sent {
        let resp = a_response(pbx, call, status);
        ep.respond(now, call.a.tx, resp);
    }
    let call = pbx.calls.calls.get_mut(&key).expect("exists");
    call.a.final_sent = true;
    call.phase = Phase::Ended;
    call.ring_deadline = None;
    pbx.outputs.push_back(Output::Cdr(CdrEvent::Ended {
        call: key,
        at_ms: wall_ms,
        outcome,
        hangup_by,
    }));
    release_media(pbx, key);
    maybe_remove(pbx, key);
}

pub(crate) fn on_cancel(pbx: &mut Pbx, now: Instant, wall_ms: i64, ep: &mut Endpoint, invite: ServerTxId) {
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
    fail_call(pbx, now, wall_ms, ep, key, 487, Outcome::Cancelled, Some(Party::Caller));
}

