//! The sans-IO media engine: RTP in, commands in; RTP out, events out, deadlines out.
//!
//! The driver (the server) owns the sockets and the clock. It feeds every received datagram as
//! [`Input::Rtp`], every command as [`Input::Command`] and, when the deadline from the last
//! [`Output::Timeout`] passes, an [`Input::Timeout`]. After each input it calls
//! [`MediaEngine::poll_output`] until that returns [`Output::Timeout`].
//!
//! The engine's notion of "now" is the latest instant it was given (commands carry none).

mod leg;
mod relay;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::codec::Codec;
use crate::rtp::{self, RtpStream};

pub use leg::{Latch, LegCounters, LegId};

/// How often the engine checks for legs whose RTP stopped.
const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// Settings of a [`MediaEngine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Seed for SSRCs, initial sequence numbers and timestamps (the engine never reads the OS
    /// random generator). Each leg's stream derives from this seed and its [`LegId`].
    pub seed: u64,
    /// How long a leg may receive no RTP, after its media started, before
    /// [`MediaEvent::RtpTimeout`] is reported. Checked once a second.
    pub rtp_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            seed: 0,
            rtp_timeout: Duration::from_secs(30),
        }
    }
}

/// Something that happened to the engine.
#[derive(Debug)]
pub enum Input<'a> {
    /// The deadline last returned in [`Output::Timeout`] passed; `now` is the current time.
    Timeout(Instant),
    /// A datagram arrived on the RTP socket of `leg` from `from`.
    Rtp {
        /// When it arrived.
        now: Instant,
        /// The leg whose socket received it.
        leg: LegId,
        /// The source address of the datagram.
        from: SocketAddr,
        /// The datagram.
        bytes: &'a [u8],
    },
    /// A command from call control.
    Command(MediaCommand),
}

/// Something the driver must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Nothing more to do now; call back with [`Input::Timeout`] at this instant (or earlier
    /// with any other input).
    Timeout(Instant),
    /// Send `bytes` from the RTP socket of `leg` to `to`.
    Transmit {
        /// The leg whose socket sends it.
        leg: LegId,
        /// The destination address.
        to: SocketAddr,
        /// One RTP datagram.
        bytes: Vec<u8>,
    },
    /// Tell call control about something.
    Event(MediaEvent),
}

/// A command from call control.
#[derive(Debug, Clone)]
pub enum MediaCommand {
    /// Creates a leg. `remote` is the address from the peer's SDP (if it has one yet); the
    /// first valid packet latches the real address.
    AddLeg {
        /// The caller-allocated id.
        leg: LegId,
        /// The RTP address from SDP.
        remote: Option<SocketAddr>,
        /// The negotiated audio codec and its payload type.
        codec: Codec,
        /// The negotiated RFC 4733 telephone-event payload type, if any.
        telephone_event_pt: Option<u8>,
    },
    /// A re-INVITE changed the peer's SDP address. If it differs from the latched address the
    /// latch reopens.
    UpdateRemote {
        /// The leg.
        leg: LegId,
        /// The new RTP address from SDP (`None` for a hold without address).
        remote: Option<SocketAddr>,
    },
    /// Relays RTP between two legs in both directions; codecs are transcoded if they differ
    /// and telephone-event payload types are rewritten. Any earlier bridge of either leg ends.
    Bridge(LegId, LegId),
    /// Ends the bridge this leg is in (both directions).
    Unbridge(LegId),
    /// Removes a leg; a [`MediaEvent::Quality`] with its final numbers follows.
    RemoveLeg(LegId),
}

/// Something call control should know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// No RTP arrived on the leg for the configured time after its media had started.
    RtpTimeout {
        /// The silent leg.
        leg: LegId,
    },
    /// Final (or requested) numbers of a leg.
    Quality {
        /// The leg.
        leg: LegId,
        /// Its counters.
        counters: LegCounters,
    },
    /// A command could not be carried out.
    CommandRejected {
        /// The leg named by the command.
        leg: LegId,
        /// What was wrong.
        reason: String,
    },
}

/// The media engine. See the module documentation for the driving loop.
#[derive(Debug)]
pub struct MediaEngine {
    config: EngineConfig,
    now: Instant,
    legs: HashMap<LegId, leg::Leg>,
    out: VecDeque<Output>,
    next_housekeeping: Instant,
}

