//! Attendant modes at schedule boundaries, including daylight-saving changes in Europe/Berlin.

mod common;

use common::{Transcript, assert_transcript, at, inline_plan};
use dialplan::Mode;

const PLAN: &str = r#"
settings:
  time_zone: Europe/Berlin
attendant:
  mode: automatic
  schedule:
    rules:
      - { mode: manual, days: mon-fri, from: "08:00", to: "20:00" }
      - { mode: manual, days: weekends, from: "09:00", to: "17:00", dates: { from: 11-01, to: 03-31 } }
      - { mode: manual, days: weekends, from: "08:00", to: "20:00", dates: { from: 04-01, to: 10-31 } }
    holidays:
      - { date: 12-25, mode: automatic, name: Christmas Day }
      - { date: 2026-12-24, mode: manual }
menus:
  main:
    greeting: welcome
entry:
  outside_callers: { menu: main }
"#;

#[test]
fn weekday_boundaries_in_local_time() {
    let plan = inline_plan(PLAN);
    // Wednesday 2026-01-14, CET (UTC+1): 08:00 local is 07:00 UTC.
    assert_eq!(
        plan.mode_at(at("2026-01-14T06:59:59Z"), None),
        Mode::Automatic
    );
    assert_eq!(plan.mode_at(at("2026-01-14T07:00:00Z"), None), Mode::Manual);
    assert_eq!(plan.mode_at(at("2026-01-14T18:59:59Z"), None), Mode::Manual);
    assert_eq!(
        plan.mode_at(at("2026-01-14T19:00:00Z"), None),
        Mode::Automatic
    );
    // The override wins over the schedule.
    assert_eq!(
        plan.mode_at(at("2026-01-14T12:00:00Z"), Some(Mode::Automatic)),
        Mode::Automatic
    );
}

#[test]
fn spring_forward_keeps_the_wall_clock_boundary() {
    let plan = inline_plan(PLAN);
    // Sunday 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST. The winter weekend
    // rule (until 03-31) starts at 09:00 local: 08:00 UTC the day before, 07:00 UTC after.
    assert_eq!(
        plan.mode_at(at("2026-03-28T07:59:59Z"), None),
        Mode::Automatic
    );
    assert_eq!(plan.mode_at(at("2026-03-28T08:00:00Z"), None), Mode::Manual);
    assert_eq!(
        plan.mode_at(at("2026-03-29T06:59:59Z"), None),
        Mode::Automatic
    );
    assert_eq!(plan.mode_at(at("2026-03-29T07:00:00Z"), None), Mode::Manual);
    assert_eq!(plan.mode_at(at("2026-03-29T14:59:59Z"), None), Mode::Manual);
    assert_eq!(
        plan.mode_at(at("2026-03-29T15:00:00Z"), None),
        Mode::Automatic
    );
}

#[test]
fn fall_back_keeps_the_wall_clock_boundary() {
    let plan = inline_plan(PLAN);
    // Sunday 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET. The summer weekend
    // rule ends at 20:00 local: 18:00 UTC on Saturday, 19:00 UTC on Sunday.
    assert_eq!(plan.mode_at(at("2026-10-24T17:59:59Z"), None), Mode::Manual);
    assert_eq!(
        plan.mode_at(at("2026-10-24T18:00:00Z"), None),
        Mode::Automatic
    );
    assert_eq!(plan.mode_at(at("2026-10-25T18:59:59Z"), None), Mode::Manual);
    assert_eq!(
        plan.mode_at(at("2026-10-25T19:00:00Z"), None),
        Mode::Automatic
    );
}

#[test]
fn holidays_win_over_rules() {
    let plan = inline_plan(PLAN);
    // 2026-12-25 is a Friday: the weekday rule would say manual at noon.
    assert_eq!(
        plan.mode_at(at("2026-12-25T11:00:00Z"), None),
        Mode::Automatic
    );
    // 2026-12-24 is a one-time manual holiday, all day long.
    assert_eq!(plan.mode_at(at("2026-12-24T02:00:00Z"), None), Mode::Manual);
    assert_eq!(
        plan.mode_at(at("2027-12-24T02:00:00Z"), None),
        Mode::Automatic
    );
}

#[test]
fn calls_keep_the_mode_they_started_with_across_the_boundary() {
    let plan = inline_plan(PLAN);
    // One second before the Sunday boundary after the spring change: the menu answers.
    let got = Transcript::new(&plan, at("2026-03-29T06:59:59Z"), None).run(
        "offered 5551234->1000
         answered
         played
         wait 5s
         played",
    );
    assert_transcript(
        &got,
        "> offered 5551234->1000
           answer
         > answered
           play en/welcome (interruptible)
         > played
           collect max=4 until=+5s
         > timeout at +5s
           play en/no_input
         > played
           play en/welcome (interruptible)",
    );
    // At the boundary a new call goes straight to the operators.
    let got = Transcript::new(&plan, at("2026-03-29T07:00:00Z"), None)
        .run("offered 5551234->1000\nanswered");
    assert_transcript(
        &got,
        "> offered 5551234->1000\n answer\n> answered\n queue operators",
    );
}

#[test]
fn overnight_rule_wraps_past_midnight() {
    let plan = inline_plan(
        r#"
settings: { time_zone: America/New_York }
attendant:
  mode: manual
  schedule:
    rules:
      - { mode: automatic, from: "22:00", to: "06:00" }
"#,
    );
    // 2026-03-08 is the US spring change: 06:00 EDT is 10:00 UTC, 05:59 EDT is 09:59 UTC.
    assert_eq!(
        plan.mode_at(at("2026-03-08T03:30:00Z"), None),
        Mode::Automatic
    );
    assert_eq!(
        plan.mode_at(at("2026-03-08T09:59:59Z"), None),
        Mode::Automatic
    );
    assert_eq!(plan.mode_at(at("2026-03-08T10:00:00Z"), None), Mode::Manual);
    assert_eq!(plan.mode_at(at("2026-03-09T01:59:59Z"), None), Mode::Manual);
    assert_eq!(
        plan.mode_at(at("2026-03-09T02:00:00Z"), None),
        Mode::Automatic
    );
}

#[test]
fn a_rule_until_midnight_covers_the_whole_day() {
    let plan = inline_plan(
        r#"
attendant:
  schedule:
    rules:
      - { mode: manual, days: sun, from: "00:00", to: "24:00" }
"#,
    );
    // 2026-06-14 is a Sunday (UTC schedule).
    assert_eq!(
        plan.mode_at(at("2026-06-13T23:59:59Z"), None),
        Mode::Automatic
    );
    assert_eq!(plan.mode_at(at("2026-06-14T00:00:00Z"), None), Mode::Manual);
    assert_eq!(plan.mode_at(at("2026-06-14T23:59:59Z"), None), Mode::Manual);
    assert_eq!(
        plan.mode_at(at("2026-06-15T00:00:00Z"), None),
        Mode::Automatic
    );
}
