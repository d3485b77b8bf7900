//! The SIP side of a placed call: the phones' responses to our INVITEs, the
//! transactions that fail, and the requests a connected phone sends in the
//! dialog (BYE, INFO digits, re-INVITE).

use super::{PlacedCalls, PlacedEvent, State, TxRole};
use crate::ctx::Ctx;
use crate::sdp::{self, Direction, LocalDescription};
use crate::{CallKey, CdrEvent, Outcome, Output, Party};
use dialplan::FailReason;
use media::MediaCommand;
use sip::dialog::Dialog;
use sip::endpoint::{ClientTxId, Endpoint, ServerTxId};
use sip::message::{Method, Request, Response};
use std::time::Instant;

impl PlacedCalls {
    /// A response to one of our transactions.
    pub fn on_response(
        &mut self,
        ctx: &mut Ctx,
        ep: &mut Endpoint,
        now: Instant,
        wall_ms: i64,
        tx: ClientTxId,
        resp: Response,
    ) {
        let Some((key, role)) = self.by_client.get(&tx).copied() else {
            return;
        };
        if resp.status < 200 {
            return;
        }
        self.by_client.remove(&tx);
        match role {
            TxRole::Bye => self.forget_if_done(key),
            TxRole::Invite(index) if resp.is_success() => {
                self.on_answer(ctx, ep, now, wall_ms, key, index, &resp)
            }
            TxRole::Invite(index) => {
                self.on_fork_failed(ctx, ep, now, wall_ms, key, index, resp.status)
            }
        }
    }

    /// One of our transactions timed out or could not be sent.
    pub fn on_tx_failed(
        &mut self,
        ctx: &mut Ctx,
        ep: &mut Endpoint,
        now: Instant,
        wall_ms: i64,
        tx: ClientTxId,
    ) {
        let Some((key, role)) = self.by_client.remove(&tx) else {
            return;
        };
        match role {
            TxRole::Bye => self.forget_if_done(key),
            TxRole::Invite(index) => self.on_fork_failed(ctx, ep, now, wall_ms, key, index, 408),
        }
    }

