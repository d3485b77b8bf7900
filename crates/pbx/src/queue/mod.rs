//! The operator queue as a component: callers waiting for a human operator,
//! answered strictly in the order they called (VIPs ahead of ordinary callers,
//! behind earlier VIPs; a caller whose transfer failed comes back at the head).
//!
//! Operators are the accounts registered to the operator position. Each is
//! idle, ringing, talking, in wrap-up or paused; the head caller is offered
//! to the idle operator who has been idle longest, one operator at a time,
//! for the queue's `operator_ring_timeout`, then to the next. While waiting,
//! callers hear the queue's music on hold and, every
//! `announce_position_every`, their position in their own language.
//!
//! A caller's way through the queue:
//!
//! ```text
//!   enter (tail, or behind earlier VIPs) | return_to_head (failed transfer)
//!     |
//!     |  full, or no operator logged in and unpaused
//!     +--------------------------------------------------------> exited
//!     V                                                            ^
//!   +---------+  max_wait, or the last operator logs out/pauses    |
//!   | waiting |----------------------------------------------------+
//!   +---------+                                                    |
//!     |     ^                                                      |
//!     |     | ring_failed: no answer, busy, refused, logged out    |
//!     |     | (that operator goes to the back of the idle line)    |
//!     V     |                                                      |
//!   +---------+  the same, after CancelRing                        |
//!   | ringing |----------------------------------------------------+
//!   +---------+
//!     | answered                    call_ended while waiting or ringing
//!     V                             --> abandoned (CancelRing if ringing)
//!   answered: talking to the operator; transfers and the end of the call
//!   still go into the caller's record
//! ```
//!
//! `exited` is [`QueueCommand::Exit`]: the caller goes back to their dialplan
//! as `QueueExited` (`fallback` or `after_max_wait`).
//!
//! The queue decides and the rest of the PBX carries out: every function is a
//! method on [`Queues`] that takes the time (`now`, `wall_ms`), reads what it
//! needs from the PBX through [`QueueEnv`] and pushes [`QueueCommand`]s (the
//! few that can only change a record, such as an answer or a transfer note,
//! return that record instead). It knows nothing of calls, SIP transactions or
//! the media engine beyond a [`CallKey`]; `crate::queue_glue` is the one place
//! that knows both.
//!
//! Files: `state` (the types and the questions they answer), `operators`
//! (logins, pauses), `waiting` (entering and leaving, announcements),
//! `dispatch` (offering callers to operators, answers, transfers), `timers`,
//! `view` (the admin snapshot and the per-call record).

mod dispatch;
mod operators;
mod snapshot;
mod state;
#[cfg(test)]
mod tests;
mod timers;
pub mod view;
mod waiting;

pub(crate) use state::Queues;

use crate::CallKey;
use dialplan::QueueExit;
use media::prompt::Prompt;
use sip::registrar::Binding;
use std::sync::Arc;
use std::time::Duration;
use view::QueueRecord;

/// What the queue reads from the rest of the PBX (implemented by the glue over the PBX).
pub(crate) trait QueueEnv {
    /// The live (unexpired at `wall_ms`) registrations of the operator position.
    fn operator_bindings(&self, wall_ms: i64) -> Vec<&Binding>;
    /// Whether ringing `phones` for `call` can start: the call exists and one of the
    /// contacts can be rung. A [`QueueCommand::Ring`] is only given when this holds.
    fn can_ring(&self, call: CallKey, phones: &[Binding]) -> bool;
    /// Who the caller of `call` is, if the call exists.
    fn caller(&self, call: CallKey) -> Option<CallerInfo>;
    /// The settings of `queue` in the plan `call` runs (the defaults if it has none).
    fn settings(&self, call: CallKey, queue: &str) -> Settings;
    /// The named prompts in the caller's current language, those that exist, in order.
    fn prompts(&self, call: CallKey, names: &[String]) -> Vec<Arc<Prompt>>;
    /// `(account, display name)` of every operator the dialplan lists, in its order.
    fn operator_names(&self) -> Vec<(String, String)>;
}

/// What the queue needs to know about a caller when they enter.
#[derive(Debug, Clone)]
pub(crate) struct CallerInfo {
    /// Who is calling (the number shown to operators).
    pub caller: String,
    /// The caller's name as operators see it (a room's guest), if the PBX names them.
    pub name: Option<String>,
    /// The caller leg's SIP Call-ID (for the record).
    pub call_id: String,
    /// The caller's prompt language.
    pub language: String,
    /// Whether the plan places them as a VIP.
    pub vip: bool,
}

/// The settings of one queue that a waiting caller needs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub max_wait: Duration,
    pub max_length: u32,
    pub announce_every: Option<Duration>,
    pub moh: String,
    pub ring_timeout: Duration,
    pub wrap_up: Duration,
}

impl Settings {
    /// The settings of a dialplan queue.
    pub fn of(q: &dialplan::Queue) -> Self {
        Settings {
            max_wait: q.max_wait,
            max_length: q.max_length,
            announce_every: q.announce_position_every,
            moh: q.music_on_hold.clone(),
            ring_timeout: q.operator_ring_timeout,
            wrap_up: q.wrap_up,
        }
    }
}

/// What the queue asks the PBX to do, in order.
#[derive(Debug)]
pub(crate) enum QueueCommand {
    /// Ring one operator's phones for a waiting caller (a new bridge attempt of the call)
    /// for `ring_for`; the caller keeps hearing the music. The queue already counts the
    /// operator as ringing; if ringing cannot start after all, tell it with
    /// [`Queues::ring_not_started`].
    Ring {
        call: CallKey,
        operator: String,
        phones: Vec<Binding>,
        ring_for: Duration,
    },
    /// Stop ringing the operator for `call`, without reporting a failure.
    CancelRing { call: CallKey },
    /// Play the music-on-hold `class` to the caller.
    StartMoh { call: CallKey, class: String },
    /// Stop the caller's music on hold.
    StopMoh { call: CallKey },
    /// Stop any prompt playing to the caller.
    StopPlay { call: CallKey },
    /// Play prompts to the caller once, over the music (which resumes after them).
    Play {
        call: CallKey,
        prompts: Vec<Arc<Prompt>>,
    },
    /// The caller left the queue unanswered: back to their dialplan (`QueueExited`).
    Exit { call: CallKey, reason: QueueExit },
    /// The whole current record of a queued call (insert the first time, update after).
    Record(QueueRecord),
}
