//! The sans-IO media engine: RTP in, commands in; RTP out, events out, deadlines out.
//!
//! The driver (the server) owns the sockets and the clock. It feeds every received datagram as
//! [`Input::Rtp`] / [`Input::Rtcp`], every command as [`Input::Command`] and, when the deadline
//! from the last [`Output::Timeout`] passes, an [`Input::Timeout`]. After each input it calls
//! [`MediaEngine::poll_output`] until that returns [`Output::Timeout`].
//!
//! Three clocks run inside, all driven by the `now` values the driver passes:
//! * the 20 ms media tick, only while some leg plays, records, hears music on hold, is in a
//!   room or sends DTMF (a relay-only engine never ticks);
//! * the 1 s housekeeping tick: RTP timeouts and RTCP reports;
//! * DTMF receivers whose end packets were all lost (300 ms).
//!
//! The engine's notion of "now" is the latest instant it was given (commands carry none).

mod commands;
mod leg;
mod relay;
mod room;
mod rtcp_io;
mod tick;
mod types;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::rtp;

pub use leg::{Latch, LegCounters, LegId, RoomId};
pub use types::{EngineConfig, Input, MediaCommand, MediaEvent, Output, QualityReport};

/// How often the engine checks for legs whose RTP stopped and sends due RTCP reports.
const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// The media tick.
const TICK: Duration = Duration::from_millis(20);

/// When the driver wakes later than this behind the tick schedule, skipped frames are dropped
/// instead of being sent in a burst.
const MAX_CATCH_UP: Duration = Duration::from_millis(100);

/// The media engine. See the module documentation for the driving loop.
#[derive(Debug)]
pub struct MediaEngine {
    config: EngineConfig,
    origin: Instant,
    now: Instant,
    legs: BTreeMap<LegId, leg::Leg>,
    rooms: BTreeMap<RoomId, room::Room>,
    moh: HashMap<String, tick::MohSource>,
    out: VecDeque<Output>,
    next_housekeeping: Instant,
    next_tick: Option<Instant>,
    dtmf_open: BTreeSet<LegId>,
}

impl MediaEngine {
    /// Creates an engine; `now` is the current time.
    pub fn new(config: EngineConfig, now: Instant) -> Self {
        MediaEngine {
            config,
            origin: now,
            now,
            legs: BTreeMap::new(),
            rooms: BTreeMap::new(),
            moh: HashMap::new(),
            out: VecDeque::new(),
            next_housekeeping: now + HOUSEKEEPING,
            next_tick: None,
            dtmf_open: BTreeSet::new(),
        }
    }

