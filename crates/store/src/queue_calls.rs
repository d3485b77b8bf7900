//! Operator-queue call records: how each queued caller entered, waited, was served and left.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::csv::CsvWriter;
use crate::error::query_failed;
use crate::text::{opt_from_db, opt_t, t};
use crate::{QueueOutcome, Store, StoreError};

/// The facts known when a caller enters the queue, for [`Store::insert_queue_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQueueCall {
    /// The SIP Call-ID of the caller's leg (links to the call record with the same `call_id`).
    pub call_id: String,
    /// Who is waiting.
    pub caller: String,
    /// Whether the caller was placed as a VIP.
    pub vip: bool,
    /// When the caller entered the queue, in unix milliseconds.
    pub entered_at_ms: i64,
    /// The caller's 1-based position right after entering.
    pub position_on_entry: u32,
}

/// The state of a queued call that changes over its life, for [`Store::update_queue_call`].
///
/// Every update replaces all of these fields, so pass the full current state each time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueCallUpdate {
    /// How long the caller waited before being answered or leaving the queue, in milliseconds.
    pub wait_ms: Option<i64>,
    /// The operator who answered, for example `op1`.
    pub answered_by: Option<String>,
    /// When the operator answered, in unix milliseconds.
    pub answered_at_ms: Option<i64>,
    /// How long the caller talked with operators, in milliseconds.
    pub talk_ms: Option<i64>,
    /// Transfers made, as JSON text, for example `[{"kind":"blind","to":"201","at_ms":…}]`;
    /// stored as given. An empty string is stored as `[]`.
    pub transfers: String,
    /// How the caller left the queue; `None` while waiting.
    pub outcome: Option<QueueOutcome>,
    /// When the call ended, in unix milliseconds.
    pub ended_at_ms: Option<i64>,
}

/// A stored queue call record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCallRecord {
    /// The id the store assigned; increases with every insert.
    pub id: i64,
    /// The SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Who waited.
    pub caller: String,
    /// Whether the caller was placed as a VIP.
    pub vip: bool,
    /// When the caller entered the queue, in unix milliseconds.
    pub entered_at_ms: i64,
    /// The caller's 1-based position right after entering.
    pub position_on_entry: u32,
    /// The fields that change over the call's life.
    pub state: QueueCallUpdate,
}

/// Expands to the column list of `queue_calls`, in the order [`queue_call_from_row`] reads it.
macro_rules! queue_call_columns {
    () => {
        "id, call_id, caller, vip, entered_at_ms, position_on_entry, wait_ms, answered_by, \
         answered_at_ms, talk_ms, transfers, outcome, ended_at_ms"
    };
}

/// The header row of [`Store::queue_calls_csv`].
pub const QUEUE_CALLS_CSV_HEADER: &[&str] = &[
    "id",
    "call_id",
    "caller",
    "vip",
    "entered_at_ms",
    "position_on_entry",
    "wait_ms",
    "answered_by",
    "answered_at_ms",
    "talk_ms",
    "transfers",
    "outcome",
    "ended_at_ms",
];

