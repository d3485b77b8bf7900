//! Do-not-disturb and call forwarding of lines: a room's live on its in-house stay (they move with
//! the guest and end at check-out), a staff or service extension's in `line_settings`.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::query_failed;
use crate::logbook::{LogLine, commit_with_log};
use crate::stays::{stay_columns, stay_from_row};
use crate::text::{opt_t, t};
use crate::{ForwardKind, Forwarding, GuestError, LineSettings, LogKind, Store, StoreError};

/// A line whose settings change: a guest room or another extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A room by number: its settings belong to the guest in house.
    Room(&'a str),
    /// A staff or service extension by number: its settings stay with the number.
    Extension(&'a str),
}

impl Line<'_> {
    /// The line's number.
    #[must_use]
    pub fn number(&self) -> &str {
        match self {
            Line::Room(number) | Line::Extension(number) => number,
        }
    }
}

/// The statements that set one forwarding column, for a room's stay and for an extension.
struct ForwardSql {
    room: &'static str,
    extension: &'static str,
}

/// Builds the [`ForwardSql`] of column `$col`.
macro_rules! forward_sql {
    ($col:literal) => {
        ForwardSql {
            room: concat!(
                "UPDATE stays SET ",
                $col,
                " = $2 WHERE room = $1 AND state = 'in_house' RETURNING ",
                stay_columns!()
            ),
            extension: concat!(
                "INSERT INTO line_settings (number, ",
                $col,
                ", updated_at_ms) VALUES ($1, $2, $3) ON CONFLICT (number) DO UPDATE SET ",
                $col,
                " = excluded.",
                $col,
                ", updated_at_ms = excluded.updated_at_ms RETURNING ",
                "dnd, forward_always, forward_busy, forward_no_answer"
            ),
        }
    };
}

/// The statements of each kind of forwarding.
fn forward_sql(kind: ForwardKind) -> ForwardSql {
    match kind {
        ForwardKind::Always => forward_sql!("forward_always"),
        ForwardKind::Busy => forward_sql!("forward_busy"),
        ForwardKind::NoAnswer => forward_sql!("forward_no_answer"),
    }
}

/// Which calls a kind of forwarding takes, for the log book.
fn forwarded_calls(kind: ForwardKind) -> &'static str {
    match kind {
        ForwardKind::Always => "all calls",
        ForwardKind::Busy => "calls when busy",
        ForwardKind::NoAnswer => "unanswered calls",
    }
}

impl Store {
    /// Switches do-not-disturb of `line` on or off and returns the line's settings after it, with
    /// a log-book entry, in one transaction.
    ///
    /// A [`Line::Room`] needs a guest in house ([`GuestError::RoomVacant`] otherwise); a
    /// [`Line::Extension`] gets its `line_settings` row created when it has none.
    pub async fn set_dnd(
        &self,
        line: Line<'_>,
        on: bool,
        actor: &str,
        now_ms: i64,
    ) -> Result<LineSettings, GuestError> {
        let op = "set_dnd";
        let onoff = if on { "on" } else { "off" };
        let mut tx = self.begin_write().await.map_err(query_failed(op))?;
        let (settings, detail) = match line {
            Line::Room(room) => {
                let row = sqlx::query(concat!(
                    "UPDATE stays SET dnd = $2 WHERE room = $1 AND state = 'in_house' RETURNING ",
                    stay_columns!()
                ))
                .bind(t(room))
                .bind(i64::from(on))
                .fetch_optional(&mut *tx)
                .await
                .map_err(query_failed(op))?;
                let Some(row) = row else {
                    return Err(GuestError::RoomVacant { room: t(room) });
                };
                let stay = stay_from_row(&row)?;
                let detail = format!("do not disturb {onoff} for {}", stay.full_name());
                (stay.settings, detail)
            }
            Line::Extension(number) => {
                let row = sqlx::query(
                    "INSERT INTO line_settings (number, dnd, updated_at_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (number) DO UPDATE SET dnd = excluded.dnd, \
                     updated_at_ms = excluded.updated_at_ms \
                     RETURNING dnd, forward_always, forward_busy, forward_no_answer",
                )
                .bind(t(number))
                .bind(i64::from(on))
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(query_failed(op))?;
                (
                    settings_from_row(&row, 0)?,
                    format!("do not disturb {onoff}"),
                )
            }
        };
        commit_with_log(
            tx,
            LogLine {
                actor,
                kind: LogKind::Dnd,
                subject: line.number(),
                detail: &detail,
                at_ms: now_ms,
            },
            op,
        )
        .await?;
        Ok(settings)
    }

