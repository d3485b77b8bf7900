//! The operator queue: callers waiting for a human operator, answered strictly
//! in the order they called (VIPs ahead of ordinary callers, behind earlier
//! VIPs; a caller whose transfer failed comes back at the head).
//!
//! Operators are the accounts registered to the operator position. Each is
//! idle, ringing, talking, in wrap-up or paused; the head caller is offered
//! to the idle operator who has been idle longest, one operator at a time,
//! for the queue's `operator_ring_timeout`, then to the next. While waiting,
//! callers hear the queue's music on hold and, every
//! `announce_position_every`, their position in their own language.
//!
//! This module keeps the queue's state and decides; ringing goes through
//! `call::bridge`, and leaving the queue unanswered goes back to the
//! caller's dialplan as `QueueExited`.

pub mod view;

use crate::call::{self, CallKey};
use crate::{Output, Pbx};
use dialplan::QueueExit;
use media::MediaCommand;
use sip::endpoint::Endpoint;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use view::{
    OperatorActivity, OperatorStatus, QueueOutcome, QueueRecord, QueueSnapshot, TransferNote,
    WaitingCaller,
};

/// One waiting caller.
#[derive(Debug)]
struct Waiter {
    key: CallKey,
    queue: String,
    caller: String,
    language: String,
    vip: bool,
    /// Placed at the head after a failed transfer.
    front: bool,
    entered: Instant,
    entered_ms: i64,
    max_wait_at: Instant,
    next_announce: Option<Instant>,
    /// The operator being rung for this caller.
    ringing: Option<String>,
    /// Not offered to an operator before this (a returned caller hearing why); the callers
    /// behind wait too, so the order holds.
    not_before: Option<Instant>,
}

/// One operator's state (kept while the server runs).
#[derive(Debug)]
struct Operator {
    activity: OperatorActivity,
    since: Instant,
    since_ms: i64,
    /// Since when the operator has been free to take a call: longest idle is offered first.
    idle_since: Instant,
    paused: bool,
    /// The call they ring for or talk on.
    call: Option<CallKey>,
    wrap_until: Option<Instant>,
    /// An operator who turned a ring down before its timeout (busy, declined) is not
    /// offered a caller again until the timeout would have passed.
    rest_until: Option<Instant>,
}

/// A queued call's record and talk-time bookkeeping.
#[derive(Debug)]
struct Tracked {
    record: QueueRecord,
    /// The queue the caller last waited in.
    queue: String,
    /// Time already waited in earlier stays in the queue (ms).
    waited_ms: i64,
    /// When the current talk with an operator started (unix ms).
    talk_from_ms: Option<i64>,
    /// The operator currently talking with the caller.
    operator: Option<String>,
}

/// Every queue's waiting callers, the operators, and the records of queued calls.
#[derive(Debug, Default)]
pub(crate) struct Queues {
    waiting: Vec<Waiter>,
    operators: BTreeMap<String, Operator>,
    tracked: BTreeMap<CallKey, Tracked>,
    /// Set at shutdown: nobody is offered a caller any more.
    stopped: bool,
    /// When the first operator registration runs out (a phone that stops refreshing
    /// logs its operator out then, with no REGISTER to tell us).
    logins_expire: Option<Instant>,
}

/// The queue settings a waiting caller needs.
struct Settings {
    max_wait: Duration,
    max_length: u32,
    announce_every: Option<Duration>,
    moh: String,
    ring_timeout: Duration,
    wrap_up: Duration,
}

/// The settings of `queue` in the plan the call runs (the dialplan's defaults if it has
/// no such queue, which a validated plan does not allow for a queue it names).
fn settings(pbx: &Pbx, key: CallKey, queue: &str) -> Settings {
    let of = |q: &dialplan::Queue| Settings {
        max_wait: q.max_wait,
        max_length: q.max_length,
        announce_every: q.announce_position_every,
        moh: q.music_on_hold.clone(),
        ring_timeout: q.operator_ring_timeout,
        wrap_up: q.wrap_up,
    };
    pbx.calls
        .get(key)
        .and_then(|c| c.ivr.as_ref())
        .and_then(|i| i.plan.queue(queue).map(of))
        .unwrap_or_else(|| of(&dialplan::Queue::with_defaults(queue)))
}

