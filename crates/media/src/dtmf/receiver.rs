//! The RFC 4733 receive state machine: one reported digit per key press.
//!
//! ```text
//!            packet, ts = T not recently finished
//!   Idle ──────────────────────────────────────────▶ InEvent { T }
//!    ▲                                                  │  same T: update duration
//!    │  E bit on T: report, remember T                  │  new T': report T, start T'
//!    └──────────────────────────────────────────────────┘  silent for STALE: report T
//! ```
//!
//! An event is identified by its RTP timestamp (all packets of one key press share it), so the
//! marker bit is not needed (it is often lost or missing), the end packet's retransmissions
//! (normally three) are recognised as the same event, and a lost end packet is recovered when
//! the next event starts or the stream stays silent. Events above 15 (flash, tones) are ignored.

use std::time::{Duration, Instant};

use super::{TelephoneEvent, digit_of};

/// How long an event may go without any packet before it is taken as ended.
pub const STALE: Duration = Duration::from_millis(300);

/// How many finished event timestamps are remembered to discard late retransmissions.
const RECENT: usize = 8;

/// A digit finished on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedDigit {
    /// The digit (`0-9 * # A-D`).
    pub digit: char,
    /// How long it was pressed, in milliseconds (from the duration field, 8 kHz clock).
    pub duration_ms: u32,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    InEvent {
        timestamp: u32,
        digit: char,
        duration: u16,
        last_seen: Instant,
    },
}

/// Receive state of one telephone-event stream.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    state: State,
    recent: [Option<u32>; RECENT],
    recent_next: usize,
}

impl Default for DtmfReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfReceiver {
    /// Creates a receiver in the idle state.
    pub fn new() -> Self {
        DtmfReceiver {
            state: State::Idle,
            recent: [None; RECENT],
            recent_next: 0,
        }
    }

    /// Feeds one telephone-event packet (its RTP timestamp and payload), received at `now`.
    /// Returns the digits that finished: usually none or one; two when a new event reveals
    /// that the previous one lost all its end packets and itself arrives already ended.
    pub fn on_packet(
        &mut self,
        now: Instant,
        timestamp: u32,
        payload: &[u8],
    ) -> Vec<ReceivedDigit> {
        let mut done = Vec::new();
        let Some(ev) = TelephoneEvent::parse(payload) else {
            return done;
        };
        let Some(digit) = digit_of(ev.event) else {
            return done;
        };
        if self.recent.contains(&Some(timestamp)) {
            return done;
        }
        match self.state {
            State::InEvent {
                timestamp: current, ..
            } if current == timestamp => {}
            State::InEvent { .. } => done.extend(self.finish()),
            State::Idle => {}
        }
        let duration = match self.state {
            State::InEvent { duration, .. } => duration.max(ev.duration),
            State::Idle => ev.duration,
        };
        self.state = State::InEvent {
            timestamp,
            digit,
            duration,
            last_seen: now,
        };
        if ev.end {
            done.extend(self.finish());
        }
        done
    }

    /// Reports an event that stayed silent for [`STALE`] (all its end packets were lost).
    pub fn poll_stale(&mut self, now: Instant) -> Option<ReceivedDigit> {
        match self.state {
            State::InEvent { last_seen, .. }
                if now.saturating_duration_since(last_seen) >= STALE =>
            {
                self.finish()
            }
            _ => None,
        }
    }

