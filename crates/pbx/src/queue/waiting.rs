//! Callers entering and leaving the waiting list: entry (or refusal when the
//! queue is full or nobody can answer), position announcements, leaving
//! unanswered back to the dialplan, and hanging up while waiting.

use super::state::{Duty, Queues, Tracked, Waiter};
use super::view::{QueueOutcome, QueueRecord};
use super::{CallerInfo, QueueCommand, QueueEnv, Settings};
use crate::CallKey;
use dialplan::QueueExit;
use std::time::{Duration, Instant};

impl Queues {
    /// A caller's dialplan put them in `queue` (the caller has been answered). Returns why
    /// they could not be queued, for the dialplan's fallback.
    pub(crate) fn enter(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        queue: &str,
        out: &mut Vec<QueueCommand>,
    ) -> Option<QueueExit> {
        self.enter_at(env, now, wall_ms, key, queue, false, None, out)
    }

    /// A queued caller whose transfer failed comes back at the head of `queue`, hearing
    /// the prompt `lead` (for example `transfer_failed`) first.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn return_to_head(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        queue: &str,
        lead: Option<&str>,
        out: &mut Vec<QueueCommand>,
    ) {
        if let Some(reason) = self.enter_at(env, now, wall_ms, key, queue, true, lead, out) {
            out.push(QueueCommand::Exit { call: key, reason });
        }
    }

    /// Enters `key` into `queue`: at the tail (a VIP behind earlier VIPs), or at the head
    /// (`front`); a caller with a `lead` prompt hears it before anyone is offered a caller.
    #[allow(clippy::too_many_arguments)]
    fn enter_at(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        queue: &str,
        front: bool,
        lead: Option<&str>,
        out: &mut Vec<QueueCommand>,
    ) -> Option<QueueExit> {
        let info = env.caller(key)?;
        let s = env.settings(key, queue);
        let available = self.sync_operators(env, now, wall_ms);
        let full = !front && self.length(queue) >= s.max_length;
        let index = self.insertion_index(info.vip, front);
        let position = index as u32 + 1;
        self.track(key, queue, &info, wall_ms, position);
        let refusal = if !available {
            Some((QueueExit::NoOperator, QueueOutcome::NoOperator))
        } else if full {
            Some((QueueExit::Full, QueueOutcome::Overflow))
        } else {
            None
        };
        if let Some((reason, outcome)) = refusal {
            let t = self.tracked.get_mut(&key).expect("tracked above");
            t.record.outcome = Some(outcome);
            t.record.wait_ms = Some(t.waited_ms);
            tracing::info!(call = key.0, queue, ?outcome, "caller not queued");
            self.emit(key, out);
            return Some(reason);
        }
        self.place(key, queue, info, front, index, &s, now, wall_ms, out);
        if lead.is_some() {
            // A caller coming back first hears why and their place; only then is anyone
            // offered a caller, so the operator does not cut the explanation short.
            let played = self.announce(env, now, key, lead, out);
            if let Some(i) = self.index_of(key) {
                self.waiting[i].not_before = Some(now + played);
            }
            self.dispatch(env, now, wall_ms, out);
            return None;
        }
        self.dispatch(env, now, wall_ms, out);
        // Callers not offered to an operator at once hear their position now and every N seconds.
        let offered = self
            .index_of(key)
            .is_none_or(|i| self.waiting[i].ringing.is_some());
        if !offered {
            self.announce(env, now, key, None, out);
        }
        None
    }

    /// Starts (or, for a caller back in the queue, continues) the record of `key`.
    fn track(&mut self, key: CallKey, queue: &str, info: &CallerInfo, wall_ms: i64, position: u32) {
        let tracked = self.tracked.entry(key).or_insert_with(|| Tracked {
            record: QueueRecord {
                call: key,
                call_id: info.call_id.clone(),
                caller: info.caller.clone(),
                vip: info.vip,
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
    }

    /// Puts an admitted caller into the waiting list at `index`; they hear the music.
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        key: CallKey,
        queue: &str,
        info: CallerInfo,
        front: bool,
        index: usize,
        s: &Settings,
        now: Instant,
        wall_ms: i64,
        out: &mut Vec<QueueCommand>,
    ) {
        let position = index as u32 + 1;
        let tracked = self.tracked.get_mut(&key).expect("tracked before placing");
        tracked.record.outcome = None;
        let first_stay = tracked.waited_ms == 0 && tracked.record.answered_by.is_none();
        if first_stay {
            tracked.record.position_on_entry = position;
            tracked.record.entered_ms = wall_ms;
        }
        let vip = info.vip;
        self.waiting.insert(
            index,
            Waiter {
                key,
                queue: queue.to_string(),
                caller: info.caller,
                name: info.name,
                language: info.language,
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
        self.emit(key, out);
        out.push(QueueCommand::StartMoh {
            call: key,
            class: s.moh.clone(),
        });
    }

    /// Plays "you are caller number N" to a waiting caller and schedules the next
    /// announcement. Returns how long the announcement lasts.
    pub(super) fn announce(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        key: CallKey,
        lead: Option<&str>,
        out: &mut Vec<QueueCommand>,
    ) -> Duration {
        let Some(i) = self.index_of(key) else {
            return Duration::ZERO;
        };
        let position = self.position_in_queue(i);
        let w = &mut self.waiting[i];
        let every = env.settings(key, &w.queue).announce_every;
        w.next_announce = every.map(|d| now + d);
        let mut names: Vec<String> = lead.iter().map(|l| l.to_string()).collect();
        if every.is_some() {
            names.push("you_are_caller_number".to_string());
            names.extend(position.to_string().chars().map(|d| format!("digit_{d}")));
            tracing::debug!(call = key.0, position, language = %w.language, "position announced");
        }
        play(env, key, &names, out)
    }

    /// Takes a waiting caller out of the queue unanswered and hands them back to the dialplan.
    pub(super) fn leave(
        &mut self,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        reason: QueueExit,
        outcome: QueueOutcome,
        out: &mut Vec<QueueCommand>,
    ) {
        let Some(i) = self.index_of(key) else {
            return;
        };
        let waiter = self.waiting.remove(i);
        if let Some(account) = waiter.ringing {
            out.push(QueueCommand::CancelRing { call: key });
            self.set_duty(&account, Duty::Free, None, now, wall_ms);
        }
        tracing::info!(call = key.0, ?outcome, "caller left the queue unanswered");
        if let Some(t) = self.tracked.get_mut(&key) {
            t.waited_ms += wall_ms - waiter.entered_ms;
            t.record.wait_ms = Some(t.waited_ms);
            t.record.outcome = Some(outcome);
        }
        self.emit(key, out);
        out.push(QueueCommand::StopMoh { call: key });
        out.push(QueueCommand::StopPlay { call: key });
        out.push(QueueCommand::Exit { call: key, reason });
    }

    /// Nobody can answer: every waiting caller gets the fallback.
    pub(super) fn empty_queues(&mut self, now: Instant, wall_ms: i64, out: &mut Vec<QueueCommand>) {
        let keys: Vec<CallKey> = self.waiting.iter().map(|w| w.key).collect();
        for key in keys {
            let (reason, outcome) = (QueueExit::NoOperator, QueueOutcome::NoOperator);
            self.leave(now, wall_ms, key, reason, outcome, out);
        }
    }

    /// The call `key` ended (either side hung up, or the PBX ended it).
    pub(crate) fn call_ended(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        out: &mut Vec<QueueCommand>,
    ) {
        if let Some(i) = self.index_of(key) {
            let waiter = self.waiting.remove(i);
            if let Some(account) = waiter.ringing {
                // They were never offered anything else: keep their place in the idle line.
                self.set_duty(&account, Duty::Free, None, now, wall_ms);
            }
            tracing::info!(call = key.0, "caller left the queue (abandoned)");
            if let Some(t) = self.tracked.get_mut(&key) {
                t.waited_ms += wall_ms - waiter.entered_ms;
                t.record.wait_ms = Some(t.waited_ms);
                t.record.outcome = Some(QueueOutcome::Abandoned);
            }
        }
        self.operator_left(env, now, wall_ms, key);
        if let Some(mut t) = self.tracked.remove(&key) {
            t.record.ended_ms = Some(wall_ms);
            out.push(QueueCommand::Record(t.record));
        }
        self.sync_operators(env, now, wall_ms);
        self.dispatch(env, now, wall_ms, out);
    }
}

/// Plays named prompts, in the caller's language, to a queued caller (music resumes after).
/// Returns how long they last.
fn play(
    env: &dyn QueueEnv,
    key: CallKey,
    names: &[String],
    out: &mut Vec<QueueCommand>,
) -> Duration {
    let prompts = env.prompts(key, names);
    if prompts.is_empty() {
        return Duration::ZERO;
    }
    let length = prompts.iter().map(|p| p.duration()).sum();
    out.push(QueueCommand::Play { call: key, prompts });
    length
}
