//! What the operator queue shows outside the PBX: the live snapshot types for the
//! admin API and `switchboard queue`, and the per-call queue record the
//! server writes to the store.

use crate::CallKey;
pub use records::QueueOutcome;

/// The operator queues as they are now: callers in the order they will be
/// answered, and every operator's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSnapshot {
    /// Waiting callers, queue by queue, each queue in answering order.
    pub waiting: Vec<WaitingCaller>,
    /// Operators who are logged in (registered to the operator position) or
    /// were seen since the server started, in the dialplan's order.
    pub operators: Vec<OperatorStatus>,
}

/// One caller waiting for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingCaller {
    /// The queue's name.
    pub queue: String,
    /// 1-based position in that queue.
    pub position: u32,
    /// The call.
    pub call: CallKey,
    /// Who is waiting.
    pub caller: String,
    /// The caller's name (a room's guest, `8105 Dr Li Wei ★`), if the PBX names them.
    pub name: Option<String>,
    /// The caller's prompt language.
    pub language: String,
    /// Whether the caller is placed as a VIP.
    pub vip: bool,
    /// When the caller entered the queue (unix ms).
    pub entered_ms: i64,
    /// How long the caller has waited so far (ms).
    pub wait_ms: i64,
    /// The operator whose phone rings for this caller right now, if any.
    pub ringing: Option<String>,
}

/// What an operator is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorActivity {
    /// Logged in, available, not on a call.
    Idle,
    /// Their phone rings with a queued caller.
    Ringing,
    /// On a call.
    Talking,
    /// Logged in but paused (`*45`).
    Paused,
    /// Resting after a call (the queue's `wrap_up`).
    WrapUp,
    /// Not registered to the operator position.
    LoggedOut,
}

impl OperatorActivity {
    /// The name shown by the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorActivity::Idle => "idle",
            OperatorActivity::Ringing => "ringing",
            OperatorActivity::Talking => "talking",
            OperatorActivity::Paused => "paused",
            OperatorActivity::WrapUp => "wrap_up",
            OperatorActivity::LoggedOut => "logged_out",
        }
    }
}

/// One operator's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorStatus {
    /// The operator's account (`op1`).
    pub account: String,
    /// The operator's display name from the dialplan.
    pub name: String,
    /// What they are doing.
    pub activity: OperatorActivity,
    /// Since when (unix ms).
    pub since_ms: i64,
    /// The registered contacts of their phone(s).
    pub contacts: Vec<String>,
    /// The caller they are ringing for or talking to, if any.
    pub caller: Option<String>,
}

/// A transfer an operator made of a queued caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferNote {
    /// Blind (REFER) or attended (REFER with Replaces).
    pub kind: TransferKind,
    /// The operator who transferred.
    pub by: String,
    /// The target number.
    pub to: String,
    /// When (unix ms).
    pub at_ms: i64,
    /// Connected, or why it failed; `None` while the target rings.
    pub result: Option<TransferResult>,
}

/// How a call was transferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// REFER to a number: the target is rung for the caller.
    Blind,
    /// REFER with Replaces: the caller joins the transferor's call with the target.
    Attended,
}

impl TransferKind {
    /// The name in the queue call record.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Blind => "blind",
            TransferKind::Attended => "attended",
        }
    }
}

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferResult {
    /// The target answered and talks with the caller.
    Connected,
    /// The target did not take the call.
    Failed(dialplan::FailReason),
}

impl TransferResult {
    /// The name in the queue call record: `connected`, or the failure (`busy`, `no_answer`,
    /// `unavailable`, `not_found`).
    pub fn as_str(self) -> &'static str {
        match self {
            TransferResult::Connected => "connected",
            TransferResult::Failed(reason) => reason.name(),
        }
    }
}

/// The whole record of one queued call, emitted (as [`crate::PbxEvent::Queue`])
/// each time it changes: the server inserts it the first time it sees `call` and
/// updates it afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    /// The call.
    pub call: CallKey,
    /// The caller leg's SIP Call-ID (links to the call record).
    pub call_id: String,
    /// Who waited.
    pub caller: String,
    /// Whether the caller was placed as a VIP.
    pub vip: bool,
    /// When the caller first entered the queue (unix ms).
    pub entered_ms: i64,
    /// 1-based position right after entering.
    pub position_on_entry: u32,
    /// Total time spent waiting (ms), once no longer waiting.
    pub wait_ms: Option<i64>,
    /// The operator who answered (the first one, if the caller came back).
    pub answered_by: Option<String>,
    /// When an operator answered (unix ms).
    pub answered_ms: Option<i64>,
    /// Total time talking with operators (ms), once the call ended or left them.
    pub talk_ms: Option<i64>,
    /// Transfers made, in order.
    pub transfers: Vec<TransferNote>,
    /// How the caller left the queue; `None` while waiting.
    pub outcome: Option<QueueOutcome>,
    /// When the call ended (unix ms).
    pub ended_ms: Option<i64>,
}
