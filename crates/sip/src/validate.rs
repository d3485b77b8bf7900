//! Request checks a UAS makes after parsing and before acting (RFC 3261 §8.2):
//! the problems that are well-formed syntax but cannot be served, each mapped
//! to the status code the RFCs prescribe.
//!
//! [`crate::message::Message::parse`] rejects what is syntactically broken
//! (with [`crate::message::ParseError::status`]); this module rejects what is
//! syntactically fine but semantically unacceptable for a user agent or a
//! B2BUA: a method it does not implement (501 with Allow), a Request-URI scheme
//! it does not serve (416), a `Require` option it lacks (420 with
//! Unsupported), a body it cannot read (415 with Accept / Accept-Encoding),
//! header fields that may appear once but appear several times (400), and so
//! on, in the order of RFC 3261 §8.2.
//!
//! Max-Forwards is deliberately not checked: it limits hops through proxies
//! (RFC 3261 §16.6), and a UAS "should process the request as if the
//! Max-Forwards header field value were still positive" (RFC 4475 §3.3.11).
//! A B2BUA that creates a new outgoing leg decides itself whether to carry a
//! decremented Max-Forwards over and answer 483 at zero.
//!
//! ```
//! use sip::message::{Message, Response};
//! use sip::validate::check_request;
//! let bytes = b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
//! From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\
//! Require: teleportation\r\n\r\n";
//! let Message::Request(req) = Message::parse(bytes).unwrap() else { unreachable!() };
//! let rejection = check_request(&req).unwrap_err();
//! assert_eq!(rejection.status, 420);
//! let response: Response = rejection.to_response(&req);
//! assert_eq!(response.headers.get("Unsupported"), Some("teleportation"));
//! ```

use crate::message::{Method, Request, Response, Scheme, reason_phrase};
use std::fmt;

/// Why a request is refused, and the response that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status code of the final response (400, 415, 416, 420, 501, …).
    pub status: u16,
    /// What was expected and what arrived, for logs and for a Warning header.
    pub reason: String,
    /// Header fields the response must carry (Allow, Unsupported, Accept, …).
    pub headers: Vec<(String, String)>,
}

impl Rejection {
    fn new(status: u16, reason: impl Into<String>) -> Self {
        Rejection {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The response to send: Via, From, To, Call-ID and CSeq copied from the
    /// request, the standard reason phrase, and this rejection's headers.
    pub fn to_response(&self, req: &Request) -> Response {
        let mut response = Response::for_request(req, self.status);
        for (name, value) in &self.headers {
            response.headers.push(name, value.clone());
        }
        response
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status,
            reason_phrase(self.status),
            self.reason
        )
    }
}

impl std::error::Error for Rejection {}

/// What the receiving user agent implements. [`Policy::default`] describes
/// Switchboard's server; tests and other endpoints may narrow or widen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Methods answered other than with 501 (ACK and CANCEL are always understood).
    pub methods: Vec<Method>,
    /// Option tags accepted in `Require` (compared case-insensitively).
    pub extensions: Vec<String>,
    /// Request-URI schemes served (others get 416).
    pub uri_schemes: Vec<Scheme>,
    /// Body media types understood, `type/subtype` in lower case.
    pub content_types: Vec<String>,
    /// Content codings understood besides `identity`, in lower case.
    pub content_encodings: Vec<String>,
}

impl Default for Policy {
    /// INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO and UPDATE; no
    /// extensions required of us; `sip`, `sips` and `tel` Request-URIs;
    /// `application/sdp` bodies (plus `application/dtmf-relay` and
    /// `application/dtmf` for INFO); no content coding but identity.
    fn default() -> Self {
        Policy {
            methods: vec![
                Method::Invite,
                Method::Ack,
                Method::Bye,
                Method::Cancel,
                Method::Options,
                Method::Register,
                Method::Info,
                Method::Update,
                Method::Refer,
                Method::Notify,
            ],
            extensions: Vec::new(),
            uri_schemes: vec![Scheme::Sip, Scheme::Sips, Scheme::Tel],
            content_types: vec![
                "application/sdp".into(),
                "application/dtmf-relay".into(),
                "application/dtmf".into(),
                "message/sipfrag".into(),
            ],
            content_encodings: Vec::new(),
        }
    }
}

/// Header fields a request may carry at most once (RFC 3261 §7.3.1 and §20:
/// their grammar is not a comma-separated list). RFC 4475 §3.3.8 expects 400
/// when they repeat.
const SINGLE_VALUED: &[&str] = &[
    "Call-ID",
    "CSeq",
    "From",
    "To",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Expires",
];

/// [`check_request_with`] under [`Policy::default`].
pub fn check_request(req: &Request) -> Result<(), Rejection> {
    check_request_with(req, &Policy::default())
}

