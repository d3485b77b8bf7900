//! Hotel stays: check-in and check-out, expected arrivals, refusals that write nothing, room moves,
//! finding guests, and the log book each change writes.

use store::{ForwardKind, GuestError, Line, NewStay, Stay, StayMove, StayState, Store, StoreError};

use crate::fixtures::{T0, count, guest, li_wei};
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(
    check_in_then_check_out,
    expected_arrival_converts_at_check_in,
    expected_arrival_needs_a_well_formed_day,
    refusals_write_nothing,
    move_carries_the_whole_stay_and_is_recorded,
    find_stays_ignores_case_and_takes_wildcards_literally,
    stays_survive_a_reopen,
);

/// The number of rows of every hotel table: stays, stay_moves, line_settings, logbook.
async fn rows(db: &TestDb) -> [i64; 4] {
    [
        count(db, "stays").await,
        count(db, "stay_moves").await,
        count(db, "line_settings").await,
        count(db, "logbook").await,
    ]
}

async fn check_in_then_check_out(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.stay_in("8112").await.unwrap(), None);
    let stay = store.check_in(&li_wei("8112"), "cli", T0).await.unwrap();
    assert_eq!(stay.room, "8112");
    assert_eq!(stay.state, StayState::InHouse);
    assert_eq!(stay.full_name(), "Dr Li Wei");
    assert!(stay.vip);
    assert_eq!(stay.vip_note.as_deref(), Some("honeymoon"));
    assert_eq!(stay.companions, vec!["Mei Wei".to_owned()]);
    assert_eq!(stay.language.as_deref(), Some("zh"));
    assert_eq!(stay.pin.as_deref(), Some("4711"));
    assert_eq!(
        (
            stay.created_at_ms,
            stay.checked_in_at_ms,
            stay.checked_out_at_ms
        ),
        (T0, Some(T0), None)
    );
    assert_eq!(stay.settings, store::LineSettings::default());
    assert_eq!(store.stay_in("8112").await.unwrap(), Some(stay.clone()));
    let plain = store
        .check_in(&guest("8101", "Ann Smith"), "cli", T0 + 1)
        .await
        .unwrap();
    assert!(!plain.vip && plain.companions.is_empty() && plain.title.is_none());
    let rooms: Vec<String> = store
        .stays_in_house()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.room)
        .collect();
    assert_eq!(rooms, ["8101", "8112"], "ordered by room");

    store
        .set_dnd(Line::Room("8112"), true, "8112", T0 + 2)
        .await
        .unwrap();
    store
        .set_forward(
            Line::Room("8112"),
            ForwardKind::NoAnswer,
            Some("200"),
            "8112",
            T0 + 3,
        )
        .await
        .unwrap();
    let out = store.check_out("8112", "cli", T0 + 10).await.unwrap();
    assert_eq!(out.id, stay.id);
    assert_eq!(out.state, StayState::Departed);
    assert_eq!(out.checked_out_at_ms, Some(T0 + 10));
    assert_eq!(
        out.settings,
        store::LineSettings::default(),
        "do-not-disturb and forwarding end with the stay"
    );
    assert!(out.vip, "the stay's history is kept");
    assert_eq!(store.stay_in("8112").await.unwrap(), None);
    assert_eq!(store.stays_in_house().await.unwrap(), vec![plain]);

    // The room takes its next guest, who starts with clean settings.
    let next = store
        .check_in(&guest("8112", "Bo Chen"), "cli", T0 + 20)
        .await
        .unwrap();
    assert!(next.id > stay.id);
    assert_eq!(next.settings, store::LineSettings::default());
    assert_eq!(count(db, "stays").await, 3, "the departed stay is kept");
}

