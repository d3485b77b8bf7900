//! The real media engine inside the world.
//!
//! Every media command the PBX issues is recorded (for the transcripts) and
//! handed to a [`MediaEngine`], as the server's media thread does. Each leg's
//! RTP socket is the PBX's public address at the port the PBX opened for it
//! ([`World::pbx_rtp`]), the same address the PBX writes into its SDP. The
//! engine's deadlines are part of the world's virtual clock, its events go to
//! `pbx.handle_media`, and what it transmits travels on the simulated network
//! (one millisecond) to the phone whose RTP address it names; phones send RTP
//! to the leg's address the same way (see `keypad.rs`). RTP never appears in
//! the SIP transcript (`World::log`); [`RtpCounters`] counts it instead.
//!
//! The engine's RTP timeout is an hour: scripted phones send RTP only when a
//! test presses a key, so a real timeout would end every call some seconds
//! after the first key. Tests of the timeout feed the event themselves.

use super::{LATENCY, World};
use media::prompt::{MohClass, Prompt};
use media::{EngineConfig, Input, LegId, MediaCommand, MediaEngine, MediaEvent, Output};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A datagram on its way.
#[derive(Debug)]
pub(crate) struct Datagram {
    pub at: Instant,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// What RTP went where (RTP is kept out of the SIP transcript).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RtpCounters {
    /// RTP packets the engine sent that reached a phone.
    pub to_phones: usize,
    /// RTP packets phones sent that reached a leg of the engine.
    pub from_phones: usize,
    /// RTCP reports the engine sent (dropped: phones do not read RTCP).
    pub rtcp: usize,
    /// Packets addressed to nobody (no phone at the address, or no leg at the port).
    pub undeliverable: usize,
}

/// The engine and the RTP part of the network.
pub(crate) struct Audio {
    pub engine: MediaEngine,
    deadline: Instant,
    /// Engine events not yet given to the PBX.
    pub events: VecDeque<MediaEvent>,
    /// Open RTP sockets: leg → port, port → leg.
    ports: BTreeMap<LegId, u16>,
    legs: BTreeMap<u16, LegId>,
    /// RTP datagrams in flight (engine → phone and phone → engine).
    pub in_flight: Vec<Datagram>,
    pub counters: RtpCounters,
    /// Every `PlayFinished` the engine reported, in order.
    pub finished: Vec<LegId>,
}

/// The ringback tone as the server makes it: 440 + 480 Hz, two seconds on, four off.
fn ringback() -> Arc<Prompt> {
    const RATE: usize = 8000;
    let mut samples = vec![0i16; RATE * 6];
    for (i, s) in samples.iter_mut().take(RATE * 2).enumerate() {
        let t = i as f64 / RATE as f64;
        let v = (2.0 * std::f64::consts::PI * 440.0 * t).sin()
            + (2.0 * std::f64::consts::PI * 480.0 * t).sin();
        *s = (v * 0.5 * 0.158 * i16::MAX as f64) as i16;
    }
    Arc::new(Prompt::from_samples("ringback", &samples, RATE as u32))
}

/// The music-on-hold classes under `<prompt dir>/moh/`, decoded once per test binary.
fn moh_classes(prompt_dir: &Path) -> Vec<MohClass> {
    static CACHE: OnceLock<Mutex<BTreeMap<std::path::PathBuf, Vec<MohClass>>>> = OnceLock::new();
    let root = prompt_dir.join("moh");
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry(root.clone())
        .or_insert_with(|| {
            if !root.is_dir() {
                return Vec::new();
            }
            media::PromptCache::new()
                .load_moh_classes(&root)
                .unwrap_or_else(|e| panic!("expected music on hold under {}: {e}", root.display()))
        })
        .clone()
}

impl Audio {
    /// An engine with the plan's music-on-hold classes and the ringback class defined.
    pub fn new(now: Instant, prompt_dir: &Path) -> Audio {
        let engine = MediaEngine::new(
            EngineConfig {
                seed: 11,
                rtp_timeout: Duration::from_secs(3600),
                ..EngineConfig::default()
            },
            now,
        );
        let mut audio = Audio {
            engine,
            deadline: now,
            events: VecDeque::new(),
            ports: BTreeMap::new(),
            legs: BTreeMap::new(),
            in_flight: Vec::new(),
            counters: RtpCounters::default(),
            finished: Vec::new(),
        };
        for (class, prompts) in moh_classes(prompt_dir) {
            audio.command(now, MediaCommand::DefineMoh { class, prompts });
        }
        audio.command(
            now,
            MediaCommand::DefineMoh {
                class: pbx::RINGBACK_CLASS.into(),
                prompts: vec![ringback()],
            },
        );
        audio
    }

