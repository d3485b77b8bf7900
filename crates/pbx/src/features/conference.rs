//! Conference rooms: which calls are in which room, and the room's recording.
//!
//! A room exists while it has members: the first caller to join a dialplan conference
//! (by its number) creates it with a fresh [`RoomId`], and the last one to leave removes it.
//! The media engine mixes the room (each member hears everyone but itself); the PBX only
//! tells it who joins. A member leaves when its call ends for any reason; the engine's
//! `RemoveLeg` takes the leg out of the room.
//!
//! A room with `record: true` is recorded on one member's leg with `both_directions`: what
//! that member says plus what it hears (everyone else) is the whole room. When that member
//! leaves and others remain, a new file is started on the longest-present member, so a
//! recorded meeting is a sequence of files named like call recordings, with the room's
//! number as the callee.

use super::{Apps, recording};
use crate::control::Core;
use crate::{CallKey, Output};
use media::{LegId, MediaCommand, RoomId};
use std::collections::HashMap;

/// A member of a room: its call, the caller's leg and who the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    key: CallKey,
    leg: LegId,
    caller: String,
}

#[derive(Debug)]
struct Room {
    id: RoomId,
    members: Vec<Member>,
    record: bool,
    /// The member leg whose recorder holds the room's conversation.
    recorder: Option<LegId>,
}

/// The live conference rooms, by the dialplan number that reaches them.
#[derive(Debug, Default)]
pub(crate) struct Rooms {
    rooms: HashMap<String, Room>,
    next_id: u64,
}

/// Why a caller could not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinError {
    /// The room holds `max_members` already.
    Full,
    /// The call or the room is unknown (the call ended, or the plan has no such room).
    Unknown,
}

/// What happened when a member was added to a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Joined {
    id: RoomId,
    members: usize,
    /// The room is recorded and had no recorder: the new member's leg records it now.
    start_recording: bool,
}

impl Rooms {
    /// Returns the number of members of the room reached by `number` (0 when it does not exist).
    pub fn members(&self, number: &str) -> usize {
        self.rooms.get(number).map_or(0, |r| r.members.len())
    }

    /// Adds a member, creating the room with a fresh id if it has none, unless `max` is reached.
    fn add(
        &mut self,
        number: &str,
        member: Member,
        record: bool,
        max: Option<u32>,
    ) -> Result<Joined, JoinError> {
        if max.is_some_and(|max| self.members(number) >= max as usize) {
            return Err(JoinError::Full);
        }
        let next_id = &mut self.next_id;
        let room = self.rooms.entry(number.to_string()).or_insert_with(|| {
            *next_id += 1;
            Room {
                id: RoomId(*next_id),
                members: Vec::new(),
                record,
                recorder: None,
            }
        });
        let start_recording = room.record && room.recorder.is_none();
        if start_recording {
            room.recorder = Some(member.leg);
        }
        room.members.push(member);
        Ok(Joined {
            id: room.id,
            members: room.members.len(),
            start_recording,
        })
    }

    /// Removes the call from its room; returns the room's number and, when the leaving member
    /// was recording a room that still has members, the member that records from now on.
    fn remove(&mut self, key: CallKey) -> Option<(String, Option<Member>)> {
        let (number, room) = self
            .rooms
            .iter_mut()
            .find(|(_, r)| r.members.iter().any(|m| m.key == key))?;
        let number = number.clone();
        let at = room.members.iter().position(|m| m.key == key)?;
        let gone = room.members.remove(at);
        if room.members.is_empty() {
            self.rooms.remove(&number);
            return Some((number, None));
        }
        let mut next = None;
        if room.recorder == Some(gone.leg) {
            room.recorder = None;
            if room.record {
                let member = room.members[0].clone();
                room.recorder = Some(member.leg);
                next = Some(member);
            }
        }
        Some((number, next))
    }
}

