//! Calls through the demo hotel as transcripts: events in, actions out, on a virtual clock.

mod common;

use common::{Transcript, assert_transcript, at, default_plan};
use dialplan::Mode;

const NOON: &str = "2026-06-15T10:00:00Z";

fn hotel(script: &str) -> String {
    let plan = default_plan();
    Transcript::new(&plan, at(NOON), None).run(script)
}

#[test]
fn barge_in_and_direct_dial_with_a_route_prefix() {
    // `2` is also the language key, so after `2` the menu waits for more digits.
    let got = hotel(
        "offered 5551234->1000
         answered
         wait 1s
         dtmf 2
         wait 1s
         dtmf 0 1
         played",
    );
    assert_transcript(
        &got,
        "> offered 5551234->1000
           answer
         > answered
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)
         > dtmf 2
           stop
           (deadline +4s)
         > dtmf 0
           (deadline +5s)
         > dtmf 1
           play en/please_hold
         > played
           bridge 201 ring=30s",
    );
}

#[test]
fn timeout_in_the_middle_of_an_extension_is_invalid_then_the_menu_repeats() {
    let got = hotel(
        "offered 5551234->1000
         answered
         played
         dtmf 8 1
         wait 3s
         played
         played",
    );
    assert_transcript(
        &got,
        "> offered 5551234->1000
           answer
         > answered
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)
         > played
           collect max=4 until=+5s
         > dtmf 8
           (deadline +3s)
         > dtmf 1
         > timeout at +3s
           play en/invalid
         > played
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)
         > played
           collect max=4 until=+8s",
    );
}

#[test]
fn language_choice_switches_the_prompt_set_for_the_rest_of_the_call() {
    let got = hotel(
        "offered 5551234->1000
         answered
         played
         dtmf 2
         wait 3s
         played
         dtmf 9
         played
         dtmf *",
    );
    assert_transcript(
        &got,
        "> offered 5551234->1000
           answer
         > answered
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)
         > played
           collect max=4 until=+5s
         > dtmf 2
           (deadline +3s)
         > timeout at +3s
           language zh
           play zh/dial_extension zh/press_9_information (interruptible)
         > played
           collect max=4 until=+8s
         > dtmf 9
           play zh/hotel_information
         > played
           play zh/dial_extension zh/press_9_information (interruptible)
         > dtmf *
           stop
           play zh/welcome common/language_menu zh/dial_extension zh/press_9_information (interruptible)",
    );
}

#[test]
fn invalid_and_no_input_are_counted_separately_then_the_operator_helps() {
    // Three wrong keys and three silences are all forgiven; the fourth wrong key is not.
    let mut script = String::from("offered 5551234->1000\nanswered\n");
    for _ in 0..3 {
        script.push_str("played\ndtmf 5\nplayed\nplayed\nwait 5s\nplayed\n");
    }
    script.push_str("played\ndtmf 5\n");
    let got = hotel(&script);
    let tail: Vec<&str> = got.lines().rev().take(3).collect();
    assert_eq!(
        tail,
        [
            "  queue operators",
            "> dtmf 5",
            "  collect max=4 until=+20s"
        ],
        "{got}"
    );
    assert_eq!(got.matches("play en/invalid").count(), 3, "{got}");
    assert_eq!(got.matches("play en/no_input").count(), 3, "{got}");
}

#[test]
fn silence_until_the_retry_limit() {
    let got = hotel(
        "offered 5551234->1000
         answered
         played
         wait 5s
         played
         played
         wait 5s
         played
         played
         wait 5s
         played
         played
         wait 5s
         queue-exited no-operator
         played",
    );
    assert_transcript(
        &got,
        "> offered 5551234->1000
           answer
         > answered
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)
         > played
           collect max=4 until=+5s
         > timeout at +5s
           play en/no_input
         > played
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)
         > played
           collect max=4 until=+10s
         > timeout at +10s
           play en/no_input
         > played
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)
         > played
           collect max=4 until=+15s
         > timeout at +15s
           play en/no_input
         > played
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)
         > played
           collect max=4 until=+20s
         > timeout at +20s
           queue operators
         > queue-exited no-operator
           play en/operator_unavailable en/goodbye
         > played
           hangup",
    );
}

