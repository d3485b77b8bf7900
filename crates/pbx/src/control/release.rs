//! The end of a call's life: its media legs and ports freed (each leg's final
//! quality report is kept for the record), and the call forgotten once no
//! transaction of it is outstanding.

use super::Core;
use super::calls::{MediaSide, Phase};
use crate::{CallKey, LegRole, Output};
use media::MediaCommand;

/// Frees media and forgets the call once it has ended and nothing is outstanding.
pub(crate) fn maybe_remove(core: &mut Core, key: CallKey) {
    let Some(call) = core.calls.calls.get(&key) else {
        return;
    };
    if call.phase != Phase::Ended {
        return;
    }
    let outstanding = core.calls.by_client.values().any(|(k, _)| *k == key);
    if outstanding {
        return;
    }
    let call = core.calls.calls.remove(&key).expect("checked above");
    core.calls.by_invite.remove(&call.a.tx);
    core.calls.by_dialog.retain(|_, (k, _)| *k != key);
    core.calls.ended_dialogs.retain(|_, k| *k != key);
}

/// Releases both media legs of a call (idempotent).
pub(crate) fn release_media(core: &mut Core, key: CallKey) {
    let Some(call) = core.calls.calls.get_mut(&key) else {
        return;
    };
    // The sides keep their leg ids (late media events still name them), nothing else.
    let emptied = |leg| MediaSide {
        leg,
        ..MediaSide::moved_away()
    };
    let (a_leg, b_leg) = (call.a_media.leg, call.b_media.leg);
    let a = std::mem::replace(&mut call.a_media, emptied(a_leg));
    let b = std::mem::replace(&mut call.b_media, emptied(b_leg));
    release_side(core, key, a, LegRole::Caller);
    release_side(core, key, b, LegRole::Callee);
}

/// Frees one media side that no longer belongs to a call: removes its engine leg (the
/// engine answers with the leg's final quality report, kept for the record as `which`),
/// closes its socket and gives its port back. A side without a port is nothing to free.
pub(crate) fn release_side(core: &mut Core, key: CallKey, side: MediaSide, which: LegRole) {
    if side.port == 0 {
        return;
    }
    if side.added {
        core.outputs
            .push_back(Output::Media(MediaCommand::RemoveLeg(side.leg)));
        core.calls.ended_legs.insert(side.leg, (key, which));
    }
    core.outputs.push_back(Output::CloseRtp { leg: side.leg });
    core.ports.release(side.port);
}
