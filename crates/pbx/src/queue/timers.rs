//! The queue's clock: operator registrations running out, rests and
//! wrap-ups ending, returned callers becoming offerable, maximum waits and
//! position announcements. The deadlines are part of `Pbx::poll_timeout`
//! through [`Queues::next_deadline`].

use super::state::{Duty, Queues};
use super::view::QueueOutcome;
use super::{QueueCommand, QueueEnv};
use crate::CallKey;
use dialplan::QueueExit;
use std::time::Instant;

impl Queues {
    /// Fires what is due at `now`.
    pub(crate) fn handle_timeout(
        &mut self,
        env: &dyn QueueEnv,
        now: Instant,
        wall_ms: i64,
        out: &mut Vec<QueueCommand>,
    ) {
        if self.logins_expire.is_some_and(|t| t <= now) {
            self.logins_expire = None;
            self.operators_changed(env, now, wall_ms, out);
        }
        let freed = self.release_due(now, wall_ms);
        let expired: Vec<CallKey> = self
            .waiting
            .iter()
            .filter(|w| w.max_wait_at <= now)
            .map(|w| w.key)
            .collect();
        for key in expired {
            let (reason, outcome) = (QueueExit::MaxWait, QueueOutcome::MaxWait);
            self.leave(now, wall_ms, key, reason, outcome, out);
        }
        let due: Vec<CallKey> = self
            .waiting
            .iter()
            .filter(|w| w.ringing.is_none() && w.next_announce.is_some_and(|t| t <= now))
            .map(|w| w.key)
            .collect();
        for key in due {
            self.announce(env, now, key, None, out);
        }
        // A caller being rung for skips this announcement, not the later ones.
        for w in self.waiting.iter_mut() {
            if w.ringing.is_some() && w.next_announce.is_some_and(|t| t <= now) {
                let every = env.settings(w.key, &w.queue).announce_every;
                w.next_announce = every.map(|d| now + d);
            }
        }
        if freed {
            self.dispatch(env, now, wall_ms, out);
        }
    }

    /// Ends due holds (a returned caller's explanation, an operator's rest or wrap-up).
    /// Returns whether any ended, so callers may be offered again.
    fn release_due(&mut self, now: Instant, wall_ms: i64) -> bool {
        let mut freed = false;
        for w in self.waiting.iter_mut() {
            if w.not_before.is_some_and(|t| t <= now) {
                w.not_before = None;
                freed = true;
            }
        }
        for op in self.operators.values_mut() {
            if op.rest_until.is_some_and(|t| t <= now) {
                op.rest_until = None;
                freed = true;
            }
            if op.wrap_until.is_some_and(|t| t <= now) {
                op.wrap_until = None;
                op.update(now, wall_ms, |op| op.duty = Duty::Free);
                freed = true;
            }
        }
        freed
    }
}
