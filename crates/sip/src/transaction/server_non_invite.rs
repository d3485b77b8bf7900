//! The non-INVITE server transaction (RFC 3261 §17.2.2).

use super::{Action, Timer, TimerConfig, Timers};
use std::time::Instant;

/// The state of a non-INVITE server transaction (RFC 3261 Figure 8).
///
/// ```text
///                           |Request received
///                           |pass to TU
///                           V
///                     +-----------+
///                     |           |
///                     | Trying    |-------------+
///                     |           |             |
///                     +-----------+             |200-699 from TU
///                           |                   |send response
///                           |1xx from TU        |
///                           |send response      |
///                           |                   |
///        Request            V      1xx from TU  |
///        send response+-----------+send response|
///            +--------|           |--------+    |
///            |        | Proceeding|        |    |
///            +------->|           |<-------+    |
///     +<--------------|           |             |
///     |Trnsprt Err    +-----------+             |
///     |Inform TU            |                   |
///     |                     |                   |
///     |                     |200-699 from TU    |
///     |                     |send response      |
///     |  Request            V                   |
///     |  send response+-----------+             |
///     |      +--------|           |             |
///     |      |        | Completed |<------------+
///     |      +------->|           |
///     +<--------------|           |
///     |Trnsprt Err    +-----------+
///     |Inform TU            |
///     |                     |Timer J fires
///     |                     |-
///     |                     |
///     |                     V
///     |               +-----------+
///     |               |           |
///     +-------------->| Terminated|
///                     |           |
///                     +-----------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The request went to the TU, which has not answered; retransmissions are absorbed.
    Trying,
    /// The TU sent a provisional response; retransmissions get it again.
    Proceeding {
        /// The last provisional response sent.
        last: Vec<u8>,
    },
    /// The TU sent the final response; retransmissions get it again until Timer J.
    Completed {
        /// The final response sent.
        last: Vec<u8>,
    },
    /// Finished.
    Terminated,
}

/// A non-INVITE server transaction.
#[derive(Debug, Clone)]
pub struct ServerNonInvite {
    state: State,
    timers: Timers,
    config: TimerConfig,
    reliable: bool,
}

impl ServerNonInvite {
    /// A transaction for a request just received at `now` (and passed to
    /// the TU). Should the TU never send a final response, the transaction
    /// ends silently after 64*T1 ([`Timer::Abandon`]): the client gave up by then.
    pub fn new(now: Instant, reliable: bool, config: TimerConfig) -> Self {
        let mut timers = Timers::new();
        if let Some(d) = config.initial(Timer::Abandon, reliable) {
            timers.set(Timer::Abandon, now + d);
        }
        ServerNonInvite {
            state: State::Trying,
            timers,
            config,
            reliable,
        }
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// Whether a final response has been sent.
    pub fn is_final_sent(&self) -> bool {
        matches!(self.state, State::Completed { .. } | State::Terminated)
    }

    /// The earliest armed timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The request arrived again.
    pub fn on_retransmission(&mut self) -> Vec<Action> {
        match &self.state {
            State::Proceeding { last } | State::Completed { last } => {
                vec![Action::Retransmit(last.clone()), Action::Absorbed]
            }
            State::Trying | State::Terminated => vec![Action::Absorbed],
        }
    }

    /// The TU sends a response with `status`, printed as `bytes`. A response
    /// after the final one is refused (an empty list).
    pub fn on_tu_response(&mut self, now: Instant, status: u16, bytes: Vec<u8>) -> Vec<Action> {
        match self.state {
            State::Trying | State::Proceeding { .. } if status < 200 => {
                self.state = State::Proceeding {
                    last: bytes.clone(),
                };
                vec![Action::Send(bytes)]
            }
            State::Trying | State::Proceeding { .. } => {
                self.timers.clear(Timer::Abandon);
                match self.config.initial(Timer::J, self.reliable) {
                    Some(j) if !j.is_zero() => {
                        self.timers.set(Timer::J, now + j);
                        self.state = State::Completed {
                            last: bytes.clone(),
                        };
                    }
                    _ => self.terminate(),
                }
                vec![Action::Send(bytes)]
            }
            State::Completed { .. } | State::Terminated => Vec::new(),
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        while let Some(timer) = self.timers.pop_expired(now) {
            if matches!(timer, Timer::J | Timer::Abandon) {
                self.terminate();
            }
        }
        Vec::new()
    }

    /// The transport could not deliver a response.
    pub fn on_transport_error(&mut self) -> Vec<Action> {
        if self.is_terminated() {
            return Vec::new();
        }
        self.terminate();
        vec![Action::TransportError]
    }

    fn terminate(&mut self) {
        self.timers.clear_all();
        self.state = State::Terminated;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[allow(clippy::disallowed_methods)] // one base instant; time then advances by hand
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn trying_absorbs_proceeding_and_completed_resend() {
        let t0 = t0();
        let mut tx = ServerNonInvite::new(t0, false, TimerConfig::default());
        assert_eq!(tx.on_retransmission(), vec![Action::Absorbed]);
        assert_eq!(
            tx.on_tu_response(t0, 100, b"100".to_vec()),
            vec![Action::Send(b"100".to_vec())]
        );
        assert_eq!(
            tx.on_retransmission(),
            vec![Action::Retransmit(b"100".to_vec()), Action::Absorbed]
        );
        assert_eq!(
            tx.on_tu_response(t0, 200, b"200".to_vec()),
            vec![Action::Send(b"200".to_vec())]
        );
        assert!(tx.on_tu_response(t0, 500, b"500".to_vec()).is_empty());
        assert_eq!(
            tx.on_retransmission(),
            vec![Action::Retransmit(b"200".to_vec()), Action::Absorbed]
        );
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_secs(32)));
        tx.on_timer(t0 + Duration::from_secs(32));
        assert!(tx.is_terminated());
    }

    #[test]
    fn an_unanswered_request_is_abandoned_after_64_t1() {
        let t0 = t0();
        let mut tx = ServerNonInvite::new(t0, false, TimerConfig::default());
        tx.on_tu_response(t0, 100, b"100".to_vec());
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_secs(32)));
        assert!(tx.on_timer(t0 + Duration::from_secs(32)).is_empty());
        assert!(tx.is_terminated());
    }

    #[test]
    fn reliable_transport_ends_at_once() {
        let t0 = t0();
        let mut tx = ServerNonInvite::new(t0, true, TimerConfig::default());
        tx.on_tu_response(t0, 404, b"404".to_vec());
        assert!(tx.is_terminated());
        assert_eq!(tx.next_deadline(), None);
    }
}
