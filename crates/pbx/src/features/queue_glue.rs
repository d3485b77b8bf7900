//! The one place that knows both the operator queue (`crate::queue`) and the
//! rest of the PBX: it lets the queue read the PBX through [`QueueEnv`] and
//! carries out the [`QueueCommand`]s it gives (ringing operators through
//! `call::bridge`, music and prompts through the media engine, leaving the
//! queue through the caller's dialplan, records as `Output::QueueCall`).
//!
//! Call control calls the queue only through the functions here; they keep
//! the shape the queue's own functions had (`pbx`, time, endpoint, call).
//!
//! While a queue method runs, the queue is taken out of the PBX, so the
//! environment (the rest of the PBX) can be read while the queue changes; the
//! commands are carried out in order once it is back, so anything they set
//! off (a dialplan that re-enters the queue) sees the queue as it is then.

use super::Apps;
use crate::CallKey;
use crate::Output;
use crate::control::{Core, bridge};
use crate::queue::view::{QueueSnapshot, TransferNote, TransferResult};
use crate::queue::{CallerInfo, QueueCommand, QueueEnv, Queues, Settings};
use dialplan::QueueExit;
use media::prompt::Prompt;
use media::{LegId, MediaCommand};
use sip::endpoint::Endpoint;
use sip::message::Uri;
use sip::registrar::Binding;
use std::sync::Arc;
use std::time::Instant;

/// The PBX as the queue sees it.
struct Env<'a> {
    apps: &'a Apps,
    core: &'a Core,
}