/// The account behind a binding of the operator position.
fn account_of(b: &sip::registrar::Binding) -> String {
    b.user.clone().unwrap_or_else(|| b.contact.clone())
}

/// Accounts with a live binding to the operator position.
fn logged_in(pbx: &Pbx, wall_ms: i64) -> Vec<String> {
    let position = pbx.operator_position();
    let mut v: Vec<String> = pbx
        .bindings(&position, wall_ms)
        .into_iter()
        .map(account_of)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The live contacts of one operator.
pub(crate) fn operator_bindings(
    pbx: &Pbx,
    account: &str,
    wall_ms: i64,
) -> Vec<sip::registrar::Binding> {
    let position = pbx.operator_position();
    pbx.bindings(&position, wall_ms)
        .into_iter()
        .filter(|b| account_of(b) == account)
        .cloned()
        .collect()
}

impl Queues {
    fn position_in_queue(&self, index: usize) -> u32 {
        let queue = &self.waiting[index].queue;
        self.waiting[..=index]
            .iter()
            .filter(|w| &w.queue == queue)
            .count() as u32
    }

    fn length(&self, queue: &str) -> u32 {
        self.waiting.iter().filter(|w| w.queue == queue).count() as u32
    }

    fn index_of(&self, key: CallKey) -> Option<usize> {
        self.waiting.iter().position(|w| w.key == key)
    }

    /// Where a new caller goes: returned callers first, then VIPs in arrival order, then the rest.
    fn insertion_index(&self, vip: bool, front: bool) -> usize {
        if front {
            return self.waiting.iter().take_while(|w| w.front).count();
        }
        if vip {
            return self.waiting.iter().take_while(|w| w.front || w.vip).count();
        }
        self.waiting.len()
    }

    /// The next instant something in the queue is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let waiters = self
            .waiting
            .iter()
            .flat_map(|w| [Some(w.max_wait_at), w.next_announce, w.not_before])
            .flatten();
        let wraps = self
            .operators
            .values()
            .flat_map(|o| [o.wrap_until, o.rest_until])
            .flatten();
        waiters.chain(wraps).chain(self.logins_expire).min()
    }

    fn set_activity(
        &mut self,
        account: &str,
        activity: OperatorActivity,
        call: Option<CallKey>,
        now: Instant,
        wall_ms: i64,
    ) {
        let op = self
            .operators
            .entry(account.to_string())
            .or_insert_with(|| Operator {
                activity,
                since: now,
                since_ms: wall_ms,
                idle_since: now,
                paused: false,
                call: None,
                wrap_until: None,
                rest_until: None,
            });
        if op.activity != activity {
            op.activity = activity;
            op.since = now;
            op.since_ms = wall_ms;
        }
        op.call = call;
        if activity != OperatorActivity::WrapUp {
            op.wrap_until = None;
        }
    }

    /// What an operator whose ring or call ended is now: paused if they paused meanwhile.
    fn free_activity(&self, account: &str) -> OperatorActivity {
        if self.operators.get(account).is_some_and(|o| o.paused) {
            OperatorActivity::Paused
        } else {
            OperatorActivity::Idle
        }
    }

    fn emit(&self, pbx_outputs: &mut std::collections::VecDeque<Output>, key: CallKey) {
        if let Some(t) = self.tracked.get(&key) {
            pbx_outputs.push_back(Output::QueueCall(t.record.clone()));
        }
    }
}

