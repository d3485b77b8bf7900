//! Background music over a paging group's speakers (`background_music:` of a group): by
//! the group's schedule, or by an operator's override (on, off, or the schedule).
//!
//! The PBX checks every group at each wall-clock minute (a deadline at the next minute
//! boundary, computed from the time it is told), and when an operator changes an
//! override or the server asks after a reload. While the music plays, each member that
//! was free at the start (registered, not busy, not on do-not-disturb) has a call the PBX
//! placed with the group's auto-answer headers (`PurposeKind::Music`), joined muted to a
//! room of the media engine that loops the music-on-hold class's files.
//!
//! ```text
//!  Silent ── check: wanted, and a member could be called ──▶ Playing { room, members }
//!    ▲        (place the member calls, loop the class into the room)   │ a member answers: join muted
//!    │                                                                 │ a member ends: it stays off
//!    └──── check: not wanted (schedule, override, plan) ───────────────┤ (the last one: the room
//!    └──── a page to the group starts (it then finds the members free) ┘  stops playing)
//! ```
//!
//! After a page the music resumes at the next check (the next minute).

use super::Apps;
use super::paging::{self, MemberCall};
use crate::control::Core;
use crate::control::placed::PlacedEvent;
use crate::{CallKey, Output, PurposeKind};
use media::{MediaCommand, RoomId};
use sip::endpoint::Endpoint;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The settings key under which a group's override is stored (`on` or `off`; no key:
/// the schedule).
pub fn override_key(group: &str) -> String {
    format!("background_music:{group}")
}

/// Where a group's music is.
#[derive(Debug)]
enum State {
    /// No music: no member call, no room.
    Silent,
    /// The music plays into `room`; `members` are the calls still on.
    Playing { room: RoomId, members: Vec<CallKey> },
}

/// What a group's music is doing, for the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MusicStatus {
    /// The paging group's number and name.
    pub number: String,
    pub name: String,
    /// Its member extensions.
    pub members: Vec<String>,
    /// The music-on-hold class, when the group has background music.
    pub music_on_hold: Option<String>,
    /// Whether the music has a schedule.
    pub has_schedule: bool,
    /// Whether the schedule says it plays now (false without a schedule).
    pub scheduled: bool,
    /// Whether it plays now, and to how many member calls.
    pub playing: bool,
    pub listeners: usize,
    /// The operator's override: forced on (`Some(true)`), off, or the schedule (`None`).
    pub override_on: Option<bool>,
}

/// Why an override could not be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MusicError {
    /// No dialplan is installed.
    NoDialplan,
    /// No paging group has this number.
    UnknownGroup(String),
    /// The group has no `background_music`.
    NoMusic(String),
}

impl std::fmt::Display for MusicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MusicError::NoDialplan => write!(f, "no dialplan is loaded"),
            MusicError::UnknownGroup(g) => write!(f, "{g} is not a paging group"),
            MusicError::NoMusic(g) => write!(f, "paging group {g} has no background_music"),
        }
    }
}

impl std::error::Error for MusicError {}

/// Every group's music, the overrides and the next check.
#[derive(Debug, Default)]
pub(crate) struct Music {
    /// Groups whose music plays, by number (absent: silent).
    states: HashMap<String, State>,
    /// Member call → its group.
    by_member: HashMap<CallKey, String>,
    /// The operators' overrides by group: forced on (true) or off.
    pub overrides: BTreeMap<String, bool>,
    /// The next wall-clock minute boundary, while some group has music.
    next_check: Option<Instant>,
    /// Shutting down: the music never starts again.
    stopped: bool,
}

impl Music {
    /// Whether a placed call is a music member's.
    pub fn owns(&self, member: CallKey) -> bool {
        self.by_member.contains_key(&member)
    }

    /// The next instant [`check`] must run.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_check
    }

    /// Whether the check is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.next_check.is_some_and(|t| t <= now)
    }

    /// Shutdown: no more checks (the member calls are hung up with every other call).
    pub fn stop_for_good(&mut self) {
        self.stopped = true;
        self.next_check = None;
    }

    fn state(&self, group: &str) -> &State {
        self.states.get(group).unwrap_or(&State::Silent)
    }
}

/// The time from `wall_ms` to the next full wall-clock minute (a full minute when it is one).
fn to_next_minute(wall_ms: i64) -> Duration {
    let ms = 60_000 - wall_ms.rem_euclid(60_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(60_000))
}

/// Starts or stops each group's music as its override, its schedule and the pages want,
/// and sets the next check at the next minute boundary.
pub(crate) fn check(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
) {
    if apps.music.stopped {
        return;
    }
    let plan = apps.attendant.as_ref().map(|a| a.plan.clone());
    let wall = dialplan::jiff::Timestamp::from_millisecond(wall_ms).ok();
    let mut wanted: BTreeMap<String, bool> = BTreeMap::new();
    for group in plan.iter().flat_map(|p| p.paging_groups()) {
        let Some(music) = &group.background_music else {
            continue;
        };
        let by_schedule = wall.is_some_and(|w| music.plays_at(w));
        let on = apps
            .music
            .overrides
            .get(&group.number)
            .copied()
            .unwrap_or(by_schedule);
        wanted.insert(
            group.number.clone(),
            on && !apps.pages.paging(&group.number),
        );
    }
    let playing: Vec<String> = apps.music.states.keys().cloned().collect();
    for group in playing {
        if !wanted.get(&group).copied().unwrap_or(false) {
            stop(apps, core, now, wall_ms, ep, &group);
        }
    }
    for (number, on) in &wanted {
        if *on && matches!(apps.music.state(number), State::Silent) {
            start(apps, core, now, wall_ms, ep, number);
        }
    }
    apps.music.next_check = (!wanted.is_empty()).then(|| now + to_next_minute(wall_ms));
}

