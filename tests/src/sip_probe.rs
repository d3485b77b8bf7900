//! Hand-written SIP requests over raw UDP and TCP sockets, and a minimal response reader.
//!
//! This is the harness's own tiny SIP client: it sends OPTIONS for readiness checks and raw byte
//! fixtures (RFC 4475), and parses just enough of a response (status line and headers) to check it.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A SIP response as received: status line, header fields in order, and the raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipResponse {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The reason phrase, possibly empty.
    pub reason: String,
    /// Header fields in order, names as sent (compact forms are not expanded).
    pub headers: Vec<(String, String)>,
    /// The whole message as text (lossy UTF-8).
    pub raw: String,
}

impl SipResponse {
    /// Parses a response from bytes; returns `None` when the bytes are not a SIP response.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let raw = String::from_utf8_lossy(bytes).into_owned();
        let head = raw.split("\r\n\r\n").next().unwrap_or("");
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        let rest = status_line.strip_prefix("SIP/2.0 ")?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = code.parse().ok()?;
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Some(Self {
            status,
            reason: reason.to_owned(),
            headers,
            raw,
        })
    }

    /// Returns the first header field with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Returns a string unique within this process run, for Call-IDs, tags and branches.
pub fn unique_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}x{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Builds an OPTIONS request to `server` from `local` over `transport` ("UDP" or "TCP").
pub fn options_request(server: SocketAddr, local: SocketAddr, transport: &str) -> String {
    let token = unique_token();
    format!(
        "OPTIONS sip:{server} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch=z9hG4bK-e2e-{token};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{local}>;tag=e2e-{token}\r\n\
         To: <sip:{server}>\r\n\
         Call-ID: options-{token}@127.0.0.1\r\n\
         CSeq: 1 OPTIONS\r\n\
         Contact: <sip:probe@{local}>\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// A UDP socket on 127.0.0.1 for sending raw SIP and collecting the responses.
#[derive(Debug)]
pub struct UdpProbe {
    socket: UdpSocket,
}

impl UdpProbe {
    /// Binds a fresh socket on 127.0.0.1 (ephemeral port).
    pub fn bind() -> Result<Self> {
        let socket =
            UdpSocket::bind("127.0.0.1:0").map_err(|e| Error::io("binding UDP probe socket", e))?;
        Ok(Self { socket })
    }

    /// Returns the socket's local address (what goes into Via).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.socket
            .local_addr()
            .map_err(|e| Error::io("reading probe address", e))
    }

    /// Sends one datagram to `to`.
    pub fn send(&self, bytes: &[u8], to: SocketAddr) -> Result<()> {
        self.socket
            .send_to(bytes, to)
            .map(|_| ())
            .map_err(|e| Error::io(format!("sending {} bytes to {to}", bytes.len()), e))
    }

    /// Collects every SIP response arriving within `window` (non-SIP datagrams are ignored).
    pub fn collect(&self, window: Duration) -> Result<Vec<SipResponse>> {
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65_536];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(out);
            }
            self.socket
                .set_read_timeout(Some(deadline - now))
                .map_err(|e| Error::io("setting probe timeout", e))?;
            match self.socket.recv_from(&mut buf) {
                Ok((n, _)) => out.extend(SipResponse::parse(&buf[..n])),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(out);
                }
                Err(e) => return Err(Error::io("receiving on probe socket", e)),
            }
        }
    }

    /// Waits up to `timeout` for the first final (>= 200) response.
    pub fn final_response(&self, timeout: Duration) -> Result<Option<SipResponse>> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65_536];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.socket
                .set_read_timeout(Some(deadline - now))
                .map_err(|e| Error::io("setting probe timeout", e))?;
            match self.socket.recv_from(&mut buf) {
                Ok((n, _)) => {
                    if let Some(response) =
                        SipResponse::parse(&buf[..n]).filter(|r| r.status >= 200)
                    {
                        return Ok(Some(response));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                // ICMP port unreachable from an earlier send surfaces here on Linux: keep waiting.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(Error::io("receiving on probe socket", e)),
            }
        }
    }
}

/// Sends an OPTIONS over UDP and returns the final response, or `None` if none came within `timeout`.
pub fn options_udp(server: SocketAddr, timeout: Duration) -> Result<Option<SipResponse>> {
    let probe = UdpProbe::bind()?;
    let request = options_request(server, probe.local_addr()?, "UDP");
    probe.send(request.as_bytes(), server)?;
    probe.final_response(timeout)
}

/// Sends an OPTIONS over a new TCP connection and returns the final response.
pub fn options_tcp(server: SocketAddr, timeout: Duration) -> Result<SipResponse> {
    let mut stream = TcpStream::connect_timeout(&server, timeout)
        .map_err(|e| Error::io(format!("connecting to {server} over TCP"), e))?;
    let local = stream
        .local_addr()
        .map_err(|e| Error::io("reading TCP local address", e))?;
    stream
        .write_all(options_request(server, local, "TCP").as_bytes())
        .map_err(|e| Error::io("writing OPTIONS over TCP", e))?;
    let deadline = Instant::now() + timeout;
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = find_message_end(&received) {
            let response = SipResponse::parse(&received[..end]).ok_or_else(|| {
                Error::new(format!(
                    "expected a SIP response over TCP, got {:?}",
                    String::from_utf8_lossy(&received)
                ))
            })?;
            if response.status >= 200 {
                return Ok(response);
            }
            received.drain(..end);
            continue;
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::new(format!(
                "no complete response to OPTIONS over TCP from {server} within {timeout:?}; got {:?}",
                String::from_utf8_lossy(&received)
            )));
        }
        stream
            .set_read_timeout(Some(deadline - now))
            .map_err(|e| Error::io("setting TCP timeout", e))?;
        match stream.read(&mut buf) {
            Ok(0) => {
                return Err(Error::new(format!(
                    "{server} closed the TCP connection before answering OPTIONS"
                )));
            }
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(Error::io("reading OPTIONS response over TCP", e)),
        }
    }
}

/// Returns the length of the first complete message in a stream buffer (head plus Content-Length body).
fn find_message_end(buf: &[u8]) -> Option<usize> {
    // Skip CRLF keep-alives in front of a message.
    let start = buf.iter().position(|b| *b != b'\r' && *b != b'\n')?;
    let text = &buf[start..];
    let head_end = text.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&text[..head_end]);
    let length = head
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| {
            name.trim().eq_ignore_ascii_case("content-length")
                || name.trim().eq_ignore_ascii_case("l")
        })
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let end = start + head_end + length;
    (buf.len() >= end).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response_with_folded_header() {
        let r =
            SipResponse::parse(b"SIP/2.0 200 OK\r\nAllow: INVITE,\r\n ACK\r\nServer: x\r\n\r\n")
                .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("allow"), Some("INVITE, ACK"));
        assert_eq!(r.header("SERVER"), Some("x"));
        assert!(SipResponse::parse(b"OPTIONS sip:x SIP/2.0\r\n\r\n").is_none());
    }

    #[test]
    fn frames_stream_messages() {
        let two = b"\r\n\r\nSIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\nSIP/2.0 200 OK\r\nl: 3\r\n\r\nabc";
        let first = find_message_end(two).unwrap();
        assert!(String::from_utf8_lossy(&two[..first]).contains("100 Trying"));
        assert_eq!(find_message_end(&two[first..]), Some(two.len() - first));
        assert_eq!(find_message_end(&two[first..two.len() - 1]), None);
    }
}
