//! The B2BUA: each call is an A leg (the caller's INVITE, answered by us)
//! and a B leg (our INVITE to the callee's registered contacts, forked in
//! parallel; the first 2xx wins). Media is anchored: both legs' SDP point
//! at our RTP ports and the media engine relays between them.
//!
//! - `setup`: the initial INVITE, forking, provisional and final responses, CANCEL, ring timeout.
//! - `midcall`: requests inside the dialogs (BYE, re-INVITE for hold, UPDATE, INFO) and hang-up.

pub(crate) mod bridge;
pub use bridge::RINGBACK_CLASS;
pub(crate) mod conference;
mod hold;
pub(crate) mod ivr;
mod midcall;
mod recording;
mod setup;
pub(crate) mod transfer;

pub(crate) use midcall::{handle_in_dialog, hangup_all};
pub(crate) use setup::handle_invite;

use crate::sdp::{AudioOffer, Codec};
use crate::{Output, Pbx};
use media::{LegId, MediaCommand, MediaEvent};
use sip::dialog::Dialog;
use sip::endpoint::{ClientTxId, Endpoint, Event, Peer, ServerTxId};
use sip::message::{NameAddr, Request};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Identifies a call inside the PBX (and its call record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey(pub u64);

/// How a call ended, as written into its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The callee answered.
    Answered,
    /// The callee was busy.
    Busy,
    /// Nobody answered within the ring timeout.
    NoAnswer,
    /// The caller hung up before an answer.
    Cancelled,
    /// The dialled number does not exist.
    NotFound,
    /// The extension exists but no phone is registered (or all refused).
    Unavailable,
    /// The PBX could not set the call up (no ports, bad SDP, …).
    Failed,
    /// Refused by admission control or authentication.
    Rejected,
}

impl Outcome {
    /// The value stored in the call record.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Busy => "busy",
            Outcome::NoAnswer => "no_answer",
            Outcome::Cancelled => "cancelled",
            Outcome::NotFound => "not_found",
            Outcome::Unavailable => "unavailable",
            Outcome::Failed => "failed",
            Outcome::Rejected => "rejected",
        }
    }
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The calling side.
    Caller,
    /// The called side.
    Callee,
    /// The PBX (timeout, shutdown, media loss).
    System,
}

impl Party {
    /// The value stored in the call record.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Caller => "caller",
            Party::Callee => "callee",
            Party::System => "system",
        }
    }
}

/// Call record events, in order, for the store.
#[derive(Debug, Clone, PartialEq)]
pub enum CdrEvent {
    /// A call was accepted for routing.
    Started {
        /// The call.
        call: CallKey,
        /// The caller's SIP Call-ID.
        call_id: String,
        /// Who called (extension number, or the From user of a guest; the display name the
        /// PBX showed for a call it placed).
        caller: String,
        /// The dialled number.
        callee: String,
        /// Wall-clock time, unix ms.
        at_ms: i64,
        /// A caller's INVITE, or the PBX for a purpose.
        origin: crate::CallOrigin,
    },
    /// The callee answered.
    Answered {
        /// The call.
        call: CallKey,
        /// Wall-clock time, unix ms.
        at_ms: i64,
    },
    /// The call ended.
    Ended {
        /// The call.
        call: CallKey,
        /// Wall-clock time, unix ms.
        at_ms: i64,
        /// How it ended.
        outcome: Outcome,
        /// Who hung up.
        hangup_by: Option<Party>,
    },
    /// Media statistics of one leg, reported after the leg closed.
    Quality {
        /// The call.
        call: CallKey,
        /// Which leg.
        leg: LegRole,
        /// The leg's counters and RTCP figures.
        report: media::QualityReport,
    },
    /// The digits the callee of a call the PBX placed pressed (before [`CdrEvent::Ended`]).
    Digits {
        /// The call.
        call: CallKey,
        /// The digits, in order.
        digits: String,
    },
}

/// Which leg of a call a quality report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegRole {
    /// The calling phone's leg.
    Caller,
    /// The called phone's leg.
    Callee,
    /// The leg of a party who transferred the call away.
    Transferor,
}

