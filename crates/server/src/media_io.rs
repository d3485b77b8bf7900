//! The media task: owns the sans-IO [`media::MediaEngine`] and the RTP
//! sockets. Each socket has a reader task that forwards packets here; the
//! task feeds them to the engine, sends what the engine transmits from the
//! leg's own socket (symmetric RTP), and passes engine events to the core.

use media::{EngineConfig, Input, LegId, MediaCommand, MediaEngine, MediaEvent, Output};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Requests from the core to the media task.
#[derive(Debug)]
pub enum MediaRequest {
    /// Bind the leg's RTP socket.
    Open {
        /// The leg.
        leg: LegId,
        /// The local port.
        port: u16,
    },
    /// Close the leg's socket.
    Close {
        /// The leg.
        leg: LegId,
    },
    /// An engine command.
    Command(MediaCommand),
}

struct Packet {
    leg: LegId,
    rtcp: bool,
    from: SocketAddr,
    bytes: Vec<u8>,
}

/// A leg's sockets: RTP on the even port, RTCP on the next one (RFC 3550 §11).
struct LegSockets {
    rtp: Arc<UdpSocket>,
    rtcp: Option<Arc<UdpSocket>>,
    readers: Vec<JoinHandle<()>>,
}

/// Starts the media task. `bind_ip` is the address RTP sockets bind to.
pub fn start(
    bind_ip: IpAddr,
    rtp_timeout: Duration,
    seed: u64,
    events: mpsc::UnboundedSender<MediaEvent>,
) -> (mpsc::UnboundedSender<MediaRequest>, JoinHandle<()>) {
    let (req_tx, mut req_rx) = mpsc::unbounded_channel::<MediaRequest>();
    let (pkt_tx, mut pkt_rx) = mpsc::channel::<Packet>(4096);
    let handle = tokio::spawn(async move {
        #[allow(clippy::disallowed_methods)]
        let start = tokio::time::Instant::now();
        let mut engine = MediaEngine::new(
            EngineConfig {
                seed,
                rtp_timeout,
                ntp_at_start: ntp_now(),
                ..EngineConfig::default()
            },
            start.into_std(),
        );
        let mut sockets: HashMap<LegId, LegSockets> = HashMap::new();
        let mut deadline = start + Duration::from_secs(1);
        loop {
            tokio::select! {
                req = req_rx.recv() => {
                    let Some(req) = req else { break };
                    match req {
                        MediaRequest::Open { leg, port } => {
                            match UdpSocket::bind(SocketAddr::new(bind_ip, port)).await {
                                Ok(sock) => {
                                    let rtp = Arc::new(sock);
                                    let mut readers = vec![spawn_reader(leg, false, rtp.clone(), pkt_tx.clone())];
                                    // RTCP is optional: a taken odd port only costs the reports.
                                    let rtcp = match UdpSocket::bind(SocketAddr::new(bind_ip, port + 1)).await {
                                        Ok(s) => {
                                            let s = Arc::new(s);
                                            readers.push(spawn_reader(leg, true, s.clone(), pkt_tx.clone()));
                                            Some(s)
                                        }
                                        Err(e) => {
                                            tracing::debug!(port = port + 1, error = %e, "no RTCP socket for this leg");
                                            None
                                        }
                                    };
                                    sockets.insert(leg, LegSockets { rtp, rtcp, readers });
                                }
                                Err(e) => {
                                    tracing::error!(port, error = %e, "cannot bind RTP port");
                                    let _ = events.send(MediaEvent::CommandRejected {
                                        leg,
                                        reason: format!("cannot bind RTP port {port}: {e}"),
                                    });
                                }
                            }
                        }
                        MediaRequest::Close { leg } => {
                            if let Some(s) = sockets.remove(&leg) {
                                s.readers.iter().for_each(JoinHandle::abort);
                            }
                        }
                        MediaRequest::Command(cmd) => engine.handle_input(Input::Command(cmd)),
                    }
                }
                pkt = pkt_rx.recv() => {
                    let Some(p) = pkt else { break };
                    #[allow(clippy::disallowed_methods)]
                    let now = std::time::Instant::now();
                    if p.rtcp {
                        engine.handle_input(Input::Rtcp { now, leg: p.leg, from: p.from, bytes: &p.bytes });
                    } else {
                        engine.handle_input(Input::Rtp { now, leg: p.leg, from: p.from, bytes: &p.bytes });
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    engine.handle_input(Input::Timeout(deadline.into_std()));
                }
            }
            loop {
                match engine.poll_output() {
                    Output::Transmit { leg, to, bytes } => {
                        if let Some(s) = sockets.get(&leg) {
                            let _ = s.rtp.try_send_to(&bytes, to);
                        }
                    }
                    Output::TransmitRtcp { leg, to, bytes } => {
                        if let Some(sock) = sockets.get(&leg).and_then(|s| s.rtcp.as_ref()) {
                            let _ = sock.try_send_to(&bytes, to);
                        }
                    }
                    Output::Event(ev) => {
                        let _ = events.send(ev);
                    }
                    Output::Timeout(t) => {
                        deadline = tokio::time::Instant::from_std(t);
                        break;
                    }
                }
            }
        }
        for s in sockets.values() {
            s.readers.iter().for_each(JoinHandle::abort);
        }
    });
    (req_tx, handle)
}

fn spawn_reader(
    leg: LegId,
    rtcp: bool,
    sock: Arc<UdpSocket>,
    out: mpsc::Sender<Packet>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            match sock.recv_from(&mut buf).await {
                Ok((n, from)) => {
                    let p = Packet {
                        leg,
                        rtcp,
                        from,
                        bytes: buf[..n].to_vec(),
                    };
                    // Under overload, drop rather than queue without bound.
                    if let Err(mpsc::error::TrySendError::Closed(_)) = out.try_send(p) {
                        return;
                    }
                }
                Err(e) => tracing::trace!(error = %e, "RTP receive error"),
            }
        }
    })
}

/// The current wall-clock time as a 64-bit NTP timestamp (RFC 3550 sender reports).
fn ntp_now() -> u64 {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let ms = crate::wall_ms().max(0) as u64;
    let secs = ms / 1000 + UNIX_TO_NTP;
    let frac = ((ms % 1000) << 32) / 1000;
    (secs << 32) | frac
}
