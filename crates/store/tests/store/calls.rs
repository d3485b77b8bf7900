//! Call detail records: life cycle, errors, queries by time, CSV export.

use store::{
    CALLS_CSV_HEADER, CallKind, CallRecord, ForwardKind, NewCall, Outcome, Party, PurposeKind,
    StoreError,
};

use crate::fixtures::{T0, new_call};
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(
    call_life_cycle,
    quality_arrives_after_the_call_ended,
    finish_is_once_and_unknown_ids_fail,
    every_outcome_round_trips,
    recent_calls_newest_first_with_limit,
    calls_between_is_half_open,
    csv_quotes_and_defuses,
    placed_call_with_digits_reads_back_and_exports,
    digits_of_an_unknown_call_fail,
    calls_from_before_placed_calls_read_back_as_internal,
    caller_name_and_forwarding_read_back_and_export,
);

async fn quality_arrives_after_the_call_ended(db: &TestDb) {
    let store = db.open().await;
    let id = store
        .insert_call(&new_call("201", "202", T0))
        .await
        .unwrap();
    store
        .finish_call(id, T0 + 5_000, Outcome::Answered, Some(Party::Caller), None)
        .await
        .unwrap();
    store
        .set_call_quality(id, r#"{"caller":{"lost":0}}"#)
        .await
        .unwrap();
    let row = store.call(id).await.unwrap().unwrap();
    assert_eq!(row.quality.as_deref(), Some(r#"{"caller":{"lost":0}}"#));
    assert_eq!(row.outcome, Some(Outcome::Answered));
    let err = store.set_call_quality(id + 1000, "{}").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

async fn call_life_cycle(db: &TestDb) {
    let store = db.open().await;
    let id = store
        .insert_call(&new_call("201", "202", T0))
        .await
        .unwrap();
    let in_progress = store
        .call(id)
        .await
        .unwrap()
        .expect("the call was just inserted");
    assert_eq!(
        in_progress,
        CallRecord {
            id,
            call_id: format!("201-202-{T0}@192.0.2.10"),
            caller: "201".into(),
            callee: "202".into(),
            kind: CallKind::Internal,
            purpose: None,
            digits: None,
            started_at_ms: T0,
            answered_at_ms: None,
            ended_at_ms: None,
            outcome: None,
            hangup_by: None,
            quality: None,
            caller_name: None,
            forwarded_to: None,
            forward_reason: None,
        }
    );
    store.update_call_answered(id, T0 + 3_000).await.unwrap();
    let quality = r#"{"a":{"loss":0.01,"jitter_ms":4.5,"rtt_ms":22},"b":{"loss":0,"jitter_ms":1.2,"rtt_ms":null}}"#;
    store
        .finish_call(
            id,
            T0 + 63_000,
            Outcome::Answered,
            Some(Party::Caller),
            Some(quality),
        )
        .await
        .unwrap();
    let done = store.call(id).await.unwrap().unwrap();
    assert_eq!(done.answered_at_ms, Some(T0 + 3_000));
    assert_eq!(done.ended_at_ms, Some(T0 + 63_000));
    assert_eq!(done.outcome, Some(Outcome::Answered));
    assert_eq!(done.hangup_by, Some(Party::Caller));
    assert_eq!(done.quality.as_deref(), Some(quality));

    let second = store
        .insert_call(&new_call("201", "203", T0 + 1))
        .await
        .unwrap();
    assert!(second > id, "ids increase: {second} after {id}");
    assert_eq!(store.call(second + 1_000).await.unwrap(), None);
}

async fn finish_is_once_and_unknown_ids_fail(db: &TestDb) {
    let store = db.open().await;
    let id = store
        .insert_call(&new_call("201", "202", T0))
        .await
        .unwrap();
    store
        .finish_call(id, T0 + 5_000, Outcome::Busy, None, None)
        .await
        .unwrap();
    let err = store
        .finish_call(id, T0 + 9_000, Outcome::Failed, Some(Party::System), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyFinished { id: i, ref outcome } if i == id && outcome == "busy"),
        "{err:?}"
    );
    let kept = store.call(id).await.unwrap().unwrap();
    assert_eq!(
        (kept.outcome, kept.ended_at_ms, kept.hangup_by),
        (Some(Outcome::Busy), Some(T0 + 5_000), None)
    );

    let missing = id + 1_000;
    let err = store.update_call_answered(missing, T0).await.unwrap_err();
    assert_eq!(err.to_string(), format!("no call record with id {missing}"));
    let err = store
        .finish_call(missing, T0, Outcome::Failed, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { id: i, .. } if i == missing),
        "{err:?}"
    );
}

async fn every_outcome_round_trips(db: &TestDb) {
    let store = db.open().await;
    for (i, outcome) in Outcome::ALL.iter().enumerate() {
        let at = T0 + i64::try_from(i).unwrap();
        let id = store
            .insert_call(&new_call("201", "202", at))
            .await
            .unwrap();
        let hangup = Party::ALL[i % Party::ALL.len()];
        store
            .finish_call(id, at + 1, *outcome, Some(hangup), None)
            .await
            .unwrap();
        let got = store.call(id).await.unwrap().unwrap();
        assert_eq!((got.outcome, got.hangup_by), (Some(*outcome), Some(hangup)));
    }
}

async fn recent_calls_newest_first_with_limit(db: &TestDb) {
    let store = db.open().await;
    let mut ids = Vec::new();
    // Inserted out of time order: ordering is by start time, then id.
    for start in [T0 + 20, T0, T0 + 10, T0 + 10] {
        ids.push((
            start,
            store
                .insert_call(&new_call("201", "202", start))
                .await
                .unwrap(),
        ));
    }
    let recent = store.recent_calls(3).await.unwrap();
    let got: Vec<(i64, i64)> = recent.iter().map(|c| (c.started_at_ms, c.id)).collect();
    assert_eq!(got, vec![ids[0], ids[3], ids[2]]);
    assert_eq!(store.recent_calls(100).await.unwrap().len(), 4);
    assert!(store.recent_calls(0).await.unwrap().is_empty());
}

async fn calls_between_is_half_open(db: &TestDb) {
    let store = db.open().await;
    for start in [T0 - 1, T0, T0 + 500, T0 + 1_000] {
        store
            .insert_call(&new_call("201", "202", start))
            .await
            .unwrap();
    }
    let got: Vec<i64> = store
        .calls_between(T0, T0 + 1_000)
        .await
        .unwrap()
        .iter()
        .map(|c| c.started_at_ms)
        .collect();
    assert_eq!(
        got,
        vec![T0, T0 + 500],
        "start inclusive, end exclusive, oldest first"
    );
    assert!(
        store
            .calls_between(T0 + 2_000, T0 + 3_000)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn csv_quotes_and_defuses(db: &TestDb) {
    let store = db.open().await;
    let nasty = new_call("Smith, \"Bob\"", "=HYPERLINK(\"http://x\",\"y\")", T0);
    let a = store.insert_call(&nasty).await.unwrap();
    store
        .set_call_digits(a, "line one\r\nline two\nthree")
        .await
        .unwrap();
    store
        .finish_call(
            a,
            T0 + 10,
            Outcome::Cancelled,
            Some(Party::Caller),
            Some(r#"{"a":{"loss":0.5}}"#),
        )
        .await
        .unwrap();
    let b = store
        .insert_call(&new_call("+4930123456", "202", T0 + 1))
        .await
        .unwrap();

    let csv = store.calls_csv(10).await.unwrap();
    assert!(csv.starts_with("id,call_id,caller,callee,kind,started_at_ms,answered_at_ms,ended_at_ms,outcome,hangup_by,quality,purpose,digits,caller_name,forwarded_to,forward_reason\r\n"));
    assert!(csv.contains("\"Smith, \"\"Bob\"\"\""), "{csv}");
    assert!(csv.ends_with("\r\n"));
    let rows = store::csv::parse(&csv).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0], CALLS_CSV_HEADER);
    assert_eq!(
        rows[1],
        vec![
            b.to_string(),
            // A leading `+` followed by more than digits could be a formula, so it is defused.
            format!("'+4930123456-202-{}@192.0.2.10", T0 + 1),
            "+4930123456".into(),
            "202".into(),
            "internal".into(),
            (T0 + 1).to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]
    );
    assert_eq!(
        rows[2],
        vec![
            a.to_string(),
            nasty.call_id.clone(),
            "Smith, \"Bob\"".into(),
            "'=HYPERLINK(\"http://x\",\"y\")".into(),
            "internal".into(),
            T0.to_string(),
            String::new(),
            (T0 + 10).to_string(),
            "cancelled".into(),
            "caller".into(),
            r#"{"a":{"loss":0.5}}"#.into(),
            String::new(),
            "line one\r\nline two\nthree".into(),
            String::new(),
            String::new(),
            String::new(),
        ]
    );
    assert_eq!(
        store.calls_csv(1).await.unwrap().matches("\r\n").count(),
        2,
        "header plus one record"
    );
}

/// A call the PBX placed (an announcement that collected a digit): kind, purpose and digits are
/// stored, read back and exported; the digits may arrive after the call ended.
async fn placed_call_with_digits_reads_back_and_exports(db: &TestDb) {
    let store = db.open().await;
    let placed = NewCall {
        call_id: "placed-1@192.0.2.1".into(),
        caller: "Switchboard".into(),
        callee: "201".into(),
        kind: CallKind::Placed,
        purpose: Some(PurposeKind::Announcement),
        started_at_ms: T0,
    };
    let id = store.insert_call(&placed).await.unwrap();
    let fresh = store.call(id).await.unwrap().unwrap();
    assert_eq!(
        (
            fresh.kind,
            fresh.purpose.map(PurposeKind::as_str),
            fresh.digits.as_deref()
        ),
        (CallKind::Placed, Some("announcement"), None)
    );
    store.update_call_answered(id, T0 + 2_000).await.unwrap();
    store.set_call_digits(id, "1").await.unwrap();
    store
        .finish_call(id, T0 + 9_000, Outcome::Answered, Some(Party::System), None)
        .await
        .unwrap();
    // A later report replaces the digits, also after the end.
    store.set_call_digits(id, "12#").await.unwrap();
    assert_eq!(
        store.call(id).await.unwrap().unwrap(),
        CallRecord {
            id,
            call_id: "placed-1@192.0.2.1".into(),
            caller: "Switchboard".into(),
            callee: "201".into(),
            kind: CallKind::Placed,
            purpose: Some(PurposeKind::Announcement),
            digits: Some("12#".into()),
            started_at_ms: T0,
            answered_at_ms: Some(T0 + 2_000),
            ended_at_ms: Some(T0 + 9_000),
            outcome: Some(Outcome::Answered),
            hangup_by: Some(Party::System),
            quality: None,
            caller_name: None,
            forwarded_to: None,
            forward_reason: None,
        }
    );
    let ordinary = store
        .insert_call(&new_call("202", "203", T0 + 1))
        .await
        .unwrap();

    let rows = store::csv::parse(&store.calls_csv(10).await.unwrap()).unwrap();
    assert_eq!(rows[0], CALLS_CSV_HEADER);
    assert_eq!(
        rows[1],
        vec![
            ordinary.to_string(),
            format!("202-203-{}@192.0.2.10", T0 + 1),
            "202".into(),
            "203".into(),
            "internal".into(),
            (T0 + 1).to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]
    );
    assert_eq!(
        rows[2],
        vec![
            id.to_string(),
            "placed-1@192.0.2.1".into(),
            "Switchboard".into(),
            "201".into(),
            "placed".into(),
            T0.to_string(),
            (T0 + 2_000).to_string(),
            (T0 + 9_000).to_string(),
            "answered".into(),
            "system".into(),
            String::new(),
            "announcement".into(),
            // Digits such as `#` or `*` are ordinary text; a leading `=`, `+`, `-` or `@` would be defused.
            "12#".into(),
            String::new(),
            String::new(),
            String::new(),
        ]
    );
}

/// A hotel room's call: the name staff saw for the caller, and the forwarding that rang another
/// number than the one dialled, read back and exported; unknown ids fail.
async fn caller_name_and_forwarding_read_back_and_export(db: &TestDb) {
    let store = db.open().await;
    let id = store
        .insert_call(&new_call("8105", "202", T0))
        .await
        .unwrap();
    store
        .set_call_caller_name(id, "8105 Dr Li Wei ★")
        .await
        .unwrap();
    store
        .set_call_forwarded(id, "203", ForwardKind::Busy)
        .await
        .unwrap();
    let record = store.call(id).await.unwrap().unwrap();
    assert_eq!(record.callee, "202", "the callee stays the number dialled");
    assert_eq!(record.caller_name.as_deref(), Some("8105 Dr Li Wei ★"));
    assert_eq!(record.forwarded_to.as_deref(), Some("203"));
    assert_eq!(record.forward_reason, Some(ForwardKind::Busy));
    let csv = store.calls_csv(10).await.unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with("caller_name,forwarded_to,forward_reason"),
        "{header}"
    );
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .ends_with("8105 Dr Li Wei ★,203,busy"),
        "{csv}"
    );
    let err = store.set_call_caller_name(42, "x").await.unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { id: 42, .. }),
        "{err:?}"
    );
    let err = store
        .set_call_forwarded(42, "203", ForwardKind::Always)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { id: 42, .. }),
        "{err:?}"
    );
}

