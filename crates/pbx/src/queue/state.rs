//! The queue's state: the waiting list, the operators and the records of
//! queued calls, with the small questions the rest of the queue (and the PBX,
//! through the glue) asks of them.

use super::QueueCommand;
use super::view::{OperatorActivity, QueueRecord};
use crate::CallKey;
use std::collections::BTreeMap;
use std::time::Instant;

/// One waiting caller.
#[derive(Debug)]
pub(super) struct Waiter {
    pub key: CallKey,
    pub queue: String,
    pub caller: String,
    pub name: Option<String>,
    pub language: String,
    pub vip: bool,
    /// Placed at the head after a failed transfer.
    pub front: bool,
    pub entered: Instant,
    pub entered_ms: i64,
    pub max_wait_at: Instant,
    pub next_announce: Option<Instant>,
    /// The operator being rung for this caller.
    pub ringing: Option<String>,
    /// Not offered to an operator before this (a returned caller hearing why); the callers
    /// behind wait too, so the order holds.
    pub not_before: Option<Instant>,
}

/// What an operator is doing, apart from being paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Duty {
    /// Logged in and not on a call: available, unless paused.
    Free,
    /// Their phone rings with a queued caller.
    Ringing,
    /// On a call with a queued caller.
    Talking,
    /// Resting after a call (the queue's `wrap_up`).
    WrapUp,
    /// Not registered to the operator position.
    LoggedOut,
}

/// One operator's state (kept while the server runs).
#[derive(Debug)]
pub(super) struct Operator {
    pub duty: Duty,
    /// Paused (`*45`): a free operator is offered nobody. Kept through calls, ended by
    /// logging out. The only record of the pause: the shown `Paused` is derived from it.
    pub paused: bool,
    /// Since when [`Operator::activity`] has been what it is.
    pub since: Instant,
    pub since_ms: i64,
    /// Since when the operator has been free to take a call: longest idle is offered first.
    pub idle_since: Instant,
    /// The call they ring for or talk on.
    pub call: Option<CallKey>,
    pub wrap_until: Option<Instant>,
    /// An operator who turned a ring down before its timeout (busy, declined) is not
    /// offered a caller again until the timeout would have passed.
    pub rest_until: Option<Instant>,
}

impl Operator {
    pub fn new(duty: Duty, paused: bool, now: Instant, wall_ms: i64) -> Self {
        Operator {
            duty,
            paused,
            since: now,
            since_ms: wall_ms,
            idle_since: now,
            call: None,
            wrap_until: None,
            rest_until: None,
        }
    }

    /// What the operator is doing as the admin API shows it.
    pub fn activity(&self) -> OperatorActivity {
        match self.duty {
            Duty::Free if self.paused => OperatorActivity::Paused,
            Duty::Free => OperatorActivity::Idle,
            Duty::Ringing => OperatorActivity::Ringing,
            Duty::Talking => OperatorActivity::Talking,
            Duty::WrapUp => OperatorActivity::WrapUp,
            Duty::LoggedOut => OperatorActivity::LoggedOut,
        }
    }

    /// Changes the operator with `change`, restarting `since` if the shown activity changed.
    pub fn update(&mut self, now: Instant, wall_ms: i64, change: impl FnOnce(&mut Operator)) {
        let before = self.activity();
        change(self);
        if self.activity() != before {
            self.since = now;
            self.since_ms = wall_ms;
        }
    }
}

/// A queued call's record and talk-time bookkeeping.
#[derive(Debug)]
pub(super) struct Tracked {
    pub record: QueueRecord,
    /// The queue the caller last waited in.
    pub queue: String,
    /// Time already waited in earlier stays in the queue (ms).
    pub waited_ms: i64,
    /// When the current talk with an operator started (unix ms).
    pub talk_from_ms: Option<i64>,
    /// The operator currently talking with the caller.
    pub operator: Option<String>,
}