/// Brings the operator table in line with the registrations: new logins are idle,
/// accounts without a binding are logged out. Returns whether anyone is available.
fn sync_operators(pbx: &mut Pbx, now: Instant, wall_ms: i64) -> bool {
    let online = logged_in(pbx, wall_ms);
    let position = pbx.operator_position();
    pbx.queues.logins_expire = pbx
        .bindings(&position, wall_ms)
        .iter()
        .map(|b| b.expires_at_ms)
        .min()
        .map(|at| now + Duration::from_millis((at - wall_ms).max(0) as u64 + 1));
    for account in &online {
        if !pbx.queues.operators.contains_key(account)
            || pbx.queues.operators[account].activity == OperatorActivity::LoggedOut
        {
            let activity = pbx.queues.free_activity(account);
            pbx.queues
                .set_activity(account, activity, None, now, wall_ms);
            if let Some(op) = pbx.queues.operators.get_mut(account) {
                op.idle_since = now;
                op.rest_until = None;
            }
        }
    }
    let gone: Vec<String> = pbx
        .queues
        .operators
        .iter()
        .filter(|(a, o)| o.activity != OperatorActivity::LoggedOut && !online.contains(a))
        .filter(|(_, o)| !matches!(o.activity, OperatorActivity::Talking))
        .map(|(a, _)| a.clone())
        .collect();
    for account in gone {
        pbx.queues
            .set_activity(&account, OperatorActivity::LoggedOut, None, now, wall_ms);
        // Logging out ends a pause, however it happens (unregister, expiry, `*47`), as the
        // shift log's `logout` says: the next login starts available.
        if let Some(op) = pbx.queues.operators.get_mut(&account) {
            op.paused = false;
        }
    }
    pbx.queues
        .operators
        .iter()
        .any(|(a, o)| online.contains(a) && !o.paused)
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
    enter_at(pbx, now, wall_ms, ep, key, queue, false, None)
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
    if let Some(reason) = enter_at(pbx, now, wall_ms, ep, key, queue, true, lead) {
        exit_to_dialplan(pbx, now, wall_ms, ep, key, reason);
    }
}

#[allow(clippy::too_many_arguments)]
fn enter_at(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    queue: &str,
    front: bool,
    lead: Option<&str>,
) -> Option<QueueExit> {
    let call = pbx.calls.get(key)?;
    let caller = call.caller.clone();
    let call_id = call.a.invite.headers.call_id().unwrap_or("").to_string();
    let language = call
        .ivr
        .as_ref()
        .map(|i| i.state.language().to_string())
        .unwrap_or_else(|| "en".into());
    let vip = call.ivr.as_ref().is_some_and(|i| i.plan.is_vip(&caller));
    let s = settings(pbx, key, queue);
    let available = sync_operators(pbx, now, wall_ms);
    let full = !front && pbx.queues.length(queue) >= s.max_length;
    let exit = if !available {
        Some((QueueExit::NoOperator, QueueOutcome::NoOperator))
    } else if full {
        Some((QueueExit::Full, QueueOutcome::Overflow))
    } else {
        None
    };
    let index = pbx.queues.insertion_index(vip, front);
    let position = index as u32 + 1;
    let tracked = pbx.queues.tracked.entry(key).or_insert_with(|| Tracked {
        record: QueueRecord {
            call: key,
            call_id,
            caller: caller.clone(),
            vip,
            entered_ms: wall_ms,
            position_on_entry: position,
            wait_ms: None,
            answered_by: None,
            answered_ms: None,
            talk_ms: None,
            transfers: Vec::new(),
            outcome: None,
            ended_ms: None,
        },
        queue: queue.to_string(),
        waited_ms: 0,
        talk_from_ms: None,
        operator: None,
    });
    tracked.queue = queue.to_string();
    if let Some((reason, outcome)) = exit {
        tracked.record.outcome = Some(outcome);
        tracked.record.wait_ms = Some(tracked.waited_ms);
        tracing::info!(call = key.0, queue, ?outcome, "caller not queued");
        pbx.queues.emit(&mut pbx.outputs, key);
        return Some(reason);
    }
    tracked.record.outcome = None;
    let first_stay = tracked.waited_ms == 0 && tracked.record.answered_by.is_none();
    if first_stay {
        tracked.record.position_on_entry = position;
        tracked.record.entered_ms = wall_ms;
    }
    pbx.queues.waiting.insert(
        index,
        Waiter {
            key,
            queue: queue.to_string(),
            caller,
            language,
            vip,
            front,
            entered: now,
            entered_ms: wall_ms,
            max_wait_at: now + s.max_wait,
            // Also for a caller offered at once: if that offer fails they wait and hear it.
            next_announce: s.announce_every.map(|d| now + d),
            ringing: None,
            not_before: None,
        },
    );
    tracing::info!(call = key.0, queue, position, vip, front, "caller queued");
    pbx.queues.emit(&mut pbx.outputs, key);
    let leg = pbx.calls.get(key).map(|c| c.a_media.leg);
    if let Some(leg) = leg {
        pbx.outputs.push_back(Output::Media(MediaCommand::StartMoh {
            leg,
            class: s.moh.clone(),
        }));
    }
    if lead.is_some() {
        // A caller coming back first hears why and their place; only then is anyone offered
        // a caller, so the operator does not cut the explanation short.
        let played = announce(pbx, now, key, lead);
        if let Some(i) = pbx.queues.index_of(key) {
            pbx.queues.waiting[i].not_before = Some(now + played);
        }
        dispatch(pbx, now, wall_ms, ep);
        return None;
    }
    dispatch(pbx, now, wall_ms, ep);
    // Callers not offered to an operator at once hear their position now and every N seconds.
    let offered = pbx
        .queues
        .index_of(key)
        .is_none_or(|i| pbx.queues.waiting[i].ringing.is_some());
    if !offered {
        announce(pbx, now, key, None);
    }
    None
}

