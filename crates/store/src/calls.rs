//! Call detail records: one row per call, written when it starts and completed when it ends.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::csv::CsvWriter;
use crate::error::query_failed;
use crate::text::{from_db, opt_from_db, opt_t, t};
use crate::{CallKind, ForwardKind, Outcome, Party, PurposeKind, Store, StoreError};

/// The facts known when a call starts, for [`Store::insert_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    /// The SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Who called (extension, or the number or URI of an outside caller).
    pub caller: String,
    /// What was dialled.
    pub callee: String,
    /// Who started the call.
    pub kind: CallKind,
    /// Why the PBX placed the call; `None` for other calls.
    pub purpose: Option<PurposeKind>,
    /// When the call started (the INVITE arrived, or the PBX sent its own), in unix milliseconds.
    pub started_at_ms: i64,
}

/// A stored call detail record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The id the store assigned; increases with every insert.
    pub id: i64,
    /// The SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Who called.
    pub caller: String,
    /// What was dialled.
    pub callee: String,
    /// Who started the call.
    pub kind: CallKind,
    /// Why the PBX placed the call; `None` for other calls.
    pub purpose: Option<PurposeKind>,
    /// The digits the called party typed in a placed call, if any (see [`Store::set_call_digits`]).
    pub digits: Option<String>,
    /// When the call started, in unix milliseconds.
    pub started_at_ms: i64,
    /// When the callee answered, if it did.
    pub answered_at_ms: Option<i64>,
    /// When the call ended; `None` while it is in progress (or if the server died during it).
    pub ended_at_ms: Option<i64>,
    /// How the call ended; `None` while it is in progress.
    pub outcome: Option<Outcome>,
    /// Who hung up, when known.
    pub hangup_by: Option<Party>,
    /// Media quality as JSON text (RTCP loss, jitter and round-trip time per leg); stored as given.
    pub quality: Option<String>,
    /// The name staff phones were shown for the caller (a hotel room's guest), if any.
    pub caller_name: Option<String>,
    /// The number rung instead of `callee` when the dialled line's call forwarding applied.
    pub forwarded_to: Option<String>,
    /// The forwarding condition that applied, with `forwarded_to`.
    pub forward_reason: Option<ForwardKind>,
}

/// Expands to the column list of `calls`, in the order [`call_from_row`] reads it.
macro_rules! call_columns {
    () => {
        "id, call_id, caller, callee, kind, started_at_ms, answered_at_ms, ended_at_ms, outcome, hangup_by, quality, purpose, digits, caller_name, forwarded_to, forward_reason"
    };
}

/// The header row of [`Store::calls_csv`].
pub const CALLS_CSV_HEADER: &[&str] = &[
    "id",
    "call_id",
    "caller",
    "callee",
    "kind",
    "started_at_ms",
    "answered_at_ms",
    "ended_at_ms",
    "outcome",
    "hangup_by",
    "quality",
    "purpose",
    "digits",
    "caller_name",
    "forwarded_to",
    "forward_reason",
];

