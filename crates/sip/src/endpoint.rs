//! The SIP endpoint: every transaction of one SIP stack behind a quinn-style,
//! sans-IO interface.
//!
//! The driver (the `server` crate) owns the sockets and the clock. After each
//! input it drains every output:
//!
//! 1. Inputs: [`Endpoint::handle_bytes`] for each datagram or framed stream
//!    message, [`Endpoint::handle_timeout`] when the deadline from
//!    [`Endpoint::poll_timeout`] passes, [`Endpoint::handle_transport_error`]
//!    when a send fails, and the TU commands ([`Endpoint::respond`],
//!    [`Endpoint::forget`], [`Endpoint::send_request`], [`Endpoint::send_ack`],
//!    [`Endpoint::cancel`]).
//! 2. Outputs: [`Endpoint::poll_transmit`] until `None` (bytes and where to
//!    send them), [`Endpoint::poll_event`] until `None` (for the call logic),
//!    then sleep until [`Endpoint::poll_timeout`].
//!
//! ```
//! use std::time::Instant;
//! use sip::endpoint::{Endpoint, EndpointConfig, Event, Peer, Transport};
//! use sip::message::Response;
//! # #[allow(clippy::disallowed_methods)]
//! let now = Instant::now();
//! let mut ep = Endpoint::new(EndpointConfig::default());
//! let from = Peer { transport: Transport::Udp, addr: "127.0.0.1:5070".parse().unwrap(), conn: None };
//! ep.handle_bytes(now, from, b"OPTIONS sip:127.0.0.1 SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport\r\nMax-Forwards: 70\r\n\
//! From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n");
//! let Some(Event::Request { tx, req, .. }) = ep.poll_event() else { panic!() };
//! let mut ok = Response::for_request(&req, 200);
//! ok.headers.set("To", "<sip:127.0.0.1>;tag=xyz");
//! ep.respond(now, tx, ok);
//! let out = ep.poll_transmit().unwrap();
//! assert_eq!(out.to.addr, from.addr);
//! assert!(out.bytes.starts_with(b"SIP/2.0 200 OK\r\n"));
//! ```

mod client;
mod rng;
mod server;
mod wire;

pub use crate::transaction::TimerConfig;
pub use rng::Rng;

/// Characters in our tags: 80 bits from the ChaCha generator.
pub const TAG_LEN: usize = 16;
/// Characters in our Call-IDs: 120 bits.
pub const CALL_ID_LEN: usize = 24;
/// Characters in our branches after the `z9hG4bK` magic cookie: 80 bits.
pub const BRANCH_LEN: usize = 16;
pub use wire::response_peer;

use crate::message::{Message, Request, Response};
use crate::transaction::client_invite::ClientInvite;
use crate::transaction::client_non_invite::ClientNonInvite;
use crate::transaction::server_invite::ServerInvite;
use crate::transaction::server_non_invite::ServerNonInvite;
use crate::transaction::{ClientKey, ServerKey};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A 32-byte generator seed from a small number: deterministic, for tests only.
pub fn seed_from_u64(seed: u64) -> [u8; 32] {
    let mut full = [0u8; 32];
    full[..8].copy_from_slice(&seed.to_le_bytes());
    full
}

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, so the transactions retransmit.
    Udp,
    /// TCP: reliable, no retransmission timers.
    Tcp,
}

/// A TCP connection, numbered by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(pub u64);

/// The other end of a message: transport, address and, for TCP, the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport.
    pub transport: Transport,
    /// The remote address.
    pub addr: SocketAddr,
    /// The TCP connection the message came on or should go on, if any.
    pub conn: Option<ConnId>,
}

/// Bytes to send. Over TCP with `conn` set, the driver writes to that
/// connection and, if it is gone, opens a new one to `addr`; over UDP it
/// sends from the listening socket to `addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send.
    pub to: Peer,
    /// One complete message.
    pub bytes: Vec<u8>,
}

/// How the endpoint behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// T1, T2, T4 and Timer D.
    pub timers: TimerConfig,
    /// Product name for Server and User-Agent headers, without a version.
    pub server_name: String,
    /// The sent-by address advertised in our Via per transport (the public address behind NAT).
    pub local: Vec<(Transport, SocketAddr)>,
    /// Seed of the ChaCha20 generator for branches, tags and Call-IDs. The
    /// driver draws it from the OS (never from another secret); tests use a
    /// constant (see [`seed_from_u64`]).
    pub rng_seed: [u8; 32],
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            timers: TimerConfig::default(),
            server_name: "Switchboard".into(),
            local: Vec::new(),
            rng_seed: [0; 32],
        }
    }
}

