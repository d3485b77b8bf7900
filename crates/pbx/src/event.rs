//! What happened in the PBX, as one typed stream ([`crate::Output::Event`]) that the
//! server fans out to its consumers: the store (call records, queue records, the
//! operators' shift log, the attendant-mode setting), the log, and next the live
//! console and metrics. A new consumer reads this stream; a new feature adds a variant.

use crate::queue::view::QueueRecord;
use crate::record::CdrEvent;
pub use records::OperatorChangeKind;

/// Something that happened, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum PbxEvent {
    /// A call started, was answered, ended, reported its media quality or collected digits.
    Call(CdrEvent),
    /// The whole current record of a call that went through the operator queue.
    Queue(QueueRecord),
    /// An operator logged in or out, paused or resumed.
    Operator(OperatorChange),
    /// The operator's attendant-mode override was set or cleared.
    Mode(ModeChange),
    /// A phone switched its do-not-disturb or call forwarding (already in force; the store
    /// writes it to the stay or the extension, with a log book entry).
    Line(LineChange),
    /// An operator set or cleared a paging group's background-music override (the store
    /// keeps it, so it survives a restart, and writes a log book entry).
    Music(MusicChange),
}

/// A paging group's background-music override changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MusicChange {
    /// The paging group's number.
    pub group: String,
    /// Forced on (`Some(true)`), forced off, or the schedule again (`None`).
    pub on: Option<bool>,
    /// Who changed it (`cli`, `api`, …).
    pub by: String,
    /// Wall-clock time, unix ms.
    pub at_ms: i64,
}

impl MusicChange {
    /// The stored value of the override: `on`, `off`, or `schedule` (no stored key).
    pub fn mode_name(&self) -> &'static str {
        match self.on {
            Some(true) => "on",
            Some(false) => "off",
            None => "schedule",
        }
    }
}

/// A change of a line's do-not-disturb or forwarding made from its phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    /// The extension or room number.
    pub number: String,
    /// Whether the line is a room (the change belongs to the guest's stay).
    pub room: bool,
    /// What changed.
    pub change: LineChangeKind,
    /// Who changed it: the phone's account.
    pub by: String,
    /// Wall-clock time, unix ms.
    pub at_ms: i64,
}

/// What changed on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineChangeKind {
    /// Do-not-disturb is now on (true) or off.
    Dnd(bool),
    /// Forwarding for this condition now goes to `target` (`None`: off).
    Forward {
        /// The condition.
        reason: records::ForwardKind,
        /// The target number, if forwarding is on.
        target: Option<String>,
    },
}

/// An operator's change of duty, for the shift log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorChange {
    /// The operator's account (`op1`).
    pub operator: String,
    /// What changed.
    pub kind: OperatorChangeKind,
    /// Where the phone is (address and port).
    pub source: String,
    /// Wall-clock time, unix ms.
    pub at_ms: i64,
}

/// The attendant-mode override changed (it survives a restart: the store keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeChange {
    /// The override now; `None` follows the schedule again.
    pub mode: Option<dialplan::Mode>,
}