    /// When [`DtmfReceiver::poll_stale`] should next be called, if an event is in progress.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::InEvent { last_seen, .. } => Some(last_seen + STALE),
            State::Idle => None,
        }
    }

    /// Forgets all state (for an SSRC change or a re-INVITE).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    fn finish(&mut self) -> Option<ReceivedDigit> {
        let State::InEvent {
            timestamp,
            digit,
            duration,
            ..
        } = self.state
        else {
            return None;
        };
        self.state = State::Idle;
        self.recent[self.recent_next] = Some(timestamp);
        self.recent_next = (self.recent_next + 1) % RECENT;
        Some(ReceivedDigit {
            digit,
            duration_ms: u32::from(duration) / 8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::{event_code, telephone_event_packets};
    use proptest::prelude::*;

    struct Wire {
        rx: DtmfReceiver,
        now: Instant,
        got: Vec<ReceivedDigit>,
    }

    impl Wire {
        #[allow(
            clippy::disallowed_methods,
            reason = "a test needs one real instant as its origin"
        )]
        fn new() -> Self {
            Wire {
                rx: DtmfReceiver::new(),
                now: Instant::now(),
                got: Vec::new(),
            }
        }

        fn send(&mut self, ts: u32, event: u8, end: bool, duration: u16) {
            self.now += Duration::from_millis(20);
            let payload = TelephoneEvent {
                event,
                end,
                volume: 10,
                duration,
            }
            .to_bytes();
            let d = self.rx.on_packet(self.now, ts, &payload);
            self.got.extend(d);
        }

        fn digits(&self) -> String {
            self.got.iter().map(|d| d.digit).collect()
        }
    }

    /// A whole key press as a sender emits it: updates every 20 ms, then the end packet 3x.
    fn press(w: &mut Wire, ts: u32, digit: char, ms: u32) {
        for p in telephone_event_packets(event_code(digit).unwrap(), ms, 10) {
            w.send(ts, p.event.event, p.event.end, p.event.duration);
        }
    }

    #[test]
    fn one_digit_per_press_with_its_duration() {
        let mut w = Wire::new();
        press(&mut w, 1000, '5', 100);
        press(&mut w, 3000, '#', 160);
        assert_eq!(w.digits(), "5#");
        assert_eq!(w.got[0].duration_ms, 100);
        assert_eq!(w.got[1].duration_ms, 160);
    }

    #[test]
    fn repeated_end_packets_are_deduplicated_even_late() {
        let mut w = Wire::new();
        press(&mut w, 1000, '1', 80);
        press(&mut w, 2000, '2', 80);
        // A late, duplicated end packet of the first press arrives after the second.
        w.send(1000, 1, true, 640);
        assert_eq!(w.digits(), "12");
    }

    #[test]
    fn lost_end_packets_are_recovered_by_the_next_event() {
        let mut w = Wire::new();
        w.send(1000, 7, false, 160);
        w.send(1000, 7, false, 320);
        // All three end packets of '7' were lost; the next press starts.
        press(&mut w, 5000, '8', 60);
        assert_eq!(w.digits(), "78");
        assert_eq!(w.got[0].duration_ms, 40);
    }

    #[test]
    fn lost_end_packets_are_recovered_by_silence() {
        let mut w = Wire::new();
        w.send(1000, 9, false, 160);
        assert_eq!(w.rx.poll_stale(w.now + Duration::from_millis(100)), None);
        let deadline = w.rx.deadline().unwrap();
        let d = w.rx.poll_stale(deadline).unwrap();
        assert_eq!(d.digit, '9');
        assert_eq!(w.rx.deadline(), None);
        // A straggler of the same event does not report it again.
        w.send(1000, 9, true, 800);
        assert!(w.got.is_empty());
    }

    #[test]
    fn missing_start_and_marker_are_tolerated() {
        let mut w = Wire::new();
        // Only end packets arrive (the start and updates were lost): one digit.
        w.send(400, 3, true, 800);
        w.send(400, 3, true, 800);
        w.send(400, 3, true, 800);
        assert_eq!(w.digits(), "3");
    }

    #[test]
    fn events_above_15_are_ignored() {
        let mut w = Wire::new();
        w.send(100, 16, false, 160);
        w.send(100, 16, true, 800);
        press(&mut w, 900, '0', 100);
        assert_eq!(w.digits(), "0");
    }

    #[test]
    fn short_payloads_are_ignored() {
        let mut w = Wire::new();
        let now = w.now;
        assert!(w.rx.on_packet(now, 1, &[1, 2]).is_empty());
        assert_eq!(w.rx.deadline(), None);
    }

    #[test]
    fn same_digit_twice_is_two_presses() {
        let mut w = Wire::new();
        press(&mut w, 1000, '4', 100);
        press(&mut w, 2600, '4', 100);
        assert_eq!(w.digits(), "44");
    }

    #[test]
    fn duplicated_and_reordered_updates_keep_the_longest_duration() {
        let mut w = Wire::new();
        w.send(10, 6, false, 480);
        w.send(10, 6, false, 160);
        w.send(10, 6, false, 480);
        w.send(10, 6, true, 640);
        w.send(10, 6, false, 320);
        assert_eq!(w.digits(), "6");
        assert_eq!(w.got[0].duration_ms, 80);
    }

    /// One press on the wire: which of its packets arrive (by index into the sender's
    /// sequence, with repeats for duplicates), in arrival order.
    fn press_strategy() -> impl Strategy<Value = (char, u32, Vec<usize>)> {
        (
            prop::sample::select(vec!['0', '5', '9', '*', '#', 'A', 'D']),
            40u32..400,
            prop::collection::vec(0usize..100, 1..12),
        )
    }

    proptest! {
        /// Lost, duplicated and locally reordered packets still give exactly one digit per
        /// press, in order, as long as one packet of each press arrives.
        #[test]
        fn one_digit_per_press_despite_loss_duplication_and_reordering(
            presses in prop::collection::vec(press_strategy(), 1..8)
        ) {
            let mut w = Wire::new();
            let mut ts = 8000u32;
            let mut expected = String::new();
            for (digit, ms, picks) in &presses {
                let packets = telephone_event_packets(event_code(*digit).unwrap(), *ms, 10);
                for pick in picks {
                    let p = packets[pick % packets.len()];
                    w.send(ts, p.event.event, p.event.end, p.event.duration);
                }
                expected.push(*digit);
                ts = ts.wrapping_add(8000);
            }
            let later = w.now + STALE;
            w.got.extend(w.rx.poll_stale(later));
            prop_assert_eq!(w.digits(), expected);
        }
    }
}