/// Plays "you are caller number N" to a waiting caller and schedules the next announcement.
/// Returns how long the announcement lasts.
fn announce(pbx: &mut Pbx, now: Instant, key: CallKey, lead: Option<&str>) -> Duration {
    let Some(i) = pbx.queues.index_of(key) else {
        return Duration::ZERO;
    };
    let position = pbx.queues.position_in_queue(i);
    let queue = pbx.queues.waiting[i].queue.clone();
    let language = pbx.queues.waiting[i].language.clone();
    let every = settings(pbx, key, &queue).announce_every;
    pbx.queues.waiting[i].next_announce = every.map(|d| now + d);
    let mut names: Vec<String> = lead.iter().map(|l| l.to_string()).collect();
    if every.is_some() {
        names.push("you_are_caller_number".to_string());
        names.extend(position.to_string().chars().map(|d| format!("digit_{d}")));
        tracing::debug!(call = key.0, position, %language, "position announced");
    }
    play(pbx, key, &names)
}

/// Plays named prompts, in the caller's language, to a queued caller (music resumes after).
/// Returns how long they last.
fn play(pbx: &mut Pbx, key: CallKey, names: &[String]) -> Duration {
    let Some(call) = pbx.calls.get(key) else {
        return Duration::ZERO;
    };
    let Some(ivr) = call.ivr.as_ref() else {
        return Duration::ZERO;
    };
    let language = ivr.state.language().to_string();
    let prompts: Vec<_> = names
        .iter()
        .filter_map(|n| ivr.prompts.get(ivr.plan.prompt(&language, n)))
        .collect();
    if prompts.is_empty() {
        return Duration::ZERO;
    }
    let length = prompts.iter().map(|p| p.duration()).sum();
    pbx.outputs.push_back(Output::Media(MediaCommand::Play {
        leg: call.a_media.leg,
        prompts,
        loop_: false,
    }));
    length
}

/// Offers waiting callers, in order, to free operators, longest idle first.
pub(crate) fn dispatch(pbx: &mut Pbx, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
    if pbx.queues.stopped {
        return;
    }
    // Each pass either rings one operator or stops; a failed ring sends its operator to the
    // back, so the number of passes is bounded by callers × operators.
    let bound = (pbx.queues.waiting.len() + 1) * (pbx.queues.operators.len() + 1);
    for _ in 0..bound {
        let online = logged_in(pbx, wall_ms);
        let Some(i) = pbx.queues.waiting.iter().position(|w| w.ringing.is_none()) else {
            return;
        };
        if pbx.queues.waiting[i].not_before.is_some_and(|t| t > now) {
            return;
        }
        let free = pbx
            .queues
            .operators
            .iter()
            .filter(|(a, o)| {
                o.activity == OperatorActivity::Idle
                    && !o.paused
                    && o.rest_until.is_none_or(|t| t <= now)
                    && online.contains(a)
            })
            .min_by_key(|(a, o)| (o.idle_since, (*a).clone()))
            .map(|(a, _)| a.clone());
        let Some(account) = free else {
            return;
        };
        let key = pbx.queues.waiting[i].key;
        let queue = pbx.queues.waiting[i].queue.clone();
        let s = settings(pbx, key, &queue);
        let bindings = operator_bindings(pbx, &account, wall_ms);
        match call::bridge::ring_bindings(pbx, now, ep, key, bindings, s.ring_timeout) {
            Ok(()) => {
                tracing::info!(call = key.0, operator = %account, "offering caller to operator");
                pbx.queues.waiting[i].ringing = Some(account.clone());
                pbx.queues.set_activity(
                    &account,
                    OperatorActivity::Ringing,
                    Some(key),
                    now,
                    wall_ms,
                );
            }
            Err(reason) => {
                tracing::warn!(operator = %account, ?reason, "operator could not be rung");
                if let Some(op) = pbx.queues.operators.get_mut(&account) {
                    op.idle_since = now;
                }
            }
        }
    }
}

