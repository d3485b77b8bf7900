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

#[test]
fn plans_and_calls_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<dialplan::Plan>();
    send_sync::<dialplan::CallState>();
    send_sync::<dialplan::Diagnostics>();
}

#[test]
fn the_demo_schedule_runs_automatic_at_all_hours() {
    let plan = default_plan();
    for hour in 0..24 {
        let wall: dialplan::jiff::Timestamp = format!("2026-12-24T{hour:02}:30:00Z")
            .parse()
            .expect("timestamp");
        assert_eq!(plan.mode_at(wall, None), dialplan::Mode::Automatic);
        assert_eq!(
            plan.mode_at(wall, Some(dialplan::Mode::Manual)),
            dialplan::Mode::Manual
        );
    }
    assert!(plan.has_menu("main") && plan.has_menu("reception"));
    assert_eq!(
        plan.features().toggle_attendant_mode.as_deref(),
        Some("*28")
    );
    assert_eq!(
        plan.prompt("zh", "digit_3"),
        plan.prompt_dir().join("zh/digit_3.wav")
    );
    assert_eq!(
        plan.music_on_hold_dir("default"),
        plan.prompt_dir().join("moh/default")
    );
}

#[test]
fn the_commented_day_night_schedule_is_valid_when_enabled() {
    // Uncomment the schedule block exactly as an admin would and load the result.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/default.yaml");
    let text = std::fs::read_to_string(&path).expect("default.yaml");
    let mut enabled = String::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("# schedule:") {
            in_block = true;
        }
        if in_block && line.starts_with("  #") {
            enabled.push_str(&line.replacen("  # ", "  ", 1));
        } else {
            in_block = false;
            enabled.push_str(line);
        }
        enabled.push('\n');
    }
    assert!(
        enabled.contains("\n  schedule:\n"),
        "the schedule block was not found"
    );
    let base = path.parent().expect("dir");
    let plan = dialplan::load_str(&enabled, "default.yaml", base, &FileExists)
        .unwrap_or_else(|d| panic!("{d}"));
    let at = |t: &str| -> dialplan::jiff::Timestamp { t.parse().expect("timestamp") };
    // Tuesday 2026-06-16 in Berlin (UTC+2): operators from 07:00 to 22:00 local.
    assert_eq!(
        plan.mode_at(at("2026-06-16T04:59:00Z"), None),
        dialplan::Mode::Automatic
    );
    assert_eq!(
        plan.mode_at(at("2026-06-16T05:00:00Z"), None),
        dialplan::Mode::Manual
    );
    assert_eq!(
        plan.mode_at(at("2026-06-16T20:00:00Z"), None),
        dialplan::Mode::Automatic
    );
    // Christmas Day is automatic although it is a Friday.
    assert_eq!(
        plan.mode_at(at("2026-12-25T12:00:00Z"), None),
        dialplan::Mode::Automatic
    );
}

#[test]
fn the_commented_background_music_is_valid_when_enabled() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/default.yaml");
    let text = std::fs::read_to_string(&path).expect("default.yaml");
    // The demo itself has no background music: it never pages staff phones by itself.
    let base = path.parent().expect("dir");
    let demo = dialplan::load_str(&text, "default.yaml", base, &FileExists)
        .unwrap_or_else(|d| panic!("{d}"));
    assert!(
        demo.paging_groups()
            .iter()
            .all(|g| g.background_music.is_none())
    );
    let mut enabled = String::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.starts_with("    # background_music:") {
            in_block = true;
        }
        if in_block && line.starts_with("    # ") {
            enabled.push_str(&line.replacen("    # ", "    ", 1));
        } else {
            in_block = false;
            enabled.push_str(line);
        }
        enabled.push('\n');
    }
    let plan = dialplan::load_str(&enabled, "default.yaml", base, &FileExists)
        .unwrap_or_else(|d| panic!("{d}"));
    let music = plan
        .paging_group("7100")
        .and_then(|g| g.background_music.as_ref())
        .expect("the background_music block was not found");
    assert_eq!(music.music_on_hold, "default");
    let at = |t: &str| -> dialplan::jiff::Timestamp { t.parse().expect("timestamp") };
    // 2026-06-16 in Berlin (UTC+2): music from 07:00 to 23:00 local.
    assert!(music.plays_at(at("2026-06-16T20:59:00Z")));
    assert!(!music.plays_at(at("2026-06-16T21:00:00Z")));
    assert!(!music.plays_at(at("2026-12-24T12:00:00Z")));
}
