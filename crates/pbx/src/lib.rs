//! Switchboard's call control: the transaction user on top of
//! [`sip::endpoint::Endpoint`].
//!
//! The `Pbx` is sans-IO like the layers below it: the server hands it SIP
//! events, media events and the current time, lends it the endpoint to
//! send through, and drains [`Output`]s that ask for sockets, media
//! commands and database writes. It never reads a clock, opens a socket or
//! awaits a database.
//!
//! ```text
//! server loop:  ep.handle_bytes(..) ; while let Some(ev) = ep.poll_event() { pbx.handle_sip(now, wall, &mut ep, ev) }
//!               while let Some(out) = pbx.poll_output() { carry it out }
//!               sleep until min(ep.poll_timeout(), pbx.poll_timeout()) ; pbx.handle_timeout(now, wall, &mut ep)
//! ```
//!
//! Modules: [`sdp`] (offer/answer rewriting), `register` (REGISTER with
//! digest auth and the throttling guard), `call` (the B2BUA), `ports` (RTP
//! port allocation), `directory` (who exists and their credentials).

mod apps;
mod call;
mod ctx;
mod directory;
mod event;
mod originate;
mod placed;
mod ports;
mod queue;
mod queue_glue;
mod register;
pub mod sdp;

pub use call::{CallKey, CallSummary, CdrEvent, LegRole, Outcome, Party, RINGBACK_CLASS};
pub use event::{ModeChange, OperatorChange, OperatorChangeKind, PbxEvent};
pub use originate::{Announcement, CallOrigin, Originate, OriginateError, Purpose, PurposeKind};
pub use queue::view::{
    OperatorActivity, OperatorStatus, QueueOutcome, QueueRecord, QueueSnapshot, TransferNote,
    WaitingCaller,
};

/// What the attendant needs besides the directory: the plan whose interpreter
/// runs each call, its prompts decoded once, and the tone callers hear while
/// an extension rings.
#[derive(Clone)]
pub struct Attendant {
    /// The validated dialplan.
    pub plan: Arc<dialplan::Plan>,
    /// Every prompt the plan names, decoded (keyed by the path the plan uses).
    pub prompts: Arc<media::prompt::PromptCache>,
}

/// The settings key under which the operator's attendant-mode override is stored.
pub const MODE_OVERRIDE_KEY: &str = "attendant_mode_override";
pub use directory::{Directory, Identity, PlanDirectory};
pub use ports::PortPool;

use media::{LegId, MediaCommand, MediaEvent};
use sip::auth::{AuthGuard, Authenticator};
use sip::endpoint::{Endpoint, Event, Peer, ServerTxId, Transport};
use sip::message::{Method, Request, Response, Uri};
use sip::registrar::{Binding, BindingChange, RegistrarPolicy};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The PBX: registrar, authentication and the B2BUA.
pub struct Pbx {
    config: PbxConfig,
    directory: Arc<dyn Directory>,
    auth: Authenticator,
    guard: AuthGuard,
    bindings: HashMap<String, Vec<Binding>>,
    calls: call::Calls,
    ports: PortPool,
    outputs: VecDeque<Output>,
    next_leg: u64,
    rate: call::RateWindow,
    attendant: Option<Attendant>,
    mode_override: Option<dialplan::Mode>,
    queues: queue::Queues,
    recordings_dir: std::path::PathBuf,
    rooms: call::conference::Rooms,
    placed: placed::PlacedCalls,
    announcements: apps::announce::Announcements,
}