/// Whether `key` is waiting in a queue (its current bridge attempt, if any, rings an operator).
pub(crate) fn is_waiting(pbx: &Pbx, key: CallKey) -> bool {
    pbx.queues.index_of(key).is_some()
}

/// The operator being rung for `key` did not take the call (no answer, busy, refused).
pub(crate) fn ring_failed(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    let Some(i) = pbx.queues.index_of(key) else {
        return;
    };
    let queue = pbx.queues.waiting[i].queue.clone();
    if let Some(account) = pbx.queues.waiting[i].ringing.take() {
        tracing::info!(call = key.0, operator = %account, "operator did not take the call");
        // Turned down before the ring timeout: without a rest they would be offered
        // again at once, a loop of INVITEs to a phone that declines every one.
        let ring_for = settings(pbx, key, &queue).ring_timeout;
        let rest_until = pbx
            .queues
            .operators
            .get(&account)
            .filter(|o| o.activity == OperatorActivity::Ringing)
            .map(|o| o.since + ring_for)
            .filter(|t| *t > now);
        let free = pbx.queues.free_activity(&account);
        pbx.queues.set_activity(&account, free, None, now, wall_ms);
        if let Some(op) = pbx.queues.operators.get_mut(&account) {
            // To the back of the idle line, so the next operator is tried.
            op.idle_since = now;
            op.rest_until = rest_until;
        }
    }
    // The caller keeps hearing music while the next operator is tried.
    let moh = settings(pbx, key, &queue).moh;
    if let Some(leg) = pbx.calls.get(key).map(|c| c.a_media.leg) {
        pbx.outputs
            .push_back(Output::Media(MediaCommand::StartMoh { leg, class: moh }));
    }
    if sync_operators(pbx, now, wall_ms) {
        dispatch(pbx, now, wall_ms, ep);
    } else {
        empty_queues(pbx, now, wall_ms, ep);
    }
}

/// An operator answered `key`: it leaves the queue and the operator talks.
pub(crate) fn answered(pbx: &mut Pbx, now: Instant, wall_ms: i64, key: CallKey) {
    let Some(i) = pbx.queues.index_of(key) else {
        return;
    };
    let waiter = pbx.queues.waiting.remove(i);
    let account = waiter.ringing.clone().unwrap_or_default();
    let waited = wall_ms - waiter.entered_ms;
    tracing::info!(call = key.0, operator = %account, waited_ms = waited, "operator answered");
    pbx.queues
        .set_activity(&account, OperatorActivity::Talking, Some(key), now, wall_ms);
    if let Some(t) = pbx.queues.tracked.get_mut(&key) {
        t.waited_ms += waited;
        t.record.wait_ms = Some(t.waited_ms);
        t.record.answered_by.get_or_insert(account.clone());
        t.record.answered_ms.get_or_insert(wall_ms);
        t.record.outcome = Some(QueueOutcome::Answered);
        t.talk_from_ms = Some(wall_ms);
        t.operator = Some(account);
    }
    pbx.queues.emit(&mut pbx.outputs, key);
}

