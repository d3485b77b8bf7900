//! Switchboard's call control and features: the transaction user on top of
//! [`sip::endpoint::Endpoint`].
//!
//! The `Pbx` is sans-IO like the layers below it: the server hands it SIP
//! events, media events and the current time, lends it the endpoint to
//! send through, and drains [`Output`]s that ask for sockets, media
//! commands and database writes, and report what happened ([`PbxEvent`]).
//! It never reads a clock, opens a socket or awaits a database.
//!
//! ```text
//! server loop:  ep.handle_bytes(..) | pbx.handle_media(..) | pbx.handle_timeout(..) ; pbx::drain(&mut driver)
//!               sleep until min(ep.poll_timeout(), pbx.poll_timeout())
//! ```
//!
//! Layers, each using only the ones below it:
//! - the `Pbx` here: the public face; it routes each input and lends the two parts below
//!   to each other;
//! - `features`: the attendant, the operator queue (`queue` is its state machine),
//!   transfers, hold, conferences, recording, announcements;
//! - `control`: call control (registrations, calls, legs, placed calls), which reports
//!   to the features through the `control::Features` trait;
//! - leaves: [`sdp`], `ctx`, `headers`, `ports`, `directory`, `record`, `event`, `originate`, [`hotel`].
//!
//! [`drain`] is the loop that moves work between the endpoint, the PBX and a [`Driver`]
//! (the server, or the test world).

mod control;
mod ctx;
mod directory;
mod driver;
mod event;
mod features;
mod headers;
pub mod hotel;
mod originate;
mod ports;
mod queue;
mod record;
pub mod sdp;

pub use control::RINGBACK_CLASS;
pub use directory::{Directory, Identity, PlanDirectory};
pub use driver::{Driver, drain};
pub use event::{
    LineChange, LineChangeKind, ModeChange, MusicChange, OperatorChange, OperatorChangeKind,
    PbxEvent,
};
pub use features::background_music::{MusicError, MusicStatus, override_key as music_override_key};
pub use originate::{Announcement, CallOrigin, Originate, OriginateError, Purpose, PurposeKind};
pub use ports::PortPool;
pub use queue::view::{
    OperatorActivity, OperatorStatus, QueueOutcome, QueueRecord, QueueSnapshot, TransferKind,
    TransferNote, TransferResult, WaitingCaller,
};
pub use record::{CallKey, CallSummary, CdrEvent, LegRole, LiveState, Outcome, Party};

use control::Core;
use features::Apps;
use media::{LegId, MediaCommand, MediaEvent};
use sip::auth::{AuthGuard, Authenticator};
use sip::endpoint::{Endpoint, Event, Peer, ServerTxId, Transport};
use sip::message::{Method, Request, Response};
use sip::registrar::{Binding, BindingChange, RegistrarPolicy};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the attendant needs besides the directory: the plan whose interpreter
/// runs each call, and its prompts decoded once.
#[derive(Clone)]
pub struct Attendant {
    /// The validated dialplan.
    pub plan: Arc<dialplan::Plan>,
    /// Every prompt the plan names, decoded (keyed by the path the plan uses).
    pub prompts: Arc<media::prompt::PromptCache>,
    /// The music-on-hold classes by name, decoded (a paging group's background music).
    pub music: Arc<std::collections::HashMap<String, Vec<Arc<media::prompt::Prompt>>>>,
}

/// The settings key under which the operator's attendant-mode override is stored.
pub const MODE_OVERRIDE_KEY: &str = "attendant_mode_override";

/// Methods we answer, for Allow headers.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, REFER, NOTIFY";

/// Settings the PBX needs; rebuilt by the server when the dialplan reloads.
#[derive(Debug, Clone)]
pub struct PbxConfig {
    /// The address written into SDP and Contact headers (the public address behind NAT).
    pub public_ip: IpAddr,
    /// Our SIP listening addresses per transport, as advertised in Contact.
    pub contacts: Vec<(Transport, SocketAddr)>,
    /// Codecs in the admin's order of preference.
    pub codecs: Vec<sdp::Codec>,
    /// How long an extension may ring before the caller gets 480.
    pub ring_timeout: Duration,
    /// Concurrent calls allowed before new ones get 503.
    pub max_concurrent_calls: usize,
    /// New calls per second allowed before new ones get 503.
    pub max_calls_per_second: u32,
    /// Registration expiry limits.
    pub registrar: RegistrarPolicy,
    /// Seconds a rejected caller is told to wait (Retry-After on 503).
    pub retry_after_secs: u32,
}

