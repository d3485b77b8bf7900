//! Line settings: an extension's do-not-disturb and forwarding are kept by number (upserted), a
//! room's belong to its guest and are not listed with the extensions.

use store::{ForwardKind, Forwarding, GuestError, Line, LineSettings, StoreError};

use crate::fixtures::{T0, count, guest};
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(
    extension_settings_are_upserted_and_listed,
    forward_targets_are_checked,
);

async fn extension_settings_are_upserted_and_listed(db: &TestDb) {
    let store = db.open().await;
    assert!(store.line_settings().await.unwrap().is_empty());
    let on = store
        .set_dnd(Line::Extension("201"), true, "201", T0)
        .await
        .unwrap();
    assert_eq!(
        on,
        LineSettings {
            dnd: true,
            forwarding: Forwarding::default()
        }
    );
    let busy = store
        .set_forward(
            Line::Extension("201"),
            ForwardKind::Busy,
            Some("0"),
            "cli",
            T0 + 1,
        )
        .await
        .unwrap();
    assert!(busy.dnd, "setting forwarding keeps do-not-disturb");
    assert_eq!(busy.forwarding.get(ForwardKind::Busy), Some("0"));
    store
        .set_forward(
            Line::Extension("300"),
            ForwardKind::NoAnswer,
            Some("301"),
            "cli",
            T0 + 2,
        )
        .await
        .unwrap();
    // A room's settings are its guest's, not an extension's.
    store
        .check_in(&guest("8112", "Li Wei"), "cli", T0)
        .await
        .unwrap();
    store
        .set_dnd(Line::Room("8112"), true, "8112", T0 + 3)
        .await
        .unwrap();
    let numbers =
        |list: Vec<(String, LineSettings)>| list.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(
        numbers(store.line_settings().await.unwrap()),
        ["201", "300"]
    );
    assert_eq!(count(db, "line_settings").await, 2, "one row per number");

    let off = store
        .set_dnd(Line::Extension("201"), false, "201", T0 + 4)
        .await
        .unwrap();
    assert!(!off.dnd);
    assert_eq!(off.forwarding.get(ForwardKind::Busy), Some("0"));
    assert_eq!(
        store.line_settings().await.unwrap()[0],
        ("201".to_owned(), off),
        "still listed for its forwarding"
    );
    let cleared = store
        .set_forward(
            Line::Extension("201"),
            ForwardKind::Busy,
            None,
            "201",
            T0 + 5,
        )
        .await
        .unwrap();
    assert_eq!(cleared, LineSettings::default());
    assert_eq!(
        numbers(store.line_settings().await.unwrap()),
        ["300"],
        "a line with nothing set is not listed"
    );
    assert_eq!(count(db, "line_settings").await, 2);
}

async fn forward_targets_are_checked(db: &TestDb) {
    let store = db.open().await;
    store
        .check_in(&guest("8112", "Li Wei"), "cli", T0)
        .await
        .unwrap();
    let before = count(db, "logbook").await;
    for (line, target) in [
        (Line::Extension("201"), ""),
        (Line::Extension("201"), " "),
        (Line::Extension("201"), "201"),
        (Line::Room("8112"), "8112"),
    ] {
        let err = store
            .set_forward(line, ForwardKind::Always, Some(target), "cli", T0)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                GuestError::Store(StoreError::Invalid {
                    field: "target",
                    ..
                })
            ),
            "{line:?} to {target:?}: {err:?}"
        );
    }
    assert_eq!(count(db, "logbook").await, before);
    assert_eq!(count(db, "line_settings").await, 0);
    let stay = store.stay_in("8112").await.unwrap().unwrap();
    assert_eq!(stay.settings, LineSettings::default());
}
