//! The operator shift log.

use store::{OperatorChangeKind, OperatorEventRecord};

use crate::fixtures::T0;
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(
    shift_log_filters_orders_and_limits,
    latest_event_per_operator_among_kinds,
);

async fn shift_log_filters_orders_and_limits(db: &TestDb) {
    let store = db.open().await;
    let entries = [
        ("op1", OperatorChangeKind::Login, "192.0.2.21:5060", T0),
        (
            "op2",
            OperatorChangeKind::Login,
            "192.0.2.22:5060",
            T0 + 1_000,
        ),
        (
            "op1",
            OperatorChangeKind::Pause,
            "192.0.2.21:5060",
            T0 + 2_000,
        ),
        (
            "op1",
            OperatorChangeKind::Unpause,
            "192.0.2.21:5060",
            T0 + 3_000,
        ),
        ("op2", OperatorChangeKind::Logout, "system", T0 + 4_000),
    ];
    let mut ids = Vec::new();
    for (op, event, source, at) in entries {
        ids.push(
            store
                .log_operator_event(op, event, source, at)
                .await
                .unwrap(),
        );
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    let op1 = store.operator_events(Some("op1"), 10).await.unwrap();
    assert_eq!(
        op1,
        vec![
            OperatorEventRecord {
                id: ids[3],
                operator: "op1".into(),
                event: OperatorChangeKind::Unpause,
                source: "192.0.2.21:5060".into(),
                at_ms: T0 + 3_000,
            },
            OperatorEventRecord {
                id: ids[2],
                operator: "op1".into(),
                event: OperatorChangeKind::Pause,
                source: "192.0.2.21:5060".into(),
                at_ms: T0 + 2_000,
            },
            OperatorEventRecord {
                id: ids[0],
                operator: "op1".into(),
                event: OperatorChangeKind::Login,
                source: "192.0.2.21:5060".into(),
                at_ms: T0,
            },
        ]
    );
    let all: Vec<(String, OperatorChangeKind)> = store
        .operator_events(None, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.operator, e.event))
        .collect();
    assert_eq!(
        all,
        vec![
            ("op2".into(), OperatorChangeKind::Logout),
            ("op1".into(), OperatorChangeKind::Unpause)
        ]
    );
    assert_eq!(store.operator_events(None, 100).await.unwrap().len(), 5);
    assert!(
        store
            .operator_events(Some("op9"), 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Each operator's latest entry among the asked kinds: later `at_ms` wins, then the higher id for
/// entries at the same instant; kinds not asked for are skipped, and no kinds means all of them.
async fn latest_event_per_operator_among_kinds(db: &TestDb) {
    let store = db.open().await;
    assert!(store.latest_operator_events(&[]).await.unwrap().is_empty());
    let entries = [
        ("op1", OperatorChangeKind::Login, T0),
        ("op1", OperatorChangeKind::Pause, T0 + 1_000),
        // op1's phone registers another contact while paused: a login, which does not unpause.
        ("op1", OperatorChangeKind::Login, T0 + 2_000),
        ("op2", OperatorChangeKind::Login, T0),
        ("op2", OperatorChangeKind::Pause, T0 + 1_000),
        ("op2", OperatorChangeKind::Unpause, T0 + 3_000),
        // Two entries at the same instant: the later id counts as later.
        ("op3", OperatorChangeKind::Pause, T0 + 5_000),
        ("op3", OperatorChangeKind::Logout, T0 + 5_000),
        // Out of order: inserted last but older.
        ("op4", OperatorChangeKind::Pause, T0 + 9_000),
        ("op4", OperatorChangeKind::Unpause, T0 + 8_000),
        ("op5", OperatorChangeKind::Login, T0),
    ];
    let mut ids = Vec::new();
    for (op, event, at) in entries {
        ids.push(
            store
                .log_operator_event(op, event, "192.0.2.21:5060", at)
                .await
                .unwrap(),
        );
    }
    let latest = |v: Vec<OperatorEventRecord>| -> Vec<(String, OperatorChangeKind, i64)> {
        v.into_iter().map(|e| (e.operator, e.event, e.id)).collect()
    };
    let shift = [
        OperatorChangeKind::Pause,
        OperatorChangeKind::Unpause,
        OperatorChangeKind::Logout,
    ];
    assert_eq!(
        latest(store.latest_operator_events(&shift).await.unwrap()),
        vec![
            ("op1".into(), OperatorChangeKind::Pause, ids[1]),
            ("op2".into(), OperatorChangeKind::Unpause, ids[5]),
            ("op3".into(), OperatorChangeKind::Logout, ids[7]),
            ("op4".into(), OperatorChangeKind::Pause, ids[8]),
        ],
        "op5 has no entry of these kinds"
    );
    assert_eq!(
        latest(store.latest_operator_events(&[]).await.unwrap()),
        vec![
            ("op1".into(), OperatorChangeKind::Login, ids[2]),
            ("op2".into(), OperatorChangeKind::Unpause, ids[5]),
            ("op3".into(), OperatorChangeKind::Logout, ids[7]),
            ("op4".into(), OperatorChangeKind::Pause, ids[8]),
            ("op5".into(), OperatorChangeKind::Login, ids[10]),
        ]
    );
    // Repeated kinds are the same as naming each once.
    assert_eq!(
        latest(
            store
                .latest_operator_events(&[
                    OperatorChangeKind::Login,
                    OperatorChangeKind::Login,
                    OperatorChangeKind::Login,
                    OperatorChangeKind::Login,
                    OperatorChangeKind::Unpause,
                ])
                .await
                .unwrap()
        ),
        vec![
            ("op1".into(), OperatorChangeKind::Login, ids[2]),
            ("op2".into(), OperatorChangeKind::Unpause, ids[5]),
            ("op4".into(), OperatorChangeKind::Unpause, ids[9]),
            ("op5".into(), OperatorChangeKind::Login, ids[10]),
        ]
    );
}
