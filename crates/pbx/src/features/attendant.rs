//! The attendant: each call the dialplan handles carries its interpreter
//! state; events (the offer, digits, prompt ends, timeouts, failed
//! bridges) go in through [`feed`], and the actions that come out are
//! carried out here: answer, play, ring, queue, feature codes, reject,
//! hang up.

use super::{Apps, background_music, conference, hotel, paging, queue_glue};
use crate::control::calls::{Alerting, Phase};
use crate::control::{Core, answer, bridge, midcall, register};
use crate::sdp::{self, Direction};
use crate::{CallKey, Outcome, Party};
use crate::{OperatorChangeKind, Output};
use dialplan::{Action, Event, Feature, FeatureResult, Mode};
use media::{LegId, MediaCommand};
use sip::endpoint::Endpoint;
use sip::registrar::BindingChange;
use std::collections::VecDeque;
use std::time::Instant;

/// The interpreter state of a call the attendant handles.
pub(crate) struct Ivr {
    /// The plan the call started on (a reload does not change it).
    pub plan: std::sync::Arc<dialplan::Plan>,
    /// The prompts of that plan.
    pub prompts: std::sync::Arc<media::prompt::PromptCache>,
    /// The interpreter's state.
    pub state: dialplan::CallState,
    /// The digest user who placed the call (for feature codes).
    pub auth_user: Option<String>,
    /// The attendant answered and waits for the caller's ACK (or a key) before it speaks.
    pub awaiting_ack: bool,
    /// The interpreter's next deadline as `Apps::ivr_deadlines` holds it.
    pub indexed: Option<Instant>,
}

impl std::fmt::Debug for Ivr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ivr")
            .field("auth_user", &self.auth_user)
            .finish_non_exhaustive()
    }
}

/// Feeds one event to a call's interpreter and carries out what it asks,
/// including the events those actions cause at once (an answer, a failed bridge).
pub(crate) fn feed(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    event: Event,
) {
    let wall = dialplan::jiff::Timestamp::from_millisecond(wall_ms)
        .unwrap_or(dialplan::jiff::Timestamp::UNIX_EPOCH);
    let mut pending = VecDeque::from([event]);
    while let Some(ev) = pending.pop_front() {
        let actions = {
            if core
                .calls
                .calls
                .get(&key)
                .is_none_or(|c| c.phase == Phase::Ended)
            {
                return;
            }
            let Some(ivr) = apps.ivrs.get_mut(&key) else {
                return;
            };
            let plan = ivr.plan.clone();
            tracing::debug!(call = key.0, event = ?ev, "attendant");
            let actions = dialplan::step(&plan, &mut ivr.state, now, wall, ev);
            let next = ivr.state.next_deadline();
            if next != ivr.indexed {
                if let Some(old) = ivr.indexed {
                    apps.ivr_deadlines.remove(&(old, key));
                }
                if let Some(new) = next {
                    apps.ivr_deadlines.insert((new, key));
                }
                ivr.indexed = next;
            }
            actions
        };
        for action in actions {
            tracing::debug!(call = key.0, ?action, "attendant action");
            if let Some(next) = perform(apps, core, now, wall_ms, ep, key, action) {
                pending.push_back(next);
            }
            if core
                .calls
                .calls
                .get(&key)
                .is_none_or(|c| c.phase == Phase::Ended)
            {
                return;
            }
        }
    }
}

fn perform(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    action: Action,
) -> Option<Event> {
    let call = core.calls.calls.get_mut(&key)?;
    let a_leg = call.a_media.leg;
    match action {
        Action::Answer => answer(apps, core, now, wall_ms, ep, key),
        Action::Play { prompts, .. } => play(apps, core, key, &prompts),
        Action::StopPlay => {
            core.outputs
                .push_back(Output::Media(MediaCommand::StopPlay(a_leg)));
            None
        }
        Action::CollectDigits { .. } | Action::SetLanguage(_) => None,
        Action::Bridge {
            target,
            ring_timeout,
            screening,
        } => hotel::bridge(
            apps,
            core,
            now,
            wall_ms,
            ep,
            key,
            target,
            screening,
            ring_timeout,
        ),
        Action::Progress => progress(core, now, ep, key),
        Action::Page { group } => {
            // The group's music stops first, so that the page finds the members free.
            background_music::interrupt(apps, core, now, wall_ms, ep, &group);
            page(apps, core, now, wall_ms, ep, key, &group)
        }
        Action::OperatorQueue { queue } => {
            queue_glue::enter(apps, core, now, wall_ms, ep, key, &queue)
                .map(|reason| Event::QueueExited { reason })
        }
        Action::Conference { room } => conference::join(apps, core, wall_ms, key, &room)
            .err()
            .map(|_| Event::ConferenceFull),
        Action::Feature(feature) => {
            feature_code(apps, core, now, wall_ms, ep, key, feature).map(Event::FeatureDone)
        }
        Action::Reject(reason) => {
            let (status, outcome) = bridge::fail_status(reason);
            midcall::finish(
                core,
                apps,
                now,
                wall_ms,
                ep,
                key,
                status,
                outcome,
                Some(Party::System),
                None,
            );
            None
        }
        Action::Hangup => {
            let outcome = if call.final_sent() {
                Outcome::Answered
            } else {
                Outcome::Rejected
            };
            midcall::finish(
                core,
                apps,
                now,
                wall_ms,
                ep,
                key,
                480,
                outcome,
                Some(Party::System),
                None,
            );
            None
        }
    }
}

