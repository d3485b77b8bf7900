//! Registrar bindings: upsert semantics, expiry filtering, removal, atomic batches.

use store::{Binding, BindingChange, StoreError};

use crate::fixtures::{T0, binding};
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(
    upsert_inserts_then_replaces_every_field,
    bindings_filter_expired_at_the_exact_instant,
    purge_deletes_only_expired,
    several_contacts_ordered_by_q,
    remove_one_and_remove_all,
    batch_applies_in_order,
    invalid_q_is_rejected_and_nothing_changes,
    text_survives_exactly,
    operator_accounts_are_kept_per_contact,
    bindings_of_a_database_from_before_auth_user_read_back_without_one,
);

fn sorted(mut v: Vec<Binding>) -> Vec<Binding> {
    v.sort_by(|a, b| (&a.aor, &a.contact).cmp(&(&b.aor, &b.contact)));
    v
}

async fn upsert_inserts_then_replaces_every_field(db: &TestDb) {
    let store = db.open().await;
    let first = binding("201", "sip:201@192.0.2.10:5062", T0 + 60_000);
    store.upsert_binding(&first).await.unwrap();
    assert_eq!(
        store.bindings("201", T0).await.unwrap(),
        vec![first.clone()]
    );

    let refreshed = Binding {
        source: "198.51.100.7:40000".into(),
        transport: "tcp".into(),
        call_id: "another-call-id".into(),
        cseq: u32::MAX,
        expires_at_ms: T0 + 3_600_000,
        q: None,
        user_agent: None,
        instance: None,
        updated_at_ms: T0 + 1_000,
        user: None,
        ..first.clone()
    };
    store.upsert_binding(&refreshed).await.unwrap();
    assert_eq!(
        store.bindings("201", T0).await.unwrap(),
        vec![refreshed.clone()],
        "an upsert with the same (aor, contact) replaces the row instead of adding one"
    );
    assert_eq!(store.all_bindings(T0).await.unwrap(), vec![refreshed]);
}

async fn bindings_filter_expired_at_the_exact_instant(db: &TestDb) {
    let store = db.open().await;
    let b = binding("202", "sip:202@192.0.2.11", T0 + 10_000);
    store.upsert_binding(&b).await.unwrap();
    assert_eq!(store.bindings("202", T0 + 9_999).await.unwrap().len(), 1);
    assert!(
        store.bindings("202", T0 + 10_000).await.unwrap().is_empty(),
        "a binding is gone at exactly expires_at_ms"
    );
    assert!(store.all_bindings(T0 + 10_000).await.unwrap().is_empty());
    assert_eq!(store.all_bindings(T0 + 9_999).await.unwrap(), vec![b]);
    assert!(store.bindings("nobody", T0).await.unwrap().is_empty());
}

async fn purge_deletes_only_expired(db: &TestDb) {
    let store = db.open().await;
    let old = binding("201", "sip:a@192.0.2.1", T0 - 1);
    let edge = binding("201", "sip:b@192.0.2.1", T0);
    let live = binding("202", "sip:c@192.0.2.1", T0 + 1);
    for b in [&old, &edge, &live] {
        store.upsert_binding(b).await.unwrap();
    }
    assert_eq!(store.purge_expired(T0).await.unwrap(), 2);
    assert_eq!(
        store.purge_expired(T0).await.unwrap(),
        0,
        "purging twice deletes nothing more"
    );
    // Expired rows are really gone, not just filtered: looking back in time finds only the live one.
    assert_eq!(store.all_bindings(T0 - 1_000).await.unwrap(), vec![live]);
}

async fn several_contacts_ordered_by_q(db: &TestDb) {
    let store = db.open().await;
    let mut low = binding("201", "sip:desk@192.0.2.1", T0 + 60_000);
    low.q = Some(0.1);
    let mut none = binding("201", "sip:soft@192.0.2.2", T0 + 60_000);
    none.q = None;
    let mut mid = binding("201", "sip:mobile@192.0.2.3", T0 + 60_000);
    mid.q = Some(0.7);
    let other = binding("202", "sip:202@192.0.2.4", T0 + 60_000);
    for b in [&low, &none, &mid, &other] {
        store.upsert_binding(b).await.unwrap();
    }
    assert_eq!(
        store.bindings("201", T0).await.unwrap(),
        vec![none.clone(), mid.clone(), low.clone()],
        "highest q first, a missing q counting as 1.0"
    );
    assert_eq!(
        sorted(store.all_bindings(T0).await.unwrap()),
        sorted(vec![low, none, mid, other])
    );
}

async fn remove_one_and_remove_all(db: &TestDb) {
    let store = db.open().await;
    let a = binding("201", "sip:a@192.0.2.1", T0 + 60_000);
    let b = binding("201", "sip:b@192.0.2.1", T0 + 60_000);
    let c = binding("201", "sip:c@192.0.2.1", T0 + 60_000);
    let other = binding("202", "sip:a@192.0.2.1", T0 + 60_000);
    for x in [&a, &b, &c, &other] {
        store.upsert_binding(x).await.unwrap();
    }
    assert!(
        store
            .remove_binding("201", "sip:a@192.0.2.1")
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_binding("201", "sip:a@192.0.2.1")
            .await
            .unwrap()
    );
    assert_eq!(sorted(store.bindings("201", T0).await.unwrap()), vec![b, c]);
    assert_eq!(store.remove_all_bindings("201").await.unwrap(), 2);
    assert_eq!(store.remove_all_bindings("201").await.unwrap(), 0);
    assert!(store.bindings("201", T0).await.unwrap().is_empty());
    assert_eq!(
        store.bindings("202", T0).await.unwrap(),
        vec![other],
        "other AORs are untouched"
    );
}

