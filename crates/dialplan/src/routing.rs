//! Ring groups, queues and feature codes.

use crate::node::Pos;
use crate::program::Instr;
use crate::schedule::Schedule;
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

/// A paging group: one number that makes every member phone answer at once on its
/// speaker (one-way announcements), from the `paging:` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagingGroup {
    /// The number staff dial to page, for example `7100`.
    pub number: String,
    /// The display name, for example `Staff paging`.
    pub name: String,
    /// The member extensions' numbers, in file order.
    pub members: Vec<String>,
    /// The parameters the pbx appends to `Call-Info: <sip:HOST>;` when it calls the members
    /// (default `answer-after=0`).
    pub call_info: String,
    /// The value of the `Alert-Info` header sent to the members (default `auto-answer`).
    pub alert_info: String,
    /// Music over the members' speakers, by schedule or by an operator's override.
    pub background_music: Option<BackgroundMusic>,
}

/// A paging group's `background_music:`: which music, and when it plays by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackgroundMusic {
    /// The music-on-hold class: a directory under `<prompts>/moh/` (default `default`).
    pub music_on_hold: String,
    /// When the music plays; `None`: only when an operator turns it on.
    pub(crate) schedule: Option<Schedule<bool>>,
    /// Where the class is named (for the check that its directory exists).
    pub(crate) pos: Pos,
}

impl BackgroundMusic {
    /// Whether the schedule says the music plays at `wall`: inside a rule and not on a
    /// holiday (holidays are silent). Without a schedule, never.
    pub fn plays_at(&self, wall: jiff::Timestamp) -> bool {
        self.schedule.as_ref().is_some_and(|s| s.at(wall))
    }

    /// Whether the music has a schedule (otherwise only an operator turns it on).
    pub fn has_schedule(&self) -> bool {
        self.schedule.is_some()
    }
}

/// The feature codes a phone may dial. The defaults follow FreePBX's conventions.
///
/// The attendant and operator codes are for operators; the do-not-disturb and
/// forwarding codes are for extension phones; `dnd_override` is for operators.
/// The forwarding codes and `dnd_override` are prefixes: the dialled number follows
/// the code (`*72201` forwards to 201).
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
    /// Turns do-not-disturb on for the calling extension (default `*78`).
    pub dnd_on: Option<String>,
    /// Turns do-not-disturb off for the calling extension (default `*79`).
    pub dnd_off: Option<String>,
    /// Switches do-not-disturb of the calling extension on or off (default `*76`).
    pub dnd_toggle: Option<String>,
    /// Followed by a number: forwards every call to the calling extension there (default `*72`).
    pub forward_always: Option<String>,
    /// Cancels the unconditional forwarding (default `*73`).
    pub forward_always_off: Option<String>,
    /// Followed by a number: forwards calls there while the extension is busy (default `*90`).
    pub forward_busy: Option<String>,
    /// Cancels forwarding on busy (default `*91`).
    pub forward_busy_off: Option<String>,
    /// Followed by a number: forwards calls there when the extension does not answer (default `*52`).
    pub forward_no_answer: Option<String>,
    /// Cancels forwarding on no answer (default `*53`).
    pub forward_no_answer_off: Option<String>,
    /// Followed by an extension number: an operator rings it even with do-not-disturb on (default `*80`).
    pub dnd_override: Option<String>,
}

impl Default for Features {
    fn default() -> Self {
        let code = |c: &str| Some(c.to_string());
        Features {
            toggle_attendant_mode: code("*28"),
            operator_pause: code("*45"),
            operator_unpause: code("*46"),
            operator_logout: code("*47"),
            dnd_on: code("*78"),
            dnd_off: code("*79"),
            dnd_toggle: code("*76"),
            forward_always: code("*72"),
            forward_always_off: code("*73"),
            forward_busy: code("*90"),
            forward_busy_off: code("*91"),
            forward_no_answer: code("*52"),
            forward_no_answer_off: code("*53"),
            dnd_override: code("*80"),
        }
    }
}

