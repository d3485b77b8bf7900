//! Ring groups, queues and feature codes.

use crate::program::Instr;
use std::time::Duration;

/// How a group rings its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ringing {
    /// All members ring at once; the first to answer takes the call.
    Parallel,
    /// Members ring one after another, each for the group's ring timeout.
    InOrder,
}

/// A ring group: several extensions reached through one name or number.
#[derive(Clone, Debug)]
pub struct Group {
    /// The group's name, used by `call:` in menus.
    pub name: String,
    /// The number that dials the group directly, if any.
    pub number: Option<String>,
    /// How members ring.
    pub ringing: Ringing,
    /// The member extensions' numbers, in order.
    pub members: Vec<String>,
    /// How long the group (parallel) or each member (in order) rings.
    pub ring_timeout: Duration,
    pub(crate) fallback: Option<Vec<Instr>>,
}

/// A waiting queue for operators (issue 5): limits, music and announcements.
#[derive(Clone, Debug)]
pub struct Queue {
    /// The queue's name.
    pub name: String,
    /// The longest a caller waits before `after_max_wait` applies (default 5 minutes).
    pub max_wait: Duration,
    /// The most callers waiting at once; more get the fallback (default 20).
    pub max_length: u32,
    /// How often callers hear their position; None disables announcements (default 30 s).
    pub announce_position_every: Option<Duration>,
    /// The music-on-hold class: a directory under `<prompts>/moh/` (default `default`).
    pub music_on_hold: String,
    /// How long one operator rings before the next is tried (default 15 s).
    pub operator_ring_timeout: Duration,
    /// Rest time after each call before an operator is offered the next caller (default 0).
    pub wrap_up: Duration,
    pub(crate) fallback: Vec<Instr>,
    pub(crate) after_max_wait: Vec<Instr>,
}

impl Queue {
    /// A queue named `name` with every setting at its documented default (what a plan gets
    /// for the operators' queue when `queues` does not define it).
    pub fn with_defaults(name: &str) -> Queue {
        crate::decode_routing::default_queue(name)
    }
}

/// The feature codes a phone may dial (an operator's phone, for most of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Features {
    /// Switches the attendant between automatic and manual (default `*28`).
    pub toggle_attendant_mode: Option<String>,
    /// Pauses the operator who dials it (default `*45`).
    pub operator_pause: Option<String>,
    /// Makes the paused operator available again (default `*46`).
    pub operator_unpause: Option<String>,
    /// Logs the operator out (default `*47`).
    pub operator_logout: Option<String>,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            toggle_attendant_mode: Some("*28".into()),
            operator_pause: Some("*45".into()),
            operator_unpause: Some("*46".into()),
            operator_logout: Some("*47".into()),
        }
    }
}

/// A feature a caller asked for by dialling its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Switch the attendant mode (override the schedule).
    ToggleAttendantMode,
    /// Pause the calling operator.
    OperatorPause,
    /// Make the calling operator available.
    OperatorUnpause,
    /// Log the calling operator out.
    OperatorLogout,
}

impl Features {
    /// Returns the feature whose code is `number`.
    pub fn lookup(&self, number: &str) -> Option<Feature> {
        let is = |code: &Option<String>| code.as_deref() == Some(number);
        if is(&self.toggle_attendant_mode) {
            Some(Feature::ToggleAttendantMode)
        } else if is(&self.operator_pause) {
            Some(Feature::OperatorPause)
        } else if is(&self.operator_unpause) {
            Some(Feature::OperatorUnpause)
        } else if is(&self.operator_logout) {
            Some(Feature::OperatorLogout)
        } else {
            None
        }
    }
}