impl MediaEngine {
    /// Creates an engine; `now` is the current time.
    pub fn new(config: EngineConfig, now: Instant) -> Self {
        MediaEngine {
            config,
            now,
            legs: HashMap::new(),
            out: VecDeque::new(),
            next_housekeeping: now + HOUSEKEEPING,
        }
    }

    /// Feeds one input. Drain [`MediaEngine::poll_output`] afterwards.
    pub fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Timeout(now) => {
                self.advance(now);
                self.run_timers();
            }
            Input::Rtp {
                now,
                leg,
                from,
                bytes,
            } => {
                self.advance(now);
                self.handle_rtp(leg, from, bytes);
            }
            Input::Command(cmd) => self.handle_command(cmd),
        }
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

    /// The number of legs.
    pub fn leg_count(&self) -> usize {
        self.legs.len()
    }

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    fn next_deadline(&self) -> Instant {
        self.next_housekeeping
    }

    fn run_timers(&mut self) {
        if self.now >= self.next_housekeeping {
            self.check_rtp_timeouts();
            while self.next_housekeeping <= self.now {
                self.next_housekeeping += HOUSEKEEPING;
            }
        }
    }

    fn check_rtp_timeouts(&mut self) {
        let limit = self.config.rtp_timeout;
        let now = self.now;
        let mut silent: Vec<LegId> = self
            .legs
            .iter_mut()
            .filter_map(|(id, leg)| {
                let last = leg.last_rx?;
                if !leg.timeout_reported && now.saturating_duration_since(last) >= limit {
                    leg.timeout_reported = true;
                    Some(*id)
                } else {
                    None
                }
            })
            .collect();
        silent.sort();
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

    fn handle_command(&mut self, cmd: MediaCommand) {
        match cmd {
            MediaCommand::AddLeg {
                leg,
                remote,
                codec,
                telephone_event_pt,
            } => {
                if self.legs.contains_key(&leg) {
                    self.reject(leg, format!("AddLeg: {leg} exists already"));
                    return;
                }
                let mut seed = self.config.seed ^ leg.0.wrapping_mul(0xA24B_AED4_963E_E407);
                let tx = RtpStream::from_seed(rtp::splitmix64(&mut seed));
                self.legs
                    .insert(leg, leg::Leg::new(codec, telephone_event_pt, remote, tx));
            }
            MediaCommand::UpdateRemote { leg, remote } => match self.legs.get_mut(&leg) {
                Some(l) => l.update_remote(remote),
                None => self.reject(leg, format!("UpdateRemote: no {leg}")),
            },
            MediaCommand::Bridge(a, b) => self.bridge(a, b),
            MediaCommand::Unbridge(a) => self.unbridge(a),
            MediaCommand::RemoveLeg(leg) => {
                self.unbridge(leg);
                match self.legs.remove(&leg) {
                    Some(l) => self.emit(MediaEvent::Quality {
                        leg,
                        counters: l.counters,
                    }),
                    None => self.reject(leg, format!("RemoveLeg: no {leg}")),
                }
            }
        }
    }

    fn bridge(&mut self, a: LegId, b: LegId) {
        for id in [a, b] {
            if !self.legs.contains_key(&id) {
                self.reject(id, format!("Bridge({a}, {b}): no {id}"));
                return;
            }
        }
        if a == b {
            self.reject(
                a,
                format!("Bridge({a}, {b}): a leg cannot be bridged to itself"),
            );
            return;
        }
        self.unbridge(a);
        self.unbridge(b);
        if let Some(l) = self.legs.get_mut(&a) {
            l.bridge = Some(b);
        }
        if let Some(l) = self.legs.get_mut(&b) {
            l.bridge = Some(a);
        }
    }

    fn unbridge(&mut self, a: LegId) {
        let peer = self.legs.get_mut(&a).and_then(|l| l.bridge.take());
        if let Some(p) = peer
            && let Some(l) = self.legs.get_mut(&p)
            && l.bridge == Some(a)
        {
            l.bridge = None;
        }
    }

    fn handle_rtp(&mut self, id: LegId, from: SocketAddr, bytes: &[u8]) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if rtp::is_rtcp(bytes) {
            leg.counters.rtcp_in += 1;
            return;
        }
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
        leg.last_rx = Some(self.now);
        leg.timeout_reported = false;
        let source = relay::Source {
            codec: leg.codec,
            telephone_event_pt: leg.telephone_event_pt,
        };
        if let Some(peer_id) = leg.bridge
            && let Some(peer) = self.legs.get_mut(&peer_id)
            && let Some(out) = relay::forward(&source, peer, &packet, bytes)
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