/// What the server must carry out for the PBX.
#[derive(Debug)]
pub enum Output {
    /// Bind a UDP socket for RTP on `port` and feed its packets to the media engine as `leg`.
    OpenRtp {
        /// The leg the socket belongs to.
        leg: LegId,
        /// The local port.
        port: u16,
    },
    /// Close the leg's RTP socket.
    CloseRtp {
        /// The leg.
        leg: LegId,
    },
    /// A command for the media engine.
    Media(MediaCommand),
    /// Write these registration changes to the database, then send the response (if any).
    Persist {
        /// Binding changes.
        changes: Vec<BindingChange>,
        /// The response to send once the write is durable.
        then: Option<(ServerTxId, Response)>,
    },
    /// Something happened (a call record event, an operator's change, …): for the
    /// store, the log and any other consumer.
    Event(PbxEvent),
}

impl Output {
    /// A call record event.
    pub(crate) fn call(event: CdrEvent) -> Output {
        Output::Event(PbxEvent::Call(event))
    }
}

/// The PBX: call control and the features on top of it.
pub struct Pbx {
    core: Core,
    apps: Apps,
}

impl Pbx {
    /// A PBX with no registrations and no calls.
    pub fn new(
        config: PbxConfig,
        directory: Arc<dyn Directory>,
        auth: Authenticator,
        guard: AuthGuard,
        ports: PortPool,
    ) -> Self {
        Pbx {
            core: Core::new(config, directory, auth, guard, ports),
            apps: Apps::default(),
        }
    }

    /// Sets the directory call and conference recordings are written to (default
    /// `data/recordings`). The server creates it; the media engine's recorder writes the files.
    pub fn set_recordings_dir(&mut self, dir: std::path::PathBuf) {
        self.apps.recordings_dir = dir;
    }

    /// Installs (or replaces) the attendant. New calls run its plan; calls in
    /// progress keep the plan they started with.
    pub fn set_attendant(&mut self, attendant: Attendant) {
        self.core.position = attendant.plan.operators().position.clone();
        self.apps.attendant = Some(attendant);
    }

    /// Applies a committed change of the hotel state (guests in rooms, do-not-disturb and
    /// forwarding); new calls route by it at once.
    pub fn update_hotel(&mut self, update: hotel::HotelUpdate) {
        self.apps.hotel.apply(update);
    }

    /// The plan new calls run, if an attendant is installed.
    pub fn plan(&self) -> Option<Arc<dialplan::Plan>> {
        self.apps.attendant.as_ref().map(|a| a.plan.clone())
    }

    /// The hotel state calls are routed by.
    pub fn hotel(&self) -> &hotel::Hotel {
        &self.apps.hotel
    }

    /// Restores the operator's mode override (read from the database at start).
    pub fn set_mode_override(&mut self, mode: Option<dialplan::Mode>) {
        self.apps.mode_override = mode;
    }

    /// The operator's mode override, if any.
    pub fn mode_override(&self) -> Option<dialplan::Mode> {
        self.apps.mode_override
    }

    /// Sets (or with `None` clears, returning to the schedule) the attendant-mode
    /// override from the admin console; it is stored so that it survives a restart.
    /// Calls in progress keep the mode they started with.
    pub fn override_mode(&mut self, mode: Option<dialplan::Mode>) {
        self.apps.mode_override = mode;
        self.core
            .outputs
            .push_back(Output::Event(PbxEvent::Mode(ModeChange { mode })));
    }

    /// The attendant mode new calls get at `wall_ms`, if a dialplan is installed.
    pub fn current_mode(&self, wall_ms: i64) -> Option<dialplan::Mode> {
        let wall = dialplan::jiff::Timestamp::from_millisecond(wall_ms).ok()?;
        self.apps
            .attendant
            .as_ref()
            .map(|a| a.plan.mode_at(wall, self.apps.mode_override))
    }

