//! A paging group's background music: decoding, errors with positions, and when the
//! schedule plays across the summer and winter timetables and daylight-saving changes.

mod common;

use common::{AnyPrompt, at, inline_plan};
use dialplan::{PromptChecker, load_str};
use std::path::Path;

const PLAN: &str = r#"
settings:
  time_zone: Europe/Berlin
extensions:
  - { number: 201, kind: staff }
  - { number: 202, kind: staff }
paging:
  - number: 7100
    name: Lobby speakers
    members: [201, 202]
    background_music:
      music_on_hold: lobby
      schedule:
        rules:
          - { days: daily, from: "07:00", to: "23:00", dates: { from: 04-01, to: 10-31 } }
          - { days: daily, from: "07:00", to: "22:30", dates: { from: 11-01, to: 03-31 } }
        holidays: [ { date: 12-24, name: Christmas Eve } ]
  - number: 7101
    members: [201]
    background_music: {}
  - number: 7102
    members: [202]
"#;

fn plays(text: &str) -> bool {
    let plan = inline_plan(PLAN);
    let music = plan
        .paging_group("7100")
        .and_then(|g| g.background_music.as_ref());
    music.expect("7100 has music").plays_at(at(text))
}

#[test]
fn decodes_the_class_and_the_schedule() {
    let plan = inline_plan(PLAN);
    let lobby = plan
        .paging_group("7100")
        .and_then(|g| g.background_music.clone());
    let lobby = lobby.expect("music");
    assert_eq!(lobby.music_on_hold, "lobby");
    assert!(lobby.has_schedule());
    // No schedule: the default class, and it never plays by itself.
    let plain = plan
        .paging_group("7101")
        .and_then(|g| g.background_music.clone());
    let plain = plain.expect("music");
    assert_eq!(plain.music_on_hold, "default");
    assert!(!plain.has_schedule());
    assert!(!plain.plays_at(at("2026-07-15T12:00:00Z")));
    assert_eq!(
        plan.paging_group("7102")
            .map(|g| g.background_music.is_some()),
        Some(false)
    );
}

#[test]
fn summer_timetable_ends_at_23_00_local() {
    // Wednesday 2026-07-15, CEST (UTC+2).
    assert!(!plays("2026-07-15T04:59:59Z"));
    assert!(plays("2026-07-15T05:00:00Z"));
    assert!(plays("2026-07-15T20:59:59Z"));
    assert!(!plays("2026-07-15T21:00:00Z"));
}

#[test]
fn winter_timetable_ends_at_22_30_local() {
    // Wednesday 2026-01-14, CET (UTC+1).
    assert!(!plays("2026-01-14T05:59:59Z"));
    assert!(plays("2026-01-14T06:00:00Z"));
    assert!(plays("2026-01-14T21:29:59Z"));
    assert!(!plays("2026-01-14T21:30:00Z"));
}

#[test]
fn the_timetables_change_on_their_dates_not_with_the_clocks() {
    // 2026-10-31 is after the clocks fell back (25 October) but still summer hours: until
    // 23:00 CET = 22:00 UTC.
    assert!(plays("2026-10-31T21:59:59Z"));
    assert!(!plays("2026-10-31T22:00:00Z"));
    // 1 November: winter hours, until 22:30 CET.
    assert!(plays("2026-11-01T21:29:59Z"));
    assert!(!plays("2026-11-01T21:30:00Z"));
    // 31 March, after the clocks sprang forward (29 March): winter hours in CEST, until
    // 22:30 CEST = 20:30 UTC; 1 April: summer hours until 23:00 CEST = 21:00 UTC.
    assert!(plays("2026-03-31T20:29:59Z"));
    assert!(!plays("2026-03-31T20:30:00Z"));
    assert!(plays("2026-04-01T20:59:59Z"));
    assert!(!plays("2026-04-01T21:00:00Z"));
}

