//! `switchboard serve`: binds the sockets, turns signals into a reload stream
//! and a shutdown future, and runs the server on them ([`serve`], which binds
//! and installs nothing itself). The core loop is the only place that reads
//! the clock for call logic: it feeds one input at a time with `now`, then
//! drains every output ([`pbx::drain`]) before sleeping until the next deadline.

use crate::cli::ServeArgs;
use crate::core_loop::{Core, define_moh, now_std};
use crate::http::AdminRequest;
use crate::media_io;
use crate::sip_io::{Inbound, Listeners, Transports};
use crate::store_io::{self, Persisted};
use crate::{prompt_check, startup, wall_ms};
use dialplan::Plan;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdp};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use store::Store;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The sockets the server listens on, bound before it starts.
pub struct Bound {
    /// SIP over UDP and TCP.
    pub sip: Listeners,
    /// The HTTP admin API.
    pub http: TcpListener,
}

impl Bound {
    /// Binds what `args` names.
    pub async fn bind(args: &ServeArgs) -> Result<Bound, String> {
        let sip = Listeners::bind(&args.sip_listen)
            .await
            .map_err(|e| e.to_string())?;
        let http = TcpListener::bind(args.http_listen).await.map_err(|e| {
            format!(
                "cannot bind the HTTP admin API on {}: {e}",
                args.http_listen
            )
        })?;
        Ok(Bound { sip, http })
    }
}

/// `switchboard serve`: binds, then serves until SIGTERM or SIGINT; SIGHUP reloads the dialplan.
pub async fn run(args: ServeArgs) -> Result<(), String> {
    let bound = Bound::bind(&args).await?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let (reload_tx, reloads) = mpsc::channel(4);
    tokio::spawn(async move {
        while sighup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the dialplan");
            if reload_tx.send(()).await.is_err() {
                break;
            }
        }
    });
    let shutdown = async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
    };
    serve(args, bound, reloads, shutdown).await
}