impl LegRole {
    /// The name used in the call record.
    pub fn as_str(self) -> &'static str {
        match self {
            LegRole::Caller => "caller",
            LegRole::Callee => "callee",
            LegRole::Transferor => "transferor",
        }
    }
}

/// A call in progress, for the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSummary {
    /// The call.
    pub key: CallKey,
    /// Caller.
    pub caller: String,
    /// Callee.
    pub callee: String,
    /// `ringing`, `answered` or `ending`.
    pub state: &'static str,
    /// When it started (unix ms).
    pub started_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    A,
    B,
}

impl Side {
    fn party(self) -> Party {
        match self {
            Side::A => Party::Caller,
            Side::B => Party::Callee,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Ringing,
    Answered,
    Ended,
}

/// One side's media: the engine leg, our RTP port, the peer's offer/answer.
#[derive(Debug)]
pub(crate) struct MediaSide {
    pub leg: LegId,
    pub port: u16,
    pub remote: Option<std::net::SocketAddr>,
    pub telephone_event: Option<u8>,
    pub added: bool,
    pub sdp_version: u64,
}

impl MediaSide {
    /// A side on our RTP `port`, not yet in the media engine.
    pub fn new(leg: LegId, port: u16, remote: Option<std::net::SocketAddr>) -> Self {
        MediaSide {
            leg,
            port,
            remote,
            telephone_event: None,
            added: false,
            sdp_version: 1,
        }
    }

    /// The side left behind when its leg moved elsewhere: no port, nothing to release.
    pub fn moved_away() -> Self {
        MediaSide {
            port: 0,
            sdp_version: 0,
            ..MediaSide::new(LegId(0), 0, None)
        }
    }
}

#[derive(Debug)]
pub(crate) struct LegA {
    pub tx: ServerTxId,
    pub invite: Request,
    pub peer: Peer,
    pub tag: String,
    pub dialog: Option<Dialog>,
    pub final_sent: bool,
    pub ringing_sent: bool,
}

#[derive(Debug)]
pub(crate) struct Fork {
    pub tx: ClientTxId,
    pub invite: Request,
    pub peer: Peer,
    pub final_status: Option<u16>,
    /// Which bridge attempt of the call this fork belongs to.
    pub attempt: u32,
}

#[derive(Debug)]
pub(crate) struct LegB {
    pub dialog: Dialog,
    pub peer: Peer,
}

/// The interpreter state of a call the attendant handles.
pub(crate) struct Ivr {
    /// The plan the call started on (a reload does not change it).
    pub plan: std::sync::Arc<dialplan::Plan>,
    /// The prompts of that plan.
    pub prompts: std::sync::Arc<media::prompt::PromptCache>,
    /// The interpreter's state.
    pub state: dialplan::CallState,
    /// The digest user who placed the call (for feature codes).
    pub auth_user: Option<String>,
}

impl std::fmt::Debug for Ivr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ivr")
            .field("auth_user", &self.auth_user)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub(crate) struct Call {
    pub key: CallKey,
    pub caller: String,
    pub callee: String,
    pub started_ms: i64,
    pub phase: Phase,
    pub a: LegA,
    pub forks: Vec<Fork>,
    pub b: Option<LegB>,
    pub ring_deadline: Option<Instant>,
    pub codec: Option<Codec>,
    pub a_media: MediaSide,
    pub b_media: MediaSide,
    pub offer: AudioOffer,
    pub early_media: bool,
    /// The attendant's interpreter, for calls the dialplan handles.
    pub ivr: Option<Ivr>,
    /// Whether a bridge attempt (forks) is in progress.
    pub forking: bool,
    /// The number of the current bridge attempt.
    pub attempt: u32,
    /// An ACK owed to one leg until the other answers a delayed offer.
    pub pending_ack: Option<midcall::PendingAck>,
    /// The attendant answered and waits for the caller's ACK before it speaks.
    pub answered_awaiting_ack: bool,
    /// A transfer in progress: the transferor's leg, set aside.
    pub transfer: Option<transfer::Transferor>,
}

/// What a client transaction of ours is for.
#[derive(Debug)]
pub(crate) enum Purpose {
    /// Our INVITE to one of the callee's contacts.
    Fork(usize),
    /// A request forwarded from `origin_side`; its final response goes back on `origin`.
    Forward {
        origin: ServerTxId,
        origin_side: Side,
        origin_req: Box<Request>,
    },
    /// A BYE or other request whose answer does not matter.
    Fire,
}

/// Every call and the indexes that find a call from a transaction or dialog.
#[derive(Debug, Default)]
pub(crate) struct Calls {
    calls: HashMap<CallKey, Call>,
    by_invite: HashMap<ServerTxId, CallKey>,
    by_client: HashMap<ClientTxId, (CallKey, Purpose)>,
    /// (Call-ID, our tag) → call and side.
    by_dialog: HashMap<(String, String), (CallKey, Side)>,
    /// Dialogs we ended with a BYE while their call goes on (a transferor's legs): a BYE
    /// crossing ours is answered 200, anything else 481. Forgotten with the call.
    ended_dialogs: HashMap<(String, String), CallKey>,
    /// Media legs removed from ended calls whose final quality report is still to come.
    ended_legs: HashMap<LegId, (CallKey, LegRole)>,
    next: u64,
}

impl Calls {
    pub fn get(&self, key: CallKey) -> Option<&Call> {
        self.calls.get(&key)
    }

    pub fn len(&self) -> usize {
        self.calls
            .values()
            .filter(|c| c.phase != Phase::Ended)
            .count()
    }

    pub fn next_key(&mut self) -> CallKey {
        self.next += 1;
        CallKey(self.next)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter(|c| c.phase != Phase::Ended)
            .flat_map(|c| {
                let ring = if c.forking { c.ring_deadline } else { None };
                let ivr = c.ivr.as_ref().and_then(|i| i.state.next_deadline());
                [ring, ivr]
            })
            .flatten()
            .min()
    }

    pub fn summaries(&self) -> Vec<CallSummary> {
        let mut v: Vec<_> = self
            .calls
            .values()
            .map(|c| CallSummary {
                key: c.key,
                caller: c.caller.clone(),
                callee: c.callee.clone(),
                state: match c.phase {
                    Phase::Ringing => "ringing",
                    Phase::Answered => "answered",
                    Phase::Ended => "ending",
                },
                started_ms: c.started_ms,
            })
            .collect();
        v.sort_by_key(|s| s.key);
        v
    }
}

/// Adds `;tag=` to a To/From header value unless it already has one.
pub(crate) fn with_tag(header: &str, tag: &str) -> String {
    match NameAddr::parse(header) {
        Ok(mut na) => {
            if na.tag().is_none() {
                na.params.set("tag", Some(tag));
            }
            na.to_string()
        }
        Err(_) => format!("{header};tag={tag}"),
    }
}

/// Dispatches endpoint events other than new requests.
pub(crate) fn handle_event(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    event: Event,
) {
    match event {
        Event::Response { tx, resp } => {
            let Some((key, purpose)) = pbx.calls.by_client.get(&tx).map(|(k, p)| (*k, p.kind()))
            else {
                return;
            };
            match purpose {
                PurposeKind::Fork(i) => {
                    bridge::on_fork_response(pbx, now, wall_ms, ep, key, i, tx, resp)
                }
                PurposeKind::Forward => {
                    midcall::on_forward_response(pbx, now, wall_ms, ep, key, tx, resp)
                }
                PurposeKind::Fire => {
                    if resp.status >= 200 {
                        pbx.calls.by_client.remove(&tx);
                        maybe_remove(pbx, key);
                    }
                }
            }
        }
        Event::Timeout { tx } | Event::TransportError { tx } => {
            let Some((key, purpose)) = pbx.calls.by_client.get(&tx).map(|(k, p)| (*k, p.kind()))
            else {
                return;
            };
            match purpose {
                PurposeKind::Fork(i) => {
                    bridge::on_fork_failed(pbx, now, wall_ms, ep, key, i, tx, 408)
                }
                PurposeKind::Forward => midcall::on_forward_timeout(pbx, now, wall_ms, ep, key, tx),
                PurposeKind::Fire => {
                    pbx.calls.by_client.remove(&tx);
                    maybe_remove(pbx, key);
                }
            }
        }
        Event::Cancelled { invite, .. } => setup::on_cancel(pbx, now, wall_ms, ep, invite),
        Event::AckTimeout { tx } => {
            let key = pbx.calls.by_invite.get(&tx).copied();
            if let Some(key) = key
                && pbx
                    .calls
                    .calls
                    .get(&key)
                    .is_some_and(|c| c.phase == Phase::Answered)
            {
                tracing::warn!(
                    call = key.0,
                    "caller never acknowledged the 200 OK: hanging up"
                );
                midcall::hangup(pbx, now, wall_ms, ep, key, Party::System);
            }
        }
        Event::Ack { req, .. } => {
            let call_id = req.headers.call_id().unwrap_or("").to_string();
            let to_tag = req
                .headers
                .to()
                .ok()
                .and_then(|t| t.tag().map(str::to_string))
                .unwrap_or_default();
            if let Some((key, side)) = pbx.calls.by_dialog.get(&(call_id, to_tag)).copied() {
                let attendant_waits = side == Side::A
                    && pbx
                        .calls
                        .calls
                        .get_mut(&key)
                        .is_some_and(|c| std::mem::take(&mut c.answered_awaiting_ack));
                if attendant_waits {
                    ivr::feed(pbx, now, wall_ms, ep, key, dialplan::Event::Answered);
                } else {
                    midcall::on_ack(pbx, key, side, &req, ep);
                }
            }
        }
        Event::Request { .. } => {}
    }
}

#[derive(Debug, Clone, Copy)]
enum PurposeKind {
    Fork(usize),
    Forward,
    Fire,
}

impl Purpose {
    fn kind(&self) -> PurposeKind {
        match self {
            Purpose::Fork(i) => PurposeKind::Fork(*i),
            Purpose::Forward { .. } => PurposeKind::Forward,
            Purpose::Fire => PurposeKind::Fire,
        }
    }
}

/// Media events: a silent leg ends its call.
pub(crate) fn handle_media(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    event: MediaEvent,
) {
    match event {
        MediaEvent::Dtmf { leg, digit, .. } => ivr::on_digit(pbx, now, wall_ms, ep, leg, digit),
        MediaEvent::PlayFinished { leg } => ivr::on_play_finished(pbx, now, wall_ms, ep, leg),
        MediaEvent::RtpUnavailable { leg, reason } => {
            let key = pbx
                .calls
                .calls
                .values()
                .find(|c| c.phase != Phase::Ended && (c.a_media.leg == leg || c.b_media.leg == leg))
                .map(|c| c.key);
            if let Some(key) = key {
                // A call without a media socket would be silent: end it (503 if unanswered).
                tracing::error!(call = key.0, leg = leg.0, %reason, "no RTP socket for the call: ending it");
                midcall::hangup(pbx, now, wall_ms, ep, key, Party::System);
            }
        }
        MediaEvent::RtpTimeout { leg } => {
            let key = pbx
                .calls
                .calls
                .values()
                .find(|c| c.a_media.leg == leg || c.b_media.leg == leg)
                .map(|c| c.key);
            if let Some(key) = key {
                tracing::warn!(call = key.0, leg = leg.0, "no RTP received: hanging up");
                midcall::hangup(pbx, now, wall_ms, ep, key, Party::System);
            }
        }
        MediaEvent::Quality { leg, report } => {
            let found = pbx.calls.ended_legs.remove(&leg);
            if let Some((call, which)) = found {
                pbx.outputs.push_back(Output::call(CdrEvent::Quality {
                    call,
                    leg: which,
                    report,
                }));
            }
        }
        MediaEvent::RecordingFinished {
            leg,
            path,
            duration,
            reason,
        } => recording::on_finished(leg, &path, duration, &reason),
        other => tracing::debug!(?other, "media event"),
    }
}

/// Ring timeouts and the attendant's timers.
pub(crate) fn handle_timeout(pbx: &mut Pbx, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
    let ring_due: Vec<CallKey> = pbx
        .calls
        .calls
        .values()
        .filter(|c| {
            c.phase != Phase::Ended && c.forking && c.ring_deadline.is_some_and(|d| d <= now)
        })
        .map(|c| c.key)
        .collect();
    for key in ring_due {
        tracing::info!(call = key.0, "no answer within the ring timeout");
        bridge::ring_timeout(pbx, now, wall_ms, ep, key);
    }
    let ivr_due: Vec<CallKey> = pbx
        .calls
        .calls
        .values()
        .filter(|c| c.phase != Phase::Ended)
        .filter(|c| {
            c.ivr
                .as_ref()
                .and_then(|i| i.state.next_deadline())
                .is_some_and(|d| d <= now)
        })
        .map(|c| c.key)
        .collect();
    for key in ivr_due {
        ivr::feed(pbx, now, wall_ms, ep, key, dialplan::Event::Timeout);
    }
    crate::queue_glue::handle_timeout(pbx, now, wall_ms, ep);
}

/// Frees media and forgets the call once it has ended and nothing is outstanding.
pub(crate) fn maybe_remove(pbx: &mut Pbx, key: CallKey) {
    let Some(call) = pbx.calls.calls.get(&key) else {
        return;
    };
    if call.phase != Phase::Ended {
        return;
    }
    let outstanding = pbx.calls.by_client.values().any(|(k, _)| *k == key);
    if outstanding {
        return;
    }
    let call = pbx.calls.calls.remove(&key).expect("checked above");
    pbx.calls.by_invite.remove(&call.a.tx);
    pbx.calls.by_dialog.retain(|_, (k, _)| *k != key);
    pbx.calls.ended_dialogs.retain(|_, k| *k != key);
}

/// Releases both media legs of a call (idempotent).
pub(crate) fn release_media(pbx: &mut Pbx, key: CallKey) {
    let Some(call) = pbx.calls.calls.get_mut(&key) else {
        return;
    };
    // The sides keep their leg ids (late media events still name them), nothing else.
    let emptied = |leg| MediaSide {
        leg,
        ..MediaSide::moved_away()
    };
    let (a_leg, b_leg) = (call.a_media.leg, call.b_media.leg);
    let a = std::mem::replace(&mut call.a_media, emptied(a_leg));
    let b = std::mem::replace(&mut call.b_media, emptied(b_leg));
    release_side(pbx, key, a, LegRole::Caller);
    release_side(pbx, key, b, LegRole::Callee);
}

/// Frees one media side that no longer belongs to a call: removes its engine leg (the
/// engine answers with the leg's final quality report, kept for the record as `which`),
/// closes its socket and gives its port back. A side without a port is nothing to free.
pub(crate) fn release_side(pbx: &mut Pbx, key: CallKey, side: MediaSide, which: LegRole) {
    if side.port == 0 {
        return;
    }
    if side.added {
        pbx.outputs
            .push_back(Output::Media(MediaCommand::RemoveLeg(side.leg)));
        pbx.calls.ended_legs.insert(side.leg, (key, which));
    }
    pbx.outputs.push_back(Output::CloseRtp { leg: side.leg });
    pbx.ports.release(side.port);
}

/// A sliding one-second window counting new calls, for the calls-per-second limit.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    starts: std::collections::VecDeque<Instant>,
}

impl RateWindow {
    /// Records a new call if fewer than `max` started in the last second.
    pub fn admit(&mut self, now: Instant, max: u32) -> bool {
        while self
            .starts
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.starts.pop_front();
        }
        if self.starts.len() as u32 >= max {
            return false;
        }
        self.starts.push_back(now);
        true
    }
}

/// The one reason a bridge attempt failed, from the final statuses of its forks: busy if
/// any phone said so, not found if every answer says the number does not exist, else
/// unavailable.
pub(crate) fn fail_reason(statuses: &[u16]) -> dialplan::FailReason {
    use dialplan::FailReason;
    if statuses.iter().any(|s| matches!(s, 486 | 600 | 603)) {
        FailReason::Busy
    } else if !statuses.is_empty() && statuses.iter().all(|s| matches!(s, 404 | 604)) {
        FailReason::NotFound
    } else {
        FailReason::Unavailable
    }
}
