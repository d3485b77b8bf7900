//! What a call record says: the call's key, how it ended and who ended it,
//! the record's events, and the summary of a live call. Every layer names
//! calls this way; this module depends on nothing else in the crate. How a
//! call ended ([`Outcome`]), who ended it ([`Party`]) and who started it
//! ([`CallOrigin`]) are the `records` crate's, which the store writes as they are.

use records::CallOrigin;
pub use records::{Outcome, Party};

/// Identifies a call inside the PBX (and its call record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey(pub u64);

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
        origin: CallOrigin,
    },
    /// The PBX named the caller for staff (a room's guest, or a vacant room).
    CallerNamed {
        /// The call.
        call: CallKey,
        /// The name shown, for example `8105 Dr Li Wei ★`.
        name: String,
    },
    /// The call rings another number than the one dialled, by the dialled line's forwarding.
    Forwarded {
        /// The call.
        call: CallKey,
        /// The number dialled (the original target).
        from: String,
        /// The number rung instead.
        to: String,
        /// The forwarding condition that applied.
        reason: records::ForwardKind,
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
    /// The caller's name as staff see it (a room's guest), when the PBX names the caller.
    pub caller_name: Option<String>,
    /// Callee.
    pub callee: String,
    /// Where it is.
    pub state: LiveState,
    /// When it started (unix ms).
    pub started_ms: i64,
}

/// Where a call in progress is, as the live view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveState {
    /// Not answered yet.
    Ringing,
    /// Answered.
    Answered,
    /// Hung up; its last transactions are finishing.
    Ending,
}

impl LiveState {
    /// The name the admin API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveState::Ringing => "ringing",
            LiveState::Answered => "answered",
            LiveState::Ending => "ending",
        }
    }
}
