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

mod binding;
mod date;
mod uri_match;

pub use binding::{Binding, BindingChange, BindingSource, BindingTransport};
pub use uri_match::uri_equivalent;

use crate::auth::Authenticated;
use crate::message::{Method, NameAddr, Request, Response};
use binding::parse_q;
use date::http_date;
use std::fmt;
use uri_match::parse_or_text;

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
///
/// ```
/// # use sip::auth::{AuthConfig, Authenticator, Credential, CredentialsHeader, respond_to_challenge};
/// # use sip::message::{Message, Request};
/// use sip::registrar::{register, BindingChange, BindingSource, BindingTransport, RegistrarPolicy};
/// # let now = std::time::Instant::now();
/// # let mut auth = Authenticator::new(AuthConfig::new("pbx", b"k".to_vec()), now);
/// # let challenge = auth.challenge(now, false).remove(0);
/// # let answer = respond_to_challenge(&challenge, "REGISTER", "sip:pbx", "201", "pw", "c", 1).unwrap();
/// let text = format!("REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1\r\n\
///     From: <sip:201@pbx>;tag=1\r\nTo: <sip:201@pbx>\r\nCall-ID: r1\r\nCSeq: 2 REGISTER\r\n\
///     Contact: <sip:201@10.0.0.5>;expires=600\r\nAuthorization: {answer}\r\n\r\n");
/// let Ok(Message::Request(req)) = Message::parse(text.as_bytes()) else { unreachable!() };
/// let proof = auth
///     .verify_request(now, &req, CredentialsHeader::Authorization, |_| Some(Credential::Plain("pw".into())))
///     .unwrap();
/// let source = BindingSource { transport: BindingTransport::Udp, addr: "203.0.113.7:40001".parse().unwrap(), connection: None };
/// let out = register(&req, "sip:201@pbx", &proof, source, &[], 1_700_000_000_000, &RegistrarPolicy::default());
/// assert_eq!(out.response.status, 200);
/// assert_eq!(out.response.headers.get("Contact"), Some("<sip:201@10.0.0.5>;expires=600"));
/// assert!(matches!(&out.changes[..], [BindingChange::Upsert(b)] if b.source == source));
/// ```
pub fn register(
    req: &Request,
    aor: &str,
    proof: &Authenticated,
    source: BindingSource,
    existing: &[Binding],
    now_ms: i64,
    policy: &RegistrarPolicy,
) -> RegistrarOutcome {
    // AOR ownership is the caller's check; the proof's user name is kept on the binding.
    match decide(req, aor, proof.username(), source, existing, now_ms, policy) {
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
    user: &str,
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
            user: Some(user.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