#[test]
fn the_start_keeps_the_local_time_across_daylight_saving() {
    // Saturday 2026-03-28 (CET): 07:00 local = 06:00 UTC.
    assert!(!plays("2026-03-28T05:59:59Z"));
    assert!(plays("2026-03-28T06:00:00Z"));
    // Sunday 2026-03-29, after the clocks sprang forward (CEST): 07:00 local = 05:00 UTC.
    assert!(!plays("2026-03-29T04:59:59Z"));
    assert!(plays("2026-03-29T05:00:00Z"));
    // Sunday 2026-10-25, after the clocks fell back (CET): 07:00 local = 06:00 UTC.
    assert!(!plays("2026-10-25T05:59:59Z"));
    assert!(plays("2026-10-25T06:00:00Z"));
}

#[test]
fn holidays_are_silent() {
    assert!(!plays("2026-12-24T12:00:00Z"));
    assert!(plays("2026-12-23T12:00:00Z"));
    assert!(plays("2026-12-25T12:00:00Z"));
}

/// Every prompt and directory exists except the music-on-hold class `lobby`.
struct NoLobbyMusic;

impl PromptChecker for NoLobbyMusic {
    fn check(&self, _: &Path) -> Result<(), String> {
        Ok(())
    }
    fn check_directory(&self, dir: &Path) -> Result<(), String> {
        if dir.ends_with("moh/lobby") {
            Err("no such directory".into())
        } else {
            Ok(())
        }
    }
}

fn problems_with(yaml: &str, checker: &dyn PromptChecker) -> Vec<String> {
    match load_str(yaml, "t.yaml", Path::new("/p"), checker) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

fn group(music: &str) -> String {
    format!(
        "extensions:\n  - {{ number: 201, kind: staff }}\npaging:\n  - number: 7100\n    members: [201]\n    background_music:\n{music}"
    )
}

#[test]
fn errors_name_their_positions() {
    let mode = group(
        "      schedule:\n        rules:\n          - { mode: manual, from: \"07:00\", to: \"23:00\" }\n",
    );
    assert_eq!(
        problems_with(&mode, &AnyPrompt),
        [
            "t.yaml:9:15: unknown key `mode` in a schedule rule; expected one of `days`, `from`, `to` or `dates`"
        ]
    );
    let overlap = group(
        "      schedule:\n        rules:\n          - { days: daily, from: \"07:00\", to: \"23:00\" }\n          - { days: sun, from: \"22:00\", to: \"23:30\" }\n",
    );
    assert_eq!(
        problems_with(&overlap, &AnyPrompt),
        [
            "t.yaml:10:13: this schedule rule overlaps the rule at line 9 (both apply on sun 2024-01-07 at 22:00); expected rules that never apply at the same moment"
        ]
    );
    let holiday_mode =
        group("      schedule:\n        holidays: [ { date: 12-24, mode: manual } ]\n");
    assert_eq!(
        problems_with(&holiday_mode, &AnyPrompt),
        ["t.yaml:8:36: unknown key `mode` in a holiday; expected one of `date` or `name`"]
    );
    let key = group("      music: lobby\n");
    assert_eq!(
        problems_with(&key, &AnyPrompt),
        [
            "t.yaml:7:7: unknown key `music` in `background_music`; expected one of `music_on_hold` or `schedule`"
        ]
    );
    let class = group("      music_on_hold: ../etc\n");
    assert_eq!(
        problems_with(&class, &AnyPrompt),
        ["t.yaml:7:7: invalid music-on-hold class `../etc`"]
    );
}

#[test]
fn the_music_on_hold_class_must_exist() {
    let missing = group("      music_on_hold: lobby\n");
    assert_eq!(
        problems_with(&missing, &NoLobbyMusic),
        [
            "t.yaml:7:7: music-on-hold class `lobby` of the background music of paging group `7100`: /p/prompts/moh/lobby: no such directory"
        ]
    );
    assert!(problems_with(&group("      music_on_hold: default\n"), &NoLobbyMusic).is_empty());
}
