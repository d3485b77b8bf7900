//! Key/value settings that must survive restarts, such as the attendant-mode override.

use crate::error::query_failed;
use crate::text::t;
use crate::{Store, StoreError};

impl Store {
    /// Stores `value` under `key`, replacing any earlier value; `now_ms` is kept as the update time.
    pub async fn set_setting(&self, key: &str, value: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(t(key))
        .bind(t(value))
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(query_failed("set_setting"))?;
        Ok(())
    }

    /// Returns the value stored under `key`, or `None` when there is none.
    pub async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(t(key))
            .fetch_optional(&self.pool)
            .await
            .map_err(query_failed("get_setting"))
    }

    /// Removes `key`; returns whether it existed.
    pub async fn delete_setting(&self, key: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(t(key))
            .execute(&self.pool)
            .await
            .map_err(query_failed("delete_setting"))?;
        Ok(done.rows_affected() > 0)
    }
}
