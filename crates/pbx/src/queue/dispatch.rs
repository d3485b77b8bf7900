//! Offering waiting callers to operators: the head caller goes to the free
//! operator idle longest; a ring that fails sends that operator to the back
//! of the idle line and the next one is tried. Also what follows an offer:
//! the answer, the operator leaving the call, and transfers in the record.

use super::operators::{logged_in, operator_phones};
use super::state::{Duty, Queues};
use super::view::{QueueOutcome, QueueRecord, TransferNote, TransferResult};
use super::{QueueCommand, QueueEnv};
use crate::CallKey;
use std::time::Instant;

impl Queues {
    /// Offers waiting callers, in order, to free operators, longest idle first.
    pub(crate) fn dispatch(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        out: &mut Vec<QueueCommand>,
    ) {
        if self.stopped {
            return;
        }
        // Each pass either rings one operator or stops; a failed ring sends its operator to the
        // back, so the number of passes is bounded by callers × operators.
        let bound = (self.waiting.len() + 1) * (self.operators.len() + 1);
        for _ in 0..bound {
            let online = logged_in(env, wall_ms);
            let Some(i) = self.waiting.iter().position(|w| w.ringing.is_none()) else {
                return;
            };
            if self.waiting[i].not_before.is_some_and(|t| t > now) {
                return;
            }
            let free = self
                .operators
                .iter()
                .filter(|(a, o)| {
                    o.duty == Duty::Free
                        && !o.paused
                        && o.rest_until.is_none_or(|t| t <= now)
                        && online.contains(a)
                })
                .min_by_key(|(a, o)| (o.idle_since, (*a).clone()))
                .map(|(a, _)| a.clone());
            let Some(account) = free else {
                return;
            };
            let key = self.waiting[i].key;
            let ring_for = env.settings(key, &self.waiting[i].queue).ring_timeout;
            let phones = operator_phones(env, &account, wall_ms);
            if env.can_ring(key, &phones) {
                tracing::info!(call = key.0, operator = %account, "offering caller to operator");
                self.waiting[i].ringing = Some(account.clone());
                self.set_duty(&account, Duty::Ringing, Some(key), now, wall_ms);
                out.push(QueueCommand::Ring {
                    call: key,
                    operator: account,
                    phones,
                    ring_for,
                });
            } else {
                tracing::warn!(operator = %account, "operator could not be rung");
                if let Some(op) = self.operators.get_mut(&account) {
                    op.idle_since = now;
                }
            }
        }
    }

    /// The operator being rung for `key` did not take the call (no answer, busy, refused).
    pub(crate) fn ring_failed(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        out: &mut Vec<QueueCommand>,
    ) {
        let Some(i) = self.index_of(key) else {
            return;
        };
        let s = env.settings(key, &self.waiting[i].queue);
        if let Some(account) = self.waiting[i].ringing.take() {
            tracing::info!(call = key.0, operator = %account, "operator did not take the call");
            // Turned down before the ring timeout: without a rest they would be offered
            // again at once, a loop of INVITEs to a phone that declines every one.
            let rest_until = self
                .operators
                .get(&account)
                .filter(|o| o.duty == Duty::Ringing)
                .map(|o| o.since + s.ring_timeout)
                .filter(|t| *t > now);
            self.set_duty(&account, Duty::Free, None, now, wall_ms);
            if let Some(op) = self.operators.get_mut(&account) {
                // To the back of the idle line, so the next operator is tried.
                op.idle_since = now;
                op.rest_until = rest_until;
            }
        }
        // The caller keeps hearing music while the next operator is tried.
        out.push(QueueCommand::StartMoh {
            call: key,
            class: s.moh,
        });
        self.offer_or_empty(env, now, wall_ms, out);
    }