/// Which calls a forwarding applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardKind {
    /// Every call (FreePBX "call forward all").
    Always,
    /// Calls that arrive while the extension is busy.
    Busy,
    /// Calls the extension does not answer within the ring timeout.
    NoAnswer,
}

impl ForwardKind {
    /// The kind's name: `always`, `busy` or `no_answer`.
    pub fn name(self) -> &'static str {
        match self {
            ForwardKind::Always => "always",
            ForwardKind::Busy => "busy",
            ForwardKind::NoAnswer => "no_answer",
        }
    }
}

/// What a do-not-disturb code asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DndSwitch {
    /// Turn do-not-disturb on.
    On,
    /// Turn do-not-disturb off.
    Off,
    /// Turn it on when it is off, and off when it is on.
    Toggle,
}

/// A feature a caller asked for by dialling its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Switch the attendant mode (override the schedule).
    ToggleAttendantMode,
    /// Pause the calling operator.
    OperatorPause,
    /// Make the calling operator available.
    OperatorUnpause,
    /// Log the calling operator out.
    OperatorLogout,
    /// Switch do-not-disturb of the calling extension.
    Dnd(DndSwitch),
    /// Forward calls to the calling extension to `target` (the digits dialled after the code).
    ForwardSet {
        /// Which calls are forwarded.
        kind: ForwardKind,
        /// The number they are forwarded to, as dialled; the pbx checks it.
        target: String,
    },
    /// Cancel a forwarding of the calling extension.
    ForwardClear(ForwardKind),
}

impl Feature {
    /// True for the attendant and operator features, which only operators may use; the
    /// do-not-disturb and forwarding features are for extension phones.
    pub fn is_operator_feature(&self) -> bool {
        matches!(
            self,
            Feature::ToggleAttendantMode
                | Feature::OperatorPause
                | Feature::OperatorUnpause
                | Feature::OperatorLogout
        )
    }
}

/// The keys under `features:`, in the order [`Features::lookup`] tries the exact codes.
pub(crate) const FEATURE_KEYS: [&str; 14] = [
    "toggle_attendant_mode",
    "operator_pause",
    "operator_unpause",
    "operator_logout",
    "dnd_on",
    "dnd_off",
    "dnd_toggle",
    "forward_always_off",
    "forward_busy_off",
    "forward_no_answer_off",
    "forward_always",
    "forward_busy",
    "forward_no_answer",
    "dnd_override",
];

/// The keys whose code is a prefix followed by a number.
pub(crate) const PREFIX_KEYS: [&str; 4] = [
    "forward_always",
    "forward_busy",
    "forward_no_answer",
    "dnd_override",
];

impl Features {
    /// Returns the feature whose code is `number`. The forwarding codes match as prefixes
    /// followed by one or more digits (`*72201` forwards to 201); a forwarding code alone
    /// (`*72`) is no feature. The `dnd_override` code is not a feature: see
    /// [`Features::override_target`].
    pub fn lookup(&self, number: &str) -> Option<Feature> {
        let is = |code: &Option<String>| code.as_deref() == Some(number);
        let exact = [
            (&self.toggle_attendant_mode, Feature::ToggleAttendantMode),
            (&self.operator_pause, Feature::OperatorPause),
            (&self.operator_unpause, Feature::OperatorUnpause),
            (&self.operator_logout, Feature::OperatorLogout),
            (&self.dnd_on, Feature::Dnd(DndSwitch::On)),
            (&self.dnd_off, Feature::Dnd(DndSwitch::Off)),
            (&self.dnd_toggle, Feature::Dnd(DndSwitch::Toggle)),
            (
                &self.forward_always_off,
                Feature::ForwardClear(ForwardKind::Always),
            ),
            (
                &self.forward_busy_off,
                Feature::ForwardClear(ForwardKind::Busy),
            ),
            (
                &self.forward_no_answer_off,
                Feature::ForwardClear(ForwardKind::NoAnswer),
            ),
        ];
        if let Some((_, feature)) = exact.into_iter().find(|(code, _)| is(code)) {
            return Some(feature);
        }
        [
            (&self.forward_always, ForwardKind::Always),
            (&self.forward_busy, ForwardKind::Busy),
            (&self.forward_no_answer, ForwardKind::NoAnswer),
        ]
        .into_iter()
        .find_map(|(code, kind)| {
            digits_after(code, number).map(|target| Feature::ForwardSet {
                kind,
                target: target.to_string(),
            })
        })
    }