    /// A phone answered: the first answer connects the call, any later one is let go.
    #[allow(clippy::too_many_arguments)]
    fn on_answer(
        &mut self,
        ctx: &mut Ctx,
        ep: &mut Endpoint,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        index: usize,
        resp: &Response,
    ) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(fork) = call.forks.get_mut(index) else {
            return;
        };
        fork.final_status = Some(resp.status);
        let (invite, peer) = (fork.invite.clone(), fork.peer);
        let Ok(mut dialog) = Dialog::new_uac(&invite, resp) else {
            tracing::warn!(
                call = key.0,
                "2xx from the phone could not form a dialog; ignoring it"
            );
            return;
        };
        ep.send_ack(dialog.ack_for(1), peer);
        if !matches!(call.state, State::Calling { .. }) {
            // Too late (another phone answered first, or the call ended): end this one.
            let tx = ep.send_request(now, dialog.new_request(Method::Bye), peer);
            self.by_client.insert(tx, (key, TxRole::Bye));
            return;
        }
        for other in call.forks.iter().filter(|f| f.final_status.is_none()) {
            ep.cancel(now, other.tx);
        }
        let answer = sdp::parse_audio(&resp.body)
            .ok()
            .and_then(|a| Some((*a.codecs.first()?, a)));
        let (codec, telephone_event) = answer
            .as_ref()
            .map_or((sdp::Codec::Pcmu, None), |(c, a)| (*c, a.telephone_event));
        self.by_dialog.insert(
            (dialog.id.call_id.clone(), dialog.id.local_tag.clone()),
            key,
        );
        call.state = State::Connected {
            dialog: Box::new(dialog),
            peer,
            codec,
            telephone_event,
            sdp_version: 1,
        };
        let Some((_, answer)) = answer else {
            tracing::warn!(
                call = key.0,
                "the phone answered without a usable SDP answer; hanging up"
            );
            self.end(
                ctx,
                ep,
                now,
                wall_ms,
                key,
                Outcome::Failed,
                Party::System,
                true,
            );
            return;
        };
        ctx.outputs.push_back(Output::Media(MediaCommand::AddLeg {
            leg: call.leg,
            remote: answer.rtp,
            codec: sdp::media_codec(codec),
            telephone_event_pt: telephone_event,
        }));
        call.leg_added = true;
        tracing::info!(call = key.0, "placed call answered");
        ctx.outputs.push_back(Output::call(CdrEvent::Answered {
            call: key,
            at_ms: wall_ms,
        }));
        self.events.push_back(PlacedEvent::Answered(key));
    }

    /// One phone refused or never answered; when all have, the call failed.
    #[allow(clippy::too_many_arguments)]
    fn on_fork_failed(
        &mut self,
        ctx: &mut Ctx,
        ep: &mut Endpoint,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        index: usize,
        status: u16,
    ) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if let Some(fork) = call.forks.get_mut(index) {
            fork.final_status.get_or_insert(status);
        }
        if !matches!(call.state, State::Calling { .. }) {
            self.forget_if_done(key);
            return;
        }
        if call.forks.iter().any(|f| f.final_status.is_none()) {
            return;
        }
        let statuses: Vec<u16> = call.forks.iter().filter_map(|f| f.final_status).collect();
        let outcome = match crate::control::calls::fail_reason(&statuses) {
            FailReason::Busy | FailReason::DoNotDisturb => Outcome::Busy,
            FailReason::NotFound | FailReason::Gone => Outcome::NotFound,
            FailReason::Restricted => Outcome::Rejected,
            FailReason::NoAnswer => Outcome::NoAnswer,
            FailReason::Unavailable => Outcome::Unavailable,
        };
        tracing::info!(call = key.0, ?statuses, "no phone took the placed call");
        self.end(ctx, ep, now, wall_ms, key, outcome, Party::Callee, false);
    }

    /// A request inside the dialog of a connected placed call.
    #[allow(clippy::too_many_arguments)]
    pub fn on_request(
        &mut self,
        ctx: &mut Ctx,
        ep: &mut Endpoint,
        now: Instant,
        wall_ms: i64,
        tx: ServerTxId,
        req: Request,
        key: CallKey,
    ) {
        let public_ip = ctx.config.public_ip;
        let Some(call) = self.calls.get_mut(&key) else {
            ep.respond(now, tx, Response::for_request(&req, 481));
            return;
        };
        let State::Connected {
            dialog,
            peer,
            codec,
            telephone_event,
            sdp_version,
            ..
        } = &mut call.state
        else {
            ep.respond(now, tx, Response::for_request(&req, 481));
            return;
        };
        if let Err(status) = dialog.accept_incoming(&req) {
            ep.respond(now, tx, Response::for_request(&req, status));
            return;
        }
        match req.method {
            Method::Bye => {
                ep.respond(now, tx, Response::for_request(&req, 200));
                tracing::info!(call = key.0, "the phone hung up the placed call");
                self.end(
                    ctx,
                    ep,
                    now,
                    wall_ms,
                    key,
                    Outcome::Answered,
                    Party::Callee,
                    false,
                );
            }
            Method::Ack => {}
            Method::Info => {
                let content_type = req.headers.get("Content-Type").unwrap_or("");
                let body = String::from_utf8_lossy(&req.body);
                match media::dtmf::parse_sip_info(content_type, &body) {
                    Ok(dtmf) => {
                        ep.respond(now, tx, Response::for_request(&req, 200));
                        self.events.push_back(PlacedEvent::Digit(key, dtmf.digit));
                    }
                    Err(e) => {
                        let mut resp = Response::for_request(&req, 415);
                        resp.reason = format!("Unsupported Media Type ({e})");
                        resp.headers
                            .push("Accept", "application/dtmf-relay, application/dtmf");
                        ep.respond(now, tx, resp);
                    }
                }
            }
            Method::Invite | Method::Update => {
                // A session refresh or a hold: we keep sending and receiving on the same
                // port, so our answer is the same description (its version moves on).
                *sdp_version += 1;
                let mut ok = Response::for_request(&req, 200);
                ok.headers.push("Content-Type", "application/sdp");
                let contact = ctx.contact_uri(peer.transport, None);
                ok.headers.push("Contact", format!("<{contact}>"));
                let offer = sdp::parse_audio(&req.body).ok();
                ok.body = LocalDescription {
                    addr: public_ip,
                    port: call.port,
                    codecs: vec![*codec],
                    telephone_event: *telephone_event,
                    direction: Direction::SendRecv,
                    session_id: key.0,
                    version: *sdp_version,
                    ptime: None,
                    answering: offer.as_ref().map(|o| o.layout.clone()),
                }
                .to_sdp();
                if let Some(offer) = offer
                    && offer.rtp.is_some()
                {
                    ctx.outputs
                        .push_back(Output::Media(MediaCommand::UpdateRemote {
                            leg: call.leg,
                            remote: offer.rtp,
                        }));
                }
                ep.respond(now, tx, ok);
            }
            _ => ep.respond(now, tx, Response::for_request(&req, 200)),
        }
    }

    /// The key of the placed call an in-dialog request belongs to.
    pub fn dialog_call(&self, call_id: &str, to_tag: &str) -> Option<CallKey> {
        self.by_dialog
            .get(&(call_id.to_string(), to_tag.to_string()))
            .copied()
    }
}