    /// The earliest instant something happens here.
    pub fn next_event(&self) -> Option<Instant> {
        self.in_flight
            .iter()
            .map(|d| d.at)
            .chain(Some(self.deadline))
            .min()
    }

    /// Gives the engine a command (at `now`) and collects what follows.
    pub fn command(&mut self, now: Instant, cmd: MediaCommand) {
        self.engine.handle_input(Input::Timeout(now));
        self.engine.handle_input(Input::Command(cmd));
        self.pump(now);
    }

    /// Runs the engine's timers if they are due.
    pub fn run_timers(&mut self, now: Instant) {
        if self.deadline <= now {
            self.engine.handle_input(Input::Timeout(now));
            self.pump(now);
        }
    }

    /// The PBX opened the RTP socket of `leg`.
    pub fn open(&mut self, leg: LegId, port: u16) {
        self.ports.insert(leg, port);
        self.legs.insert(port, leg);
    }

    /// The PBX closed the RTP socket of `leg`.
    pub fn close(&mut self, leg: LegId) {
        if let Some(port) = self.ports.remove(&leg) {
            self.legs.remove(&port);
        }
    }

    /// The leg whose socket is at `port`.
    pub fn leg_at(&self, port: u16) -> Option<LegId> {
        self.legs.get(&port).copied()
    }

    /// The port of `leg`'s socket.
    pub fn port_of(&self, leg: LegId) -> Option<u16> {
        self.ports.get(&leg).copied()
    }

    /// A datagram from a phone reached the socket of `leg`.
    pub fn receive(&mut self, now: Instant, leg: LegId, from: SocketAddr, bytes: &[u8]) {
        self.counters.from_phones += 1;
        self.engine.handle_input(Input::Rtp {
            now,
            leg,
            from,
            bytes,
        });
        self.pump(now);
    }

    /// Takes the datagrams due at `now`, in the order they were sent.
    pub fn take_due(&mut self, now: Instant) -> Vec<Datagram> {
        let (due, later) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|d| d.at <= now);
        self.in_flight = later;
        due
    }

    /// Moves the engine's outputs: RTP onto the network, events to the queue.
    fn pump(&mut self, now: Instant) {
        loop {
            match self.engine.poll_output() {
                Output::Transmit { leg, to, bytes } => match self.ports.get(&leg) {
                    Some(port) => self.in_flight.push(Datagram {
                        at: now + LATENCY,
                        from: SocketAddr::new(World::public_ip(), *port),
                        to,
                        bytes,
                    }),
                    None => self.counters.undeliverable += 1,
                },
                Output::TransmitRtcp { .. } => self.counters.rtcp += 1,
                Output::Event(event) => {
                    if let MediaEvent::PlayFinished { leg } = &event {
                        self.finished.push(*leg);
                    }
                    self.events.push_back(event);
                }
                Output::Timeout(at) => {
                    self.deadline = at;
                    break;
                }
            }
        }
    }
}

impl World {
    /// The PBX's RTP address of `leg` (its public address, as in SDP, at the leg's port).
    pub fn pbx_rtp(&self, leg: LegId) -> Option<SocketAddr> {
        self.audio
            .port_of(leg)
            .map(|port| SocketAddr::new(World::public_ip(), port))
    }

    /// How much RTP went where.
    pub fn rtp_counters(&self) -> RtpCounters {
        self.audio.counters
    }

    /// The media engine (counters, latches, quality of legs).
    pub fn engine(&self) -> &MediaEngine {
        &self.audio.engine
    }

    /// Runs the clock until the prompt playing on `leg` ends (the engine reports
    /// `PlayFinished` when the audio has been sent) and the network settled.
    pub fn play_out(&mut self, leg: LegId) {
        let seen = self.audio.finished.iter().filter(|l| **l == leg).count();
        let limit = self.now + Duration::from_secs(300);
        self.collect_phones();
        while self.audio.finished.iter().filter(|l| **l == leg).count() == seen {
            if self.next_event().is_none_or(|t| t > limit) {
                self.fail(&format!("expected a prompt on leg {} to end", leg.0));
            }
            self.step();
        }
        self.settle();
    }

    /// Delivers an RTP datagram: to the engine's leg at the port, or to the phone at the address.
    pub(crate) fn deliver_rtp(&mut self, d: Datagram) {
        if d.to.ip() == World::public_ip() {
            match self.audio.leg_at(d.to.port()) {
                Some(leg) => self.audio.receive(self.now, leg, d.from, &d.bytes),
                None => self.audio.counters.undeliverable += 1,
            }
            return;
        }
        match self.phones.iter_mut().find(|p| p.rtp == d.to) {
            Some(p) => {
                self.audio.counters.to_phones += 1;
                p.heard.receive(&d.bytes);
            }
            None => self.audio.counters.undeliverable += 1,
        }
    }
}
