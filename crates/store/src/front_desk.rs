//! The front desk's changes to stays: check-in, expected arrival, check-out and room move.
//!
//! Each is one transaction that also writes its log-book entry (and, for a move, its `stay_moves`
//! row): a refusal or a failure leaves nothing behind. A room has at most one stay in house, which
//! the unique index `stays_in_house_room` enforces; when two desks check guests into one room at
//! once, one of them gets [`GuestError::RoomOccupied`].

use crate::error::query_failed;
use crate::logbook::{LogLine, commit_with_log};
use crate::stays::{NewStay, Stay, encode_companions, in_house, stay_columns, stay_from_row};
use crate::text::{opt_t, t};
use crate::{GuestError, LogKind, StayState, Store, StoreError};

impl Store {
    /// Checks a guest into `new.room` and returns the stay now in house, with a log-book entry.
    ///
    /// When the room has an expected stay whose name equals `new.name` ignoring case, that stay
    /// becomes the one in house (the one arriving on `new.arrival` if several match, else the
    /// earliest): the fields given in `new` replace its own (the name as given now; a `None`, or
    /// no companions, keeps what was booked). Otherwise a new stay is created.
    ///
    /// Refused with [`GuestError::RoomOccupied`] when the room has a guest in house, and with
    /// [`StoreError::Invalid`] for an empty room, a blank name, or a malformed date.
    pub async fn check_in(
        &self,
        new: &NewStay,
        actor: &str,
        now_ms: i64,
    ) -> Result<Stay, GuestError> {
        let op = "check_in";
        validate(new)?;
        let mut tx = self.begin_write().await.map_err(query_failed(op))?;
        if let Some(row) = in_house(&mut tx, &new.room)
            .await
            .map_err(query_failed(op))?
        {
            let stay = stay_from_row(&row)?;
            return Err(occupied(&stay));
        }
        let expected = sqlx::query(concat!(
            "SELECT ",
            stay_columns!(),
            " FROM stays WHERE room = $1 AND state = 'expected' ORDER BY id"
        ))
        .bind(t(&new.room))
        .fetch_all(&mut *tx)
        .await
        .map_err(query_failed(op))?;
        let mut booked = Vec::new();
        for row in &expected {
            let stay = stay_from_row(row)?;
            if stay.name.to_lowercase() == t(&new.name).to_lowercase() {
                booked.push(stay);
            }
        }
        // Arriving today (as the desk says) first, then the earliest arrival, then the oldest.
        booked.sort_by(|a, b| {
            (a.arrival != new.arrival, &a.arrival, a.id).cmp(&(
                b.arrival != new.arrival,
                &b.arrival,
                b.id,
            ))
        });
        let written = match booked.first() {
            Some(booked) => {
                let merged = merge(booked, new);
                validate(&merged)?;
                sqlx::query(concat!(
                    "UPDATE stays SET state = 'in_house', name = $2, title = $3, language = $4, \
                     vip = $5, vip_note = $6, companions = $7, arrival = $8, departure = $9, \
                     pin = $10, checked_in_at_ms = $11 WHERE id = $1 AND state = 'expected' \
                     RETURNING ",
                    stay_columns!()
                ))
                .bind(booked.id)
                .bind(t(&merged.name))
                .bind(opt_t(merged.title.as_deref()))
                .bind(opt_t(merged.language.as_deref()))
                .bind(i64::from(merged.vip_note.is_some()))
                .bind(opt_t(merged.vip_note.as_deref()))
                .bind(encode_companions(&merged.companions))
                .bind(opt_t(merged.arrival.as_deref()))
                .bind(opt_t(merged.departure.as_deref()))
                .bind(opt_t(merged.pin.as_deref()))
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await
            }
            None => insert_stay(new, StayState::InHouse, now_ms)
                .fetch_one(&mut *tx)
                .await
                .map(Some),
        };
        let row = match written {
            Ok(Some(row)) => row,
            // On PostgreSQL another desk checked a guest in between our look and our write (the
            // unique index refused ours, or the booked stay was no longer expected).
            Ok(None) => return Err(self.occupied_after_race(tx, &new.room, op).await),
            Err(e) if is_unique_violation(&e) => {
                return Err(self.occupied_after_race(tx, &new.room, op).await);
            }
            Err(e) => return Err(query_failed(op)(e).into()),
        };
        let stay = stay_from_row(&row)?;
        let mut detail = format!("{} checked in", stay.full_name());
        if let Some(note) = vip_text(&stay) {
            detail.push_str(&format!(" ({note})"));
        }
        if !booked.is_empty() {
            detail.push_str(", as expected");
        }
        commit_with_log(
            tx,
            LogLine {
                actor,
                kind: LogKind::CheckIn,
                subject: &stay.room,
                detail: &detail,
                at_ms: now_ms,
            },
            op,
        )
        .await?;
        Ok(stay)
    }