/// The operator of `key` left the call (they hung up, or transferred the caller).
fn operator_left(pbx: &mut Pbx, now: Instant, wall_ms: i64, key: CallKey) {
    let Some(t) = pbx.queues.tracked.get_mut(&key) else {
        return;
    };
    let Some(account) = t.operator.take() else {
        return;
    };
    if let Some(from) = t.talk_from_ms.take() {
        *t.record.talk_ms.get_or_insert(0) += wall_ms - from;
    }
    let queue = t.queue.clone();
    let wrap = settings(pbx, key, &queue).wrap_up;
    let Some(op) = pbx.queues.operators.get(&account) else {
        return;
    };
    if op.call != Some(key) {
        return;
    }
    let paused = op.paused;
    if paused {
        pbx.queues
            .set_activity(&account, OperatorActivity::Paused, None, now, wall_ms);
    } else if wrap.is_zero() {
        pbx.queues
            .set_activity(&account, OperatorActivity::Idle, None, now, wall_ms);
    } else {
        pbx.queues
            .set_activity(&account, OperatorActivity::WrapUp, None, now, wall_ms);
    }
    if let Some(op) = pbx.queues.operators.get_mut(&account) {
        op.idle_since = now + wrap;
        if !wrap.is_zero() && !paused {
            op.wrap_until = Some(now + wrap);
        }
    }
}

/// A transfer of `key` started: it goes into the record.
pub(crate) fn transfer_started(pbx: &mut Pbx, key: CallKey, note: TransferNote) {
    if let Some(t) = pbx.queues.tracked.get_mut(&key) {
        t.record.transfers.push(note);
    }
    pbx.queues.emit(&mut pbx.outputs, key);
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
    operator_left(pbx, now, wall_ms, key);
    pbx.queues.emit(&mut pbx.outputs, key);
    dispatch(pbx, now, wall_ms, ep);
}

/// The operator account talking with the caller of `key`, if an operator answered it.
pub(crate) fn operator_of(pbx: &Pbx, key: CallKey) -> Option<String> {
    pbx.queues
        .tracked
        .get(&key)
        .and_then(|t| t.operator.clone())
}

/// The queue `key` last waited in, if it went through one.
pub(crate) fn queue_of(pbx: &Pbx, key: CallKey) -> Option<String> {
    pbx.queues.tracked.get(&key).map(|t| t.queue.clone())
}

/// The transfer of `key` ended: `connected` or the reason it failed.
pub(crate) fn transfer_result(pbx: &mut Pbx, key: CallKey, result: &str) {
    if let Some(t) = pbx.queues.tracked.get_mut(&key)
        && let Some(last) = t.record.transfers.last_mut()
    {
        last.result = Some(result.to_string());
    }
    pbx.queues.emit(&mut pbx.outputs, key);
}

/// The call `key` ended (either side hung up, or the PBX ended it).
pub(crate) fn call_ended(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
) {
    if let Some(i) = pbx.queues.index_of(key) {
        let waiter = pbx.queues.waiting.remove(i);
        if let Some(account) = waiter.ringing {
            // They were never offered anything else: keep their place in the idle line.
            let free = pbx.queues.free_activity(&account);
            pbx.queues.set_activity(&account, free, None, now, wall_ms);
        }
        tracing::info!(call = key.0, "caller left the queue (abandoned)");
        if let Some(t) = pbx.queues.tracked.get_mut(&key) {
            t.waited_ms += wall_ms - waiter.entered_ms;
            t.record.wait_ms = Some(t.waited_ms);
            t.record.outcome = Some(QueueOutcome::Abandoned);
        }
    }
    operator_left(pbx, now, wall_ms, key);
    if let Some(mut t) = pbx.queues.tracked.remove(&key) {
        t.record.ended_ms = Some(wall_ms);
        pbx.outputs.push_back(Output::QueueCall(t.record));
    }
    sync_operators(pbx, now, wall_ms);
    dispatch(pbx, now, wall_ms, ep);
}

/// Registrations or pauses of operators changed: re-offer, or apply the fallback
/// to every waiting caller when no operator is left.
pub(crate) fn operators_changed(pbx: &mut Pbx, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
    // An operator who logged out while being rung stops being rung.
    let online = logged_in(pbx, wall_ms);
    let stale: Vec<CallKey> = pbx
        .queues
        .waiting
        .iter()
        .filter(|w| w.ringing.as_ref().is_some_and(|a| !online.contains(a)))
        .map(|w| w.key)
        .collect();
    for key in stale {
        call::bridge::cancel_attempt(pbx, now, ep, key);
        ring_failed(pbx, now, wall_ms, ep, key);
    }
    if sync_operators(pbx, now, wall_ms) {
        dispatch(pbx, now, wall_ms, ep);
    } else {
        empty_queues(pbx, now, wall_ms, ep);
    }
}

