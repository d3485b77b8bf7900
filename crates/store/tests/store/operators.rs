//! The operator shift log.

use store::{OperatorEvent, OperatorEventRecord};

use crate::fixtures::T0;
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(shift_log_filters_orders_and_limits);

async fn shift_log_filters_orders_and_limits(db: &TestDb) {
    let store = db.open().await;
    let entries = [
        ("op1", OperatorEvent::Login, "192.0.2.21:5060", T0),
        ("op2", OperatorEvent::Login, "192.0.2.22:5060", T0 + 1_000),
        ("op1", OperatorEvent::Pause, "192.0.2.21:5060", T0 + 2_000),
        ("op1", OperatorEvent::Unpause, "192.0.2.21:5060", T0 + 3_000),
        ("op2", OperatorEvent::Logout, "system", T0 + 4_000),
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
                event: OperatorEvent::Unpause,
                source: "192.0.2.21:5060".into(),
                at_ms: T0 + 3_000,
            },
            OperatorEventRecord {
                id: ids[2],
                operator: "op1".into(),
                event: OperatorEvent::Pause,
                source: "192.0.2.21:5060".into(),
                at_ms: T0 + 2_000,
            },
            OperatorEventRecord {
                id: ids[0],
                operator: "op1".into(),
                event: OperatorEvent::Login,
                source: "192.0.2.21:5060".into(),
                at_ms: T0,
            },
        ]
    );
    let all: Vec<(String, OperatorEvent)> = store
        .operator_events(None, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.operator, e.event))
        .collect();
    assert_eq!(
        all,
        vec![
            ("op2".into(), OperatorEvent::Logout),
            ("op1".into(), OperatorEvent::Unpause)
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