/// Answers the caller (once); the greeting waits for the caller's ACK, or for a key.
fn answer(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) -> Option<Event> {
    let call = core.calls.calls.get_mut(&key)?;
    if call.final_sent() {
        return Some(Event::Answered);
    }
    let codec = sdp::prefer(&call.offer.codecs, &core.config.codecs)
        .first()
        .copied()?;
    call.codec = Some(codec);
    call.a_media.added = true;
    core.outputs.push_back(Output::Media(MediaCommand::AddLeg {
        leg: call.a_media.leg,
        remote: call.a_media.remote,
        codec: sdp::media_codec(codec),
        telephone_event_pt: call.a_media.telephone_event,
    }));
    answer::answer_a(core, now, wall_ms, ep, key, codec, Direction::SendRecv);
    // The greeting starts when the caller's ACK arrives: before it, the
    // caller's audio path may not be running yet and would clip the prompt.
    if let Some(ivr) = apps.ivrs.get_mut(&key) {
        ivr.awaiting_ack = true;
    }
    None
}

/// Sends the unanswered caller 183 Session Progress with our media, so the prompts that
/// follow (an announcement before a refusal) are heard without answering the call.
fn progress(core: &mut Core, now: Instant, ep: &mut Endpoint, key: CallKey) -> Option<Event> {
    let call = core.calls.calls.get_mut(&key)?;
    if call.final_sent() || call.phase == Phase::Ringing(Alerting::EarlyMedia) {
        return None;
    }
    let codec = sdp::prefer(&call.offer.codecs, &core.config.codecs)
        .first()
        .copied()?;
    call.codec = Some(codec);
    if !call.a_media.added {
        call.a_media.added = true;
        core.outputs.push_back(Output::Media(MediaCommand::AddLeg {
            leg: call.a_media.leg,
            remote: call.a_media.remote,
            codec: sdp::media_codec(codec),
            telephone_event_pt: call.a_media.telephone_event,
        }));
    }
    call.phase = Phase::Ringing(Alerting::EarlyMedia);
    let call = core.calls.calls.get(&key)?;
    let mut r = answer::a_response(core, call, 183);
    r.headers.push("Content-Type", "application/sdp");
    r.body = answer::answer_for_a(core, call, codec, Direction::SendRecv);
    ep.respond(now, call.a.tx, r);
    None
}

/// Plays the plan's prompts to the caller; a sequence with nothing loaded ends at once.
fn play(
    apps: &Apps,
    core: &mut Core,
    key: CallKey,
    prompts: &[std::path::PathBuf],
) -> Option<Event> {
    let call = core.calls.calls.get(&key)?;
    let ivr = apps.ivrs.get(&key)?;
    let decoded: Vec<_> = prompts
        .iter()
        .filter_map(|p| {
            let found = ivr.prompts.get(p);
            if found.is_none() {
                tracing::error!(prompt = %p.display(), "prompt was not loaded with the dialplan; skipping it");
            }
            found
        })
        .collect();
    if decoded.is_empty() {
        return Some(Event::PlayFinished);
    }
    core.outputs.push_back(Output::Media(MediaCommand::Play {
        leg: call.a_media.leg,
        prompts: decoded,
        loop_: false,
    }));
    None
}

