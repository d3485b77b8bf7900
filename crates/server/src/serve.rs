//! `switchboard serve`: binds sockets, loads the dialplan and the
//! database, starts the media, store and HTTP tasks, and runs the core
//! loop that drives the SIP endpoint and the PBX.
//!
//! The core loop is the only place that reads the clock for call logic:
//! each turn takes `now` once, feeds one input, then drains every output
//! (endpoint events → PBX, PBX outputs → media/store tasks, endpoint
//! transmits → sockets) before sleeping until the next deadline.

use crate::cli::ServeArgs;
use crate::directory::pbx_config;
use crate::http::{
    AdminRequest, CallView, ModeView, OriginateFailure, OriginateRequest, QueueView,
    RegistrationView,
};
use crate::media_io::{self, MediaRequest};
use crate::sip_io::{Inbound, Listeners, Transports};
use crate::store_io::{self, Persisted, StoreRequest};
use crate::{fd_limit, prompt_check, rtp_ports, wall_ms};
use dialplan::Plan;
use pbx::PlanDirectory;
use pbx::{Output, Pbx};
use sip::auth::{AuthConfig, AuthGuard, Authenticator};
use sip::endpoint::{Endpoint, EndpointConfig, TimerConfig, Transport};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdp};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use store::Store;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Everything `serve` needs, resolved from the command line.
pub async fn run(args: ServeArgs) -> Result<(), String> {
    let loaded = prompt_check::load(&args.dialplan)?;
    let plan = &loaded.plan;
    let weak = plan.weak_credentials();
    if !weak.is_empty() {
        tracing::warn!(count = weak.len(), accounts = %weak.join(", "), "accounts still use demo passwords from the shipped dialplan: change them before exposing this server");
    }
    let store = Store::connect(&args.database_url)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", args.database_url))?;
    let listeners = Listeners::bind(&args.sip_listen)
        .await
        .map_err(|e| e.to_string())?;
    let sip_addrs = listeners.local_addrs();
    let http = TcpListener::bind(args.http_listen).await.map_err(|e| {
        format!(
            "cannot bind the HTTP admin API on {}: {e}",
            args.http_listen
        )
    })?;
    let public_ip = args
        .public_address
        .unwrap_or_else(|| guess_public_ip(&sip_addrs));
    tracing::info!(
        sip = ?sip_addrs,
        http = %args.http_listen,
        public = %public_ip,
        rtp = ?args.rtp_ports,
        dialplan = %args.dialplan.display(),
        database = %args.database_url,
        "listening"
    );

    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no OS randomness for nonce keys: {e}"))?;
    let seed = u64::from_le_bytes(secret[..8].try_into().expect("8 bytes"));
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();

    let config = EndpointConfig {
        timers: TimerConfig {
            t1: Duration::from_millis(args.t1_ms),
            ..TimerConfig::default()
        },
        server_name: "Switchboard".into(),
        local: sip_addrs
            .iter()
            .flat_map(|a| {
                let adv = SocketAddr::new(public_ip, a.port());
                [(Transport::Udp, adv), (Transport::Tcp, adv)]
            })
            .collect(),
        rng_seed: seed,
    };
    let mut ep = Endpoint::new(config);
    let realm = plan.settings().realm.clone();
    let mut auth_config = AuthConfig::new(realm, secret.to_vec());
    auth_config.algorithms = args.digest_algorithms.clone();
    let auth = Authenticator::new(auth_config, start.into_std());
    let guard = AuthGuard::new(Default::default());
    let ringback = prompt_check::ringback();
    let (attendant, moh) = attendant(loaded);
    let plan = attendant.plan.clone();
    let bind_ip = match sip_addrs.first().map(|a| a.ip()) {
        Some(ip) if !ip.is_unspecified() => ip,
        Some(IpAddr::V6(_)) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let (ports, taken) = rtp_ports::usable(bind_ip, args.rtp_ports.0, args.rtp_ports.1);
    if !taken.is_empty() {
        tracing::warn!(
            count = taken.len(),
            first = taken[0],
            "RTP ports held by another program are left out of --rtp-ports"
        );
    }
    let by_ports = ports.capacity() / 2;
    let wanted = by_ports.min(plan.settings().max_concurrent_calls as usize);
    match fd_limit::raise().map(fd_limit::calls_allowed) {
        Some(by_files) if (by_files as usize) < wanted => tracing::warn!(
            calls = by_files,
            by_ports,
            "the open-file limit allows fewer concurrent calls than --rtp-ports and max_concurrent_calls: raise the hard limit (ulimit -Hn, LimitNOFILE=)"
        ),
        by_files => tracing::info!(
            by_files = ?by_files,
            by_ports,
            "concurrent calls the open-file limit and the RTP ports allow"
        ),
    }
    if ports.capacity() == 0 {
        return Err(format!(
            "no usable RTP port in --rtp-ports {}-{}: every even port (or the RTCP port after it) is in use",
            args.rtp_ports.0, args.rtp_ports.1
        ));
    }
    let mut pbx = Pbx::new(
        pbx_config(&plan, public_ip, &sip_addrs),
        Arc::new(PlanDirectory(plan.clone())),
        auth,
        guard,
        ports,
    );
    pbx.set_attendant(attendant);
    std::fs::create_dir_all(&args.recordings_dir).map_err(|e| {
        format!(
            "cannot create the recordings directory {}: {e}",
            args.recordings_dir.display()
        )
    })?;
    pbx.set_recordings_dir(args.recordings_dir.clone());
    let mode = store
        .get_setting(pbx::MODE_OVERRIDE_KEY)
        .await
        .map_err(|e| format!("cannot read settings: {e}"))?;
    if let Some(m) = mode.as_deref().and_then(Pbx::parse_mode) {
        tracing::info!(mode = ?m, "attendant mode override restored");
        pbx.set_mode_override(Some(m));
    }
    let stored = store
        .all_bindings(wall_ms())
        .await
        .map_err(|e| format!("cannot read registrations: {e}"))?;
    let restored: Vec<_> = stored
        .into_iter()
        .filter_map(store_io::from_stored)
        .collect();
    tracing::info!(
        count = restored.len(),
        "registrations restored from the database"
    );
    pbx.load_bindings(restored);
    let paused = paused_operators(&store).await?;
    if !paused.is_empty() {
        tracing::info!(operators = %paused.join(", "), "operators paused before the restart stay paused");
        pbx.restore_paused(now_std(), wall_ms(), &mut ep, &paused);
    }

    let (in_tx, mut in_rx) = mpsc::channel::<Inbound>(8192);
    let mut transports = Transports::start(listeners, in_tx);
    let (media_ev_tx, mut media_ev_rx) = mpsc::unbounded_channel();
    let (media_tx, media_task) = media_io::start(
        bind_ip,
        Duration::from_secs(args.rtp_timeout),
        seed ^ 0x5eed,
        media_ev_tx,
    )
    .map_err(|e| format!("cannot start the media thread: {e}"))?;
    define_moh(&media_tx, moh, &ringback);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Persisted>();
    let (store_tx, store_task) = store_io::start(store.clone(), done_tx);
    let (admin_tx, mut admin_rx) = mpsc::channel::<AdminRequest>(64);
    tokio::spawn(crate::http::serve(http, admin_tx, store.clone()));

    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut plan_watch = PlanWatch::new(args.dialplan.clone());
    let mut watch_tick = tokio::time::interval(Duration::from_secs(2));

    let mut core = Core {
        start,
        pbx,
        transports: &mut transports,
        media: media_tx.clone(),
        store: store_tx.clone(),
        public_ip,
        sip_addrs: sip_addrs.clone(),
        dialplan: args.dialplan.clone(),
        ringback,
    };
    core.drain(&mut ep);
    loop {
        let deadline = [ep.poll_timeout(), core.pbx.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now_plus(Duration::from_secs(3600)));
        tokio::select! {
            item = in_rx.recv() => {
                let Some(item) = item else { break };
                match item {
                    Inbound::Message { from, bytes } => ep.handle_bytes(now_std(), from, &bytes),
                    Inbound::Opened { conn, addr, writer } => core.transports.opened(conn, addr, writer),
                    Inbound::Closed { conn } => core.transports.closed(conn),
                }
            }
            Some(ev) = media_ev_rx.recv() => {
                core.pbx.handle_media(now_std(), wall_ms(), &mut ep, ev);
            }
            Some(p) = done_rx.recv() => {
                if let Some((tx, resp)) = p.then {
                    ep.respond(now_std(), tx, resp);
                }
            }
            Some(req) = admin_rx.recv() => core.admin(&mut ep, req),
            _ = tokio::time::sleep_until(deadline) => {
                let now = now_std();
                ep.handle_timeout(now);
                core.pbx.handle_timeout(now, wall_ms(), &mut ep);
            }
            _ = sighup.recv() => {
                tracing::info!("SIGHUP: reloading the dialplan");
                let _ = core.reload();
            }
            _ = watch_tick.tick() => {
                if plan_watch.changed() {
                    tracing::info!(file = %args.dialplan.display(), "dialplan file changed: reloading");
                    let _ = core.reload();
                }
            }
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
        core.drain(&mut ep);
    }

    // Graceful shutdown: hang up calls, let the BYEs and final writes go out.
    tracing::info!(calls = core.pbx.active_calls(), "shutting down");
    core.pbx.hangup_all(now_std(), wall_ms(), &mut ep);
    core.drain(&mut ep);
    let grace = Instant::now_plus(Duration::from_millis(500));
    while Instant::now_plus(Duration::ZERO) < grace {
        tokio::select! {
            Some(Inbound::Message { from, bytes }) = in_rx.recv() => ep.handle_bytes(now_std(), from, &bytes),
            Some(p) = done_rx.recv() => {
                if let Some((tx, resp)) = p.then { ep.respond(now_std(), tx, resp); }
            }
            _ = tokio::time::sleep_until(grace) => {}
        }
        core.drain(&mut ep);
    }
    drop(core);
    drop(store_tx);
    drop(media_tx);
    let _ = store_task.await;
    let _ = media_task.await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The operators whose latest shift entry is a pause: a login does not end a pause, an unpause or a
/// logout does (see [`Store::latest_operator_events`]).
async fn paused_operators(store: &Store) -> Result<Vec<String>, String> {
    use store::OperatorEvent;
    let latest = store
        .latest_operator_events(&[
            OperatorEvent::Pause,
            OperatorEvent::Unpause,
            OperatorEvent::Logout,
        ])
        .await
        .map_err(|e| format!("cannot read the operator shift log: {e}"))?;
    Ok(latest
        .into_iter()
        .filter(|e| e.event == OperatorEvent::Pause)
        .map(|e| e.operator)
        .collect())
}

/// Loads and validates a dialplan, decoding every prompt it names.
pub fn load_plan(path: &std::path::Path) -> Result<Plan, String> {
    prompt_check::load(path).map(|l| l.plan)
}

/// The attendant for a loaded plan, and its music-on-hold classes.
fn attendant(loaded: prompt_check::LoadedPlan) -> (pbx::Attendant, Vec<media::prompt::MohClass>) {
    let a = pbx::Attendant {
        plan: Arc::new(loaded.plan),
        prompts: Arc::new(loaded.prompts),
    };
    (a, loaded.moh)
}

/// Gives the media engine the music-on-hold classes and the ringback tone.
fn define_moh(
    media: &mpsc::UnboundedSender<MediaRequest>,
    moh: Vec<media::prompt::MohClass>,
    ringback: &Arc<media::prompt::Prompt>,
) {
    for (class, prompts) in moh {
        let _ = media.send(MediaRequest::Command(media::MediaCommand::DefineMoh {
            class,
            prompts,
        }));
    }
    let _ = media.send(MediaRequest::Command(media::MediaCommand::DefineMoh {
        class: pbx::RINGBACK_CLASS.into(),
        prompts: vec![ringback.clone()],
    }));
}

struct Core<'a> {
    start: Instant,
    pbx: Pbx,
    transports: &'a mut Transports,
    media: mpsc::UnboundedSender<MediaRequest>,
    store: mpsc::UnboundedSender<StoreRequest>,
    public_ip: IpAddr,
    sip_addrs: Vec<SocketAddr>,
    dialplan: PathBuf,
    ringback: Arc<media::prompt::Prompt>,
}

impl Core<'_> {
    /// Moves every pending output to where it goes.
    fn drain(&mut self, ep: &mut Endpoint) {
        loop {
            let mut progressed = false;
            while let Some(ev) = ep.poll_event() {
                progressed = true;
                self.pbx.handle_sip(now_std(), wall_ms(), ep, ev);
            }
            while let Some(out) = self.pbx.poll_output() {
                progressed = true;
                match out {
                    Output::OpenRtp { leg, port } => {
                        let _ = self.media.send(MediaRequest::Open { leg, port });
                    }
                    Output::CloseRtp { leg } => {
                        let _ = self.media.send(MediaRequest::Close { leg });
                    }
                    Output::Media(cmd) => {
                        let _ = self.media.send(MediaRequest::Command(cmd));
                    }
                    Output::Persist { changes, then } => {
                        let _ = self.store.send(StoreRequest::Persist {
                            changes,
                            then,
                            now_ms: wall_ms(),
                        });
                    }
                    Output::Event(event) => {
                        let _ = self.store.send(StoreRequest::Event {
                            event,
                            now_ms: wall_ms(),
                        });
                    }
                }
            }
            while let Some(t) = ep.poll_transmit() {
                progressed = true;
                self.transports.send(t);
            }
            if !progressed {
                break;
            }
        }
    }

    fn mode_view(&self) -> ModeView {
        ModeView {
            mode: self
                .pbx
                .current_mode(wall_ms())
                .map(|m| Pbx::mode_name(m).to_string()),
            override_mode: self
                .pbx
                .mode_override()
                .map(|m| Pbx::mode_name(m).to_string()),
        }
    }

    fn reload(&mut self) -> Result<(), String> {
        match prompt_check::load(&self.dialplan) {
            Ok(loaded) => {
                let (attendant, moh) = attendant(loaded);
                let plan = attendant.plan.clone();
                define_moh(&self.media, moh, &self.ringback);
                self.pbx.reconfigure(
                    pbx_config(&plan, self.public_ip, &self.sip_addrs),
                    Arc::new(PlanDirectory(plan)),
                );
                self.pbx.set_attendant(attendant);
                tracing::info!(file = %self.dialplan.display(), "dialplan reloaded; new calls use it, calls in progress are unaffected");
                Ok(())
            }
            Err(problems) => {
                tracing::error!(file = %self.dialplan.display(), problems = %problems, "dialplan refused; the previous one keeps serving");
                Err(problems)
            }
        }
    }

    fn admin(&mut self, ep: &mut Endpoint, req: AdminRequest) {
        match req {
            AdminRequest::Registrations(reply) => {
                let now = wall_ms();
                let views = self
                    .pbx
                    .all_bindings(now)
                    .into_iter()
                    .map(|b| RegistrationView {
                        aor: b.aor.clone(),
                        contact: b.contact.clone(),
                        source: b.source.addr.to_string(),
                        transport: b.source.transport.as_str().to_string(),
                        expires_in: (b.expires_at_ms - now) / 1000,
                        user_agent: b.user_agent.clone(),
                    })
                    .collect();
                let _ = reply.send(views);
            }
            AdminRequest::Calls(reply) => {
                let views = self
                    .pbx
                    .call_summaries()
                    .into_iter()
                    .map(|c| CallView {
                        id: c.key.0,
                        caller: c.caller,
                        callee: c.callee,
                        state: c.state.to_string(),
                        started_at_ms: c.started_ms,
                    })
                    .collect();
                let _ = reply.send(views);
            }
            AdminRequest::Queue(reply) => {
                let now_ms = wall_ms();
                let snapshot = self.pbx.queue_snapshot(now_std(), now_ms);
                let _ = reply.send(QueueView::new(now_ms, &snapshot));
            }
            AdminRequest::Reload(reply) => {
                let _ = reply.send(self.reload());
            }
            AdminRequest::Mode(reply) => {
                let _ = reply.send(self.mode_view());
            }
            AdminRequest::SetMode(mode, reply) => {
                self.pbx.override_mode(mode);
                tracing::info!(mode = ?mode, "attendant mode override set from the admin API");
                let _ = reply.send(self.mode_view());
            }
            AdminRequest::Originate(req, reply) => self.originate(ep, req, reply),
        }
        let _ = self.start;
    }

    /// Places the call `POST /api/originate` asked for and answers with its number, or with the
    /// status and message of the reason it was not placed.
    fn originate(
        &mut self,
        ep: &mut Endpoint,
        req: OriginateRequest,
        reply: oneshot::Sender<Result<u64, OriginateFailure>>,
    ) {
        let target = req.target.clone();
        let result = match self
            .pbx
            .originate(now_std(), wall_ms(), ep, pbx::Originate::from(req))
        {
            Ok(call) => {
                tracing::info!(call = call.0, %target, "placing a call (admin API)");
                Ok(call.0)
            }
            Err(e) => {
                tracing::info!(%target, error = %e, "call not placed (admin API)");
                Err(OriginateFailure::from(&e))
            }
        };
        let _ = reply.send(result);
    }
}

/// Watches the dialplan file's modification time (robust against editors
/// that replace the file instead of writing it in place).
struct PlanWatch {
    path: PathBuf,
    last: Option<SystemTime>,
}

impl PlanWatch {
    fn new(path: PathBuf) -> Self {
        let last = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        PlanWatch { path, last }
    }

    fn changed(&mut self) -> bool {
        let now = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if now.is_some() && now != self.last {
            self.last = now;
            return true;
        }
        false
    }
}

#[allow(clippy::disallowed_methods)]
fn now_std() -> std::time::Instant {
    std::time::Instant::now()
}

trait NowPlus {
    fn now_plus(d: Duration) -> Instant;
}

impl NowPlus for Instant {
    #[allow(clippy::disallowed_methods)]
    fn now_plus(d: Duration) -> Instant {
        Instant::now() + d
    }
}

/// The address to advertise when none is configured: the listening
/// address, or, when listening on all interfaces, the address of the
/// interface that holds the default route (found without sending anything).
fn guess_public_ip(sip_addrs: &[SocketAddr]) -> IpAddr {
    if let Some(a) = sip_addrs.iter().find(|a| !a.ip().is_unspecified()) {
        return a.ip();
    }
    // connect() on a UDP socket only consults the routing table; no packet is sent.
    let probe = StdUdp::bind("0.0.0.0:0").and_then(|s| {
        s.connect("192.0.2.1:9")?;
        s.local_addr()
    });
    match probe {
        Ok(a) if !a.ip().is_unspecified() => a.ip(),
        _ => {
            tracing::warn!(
                "cannot determine this host's address; advertising 127.0.0.1 (set --public-address)"
            );
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
    }
}
