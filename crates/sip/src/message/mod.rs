//! The SIP message model: requests, responses, headers and the typed views
//! the rest of the stack needs. Parsing is in [`parse`](Message::parse),
//! printing in [`Message::to_bytes`].
//!
//! The model is Switchboard's own (see ARCHITECTURE.md for why rsip is not
//! used): headers are kept as text in their received order, with compact
//! names expanded, and typed values are parsed on demand.
//!
//! The parser accepts every RFC 4475 §3.1.1 message (folding, LWS around
//! colons and slashes, LF-only line ends, compact forms, escaped and unusual
//! URI users, IPv6 hosts, binary bodies, empty reason phrases) and rejects the
//! §3.1.2 ones: a request with [`ParseError::status`] (400, or 505 for another
//! SIP version) when it can be answered, otherwise for dropping. Beyond the
//! start line and the mandatory headers, a request is rejected for a
//! Request-URI carrying `?headers`, a malformed Contact, and Content-Length
//! values that disagree. Well-formed requests a user agent still cannot serve
//! (unknown method, URI scheme, required extension, body type) are refused
//! by [`crate::validate`], not here.

mod headers;
mod name_addr;
mod params;
mod parse;
mod uri;
mod via;

pub use headers::{CSeq, Header, Headers, canonical_name};
pub use name_addr::{NameAddr, ValueError};
pub use params::{Params, split_outside_quotes, unquote};
pub use parse::{ParseError, ParseErrorKind, RequestHead, message_len, parse_head_len};
pub use uri::{Host, Scheme, Uri, percent_decode};
pub use via::{BRANCH_MAGIC, Via};

use std::fmt;
use std::str::FromStr;

/// A request method. Methods are case-sensitive tokens (RFC 3261 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// REGISTER
    Register,
    /// OPTIONS
    Options,
    /// INFO (RFC 6086)
    Info,
    /// UPDATE (RFC 3311)
    Update,
    /// REFER (RFC 3515)
    Refer,
    /// NOTIFY (RFC 6665)
    Notify,
    /// SUBSCRIBE (RFC 6665)
    Subscribe,
    /// MESSAGE (RFC 3428)
    Message,
    /// PRACK (RFC 3262)
    Prack,
    /// PUBLISH (RFC 3903)
    Publish,
    /// Any other token.
    Extension(String),
}

impl Method {
    /// The method as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Extension(s) => s,
        }
    }
}

/// Characters allowed in an RFC 3261 `token`.
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            "PRACK" => Method::Prack,
            "PUBLISH" => Method::Publish,
            other if !other.is_empty() && other.chars().all(is_token_char) => {
                Method::Extension(other.to_string())
            }
            other => return Err(format!("expected a method token, found `{other}`")),
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A header that is missing or does not hold what it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// A mandatory header is absent.
    Missing(&'static str),
    /// A header is present but malformed.
    Invalid {
        /// Which header.
        header: &'static str,
        /// What its value should look like.
        expected: String,
        /// What arrived.
        found: String,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Missing(h) => write!(f, "missing {h} header"),
            HeaderError::Invalid {
                header,
                expected,
                found,
            } => write!(
                f,
                "bad {header} header: expected {expected}, found `{found}`"
            ),
        }
    }
}

impl std::error::Error for HeaderError {}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// The headers.
    pub headers: Headers,
    /// The body (Content-Length is derived from it when printing).
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (100-699).
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The headers.
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// The standard reason phrase for a status code.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => "Unknown",
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// Prints the request, with Content-Length set from the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} SIP/2.0\r\n", self.method, self.uri).into_bytes();
        write_tail(&mut out, &self.headers, &self.body);
        out
    }
}

impl Response {
    /// A response to a request with the headers RFC 3261 §8.2.6.2 says to copy
    /// (Via, From, To, Call-ID, CSeq, and Record-Route for dialog-creating 1xx/2xx is left to the caller).
    pub fn for_request(req: &Request, status: u16) -> Response {
        Response::for_headers(&req.headers, status)
    }

    /// Like [`Response::for_request`] but from a request's headers alone, so that a
    /// 400 can be formed for a request whose start line or typed headers were bad.
    pub fn for_headers(headers: &Headers, status: u16) -> Response {
        let mut out = Headers::new();
        for line in headers.get_all_lines("Via") {
            out.push("Via", line);
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            if let Some(v) = headers.get(name) {
                out.push(name, v);
            }
        }
        Response {
            status,
            reason: reason_phrase(status).to_string(),
            headers: out,
            body: Vec::new(),
        }
    }

    /// Prints the response, with Content-Length set from the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("SIP/2.0 {} {}\r\n", self.status, self.reason).into_bytes();
        write_tail(&mut out, &self.headers, &self.body);
        out
    }

    /// Whether this is a provisional (1xx) response.
    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }

    /// Whether this is a 2xx response.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn write_tail(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    for h in headers.iter() {
        if h.name.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
}

impl Message {
    /// The headers of either kind.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// Prints the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}
