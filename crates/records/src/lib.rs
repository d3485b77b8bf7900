//! The vocabulary of Switchboard's records, defined once: how a call ended, who hung up, who
//! started a call and why, what an operator did, how a caller left the operator queue, where a
//! hotel guest's stay stands, which call forwarding a line has, and what the log book records;
//! and a line's do-not-disturb and forwarding ([`LineSettings`]), which the PBX routes by and
//! the store keeps, as one type.
//!
//! The PBX (`pbx`) says these things in its events and the store (`store`) writes them to the
//! database, both with the types of this crate, so nothing maps one crate's words onto the other's.
//! Each vocabulary is a `Copy` enum whose variants map one-to-one onto fixed lower-case texts:
//! `as_str` gives the text stored in the database (and shown in exports and the admin API), `parse`
//! reads it back, `ALL` lists the variants, and [`Vocabulary`] lets code handle any of them alike.
//! The texts are the database's rows: never change one, only add new ones.
//!
//! This crate depends on nothing and knows nothing of SIP, SQL or async runtimes.
//!
//! ```
//! use records::{Outcome, Party};
//!
//! assert_eq!(Outcome::NoAnswer.as_str(), "no_answer");
//! assert_eq!(Outcome::parse("no_answer"), Some(Outcome::NoAnswer));
//! assert_eq!(Outcome::parse("exploded"), None);
//! assert_eq!(Party::System.to_string(), "system");
//! ```

mod text_enum;

use text_enum::text_enum;

/// One recorded vocabulary: a closed set of values, each stored as a fixed text.
///
/// Implemented by every enum of this crate (whose inherent `ALL`, `as_str` and `parse` say the
/// same); for code that reads or writes any of them, such as the store's row decoding.
pub trait Vocabulary: Copy + Sized + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The texts this vocabulary accepts, for error messages: `one of: answered busy …`.
    const EXPECTED: &'static str;
    /// The text stored for this value.
    fn as_str(self) -> &'static str;
    /// The value stored as `text`; `None` for text no value uses.
    fn parse(text: &str) -> Option<Self>;
}

text_enum! {
    /// How a call ended, as its call record says (column `calls.outcome`).
    pub enum Outcome {
        /// The callee answered (whatever happened afterwards).
        Answered => "answered",
        /// The callee was busy (486, 600).
        Busy => "busy",
        /// Nobody answered within the ring timeout (480, 408).
        NoAnswer => "no_answer",
        /// The caller hung up before an answer (CANCEL, 487).
        Cancelled => "cancelled",
        /// The dialled number does not exist (404).
        NotFound => "not_found",
        /// The extension exists but no phone is registered, or all of them refused (480).
        Unavailable => "unavailable",
        /// The PBX could not set the call up or keep it (no ports, bad SDP, no media, a 5xx, a
        /// transport error).
        Failed => "failed",
        /// The call was refused before an answer (the dialplan hung up on it; 403, 603).
        Rejected => "rejected",
    }
}

text_enum! {
    /// Who ended a call (column `calls.hangup_by`).
    pub enum Party {
        /// The calling side.
        Caller => "caller",
        /// The called side.
        Callee => "callee",
        /// The PBX itself (ring timeout, media loss, shutdown, the end of a placed call).
        System => "system",
    }
}

text_enum! {
    /// Who started a call (column `calls.kind`); see [`CallOrigin`].
    pub enum CallKind {
        /// A phone or an outside caller called the PBX (every call recorded before the PBX could
        /// place calls says this).
        Internal => "internal",
        /// The PBX placed the call itself (its [`PurposeKind`] says why).
        Placed => "placed",
    }
}

text_enum! {
    /// Why the PBX placed a call (column `calls.purpose`, empty for calls it did not place).
    pub enum PurposeKind {
        /// Prompts played to whoever answers, then the digits they press.
        Announcement => "announcement",
        /// One member phone of a page: it answers by itself and hears the person paging.
        Page => "page",
        /// One member phone of a paging group's background music: it answers by itself and
        /// hears the music, muted.
        Music => "music",
    }
}

/// Who started a call, as the call record says: its [`CallKind`] and, for a placed call, its
/// [`PurposeKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOrigin {
    /// A caller's INVITE.
    Caller,
    /// The PBX placed it, for this purpose.
    Pbx(PurposeKind),
}

impl CallOrigin {
    /// The record's `kind`: [`CallKind::Internal`] for a caller's call, [`CallKind::Placed`] for
    /// one the PBX placed.
    #[must_use]
    pub fn kind(self) -> CallKind {
        match self {
            CallOrigin::Caller => CallKind::Internal,
            CallOrigin::Pbx(_) => CallKind::Placed,
        }
    }

    /// The record's `purpose`: why the PBX placed the call, `None` for a caller's call.
    #[must_use]
    pub fn purpose(self) -> Option<PurposeKind> {
        match self {
            CallOrigin::Caller => None,
            CallOrigin::Pbx(purpose) => Some(purpose),
        }
    }
}

text_enum! {
    /// A change in an operator's shift (column `operator_events.event`).
    pub enum OperatorChangeKind {
        /// The operator registered the operator position.
        Login => "login",
        /// The operator removed that registration, logged out by feature code (`*47`), or the
        /// registration expired.
        Logout => "logout",
        /// The operator stopped taking callers for a while (`*45`).
        Pause => "pause",
        /// The operator takes callers again (`*46`).
        Unpause => "unpause",
    }
}

text_enum! {
    /// How a caller left the operator queue (column `queue_calls.outcome`).
    pub enum QueueOutcome {
        /// An operator answered.
        Answered => "answered",
        /// The caller hung up while waiting.
        Abandoned => "abandoned",
        /// The queue was full on arrival, so the fallback applied.
        Overflow => "overflow",
        /// The maximum wait passed, so the caller went to the configured destination.
        MaxWait => "max_wait",
        /// No operator was logged in and unpaused, so the fallback applied at once.
        NoOperator => "no_operator",
    }
}

