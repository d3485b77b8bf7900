//! The media thread: one OS thread owns the sans-IO [`media::MediaEngine`]
//! and every RTP and RTCP socket. The sockets are non-blocking and registered
//! with one epoll instance (mio); when one is readable the thread reads it
//! until it would block, feeds each datagram straight to the engine and sends
//! what the engine transmits at once from the leg's own socket (symmetric
//! RTP). The engine's next deadline is the epoll timeout.
//!
//! The async core talks to the thread through the request channel returned by
//! [`start`] (a small task hands requests over to the thread and wakes it
//! through a [`mio::Waker`]) and hears from it through the events channel (a
//! tokio `UnboundedSender` works from any thread). Per packet there is no
//! channel, task switch or allocation on the receive side: measured in
//! `docs/benchmarks.md` ("media load").

use media::{EngineConfig, Input, LegId, MediaCommand, MediaEngine, MediaEvent, Output};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Requests from the core to the media thread.
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

/// The token of the waker; socket tokens are even (RTP) / odd (RTCP) pairs from 2 up.
const WAKER: Token = Token(0);
/// Datagrams read from one socket in a row before the other ready sockets get their turn (a
/// flooded port cannot starve the rest; it is read again on the next turn).
const READ_BUDGET: usize = 64;
/// Readiness events taken per `epoll_wait`.
const EVENTS: usize = 1024;
/// The shortest time from the start of one turn of the loop to the next (see
/// [`MediaThread::run`]): it bounds the delay it adds to a relayed packet.
const TURN: Duration = Duration::from_millis(1);
/// Receive buffer: larger than any RTP/RTCP datagram the engine accepts.
const BUF: usize = 2048;

/// Starts the media thread. `bind_ip` is the address RTP sockets bind to.
///
/// Returns the request sender and a task that completes once the thread has
/// ended: dropping every sender stops the thread (its sockets are closed), and
/// so does aborting the task.
pub fn start(
    bind_ip: IpAddr,
    rtp_timeout: Duration,
    seed: u64,
    events: mpsc::UnboundedSender<MediaEvent>,
) -> io::Result<(mpsc::UnboundedSender<MediaRequest>, JoinHandle<()>)> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let (req_tx, mut req_rx) = mpsc::unbounded_channel::<MediaRequest>();
    let (handover_tx, handover_rx) = std_mpsc::channel::<MediaRequest>();
    // The thread keeps a handle of its own: mio delivers a waker's events only while the waker
    // exists, and the hand-over drops its handle right after the last wake-up.
    let own_waker = waker.clone();
    let thread = std::thread::Builder::new()
        .name("media".into())
        .spawn(move || {
            let _waker = own_waker;
            MediaThread::new(poll, handover_rx, events, bind_ip, rtp_timeout, seed).run();
        })?;
    let handle = tokio::spawn(async move {
        let handover = Handover {
            tx: Some(handover_tx),
            waker,
        };
        while let Some(first) = req_rx.recv().await {
            // Everything queued goes over with one wake-up.
            let mut next = Some(first);
            while let Some(req) = next {
                if !handover.send(req) {
                    tracing::error!("the media thread has ended; media requests are dropped");
                    return;
                }
                next = req_rx.try_recv().ok();
            }
            handover.wake();
        }
        drop(handover);
        match tokio::task::spawn_blocking(move || thread.join()).await {
            Ok(Ok(())) => tracing::debug!("media thread stopped"),
            Ok(Err(_)) => tracing::error!("the media thread panicked"),
            Err(e) => tracing::error!(error = %e, "cannot wait for the media thread"),
        }
    });
    Ok((req_tx, handle))
}

/// The core's end of the hand-over to the thread. Dropping it (the core hung up, or the task
/// was aborted) disconnects the channel and wakes the thread, which then ends.
struct Handover {
    tx: Option<std_mpsc::Sender<MediaRequest>>,
    waker: Arc<Waker>,
}

impl Handover {
    /// Queues a request; false if the thread has ended.
    fn send(&self, req: MediaRequest) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send(req).is_ok())
    }

    fn wake(&self) {
        if let Err(e) = self.waker.wake() {
            tracing::error!(error = %e, "cannot wake the media thread");
        }
    }
}

impl Drop for Handover {
    fn drop(&mut self) {
        self.tx = None;
        self.wake();
    }
}

