//! Paging [传呼]: a staff phone dials a paging group's number and speaks, one way, to
//! every member phone at once. Each free member is a call the PBX places with headers
//! asking the phone to answer by itself; the person paging and the members meet in a
//! conference room of the media engine where the members are muted. The page ends when
//! the person paging hangs up; a member hanging up leaves the others on.
//!
//! ```text
//!  Page dialled ── answer the caller, join the room (speaking) ──▶ Paging
//!      │            place one call per free member (auto-answer)      │ a member answers: join muted
//!      │                                                              │ a member ends: forget it
//!      └── no member could be called: BridgeFailed(Unavailable)       │ the caller hangs up: end every member
//! ```

use super::Apps;
use crate::control::Core;
use crate::control::placed::{Dial, PlacedEvent};
use crate::ctx::ring_target;
use crate::{CallKey, Output, PurposeKind};
use dialplan::FailReason;
use media::{MediaCommand, RoomId};
use sip::endpoint::Endpoint;
use std::collections::HashMap;
use std::time::Instant;

/// One page in progress: the room, the member calls and the group paged.
#[derive(Debug)]
struct Page {
    room: RoomId,
    members: Vec<CallKey>,
    group: String,
}

/// The pages in progress, by the paging caller's call.
#[derive(Debug, Default)]
pub(crate) struct Pages {
    pages: HashMap<CallKey, Page>,
    /// Member call → the page (its caller's call).
    by_member: HashMap<CallKey, CallKey>,
    next_room: u64,
}

impl Pages {
    /// Whether a placed call is a page member's.
    pub fn owns(&self, member: CallKey) -> bool {
        self.by_member.contains_key(&member)
    }

    /// Whether a page to the group with this number is in progress.
    pub fn paging(&self, group: &str) -> bool {
        self.pages.values().any(|p| p.group == group)
    }

    /// A room id for a page or a group's background music. They count down from the top
    /// so they never meet the conference rooms' ids, which count up from 1.
    pub fn new_room(&mut self) -> RoomId {
        self.next_room += 1;
        RoomId(u64::MAX - self.next_room)
    }
}

/// Whether `number` is on a call now (as caller or callee, or rung by a call the PBX
/// placed): a page skips busy members.
pub(crate) fn busy(core: &Core, number: &str) -> bool {
    core.calls
        .live()
        .any(|c| c.caller == number || c.callee == number)
        || core
            .placed
            .summaries()
            .iter()
            .any(|s| s.callee == number && s.state != crate::LiveState::Ending)
}

/// Who a group's member calls come from and what they are for.
pub(crate) struct MemberCall<'a> {
    /// The number left out (the phone paging), if any.
    pub skip: &'a str,
    /// The From user and display name.
    pub from_user: String,
    pub display: String,
    pub purpose: PurposeKind,
}

/// Places one auto-answered call (the group's `Call-Info` and `Alert-Info`) to every free
/// member of `group`: registered, not busy, not on do-not-disturb, not `how.skip`. Returns
/// the calls placed.
pub(crate) fn call_members(
    apps: &Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    group: &dialplan::PagingGroup,
    how: &MemberCall,
) -> Vec<CallKey> {
    let call_info = format!("<sip:{}>;{}", core.config.public_ip, group.call_info);
    let mut members = Vec::new();
    for number in &group.members {
        // The paging phone itself, busy members and members on do-not-disturb are left out
        // (as FreePBX's paging does by default).
        let dnd = apps.hotel.settings(number).is_some_and(|s| s.dnd);
        if number == how.skip || dnd || busy(core, number) {
            continue;
        }
        let Some(ext) = core.directory.extension(number) else {
            continue;
        };
        let targets: Vec<_> = core
            .bindings(&ext.number, wall_ms)
            .into_iter()
            .filter_map(|b| ring_target(b, &ext))
            .collect();
        if targets.is_empty() || core.active_calls() >= core.config.max_concurrent_calls {
            continue;
        }
        let Some(port) = core.ports.allocate() else {
            break;
        };
        let member = core.calls.next_key();
        let dial = Dial {
            key: member,
            targets,
            callee: ext.number.clone(),
            from_user: how.from_user.clone(),
            display: how.display.clone(),
            purpose: how.purpose,
            ring_for: core.config.ring_timeout,
            headers: vec![
                ("Call-Info", call_info.clone()),
                ("Alert-Info", group.alert_info.clone()),
            ],
        };
        let (mut ctx, placed) = core.split();
        placed.dial(&mut ctx, ep, now, wall_ms, dial, port);
        members.push(member);
    }
    members
}

