//! Operators logging in and out (their registrations to the operator
//! position) and pausing: the operator table follows the registrations, and
//! when nobody is left to answer, every waiting caller gets the fallback.

use super::state::{Duty, Operator, Queues};
use super::{QueueCommand, QueueEnv};
use sip::registrar::Binding;
use std::time::{Duration, Instant};

/// The account behind a binding of the operator position.
fn account_of(b: &Binding) -> String {
    b.user.clone().unwrap_or_else(|| b.contact.clone())
}

/// Accounts with a live binding to the operator position, sorted, each once.
pub(super) fn logged_in(env: &dyn QueueEnv, wall_ms: i64) -> Vec<String> {
    let mut v: Vec<String> = env
        .operator_bindings(wall_ms)
        .into_iter()
        .map(account_of)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The live contacts of one operator.
pub(super) fn operator_phones(env: &dyn QueueEnv, account: &str, wall_ms: i64) -> Vec<Binding> {
    env.operator_bindings(wall_ms)
        .into_iter()
        .filter(|b| account_of(b) == account)
        .cloned()
        .collect()
}

impl Queues {
    /// Brings the operator table in line with the registrations: new logins are free,
    /// accounts without a binding are logged out. Returns whether anyone is available.
    pub(super) fn sync_operators(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
    ) -> bool {
        let online = logged_in(env, wall_ms);
        self.logins_expire = env
            .operator_bindings(wall_ms)
            .iter()
            .map(|b| b.expires_at_ms)
            .min()
            .map(|at| now + Duration::from_millis((at - wall_ms).max(0) as u64 + 1));
        for account in &online {
            if self
                .operators
                .get(account)
                .is_none_or(|o| o.duty == Duty::LoggedOut)
            {
                self.set_duty(account, Duty::Free, None, now, wall_ms);
                if let Some(op) = self.operators.get_mut(account) {
                    op.idle_since = now;
                    op.rest_until = None;
                }
            }
        }
        let gone: Vec<String> = self
            .operators
            .iter()
            .filter(|(a, o)| o.duty != Duty::LoggedOut && !online.contains(a))
            .filter(|(_, o)| o.duty != Duty::Talking)
            .map(|(a, _)| a.clone())
            .collect();
        for account in gone {
            self.set_duty(&account, Duty::LoggedOut, None, now, wall_ms);
            // Logging out ends a pause, however it happens (unregister, expiry, `*47`), as the
            // shift log's `logout` says: the next login starts available.
            if let Some(op) = self.operators.get_mut(&account) {
                op.paused = false;
            }
        }
        self.operators
            .iter()
            .any(|(a, o)| online.contains(a) && !o.paused)
    }

    /// Registrations or pauses of operators changed: re-offer, or apply the fallback
    /// to every waiting caller when no operator is left.
    pub(crate) fn operators_changed(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        out: &mut Vec<QueueCommand>,
    ) {
        // An operator who logged out while being rung stops being rung.
        let online = logged_in(env, wall_ms);
        let stale: Vec<_> = self
            .waiting
            .iter()
            .filter(|w| w.ringing.as_ref().is_some_and(|a| !online.contains(a)))
            .map(|w| w.key)
            .collect();
        for call in stale {
            out.push(QueueCommand::CancelRing { call });
            self.ring_failed(env, now, wall_ms, call, out);
        }
        self.offer_or_empty(env, now, wall_ms, out);
    }

    /// Offers waiting callers if an operator is available, else gives every one the fallback.
    pub(super) fn offer_or_empty(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        out: &mut Vec<QueueCommand>,
    ) {
        if self.sync_operators(env, now, wall_ms) {
            self.dispatch(env, now, wall_ms, out);
        } else {
            self.empty_queues(now, wall_ms, out);
        }
    }

    /// Pauses or unpauses an operator.
    pub(crate) fn set_paused(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        account: &str,
        paused: bool,
        out: &mut Vec<QueueCommand>,
    ) {
        self.sync_operators(env, now, wall_ms);
        let online = logged_in(env, wall_ms).iter().any(|a| a == account);
        let op = self
            .operators
            .entry(account.to_string())
            .or_insert_with(|| Operator::new(Duty::LoggedOut, paused, now, wall_ms));
        let busy = matches!(op.duty, Duty::Talking | Duty::Ringing);
        op.update(now, wall_ms, |op| {
            op.paused = paused;
            if online && !busy {
                op.duty = Duty::Free;
                op.call = None;
                op.wrap_until = None;
                if !paused {
                    op.idle_since = now;
                }
            }
        });
        self.operators_changed(env, now, wall_ms, out);
    }
}