impl Store {
    /// Records a call that has just started and returns its id.
    pub async fn insert_call(&self, call: &NewCall) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO calls (call_id, caller, callee, kind, purpose, started_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(t(&call.call_id))
        .bind(t(&call.caller))
        .bind(t(&call.callee))
        .bind(call.kind.as_str())
        .bind(call.purpose.map(PurposeKind::as_str))
        .bind(call.started_at_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(query_failed("insert_call"))
    }

    /// Records that call `id` was answered at `at_ms`.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no call `id`.
    pub async fn update_call_answered(&self, id: i64, at_ms: i64) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE calls SET answered_at_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(at_ms)
            .execute(&self.pool)
            .await
            .map_err(query_failed("update_call_answered"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "call record",
                id,
            });
        }
        Ok(())
    }

    /// Sets the media-quality JSON of call `id`, finished or not: the media engine reports a
    /// leg's final numbers only after the leg is gone, which is after the call ended.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no call `id`.
    pub async fn set_call_quality(&self, id: i64, quality: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE calls SET quality = $2 WHERE id = $1")
            .bind(id)
            .bind(quality)
            .execute(&self.pool)
            .await
            .map_err(query_failed("set_call_quality"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "call record",
                id,
            });
        }
        Ok(())
    }

    /// Sets the digits the called party typed in call `id` (a placed call collecting an answer),
    /// finished or not; a later call replaces earlier digits.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no call `id`.
    pub async fn set_call_digits(&self, id: i64, digits: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE calls SET digits = $2 WHERE id = $1")
            .bind(id)
            .bind(t(digits))
            .execute(&self.pool)
            .await
            .map_err(query_failed("set_call_digits"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "call record",
                id,
            });
        }
        Ok(())
    }

    /// Sets the name staff phones were shown for the caller of call `id` (a hotel room's guest).
    ///
    /// Fails with [`StoreError::NotFound`] when there is no call `id`.
    pub async fn set_call_caller_name(&self, id: i64, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE calls SET caller_name = $2 WHERE id = $1")
            .bind(id)
            .bind(t(name))
            .execute(&self.pool)
            .await
            .map_err(query_failed("set_call_caller_name"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "call record",
                id,
            });
        }
        Ok(())
    }

    /// Records that call `id` rang `to` instead of the number dialled, by that line's call
    /// forwarding for `reason` (the last forwarding applied wins).
    ///
    /// Fails with [`StoreError::NotFound`] when there is no call `id`.
    pub async fn set_call_forwarded(
        &self,
        id: i64,
        to: &str,
        reason: ForwardKind,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE calls SET forwarded_to = $2, forward_reason = $3 WHERE id = $1")
                .bind(id)
                .bind(t(to))
                .bind(reason.as_str())
                .execute(&self.pool)
                .await
                .map_err(query_failed("set_call_forwarded"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "call record",
                id,
            });
        }
        Ok(())
    }

    /// Completes call `id`: when it ended, how, who hung up, and its media quality as JSON text.
    ///
    /// A call is finished once: a second finish fails with [`StoreError::AlreadyFinished`] and leaves
    /// the first result in place; an unknown id fails with [`StoreError::NotFound`].
    pub async fn finish_call(
        &self,
        id: i64,
        ended_at_ms: i64,
        outcome: Outcome,
        hangup_by: Option<Party>,
        quality: Option<&str>,
    ) -> Result<(), StoreError> {
        let op = "finish_call";
        let done = sqlx::query(
            "UPDATE calls SET ended_at_ms = $2, outcome = $3, hangup_by = $4, quality = $5 \
             WHERE id = $1 AND outcome IS NULL",
        )
        .bind(id)
        .bind(ended_at_ms)
        .bind(outcome.as_str())
        .bind(hangup_by.map(Party::as_str))
        .bind(opt_t(quality))
        .execute(&self.pool)
        .await
        .map_err(query_failed(op))?;
        if done.rows_affected() > 0 {
            return Ok(());
        }
        let existing: Option<Option<String>> =
            sqlx::query_scalar("SELECT outcome FROM calls WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(query_failed(op))?;
        match existing {
            None => Err(StoreError::NotFound {
                what: "call record",
                id,
            }),
            Some(outcome) => Err(StoreError::AlreadyFinished {
                id,
                outcome: outcome.unwrap_or_default(),
            }),
        }
    }

    /// Returns call `id`, or `None` when there is none.
    pub async fn call(&self, id: i64) -> Result<Option<CallRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            call_columns!(),
            " FROM calls WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(query_failed("call"))?;
        row.as_ref().map(call_from_row).transpose()
    }

    /// Returns the `limit` most recently started calls, newest first.
    pub async fn recent_calls(&self, limit: u32) -> Result<Vec<CallRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            call_columns!(),
            " FROM calls ORDER BY started_at_ms DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("recent_calls"))?;
        rows.iter().map(call_from_row).collect()
    }

    /// Returns the calls that started in `from_ms..to_ms` (start inclusive, end exclusive), oldest first.
    pub async fn calls_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            call_columns!(),
            " FROM calls WHERE started_at_ms >= $1 AND started_at_ms < $2 ORDER BY started_at_ms, id"
        ))
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("calls_between"))?;
        rows.iter().map(call_from_row).collect()
    }

    /// Exports the `limit` most recent calls as CSV (RFC 4180: CRLF line ends, fields quoted when
    /// needed), newest first, after a header row of [`CALLS_CSV_HEADER`].
    ///
    /// Times are unix milliseconds; empty fields mean "none". Text that a spreadsheet would run as a
    /// formula is prefixed with `'` (see [`crate::csv::CsvWriter::text`]).
    pub async fn calls_csv(&self, limit: u32) -> Result<String, StoreError> {
        let calls = self.recent_calls(limit).await?;
        let mut csv = CsvWriter::new();
        csv.header(CALLS_CSV_HEADER);
        for c in &calls {
            csv.int(c.id);
            csv.text(&c.call_id);
            csv.text(&c.caller);
            csv.text(&c.callee);
            csv.text(c.kind.as_str());
            csv.int(c.started_at_ms);
            csv.opt_int(c.answered_at_ms);
            csv.opt_int(c.ended_at_ms);
            csv.text(c.outcome.map_or("", Outcome::as_str));
            csv.text(c.hangup_by.map_or("", Party::as_str));
            csv.text(c.quality.as_deref().unwrap_or(""));
            csv.text(c.purpose.map_or("", PurposeKind::as_str));
            csv.text(c.digits.as_deref().unwrap_or(""));
            csv.text(c.caller_name.as_deref().unwrap_or(""));
            csv.text(c.forwarded_to.as_deref().unwrap_or(""));
            csv.text(c.forward_reason.map_or("", ForwardKind::as_str));
            csv.end_record();
        }
        Ok(csv.finish())
    }
}

