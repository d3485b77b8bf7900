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

use crate::call::{CallKey, bridge, ivr};
use crate::queue::view::{QueueSnapshot, TransferNote};
use crate::queue::{CallerInfo, QueueCommand, QueueEnv, Queues, Settings};
use crate::{Output, Pbx};
use dialplan::QueueExit;
use media::prompt::Prompt;
use media::{LegId, MediaCommand};
use sip::endpoint::Endpoint;
use sip::message::Uri;
use sip::registrar::Binding;
use std::sync::Arc;
use std::time::Instant;

/// The PBX as the queue sees it.
struct Env<'a>(&'a Pbx);

impl QueueEnv for Env<'_> {
    fn operator_bindings(&self, wall_ms: i64) -> Vec<&Binding> {
        self.0.bindings(&self.0.operator_position(), wall_ms)
    }

    fn can_ring(&self, call: CallKey, phones: &[Binding]) -> bool {
        // What makes `bridge::ring_bindings` fail before anything is sent: the call is gone,
        // or no contact parses as a URI (its `target_of`).
        self.0.calls.get(call).is_some() && phones.iter().any(|b| Uri::parse(&b.contact).is_ok())
    }

    fn caller(&self, call: CallKey) -> Option<CallerInfo> {
        let c = self.0.calls.get(call)?;
        Some(CallerInfo {
            caller: c.caller.clone(),
            call_id: c.a.invite.headers.call_id().unwrap_or("").to_string(),
            language: c
                .ivr
                .as_ref()
                .map(|i| i.state.language().to_string())
                .unwrap_or_else(|| "en".into()),
            vip: c.ivr.as_ref().is_some_and(|i| i.plan.is_vip(&c.caller)),
        })
    }

    fn settings(&self, call: CallKey, queue: &str) -> Settings {
        self.0
            .calls
            .get(call)
            .and_then(|c| c.ivr.as_ref())
            .and_then(|i| i.plan.queue(queue).map(Settings::of))
            .unwrap_or_else(|| Settings::of(&dialplan::Queue::with_defaults(queue)))
    }

    fn prompts(&self, call: CallKey, names: &[String]) -> Vec<Arc<Prompt>> {
        let Some(ivr) = self.0.calls.get(call).and_then(|c| c.ivr.as_ref()) else {
            return Vec::new();
        };
        let language = ivr.state.language();
        names
            .iter()
            .filter_map(|n| ivr.prompts.get(ivr.plan.prompt(language, n)))
            .collect()
    }

    fn operator_names(&self) -> Vec<(String, String)> {
        self.0
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
    pbx: &mut Pbx,
    f: impl FnOnce(&mut Queues, &dyn QueueEnv, &mut Vec<QueueCommand>) -> R,
) -> (R, Vec<QueueCommand>) {
    let mut queues = std::mem::take(&mut pbx.queues);
    let mut out = Vec::new();
    let result = f(&mut queues, &Env(pbx), &mut out);
    pbx.queues = queues;
    (result, out)
}

/// Runs `f` on the queue and carries out its commands.
fn run<R>(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    f: impl FnOnce(&mut Queues, &dyn QueueEnv, &mut Vec<QueueCommand>) -> R,
) -> R {
    let (result, commands) = with_queues(pbx, f);
    carry_out(pbx, now, wall_ms, ep, commands);
    result
}

/// Carries out the queue's commands, in order.
fn carry_out(
    pbx: &mut Pbx,
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
                if let Err(reason) = bridge::ring_bindings(pbx, now, ep, call, phones, ring_for) {
                    tracing::warn!(operator = %operator, ?reason, "operator could not be rung");
                    run(pbx, now, wall_ms, ep, |q, env, out| {
                        q.ring_not_started(env, now, wall_ms, call, &operator, out)
                    });
                }
            }
            QueueCommand::CancelRing { call } => bridge::cancel_attempt(pbx, now, ep, call),
            QueueCommand::StartMoh { call, class } => {
                media(pbx, call, |leg| MediaCommand::StartMoh { leg, class })
            }
            QueueCommand::StopMoh { call } => media(pbx, call, MediaCommand::StopMoh),
            QueueCommand::StopPlay { call } => media(pbx, call, MediaCommand::StopPlay),
            QueueCommand::Play { call, prompts } => media(pbx, call, |leg| MediaCommand::Play {
                leg,
                prompts,
                loop_: false,
            }),
            QueueCommand::Exit { call, reason } => {
                let event = dialplan::Event::QueueExited { reason };
                ivr::feed(pbx, now, wall_ms, ep, call, event);
            }
            QueueCommand::Record(record) => pbx
                .outputs
                .push_back(Output::Event(crate::PbxEvent::Queue(record))),
        }
    }
}