    /// The stored name of a mode.
    pub fn mode_name(mode: dialplan::Mode) -> &'static str {
        match mode {
            dialplan::Mode::Automatic => "automatic",
            dialplan::Mode::Manual => "manual",
        }
    }

    /// Parses a stored mode override.
    pub fn parse_mode(text: &str) -> Option<dialplan::Mode> {
        match text {
            "automatic" => Some(dialplan::Mode::Automatic),
            "manual" => Some(dialplan::Mode::Manual),
            _ => None,
        }
    }

    /// Restores the operators' background-music overrides read from the database at start
    /// (group number → forced on or off); [`Pbx::check_music`] then acts on them.
    pub fn restore_music_overrides(&mut self, overrides: impl IntoIterator<Item = (String, bool)>) {
        self.apps.music.overrides.extend(overrides);
    }

    /// Checks the paging groups' background music now (at start and after a reload):
    /// starts or stops it as the schedules and overrides say. From then on the PBX checks
    /// at each wall-clock minute by itself (see [`Pbx::poll_timeout`]).
    pub fn check_music(&mut self, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
        features::background_music::check(&mut self.apps, &mut self.core, now, wall_ms, ep);
        self.apps.run_placed(&mut self.core, now, wall_ms, ep);
    }

    /// Sets a paging group's background music on (`Some(true)`), off, or back to its
    /// schedule (`None`), acting at once. The change is emitted as [`PbxEvent::Music`] so
    /// that it survives a restart and goes into the log book (`by` is who made it).
    pub fn set_music_override(
        &mut self,
        now: Instant,
        wall_ms: i64,
        ep: &mut Endpoint,
        group: &str,
        on: Option<bool>,
        by: &str,
    ) -> Result<MusicStatus, MusicError> {
        features::background_music::check_group(&self.apps, group)?;
        match on {
            Some(on) => self.apps.music.overrides.insert(group.to_string(), on),
            None => self.apps.music.overrides.remove(group),
        };
        self.core
            .outputs
            .push_back(Output::Event(PbxEvent::Music(MusicChange {
                group: group.to_string(),
                on,
                by: by.to_string(),
                at_ms: wall_ms,
            })));
        self.check_music(now, wall_ms, ep);
        self.music_status(wall_ms)
            .into_iter()
            .find(|s| s.number == group)
            .ok_or_else(|| MusicError::UnknownGroup(group.to_string()))
    }

    /// Every paging group with its background music's state at `wall_ms`, for the admin API.
    pub fn music_status(&self, wall_ms: i64) -> Vec<MusicStatus> {
        features::background_music::status(&self.apps, wall_ms)
    }

    /// Replaces the directory and settings (dialplan reload). Calls in progress keep going.
    pub fn reconfigure(&mut self, config: PbxConfig, directory: Arc<dyn Directory>) {
        self.core.config = config;
        self.core.directory = directory;
        control::register::rekey_renumbered(&mut self.core);
    }

    /// Loads registrations read from the database at start-up.
    pub fn load_bindings(&mut self, bindings: Vec<Binding>) {
        for b in bindings {
            self.core.bindings.entry(b.aor.clone()).or_default().push(b);
        }
        control::register::rekey_renumbered(&mut self.core);
    }

    /// The current (unexpired) bindings of an address-of-record.
    pub fn bindings(&self, aor: &str, wall_ms: i64) -> Vec<&Binding> {
        self.core.bindings(aor, wall_ms)
    }

    /// Every unexpired binding, for the admin API.
    pub fn all_bindings(&self, wall_ms: i64) -> Vec<&Binding> {
        let mut v: Vec<&Binding> = self
            .core
            .bindings
            .values()
            .flatten()
            .filter(|b| b.expires_at_ms > wall_ms)
            .collect();
        v.sort_by(|a, b| a.aor.cmp(&b.aor).then(a.contact.cmp(&b.contact)));
        v
    }

    /// Number of calls in progress (including calls the PBX placed).
    pub fn active_calls(&self) -> usize {
        self.core.active_calls()
    }

    /// A snapshot of the calls in progress (those the PBX placed too), for the admin API.
    pub fn call_summaries(&self) -> Vec<CallSummary> {
        let mut all = self.core.calls.summaries();
        all.extend(self.core.placed.summaries());
        all.sort_by_key(|s| s.key);
        all
    }

    /// The operator queues now: who waits in which order, and what each operator does.
    pub fn queue_snapshot(&self, now: Instant, wall_ms: i64) -> QueueSnapshot {
        features::queue_glue::snapshot(&self.apps, &self.core, now, wall_ms)
    }

    /// Handles one event from the SIP endpoint.
    pub fn handle_sip(&mut self, now: Instant, wall_ms: i64, ep: &mut Endpoint, event: Event) {
        let (core, apps) = (&mut self.core, &mut self.apps);
        match event {
            Event::Request { tx, req, from } => {
                self.handle_request(now, wall_ms, ep, tx, req, from)
            }
            Event::Response { tx, resp } if core.placed.owns_tx(tx) => {
                let (mut ctx, placed) = core.split();
                placed.on_response(&mut ctx, ep, now, wall_ms, tx, resp);
            }
            Event::Timeout { tx } | Event::TransportError { tx } if core.placed.owns_tx(tx) => {
                let (mut ctx, placed) = core.split();
                placed.on_tx_failed(&mut ctx, ep, now, wall_ms, tx);
            }
            other => control::dispatch::handle_event(core, apps, now, wall_ms, ep, other),
        }
        self.apps.run_placed(&mut self.core, now, wall_ms, ep);
    }

    /// Handles a media event (digits, prompt ends, RTP timeouts, quality reports).
    pub fn handle_media(
        &mut self,
        now: Instant,
        wall_ms: i64,
        ep: &mut Endpoint,
        event: MediaEvent,
    ) {
        let leg = match &event {
            MediaEvent::Dtmf { leg, .. }
            | MediaEvent::PlayFinished { leg }
            | MediaEvent::RtpTimeout { leg }
            | MediaEvent::RtpUnavailable { leg, .. }
            | MediaEvent::Quality { leg, .. } => Some(*leg),
            _ => None,
        };
        let (core, apps) = (&mut self.core, &mut self.apps);
        if leg.is_some_and(|leg: LegId| core.placed.owns_leg(leg)) {
            let (mut ctx, placed) = core.split();
            placed.on_media(&mut ctx, ep, now, wall_ms, event);
        } else {
            control::dispatch::handle_media(core, apps, now, wall_ms, ep, event);
        }
        self.apps.run_placed(&mut self.core, now, wall_ms, ep);
    }

    /// Fires due timers (ring timeouts, the features' timers).
    pub fn handle_timeout(&mut self, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
        let (core, apps) = (&mut self.core, &mut self.apps);
        control::dispatch::handle_timeout(core, apps, now, wall_ms, ep);
        apps.handle_timeout(core, now, wall_ms, ep);
        let (mut ctx, placed) = core.split();
        placed.handle_timeout(&mut ctx, ep, now, wall_ms);
        apps.run_placed(core, now, wall_ms, ep);
    }

    /// The next instant `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.core.calls.next_deadline(),
            self.core.placed.next_deadline(),
            self.apps.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Places a call to a registered extension (see [`Originate`]): every phone of the
    /// target rings, and the feature its purpose names runs the call once answered.
    /// Nothing is sent or recorded when it returns an error.
    pub fn originate(
        &mut self,
        now: Instant,
        wall_ms: i64,
        ep: &mut Endpoint,
        request: Originate,
    ) -> Result<CallKey, OriginateError> {
        features::announce::originate(&mut self.apps, &mut self.core, now, wall_ms, ep, request)
    }

    /// Restores operators who were paused when the server stopped (from the shift log).
    pub fn restore_paused(
        &mut self,
        now: Instant,
        wall_ms: i64,
        ep: &mut Endpoint,
        accounts: &[String],
    ) {
        for account in accounts {
            features::queue_glue::set_paused(
                &mut self.apps,
                &mut self.core,
                now,
                wall_ms,
                ep,
                account,
                true,
            );
        }
    }

    /// The next thing for the server to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.core.outputs.pop_front()
    }

    /// Hangs up every call (graceful shutdown).
    pub fn hangup_all(&mut self, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
        let (core, apps) = (&mut self.core, &mut self.apps);
        // No operator is offered another caller while everything is being hung up.
        apps.stop_offering();
        control::midcall::hangup_all(core, apps, now, wall_ms, ep);
        for key in core.placed.keys() {
            let (mut ctx, placed) = core.split();
            placed.hangup(&mut ctx, ep, now, wall_ms, key);
        }
        apps.run_placed(core, now, wall_ms, ep);
    }

    fn handle_request(
        &mut self,
        now: Instant,
        wall_ms: i64,
        ep: &mut Endpoint,
        tx: ServerTxId,
        req: Request,
        from: Peer,
    ) {
        if let Err(rej) = sip::validate::check_request(&req) {
            tracing::info!(source = %from.addr, status = rej.status, reason = %rej.reason, "request refused");
            ep.respond(now, tx, rej.to_response(&req));
            return;
        }
        let (core, apps) = (&mut self.core, &mut self.apps);
        let to_tag = req
            .headers
            .to()
            .ok()
            .and_then(|t| t.tag().map(str::to_string));
        if let Some(to_tag) = to_tag {
            let call_id = req.headers.call_id().unwrap_or("");
            if let Some(key) = core.placed.dialog_call(call_id, &to_tag) {
                let (mut ctx, placed) = core.split();
                placed.on_request(&mut ctx, ep, now, wall_ms, tx, req, key);
            } else {
                control::midcall::handle_in_dialog(core, apps, now, wall_ms, ep, tx, req, from);
            }
            return;
        }
        match req.method {
            Method::Register => {
                control::register::handle(core, apps, now, wall_ms, ep, tx, req, from)
            }
            Method::Invite => {
                control::setup::handle_invite(core, apps, now, wall_ms, ep, tx, req, from)
            }
            Method::Options => {
                let mut resp = Response::for_request(&req, 200);
                resp.headers.push("Allow", ALLOW);
                resp.headers.push("Accept", "application/sdp");
                resp.headers.push("Accept-Language", "en, zh");
                ep.respond(now, tx, resp);
            }
            Method::Bye | Method::Info | Method::Update | Method::Prack => {
                ep.respond(now, tx, Response::for_request(&req, 481));
            }
            Method::Extension(_) => ep.respond(now, tx, Response::for_request(&req, 501)),
            _ => {
                let mut resp = Response::for_request(&req, 405);
                resp.headers.push("Allow", ALLOW);
                ep.respond(now, tx, resp);
            }
        }
    }
}
