//! An in-memory world for whole-call tests of the PBX.
//!
//! The PBX runs exactly as `switchboard serve` drives it: its own SIP
//! [`Endpoint`], a [`Pbx`] fed with every endpoint event, and a drain loop
//! that carries out every [`Output`] (database writes are answered at once,
//! unless a test holds them). Scripted phones are SIP endpoints acting as user
//! agents at their own addresses; the test tells each phone what to send and
//! inspects what it received. Datagrams are delivered by address after one
//! millisecond, and the virtual clock jumps to the earliest deadline of all
//! parties, so a 30-second ring timeout takes microseconds.
//!
//! Everything the PBX asks of the media engine, the call-record store and
//! the settings table is recorded for assertions; media commands can be read
//! as one-line descriptions (`Bridge 1 2`) so tests read like transcripts.
//! The media commands also drive a real media engine (`audio.rs`): prompts
//! end when their audio has been sent, and digits come from RTP the phones
//! send (`keypad.rs`).
#![allow(dead_code)]

mod audio;
mod describe;
mod directory;
pub mod hotel;
mod keypad;
mod phone;
mod plan;
pub mod queue;

#[allow(unused_imports)]
pub use audio::RtpCounters;
pub use describe::{describe_media, first_line};
#[allow(unused_imports)]
pub use keypad::{Heard, PbxMedia};
#[allow(unused_imports)]
pub use plan::{LoadPrompts, default_plan, music_classes, pbx_config, plan_from_str, repo_root};

pub use directory::PlanDirectory;
#[allow(unused_imports)]
pub use keypad::phone_sdp;
#[allow(unused_imports)]
pub use phone::{Incoming, Leg, Outgoing, PhoneId};

use media::{LegId, MediaCommand, MediaEvent};
use pbx::{Attendant, CdrEvent, OperatorChangeKind, Output, Pbx, PbxEvent, PortPool};
use sip::auth::{AuthConfig, AuthGuard, Authenticator};
use sip::endpoint::{Endpoint, EndpointConfig, Peer, ServerTxId, Transport};
use sip::message::Response;
use sip::registrar::BindingChange;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the PBX's SIP socket is.
pub const PBX_ADDR: &str = "10.0.0.1:5060";
/// The address the PBX advertises in SDP and Contact (its public address behind NAT).
pub const PUBLIC_IP: &str = "203.0.113.5";
/// The first RTP port of the PBX's pool.
pub const RTP_LOW: u16 = 20000;
/// Unix milliseconds at the world's start (2026-01-01 12:00 UTC).
pub const WALL_START_MS: i64 = 1_767_268_800_000;
/// How long a datagram travels.
pub const LATENCY: Duration = Duration::from_millis(1);

/// The one real instant a test reads; everything after it is arithmetic.
#[allow(clippy::disallowed_methods)]
pub fn t0() -> Instant {
    Instant::now()
}

/// A database write the test holds back (see [`World::hold_persists`]).
#[derive(Debug)]
pub struct HeldPersist {
    /// The binding changes.
    pub changes: Vec<BindingChange>,
    /// The response to send once written.
    pub then: Option<(ServerTxId, Response)>,
}

