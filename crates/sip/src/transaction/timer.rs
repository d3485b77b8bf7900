//! The transaction timers of RFC 3261 §17 (Table 4) and RFC 6026 (L, M) as
//! one enum, their durations as one table, and a per-transaction deadline
//! table in the style of quinn-proto's `TimerTable`.
//!
//! Timer C (the proxy's INVITE guard) is absent: Switchboard is a B2BUA, and
//! its call logic owns ring timeouts.

use std::time::{Duration, Instant};

/// One of the transaction timers. The comment on each names its RFC role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Client INVITE: retransmit the INVITE (unreliable transports only), doubling.
    A = 0,
    /// Client INVITE: give up waiting for any response (64*T1).
    B = 1,
    /// Client INVITE: linger in Completed to re-ACK retransmitted finals (32 s, zero on reliable).
    D = 2,
    /// Client non-INVITE: retransmit the request (unreliable only), doubling up to T2.
    E = 3,
    /// Client non-INVITE: give up waiting for a final response (64*T1).
    F = 4,
    /// Server INVITE: retransmit the final response, doubling up to T2.
    G = 5,
    /// Server INVITE: give up waiting for the ACK of a 3xx-6xx (64*T1).
    H = 6,
    /// Server INVITE: linger in Confirmed to absorb ACK retransmissions (T4, zero on reliable).
    I = 7,
    /// Server non-INVITE: linger in Completed to answer retransmissions (64*T1, zero on reliable).
    J = 8,
    /// Client non-INVITE: linger in Completed to absorb response retransmissions (T4, zero on reliable).
    K = 9,
    /// Server INVITE (RFC 6026): stay in Accepted while the 2xx may be retransmitted (64*T1).
    L = 10,
    /// Client INVITE (RFC 6026): stay in Accepted to pass 2xx retransmissions up (64*T1).
    M = 11,
    /// Server non-INVITE (a Switchboard guard, not in the RFCs): the TU never
    /// answered; by 64*T1 the client's Timer F has fired, so the request is forgotten.
    Abandon = 12,
}

const COUNT: usize = 13;

/// The base timer values: T1 (RTT estimate), T2 (maximum retransmit interval
/// for non-INVITE requests and INVITE responses), T4 (maximum time a message
/// stays in the network), and Timer D.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate, 500 ms by default.
    pub t1: Duration,
    /// Maximum retransmission interval, 4 s by default.
    pub t2: Duration,
    /// Maximum message lifetime in the network, 5 s by default.
    pub t4: Duration,
    /// Timer D on unreliable transports; RFC 3261 asks for at least 32 s.
    pub timer_d: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
        }
    }
}

impl TimerConfig {
    /// The initial duration of `timer` (RFC 3261 Table 4). `None` means the
    /// timer is not used on this kind of transport (retransmission timers on
    /// reliable transports); `Some(Duration::ZERO)` means the state it guards
    /// ends at once.
    pub fn initial(&self, timer: Timer, reliable: bool) -> Option<Duration> {
        let t1x64 = self.t1.saturating_mul(64);
        match timer {
            Timer::A | Timer::E | Timer::G if reliable => None,
            Timer::A | Timer::E | Timer::G => Some(self.t1),
            Timer::B | Timer::F | Timer::H | Timer::L | Timer::M | Timer::Abandon => Some(t1x64),
            Timer::D if reliable => Some(Duration::ZERO),
            Timer::D => Some(self.timer_d),
            Timer::I | Timer::K if reliable => Some(Duration::ZERO),
            Timer::I | Timer::K => Some(self.t4),
            Timer::J if reliable => Some(Duration::ZERO),
            Timer::J => Some(t1x64),
        }
    }

    /// The next retransmission interval after `current`, doubling and capped
    /// at T2 (Timers E and G; Timer A is not capped).
    pub fn backoff_capped(&self, current: Duration) -> Duration {
        current.saturating_mul(2).min(self.t2)
    }
}

/// The deadlines of one transaction's timers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timers {
    deadlines: [Option<Instant>; COUNT],
}

impl Timers {
    /// No timer armed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `timer` to fire at `at`.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    /// Disarms `timer`.
    pub fn clear(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    /// Disarms every timer.
    pub fn clear_all(&mut self) {
        self.deadlines = [None; COUNT];
    }

    /// When `timer` fires, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Disarms and returns the earliest timer whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let (index, _) = self
            .deadlines
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.filter(|d| *d <= now).map(|d| (i, d)))
            .min_by_key(|(_, d)| *d)?;
        self.deadlines[index] = None;
        Some(ALL[index])
    }
}

const ALL: [Timer; COUNT] = [
    Timer::A,
    Timer::B,
    Timer::D,
    Timer::E,
    Timer::F,
    Timer::G,
    Timer::H,
    Timer::I,
    Timer::J,
    Timer::K,
    Timer::L,
    Timer::M,
    Timer::Abandon,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_rfc_3261_table_4() {
        let c = TimerConfig::default();
        assert_eq!(c.initial(Timer::A, false), Some(Duration::from_millis(500)));
        assert_eq!(c.initial(Timer::A, true), None);
        assert_eq!(c.initial(Timer::B, true), Some(Duration::from_secs(32)));
        assert_eq!(c.initial(Timer::D, false), Some(Duration::from_secs(32)));
        assert_eq!(c.initial(Timer::D, true), Some(Duration::ZERO));
        assert_eq!(c.initial(Timer::I, false), Some(Duration::from_secs(5)));
        assert_eq!(c.initial(Timer::J, false), Some(Duration::from_secs(32)));
        assert_eq!(c.initial(Timer::K, true), Some(Duration::ZERO));
        assert_eq!(
            c.backoff_capped(Duration::from_secs(3)),
            Duration::from_secs(4)
        );
        for (i, t) in ALL.iter().enumerate() {
            assert_eq!(*t as usize, i, "ALL must be in discriminant order");
        }
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a test needs one base instant; time then only advances by hand
    fn pops_earliest_expired_first() {
        let t0 = Instant::now();
        let mut t = Timers::new();
        t.set(Timer::F, t0 + Duration::from_secs(2));
        t.set(Timer::E, t0 + Duration::from_secs(1));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(t.pop_expired(t0), None);
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(3)), Some(Timer::E));
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(3)), Some(Timer::F));
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(3)), None);
    }
}