/// Checks a parsed request against `policy`, in the order of RFC 3261 §8.2.
/// ACK is never rejected (no response can be sent to it); CANCEL is checked
/// only for structure, since its Require and body are meaningless.
pub fn check_request_with(req: &Request, policy: &Policy) -> Result<(), Rejection> {
    if req.method == Method::Ack {
        return Ok(());
    }
    check_structure(req)?;
    check_method(req, policy)?;
    check_uri_scheme(req, policy)?;
    if req.method == Method::Cancel {
        return Ok(());
    }
    check_require(req, policy)?;
    check_body(req, policy)?;
    check_accept(req)?;
    Ok(())
}

/// 400 for repeated single-valued header fields and for a REGISTER whose
/// address-of-record is not a SIP or SIPS URI.
fn check_structure(req: &Request) -> Result<(), Rejection> {
    for name in SINGLE_VALUED {
        let values: Vec<&str> = req.headers.get_all_lines(name).collect();
        if values.len() > 1 {
            return Err(Rejection::new(
                400,
                format!(
                    "expected one {name} header field, found {}: `{}`",
                    values.len(),
                    values.join("`, `")
                ),
            ));
        }
    }
    for (name, value) in [("From", req.headers.from()), ("To", req.headers.to())] {
        if let Err(e) = value {
            return Err(Rejection::new(400, format!("bad {name}: {e}")));
        }
    }
    if req.method == Method::Register {
        // RFC 3261 §10.2: the To header field holds the address-of-record, a SIP or SIPS URI.
        if let Ok(to) = req.headers.to()
            && !to.uri.is_sip()
        {
            return Err(Rejection::new(
                400,
                format!(
                    "expected a sip: or sips: address-of-record in To, found `{}`",
                    to.uri
                ),
            ));
        }
    }
    Ok(())
}

/// RFC 3261 §8.2.1: 501 with Allow for a method the UAS does not implement.
fn check_method(req: &Request, policy: &Policy) -> Result<(), Rejection> {
    if req.method == Method::Cancel || policy.methods.contains(&req.method) {
        return Ok(());
    }
    let allow: Vec<&str> = policy.methods.iter().map(Method::as_str).collect();
    Err(Rejection::new(
        501,
        format!("expected one of {}, found {}", allow.join(", "), req.method),
    )
    .with_header("Allow", allow.join(", ")))
}

/// RFC 3261 §8.2.2.1: 416 for a Request-URI scheme the UAS does not serve.
fn check_uri_scheme(req: &Request, policy: &Policy) -> Result<(), Rejection> {
    if policy.uri_schemes.contains(&req.uri.scheme) {
        return Ok(());
    }
    Err(Rejection::new(
        416,
        format!(
            "expected a sip:, sips: or tel: Request-URI, found `{}`",
            req.uri
        ),
    ))
}

/// RFC 3261 §8.2.2.3: 420 listing every required option tag not supported.
/// Proxy-Require is for proxies and is ignored here (RFC 3261 §20.29).
fn check_require(req: &Request, policy: &Policy) -> Result<(), Rejection> {
    let unsupported: Vec<&str> = req
        .headers
        .get_all("Require")
        .into_iter()
        .filter(|tag| {
            !policy
                .extensions
                .iter()
                .any(|e| e.eq_ignore_ascii_case(tag))
        })
        .collect();
    if unsupported.is_empty() {
        return Ok(());
    }
    Err(Rejection::new(
        420,
        format!(
            "expected only supported option tags in Require, found {}",
            unsupported.join(", ")
        ),
    )
    .with_header("Unsupported", unsupported.join(", ")))
}

/// RFC 3261 §8.2.3: 415 for a body whose type or coding the UAS cannot read,
/// with Accept or Accept-Encoding saying what it can. A body without a
/// Content-Type is also refused, since it cannot be interpreted (§7.4.1).
fn check_body(req: &Request, policy: &Policy) -> Result<(), Rejection> {
    if req.body.is_empty() {
        return Ok(());
    }
    let Some(content_type) = req.headers.get("Content-Type") else {
        return Err(Rejection::new(
            415,
            format!(
                "expected a Content-Type for a {}-byte body, found none",
                req.body.len()
            ),
        )
        .with_header("Accept", policy.content_types.join(", ")));
    };
    let media = media_type(content_type);
    if !policy.content_types.contains(&media) {
        return Err(Rejection::new(
            415,
            format!(
                "expected a body of type {}, found {media}",
                policy.content_types.join(" or ")
            ),
        )
        .with_header("Accept", policy.content_types.join(", ")));
    }
    for coding in req.headers.get_all("Content-Encoding") {
        let coding = coding.trim().to_ascii_lowercase();
        if coding != "identity" && !policy.content_encodings.contains(&coding) {
            let mut accepted = vec!["identity".to_string()];
            accepted.extend(policy.content_encodings.iter().cloned());
            return Err(Rejection::new(
                415,
                format!(
                    "expected a content coding among {}, found {coding}",
                    accepted.join(", ")
                ),
            )
            .with_header("Accept-Encoding", accepted.join(", ")));
        }
    }
    Ok(())
}

