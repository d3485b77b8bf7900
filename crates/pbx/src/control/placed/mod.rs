//! Calls the PBX places itself: one SIP leg (our INVITE, forked to every
//! registered phone of the target; the first 2xx wins) and one media leg that
//! the media engine terminates. This module is call control only: it places,
//! plays, hangs up and reports what happened as [`PlacedEvent`]s; the feature
//! that owns the call (see `crate::apps`) decides what to do with them.
//!
//! ```text
//!  originate ── INVITE to each contact ──▶ Calling ── first 2xx: ACK, CANCEL the rest ──▶ Connected
//!                                            │ every fork failed, ring timeout,              │ BYE from the phone,
//!                                            │ hang-up (CANCEL)                              │ hang-up (BYE), RTP lost
//!                                            ▼                                               ▼
//!                                          Ended ◀───────────────────────────────────────────┘
//! ```
//!
//! An ended call is forgotten once no transaction of it is outstanding (the
//! 487s to our CANCELs, the answer to our BYE). A 2xx arriving after another
//! fork won, or after the call ended, is acknowledged and ended with a BYE.

mod dialog;

use crate::ctx::{Caller, Ctx, RingTarget, invite_to};
use crate::originate::PurposeKind;
use crate::sdp::{self, Direction, LocalDescription};
use crate::{CallKey, CdrEvent, LegRole, Outcome, Output, Party};
use media::{LegId, MediaCommand, MediaEvent};
use sip::dialog::Dialog;
use sip::endpoint::{ClientTxId, Endpoint, Peer};
use sip::message::{Method, Request};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What happened to a placed call, for the feature that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlacedEvent {
    /// A phone answered; its media leg is up.
    Answered(CallKey),
    /// The phone sent a digit (RFC 4733, in-band or SIP INFO).
    Digit(CallKey, char),
    /// The prompts started by [`PlacedCalls::play`] played to their end.
    PromptFinished(CallKey),
    /// The call is over (whoever ended it); it takes no more verbs.
    Ended(CallKey),
}

/// Who placed the call and to whom, as the INVITE and the record say.
pub(crate) struct Dial {
    /// The call's key (shared numbering with incoming calls).
    pub key: CallKey,
    /// The phones to ring.
    pub targets: Vec<RingTarget>,
    /// The number the call record names as the callee.
    pub callee: String,
    /// The From user (a number the phone can call back) and display name.
    pub from_user: String,
    /// The From display name.
    pub display: String,
    /// Why the call is placed.
    pub purpose: PurposeKind,
    /// How long the phones may ring.
    pub ring_for: Duration,
    /// Headers added to each INVITE (a page's `Call-Info` and `Alert-Info` asking the phone
    /// to answer by itself).
    pub headers: Vec<(&'static str, String)>,
}

/// A transaction of ours and what it belongs to.
#[derive(Debug, Clone, Copy)]
enum TxRole {
    /// The INVITE to one phone (index into the forks).
    Invite(usize),
    /// A BYE (its answer does not matter).
    Bye,
}

/// One phone rung for a placed call.
#[derive(Debug)]
struct Fork {
    tx: ClientTxId,
    invite: Request,
    peer: Peer,
    /// The final status it answered, once it did.
    final_status: Option<u16>,
}

/// Where a placed call is (see the ladder in the module doc).
#[derive(Debug)]
enum State {
    /// Our INVITEs are out; no phone answered yet.
    Calling { ring_deadline: Instant },
    /// A phone answered: the dialog with it and the codec its answer chose.
    Connected {
        dialog: Box<Dialog>,
        peer: Peer,
        codec: sdp::Codec,
        telephone_event: Option<u8>,
        sdp_version: u64,
    },
    /// Over; waiting only for outstanding transactions.
    Ended,
}

#[derive(Debug)]
struct PlacedCall {
    /// What the live-call view shows: the PBX's display name, the number rung, the start.
    summary: (String, String, i64),
    leg: LegId,
    port: u16,
    /// Whether the engine has the leg (it does once a phone answered).
    leg_added: bool,
    /// Every phone rung (kept after the answer: a late 2xx is acknowledged and ended).
    forks: Vec<Fork>,
    state: State,
}

/// Every call the PBX placed and the indexes that find them.
#[derive(Debug, Default)]
pub(crate) struct PlacedCalls {
    calls: HashMap<CallKey, PlacedCall>,
    by_client: HashMap<ClientTxId, (CallKey, TxRole)>,
    /// (Call-ID, our tag) of connected calls.
    by_dialog: HashMap<(String, String), CallKey>,
    by_leg: HashMap<LegId, CallKey>,
    /// Legs removed from ended calls whose final quality report is still to come.
    ended_legs: HashMap<LegId, CallKey>,
    events: VecDeque<PlacedEvent>,
}

impl PlacedCalls {
    /// Placed calls not yet ended.
    pub fn active(&self) -> usize {
        self.calls
            .values()
            .filter(|c| !matches!(c.state, State::Ended))
            .count()
    }

