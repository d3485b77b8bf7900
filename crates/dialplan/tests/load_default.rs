//! The shipped demo dialplan loads cleanly and answers the registrar's questions.

use dialplan::{Credential, ExtensionKind, FileExists, load};
use std::path::PathBuf;
use std::time::Duration;

fn default_plan() -> dialplan::Plan {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/default.yaml");
    match load(&path, &FileExists) {
        Ok(plan) => plan,
        Err(problems) => panic!("default.yaml has problems:\n{problems}"),
    }
}

#[test]
fn directory_and_accounts() {
    let plan = default_plan();
    let desk = plan.extension("201").expect("201 exists");
    assert_eq!(desk.name, "Front Desk");
    assert_eq!(desk.credential, Some(Credential::Plain("secret201".into())));
    assert!(desk.voicemail);
    assert_eq!(
        plan.extension("203").map(|e| e.language.as_str()),
        Some("zh")
    );
    let room = plan.extension("8117").expect("rooms come from the range");
    assert_eq!(room.name, "Room 8117");
    assert_eq!(room.kind, ExtensionKind::Room);
    assert_eq!(room.credential, Some(Credential::Plain("room8117".into())));
    assert!(plan.extension("8131").is_none());
    assert!(plan.extension("1000").is_none());
    assert!(plan.extension("0").is_none());

    let ext = plan.account("202").expect("extension account");
    assert_eq!(ext.aors, ["202"]);
    assert!(!ext.operator);
    let op = plan.account("op2").expect("operator account");
    assert_eq!(op.aors, ["0"]);
    assert!(op.operator);
    assert_eq!(op.credential, Credential::Plain("secretop2".into()));
    assert!(plan.account("op3").is_none());
    assert_eq!(plan.operators().position, "0");
    assert_eq!(plan.operators().accounts.len(), 2);
}

#[test]
fn settings_and_weak_credentials() {
    let plan = default_plan();
    let s = plan.settings();
    assert_eq!(s.realm, "switchboard");
    assert_eq!(s.ring_timeout, Duration::from_secs(30));
    assert_eq!(s.max_concurrent_calls, 500);
    assert_eq!(s.max_calls_per_second, 50);
    assert_eq!(s.codecs, ["PCMU", "PCMA"]);
    assert_eq!(s.default_language, "en");
    assert_eq!(s.time_zone_name, "Europe/Berlin");
    assert_eq!((s.min_expires, s.max_expires), (60, 3600));
    let weak = plan.weak_credentials();
    for user in ["201", "202", "203", "op1", "op2", "8101", "8130"] {
        assert!(
            weak.iter().any(|w| w == user),
            "{user} missing from {weak:?}"
        );
    }
    assert_eq!(weak.len(), 5 + 30);
    let queue = plan.queue("operators").expect("operators queue");
    assert_eq!(queue.max_length, 20);
    assert_eq!(queue.announce_position_every, Some(Duration::from_secs(30)));
    assert_eq!(plan.languages()[1].0, "zh");
}
