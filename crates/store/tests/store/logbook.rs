//! The log book: every front-desk change writes exactly one entry, in words, in its transaction;
//! other components add theirs with `Store::log`.

use store::{ForwardKind, Line, LogKind};

use crate::fixtures::{T0, guest, li_wei};
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(every_change_writes_one_log_entry);

async fn every_change_writes_one_log_entry(db: &TestDb) {
    let store = db.open().await;
    store
        .expect_arrival(&li_wei("8112"), "api:frontdesk", T0)
        .await
        .unwrap();
    store
        .check_in(&guest("8112", "li wei"), "cli", T0 + 1)
        .await
        .unwrap();
    store
        .set_dnd(Line::Room("8112"), true, "8112", T0 + 2)
        .await
        .unwrap();
    store
        .set_forward(
            Line::Room("8112"),
            ForwardKind::Busy,
            Some("200"),
            "8112",
            T0 + 3,
        )
        .await
        .unwrap();
    store
        .set_forward(Line::Room("8112"), ForwardKind::Busy, None, "8112", T0 + 4)
        .await
        .unwrap();
    store
        .move_stay("8112", "8114", "api:frontdesk", T0 + 5)
        .await
        .unwrap();
    store
        .set_dnd(Line::Extension("201"), true, "201", T0 + 6)
        .await
        .unwrap();
    store
        .set_forward(
            Line::Extension("201"),
            ForwardKind::Always,
            Some("0"),
            "201",
            T0 + 7,
        )
        .await
        .unwrap();
    store.check_out("8114", "cli", T0 + 8).await.unwrap();
    let id = store
        .log(
            "cli",
            LogKind::NumberChange,
            "8114",
            "8114 now rings 9114",
            T0 + 9,
        )
        .await
        .unwrap();

    let entries = store.logbook(T0, 100).await.unwrap();
    let got: Vec<(i64, &str, LogKind, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e.at_ms - T0,
                e.actor.as_str(),
                e.kind,
                e.subject.as_str(),
                e.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                "api:frontdesk",
                LogKind::Expect,
                "8112",
                "Dr Li Wei expected on 2025-11-27 (VIP: honeymoon)"
            ),
            (
                1,
                "cli",
                LogKind::CheckIn,
                "8112",
                "Dr li wei checked in (VIP: honeymoon), as expected"
            ),
            (
                2,
                "8112",
                LogKind::Dnd,
                "8112",
                "do not disturb on for Dr li wei"
            ),
            (
                3,
                "8112",
                LogKind::Forward,
                "8112",
                "forward calls when busy to 200 for Dr li wei"
            ),
            (
                4,
                "8112",
                LogKind::Forward,
                "8112",
                "stop forwarding calls when busy for Dr li wei"
            ),
            (
                5,
                "api:frontdesk",
                LogKind::Move,
                "8114",
                "Dr li wei moved from 8112 to 8114"
            ),
            (6, "201", LogKind::Dnd, "201", "do not disturb on"),
            (7, "201", LogKind::Forward, "201", "forward all calls to 0"),
            (8, "cli", LogKind::CheckOut, "8114", "Dr li wei checked out"),
            (
                9,
                "cli",
                LogKind::NumberChange,
                "8114",
                "8114 now rings 9114"
            ),
        ]
    );
    assert_eq!(entries.last().unwrap().id, id);
    assert!(entries.windows(2).all(|w| w[0].id < w[1].id));
    let since: Vec<i64> = store
        .logbook(T0 + 5, 2)
        .await
        .unwrap()
        .iter()
        .map(|e| e.at_ms - T0)
        .collect();
    assert_eq!(since, [5, 6], "from since_ms, oldest first, at most limit");
    assert!(store.logbook(T0 + 10, 100).await.unwrap().is_empty());
}
