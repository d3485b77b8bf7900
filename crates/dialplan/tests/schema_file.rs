//! dialplan/schema.json is the published schema; it must equal `json_schema()`.
//!
//! Regenerate it with `SWITCHBOARD_WRITE_SCHEMA=1 cargo test -p dialplan --test schema_file`
//! (or `switchboard schema > dialplan/schema.json`).

use std::path::PathBuf;

#[test]
fn published_schema_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/schema.json");
    let schema = dialplan::json_schema() + "\n";
    if std::env::var_os("SWITCHBOARD_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &schema).expect("write schema");
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == schema,
        "dialplan/schema.json is stale; regenerate it as described in this file's header"
    );
    let parsed: serde_json::Value = serde_json::from_str(&published).expect("valid JSON");
    assert_eq!(parsed["title"], "Switchboard dialplan");
}
