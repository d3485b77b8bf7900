//! The INVITE server transaction (RFC 3261 §17.2.1, with the Accepted state
//! of RFC 6026 §8.5-8.7).
//!
//! One deliberate extension: RFC 3261 §13.3.1.4 makes the UAS core
//! retransmit its 2xx until the ACK arrives. Switchboard keeps that duty in
//! the Accepted state of the transaction (Timer G's schedule, on every
//! transport, since a 2xx is retransmitted end to end), so the call logic
//! only sees [`Action::AckTimeout`] when no ACK ever comes.

use super::{Action, Timer, TimerConfig, Timers};
use std::time::{Duration, Instant};

/// The state of an INVITE server transaction (RFC 3261 Figure 7 as updated
/// by RFC 6026 Figure 5).
///
/// ```text
///                                |INVITE
///                                |pass INV to TU, send 100 Trying
///             INVITE             V
///             send response+-----------+
///                 +--------|           |--------+ 101-199 from TU
///                 |        | Proceeding|        | send response
///                 +------->|           |<-------+
///                          +-----------+
///             300-699 from TU |     |2xx from TU
///             send response   |     |send response
///              +--------------+     +------------+
///              |                                 |
/// INVITE       V          Timer G fires          |
/// send response+-----------+ send response       |
///     +--------|           |--------+            |
///     |        | Completed |        |            |   Timer G fires
///     +------->|           |<-------+     INVITE |   resend 2xx (until ACK)
///              +-----------+             -       |   +-----+
///                 |     |                +-----+ |   |     |
///                 |     | ACK            |     v v   |     v
///                 |     | -              |  +------------+
///                 |     |                +--|  Accepted  |---+ ACK
///                 |     V                   |            |   | to TU
///                 |  +-----------+          +------------+<--+
///                 |  | Confirmed |            |  ^    |
///                 |  +-----------+            |  +----+
///   Timer H fires |     |                     |  2xx from TU
///   AckTimeout    |     | Timer I fires       |  send response
///                 |     | -                   |
///                 |     V                     | Timer L fires
///                 |  +-----------+            | (AckTimeout if no ACK came)
///                 +->| Terminated|<-----------+
///                    +-----------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The INVITE went to the TU; retransmissions get the last provisional response.
    Proceeding {
        /// The last provisional response sent (100 Trying at first).
        last: Option<Vec<u8>>,
    },
    /// A 3xx-6xx was sent; Timer G retransmits it until the ACK, Timer H gives up.
    Completed {
        /// The final response.
        response: Vec<u8>,
        /// The current Timer G interval.
        interval: Duration,
    },
    /// The ACK for the 3xx-6xx arrived; ACK retransmissions are absorbed until Timer I.
    Confirmed,
    /// A 2xx was sent (RFC 6026); it is retransmitted until the TU's ACK, Timer L ends the state.
    Accepted {
        /// The 2xx response.
        response: Vec<u8>,
        /// The current retransmission interval.
        interval: Duration,
        /// Whether an ACK has arrived (retransmission stops).
        acked: bool,
    },
    /// Finished.
    Terminated,
}

/// An INVITE server transaction.
#[derive(Debug, Clone)]
pub struct ServerInvite {
    state: State,
    timers: Timers,
    config: TimerConfig,
    reliable: bool,
}

