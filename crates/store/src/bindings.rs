//! Registrar bindings: which contacts an address-of-record is reachable at, until when.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::query_failed;
use crate::text::{opt_t, t};
use crate::{Store, StoreError};

/// One registered contact of an address-of-record (RFC 3261 §10), keyed by `(aor, contact)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The address-of-record, as the registrar normalises it (for example `201` or `0`).
    pub aor: String,
    /// The Contact URI the phone registered.
    pub contact: String,
    /// The `ip:port` the REGISTER arrived from (where the phone is reached behind NAT).
    pub source: String,
    /// The transport the REGISTER arrived on: `udp` or `tcp`.
    pub transport: String,
    /// The Call-ID of the REGISTER that created or last refreshed this binding.
    pub call_id: String,
    /// The CSeq number of that REGISTER.
    pub cseq: u32,
    /// When the binding expires, in unix milliseconds; it is gone at exactly this instant.
    pub expires_at_ms: i64,
    /// The Contact's `q` parameter in 0.0..=1.0; stored in thousandths, so three decimals survive.
    pub q: Option<f32>,
    /// The User-Agent header of the REGISTER, if any.
    pub user_agent: Option<String>,
    /// The `+sip.instance` Contact parameter (RFC 5626), if any.
    pub instance: Option<String>,
    /// When the binding was last written, in unix milliseconds.
    pub updated_at_ms: i64,
    /// The digest account that authenticated the REGISTER (for example `op1` for a binding of the
    /// operator position `0`); `None` when unknown (stored before it was recorded).
    pub user: Option<String>,
}

/// One change to the bindings table, for [`Store::apply_binding_changes`].
#[derive(Debug, Clone, PartialEq)]
pub enum BindingChange {
    /// Inserts the binding, or replaces every field of the one with the same `(aor, contact)`.
    Upsert(Binding),
    /// Removes one contact of an address-of-record.
    Remove {
        /// The address-of-record.
        aor: String,
        /// The Contact URI to remove.
        contact: String,
    },
    /// Removes every contact of an address-of-record (`Contact: *`).
    RemoveAll {
        /// The address-of-record.
        aor: String,
    },
}

/// Expands to the column list of `bindings`, in the order [`binding_from_row`] reads it.
macro_rules! binding_columns {
    () => {
        "aor, contact, source, transport, call_id, cseq, expires_at_ms, q_milli, user_agent, instance, updated_at_ms, \
         auth_user"
    };
}

const UPSERT: &str = concat!(
    "INSERT INTO bindings (",
    binding_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
     ON CONFLICT (aor, contact) DO UPDATE SET \
     source = excluded.source, transport = excluded.transport, call_id = excluded.call_id, \
     cseq = excluded.cseq, expires_at_ms = excluded.expires_at_ms, q_milli = excluded.q_milli, \
     user_agent = excluded.user_agent, instance = excluded.instance, updated_at_ms = excluded.updated_at_ms, \
     auth_user = excluded.auth_user"
);
const REMOVE: &str = "DELETE FROM bindings WHERE aor = $1 AND contact = $2";
const REMOVE_ALL: &str = "DELETE FROM bindings WHERE aor = $1";

impl Store {
    /// Inserts `binding`, or replaces every field of the stored binding with the same `(aor, contact)`.
    ///
    /// Fails with [`StoreError::Invalid`] when `q` is not a number in 0.0..=1.0.
    pub async fn upsert_binding(&self, binding: &Binding) -> Result<(), StoreError> {
        let q_milli = q_to_milli(binding.q)?;
        upsert_query(binding, q_milli)
            .execute(&self.pool)
            .await
            .map_err(query_failed("upsert_binding"))?;
        Ok(())
    }

    /// Removes one contact of `aor`; returns whether a binding was removed.
    pub async fn remove_binding(&self, aor: &str, contact: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(REMOVE)
            .bind(t(aor))
            .bind(t(contact))
            .execute(&self.pool)
            .await
            .map_err(query_failed("remove_binding"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes every contact of `aor`; returns how many bindings were removed.
    pub async fn remove_all_bindings(&self, aor: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(REMOVE_ALL)
            .bind(t(aor))
            .execute(&self.pool)
            .await
            .map_err(query_failed("remove_all_bindings"))?;
        Ok(done.rows_affected())
    }

    /// Applies `changes` in order inside one transaction: either all of them are stored or none.
    ///
    /// This is how one REGISTER that adds, refreshes and removes several contacts is made atomic.
    pub async fn apply_binding_changes(&self, changes: &[BindingChange]) -> Result<(), StoreError> {
        let op = "apply_binding_changes";
        let mut q_millis = Vec::with_capacity(changes.len());
        for change in changes {
            if let BindingChange::Upsert(b) = change {
                q_millis.push(q_to_milli(b.q)?);
            }
        }
        let mut q_millis = q_millis.into_iter();
        let mut tx = self.pool.begin().await.map_err(query_failed(op))?;
        for change in changes {
            let query = match change {
                BindingChange::Upsert(b) => upsert_query(b, q_millis.next().flatten()),
                BindingChange::Remove { aor, contact } => {
                    sqlx::query(REMOVE).bind(t(aor)).bind(t(contact))
                }
                BindingChange::RemoveAll { aor } => sqlx::query(REMOVE_ALL).bind(t(aor)),
            };
            query.execute(&mut *tx).await.map_err(query_failed(op))?;
        }
        tx.commit().await.map_err(query_failed(op))?;
        Ok(())
    }

    /// Returns the unexpired bindings of `aor` (those with `expires_at_ms > now_ms`), highest `q`
    /// first (a missing `q` counts as 1.0), then most recently updated first.
    pub async fn bindings(&self, aor: &str, now_ms: i64) -> Result<Vec<Binding>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            binding_columns!(),
            " FROM bindings WHERE aor = $1 AND expires_at_ms > $2 \
             ORDER BY COALESCE(q_milli, 1000) DESC, updated_at_ms DESC, contact"
        ))
        .bind(t(aor))
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("bindings"))?;
        rows.iter().map(binding_from_row).collect()
    }

    /// Returns every unexpired binding of every address-of-record, ordered by `aor`, then as
    /// [`Store::bindings`] orders them. The server calls this at start to reload the registrar.
    pub async fn all_bindings(&self, now_ms: i64) -> Result<Vec<Binding>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            binding_columns!(),
            " FROM bindings WHERE expires_at_ms > $1 \
             ORDER BY aor, COALESCE(q_milli, 1000) DESC, updated_at_ms DESC, contact"
        ))
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("all_bindings"))?;
        rows.iter().map(binding_from_row).collect()
    }

    /// Deletes every binding with `expires_at_ms <= now_ms`; returns how many were deleted.
    pub async fn purge_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM bindings WHERE expires_at_ms <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(query_failed("purge_expired"))?;
        Ok(done.rows_affected())
    }
}