/// Starts a page from call `key` to the group with number `group`: calls every free member
/// phone (the attendant stopped the group's background music first); fails when none
/// could be called.
/// The attendant then answers the caller and [`join_caller`] puts them in the page's room.
pub(crate) fn start(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    group: &str,
) -> Result<(), FailReason> {
    let plan = apps
        .attendant
        .as_ref()
        .ok_or(FailReason::NotFound)?
        .plan
        .clone();
    let group = plan.paging_group(group).ok_or(FailReason::NotFound)?;
    let caller = core
        .calls
        .get(key)
        .map(|c| c.caller.clone())
        .unwrap_or_default();
    let display = core
        .calls
        .get(key)
        .and_then(|c| c.display.clone())
        .unwrap_or_else(|| format!("Page {}", group.name));
    let how = MemberCall {
        skip: &caller,
        from_user: caller.clone(),
        display,
        purpose: PurposeKind::Page,
    };
    let members = call_members(apps, core, now, wall_ms, ep, group, &how);
    if members.is_empty() {
        return Err(FailReason::Unavailable);
    }
    tracing::info!(call = key.0, group = %group.number, members = members.len(), "paging");
    let room = apps.pages.new_room();
    let pages = &mut apps.pages;
    for m in &members {
        pages.by_member.insert(*m, key);
    }
    let group = group.number.clone();
    pages.pages.insert(
        key,
        Page {
            room,
            members,
            group,
        },
    );
    Ok(())
}

/// Puts the answered paging caller into the page's room, speaking.
pub(crate) fn join_caller(apps: &Apps, core: &mut Core, key: CallKey) {
    let (Some(page), Some(call)) = (apps.pages.pages.get(&key), core.calls.get(key)) else {
        return;
    };
    core.outputs
        .push_back(Output::Media(MediaCommand::JoinConference {
            leg: call.a_media.leg,
            room: page.room,
            muted: false,
        }));
}

/// Puts a member's answered call into `room`, muted (it hears the room, is not heard).
pub(crate) fn join_muted(core: &mut Core, member: CallKey, room: RoomId) {
    if let Some(leg) = core.placed.answered_leg(member) {
        core.outputs
            .push_back(Output::Media(MediaCommand::JoinConference {
                leg,
                room,
                muted: true,
            }));
    }
}

/// What happened to a member's call.
pub(crate) fn on_event(apps: &mut Apps, core: &mut Core, event: PlacedEvent) {
    match event {
        PlacedEvent::Answered(member) => {
            let Some(page) = apps
                .pages
                .by_member
                .get(&member)
                .and_then(|k| apps.pages.pages.get(k))
            else {
                return;
            };
            join_muted(core, member, page.room);
        }
        PlacedEvent::Ended(member) => {
            if let Some(key) = apps.pages.by_member.remove(&member)
                && let Some(page) = apps.pages.pages.get_mut(&key)
            {
                page.members.retain(|m| *m != member);
            }
        }
        PlacedEvent::Digit(..) | PlacedEvent::PromptFinished(_) => {}
    }
}

/// The paging caller's call ended: every member still on is hung up.
pub(crate) fn caller_ended(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    let Some(page) = apps.pages.pages.remove(&key) else {
        return;
    };
    for member in page.members {
        apps.pages.by_member.remove(&member);
        let (mut ctx, placed) = core.split();
        placed.hangup(&mut ctx, ep, now, wall_ms, member);
    }
}
