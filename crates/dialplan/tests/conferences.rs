//! Conference rooms and call recording keys: loading, validation with positions, and
//! transcripts of callers joining rooms (with and without a PIN).

mod common;

use common::{AnyPrompt, Transcript, assert_transcript, at, default_plan, inline_plan};
use dialplan::Conference;
use std::path::Path;

const NOON: &str = "2026-06-15T10:00:00Z";

const ROOMS: &str = "
settings:
  record_calls: true
extensions:
  - { number: 201, name: Front Desk, password: pw201 }
  - { number: 202, name: Concierge, password: pw202, record: true }
conferences:
  - number: 7000
    name: Staff meeting
  - number: 7100
    name: Board
    pin: \"0042\"
    record: true
    max_members: 5
menus:
  main:
    greeting: welcome
    direct_dial: true
    max_digits: 4
    routes:
      5: { conference: 7100 }
entry:
  numbers: { 1000: { menu: main } }
";

fn problems(yaml: &str) -> Vec<String> {
    match dialplan::load_str(yaml, "t.yaml", Path::new("/p"), &AnyPrompt) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

fn run(yaml: &str, script: &str) -> String {
    let plan = inline_plan(yaml);
    Transcript::new(&plan, at(NOON), None).run(script)
}

#[test]
fn rooms_and_recording_flags_load() {
    let plan = inline_plan(ROOMS);
    let room = |number: &str, name: &str, pin: Option<&str>, record, max_members| Conference {
        number: number.into(),
        name: name.into(),
        pin: pin.map(Into::into),
        record,
        max_members,
    };
    assert_eq!(
        plan.conferences(),
        [
            room("7000", "Staff meeting", None, false, None),
            room("7100", "Board", Some("0042"), true, Some(5)),
        ]
    );
    assert!(plan.settings().record_calls);
    assert!(plan.extension("202").is_some_and(|e| e.record));
    assert!(plan.extension("201").is_some_and(|e| !e.record));
    assert!(plan.records_calls_of("201"), "record_calls covers everyone");

    let quiet = inline_plan(&ROOMS.replace("record_calls: true", "record_calls: false"));
    assert!(!quiet.records_calls_of("201"));
    assert!(
        quiet.records_calls_of("202"),
        "the extension's own flag still applies"
    );
    assert!(!quiet.records_calls_of("5551234"));
}

#[test]
fn the_demo_hotel_has_the_staff_meeting_room() {
    let plan = default_plan();
    let room = plan.conference("7000").expect("room 7000 in default.yaml");
    assert_eq!(room.name, "Staff meeting");
    assert_eq!(room.pin, None);
    assert!(!plan.settings().record_calls);
}

#[test]
fn a_registered_phone_dials_the_room_directly() {
    let got = run(
        ROOMS,
        "offered 201->7000 as 201
         answered
         dtmf 5
         conference-full
         played",
    );
    assert_transcript(
        &got,
        "> offered 201->7000 as 201
           answer
         > answered
           conference 7000
         > dtmf 5
         > conference-full
           play en/busy
         > played
           hangup",
    );
}

#[test]
fn a_pin_is_asked_for_and_a_wrong_one_is_refused_three_times() {
    let got = run(
        ROOMS,
        "offered 201->7100 as 201
         answered
         dtmf 1 2 3 4
         played
         wait 10s
         played
         dtmf 9 #
         played
         played",
    );
    assert_transcript(
        &got,
        "> offered 201->7100 as 201
           answer
         > answered
           collect max=4 until=+10s
         > dtmf 1
         > dtmf 2
         > dtmf 3
         > dtmf 4
           play en/invalid
         > played
           collect max=4 until=+10s
         > timeout at +10s
           play en/no_input
         > played
           collect max=4 until=+20s
         > dtmf 9
         > dtmf #
           play en/invalid
         > played
           play en/goodbye
         > played
           hangup",
    );
}

#[test]
fn the_right_pin_joins_and_hash_ends_a_short_entry() {
    let got = run(
        ROOMS,
        "offered 201->7100 as 201
         answered
         dtmf 0 0 4 2",
    );
    assert_transcript(
        &got,
        "> offered 201->7100 as 201
           answer
         > answered
           collect max=4 until=+10s
         > dtmf 0
         > dtmf 0
         > dtmf 4
         > dtmf 2
           conference 7100",
    );
}

#[test]
fn outside_callers_reach_rooms_from_the_menu() {
    // By direct dialling of the room's number, and through a route's `conference:` action.
    let got = run(
        ROOMS,
        "offered 5551234->1000
         answered
         dtmf 7 0 0 0",
    );
    assert_transcript(
        &got,
        "> offered 5551234->1000
           answer
         > answered
           play en/welcome (interruptible)
         > dtmf 7
           stop
           (deadline +3s)
         > dtmf 0
         > dtmf 0
         > dtmf 0
           conference 7000",
    );
    let got = run(
        ROOMS,
        "offered 5551234->1000
         answered
         played
         dtmf 5",
    );
    assert_transcript(
        &got,
        "> offered 5551234->1000
           answer
         > answered
           play en/welcome (interruptible)
         > played
           collect max=4 until=+5s
         > dtmf 5
           collect max=4 until=+10s",
    );
}

#[test]
fn outside_callers_cannot_dial_rooms_without_a_menu() {
    let got = run(ROOMS, "offered 5551234->7000");
    assert_transcript(
        &got,
        "> offered 5551234->7000
           reject not_found",
    );
}

#[test]
fn mistakes_in_rooms_are_reported_with_positions() {
    let yaml = "
extensions:
  - { number: 201, password: pw }
groups:
  - { name: desk, number: 300, members: [201] }
conferences:
  - { number: 201, name: Clash }
  - { number: 7000, pin: 12ab }
  - { number: 7001, pin: \"1234567890123\" }
  - { number: 7002, max_members: 1 }
  - { number: 7002 }
  - { number: 300 }
  - { number: 7x }
  - { number: 7003, recrd: true }
  - { name: No number }
  - { number: 7004, record: yes please }
entry:
  numbers:
    7003: hangup
";
    assert_eq!(
        problems(yaml),
        [
            "t.yaml:7:15: conference number `201` is also an extension (line 3)",
            "t.yaml:8:26: invalid conference PIN `12ab`; expected 1 to 12 digits, quoted to keep leading zeros, such as \"4711\", found 4 characters",
            "t.yaml:9:26: invalid conference PIN `1234567890123`; expected 1 to 12 digits, quoted to keep leading zeros, such as \"4711\", found 13 characters",
            "t.yaml:10:34: wrong value for `max_members`; expected a whole number from 2 to 1000, found number `1`",
            "t.yaml:11:15: duplicate conference `7002` (first defined at line 10)",
            "t.yaml:12:15: conference number `300` is also the operator position or a group number",
            "t.yaml:13:15: invalid conference number `7x`; expected digits only, such as `7000`",
            "t.yaml:14:21: unknown key `recrd` in a conference (did you mean `record`?)",
            "t.yaml:15:5: a conference is missing the key `number`",
            "t.yaml:16:29: wrong type for `record`; expected `true` or `false`, found text `yes please`",
            "t.yaml:19:5: entry number `7003` is also an extension, a group, a conference, a paging group or the operator position",
        ]
    );
}

#[test]
fn a_conference_action_must_name_a_room() {
    let yaml = "
conferences:
  - { number: 7000 }
menus:
  main:
    routes:
      1: { conference: 7001 }
entry:
  outside_callers: { menu: main }
";
    assert_eq!(
        problems(yaml),
        [
            "t.yaml:7:24: no conference room with number `7001` (did you mean `7000`?); expected a number listed under `conferences`"
        ]
    );
}

#[test]
fn recording_keys_must_be_booleans() {
    let yaml = "
settings:
  record_calls: sometimes
extensions:
  - { number: 201, password: pw, record: 1 }
";
    assert_eq!(
        problems(yaml),
        [
            "t.yaml:3:17: wrong type for `record_calls`; expected `true` or `false`, found text `sometimes`",
            "t.yaml:5:42: wrong type for `record`; expected `true` or `false`, found number `1`",
        ]
    );
}
