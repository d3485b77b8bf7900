//! Persistence across reopen and process crash, connection set-up, concurrency.

use std::process::Command;

use sqlx::Connection;
use store::{
    Backend, NewQueueCall, OperatorChangeKind, Outcome, Party, QueueCallUpdate, Store, StoreError,
};

use crate::fixtures::{T0, binding, new_call};
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(
    everything_survives_a_reopen,
    acknowledged_writes_survive_a_process_crash,
    concurrent_writers_all_land,
);

async fn everything_survives_a_reopen(db: &TestDb) {
    let store = db.open().await;
    let b = binding("201", "sip:201@192.0.2.10:5062", T0 + 3_600_000);
    store.upsert_binding(&b).await.unwrap();
    let call = store
        .insert_call(&new_call("201", "202", T0))
        .await
        .unwrap();
    store.update_call_answered(call, T0 + 1_000).await.unwrap();
    store
        .finish_call(
            call,
            T0 + 9_000,
            Outcome::Answered,
            Some(Party::Callee),
            Some("{}"),
        )
        .await
        .unwrap();
    store
        .set_setting("attendant_mode", "manual", T0)
        .await
        .unwrap();
    store
        .log_operator_event("op1", OperatorChangeKind::Login, "192.0.2.21:5060", T0)
        .await
        .unwrap();
    let queued = store
        .insert_queue_call(&NewQueueCall {
            call_id: "q1".into(),
            caller: "+4930111".into(),
            vip: false,
            entered_at_ms: T0,
            position_on_entry: 3,
        })
        .await
        .unwrap();
    let calls = store.recent_calls(10).await.unwrap();
    let events = store.operator_events(None, 10).await.unwrap();
    let queue = store.recent_queue_calls(10).await.unwrap();
    store.close().await;
    drop(store);

    let reopened = db.open().await;
    assert_eq!(reopened.bindings("201", T0).await.unwrap(), vec![b]);
    assert_eq!(reopened.recent_calls(10).await.unwrap(), calls);
    assert_eq!(
        reopened
            .get_setting("attendant_mode")
            .await
            .unwrap()
            .as_deref(),
        Some("manual")
    );
    assert_eq!(reopened.operator_events(None, 10).await.unwrap(), events);
    assert_eq!(reopened.recent_queue_calls(10).await.unwrap(), queue);
    // The reopened store keeps working, and ids keep increasing past the old ones.
    let next = reopened
        .insert_call(&new_call("202", "201", T0 + 10))
        .await
        .unwrap();
    assert!(next > call);
    reopened
        .update_queue_call(
            queued,
            &QueueCallUpdate {
                outcome: Some(store::QueueOutcome::Abandoned),
                ..QueueCallUpdate::default()
            },
        )
        .await
        .unwrap();
}

/// The environment variable that turns [`crash_child_helper`] into a writer that then aborts.
const CRASH_URL_VAR: &str = "STORE_TEST_CRASH_CHILD_URL";

/// Not a test of its own: the child half of `acknowledged_writes_survive_a_process_crash`.
/// Without the environment variable it returns at once; with it, it writes, then aborts the process
/// without closing anything, as a crash would.
#[tokio::test]
async fn crash_child_helper() {
    let Ok(url) = std::env::var(CRASH_URL_VAR) else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    store
        .upsert_binding(&binding("201", "sip:crash@192.0.2.10", T0 + 60_000))
        .await
        .unwrap();
    store
        .set_setting("attendant_mode", "manual", T0)
        .await
        .unwrap();
    let id = store
        .insert_call(&new_call("201", "202", T0))
        .await
        .unwrap();
    store
        .finish_call(id, T0 + 1, Outcome::Failed, Some(Party::System), None)
        .await
        .unwrap();
    std::process::abort();
}

async fn acknowledged_writes_survive_a_process_crash(db: &TestDb) {
    // Create the schema first so the child only writes data.
    db.open().await.close().await;
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "persistence::crash_child_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_URL_VAR, db.url())
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "the child must die by abort after writing; it exited with {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let store = db.open().await;
    assert_eq!(
        store.bindings("201", T0).await.unwrap(),
        vec![binding("201", "sip:crash@192.0.2.10", T0 + 60_000)],
        "child output:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        store
            .get_setting("attendant_mode")
            .await
            .unwrap()
            .as_deref(),
        Some("manual")
    );
    let calls = store.recent_calls(10).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].outcome, Some(Outcome::Failed));
}

async fn concurrent_writers_all_land(db: &TestDb) {
    let store = db.open().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40u32 {
        let store = store.clone();
        tasks.spawn(async move {
            let contact = format!("sip:{i}@192.0.2.10");
            store
                .upsert_binding(&binding("201", &contact, T0 + 60_000))
                .await?;
            let id = store
                .insert_call(&new_call("201", &i.to_string(), T0 + i64::from(i)))
                .await?;
            store.update_call_answered(id, T0 + 100).await?;
            Ok::<_, StoreError>(id)
        });
    }
    let mut ids = Vec::new();
    while let Some(done) = tasks.join_next().await {
        ids.push(done.unwrap().unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40, "every insert got its own id");
    assert_eq!(store.bindings("201", T0).await.unwrap().len(), 40);
    let calls = store.recent_calls(100).await.unwrap();
    assert_eq!(calls.len(), 40);
    assert!(calls.iter().all(|c| c.answered_at_ms == Some(T0 + 100)));
}

#[tokio::test]
async fn sqlite_creates_directories_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/switchboard.db");
    let url = format!("sqlite:{}", path.display());
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(path.is_file(), "{} was not created", path.display());
    store.set_setting("k", "v", T0).await.unwrap();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    conn.close().await.unwrap();
    // Opening again (same URL form as `sqlite://`) runs no migration twice.
    let again = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(again.get_setting("k").await.unwrap().as_deref(), Some("v"));
}

#[tokio::test]
async fn sqlite_in_memory_keeps_data_while_open() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.set_setting("k", "v", T0).await.unwrap();
    let b = binding("201", "sip:201@192.0.2.10", T0 + 1);
    store.upsert_binding(&b).await.unwrap();
    // Every query must see the same private database, however many run.
    for _ in 0..5 {
        assert_eq!(store.get_setting("k").await.unwrap().as_deref(), Some("v"));
    }
    assert_eq!(store.bindings("201", T0).await.unwrap(), vec![b]);
}

#[tokio::test]
async fn connect_errors_name_the_problem() {
    let err = Store::connect("mysql://root:secret@127.0.0.1/db")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret"), "{err}");

    // A port that was just free: nothing listens there, so the connection is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Store::connect(&format!("postgres://u:hunter2@127.0.0.1:{port}/x"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Connect {
                backend: Backend::Postgres,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot connect to the postgres database at `postgres://u:***@127.0.0.1:{port}/x`"
        )),
        "{msg}"
    );
    assert!(
        msg.contains("refused"),
        "the driver's reason is kept: {msg}"
    );
    assert!(!msg.contains("hunter2"), "{msg}");

    let file = tempfile::NamedTempFile::new().unwrap();
    let err = Store::connect(&format!("sqlite:{}/sub/x.db", file.path().display()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::CreateDir { .. }),
        "a file where a directory must go: {err:?}"
    );
}