/// A leg's sockets: RTP on the even port, RTCP on the next one (RFC 3550 §11).
struct LegSockets {
    rtp: UdpSocket,
    rtcp: Option<UdpSocket>,
    /// The RTP socket's token; the RTCP socket has `token + 1`.
    token: usize,
}

struct MediaThread {
    poll: Poll,
    requests: std_mpsc::Receiver<MediaRequest>,
    events: mpsc::UnboundedSender<MediaEvent>,
    bind_ip: IpAddr,
    engine: MediaEngine,
    /// When the engine wants [`Input::Timeout`].
    deadline: Instant,
    legs: HashMap<LegId, LegSockets>,
    /// RTP token → leg. Tokens are never reused, so a stale readiness event of a closed leg
    /// finds nothing.
    tokens: HashMap<usize, LegId>,
    next_token: usize,
    buf: Box<[u8; BUF]>,
}

impl MediaThread {
    fn new(
        poll: Poll,
        requests: std_mpsc::Receiver<MediaRequest>,
        events: mpsc::UnboundedSender<MediaEvent>,
        bind_ip: IpAddr,
        rtp_timeout: Duration,
        seed: u64,
    ) -> Self {
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let engine = MediaEngine::new(
            EngineConfig {
                seed,
                rtp_timeout,
                ntp_at_start: ntp_now(),
                ..EngineConfig::default()
            },
            start,
        );
        let mut thread = MediaThread {
            poll,
            requests,
            events,
            bind_ip,
            engine,
            deadline: start,
            legs: HashMap::new(),
            tokens: HashMap::new(),
            next_token: 2,
            buf: Box::new([0; BUF]),
        };
        thread.flush();
        thread
    }