/// Calls the free members of `group` and loops its class into a new room; stays silent
/// when no member could be called (the next check tries again).
fn start(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    number: &str,
) {
    let Some(attendant) = apps.attendant.clone() else {
        return;
    };
    let Some(group) = attendant.plan.paging_group(number) else {
        return;
    };
    let Some(music) = &group.background_music else {
        return;
    };
    let Some(prompts) = attendant.music.get(&music.music_on_hold).cloned() else {
        tracing::warn!(group = %number, class = %music.music_on_hold, "background music: the music-on-hold class is not loaded");
        return;
    };
    let how = MemberCall {
        skip: "",
        from_user: core.operator_position(),
        display: group.name.clone(),
        purpose: PurposeKind::Music,
    };
    let members = paging::call_members(apps, core, now, wall_ms, ep, group, &how);
    if members.is_empty() {
        return;
    }
    tracing::info!(group = %number, members = members.len(), "background music starts");
    let room = apps.pages.new_room();
    core.outputs
        .push_back(Output::Media(MediaCommand::PlayToConference {
            room,
            prompts,
            loop_: true,
        }));
    for m in &members {
        apps.music.by_member.insert(*m, number.to_string());
    }
    apps.music
        .states
        .insert(number.to_string(), State::Playing { room, members });
}

/// Hangs up the member calls of `group`'s music and stops the room's music.
fn stop(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    number: &str,
) {
    let Some(State::Playing { room, members }) = apps.music.states.remove(number) else {
        return;
    };
    tracing::info!(group = %number, members = members.len(), "background music stops");
    for member in members {
        apps.music.by_member.remove(&member);
        let (mut ctx, placed) = core.split();
        placed.hangup(&mut ctx, ep, now, wall_ms, member);
    }
    silence(core, room);
}

/// An empty sequence ends the room's loop, and the engine forgets the empty room.
fn silence(core: &mut Core, room: RoomId) {
    core.outputs
        .push_back(Output::Media(MediaCommand::PlayToConference {
            room,
            prompts: Vec::new(),
            loop_: false,
        }));
}

/// A page to `group` starts: its music stops (the next check after the page resumes it).
pub(crate) fn interrupt(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    group: &str,
) {
    stop(apps, core, now, wall_ms, ep, group);
}

/// What happened to a member's call: an answer joins the room muted; an end forgets the
/// member until the music starts again.
pub(crate) fn on_event(apps: &mut Apps, core: &mut Core, event: PlacedEvent) {
    match event {
        PlacedEvent::Answered(member) => {
            let room =
                apps.music
                    .by_member
                    .get(&member)
                    .and_then(|g| match apps.music.states.get(g) {
                        Some(State::Playing { room, .. }) => Some(*room),
                        _ => None,
                    });
            if let Some(room) = room {
                paging::join_muted(core, member, room);
            }
        }
        PlacedEvent::Ended(member) => {
            let Some(group) = apps.music.by_member.remove(&member) else {
                return;
            };
            if let Some(State::Playing { room, members }) = apps.music.states.get_mut(&group) {
                members.retain(|m| *m != member);
                if members.is_empty() {
                    // Nobody listens any more: the room stops playing until the next start.
                    let room = *room;
                    silence(core, room);
                }
            }
        }
        PlacedEvent::Digit(..) | PlacedEvent::PromptFinished(_) => {}
    }
}

/// Every paging group with what its music does at `wall_ms`.
pub(crate) fn status(apps: &Apps, wall_ms: i64) -> Vec<MusicStatus> {
    let Some(attendant) = &apps.attendant else {
        return Vec::new();
    };
    let wall = dialplan::jiff::Timestamp::from_millisecond(wall_ms).ok();
    attendant
        .plan
        .paging_groups()
        .iter()
        .map(|g| {
            let music = g.background_music.as_ref();
            let listeners = match apps.music.state(&g.number) {
                State::Playing { members, .. } => Some(members.len()),
                State::Silent => None,
            };
            MusicStatus {
                number: g.number.clone(),
                name: g.name.clone(),
                members: g.members.clone(),
                music_on_hold: music.map(|m| m.music_on_hold.clone()),
                has_schedule: music.is_some_and(|m| m.has_schedule()),
                scheduled: music.is_some_and(|m| wall.is_some_and(|w| m.plays_at(w))),
                playing: listeners.is_some(),
                listeners: listeners.unwrap_or(0),
                override_on: apps.music.overrides.get(&g.number).copied(),
            }
        })
        .collect()
}

/// Checks that `group` has background music (an override needs one).
pub(crate) fn check_group(apps: &Apps, group: &str) -> Result<(), MusicError> {
    let attendant = apps.attendant.as_ref().ok_or(MusicError::NoDialplan)?;
    let g = attendant
        .plan
        .paging_group(group)
        .ok_or_else(|| MusicError::UnknownGroup(group.to_string()))?;
    if g.background_music.is_none() {
        return Err(MusicError::NoMusic(group.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_check_is_at_the_next_minute_boundary() {
        assert_eq!(to_next_minute(1_767_268_800_000), Duration::from_secs(60));
        assert_eq!(
            to_next_minute(1_767_268_800_001),
            Duration::from_millis(59_999)
        );
        assert_eq!(
            to_next_minute(1_767_268_859_500),
            Duration::from_millis(500)
        );
        assert_eq!(to_next_minute(-1), Duration::from_millis(1));
    }

    #[test]
    fn override_keys_name_the_group() {
        assert_eq!(override_key("7100"), "background_music:7100");
    }
}
