//! Text that one backend could store and the other could not is stored the same way on both.

use crate::fixtures::{T0, binding, new_call};
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(nul_is_stored_as_replacement_character);

async fn nul_is_stored_as_replacement_character(db: &TestDb) {
    let store = db.open().await;
    let id = store
        .insert_call(&new_call("evil\0caller", "202", T0))
        .await
        .unwrap();
    let call = store.call(id).await.unwrap().unwrap();
    assert_eq!(call.caller, "evil\u{FFFD}caller");

    let b = binding("20\x001", "sip:x\0@192.0.2.1", T0 + 1_000);
    store.upsert_binding(&b).await.unwrap();
    let found = store.bindings("20\x001", T0).await.unwrap();
    assert_eq!(found.len(), 1, "lookups map NUL the same way as writes");
    assert_eq!(
        (found[0].aor.as_str(), found[0].contact.as_str()),
        ("20\u{FFFD}1", "sip:x\u{FFFD}@192.0.2.1")
    );
    assert!(
        store
            .remove_binding("20\x001", "sip:x\0@192.0.2.1")
            .await
            .unwrap()
    );

    store.set_setting("k\0", "v\0", T0).await.unwrap();
    assert_eq!(
        store.get_setting("k\0").await.unwrap().as_deref(),
        Some("v\u{FFFD}")
    );
}
