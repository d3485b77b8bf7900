//! The non-INVITE client transaction (RFC 3261 §17.1.2).

use super::{Action, Timer, TimerConfig, Timers};
use std::time::{Duration, Instant};

/// The state of a non-INVITE client transaction (RFC 3261 Figure 6).
///
/// ```text
///                                    |Request from TU
///                                    |send request
///                Timer E             V
///                send request  +-----------+
///                    +---------|           |-------------------+
///                    |         |  Trying   |  Timer F          |
///                    +-------->|           |  or Transport Err.|
///                              +-----------+  inform TU        |
///                 200-699         |  |                         |
///                 resp. to TU     |  |1xx                      |
///                 +---------------+  |resp. to TU              |
///                 |                  |                         |
///                 |   Timer E        V       Timer F           |
///                 |   send req +-----------+ or Transport Err. |
///                 |  +---------|           | inform TU         |
///                 |  |         |Proceeding |------------------>|
///                 |  +-------->|           |-----+             |
///                 |            +-----------+     |1xx          |
///                 |              |      ^        |resp to TU   |
///                 | 200-699      |      +--------+             |
///                 | resp. to TU  |                             |
///                 |              |                             |
///                 |              V                             |
///                 |            +-----------+                   |
///                 |            |           |                   |
///                 |            | Completed |                   |
///                 |            |           |                   |
///                 |            +-----------+                   |
///                 |              ^   |                         |
///                 |              |   | Timer K                 |
///                 +--------------+   | -                       |
///                                    |                         |
///                                    V                         |
///                              +-----------+                   |
///                              |           |                   |
///                              | Terminated|<------------------+
///                              |           |
///                              +-----------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Request sent, nothing heard; Timer E retransmits at `interval`.
    Trying {
        /// The current Timer E interval (T1, doubling up to T2).
        interval: Duration,
    },
    /// A provisional response arrived; Timer E keeps retransmitting at T2.
    Proceeding,
    /// A final response arrived; retransmitted finals are absorbed until Timer K.
    Completed,
    /// Finished; the owner may forget the transaction.
    Terminated,
}

/// A non-INVITE client transaction.
#[derive(Debug, Clone)]
pub struct ClientNonInvite {
    state: State,
    request: Vec<u8>,
    timers: Timers,
    config: TimerConfig,
    reliable: bool,
}

