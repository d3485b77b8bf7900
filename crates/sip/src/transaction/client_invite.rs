//! The INVITE client transaction (RFC 3261 §17.1.1, with the Accepted state
//! of RFC 6026 §8.4), and the ACK it generates for 3xx-6xx (§17.1.1.3).

use super::{Action, Timer, TimerConfig, Timers};
use crate::message::{Method, Request, Response};
use std::time::{Duration, Instant};

/// The state of an INVITE client transaction (RFC 3261 Figure 5 as updated
/// by RFC 6026 Figure 3).
///
/// ```text
///                                |INVITE from TU
///              Timer A fires     |INVITE sent      Timer B fires
///              Reset A,          V                 or Transport Err.
///              INVITE sent +-----------+           inform TU
///                +---------|           |--------------------------+
///                |         |  Calling  |                          |
///                +-------->|           |-----------+              |
///   300-699                +-----------+ 2xx       |              |
///   ACK sent                  |  |       2xx to TU |              |
///   resp. to TU               |  |1xx              |              |
///   +-------------------------+  |1xx to TU        |              |
///   |                            |                 |              |
///   |                1xx         V                 |              |
///   |                1xx to TU +-----------+       |              |
///   |                +---------|           |       |              |
///   |                |         |Proceeding |       |              |
///   |                +-------->|           |       |              |
///   |                          +-----------+ 2xx   |              |
///   |         300-699             |    |     2xx to TU            |
///   |         ACK sent,  +--------+    +---------------+          |
///   |         resp. to TU|                         |   |          |
///   |                    |                         V   V          |
///   |                    |                   +-----------+        |
///   |                    |                   |           |        |
///   |                    |                   | Accepted  |---+ 2xx|
///   |                    |                   |           |   | 2xx to TU
///   |  300-699           V                   +-----------+<--+    |
///   |  ACK sent  +-----------+                     |              |
///   |  +---------|           |                     | Timer M      |
///   |  |         | Completed |                     | -            |
///   |  +-------->|           |                     |              |
///   |            +-----------+                     |              |
///   |              ^    |                          |              |
///   +--------------+    | Timer D                  |              |
///                       | -                        |              |
///                       V                          V              |
///                 +-----------+                                   |
///                 |           |<----------------------------------+
///                 | Terminated|
///                 |           |
///                 +-----------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// INVITE sent, nothing heard; Timer A retransmits at `interval`.
    Calling {
        /// The current Timer A interval (T1, doubling without cap).
        interval: Duration,
    },
    /// A provisional response arrived; waiting for the final one.
    Proceeding,
    /// A 3xx-6xx arrived and was ACKed; retransmissions of it get the same ACK.
    Completed {
        /// The ACK we sent, resent for every retransmitted final response.
        ack: Vec<u8>,
    },
    /// A 2xx arrived (RFC 6026); further 2xx (retransmissions, forks) go to the TU.
    Accepted,
    /// Finished.
    Terminated,
}

/// An INVITE client transaction.
#[derive(Debug, Clone)]
pub struct ClientInvite {
    state: State,
    request: Request,
    bytes: Vec<u8>,
    timers: Timers,
    config: TimerConfig,
    reliable: bool,
}

