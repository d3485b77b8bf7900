//! Builders for test records.

use store::{Binding, CallKind, NewCall};

/// A fixed wall-clock instant (2025-11-27T00:00:00Z) so expiry arithmetic reads plainly.
pub const T0: i64 = 1_764_201_600_000;

/// A UDP binding of `contact` for `aor` that expires at `expires_at_ms`, with every optional field set.
pub fn binding(aor: &str, contact: &str, expires_at_ms: i64) -> Binding {
    Binding {
        aor: aor.to_owned(),
        contact: contact.to_owned(),
        source: "192.0.2.10:5062".to_owned(),
        transport: "udp".to_owned(),
        call_id: format!("reg-{aor}-{contact}"),
        cseq: 1,
        expires_at_ms,
        q: Some(0.5),
        user_agent: Some("baresip v3 (x86_64/linux)".to_owned()),
        instance: Some("<urn:uuid:00000000-0000-1000-8000-000a95a0e128>".to_owned()),
        updated_at_ms: T0,
        user: Some(format!("acct-{aor}")),
    }
}

/// A call from `caller` to `callee` that started at `started_at_ms` (a phone's call, no purpose).
pub fn new_call(caller: &str, callee: &str, started_at_ms: i64) -> NewCall {
    NewCall {
        call_id: format!("{caller}-{callee}-{started_at_ms}@192.0.2.10"),
        caller: caller.to_owned(),
        callee: callee.to_owned(),
        kind: CallKind::Internal,
        purpose: None,
        started_at_ms,
    }
}