/// Carries out a feature code dialled from an operator's phone.
fn feature_code(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    feature: Feature,
) -> Option<FeatureResult> {
    let call = core.calls.calls.get(&key)?;
    let source = call.a.peer.addr;
    let ivr = apps.ivrs.get(&key)?;
    let operator = ivr.auth_user.clone().unwrap_or_default();
    let plan = ivr.plan.clone();
    match feature {
        Feature::Dnd(_) | Feature::ForwardSet { .. } | Feature::ForwardClear(_) => {
            Some(hotel::feature_code(apps, core, wall_ms, key, feature))
        }
        Feature::ToggleAttendantMode => {
            let wall = dialplan::jiff::Timestamp::from_millisecond(wall_ms).ok()?;
            let now_mode = plan.mode_at(wall, apps.mode_override);
            let new = match now_mode {
                Mode::Automatic => Mode::Manual,
                Mode::Manual => Mode::Automatic,
            };
            apps.mode_override = Some(new);
            let text = match new {
                Mode::Automatic => "automatic",
                Mode::Manual => "manual",
            };
            tracing::info!(operator = %operator, mode = text, "attendant mode switched by an operator");
            core.outputs
                .push_back(Output::Event(crate::PbxEvent::Mode(crate::ModeChange {
                    mode: Some(new),
                })));
            Some(FeatureResult::Mode(new))
        }
        Feature::OperatorPause => {
            log_operator(core, &operator, OperatorChangeKind::Pause, source, wall_ms);
            queue_glue::set_paused(apps, core, now, wall_ms, ep, &operator, true);
            Some(FeatureResult::Paused)
        }
        Feature::OperatorUnpause => {
            log_operator(
                core,
                &operator,
                OperatorChangeKind::Unpause,
                source,
                wall_ms,
            );
            queue_glue::set_paused(apps, core, now, wall_ms, ep, &operator, false);
            Some(FeatureResult::Available)
        }
        Feature::OperatorLogout => {
            let position = core.operator_position();
            let gone: Vec<BindingChange> = core
                .bindings
                .get(&position)
                .map(|list| {
                    list.iter()
                        .filter(|b| {
                            b.user.as_deref() == Some(operator.as_str())
                                || (b.user.is_none() && b.source.addr == source)
                        })
                        .map(|b| BindingChange::Remove {
                            aor: b.aor.clone(),
                            contact: b.contact.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            register::apply(core, &gone);
            if !gone.is_empty() {
                core.outputs.push_back(Output::Persist {
                    changes: gone,
                    then: None,
                });
            }
            log_operator(core, &operator, OperatorChangeKind::Logout, source, wall_ms);
            queue_glue::set_paused(apps, core, now, wall_ms, ep, &operator, false);
            Some(FeatureResult::LoggedOut)
        }
    }
}

fn log_operator(
    core: &mut Core,
    operator: &str,
    kind: OperatorChangeKind,
    source: std::net::SocketAddr,
    at_ms: i64,
) {
    core.outputs
        .push_back(Output::Event(crate::PbxEvent::Operator(
            crate::OperatorChange {
                operator: operator.to_string(),
                kind,
                source: source.to_string(),
                at_ms,
            },
        )));
}

/// The call whose caller leg is `leg`, if the attendant is talking to it (not bridged).
fn attendant_call(apps: &Apps, core: &Core, leg: LegId) -> Option<CallKey> {
    core.calls
        .live()
        .find(|c| c.a_media.leg == leg && c.b.is_none() && apps.ivrs.contains_key(&c.key))
        .map(|c| c.key)
}

/// A digit the caller pressed (RFC 4733 or in-band, from the media engine).
pub(crate) fn on_digit(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    leg: LegId,
    digit: char,
) {
    if let Some(key) = attendant_call(apps, core, leg) {
        tracing::debug!(call = key.0, %digit, "digit");
        // A key pressed before our 200 was acknowledged proves the caller is
        // listening: the greeting starts now, then the key counts.
        let waiting = apps
            .ivrs
            .get_mut(&key)
            .is_some_and(|i| std::mem::take(&mut i.awaiting_ack));
        if waiting {
            feed(apps, core, now, wall_ms, ep, key, Event::Answered);
        }
        feed(apps, core, now, wall_ms, ep, key, Event::Dtmf(digit));
    }
}

/// A prompt sequence ended on the caller's leg.
pub(crate) fn on_play_finished(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    leg: LegId,
) {
    if let Some(key) = attendant_call(apps, core, leg) {
        feed(apps, core, now, wall_ms, ep, key, Event::PlayFinished);
    }
}

/// The attendant's timers that are due (digit and menu timeouts of its calls).
pub(crate) fn handle_timeout(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
) {
    let due: Vec<CallKey> = apps
        .ivr_deadlines
        .iter()
        .take_while(|(deadline, _)| *deadline <= now)
        .map(|(_, key)| *key)
        .filter(|key| {
            core.calls
                .get(*key)
                .is_some_and(|c| c.phase != Phase::Ended)
        })
        .collect();
    for key in due {
        feed(apps, core, now, wall_ms, ep, key, Event::Timeout);
    }
}

/// Starts a page (see [`paging::start`]): answers the caller into the page's room, or
/// reports why no member could be called.
fn page(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    group: &str,
) -> Option<Event> {
    match paging::start(apps, core, now, wall_ms, ep, key, group) {
        Ok(()) => {
            answer(apps, core, now, wall_ms, ep, key);
            paging::join_caller(apps, core, key);
            None
        }
        Err(reason) => Some(Event::BridgeFailed { reason }),
    }
}
