//! The transport-layer rules the endpoint applies to messages: where a
//! response goes (RFC 3261 §18.2.2, RFC 3581), the Via we push on requests
//! (§18.1.1), the Via stamp on received requests (§18.2.1), and the
//! stateless answer to a request that does not parse.

use super::{Peer, Transport};
use crate::message::{Headers, Host, ParseError, Request, Response, Via};
use std::net::SocketAddr;

/// The default SIP port for UDP and TCP.
const DEFAULT_PORT: u16 = 5060;

impl Transport {
    /// The transport token used in Via headers.
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// Whether the transport is reliable (timers A, E, G unused; D, I, J, K zero).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }
}

/// Where responses to a request received from `from` with top Via `via` go.
///
/// - Over TCP: the same connection; should it be gone, a new connection to
///   the source IP and the sent-by port (§18.2.2).
/// - Over UDP: the source IP (the `received` address); the source port when
///   the client asked for `rport` (RFC 3581), else the sent-by port, else 5060.
pub fn response_peer(from: Peer, via: &Via) -> Peer {
    let ip = from.addr.ip();
    let sent_by_port = via.port.unwrap_or(DEFAULT_PORT);
    match from.transport {
        Transport::Tcp => Peer {
            transport: Transport::Tcp,
            addr: SocketAddr::new(ip, sent_by_port),
            conn: from.conn,
        },
        Transport::Udp => {
            let port = if via.rport().is_some() {
                from.addr.port()
            } else {
                sent_by_port
            };
            Peer {
                transport: Transport::Udp,
                addr: SocketAddr::new(ip, port),
                conn: None,
            }
        }
    }
}

/// Replaces the topmost Via value, keeping the others in order on top of the header list.
pub fn replace_top_via(headers: &mut Headers, top: &Via) {
    let mut vias: Vec<String> = headers
        .get_all("Via")
        .into_iter()
        .map(str::to_string)
        .collect();
    if vias.is_empty() {
        return;
    }
    vias[0] = top.to_string();
    headers.remove("Via");
    for v in vias.into_iter().rev() {
        headers.push_front("Via", v);
    }
}

/// Stamps the received request's top Via with `received` and `rport`.
/// Returns the stamped Via, or `None` if the request has no valid Via.
pub fn stamp_request(req: &mut Request, source: SocketAddr) -> Option<Via> {
    let mut via = req.headers.top_via().ok()?;
    let before = via.clone();
    via.stamp_source(source);
    if via != before {
        replace_top_via(&mut req.headers, &via);
    }
    Some(via)
}

/// The Via we push on a request sent over `transport` from `local`.
pub fn our_via(transport: Transport, local: SocketAddr, branch: &str) -> Via {
    Via::new(
        transport.via_token(),
        Host::from(local.ip()),
        Some(local.port()),
        branch,
    )
}

/// Adds `name: value` unless the message already has that header.
pub fn default_header(headers: &mut Headers, name: &str, value: &str) {
    if !headers.contains(name) {
        headers.push(name, value);
    }
}

/// The stateless answer to a request the parser rejected with a status
/// (400, 505, …), with the reason in a Warning header (RFC 3261 §20.43,
/// code 399 "miscellaneous warning"). It goes where [`response_peer`] says
/// when the top Via parses; when it does not (a `SIP/7.0/UDP` Via on a
/// `SIP/7.0` request, RFC 4475 §3.1.2.16), to the request's source address,
/// over its connection for TCP, with the Vias echoed as received. `None`
/// when the error carries no answerable head or the request was an ACK.
pub fn reject_unparsable(
    err: &ParseError,
    from: Peer,
    server_name: &str,
    to_tag: impl FnOnce() -> String,
) -> Option<(Response, Peer)> {
    let status = err.status()?;
    let head = err.head.as_ref()?;
    if head.method == "ACK" {
        return None;
    }
    let mut resp = Response::for_headers(&head.headers, status);
    let to = match head.headers.top_via() {
        Ok(mut via) => {
            via.stamp_source(from.addr);
            replace_top_via(&mut resp.headers, &via);
            response_peer(from, &via)
        }
        Err(_) => from,
    };
    if let Some(to) = resp.headers.get("To")
        && !to.to_ascii_lowercase().contains("tag=")
    {
        let tagged = format!("{to};tag={}", to_tag());
        resp.headers.set("To", tagged);
    }
    let detail: String = err
        .detail
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(200)
        .collect();
    let agent: String = server_name.chars().filter(|c| !c.is_whitespace()).collect();
    let agent = if agent.is_empty() { "-".into() } else { agent };
    resp.headers
        .push("Warning", format!("399 {agent} \"{detail}\""));
    resp.headers.push("Server", server_name);
    Some((resp, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn peer(t: Transport, a: &str, conn: Option<u64>) -> Peer {
        Peer {
            transport: t,
            addr: a.parse().unwrap(),
            conn: conn.map(super::super::ConnId),
        }
    }

    #[test]
    fn udp_with_rport_goes_to_the_source_port() {
        let via = Via::parse("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1;rport").unwrap();
        let p = response_peer(peer(Transport::Udp, "203.0.113.9:40001", None), &via);
        assert_eq!(p.addr, "203.0.113.9:40001".parse().unwrap());
    }

    #[test]
    fn udp_without_rport_goes_to_received_ip_and_sent_by_port() {
        let via = Via::parse("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1").unwrap();
        let p = response_peer(peer(Transport::Udp, "203.0.113.9:40001", None), &via);
        assert_eq!(p.addr, "203.0.113.9:5070".parse().unwrap());
        let no_port = Via::parse("SIP/2.0/UDP host.example;branch=z9hG4bK1").unwrap();
        let p = response_peer(peer(Transport::Udp, "203.0.113.9:40001", None), &no_port);
        assert_eq!(p.addr, "203.0.113.9:5060".parse().unwrap());
    }

    #[test]
    fn tcp_keeps_the_connection() {
        let via = Via::parse("SIP/2.0/TCP 10.0.0.5:5070;branch=z9hG4bK1;rport").unwrap();
        let p = response_peer(peer(Transport::Tcp, "203.0.113.9:40001", Some(4)), &via);
        assert_eq!(p.conn, Some(super::super::ConnId(4)));
        assert_eq!(p.transport, Transport::Tcp);
        assert_eq!(p.addr, "203.0.113.9:5070".parse().unwrap());
    }

    #[test]
    fn top_via_replaced_in_a_comma_list() {
        let text = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n\
Via: SIP/2.0/UDP c;branch=z9hG4bK3\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let Ok(Message::Request(mut r)) = Message::parse(text.as_bytes()) else {
            panic!("test message did not parse")
        };
        let via = stamp_request(&mut r, "127.0.0.1:9".parse().unwrap()).unwrap();
        assert_eq!(via.params.value("received"), Some("127.0.0.1"));
        let all = r.headers.vias().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].params.value("received"), Some("127.0.0.1"));
        assert_eq!(all[1].branch(), Some("z9hG4bK2"));
        assert_eq!(all[2].branch(), Some("z9hG4bK3"));
    }
}
