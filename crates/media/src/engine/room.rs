//! A conference room: its members' fade states and its announcement player.
//!
//! ```text
//!   join ──▶ Joining ──1 frame──▶ Active ──mute──▶ Muting ──1 frame──▶ Muted
//!               ▲                   │                                   │
//!               └──────unmute───────┼───────────────────────────────────┘
//!                                leave (from any state) ──▶ Leaving ──1 frame──▶ gone
//! ```
//! `Joining` fades the member's voice in over its first frame, `Muting` and `Leaving` fade it
//! out over the last one, so nobody hears a click.

use super::leg::LegId;
use crate::mixer::Fade;
use crate::player::Player;

/// Where a member is in the join/mute/leave cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberState {
    Joining,
    Active,
    Muting,
    Muted,
    Leaving,
}

impl MemberState {
    /// How the member's voice enters this frame's mix, if at all.
    pub fn fade(self) -> Option<Fade> {
        match self {
            MemberState::Joining => Some(Fade::In),
            MemberState::Active => Some(Fade::Full),
            MemberState::Muting | MemberState::Leaving => Some(Fade::Out),
            MemberState::Muted => None,
        }
    }

    /// Whether the member hears the room in this frame.
    pub fn listens(self) -> bool {
        self != MemberState::Leaving
    }

    /// The state for the next frame, or `None` when the member is gone.
    pub fn after_frame(self) -> Option<MemberState> {
        match self {
            MemberState::Joining | MemberState::Active => Some(MemberState::Active),
            MemberState::Muting | MemberState::Muted => Some(MemberState::Muted),
            MemberState::Leaving => None,
        }
    }
}

/// One member of a room.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    pub leg: LegId,
    pub state: MemberState,
}

/// A conference room.
#[derive(Debug, Default)]
pub(crate) struct Room {
    pub members: Vec<Member>,
    pub announcement: Option<Player>,
}

impl Room {
    pub fn join(&mut self, leg: LegId, state: MemberState) {
        self.members.retain(|m| m.leg != leg);
        self.members.push(Member { leg, state });
    }

    /// Starts a member's departure; returns whether it fades out over the next frame (a muted
    /// member is silent already and leaves at once).
    pub fn leave(&mut self, leg: LegId) -> bool {
        let Some(i) = self.members.iter().position(|m| m.leg == leg) else {
            return false;
        };
        if self.members[i].state == MemberState::Muted {
            self.members.remove(i);
            false
        } else {
            self.members[i].state = MemberState::Leaving;
            true
        }
    }

    /// Removes a member at once (its leg is gone, so there is no audio to fade).
    pub fn remove_now(&mut self, leg: LegId) {
        self.members.retain(|m| m.leg != leg);
    }

    pub fn set_muted(&mut self, leg: LegId, muted: bool) {
        for m in &mut self.members {
            if m.leg != leg {
                continue;
            }
            m.state = match (m.state, muted) {
                (MemberState::Joining | MemberState::Active, true) => MemberState::Muting,
                (MemberState::Muting | MemberState::Muted, false) => MemberState::Joining,
                (s, _) => s,
            };
        }
    }

    /// Advances every member's state after a mixed frame; returns the members that left.
    pub fn after_frame(&mut self) -> Vec<LegId> {
        let mut gone = Vec::new();
        self.members.retain_mut(|m| match m.state.after_frame() {
            Some(s) => {
                m.state = s;
                true
            }
            None => {
                gone.push(m.leg);
                false
            }
        });
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_mute_unmute_leave_cycle() {
        let mut r = Room::default();
        let a = LegId(1);
        r.join(a, MemberState::Joining);
        assert_eq!(r.members[0].state.fade(), Some(Fade::In));
        r.after_frame();
        assert_eq!(r.members[0].state, MemberState::Active);
        r.set_muted(a, true);
        assert_eq!(r.members[0].state.fade(), Some(Fade::Out));
        r.after_frame();
        assert_eq!(r.members[0].state.fade(), None);
        r.set_muted(a, false);
        assert_eq!(r.members[0].state, MemberState::Joining);
        r.after_frame();
        r.leave(a);
        assert!(!r.members[0].state.listens());
        assert_eq!(r.members[0].state.fade(), Some(Fade::Out));
        r.after_frame();
        assert!(r.members.is_empty());
    }

    #[test]
    fn a_muted_member_leaves_at_once() {
        let mut r = Room::default();
        r.join(LegId(1), MemberState::Muted);
        r.leave(LegId(1));
        assert!(r.members.is_empty());
    }
}