    /// Returns the extension number an operator dialled after the `dnd_override` code
    /// (`*80201` → `201`), or None when `number` is not that code followed by digits.
    pub fn override_target<'n>(&self, number: &'n str) -> Option<&'n str> {
        digits_after(&self.dnd_override, number)
    }

    /// True when `number` is a feature code, or starts with a prefix code, without being
    /// a complete feature (a forwarding code without a number, for example).
    pub(crate) fn is_incomplete(&self, number: &str) -> bool {
        self.lookup(number).is_none()
            && self.override_target(number).is_none()
            && [
                &self.forward_always,
                &self.forward_busy,
                &self.forward_no_answer,
                &self.dnd_override,
            ]
            .into_iter()
            .flatten()
            .any(|code| number.starts_with(code.as_str()))
    }

    /// Every code in use with its key under `features:`.
    pub(crate) fn codes(&self) -> Vec<(&'static str, &str)> {
        FEATURE_KEYS
            .iter()
            .filter_map(|key| self.get(key).map(|code| (*key, code)))
            .collect()
    }

    /// True when `number` is a code or would be read as one (a prefix code and digits).
    pub(crate) fn claims(&self, number: &str) -> bool {
        self.lookup(number).is_some()
            || self.override_target(number).is_some()
            || self.codes().iter().any(|(_, code)| *code == number)
    }

    /// The code under a key of `features:`, if it is enabled.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        let code = match key {
            "toggle_attendant_mode" => &self.toggle_attendant_mode,
            "operator_pause" => &self.operator_pause,
            "operator_unpause" => &self.operator_unpause,
            "operator_logout" => &self.operator_logout,
            "dnd_on" => &self.dnd_on,
            "dnd_off" => &self.dnd_off,
            "dnd_toggle" => &self.dnd_toggle,
            "forward_always" => &self.forward_always,
            "forward_always_off" => &self.forward_always_off,
            "forward_busy" => &self.forward_busy,
            "forward_busy_off" => &self.forward_busy_off,
            "forward_no_answer" => &self.forward_no_answer,
            "forward_no_answer_off" => &self.forward_no_answer_off,
            "dnd_override" => &self.dnd_override,
            _ => return None,
        };
        code.as_deref()
    }

    /// The place of a key of `features:`; an unknown key reaches `dnd_override`.
    pub(crate) fn slot(&mut self, key: &str) -> &mut Option<String> {
        match key {
            "toggle_attendant_mode" => &mut self.toggle_attendant_mode,
            "operator_pause" => &mut self.operator_pause,
            "operator_unpause" => &mut self.operator_unpause,
            "operator_logout" => &mut self.operator_logout,
            "dnd_on" => &mut self.dnd_on,
            "dnd_off" => &mut self.dnd_off,
            "dnd_toggle" => &mut self.dnd_toggle,
            "forward_always" => &mut self.forward_always,
            "forward_always_off" => &mut self.forward_always_off,
            "forward_busy" => &mut self.forward_busy,
            "forward_busy_off" => &mut self.forward_busy_off,
            "forward_no_answer" => &mut self.forward_no_answer,
            "forward_no_answer_off" => &mut self.forward_no_answer_off,
            _ => &mut self.dnd_override,
        }
    }
}

/// The digits after a prefix code: `Some("201")` for code `*72` and number `*72201`.
fn digits_after<'n>(code: &Option<String>, number: &'n str) -> Option<&'n str> {
    let rest = number.strip_prefix(code.as_deref()?)?;
    (!rest.is_empty() && rest.len() <= 32 && rest.bytes().all(|b| b.is_ascii_digit()))
        .then_some(rest)
}
