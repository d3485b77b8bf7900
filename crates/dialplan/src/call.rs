//! The events a call sends into the interpreter and the actions it asks for.

use crate::routing::{Feature, ForwardKind};
use crate::schedule::Mode;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Something that happened to a call, fed into [`crate::step`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new call arrived. `authenticated_extension` is the digest user that placed it
    /// (an extension number or an operator name such as `op1`), or None for outside callers.
    Offered {
        /// The caller's number (the From user part).
        from: String,
        /// The dialled number (the Request-URI user part).
        to: String,
        /// The authenticated user, if the caller proved who they are.
        authenticated_extension: Option<String>,
        /// The language of the guest staying in the calling room, when the pbx knows one.
        /// When it is one of the plan's languages it replaces the extension's `language`
        /// for this call's prompts; otherwise it is ignored.
        caller_language: Option<String>,
    },
    /// The call was answered after an [`Action::Answer`].
    Answered,
    /// The caller pressed a key (`0`-`9`, `*`, `#`).
    Dtmf(char),
    /// The last [`Action::Play`] finished (not sent after [`Action::StopPlay`]; a late one is ignored).
    PlayFinished,
    /// The deadline from [`crate::CallState::next_deadline`] passed.
    Timeout,
    /// A [`Action::Bridge`] did not connect, or an [`Action::Page`] reached nobody.
    BridgeFailed {
        /// Why the target did not take the call.
        reason: FailReason,
    },
    /// The caller left an [`Action::OperatorQueue`] without being answered by an operator.
    QueueExited {
        /// Why the caller left the queue.
        reason: QueueExit,
    },
    /// A requested [`Action::Feature`] was carried out (or refused) by the pbx.
    FeatureDone(FeatureResult),
    /// The conference room of an [`Action::Conference`] is full; the caller hears `busy` and is hung up.
    ConferenceFull,
    /// Send an answered call into a menu, for example after an operator transferred it there.
    /// Whatever the call was doing is abandoned; an unknown menu name gives [`Action::Reject`].
    GotoMenu {
        /// The menu's name as written under `menus:`.
        menu: String,
    },
    /// The caller hung up; the call is over.
    Hangup,
}

/// Why a bridge attempt failed, and (in [`Action::Reject`]) why a call is refused.
///
/// The SIP status the pbx sends for each is noted; the last three are the pbx's own
/// refusals of a [`Action::Bridge`] with [`Screening::Normal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// The target is on another call (486).
    Busy,
    /// The target rang for the whole ring timeout (408/480 after ringing).
    NoAnswer,
    /// The target is not registered or refused (480/5xx).
    Unavailable,
    /// The number does not exist (404).
    NotFound,
    /// The target has do-not-disturb on (486). The caller is offered the operator.
    DoNotDisturb,
    /// The caller's class of service does not allow this call (403).
    Restricted,
    /// The number is no longer in service, for example a retired room (410).
    Gone,
}

impl FailReason {
    /// The value of the `call_result` variable after this failure.
    pub fn name(self) -> &'static str {
        match self {
            FailReason::Busy => "busy",
            FailReason::NoAnswer => "no_answer",
            FailReason::Unavailable => "unavailable",
            FailReason::NotFound => "not_found",
            FailReason::DoNotDisturb => "do_not_disturb",
            FailReason::Restricted => "restricted",
            FailReason::Gone => "gone",
        }
    }
}

/// Why a caller left the operator queue without reaching an operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueExit {
    /// No operator is logged in, or all are paused.
    NoOperator,
    /// The queue already holds `max_length` callers.
    Full,
    /// The caller waited `max_wait`.
    MaxWait,
}

