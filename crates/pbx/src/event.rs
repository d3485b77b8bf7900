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
