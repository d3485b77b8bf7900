//! Parsing bytes into a [`Message`]. Lenient where RFC 3261 allows
//! (LF-only line ends, header folding, whitespace before the colon, compact
//! forms, leading CRLFs) and strict where it matters (start line, the
//! mandatory headers, Content-Length against the bytes present).

use super::headers::{CSeq, Headers, canonical_name};
use super::uri::Uri;
use super::{Message, Method, Request, Response, is_token_char};
use std::fmt;

/// Why a message could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Not a SIP message at all, or too broken to answer: drop it.
    Unanswerable,
    /// A request whose problem can be reported with this status code
    /// (400, or 505 for another SIP version); `head` holds what is needed to
    /// form the response with [`super::Response::for_headers`].
    Reject(u16),
    /// A response that is malformed: drop it (RFC 3261 §18.1.2).
    BadResponse,
}

/// A request line and headers that parsed lexically, kept so that a
/// rejection can copy Via, From, To, Call-ID and CSeq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method as written.
    pub method: String,
    /// The headers.
    pub headers: Headers,
}

/// A parse failure: what kind, what was expected and what arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What to do about it.
    pub kind: ParseErrorKind,
    /// Human-readable detail: expected X, found Y.
    pub detail: String,
    /// The lexically parsed request, when one can be answered.
    pub head: Option<RequestHead>,
}

impl ParseError {
    fn drop(detail: impl Into<String>) -> Self {
        ParseError {
            kind: ParseErrorKind::Unanswerable,
            detail: detail.into(),
            head: None,
        }
    }

    /// The status code to answer with, if the message was a request that can be answered.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            ParseErrorKind::Reject(code) if self.head.is_some() => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ParseError {}

/// Splits the input into lines ending in LF or CRLF, returning the lines of
/// the head (start line and header lines) and the offset where the body starts.
/// Returns `None` if the empty line ending the head is not present.
fn split_head(bytes: &[u8]) -> Option<(Vec<&[u8]>, usize)> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let mut line = &bytes[start..i];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if line.is_empty() {
                return Some((lines, i + 1));
            }
            lines.push(line);
            start = i + 1;
        }
        i += 1;
    }
    None
}

/// Number of leading CR/LF bytes (keep-alives and stray line ends before the start line).
fn leading_crlf(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count()
}

/// Reads the Content-Length of a header section: `Ok(None)` when absent, an
/// error when a value is not a non-negative number or when repeated values
/// disagree (RFC 4475 §3.3.9: no way to know how many octets belong to the body).
fn content_length<'a>(
    values: impl Iterator<Item = std::borrow::Cow<'a, str>>,
) -> Result<Option<usize>, String> {
    let mut found: Option<usize> = None;
    for value in values {
        let text = value.trim();
        let n = text
            .parse::<usize>()
            .map_err(|_| format!("expected a number in Content-Length, found `{text}`"))?;
        match found {
            Some(previous) if previous != n => {
                return Err(format!(
                    "expected one Content-Length value, found both {previous} and {n}"
                ));
            }
            _ => found = Some(n),
        }
    }
    Ok(found)
}

/// For stream transports: the total length of the first message in `bytes`
/// (leading CRLFs included) as soon as its header section is complete, even if
/// the body has not fully arrived; `Ok(None)` while the header section is
/// incomplete; an error if Content-Length is missing, invalid or repeated with
/// different values (the stream cannot be framed and should be closed).
pub fn message_len(bytes: &[u8]) -> Result<Option<usize>, ParseError> {
    let skip = leading_crlf(bytes);
    let Some((lines, body_start)) = split_head(&bytes[skip..]) else {
        return Ok(None);
    };
    let values = lines.iter().skip(1).filter_map(|line| {
        let text = String::from_utf8_lossy(line);
        let (name, value) = text.split_once(':')?;
        (canonical_name(name.trim()) == "Content-Length").then(|| value.to_string().into())
    });
    let len = content_length(values)
        .map_err(ParseError::drop)?
        .ok_or_else(|| {
            ParseError::drop("expected a Content-Length header on a stream transport, found none")
        })?;
    Ok(Some(skip.saturating_add(body_start).saturating_add(len)))
}

/// For stream transports: the total length of the first message in `bytes`
/// (leading CRLFs included), `Ok(None)` if more bytes are needed, or an
/// error if the head is complete but Content-Length is missing or invalid.
pub fn parse_head_len(bytes: &[u8]) -> Result<Option<usize>, ParseError> {
    Ok(message_len(bytes)?.filter(|total| bytes.len() >= *total))
}

impl Message {
    /// Parses one message from a datagram (or one framed stream message).
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        let bytes = &bytes[leading_crlf(bytes)..];
        let (lines, body_start) = split_head(bytes).ok_or_else(|| {
            ParseError::drop("expected an empty line ending the header section, found none")
        })?;
        let first = lines.first().copied().unwrap_or_default();
        let start_line = std::str::from_utf8(first)
            .map_err(|_| ParseError::drop("expected a UTF-8 start line"))?;