impl ClientNonInvite {
    /// Starts the transaction: the returned action sends the request.
    pub fn new(
        now: Instant,
        request: Vec<u8>,
        reliable: bool,
        config: TimerConfig,
    ) -> (Self, Action) {
        let mut timers = Timers::new();
        if let Some(e) = config.initial(Timer::E, reliable) {
            timers.set(Timer::E, now + e);
        }
        if let Some(f) = config.initial(Timer::F, reliable) {
            timers.set(Timer::F, now + f);
        }
        let tx = ClientNonInvite {
            state: State::Trying {
                interval: config.t1,
            },
            request: request.clone(),
            timers,
            config,
            reliable,
        };
        (tx, Action::Send(request))
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// The earliest armed timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// A response with `status` matched this transaction.
    pub fn on_response(&mut self, now: Instant, status: u16) -> Vec<Action> {
        match self.state {
            State::Trying { .. } | State::Proceeding if status < 200 => {
                self.state = State::Proceeding;
                vec![Action::PassUp]
            }
            State::Trying { .. } | State::Proceeding => {
                self.timers.clear(Timer::E);
                self.timers.clear(Timer::F);
                self.state = State::Completed;
                match self.config.initial(Timer::K, self.reliable) {
                    Some(k) if !k.is_zero() => self.timers.set(Timer::K, now + k),
                    _ => self.terminate(),
                }
                vec![Action::PassUp]
            }
            State::Completed | State::Terminated => vec![Action::Absorbed],
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(timer) = self.timers.pop_expired(now) {
            match (timer, &self.state) {
                (Timer::E, State::Trying { interval }) => {
                    let next = self.config.backoff_capped(*interval);
                    self.state = State::Trying { interval: next };
                    self.timers.set(Timer::E, now + next);
                    out.push(Action::Retransmit(self.request.clone()));
                }
                (Timer::E, State::Proceeding) => {
                    self.timers.set(Timer::E, now + self.config.t2);
                    out.push(Action::Retransmit(self.request.clone()));
                }
                (Timer::F, State::Trying { .. } | State::Proceeding) => {
                    self.terminate();
                    out.push(Action::Timeout);
                }
                (Timer::K, State::Completed) => self.terminate(),
                _ => {}
            }
        }
        out
    }

    /// The transport could not deliver the request.
    pub fn on_transport_error(&mut self) -> Vec<Action> {
        match self.state {
            State::Trying { .. } | State::Proceeding => {
                self.terminate();
                vec![Action::TransportError]
            }
            State::Completed | State::Terminated => Vec::new(),
        }
    }

    fn terminate(&mut self) {
        self.timers.clear_all();
        self.state = State::Terminated;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // one base instant; time then advances by hand
    fn t0() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn timer_e_doubles_up_to_t2_then_f_times_out() {
        let t0 = t0();
        let (mut tx, _) = ClientNonInvite::new(t0, b"R".to_vec(), false, TimerConfig::default());
        let mut at = Vec::new();
        let mut now = t0;
        while let Some(d) = tx.next_deadline() {
            now = d;
            for a in tx.on_timer(now) {
                match a {
                    Action::Retransmit(_) => at.push((now - t0).as_millis()),
                    Action::Timeout => at.push(u128::MAX),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        // 0.5, 1.5, 3.5, 7.5, then every 4 s up to 32 s, then Timer F.
        assert_eq!(&at[..5], &[500, 1500, 3500, 7500, 11500]);
        assert_eq!(*at.last().unwrap(), u128::MAX);
        assert_eq!(now - t0, Duration::from_secs(32));
        assert!(tx.is_terminated());
    }

    #[test]
    fn proceeding_retransmits_at_t2_and_completed_absorbs_until_k() {
        let t0 = t0();
        let (mut tx, _) = ClientNonInvite::new(t0, b"R".to_vec(), false, TimerConfig::default());
        assert_eq!(tx.on_response(t0 + ms(100), 100), vec![Action::PassUp]);
        assert_eq!(tx.state(), &State::Proceeding);
        // The Timer E armed in Trying fires at 500 ms, then T2 apart.
        assert!(matches!(
            tx.on_timer(t0 + ms(500))[..],
            [Action::Retransmit(_)]
        ));
        assert_eq!(tx.next_deadline(), Some(t0 + ms(4500)));
        assert_eq!(tx.on_response(t0 + ms(600), 200), vec![Action::PassUp]);
        assert_eq!(tx.state(), &State::Completed);
        assert_eq!(tx.on_response(t0 + ms(700), 200), vec![Action::Absorbed]);
        assert_eq!(tx.next_deadline(), Some(t0 + ms(5600)));
        assert!(tx.on_timer(t0 + ms(5600)).is_empty());
        assert!(tx.is_terminated());
    }

    #[test]
    fn reliable_transport_never_retransmits_and_skips_k() {
        let t0 = t0();
        let (mut tx, _) = ClientNonInvite::new(t0, b"R".to_vec(), true, TimerConfig::default());
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_secs(32)));
        assert_eq!(tx.on_response(t0 + ms(10), 486), vec![Action::PassUp]);
        assert!(tx.is_terminated());
        assert_eq!(tx.next_deadline(), None);
    }

    #[test]
    fn transport_error_ends_the_transaction() {
        let t0 = t0();
        let (mut tx, _) = ClientNonInvite::new(t0, b"R".to_vec(), true, TimerConfig::default());
        assert_eq!(tx.on_transport_error(), vec![Action::TransportError]);
        assert!(tx.is_terminated());
        assert!(tx.on_transport_error().is_empty());
    }
}