/// Serves on `bound` until `shutdown` completes: each message on `reloads` (and each change
/// of the dialplan file) reloads the dialplan. Then hangs up every call and lets the last
/// messages and writes go out.
pub async fn serve(
    args: ServeArgs,
    bound: Bound,
    reloads: mpsc::Receiver<()>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let loaded = prompt_check::load(&args.dialplan)?;
    let plan = &loaded.plan;
    let weak = plan.weak_credentials();
    if !weak.is_empty() {
        tracing::warn!(count = weak.len(), accounts = %weak.join(", "), "accounts still use demo passwords from the shipped dialplan: change them before exposing this server");
    }
    let store = Store::connect(&args.database_url)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", args.database_url))?;
    let Bound {
        sip: listeners,
        http,
    } = bound;
    let sip_addrs = listeners.local_addrs();
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

    let built = startup::build(&args, loaded, &store, &sip_addrs, public_ip).await?;
    let (in_tx, in_rx) = mpsc::channel::<Inbound>(8192);
    let transports = Transports::start(listeners, in_tx);
    let (media_ev_tx, media_ev_rx) = mpsc::unbounded_channel();
    let (media_tx, media_task) = media_io::start(
        built.bind_ip,
        Duration::from_secs(args.rtp_timeout),
        built.seed ^ 0x5eed,
        media_ev_tx,
    )
    .map_err(|e| format!("cannot start the media thread: {e}"))?;
    define_moh(&media_tx, built.moh, &built.ringback);
    let (done_tx, done_rx) = mpsc::unbounded_channel::<Persisted>();
    let (store_tx, store_task) = store_io::start(store.clone(), done_tx);
    let (admin_tx, admin_rx) = mpsc::channel::<AdminRequest>(64);
    tokio::spawn(crate::http::serve(http, admin_tx, store.clone()));
    let mut core = Core {
        pbx: built.pbx,
        ep: built.ep,
        transports,
        media: media_tx.clone(),
        store: store_tx.clone(),
        public_ip,
        sip_addrs: sip_addrs.clone(),
        dialplan: args.dialplan.clone(),
        ringback: built.ringback,
    };
    let mut inputs = Inputs {
        sip: in_rx,
        media: media_ev_rx,
        persisted: done_rx,
        admin: admin_rx,
        reloads,
        plan_watch: PlanWatch::new(args.dialplan.clone()),
    };
    // The paging groups' background music as the schedules and restored overrides say.
    core.pbx.check_music(now_std(), wall_ms(), &mut core.ep);
    core.drain();
    turns(&mut core, &mut inputs, shutdown).await;
    wind_down(&mut core, &mut inputs).await;
    drop(core);
    drop(store_tx);
    drop(media_tx);
    let _ = store_task.await;
    let _ = media_task.await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// What the core loop waits on.
struct Inputs {
    sip: mpsc::Receiver<Inbound>,
    media: mpsc::UnboundedReceiver<media::MediaEvent>,
    persisted: mpsc::UnboundedReceiver<Persisted>,
    admin: mpsc::Receiver<AdminRequest>,
    reloads: mpsc::Receiver<()>,
    plan_watch: PlanWatch,
}

/// The core loop: one input at a time with `now`, then everything it set off, until
/// `shutdown` completes or the SIP sockets close.
async fn turns(core: &mut Core, inputs: &mut Inputs, shutdown: impl Future<Output = ()>) {
    let mut watch_tick = tokio::time::interval(Duration::from_secs(2));
    tokio::pin!(shutdown);
    loop {
        let deadline = [core.ep.poll_timeout(), core.pbx.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now_plus(Duration::from_secs(3600)));
        tokio::select! {
            item = inputs.sip.recv() => {
                let Some(item) = item else { break };
                match item {
                    Inbound::Message { from, bytes } => core.ep.handle_bytes(now_std(), from, &bytes),
                    Inbound::Opened { conn, addr, writer } => core.transports.opened(conn, addr, writer),
                    Inbound::Closed { conn } => core.transports.closed(conn),
                }
            }
            Some(ev) = inputs.media.recv() => {
                core.pbx.handle_media(now_std(), wall_ms(), &mut core.ep, ev);
            }
            Some(p) = inputs.persisted.recv() => {
                if let Some((tx, resp)) = p.then {
                    core.ep.respond(now_std(), tx, resp);
                }
            }
            Some(req) = inputs.admin.recv() => core.admin(req),
            _ = tokio::time::sleep_until(deadline) => {
                let now = now_std();
                core.ep.handle_timeout(now);
                core.pbx.handle_timeout(now, wall_ms(), &mut core.ep);
            }
            Some(()) = inputs.reloads.recv() => {
                let _ = core.reload();
            }
            _ = watch_tick.tick() => {
                if inputs.plan_watch.changed() {
                    tracing::info!(file = %core.dialplan.display(), "dialplan file changed: reloading");
                    let _ = core.reload();
                }
            }
            _ = &mut shutdown => break,
        }
        core.drain();
    }
}

/// Graceful shutdown: hang up calls, let the BYEs and final writes go out.
async fn wind_down(core: &mut Core, inputs: &mut Inputs) {
    tracing::info!(calls = core.pbx.active_calls(), "shutting down");
    core.pbx.hangup_all(now_std(), wall_ms(), &mut core.ep);
    core.drain();
    let grace = Instant::now_plus(Duration::from_millis(500));
    while Instant::now_plus(Duration::ZERO) < grace {
        tokio::select! {
            Some(Inbound::Message { from, bytes }) = inputs.sip.recv() => core.ep.handle_bytes(now_std(), from, &bytes),
            Some(p) = inputs.persisted.recv() => {
                if let Some((tx, resp)) = p.then { core.ep.respond(now_std(), tx, resp); }
            }
            _ = tokio::time::sleep_until(grace) => {}
        }
        core.drain();
    }
}

/// Loads and validates a dialplan, decoding every prompt it names.
pub fn load_plan(path: &std::path::Path) -> Result<Plan, String> {
    prompt_check::load(path).map(|l| l.plan)
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
