//! Property test: whatever text a guest's name, title and companions hold, the stay reads back
//! exactly so, and searching for the name finds it.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use store::NewStay;

use crate::fixtures::T0;
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(stay_text_round_trips);

/// Text with the separators and escapes the companions column uses, plus any printable Unicode.
/// NUL is left out: the store maps it to U+FFFD, which `text.rs` tests separately.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[\\\\n\r\n ,%_]{0,6}|\\PC{0,10}|[a-z\\\\]{0,3}\n?[\\\\n]{0,3}")
        .expect("valid regex")
}

async fn stay_text_round_trips(db: &TestDb) {
    let store = db.open().await;
    let mut runner = TestRunner::default();
    let cases = proptest::collection::vec(
        (
            text(),
            proptest::option::of(text()),
            proptest::collection::vec(text(), 0..4),
        ),
        1..40,
    )
    .new_tree(&mut runner)
    .expect("generate cases")
    .current();
    for (i, (name, title, companions)) in cases.iter().enumerate() {
        // The store refuses a blank name; give every case a visible one.
        let name = format!("g{i} {name}");
        let new = NewStay {
            room: format!("r{i}"),
            name: name.clone(),
            title: title.clone(),
            companions: companions.clone(),
            ..NewStay::default()
        };
        let stay = store
            .check_in(&new, "cli", T0 + i64::try_from(i).unwrap())
            .await
            .unwrap_or_else(|e| panic!("case {i} {new:?}: {e}"));
        let read = store.stay_in(&new.room).await.unwrap().unwrap();
        assert_eq!(read, stay, "case {i}");
        assert_eq!(
            (&read.name, &read.title, &read.companions),
            (&name, title, companions),
            "case {i}"
        );
        let found = store.find_stays(&name).await.unwrap();
        assert!(
            found.iter().any(|s| s.id == stay.id),
            "case {i}: searching {name:?} found {found:?}"
        );
    }
}
