//! Hotel stays: who is booked into or checked into which room, and reading them back.
//!
//! The changes (check-in, expected arrival, check-out, room move) are in `front_desk.rs`; a room's
//! do-not-disturb and forwarding are set in `lines.rs`.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::error::query_failed;
use crate::lines::flag_from_db;
use crate::text::{from_db, t};
use crate::{Forwarding, LineSettings};
use crate::{StayState, Store, StoreError};

/// A guest's stay as the front desk enters it, for [`Store::check_in`] and
/// [`Store::expect_arrival`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewStay {
    /// The room number, for example `8112`; not empty.
    pub room: String,
    /// The guest's name, for example `Li Wei`; not blank.
    pub name: String,
    /// How to address the guest, for example `Dr`.
    pub title: Option<String>,
    /// The guest's language, for example `zh` (for prompts and the desk).
    pub language: Option<String>,
    /// `Some` makes the guest a VIP, with why (for example `honeymoon`; may be empty).
    pub vip_note: Option<String>,
    /// The names of the people staying with the guest, in order; each name is kept exactly.
    pub companions: Vec<String>,
    /// The day of arrival, `YYYY-MM-DD`; required for an expected arrival.
    pub arrival: Option<String>,
    /// The day of departure, `YYYY-MM-DD`; not before `arrival`.
    pub departure: Option<String>,
    /// The PIN of the room's services (voicemail and the like), as given.
    pub pin: Option<String>,
}

/// A stored stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    /// The id the store assigned; increases with every stay.
    pub id: i64,
    /// The room number; changes when the guest moves.
    pub room: String,
    /// Booked, in house, or departed.
    pub state: StayState,
    /// The guest's name.
    pub name: String,
    /// How to address the guest, for example `Dr`.
    pub title: Option<String>,
    /// The guest's language.
    pub language: Option<String>,
    /// Whether the guest is a VIP (then `vip_note` is `Some`).
    pub vip: bool,
    /// Why the guest is a VIP.
    pub vip_note: Option<String>,
    /// The people staying with the guest, in order.
    pub companions: Vec<String>,
    /// The day of arrival, `YYYY-MM-DD`.
    pub arrival: Option<String>,
    /// The day of departure, `YYYY-MM-DD`.
    pub departure: Option<String>,
    /// The PIN of the room's services.
    pub pin: Option<String>,
    /// The room line's do-not-disturb and forwarding while the guest is in house; cleared at
    /// check-out.
    pub settings: LineSettings,
    /// When the stay was entered (booked or checked in), in unix milliseconds.
    pub created_at_ms: i64,
    /// When the guest checked in.
    pub checked_in_at_ms: Option<i64>,
    /// When the guest checked out.
    pub checked_out_at_ms: Option<i64>,
}

impl Stay {
    /// The guest as the desk addresses them: title and name (`Dr Li Wei`), or the name alone.
    #[must_use]
    pub fn full_name(&self) -> String {
        full_name(self.title.as_deref(), &self.name)
    }
}

/// One room move of a stay, as [`Store::stay_moves`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StayMove {
    /// The room the guest left.
    pub from_room: String,
    /// The room the guest moved to.
    pub to_room: String,
    /// When, in unix milliseconds.
    pub at_ms: i64,
    /// Who moved the guest (as in the log book).
    pub actor: String,
}

/// Expands to the column list of `stays`, in the order [`stay_from_row`] reads it.
macro_rules! stay_columns {
    () => {
        "id, room, state, name, title, language, vip, vip_note, companions, arrival, departure, \
         pin, dnd, forward_always, forward_busy, forward_no_answer, created_at_ms, \
         checked_in_at_ms, checked_out_at_ms"
    };
}
pub(crate) use stay_columns;