/// A server transaction, as the TU sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(u64);

/// A client transaction, as the TU sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(u64);

/// What the endpoint tells the transaction user (the call logic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new request (not ACK, not CANCEL). Its top Via is already stamped
    /// with `received`/`rport`, so [`Response::for_request`] builds a
    /// response that routes back. Answer it with [`Endpoint::respond`].
    Request {
        /// The server transaction to answer on.
        tx: ServerTxId,
        /// The request.
        req: Request,
        /// Where it came from.
        from: Peer,
    },
    /// An ACK for a 2xx (no transaction of its own). It also stopped the
    /// retransmission of the 2xx it acknowledges, if that was still running.
    /// ACKs that repeat (crossing retransmitted 2xx) come up again.
    Ack {
        /// The ACK.
        req: Request,
        /// Where it came from.
        from: Peer,
    },
    /// A CANCEL matched a pending INVITE server transaction. The endpoint
    /// already answered the CANCEL with 200; the TU should answer the INVITE
    /// with 487.
    Cancelled {
        /// The INVITE's transaction.
        invite: ServerTxId,
        /// The CANCEL.
        cancel: Request,
    },
    /// A response to one of our requests, including 2xx retransmissions
    /// while the INVITE transaction is in Accepted (the TU re-sends its ACK).
    Response {
        /// Our client transaction.
        tx: ClientTxId,
        /// The response.
        resp: Response,
    },
    /// No final response arrived (Timer B or F, or 64*T1 after a CANCEL).
    Timeout {
        /// Our client transaction.
        tx: ClientTxId,
    },
    /// A final response we sent was never ACKed: a 2xx within 64*T1 (Timer
    /// L; the TU should end the dialog with BYE), or a 3xx-6xx (Timer H).
    AckTimeout {
        /// The INVITE's transaction.
        tx: ServerTxId,
    },
    /// The driver reported that our request could not be sent.
    TransportError {
        /// Our client transaction.
        tx: ClientTxId,
    },
}

/// Counters of what the endpoint did with its input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Messages dropped: unparseable and unanswerable, malformed responses,
    /// responses matching no transaction or from the wrong source, requests
    /// without a usable Via.
    pub dropped: u64,
    /// Requests answered statelessly with an error status because they did not parse.
    pub rejected: u64,
    /// Retransmitted requests and responses absorbed by a transaction.
    pub retransmissions_absorbed: u64,
    /// Retransmissions we sent (requests, responses and ACKs).
    pub retransmissions_sent: u64,
    /// Empty datagrams and bare CRLF keep-alives ignored.
    pub keepalives: u64,
    /// TU responses refused: the transaction was gone or already had its final response.
    pub late_responses: u64,
    /// Responses dropped because they came from somewhere other than where the
    /// request went (another address, port or transport): forged or misrouted.
    pub wrong_source: u64,
}

/// The SIP endpoint: transaction layer and transport rules, without I/O.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    rng: Rng,
    next_id: u64,
    servers: HashMap<u64, ServerTx>,
    server_keys: HashMap<ServerKey, u64>,
    /// INVITE server transactions in Accepted, by (Call-ID, From tag, CSeq number).
    accepted: HashMap<AckKey, u64>,
    clients: HashMap<u64, ClientTx>,
    client_keys: HashMap<ClientKey, u64>,
    deadlines: BinaryHeap<Reverse<(Instant, TxRef)>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: EndpointStats,
}

/// The identity of a 2xx's ACK: Call-ID, From tag and CSeq number.
type AckKey = (String, String, u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TxRef {
    Server(u64),
    Client(u64),
}

#[derive(Debug)]
struct ServerTx {
    key: ServerKey,
    /// Where responses go (§18.2.2).
    peer: Peer,
    machine: ServerMachine,
    /// The To tag of the TU's last response (reused in our 200 to a CANCEL).
    to_tag: Option<String>,
    ack_key: Option<AckKey>,
}

#[derive(Debug)]
enum ServerMachine {
    Invite(ServerInvite),
    NonInvite(ServerNonInvite),
}

#[derive(Debug)]
struct ClientTx {
    key: ClientKey,
    peer: Peer,
    machine: ClientMachine,
    cancel: CancelState,
}

#[derive(Debug)]
enum ClientMachine {
    Invite(Box<ClientInvite>),
    NonInvite(Box<ClientNonInvite>),
}

/// Where a CANCEL of an INVITE client transaction stands (RFC 3261 §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CancelState {
    None,
    /// Asked for before any provisional response: sent when one arrives.
    Deferred(u64),
    Sent(u64),
}