/// Puts the answered caller of `key` into the room with this number.
pub(crate) fn join(
    apps: &mut Apps,
    core: &mut Core,
    wall_ms: i64,
    key: CallKey,
    number: &str,
) -> Result<RoomId, JoinError> {
    let call = core.calls.calls.get(&key).ok_or(JoinError::Unknown)?;
    let plan = apps.ivrs.get(&key).ok_or(JoinError::Unknown)?.plan.clone();
    let conference = plan.conference(number).ok_or(JoinError::Unknown)?;
    let (leg, caller) = (call.a_media.leg, call.caller.clone());
    let member = Member {
        key,
        leg,
        caller: caller.clone(),
    };
    let joined = apps
        .rooms
        .add(number, member, conference.record, conference.max_members)
        .inspect_err(|_| {
            tracing::info!(call = key.0, room = %number, max = ?conference.max_members, "conference room full");
        })?;
    core.outputs
        .push_back(Output::Media(MediaCommand::JoinConference {
            leg,
            room: joined.id,
            muted: false,
        }));
    tracing::info!(call = key.0, room = %number, id = %joined.id, members = joined.members, "joined the conference");
    if joined.start_recording {
        recording::start(apps, core, leg, key, wall_ms, &caller, number);
    }
    Ok(joined.id)
}

/// Takes the call out of its room, if it is in one (call it before the call's legs are
/// removed). The engine drops the leg from the mix when the leg is removed.
pub(crate) fn leave(apps: &mut Apps, core: &mut Core, wall_ms: i64, key: CallKey) {
    let Some((number, next)) = apps.rooms.remove(key) else {
        return;
    };
    tracing::info!(call = key.0, room = %number, members = apps.rooms.members(&number), "left the conference");
    if let Some(next) = next {
        recording::start(
            apps,
            core,
            next.leg,
            next.key,
            wall_ms,
            &next.caller,
            &number,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(n: u64) -> Member {
        Member {
            key: CallKey(n),
            leg: LegId(n * 10),
            caller: format!("20{n}"),
        }
    }

    #[test]
    fn a_room_lives_while_it_has_members_and_gets_a_new_id_afterwards() {
        let mut rooms = Rooms::default();
        let first = rooms.add("7000", member(1), false, None).unwrap();
        let second = rooms.add("7000", member(2), false, None).unwrap();
        assert_eq!((first.id, second.id), (RoomId(1), RoomId(1)));
        assert_eq!(second.members, 2);
        let other = rooms.add("7100", member(3), false, None).unwrap();
        assert_eq!(other.id, RoomId(2));
        assert_eq!(rooms.remove(CallKey(1)), Some(("7000".into(), None)));
        assert_eq!(rooms.remove(CallKey(1)), None, "already gone");
        assert_eq!(rooms.remove(CallKey(2)), Some(("7000".into(), None)));
        assert_eq!(rooms.members("7000"), 0);
        let again = rooms.add("7000", member(4), false, None).unwrap();
        assert_eq!(again.id, RoomId(3), "an emptied room starts afresh");
    }

    #[test]
    fn a_full_room_refuses_the_next_caller() {
        let mut rooms = Rooms::default();
        for n in 1..=2 {
            rooms.add("7000", member(n), false, Some(2)).unwrap();
        }
        assert_eq!(
            rooms.add("7000", member(3), false, Some(2)),
            Err(JoinError::Full)
        );
        rooms.remove(CallKey(1));
        assert!(rooms.add("7000", member(3), false, Some(2)).is_ok());
    }

    #[test]
    fn the_recording_moves_to_the_longest_present_member() {
        let mut rooms = Rooms::default();
        assert!(
            rooms
                .add("7000", member(1), true, None)
                .unwrap()
                .start_recording
        );
        assert!(
            !rooms
                .add("7000", member(2), true, None)
                .unwrap()
                .start_recording
        );
        assert!(
            !rooms
                .add("7000", member(3), true, None)
                .unwrap()
                .start_recording
        );
        // A member who is not recording leaves: nothing changes.
        let (_, next) = rooms.remove(CallKey(2)).unwrap();
        assert!(next.is_none());
        // The recording member leaves: member 3 records from now on.
        let (_, next) = rooms.remove(CallKey(1)).unwrap();
        assert_eq!(next.map(|m| m.key), Some(CallKey(3)));
        // The last member leaves: the room and its recording end.
        assert_eq!(rooms.remove(CallKey(3)), Some(("7000".into(), None)));
    }

    #[test]
    fn an_unrecorded_room_never_records() {
        let mut rooms = Rooms::default();
        assert!(
            !rooms
                .add("7000", member(1), false, None)
                .unwrap()
                .start_recording
        );
        rooms.add("7000", member(2), false, None).unwrap();
        assert_eq!(rooms.remove(CallKey(1)), Some(("7000".into(), None)));
    }
}