/// RFC 3261 §21.4.7 and RFC 4475 §3.3.15: an INVITE whose Accept rules out
/// `application/sdp` asks for an answer this UA cannot give: 406.
fn check_accept(req: &Request) -> Result<(), Rejection> {
    if req.method != Method::Invite || !req.headers.contains("Accept") {
        return Ok(());
    }
    let accepted = req.headers.get_all("Accept");
    let takes_sdp = accepted.iter().any(|a| {
        let media = media_type(a);
        media == "application/sdp" || media == "application/*" || media == "*/*"
    });
    if takes_sdp {
        return Ok(());
    }
    Err(Rejection::new(
        406,
        format!(
            "expected Accept to include application/sdp, found `{}`",
            accepted.join(", ")
        ),
    ))
}

/// The Max-Forwards a B2BUA puts on the outgoing leg it creates for `req`:
/// one less than received, or 70 when the request carried none (RFC 3261
/// §8.1.1.6). A request that arrived with Max-Forwards 0 may still be
/// answered by this UAS (see the module notes) but must not be relayed:
/// that is a 483 Too Many Hops (RFC 3261 §16.3 item 2).
pub fn forward_max_forwards(req: &Request) -> Result<u32, Rejection> {
    match req.headers.number("Max-Forwards") {
        Ok(None) => Ok(70),
        Ok(Some(0)) => Err(Rejection::new(
            483,
            "expected Max-Forwards above 0 on a request to relay, found 0",
        )),
        Ok(Some(n)) => Ok(n - 1),
        Err(e) => Err(Rejection::new(400, e.to_string())),
    }
}

/// `type/subtype` of a media-type value, lower-cased, parameters dropped.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, Uri};

    fn request(extra: &str, body: &str) -> Request {
        let text = format!(
            "INVITE sip:201@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
             From: <sip:202@127.0.0.1>;tag=1\r\nTo: <sip:201@127.0.0.1>\r\nCall-ID: c1\r\n\
             CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match Message::parse(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn plain_invite_with_sdp_passes() {
        let req = request("Content-Type: application/sdp\r\n", "v=0\r\n");
        assert_eq!(check_request(&req), Ok(()));
    }

    #[test]
    fn unknown_method_gets_501_with_allow() {
        let mut req = request("", "");
        req.method = Method::Extension("NEWMETHOD".into());
        let r = check_request(&req).unwrap_err();
        assert_eq!(r.status, 501);
        let response = r.to_response(&req);
        assert!(response.headers.get("Allow").unwrap().contains("INVITE"));
        assert_eq!(response.reason, "Not Implemented");
    }

    #[test]
    fn unsupported_scheme_gets_416() {
        let mut req = request("", "");
        req.uri = Uri::parse("mailto:someone@example.com").unwrap();
        assert_eq!(check_request(&req).unwrap_err().status, 416);
    }

    #[test]
    fn content_checks() {
        let req = request("Content-Type: text/html\r\n", "<p>");
        let r = check_request(&req).unwrap_err();
        assert_eq!((r.status, r.headers[0].0.as_str()), (415, "Accept"));
        let req = request(
            "Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n",
            "x",
        );
        let r = check_request(&req).unwrap_err();
        assert_eq!(
            (r.status, r.headers[0].0.as_str()),
            (415, "Accept-Encoding")
        );
        let req = request("", "v=0\r\n");
        assert_eq!(check_request(&req).unwrap_err().status, 415);
    }

    #[test]
    fn require_is_checked_against_policy() {
        let req = request("Require: timer, 100rel\r\n", "");
        let r = check_request(&req).unwrap_err();
        assert_eq!(
            r.headers,
            vec![("Unsupported".into(), "timer, 100rel".into())]
        );
        let policy = Policy {
            extensions: vec!["TIMER".into(), "100rel".into()],
            ..Policy::default()
        };
        assert_eq!(check_request_with(&req, &policy), Ok(()));
    }

    #[test]
    fn ack_is_never_rejected_and_cancel_skips_require() {
        let mut req = request("Require: timer\r\n", "");
        req.method = Method::Ack;
        assert_eq!(check_request(&req), Ok(()));
        req.method = Method::Cancel;
        assert_eq!(check_request(&req), Ok(()));
    }

    #[test]
    fn repeated_single_valued_header_is_400() {
        let req = request("Max-Forwards: 5\r\n", "");
        let r = check_request(&req).unwrap_err();
        assert_eq!(r.status, 400);
        assert!(r.reason.contains("Max-Forwards"), "{r}");
    }

    #[test]
    fn relayed_legs_count_hops() {
        let req = request("", "");
        assert_eq!(forward_max_forwards(&req), Ok(69));
        let mut req = request("", "");
        req.headers.set("Max-Forwards", "0");
        assert_eq!(check_request(&req), Ok(()), "a UAS answers it itself");
        assert_eq!(forward_max_forwards(&req).unwrap_err().status, 483);
        req.headers.remove("Max-Forwards");
        assert_eq!(forward_max_forwards(&req), Ok(70));
    }

    #[test]
    fn invite_refusing_sdp_is_406() {
        let req = request("Accept: text/plain\r\n", "");
        assert_eq!(check_request(&req).unwrap_err().status, 406);
        let req = request("Accept: application/*\r\n", "");
        assert_eq!(check_request(&req), Ok(()));
    }
}
