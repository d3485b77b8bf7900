//! Operator-queue call records.

use store::{
    NewQueueCall, QUEUE_CALLS_CSV_HEADER, QueueCallRecord, QueueCallUpdate, QueueOutcome,
    StoreError,
};

use crate::fixtures::T0;
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(queue_call_life_cycle, queue_calls_order_csv_and_missing_ids);

fn entering(caller: &str, vip: bool, at: i64, position: u32) -> NewQueueCall {
    NewQueueCall {
        call_id: format!("q-{caller}-{at}"),
        caller: caller.to_owned(),
        vip,
        entered_at_ms: at,
        position_on_entry: position,
    }
}

async fn queue_call_life_cycle(db: &TestDb) {
    let store = db.open().await;
    let id = store
        .insert_queue_call(&entering("+4930111", true, T0, 1))
        .await
        .unwrap();
    let waiting = store.recent_queue_calls(10).await.unwrap();
    assert_eq!(
        waiting,
        vec![QueueCallRecord {
            id,
            call_id: format!("q-+4930111-{T0}"),
            caller: "+4930111".into(),
            vip: true,
            entered_at_ms: T0,
            position_on_entry: 1,
            state: QueueCallUpdate {
                transfers: "[]".into(),
                ..QueueCallUpdate::default()
            },
        }]
    );
    let answered = QueueCallUpdate {
        wait_ms: Some(42_000),
        answered_by: Some("op2".into()),
        answered_at_ms: Some(T0 + 42_000),
        transfers: String::new(),
        ..QueueCallUpdate::default()
    };
    store.update_queue_call(id, &answered).await.unwrap();
    assert_eq!(
        store.recent_queue_calls(1).await.unwrap()[0]
            .state
            .transfers,
        "[]",
        "empty transfers stored as []"
    );
    let finished = QueueCallUpdate {
        talk_ms: Some(95_000),
        transfers: r#"[{"kind":"blind","to":"201","by":"op2","at_ms":1764201737000}]"#.into(),
        outcome: Some(QueueOutcome::Answered),
        ended_at_ms: Some(T0 + 137_000),
        ..answered
    };
    store.update_queue_call(id, &finished).await.unwrap();
    let got = store.recent_queue_calls(1).await.unwrap().remove(0);
    assert_eq!(got.state, finished);
    assert_eq!((got.vip, got.position_on_entry), (true, 1));
}

async fn queue_calls_order_csv_and_missing_ids(db: &TestDb) {
    let store = db.open().await;
    let first = store
        .insert_queue_call(&entering("201", false, T0, 1))
        .await
        .unwrap();
    let second = store
        .insert_queue_call(&entering("=cmd()", false, T0 + 5, 2))
        .await
        .unwrap();
    for (id, outcome) in [
        (first, QueueOutcome::Abandoned),
        (second, QueueOutcome::MaxWait),
    ] {
        let update = QueueCallUpdate {
            wait_ms: Some(7),
            outcome: Some(outcome),
            ended_at_ms: Some(T0 + 100),
            ..QueueCallUpdate::default()
        };
        store.update_queue_call(id, &update).await.unwrap();
    }
    let ids: Vec<i64> = store
        .recent_queue_calls(10)
        .await
        .unwrap()
        .iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(ids, vec![second, first], "newest entry first");

    let rows = store::csv::parse(&store.queue_calls_csv(10).await.unwrap()).unwrap();
    assert_eq!(rows[0], QUEUE_CALLS_CSV_HEADER);
    assert_eq!(rows[1][2], "'=cmd()", "formula-looking caller is defused");
    assert_eq!(rows[1][11], "max_wait");
    assert_eq!(
        rows[2][..6],
        [
            first.to_string(),
            format!("q-201-{T0}"),
            "201".into(),
            "0".into(),
            T0.to_string(),
            "1".into()
        ]
    );
    assert_eq!(rows[2][11], "abandoned");

    let err = store
        .update_queue_call(second + 100, &QueueCallUpdate::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                what: "queue call record",
                ..
            }
        ),
        "{err:?}"
    );
    for outcome in QueueOutcome::ALL {
        assert_eq!(QueueOutcome::parse(outcome.as_str()), Some(*outcome));
    }
}