    /// Sets forwarding `kind` of `line` to `target` (`None` clears it) and returns the line's
    /// settings after it, with a log-book entry, in one transaction.
    ///
    /// A [`Line::Room`] needs a guest in house ([`GuestError::RoomVacant`] otherwise); a
    /// [`Line::Extension`] gets its `line_settings` row created when it has none. A blank target,
    /// or the line's own number, is refused as [`StoreError::Invalid`].
    pub async fn set_forward(
        &self,
        line: Line<'_>,
        kind: ForwardKind,
        target: Option<&str>,
        actor: &str,
        now_ms: i64,
    ) -> Result<LineSettings, GuestError> {
        let op = "set_forward";
        if let Some(target) = target
            && (target.trim().is_empty() || target == line.number())
        {
            return Err(StoreError::Invalid {
                field: "target",
                expected: "a number other than the line's own, or none to clear forwarding",
                got: format!("`{target}`"),
            }
            .into());
        }
        let sql = forward_sql(kind);
        let calls = forwarded_calls(kind);
        let action = match target {
            Some(target) => format!("forward {calls} to {target}"),
            None => format!("stop forwarding {calls}"),
        };
        let mut tx = self.begin_write().await.map_err(query_failed(op))?;
        let (settings, detail) = match line {
            Line::Room(room) => {
                let row = sqlx::query(sql.room)
                    .bind(t(room))
                    .bind(opt_t(target))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(query_failed(op))?;
                let Some(row) = row else {
                    return Err(GuestError::RoomVacant { room: t(room) });
                };
                let stay = stay_from_row(&row)?;
                let detail = format!("{action} for {}", stay.full_name());
                (stay.settings, detail)
            }
            Line::Extension(number) => {
                let row = sqlx::query(sql.extension)
                    .bind(t(number))
                    .bind(opt_t(target))
                    .bind(now_ms)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(query_failed(op))?;
                (settings_from_row(&row, 0)?, action)
            }
        };
        commit_with_log(
            tx,
            LogLine {
                actor,
                kind: LogKind::Forward,
                subject: line.number(),
                detail: &detail,
                at_ms: now_ms,
            },
            op,
        )
        .await?;
        Ok(settings)
    }

    /// Returns the settings of every extension line (not room) that has do-not-disturb on or any
    /// forwarding set, ordered by number.
    pub async fn line_settings(&self) -> Result<Vec<(String, LineSettings)>, StoreError> {
        let op = "line_settings";
        let rows = sqlx::query(
            "SELECT number, dnd, forward_always, forward_busy, forward_no_answer FROM line_settings \
             WHERE dnd = 1 OR forward_always IS NOT NULL OR forward_busy IS NOT NULL \
             OR forward_no_answer IS NOT NULL ORDER BY number",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed(op))?;
        rows.iter()
            .map(|row| {
                let number: String = row.try_get(0).map_err(query_failed(op))?;
                Ok((number, settings_from_row(row, 1)?))
            })
            .collect()
    }
}

/// Reads `dnd, forward_always, forward_busy, forward_no_answer` of `line_settings` from `row`,
/// starting at column `first`.
fn settings_from_row(row: &AnyRow, first: usize) -> Result<LineSettings, StoreError> {
    let op = "line_settings (decode row)";
    let dnd: i64 = row.try_get(first).map_err(query_failed(op))?;
    Ok(LineSettings {
        dnd: flag_from_db(dnd, "line_settings", "dnd")?,
        forwarding: Forwarding {
            always: row.try_get(first + 1).map_err(query_failed(op))?,
            busy: row.try_get(first + 2).map_err(query_failed(op))?,
            no_answer: row.try_get(first + 3).map_err(query_failed(op))?,
        },
    })
}

/// Reads a 0/1 flag column, reporting any other value as [`StoreError::Corrupt`].
pub(crate) fn flag_from_db(
    value: i64,
    table: &'static str,
    column: &'static str,
) -> Result<bool, StoreError> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(StoreError::Corrupt {
            table,
            column,
            expected: "0 or 1",
            found: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_get_set_per_kind() {
        let mut f = Forwarding::default();
        assert!(f.is_empty());
        f.set(ForwardKind::Busy, Some("200".into()));
        assert_eq!(f.get(ForwardKind::Busy), Some("200"));
        assert_eq!(f.get(ForwardKind::Always), None);
        assert!(!f.is_empty());
        f.set(ForwardKind::Busy, None);
        assert!(f.is_empty());
    }

    #[test]
    fn each_kind_writes_its_own_column() {
        for (kind, col) in [
            (ForwardKind::Always, "forward_always"),
            (ForwardKind::Busy, "forward_busy"),
            (ForwardKind::NoAnswer, "forward_no_answer"),
        ] {
            let sql = forward_sql(kind);
            assert!(
                sql.room
                    .starts_with(&format!("UPDATE stays SET {col} = $2 "))
            );
            assert!(
                sql.extension
                    .contains(&format!("DO UPDATE SET {col} = excluded.{col},"))
            );
        }
        assert!(flag_from_db(1, "t", "c").unwrap());
        assert!(!flag_from_db(0, "t", "c").unwrap());
        assert!(flag_from_db(2, "t", "c").is_err());
    }
}
