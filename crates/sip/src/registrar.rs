//! REGISTER processing (RFC 3261 §10.3) as a pure function.
//!
//! [`register`] takes the request, the address-of-record it is for, a proof
//! that digest authentication succeeded, where the request came from, the
//! AOR's stored bindings and the wall-clock time, and returns the binding
//! changes to store together with the response to send. It decides
//! everything at once: either every contact in the request is applied or
//! none is (§10.3 step 8), so the caller stores `changes` only after a 2xx
//! and needs no rollback.
//!
//! Deciding whether the authenticated user may register this AOR is the
//! caller's job; the [`Authenticated`] argument only makes it impossible to
//! reach this function without authentication.
//!
//! NAT: each binding keeps its [`BindingSource`], the address (and TCP
//! connection) the REGISTER arrived from, so requests for the AOR can be sent
//! there rather than to a private address written in the Contact.

use crate::auth::Authenticated;
use crate::message::{Host, Method, NameAddr, Request, Response, Scheme, Uri, percent_decode};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// Limits on registration lifetimes and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarPolicy {
    /// Shortest accepted non-zero lifetime in seconds; shorter gives 423 (default 60).
    pub min_expires: u32,
    /// Longest lifetime in seconds; longer requests are shortened (default 3600).
    pub max_expires: u32,
    /// Lifetime when the request names none (default 3600).
    pub default_expires: u32,
    /// Most bindings one AOR may hold; more gives 403 (default 16).
    pub max_bindings_per_aor: usize,
}

impl Default for RegistrarPolicy {
    fn default() -> Self {
        RegistrarPolicy {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_bindings_per_aor: 16,
        }
    }
}

/// The transport a REGISTER arrived over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindingTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket.
    Wss,
}

impl BindingTransport {
    /// The lower-case name, as stored in a database.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingTransport::Udp => "udp",
            BindingTransport::Tcp => "tcp",
            BindingTransport::Tls => "tls",
            BindingTransport::Ws => "ws",
            BindingTransport::Wss => "wss",
        }
    }
}

impl FromStr for BindingTransport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            BindingTransport::Udp,
            BindingTransport::Tcp,
            BindingTransport::Tls,
            BindingTransport::Ws,
            BindingTransport::Wss,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("expected udp, tcp, tls, ws or wss, found `{s}`"))
    }
}

impl fmt::Display for BindingTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a REGISTER came from, as plain data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BindingSource {
    /// The transport.
    pub transport: BindingTransport,
    /// The source address and port of the packet or connection.
    pub addr: SocketAddr,
    /// The server's id of the connection for connection-oriented transports.
    pub connection: Option<u64>,
}

/// One registered contact of an address-of-record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The address-of-record, e.g. `sip:201@pbx.example`.
    pub aor: String,
    /// The contact URI as text (URI parameters kept, header parameters not).
    pub contact: String,
    /// Where the REGISTER came from.
    pub source: BindingSource,
    /// The Call-ID of the REGISTER that made or last refreshed the binding.
    pub call_id: String,
    /// Its CSeq number.
    pub cseq: u32,
    /// When the binding expires, in Unix milliseconds.
    pub expires_at_ms: i64,
    /// The `q` preference times 1000 (0 to 1000), if given.
    pub q: Option<u16>,
    /// The User-Agent header of the REGISTER.
    pub user_agent: Option<String>,
    /// The `+sip.instance` value (RFC 5626), unquoted, e.g. `<urn:uuid:…>`.
    pub instance: Option<String>,
}

