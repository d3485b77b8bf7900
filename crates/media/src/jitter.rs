//! The jitter buffer in front of consumers of decoded audio (mixer, recorder); relayed legs
//! never pass through it.
//!
//! Packets are stored by extended sequence number (so reordering is undone) and played out by
//! RTP timestamp, one 20 ms frame per [`JitterBuffer::pop_frame`]. Playout starts once the
//! buffer holds the target delay; the target follows the RFC 3550 interarrival jitter estimate
//! (three times the jitter plus one frame, kept within 20–120 ms). A gap whose successor has
//! arrived is played as silence (a lost packet); an empty buffer holds the playout point still
//! (a late packet), which grows the delay by one frame. When the buffer is ahead of the target by
//! more than two frames, one frame is skipped. A new SSRC or a timestamp jump resets it.
//!
//! Payloads are decoded when they are first needed for playout, so in timestamp order: a
//! stateful decoder (G.722's ADPCM) then hears its stream in the order it was encoded even when
//! the network reordered it. A packet's length in timestamp ticks is known without decoding
//! ([`Codec::samples_in`]).

use std::collections::BTreeMap;
use std::time::Instant;

use crate::codec::{Codec, Decoder, FRAME_SAMPLES};
use crate::rtp::{RtpHeader, SeqExtender};

/// Smallest and largest playout delays in samples (20 ms and 120 ms at 8 kHz).
pub const DELAY_RANGE: (u32, u32) = (160, 960);

/// Buffered packets beyond this many are dropped (oldest first); 1 s of 20 ms packets.
const CAPACITY: usize = 50;

/// A timestamp distance beyond which the stream is taken as restarted (2 s).
const RESYNC: i64 = 16000;

/// Counters of a jitter buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets that arrived after their playout time.
    pub late: u64,
    /// Frames played with a gap because a packet never arrived.
    pub lost: u64,
    /// Frames played as silence because the buffer ran empty.
    pub underruns: u64,
    /// Frames skipped to bring the delay down.
    pub skipped: u64,
    /// Resets caused by an SSRC change or a timestamp jump.
    pub resets: u64,
}

#[derive(Debug, Clone)]
struct Buffered {
    timestamp: u32,
    /// Length in timestamp ticks (= decoded 8 kHz samples).
    len: usize,
    /// The payload until it is decoded.
    payload: Vec<u8>,
    /// The decoded samples, once playout reached the packet.
    samples: Option<Vec<i16>>,
}

/// A jitter buffer for one received stream.
#[derive(Debug)]
pub struct JitterBuffer {
    codec: Codec,
    decoder: Decoder,
    ssrc: Option<u32>,
    seq: SeqExtender,
    packets: BTreeMap<u64, Buffered>,
    playout: Option<u32>,
    origin: Option<Instant>,
    jitter: f64,
    last_transit: Option<i64>,
    first_arrival: Option<Instant>,
    held: u32,
    stats: JitterStats,
}

