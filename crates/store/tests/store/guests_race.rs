//! Two desks checking guests into one room at the same time: exactly one stay lands, the other
//! desk is told the room is occupied, and nothing of the refused check-in is written.

use sqlx::{Connection, Executor};
use store::{GuestError, LogKind, StayState};

use crate::fixtures::{T0, count, guest};
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(
    concurrent_check_ins_land_exactly_one_stay,
    a_check_in_racing_an_uncommitted_one_is_refused,
);

async fn concurrent_check_ins_land_exactly_one_stay(db: &TestDb) {
    // Two nodes, each with its own pool, as two servers on one database.
    let (a, b) = (db.open().await, db.open().await);
    let rooms: Vec<String> = (0..12).map(|i| format!("81{i:02}")).collect();
    for room in &rooms {
        let (ga, gb, gc, gd) = (
            guest(room, "Guest A"),
            guest(room, "Guest B"),
            guest(room, "Guest C"),
            guest(room, "Guest D"),
        );
        let results = tokio::join!(
            a.check_in(&ga, "desk-a", T0),
            b.check_in(&gb, "desk-b", T0),
            a.check_in(&gc, "desk-a", T0),
            b.check_in(&gd, "desk-b", T0),
        );
        let results = [results.0, results.1, results.2, results.3];
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "room {room}: {results:?}");
        let winner = winners[0];
        for r in &results {
            if let Err(e) = r {
                assert!(
                    matches!(e, GuestError::RoomOccupied { room: r, guest } if r == room && *guest == winner.name),
                    "room {room}: {e:?}"
                );
            }
        }
        assert_eq!(a.stay_in(room).await.unwrap().as_ref(), Some(winner));
    }
    let in_house = a.stays_in_house().await.unwrap();
    assert_eq!(in_house.len(), rooms.len());
    assert!(in_house.iter().all(|s| s.state == StayState::InHouse));
    assert_eq!(count(db, "stays").await, 12, "no refused stay was written");
    let log = a.logbook(0, 1_000).await.unwrap();
    assert_eq!(log.len(), 12, "one log entry per room");
    assert!(log.iter().all(|e| e.kind == LogKind::CheckIn));
}

async fn a_check_in_racing_an_uncommitted_one_is_refused(db: &TestDb) {
    let store = db.open().await;
    // Another writer has put a guest into 8112 but not committed yet.
    let mut other = sqlx::AnyConnection::connect(db.url()).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    tx.execute(
        "INSERT INTO stays (room, state, name, title, created_at_ms, checked_in_at_ms) \
         VALUES ('8112', 'in_house', 'Li Wei', 'Dr', 0, 0)",
    )
    .await
    .unwrap();
    let commit_later = async move {
        // Let the check-in get as far as it can (on PostgreSQL it waits on the unique index, on
        // SQLite for the write lock) before the other writer commits.
        tokio::task::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(300)))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    };
    let bo = guest("8112", "Bo Chen");
    let (result, ()) = tokio::join!(store.check_in(&bo, "cli", T0), commit_later);
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "room 8112 is occupied by Dr Li Wei");
    assert_eq!(count(db, "stays").await, 1);
    assert_eq!(count(db, "logbook").await, 0);
    other.close().await.unwrap();
}