    /// The loop: wait for readiness or the engine's deadline, take the core's requests, read
    /// the ready sockets, run the engine's timers. Ends when the core hangs up.
    ///
    /// Turns start at most once per [`TURN`]: a datagram that arrives while the thread is idle
    /// is handled at once, but under load the thread sleeps out the rest of the turn and then
    /// handles everything that arrived meanwhile in one go, instead of being woken (a context
    /// switch) for every datagram. The engine's deadlines are kept to the microsecond: the
    /// sleep ends early for them, and the epoll timeout (whole milliseconds) is rounded down.
    fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS);
        // Sockets that still had datagrams when their read budget ran out.
        let mut backlog: Vec<Token> = Vec::new();
        let mut ready: Vec<Token> = Vec::new();
        let mut turn = now();
        loop {
            if backlog.is_empty() {
                let until = (turn + TURN).min(self.deadline);
                let t = now();
                if until > t {
                    std::thread::sleep(until - t);
                }
            }
            let t = now();
            let timeout = if backlog.is_empty() && t < self.deadline {
                let left = self.deadline - t;
                Duration::from_millis(left.as_millis().try_into().unwrap_or(u64::MAX))
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                tracing::error!(error = %e, "media thread: epoll_wait failed; media stops");
                return;
            }
            turn = now();
            if !self.take_requests() {
                return;
            }
            ready.clear();
            ready.append(&mut backlog);
            ready.extend(events.iter().map(|e| e.token()).filter(|&t| t != WAKER));
            for &token in &ready {
                if self.read(token) {
                    backlog.push(token);
                }
            }
            let t = now();
            if t >= self.deadline {
                self.engine.handle_input(Input::Timeout(t));
                self.flush();
            }
        }
    }

    /// Handles every queued request; false once the core has hung up.
    fn take_requests(&mut self) -> bool {
        loop {
            match self.requests.try_recv() {
                Ok(MediaRequest::Open { leg, port }) => self.open(leg, port),
                Ok(MediaRequest::Close { leg }) => self.close(leg),
                Ok(MediaRequest::Command(cmd)) => {
                    self.engine.handle_input(Input::Command(cmd));
                    self.flush();
                }
                Err(std_mpsc::TryRecvError::Empty) => return true,
                Err(std_mpsc::TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn open(&mut self, leg: LegId, port: u16) {
        if self.legs.contains_key(&leg) {
            // The core opens a leg once; a second Open replaces its sockets.
            self.close(leg);
        }
        let token = self.next_token;
        let mut rtp = match UdpSocket::bind(SocketAddr::new(self.bind_ip, port)) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(port, error = %e, "cannot bind RTP port");
                let _ = self.events.send(MediaEvent::RtpUnavailable {
                    leg,
                    reason: format!("cannot bind RTP port {port}: {e}"),
                });
                return;
            }
        };
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut rtp, Token(token), Interest::READABLE)
        {
            tracing::error!(port, error = %e, "cannot watch RTP port");
            let _ = self.events.send(MediaEvent::RtpUnavailable {
                leg,
                reason: format!("cannot watch RTP port {port}: {e}"),
            });
            return;
        }
        // RTCP is optional: a taken odd port only costs the reports.
        let rtcp = match UdpSocket::bind(SocketAddr::new(self.bind_ip, port + 1)) {
            Ok(mut s) => {
                match self
                    .poll
                    .registry()
                    .register(&mut s, Token(token + 1), Interest::READABLE)
                {
                    Ok(()) => Some(s),
                    Err(e) => {
                        tracing::debug!(port = port + 1, error = %e, "cannot watch the RTCP socket of this leg");
                        None
                    }
                }
            }
            Err(e) => {
                tracing::debug!(port = port + 1, error = %e, "no RTCP socket for this leg");
                None
            }
        };
        self.next_token += 2;
        self.tokens.insert(token, leg);
        self.legs.insert(leg, LegSockets { rtp, rtcp, token });
    }

    fn close(&mut self, leg: LegId) {
        if let Some(mut s) = self.legs.remove(&leg) {
            self.tokens.remove(&s.token);
            let registry = self.poll.registry();
            let _ = registry.deregister(&mut s.rtp);
            if let Some(rtcp) = s.rtcp.as_mut() {
                let _ = registry.deregister(rtcp);
            }
        }
    }

    /// Reads the socket of `token` until it would block (or the budget runs out: then true),
    /// feeding every datagram to the engine and sending what it answers right away.
    fn read(&mut self, token: Token) -> bool {
        let rtcp = token.0 & 1 == 1;
        let Some(&leg) = self.tokens.get(&(token.0 & !1)) else {
            return false;
        };
        let Some(sockets) = self.legs.get(&leg) else {
            return false;
        };
        let sock = match (rtcp, &sockets.rtcp) {
            (false, _) => &sockets.rtp,
            (true, Some(s)) => s,
            (true, None) => return false,
        };
        for _ in 0..READ_BUDGET {
            match sock.recv_from(&mut self.buf[..]) {
                Ok((n, from)) => {
                    let now = now();
                    let bytes = &self.buf[..n];
                    self.engine.handle_input(if rtcp {
                        Input::Rtcp {
                            now,
                            leg,
                            from,
                            bytes,
                        }
                    } else {
                        Input::Rtp {
                            now,
                            leg,
                            from,
                            bytes,
                        }
                    });
                    self.deadline = flush(&mut self.engine, &self.legs, &self.events);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) => tracing::trace!(%leg, error = %e, "RTP receive error"),
            }
        }
        true
    }

    fn flush(&mut self) {
        self.deadline = flush(&mut self.engine, &self.legs, &self.events);
    }
}

/// Carries out the engine's outputs; returns its next deadline.
fn flush(
    engine: &mut MediaEngine,
    legs: &HashMap<LegId, LegSockets>,
    events: &mpsc::UnboundedSender<MediaEvent>,
) -> Instant {
    loop {
        match engine.poll_output() {
            Output::Transmit { leg, to, bytes } => {
                if let Some(s) = legs.get(&leg) {
                    send(&s.rtp, &bytes, to);
                }
            }
            Output::TransmitRtcp { leg, to, bytes } => {
                if let Some(sock) = legs.get(&leg).and_then(|s| s.rtcp.as_ref()) {
                    send(sock, &bytes, to);
                }
            }
            Output::Event(ev) => {
                let _ = events.send(ev);
            }
            Output::Timeout(t) => return t,
        }
    }
}

/// Sends one datagram; a full socket buffer drops it (as a congested network would).
fn send(sock: &UdpSocket, bytes: &[u8], to: SocketAddr) {
    if let Err(e) = sock.send_to(bytes, to) {
        tracing::trace!(%to, error = %e, "RTP send failed");
    }
}

#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// The current wall-clock time as a 64-bit NTP timestamp (RFC 3550 sender reports).
fn ntp_now() -> u64 {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let ms = crate::wall_ms().max(0) as u64;
    let secs = ms / 1000 + UNIX_TO_NTP;
    let frac = ((ms % 1000) << 32) / 1000;
    (secs << 32) | frac
}
