//! The features that run calls through call control (`crate::control`): the
//! attendant (the dialplan interpreter driving each call it answers), the
//! operator queue, transfers, operator hold with music, conference rooms, call
//! recording and announcements on calls the PBX places.
//!
//! [`Apps`] holds the features' state and is the one implementation of
//! [`Features`]: call control reports to it, and it hands each report to the
//! feature that owns it, in a fixed order (a transfer in progress first, then
//! the queue, then the attendant). Features act on calls only through call
//! control's functions and the `&mut Core` they are lent; none holds the PBX.
//!
//! - `attendant`: the dialplan interpreter's actions and the operators' feature codes.
//! - `queue_glue`: the operator queue (`crate::queue`) wired to call control.
//! - `transfer`: REFER, blind and attended.
//! - `hold`: an operator's hold plays the queue's music to the caller.
//! - `conference`: conference rooms. `recording`: call recording.
//! - `announce`: prompts and digits on calls the PBX placed.
//! - `hotel`: rooms' callers named for staff, class of service, do-not-disturb, forwarding.
//! - `paging`: one-way pages to a group's phones, which answer by themselves.
//! - `background_music`: a paging group's music by schedule or operator override.

pub(crate) mod announce;
pub(crate) mod attendant;
pub(crate) mod background_music;
pub(crate) mod conference;
pub(crate) mod hold;
pub(crate) mod hotel;
pub(crate) mod paging;
pub(crate) mod queue_glue;
pub(crate) mod recording;
pub(crate) mod replaces;
pub(crate) mod transfer;

use crate::control::Core;
use crate::control::calls::Side;
use crate::control::features::{Features, Turn};
use crate::control::placed::PlacedEvent;
use crate::{Attendant, CallKey, queue};
use attendant::Ivr;
use dialplan::FailReason;
use media::LegId;
use sip::endpoint::{Endpoint, ServerTxId};
use sip::message::Request;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Instant;

/// The features' state.
pub(crate) struct Apps {
    /// The plan new calls run, with its prompts (none: calls ring the dialled number).
    pub attendant: Option<Attendant>,
    /// The operator's attendant-mode override.
    pub mode_override: Option<dialplan::Mode>,
    pub queues: queue::Queues,
    pub rooms: conference::Rooms,
    /// Where call and conference recordings go.
    pub recordings_dir: PathBuf,
    pub announcements: announce::Announcements,
    /// The attendant's interpreter state of each call it runs.
    pub ivrs: HashMap<CallKey, Ivr>,
    /// The interpreters' next deadlines, earliest first (so the loop's next wake-up is
    /// found without visiting every call).
    pub ivr_deadlines: BTreeSet<(Instant, CallKey)>,
    /// Guests in rooms, do-not-disturb and forwarding.
    pub hotel: crate::hotel::Hotel,
    /// The number each attendant call rings (for forwarding on busy or no answer).
    pub dialled: HashMap<CallKey, hotel::Dialled>,
    /// Pages in progress.
    pub pages: paging::Pages,
    /// The paging groups' background music.
    pub music: background_music::Music,
}

impl Default for Apps {
    fn default() -> Self {
        Apps {
            attendant: None,
            mode_override: None,
            queues: Default::default(),
            rooms: Default::default(),
            recordings_dir: PathBuf::from("data/recordings"),
            announcements: Default::default(),
            ivrs: HashMap::new(),
            ivr_deadlines: BTreeSet::new(),
            hotel: Default::default(),
            dialled: HashMap::new(),
            pages: Default::default(),
            music: Default::default(),
        }
    }
}

impl Apps {
    /// The features' timers: the attendant's (digit and menu timeouts), the queue's, the
    /// announcements' and the background music's minute check.
    pub fn handle_timeout(
        &mut self,
        core: &mut Core,
        now: Instant,
        wall_ms: i64,
        ep: &mut Endpoint,
    ) {
        attendant::handle_timeout(self, core, now, wall_ms, ep);
        queue_glue::handle_timeout(self, core, now, wall_ms, ep);
        let mut commands = Vec::new();
        self.announcements.handle_timeout(now, &mut commands);
        announce::carry_out(core, now, wall_ms, ep, commands);
        if self.music.due(now) {
            background_music::check(self, core, now, wall_ms, ep);
        }
    }