/// Nobody can answer: every waiting caller gets the fallback.
fn empty_queues(pbx: &mut Pbx, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
    let keys: Vec<CallKey> = pbx.queues.waiting.iter().map(|w| w.key).collect();
    for key in keys {
        leave(
            pbx,
            now,
            wall_ms,
            ep,
            key,
            QueueExit::NoOperator,
            QueueOutcome::NoOperator,
        );
    }
}

/// Takes a waiting caller out of the queue unanswered and hands them back to the dialplan.
fn leave(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    reason: QueueExit,
    outcome: QueueOutcome,
) {
    let Some(i) = pbx.queues.index_of(key) else {
        return;
    };
    let waiter = pbx.queues.waiting.remove(i);
    if let Some(account) = waiter.ringing {
        call::bridge::cancel_attempt(pbx, now, ep, key);
        let free = pbx.queues.free_activity(&account);
        pbx.queues.set_activity(&account, free, None, now, wall_ms);
    }
    tracing::info!(call = key.0, ?outcome, "caller left the queue unanswered");
    if let Some(t) = pbx.queues.tracked.get_mut(&key) {
        t.waited_ms += wall_ms - waiter.entered_ms;
        t.record.wait_ms = Some(t.waited_ms);
        t.record.outcome = Some(outcome);
    }
    pbx.queues.emit(&mut pbx.outputs, key);
    if let Some(c) = pbx.calls.get(key) {
        let leg = c.a_media.leg;
        pbx.outputs
            .push_back(Output::Media(MediaCommand::StopMoh(leg)));
        pbx.outputs
            .push_back(Output::Media(MediaCommand::StopPlay(leg)));
    }
    exit_to_dialplan(pbx, now, wall_ms, ep, key, reason);
}

/// Hands a caller who left the queue unanswered back to their dialplan (`fallback` or
/// `after_max_wait`).
fn exit_to_dialplan(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    reason: QueueExit,
) {
    call::ivr::feed(
        pbx,
        now,
        wall_ms,
        ep,
        key,
        dialplan::Event::QueueExited { reason },
    );
}

/// Operator registrations running out, wrap-ups ending, announcements due, maximum waits reached.
pub(crate) fn handle_timeout(pbx: &mut Pbx, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
    if pbx.queues.logins_expire.is_some_and(|t| t <= now) {
        pbx.queues.logins_expire = None;
        operators_changed(pbx, now, wall_ms, ep);
    }
    let mut freed = false;
    for w in pbx.queues.waiting.iter_mut() {
        if w.not_before.is_some_and(|t| t <= now) {
            w.not_before = None;
            freed = true;
        }
    }
    for op in pbx.queues.operators.values_mut() {
        if op.rest_until.is_some_and(|t| t <= now) {
            op.rest_until = None;
            freed = true;
        }
        if op.wrap_until.is_some_and(|t| t <= now) {
            op.wrap_until = None;
            op.activity = OperatorActivity::Idle;
            op.since = now;
            op.since_ms = wall_ms;
            freed = true;
        }
    }
    let expired: Vec<CallKey> = pbx
        .queues
        .waiting
        .iter()
        .filter(|w| w.max_wait_at <= now)
        .map(|w| w.key)
        .collect();
    for key in expired {
        leave(
            pbx,
            now,
            wall_ms,
            ep,
            key,
            QueueExit::MaxWait,
            QueueOutcome::MaxWait,
        );
    }
    let due: Vec<CallKey> = pbx
        .queues
        .waiting
        .iter()
        .filter(|w| w.ringing.is_none() && w.next_announce.is_some_and(|t| t <= now))
        .map(|w| w.key)
        .collect();
    for key in due {
        announce(pbx, now, key, None);
    }
    // A caller being rung for skips this announcement, not the later ones.
    let every: Vec<(usize, Option<Duration>)> = pbx
        .queues
        .waiting
        .iter()
        .enumerate()
        .filter(|(_, w)| w.ringing.is_some() && w.next_announce.is_some_and(|t| t <= now))
        .map(|(i, w)| (i, settings(pbx, w.key, &w.queue).announce_every))
        .collect();
    for (i, d) in every {
        pbx.queues.waiting[i].next_announce = d.map(|d| now + d);
    }
    if freed {
        dispatch(pbx, now, wall_ms, ep);
    }
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
    sync_operators(pbx, now, wall_ms);
    let online = logged_in(pbx, wall_ms).iter().any(|a| a == account);
    let op = pbx
        .queues
        .operators
        .entry(account.to_string())
        .or_insert_with(|| Operator {
            activity: OperatorActivity::LoggedOut,
            since: now,
            since_ms: wall_ms,
            idle_since: now,
            paused,
            call: None,
            wrap_until: None,
            rest_until: None,
        });
    op.paused = paused;
    let busy = matches!(
        op.activity,
        OperatorActivity::Talking | OperatorActivity::Ringing
    );
    if online && !busy {
        let activity = pbx.queues.free_activity(account);
        pbx.queues
            .set_activity(account, activity, None, now, wall_ms);
        if !paused && let Some(op) = pbx.queues.operators.get_mut(account) {
            op.idle_since = now;
        }
    }
    operators_changed(pbx, now, wall_ms, ep);
}