    /// Feeds one input. Drain [`MediaEngine::poll_output`] afterwards.
    pub fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Timeout(now) => {
                self.advance(now);
            }
            Input::Rtp {
                now,
                leg,
                from,
                bytes,
            } => {
                self.advance(now);
                if rtp::is_rtcp(bytes) {
                    self.handle_rtcp(leg, from, bytes);
                } else {
                    self.handle_rtp(leg, from, bytes);
                }
            }
            Input::Rtcp {
                now,
                leg,
                from,
                bytes,
            } => {
                self.advance(now);
                self.handle_rtcp(leg, from, bytes);
            }
            Input::Command(cmd) => {
                self.handle_command(cmd);
                self.schedule_ticks();
            }
        }
        self.run_timers();
    }

    /// Returns the next output; [`Output::Timeout`] means the queue is empty.
    pub fn poll_output(&mut self) -> Output {
        match self.out.pop_front() {
            Some(o) => o,
            None => Output::Timeout(self.next_deadline()),
        }
    }

    /// The counters of a leg, if it exists.
    pub fn counters(&self, leg: LegId) -> Option<LegCounters> {
        self.legs.get(&leg).map(|l| l.counters)
    }

    /// The latch state of a leg, if it exists.
    pub fn latch(&self, leg: LegId) -> Option<Latch> {
        self.legs.get(&leg).map(|l| l.latch)
    }

    /// The SSRC of the engine's own outgoing stream on a leg (prompts, mixes, generated DTMF),
    /// if the leg exists. Relayed packets keep the SSRC of the stream they came from.
    pub fn ssrc(&self, leg: LegId) -> Option<u32> {
        self.legs.get(&leg).map(|l| l.tx.ssrc())
    }

    /// The quality numbers of a leg now, if it exists.
    pub fn quality(&self, leg: LegId) -> Option<QualityReport> {
        self.legs.get(&leg).map(rtcp_io::quality_report)
    }

    /// The number of legs.
    pub fn leg_count(&self) -> usize {
        self.legs.len()
    }

    /// The members of a room, in joining order (leaving members included until they faded).
    pub fn room_members(&self, room: RoomId) -> Vec<LegId> {
        self.rooms
            .get(&room)
            .map(|r| r.members.iter().map(|m| m.leg).collect())
            .unwrap_or_default()
    }

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    fn next_deadline(&self) -> Instant {
        let mut d = self.next_housekeeping;
        if let Some(t) = self.next_tick {
            d = d.min(t);
        }
        for id in &self.dtmf_open {
            if let Some(t) = self.legs.get(id).and_then(|l| l.dtmf_rx.deadline()) {
                d = d.min(t);
            }
        }
        d
    }

    fn run_timers(&mut self) {
        self.poll_dtmf_stale();
        if let Some(mut t) = self.next_tick {
            if self.now.saturating_duration_since(t) > MAX_CATCH_UP {
                t = self.now;
            }
            while t <= self.now {
                self.tick(t);
                t += TICK;
                self.next_tick = Some(t);
                self.schedule_ticks();
                if self.next_tick.is_none() {
                    break;
                }
            }
        }
        if self.now >= self.next_housekeeping {
            self.check_rtp_timeouts();
            self.send_due_rtcp();
            while self.next_housekeeping <= self.now {
                self.next_housekeeping += HOUSEKEEPING;
            }
        }
    }

    /// Starts or stops the media tick according to whether anything needs it.
    fn schedule_ticks(&mut self) {
        let needed = self.legs.values().any(leg::Leg::needs_tick)
            || self
                .rooms
                .values()
                .any(|r| !r.members.is_empty() || r.announcement.is_some());
        match (needed, self.next_tick) {
            (true, None) => self.next_tick = Some(self.now),
            (false, Some(_)) => self.next_tick = None,
            _ => {}
        }
    }

    fn poll_dtmf_stale(&mut self) {
        if self.dtmf_open.is_empty() {
            return;
        }
        let now = self.now;
        let open: Vec<LegId> = self.dtmf_open.iter().copied().collect();
        for id in open {
            let Some(leg) = self.legs.get_mut(&id) else {
                self.dtmf_open.remove(&id);
                continue;
            };
            if let Some(d) = leg.dtmf_rx.poll_stale(now) {
                self.out.push_back(Output::Event(MediaEvent::Dtmf {
                    leg: id,
                    digit: d.digit,
                    duration_ms: d.duration_ms,
                }));
            }
            if leg.dtmf_rx.deadline().is_none() {
                self.dtmf_open.remove(&id);
            }
        }
    }

    fn check_rtp_timeouts(&mut self) {
        let limit = self.config.rtp_timeout;
        let now = self.now;
        let mut silent = Vec::new();
        for (id, leg) in &mut self.legs {
            let Some(last) = leg.last_rx else { continue };
            if !leg.timeout_reported && now.saturating_duration_since(last) >= limit {
                leg.timeout_reported = true;
                silent.push(*id);
            }
        }
        for leg in silent {
            self.emit(MediaEvent::RtpTimeout { leg });
        }
    }

    fn emit(&mut self, event: MediaEvent) {
        self.out.push_back(Output::Event(event));
    }

    fn reject(&mut self, leg: LegId, reason: String) {
        self.emit(MediaEvent::CommandRejected { leg, reason });
    }

    fn handle_rtp(&mut self, id: LegId, from: SocketAddr, bytes: &[u8]) {
        let now = self.now;
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let packet = match rtp::parse(bytes) {
            Ok(p) => p,
            Err(_) => {
                leg.counters.dropped_invalid += 1;
                return;
            }
        };
        if !leg.accept_source(from) {
            return;
        }
        leg.counters.packets_in += 1;
        leg.counters.bytes_in += bytes.len() as u64;
        leg.last_rx = Some(now);
        leg.timeout_reported = false;
        leg.rx_stats
            .on_rtp(now, &packet.header, leg.codec.clock_rate());
        let pt = packet.header.payload_type;
        if Some(pt) == leg.telephone_event_pt {
            for d in leg
                .dtmf_rx
                .on_packet(now, packet.header.timestamp, packet.payload)
            {
                self.out.push_back(Output::Event(MediaEvent::Dtmf {
                    leg: id,
                    digit: d.digit,
                    duration_ms: d.duration_ms,
                }));
            }
            if leg.dtmf_rx.deadline().is_some() {
                self.dtmf_open.insert(id);
            } else {
                self.dtmf_open.remove(&id);
            }
        } else if pt == leg.codec.payload_type
            && let Some(jb) = leg.jitter.as_mut()
        {
            jb.push(now, &packet.header, packet.payload);
        }
        let source = relay::Source {
            codec: leg.codec,
            telephone_event_pt: leg.telephone_event_pt,
        };
        let Some(peer_id) = leg.bridge else {
            return;
        };
        let Some(peer) = self.legs.get(&peer_id) else {
            return;
        };
        // G.722 ↔ G.711 goes through PCM with the stateful relay decoder, which hears every
        // audio packet in order even while the peer hears a prompt instead (so its state stays
        // in step with the sender's encoder).
        let pcm = if pt == source.codec.payload_type
            && relay::needs_pcm(source.codec.kind, peer.codec.kind)
        {
            let mut pcm = Vec::with_capacity(packet.payload.len());
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.relay_decoder.decode(packet.payload, &mut pcm);
            }
            Some(pcm)
        } else {
            None
        };
        if let Some(peer) = self.legs.get_mut(&peer_id)
            && !peer.generates_audio()
            && let Some(mut out) = relay::forward(&source, peer, &packet, bytes, pcm.as_deref())
            && peer.continue_own_stream(now, &packet, &mut out, pt == source.codec.payload_type)
            && let Some(to) = peer.destination_for_send(out.len())
        {
            self.out.push_back(Output::Transmit {
                leg: peer_id,
                to,
                bytes: out,
            });
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_audio;
#[cfg(test)]
mod tests_g722;