/// The outcome of a feature code, which the interpreter announces (the prompt is named).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureResult {
    /// The attendant is now in this mode (`mode_automatic`, `mode_manual`).
    Mode(Mode),
    /// The operator is now paused (`operator_paused`).
    Paused,
    /// The operator is now available (`operator_available`).
    Available,
    /// The operator is now logged out (`operator_logged_out`).
    LoggedOut,
    /// Do-not-disturb is now on for the calling extension (`dnd_on`).
    DndOn,
    /// Do-not-disturb is now off for the calling extension (`dnd_off`).
    DndOff,
    /// This forwarding of the calling extension is now set (`forward_on`).
    ForwardOn(ForwardKind),
    /// This forwarding of the calling extension is now cancelled (`forward_off`).
    ForwardOff(ForwardKind),
    /// The pbx did not carry the feature out (`feature_refused` or `forward_refused`).
    Refused(Refusal),
}

/// Why the pbx refused a feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The feature is not available to this phone (`feature_refused`).
    NotAvailable,
    /// The forwarding target cannot be forwarded to (`forward_refused`).
    BadTarget,
}

/// Whether the pbx applies the called extension's own settings to a bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screening {
    /// The pbx applies do-not-disturb, forwarding and class of service.
    Normal,
    /// Ring the extension as dialled (an operator's do-not-disturb override).
    Override,
}

/// What to connect a call to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One extension by number.
    Extension(String),
    /// Several extensions ringing at once; the first to answer takes the call.
    Group {
        /// The group's name.
        name: String,
        /// The member extensions' numbers.
        members: Vec<String>,
    },
}

/// Something the interpreter asks the pbx to do. Actions are returned in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer the call (send 200 OK) and report [`Event::Answered`].
    Answer,
    /// Send 183 Session Progress with the PBX's media, so the caller hears the prompts
    /// that follow without the call being answered; no event is reported back. After it,
    /// [`Action::Play`] is sent for the unanswered call and [`Event::PlayFinished`] drives
    /// the call on as usual (often to an [`Action::Reject`] or [`Action::Bridge`]).
    Progress,
    /// Play these WAV files one after another and report [`Event::PlayFinished`] at the end.
    Play {
        /// The files, already resolved for the caller's language.
        prompts: Vec<PathBuf>,
        /// Whether a key press stops the playback (the interpreter then sends [`Action::StopPlay`]).
        interruptible: bool,
    },
    /// Stop the playback now; no [`Event::PlayFinished`] is expected for it.
    StopPlay,
    /// Keys are now collected; deliver [`Event::Timeout`] at `until` unless keys arrive.
    CollectDigits {
        /// At most this many keys make one entry.
        max_digits: usize,
        /// When silence counts as no input.
        until: Instant,
    },
    /// Connect the caller to a target; report [`Event::BridgeFailed`] if it does not answer.
    Bridge {
        /// The extension or group to ring.
        target: Target,
        /// How long to ring before giving up with [`FailReason::NoAnswer`].
        ring_timeout: Duration,
        /// Whether do-not-disturb, forwarding and class of service apply.
        screening: Screening,
    },
    /// Page the members of a paging group (see [`crate::Plan::paging_group`]): they answer
    /// on their speakers. Report [`Event::BridgeFailed`] if nobody could be paged; otherwise
    /// the call stays connected until it is hung up.
    Page {
        /// The paging group's number.
        group: String,
    },
    /// Put the caller in an operator queue; report [`Event::QueueExited`] if they leave unanswered.
    OperatorQueue {
        /// The queue's name (see [`crate::Plan::queue`]).
        queue: String,
    },
    /// Put the answered caller into a conference room until they hang up; report
    /// [`Event::ConferenceFull`] if the room has no place. A room's PIN, if any, was
    /// already checked by the interpreter.
    Conference {
        /// The room's number (see [`crate::Plan::conference`]).
        room: String,
    },
    /// Carry out a feature code for the calling phone and report [`Event::FeatureDone`].
    Feature(Feature),
    /// The caller's language changed; later prompts (and queue announcements) use it.
    SetLanguage(String),
    /// Refuse the unanswered call with a SIP status matching the reason (404, 486, 480, 408,
    /// 403, 410; see [`FailReason`]).
    Reject(FailReason),
    /// Hang up; the call is over.
    Hangup,
}