async fn expected_arrival_converts_at_check_in(db: &TestDb) {
    let store = db.open().await;
    let booked = store
        .expect_arrival(&li_wei("8112"), "api:frontdesk", T0)
        .await
        .unwrap();
    assert_eq!(booked.state, StayState::Expected);
    assert_eq!(booked.checked_in_at_ms, None);
    let other_guest = store
        .expect_arrival(
            &NewStay {
                arrival: Some("2025-11-27".into()),
                ..guest("8112", "Someone Else")
            },
            "api:frontdesk",
            T0,
        )
        .await
        .unwrap();
    let later = store
        .expect_arrival(
            &NewStay {
                arrival: Some("2025-12-24".into()),
                ..guest("8114", "Ann Smith")
            },
            "api:frontdesk",
            T0,
        )
        .await
        .unwrap();
    let ids = |stays: Vec<Stay>| stays.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.stays_expected(None).await.unwrap()),
        [booked.id, other_guest.id, later.id],
        "by arrival, then room, then id"
    );
    assert_eq!(
        ids(store.stays_expected(Some("2025-12-24")).await.unwrap()),
        [later.id]
    );
    assert!(
        store
            .stays_expected(Some("2025-11-28"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.stay_in("8112").await.unwrap(),
        None,
        "expected is not in house"
    );

    // The desk types the name in other case and adds a departure and a language.
    let arrived = NewStay {
        departure: Some("2025-12-01".into()),
        language: Some("en".into()),
        ..guest("8112", "LI WEI")
    };
    let stay = store.check_in(&arrived, "cli", T0 + 5).await.unwrap();
    assert_eq!(stay.id, booked.id, "the booking became the stay");
    assert_eq!(stay.state, StayState::InHouse);
    assert_eq!(stay.name, "LI WEI", "the name as given at check-in");
    assert_eq!(stay.title.as_deref(), Some("Dr"), "kept from the booking");
    assert_eq!(stay.vip_note.as_deref(), Some("honeymoon"));
    assert_eq!(stay.companions, vec!["Mei Wei".to_owned()]);
    assert_eq!(stay.arrival.as_deref(), Some("2025-11-27"));
    assert_eq!(stay.departure.as_deref(), Some("2025-12-01"), "given wins");
    assert_eq!(stay.language.as_deref(), Some("en"));
    assert_eq!(
        (stay.created_at_ms, stay.checked_in_at_ms),
        (T0, Some(T0 + 5))
    );
    assert_eq!(
        ids(store.stays_expected(None).await.unwrap()),
        [other_guest.id, later.id],
        "the other booking of the room stays expected"
    );
    assert_eq!(count(db, "stays").await, 3);

    // A booking for a room with a guest in house is still taken (the guest leaves first).
    store
        .expect_arrival(
            &NewStay {
                arrival: Some("2025-12-02".into()),
                ..guest("8112", "Next Guest")
            },
            "cli",
            T0 + 6,
        )
        .await
        .unwrap();
    assert_eq!(store.stay_in("8112").await.unwrap().unwrap().id, booked.id);
}

async fn expected_arrival_needs_a_well_formed_day(db: &TestDb) {
    let store = db.open().await;
    let before = rows(db).await;
    let err = store
        .expect_arrival(&guest("8112", "Li Wei"), "cli", T0)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GuestError::Store(StoreError::Invalid {
                field: "NewStay.arrival",
                ..
            })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
    for (arrival, departure) in [
        ("27.11.2025", None),
        ("2025-11-27", Some("2025-11-26")),
        ("2025-11-27", Some("soon")),
    ] {
        let new = NewStay {
            arrival: Some(arrival.into()),
            departure: departure.map(str::to_owned),
            ..guest("8112", "Li Wei")
        };
        let err = store.expect_arrival(&new, "cli", T0).await.unwrap_err();
        assert!(
            matches!(err, GuestError::Store(StoreError::Invalid { .. })),
            "{err:?}"
        );
        let err = store.check_in(&new, "cli", T0).await.unwrap_err();
        assert!(
            matches!(err, GuestError::Store(StoreError::Invalid { .. })),
            "{err:?}"
        );
    }
    for bad in [guest("", "Li Wei"), guest("8112", "  ")] {
        let err = store.check_in(&bad, "cli", T0).await.unwrap_err();
        assert!(
            matches!(err, GuestError::Store(StoreError::Invalid { .. })),
            "{err:?}"
        );
    }
    assert_eq!(rows(db).await, before, "nothing written");
}

async fn refusals_write_nothing(db: &TestDb) {
    let store = db.open().await;
    store.check_in(&li_wei("8112"), "cli", T0).await.unwrap();
    store
        .check_in(&guest("8114", "Ann Smith"), "cli", T0)
        .await
        .unwrap();
    let before = rows(db).await;
    let occupant = store.stay_in("8112").await.unwrap();

    let err = store
        .check_in(&guest("8112", "Bo Chen"), "cli", T0 + 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GuestError::RoomOccupied { room, guest } if room == "8112" && guest == "Dr Li Wei"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "room 8112 is occupied by Dr Li Wei");

    let err = store.check_out("8120", "cli", T0 + 1).await.unwrap_err();
    assert!(
        matches!(&err, GuestError::RoomVacant { room } if room == "8120"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "room 8120 is vacant: no guest is checked in there"
    );

    let err = store
        .move_stay("8120", "8130", "cli", T0 + 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GuestError::RoomVacant { room } if room == "8120"),
        "{err:?}"
    );
    let err = store
        .move_stay("8112", "8114", "cli", T0 + 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GuestError::RoomOccupied { room, guest } if room == "8114" && guest == "Ann Smith"),
        "{err:?}"
    );
    let err = store
        .move_stay("8112", "8112", "cli", T0 + 1)
        .await
        .unwrap_err();
    assert!(matches!(&err, GuestError::SameRoom { .. }), "{err:?}");

    let err = store
        .set_dnd(Line::Room("8120"), true, "cli", T0 + 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GuestError::RoomVacant { room } if room == "8120"),
        "{err:?}"
    );
    let err = store
        .set_forward(
            Line::Room("8120"),
            ForwardKind::Busy,
            Some("200"),
            "cli",
            T0 + 1,
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, GuestError::RoomVacant { .. }), "{err:?}");

    assert_eq!(rows(db).await, before, "no refusal wrote a row");
    assert_eq!(store.stay_in("8112").await.unwrap(), occupant);
    assert_eq!(store.stay_in("8120").await.unwrap(), None);
}

