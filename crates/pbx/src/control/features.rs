//! What call control tells the features above it, at the moment it happens
//! (so what a feature does comes out in order with what call control does).
//! The feature layer implements this trait once; call control never names a
//! feature.

use super::Core;
use super::calls::Side;
use crate::CallKey;
use dialplan::FailReason;
use media::LegId;
use sip::endpoint::{Endpoint, ServerTxId};
use sip::message::Request;
use std::time::Instant;

/// One moment of call control: the time, the wall clock and the endpoint to send through.
pub(crate) struct Turn<'a> {
    /// The current instant.
    pub now: Instant,
    /// Wall-clock time, unix ms.
    pub wall_ms: i64,
    /// The SIP endpoint.
    pub ep: &'a mut Endpoint,
}

/// The feature layer as call control sees it.
pub(crate) trait Features {
    /// A new call was accepted (media ports held, the record started). Returns whether a
    /// feature (the attendant) takes it; otherwise call control rings the dialled number.
    fn offered(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        key: CallKey,
        auth_user: Option<String>,
    ) -> bool;

    /// The caller's ACK to our 200 arrived. Returns whether a feature was waiting for it
    /// (the attendant speaks only once the caller's audio runs); otherwise call control
    /// treats it as the ACK of a relayed re-INVITE.
    fn acknowledged(&mut self, core: &mut Core, t: &mut Turn, key: CallKey) -> bool;

    /// A digit on a media leg (RFC 4733 or in-band), or in a SIP INFO on a call's caller leg.
    fn digit(&mut self, core: &mut Core, t: &mut Turn, leg: LegId, digit: char);

    /// Whether a feature listens to the caller of `key` (the attendant runs the call), so
    /// that the caller's SIP INFO digits go to it.
    fn listens(&self, key: CallKey) -> bool;

    /// The prompts playing on a leg ended.
    fn play_finished(&mut self, core: &mut Core, t: &mut Turn, leg: LegId);

    /// A bridge attempt failed. Returns whether a feature takes it over; otherwise the
    /// caller is refused with the reason's status.
    fn bridge_failed(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        key: CallKey,
        reason: FailReason,
    ) -> bool;

    /// A callee answered a bridge attempt (before the media is connected).
    fn answered(&mut self, core: &mut Core, t: &mut Turn, key: CallKey);

    /// The caller and the callee are connected (`callee` is the number that answered).
    fn bridged(&mut self, core: &mut Core, t: &mut Turn, key: CallKey, callee: &str);

    /// The call is ending: its dialogs are over, its media not yet freed.
    fn ending(&mut self, core: &mut Core, t: &mut Turn, key: CallKey);

    /// The call ended and its media is freed.
    fn ended(&mut self, core: &mut Core, t: &mut Turn, key: CallKey);

    /// A request in a dialog of `key` that is not the call's current leg on `side` (a
    /// transferor's set-aside leg). Returns whether a feature handled it.
    #[allow(clippy::too_many_arguments)]
    fn stray_request(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        tx: ServerTxId,
        req: &Request,
        key: CallKey,
        call_id: &str,
        to_tag: &str,
    ) -> bool;

    /// A REFER in the dialog of `side` of `key` (call control answers no REFER itself).
    fn refer(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        tx: ServerTxId,
        req: Request,
        key: CallKey,
        side: Side,
    );

    /// A re-INVITE from the callee of `key`. Returns whether a feature answered it;
    /// otherwise call control forwards it to the caller.
    fn callee_reinvite(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        tx: ServerTxId,
        req: &Request,
        key: CallKey,
    ) -> bool;

    /// The registrations of `aor` changed.
    fn registrations_changed(&mut self, core: &mut Core, t: &mut Turn, aor: &str);

    /// Whether the phones of an operator account are left out when the operator
    /// position is rung directly (the operator paused).
    fn operator_away(&self, account: &str) -> bool;
}