impl Store {
    /// Returns every stay in house, ordered by room.
    pub async fn stays_in_house(&self) -> Result<Vec<Stay>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            stay_columns!(),
            " FROM stays WHERE state = 'in_house' ORDER BY room"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("stays_in_house"))?;
        rows.iter().map(stay_from_row).collect()
    }

    /// Returns the expected stays: all of them, or those arriving on day `on` (`YYYY-MM-DD`);
    /// ordered by arrival, then room, then id.
    pub async fn stays_expected(&self, on: Option<&str>) -> Result<Vec<Stay>, StoreError> {
        let query = match on {
            Some(day) => sqlx::query(concat!(
                "SELECT ",
                stay_columns!(),
                " FROM stays WHERE state = 'expected' AND arrival = $1 ORDER BY arrival, room, id"
            ))
            .bind(t(day)),
            None => sqlx::query(concat!(
                "SELECT ",
                stay_columns!(),
                " FROM stays WHERE state = 'expected' ORDER BY arrival, room, id"
            )),
        };
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(query_failed("stays_expected"))?;
        rows.iter().map(stay_from_row).collect()
    }

    /// Returns the stay in house in `room`, or `None` when the room is vacant.
    pub async fn stay_in(&self, room: &str) -> Result<Option<Stay>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(query_failed("stay_in"))?;
        in_house(&mut conn, room)
            .await
            .map_err(query_failed("stay_in"))?
            .as_ref()
            .map(stay_from_row)
            .transpose()
    }

    /// Returns the stays in house and expected whose name, title, title and name together, room
    /// or a companion contains `text`, ignoring case; in house first (by room), then expected (by
    /// arrival, room, id). Empty `text` returns them all.
    ///
    /// `text` is matched literally (`%` and `_` are ordinary characters). Case is ignored by
    /// Unicode's lower-casing on both backends (`müller` finds `MÜLLER`): the comparison runs here
    /// rather than in SQL, whose `LOWER` and `LIKE` on SQLite fold only ASCII letters.
    pub async fn find_stays(&self, text: &str) -> Result<Vec<Stay>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            stay_columns!(),
            " FROM stays WHERE state = 'in_house' OR state = 'expected' \
             ORDER BY CASE WHEN state = 'in_house' THEN 0 ELSE 1 END, \
             CASE WHEN state = 'in_house' THEN room ELSE arrival END, room, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("find_stays"))?;
        let needle = t(text).to_lowercase();
        let mut found = Vec::new();
        for row in &rows {
            let stay = stay_from_row(row)?;
            let full_name = stay.full_name();
            let haystacks = [&stay.name, &stay.room, &full_name]
                .into_iter()
                .chain(stay.title.as_ref())
                .chain(&stay.companions);
            if haystacks
                .into_iter()
                .any(|h| h.to_lowercase().contains(&needle))
            {
                found.push(stay);
            }
        }
        Ok(found)
    }

    /// Returns the room moves of stay `stay_id`, oldest first; empty for a stay that never moved
    /// (or no such stay).
    pub async fn stay_moves(&self, stay_id: i64) -> Result<Vec<StayMove>, StoreError> {
        let op = "stay_moves";
        let rows = sqlx::query(
            "SELECT from_room, to_room, at_ms, actor FROM stay_moves WHERE stay_id = $1 \
             ORDER BY at_ms, id",
        )
        .bind(stay_id)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed(op))?;
        rows.iter()
            .map(|row| {
                Ok(StayMove {
                    from_room: row.try_get(0).map_err(query_failed(op))?,
                    to_room: row.try_get(1).map_err(query_failed(op))?,
                    at_ms: row.try_get(2).map_err(query_failed(op))?,
                    actor: row.try_get(3).map_err(query_failed(op))?,
                })
            })
            .collect()
    }
}

/// Reads the row of the stay in house in `room`, if any, on `conn`.
pub(crate) async fn in_house(
    conn: &mut AnyConnection,
    room: &str,
) -> Result<Option<AnyRow>, sqlx::Error> {
    sqlx::query(concat!(
        "SELECT ",
        stay_columns!(),
        " FROM stays WHERE room = $1 AND state = 'in_house'"
    ))
    .bind(t(room))
    .fetch_optional(&mut *conn)
    .await
}

/// Title and name as the desk says them: `Dr Li Wei`, or the name alone.
pub(crate) fn full_name(title: Option<&str>, name: &str) -> String {
    match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(title) => format!("{title} {name}"),
        None => name.to_owned(),
    }
}