    /// Books a guest's arrival in `new.room` (state expected) and returns the stay, with a
    /// log-book entry. The room's guest in house, if any, is not touched.
    ///
    /// `new.arrival` is required: `None` is refused as [`StoreError::Invalid`], as are an empty
    /// room, a blank name and malformed dates.
    pub async fn expect_arrival(
        &self,
        new: &NewStay,
        actor: &str,
        now_ms: i64,
    ) -> Result<Stay, GuestError> {
        let op = "expect_arrival";
        validate(new)?;
        let Some(arrival) = new.arrival.as_deref() else {
            return Err(StoreError::Invalid {
                field: "NewStay.arrival",
                expected: "the day of arrival (YYYY-MM-DD) for an expected arrival",
                got: "none".to_owned(),
            }
            .into());
        };
        let mut tx = self.begin_write().await.map_err(query_failed(op))?;
        let row = insert_stay(new, StayState::Expected, now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(query_failed(op))?;
        let stay = stay_from_row(&row)?;
        let mut detail = format!("{} expected on {arrival}", stay.full_name());
        if let Some(note) = vip_text(&stay) {
            detail.push_str(&format!(" ({note})"));
        }
        commit_with_log(
            tx,
            LogLine {
                actor,
                kind: LogKind::Expect,
                subject: &stay.room,
                detail: &detail,
                at_ms: now_ms,
            },
            op,
        )
        .await?;
        Ok(stay)
    }

    /// Checks the guest in house in `room` out and returns the departed stay, with a log-book
    /// entry: do-not-disturb and forwarding of the room end with the stay.
    ///
    /// Refused with [`GuestError::RoomVacant`] when the room has no guest in house.
    pub async fn check_out(
        &self,
        room: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<Stay, GuestError> {
        let op = "check_out";
        let mut tx = self.begin_write().await.map_err(query_failed(op))?;
        let row = sqlx::query(concat!(
            "UPDATE stays SET state = 'departed', checked_out_at_ms = $2, dnd = 0, \
             forward_always = NULL, forward_busy = NULL, forward_no_answer = NULL, \
             messages_deleted = 0 WHERE room = $1 AND state = 'in_house' RETURNING ",
            stay_columns!()
        ))
        .bind(t(room))
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_failed(op))?;
        let Some(row) = row else {
            return Err(GuestError::RoomVacant { room: t(room) });
        };
        let stay = stay_from_row(&row)?;
        let detail = format!("{} checked out", stay.full_name());
        commit_with_log(
            tx,
            LogLine {
                actor,
                kind: LogKind::CheckOut,
                subject: &stay.room,
                detail: &detail,
                at_ms: now_ms,
            },
            op,
        )
        .await?;
        Ok(stay)
    }

    /// Moves the guest in house in room `from` to room `to`, with everything of the stay (VIP,
    /// companions, do-not-disturb, forwarding), and returns the stay; records the move in
    /// `stay_moves` (see [`Store::stay_moves`]) and the log book (subject: the new room).
    ///
    /// Refused with [`GuestError::RoomVacant`] when `from` has no guest in house,
    /// [`GuestError::RoomOccupied`] when `to` has one, and [`GuestError::SameRoom`] when they are
    /// the same room.
    pub async fn move_stay(
        &self,
        from: &str,
        to: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<Stay, GuestError> {
        let op = "move_stay";
        if t(from) == t(to) {
            return Err(GuestError::SameRoom { room: t(from) });
        }
        validate_room(to)?;
        let mut tx = self.begin_write().await.map_err(query_failed(op))?;
        let Some(row) = in_house(&mut tx, from).await.map_err(query_failed(op))? else {
            return Err(GuestError::RoomVacant { room: t(from) });
        };
        let moving = stay_from_row(&row)?;
        if let Some(row) = in_house(&mut tx, to).await.map_err(query_failed(op))? {
            return Err(occupied(&stay_from_row(&row)?));
        }
        let moved = sqlx::query(concat!(
            "UPDATE stays SET room = $2 WHERE id = $1 AND state = 'in_house' RETURNING ",
            stay_columns!()
        ))
        .bind(moving.id)
        .bind(t(to))
        .fetch_optional(&mut *tx)
        .await;
        let row = match moved {
            Ok(Some(row)) => row,
            // PostgreSQL: the guest checked out meanwhile, or someone checked into `to`.
            Ok(None) => return Err(GuestError::RoomVacant { room: t(from) }),
            Err(e) if is_unique_violation(&e) => {
                return Err(self.occupied_after_race(tx, to, op).await);
            }
            Err(e) => return Err(query_failed(op)(e).into()),
        };
        let stay = stay_from_row(&row)?;
        sqlx::query(
            "INSERT INTO stay_moves (stay_id, from_room, to_room, at_ms, actor) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(stay.id)
        .bind(&moving.room)
        .bind(&stay.room)
        .bind(now_ms)
        .bind(t(actor))
        .execute(&mut *tx)
        .await
        .map_err(query_failed(op))?;
        let detail = format!(
            "{} moved from {} to {}",
            stay.full_name(),
            moving.room,
            stay.room
        );
        commit_with_log(
            tx,
            LogLine {
                actor,
                kind: LogKind::Move,
                subject: &stay.room,
                detail: &detail,
                at_ms: now_ms,
            },
            op,
        )
        .await?;
        Ok(stay)
    }

    /// Rolls `tx` back after another desk took `room` first, and says who is in it now.
    async fn occupied_after_race(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Any>,
        room: &str,
        op: &'static str,
    ) -> GuestError {
        if let Err(e) = tx.rollback().await {
            return query_failed(op)(e).into();
        }
        match self.stay_in(room).await {
            Ok(Some(stay)) => occupied(&stay),
            Ok(None) => GuestError::RoomOccupied {
                room: t(room),
                guest: "another guest".to_owned(),
            },
            Err(e) => e.into(),
        }
    }
}

/// The refusal for a room that `stay` is in house in.
fn occupied(stay: &Stay) -> GuestError {
    GuestError::RoomOccupied {
        room: stay.room.clone(),
        guest: stay.full_name(),
    }
}

/// `VIP: note` (or `VIP`) for a VIP stay, for the log book.
fn vip_text(stay: &Stay) -> Option<String> {
    if !stay.vip {
        return None;
    }
    Some(match stay.vip_note.as_deref().map(str::trim) {
        Some(note) if !note.is_empty() => format!("VIP: {note}"),
        _ => "VIP".to_owned(),
    })
}

/// Whether `e` is the database refusing a duplicate in a unique index.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The booked stay with the fields the desk gave at check-in laid over it.
fn merge(booked: &Stay, new: &NewStay) -> NewStay {
    let pick = |given: &Option<String>, kept: &Option<String>| given.clone().or(kept.clone());
    NewStay {
        room: booked.room.clone(),
        name: new.name.clone(),
        title: pick(&new.title, &booked.title),
        language: pick(&new.language, &booked.language),
        vip_note: pick(&new.vip_note, &booked.vip_note),
        companions: if new.companions.is_empty() {
            booked.companions.clone()
        } else {
            new.companions.clone()
        },
        arrival: pick(&new.arrival, &booked.arrival),
        departure: pick(&new.departure, &booked.departure),
        pin: pick(&new.pin, &booked.pin),
    }
}

/// The statement that inserts `new` in `state`, returning the stay's columns.
fn insert_stay(
    new: &NewStay,
    state: StayState,
    now_ms: i64,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let checked_in_at_ms = (state == StayState::InHouse).then_some(now_ms);
    sqlx::query(concat!(
        "INSERT INTO stays (room, state, name, title, language, vip, vip_note, companions, \
         arrival, departure, pin, created_at_ms, checked_in_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ",
        stay_columns!()
    ))
    .bind(t(&new.room))
    .bind(state.as_str())
    .bind(t(&new.name))
    .bind(opt_t(new.title.as_deref()))
    .bind(opt_t(new.language.as_deref()))
    .bind(i64::from(new.vip_note.is_some()))
    .bind(opt_t(new.vip_note.as_deref()))
    .bind(encode_companions(&new.companions))
    .bind(opt_t(new.arrival.as_deref()))
    .bind(opt_t(new.departure.as_deref()))
    .bind(opt_t(new.pin.as_deref()))
    .bind(now_ms)
    .bind(checked_in_at_ms)
}

/// Checks what the store requires of a [`NewStay`]: a room, a name, well-formed dates in order.
fn validate(new: &NewStay) -> Result<(), StoreError> {
    validate_room(&new.room)?;
    if new.name.trim().is_empty() {
        return Err(StoreError::Invalid {
            field: "NewStay.name",
            expected: "the guest's name",
            got: format!("`{}`", new.name),
        });
    }
    for (field, day) in [
        ("NewStay.arrival", &new.arrival),
        ("NewStay.departure", &new.departure),
    ] {
        if let Some(day) = day
            && !is_date(day)
        {
            return Err(StoreError::Invalid {
                field,
                expected: "a day as YYYY-MM-DD",
                got: format!("`{day}`"),
            });
        }
    }
    if let (Some(arrival), Some(departure)) = (&new.arrival, &new.departure)
        && departure < arrival
    {
        return Err(StoreError::Invalid {
            field: "NewStay.departure",
            expected: "a day not before the arrival",
            got: format!("`{departure}` (arrival `{arrival}`)"),
        });
    }
    Ok(())
}

/// Checks that a room number is not empty.
fn validate_room(room: &str) -> Result<(), StoreError> {
    if room.trim().is_empty() {
        return Err(StoreError::Invalid {
            field: "room",
            expected: "a room number",
            got: format!("`{room}`"),
        });
    }
    Ok(())
}

/// Whether `s` is a day as `YYYY-MM-DD` (month 01–12, day 01–31; the calendar is the caller's).
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) {
        return false;
    }
    if !digits(8..10) {
        return false;
    }
    let two = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
    (1..=12).contains(&two(5)) && (1..=31).contains(&two(8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stays::full_name;

    #[test]
    fn dates_are_checked_for_shape() {
        for good in ["2025-11-27", "2024-02-29", "0001-01-01", "9999-12-31"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "",
            "2025-1-27",
            "2025-13-01",
            "2025-00-10",
            "2025-11-32",
            "2025-11-00",
            "25-11-2025",
            "2025/11/27",
            "2025-11-27 ",
            "２０２５-11-27",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn check_in_fields_lay_over_the_booking() {
        let booked = Stay {
            id: 1,
            room: "8112".into(),
            state: StayState::Expected,
            name: "li wei".into(),
            title: Some("Dr".into()),
            language: Some("zh".into()),
            vip: true,
            vip_note: Some("honeymoon".into()),
            companions: vec!["Mei Wei".into()],
            arrival: Some("2025-11-27".into()),
            departure: Some("2025-11-30".into()),
            pin: None,
            settings: crate::LineSettings::default(),
            created_at_ms: 0,
            checked_in_at_ms: None,
            checked_out_at_ms: None,
        };
        let given = NewStay {
            room: "8112".into(),
            name: "Li Wei".into(),
            departure: Some("2025-12-01".into()),
            pin: Some("1234".into()),
            ..NewStay::default()
        };
        let merged = merge(&booked, &given);
        assert_eq!(merged.name, "Li Wei");
        assert_eq!(merged.title.as_deref(), Some("Dr"));
        assert_eq!(merged.vip_note.as_deref(), Some("honeymoon"));
        assert_eq!(merged.companions, vec!["Mei Wei".to_owned()]);
        assert_eq!(merged.arrival.as_deref(), Some("2025-11-27"));
        assert_eq!(merged.departure.as_deref(), Some("2025-12-01"));
        assert_eq!(merged.pin.as_deref(), Some("1234"));
        assert_eq!(
            full_name(merged.title.as_deref(), &merged.name),
            "Dr Li Wei"
        );
    }
}