async fn batch_applies_in_order(db: &TestDb) {
    let store = db.open().await;
    let keep = binding("201", "sip:keep@192.0.2.1", T0 + 60_000);
    let gone = binding("201", "sip:gone@192.0.2.1", T0 + 60_000);
    let fresh = binding("201", "sip:fresh@192.0.2.1", T0 + 60_000);
    store.upsert_binding(&keep).await.unwrap();
    store
        .apply_binding_changes(&[
            BindingChange::Upsert(gone.clone()),
            BindingChange::Remove {
                aor: "201".into(),
                contact: gone.contact.clone(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(store.bindings("201", T0).await.unwrap(), vec![keep.clone()]);
    store
        .apply_binding_changes(&[
            BindingChange::RemoveAll { aor: "201".into() },
            BindingChange::Upsert(fresh.clone()),
        ])
        .await
        .unwrap();
    assert_eq!(store.bindings("201", T0).await.unwrap(), vec![fresh]);
    store.apply_binding_changes(&[]).await.unwrap();
}

async fn invalid_q_is_rejected_and_nothing_changes(db: &TestDb) {
    let store = db.open().await;
    let existing = binding("201", "sip:a@192.0.2.1", T0 + 60_000);
    store.upsert_binding(&existing).await.unwrap();
    let mut bad = binding("201", "sip:b@192.0.2.1", T0 + 60_000);
    bad.q = Some(1.5);
    let err = store.upsert_binding(&bad).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                field: "Binding.q",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "invalid Binding.q: expected a number from 0.0 to 1.0, got 1.5"
    );
    let err = store
        .apply_binding_changes(&[
            BindingChange::RemoveAll { aor: "201".into() },
            BindingChange::Upsert(bad),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert_eq!(
        store.bindings("201", T0).await.unwrap(),
        vec![existing],
        "a rejected batch removes nothing"
    );
}

async fn text_survives_exactly(db: &TestDb) {
    let store = db.open().await;
    let mut b = binding(
        "Zoë's \"front desk\"",
        "sip:%22odd%22@[2001:db8::1]:5060;transport=tcp;ob",
        T0 + 1,
    );
    b.user_agent = Some("Linphone/5.2 (Ubuntu) — 日本語, 'quoted'; DROP TABLE bindings;--".into());
    b.q = Some(0.001);
    store.upsert_binding(&b).await.unwrap();
    assert_eq!(store.bindings(&b.aor, T0).await.unwrap(), vec![b]);
}

/// The operator position `0` registered by two operators: each contact keeps its own account,
/// and a refresh replaces it.
async fn operator_accounts_are_kept_per_contact(db: &TestDb) {
    let store = db.open().await;
    let mut op1 = binding("0", "sip:op1@192.0.2.21:5060", T0 + 60_000);
    op1.user = Some("op1".into());
    op1.q = None;
    let mut op2 = binding("0", "sip:op2@192.0.2.22:5060", T0 + 60_000);
    op2.user = Some("op2".into());
    op2.q = None;
    op2.updated_at_ms = T0 + 1;
    store
        .apply_binding_changes(&[
            BindingChange::Upsert(op1.clone()),
            BindingChange::Upsert(op2.clone()),
        ])
        .await
        .unwrap();
    let users = |v: Vec<Binding>| -> Vec<(String, Option<String>)> {
        v.into_iter().map(|b| (b.contact, b.user)).collect()
    };
    assert_eq!(
        users(store.bindings("0", T0).await.unwrap()),
        vec![
            (op2.contact.clone(), Some("op2".into())),
            (op1.contact.clone(), Some("op1".into())),
        ]
    );
    let unknown = Binding {
        user: None,
        updated_at_ms: T0 + 2,
        ..op1.clone()
    };
    store.upsert_binding(&unknown).await.unwrap();
    assert_eq!(
        sorted(store.all_bindings(T0).await.unwrap()),
        sorted(vec![unknown, op2]),
        "a refresh without an account clears the stored one"
    );
}

/// A database migrated only to version 1 (before `auth_user`) with a binding in it: opening it
/// with the store applies the later migrations, and the old binding reads back with `user: None`.
async fn bindings_of_a_database_from_before_auth_user_read_back_without_one(db: &TestDb) {
    use sqlx::Connection;
    let mut conn = db.with_old_schema(&["0001_initial.sql"]).await;
    sqlx::query(
        "INSERT INTO bindings (aor, contact, source, transport, call_id, cseq, expires_at_ms, \
         q_milli, user_agent, instance, updated_at_ms) \
         VALUES ('201', 'sip:201@192.0.2.10', '192.0.2.10:5060', 'udp', 'old', 7, $1, NULL, NULL, NULL, $2)",
    )
    .bind(T0 + 60_000)
    .bind(T0)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = db.open().await;
    let stored = store.bindings("201", T0).await.unwrap();
    assert_eq!(
        stored,
        vec![Binding {
            aor: "201".into(),
            contact: "sip:201@192.0.2.10".into(),
            source: "192.0.2.10:5060".into(),
            transport: "udp".into(),
            call_id: "old".into(),
            cseq: 7,
            expires_at_ms: T0 + 60_000,
            q: None,
            user_agent: None,
            instance: None,
            updated_at_ms: T0,
            user: None,
        }]
    );
    let mut upgraded = stored[0].clone();
    upgraded.user = Some("201".into());
    store.upsert_binding(&upgraded).await.unwrap();
    assert_eq!(store.bindings("201", T0).await.unwrap(), vec![upgraded]);
}