impl Endpoint {
    /// An endpoint with `config`. Timer values are kept sane: T1 within
    /// 1 ms..60 s, T2 within T1..600 s, T4 and Timer D at most 600 s, so
    /// retransmission intervals always grow and no deadline overflows.
    pub fn new(mut config: EndpointConfig) -> Self {
        let t = &mut config.timers;
        let max = Duration::from_secs(600);
        t.t1 =
            t.t1.clamp(Duration::from_millis(1), Duration::from_secs(60));
        t.t2 = t.t2.clamp(t.t1, max);
        t.t4 = t.t4.min(max);
        t.timer_d = t.timer_d.min(max);
        Endpoint {
            rng: Rng::from_seed(config.rng_seed),
            config,
            next_id: 1,
            servers: HashMap::new(),
            server_keys: HashMap::new(),
            accepted: HashMap::new(),
            clients: HashMap::new(),
            client_keys: HashMap::new(),
            deadlines: BinaryHeap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: EndpointStats::default(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Counters of dropped, rejected and absorbed messages.
    pub fn stats(&self) -> &EndpointStats {
        &self.stats
    }

    /// How many transactions are alive (server, client).
    pub fn transaction_count(&self) -> (usize, usize) {
        (self.servers.len(), self.clients.len())
    }

    /// Takes one datagram, or one message framed from a stream by
    /// [`crate::framing::StreamFramer`]. Never panics, whatever the bytes.
    pub fn handle_bytes(&mut self, now: Instant, from: Peer, bytes: &[u8]) {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            self.stats.keepalives += 1;
            return;
        }
        match Message::parse(bytes) {
            Ok(Message::Request(req)) => self.handle_request(now, from, req),
            Ok(Message::Response(resp)) => self.handle_response(now, from, resp),
            Err(err) => {
                let server_name = self.config.server_name.clone();
                let rng = &mut self.rng;
                match wire::reject_unparsable(&err, from, &server_name, || rng.token(TAG_LEN)) {
                    Some((resp, peer)) => {
                        self.stats.rejected += 1;
                        self.transmits.push_back(Transmit {
                            to: peer,
                            bytes: resp.to_bytes(),
                        });
                    }
                    None => self.stats.dropped += 1,
                }
            }
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = Vec::new();
        while let Some(Reverse((at, tx))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            due.push(tx);
        }
        // A transaction may sit in the heap several times (stale or repeated deadlines).
        due.sort_unstable();
        due.dedup();
        for tx in due {
            match tx {
                TxRef::Server(id) => self.server_timer(now, id),
                TxRef::Client(id) => self.client_timer(now, id),
            }
        }
    }

    /// The driver could not send to `to` (connection refused or reset, ICMP
    /// unreachable): every client transaction towards it fails with
    /// [`Event::TransportError`], server transactions towards it end.
    pub fn handle_transport_error(&mut self, now: Instant, to: Peer) {
        let same = |p: &Peer| p.transport == to.transport && p.addr == to.addr;
        let clients: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| same(&c.peer))
            .map(|(id, _)| *id)
            .collect();
        for id in clients {
            self.client_transport_error(id);
        }
        let servers: Vec<u64> = self
            .servers
            .iter()
            .filter(|(_, s)| same(&s.peer))
            .map(|(id, _)| *id)
            .collect();
        for id in servers {
            self.server_transport_error(now, id);
        }
    }

    /// The earliest moment [`Endpoint::handle_timeout`] has work to do.
    /// It may be early (a timer was cancelled since), never late.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the transaction user.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// A fresh From/To tag.
    pub fn new_tag(&mut self) -> String {
        self.rng.token(TAG_LEN)
    }

    /// A fresh Call-ID.
    pub fn new_call_id(&mut self) -> String {
        self.rng.token(CALL_ID_LEN)
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn fresh_branch(&mut self) -> String {
        format!(
            "{}{}",
            crate::message::BRANCH_MAGIC,
            self.rng.token(BRANCH_LEN)
        )
    }

    fn schedule(&mut self, tx: TxRef, at: Option<Instant>) {
        if let Some(at) = at {
            self.deadlines.push(Reverse((at, tx)));
        }
    }

    fn transmit(&mut self, to: Peer, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit { to, bytes });
    }

    /// The address we advertise on `transport` (our Via sent-by; also what
    /// the TU should put in Contact): the configured address for that
    /// transport, else the first configured one, else 127.0.0.1:5060.
    pub fn local_addr(&self, transport: Transport) -> SocketAddr {
        self.config
            .local
            .iter()
            .find(|(t, _)| *t == transport)
            .or_else(|| self.config.local.first())
            .map(|(_, a)| *a)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5060)))
    }
}
