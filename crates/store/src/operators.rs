//! The operator shift log: who logged in, out, paused or resumed, when, and from where.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::query_failed;
use crate::text::{from_db, t};
use crate::{OperatorChangeKind, Store, StoreError};

/// One stored entry of the shift log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorEventRecord {
    /// The id the store assigned; increases with every entry.
    pub id: i64,
    /// The operator's account name, for example `op1`.
    pub operator: String,
    /// What happened.
    pub event: OperatorChangeKind,
    /// Where it came from: the `ip:port` of the phone, or `system` for an expiry.
    pub source: String,
    /// When it happened, in unix milliseconds.
    pub at_ms: i64,
}

impl Store {
    /// Appends `event` by `operator` from `source` at `at_ms` to the shift log and returns its id.
    pub async fn log_operator_event(
        &self,
        operator: &str,
        event: OperatorChangeKind,
        source: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO operator_events (operator, event, source, at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(t(operator))
        .bind(event.as_str())
        .bind(t(source))
        .bind(at_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(query_failed("log_operator_event"))
    }

    /// Returns the `limit` latest shift-log entries, newest first: of one operator, or of all when
    /// `operator` is `None`.
    pub async fn operator_events(
        &self,
        operator: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OperatorEventRecord>, StoreError> {
        let query = match operator {
            Some(op) => sqlx::query(
                "SELECT id, operator, event, source, at_ms FROM operator_events \
                 WHERE operator = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
            )
            .bind(t(op)),
            None => sqlx::query(
                "SELECT id, operator, event, source, at_ms FROM operator_events \
                 ORDER BY at_ms DESC, id DESC LIMIT $1",
            ),
        };
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(query_failed("operator_events"))?;
        rows.iter().map(operator_event_from_row).collect()
    }

    /// Returns each operator's latest shift-log entry among the events in `kinds` (among every
    /// kind when `kinds` is empty), one per operator that has one, ordered by operator.
    ///
    /// "Latest" orders as [`Store::operator_events`] does: by `at_ms`, then by id. The server calls
    /// this at start with `[Pause, Unpause, Logout]` and pauses again every operator whose latest
    /// such entry is a pause, so a restart does not silently put a paused operator back in the queue
    /// (a login alone does not end a pause, a logout does).
    pub async fn latest_operator_events(
        &self,
        kinds: &[OperatorChangeKind],
    ) -> Result<Vec<OperatorEventRecord>, StoreError> {
        let mut distinct: Vec<OperatorChangeKind> = Vec::with_capacity(EVENT_SLOTS);
        for kind in if kinds.is_empty() {
            OperatorChangeKind::ALL
        } else {
            kinds
        } {
            if !distinct.contains(kind) {
                distinct.push(*kind);
            }
        }
        // A fixed statement with one slot per possible kind; unused slots repeat the first kind.
        let mut query = sqlx::query(
            "SELECT e.id, e.operator, e.event, e.source, e.at_ms FROM operator_events e \
             WHERE e.event IN ($1, $2, $3, $4) AND NOT EXISTS ( \
                 SELECT 1 FROM operator_events later \
                 WHERE later.operator = e.operator AND later.event IN ($1, $2, $3, $4) \
                 AND (later.at_ms > e.at_ms OR (later.at_ms = e.at_ms AND later.id > e.id))) \
             ORDER BY e.operator",
        );
        for slot in 0..EVENT_SLOTS {
            query = query.bind(distinct.get(slot).unwrap_or(&distinct[0]).as_str());
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(query_failed("latest_operator_events"))?;
        rows.iter().map(operator_event_from_row).collect()
    }
}

/// How many event kinds [`Store::latest_operator_events`] can filter on: one per kind there is.
const EVENT_SLOTS: usize = 4;
const _: () = assert!(OperatorChangeKind::ALL.len() == EVENT_SLOTS);

/// Reads one `operator_events` row.
fn operator_event_from_row(row: &AnyRow) -> Result<OperatorEventRecord, StoreError> {
    let op = "operator_events (decode row)";
    let event: String = row.try_get(2).map_err(query_failed(op))?;
    Ok(OperatorEventRecord {
        id: row.try_get(0).map_err(query_failed(op))?,
        operator: row.try_get(1).map_err(query_failed(op))?,
        event: from_db(&event, "operator_events", "event")?,
        source: row.try_get(3).map_err(query_failed(op))?,
        at_ms: row.try_get(4).map_err(query_failed(op))?,
    })
}