/// Sends a media command for the caller's leg of `call`, if the call is still there.
fn media(pbx: &mut Pbx, call: CallKey, command: impl FnOnce(LegId) -> MediaCommand) {
    if let Some(leg) = pbx.calls.get(call).map(|c| c.a_media.leg) {
        pbx.outputs.push_back(Output::Media(command(leg)));
    }
}

/// A caller's dialplan put them in `queue` (the caller has been answered). Returns why
/// they could not be queued, for the dialplan's fallback.
pub(crate) fn enter(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    queue: &str,
) -> Option<QueueExit> {
    run(pbx, now, wall_ms, ep, |q, env, out| {
        q.enter(env, now, wall_ms, key, queue, out)
    })
}

/// A queued caller whose transfer failed comes back at the head of `queue`, hearing
/// the prompt `lead` (for example `transfer_failed`) first.
pub(crate) fn return_to_head(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    queue: &str,
    lead: Option<&str>,
) {
    run(pbx, now, wall_ms, ep, |q, env, out| {
        q.return_to_head(env, now, wall_ms, key, queue, lead, out)
    })
}

/// Whether `key` is waiting in a queue (its current bridge attempt, if any, rings an operator).
pub(crate) fn is_waiting(pbx: &Pbx, key: CallKey) -> bool {
    pbx.queues.is_waiting(key)
}

/// The operator being rung for `key` did not take the call (no answer, busy, refused).
pub(crate) fn ring_failed(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    run(pbx, now, wall_ms, ep, |q, env, out| {
        q.ring_failed(env, now, wall_ms, key, out)
    })
}

/// An operator answered `key`: it leaves the queue and the operator talks.
pub(crate) fn answered(pbx: &mut Pbx, now: Instant, wall_ms: i64, key: CallKey) {
    let record = pbx.queues.answered(now, wall_ms, key);
    push_record(pbx, record);
}

/// A transfer of `key` started: it goes into the record.
pub(crate) fn transfer_started(pbx: &mut Pbx, key: CallKey, note: TransferNote) {
    let record = pbx.queues.transfer_started(key, note);
    push_record(pbx, record);
}

/// The transfer of `key` ended: `connected` or the reason it failed.
pub(crate) fn transfer_result(pbx: &mut Pbx, key: CallKey, result: &str) {
    let record = pbx.queues.transfer_result(key, result);
    push_record(pbx, record);
}

fn push_record(pbx: &mut Pbx, record: Option<crate::QueueRecord>) {
    if let Some(record) = record {
        pbx.outputs
            .push_back(Output::Event(crate::PbxEvent::Queue(record)));
    }
}

/// The operator's leg of `key` ended while the caller goes on (transferred): the
/// operator's talk time stops and they are free again (after wrap-up).
pub(crate) fn operator_released(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    run(pbx, now, wall_ms, ep, |q, env, out| {
        q.operator_released(env, now, wall_ms, key, out)
    })
}

/// The operator account talking with the caller of `key`, if an operator answered it.
pub(crate) fn operator_of(pbx: &Pbx, key: CallKey) -> Option<String> {
    pbx.queues.operator_of(key)
}

/// The queue `key` last waited in, if it went through one.
pub(crate) fn queue_of(pbx: &Pbx, key: CallKey) -> Option<String> {
    pbx.queues.queue_of(key)
}

/// The call `key` ended (either side hung up, or the PBX ended it).
pub(crate) fn call_ended(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    run(pbx, now, wall_ms, ep, |q, env, out| {
        q.call_ended(env, now, wall_ms, key, out)
    })
}

/// Registrations or pauses of operators changed: re-offer, or apply the fallback
/// to every waiting caller when no operator is left.
pub(crate) fn operators_changed(pbx: &mut Pbx, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
    run(pbx, now, wall_ms, ep, |q, env, out| {
        q.operators_changed(env, now, wall_ms, out)
    })
}

/// Operator registrations running out, wrap-ups ending, announcements due, maximum waits reached.
pub(crate) fn handle_timeout(pbx: &mut Pbx, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
    run(pbx, now, wall_ms, ep, |q, env, out| {
        q.handle_timeout(env, now, wall_ms, out)
    })
}

/// Pauses or unpauses an operator.
pub(crate) fn set_paused(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    account: &str,
    paused: bool,
) {
    run(pbx, now, wall_ms, ep, |q, env, out| {
        q.set_paused(env, now, wall_ms, account, paused, out)
    })
}

/// Whether an operator account is paused.
pub(crate) fn is_paused(pbx: &Pbx, account: &str) -> bool {
    pbx.queues.is_paused(account)
}

/// The live view for the admin API.
pub(crate) fn snapshot(pbx: &Pbx, now: Instant, wall_ms: i64) -> QueueSnapshot {
    pbx.queues.snapshot(&Env(pbx), now, wall_ms)
}

/// Shutdown: stop offering callers to operators (the calls are being hung up).
pub(crate) fn stop_offering(pbx: &mut Pbx) {
    pbx.queues.stop_offering();
}
