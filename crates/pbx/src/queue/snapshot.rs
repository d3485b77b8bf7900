//! The queue's live view for the admin API: who waits in which order, and what
//! each operator does now.

use super::QueueEnv;
use super::operators::{logged_in, operator_phones};
use super::state::Queues;
use super::view::{OperatorActivity, OperatorStatus, QueueSnapshot, WaitingCaller};
use std::time::Instant;

impl Queues {
    /// The live view for the admin API.
    pub(crate) fn snapshot(&self, env: &dyn QueueEnv, now: Instant, wall_ms: i64) -> QueueSnapshot {
        let mut waiting: Vec<WaitingCaller> = self
            .waiting
            .iter()
            .enumerate()
            .map(|(i, w)| WaitingCaller {
                queue: w.queue.clone(),
                position: self.position_in_queue(i),
                call: w.key,
                caller: w.caller.clone(),
                name: w.name.clone(),
                language: w.language.clone(),
                vip: w.vip,
                entered_ms: w.entered_ms,
                wait_ms: now.saturating_duration_since(w.entered).as_millis() as i64,
                ringing: w.ringing.clone(),
            })
            .collect();
        waiting.sort_by(|a, b| a.queue.cmp(&b.queue).then(a.position.cmp(&b.position)));
        let online = logged_in(env, wall_ms);
        let names = env.operator_names();
        let mut accounts: Vec<String> = names.iter().map(|(u, _)| u.clone()).collect();
        for a in self.operators.keys().chain(online.iter()) {
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
                self.operator_status(env, account, name, &online, wall_ms)
            })
            .collect();
        QueueSnapshot { waiting, operators }
    }

    /// One operator as the admin API shows them.
    fn operator_status(
        &self,
        env: &dyn QueueEnv,
        account: String,
        name: String,
        online: &[String],
        wall_ms: i64,
    ) -> OperatorStatus {
        let contacts = operator_phones(env, &account, wall_ms)
            .into_iter()
            .map(|b| b.contact)
            .collect();
        let op = self.operators.get(&account);
        let mut activity = op.map_or(OperatorActivity::LoggedOut, |o| o.activity());
        if !online.contains(&account) && activity != OperatorActivity::Talking {
            activity = OperatorActivity::LoggedOut;
        } else if activity == OperatorActivity::LoggedOut {
            activity = OperatorActivity::Idle;
        }
        let caller = op
            .and_then(|o| o.call)
            .and_then(|k| env.caller(k))
            .map(|c| c.caller);
        OperatorStatus {
            account,
            name,
            activity,
            since_ms: op.map_or(wall_ms, |o| o.since_ms),
            contacts,
            caller,
        }
    }
}
