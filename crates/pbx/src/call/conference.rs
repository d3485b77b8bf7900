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

use super::{CallKey, recording};
use crate::Output;
use crate::Pbx;
use media::{LegId, MediaCommand, RoomId};
use std::collections::HashMap;

/// A member of a room: its call, the caller's leg and who the caller is.
#[derive(Debug, Clone)]
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

impl Rooms {
    /// Returns the number of members of the room reached by `number` (0 when it does not exist).
    pub fn members(&self, number: &str) -> usize {
        self.rooms.get(number).map_or(0, |r| r.members.len())
    }
}

/// Puts the answered caller of `key` into the room with this number.
pub(crate) fn join(
    pbx: &mut Pbx,
    wall_ms: i64,
    key: CallKey,
    number: &str,
) -> Result<RoomId, JoinError> {
    let call = pbx.calls.calls.get(&key).ok_or(JoinError::Unknown)?;
    let plan = call.ivr.as_ref().ok_or(JoinError::Unknown)?.plan.clone();
    let conference = plan.conference(number).ok_or(JoinError::Unknown)?;
    let (leg, caller) = (call.a_media.leg, call.caller.clone());
    let rooms = &mut pbx.rooms;
    if let Some(max) = conference.max_members
        && rooms.members(number) >= max as usize
    {
        tracing::info!(call = key.0, room = %number, max, "conference room full");
        return Err(JoinError::Full);
    }
    let next_id = &mut rooms.next_id;
    let room = rooms.rooms.entry(number.to_string()).or_insert_with(|| {
        *next_id += 1;
        Room {
            id: RoomId(*next_id),
            members: Vec::new(),
            record: conference.record,
            recorder: None,
        }
    });
    room.members.push(Member {
        key,
        leg,
        caller: caller.clone(),
    });
    let id = room.id;
    let start_recording = room.record && room.recorder.is_none();
    if start_recording {
        room.recorder = Some(leg);
    }
    let count = room.members.len();
    pbx.outputs
        .push_back(Output::Media(MediaCommand::JoinConference {
            leg,
            room: id,
            muted: false,
        }));
    tracing::info!(call = key.0, room = %number, %id, members = count, "joined the conference");
    if start_recording {
        recording::start(pbx, leg, key, wall_ms, &caller, number);
    }
    Ok(id)
}

/// Takes the call out of its room, if it is in one (call it before the call's legs are
/// removed). The engine drops the leg from the mix when the leg is removed.
pub(crate) fn leave(pbx: &mut Pbx, wall_ms: i64, key: CallKey) {
    let Some((number, room)) = pbx
        .rooms
        .rooms
        .iter_mut()
        .find(|(_, r)| r.members.iter().any(|m| m.key == key))
    else {
        return;
    };
    let number = number.clone();
    let Some(at) = room.members.iter().position(|m| m.key == key) else {
        return;
    };
    let gone = room.members.remove(at);
    tracing::info!(call = key.0, room = %number, members = room.members.len(), "left the conference");
    if room.members.is_empty() {
        pbx.rooms.rooms.remove(&number);
        return;
    }
    if room.recorder == Some(gone.leg) {
        room.recorder = None;
        if room.record {
            let next = room.members[0].clone();
            room.recorder = Some(next.leg);
            recording::start(pbx, next.leg, next.key, wall_ms, &next.caller, &number);
        }
    }
}
