//! Settings: set, overwrite, read, delete.

use crate::fixtures::T0;
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(settings_set_get_overwrite_delete);

async fn settings_set_get_overwrite_delete(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.get_setting("attendant_mode").await.unwrap(), None);
    store
        .set_setting("attendant_mode", "manual", T0)
        .await
        .unwrap();
    store.set_setting("other", "x", T0).await.unwrap();
    assert_eq!(
        store
            .get_setting("attendant_mode")
            .await
            .unwrap()
            .as_deref(),
        Some("manual")
    );
    store
        .set_setting("attendant_mode", "automatic", T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_setting("attendant_mode")
            .await
            .unwrap()
            .as_deref(),
        Some("automatic")
    );
    store.set_setting("empty", "", T0).await.unwrap();
    assert_eq!(
        store.get_setting("empty").await.unwrap().as_deref(),
        Some(""),
        "empty is not missing"
    );
    assert!(store.delete_setting("attendant_mode").await.unwrap());
    assert!(!store.delete_setting("attendant_mode").await.unwrap());
    assert_eq!(store.get_setting("attendant_mode").await.unwrap(), None);
    assert_eq!(
        store.get_setting("other").await.unwrap().as_deref(),
        Some("x")
    );
}
