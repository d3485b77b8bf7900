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
    from: SocketAddr,
    bytes: Vec<u8>,
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
            },
            start.into_std(),
        );
        let mut sockets: HashMap<LegId, (Arc<UdpSocket>, JoinHandle<()>)> = HashMap::new();
        let mut deadline = start + Duration::from_secs(1);
        loop {
            tokio::select! {
                req = req_rx.recv() => {
                    let Some(req) = req else { break };
                    match req {
                        MediaRequest::Open { leg, port } => {
                            match UdpSocket::bind(SocketAddr::new(bind_ip, port)).await {
                                Ok(sock) => {
                                    let sock = Arc::new(sock);
                                    let reader = spawn_reader(leg, sock.clone(), pkt_tx.clone());
                                    sockets.insert(leg, (sock, reader));
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
                            if let Some((_, reader)) = sockets.remove(&leg) {
                                reader.abort();
                            }
                        }
                        MediaRequest::Command(cmd) => engine.handle_input(Input::Command(cmd)),
                    }
                }
                pkt = pkt_rx.recv() => {
                    let Some(p) = pkt else { break };
                    #[allow(clippy::disallowed_methods)]
                    let now = std::time::Instant::now();
                    engine.handle_input(Input::Rtp { now, leg: p.leg, from: p.from, bytes: &p.bytes });
                }
                _ = tokio::time::sleep_until(deadline) => {
                    engine.handle_input(Input::Timeout(deadline.into_std()));
                }
            }
            loop {
                match engine.poll_output() {
                    Output::Transmit { leg, to, bytes } => {
                        if let Some((sock, _)) = sockets.get(&leg) {
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
        for (_, (_, reader)) in sockets {
            reader.abort();
        }
    });
    (req_tx, handle)
}

fn spawn_reader(leg: LegId, sock: Arc<UdpSocket>, out: mpsc::Sender<Packet>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            match sock.recv_from(&mut buf).await {
                Ok((n, from)) => {
                    let p = Packet {
                        leg,
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