/// The PBX, the phones, the network and the clock.
pub struct World {
    /// The virtual time.
    pub now: Instant,
    start: Instant,
    /// The PBX's SIP endpoint.
    pub ep: Endpoint,
    /// The PBX.
    pub pbx: Pbx,
    pub(crate) phones: Vec<phone::Phone>,
    in_flight: Vec<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    audio: audio::Audio,
    /// Every media command, in order.
    pub media: Vec<MediaCommand>,
    media_seen: usize,
    /// Every call-record event, in order.
    pub cdrs: Vec<CdrEvent>,
    /// Every `SaveSetting` output.
    pub settings: Vec<(&'static str, Option<String>)>,
    /// Every operator shift-log event: (operator, event).
    pub operator_events: Vec<(String, &'static str)>,
    /// Every queue record the PBX emitted, in order (each is the record's whole state then).
    pub queue_records: Vec<pbx::QueueRecord>,
    /// Do-not-disturb and forwarding changes made from phones, in order.
    pub line_changes: Vec<pbx::LineChange>,
    /// Background-music overrides set, in order.
    pub music_changes: Vec<pbx::MusicChange>,
    /// RTP sockets opened: (leg, port).
    pub rtp_opened: Vec<(LegId, u16)>,
    /// RTP sockets closed.
    pub rtp_closed: Vec<LegId>,
    /// Binding changes written to the "database".
    pub persisted: Vec<BindingChange>,
    hold_persists: bool,
    /// Database writes held back while [`World::hold_persists`] is on.
    pub held: Vec<HeldPersist>,
    /// "+12ms 201>pbx INVITE sip:202@…" for every datagram, for failure messages.
    pub log: Vec<String>,
    log_seen: usize,
}

impl World {
    /// The shipped dialplan with the attendant installed.
    pub fn with_default_plan() -> World {
        let (plan, prompts) = default_plan();
        World::new(plan, prompts)
    }

    /// A world around `plan`, with the attendant installed.
    pub fn new(plan: dialplan::Plan, prompts: media::prompt::PromptCache) -> World {
        let start = t0();
        let audio = audio::Audio::new(start, plan.prompt_dir());
        let plan = Arc::new(plan);
        let config = pbx_config(&plan);
        let ep = Endpoint::new(EndpointConfig {
            local: config.contacts.clone(),
            rng_seed: sip::endpoint::seed_from_u64(7),
            ..EndpointConfig::default()
        });
        let auth = Authenticator::new(
            AuthConfig::new(
                plan.settings().realm.clone(),
                b"a test secret of at least 32 bytes!".to_vec(),
            ),
            start,
        );
        let mut pbx = Pbx::new(
            config,
            Arc::new(PlanDirectory(plan.clone())),
            auth,
            AuthGuard::new(Default::default()),
            PortPool::new(RTP_LOW, RTP_LOW + 99, sip::endpoint::seed_from_u64(7)),
        );
        pbx.set_attendant(Attendant {
            music: plan::music_classes(&plan),
            plan,
            prompts: Arc::new(prompts),
        });
        World {
            now: start,
            start,
            ep,
            pbx,
            phones: Vec::new(),
            in_flight: Vec::new(),
            audio,
            media: Vec::new(),
            media_seen: 0,
            cdrs: Vec::new(),
            settings: Vec::new(),
            operator_events: Vec::new(),
            queue_records: Vec::new(),
            line_changes: Vec::new(),
            music_changes: Vec::new(),
            rtp_opened: Vec::new(),
            rtp_closed: Vec::new(),
            persisted: Vec::new(),
            hold_persists: false,
            held: Vec::new(),
            log: Vec::new(),
            log_seen: 0,
        }
    }

    /// The PBX's SIP address.
    pub fn pbx_addr() -> SocketAddr {
        PBX_ADDR.parse().expect("pbx addr")
    }

    /// The public address in SDP.
    pub fn public_ip() -> IpAddr {
        PUBLIC_IP.parse().expect("public ip")
    }

    /// The wall-clock time the PBX is told, in unix ms.
    pub fn wall_ms(&self) -> i64 {
        WALL_START_MS + (self.now - self.start).as_millis() as i64
    }

    /// Time since the world started.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Holds database writes (`Persist`) until [`World::release_persists`].
    pub fn hold_persists(&mut self, hold: bool) {
        self.hold_persists = hold;
    }

    /// Completes the held database writes: the PBX's responses go out.
    pub fn release_persists(&mut self) {
        let held = std::mem::take(&mut self.held);
        for h in held {
            self.persisted.extend(h.changes);
            if let Some((tx, resp)) = h.then {
                self.ep.respond(self.now, tx, resp);
            }
        }
        self.drain_pbx();
    }

    /// Feeds a media-engine event to the PBX that no audio causes in this
    /// world (an RTP timeout, a socket that could not be opened).
    pub fn media_event(&mut self, event: MediaEvent) {
        let wall = self.wall_ms();
        self.pbx.handle_media(self.now, wall, &mut self.ep, event);
        self.drain_pbx();
        self.settle();
    }

    /// Media commands issued since the last call (after the network settled),
    /// as one-line descriptions.
    pub fn take_media(&mut self) -> Vec<String> {
        self.settle();
        let lines = self.media[self.media_seen..]
            .iter()
            .map(describe_media)
            .collect();
        self.media_seen = self.media.len();
        lines
    }

    /// The legs of `AddLeg` commands, in order.
    pub fn added_legs(&self) -> Vec<(LegId, Option<SocketAddr>)> {
        self.media
            .iter()
            .filter_map(|c| match c {
                MediaCommand::AddLeg { leg, remote, .. } => Some((*leg, *remote)),
                _ => None,
            })
            .collect()
    }

    /// The leg of the latest `AddLeg` that named `remote` as the peer's RTP address.
    pub fn leg_towards(&self, remote: SocketAddr) -> LegId {
        self.added_legs()
            .into_iter()
            .rev()
            .find(|(_, r)| *r == Some(remote))
            .map(|(l, _)| l)
            .unwrap_or_else(|| {
                self.fail(&format!(
                    "expected an AddLeg towards {remote}, found {:?}",
                    self.added_legs()
                ))
            })
    }

    /// The network transcript since the last call, without timestamps:
    /// `201>pbx INVITE sip:202@10.0.0.1:5060`, `pbx>201 407 INVITE`.
    pub fn take_ladder(&mut self) -> Vec<String> {
        self.settle();
        let lines = self.log[self.log_seen..]
            .iter()
            .map(|l| {
                l.split_once(' ')
                    .map_or(l.clone(), |(_, rest)| rest.to_string())
            })
            .collect();
        self.log_seen = self.log.len();
        lines
    }

    /// Call-record events as one-line descriptions (`Ended answered by caller`).
    pub fn cdr_lines(&self) -> Vec<String> {
        self.cdrs
            .iter()
            .filter_map(|c| match c {
                CdrEvent::Started { caller, callee, .. } => {
                    Some(format!("Started {caller}->{callee}"))
                }
                CdrEvent::Answered { .. } => Some("Answered".to_string()),
                CdrEvent::Ended {
                    outcome, hangup_by, ..
                } => Some(format!(
                    "Ended {} by {}",
                    outcome.as_str(),
                    hangup_by.map_or("nobody", |p| p.as_str())
                )),
                CdrEvent::Digits { digits, .. } => Some(format!("Digits {digits}")),
                CdrEvent::Quality { .. } => None,
                CdrEvent::CallerNamed { name, .. } => Some(format!("Named {name}")),
                CdrEvent::Forwarded {
                    from, to, reason, ..
                } => Some(format!("Forwarded {from}->{to} {}", reason.as_str())),
            })
            .collect()
    }

    /// Panics with `msg` and the network transcript.
    pub fn fail(&self, msg: &str) -> ! {
        panic!(
            "{msg}\n--- network transcript ---\n{}\n--- rtp ---\n{:?}\n--- media ---\n{}",
            self.log.join("\n"),
            self.audio.counters,
            self.media
                .iter()
                .map(describe_media)
                .collect::<Vec<_>>()
                .join("\n")
        )
    }

    /// Delivers every datagram in flight (and fires timers due on the way)
    /// until the network is quiet.
    pub fn settle(&mut self) {
        self.collect_phones();
        let mut guard = 0;
        while !self.in_flight.is_empty() {
            guard += 1;
            if guard > 10_000 {
                self.fail("the network never went quiet (a message loop?)");
            }
            self.step();
        }
    }

    /// Runs the world for `d` of virtual time: deliveries and every timer due.
    pub fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        self.collect_phones();
        let mut guard = 0;
        while let Some(next) = self.next_event().filter(|t| *t <= until) {
            guard += 1;
            if guard > 1_000_000 {
                self.fail("too many events while advancing the clock");
            }
            let _ = next;
            self.step();
        }
        self.now = until;
    }

    fn next_event(&self) -> Option<Instant> {
        self.in_flight
            .iter()
            .map(|(at, ..)| *at)
            .chain(self.audio.next_event())
            .chain(self.ep.poll_timeout())
            .chain(self.pbx.poll_timeout())
            .chain(self.phones.iter().filter_map(|p| p.ep.poll_timeout()))
            .min()
    }

    /// Jumps to the next delivery or deadline and processes everything due then.
    fn step(&mut self) {
        let Some(next) = self.next_event() else {
            return;
        };
        self.now = self.now.max(next);
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|(at, ..)| *at <= now);
        self.in_flight = later;
        for (_, from, to, bytes) in due {
            self.deliver(from, to, &bytes);
        }
        for d in self.audio.take_due(now) {
            self.deliver_rtp(d);
        }
        self.audio.run_timers(now);
        self.drain_pbx();
        let pbx_due = [self.ep.poll_timeout(), self.pbx.poll_timeout()]
            .into_iter()
            .flatten()
            .any(|t| t <= now);
        if pbx_due {
            let wall = self.wall_ms();
            self.ep.handle_timeout(now);
            self.drain_pbx();
            self.pbx.handle_timeout(now, wall, &mut self.ep);
            self.drain_pbx();
        }
        for p in &mut self.phones {
            if p.ep.poll_timeout().is_some_and(|t| t <= now) {
                p.ep.handle_timeout(now);
            }
        }
        self.collect_phones();
    }