impl Binding {
    /// Whether the binding is still in force at `now_ms`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.expires_at_ms > now_ms
    }

    /// Seconds left at `now_ms`, rounded up (0 once expired).
    pub fn remaining_secs(&self, now_ms: i64) -> u64 {
        let ms = self.expires_at_ms.saturating_sub(now_ms).max(0);
        u64::try_from(ms).unwrap_or(0).div_ceil(1000)
    }

    /// The Contact header value listing this binding in a 200 response.
    pub fn contact_header(&self, now_ms: i64) -> String {
        let mut out = format!("<{}>;expires={}", self.contact, self.remaining_secs(now_ms));
        if let Some(q) = self.q {
            out.push_str(&format!(";q={}", format_q(q)));
        }
        if let Some(i) = &self.instance {
            out.push_str(&format!(";+sip.instance=\"{i}\""));
        }
        out
    }
}

/// A change to apply to the binding store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    /// Insert or replace the binding with this AOR and contact text.
    Upsert(Binding),
    /// Delete the binding with this AOR and contact text.
    Remove {
        /// The address-of-record.
        aor: String,
        /// The contact text as stored.
        contact: String,
    },
    /// Delete every binding of the AOR.
    RemoveAll {
        /// The address-of-record.
        aor: String,
    },
}

/// Why a REGISTER was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterError {
    /// The request is not a REGISTER.
    NotRegister {
        /// The method that arrived.
        found: String,
    },
    /// Call-ID or CSeq is missing or malformed.
    BadHeader {
        /// What was expected.
        expected: String,
        /// What arrived.
        found: String,
    },
    /// A Contact value does not parse, or `*` is mixed with other contacts.
    BadContact {
        /// What was expected.
        expected: String,
        /// What arrived.
        found: String,
    },
    /// `Contact: *` without `Expires: 0`.
    StarNeedsExpiresZero {
        /// The Expires header value, if any.
        found: Option<String>,
    },
    /// A `q` parameter outside 0…1 or with more than three decimals.
    BadQ {
        /// The value that arrived.
        found: String,
    },
    /// A non-zero lifetime below the minimum (423).
    IntervalTooBrief {
        /// The contact.
        contact: String,
        /// The requested lifetime.
        requested: u32,
        /// The minimum.
        min: u32,
    },
    /// A binding with the same Call-ID has an equal or higher CSeq (§10.3 step 7).
    OutOfOrder {
        /// The contact.
        contact: String,
        /// The CSeq that arrived.
        cseq: u32,
        /// The CSeq stored for the binding.
        stored: u32,
    },
    /// The AOR would hold more bindings than the policy allows.
    TooManyBindings {
        /// The limit.
        max: usize,
    },
}

impl RegisterError {
    /// The status code answering this error.
    pub fn status(&self) -> u16 {
        match self {
            RegisterError::NotRegister { .. } => 405,
            RegisterError::BadHeader { .. }
            | RegisterError::BadContact { .. }
            | RegisterError::StarNeedsExpiresZero { .. }
            | RegisterError::BadQ { .. } => 400,
            RegisterError::IntervalTooBrief { .. } => 423,
            RegisterError::OutOfOrder { .. } => 500,
            RegisterError::TooManyBindings { .. } => 403,
        }
    }
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::NotRegister { found } => {
                write!(f, "expected a REGISTER request, found {found}")
            }
            RegisterError::BadHeader { expected, found }
            | RegisterError::BadContact { expected, found } => {
                write!(f, "expected {expected}, found `{found}`")
            }
            RegisterError::StarNeedsExpiresZero { found } => write!(
                f,
                "expected `Expires: 0` with `Contact: *`, found {}",
                found
                    .as_deref()
                    .map_or("no Expires header".to_string(), |v| format!("`{v}`"))
            ),
            RegisterError::BadQ { found } => {
                write!(
                    f,
                    "expected a q value from 0 to 1 with up to 3 decimals, found `{found}`"
                )
            }
            RegisterError::IntervalTooBrief {
                contact,
                requested,
                min,
            } => write!(
                f,
                "expected expires of at least {min} s (or 0) for {contact}, found {requested}"
            ),
            RegisterError::OutOfOrder {
                contact,
                cseq,
                stored,
            } => write!(
                f,
                "expected a CSeq above {stored} for {contact} in the same Call-ID, found {cseq}"
            ),
            RegisterError::TooManyBindings { max } => {
                write!(
                    f,
                    "expected at most {max} bindings for the address-of-record"
                )
            }
        }
    }
}

