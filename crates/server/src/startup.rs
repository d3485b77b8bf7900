//! Building the PBX from the command line and the database: the SIP
//! endpoint, authentication, RTP ports (with the open-file limit checked),
//! the attendant, and the state kept across restarts (registrations, the
//! attendant-mode override, paused operators).

use crate::cli::ServeArgs;
use crate::core_loop::{attendant, now_std};
use crate::directory::pbx_config;
use crate::{fd_limit, prompt_check, rtp_ports, store_io, wall_ms};
use pbx::{Pbx, PlanDirectory};
use sip::auth::{AuthConfig, AuthGuard, Authenticator};
use sip::endpoint::{Endpoint, EndpointConfig, TimerConfig, Transport};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use store::Store;

/// The PBX and its endpoint, ready to run, and what the server needs besides.
pub struct Built {
    pub pbx: Pbx,
    pub ep: Endpoint,
    /// The address RTP sockets bind to.
    pub bind_ip: IpAddr,
    /// The seed for the media thread's randomness.
    pub seed: u64,
    pub moh: Vec<media::prompt::MohClass>,
    pub ringback: Arc<media::prompt::Prompt>,
}

/// Builds the PBX for `args`, listening on `sip_addrs` and advertising `public_ip`.
pub async fn build(
    args: &ServeArgs,
    loaded: prompt_check::LoadedPlan,
    store: &Store,
    sip_addrs: &[SocketAddr],
    public_ip: IpAddr,
) -> Result<Built, String> {
    // Separate OS draws for each use: none can be derived from another (the
    // nonce key stays secret even if an identifier generator were ever exposed).
    let secret = os_random::<32>("nonce keys")?;
    let ids_seed = os_random::<32>("SIP identifiers")?;
    let ports_seed = os_random::<32>("RTP port order")?;
    let seed = u64::from_le_bytes(os_random::<8>("media")?);
    let start = now_std();

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
        rng_seed: ids_seed,
    };
    let mut ep = Endpoint::new(config);
    let realm = loaded.plan.settings().realm.clone();
    let mut auth_config = AuthConfig::new(realm, secret.to_vec());
    auth_config.algorithms = args.digest_algorithms.clone();
    let auth = Authenticator::new(auth_config, start);
    let guard = AuthGuard::new(Default::default());
    let ringback = prompt_check::ringback();
    let (attendant, moh) = attendant(loaded);
    let plan = attendant.plan.clone();
    let bind_ip = match sip_addrs.first().map(|a| a.ip()) {
        Some(ip) if !ip.is_unspecified() => ip,
        Some(IpAddr::V6(_)) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let ports = rtp_port_pool(
        args,
        bind_ip,
        plan.settings().max_concurrent_calls as usize,
        ports_seed,
    )?;
    let mut pbx = Pbx::new(
        pbx_config(&plan, public_ip, sip_addrs),
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
    restore(&mut pbx, &mut ep, store).await?;
    Ok(Built {
        pbx,
        ep,
        bind_ip,
        seed,
        moh,
        ringback,
    })
}

/// `N` fresh bytes from the OS random generator, for `what`.
fn os_random<const N: usize>(what: &str) -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| format!("no OS randomness for {what}: {e}"))?;
    Ok(bytes)
}

/// The RTP ports of `--rtp-ports` that no other program holds, with a warning when the
/// open-file limit allows fewer calls than the ports and `max_calls`.
fn rtp_port_pool(
    args: &ServeArgs,
    bind_ip: IpAddr,
    max_calls: usize,
    seed: [u8; 32],
) -> Result<pbx::PortPool, String> {
    let (ports, taken) = rtp_ports::usable(bind_ip, args.rtp_ports.0, args.rtp_ports.1, seed);
    if !taken.is_empty() {
        tracing::warn!(
            count = taken.len(),
            first = taken[0],
            "RTP ports held by another program are left out of --rtp-ports"
        );
    }
    let by_ports = ports.capacity() / 2;
    let wanted = by_ports.min(max_calls);
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
    Ok(ports)
}

/// Restores what outlives a restart: the attendant-mode override, the registrations and
/// the operators who were paused.
async fn restore(pbx: &mut Pbx, ep: &mut Endpoint, store: &Store) -> Result<(), String> {
    let mode = store
        .get_setting(pbx::MODE_OVERRIDE_KEY)
        .await
        .map_err(|e| format!("cannot read settings: {e}"))?;
    if let Some(m) = mode.as_deref().and_then(Pbx::parse_mode) {
        tracing::info!(mode = ?m, "attendant mode override restored");
        pbx.set_mode_override(Some(m));
    }
    restore_music_overrides(pbx, store).await?;
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
    let hotel = crate::hotel_state::load(store)
        .await
        .map_err(|e| format!("cannot read guests and line settings: {e}"))?;
    if let pbx::hotel::HotelUpdate::Load { guests, lines } = &hotel {
        tracing::info!(
            guests = guests.len(),
            lines = lines.len(),
            "guests in house and line settings restored from the database"
        );
    }
    pbx.update_hotel(hotel);
    let paused = paused_operators(store).await?;
    if !paused.is_empty() {
        tracing::info!(operators = %paused.join(", "), "operators paused before the restart stay paused");
        pbx.restore_paused(now_std(), wall_ms(), ep, &paused);
    }
    Ok(())
}

/// The operators' background-music overrides of the plan's paging groups (settings
/// `background_music:NUMBER` = `on` | `off`); the first music check acts on them.
async fn restore_music_overrides(pbx: &mut Pbx, store: &Store) -> Result<(), String> {
    let Some(plan) = pbx.plan() else {
        return Ok(());
    };
    let mut overrides = Vec::new();
    for group in plan.paging_groups() {
        let key = pbx::music_override_key(&group.number);
        let value = store
            .get_setting(&key)
            .await
            .map_err(|e| format!("cannot read settings: {e}"))?;
        let on = match value.as_deref() {
            Some("on") => true,
            Some("off") => false,
            Some(other) => {
                tracing::warn!(
                    key,
                    value = other,
                    "unknown background music override ignored"
                );
                continue;
            }
            None => continue,
        };
        tracing::info!(group = %group.number, on, "background music override restored");
        overrides.push((group.number.clone(), on));
    }
    pbx.restore_music_overrides(overrides);
    Ok(())
}

/// The operators whose latest shift entry is a pause: a login does not end a pause, an unpause or a
/// logout does (see [`Store::latest_operator_events`]).
async fn paused_operators(store: &Store) -> Result<Vec<String>, String> {
    use store::OperatorChangeKind;
    let latest = store
        .latest_operator_events(&[
            OperatorChangeKind::Pause,
            OperatorChangeKind::Unpause,
            OperatorChangeKind::Logout,
        ])
        .await
        .map_err(|e| format!("cannot read the operator shift log: {e}"))?;
    Ok(latest
        .into_iter()
        .filter(|e| e.event == OperatorChangeKind::Pause)
        .map(|e| e.operator)
        .collect())
}