impl QueueEnv for Env<'_> {
    fn operator_bindings(&self, wall_ms: i64) -> Vec<&Binding> {
        self.core.bindings(&self.core.position, wall_ms)
    }

    fn can_ring(&self, call: CallKey, phones: &[Binding]) -> bool {
        // What makes `bridge::ring_bindings` fail before anything is sent: the call is gone,
        // or no contact parses as a URI (its `target_of`).
        self.core.calls.get(call).is_some() && phones.iter().any(|b| Uri::parse(&b.contact).is_ok())
    }

    fn caller(&self, call: CallKey) -> Option<CallerInfo> {
        let c = self.core.calls.get(call)?;
        let ivr = self.apps.ivrs.get(&call);
        Some(CallerInfo {
            caller: c.caller.clone(),
            name: c.display.clone(),
            call_id: c.a.invite.headers.call_id().unwrap_or("").to_string(),
            language: ivr
                .map(|i| i.state.language().to_string())
                .unwrap_or_else(|| "en".into()),
            vip: ivr.is_some_and(|i| i.plan.is_vip(&c.caller))
                || self.apps.hotel.guest(&c.caller).is_some_and(|g| g.vip),
        })
    }

    fn settings(&self, call: CallKey, queue: &str) -> Settings {
        self.core
            .calls
            .get(call)
            .and(self.apps.ivrs.get(&call))
            .and_then(|i| i.plan.queue(queue).map(Settings::of))
            .unwrap_or_else(|| Settings::of(&dialplan::Queue::with_defaults(queue)))
    }

    fn prompts(&self, call: CallKey, names: &[String]) -> Vec<Arc<Prompt>> {
        let Some(ivr) = self.core.calls.get(call).and(self.apps.ivrs.get(&call)) else {
            return Vec::new();
        };
        let language = ivr.state.language();
        names
            .iter()
            .filter_map(|n| ivr.prompts.get(ivr.plan.prompt(language, n)))
            .collect()
    }

    fn operator_names(&self) -> Vec<(String, String)> {
        self.apps
            .attendant
            .as_ref()
            .map(|a| {
                a.plan
                    .operators()
                    .accounts
                    .iter()
                    .map(|o| (o.user.clone(), o.name.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Runs `f` on the queue with the PBX as its environment; returns its result and commands.
fn with_queues<R>(
    apps: &mut Apps,
    core: &mut Core,
    f: impl FnOnce(&mut Queues, &dyn QueueEnv, &mut Vec<QueueCommand>) -> R,
) -> (R, Vec<QueueCommand>) {
    let mut queues = std::mem::take(&mut apps.queues);
    let mut out = Vec::new();
    let result = f(&mut queues, &Env { apps, core }, &mut out);
    apps.queues = queues;
    (result, out)
}

/// Runs `f` on the queue and carries out its commands.
fn run<R>(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    f: impl FnOnce(&mut Queues, &dyn QueueEnv, &mut Vec<QueueCommand>) -> R,
) -> R {
    let (result, commands) = with_queues(apps, core, f);
    carry_out(apps, core, now, wall_ms, ep, commands);
    result
}

/// Carries out the queue's commands, in order.
fn carry_out(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    commands: Vec<QueueCommand>,
) {
    for command in commands {
        match command {
            QueueCommand::Ring {
                call,
                operator,
                phones,
                ring_for,
            } => {
                if let Err(reason) = bridge::ring_bindings(core, now, ep, call, phones, ring_for) {
                    tracing::warn!(operator = %operator, ?reason, "operator could not be rung");
                    run(apps, core, now, wall_ms, ep, |q, env, out| {
                        q.ring_not_started(env, now, wall_ms, call, &operator, out)
                    });
                }
            }
            QueueCommand::CancelRing { call } => bridge::cancel_attempt(core, now, ep, call),
            QueueCommand::StartMoh { call, class } => {
                media(core, call, |leg| MediaCommand::StartMoh { leg, class })
            }
            QueueCommand::StopMoh { call } => media(core, call, MediaCommand::StopMoh),
            QueueCommand::StopPlay { call } => media(core, call, MediaCommand::StopPlay),
            QueueCommand::Play { call, prompts } => media(core, call, |leg| MediaCommand::Play {
                leg,
                prompts,
                loop_: false,
            }),
            QueueCommand::Exit { call, reason } => {
                let event = dialplan::Event::QueueExited { reason };
                apps.dialplan_event(core, now, wall_ms, ep, call, event);
            }
            QueueCommand::Record(record) => core
                .outputs
                .push_back(Output::Event(crate::PbxEvent::Queue(record))),
        }
    }
}

/// Sends a media command for the caller's leg of `call`, if the call is still there.
fn media(core: &mut Core, call: CallKey, command: impl FnOnce(LegId) -> MediaCommand) {
    if let Some(leg) = core.calls.get(call).map(|c| c.a_media.leg) {
        core.outputs.push_back(Output::Media(command(leg)));
    }
}

/// A caller's dialplan put them in `queue` (the caller has been answered). Returns why
/// they could not be queued, for the dialplan's fallback.
pub(crate) fn enter(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    queue: &str,
) -> Option<QueueExit> {
    run(apps, core, now, wall_ms, ep, |q, env, out| {
        q.enter(env, now, wall_ms, key, queue, out)
    })
}

/// A queued caller whose transfer failed comes back at the head of `queue`, hearing
/// the prompt `lead` (for example `transfer_failed`) first.
#[allow(clippy::too_many_arguments)]
pub(crate) fn return_to_head(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    queue: &str,
    lead: Option<&str>,
) {
    run(apps, core, now, wall_ms, ep, |q, env, out| {
        q.return_to_head(env, now, wall_ms, key, queue, lead, out)
    })
}

/// The operator being rung for `key` did not take the call (no answer, busy, refused).
pub(crate) fn ring_failed(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    run(apps, core, now, wall_ms, ep, |q, env, out| {
        q.ring_failed(env, now, wall_ms, key, out)
    })
}

/// An operator answered `key`: it leaves the queue and the operator talks.
pub(crate) fn answered(apps: &mut Apps, core: &mut Core, now: Instant, wall_ms: i64, key: CallKey) {
    let record = apps.queues.answered(now, wall_ms, key);
    push_record(core, record);
}

/// A transfer of `key` started: it goes into the record.
pub(crate) fn transfer_started(apps: &mut Apps, core: &mut Core, key: CallKey, note: TransferNote) {
    let record = apps.queues.transfer_started(key, note);
    push_record(core, record);
}

/// The transfer of `key` ended: `connected` or the reason it failed.
pub(crate) fn transfer_result(
    apps: &mut Apps,
    core: &mut Core,
    key: CallKey,
    result: TransferResult,
) {
    let record = apps.queues.transfer_result(key, result);
    push_record(core, record);
}

fn push_record(core: &mut Core, record: Option<crate::QueueRecord>) {
    if let Some(record) = record {
        core.outputs
            .push_back(Output::Event(crate::PbxEvent::Queue(record)));
    }
}

/// The operator's leg of `key` ended while the caller goes on (transferred): the
/// operator's talk time stops and they are free again (after wrap-up).
pub(crate) fn operator_released(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    run(apps, core, now, wall_ms, ep, |q, env, out| {
        q.operator_released(env, now, wall_ms, key, out)
    })
}

/// The operator account talking with the caller of `key`, if an operator answered it.
pub(crate) fn operator_of(apps: &Apps, key: CallKey) -> Option<String> {
    apps.queues.operator_of(key)
}

/// The queue `key` last waited in, if it went through one.
pub(crate) fn queue_of(apps: &Apps, key: CallKey) -> Option<String> {
    apps.queues.queue_of(key)
}

/// The call `key` ended (either side hung up, or the PBX ended it).
pub(crate) fn call_ended(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    run(apps, core, now, wall_ms, ep, |q, env, out| {
        q.call_ended(env, now, wall_ms, key, out)
    })
}

/// Registrations or pauses of operators changed: re-offer, or apply the fallback
/// to every waiting caller when no operator is left.
pub(crate) fn operators_changed(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
) {
    run(apps, core, now, wall_ms, ep, |q, env, out| {
        q.operators_changed(env, now, wall_ms, out)
    })
}

/// Operator registrations running out, wrap-ups ending, announcements due, maximum waits reached.
pub(crate) fn handle_timeout(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
) {
    run(apps, core, now, wall_ms, ep, |q, env, out| {
        q.handle_timeout(env, now, wall_ms, out)
    })
}

/// Pauses or unpauses an operator.
pub(crate) fn set_paused(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    account: &str,
    paused: bool,
) {
    run(apps, core, now, wall_ms, ep, |q, env, out| {
        q.set_paused(env, now, wall_ms, account, paused, out)
    })
}

/// The live view for the admin API.
pub(crate) fn snapshot(apps: &Apps, core: &Core, now: Instant, wall_ms: i64) -> QueueSnapshot {
    apps.queues.snapshot(&Env { apps, core }, now, wall_ms)
}