impl JitterBuffer {
    /// Creates an empty buffer for payloads of `codec`.
    pub fn new(codec: Codec) -> Self {
        JitterBuffer {
            codec,
            decoder: Decoder::new(codec),
            ssrc: None,
            seq: SeqExtender::new(),
            packets: BTreeMap::new(),
            playout: None,
            origin: None,
            jitter: 0.0,
            last_transit: None,
            first_arrival: None,
            held: 0,
            stats: JitterStats::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The current target delay in samples.
    pub fn target_delay(&self) -> u32 {
        let d = 3.0 * self.jitter + FRAME_SAMPLES as f64;
        (d as u32).clamp(DELAY_RANGE.0, DELAY_RANGE.1)
    }

    /// The estimated interarrival jitter in samples (RFC 3550 §6.4.1).
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Stores an audio packet that arrived at `now`.
    pub fn push(&mut self, now: Instant, header: &RtpHeader, payload: &[u8]) {
        if self.ssrc != Some(header.ssrc) {
            if self.ssrc.is_some() {
                self.stats.resets += 1;
            }
            self.reset_stream(header.ssrc);
        }
        if let Some(playout) = self.playout {
            let ahead = i64::from(header.timestamp.wrapping_sub(playout) as i32);
            if ahead.abs() > RESYNC {
                self.stats.resets += 1;
                self.reset_stream(header.ssrc);
            } else if ahead + payload.len() as i64 <= 0 {
                self.stats.late += 1;
                return;
            }
        }
        self.update_jitter(now, header.timestamp);
        self.first_arrival.get_or_insert(now);
        let ext = self.seq.extend(header.sequence);
        self.packets.insert(
            ext,
            Buffered {
                timestamp: header.timestamp,
                len: self.codec.samples_in(payload.len()),
                payload: payload.to_vec(),
                samples: None,
            },
        );
        while self.packets.len() > CAPACITY {
            self.packets.pop_first();
        }
    }

    /// Plays the next 20 ms at `now`; `None` while buffering (nothing to play yet).
    pub fn pop_frame(&mut self, now: Instant) -> Option<[i16; FRAME_SAMPLES]> {
        let mut playout = match self.playout {
            Some(p) => p,
            None => self.try_start(now)?,
        };
        let frame = loop {
            // Drop packets that ended before the playout point.
            self.packets.retain(|_, b| {
                i64::from(b.timestamp.wrapping_sub(playout) as i32) + b.len as i64 > 0
            });
            self.decode_due(playout);
            let (frame, covered) = self.assemble(playout);
            if covered > 0 {
                self.held = 0;
                break frame;
            }
            if self.packets.is_empty() {
                // Nothing newer has arrived: hold the playout point (the delay grows by a frame).
                self.stats.underruns += 1;
                self.held += 1;
                self.playout = Some(playout);
                return Some(frame);
            }
            if self.held > 0 {
                // A gap after a hold: the silence already played stood in for this frame.
                self.held -= 1;
                self.stats.lost += 1;
                playout = playout.wrapping_add(FRAME_SAMPLES as u32);
                continue;
            }
            self.stats.lost += 1;
            break frame;
        };
        let mut next = playout.wrapping_add(FRAME_SAMPLES as u32);
        // Too much buffered: skip a frame to come back towards the target delay.
        let buffered = self.buffered_after(next);
        if buffered > i64::from(self.target_delay()) + 2 * FRAME_SAMPLES as i64 {
            next = next.wrapping_add(FRAME_SAMPLES as u32);
            self.stats.skipped += 1;
        }
        self.playout = Some(next);
        Some(frame)
    }

    /// Decodes, in sequence order, the packets that start before the end of the frame at
    /// `playout`.
    fn decode_due(&mut self, playout: u32) {
        for b in self.packets.values_mut() {
            let offset = i64::from(b.timestamp.wrapping_sub(playout) as i32);
            if b.samples.is_none() && offset < FRAME_SAMPLES as i64 {
                let mut samples = Vec::with_capacity(b.len);
                self.decoder.decode(&b.payload, &mut samples);
                samples.resize(b.len, 0);
                b.samples = Some(samples);
                b.payload = Vec::new();
            }
        }
    }

    fn assemble(&self, playout: u32) -> ([i16; FRAME_SAMPLES], usize) {
        let mut frame = [0i16; FRAME_SAMPLES];
        let mut covered = 0usize;
        for b in self.packets.values() {
            // The packet covers frame positions offset .. offset + len (clipped to the frame).
            let Some(samples) = b.samples.as_ref() else {
                continue;
            };
            let offset = i64::from(b.timestamp.wrapping_sub(playout) as i32);
            let from = offset.max(0);
            let to = (offset + samples.len() as i64).min(FRAME_SAMPLES as i64);
            if from >= to {
                continue;
            }
            let (from, to) = (from as usize, to as usize);
            let src = (from as i64 - offset) as usize;
            frame[from..to].copy_from_slice(&samples[src..src + (to - from)]);
            covered += to - from;
        }
        (frame, covered)
    }

    fn try_start(&mut self, now: Instant) -> Option<u32> {
        let first = self.packets.values().next()?;
        let start = first.timestamp;
        let waited = self
            .first_arrival
            .map(|t| now.saturating_duration_since(t).as_micros() as i64 * 8 / 1000)
            .unwrap_or(0);
        let target = i64::from(self.target_delay());
        if self.buffered_after(start) > target || waited >= target {
            self.playout = Some(start);
            return Some(start);
        }
        None
    }

    /// Samples buffered from `point` to the end of the newest packet.
    fn buffered_after(&self, point: u32) -> i64 {
        self.packets
            .values()
            .map(|b| i64::from(b.timestamp.wrapping_sub(point) as i32) + b.len as i64)
            .max()
            .unwrap_or(0)
    }

    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let origin = *self.origin.get_or_insert(now);
        let arrival = now.saturating_duration_since(origin).as_micros() as i64 * 8 / 1000;
        let transit = arrival - i64::from(timestamp);
        if let Some(last) = self.last_transit {
            // Differences are taken modulo 2^32 so that timestamp wrap does not matter.
            let d = (transit.wrapping_sub(last) as i32).unsigned_abs();
            self.jitter += (f64::from(d) - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    fn reset_stream(&mut self, ssrc: u32) {
        let stats = self.stats;
        *self = JitterBuffer::new(self.codec);
        self.stats = stats;
        self.ssrc = Some(ssrc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Sim {
        jb: JitterBuffer,
        t0: Instant,
    }

    impl Sim {
        #[allow(
            clippy::disallowed_methods,
            reason = "a test needs one real instant as its origin"
        )]
        fn new() -> Self {
            Sim {
                jb: JitterBuffer::new(Codec::pcmu()),
                t0: Instant::now(),
            }
        }

        fn at(&self, ms: u64) -> Instant {
            self.t0 + Duration::from_millis(ms)
        }

        /// Packet `n` carries 160 samples that all decode to the value of µ-law byte `n`.
        fn push(&mut self, ms: u64, ssrc: u32, n: u16) {
            let h = RtpHeader {
                marker: false,
                payload_type: 0,
                sequence: 1000u16.wrapping_add(n),
                timestamp: 50_000 + u32::from(n) * 160,
                ssrc,
            };
            let payload = [code(n); 160];
            self.jb.push(self.at(ms), &h, &payload);
        }
    }

    fn code(n: u16) -> u8 {
        0x80 | (n as u8 & 0x3F)
    }

    fn value(n: u16) -> i16 {
        crate::g711::ulaw_decode(code(n))
    }

    /// Delivers `arrivals` (ms, packet number) in real time and pops a frame every 20 ms from
    /// t = 0 to `until_ms`; returns the first sample of each frame played.
    fn run(s: &mut Sim, arrivals: &[(u64, u16)], until_ms: u64) -> Vec<i16> {
        let mut played = Vec::new();
        let mut pending = arrivals.to_vec();
        pending.sort_by_key(|a| a.0);
        let mut next = 0;
        for tick in (0..=until_ms).step_by(20) {
            while next < pending.len() && pending[next].0 <= tick {
                s.push(pending[next].0, 1, pending[next].1);
                next += 1;
            }
            if let Some(f) = s.jb.pop_frame(s.at(tick)) {
                assert!(f.iter().all(|v| *v == f[0]), "a frame is one packet here");
                played.push(f[0]);
            }
        }
        played
    }

    fn trim(mut v: Vec<i16>) -> Vec<i16> {
        while v.first() == Some(&0) {
            v.remove(0);
        }
        while v.last() == Some(&0) {
            v.pop();
        }
        v
    }

    #[test]
    fn reorders_packets_by_sequence() {
        let mut s = Sim::new();
        // Packets 1 and 2 swap places and 4 and 5 too, each arriving 1-15 ms late.
        let arrivals = [
            (1, 0),
            (35, 2),
            (36, 1),
            (61, 3),
            (101, 5),
            (102, 4),
            (121, 6),
        ];
        let played = trim(run(&mut s, &arrivals, 300));
        let expected: Vec<i16> = (0..7).map(value).collect();
        assert_eq!(played, expected);
        assert_eq!(s.jb.stats().lost, 0);
    }

    #[test]
    fn a_lost_packet_becomes_one_silent_frame() {
        let mut s = Sim::new();
        let arrivals: Vec<(u64, u16)> = [0, 1, 3, 4, 5]
            .into_iter()
            .map(|n| (u64::from(n) * 20 + 1, n))
            .collect();
        let played = trim(run(&mut s, &arrivals, 300));
        assert_eq!(
            played,
            vec![value(0), value(1), 0, value(3), value(4), value(5)]
        );
        assert_eq!(s.jb.stats().lost, 1);
    }

    #[test]
    fn buffers_before_playing_and_drops_late_packets() {
        let mut s = Sim::new();
        s.push(0, 1, 0);
        assert_eq!(s.jb.pop_frame(s.at(0)), None, "still buffering");
        s.push(20, 1, 1);
        assert_eq!(s.jb.pop_frame(s.at(20)).unwrap()[0], value(0));
        assert_eq!(s.jb.pop_frame(s.at(40)).unwrap()[0], value(1));
        // Packet 0 again (a duplicate, now late) is dropped.
        s.push(45, 1, 0);
        assert_eq!(s.jb.stats().late, 1);
    }

    #[test]
    fn ssrc_change_resets() {
        let mut s = Sim::new();
        for n in 0..4 {
            s.push(u64::from(n) * 20, 1, n);
        }
        s.jb.pop_frame(s.at(80));
        s.push(100, 2, 40);
        assert_eq!(s.jb.stats().resets, 1);
        assert_eq!(
            s.jb.pop_frame(s.at(100)),
            None,
            "buffering again after the reset"
        );
        s.push(120, 2, 41);
        let f = s.jb.pop_frame(s.at(120)).unwrap();
        assert_eq!(f[0], value(40));
    }

    #[test]
    fn delay_adapts_to_jitter_within_bounds() {
        let mut s = Sim::new();
        for n in 0..200u16 {
            s.push(u64::from(n) * 20, 1, n);
        }
        assert_eq!(
            s.jb.target_delay(),
            DELAY_RANGE.0,
            "no jitter: the minimum delay"
        );
        let mut j = Sim::new();
        for n in 0..200u16 {
            let wobble = if n % 2 == 0 { 0 } else { 35 };
            j.push(u64::from(n) * 20 + wobble, 1, n);
        }
        let d = j.jb.target_delay();
        assert!(d > 400 && d <= DELAY_RANGE.1, "jittery stream: {d}");
    }

    #[test]
    fn an_overfull_buffer_skips_frames() {
        let mut s = Sim::new();
        // A burst of 20 packets at once, then playout at the normal rate.
        for n in 0..20 {
            s.push(0, 1, n);
        }
        for i in 0..10 {
            s.jb.pop_frame(s.at(i * 20));
        }
        assert!(s.jb.stats().skipped > 0);
    }

    proptest::proptest! {
        /// Whatever the arrival jitter (up to 60 ms, so packets overtake each other), every
        /// packet that is not dropped as late is played exactly once and in sequence order.
        #[test]
        fn frames_play_in_order_and_at_most_once(
            delays in proptest::collection::vec(0u64..60, 20..64)
        ) {
            let mut s = Sim::new();
            let arrivals: Vec<(u64, u16)> = delays
                .iter()
                .enumerate()
                .map(|(n, d)| (n as u64 * 20 + d, n as u16))
                .collect();
            let until = arrivals.len() as u64 * 20 + 400;
            let played: Vec<i16> = run(&mut s, &arrivals, until)
                .into_iter()
                .filter(|v| *v != 0)
                .collect();
            let order: Vec<usize> = played
                .iter()
                .map(|v| (0..arrivals.len()).find(|n| value(*n as u16) == *v).unwrap())
                .collect();
            for w in order.windows(2) {
                proptest::prop_assert!(w[1] > w[0], "{order:?}");
            }
            // Every frame slot is played, concealed as lost or skipped; packets that missed
            // their slot (or came before playout started) are counted as late.
            let st = s.jb.stats();
            let n = arrivals.len() as u64;
            let slots = played.len() as u64 + st.lost + st.skipped;
            proptest::prop_assert!(slots <= n && slots + st.late >= n, "played {order:?}, {st:?}");
        }
    }
}