    fn name_of(&self, addr: SocketAddr) -> String {
        if addr == World::pbx_addr() {
            return "pbx".into();
        }
        self.phones
            .iter()
            .find(|p| p.addr == addr)
            .map_or_else(|| addr.to_string(), |p| p.label.clone())
    }

    fn deliver(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        let peer = Peer {
            transport: Transport::Udp,
            addr: from,
            conn: None,
        };
        if to == World::pbx_addr() {
            self.ep.handle_bytes(self.now, peer, bytes);
            self.drain_pbx();
            return;
        }
        match self.phones.iter_mut().find(|p| p.addr == to) {
            Some(p) => {
                if from == World::pbx_addr() {
                    p.keypad.learn(bytes, p.telephone_event);
                }
                p.ep.handle_bytes(self.now, peer, bytes);
                p.pull_events();
            }
            None => {
                let ms = self.elapsed().as_millis();
                self.log.push(format!(
                    "+{ms}ms UNDELIVERABLE to {to}: {}",
                    first_line(bytes)
                ));
            }
        }
    }

    /// Puts the phones' outgoing datagrams on the network.
    pub(crate) fn collect_phones(&mut self) {
        let mut out = Vec::new();
        for p in &mut self.phones {
            p.pull_events();
            while let Some(t) = p.ep.poll_transmit() {
                out.push((p.addr, t.to.addr, t.bytes));
            }
        }
        for (from, to, bytes) in out {
            self.send(from, to, bytes);
        }
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        let ms = self.elapsed().as_millis();
        self.log.push(format!(
            "+{ms}ms {}>{} {}",
            self.name_of(from),
            self.name_of(to),
            first_line(&bytes)
        ));
        self.in_flight.push((self.now + LATENCY, from, to, bytes));
    }