    /// A [`QueueCommand::Ring`] could not start after all (the env said it could). The
    /// operator is treated like one who turned the ring down at once: they rest for the
    /// ring timeout and the next operator is tried.
    pub(crate) fn ring_not_started(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        operator: &str,
        out: &mut Vec<QueueCommand>,
    ) {
        if !self.is_ringing(key, operator) {
            return;
        }
        let i = self.index_of(key).expect("ringing, so waiting");
        self.waiting[i].ringing = None;
        let ring_for = env.settings(key, &self.waiting[i].queue).ring_timeout;
        self.set_duty(operator, Duty::Free, None, now, wall_ms);
        if let Some(op) = self.operators.get_mut(operator) {
            op.idle_since = now;
            op.rest_until = Some(now + ring_for);
        }
        self.dispatch(env, now, wall_ms, out);
    }

    /// An operator answered `key`: it leaves the queue and the operator talks. Returns
    /// the caller's changed record.
    pub(crate) fn answered(
        &mut self,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
    ) -> Option<QueueRecord> {
        let i = self.index_of(key)?;
        let waiter = self.waiting.remove(i);
        let account = waiter.ringing.clone().unwrap_or_default();
        let waited = wall_ms - waiter.entered_ms;
        tracing::info!(call = key.0, operator = %account, waited_ms = waited, "operator answered");
        self.set_duty(&account, Duty::Talking, Some(key), now, wall_ms);
        if let Some(t) = self.tracked.get_mut(&key) {
            t.waited_ms += waited;
            t.record.wait_ms = Some(t.waited_ms);
            t.record.answered_by.get_or_insert(account.clone());
            t.record.answered_ms.get_or_insert(wall_ms);
            t.record.outcome = Some(QueueOutcome::Answered);
            t.talk_from_ms = Some(wall_ms);
            t.operator = Some(account);
        }
        self.record(key)
    }

    /// The operator of `key` left the call (they hung up, or transferred the caller):
    /// they rest in wrap-up, or are free at once (paused, if they paused meanwhile).
    pub(super) fn operator_left(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
    ) {
        let Some(t) = self.tracked.get_mut(&key) else {
            return;
        };
        let Some(account) = t.operator.take() else {
            return;
        };
        if let Some(from) = t.talk_from_ms.take() {
            *t.record.talk_ms.get_or_insert(0) += wall_ms - from;
        }
        let wrap = env.settings(key, &t.queue).wrap_up;
        let Some(op) = self.operators.get(&account) else {
            return;
        };
        if op.call != Some(key) {
            return;
        }
        let paused = op.paused;
        let duty = if paused || wrap.is_zero() {
            Duty::Free
        } else {
            Duty::WrapUp
        };
        self.set_duty(&account, duty, None, now, wall_ms);
        if let Some(op) = self.operators.get_mut(&account) {
            op.idle_since = now + wrap;
            if duty == Duty::WrapUp {
                op.wrap_until = Some(now + wrap);
            }
        }
    }

    /// The operator's leg of `key` ended while the caller goes on (transferred): the
    /// operator's talk time stops and they are free again (after wrap-up).
    pub(crate) fn operator_released(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        key: CallKey,
        out: &mut Vec<QueueCommand>,
    ) {
        self.operator_left(env, now, wall_ms, key);
        self.emit(key, out);
        self.dispatch(env, now, wall_ms, out);
    }

    /// A transfer of `key` started: it goes into the record, which is returned.
    pub(crate) fn transfer_started(
        &mut self,
        key: CallKey,
        note: TransferNote,
    ) -> Option<QueueRecord> {
        if let Some(t) = self.tracked.get_mut(&key) {
            t.record.transfers.push(note);
        }
        self.record(key)
    }

    /// The transfer of `key` ended: `connected` or the reason it failed. Returns the record.
    pub(crate) fn transfer_result(
        &mut self,
        key: CallKey,
        result: TransferResult,
    ) -> Option<QueueRecord> {
        if let Some(t) = self.tracked.get_mut(&key)
            && let Some(last) = t.record.transfers.last_mut()
        {
            last.result = Some(result);
        }
        self.record(key)
    }
}