impl std::error::Error for RegisterError {}

/// The result of [`register`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarOutcome {
    /// The changes to store; empty unless the response is a 2xx.
    pub changes: Vec<BindingChange>,
    /// The response to send (the caller adds a To tag if its layer does not).
    pub response: Response,
    /// Why the request was refused, for logs; `None` on success.
    pub error: Option<RegisterError>,
}

/// Processes a REGISTER for `aor` per RFC 3261 §10.3 steps 6 to 8.
///
/// `existing` may hold bindings of any AOR and expired ones; only the live
/// bindings of `aor` count. The 200 response lists every binding of the AOR
/// in force afterwards, each with its remaining `expires`.
pub fn register(
    req: &Request,
    aor: &str,
    proof: &Authenticated,
    source: BindingSource,
    existing: &[Binding],
    now_ms: i64,
    policy: &RegistrarPolicy,
) -> RegistrarOutcome {
    // The proof is demanded, not inspected: AOR ownership is the caller's check.
    let _ = proof;
    match decide(req, aor, source, existing, now_ms, policy) {
        Ok((changes, current)) => {
            let mut response = Response::for_request(req, 200);
            for b in &current {
                response.headers.push("Contact", b.contact_header(now_ms));
            }
            response.headers.push("Date", http_date(now_ms));
            RegistrarOutcome {
                changes,
                response,
                error: None,
            }
        }
        Err(error) => {
            let mut response = Response::for_request(req, error.status());
            if let RegisterError::IntervalTooBrief { min, .. } = &error {
                response.headers.push("Min-Expires", min.to_string());
            }
            RegistrarOutcome {
                changes: Vec::new(),
                response,
                error: Some(error),
            }
        }
    }
}

/// A binding being worked on, and whether this request touched it.
struct Slot {
    binding: Binding,
    /// The contact text as stored before this request (for Remove).
    stored_contact: Option<String>,
    touched: bool,
    removed: bool,
}

type Decision = (Vec<BindingChange>, Vec<Binding>);

