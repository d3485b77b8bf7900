//! The call model: a call's two legs (the caller's INVITE we answer, and our
//! INVITE forked to the callee's phones), their media sides, the attendant's
//! state riding on the call, and the table that finds a call from a
//! transaction or a dialog.

use crate::sdp::{AudioOffer, Codec};
use crate::{CallKey, CallSummary, LegRole, LiveState, Party};
use media::LegId;
use sip::dialog::Dialog;
use sip::endpoint::{ClientTxId, Peer, ServerTxId};
use sip::message::Request;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    A,
    B,
}

impl Side {
    pub fn party(self) -> Party {
        match self {
            Side::A => Party::Caller,
            Side::B => Party::Callee,
        }
    }
}

/// Where a call is, seen from the caller's INVITE (we are its UAS).
///
/// ```text
///  Ringing(Quiet) ── 180 ──▶ Ringing(Alerted) ─┐
///       │ └── 183 + SDP ──▶ Ringing(EarlyMedia)┤── 200 ──▶ Answered ── BYE / hang-up ──▶ Ended
///       └── final error, CANCEL, hang-up ──────┴──────────────────────────────────────▶ Ended
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No final response yet; what the caller has been told so far.
    Ringing(Alerting),
    /// We answered 200: the caller's dialog exists.
    Answered,
    /// A final response or BYE went out; only outstanding transactions keep the call.
    Ended,
}

/// What an unanswered caller has been told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alerting {
    /// Nothing but 100 Trying.
    Quiet,
    /// 180 Ringing.
    Alerted,
    /// 183 with our SDP: the callee's early media is relayed.
    EarlyMedia,
}

/// One side's media: the engine leg, our RTP port, the peer's offer/answer.
#[derive(Debug)]
pub(crate) struct MediaSide {
    pub leg: LegId,
    /// Our RTP socket's port; `None` once the socket was given back, or moved to
    /// another call with the leg (an attended transfer's donor call).
    pub port: Option<u16>,
    pub remote: Option<std::net::SocketAddr>,
    pub telephone_event: Option<u8>,
    /// Whether the media engine has the leg.
    pub added: bool,
    pub sdp_version: u64,
}

impl MediaSide {
    /// A side on our RTP `port`, not yet in the media engine.
    pub fn new(leg: LegId, port: u16, remote: Option<std::net::SocketAddr>) -> Self {
        MediaSide {
            leg,
            port: Some(port),
            remote,
            telephone_event: None,
            added: false,
            sdp_version: 1,
        }
    }

    /// The side left behind when its leg moved elsewhere (or was released): it keeps the
    /// leg's id, for late media events that still name it, and nothing to release.
    pub fn moved_away(leg: LegId) -> Self {
        MediaSide {
            leg,
            port: None,
            remote: None,
            telephone_event: None,
            added: false,
            sdp_version: 0,
        }
    }

    /// The port to write in our SDP for this side (0, a disabled stream, when it has no
    /// socket; a side is only described while it has one).
    pub fn sdp_port(&self) -> u16 {
        self.port.unwrap_or(0)
    }
}

#[derive(Debug)]
pub(crate) struct LegA {
    pub tx: ServerTxId,
    pub invite: Request,
    pub peer: Peer,
    pub tag: String,
    pub dialog: Option<Dialog>,
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

#[derive(Debug)]
pub(crate) struct Call {
    pub key: CallKey,
    pub caller: String,
    /// The caller's name as the callee's phone shows it, when a feature names the caller
    /// (a hotel room's guest); otherwise the caller's own From display name is passed on.
    pub display: Option<String>,
    pub callee: String,
    pub started_ms: i64,
    pub phase: Phase,
    pub a: LegA,
    pub forks: Vec<Fork>,
    pub b: Option<LegB>,
    pub codec: Option<Codec>,
    pub a_media: MediaSide,
    pub b_media: MediaSide,
    pub offer: AudioOffer,
    /// Until when the current bridge attempt rings, while it does (its forks are out).
    pub ringing_until: Option<Instant>,
    /// The number of the current (or last) bridge attempt.
    pub attempt: u32,
    /// An ACK owed to one leg until the other answers a delayed offer.
    pub pending_ack: Option<PendingAck>,
    /// A transfer in progress: the transferor's leg, set aside.
    pub transfer: Option<Transferor>,
}

impl Call {
    /// Whether the caller's INVITE has had its final response (an answer or a refusal).
    pub fn final_sent(&self) -> bool {
        !matches!(self.phase, Phase::Ringing(_))
    }
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
    pub calls: HashMap<CallKey, Call>,
    pub by_invite: HashMap<ServerTxId, CallKey>,
    pub by_client: HashMap<ClientTxId, (CallKey, Purpose)>,
    /// (Call-ID, our tag) → call and side.
    pub by_dialog: HashMap<(String, String), (CallKey, Side)>,
    /// Dialogs we ended with a BYE while their call goes on (a transferor's legs): a BYE
    /// crossing ours is answered 200, anything else 481. Forgotten with the call.
    pub ended_dialogs: HashMap<(String, String), CallKey>,
    /// Media legs removed from ended calls whose final quality report is still to come.
    pub ended_legs: HashMap<LegId, (CallKey, LegRole)>,
    pub next: u64,
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

    /// The calls that have not ended.
    pub fn live(&self) -> impl Iterator<Item = &Call> {
        self.calls.values().filter(|c| c.phase != Phase::Ended)
    }

    pub fn next_key(&mut self) -> CallKey {
        self.next += 1;
        CallKey(self.next)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter(|c| c.phase != Phase::Ended)
            .filter_map(|c| c.ringing_until)
            .min()
    }

    pub fn summaries(&self) -> Vec<CallSummary> {
        let mut v: Vec<_> = self
            .calls
            .values()
            .map(|c| CallSummary {
                key: c.key,
                caller: c.caller.clone(),
                caller_name: c.display.clone(),
                callee: c.callee.clone(),
                state: match c.phase {
                    Phase::Ringing(_) => LiveState::Ringing,
                    Phase::Answered => LiveState::Answered,
                    Phase::Ended => LiveState::Ending,
                },
                started_ms: c.started_ms,
            })
            .collect();
        v.sort_by_key(|s| s.key);
        v
    }
}

/// Dispatches endpoint events other than new requests.
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

/// An ACK we owe the other leg until the originator of a delayed-offer
/// re-INVITE sends its answer in its own ACK.
#[derive(Debug, Clone)]
pub(crate) struct PendingAck {
    /// The leg that is waiting for our ACK.
    pub side: Side,
    /// The CSeq of the re-INVITE we sent it.
    pub cseq: u32,
    /// The m= lines of its offer (in its 2xx), which the answer in our ACK keeps.
    pub offer: Option<crate::sdp::Layout>,
}
