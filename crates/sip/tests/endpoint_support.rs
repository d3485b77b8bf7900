//! Helpers shared by the endpoint tests (included with `#[path]`): a base
//! instant, peers, message builders that read like RFC 3261 examples, and
//! drains for an endpoint's outputs.
#![allow(dead_code)]

use sip::endpoint::{ConnId, Endpoint, EndpointConfig, Event, Peer, Transmit, Transport};
use sip::message::{Message, Request, Response};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The one real instant a test reads; everything after it is arithmetic.
#[allow(clippy::disallowed_methods)]
pub fn t0() -> Instant {
    Instant::now()
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

pub fn udp(a: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: addr(a),
        conn: None,
    }
}

pub fn tcp(a: &str, conn: u64) -> Peer {
    Peer {
        transport: Transport::Tcp,
        addr: addr(a),
        conn: Some(ConnId(conn)),
    }
}

/// An endpoint advertising `local` on both transports.
pub fn endpoint(local: &str, seed: u64) -> Endpoint {
    Endpoint::new(EndpointConfig {
        local: vec![(Transport::Udp, addr(local)), (Transport::Tcp, addr(local))],
        rng_seed: sip::endpoint::seed_from_u64(seed),
        ..EndpointConfig::default()
    })
}

pub fn parse(bytes: &[u8]) -> Message {
    match Message::parse(bytes) {
        Ok(m) => m,
        Err(e) => panic!(
            "expected a parseable message, got {e}: {}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

pub fn request(bytes: &[u8]) -> Request {
    match parse(bytes) {
        Message::Request(r) => r,
        Message::Response(r) => panic!("expected a request, got a {} response", r.status),
    }
}

pub fn response(bytes: &[u8]) -> Response {
    match parse(bytes) {
        Message::Response(r) => r,
        Message::Request(r) => panic!("expected a response, got a {} request", r.method),
    }
}

/// A request as a phone at `via_host` would send it, with its own Via.
pub fn wire_request(method: &str, via: &str, cseq: u32, to_tag: Option<&str>) -> String {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "{method} sip:202@10.0.0.2 SIP/2.0\r\n\
Via: {via}\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:201@example.test>;tag=alice1\r\n\
To: <sip:202@example.test>{to_tag}\r\n\
Call-ID: call-1@10.0.0.1\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:201@10.0.0.1:5062>\r\n\
Content-Length: 0\r\n\r\n"
    )
}

/// A request the TU would hand to `send_request` (no Via yet).
pub fn tu_request(method: &str, call_id: &str, cseq: u32) -> Request {
    let text = format!(
        "{method} sip:202@10.0.0.2:5060 SIP/2.0\r\n\
From: <sip:201@example.test>;tag=uac1\r\n\
To: <sip:202@example.test>\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:201@10.0.0.1:5060>\r\n\
Via: SIP/2.0/UDP placeholder.invalid;branch=z9hG4bKremove\r\n\r\n"
    );
    let mut r = request(text.as_bytes());
    r.headers.remove("Via");
    r
}

/// A response to `req` (as received on the wire) with a To tag.
pub fn reply(req: &Request, status: u16, to_tag: &str) -> Response {
    let mut r = Response::for_request(req, status);
    if status > 100 {
        let to = r.headers.get("To").unwrap_or_default().to_string();
        r.headers.set("To", format!("{to};tag={to_tag}"));
    }
    r
}

pub fn transmits(ep: &mut Endpoint) -> Vec<Transmit> {
    std::iter::from_fn(|| ep.poll_transmit()).collect()
}

pub fn events(ep: &mut Endpoint) -> Vec<Event> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

/// The first line of a message, for readable assertions.
pub fn start_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines().next().unwrap_or_default().to_string()
}

/// Start lines of all transmits.
pub fn lines(out: &[Transmit]) -> Vec<String> {
    out.iter().map(|t| start_line(&t.bytes)).collect()
}

/// Runs the endpoint's timers until `until`, returning what it sent and reported.
pub fn run_timers(ep: &mut Endpoint, until: Instant) -> (Vec<(Instant, Transmit)>, Vec<Event>) {
    let mut sent = Vec::new();
    let mut evs = Vec::new();
    while let Some(at) = ep.poll_timeout().filter(|at| *at <= until) {
        ep.handle_timeout(at);
        sent.extend(transmits(ep).into_iter().map(|t| (at, t)));
        evs.extend(events(ep));
    }
    (sent, evs)
}