async fn digits_of_an_unknown_call_fail(db: &TestDb) {
    let store = db.open().await;
    let err = store.set_call_digits(42, "1").await.unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { id: 42, .. }),
        "{err:?}"
    );
}

/// A database written by a server from before placed calls (migrations 1 and 2, `kind` always
/// `internal`): opening it with the store adds the new columns, and the old row reads back as an
/// internal call with no purpose and no digits, in the API's reads and in the CSV.
async fn calls_from_before_placed_calls_read_back_as_internal(db: &TestDb) {
    use sqlx::Connection;
    let mut conn = db
        .with_old_schema(&["0001_initial.sql", "0002_binding_auth_user.sql"])
        .await;
    // The statement the server ran before migration 3.
    sqlx::query(
        "INSERT INTO calls (call_id, caller, callee, kind, started_at_ms) \
         VALUES ('old@192.0.2.10', '201', '202', 'internal', $1)",
    )
    .bind(T0)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = db.open().await;
    let old = store.recent_calls(10).await.unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(
        (
            old[0].kind,
            old[0].purpose.map(PurposeKind::as_str),
            old[0].digits.as_deref(),
            old[0].caller.as_str(),
            old[0].started_at_ms,
        ),
        (CallKind::Internal, None, None, "201", T0)
    );
    let rows = store::csv::parse(&store.calls_csv(10).await.unwrap()).unwrap();
    assert_eq!(rows[1][4], "internal");
    assert_eq!(
        rows[1][11..],
        [
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new()
        ]
    );
    // The upgraded database takes placed calls next to the old row.
    let mut placed = new_call("Switchboard", "201", T0 + 1);
    placed.kind = CallKind::Placed;
    placed.purpose = Some(PurposeKind::Announcement);
    let id = store.insert_call(&placed).await.unwrap();
    assert_eq!(
        store.call(id).await.unwrap().unwrap().kind,
        CallKind::Placed
    );
}