/// Encodes companions for the `companions` column: one per line, `\` written `\\` and a newline
/// inside a name written `\n`; `None` (NULL) for no companions.
pub(crate) fn encode_companions(companions: &[String]) -> Option<String> {
    if companions.is_empty() {
        return None;
    }
    let escaped: Vec<String> = companions
        .iter()
        .map(|c| t(c).replace('\\', "\\\\").replace('\n', "\\n"))
        .collect();
    Some(escaped.join("\n"))
}

/// Decodes [`encode_companions`]; `None` for text that encoding never writes (a `\` followed by
/// anything but `\` or `n`).
pub(crate) fn decode_companions(text: Option<&str>) -> Option<Vec<String>> {
    let Some(text) = text else {
        return Some(Vec::new());
    };
    text.split('\n')
        .map(|line| {
            let mut name = String::with_capacity(line.len());
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next()? {
                        '\\' => name.push('\\'),
                        'n' => name.push('\n'),
                        _ => return None,
                    }
                } else {
                    name.push(c);
                }
            }
            Some(name)
        })
        .collect()
}

/// Reads one `stays` row selected with [`stay_columns!`].
pub(crate) fn stay_from_row(row: &AnyRow) -> Result<Stay, StoreError> {
    let op = "stays (decode row)";
    let state: String = row.try_get(2).map_err(query_failed(op))?;
    let vip: i64 = row.try_get(6).map_err(query_failed(op))?;
    let companions: Option<String> = row.try_get(8).map_err(query_failed(op))?;
    let dnd: i64 = row.try_get(12).map_err(query_failed(op))?;
    Ok(Stay {
        id: row.try_get(0).map_err(query_failed(op))?,
        room: row.try_get(1).map_err(query_failed(op))?,
        state: from_db(&state, "stays", "state")?,
        name: row.try_get(3).map_err(query_failed(op))?,
        title: row.try_get(4).map_err(query_failed(op))?,
        language: row.try_get(5).map_err(query_failed(op))?,
        vip: flag_from_db(vip, "stays", "vip")?,
        vip_note: row.try_get(7).map_err(query_failed(op))?,
        companions: decode_companions(companions.as_deref()).ok_or_else(|| {
            StoreError::Corrupt {
                table: "stays",
                column: "companions",
                expected: "one name per line, with `\\` escaped as `\\\\` and newlines as `\\n`",
                found: companions.clone().unwrap_or_default(),
            }
        })?,
        arrival: row.try_get(9).map_err(query_failed(op))?,
        departure: row.try_get(10).map_err(query_failed(op))?,
        pin: row.try_get(11).map_err(query_failed(op))?,
        settings: LineSettings {
            dnd: flag_from_db(dnd, "stays", "dnd")?,
            forwarding: Forwarding {
                always: row.try_get(13).map_err(query_failed(op))?,
                busy: row.try_get(14).map_err(query_failed(op))?,
                no_answer: row.try_get(15).map_err(query_failed(op))?,
            },
        },
        created_at_ms: row.try_get(16).map_err(query_failed(op))?,
        checked_in_at_ms: row.try_get(17).map_err(query_failed(op))?,
        checked_out_at_ms: row.try_get(18).map_err(query_failed(op))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companions_round_trip_through_their_encoding() {
        let cases: &[&[&str]] = &[
            &[],
            &[""],
            &["", ""],
            &["Mei Wei", "Jun Wei"],
            &["a\\nb", "c\nd", "\\", "\n", "e\\"],
        ];
        for case in cases {
            let names: Vec<String> = case.iter().map(|s| (*s).to_owned()).collect();
            let encoded = encode_companions(&names);
            assert_eq!(
                decode_companions(encoded.as_deref()).as_ref(),
                Some(&names),
                "{names:?} as {encoded:?}"
            );
        }
        assert_eq!(encode_companions(&[]), None);
        assert_eq!(decode_companions(Some("a\\x")), None);
        assert_eq!(decode_companions(Some("a\\")), None);
    }

    #[test]
    fn full_name_puts_the_title_first() {
        assert_eq!(full_name(Some("Dr"), "Li Wei"), "Dr Li Wei");
        assert_eq!(full_name(Some("  "), "Li Wei"), "Li Wei");
        assert_eq!(full_name(None, "Li Wei"), "Li Wei");
    }
}