impl ServerInvite {
    /// A transaction for an INVITE just received. `trying` is the 100 Trying
    /// to send at once (RFC 3261 §17.2.1: the TU may not answer within 200 ms).
    pub fn new(trying: Vec<u8>, reliable: bool, config: TimerConfig) -> (Self, Action) {
        let tx = ServerInvite {
            state: State::Proceeding {
                last: Some(trying.clone()),
            },
            timers: Timers::new(),
            config,
            reliable,
        };
        (tx, Action::Send(trying))
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// Whether the TU has not sent a final response yet (a CANCEL still has an effect).
    pub fn is_pending(&self) -> bool {
        matches!(self.state, State::Proceeding { .. })
    }

    /// Whether the transaction is in Accepted (a 2xx was sent).
    pub fn is_accepted(&self) -> bool {
        matches!(self.state, State::Accepted { .. })
    }

    /// The earliest armed timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The INVITE arrived again.
    pub fn on_invite_retransmission(&mut self) -> Vec<Action> {
        match &self.state {
            State::Proceeding { last: Some(last) } => {
                vec![Action::Retransmit(last.clone()), Action::Absorbed]
            }
            State::Completed { response, .. } => {
                vec![Action::Retransmit(response.clone()), Action::Absorbed]
            }
            _ => vec![Action::Absorbed],
        }
    }

    /// An ACK matched this transaction: for a 3xx-6xx it is absorbed; in
    /// Accepted (an ACK for the 2xx) it stops retransmission and goes up.
    pub fn on_ack(&mut self, now: Instant) -> Vec<Action> {
        match &mut self.state {
            State::Completed { .. } => {
                self.timers.clear(Timer::G);
                self.timers.clear(Timer::H);
                match self.config.initial(Timer::I, self.reliable) {
                    Some(i) if !i.is_zero() => {
                        self.timers.set(Timer::I, now + i);
                        self.state = State::Confirmed;
                    }
                    _ => self.terminate(),
                }
                vec![Action::Absorbed]
            }
            State::Accepted { acked, .. } => {
                *acked = true;
                self.timers.clear(Timer::G);
                vec![Action::PassUp]
            }
            _ => vec![Action::Absorbed],
        }
    }

    /// The TU sends a response with `status`, printed as `bytes`. Responses
    /// the state does not allow are refused (an empty list).
    pub fn on_tu_response(&mut self, now: Instant, status: u16, bytes: Vec<u8>) -> Vec<Action> {
        match &self.state {
            State::Proceeding { .. } if status < 200 => {
                self.state = State::Proceeding {
                    last: Some(bytes.clone()),
                };
                vec![Action::Send(bytes)]
            }
            State::Proceeding { .. } if status < 300 => {
                self.timers.clear_all();
                self.timers.set(Timer::G, now + self.config.t1);
                self.timers
                    .set(Timer::L, now + self.config.t1.saturating_mul(64));
                self.state = State::Accepted {
                    response: bytes.clone(),
                    interval: self.config.t1,
                    acked: false,
                };
                vec![Action::Send(bytes)]
            }
            State::Proceeding { .. } => {
                self.timers.clear_all();
                if let Some(g) = self.config.initial(Timer::G, self.reliable) {
                    self.timers.set(Timer::G, now + g);
                }
                if let Some(h) = self.config.initial(Timer::H, self.reliable) {
                    self.timers.set(Timer::H, now + h);
                }
                self.state = State::Completed {
                    response: bytes.clone(),
                    interval: self.config.t1,
                };
                vec![Action::Send(bytes)]
            }
            State::Accepted { .. } if (200..300).contains(&status) => {
                // A 2xx repeated by the TU goes out and becomes the one retransmitted.
                if let State::Accepted { response, .. } = &mut self.state {
                    *response = bytes.clone();
                }
                vec![Action::Send(bytes)]
            }
            _ => Vec::new(),
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(timer) = self.timers.pop_expired(now) {
            match (timer, &mut self.state) {
                (Timer::G, State::Completed { response, interval })
                | (
                    Timer::G,
                    State::Accepted {
                        response,
                        interval,
                        acked: false,
                    },
                ) => {
                    *interval = self.config.backoff_capped(*interval);
                    self.timers.set(Timer::G, now + *interval);
                    out.push(Action::Retransmit(response.clone()));
                }
                (Timer::H, State::Completed { .. }) => {
                    self.terminate();
                    out.push(Action::AckTimeout);
                }
                (Timer::I, State::Confirmed) => self.terminate(),
                (Timer::L, State::Accepted { acked, .. }) => {
                    let acked = *acked;
                    self.terminate();
                    if !acked {
                        out.push(Action::AckTimeout);
                    }
                }
                _ => {}
            }
        }
        out
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

    #[allow(clippy::disallowed_methods)] // one base instant; time then advances by hand
    fn t0() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn retransmit_times(tx: &mut ServerInvite, t0: Instant, until: Instant) -> Vec<u128> {
        let mut out = Vec::new();
        while let Some(d) = tx.next_deadline().filter(|d| *d <= until) {
            for a in tx.on_timer(d) {
                if let Action::Retransmit(_) = a {
                    out.push((d - t0).as_millis());
                }
            }
        }
        out
    }

    #[test]
    fn proceeding_resends_last_provisional() {
        let (mut tx, first) = ServerInvite::new(b"100".to_vec(), false, TimerConfig::default());
        assert_eq!(first, Action::Send(b"100".to_vec()));
        tx.on_tu_response(t0(), 180, b"180".to_vec());
        assert_eq!(
            tx.on_invite_retransmission(),
            vec![Action::Retransmit(b"180".to_vec()), Action::Absorbed]
        );
    }

    #[test]
    fn timer_g_resends_the_failure_until_ack_then_i() {
        let t0 = t0();
        let (mut tx, _) = ServerInvite::new(b"100".to_vec(), false, TimerConfig::default());
        tx.on_tu_response(t0, 486, b"486".to_vec());
        let times = retransmit_times(&mut tx, t0, t0 + ms(8000));
        assert_eq!(times, vec![500, 1500, 3500, 7500]);
        assert_eq!(
            tx.on_invite_retransmission(),
            vec![Action::Retransmit(b"486".to_vec()), Action::Absorbed]
        );
        assert_eq!(tx.on_ack(t0 + ms(8000)), vec![Action::Absorbed]);
        assert_eq!(tx.state(), &State::Confirmed);
        assert_eq!(tx.on_ack(t0 + ms(8100)), vec![Action::Absorbed]);
        assert_eq!(tx.next_deadline(), Some(t0 + ms(13000)));
        tx.on_timer(t0 + ms(13000));
        assert!(tx.is_terminated());
    }

    #[test]
    fn timer_h_reports_the_missing_ack() {
        let t0 = t0();
        let (mut tx, _) = ServerInvite::new(b"100".to_vec(), false, TimerConfig::default());
        tx.on_tu_response(t0, 404, b"404".to_vec());
        let mut last = Vec::new();
        while let Some(d) = tx.next_deadline() {
            last = tx.on_timer(d);
        }
        assert_eq!(last, vec![Action::AckTimeout]);
    }

    #[test]
    fn accepted_retransmits_2xx_until_ack_and_absorbs_invites() {
        let t0 = t0();
        let (mut tx, _) = ServerInvite::new(b"100".to_vec(), false, TimerConfig::default());
        tx.on_tu_response(t0, 200, b"200".to_vec());
        assert_eq!(tx.on_invite_retransmission(), vec![Action::Absorbed]);
        let times = retransmit_times(&mut tx, t0, t0 + ms(4000));
        assert_eq!(times, vec![500, 1500, 3500]);
        assert_eq!(tx.on_ack(t0 + ms(4000)), vec![Action::PassUp]);
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_secs(32)));
        assert!(tx.on_timer(t0 + Duration::from_secs(32)).is_empty());
        assert!(tx.is_terminated());
    }

    #[test]
    fn accepted_without_ack_reports_ack_timeout_after_64_t1() {
        let t0 = t0();
        let (mut tx, _) = ServerInvite::new(b"100".to_vec(), true, TimerConfig::default());
        tx.on_tu_response(t0, 200, b"200".to_vec());
        let mut events = Vec::new();
        let mut now = t0;
        while let Some(d) = tx.next_deadline() {
            now = d;
            events.extend(tx.on_timer(d));
        }
        assert_eq!(now - t0, Duration::from_secs(32));
        assert_eq!(events.last(), Some(&Action::AckTimeout));
        // 0.5, 1.5, 3.5, 7.5, 11.5, ..., 31.5 even on TCP (RFC 3261 §13.3.1.4).
        assert_eq!(events.len() - 1, 10);
    }

    #[test]
    fn reliable_failure_has_no_g_and_no_i() {
        let t0 = t0();
        let (mut tx, _) = ServerInvite::new(b"100".to_vec(), true, TimerConfig::default());
        tx.on_tu_response(t0, 486, b"486".to_vec());
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_secs(32)));
        tx.on_ack(t0 + ms(5));
        assert!(tx.is_terminated());
    }
}