impl Store {
    /// Records a caller entering the queue and returns the record's id; transfers start as `[]`.
    pub async fn insert_queue_call(&self, call: &NewQueueCall) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO queue_calls (call_id, caller, vip, entered_at_ms, position_on_entry, transfers) \
             VALUES ($1, $2, $3, $4, $5, '[]') RETURNING id",
        )
        .bind(t(&call.call_id))
        .bind(t(&call.caller))
        .bind(i64::from(call.vip))
        .bind(call.entered_at_ms)
        .bind(i64::from(call.position_on_entry))
        .fetch_one(&self.pool)
        .await
        .map_err(query_failed("insert_queue_call"))
    }

    /// Replaces the changing fields of queue call `id` with `update`.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no queue call `id`.
    pub async fn update_queue_call(
        &self,
        id: i64,
        update: &QueueCallUpdate,
    ) -> Result<(), StoreError> {
        let transfers = if update.transfers.is_empty() {
            "[]"
        } else {
            update.transfers.as_str()
        };
        let done = sqlx::query(
            "UPDATE queue_calls SET wait_ms = $2, answered_by = $3, answered_at_ms = $4, talk_ms = $5, \
             transfers = $6, outcome = $7, ended_at_ms = $8 WHERE id = $1",
        )
        .bind(id)
        .bind(update.wait_ms)
        .bind(opt_t(update.answered_by.as_deref()))
        .bind(update.answered_at_ms)
        .bind(update.talk_ms)
        .bind(t(transfers))
        .bind(update.outcome.map(QueueOutcome::as_str))
        .bind(update.ended_at_ms)
        .execute(&self.pool)
        .await
        .map_err(query_failed("update_queue_call"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "queue call record",
                id,
            });
        }
        Ok(())
    }

    /// Returns the `limit` queue calls that entered most recently, newest first.
    pub async fn recent_queue_calls(&self, limit: u32) -> Result<Vec<QueueCallRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            queue_call_columns!(),
            " FROM queue_calls ORDER BY entered_at_ms DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("recent_queue_calls"))?;
        rows.iter().map(queue_call_from_row).collect()
    }

    /// Exports the `limit` most recent queue calls as RFC 4180 CSV, newest first, after a header row
    /// of [`QUEUE_CALLS_CSV_HEADER`]; formatted like [`Store::calls_csv`] (`vip` is `0` or `1`).
    pub async fn queue_calls_csv(&self, limit: u32) -> Result<String, StoreError> {
        let calls = self.recent_queue_calls(limit).await?;
        let mut csv = CsvWriter::new();
        csv.header(QUEUE_CALLS_CSV_HEADER);
        for c in &calls {
            csv.int(c.id);
            csv.text(&c.call_id);
            csv.text(&c.caller);
            csv.int(i64::from(c.vip));
            csv.int(c.entered_at_ms);
            csv.int(i64::from(c.position_on_entry));
            csv.opt_int(c.state.wait_ms);
            csv.text(c.state.answered_by.as_deref().unwrap_or(""));
            csv.opt_int(c.state.answered_at_ms);
            csv.opt_int(c.state.talk_ms);
            csv.text(&c.state.transfers);
            csv.text(c.state.outcome.map_or("", QueueOutcome::as_str));
            csv.opt_int(c.state.ended_at_ms);
            csv.end_record();
        }
        Ok(csv.finish())
    }
}

/// Reads one `queue_calls` row selected with [`queue_call_columns!`].
fn queue_call_from_row(row: &AnyRow) -> Result<QueueCallRecord, StoreError> {
    let op = "queue_calls (decode row)";
    let vip: i64 = row.try_get(3).map_err(query_failed(op))?;
    let position: i64 = row.try_get(5).map_err(query_failed(op))?;
    let outcome: Option<String> = row.try_get(11).map_err(query_failed(op))?;
    Ok(QueueCallRecord {
        id: row.try_get(0).map_err(query_failed(op))?,
        call_id: row.try_get(1).map_err(query_failed(op))?,
        caller: row.try_get(2).map_err(query_failed(op))?,
        vip: match vip {
            0 => false,
            1 => true,
            other => {
                return Err(StoreError::Corrupt {
                    table: "queue_calls",
                    column: "vip",
                    expected: "0 or 1",
                    found: other.to_string(),
                });
            }
        },
        entered_at_ms: row.try_get(4).map_err(query_failed(op))?,
        position_on_entry: u32::try_from(position).map_err(|_| StoreError::Corrupt {
            table: "queue_calls",
            column: "position_on_entry",
            expected: "an integer from 0 to 4294967295",
            found: position.to_string(),
        })?,
        state: QueueCallUpdate {
            wait_ms: row.try_get(6).map_err(query_failed(op))?,
            answered_by: row.try_get(7).map_err(query_failed(op))?,
            answered_at_ms: row.try_get(8).map_err(query_failed(op))?,
            talk_ms: row.try_get(9).map_err(query_failed(op))?,
            transfers: row.try_get(10).map_err(query_failed(op))?,
            outcome: opt_from_db(outcome.as_deref(), "queue_calls", "outcome")?,
            ended_at_ms: row.try_get(12).map_err(query_failed(op))?,
        },
    })
}