/// Every queue's waiting callers, the operators, and the records of queued calls.
#[derive(Debug, Default)]
pub(crate) struct Queues {
    pub(super) waiting: Vec<Waiter>,
    pub(super) operators: BTreeMap<String, Operator>,
    pub(super) tracked: BTreeMap<CallKey, Tracked>,
    /// Set at shutdown: nobody is offered a caller any more.
    pub(super) stopped: bool,
    /// When the first operator registration runs out (a phone that stops refreshing
    /// logs its operator out then, with no REGISTER to tell us).
    pub(super) logins_expire: Option<Instant>,
}

impl Queues {
    pub(super) fn position_in_queue(&self, index: usize) -> u32 {
        let queue = &self.waiting[index].queue;
        self.waiting[..=index]
            .iter()
            .filter(|w| &w.queue == queue)
            .count() as u32
    }

    pub(super) fn length(&self, queue: &str) -> u32 {
        self.waiting.iter().filter(|w| w.queue == queue).count() as u32
    }

    pub(super) fn index_of(&self, key: CallKey) -> Option<usize> {
        self.waiting.iter().position(|w| w.key == key)
    }

    /// Where a new caller goes: returned callers first, then VIPs in arrival order, then the rest.
    pub(super) fn insertion_index(&self, vip: bool, front: bool) -> usize {
        if front {
            return self.waiting.iter().take_while(|w| w.front).count();
        }
        if vip {
            return self.waiting.iter().take_while(|w| w.front || w.vip).count();
        }
        self.waiting.len()
    }

    /// The next instant something in the queue is due.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
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

    /// Puts `account` on `duty` (seen for the first time: unpaused), for `call`.
    pub(super) fn set_duty(
        &mut self,
        account: &str,
        duty: Duty,
        call: Option<CallKey>,
        now: Instant,
        wall_ms: i64,
    ) {
        let op = self
            .operators
            .entry(account.to_string())
            .or_insert_with(|| Operator::new(duty, false, now, wall_ms));
        op.update(now, wall_ms, |op| {
            op.duty = duty;
            op.call = call;
            if duty != Duty::WrapUp {
                op.wrap_until = None;
            }
        });
    }

    /// The current record of `key`, if it is a queued call.
    pub(super) fn record(&self, key: CallKey) -> Option<QueueRecord> {
        self.tracked.get(&key).map(|t| t.record.clone())
    }

    /// Pushes the current record of `key`, if it is a queued call.
    pub(super) fn emit(&self, key: CallKey, out: &mut Vec<QueueCommand>) {
        out.extend(self.record(key).map(QueueCommand::Record));
    }

    /// Whether `key` is waiting in a queue (its current bridge attempt, if any, rings an operator).
    pub(crate) fn is_waiting(&self, key: CallKey) -> bool {
        self.index_of(key).is_some()
    }

    /// Whether the queue counts `operator` as being rung for `key` right now.
    pub(super) fn is_ringing(&self, key: CallKey, operator: &str) -> bool {
        self.index_of(key)
            .is_some_and(|i| self.waiting[i].ringing.as_deref() == Some(operator))
    }

    /// Whether an operator account is paused.
    pub(crate) fn is_paused(&self, account: &str) -> bool {
        self.operators.get(account).is_some_and(|o| o.paused)
    }

    /// The operator account talking with the caller of `key`, if an operator answered it.
    pub(crate) fn operator_of(&self, key: CallKey) -> Option<String> {
        self.tracked.get(&key).and_then(|t| t.operator.clone())
    }

    /// The queue `key` last waited in, if it went through one.
    pub(crate) fn queue_of(&self, key: CallKey) -> Option<String> {
        self.tracked.get(&key).map(|t| t.queue.clone())
    }

    /// Shutdown: stop offering callers to operators (the calls are being hung up).
    pub(crate) fn stop_offering(&mut self) {
        self.stopped = true;
    }
}