    /// The placed calls in progress, for the admin API's live view.
    pub fn summaries(&self) -> Vec<crate::CallSummary> {
        self.calls
            .iter()
            .map(|(key, c)| crate::CallSummary {
                key: *key,
                caller: c.summary.0.clone(),
                caller_name: None,
                callee: c.summary.1.clone(),
                state: match c.state {
                    State::Calling { .. } => crate::LiveState::Ringing,
                    State::Connected { .. } => crate::LiveState::Answered,
                    State::Ended => crate::LiveState::Ending,
                },
                started_ms: c.summary.2,
            })
            .collect()
    }

    /// Every placed call not yet ended (for shutdown).
    pub fn keys(&self) -> Vec<CallKey> {
        self.calls
            .iter()
            .filter(|(_, c)| !matches!(c.state, State::Ended))
            .map(|(k, _)| *k)
            .collect()
    }

    /// The next event for the owning feature.
    pub fn poll_event(&mut self) -> Option<PlacedEvent> {
        self.events.pop_front()
    }

    /// The earliest ring deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter_map(|c| match &c.state {
                State::Calling { ring_deadline } => Some(*ring_deadline),
                _ => None,
            })
            .min()
    }

    /// Whether `tx` is one of ours.
    pub fn owns_tx(&self, tx: ClientTxId) -> bool {
        self.by_client.contains_key(&tx)
    }

    /// Whether a media event names a leg of ours (live or ended).
    pub fn owns_leg(&self, leg: LegId) -> bool {
        self.by_leg.contains_key(&leg) || self.ended_legs.contains_key(&leg)
    }

    /// Places the call: opens its RTP socket, rings every target, records the start.
    /// The caller checked that there is at least one target and a free port.
    pub fn dial(
        &mut self,
        ctx: &mut Ctx,
        ep: &mut Endpoint,
        now: Instant,
        wall_ms: i64,
        dial: Dial,
        port: u16,
    ) {
        let key = dial.key;
        let leg = ctx.new_leg();
        ctx.outputs.push_back(Output::OpenRtp { leg, port });
        let call_id = ep.new_call_id();
        let tag = ep.new_tag();
        let offer = LocalDescription {
            addr: ctx.config.public_ip,
            port,
            codecs: ctx.config.codecs.clone(),
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            session_id: key.0,
            version: 1,
            ptime: None,
            answering: None,
        }
        .to_sdp();
        let caller = Caller {
            user: &dial.from_user,
            display: Some(dial.display.clone()),
            tag: &tag,
        };
        let mut forks = Vec::new();
        for target in &dial.targets {
            let mut invite = invite_to(ctx.config, target, &caller, &call_id, offer.clone());
            for (name, value) in &dial.headers {
                invite.headers.push(name, value.clone());
            }
            let peer = target.1;
            let tx = ep.send_request(now, invite.clone(), peer);
            self.by_client
                .insert(tx, (key, TxRole::Invite(forks.len())));
            forks.push(Fork {
                tx,
                invite,
                peer,
                final_status: None,
            });
        }
        tracing::info!(call = key.0, target = %dial.callee, purpose = dial.purpose.as_str(), forks = forks.len(), "placing a call");
        let summary = (dial.display.clone(), dial.callee.clone(), wall_ms);
        ctx.outputs.push_back(Output::call(CdrEvent::Started {
            call: key,
            call_id,
            caller: dial.display,
            callee: dial.callee,
            at_ms: wall_ms,
            origin: crate::CallOrigin::Pbx(dial.purpose),
        }));
        self.by_leg.insert(leg, key);
        self.calls.insert(
            key,
            PlacedCall {
                summary,
                leg,
                port,
                leg_added: false,
                forks,
                state: State::Calling {
                    ring_deadline: now + dial.ring_for,
                },
            },
        );
    }

    /// The media leg of a call, once a phone answered (the engine has it).
    pub fn answered_leg(&self, key: CallKey) -> Option<LegId> {
        self.calls.get(&key).filter(|c| c.leg_added).map(|c| c.leg)
    }

    /// Plays prompts to the phone of a connected call ([`PlacedEvent::PromptFinished`] follows).
    pub fn play(&mut self, ctx: &mut Ctx, key: CallKey, prompts: Vec<Arc<media::prompt::Prompt>>) {
        if let Some(call) = self.calls.get(&key).filter(|c| c.leg_added) {
            ctx.outputs.push_back(Output::Media(MediaCommand::Play {
                leg: call.leg,
                prompts,
                loop_: false,
            }));
        }
    }

    /// Stops the prompts playing to a call.
    pub fn stop_play(&mut self, ctx: &mut Ctx, key: CallKey) {
        if let Some(call) = self.calls.get(&key).filter(|c| c.leg_added) {
            ctx.outputs
                .push_back(Output::Media(MediaCommand::StopPlay(call.leg)));
        }
    }

    /// Ends a call from the PBX side: cancels what still rings, or sends BYE.
    pub fn hangup(
        &mut self,
        ctx: &mut Ctx,
        ep: &mut Endpoint,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
    ) {
        let outcome = match self.calls.get(&key).map(|c| &c.state) {
            Some(State::Calling { .. }) => Outcome::Cancelled,
            Some(State::Connected { .. }) => Outcome::Answered,
            _ => return,
        };
        self.end(ctx, ep, now, wall_ms, key, outcome, Party::System, true);
    }

    /// Ring deadlines that passed: nobody answered.
    pub fn handle_timeout(&mut self, ctx: &mut Ctx, ep: &mut Endpoint, now: Instant, wall_ms: i64) {
        let due: Vec<CallKey> = self
            .calls
            .iter()
            .filter(|(_, c)| matches!(c.state, State::Calling { ring_deadline } if ring_deadline <= now))
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            tracing::info!(
                call = key.0,
                "placed call not answered within the ring timeout"
            );
            self.end(
                ctx,
                ep,
                now,
                wall_ms,
                key,
                Outcome::NoAnswer,
                Party::Callee,
                true,
            );
        }
    }

    /// A media event for one of our legs.
    pub fn on_media(
        &mut self,
        ctx: &mut Ctx,
        ep: &mut Endpoint,
        now: Instant,
        wall_ms: i64,
        event: MediaEvent,
    ) {
        match event {
            MediaEvent::Dtmf { leg, digit, .. } => {
                if let Some(key) = self.connected_leg(leg) {
                    self.events.push_back(PlacedEvent::Digit(key, digit));
                }
            }
            MediaEvent::PlayFinished { leg } => {
                if let Some(key) = self.connected_leg(leg) {
                    self.events.push_back(PlacedEvent::PromptFinished(key));
                }
            }
            MediaEvent::RtpTimeout { leg } | MediaEvent::RtpUnavailable { leg, .. } => {
                if let Some(key) = self.by_leg.get(&leg).copied() {
                    tracing::warn!(
                        call = key.0,
                        leg = leg.0,
                        "placed call has no media: hanging up"
                    );
                    let outcome = match self.calls.get(&key).map(|c| &c.state) {
                        Some(State::Connected { .. }) => Outcome::Answered,
                        _ => Outcome::Failed,
                    };
                    self.end(ctx, ep, now, wall_ms, key, outcome, Party::System, true);
                }
            }
            MediaEvent::Quality { leg, report } => {
                if let Some(call) = self.ended_legs.remove(&leg) {
                    ctx.outputs.push_back(Output::call(CdrEvent::Quality {
                        call,
                        leg: LegRole::Callee,
                        report,
                    }));
                }
            }
            other => tracing::debug!(?other, "media event of a placed call"),
        }
    }

    /// The key of the connected call whose media leg is `leg`.
    fn connected_leg(&self, leg: LegId) -> Option<CallKey> {
        let key = self.by_leg.get(&leg).copied()?;
        let call = self.calls.get(&key)?;
        matches!(call.state, State::Connected { .. }).then_some(key)
    }

    /// Ends the call in whatever state it is, records the end and frees its media.
    #[allow(clippy::too_many_arguments)]
    fn end(
        &mut self,
        ctx: &mut Ctx,
        ep: &mut Endpoint,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        outcome: Outcome,
        by: Party,
        send_bye: bool,
    ) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        match std::mem::replace(&mut call.state, State::Ended) {
            State::Ended => return,
            State::Calling { .. } => {
                for fork in call.forks.iter().filter(|f| f.final_status.is_none()) {
                    ep.cancel(now, fork.tx);
                }
            }
            State::Connected {
                mut dialog, peer, ..
            } => {
                self.by_dialog
                    .remove(&(dialog.id.call_id.clone(), dialog.id.local_tag.clone()));
                if send_bye {
                    let tx = ep.send_request(now, dialog.new_request(Method::Bye), peer);
                    self.by_client.insert(tx, (key, TxRole::Bye));
                }
            }
        }
        tracing::info!(
            call = key.0,
            outcome = outcome.as_str(),
            by = by.as_str(),
            "placed call ended"
        );
        if call.leg_added {
            ctx.outputs
                .push_back(Output::Media(MediaCommand::RemoveLeg(call.leg)));
            self.ended_legs.insert(call.leg, key);
        }
        ctx.outputs.push_back(Output::CloseRtp { leg: call.leg });
        ctx.ports.release(call.port);
        self.by_leg.remove(&call.leg);
        ctx.outputs.push_back(Output::call(CdrEvent::Ended {
            call: key,
            at_ms: wall_ms,
            outcome,
            hangup_by: Some(by),
        }));
        self.events.push_back(PlacedEvent::Ended(key));
        self.forget_if_done(key);
    }

    /// Forgets an ended call once none of its transactions is outstanding.
    fn forget_if_done(&mut self, key: CallKey) {
        let ended = self
            .calls
            .get(&key)
            .is_some_and(|c| matches!(c.state, State::Ended));
        if ended && !self.by_client.values().any(|(k, _)| *k == key) {
            self.calls.remove(&key);
        }
    }
}