async fn move_carries_the_whole_stay_and_is_recorded(db: &TestDb) {
    let store = db.open().await;
    let stay = store.check_in(&li_wei("8112"), "cli", T0).await.unwrap();
    store
        .set_dnd(Line::Room("8112"), true, "8112", T0 + 1)
        .await
        .unwrap();
    for (kind, target) in [
        (ForwardKind::Always, "8200"),
        (ForwardKind::Busy, "8201"),
        (ForwardKind::NoAnswer, "8202"),
    ] {
        store
            .set_forward(Line::Room("8112"), kind, Some(target), "8112", T0 + 2)
            .await
            .unwrap();
    }
    let before = store.stay_in("8112").await.unwrap().unwrap();
    let moved = store
        .move_stay("8112", "8114", "api:frontdesk", T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        moved,
        Stay {
            room: "8114".into(),
            ..before.clone()
        },
        "only the room changed"
    );
    assert!(moved.settings.dnd && moved.vip);
    assert_eq!(
        moved.settings.forwarding.get(ForwardKind::NoAnswer),
        Some("8202")
    );
    assert_eq!(store.stay_in("8112").await.unwrap(), None);
    assert_eq!(store.stay_in("8114").await.unwrap(), Some(moved.clone()));

    // The old room takes a new guest, who does not inherit anything.
    let newcomer = store
        .check_in(&guest("8112", "Bo Chen"), "cli", T0 + 11)
        .await
        .unwrap();
    assert_eq!(newcomer.settings, store::LineSettings::default());

    store
        .move_stay("8114", "9001", "cli", T0 + 20)
        .await
        .unwrap();
    assert_eq!(
        store.stay_moves(stay.id).await.unwrap(),
        vec![
            StayMove {
                from_room: "8112".into(),
                to_room: "8114".into(),
                at_ms: T0 + 10,
                actor: "api:frontdesk".into(),
            },
            StayMove {
                from_room: "8114".into(),
                to_room: "9001".into(),
                at_ms: T0 + 20,
                actor: "cli".into(),
            },
        ]
    );
    assert!(store.stay_moves(newcomer.id).await.unwrap().is_empty());
    let out = store.check_out("9001", "cli", T0 + 30).await.unwrap();
    assert_eq!(out.id, stay.id);
}