impl ClientInvite {
    /// Starts the transaction for `request` (already carrying our Via): the
    /// returned action sends it.
    pub fn new(
        now: Instant,
        request: Request,
        reliable: bool,
        config: TimerConfig,
    ) -> (Self, Action) {
        let bytes = request.to_bytes();
        let mut timers = Timers::new();
        if let Some(a) = config.initial(Timer::A, reliable) {
            timers.set(Timer::A, now + a);
        }
        if let Some(b) = config.initial(Timer::B, reliable) {
            timers.set(Timer::B, now + b);
        }
        let tx = ClientInvite {
            state: State::Calling {
                interval: config.t1,
            },
            request,
            bytes: bytes.clone(),
            timers,
            config,
            reliable,
        };
        (tx, Action::Send(bytes))
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The INVITE this transaction sends.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// The earliest armed timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// A response matched this transaction.
    pub fn on_response(&mut self, now: Instant, resp: &Response) -> Vec<Action> {
        match &self.state {
            State::Calling { .. } | State::Proceeding if resp.is_provisional() => {
                self.timers.clear(Timer::A);
                self.timers.clear(Timer::B);
                self.state = State::Proceeding;
                vec![Action::PassUp]
            }
            State::Calling { .. } | State::Proceeding if resp.is_success() => {
                self.timers.clear_all();
                if let Some(m) = self.config.initial(Timer::M, self.reliable) {
                    self.timers.set(Timer::M, now + m);
                }
                self.state = State::Accepted;
                vec![Action::PassUp]
            }
            State::Calling { .. } | State::Proceeding => {
                self.timers.clear_all();
                let ack = ack_for_non_2xx(&self.request, resp).to_bytes();
                match self.config.initial(Timer::D, self.reliable) {
                    Some(d) if !d.is_zero() => {
                        self.timers.set(Timer::D, now + d);
                        self.state = State::Completed { ack: ack.clone() };
                    }
                    _ => self.state = State::Terminated,
                }
                vec![Action::Send(ack), Action::PassUp]
            }
            State::Completed { ack } if !resp.is_provisional() && !resp.is_success() => {
                vec![Action::Retransmit(ack.clone()), Action::Absorbed]
            }
            State::Accepted if resp.is_success() => vec![Action::PassUp],
            _ => vec![Action::Absorbed],
        }
    }

    /// A CANCEL for this INVITE was sent. RFC 3261 §9.1 lets the client give
    /// up if no final response follows within 64*T1; Timer B is re-armed for
    /// that, so a UAS that never answers ends in [`Action::Timeout`].
    pub fn on_cancel_sent(&mut self, now: Instant) {
        if matches!(self.state, State::Calling { .. } | State::Proceeding) {
            self.timers
                .set(Timer::B, now + self.config.t1.saturating_mul(64));
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(timer) = self.timers.pop_expired(now) {
            match (timer, &self.state) {
                (Timer::A, State::Calling { interval }) => {
                    let next = interval.saturating_mul(2);
                    self.state = State::Calling { interval: next };
                    self.timers.set(Timer::A, now + next);
                    out.push(Action::Retransmit(self.bytes.clone()));
                }
                (Timer::B, State::Calling { .. } | State::Proceeding) => {
                    self.terminate();
                    out.push(Action::Timeout);
                }
                (Timer::D, State::Completed { .. }) | (Timer::M, State::Accepted) => {
                    self.terminate()
                }
                _ => {}
            }
        }
        out
    }

    /// The transport could not deliver the INVITE (or the ACK).
    pub fn on_transport_error(&mut self) -> Vec<Action> {
        match self.state {
            State::Calling { .. } | State::Proceeding | State::Completed { .. } => {
                let was_pending = !matches!(self.state, State::Completed { .. });
                self.terminate();
                if was_pending {
                    vec![Action::TransportError]
                } else {
                    Vec::new()
                }
            }
            State::Accepted | State::Terminated => Vec::new(),
        }
    }

    fn terminate(&mut self) {
        self.timers.clear_all();
        self.state = State::Terminated;
    }
}

/// The ACK for a 3xx-6xx final response (RFC 3261 §17.1.1.3): the INVITE's
/// Request-URI, Call-ID, From, CSeq number, top Via and Route headers, and
/// the response's To (which carries the UAS's tag).
pub fn ack_for_non_2xx(invite: &Request, resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    let h = &invite.headers;
    if let Some(via) = h.get_all("Via").first() {
        ack.headers.push("Via", *via);
    }
    for route in h.get_all_lines("Route") {
        ack.headers.push("Route", route);
    }
    ack.headers.push("Max-Forwards", "70");
    if let Some(from) = h.get("From") {
        ack.headers.push("From", from);
    }
    if let Some(to) = resp.headers.get("To").or_else(|| h.get("To")) {
        ack.headers.push("To", to);
    }
    if let Some(call_id) = h.get("Call-ID") {
        ack.headers.push("Call-ID", call_id);
    }
    let seq = h.cseq().map(|c| c.seq).unwrap_or(1);
    ack.headers.push("CSeq", format!("{seq} ACK"));
    ack
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[allow(clippy::disallowed_methods)] // one base instant; time then advances by hand
    fn t0() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn invite() -> Request {
        let text = "INVITE sip:202@10.0.0.2 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport\r\n\
Route: <sip:proxy.example;lr>\r\n\
Max-Forwards: 70\r\n\
From: <sip:201@example>;tag=f1\r\n\
To: <sip:202@example>\r\n\
Call-ID: call1\r\n\
CSeq: 7 INVITE\r\n\
Content-Length: 0\r\n\r\n";
        match Message::parse(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("test INVITE did not parse: {other:?}"),
        }
    }

    fn response(status: u16) -> Response {
        let mut r = Response::for_request(&invite(), status);
        if status > 100 {
            r.headers.set("To", "<sip:202@example>;tag=t9");
        }
        r
    }

    #[test]
    fn timer_a_doubles_without_cap_until_b() {
        let t0 = t0();
        let (mut tx, _) = ClientInvite::new(t0, invite(), false, TimerConfig::default());
        let mut sent = Vec::new();
        let mut now = t0;
        let mut timed_out = false;
        while let Some(d) = tx.next_deadline() {
            now = d;
            for a in tx.on_timer(now) {
                match a {
                    Action::Retransmit(_) => sent.push((now - t0).as_millis()),
                    Action::Timeout => timed_out = true,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(sent, vec![500, 1500, 3500, 7500, 15500, 31500]);
        assert!(timed_out);
        assert_eq!(now - t0, Duration::from_secs(32));
    }

    #[test]
    fn non_2xx_is_acked_and_retransmissions_reacked_until_d() {
        let t0 = t0();
        let (mut tx, _) = ClientInvite::new(t0, invite(), false, TimerConfig::default());
        assert_eq!(
            tx.on_response(t0 + ms(50), &response(180)),
            vec![Action::PassUp]
        );
        assert_eq!(tx.next_deadline(), None, "no timer runs in Proceeding");
        let acts = tx.on_response(t0 + ms(60), &response(486));
        let [Action::Send(ack), Action::PassUp] = &acts[..] else {
            panic!("expected the ACK then pass-up, got {acts:?}")
        };
        let Ok(Message::Request(ack)) = Message::parse(ack) else {
            panic!("ACK does not parse")
        };
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri.to_string(), "sip:202@10.0.0.2");
        assert_eq!(ack.headers.get("CSeq"), Some("7 ACK"));
        assert_eq!(ack.headers.get("To"), Some("<sip:202@example>;tag=t9"));
        assert_eq!(ack.headers.top_via().unwrap().branch(), Some("z9hG4bKabc"));
        assert_eq!(ack.headers.get("Route"), Some("<sip:proxy.example;lr>"));
        let again = tx.on_response(t0 + ms(600), &response(486));
        assert!(matches!(
            again[..],
            [Action::Retransmit(_), Action::Absorbed]
        ));
        assert_eq!(
            tx.next_deadline(),
            Some(t0 + ms(60) + Duration::from_secs(32))
        );
        tx.on_timer(t0 + ms(60) + Duration::from_secs(32));
        assert!(tx.is_terminated());
    }

    #[test]
    fn accepted_passes_2xx_retransmissions_up_until_m() {
        let t0 = t0();
        let (mut tx, _) = ClientInvite::new(t0, invite(), false, TimerConfig::default());
        assert_eq!(
            tx.on_response(t0 + ms(10), &response(200)),
            vec![Action::PassUp]
        );
        assert_eq!(tx.state(), &State::Accepted);
        assert_eq!(
            tx.on_response(t0 + ms(510), &response(200)),
            vec![Action::PassUp]
        );
        assert_eq!(
            tx.on_response(t0 + ms(520), &response(180)),
            vec![Action::Absorbed]
        );
        assert_eq!(
            tx.next_deadline(),
            Some(t0 + ms(10) + Duration::from_secs(32))
        );
        assert!(tx.on_timer(t0 + Duration::from_secs(33)).is_empty());
        assert!(tx.is_terminated());
    }

    #[test]
    fn reliable_transport_has_no_timer_a_and_no_d() {
        let t0 = t0();
        let (mut tx, _) = ClientInvite::new(t0, invite(), true, TimerConfig::default());
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_secs(32)));
        let acts = tx.on_response(t0 + ms(10), &response(603));
        assert!(matches!(acts[..], [Action::Send(_), Action::PassUp]));
        assert!(tx.is_terminated());
    }

    #[test]
    fn cancel_rearms_b_in_proceeding() {
        let t0 = t0();
        let (mut tx, _) = ClientInvite::new(t0, invite(), false, TimerConfig::default());
        tx.on_response(t0 + ms(10), &response(180));
        tx.on_cancel_sent(t0 + ms(20));
        assert_eq!(
            tx.on_timer(t0 + ms(20) + Duration::from_secs(32)),
            vec![Action::Timeout]
        );
        assert!(tx.is_terminated());
    }
}