    /// The server's drain loop ([`pbx::drain`]): endpoint events to the PBX, PBX
    /// outputs carried out, the engine's events to the PBX, transmits onto the network,
    /// until nothing moves.
    pub fn drain_pbx(&mut self) {
        pbx::drain(self);
    }

    /// Keeps a PBX event where the tests look for it, as the server's store would.
    fn record_event(&mut self, event: PbxEvent) {
        match event {
            PbxEvent::Call(ev) => self.cdrs.push(ev),
            PbxEvent::Queue(record) => self.queue_records.push(record),
            PbxEvent::Operator(change) => {
                let kind = match change.kind {
                    OperatorChangeKind::Login => "login",
                    OperatorChangeKind::Logout => "logout",
                    OperatorChangeKind::Pause => "pause",
                    OperatorChangeKind::Unpause => "unpause",
                };
                self.operator_events.push((change.operator, kind));
            }
            PbxEvent::Mode(change) => self.settings.push((
                pbx::MODE_OVERRIDE_KEY,
                change.mode.map(|m| Pbx::mode_name(m).to_string()),
            )),
            PbxEvent::Line(change) => self.line_changes.push(change),
            PbxEvent::Music(change) => self.music_changes.push(change),
        }
    }

    fn carry_out(&mut self, out: Output) {
        match out {
            Output::OpenRtp { leg, port } => {
                self.audio.open(leg, port);
                self.rtp_opened.push((leg, port));
            }
            Output::CloseRtp { leg } => {
                self.audio.close(leg);
                self.rtp_closed.push(leg);
            }
            Output::Media(cmd) => {
                self.audio.command(self.now, cmd.clone());
                self.media.push(cmd);
            }
            Output::Persist { changes, then } => {
                if self.hold_persists {
                    self.held.push(HeldPersist { changes, then });
                } else {
                    self.persisted.extend(changes);
                    if let Some((tx, resp)) = then {
                        self.ep.respond(self.now, tx, resp);
                    }
                }
            }
            Output::Event(event) => self.record_event(event),
        }
    }
}

/// The shipped dialplan with two desk phones registered: 201 at
/// 10.0.0.21 (RTP 4000) and 202 at 10.0.0.22 (RTP 6000).
#[allow(dead_code)] // not every test binary uses it
pub struct Office {
    /// The world.
    pub w: World,
    /// Extension 201's phone.
    pub p201: PhoneId,
    /// Extension 202's phone.
    pub p202: PhoneId,
}

/// Builds an [`Office`].
#[allow(dead_code)] // not every test binary uses it
pub fn office() -> Office {
    let mut w = World::with_default_plan();
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    let p202 = w.add_phone("202", "202", "202", "secret202", "10.0.0.22:5060", 6000);
    w.register(p201);
    w.register(p202);
    Office { w, p201, p202 }
}

impl pbx::Driver for World {
    fn parts(&mut self) -> (&mut Pbx, &mut Endpoint) {
        (&mut self.pbx, &mut self.ep)
    }

    fn now(&mut self) -> (Instant, i64) {
        (self.now, self.wall_ms())
    }

    fn output(&mut self, output: Output) {
        self.carry_out(output);
    }

    fn transmit(&mut self, t: sip::endpoint::Transmit) {
        self.send(World::pbx_addr(), t.to.addr, t.bytes);
    }

    fn media_event(&mut self) -> Option<MediaEvent> {
        self.audio.events.pop_front()
    }
}