async fn find_stays_ignores_case_and_takes_wildcards_literally(db: &TestDb) {
    let store = db.open().await;
    let li = store.check_in(&li_wei("8112"), "cli", T0).await.unwrap();
    let percent = store
        .check_in(&guest("8101", "100% Pure Tours"), "cli", T0)
        .await
        .unwrap();
    let underscore = store
        .check_in(&guest("8102", "a_b Holdings"), "cli", T0)
        .await
        .unwrap();
    let mueller = store
        .expect_arrival(
            &NewStay {
                arrival: Some("2025-11-28".into()),
                companions: vec!["Jürgen MÜLLER".into()],
                ..guest("8103", "Ödön Weiß")
            },
            "cli",
            T0,
        )
        .await
        .unwrap();
    let gone = store
        .check_in(&guest("8104", "Li Gone"), "cli", T0)
        .await
        .unwrap();
    store.check_out("8104", "cli", T0 + 1).await.unwrap();

    let find = |text: &'static str| {
        let store: Store = store.clone();
        async move {
            store
                .find_stays(text)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("li wei").await, [li.id], "case-insensitive name");
    assert_eq!(find("dr li").await, [li.id], "title and name together");
    assert_eq!(find("DR").await, [li.id], "the title");
    assert_eq!(find("mei").await, [li.id], "a companion");
    assert_eq!(find("811").await, [li.id], "the room");
    assert_eq!(find("li").await, [li.id], "departed stays are not found");
    assert_eq!(find("%").await, [percent.id], "% is literal");
    assert_eq!(find("0% p").await, [percent.id]);
    assert_eq!(find("_").await, [underscore.id], "_ is literal");
    assert_eq!(find("a_b").await, [underscore.id]);
    assert_eq!(find("ab").await, Vec::<i64>::new());
    assert_eq!(find("müller").await, [mueller.id], "Unicode case");
    assert_eq!(find("ÖDÖN").await, [mueller.id]);
    assert!(find("nobody").await.is_empty());
    assert_eq!(
        find("").await,
        [percent.id, underscore.id, li.id, mueller.id],
        "in house first by room, then expected"
    );
    assert!(gone.id > 0);
}

async fn stays_survive_a_reopen(db: &TestDb) {
    let store = db.open().await;
    store.check_in(&li_wei("8112"), "cli", T0).await.unwrap();
    store
        .set_forward(
            Line::Room("8112"),
            ForwardKind::Always,
            Some("0"),
            "cli",
            T0 + 1,
        )
        .await
        .unwrap();
    store
        .set_dnd(Line::Extension("201"), true, "201", T0 + 2)
        .await
        .unwrap();
    let in_house = store.stays_in_house().await.unwrap();
    let lines = store.line_settings().await.unwrap();
    let log = store.logbook(0, 100).await.unwrap();
    store.close().await;
    drop(store);

    let reopened = db.open().await;
    assert_eq!(reopened.stays_in_house().await.unwrap(), in_house);
    assert_eq!(reopened.line_settings().await.unwrap(), lines);
    assert_eq!(reopened.logbook(0, 100).await.unwrap(), log);
}