/// Methods we answer, for Allow headers.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, REFER, NOTIFY";

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
            config,
            directory,
            auth,
            guard,
            bindings: HashMap::new(),
            calls: call::Calls::default(),
            ports,
            outputs: VecDeque::new(),
            next_leg: 1,
            rate: call::RateWindow::default(),
            attendant: None,
            mode_override: None,
            queues: Default::default(),
            recordings_dir: std::path::PathBuf::from("data/recordings"),
            rooms: Default::default(),
            placed: Default::default(),
            announcements: Default::default(),
        }
    }

    /// Sets the directory call and conference recordings are written to (default
    /// `data/recordings`). The server creates it; the media engine's recorder writes the files.
    pub fn set_recordings_dir(&mut self, dir: std::path::PathBuf) {
        self.recordings_dir = dir;
    }

    /// Installs (or replaces) the attendant. New calls run its plan; calls in
    /// progress keep the plan they started with.
    pub fn set_attendant(&mut self, attendant: Attendant) {
        self.attendant = Some(attendant);
    }

    /// Restores the operator's mode override (read from the database at start).
    pub fn set_mode_override(&mut self, mode: Option<dialplan::Mode>) {
        self.mode_override = mode;
    }

    /// The operator's mode override, if any.
    pub fn mode_override(&self) -> Option<dialplan::Mode> {
        self.mode_override
    }

    /// Sets (or with `None` clears, returning to the schedule) the attendant-mode
    /// override from the admin console; it is stored so that it survives a restart.
    /// Calls in progress keep the mode they started with.
    pub fn override_mode(&mut self, mode: Option<dialplan::Mode>) {
        self.mode_override = mode;
        self.outputs
            .push_back(Output::Event(PbxEvent::Mode(ModeChange { mode })));
    }

    /// The attendant mode new calls get at `wall_ms`, if a dialplan is installed.
    pub fn current_mode(&self, wall_ms: i64) -> Option<dialplan::Mode> {
        let wall = dialplan::jiff::Timestamp::from_millisecond(wall_ms).ok()?;
        self.attendant
            .as_ref()
            .map(|a| a.plan.mode_at(wall, self.mode_override))
    }

    /// The stored name of a mode.
    pub fn mode_name(mode: dialplan::Mode) -> &'static str {
        match mode {
            dialplan::Mode::Automatic => "automatic",
            dialplan::Mode::Manual => "manual",
        }
    }

    /// Replaces the directory and settings (dialplan reload). Calls in progress keep going.
    pub fn reconfigure(&mut self, config: PbxConfig, directory: Arc<dyn Directory>) {
        self.config = config;
        self.directory = directory;
    }

    /// Loads registrations read from the database at start-up.
    pub fn load_bindings(&mut self, bindings: Vec<Binding>) {
        for b in bindings {
            self.bindings.entry(b.aor.clone()).or_default().push(b);
        }
    }

    /// The current (unexpired) bindings of an address-of-record.
    pub fn bindings(&self, aor: &str, wall_ms: i64) -> Vec<&Binding> {
        ctx::live_bindings(&self.bindings, aor, wall_ms)
    }

    /// Every unexpired binding, for the admin API.
    pub fn all_bindings(&self, wall_ms: i64) -> Vec<&Binding> {
        let mut v: Vec<&Binding> = self
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
        self.calls.len() + self.placed.active()
    }

    /// A snapshot of the calls in progress, for the admin API.
    pub fn call_summaries(&self) -> Vec<CallSummary> {
        self.calls.summaries()
    }

    /// Handles one event from the SIP endpoint.
    pub fn handle_sip(&mut self, now: Instant, wall_ms: i64, ep: &mut Endpoint, event: Event) {
        match event {
            Event::Request { tx, req, from } => {
                self.handle_request(now, wall_ms, ep, tx, req, from)
            }
            Event::Response { tx, resp } if self.placed.owns_tx(tx) => {
                let (mut ctx, placed) = self.split();
                placed.on_response(&mut ctx, ep, now, wall_ms, tx, resp);
            }
            Event::Timeout { tx } | Event::TransportError { tx } if self.placed.owns_tx(tx) => {
                let (mut ctx, placed) = self.split();
                placed.on_tx_failed(&mut ctx, ep, now, wall_ms, tx);
            }
            other => call::handle_event(self, now, wall_ms, ep, other),
        }
        self.run_apps(now, wall_ms, ep);
    }

    /// Handles a media event (RTP timeout, quality report).
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
        if leg.is_some_and(|leg| self.placed.owns_leg(leg)) {
            let (mut ctx, placed) = self.split();
            placed.on_media(&mut ctx, ep, now, wall_ms, event);
        } else {
            call::handle_media(self, now, wall_ms, ep, event);
        }
        self.run_apps(now, wall_ms, ep);
    }

    /// Fires due timers (ring timeouts, the attendant's and the apps' timers).
    pub fn handle_timeout(&mut self, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
        call::handle_timeout(self, now, wall_ms, ep);
        let (mut ctx, placed) = self.split();
        placed.handle_timeout(&mut ctx, ep, now, wall_ms);
        let mut commands = Vec::new();
        self.announcements.handle_timeout(now, &mut commands);
        self.announce_commands(now, wall_ms, ep, commands);
        self.run_apps(now, wall_ms, ep);
    }

    /// The next instant `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.calls.next_deadline(),
            self.queues.next_deadline(),
            self.placed.next_deadline(),
            self.announcements.next_deadline(),
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
        let attendant = self.attendant.clone().ok_or(OriginateError::NoDialplan)?;
        let plan = &attendant.plan;
        let Purpose::Announcement(announcement) = &request.purpose;
        let language = announcement
            .language
            .clone()
            .or_else(|| plan.languages().first().map(|(code, _)| code.clone()))
            .unwrap_or_else(|| "en".into());
        let prompts = announcement
            .prompts
            .iter()
            .map(|name| {
                attendant
                    .prompts
                    .get(plan.prompt(&language, name))
                    .ok_or_else(|| OriginateError::UnknownPrompt(format!("{name} ({language})")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ext = self
            .directory
            .extension(&request.target)
            .ok_or_else(|| OriginateError::UnknownTarget(request.target.clone()))?;
        let targets: Vec<_> = self
            .bindings(&ext.number, wall_ms)
            .into_iter()
            .filter_map(|b| ctx::ring_target(b, &ext))
            .collect();
        if targets.is_empty() {
            return Err(OriginateError::NotRegistered(request.target));
        }
        if self.active_calls() >= self.config.max_concurrent_calls {
            return Err(OriginateError::TooManyCalls);
        }
        let port = self.ports.allocate().ok_or(OriginateError::NoMediaPorts)?;
        let key = self.calls.next_key();
        let dial = placed::Dial {
            key,
            targets,
            callee: ext.number.clone(),
            from_user: self.operator_position(),
            display: request.display.unwrap_or_else(|| "Switchboard".into()),
            purpose: request.purpose.kind(),
            ring_for: self.config.ring_timeout,
        };
        self.announcements.start(
            key,
            prompts,
            announcement.max_digits,
            announcement.digit_timeout,
        );
        let (mut ctx, placed) = self.split();
        placed.dial(&mut ctx, ep, now, wall_ms, dial, port);
        Ok(key)
    }

    /// The call-control context and the placed calls, borrowed apart.
    fn split(&mut self) -> (ctx::Ctx<'_>, &mut placed::PlacedCalls) {
        let ctx = ctx::Ctx {
            config: &self.config,
            ports: &mut self.ports,
            outputs: &mut self.outputs,
            next_leg: &mut self.next_leg,
        };
        (ctx, &mut self.placed)
    }

    /// Hands what happened to placed calls to the apps that run them, and carries out
    /// what they ask, until nothing more happens.
    fn run_apps(&mut self, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
        while let Some(event) = self.placed.poll_event() {
            let mut commands = Vec::new();
            self.announcements.on_event(now, event, &mut commands);
            self.announce_commands(now, wall_ms, ep, commands);
        }
    }

    /// Carries out the announcement app's commands.
    fn announce_commands(
        &mut self,
        now: Instant,
        wall_ms: i64,
        ep: &mut Endpoint,
        commands: Vec<apps::announce::Command>,
    ) {
        use apps::announce::Command;
        for command in commands {
            let (mut ctx, placed) = self.split();
            match command {
                Command::Play(key, prompts) => placed.play(&mut ctx, key, prompts),
                Command::StopPlay(key) => placed.stop_play(&mut ctx, key),
                Command::Digits(call, digits) => {
                    ctx.outputs
                        .push_back(Output::call(CdrEvent::Digits { call, digits }));
                }
                Command::Hangup(key) => placed.hangup(&mut ctx, ep, now, wall_ms, key),
            }
        }
    }

    /// The operator queues now: who waits in which order, and what each operator does.
    pub fn queue_snapshot(&self, now: Instant, wall_ms: i64) -> QueueSnapshot {
        queue_glue::snapshot(self, now, wall_ms)
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
            queue_glue::set_paused(self, now, wall_ms, ep, account, true);
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

    /// The next thing for the server to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Hangs up every call (graceful shutdown).
    pub fn hangup_all(&mut self, now: Instant, wall_ms: i64, ep: &mut Endpoint) {
        call::hangup_all(self, now, wall_ms, ep);
        for key in self.placed.keys() {
            let (mut ctx, placed) = self.split();
            placed.hangup(&mut ctx, ep, now, wall_ms, key);
        }
        self.run_apps(now, wall_ms, ep);
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
        let in_dialog = req
            .headers
            .to()
            .ok()
            .and_then(|t| t.tag().map(str::to_string))
            .is_some();
        if in_dialog {
            let call_id = req.headers.call_id().unwrap_or("");
            let to_tag = req
                .headers
                .to()
                .ok()
                .and_then(|t| t.tag().map(str::to_string));
            if let Some(key) = self
                .placed
                .dialog_call(call_id, to_tag.as_deref().unwrap_or(""))
            {
                let (mut ctx, placed) = self.split();
                placed.on_request(&mut ctx, ep, now, wall_ms, tx, req, key);
                self.run_apps(now, wall_ms, ep);
            } else {
                call::handle_in_dialog(self, now, wall_ms, ep, tx, req, from);
            }
            return;
        }
        match req.method {
            Method::Register => register::handle(self, now, wall_ms, ep, tx, req, from),
            Method::Invite => call::handle_invite(self, now, wall_ms, ep, tx, req, from),
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

    /// The operator position's number (`0` unless the dialplan says otherwise).
    pub(crate) fn operator_position(&self) -> String {
        self.attendant
            .as_ref()
            .map(|a| a.plan.operators().position.clone())
            .unwrap_or_else(|| "0".into())
    }

    /// Counts an authentication failure against a source and logs a ban when it starts.
    fn auth_failed(&mut self, ip: IpAddr, now: Instant) {
        if let Some(ban) = self.guard.record_failure(ip, now) {
            tracing::warn!(source = %ip, ?ban, "too many authentication failures: source refused for a while");
        }
    }

    fn new_leg(&mut self) -> LegId {
        let id = LegId(self.next_leg);
        self.next_leg += 1;
        id
    }

    /// Our Contact URI for a transport.
    fn contact_uri(&self, transport: Transport, user: Option<&str>) -> Uri {
        ctx::contact_uri(&self.config, transport, user)
    }
}