text_enum! {
    /// Where a hotel guest's stay stands (column `stays.state`).
    pub enum StayState {
        /// The guest is booked to arrive; the room may still hold someone else.
        Expected => "expected",
        /// The guest is checked in: the room's phone is theirs. A room has at most one such stay.
        InHouse => "in_house",
        /// The guest checked out (the row is kept as history).
        Departed => "departed",
    }
}

text_enum! {
    /// Which calls a line forwards (the columns `forward_always`, `forward_busy` and
    /// `forward_no_answer` of `stays` and `line_settings`).
    pub enum ForwardKind {
        /// Every call, without ringing the line.
        Always => "always",
        /// Calls that find the line busy.
        Busy => "busy",
        /// Calls the line does not answer in time.
        NoAnswer => "no_answer",
    }
}

text_enum! {
    /// What an entry of the log book records (column `logbook.kind`).
    pub enum LogKind {
        /// A guest checked in.
        CheckIn => "check_in",
        /// A guest's arrival was booked.
        Expect => "expect",
        /// A guest checked out.
        CheckOut => "check_out",
        /// A guest moved to another room.
        Move => "move",
        /// Do-not-disturb was switched on or off on a line.
        Dnd => "dnd",
        /// Call forwarding of a line was set or cleared.
        Forward => "forward",
        /// A line's number was changed.
        NumberChange => "number_change",
        /// An operator turned a paging group's background music on or off, or back to its
        /// schedule.
        Music => "music",
    }
}

/// Where a line's calls are forwarded, per kind of forwarding; `None` forwards nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Forwarding {
    /// Where every call goes, without ringing the line.
    pub always: Option<String>,
    /// Where calls go that find the line busy.
    pub busy: Option<String>,
    /// Where calls go that the line does not answer.
    pub no_answer: Option<String>,
}

impl Forwarding {
    /// Returns the target of forwarding `kind`, if set.
    #[must_use]
    pub fn get(&self, kind: ForwardKind) -> Option<&str> {
        match kind {
            ForwardKind::Always => self.always.as_deref(),
            ForwardKind::Busy => self.busy.as_deref(),
            ForwardKind::NoAnswer => self.no_answer.as_deref(),
        }
    }

    /// Sets (`Some`) or clears (`None`) the target of forwarding `kind`.
    pub fn set(&mut self, kind: ForwardKind, target: Option<String>) {
        let slot = match kind {
            ForwardKind::Always => &mut self.always,
            ForwardKind::Busy => &mut self.busy,
            ForwardKind::NoAnswer => &mut self.no_answer,
        };
        *slot = target;
    }

    /// Whether no kind of forwarding is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        ForwardKind::ALL
            .iter()
            .all(|kind| self.get(*kind).is_none())
    }
}

/// What a line does with its calls besides ringing: do-not-disturb and forwarding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineSettings {
    /// Whether do-not-disturb is on.
    pub dnd: bool,
    /// Where calls are forwarded.
    pub forwarding: Forwarding,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<V: Vocabulary + PartialEq + std::fmt::Debug>() {
        for v in V::ALL {
            assert_eq!(V::parse(v.as_str()), Some(*v));
        }
        let mut texts: Vec<&str> = V::ALL.iter().map(|v| v.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), V::ALL.len(), "texts are distinct");
        assert_eq!(V::parse(""), None);
        assert_eq!(V::parse("Answered"), None, "texts are exact");
    }

    #[test]
    fn every_vocabulary_round_trips() {
        round_trips::<Outcome>();
        round_trips::<Party>();
        round_trips::<CallKind>();
        round_trips::<PurposeKind>();
        round_trips::<OperatorChangeKind>();
        round_trips::<QueueOutcome>();
        round_trips::<StayState>();
        round_trips::<ForwardKind>();
        round_trips::<LogKind>();
    }

    /// The texts are the database's rows: these are the values stored today.
    #[test]
    fn texts_are_the_stored_ones() {
        let texts = |all: &[&'static str]| all.join(" ");
        let outcome: Vec<_> = Outcome::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(
            texts(&outcome),
            "answered busy no_answer cancelled not_found unavailable failed rejected"
        );
        let party: Vec<_> = Party::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts(&party), "caller callee system");
        let kind: Vec<_> = CallKind::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts(&kind), "internal placed");
        let purpose: Vec<_> = PurposeKind::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts(&purpose), "announcement page music");
        let op: Vec<_> = OperatorChangeKind::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts(&op), "login logout pause unpause");
        let queue: Vec<_> = QueueOutcome::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(
            texts(&queue),
            "answered abandoned overflow max_wait no_operator"
        );
        let stay: Vec<_> = StayState::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts(&stay), "expected in_house departed");
        let forward: Vec<_> = ForwardKind::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts(&forward), "always busy no_answer");
        let log: Vec<_> = LogKind::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(
            texts(&log),
            "check_in expect check_out move dnd forward number_change music"
        );
        assert_eq!(
            <QueueOutcome as Vocabulary>::EXPECTED,
            "one of: answered abandoned overflow max_wait no_operator"
        );
    }

    #[test]
    fn origin_gives_kind_and_purpose() {
        assert_eq!(
            (CallOrigin::Caller.kind(), CallOrigin::Caller.purpose()),
            (CallKind::Internal, None)
        );
        let placed = CallOrigin::Pbx(PurposeKind::Announcement);
        assert_eq!(
            (placed.kind(), placed.purpose()),
            (CallKind::Placed, Some(PurposeKind::Announcement))
        );
    }
}
