//! Property test: whatever text a caller, callee or the digits hold, the CSV export parses back to it.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use store::csv::{defuse_formula, parse};

use crate::fixtures::{T0, new_call};
use crate::harness::{TestDb, on_both_backends};

on_both_backends!(csv_export_round_trips_arbitrary_text);

/// Text with the characters CSV and spreadsheets care about, plus any printable Unicode.
/// NUL is left out: the store maps it to U+FFFD, which `text.rs` tests separately.
fn field() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[,\"\r\n\t =+@'-]{0,6}|\\PC{0,10}|[a-z,\"]{0,4}\r?\n[=+-]?[0-9a-z\"]{0,4}",
    )
    .expect("valid regex")
}

async fn csv_export_round_trips_arbitrary_text(db: &TestDb) {
    let store = db.open().await;
    let mut runner = TestRunner::default();
    let cases = proptest::collection::vec((field(), field(), field()), 1..60)
        .new_tree(&mut runner)
        .expect("generate cases")
        .current();
    let mut ids = Vec::new();
    for (i, (caller, callee, digits)) in cases.iter().enumerate() {
        let mut call = new_call(caller, callee, T0 + i64::try_from(i).unwrap());
        call.call_id = format!("case-{i}");
        let id = store.insert_call(&call).await.unwrap();
        store.set_call_digits(id, digits).await.unwrap();
        ids.push(id);
    }
    let csv = store.calls_csv(1_000).await.unwrap();
    let rows = parse(&csv).unwrap_or_else(|e| panic!("{e} in export of {cases:?}:\n{csv}"));
    assert_eq!(rows.len(), cases.len() + 1);
    // Newest first: the last case is the first record.
    let digits_column = store::CALLS_CSV_HEADER
        .iter()
        .position(|h| *h == "digits")
        .expect("a digits column");
    for ((row, (caller, callee, digits)), id) in rows[1..]
        .iter()
        .zip(cases.iter().rev())
        .zip(ids.iter().rev())
    {
        let expected = [
            id.to_string(),
            caller.clone(),
            callee.clone(),
            digits.clone(),
        ];
        let got = [
            row[0].clone(),
            row[2].clone(),
            row[3].clone(),
            row[digits_column].clone(),
        ];
        let expected_defused = [
            expected[0].clone(),
            defuse_formula(&expected[1]).into_owned(),
            defuse_formula(&expected[2]).into_owned(),
            defuse_formula(&expected[3]).into_owned(),
        ];
        assert_eq!(got, expected_defused, "case {expected:?}");
        // Defusing only ever adds one leading quote, so the original is always recoverable.
        for (g, e) in got[1..].iter().zip(&expected[1..]) {
            assert!(
                g == e || g.strip_prefix('\'') == Some(e.as_str()),
                "{g:?} vs {e:?}"
            );
        }
    }
}