    /// The next instant [`Apps::handle_timeout`] must run.
    pub fn next_deadline(&self) -> Option<Instant> {
        let attendant = self.ivr_deadlines.first().map(|(deadline, _)| *deadline);
        [
            attendant,
            self.queues.next_deadline(),
            self.announcements.next_deadline(),
            self.music.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Hands what happened to placed calls to the announcements, and carries out what
    /// they ask, until nothing more happens.
    pub fn run_placed(&mut self, core: &mut Core, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
        while let Some(event) = core.placed.poll_event() {
            let member = match event {
                PlacedEvent::Answered(k)
                | PlacedEvent::Digit(k, _)
                | PlacedEvent::PromptFinished(k)
                | PlacedEvent::Ended(k) => k,
            };
            if self.pages.owns(member) {
                paging::on_event(self, core, event);
                continue;
            }
            if self.music.owns(member) {
                background_music::on_event(self, core, event);
                continue;
            }
            let mut commands = Vec::new();
            self.announcements.on_event(now, event, &mut commands);
            announce::carry_out(core, now, wall_ms, ep, commands);
        }
    }

    /// Hands an event to the dialplan of a call the attendant runs (a feature that hands a
    /// caller back, such as the queue, goes through here rather than to the attendant).
    pub fn dialplan_event(
        &mut self,
        core: &mut Core,
        now: Instant,
        wall_ms: i64,
        ep: &mut Endpoint,
        key: CallKey,
        event: dialplan::Event,
    ) {
        attendant::feed(self, core, now, wall_ms, ep, key, event);
    }

    /// Shutdown: nobody is offered a caller any more, and no background music starts.
    pub fn stop_offering(&mut self) {
        self.queues.stop_offering();
        self.music.stop_for_good();
    }
}

impl Features for Apps {
    fn offered(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        key: CallKey,
        auth_user: Option<String>,
    ) -> bool {
        let Some(a) = &self.attendant else {
            return false;
        };
        let Some(call) = core.calls.calls.get(&key) else {
            return false;
        };
        self.ivrs.insert(
            key,
            Ivr {
                plan: a.plan.clone(),
                prompts: a.prompts.clone(),
                state: dialplan::CallState::new(self.mode_override),
                auth_user: auth_user.clone(),
                awaiting_ack: false,
                indexed: None,
            },
        );
        let (from, to) = (call.caller.clone(), call.callee.clone());
        let caller_language = hotel::on_offered(self, core, key, auth_user.as_deref());
        let event = dialplan::Event::Offered {
            from,
            to,
            authenticated_extension: auth_user,
            caller_language,
        };
        attendant::feed(self, core, t.now, t.wall_ms, t.ep, key, event);
        true
    }

    fn acknowledged(&mut self, core: &mut Core, t: &mut Turn, key: CallKey) -> bool {
        let waited = self
            .ivrs
            .get_mut(&key)
            .is_some_and(|i| std::mem::take(&mut i.awaiting_ack));
        if waited {
            let event = dialplan::Event::Answered;
            attendant::feed(self, core, t.now, t.wall_ms, t.ep, key, event);
        }
        waited
    }

    fn digit(&mut self, core: &mut Core, t: &mut Turn, leg: LegId, digit: char) {
        attendant::on_digit(self, core, t.now, t.wall_ms, t.ep, leg, digit);
    }

    fn play_finished(&mut self, core: &mut Core, t: &mut Turn, leg: LegId) {
        attendant::on_play_finished(self, core, t.now, t.wall_ms, t.ep, leg);
    }

    fn bridge_failed(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        key: CallKey,
        reason: FailReason,
    ) -> bool {
        let Some(call) = core.calls.get(key) else {
            return false;
        };
        if call.transfer.is_some() {
            transfer::failed(self, core, t.now, t.wall_ms, t.ep, key, reason);
            return true;
        }
        if !self.ivrs.contains_key(&key) {
            return false;
        }
        if self.queues.is_waiting(key) {
            queue_glue::ring_failed(self, core, t.now, t.wall_ms, t.ep, key);
        } else if hotel::forward_on_failure(self, core, t.now, t.wall_ms, t.ep, key, reason) {
            // The dialled line's busy or no-answer forwarding rings its target now.
        } else {
            let event = dialplan::Event::BridgeFailed { reason };
            attendant::feed(self, core, t.now, t.wall_ms, t.ep, key, event);
        }
        true
    }

    fn answered(&mut self, core: &mut Core, t: &mut Turn, key: CallKey) {
        if self.queues.is_waiting(key) {
            queue_glue::answered(self, core, t.now, t.wall_ms, key);
        }
    }

    fn bridged(&mut self, core: &mut Core, t: &mut Turn, key: CallKey, callee: &str) {
        recording::on_bridged(self, core, key, t.wall_ms, callee);
        if core.calls.get(key).is_some_and(|c| c.transfer.is_some()) {
            transfer::answered(self, core, t.now, t.wall_ms, t.ep, key);
        }
    }

    fn ending(&mut self, core: &mut Core, t: &mut Turn, key: CallKey) {
        conference::leave(self, core, t.wall_ms, key);
        transfer::end_transferor(self, core, t.now, t.wall_ms, t.ep, key, true);
    }

    fn ended(&mut self, core: &mut Core, t: &mut Turn, key: CallKey) {
        queue_glue::call_ended(self, core, t.now, t.wall_ms, t.ep, key);
        paging::caller_ended(self, core, t.now, t.wall_ms, t.ep, key);
        self.dialled.remove(&key);
        if let Some(d) = self.ivrs.remove(&key).and_then(|ivr| ivr.indexed) {
            self.ivr_deadlines.remove(&(d, key));
        }
    }

    fn listens(&self, key: CallKey) -> bool {
        self.ivrs.contains_key(&key)
    }

    fn stray_request(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        tx: ServerTxId,
        req: &Request,
        key: CallKey,
        call_id: &str,
        to_tag: &str,
    ) -> bool {
        transfer::on_transferor_request(
            self, core, t.now, t.wall_ms, t.ep, tx, req, key, call_id, to_tag,
        )
    }

    fn refer(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        tx: ServerTxId,
        req: Request,
        key: CallKey,
        side: Side,
    ) {
        transfer::on_refer(self, core, t.now, t.wall_ms, t.ep, tx, req, key, side);
    }

    fn callee_reinvite(
        &mut self,
        core: &mut Core,
        t: &mut Turn,
        tx: ServerTxId,
        req: &Request,
        key: CallKey,
    ) -> bool {
        hold::on_operator_reinvite(self, core, t.now, t.ep, tx, req, key)
    }

    fn registrations_changed(&mut self, core: &mut Core, t: &mut Turn, _aor: &str) {
        queue_glue::operators_changed(self, core, t.now, t.wall_ms, t.ep);
    }

    fn operator_away(&self, account: &str) -> bool {
        self.queues.is_paused(account)
    }
}
