//! The front desk's log book: who did what to which room or extension, when, in words.
//!
//! Every front-desk operation of this crate (check-in, expected arrival, check-out, room move,
//! do-not-disturb, forwarding) writes its entry in the same transaction as its change; other
//! components add their own entries with [`Store::log`].

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::error::query_failed;
use crate::text::{from_db, t};
use crate::{LogKind, Store, StoreError};

/// One entry of the log book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The id the store assigned; increases with every entry.
    pub id: i64,
    /// When it happened, in unix milliseconds.
    pub at_ms: i64,
    /// Who did it: `cli`, an admin API user, or a phone account such as `8105`.
    pub actor: String,
    /// What kind of thing happened.
    pub kind: LogKind,
    /// The room or extension number it concerned; empty when none.
    pub subject: String,
    /// What happened, for people, for example `Dr Li Wei checked in (VIP: honeymoon)`.
    pub detail: String,
}

impl Store {
    /// Appends an entry to the log book and returns its id.
    pub async fn log(
        &self,
        actor: &str,
        kind: LogKind,
        subject: &str,
        detail: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(query_failed("log"))?;
        insert_log(&mut conn, actor, kind, subject, detail, at_ms)
            .await
            .map_err(query_failed("log"))
    }

    /// Returns up to `limit` log-book entries made at or after `since_ms`, oldest first (by time,
    /// then by id).
    pub async fn logbook(&self, since_ms: i64, limit: u32) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, actor, kind, subject, detail FROM logbook \
             WHERE at_ms >= $1 ORDER BY at_ms, id LIMIT $2",
        )
        .bind(since_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("logbook"))?;
        rows.iter().map(log_entry_from_row).collect()
    }
}

/// Appends an entry to the log book on `conn` (inside the caller's transaction) and returns its id.
pub(crate) async fn insert_log(
    conn: &mut AnyConnection,
    actor: &str,
    kind: LogKind,
    subject: &str,
    detail: &str,
    at_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO logbook (at_ms, actor, kind, subject, detail) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id",
    )
    .bind(at_ms)
    .bind(t(actor))
    .bind(kind.as_str())
    .bind(t(subject))
    .bind(t(detail))
    .fetch_one(&mut *conn)
    .await
}

/// What a change writes into the log book, for [`commit_with_log`].
pub(crate) struct LogLine<'a> {
    pub actor: &'a str,
    pub kind: LogKind,
    pub subject: &'a str,
    pub detail: &'a str,
    pub at_ms: i64,
}

/// Writes a change's log book entry into its transaction and commits both: the change and
/// its entry land together or not at all.
pub(crate) async fn commit_with_log(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    line: LogLine<'_>,
    op: &'static str,
) -> Result<(), StoreError> {
    insert_log(
        &mut tx,
        line.actor,
        line.kind,
        line.subject,
        line.detail,
        line.at_ms,
    )
    .await
    .map_err(query_failed(op))?;
    tx.commit().await.map_err(query_failed(op))
}

/// Reads one `logbook` row.
fn log_entry_from_row(row: &AnyRow) -> Result<LogEntry, StoreError> {
    let op = "logbook (decode row)";
    let kind: String = row.try_get(3).map_err(query_failed(op))?;
    Ok(LogEntry {
        id: row.try_get(0).map_err(query_failed(op))?,
        at_ms: row.try_get(1).map_err(query_failed(op))?,
        actor: row.try_get(2).map_err(query_failed(op))?,
        kind: from_db(&kind, "logbook", "kind")?,
        subject: row.try_get(4).map_err(query_failed(op))?,
        detail: row.try_get(5).map_err(query_failed(op))?,
    })
}