        // Headers: unfold continuation lines, split name and value.
        let mut headers = Headers::new();
        let mut pending: Option<(String, String)> = None;
        let mut header_problem: Option<String> = None;
        for raw in lines.iter().skip(1) {
            let line = String::from_utf8_lossy(raw);
            if line.starts_with(' ') || line.starts_with('\t') {
                match pending.as_mut() {
                    Some((_, v)) => {
                        // Folding is equivalent to a single SP (RFC 3261 §7.3.1).
                        let more = line.trim();
                        if !more.is_empty() {
                            if !v.is_empty() {
                                v.push(' ');
                            }
                            v.push_str(more);
                        }
                    }
                    None => {
                        header_problem.get_or_insert_with(|| {
                            "expected a header name, found a continuation line".into()
                        });
                    }
                }
                continue;
            }
            if let Some((n, v)) = pending.take() {
                headers.push(&n, v.trim().to_string());
            }
            match line.split_once(':') {
                Some((name, value)) => {
                    let name = name.trim_end_matches([' ', '\t']);
                    if name.is_empty() || !name.chars().all(is_token_char) {
                        header_problem.get_or_insert_with(|| {
                            format!("expected a header name token, found `{name}`")
                        });
                        continue;
                    }
                    pending = Some((name.to_string(), value.trim().to_string()));
                }
                None => {
                    header_problem
                        .get_or_insert_with(|| format!("expected `Name: value`, found `{line}`"));
                }
            }
        }
        if let Some((n, v)) = pending.take() {
            headers.push(&n, v.trim().to_string());
        }

        // Body: exactly Content-Length bytes when given; the rest of the datagram otherwise.
        let available = &bytes[body_start..];
        let declared = content_length(
            headers
                .get_all_lines("Content-Length")
                .map(std::borrow::Cow::Borrowed),
        );
        let body_result: Result<Vec<u8>, String> = match declared {
            Ok(Some(n)) if n <= available.len() => Ok(available[..n].to_vec()),
            Ok(Some(n)) => Err(format!(
                "expected a body of Content-Length {n} bytes, found {} bytes",
                available.len()
            )),
            Ok(None) => Ok(available.to_vec()),
            Err(e) => Err(e),
        };

        if let Some(rest) = start_line.strip_prefix("SIP/") {
            // Status line: SIP/2.0 SP code SP reason.
            let bad = |d: String| ParseError {
                kind: ParseErrorKind::BadResponse,
                detail: d,
                head: None,
            };
            let mut parts = rest.splitn(3, ' ');
            let version = parts.next().unwrap_or("");
            if version != "2.0" {
                return Err(bad(format!(
                    "expected SIP/2.0 in the status line, found SIP/{version}"
                )));
            }
            let code = parts.next().unwrap_or("");
            let status = match code.parse::<u16>() {
                Ok(s) if code.len() == 3 && (100..700).contains(&s) => s,
                _ => {
                    return Err(bad(format!(
                        "expected a 3-digit status code, found `{code}`"
                    )));
                }
            };
            if let Some(p) = header_problem {
                return Err(bad(p));
            }
            let body = body_result.map_err(bad)?;
            check_common(&headers).map_err(bad)?;
            return Ok(Message::Response(Response {
                status,
                reason: parts.next().unwrap_or("").to_string(),
                headers,
                body,
            }));
        }