/// Reads one `calls` row selected with [`call_columns!`].
fn call_from_row(row: &AnyRow) -> Result<CallRecord, StoreError> {
    let op = "calls (decode row)";
    let outcome: Option<String> = row.try_get(8).map_err(query_failed(op))?;
    let hangup_by: Option<String> = row.try_get(9).map_err(query_failed(op))?;
    let kind: String = row.try_get(4).map_err(query_failed(op))?;
    let purpose: Option<String> = row.try_get(11).map_err(query_failed(op))?;
    let forward_reason: Option<String> = row.try_get(15).map_err(query_failed(op))?;
    Ok(CallRecord {
        id: row.try_get(0).map_err(query_failed(op))?,
        call_id: row.try_get(1).map_err(query_failed(op))?,
        caller: row.try_get(2).map_err(query_failed(op))?,
        callee: row.try_get(3).map_err(query_failed(op))?,
        kind: from_db(&kind, "calls", "kind")?,
        started_at_ms: row.try_get(5).map_err(query_failed(op))?,
        answered_at_ms: row.try_get(6).map_err(query_failed(op))?,
        ended_at_ms: row.try_get(7).map_err(query_failed(op))?,
        outcome: opt_from_db(outcome.as_deref(), "calls", "outcome")?,
        hangup_by: opt_from_db(hangup_by.as_deref(), "calls", "hangup_by")?,
        quality: row.try_get(10).map_err(query_failed(op))?,
        purpose: opt_from_db(purpose.as_deref(), "calls", "purpose")?,
        digits: row.try_get(12).map_err(query_failed(op))?,
        caller_name: row.try_get(13).map_err(query_failed(op))?,
        forwarded_to: row.try_get(14).map_err(query_failed(op))?,
        forward_reason: opt_from_db(forward_reason.as_deref(), "calls", "forward_reason")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_texts_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(
                from_db::<Outcome>(o.as_str(), "calls", "outcome").unwrap(),
                *o
            );
        }
        for h in Party::ALL {
            assert_eq!(
                from_db::<Party>(h.as_str(), "calls", "hangup_by").unwrap(),
                *h
            );
        }
        for k in CallKind::ALL {
            assert_eq!(
                from_db::<CallKind>(k.as_str(), "calls", "kind").unwrap(),
                *k
            );
        }
        for p in PurposeKind::ALL {
            assert_eq!(
                from_db::<PurposeKind>(p.as_str(), "calls", "purpose").unwrap(),
                *p
            );
        }
        assert_eq!(Outcome::ALL.len(), 8);
        let err = from_db::<Outcome>("exploded", "calls", "outcome").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unreadable value in calls.outcome: expected one of: answered busy no_answer cancelled \
             not_found unavailable failed rejected, found `exploded`"
        );
        let err = opt_from_db::<PurposeKind>(Some("wakeup"), "calls", "purpose").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unreadable value in calls.purpose: expected one of: announcement page music, found `wakeup`"
        );
        assert_eq!(
            opt_from_db::<PurposeKind>(None, "calls", "purpose").unwrap(),
            None
        );
    }
}