fn decide(
    req: &Request,
    aor: &str,
    source: BindingSource,
    existing: &[Binding],
    now_ms: i64,
    policy: &RegistrarPolicy,
) -> Result<Decision, RegisterError> {
    if req.method != Method::Register {
        return Err(RegisterError::NotRegister {
            found: req.method.to_string(),
        });
    }
    let bad_header = |e: crate::message::HeaderError| match e {
        crate::message::HeaderError::Missing(h) => RegisterError::BadHeader {
            expected: format!("a {h} header"),
            found: String::new(),
        },
        crate::message::HeaderError::Invalid {
            expected, found, ..
        } => RegisterError::BadHeader { expected, found },
    };
    let call_id = req.headers.call_id().map_err(bad_header)?.to_string();
    let cseq = req.headers.cseq().map_err(bad_header)?.seq;
    let live: Vec<&Binding> = existing
        .iter()
        .filter(|b| b.aor == aor && b.is_live(now_ms))
        .collect();

    let values = req.headers.get_all("Contact");
    if values.iter().any(|v| v.trim() == "*") {
        return remove_all(req, aor, &values, &live, &call_id, cseq);
    }
    let contacts = values
        .iter()
        .map(|v| {
            NameAddr::parse(v).map_err(|e| RegisterError::BadContact {
                expected: e.0,
                found: e.1,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let header_expires = req.headers.get("Expires").map(parse_delta_seconds);
    let mut slots: Vec<Slot> = live
        .iter()
        .map(|b| Slot {
            binding: (*b).clone(),
            stored_contact: Some(b.contact.clone()),
            touched: false,
            removed: false,
        })
        .collect();

    for c in &contacts {
        let requested = c
            .params
            .value("expires")
            .map(parse_delta_seconds)
            .or(header_expires)
            .flatten()
            .unwrap_or(u64::from(policy.default_expires));
        let requested = u32::try_from(requested).unwrap_or(u32::MAX);
        let contact = c.uri.to_string();
        if requested != 0 && requested < policy.min_expires {
            return Err(RegisterError::IntervalTooBrief {
                contact,
                requested,
                min: policy.min_expires,
            });
        }
        let expires = requested.min(policy.max_expires);
        let q = c
            .params
            .value("q")
            .map(|v| parse_q(v).ok_or_else(|| RegisterError::BadQ { found: v.into() }))
            .transpose()?;
        let instance = c.params.value("+sip.instance").map(crate::message::unquote);
        let found = slots
            .iter()
            .position(|s| !s.removed && uri_equivalent(&parse_or_text(&s.binding.contact), &c.uri));
        if let Some(i) = found {
            let s = &slots[i];
            if !s.touched && s.binding.call_id == call_id && cseq <= s.binding.cseq {
                return Err(RegisterError::OutOfOrder {
                    contact,
                    cseq,
                    stored: s.binding.cseq,
                });
            }
        }
        if expires == 0 {
            if let Some(i) = found {
                slots[i].touched = true;
                slots[i].removed = true;
            }
            continue;
        }
        let binding = Binding {
            aor: aor.to_string(),
            contact,
            source,
            call_id: call_id.clone(),
            cseq,
            expires_at_ms: now_ms.saturating_add(i64::from(expires) * 1000),
            q,
            user_agent: req.headers.get("User-Agent").map(str::to_string),
            instance,
        };
        match found {
            Some(i) => {
                slots[i].binding = binding;
                slots[i].touched = true;
            }
            None => slots.push(Slot {
                binding,
                stored_contact: None,
                touched: true,
                removed: false,
            }),
        }
    }

    let current: Vec<Binding> = slots
        .iter()
        .filter(|s| !s.removed)
        .map(|s| s.binding.clone())
        .collect();
    if current.len() > policy.max_bindings_per_aor && current.len() > live.len() {
        return Err(RegisterError::TooManyBindings {
            max: policy.max_bindings_per_aor,
        });
    }
    let mut changes = Vec::new();
    for s in slots.into_iter().filter(|s| s.touched) {
        if let Some(old) = &s.stored_contact
            && (s.removed || *old != s.binding.contact)
        {
            changes.push(BindingChange::Remove {
                aor: aor.to_string(),
                contact: old.clone(),
            });
        }
        if !s.removed {
            changes.push(BindingChange::Upsert(s.binding));
        }
    }
    Ok((changes, current))
}

/// `Contact: *` (§10.3 step 6): only alone and only with `Expires: 0`.
fn remove_all(
    req: &Request,
    aor: &str,
    values: &[&str],
    live: &[&Binding],
    call_id: &str,
    cseq: u32,
) -> Result<Decision, RegisterError> {
    if values.len() != 1 {
        return Err(RegisterError::BadContact {
            expected: "`*` as the only Contact".into(),
            found: values.join(", "),
        });
    }
    let expires = req.headers.get("Expires");
    if expires.map(parse_delta_seconds) != Some(Some(0)) {
        return Err(RegisterError::StarNeedsExpiresZero {
            found: expires.map(str::to_string),
        });
    }
    if let Some(b) = live.iter().find(|b| b.call_id == call_id && cseq <= b.cseq) {
        return Err(RegisterError::OutOfOrder {
            contact: "*".into(),
            cseq,
            stored: b.cseq,
        });
    }
    Ok((
        vec![BindingChange::RemoveAll {
            aor: aor.to_string(),
        }],
        Vec::new(),
    ))
}

/// delta-seconds (RFC 3261 §25.1); values beyond 2^32-1 saturate. `None`
/// for a malformed value, which then counts as the policy default (§20.19
/// says to treat it as 3600, the default default).
fn parse_delta_seconds(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        t.parse::<u64>()
            .unwrap_or(u64::MAX)
            .min(u64::from(u32::MAX)),
    )
}

/// A qvalue (`0`, `0.5`, `1.000`) as thousandths.
fn parse_q(text: &str) -> Option<u16> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn format_q(q: u16) -> String {
    if q >= 1000 {
        "1".into()
    } else if q == 0 {
        "0".into()
    } else {
        let s = format!("0.{q:03}");
        s.trim_end_matches('0').to_string()
    }
}

/// Parses stored contact text; text that no longer parses compares as an opaque URI.
fn parse_or_text(text: &str) -> Uri {
    Uri::parse(text).unwrap_or(Uri {
        scheme: Scheme::Other(String::new()),
        user: Some(text.to_string()),
        password: None,
        host: Host::None,
        port: None,
        params: crate::message::Params::new(),
        headers: None,
    })
}

/// URI equivalence per RFC 3261 §19.1.4: same scheme; user and password
/// equal (case-sensitive, after %-decoding); host equal ignoring case (a
/// name never equals an address); port equal, with an absent port not equal
/// to an explicit one; a URI parameter present in both must match ignoring
/// case; `transport`, `user`, `ttl`, `method` and `maddr` must be present in
/// both or neither; other parameters present in only one are ignored; URI
/// headers must be equal as text. Non-SIP URIs compare as text.
pub fn uri_equivalent(a: &Uri, b: &Uri) -> bool {
    if a.scheme != b.scheme {
        return false;
    }
    if !a.is_sip() {
        return a.to_string() == b.to_string();
    }
    let decoded = |s: &Option<String>| s.as_deref().map(percent_decode);
    if decoded(&a.user) != decoded(&b.user) || decoded(&a.password) != decoded(&b.password) {
        return false;
    }
    let hosts_equal = match (&a.host, &b.host) {
        (Host::Domain(x), Host::Domain(y)) => x.eq_ignore_ascii_case(y),
        (x, y) => x == y,
    };
    if !hosts_equal || a.port != b.port {
        return false;
    }
    for (name, value) in a.params.iter() {
        match b.params.get(name) {
            Some(other) => {
                let same = match (value, other) {
                    (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                    (None, None) => true,
                    _ => false,
                };
                if !same {
                    return false;
                }
            }
            None if is_must_match_param(name) => return false,
            None => {}
        }
    }
    if b.params
        .iter()
        .any(|(name, _)| is_must_match_param(name) && !a.params.contains(name))
    {
        return false;
    }
    a.headers == b.headers
}

fn is_must_match_param(name: &str) -> bool {
    ["transport", "user", "ttl", "method", "maddr"]
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// An RFC 1123 date (`Sat, 13 Nov 2010 23:29:00 GMT`) for Unix milliseconds.
fn http_date(now_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month_name = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(1_289_690_940_000),
            "Sat, 13 Nov 2010 23:29:00 GMT"
        );
        assert_eq!(http_date(951_782_400_999), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(-1000), "Wed, 31 Dec 1969 23:59:59 GMT");
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.125"), Some(125));
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        for bad in ["1.5", "2", "0.1234", "", "-0", "0.a", ".5"] {
            assert_eq!(parse_q(bad), None, "{bad}");
        }
        assert_eq!(format_q(500), "0.5");
        assert_eq!(format_q(125), "0.125");
        assert_eq!(format_q(1000), "1");
        assert_eq!(format_q(0), "0");
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse_delta_seconds(" 60 "), Some(60));
        assert_eq!(
            parse_delta_seconds("99999999999999999999999"),
            Some(u64::from(u32::MAX))
        );
        assert_eq!(parse_delta_seconds("-1"), None);
        assert_eq!(parse_delta_seconds("1h"), None);
    }
}