#[test]
fn hash_ends_input_early_and_a_busy_extension_returns_to_the_menu() {
    let got = hotel(
        "offered 5551234->1000
         answered
         played
         dtmf 2 0 2 #
         played
         bridge-failed busy
         played",
    );
    assert_transcript(
        &got,
        "> offered 5551234->1000
           answer
         > answered
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)
         > played
           collect max=4 until=+5s
         > dtmf 2
           (deadline +3s)
         > dtmf 0
         > dtmf 2
           play en/please_hold
         > dtmf #
         > played
           bridge 202 ring=30s
         > bridge-failed busy
           play en/busy
         > played
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)",
    );
}

#[test]
fn extensions_dial_each_other_and_failures_reach_the_phone() {
    let plan = default_plan();
    let got = Transcript::new(&plan, at(NOON), None).run(
        "offered 201->8105 as 201
         bridge-failed busy",
    );
    assert_transcript(
        &got,
        "> offered 201->8105 as 201\n bridge 8105 ring=30s\n> bridge-failed busy\n reject busy",
    );
    let got = Transcript::new(&plan, at(NOON), None).run("offered 201->7777 as 201");
    assert_transcript(&got, "> offered 201->7777 as 201\n reject not_found");
    let got = Transcript::new(&plan, at(NOON), None).run("offered 8105->0 as 8105\nanswered");
    assert_transcript(
        &got,
        "> offered 8105->0 as 8105\n answer\n> answered\n queue operators",
    );
}

#[test]
fn outside_callers_reach_the_main_menu_whatever_they_dial() {
    let got = hotel("offered 5551234->201\nanswered");
    assert_transcript(
        &got,
        "> offered 5551234->201
           answer
         > answered
           play en/welcome common/language_menu en/dial_extension en/press_9_information (interruptible)",
    );
}

#[test]
fn manual_mode_override_sends_outside_calls_to_the_operators() {
    let plan = default_plan();
    let got =
        Transcript::new(&plan, at(NOON), Some(Mode::Manual)).run("offered 5551234->1000\nanswered");
    assert_transcript(
        &got,
        "> offered 5551234->1000\n answer\n> answered\n queue operators",
    );
    // Registered phones still reach the menu in manual mode.
    let got = Transcript::new(&plan, at(NOON), Some(Mode::Manual)).run("offered 201->1000 as 201");
    assert_transcript(&got, "> offered 201->1000 as 201\n answer");
}

#[test]
fn feature_code_toggles_the_mode_for_operators_only() {
    let plan = default_plan();
    let got = Transcript::new(&plan, at(NOON), None).run(
        "offered op1->*28 as op1
         answered
         feature-done manual
         played",
    );
    assert_transcript(
        &got,
        "> offered op1->*28 as op1
           answer
         > answered
           feature ToggleAttendantMode
         > feature-done manual
           play en/mode_manual
         > played
           hangup",
    );
    let got =
        Transcript::new(&plan, at(NOON), None).run("offered 203->*28 as 203\nanswered\nplayed");
    assert_transcript(
        &got,
        "> offered 203->*28 as 203\n answer\n> answered\n play zh/invalid\n> played\n hangup",
    );
}

#[test]
fn caller_hangup_ends_everything() {
    let plan = default_plan();
    let mut call = dialplan::CallState::new(None);
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let offered = dialplan::Event::Offered {
        from: "1".into(),
        to: "1000".into(),
        authenticated_extension: None,
        caller_language: None,
    };
    dialplan::step(&plan, &mut call, now, at(NOON), offered);
    dialplan::step(&plan, &mut call, now, at(NOON), dialplan::Event::Answered);
    dialplan::step(
        &plan,
        &mut call,
        now,
        at(NOON),
        dialplan::Event::PlayFinished,
    );
    assert!(call.next_deadline().is_some());
    let actions = dialplan::step(&plan, &mut call, now, at(NOON), dialplan::Event::Hangup);
    assert!(actions.is_empty());
    assert!(call.is_done());
    assert_eq!(call.next_deadline(), None);
    assert!(dialplan::step(&plan, &mut call, now, at(NOON), dialplan::Event::Timeout).is_empty());
}

#[test]
fn a_transferred_call_enters_a_menu_in_its_language() {
    let got = hotel(
        "offered 5551234->1000
         answered
         played
         dtmf 2
         wait 3s
         dtmf 0
         goto-menu main
         goto-menu lobby",
    );
    let tail: Vec<&str> = got.lines().rev().take(4).collect();
    assert_eq!(
        tail,
        [
            "  reject not_found",
            "> goto-menu lobby",
            "  play zh/welcome common/language_menu zh/dial_extension zh/press_9_information (interruptible)",
            "> goto-menu main",
        ],
        "{got}"
    );
}