/// Builds the upsert statement for `b` with its already validated `q` in thousandths.
fn upsert_query(
    b: &Binding,
    q_milli: Option<i64>,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(UPSERT)
        .bind(t(&b.aor))
        .bind(t(&b.contact))
        .bind(t(&b.source))
        .bind(t(&b.transport))
        .bind(t(&b.call_id))
        .bind(i64::from(b.cseq))
        .bind(b.expires_at_ms)
        .bind(q_milli)
        .bind(opt_t(b.user_agent.as_deref()))
        .bind(opt_t(b.instance.as_deref()))
        .bind(b.updated_at_ms)
        .bind(opt_t(b.user.as_deref()))
}

/// Converts a `q` value to thousandths, rejecting NaN and values outside 0.0..=1.0.
fn q_to_milli(q: Option<f32>) -> Result<Option<i64>, StoreError> {
    match q {
        None => Ok(None),
        Some(q) if (0.0..=1.0).contains(&q) => Ok(Some((f64::from(q) * 1000.0).round() as i64)),
        Some(q) => Err(StoreError::Invalid {
            field: "Binding.q",
            expected: "a number from 0.0 to 1.0",
            got: q.to_string(),
        }),
    }
}

/// Reads one `bindings` row selected with [`binding_columns!`].
fn binding_from_row(row: &AnyRow) -> Result<Binding, StoreError> {
    let op = "bindings (decode row)";
    let get_text = |i: usize| row.try_get::<String, _>(i).map_err(query_failed(op));
    let get_opt_text = |i: usize| {
        row.try_get::<Option<String>, _>(i)
            .map_err(query_failed(op))
    };
    let cseq: i64 = row.try_get(5).map_err(query_failed(op))?;
    let q_milli: Option<i64> = row.try_get(7).map_err(query_failed(op))?;
    Ok(Binding {
        aor: get_text(0)?,
        contact: get_text(1)?,
        source: get_text(2)?,
        transport: get_text(3)?,
        call_id: get_text(4)?,
        cseq: u32::try_from(cseq).map_err(|_| StoreError::Corrupt {
            table: "bindings",
            column: "cseq",
            expected: "an integer from 0 to 4294967295",
            found: cseq.to_string(),
        })?,
        expires_at_ms: row.try_get(6).map_err(query_failed(op))?,
        q: q_milli
            .map(|m| {
                u16::try_from(m)
                    .ok()
                    .filter(|m| *m <= 1000)
                    .map(|m| f32::from(m) / 1000.0)
                    .ok_or_else(|| StoreError::Corrupt {
                        table: "bindings",
                        column: "q_milli",
                        expected: "an integer from 0 to 1000",
                        found: m.to_string(),
                    })
            })
            .transpose()?,
        user_agent: get_opt_text(8)?,
        instance: get_opt_text(9)?,
        updated_at_ms: row.try_get(10).map_err(query_failed(op))?,
        user: get_opt_text(11)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_round_trip_at_three_decimals() {
        for (q, milli) in [
            (0.0f32, 0i64),
            (0.001, 1),
            (0.5, 500),
            (0.7, 700),
            (0.333, 333),
            (1.0, 1000),
        ] {
            assert_eq!(q_to_milli(Some(q)).unwrap(), Some(milli), "q={q}");
            assert_eq!(
                f32::from(u16::try_from(milli).unwrap()) / 1000.0,
                q,
                "milli={milli}"
            );
        }
        assert_eq!(q_to_milli(None).unwrap(), None);
    }

    #[test]
    fn q_values_out_of_range_are_rejected() {
        for q in [-0.1f32, 1.001, f32::NAN, f32::INFINITY] {
            let err = q_to_milli(Some(q)).unwrap_err();
            assert!(
                err.to_string()
                    .contains("expected a number from 0.0 to 1.0"),
                "{err}"
            );
        }
    }
}