        // Request line: Method SP Request-URI SP SIP/2.0, single spaces.
        let parts: Vec<&str> = start_line.split(' ').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            let method_ok = parts
                .first()
                .is_some_and(|m| !m.is_empty() && m.chars().all(is_token_char));
            if !method_ok {
                return Err(ParseError::drop(format!(
                    "expected `METHOD uri SIP/2.0` or `SIP/2.0 code reason`, found `{start_line}`"
                )));
            }
            return Err(reject(
                400,
                format!(
                    "expected `METHOD uri SIP/2.0` separated by single spaces, found `{start_line}`"
                ),
                parts[0],
                headers,
            ));
        }
        let method_text = parts[0];
        let method: Method = method_text
            .parse()
            .map_err(|e: String| ParseError::drop(e))?;
        if let Some(p) = header_problem {
            return Err(reject(400, p, method_text, headers));
        }
        if !parts[2].starts_with("SIP/") {
            return Err(reject(
                400,
                format!("expected SIP/2.0, found `{}`", parts[2]),
                method_text,
                headers,
            ));
        }
        if parts[2] != "SIP/2.0" {
            return Err(reject(
                505,
                format!("expected SIP/2.0, found `{}`", parts[2]),
                method_text,
                headers,
            ));
        }
        let uri = match Uri::parse(parts[1]) {
            Ok(u) if u.headers.is_some() => {
                // RFC 3261 §19.1.1 Table 1: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
                return Err(reject(
                    400,
                    format!(
                        "expected a Request-URI without `?headers`, found `{}`",
                        parts[1]
                    ),
                    method_text,
                    headers,
                ));
            }
            Ok(u) => u,
            Err(e) => {
                return Err(reject(
                    400,
                    format!("bad Request-URI: {e}"),
                    method_text,
                    headers,
                ));
            }
        };
        if let Err(e) = body_result {
            return Err(reject(400, e, method_text, headers));
        }
        if let Err(e) = check_common(&headers) {
            return Err(reject(400, e, method_text, headers));
        }
        let cseq = headers.cseq().map_err(|e| e.to_string());
        match cseq {
            Ok(CSeq { method: m, .. }) if m != method => {
                return Err(reject(
                    400,
                    format!("expected the CSeq method to be {method}, found {m}"),
                    method_text,
                    headers,
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(reject(400, e, method_text, headers)),
        }
        if let Err(e) = headers.number("Max-Forwards") {
            return Err(reject(400, e.to_string(), method_text, headers));
        }
        if let Err(e) = headers.contacts() {
            return Err(reject(400, e.to_string(), method_text, headers));
        }
        let body = body_result.unwrap_or_default();
        Ok(Message::Request(Request {
            method,
            uri,
            headers,
            body,
        }))
    }
}

/// The checks both requests and responses need: mandatory headers present and well-formed.
fn check_common(headers: &Headers) -> Result<(), String> {
    headers.top_via().map_err(|e| e.to_string())?;
    headers.vias().map_err(|e| e.to_string())?;
    headers.from().map_err(|e| e.to_string())?;
    headers.to().map_err(|e| e.to_string())?;
    headers.call_id().map_err(|e| e.to_string())?;
    headers.cseq().map_err(|e| e.to_string())?;
    Ok(())
}

fn reject(code: u16, detail: String, method: &str, headers: Headers) -> ParseError {
    // Without a Via to answer to, no response can be routed; without CSeq the
    // client transaction cannot match it (RFC 3261 §17.1.3): drop instead. A
    // request missing From, To or Call-ID is still answered (RFC 4475 §3.3.1).
    let answerable = headers.contains("Via") && headers.contains("CSeq");
    ParseError {
        kind: if answerable {
            ParseErrorKind::Reject(code)
        } else {
            ParseErrorKind::Unanswerable
        },
        detail,
        head: answerable.then(|| RequestHead {
            method: method.to_string(),
            headers,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

    #[test]
    fn round_trip() {
        let m = Message::parse(INVITE.as_bytes()).unwrap();
        let Message::Request(r) = &m else {
            panic!("expected a request")
        };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.body, b"v=0\n");
        let again = Message::parse(&m.to_bytes()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn lf_only_folding_and_space_before_colon() {
        let text = INVITE
            .replace("\r\n", "\n")
            .replace("Max-Forwards: 70", "Max-Forwards  : 70")
            .replace("Subject", "x")
            .replace(
                "To: Bob <sip:bob@biloxi.com>",
                "To: Bob\n <sip:bob@biloxi.com>",
            );
        let Message::Request(r) = Message::parse(text.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(r.headers.get("To"), Some("Bob <sip:bob@biloxi.com>"));
        assert_eq!(r.headers.number("Max-Forwards").unwrap(), Some(70));
    }

    #[test]
    fn folded_last_header_has_no_leading_space() {
        let text = INVITE.replace(
            "Content-Length: 4\r\n\r\nv=0\n",
            "Content-Length: 4\r\nRoute:\r\n <sip:p.example.com;lr>\r\n\r\nv=0\n",
        );
        let m = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(m.headers().get("Route"), Some("<sip:p.example.com;lr>"));
        let again = Message::parse(&m.to_bytes()).unwrap();
        assert_eq!(again.headers().get("Route"), m.headers().get("Route"));
    }

    #[test]
    fn short_body_is_rejected_with_400() {
        let text = INVITE.replace("Content-Length: 4", "Content-Length: 400");
        let e = Message::parse(text.as_bytes()).unwrap_err();
        assert_eq!(e.status(), Some(400));
        assert!(e.detail.contains("400 bytes"), "{}", e.detail);
    }

    #[test]
    fn wrong_version_is_505() {
        let text = INVITE.replace("biloxi.com SIP/2.0", "biloxi.com SIP/7.0");
        assert_eq!(
            Message::parse(text.as_bytes()).unwrap_err().status(),
            Some(505)
        );
    }

    #[test]
    fn stream_length() {
        let mut two = INVITE.as_bytes().to_vec();
        let first = two.len();
        two.extend_from_slice(INVITE.as_bytes());
        assert_eq!(parse_head_len(&two).unwrap(), Some(first));
        assert_eq!(parse_head_len(&two[..first - 1]).unwrap(), None);
        assert_eq!(
            parse_head_len(b"INVITE sip:a SIP/2.0\r\nVia: x\r\n").unwrap(),
            None
        );
    }

    #[test]
    fn garbage_is_dropped() {
        assert_eq!(
            Message::parse(b"hello\r\n\r\n").unwrap_err().kind,
            ParseErrorKind::Unanswerable
        );
        assert!(Message::parse(b"").is_err());
    }
}
