//! Builders for test records.

use sqlx::{AssertSqlSafe, Connection};
use store::{Binding, CallKind, NewCall, NewStay};

use crate::harness::TestDb;

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

/// A stay for `name` in `room` with nothing else set.
pub fn guest(room: &str, name: &str) -> NewStay {
    NewStay {
        room: room.to_owned(),
        name: name.to_owned(),
        ..NewStay::default()
    }
}

/// Counts the rows of `table` over a connection of its own (the store does not say how many
/// rows it keeps, and refusals must leave none behind).
pub async fn count(db: &TestDb, table: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(db.url())
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", db.url()));
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"));
    conn.close().await.expect("close the counting connection");
    n
}

/// Dr Li Wei, VIP on honeymoon, with a companion, in `room`.
pub fn li_wei(room: &str) -> NewStay {
    NewStay {
        title: Some("Dr".into()),
        language: Some("zh".into()),
        vip_note: Some("honeymoon".into()),
        companions: vec!["Mei Wei".into()],
        arrival: Some("2025-11-27".into()),
        departure: Some("2025-11-30".into()),
        pin: Some("4711".into()),
        ..guest(room, "Li Wei")
    }
}