/// Whether an operator account is paused.
pub(crate) fn is_paused(pbx: &Pbx, account: &str) -> bool {
    pbx.queues.operators.get(account).is_some_and(|o| o.paused)
}

/// The live view for the admin API.
pub(crate) fn snapshot(pbx: &Pbx, now: Instant, wall_ms: i64) -> QueueSnapshot {
    let mut waiting = Vec::new();
    for (i, w) in pbx.queues.waiting.iter().enumerate() {
        waiting.push(WaitingCaller {
            queue: w.queue.clone(),
            position: pbx.queues.position_in_queue(i),
            call: w.key,
            caller: w.caller.clone(),
            language: w.language.clone(),
            vip: w.vip,
            entered_ms: w.entered_ms,
            wait_ms: now.saturating_duration_since(w.entered).as_millis() as i64,
            ringing: w.ringing.clone(),
        });
    }
    waiting.sort_by(|a, b| a.queue.cmp(&b.queue).then(a.position.cmp(&b.position)));
    let online = logged_in(pbx, wall_ms);
    let names: Vec<(String, String)> = pbx
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
        .unwrap_or_default();
    let mut accounts: Vec<String> = names.iter().map(|(u, _)| u.clone()).collect();
    for a in pbx.queues.operators.keys().chain(online.iter()) {
        if !accounts.contains(a) {
            accounts.push(a.clone());
        }
    }
    let operators = accounts
        .into_iter()
        .map(|account| {
            let name = names
                .iter()
                .find(|(u, _)| *u == account)
                .map_or_else(|| account.clone(), |(_, n)| n.clone());
            let contacts = operator_bindings(pbx, &account, wall_ms)
                .into_iter()
                .map(|b| b.contact)
                .collect();
            let op = pbx.queues.operators.get(&account);
            let mut activity = op.map_or(OperatorActivity::LoggedOut, |o| o.activity);
            if !online.contains(&account) && activity != OperatorActivity::Talking {
                activity = OperatorActivity::LoggedOut;
            } else if activity == OperatorActivity::LoggedOut {
                activity = OperatorActivity::Idle;
            }
            let caller = op
                .and_then(|o| o.call)
                .and_then(|k| pbx.calls.get(k))
                .map(|c| c.caller.clone());
            OperatorStatus {
                account,
                name,
                activity,
                since_ms: op.map_or(wall_ms, |o| o.since_ms),
                contacts,
                caller,
            }
        })
        .collect();
    QueueSnapshot { waiting, operators }
}

/// Shutdown: stop offering callers to operators (the calls are being hung up).
pub(crate) fn stop_offering(pbx: &mut Pbx) {
    pbx.queues.stopped = true;
}
